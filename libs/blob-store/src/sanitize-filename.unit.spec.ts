import fc from 'fast-check';
import { sanitizeFilename } from './multipart';

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069/\\]/;

describe('sanitizeFilename', () => {
  it.each([
    ['../../etc/passwd\u0000\u202e.pdf', 'passwd.pdf'],
    ['C:\\Users\\site\\op-note.pdf', 'op-note.pdf'],
    ['  discharge letter.pdf  ', 'discharge letter.pdf'],
    ['evil\u202efdp.exe', 'evilfdp.exe'],
    ['', 'document'],
    [undefined, 'document'],
    ['..', 'document'],
    ['dir/', 'document'],
    ['Entlassbrief Ärztin 漢字.pdf', 'Entlassbrief Ärztin 漢字.pdf'],
  ])('%j → %j', (input, expected) => {
    expect(sanitizeFilename(input)).toBe(expected);
  });

  it('cuts at 255 bytes of UTF-8 without splitting a character', () => {
    const name = sanitizeFilename('漢'.repeat(100));
    expect(Buffer.byteLength(name)).toBe(255);
    expect(name).toBe('漢'.repeat(85));
  });

  const names = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 400 }),
    fc.string({
      unit: fc.constantFrom('a', '.', '/', '\\', ' ', '\u0000', '\u202e', '\u2066', '漢', '\ud83d', '\ude00', '\u0085'),
      maxLength: 300,
    }),
  );

  it('leaves no path, control or bidi character, never more than 255 bytes, never empty', () => {
    fc.assert(
      fc.property(names, (input) => {
        const name = sanitizeFilename(input);
        expect(UNSAFE.test(name)).toBe(false);
        expect(Buffer.byteLength(name, 'utf8')).toBeLessThanOrEqual(255);
        expect(name.length).toBeGreaterThan(0);
        expect(name).toBe(name.trim());
        expect(['.', '..']).not.toContain(name);
        expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(name)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('is idempotent, and keeps a safe name as it is', () => {
    fc.assert(
      fc.property(names, (input) => {
        const once = sanitizeFilename(input);
        expect(sanitizeFilename(once)).toBe(once);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,60}[A-Za-z0-9]$/), (safe) => {
        fc.pre(safe !== '..');
        expect(sanitizeFilename(safe)).toBe(safe);
      }),
    );
  });
});
