import { TextDecoder } from 'node:util';
import type { AcceptedMediaType } from './blob-store.port';

const PDF = [0x25, 0x50, 0x44, 0x46, 0x2d]; // %PDF-
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];
const HEAD_BYTES = 8;

/** C0 controls other than tab, LF, FF and CR: text holding them is binary whatever its encoding says. */
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CONTROL = /[\x00-\x08\x0B\x0E-\x1F]/;

const startsWith = (head: Uint8Array, signature: number[]) =>
  head.length >= signature.length && signature.every((byte, index) => head[index] === byte);

/**
 * Decides a file's media type from its bytes as they arrive, whatever the chunking: the first
 * bytes name PDF, PNG or JPEG; anything else is plain text only if the whole content is valid
 * UTF-8 (checked across chunk boundaries by a streaming fatal decoder) without C0 controls other
 * than tab, LF, FF and CR. A leading UTF-8 BOM is allowed. Never looks at the file's name.
 */
export class MediaSniffer {
  private head = new Uint8Array(0);
  private decoder: TextDecoder | undefined = new TextDecoder('utf-8', { fatal: true });
  private binary: AcceptedMediaType | undefined;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.head.length < HEAD_BYTES) {
      const take = chunk.subarray(0, HEAD_BYTES - this.head.length);
      const head = new Uint8Array(this.head.length + take.length);
      head.set(this.head);
      head.set(take, this.head.length);
      this.head = head;
      this.binary = signatureOf(this.head);
    }
    // A file that opens with a binary signature is that type: its later bytes need no text check.
    if (this.binary || !this.decoder) return;
    try {
      if (FORBIDDEN_CONTROL.test(this.decoder.decode(chunk, { stream: true }))) this.decoder = undefined;
    } catch {
      this.decoder = undefined;
    }
  }

  /** True once no further bytes can make the content acceptable (so a reader may stop early). */
  get refused(): boolean {
    return this.head.length >= HEAD_BYTES && !this.binary && !this.decoder;
  }

  /** The verdict over everything pushed: the media type, or undefined when it is not accepted (415). */
  finish(): AcceptedMediaType | undefined {
    if (this.head.length === 0) return undefined;
    const binary = signatureOf(this.head);
    if (binary) return binary;
    if (!this.decoder) return undefined;
    try {
      // Flushes: a multi-byte sequence cut off at the end of the content is not valid UTF-8.
      const rest = this.decoder.decode();
      return FORBIDDEN_CONTROL.test(rest) ? undefined : 'text/plain';
    } catch {
      return undefined;
    } finally {
      this.decoder = undefined;
    }
  }
}

function signatureOf(head: Uint8Array): AcceptedMediaType | undefined {
  if (startsWith(head, PDF)) return 'application/pdf';
  if (startsWith(head, PNG)) return 'image/png';
  if (startsWith(head, JPEG)) return 'image/jpeg';
  return undefined;
}

/** The verdict over a whole content in one piece (tests and small inputs). */
export function sniffMediaType(bytes: Uint8Array): AcceptedMediaType | undefined {
  const sniffer = new MediaSniffer();
  sniffer.push(bytes);
  return sniffer.finish();
}
