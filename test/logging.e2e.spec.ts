/**
 * What an operator reads: the platform as users run it (`node dist/apps/platform/src/main.js`), its
 * output parsed line by line. One line per request (never a token or a body), the request id echoed,
 * no start-up chatter at info, start and stop lines, and fatal start-up errors as one clear line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signToken } from '../libs/auth/src';
import { buildApps, listeningOn, logsOf, startProcess, type RunningProcess } from './support/processes';

const SECRET = 'logging-e2e-secret-0123456789-0123456789';

interface LogLine {
  level: number;
  msg: string;
  route?: string;
  userId?: string;
  correlationId?: string;
  responseTime?: number;
  req?: { id?: string; method?: string; path?: string };
  res?: { statusCode?: number };
}

const jsonLines = (output: string): LogLine[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);

describe('logs of a running platform', () => {
  let main: string;
  const dirs: string[] = [];
  const processes: RunningProcess[] = [];

  beforeAll(async () => {
    main = join(await buildApps('logging-e2e'), 'apps', 'platform', 'src', 'main.js');
  }, 300_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const start = (env: Record<string, string | undefined>, name = 'platform') => {
    const dataDir = mkdtempSync(join(tmpdir(), 'logging-e2e-'));
    dirs.push(dataDir);
    const server = startProcess(name, main, {
      DATABASE_URL: undefined,
      DATA_DIR: dataDir,
      JWT_SECRET: SECRET,
      PORT: '0',
      NODE_ENV: 'production',
      ...env,
    });
    processes.push(server);
    return server;
  };

  it('one line per request at its level, the request id echoed, nothing secret', async () => {
    const server = start({ LOG_LEVEL: 'info' });
    const base = await listeningOn(server, 120_000);
    const startUp = jsonLines(server.output());
    // Nest's route-mapping and module lines are debug now: a start says where it listens, not 60 lines of routes.
    expect(startUp.filter((l) => l.level >= 30).length).toBeLessThanOrEqual(5);
    expect(startUp.some((l) => /listening on http:\/\/localhost:\d+/.test(l.msg))).toBe(true);

    const admin = await signToken({ userId: 'admin-1', name: 'Ada Admin', roles: ['trial-admin'], sites: [] }, SECRET);
    const created = await fetch(`${base}/trials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'x-correlation-id': 'corr-42' },
      body: JSON.stringify({ trialId: 'LOG-1', title: 'secret-title-in-body', protocolVersion: '1' }),
    });
    expect(created.status).toBe(201);
    const createdId = created.headers.get('x-request-id');
    expect(createdId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.headers.get('x-correlation-id')).toBe('corr-42');

    const missing = await fetch(`${base}/trials/NO-SUCH-TRIAL?asOf=x`, {
      headers: { authorization: `Bearer ${admin}`, 'x-request-id': 'client-req-7' },
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBe('client-req-7');
    const anonymous = await fetch(`${base}/trials/LOG-1`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('x-request-id')).not.toBe('bad id with spaces');

    // A body the parser refuses is a request like any other: its id, its line.
    const malformed = await fetch(`${base}/trials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'x-request-id': 'client-req-8' },
      body: '{"trialId": "LOG-2",',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('x-request-id')).toBe('client-req-8');

    await new Promise((resolve) => setTimeout(resolve, 200));
    const lines = jsonLines(server.output());
    expect(lines.filter((l) => l.req?.id === 'client-req-8')).toEqual([
      expect.objectContaining({ level: 30, req: { id: 'client-req-8', method: 'POST', path: '/trials' }, res: { statusCode: 400 } }),
    ]);
    const requests = lines.filter((l) => l.req?.id !== undefined && l.res !== undefined);
    // The 201 is debug (a command costs no log line at info); the refusals are info.
    expect(requests.find((l) => l.req?.id === createdId)).toBeUndefined();
    const notFound = requests.filter((l) => l.req?.id === 'client-req-7');
    expect(notFound).toHaveLength(1);
    expect(notFound[0]).toMatchObject({
      level: 30,
      route: '/trials/:t',
      userId: 'admin-1',
      req: { id: 'client-req-7', method: 'GET', path: '/trials/NO-SUCH-TRIAL' },
      res: { statusCode: 404 },
    });
    expect(notFound[0]?.msg).toMatch(/^GET \/trials\/:t 404 \d+ ms$/);
    expect(typeof notFound[0]?.responseTime).toBe('number');
    const unauthorized = requests.filter((l) => l.res?.statusCode === 401);
    expect(unauthorized).toHaveLength(1);
    expect(unauthorized[0]?.userId).toBeUndefined();

    const all = server.output();
    expect(all).not.toContain(admin);
    expect(all).not.toContain('Bearer');
    expect(all).not.toContain('secret-title-in-body');
    expect(all).not.toContain('asOf=x');

    // A loaded machine may take a while to stop the subscriptions and close PGlite: no SIGKILL before it says so.
    await server.stop(60_000);
    const end = jsonLines(server.output()).map((l) => l.msg);
    expect(end).toEqual(expect.arrayContaining(['shutting down on SIGTERM', 'stopped']));
  }, 180_000);

  it('logs successful requests too at LOG_LEVEL=debug', async () => {
    const server = start({ LOG_LEVEL: 'debug' });
    const base = await listeningOn(server, 120_000);
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    const id = health.headers.get('x-request-id');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(jsonLines(server.output()).filter((l) => l.req?.id === id && l.res?.statusCode === 200)).toHaveLength(1);
  }, 180_000);

  it('refuses a bad configuration in one JSON line in production, one plain line otherwise, no stack trace', async () => {
    const production = start({ PORT: 'not-a-port' }, 'bad-config');
    expect(await production.exited).toBe(1);
    const lines = production.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      level: 60,
      msg: expect.stringMatching(/^platform: cannot start: Invalid configuration: PORT: /),
    });

    const development = start({ PORT: 'not-a-port', NODE_ENV: 'development' }, 'bad-config-dev');
    expect(await development.exited).toBe(1);
    expect(development.output().trim()).toMatch(/^platform: cannot start: Invalid configuration: PORT: [^\n]*$/);
  }, 60_000);

  it('says in one line that the port is taken', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const server = start({ PORT: String(port), NODE_ENV: 'development' }, 'port-taken');
      expect(await server.exited).toBe(1);
      const refusals = server
        .output()
        .split('\n')
        .filter((line) => line.includes('cannot start'));
      expect(refusals).toHaveLength(1);
      expect(refusals[0]).toMatch(/^platform: cannot start: port already in use .*set PORT to a free one$/);
      expect(server.output()).not.toMatch(/\n\s+at /);
    } finally {
      holder.close();
    }
  }, 120_000);

  it('reads a .env file beside it, the environment winning', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'logging-env-'));
    dirs.push(cwd);
    writeFileSync(join(cwd, '.env'), 'LOG_LEVEL=debug\nPORT=not-a-port-from-dotenv\n');
    const server = startProcess(
      'dotenv',
      main,
      { DATABASE_URL: undefined, DATA_DIR: join(cwd, 'data'), JWT_SECRET: SECRET, PORT: '0', NODE_ENV: 'production' },
      [],
      cwd,
    );
    processes.push(server);
    await listeningOn(server, 120_000);
    // LOG_LEVEL came from .env (route mapping lines are debug); PORT from the environment won.
    expect(jsonLines(server.output()).some((l) => l.level === 20)).toBe(true);
    if (server.hasExited()) throw new Error(logsOf([server]));
  }, 180_000);
});
