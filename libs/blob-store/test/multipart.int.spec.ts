import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DomainError } from '@app/contracts';
import { readMultipartUpload, type MultipartUpload } from '../src';
import { postgresBlobHarness } from './postgres-harness';
import { samples, sha256, zip } from './blob-store.contract';

const STATUS: Record<string, number> = { invalid: 400, not_found: 404, too_large: 413, unsupported_media_type: 415 };
const MAX = 1024 * 1024;
const BOUNDARY = 'xXxBoundary42';

type Part = { name: string; value: string } | { name: string; filename: string; content: Buffer };
const field = (name: string, value: string): Part => ({ name, value });
const file = (content: Buffer, filename = 'note.pdf', name = 'file'): Part => ({ name, filename, content });

function body(parts: Part[]): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    const disposition =
      'filename' in part
        ? `form-data; name="${part.name}"; filename="${part.filename}"\r\nContent-Type: application/octet-stream`
        : `form-data; name="${part.name}"`;
    pieces.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n\r\n`, 'utf8'));
    pieces.push('filename' in part ? part.content : Buffer.from(part.value));
    pieces.push(Buffer.from('\r\n'));
  }
  pieces.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(pieces);
}

describe('readMultipartUpload over real HTTP (PGlite store)', () => {
  let harness: Awaited<ReturnType<typeof postgresBlobHarness>>;
  let server: Server;
  let port: number;
  const outcomes: Array<Promise<unknown>> = [];

  beforeAll(async () => {
    harness = await postgresBlobHarness();
    server = createServer((req, res) => {
      const outcome = readMultipartUpload(req, { store: harness.store, maxBytes: MAX, fields: ['documentId', 'kind', 'title'] }).then(
        async (upload: MultipartUpload) => {
          await upload.file.commit();
          res.writeHead(201, { 'Content-Type': 'application/json' });
          const { sha256: hash, size, mediaType } = upload.file;
          res.end(JSON.stringify({ fields: upload.fields, filename: upload.filename, sha256: hash, size, mediaType }));
        },
        (error: unknown) => {
          const e = error instanceof DomainError ? error : new DomainError('INTERNAL', String(error), 'rule');
          // What the lead's endpoint does on a refusal: answer now and close rather than drain the body.
          res.writeHead(STATUS[e.kind] ?? 500, { 'Content-Type': 'application/json', Connection: 'close' });
          res.end(JSON.stringify({ code: e.code, field: e.field }));
        },
      );
      outcomes.push(outcome);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await harness?.close();
  });
  afterEach(async () => {
    await Promise.allSettled(outcomes);
    expect((await harness.counts()).staged).toBe(0);
  });

  function post(
    payload: Buffer,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: { code?: string; field?: string; [key: string]: unknown } }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: '/',
          headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': String(payload.length), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString() || '{}') }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  it('reads the fields before and after the file, and stores the file', async () => {
    const pdf = samples['application/pdf'];
    const answer = await post(body([field('documentId', 'doc-1'), field('kind', 'operative-note'), file(pdf), field('title', 'Op note')]));
    expect(answer).toEqual({
      status: 201,
      json: {
        fields: { documentId: 'doc-1', kind: 'operative-note', title: 'Op note' },
        filename: 'note.pdf',
        sha256: sha256(pdf),
        size: pdf.length,
        mediaType: 'application/pdf',
      },
    });
    expect(await harness.store.has(sha256(pdf))).toBe(true);
    const after = await post(body([file(samples['text/plain'], 'n.txt'), field('title', 'T')]));
    expect(after.json).toMatchObject({ fields: { title: 'T' }, mediaType: 'text/plain' });
  });

  it.each([
    ['no file', [field('documentId', 'd')], 400, 'FILE_MISSING', 'file'],
    ['two files', [file(samples['image/png'], 'a.png'), file(samples['image/png'], 'b.png')], 400, 'MULTIPART_INVALID', 'file'],
    ['a file under another name', [file(samples['image/png'], 'a.png', 'attachment')], 400, 'MULTIPART_INVALID', 'attachment'],
    ['an unknown field', [field('documentId', 'd'), field('arm', 'A'), file(samples['image/png'])], 400, 'VALIDATION_FAILED', 'arm'],
    ['an unknown field after the file', [file(samples['image/png']), field('arm', 'A')], 400, 'VALIDATION_FAILED', 'arm'],
    ['a field over 4 KiB', [field('title', 'x'.repeat(5000)), file(samples['image/png'])], 400, 'VALIDATION_FAILED', 'title'],
    ['an empty file', [file(Buffer.alloc(0))], 400, 'FILE_EMPTY', 'file'],
    ['a ZIP named x.pdf', [file(zip, 'x.pdf')], 415, 'MEDIA_TYPE_UNSUPPORTED', 'file'],
    ['a file over the limit', [file(Buffer.concat([Buffer.from('%PDF-'), Buffer.alloc(MAX)]))], 413, 'FILE_TOO_LARGE', 'file'],
  ] as const)('refuses %s: %s %s, nothing staged or stored', async (_name, parts, status, code, fieldName) => {
    const before = await harness.counts();
    const answer = await post(body([...parts]));
    expect({ status: answer.status, code: answer.json.code, field: answer.json.field }).toEqual({ status, code, field: fieldName });
    await Promise.allSettled(outcomes);
    expect(await harness.counts()).toEqual(before);
  });

  it('refuses a body that is not multipart/form-data: 415 naming Content-Type', async () => {
    const answer = await post(Buffer.from('{}'), { 'Content-Type': 'application/json' });
    expect({ status: answer.status, ...answer.json }).toEqual({ status: 415, code: 'MEDIA_TYPE_UNSUPPORTED', field: 'Content-Type' });
  });

  it('refuses a malformed body: 400 MULTIPART_INVALID', async () => {
    const answer = await post(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nabc`));
    expect({ status: answer.status, code: answer.json.code }).toEqual({ status: 400, code: 'MULTIPART_INVALID' });
  });

  it('sanitises a hostile file name', async () => {
    // RFC 5987 encoding carries what a raw header cannot (a NUL); busboy decodes it.
    const hostile = Buffer.concat([
      Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd%00%E2%80%AE.pdf\r\n\r\n`,
      ),
      samples['text/plain'],
      Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
    ]);
    const answer = await post(hostile);
    expect({ status: answer.status, filename: answer.json.filename }).toEqual({ status: 201, filename: 'passwd.pdf' });
  });

  it('answers 413 at once when Content-Length says the body is too large, before any of it is sent', async () => {
    const started = Date.now();
    const answer = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          port,
          host: '127.0.0.1',
          method: 'POST',
          headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': String(1024 * 1024 * 1024) },
        },
        (res) => {
          resolve(res.statusCode!);
          res.resume();
          req.destroy();
        },
      );
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
      req.flushHeaders();
    });
    expect(answer).toBe(413);
    // Before the body: the answer does not wait for bytes (generous, for a loaded CI machine).
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('answers 413 to a chunked body as soon as the file passes the limit, not after the whole body', async () => {
    let sent = 0;
    const status = await new Promise<number>((resolve, reject) => {
      let answered = false;
      const req = request(
        { port, host: '127.0.0.1', method: 'POST', headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` } },
        (res) => {
          answered = true;
          resolve(res.statusCode!);
          res.resume();
          req.destroy();
        },
      );
      req.on('error', () => (answered ? undefined : reject(new Error(`no answer after ${sent} bytes`))));
      req.write(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n\r\n%PDF-1.7\n`);
      const piece = randomBytes(64 * 1024);
      const pump = () => {
        while (!answered && sent < 256 * 1024 * 1024) {
          sent += piece.length;
          if (!req.write(piece)) return void req.once('drain', pump);
        }
      };
      pump();
    });
    expect(status).toBe(413);
    // The limit is 1 MiB; what the kernel's socket buffers took on top is a few MiB, not the 256 MiB offered.
    expect(sent).toBeLessThan(32 * 1024 * 1024);
  });

  it('leaves nothing when the client disconnects mid-upload', async () => {
    const payload = body([file(Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(MAX - 100)]))]);
    const before = outcomes.length;
    await new Promise<void>((resolve) => {
      const req = request({
        port,
        host: '127.0.0.1',
        method: 'POST',
        headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': String(payload.length) },
      });
      req.on('error', () => undefined);
      req.write(payload.subarray(0, 600 * 1024), () => setTimeout(() => (req.destroy(), resolve()), 100));
    });
    while (outcomes.length === before) await new Promise((resolve) => setTimeout(resolve, 10));
    await Promise.allSettled(outcomes);
    expect((await harness.counts()).staged).toBe(0);
    expect(await harness.store.has(sha256(payload))).toBe(false);
  });
});
