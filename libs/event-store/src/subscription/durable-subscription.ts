import type { DataSource, EntityManager } from 'typeorm';
import { SubscriptionLockedError } from '../errors';
import type { Checkpoint, EventStore, ReadAllResult, RecordedEvent } from '../event-store.port';
import { isEmbedded } from '../postgres/data-source';
import { SingleActiveLock } from '../postgres/single-active-lock';
import { WakeableSleep } from './wakeable-sleep';

/** Handles one batch inside the transaction that also records the subscription's checkpoint. */
export type SubscriptionHandler = (events: RecordedEvent[], manager: EntityManager) => Promise<void>;

export interface DurableSubscriptionOptions {
  name: string;
  /** Where events come from (any adapter of the port). */
  store: EventStore;
  /** Where the handler writes and the checkpoint lives (PostgreSQL or PGlite, with es_subscriptions). */
  dataSource: DataSource;
  handler: SubscriptionHandler;
  batchSize?: number;
  pollIntervalMs?: number;
  /**
   * After a batch of at least `busyBatch` events (default 10: the log is busy; on PGlite 1), the
   * loop waits this long (default 100 ms) before it reads again, appends or not, so that under load
   * it handles fewer, larger batches: each batch costs a read, a transaction and a checkpoint
   * whatever its size. A full batch is never followed by the pause (more is waiting). A quiet log is
   * read as soon as an append wakes the loop. 0: never wait. On PGlite, whose one connection a
   * batch holds while commands wait for it, the pause follows any batch: bench:http did 132
   * commands/s with the PostgreSQL threshold and 563 with this one.
   */
  busyPauseMs?: number;
  busyBatch?: number;
  /** How often a standby instance retries to become the active one. */
  standbyRetryMs?: number;
  onError?: (error: unknown) => void;
  /**
   * `transactional` (default): the handler writes through the given manager, in the checkpoint's
   * transaction (exactly once). `idempotent`: the handler runs first, outside any transaction, and
   * must tolerate a batch delivered again after a crash (e.g. it appends to the event store, whose
   * connection on PGlite the checkpoint's transaction would otherwise hold).
   */
  delivery?: 'transactional' | 'idempotent';
  /**
   * The events the handler acts on, if not all: a batch with none of them only moves the checkpoint,
   * in one statement, without calling the handler or opening a transaction for it.
   */
  relevant?: (event: RecordedEvent) => boolean;
}

class CheckpointMoved extends Error {}

/**
 * A subscription to the global log with exactly-once effect: each batch's handler writes and
 * the new checkpoint commit in one transaction, and only one instance per name is active
 * (a PostgreSQL session advisory lock; an in-process lock on PGlite).
 */
export class DurableSubscription {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly busyPauseMs: number;
  private readonly busyBatch: number;
  private readonly standbyRetryMs: number;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly pause = new WakeableSleep();
  /** The busy pause, the standby's wait and the wait after a failed batch, which only stop() ends: appends do not. */
  private readonly busy = new WakeableSleep();
  private unsubscribe: (() => void) | undefined;
  private readonly lock: SingleActiveLock;

  constructor(private readonly options: DurableSubscriptionOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    this.busyPauseMs = options.busyPauseMs ?? 100;
    this.busyBatch = options.busyBatch ?? (isEmbedded(options.dataSource) ? 1 : 10);
    this.standbyRetryMs = options.standbyRetryMs ?? 1000;
    this.lock = new SingleActiveLock(options.dataSource, `es-subscription:${options.name}`);
  }

  get name(): string {
    return this.options.name;
  }

  /** Becomes the active instance (waiting as standby while another holds it) and starts consuming. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.options.store.onAppended(() => this.pause.wake());
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.pause.wake();
    this.busy.wake();
    await this.loop;
    await this.lock.release();
  }

  /** Takes the lock or throws SubscriptionLockedError; for callers that must not wait. */
  async acquire(): Promise<void> {
    if (!(await this.lock.tryAcquire())) throw new SubscriptionLockedError(this.options.name);
    this.known = undefined;
  }

