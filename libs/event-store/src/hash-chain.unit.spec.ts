import { chainHash, contentDigest, verifyChains, type HashedContent } from './hash-chain';
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
