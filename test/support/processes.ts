import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Keeps the end of a process's output: enough to see why it failed, bounded for chatty logs. */
const LOG_TAIL_CHARS = 20_000;

/**
 * Compiles every app with the Nest CLI, as `npm run build` does (one tsc program over apps/ and
 * libs/, path aliases rewritten), into its own directory under dist/: a concurrent `npm run build`
 * or a running `node dist/…` of someone else is neither overwritten nor picked up half-written.
 * Returns the output directory; apps are at `<dir>/apps/<app>/src/main.js`.
 */
export async function buildApps(name: string): Promise<string> {
  const outDir = join(ROOT, 'dist', name);
  const tsconfig = join(ROOT, 'dist', `${name}.tsconfig.json`);
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  writeFileSync(tsconfig, JSON.stringify({ extends: '../tsconfig.build.json', compilerOptions: { outDir: `./${name}` } }));
  // The CLI joins --path to the working directory, so it must be relative (startProcess runs in ROOT).
  const build = startProcess('nest build', join(ROOT, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js'), {}, [
    'build',
    'platform',
    '--path',
    relative(ROOT, tsconfig),
  ]);
  const code = await build.exited;
  if (code !== 0) throw new Error(`nest build failed (exit ${code}):\n${build.output()}`);
  return outDir;
}

/** A port free right now on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A child process with its output kept for failure messages. */
export interface RunningProcess {
  name: string;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
  hasExited(): boolean;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Runs `node <script> [...args]` from the repository root (or `cwd`) with the given environment added. */
export function startProcess(
  name: string,
  script: string,
  env: Record<string, string | undefined>,
  args: string[] = [],
  cwd = ROOT,
): RunningProcess {
  const child = spawn(process.execPath, [script, ...args], {
    cwd,
    // NODE_OPTIONS of jest (--experimental-vm-modules) is not for the apps.
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const append = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (log.length > 2 * LOG_TAIL_CHARS) log = log.slice(-LOG_TAIL_CHARS);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.on('error', (error) => {
      append(Buffer.from(`spawn failed: ${error.message}\n`));
      done = true;
      resolve('spawn-error');
    });
  });
  return {
    name,
    child,
    exited,
    hasExited: () => done,
    output: () => log.slice(-LOG_TAIL_CHARS),
    stop: async (graceMs = 5000) => {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The URL a server started with PORT=0 listens on, read from its start-up line
 * ("listening on http://localhost:<port>"); fails with its output if it exits first.
 */
export async function listeningOn(server: RunningProcess, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const port = /listening on http:\/\/localhost:(\d+)/.exec(server.output())?.[1];
    if (port) return `http://127.0.0.1:${port}`;
    if (server.hasExited()) throw new Error(`${server.name} exited before listening\n${logsOf([server])}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${server.name} did not say where it listens within ${timeoutMs} ms\n${logsOf([server])}`);
}

/** The output of each process, for a failure message. */
export function logsOf(processes: RunningProcess[]): string {
  return processes.map((p) => `----- ${p.name}${p.hasExited() ? ' (exited)' : ''} -----\n${p.output() || '(no output)'}`).join('\n');
}

/**
 * Polls `url` until it answers 200. Fails early, with the processes' logs, if one of them exits,
 * and after `timeoutMs` otherwise.
 */
export async function waitForHealthy(url: string, processes: RunningProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const exited = processes.find((p) => p.hasExited());
    if (exited) throw new Error(`${exited.name} exited before ${url} became healthy\n${logsOf(processes)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const body = await response.text();
      if (response.status === 200) return;
      last = `HTTP ${response.status} ${body.slice(0, 500)}`;
    } catch (error) {
      last = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} not healthy after ${timeoutMs} ms (${last})\n${logsOf(processes)}`);
}
