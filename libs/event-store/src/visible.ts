import type { EventStore } from './event-store.port';

/**
 * Read-your-writes on the global log: resolves true once every event committed before the call is
 * visible to `readAll` (the gap-safe reader shows a transaction only when none older still runs),
 * or false after `timeoutMs`, when a long transaction elsewhere holds the log back. Stores whose
 * `readAll` is never behind answer at once.
 */
export async function untilVisible(store: EventStore, timeoutMs = 2000): Promise<boolean> {
  if (!store.horizon || !store.settled) return true;
  const mark = await store.horizon();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await store.settled(mark)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
