import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { DomainError } from '@app/contracts';
import type { BlobStore, StagedBlob } from './blob-store.port';
import { fileTooLarge } from './staging';

export interface MultipartUpload {
  /** The text fields sent, each one of the names asked for (checking which are required is the caller's). */
  fields: Record<string, string>;
  file: StagedBlob;
  /** From the file part's Content-Disposition, sanitised (sanitizeFilename). */
  filename: string;
}

/** Room for the part headers and the text fields around the file in a request's Content-Length. */
export const MULTIPART_ENVELOPE_BYTES = 64 * 1024;
/** After a refusal, how much of the rest of the body is read and dropped so the answer reaches the client. */
export const MULTIPART_LINGER_BYTES = 1024 * 1024;
/** A text field's value at most (ids, a kind, a title, a note). */
export const MULTIPART_FIELD_BYTES = 4096;

const multipartInvalid = (detail: string, field?: string) => new DomainError('MULTIPART_INVALID', detail, 'invalid', field);
const fieldInvalid = (field: string, detail: string) => new DomainError('VALIDATION_FAILED', detail, 'invalid', field);

/**
 * Reads a multipart/form-data request with exactly one file part, `file`, streamed into `store`'s
 * staging as it arrives, and the text fields named in `fields` (before or after the file). Resolves
 * once the whole body is parsed. Every refusal rejects with a DomainError and leaves nothing staged;
 * a refusal of the file's size (or type) rejects as soon as it is known and stops reading the
 * request (the caller answers, then closes the connection rather than draining the rest).
 */
