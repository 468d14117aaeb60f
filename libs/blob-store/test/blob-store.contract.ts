import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { DomainError } from '@app/contracts';
import type { BlobStore } from '../src';

/** What a store offers the contract suite: the store and what it holds, counted. */
export interface BlobStoreHarness {
  store: BlobStore;
  /** Uploads (PostgreSQL: rows) in staging, and contents stored under a hash. */
  counts(): Promise<{ staged: number; stored: number }>;
  close(): Promise<void>;
}

export const MiB = 1024 * 1024;
export const MAX_BYTES = 20 * MiB;

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** `bytes` as a stream of `chunkSize` pieces; `onPull` counts what the store reads. */
export function source(bytes: Buffer, chunkSize = 64 * 1024, onPull?: (offset: number) => void): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < bytes.length; offset += chunkSize) {
        onPull?.(offset);
        yield bytes.subarray(offset, offset + chunkSize);
      }
    })(),
    { objectMode: false },
  );
}

/** A stream that yields `bytes` and then fails, like a client that disconnects mid-upload. */
export function failingSource(bytes: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from(
    (async function* () {
      for (let offset = 0; offset < bytes.length; offset += chunkSize) yield bytes.subarray(offset, offset + chunkSize);
      throw new Error('connection reset by peer');
    })(),
    { objectMode: false },
  );
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of stream) pieces.push(Buffer.from(piece as Uint8Array));
  return Buffer.concat(pieces);
}

export const samples = {
  'text/plain': Buffer.from('Operative note\r\n\tPatient 0042: stent placed, no complications.\fPage 2 — naïve 漢字 ✓\n', 'utf8'),
  'application/pdf': Buffer.concat([Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'), randomBytes(300 * 1024)]),
  'image/png': Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(70_000)]),
  'image/jpeg': Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(600 * 1024 + 17)]),
} as const;

/** A ZIP archive's opening bytes (what a .docx is): refused whatever its name says. */
export const zip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00]), randomBytes(4096)]);

