/**
 * A newcomer's first hour (issue 15), with the platform as users run it (`node dist/…/main.js`):
 * a taken port refused before the data directory exists, HOST honoured and logged as bound, a short
 * JWT_SECRET refused, and `npm run demo` that adjudicates (or, with --no-adjudicate, leaves the
 * cases open) after seeing the cases listed by the server.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApps, freePort, listeningOn, logsOf, startProcess, type RunningProcess } from './support/processes';

const SECRET = 'first-hour-e2e-secret-0123456789-0123456789';
const TSX = join(__dirname, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');

describe("a newcomer's first hour", () => {
  let main: string;
  const dirs: string[] = [];
  const processes: RunningProcess[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'first-hour-'));
    dirs.push(dir);
    return dir;
  };
  const start = (name: string, env: Record<string, string | undefined>) => {
    const server = startProcess(name, main, { DATABASE_URL: undefined, JWT_SECRET: SECRET, PORT: '0', NODE_ENV: 'development', ...env });
    processes.push(server);
    return server;
  };

  beforeAll(async () => {
    main = join(await buildApps('first-hour-e2e'), 'apps', 'platform', 'src', 'main.js');
  }, 300_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a taken port in one line without creating the data directory', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, resolve));
    const port = (holder.address() as { port: number }).port;
    const dataDir = join(tempDir(), 'never-created');
    try {
      const server = start('port-taken', { PORT: String(port), DATA_DIR: dataDir });
      expect(await server.exited).toBe(1);
      expect(server.output().trim()).toMatch(/^platform: cannot start: port already in use .*set PORT to a free one$/);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      holder.close();
    }
  }, 60_000);

  it('refuses a JWT_SECRET shorter than 32 bytes', async () => {
    const server = start('short-secret', { JWT_SECRET: 'five5', DATA_DIR: join(tempDir(), 'data') });
    expect(await server.exited).toBe(1);
    expect(server.output().trim()).toMatch(
      /^platform: cannot start: Invalid configuration: JWT_SECRET: must be at least 32 bytes \(got 5\)/,
    );
  }, 60_000);

  it('listens on HOST and says so', async () => {
    const port = await freePort();
    const server = start('host', { HOST: '127.0.0.1', PORT: String(port), DATA_DIR: join(tempDir(), 'data') });
    const deadline = Date.now() + 120_000;
    while (!/listening on http:\/\/127\.0\.0\.1:\d+ \(127\.0\.0\.1 only\)/.test(server.output())) {
      if (server.hasExited() || Date.now() > deadline) throw new Error(logsOf([server]));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const version = await fetch(`http://127.0.0.1:${port}/version`);
    expect(version.status).toBe(200);
    expect(await version.json()).toMatchObject({ name: 'trial-adjudication', version: expect.any(String) });
    await server.stop();
  }, 180_000);

  const runDemo = async (dataDir: string, base: string, args: string[] = []) => {
    const demo = startProcess('demo', TSX, { DEMO_URL: base, DATA_DIR: dataDir, JWT_SECRET: undefined }, ['scripts/demo.ts', ...args]);
    const code = await demo.exited;
    return { code, output: demo.output() };
  };

  it('npm run demo loads the cohort, waits for the listed cases and adjudicates them, so the adjudicated report shows the events', async () => {
    const dataDir = tempDir();
    const server = start('demo-server', { DATA_DIR: dataDir, JWT_SECRET: undefined });
    const base = await listeningOn(server, 120_000);
    const first = await runDemo(dataDir, base);
    expect({ code: first.code, output: first.output }).toEqual({ code: 0, output: expect.any(String) });
    expect(first.output).toContain('CEC cases listed by the server: 7');
    expect(first.output).toContain('adjudicated: 7 case(s) confirmed as reported by two concordant signed reviews');
    // The demo compares the adjudicated report with the article and exits 1 on a mismatch.
    expect(first.output).toMatch(
      /server report \(adjudicated, crude at 180 days\):\n\s+freedom-from-cd-tvr\s+no diabetes 100\.0% \(20\/20/,
    );
    const again = await runDemo(dataDir, base);
    expect(again.code).toBe(0);
    expect(again.output).toContain('7 already decided');
  }, 300_000);

  it('npm run demo -- --no-adjudicate leaves the cases open', async () => {
    const dataDir = tempDir();
    const server = start('demo-open', { DATA_DIR: dataDir, JWT_SECRET: undefined });
    const base = await listeningOn(server, 120_000);
    const run = await runDemo(dataDir, base, ['--no-adjudicate']);
    expect(run.code).toBe(0);
    expect(run.output).toContain('CEC cases listed by the server: 7');
    expect(run.output).toContain('--no-adjudicate: the cases stay open');
    expect(run.output).not.toContain('server report (adjudicated');
  }, 300_000);
});
