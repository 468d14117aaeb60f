import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { canonicalJson, chainHash, contentDigest, storedContent, toJsonValue, verifyChains, type HashedContent } from './hash-chain';
import type { RecordedEvent } from './event-store.port';

const content: HashedContent = {
  streamId: 's-1',
  eventId: '00000000-0000-4000-8000-000000000001',
  type: 'PatientEnrolled',
  schemaVersion: 1,
  data: { b: [1, 2.5, 'é'], a: null },
  metadata: { actor: { userId: 'u1', name: 'Dr. A', roles: ['r'] } },
  recordedAt: '2026-01-02T03:04:05.006Z',
};

function recorded(streamId: string, count: number): RecordedEvent[] {
  let previous: Buffer = Buffer.alloc(0);
  return Array.from({ length: count }, (_, i) => {
    const version = i + 1;
    const body = { ...content, streamId, eventId: `${streamId}-e${version}`, data: { n: version } };
    previous = chainHash(previous, version, contentDigest(body));
    return { ...body, streamVersion: version, globalPosition: version, checkpoint: `0:${version}`, hash: previous.toString('hex') };
  });
}

describe('hash chain', () => {
  it('digests the RFC 8785 canonical form (vector computed with sha256sum)', () => {
    // printf '%s' '{"data":{"a":null,"b":[1,2.5,"é"]},"eventId":...}' | sha256sum
    expect(contentDigest(content).toString('hex')).toBe('fed9e6a6d9cf65c6dcc97c414da6b9538cf9e7201897aa90a4f5a279dd240577');
    const reordered = { ...content, data: { a: null, b: [1, 2.5, 'é'] } };
    expect(contentDigest(reordered).equals(contentDigest(content))).toBe(true);
  });

  it('chains previous hash, big-endian version and digest (vector computed with sha256sum)', () => {
    const first = chainHash(Buffer.alloc(0), 1, contentDigest(content));
    expect(first.toString('hex')).toBe('3e744a793756669a0e576520e0930d071569156b4f4767814db373a395b9dd74');
  });

  it('accepts interleaved intact streams', () => {
    const a = recorded('a', 3);
    const b = recorded('b', 2);
    expect(verifyChains([a[0]!, b[0]!, a[1]!, b[1]!, a[2]!])).toEqual({ ok: true, streams: 2, events: 5 });
  });

  it('names the first event whose content changed', () => {
    const events = recorded('a', 3);
    events[1] = { ...events[1]!, data: { n: 99 } };
    expect(verifyChains(events)).toMatchObject({ ok: false, streamId: 'a', streamVersion: 2, eventId: 'a-e2' });
  });

  it('names the event after a deletion, and an insertion', () => {
    const events = recorded('a', 3);
    expect(verifyChains([events[0]!, events[2]!])).toMatchObject({
      ok: false,
      eventId: 'a-e3',
      problem: expect.stringContaining('expected stream version 2'),
    });
    const forged = { ...events[1]!, eventId: 'forged' };
    expect(verifyChains([events[0]!, forged, events[2]!])).toMatchObject({ ok: false, eventId: 'forged' });
  });

  it('names a stream that does not start at version 1', () => {
    expect(verifyChains(recorded('a', 3).slice(1))).toMatchObject({ ok: false, eventId: 'a-e2' });
  });
});

/** The reference canonicalJson is held to: the canonicalize library (RFC 8785) of the value JSON.stringify keeps. */
const reference = (value: unknown): string | undefined => {
  const json = JSON.stringify(value);
  return json === undefined ? undefined : canonicalize(JSON.parse(json));
};

/** Values an event or a request body could carry, and the odd ones JSON.stringify normalizes. */
const anyValue = fc.anything({
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  withUnicodeString: true,
  key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'toJSON', '', '1', '01', 'é', '\u{1F600}', 'a\u0000b')),
});

describe('canonicalJson', () => {
  it('is the canonicalize library on what JSON.stringify keeps, for any value', () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees on numbers, strings and the values JSON.stringify drops or replaces', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })), (value) => {
        expect(canonicalJson({ value, list: [value] })).toBe(reference({ value, list: [value] }));
      }),
      { numRuns: 3000 },
    );
    const odd = {
      nan: NaN,
      inf: -Infinity,
      negativeZero: -0,
      gone: undefined,
      fn: () => 1,
      sym: Symbol('s'),
      list: [undefined, () => 1, Symbol('s'), NaN],
      at: new Date('2026-01-02T03:04:05.006Z'),
      custom: { toJSON: (key: string) => `key ${key}` },
      boxed: [Object(1), Object('s'), Object(false)] as unknown[],
      big: 1e21,
      small: 1e-7,
    };
    expect(canonicalJson(odd)).toBe(reference(odd));
    expect(canonicalJson(odd)).toBe(
      '{"at":"2026-01-02T03:04:05.006Z","big":1e+21,"boxed":[1,"s",false],"custom":"key custom","inf":null,' +
        '"list":[null,null,null,null],"nan":null,"negativeZero":0,"small":1e-7}',
    );
    expect([canonicalJson(undefined), canonicalJson(() => 1), canonicalJson(Symbol('s'))]).toEqual([undefined, undefined, undefined]);
    expect(() => canonicalJson({ n: BigInt(1) })).toThrow(TypeError);
  });

  it('gives the digest the library and the JSON round trip gave, and stores what it hashed', () => {
    const before = (event: HashedContent) =>
      createHash('sha256')
        .update(
          canonicalize({ ...event, data: toJsonValue(event.data) ?? null, metadata: toJsonValue(event.metadata) ?? {} }) ?? '',
          'utf8',
        )
        .digest('hex');
    fc.assert(
      fc.property(anyValue, fc.dictionary(fc.string(), anyValue), (data, extra) => {
        fc.pre(data !== undefined && JSON.stringify(data) !== undefined);
        const event = { ...content, data, metadata: { ...content.metadata, ...extra } };
        const stored = storedContent(event);
        expect(stored.digest.toString('hex')).toBe(before(event));
        expect(stored.content).toEqual({ ...content, data: toJsonValue(data), metadata: toJsonValue(event.metadata) });
        expect(contentDigest(stored.content).equals(stored.digest)).toBe(true);
      }),
      { numRuns: 1000 },
    );
    expect(storedContent({ ...content, data: undefined, metadata: undefined }).content).toMatchObject({ data: null, metadata: {} });
    expect(() => storedContent({ ...content, data: () => 1 })).toThrow('event data is not a JSON value');
  });
});
