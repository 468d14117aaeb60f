/**
 * A child process for stable-shape.e2e.spec.ts: a Nest app on the adapter named in argv[2]
 * (`stable`: StableShapeExpressAdapter, `express`: Nest's own ExpressAdapter) answers JSON
 * commands: 8 one after the other, 16 at once with hostile keys (`__proto__`, `constructor`), one
 * whose client hangs up halfway through its body, and one more after it. It prints the answers,
 * whether the hostile keys reached any prototype, and whether the last requests and responses
 * share their V8 maps. Run with `node --allow-natives-syntax --import tsx`.
 */
import 'reflect-metadata';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { Body, Controller, HttpCode, Module, Post, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express, Request } from 'express';
import { StableShapeExpressAdapter } from '@app/http';

const served: Array<{ request: object; response: object }> = [];

@Controller('probe')
class ProbeController {
  @Post(':id')
  @HttpCode(201)
  record(@Req() request: Request, @Body() body: unknown): { received: unknown } {
    served.push({ request, response: request.res! });
    return { received: body };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

async function main(): Promise<void> {
  const adapter = process.argv[2] === 'stable' ? new StableShapeExpressAdapter() : new ExpressAdapter();
  const app = await NestFactory.create(ProbeModule, adapter, { logger: false });
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  const express = app.getHttpAdapter().getInstance() as Express;
  // Before Express has seen the request: is it already an Express request?
  const bornAsExpress: boolean[] = [];
  server.prependListener('request', (request: object) => bornAsExpress.push(Object.getPrototypeOf(request) === express.request));
  const { port } = server.address() as { port: number };
  const post = async (path: string, body: string): Promise<{ status: number; text: string }> => {
    const answer = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return { status: answer.status, text: await answer.text() };
  };
  const answers: number[] = [];
  for (let i = 0; i < 8; i++) answers.push((await post(`/probe/${i}`, JSON.stringify({ i, note: 'x'.repeat(i) }))).status);
  const hostile = await Promise.all(
    Array.from({ length: 16 }, (_, i) =>
      post(`/probe/constructor`, `{"i":${i},"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}`),
    ),
  );
  answers.push(...hostile.map((answer) => answer.status));
  const echoed = hostile.every((answer) => {
    const { received } = JSON.parse(answer.text) as { received: Record<string, unknown> };
    return Object.hasOwn(received, '__proto__') && Object.hasOwn(received, 'constructor');
  });
  // A client that hangs up halfway through its body.
  await new Promise<void>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('POST /probe/gone HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"i":');
      setTimeout(() => socket.destroy(), 50);
    });
    socket.on('close', () => resolve());
  });
  answers.push((await post('/probe/after', JSON.stringify({ i: 'after' }))).status);
  const polluted = [{}, express.request, express.response, Object.getPrototypeOf(express.request) as object].some(
    (object) => (object as { polluted?: unknown }).polluted !== undefined,
  );
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- V8's natives syntax is only parsed at run time
  const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
  const last = served.slice(-12);
  const shared = (pick: (s: { request: object; response: object }) => object) =>
    last.every((entry) => sameMap(pick(entry), pick(last[0]!)));
  process.stdout.write(
    `${JSON.stringify({ answers, bornAsExpress, echoed, polluted, served: served.length, requestsShareMaps: shared((s) => s.request), responsesShareMaps: shared((s) => s.response) })}\n`,
  );
  await app.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
