/**
 * A child process for stable-shape.e2e.spec.ts: a Nest app on the adapter named in argv[2]
 * (`stable`: StableShapeExpressAdapter, `express`: Nest's own ExpressAdapter) answers a few JSON
 * commands, then prints whether the last requests and responses share their V8 maps. Run with
 * `node --allow-natives-syntax --import tsx`.
 */
import 'reflect-metadata';
import type { Server } from 'node:http';
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
  const answers: number[] = [];
  for (let i = 0; i < 8; i++) {
    const answer = await fetch(`http://127.0.0.1:${port}/probe/${i}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ i, note: 'x'.repeat(i) }),
    });
    answers.push(answer.status);
    await answer.text();
  }
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- V8's natives syntax is only parsed at run time
  const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
  const last = served.slice(-3);
  const shared = (pick: (s: { request: object; response: object }) => object) =>
    last.every((entry) => sameMap(pick(entry), pick(last[0]!)));
  process.stdout.write(
    `${JSON.stringify({ answers, bornAsExpress, requestsShareMaps: shared((s) => s.request), responsesShareMaps: shared((s) => s.response) })}\n`,
  );
  await app.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
