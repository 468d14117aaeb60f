import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { MediaSniffer, sniffMediaType } from './media-type';
import { streamIntoStaging } from './staging';

/** `bytes` cut at `cuts` (positions, any order, duplicates allowed). */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    pieces.push(bytes.subarray(from, point));
    from = point;
  }
  return pieces;
}

function verdict(pieces: Uint8Array[]) {
  const sniffer = new MediaSniffer();
  for (const piece of pieces) sniffer.push(piece);
  return sniffer.finish();
}

const sink = { write: async () => undefined, end: async () => undefined, abort: async () => undefined };

describe('media type from the content', () => {
  const bytes = (...values: number[]) => Uint8Array.from(values);
  it.each([
    ['%PDF-1.7\n…', Buffer.from('%PDF-1.7\n\x00\xff binary', 'latin1'), 'application/pdf'],
    ['PNG', bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13), 'image/png'],
    ['JPEG', bytes(0xff, 0xd8, 0xff, 0xe1, 0x00), 'image/jpeg'],
    ['UTF-8 text with tab, CR, LF, FF', Buffer.from('Entlassbrief\tÄrztin\r\n\fSeite 2 ✓\n'), 'text/plain'],
    ['text with a BOM', Buffer.from('\ufeffhello'), 'text/plain'],
    ['a ZIP named .pdf', bytes(0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0), undefined],
    ['text with NUL', Buffer.from('abc\u0000def'), undefined],
    ['text with ESC', Buffer.from('abc\u001b[31m'), undefined],
    ['Latin-1 (not UTF-8)', Buffer.from('caf\xe9', 'latin1'), undefined],
    ['UTF-8 cut mid-character', Buffer.from('caf\xc3', 'latin1'), undefined],
    ['a PNG signature cut short', bytes(0x89, 0x50, 0x4e, 0x47), undefined],
    ['nothing', bytes(), undefined],
  ])('%s → %s', (_name, content, expected) => {
    expect(sniffMediaType(content)).toBe(expected);
  });

  const contents = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.string({ unit: 'grapheme', maxLength: 100 }).map((text) => new Uint8Array(Buffer.from(text))),
    fc.uint8Array({ maxLength: 100 }).map((tail) => new Uint8Array(Buffer.concat([Buffer.from('%PDF-'), tail]))),
    fc.uint8Array({ maxLength: 100 }).map((tail) => new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), tail]))),
    fc
      .uint8Array({ maxLength: 100 })
      .map((tail) => new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), tail]))),
  );

  it('gives the same verdict however the bytes are chunked', () => {
    fc.assert(
      fc.property(contents, fc.array(fc.nat(), { maxLength: 12 }), (content, cuts) => {
        expect(verdict(chunked(content, cuts))).toBe(sniffMediaType(content));
      }),
      { numRuns: 500 },
    );
  });

  it('stages the same sha256, size and verdict (or refusal) however the stream is chunked', async () => {
    await fc.assert(
      fc.asyncProperty(contents, fc.array(fc.nat(), { maxLength: 12 }), async (content, cuts) => {
        const outcome = (pieces: Uint8Array[]) =>
          streamIntoStaging(
            Readable.from(
              pieces.map((piece) => Buffer.from(piece)),
              { objectMode: false },
            ),
            1000,
            sink,
          ).then(
            (staged) => staged,
            (error: { code?: string }) => error.code,
          );
        const whole = await outcome([content]);
        expect(await outcome(chunked(content, cuts))).toEqual(whole);
        if (typeof whole === 'object') expect(whole.sha256).toBe(createHash('sha256').update(content).digest('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('accepts any string of printable text as text/plain', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }), (text) => {
        // eslint-disable-next-line no-control-regex
        const clean = text.replace(/[\u0000-\u0008\u000b\u000e-\u001f]/g, 'x');
        const content = Buffer.from(clean);
        // Text that happens to open like a PDF is a PDF; nothing else changes the verdict.
        fc.pre(!clean.startsWith('%PDF-'));
        expect(sniffMediaType(content)).toBe('text/plain');
      }),
    );
  });
});
