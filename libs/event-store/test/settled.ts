import type { EventStore } from '../src';

/**
 * Returns once every transaction that was running when it was called has ended, so the gap-safe
 * global read (readAll, subscriptions) shows everything committed before the call.
 *
 * On PostgreSQL that read only shows transactions older than the oldest one still running
 * anywhere in the server — other databases included, since transaction ids are cluster-wide. A
 * test that reads the log right after its own appends and expects to find them is therefore
 * only right while nothing else writes to the server (another suite, another CI run); under such
 * load it sees fewer events, or none. This waits for the condition that makes it right instead.
 * No deadline of its own: the transactions it waits for are short, and Jest's test timeout
 * bounds a test that would wait forever. A store with an immediately consistent log (KurrentDB)
 * has no horizon and returns at once.
 */
export async function untilSettled(store: EventStore): Promise<void> {
  if (!store.horizon || !store.settled) return;
  const mark = await store.horizon();
  while (!(await store.settled(mark))) await new Promise((resolve) => setTimeout(resolve, 5));
}
