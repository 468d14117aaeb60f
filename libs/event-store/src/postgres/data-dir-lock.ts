import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, linkSync, openSync, readFileSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';

/**
 * One process per embedded data directory. PGlite has no lock of its own: two processes on one
 * directory both start, both acknowledge writes at the same positions, and whichever flushes
 * last silently erases the other's. Node has no flock(2), so the lock is a file whose holder is
 * checked to be alive, which a kill -9 cannot leave behind as a refusal.
 */
export const DATA_DIR_LOCK_FILE = 'data-dir.lock';

/** Who holds a data directory: what the lock file records and what a refusal names. */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** `process.argv`, shortened: which program holds the directory. */
  command: string;
  /** Linux: field 22 of /proc/<pid>/stat (ticks since boot), so a reused PID is not taken for the holder. */
  processStart: string | null;
  /** Linux: the kernel's boot id; a PID is meaningful only within one boot... */
  bootId: string | null;
  /** ...and one PID namespace (containers on one kernel sharing a volume have different ones). */
  pidNamespace: string | null;
  /** Unique per lock file: tells this lock from a later one at the same path. */
  nonce: string;
  startedAt: string;
}

/** Raised when another live process holds the data directory. */
export class DataDirLockedError extends Error {
  readonly code = 'DATA_DIR_LOCKED';

  constructor(
    readonly directory: string,
    readonly holder: LockHolder,
  ) {
    super(
      `data directory ${directory} is in use by process ${holder.pid} (${holder.command}) on ${holder.hostname} since ${holder.startedAt}; ` +
        'only one process may open an embedded data directory: stop that one first',
    );
    this.name = 'DataDirLockedError';
  }
}

/** A held lock; `release()` is idempotent and also runs when the process exits. */
export interface DataDirLock {
  readonly directory: string;
  readonly path: string;
  readonly holder: LockHolder;
  release(): void;
}

export interface DataDirLockTimings {
  /** How often the holder touches its lock file. */
  heartbeatMs?: number;
  /**
   * How long a lock of another host, container or boot (whose PID cannot be checked here) is
   * watched: if its heartbeat did not move in that time, its holder is gone.
   */
  staleAfterMs?: number;
}

const DEFAULT_HEARTBEAT_MS = 1_000;
const DEFAULT_STALE_AFTER_MS = 5_000;
/** Takeovers and vanished locks before giving up; each needs another process to win a race. */
const MAX_ATTEMPTS = 20;
/** Takeover tokens of takeover tokens: each level needs a crash inside a takeover of the level below. */
const MAX_DEPTH = 4;

/**
 * Takes the data directory's lock, or throws DataDirLockedError naming the live holder. A lock
 * whose holder is dead (killed, crashed, rebooted) is taken over.
 */
export async function acquireDataDirLock(directory: string, timings: DataDirLockTimings = {}): Promise<DataDirLock> {
  const absolute = resolve(directory);
  const path = join(absolute, DATA_DIR_LOCK_FILE);
  const heartbeatMs = timings.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const staleAfterMs = timings.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const claimed = await claim(path, staleAfterMs, 0);
  if (!claimed.ok) throw new DataDirLockedError(absolute, claimed.holder);
  return holdLock(absolute, path, claimed.record, heartbeatMs);
}

type Claim = { ok: true; record: LockHolder } | { ok: false; holder: LockHolder };

/** A lock file as read: its record (undefined if unreadable) and what tells it from its successors. */
interface FoundLock {
  record: LockHolder | undefined;
  identity: string;
  mtimeMs: number;
}

async function claim(path: string, staleAfterMs: number, depth: number): Promise<Claim> {
  let lastHolder: LockHolder | undefined;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const mine = describeThisProcess();
    if (createExclusive(path, mine)) return { ok: true, record: mine };
    const found = readLock(path);
    if (!found) continue; // released between our attempt and the read
    const verdict = await judge(path, found, staleAfterMs);
    if (verdict === 'changed') continue;
    if (verdict === 'alive') {
      if (found.record) return { ok: false, holder: found.record };
      // Unreadable but alive (being written by a non-linking filesystem's fallback): look again.
      await sleep(50);
      continue;
    }
    lastHolder = found.record;
    // Several processes may find the same dead lock. Only the one holding the takeover token named
    // after that very lock removes it, so none can remove a live lock that replaced it meanwhile.
    if (depth >= MAX_DEPTH) break;
    const tokenPath = `${path}.takeover-${found.identity}`;
    const token = await claim(tokenPath, staleAfterMs, depth + 1);
    if (!token.ok) {
      // Another process is taking this lock over right now; see what it leaves.
      await sleep(20 + Math.random() * 30);
      continue;
    }
    try {
      const current = readLock(path);
      if (current?.identity === found.identity) unlinkSync(path);
    } finally {
      removeIfMine(tokenPath, token.record.nonce);
    }
  }
  throw new Error(
    `could not take the lock ${path}${lastHolder ? ` (last found held by dead process ${lastHolder.pid})` : ''}: too many processes are contending for it; try again`,
  );
}

type Verdict = 'alive' | 'dead' | 'changed';

async function judge(path: string, found: FoundLock, staleAfterMs: number): Promise<Verdict> {
  const here = describeThisProcess();
  if (found.record && sameProcessSpace(found.record, here)) return isRunning(found.record) ? 'alive' : 'dead';
  // A holder on another host, in another container or before a reboot: its PID means nothing
  // here, but a live holder's heartbeat moves its lock file's mtime.
  await sleep(staleAfterMs);
  const again = readLock(path);
  if (!again || again.identity !== found.identity) return 'changed';
  return again.mtimeMs !== found.mtimeMs ? 'alive' : 'dead';
}