  /** The stored checkpoint (undefined before the first batch). */
  async checkpoint(): Promise<Checkpoint | undefined> {
    const rows: Array<{ checkpoint: string | null }> = await this.options.dataSource.query(
      'SELECT checkpoint FROM es_subscriptions WHERE name = $1',
      [this.options.name],
    );
    return rows[0]?.checkpoint ?? undefined;
  }

  /**
   * Events not yet handled: those after the stored checkpoint. Stores without `countAfter` are
   * counted by reading the log, which stops at `readCap` so a scrape stays cheap.
   */
  async lag(readCap = 10_000): Promise<number> {
    const { store } = this.options;
    const from = await this.checkpoint();
    if (store.countAfter) return store.countAfter(from);
    let count = 0;
    let after = from;
    while (count < readCap) {
      const page = await store.readAll({ after, maxCount: Math.min(1000, readCap - count) });
      if (page.events.length === 0) break;
      count += page.events.length;
      after = page.checkpoint;
    }
    return count;
  }

  /**
   * Processes one batch if any event is available; returns how many were handled. The lock
   * must be held (start() or acquire()).
   */
  processBatch(): Promise<number> {
    const run = this.serial.then(() => this.batch());
    this.serial = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private serial: Promise<void> = Promise.resolve();

  /** The next page, read while the current batch's transaction runs (only where that runs in parallel). */
  private readAhead: { after: Checkpoint; page: Promise<ReadAllResult> } | undefined;

  /**
   * The checkpoint as this instance last read or wrote it. Only the active instance moves it, so
   * polling need not read it again each time; the commit checks it (compare and set), and a
   * checkpoint moved meanwhile (a former holder of the lock finishing, a migration restarting the
   * projection) rolls the batch back and is read again. Taking the lock and catchUp() read it anew.
   */
  private known: { checkpoint: Checkpoint | undefined } | undefined;

  private async batch(): Promise<number> {
    const { dataSource, store, handler, delivery, relevant } = this.options;
    const from = this.known ? this.known.checkpoint : await this.checkpoint();
    this.known = { checkpoint: from };
    const ahead = this.readAhead;
    this.readAhead = undefined;
    const { events } = ahead && ahead.after === from ? await ahead.page : await store.readAll({ after: from, maxCount: this.batchSize });
    if (events.length === 0) return 0;
    const to = events[events.length - 1]!.checkpoint;
    if (events.length === this.batchSize && !isEmbedded(dataSource)) {
      // A full batch means more is waiting (catching up, rebuilding): read it while this one is written.
      const page = store.readAll({ after: to, maxCount: this.batchSize });
      page.catch(() => undefined);
      this.readAhead = { after: to, page };
    }
    try {
      if (delivery === 'idempotent') await handler(events, dataSource.manager);
      if (delivery === 'idempotent' || (relevant && !events.some(relevant))) {
        // Nothing to write with it: the checkpoint moves in a statement of its own.
        await this.moveCheckpoint(dataSource.manager, from, to);
      } else {
        await dataSource.transaction(async (manager) => {
          await handler(events, manager);
          await this.moveCheckpoint(manager, from, to);
        });
      }
    } catch (error) {
      this.known = undefined;
      throw error;
    }
    this.known = { checkpoint: to };
    for (const waiter of [...this.batchWaiters]) waiter();
    return events.length;
  }

  /**
   * Moves the stored checkpoint from where the batch began to its end, with the batch's writes when
   * `manager` is in their transaction. Should a former holder of the lock still have been finishing
   * a batch, never apply twice: the checkpoint moves only from `from` (a concurrent mover holds the
   * row until it commits, then this finds it moved and throws CheckpointMoved).
   *
   * A batch and its checkpoint are lost or kept together after a crash, and a lost batch is simply
   * handled again: the commit need not wait for the WAL flush (synchronous_commit off for this
   * transaction, set in the same statement).
   */
  private async moveCheckpoint(manager: EntityManager, from: Checkpoint | undefined, to: Checkpoint): Promise<void> {
    const asynchronous = isEmbedded(this.options.dataSource) ? '' : `, set_config('synchronous_commit', 'off', true) AS sync`;
    // (A CTE, so the statement is a SELECT and both drivers return its rows, not an UPDATE's count.)
    const [{ moved }] = await manager.query<[{ moved: number }]>(
      from === undefined
        ? `WITH m AS (INSERT INTO es_subscriptions AS s (name, checkpoint, updated_at) VALUES ($1, $2, now())
             ON CONFLICT (name) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, updated_at = now() WHERE s.checkpoint IS NULL
             RETURNING 1) SELECT count(*)::int AS moved${asynchronous} FROM m`
        : `WITH m AS (UPDATE es_subscriptions SET checkpoint = $2, updated_at = now() WHERE name = $1 AND checkpoint = $3
             RETURNING 1) SELECT count(*)::int AS moved${asynchronous} FROM m`,
      from === undefined ? [this.options.name, to] : [this.options.name, to, from],
    );
    if (moved !== 1) throw new CheckpointMoved();
  }

  /**
   * Processes batches until none is available; returns the number of events handled. Safe to call
   * while the subscription runs: batches are serialised in-process.
   */
  async catchUp(): Promise<number> {
    // From the stored checkpoint: a caller catching up may just have moved it (a migration
    // restarting the projection), and with nothing new in the log no commit would notice.
    this.known = undefined;
    let total = 0;
    for (;;) {
      const handled = await this.processBatch();
      if (handled === 0) return total;
      total += handled;
    }
  }

  /**
   * Read-your-writes for a request path, without driving the projection: resolves true once every
   * event committed before the call has been handled by the active instance (this process's loop,
   * or another process holding the subscription), false after `timeoutMs` (a long transaction
   * elsewhere holding the log back, or a subscription not started here and run nowhere).
   */
  async caughtUp(timeoutMs = 2000): Promise<boolean> {
    if (!this.running) return false;
    const { store } = this.options;
    const deadline = Date.now() + timeoutMs;
    const mark = store.horizon ? await store.horizon() : undefined;
    for (;;) {
      if (mark === undefined || !store.settled || (await store.settled(mark))) {
        const after = await this.checkpoint();
        const { events } = await store.readAll({ ...(after !== undefined ? { after } : {}), maxCount: 1 });
        if (events.length === 0) return true;
      }
      const left = deadline - Date.now();
      if (left <= 0 || !this.running) return false;
      // The active loop, if it is this one, takes the batch now rather than at its next poll.
      this.pause.wake();
      await this.nextBatch(Math.min(left, 25));
    }
  }

  private readonly batchWaiters = new Set<() => void>();

  /** Resolves when a batch commits in this process, or after `ms` (another process may be the active one). */
  private nextBatch(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.batchWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.batchWaiters.add(done);
    });
  }

  private async run(): Promise<void> {
    // A standby retries on its timer, not at every append this process makes.
    while (this.running && !(await this.lock.tryAcquire())) await this.busy.sleep(this.standbyRetryMs);
    this.known = undefined;
    while (this.running) {
      try {
        const handled = await this.processBatch();
        // bench:http: under load the platform's three subscriptions read the log and committed a batch
        // about 40 times a second each (as many statements as the commands themselves), a few events each.
        // A full batch is no pause: more is waiting (catching up, rebuilding).
        if (handled >= this.busyBatch && handled < this.batchSize && this.busyPauseMs > 0 && this.running)
          await this.busy.sleep(this.busyPauseMs);
        if (handled < this.batchSize) await this.pause.sleep(this.pollIntervalMs);
      } catch (error) {
        if (!(error instanceof CheckpointMoved)) (this.options.onError ?? defaultOnError)(error);
        // A failed batch is retried on the timer: were appends to end this wait, a read model's database
        // down while the log (another store) is busy would be retried at every append.
        await this.busy.sleep(this.pollIntervalMs);
      }
    }
  }
}

function defaultOnError(error: unknown): void {
  console.error('subscription batch failed; retrying', error);
}
