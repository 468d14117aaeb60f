import { DurableSubscription, type NewEvent, type RecordedEvent } from '../src';
import { postgresHarness } from './postgres-harness';
import type { StoreHarness } from './event-store.contract';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

let unique = 0;
const stream = () => `caught-up-${Date.now().toString(36)}-${(unique += 1)}`;
const events = (n: number): NewEvent[] => Array.from({ length: n }, (_, i) => ({ type: 'ThingHappened', data: { i } }));

/**
 * A request path waits for a subscription to reach "now"; it never drives the projection itself
 * (a standby process holding no lock must not write a batch, and a read must not run a projection).
 */
describe.each(backends)('DurableSubscription.caughtUp on %s', (_name, databaseUrl) => {
  let h: StoreHarness;
  const running: DurableSubscription[] = [];
  beforeEach(async () => {
    h = await postgresHarness(databaseUrl);
  });
  afterEach(async () => {
    for (const s of running.splice(0)) await s.stop();
    await h.close();
  });

  const subscription = (name: string, handled: RecordedEvent[], pollIntervalMs = 60_000) =>
    new DurableSubscription({
      name,
      store: h.store,
      dataSource: h.readModel,
      pollIntervalMs,
      handler: async (batch) => void handled.push(...batch),
    });

  it('resolves once the running loop has handled every event committed before the call', async () => {
    const handled: RecordedEvent[] = [];
    const name = `cu-${(unique += 1)}-${Date.now()}`;
    // A long poll interval: only the wake-up from the waiting request (or onAppended) can make it this fast.
    const sub = subscription(name, handled);
    sub.start();
    running.push(sub);
    expect(await sub.caughtUp(10_000)).toBe(true);
    const id = stream();
    await h.store.appendToStream(id, events(7));
    expect(await sub.caughtUp(10_000)).toBe(true);
    expect(handled.filter((e) => e.streamId === id)).toHaveLength(7);
  });

  it('never processes a batch itself: a subscription not running here answers false at once', async () => {
    const handled: RecordedEvent[] = [];
    const idle = subscription(`cu-idle-${(unique += 1)}-${Date.now()}`, handled);
    await h.store.appendToStream(stream(), events(3));
    const started = Date.now();
    expect(await idle.caughtUp(5_000)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(handled).toHaveLength(0);
    expect(await idle.checkpoint()).toBeUndefined();
  });

  it('a standby instance waits for the active one, without writing a batch of its own', async () => {
    const name = `cu-shared-${(unique += 1)}-${Date.now()}`;
    const activeHandled: RecordedEvent[] = [];
    const standbyHandled: RecordedEvent[] = [];
    const active = subscription(name, activeHandled, 20);
    active.start();
    running.push(active);
    await active.caughtUp(10_000);
    const standby = subscription(name, standbyHandled, 20);
    standby.start();
    running.push(standby);
    const id = stream();
    await h.store.appendToStream(id, events(5));
    expect(await standby.caughtUp(10_000)).toBe(true);
    expect(activeHandled.filter((e) => e.streamId === id)).toHaveLength(5);
    expect(standbyHandled).toHaveLength(0);
  });
});