async function refusal(promise: Promise<unknown>): Promise<{ code: string; kind: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${String(error)}`);
  return { code: error.code, kind: error.kind };
}

/** The behaviour every BlobStore adapter shares (PostgreSQL on PGlite and on a server, S3). */
export function describeBlobStoreContract(name: string, open: () => Promise<BlobStoreHarness>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let harness: BlobStoreHarness;
    let store: BlobStore;
    beforeAll(async () => {
      harness = await open();
      store = harness.store;
    });
    afterAll(async () => harness?.close());
    afterEach(async () => {
      // Nothing a test left behind stays staged: every upload ended committed or discarded.
      expect((await harness.counts()).staged).toBe(0);
    });

    it.each(Object.entries(samples))('round-trips %s byte for byte, readable only once committed', async (mediaType, bytes) => {
      const staged = await store.stage(source(bytes, 1000), { maxBytes: MAX_BYTES });
      expect({ sha256: staged.sha256, size: staged.size, mediaType: staged.mediaType }).toEqual({
        sha256: sha256(bytes),
        size: bytes.length,
        mediaType,
      });
      expect(await store.has(staged.sha256)).toBe(false);
      expect((await harness.counts()).staged).toBeGreaterThan(0);
      await staged.commit();
      await staged.commit(); // idempotent
      expect(await store.has(staged.sha256)).toBe(true);
      const opened = await store.open(staged.sha256);
      expect(opened.size).toBe(bytes.length);
      const back = await readAll(opened.stream);
      expect(back.equals(bytes)).toBe(true);
    });

    it('round-trips 20 MB (the limit, exactly) and refuses one byte more', async () => {
      const bytes = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(MAX_BYTES - 9)]);
      const staged = await store.stage(source(bytes, 256 * 1024 + 3), { maxBytes: MAX_BYTES });
      expect(staged.size).toBe(MAX_BYTES);
      await staged.commit();
      const opened = await store.open(sha256(bytes));
      expect(opened.size).toBe(MAX_BYTES);
      expect(sha256(await readAll(opened.stream))).toBe(sha256(bytes));
      const before = await harness.counts();
      const over = Buffer.concat([bytes, Buffer.from('x')]);
      expect(await refusal(store.stage(source(over), { maxBytes: MAX_BYTES }))).toEqual({ code: 'FILE_TOO_LARGE', kind: 'too_large' });
      expect(await harness.counts()).toEqual(before);
    });

    it('stores the same bytes once however often they are committed', async () => {
      const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(400 * 1024)]);
      const before = await harness.counts();
      const first = await store.stage(source(bytes), { maxBytes: MAX_BYTES });
      await first.commit();
      const second = await store.stage(source(bytes, 7777), { maxBytes: MAX_BYTES });
      expect(second.sha256).toBe(first.sha256);
      await second.commit();
      expect((await harness.counts()).stored).toBe(before.stored + 1);
      expect((await readAll((await store.open(first.sha256)).stream)).equals(bytes)).toBe(true);
    });

    it('commits concurrent uploads of the same bytes, both fine, one copy stored', async () => {
      const bytes = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xdb]), randomBytes(700 * 1024)]);
      const before = await harness.counts();
      const both = await Promise.all([0, 1].map(async () => (await store.stage(source(bytes, 50_000), { maxBytes: MAX_BYTES })).commit()));
      expect(both).toHaveLength(2);
      expect((await harness.counts()).stored).toBe(before.stored + 1);
      expect((await readAll((await store.open(sha256(bytes))).stream)).equals(bytes)).toBe(true);
    });

    it('refuses an empty file (400), leaving nothing', async () => {
      const before = await harness.counts();
      expect(await refusal(store.stage(source(Buffer.alloc(0)), { maxBytes: MAX_BYTES }))).toEqual({
        code: 'FILE_EMPTY',
        kind: 'invalid',
      });
      expect(await harness.counts()).toEqual(before);
    });

    it('refuses a file over the limit as soon as the limit passes (413), reading no further and leaving nothing', async () => {
      const before = await harness.counts();
      let pulledUpTo = 0;
      const huge = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(8 * MiB, 0x41)]);
      const outcome = await refusal(
        store.stage(
          source(huge, 64 * 1024, (offset) => (pulledUpTo = offset)),
          { maxBytes: MiB },
        ),
      );
      expect(outcome).toEqual({ code: 'FILE_TOO_LARGE', kind: 'too_large' });
      expect(pulledUpTo).toBeLessThan(2 * MiB);
      expect(await harness.counts()).toEqual(before);
    });

    it('refuses a ZIP (415) and binary posing as text, leaving nothing', async () => {
      const before = await harness.counts();
      for (const bytes of [zip, Buffer.from('plain text with a NUL\u0000 inside'), Buffer.from([0x68, 0x69, 0xc3])]) {
        expect(await refusal(store.stage(source(bytes, 3), { maxBytes: MAX_BYTES }))).toEqual({
          code: 'MEDIA_TYPE_UNSUPPORTED',
          kind: 'unsupported_media_type',
        });
      }
      expect(await harness.counts()).toEqual(before);
    });

    it('leaves nothing when the source fails mid-way, and rejects with its error', async () => {
      const before = await harness.counts();
      const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(MiB)]);
      await expect(store.stage(failingSource(bytes), { maxBytes: MAX_BYTES })).rejects.toThrow('connection reset by peer');
      expect(await harness.counts()).toEqual(before);
    });

    it('discards a staged upload without trace; discard is idempotent and harmless after commit', async () => {
      const before = await harness.counts();
      const bytes = Buffer.concat([samples['image/png'], randomBytes(1000)]);
      const staged = await store.stage(source(bytes), { maxBytes: MAX_BYTES });
      await staged.discard();
      await staged.discard();
      expect(await store.has(staged.sha256)).toBe(false);
      expect(await harness.counts()).toEqual(before);
      const committed = await store.stage(source(bytes), { maxBytes: MAX_BYTES });
      await committed.commit();
      await committed.discard();
      expect((await readAll((await store.open(committed.sha256)).stream)).equals(bytes)).toBe(true);
    });

    it('answers BLOB_NOT_FOUND (404) for a hash it does not hold', async () => {
      expect(await refusal(store.open(sha256(randomBytes(16))))).toEqual({ code: 'BLOB_NOT_FOUND', kind: 'not_found' });
      expect(await refusal(store.open('../../etc/passwd'))).toEqual({ code: 'BLOB_NOT_FOUND', kind: 'not_found' });
      expect(await store.has('nope')).toBe(false);
    });
  });
}
