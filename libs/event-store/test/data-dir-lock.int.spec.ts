import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DATA_DIR_LOCK_FILE, DataDirLockedError, acquireDataDirLock, openDataSource, type LockHolder } from '../src';

const ROOT = join(__dirname, '..', '..', '..');
const CHILD = join(__dirname, 'data-dir-lock.child.ts');

interface Report {
  pid: number;
  event: 'ready' | 'acquired' | 'refused' | 'error';
  holderPid?: number;
  message?: string;
}

/** A process running data-dir-lock.child.ts: its reports, in order, and its end. */
class LockChild {
  readonly process: ChildProcess;
  readonly exited: Promise<number | string>;
  private readonly reports: Report[] = [];
  private readonly waiters: Array<(report: Report) => void> = [];
  private stderr = '';

  constructor(directory: string, mode: 'now' | 'on-go', timings?: { heartbeatMs: number; staleAfterMs: number }) {
    // tsx as a loader, not its CLI: the CLI runs the script in a child of its own, which a
    // SIGKILL of the CLI would leave running (and holding the lock).
    this.process = spawn(process.execPath, ['--import', 'tsx', CHILD, directory, mode], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', LOCK_TIMINGS: timings ? JSON.stringify(timings) : '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.process.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      const report = JSON.parse(line) as Report;
      const waiter = this.waiters.shift();
      if (waiter) waiter(report);
      else this.reports.push(report);
    });
    this.exited = new Promise((resolve) => this.process.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** The next report; fails with the child's stderr if none comes in time. */
  next(timeoutMs = 30_000): Promise<Report> {
    const queued = this.reports.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no report from child ${this.pid} in ${timeoutMs} ms; stderr:\n${this.stderr}`)),
        timeoutMs,
      );
      this.waiters.push((report) => {
        clearTimeout(timer);
        resolve(report);
      });
    });
  }

  go(): void {
    this.process.stdin!.write('go\n');
  }

  /** Ends stdin: a holder releases its lock and exits 0. */
  async finish(): Promise<number | string> {
    this.process.stdin!.end();
    return this.exited;
  }

  async killHard(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.exited;
  }
}

/** Linux: field 22 of /proc/<pid>/stat, as the lock records it. */
function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

describe('the data directory lock', () => {
  let dir: string;
  const children: LockChild[] = [];
  const spawnChild = (...args: ConstructorParameters<typeof LockChild>) => {
    const child = new LockChild(...args);
    children.push(child);
    return child;
  };
  const lockFile = () => join(dir, DATA_DIR_LOCK_FILE);
  const recordOf = () => JSON.parse(readFileSync(lockFile(), 'utf8')) as LockHolder;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'data-dir-lock-'));
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.killHard()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second process, naming the directory and the holder, until the holder releases', async () => {
    const mine = await acquireDataDirLock(dir);
    try {
      const other = spawnChild(dir, 'now');
      expect(await other.next()).toMatchObject({ event: 'ready' });
      const refused = await other.next();
      expect(refused).toMatchObject({ event: 'refused', holderPid: process.pid });
      expect(refused.message).toContain(dir);
      expect(refused.message).toContain(`process ${process.pid}`);
      expect(await other.exited).toBe(3);
    } finally {
      mine.release();
    }

    const holder = spawnChild(dir, 'now');
    await holder.next();
    expect(await holder.next()).toMatchObject({ event: 'acquired' });
    const refusal = await acquireDataDirLock(dir).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(DataDirLockedError);
    expect(refusal).toMatchObject({ directory: dir, holder: { pid: holder.pid } });
    expect(await holder.finish()).toBe(0);
    expect(existsSync(lockFile())).toBe(false);
    (await acquireDataDirLock(dir)).release();
  });

  it('is not stopped by the lock of a process killed with SIGKILL', async () => {
    const victim = spawnChild(dir, 'now');
    await victim.next();
    expect(await victim.next()).toMatchObject({ event: 'acquired' });
    await victim.killHard();
    // The file is left behind, naming a dead process.
    expect(recordOf().pid).toBe(victim.pid);

    const started = Date.now();
    const lock = await acquireDataDirLock(dir);
    try {
      // Judged by its PID at once, not by waiting for its heartbeat to go stale.
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(recordOf()).toMatchObject({ pid: process.pid, nonce: lock.holder.nonce });
    } finally {
      lock.release();
    }
  });

  (existsSync('/proc/self/stat') ? it : it.skip)('takes a live PID with another start time for a reused PID, not the holder', async () => {
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
    try {
      const strangerPid = stranger.pid!;
      const first = await acquireDataDirLock(dir);
      const ours = recordOf();
      first.release();

      // The PID's own start time: that process holds the directory.
      writeFileSync(lockFile(), JSON.stringify({ ...ours, pid: strangerPid, processStart: startTimeOf(strangerPid) }));
      await expect(acquireDataDirLock(dir)).rejects.toMatchObject({ holder: { pid: strangerPid } });

      // Same PID, another start: the holder died and the PID went to a new process.
      const older = String(Number(startTimeOf(strangerPid)) - 1);
      writeFileSync(lockFile(), JSON.stringify({ ...ours, pid: strangerPid, processStart: older }));
      const lock = await acquireDataDirLock(dir);
      expect(recordOf().pid).toBe(process.pid);
      lock.release();
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  (existsSync('/proc/self/stat') ? it : it.skip)('takes a killed holder its parent has not reaped (a zombie) for dead', async () => {
    // sh becomes `sleep`, which never waits for the holder it started: killed, the holder stays a zombie.
    const parent = spawn('sh', ['-c', 'exec 3<&0; "$0" --import tsx "$1" "$2" now <&3 & exec sleep 60', process.execPath, CHILD, dir], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      const reports = createInterface({ input: parent.stdout })[Symbol.asyncIterator]();
      const holderPid = (JSON.parse(String((await reports.next()).value)) as Report).pid;
      expect(JSON.parse(String((await reports.next()).value))).toMatchObject({ event: 'acquired', pid: holderPid });
      process.kill(holderPid, 'SIGKILL');
      while (!/^\S+ \(.*\) Z /.test(readFileSync(`/proc/${holderPid}/stat`, 'utf8')))
        await new Promise((resolve) => setTimeout(resolve, 20));

      const lock = await acquireDataDirLock(dir);
      expect(recordOf().pid).toBe(process.pid);
      lock.release();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it.each([
    ['with no lock', false],
    ['over the stale lock of a killed process', true],
  ])('lets exactly one of several concurrent processes win, %s', async (_name, stale) => {
    if (stale) {
      const victim = spawnChild(dir, 'now');
      await victim.next();
      expect(await victim.next()).toMatchObject({ event: 'acquired' });
      await victim.killHard();
      expect(existsSync(lockFile())).toBe(true);
    }
    const contenders = Array.from({ length: 5 }, () => spawnChild(dir, 'on-go'));
    for (const contender of contenders) expect(await contender.next()).toMatchObject({ event: 'ready' });
    for (const contender of contenders) contender.go();
    const outcomes = await Promise.all(contenders.map((contender) => contender.next()));

    const winners = outcomes.filter((outcome) => outcome.event === 'acquired');
    expect({ winners: winners.length, errors: outcomes.filter((o) => o.event === 'error') }).toEqual({ winners: 1, errors: [] });
    const winner = winners[0]!.pid;
    for (const outcome of outcomes.filter((o) => o.event === 'refused')) expect(outcome.holderPid).toBe(winner);
    expect(recordOf().pid).toBe(winner);
  });

  it('judges a holder in another PID namespace by its heartbeat', async () => {
    const timings = { heartbeatMs: 100, staleAfterMs: 2_000 };
    const holder = spawnChild(dir, 'now', timings);
    await holder.next();
    expect(await holder.next()).toMatchObject({ event: 'acquired' });
    // As a container sharing the volume would record it: a PID that means nothing here.
    writeFileSync(lockFile(), JSON.stringify({ ...recordOf(), pid: 4_000_000, pidNamespace: 'pid:[1]' }));

    await expect(acquireDataDirLock(dir, timings)).rejects.toMatchObject({ holder: { pid: 4_000_000 } });

    await holder.killHard();
    const started = Date.now();
    const lock = await acquireDataDirLock(dir, timings);
    expect(Date.now() - started).toBeGreaterThanOrEqual(timings.staleAfterMs);
    expect(recordOf().pid).toBe(process.pid);
    lock.release();
  });

  it('is held by an embedded DataSource from open to destroy', async () => {
    const pglite = join(dir, 'pglite');
    // No migrations: the lock is what is under test, not the schema.
    const dataSource = await openDataSource({ dataDir: pglite, migrations: [] });
    await expect(acquireDataDirLock(pglite)).rejects.toMatchObject({ holder: { pid: process.pid } });
    await dataSource.destroy();
    expect(existsSync(join(pglite, DATA_DIR_LOCK_FILE))).toBe(false);
    const again = await openDataSource({ dataDir: pglite, migrations: [] });
    await again.destroy();
  });
});