function sameProcessSpace(holder: LockHolder, here: LockHolder): boolean {
  if (holder.bootId !== null && here.bootId !== null) {
    if (holder.bootId !== here.bootId) return false;
    if (holder.pidNamespace !== null && here.pidNamespace !== null) return holder.pidNamespace === here.pidNamespace;
    return holder.hostname === here.hostname;
  }
  return holder.bootId === here.bootId && holder.hostname === here.hostname;
}

function isRunning(holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const stat = processStat(holder.pid);
  // A zombie (killed, not yet reaped by its parent) answers signals but writes nothing any more.
  if (stat?.state === 'Z' || stat?.state === 'X') return false;
  // Unreadable while the PID answers: assume the holder rather than risk two writers.
  return holder.processStart === null || stat === null || stat.start === holder.processStart;
}

/**
 * Creates the lock file with its whole content or not at all: written under a private name,
 * then hard-linked into place, which fails if the file exists. A reader never sees it half-written.
 */
function createExclusive(path: string, record: LockHolder): boolean {
  const content = `${JSON.stringify(record)}\n`;
  const temporary = `${path}.${record.nonce}.tmp`;
  writeFileSync(temporary, content, { flag: 'wx' });
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // Filesystems without hard links (FAT, some network shares): exclusive create, then write.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw error;
    try {
      writeFileSync(path, content, { flag: 'wx' });
      return true;
    } catch (fallbackError) {
      if ((fallbackError as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw fallbackError;
    }
  } finally {
    rmSync(temporary, { force: true });
  }
}

function readLock(path: string): FoundLock | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    const record = parseRecord(readFileSync(fd, 'utf8'));
    return { record, identity: record?.nonce ?? `inode-${stat.ino}`, mtimeMs: stat.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

function parseRecord(text: string): LockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const isText = (v: unknown) => typeof v === 'string';
  const isOptionalText = (v: unknown) => v === null || typeof v === 'string';
  // A PID ≤ 0 would make process.kill address a process group.
  if (!Number.isSafeInteger(r.pid) || (r.pid as number) <= 0) return undefined;
  // The nonce names takeover tokens, so it must be safe in a file name.
  if (!isText(r.hostname) || !isText(r.command) || !isText(r.nonce) || !/^[a-f0-9]{8,64}$/.test(r.nonce) || !isText(r.startedAt))
    return undefined;
  if (!isOptionalText(r.processStart) || !isOptionalText(r.bootId) || !isOptionalText(r.pidNamespace)) return undefined;
  return r as unknown as LockHolder;
}

function removeIfMine(path: string, nonce: string): void {
  try {
    if (readLock(path)?.record?.nonce === nonce) unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function describeThisProcess(): LockHolder {
  return {
    pid: process.pid,
    hostname: hostname(),
    command: [process.argv0, ...process.argv.slice(1)]
      .map((arg) => basename(arg))
      .join(' ')
      .slice(0, 160),
    processStart: processStat(process.pid)?.start ?? null,
    bootId: readText('/proc/sys/kernel/random/boot_id'),
    pidNamespace: readLink('/proc/self/ns/pid'),
    nonce: randomBytes(12).toString('hex'),
    startedAt: new Date().toISOString(),
  };
}

/** Linux: a process's state (field 3 of /proc/<pid>/stat) and start time (field 22); null elsewhere. */
function processStat(pid: number): { state: string; start: string } | null {
  const text = readText(`/proc/${pid}/stat`);
  if (text === null) return null;
  // Field 2 (comm) is in parentheses and may itself hold spaces or ')'; what follows starts at field 3.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, start] = [fields[0], fields[19]];
  return state !== undefined && start !== undefined ? { state, start } : null;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

function readLink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

/**
 * The heartbeat runs on its own thread: PGlite executes a query synchronously on the main
 * thread, and a long one must not make the holder look dead to a watcher in another container.
 * It stops, and says so, if the file is no longer this lock's.
 */
const HEARTBEAT = `
const { workerData, parentPort } = require('node:worker_threads');
const { readFileSync, utimesSync } = require('node:fs');
const timer = setInterval(() => {
  let nonce;
  try {
    nonce = JSON.parse(readFileSync(workerData.path, 'utf8')).nonce;
  } catch (error) {
    if (error && error.code === 'ENOENT') nonce = 'removed';
    else if (error instanceof SyntaxError) nonce = 'overwritten';
    else return; // a passing I/O error: try again at the next beat
  }
  if (nonce !== workerData.nonce) {
    clearInterval(timer);
    parentPort.postMessage(nonce === 'removed' ? 'the lock file was removed' : 'the lock file was replaced by another process');
    return;
  }
  const now = new Date();
  try { utimesSync(workerData.path, now, now); } catch {}
}, workerData.heartbeatMs);
`;

function holdLock(directory: string, path: string, record: LockHolder, heartbeatMs: number): DataDirLock {
  const heartbeat = new Worker(HEARTBEAT, { eval: true, workerData: { path, nonce: record.nonce, heartbeatMs } });
  heartbeat.unref();
  heartbeat.on('message', (why: string) =>
    process.emitWarning(`lost the lock on data directory ${directory}: ${why}; another process may now open it`),
  );
  heartbeat.on('error', (error) => process.emitWarning(`the heartbeat of the lock on ${directory} failed: ${error.message}`));
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off('exit', release);
    void heartbeat.terminate();
    removeIfMine(path, record.nonce);
  };
  // Also on process.exit(); a kill -9 leaves the file, which the next start finds dead.
  process.on('exit', release);
  return { directory, path, holder: record, release };
}
