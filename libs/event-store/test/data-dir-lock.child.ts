/**
 * Another process for data-dir-lock.int.spec.ts (run with tsx). Usage: <directory> now|on-go.
 * Takes the data directory's lock at once or when a line "go" arrives on stdin, reports the
 * outcome as one JSON line on stdout, and holds the lock until stdin ends (then releases it).
 * LOCK_TIMINGS (JSON) overrides the heartbeat and staleness timings.
 */
import { createInterface } from 'node:readline';
import { DataDirLockedError, acquireDataDirLock, type DataDirLock } from '../src/postgres/data-dir-lock';

const [directory, mode] = process.argv.slice(2);
if (!directory || (mode !== 'now' && mode !== 'on-go')) throw new Error('usage: data-dir-lock.child.ts <directory> now|on-go');
const timings = process.env.LOCK_TIMINGS ? (JSON.parse(process.env.LOCK_TIMINGS) as { heartbeatMs?: number; staleAfterMs?: number }) : {};

const report = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ pid: process.pid, ...line })}\n`);
let lock: DataDirLock | undefined;

async function attempt(): Promise<void> {
  try {
    lock = await acquireDataDirLock(directory!, timings);
    report({ event: 'acquired' });
  } catch (error) {
    if (error instanceof DataDirLockedError) report({ event: 'refused', holderPid: error.holder.pid, message: error.message });
    else report({ event: 'error', message: error instanceof Error ? error.message : String(error) });
    process.exit(3);
  }
}

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (line === 'go') void attempt();
});
input.on('close', () => {
  lock?.release();
  process.exit(0);
});
report({ event: 'ready' });
if (mode === 'now') void attempt();
