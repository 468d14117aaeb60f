/**
 * Requests keep their shape (issue #18): Express gives every request and response its prototype
 * on arrival, which in V8 gives each its own map and turns every property access on them into an
 * inline-cache miss. StableShapeExpressAdapter has Node construct them with Express's prototypes,
 * so Express's setPrototypeOf changes nothing. The V8 maps are checked in a child process with
 * natives syntax; the platform's own server is checked for the prototypes its requests are born with.
 */
import { spawnSync } from 'node:child_process';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Express } from 'express';
import { startPlatform, uniqueId } from '../../../test/support/platform';

const ROOT = join(__dirname, '..', '..', '..');

function probe(adapter: 'stable' | 'express'): {
  answers: number[];
  bornAsExpress: boolean[];
  echoed: boolean;
  polluted: boolean;
  served: number;
  requestsShareMaps: boolean;
  responsesShareMaps: boolean;
} {
  const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', join(__dirname, 'shape-probe.ts'), adapter], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`probe ${adapter} exited ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as ReturnType<typeof probe>;
}

describe('StableShapeExpressAdapter', () => {
  // Nest's own adapter is the control: there every request gets maps of its own. The last 12
  // requests compared include 11 sent at once with hostile keys and one after a client hung up.
  it.each([
    ['StableShapeExpressAdapter', true, 'stable'],
    ["Nest's ExpressAdapter", false, 'express'],
  ] as const)('%s: requests born with Express prototypes and sharing their V8 maps: %s', (_name, shared, adapter) => {
    const result = probe(adapter);
    // Every command answered, the one whose client hung up never reached the handler, the hostile
    // keys came back as data and reached no prototype.
    expect(result.answers).toEqual(Array(25).fill(201));
    expect(result.served).toBe(25);
    expect(result.echoed).toBe(true);
    expect(result.polluted).toBe(false);
    expect(result.bornAsExpress).toEqual(Array(26).fill(shared));
    expect(result.requestsShareMaps).toBe(shared);
    expect(result.responsesShareMaps).toBe(shared);
  });

  it("is the platform's server: a command's request arrives already an Express request", async () => {
    const platform = await startPlatform();
    try {
      const server = platform.app.getHttpServer() as Server;
      const express = platform.app.getHttpAdapter().getInstance() as Express;
      const born: Array<[boolean, boolean]> = [];
      server.prependListener('request', (request: object, response: object) =>
        born.push([Object.getPrototypeOf(request) === express.request, Object.getPrototypeOf(response) === express.response]),
      );
      const answer = await platform.http
        .post('/trials')
        .set('Authorization', `Bearer ${await platform.token('trial-admin')}`)
        .send({ trialId: uniqueId('SHAPE'), title: 'Shapes', protocolVersion: '1.0' });
      expect(answer.status).toBe(201);
      expect(born).toEqual([[true, true]]);
    } finally {
      await platform.close();
    }
  });
});