export function readMultipartUpload(
  req: IncomingMessage,
  options: { store: BlobStore; maxBytes: number; fields: readonly string[] },
): Promise<MultipartUpload> {
  const contentType = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*(;|$)/i.test(contentType)) {
    return Promise.reject(
      new DomainError(
        'MEDIA_TYPE_UNSUPPORTED',
        'the request must be multipart/form-data with the document in its `file` part',
        'unsupported_media_type',
        'Content-Type',
      ),
    );
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > options.maxBytes + MULTIPART_ENVELOPE_BYTES) {
    return Promise.reject(fileTooLarge(options.maxBytes));
  }
  return new Promise<MultipartUpload>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        // Browsers send the file name's UTF-8 bytes as they are; busboy would read them as Latin-1.
        defParamCharset: 'utf8',
        limits: {
          fieldNameSize: 100,
          fieldSize: MULTIPART_FIELD_BYTES,
          // One more than asked for, so that an unknown field is named rather than dropped silently.
          fields: options.fields.length + 1,
          parts: options.fields.length + 3,
          headerPairs: 20,
        },
      });
    } catch (error) {
      reject(multipartInvalid(`the multipart request cannot be read: ${(error as Error).message}`));
      return;
    }
    const values = new Map<string, string>();
    let staging: Promise<StagedBlob> | undefined;
    let fileStream: Readable | undefined;
    let filename = 'document';
    let failure: Error | undefined;
    let settled = false;

    const settle = async () => {
      if (settled) return;
      settled = true;
      let staged: StagedBlob | undefined;
      try {
        staged = await staging;
      } catch (error) {
        failure ??= error instanceof DomainError ? error : multipartInvalid(`the file could not be read: ${(error as Error).message}`);
      }
      if (!failure && !staged) failure = new DomainError('FILE_MISSING', 'the request has no `file` part', 'invalid', 'file');
      if (failure) {
        await staged?.discard().catch(() => undefined);
        reject(failure);
      } else {
        resolve({ fields: Object.fromEntries(values), file: staged!, filename });
      }
    };

    const fail = (error: Error) => {
      if (failure || settled) return;
      failure = error;
      req.unpipe(parser);
      // What is already in flight is read and dropped, up to a budget: a socket closed with unread bytes
      // sends a TCP reset, which can destroy the answer before the client reads it. Past the budget,
      // reading stops (the rest of a 1 GB body is never drained; the caller closes the connection).
      let dropped = 0;
      const drop = (chunk: Buffer) => {
        dropped += chunk.length;
        if (dropped > MULTIPART_LINGER_BYTES) {
          req.off('data', drop);
          req.pause();
        }
      };
      req.on('data', drop);
      req.resume();
      if (fileStream && !fileStream.destroyed) fileStream.destroy(error);
      parser.removeAllListeners('file').removeAllListeners('field');
      parser.on('error', () => undefined);
      // Not now: fail may run inside the parser's own write, and a throw there reaches the HTTP parser (a bare 400).
      setImmediate(() => parser.destroy());
      void settle();
    };

    parser.on('field', (name, value, info) => {
      if (name === 'file')
        return fail(new DomainError('FILE_MISSING', 'the `file` part must be a file (with a filename)', 'invalid', 'file'));
      if (!options.fields.includes(name)) return fail(fieldInvalid(name, `unknown field ${name}; expected ${options.fields.join(', ')}`));
      if (info.nameTruncated) return fail(multipartInvalid('a field name is too long'));
      if (info.valueTruncated) return fail(fieldInvalid(name, `must be at most ${MULTIPART_FIELD_BYTES} bytes`));
      if (values.has(name)) return fail(fieldInvalid(name, `${name} is given more than once`));
      values.set(name, value);
    });
    parser.on('file', (name, stream, info) => {
      // A part that is not read is drained; destroying the parser later errors its stream ("Unexpected end of file").
      const ignore = () => void stream.on('error', () => undefined).resume();
      if (failure) return ignore();
      if (name !== 'file') {
        ignore();
        return fail(multipartInvalid(`unexpected file part ${name}; the document goes in the one part named file`, name));
      }
      if (staging) {
        ignore();
        return fail(multipartInvalid('the request has more than one file part; send exactly one, named file', 'file'));
      }
      // stage() sees the stream's errors through its reader; this keeps a late one (the parser destroyed) from going unhandled.
      stream.on('error', () => undefined);
      fileStream = stream;
      filename = sanitizeFilename(info.filename);
      staging = options.store.stage(stream, { maxBytes: options.maxBytes });
      // A refused file (too large, wrong type) ends the request now, not after the rest of the body.
      staging.catch((error: Error) =>
        fail(error instanceof DomainError ? error : multipartInvalid(`the file could not be read: ${error.message}`)),
      );
    });
    parser.on('partsLimit', () => fail(multipartInvalid(`too many parts: at most one file and the fields ${options.fields.join(', ')}`)));
    parser.on('fieldsLimit', () => fail(multipartInvalid(`too many fields: at most ${options.fields.join(', ')}`)));
    parser.on('error', (error: Error) => fail(multipartInvalid(`the multipart body is malformed: ${error.message}`)));
    parser.on('close', () => void settle());
    const cutOff = () => fail(multipartInvalid('the request body ended before the multipart form did'));
    req.on('aborted', cutOff);
    req.on('error', cutOff);
    req.on('close', () => {
      if (!req.complete) cutOff();
    });
    req.pipe(parser);
  });
}

/** C0 and C1 controls and the bidirectional marks and overrides that make `evil\u202Efdp.exe` display as `evilexe.pdf`. */
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const FILENAME_MAX_BYTES = 255;

/**
 * A client's file name made safe to store and show: its last path segment only (after any / or \),
 * without control characters or bidirectional overrides, trimmed, at most 255 bytes of UTF-8 (cut at
 * a character boundary); `document` when nothing is left.
 */
export function sanitizeFilename(name: string | undefined): string {
  let text = (name ?? '').replace(LONE_SURROGATE, '\ufffd').replace(UNSAFE_CHARACTERS, '');
  text = text.slice(Math.max(text.lastIndexOf('/'), text.lastIndexOf('\\')) + 1).trim();
  if (Buffer.byteLength(text, 'utf8') > FILENAME_MAX_BYTES) {
    let kept = '';
    let bytes = 0;
    for (const character of text) {
      const size = Buffer.byteLength(character, 'utf8');
      if (bytes + size > FILENAME_MAX_BYTES) break;
      kept += character;
      bytes += size;
    }
    text = kept.trim();
  }
  return text === '' || text === '.' || text === '..' ? 'document' : text;
}
