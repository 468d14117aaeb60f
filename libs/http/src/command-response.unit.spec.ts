import express, { type Request, type Response } from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { ApiHttpAdapter } from './command-response';
import type { RequestWithIdempotency } from './idempotency';

/**
 * ApiHttpAdapter writes a command's answer itself; it must be byte for byte, header for header,
 * what Nest's reply through Express's res.json wrote with the ETag set before.
 */
describe('ApiHttpAdapter answers', () => {
  const adapter = new ApiHttpAdapter();
  let body: unknown;
  let replayed = false;
  const app = express();
  const claim = (req: Request) => {
    if (replayed) (req as RequestWithIdempotency).idempotency = { scope: 'u', key: 'k', requestHash: 'h', notBefore: '', replayed: true };
  };
  app.all('/adapter', (req: Request, res: Response) => {
    claim(req);
    adapter.reply(res, body, req.method === 'POST' ? 201 : 200);
  });
  app.all('/express', (req: Request, res: Response) => {
    const version = (body as { streamVersion?: number; version?: number }).streamVersion ?? (body as { version?: number }).version;
    if (Number.isSafeInteger(version)) res.setHeader('ETag', `"${version}"`);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.status(req.method === 'POST' ? 201 : 200).json(body);
  });
  const answer = async (method: 'post' | 'get' | 'put', path: string) => {
    const { status, headers, text } = await request(app)[method](path);
    const { date: _date, ...rest } = headers as Record<string, string>;
    return { status, headers: rest, text };
  };

  it('writes a command answer as res.json did, for any answer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ id: fc.string({ unit: 'grapheme' }), streamVersion: fc.nat(), position: fc.nat() }),
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.boolean(),
        fc.constantFrom('post' as const, 'put' as const),
        async (result, extra, isReplay, method) => {
          body = { ...extra, ...result };
          replayed = isReplay;
          const mine = await answer(method, '/adapter');
          expect(mine).toEqual(await answer(method, '/express'));
          expect(mine.headers.etag).toBe(`"${result.streamVersion}"`);
          expect(mine.headers['content-type']).toBe('application/json; charset=utf-8');
        },
      ),
      { numRuns: 150 },
    );
  });

  it("leaves reads and answers without a stream version to Express (its weak ETag, a GET's version ETag)", async () => {
    replayed = false;
    body = { version: 3, name: 'trial' };
    expect(await answer('get', '/adapter')).toEqual(await answer('get', '/express'));
    body = { cases: [] };
    const mine = await answer('post', '/adapter');
    expect(mine).toEqual(await answer('post', '/express'));
    expect(mine.headers.etag).toMatch(/^W\//);
  });
});
