import { DurableSubscription, type EventStore, type NewEvent } from '../src';
import { postgresHarness } from './postgres-harness';
import type { StoreHarness } from './event-store.contract';
import { untilSettled } from './settled';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

let unique = 0;
const stream = () => `lag-${Date.now().toString(36)}-${(unique += 1)}`;
const events = (n: number): NewEvent[] => Array.from({ length: n }, (_, i) => ({ type: 'ThingHappened', data: { i } }));

/** The same store seen through the port only, so the subscription must count by reading. */
function withoutCount(store: EventStore): EventStore {
  return {
    appendToStream: (...args) => store.appendToStream(...args),
    readStream: (...args) => store.readStream(...args),
    readAll: (...args) => store.readAll(...args),
    onAppended: (listener) => store.onAppended(listener),
    close: async () => undefined,
  };
}

describe.each(backends)('subscription lag on %s', (_name, databaseUrl) => {
  let h: StoreHarness;
  beforeEach(async () => {
    h = await postgresHarness(databaseUrl);
  });
  afterEach(async () => {
    await h.close();
  });

  const subscription = (name: string, store: EventStore, batchSize = 100) =>
    new DurableSubscription({ name, store, dataSource: h.readModel, batchSize, handler: async () => undefined });

  it('counts the events after the stored checkpoint, through countAfter and by reading alike', async () => {
    const counted = subscription('lag-counted', h.store, 4);
    const read = subscription('lag-read', withoutCount(h.store), 4);
    expect('countAfter' in h.store).toBe(true);
    expect(await counted.lag()).toBe(0);
    expect(await read.lag()).toBe(0);

    await h.store.appendToStream(stream(), events(3));
    await h.store.appendToStream(stream(), events(7));
    // Reading counts only what the gap-safe read shows: on a server others write to, not yet all of it.
    await untilSettled(h.store);
    expect(await counted.lag()).toBe(10);
    expect(await read.lag()).toBe(10);

    await counted.acquire();
    await read.acquire();
    expect(await counted.processBatch()).toBe(4);
    expect(await read.processBatch()).toBe(4);
    expect(await counted.lag()).toBe(6);
    expect(await read.lag()).toBe(6);

    await counted.catchUp();
    await read.catchUp();
    expect(await counted.lag()).toBe(0);
    expect(await read.lag()).toBe(0);
    await counted.stop();
    await read.stop();
  });

  it('stops reading at the cap when the store cannot count', async () => {
    await h.store.appendToStream(stream(), events(12));
    await untilSettled(h.store);
    const read = subscription('lag-capped', withoutCount(h.store));
    expect(await read.lag(5)).toBe(5);
    expect(await read.lag(12)).toBe(12);
    expect(await read.lag(50)).toBe(12);
  });
});
