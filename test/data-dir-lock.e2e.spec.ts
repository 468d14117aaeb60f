import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_DIR_LOCK_FILE } from '../libs/event-store/src';
import { buildApps, freePort, logsOf, startProcess, waitForHealthy, type RunningProcess } from './support/processes';
import { runTrialctl } from './support/trialctl';

const ROOT = join(__dirname, '..');
const TRIAL = 'LOCK-E2E';

interface Finished {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, stdout and stderr apart: a refusal must be one line on stderr. */
function runToEnd(command: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} still running after ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? 'unknown', stdout, stderr });
    });
  });
}

/**
 * Real server processes, as `npm start` runs them, on one embedded data directory: a second
 * server or an import beside a running one would each acknowledge writes the other erases.
 */
describe('one process per embedded data directory', () => {
  let main: string;
  let dataDir: string;
  let pglite: string;
  const processes: RunningProcess[] = [];
  let first: RunningProcess;
  let token = '';
  let exported = '';

  // The variables a developer's or CI's environment may set are cleared: embedded PGlite, generated secret.
  const serverEnv = (port: number) => ({
    DATA_DIR: dataDir,
    PORT: String(port),
    DATABASE_URL: '',
    JWT_SECRET: '',
    JWT_JWKS_URL: '',
    KURRENTDB_URL: '',
    KAFKA_BROKERS: '',
    LOG_LEVEL: 'warn',
  });
  const startServer = async (name: string): Promise<{ server: RunningProcess; url: string }> => {
    const port = await freePort();
    const server = startProcess(name, main, serverEnv(port));
    processes.push(server);
    const url = `http://127.0.0.1:${port}`;
    await waitForHealthy(`${url}/health`, [server], 120_000);
    return { server, url };
  };
  let firstUrl = '';

  beforeAll(async () => {
    main = join(await buildApps('data-dir-lock-e2e'), 'apps', 'platform', 'src', 'main.js');
    dataDir = mkdtempSync(join(tmpdir(), 'data-dir-lock-e2e-'));
    pglite = join(dataDir, 'pglite');
    ({ server: first, url: firstUrl } = await startServer('first server'));
  }, 600_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a second server: exit code ≠ 0, one line naming the directory and the holder', async () => {
    const second = await runToEnd(process.execPath, [main], serverEnv(await freePort()), 120_000);
    expect({ code: second.code, stderr: second.stderr.trim().split('\n') }).toEqual({
      code: 1,
      stderr: [expect.stringContaining(`data directory ${pglite} is in use by process ${first.child.pid}`)],
    });
    expect(`${second.stdout}${second.stderr}`).not.toMatch(/^\s+at /m);
    // The first server is untouched.
    const health = await fetch(`${firstUrl}/health`);
    expect(health.status).toBe(200);
  }, 180_000);

  it("mints a token with npm run token while the server runs, from DATA_DIR's secret", async () => {
    const minted = await runToEnd(
      'npm',
      ['run', '-s', 'token', '--', '--sub', 'lock-admin', '--name', 'Lock Admin', '--roles', 'trial-admin,auditor', '--expires', '1h'],
      { DATA_DIR: dataDir, JWT_SECRET: '', JWT_JWKS_URL: '' },
      120_000,
    );
    expect({ code: minted.code, stderr: minted.stderr }).toEqual({ code: 0, stderr: '' });
    token = minted.stdout.trim();
    // The server accepts it: signed with the secret it generated into this DATA_DIR.
    const created = await fetch(`${firstUrl}/trials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ trialId: TRIAL, title: 'Lock', protocolVersion: '1' }),
    });
    expect({ status: created.status, body: await created.text() }).toMatchObject({ status: 201 });
    const response = await fetch(`${firstUrl}/trials/${TRIAL}/audit/export`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    exported = await response.text();
    expect(exported).toContain(TRIAL);
  }, 180_000);

  it('refuses trialctl import beside the running server in one line, writing nothing', () => {
    const file = join(dataDir, 'export.ndjson');
    writeFileSync(file, exported);
    const result = runTrialctl(['import', file], { DATA_DIR: dataDir });
    expect({ status: result.status, stderr: result.stderr.trim().split('\n') }).toEqual({
      status: 1,
      stderr: [
        expect.stringMatching(
          new RegExp(`^import refused: data directory ${pglite} is in use by process ${first.child.pid} .*nothing was written$`),
        ),
      ],
    });
  }, 180_000);

  it('starts a new server on the directory after a kill -9 of the holder, with its data', async () => {
    first.child.kill('SIGKILL');
    await first.exited;
    // The dead server's lock is still there: the new one must see that its holder is gone.
    expect(existsSync(join(pglite, DATA_DIR_LOCK_FILE))).toBe(true);
    const { server: next, url } = await startServer('server after kill -9');
    const response = await fetch(`${url}/trials/${TRIAL}/audit/export`, { headers: { authorization: `Bearer ${token}` } });
    expect({ status: response.status, same: (await response.text()) === exported }).toEqual({ status: 200, same: true });
    // A clean stop leaves no lock behind.
    await next.stop();
    expect(next.hasExited() ? existsSync(join(pglite, DATA_DIR_LOCK_FILE)) : logsOf([next])).toBe(false);
  }, 240_000);
});
