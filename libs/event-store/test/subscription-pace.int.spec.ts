import { DurableSubscription, WakeableSleep, type NewEvent, type RecordedEvent } from '../src';
import { postgresHarness } from './postgres-harness';
import type { StoreHarness } from './event-store.contract';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

let unique = 0;
const stream = () => `pace-${Date.now().toString(36)}-${(unique += 1)}`;
const events = (n: number): NewEvent[] => Array.from({ length: n }, (_, i) => ({ type: 'ThingHappened', data: { i } }));

describe('WakeableSleep', () => {
  it('ends the pause in progress, or the next one when the news came between pauses, once', async () => {
    const pause = new WakeableSleep();
    const started = Date.now();
    const sleeping = pause.sleep(10_000);
    pause.wake();
    await sleeping;
    pause.wake();
    await pause.sleep(10_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    // The kept news was used up: this pause runs its course.
    const before = Date.now();
    await pause.sleep(50);
    expect(Date.now() - before).toBeGreaterThanOrEqual(45);
  });
});

describe.each(backends)('subscription pace on %s', (_name, databaseUrl) => {
  let h: StoreHarness;
  let subscription: DurableSubscription | undefined;
  beforeEach(async () => {
    h = await postgresHarness(databaseUrl);
  });
  afterEach(async () => {
    await subscription?.stop();
    subscription = undefined;
    await h.close();
  });

  /** Every batch the handler got, with when it began and ended (ms since epoch). */
  function subscribe(name: string, options: { busyPauseMs?: number; busyBatch?: number; during?: (batch: number) => Promise<void> }) {
    const batches: Array<{ events: RecordedEvent[]; began: number; ended: number }> = [];
    subscription = new DurableSubscription({
      name: `${name}-${(unique += 1)}`,
      store: h.store,
      dataSource: h.readModel,
      // Only an append's wake (or the news kept from one) brings a quiet loop back in time here.
      pollIntervalMs: 60_000,
      // The handler writes nothing; outside the checkpoint's transaction it may append (PGlite has one connection).
      delivery: 'idempotent',
      ...options,
      handler: async (batch) => {
        const began = Date.now();
        await options.during?.(batches.length);
        batches.push({ events: batch, began, ended: Date.now() });
      },
    });
    return batches;
  }

  const until = async (check: () => boolean, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  it('after a busy batch waits its pause before reading again, so what came meanwhile is one batch', async () => {
    const batches = subscribe('busy', { busyPauseMs: 400, busyBatch: 10 });
    subscription!.start();
    await h.store.appendToStream(stream(), events(12));
    await until(() => batches.length === 1);
    // Appended right after a busy batch, one by one: none wakes the loop before the pause is over.
    for (let i = 0; i < 3; i++) await h.store.appendToStream(stream(), events(1));
    await until(() => batches.length === 2);
    expect(batches.map((b) => b.events.length)).toEqual([12, 3]);
    expect(batches[1]!.began - batches[0]!.ended).toBeGreaterThanOrEqual(390);
  });

  it('reads a quiet log as soon as an append wakes it, also an append made while it handled a batch', async () => {
    let appendDuring: Promise<unknown> | undefined;
    const batches = subscribe('quiet', {
      busyPauseMs: 60_000,
      busyBatch: 10,
      // The append lands while the first batch is being handled, when the loop is not pausing.
      during: async (batch) => {
        if (batch === 0) await (appendDuring = h.store.appendToStream(stream(), events(1)));
      },
    });
    subscription!.start();
    const started = Date.now();
    await h.store.appendToStream(stream(), events(2));
    await until(() => batches.length === 2);
    await appendDuring;
    expect(batches.map((b) => b.events.length)).toEqual([2, 1]);
    // Neither the poll interval (60 s) nor the busy pause (60 s): the append's news was kept.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('does not pause after a full batch: a subscription catching up reads on at once', async () => {
    const batches = subscribe('full', { busyPauseMs: 60_000, busyBatch: 1 });
    // batchSize is the subscription's default (500): 1,200 events are two full batches and a rest.
    await h.store.appendToStream(stream(), events(600));
    await h.store.appendToStream(stream(), events(600));
    subscription!.start();
    await until(() => batches.reduce((n, b) => n + b.events.length, 0) === 1_200);
    expect(batches.map((b) => b.events.length)).toEqual([500, 500, 200]);
  });

  it('retries a failing batch on its poll interval, not at every append', async () => {
    let calls = 0;
    subscription = new DurableSubscription({
      name: `failing-${(unique += 1)}`,
      store: h.store,
      dataSource: h.readModel,
      pollIntervalMs: 200,
      delivery: 'idempotent',
      onError: () => undefined,
      handler: () => {
        calls += 1;
        return Promise.reject(new Error('read model unavailable'));
      },
    });
    subscription.start();
    await h.store.appendToStream(stream(), events(1));
    await until(() => calls >= 1);
    // An append every 5 ms for a second, each waking the loop.
    const end = Date.now() + 1_000;
    while (Date.now() < end) {
      await h.store.appendToStream(stream(), events(1));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // About one attempt per 200 ms (6 in all), not one per append.
    expect(calls).toBeLessThanOrEqual(10);
  });

  it('pauses by default after a batch of 10 events on PostgreSQL, after any batch on PGlite (its one connection)', async () => {
    // The default threshold, with a pause long enough to tell apart from any delay of a loaded machine.
    const batches = subscribe('default', { busyPauseMs: 3_000 });
    subscription!.start();
    await h.store.appendToStream(stream(), events(2));
    await until(() => batches.length === 1);
    await h.store.appendToStream(stream(), events(1));
    await until(() => batches.length === 2);
    const gap = batches[1]!.began - batches[0]!.ended;
    if (databaseUrl) expect(gap).toBeLessThan(1_500);
    else expect(gap).toBeGreaterThanOrEqual(2_950);
  });

  it('stops at once during a busy pause', async () => {
    const batches = subscribe('stop', { busyPauseMs: 60_000, busyBatch: 1 });
    subscription!.start();
    await h.store.appendToStream(stream(), events(2));
    await until(() => batches.length === 1);
    const stopping = Date.now();
    await subscription!.stop();
    subscription = undefined;
    expect(Date.now() - stopping).toBeLessThan(5_000);
  });
});
