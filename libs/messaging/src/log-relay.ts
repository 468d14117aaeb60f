import { DurableSubscription, SubscriptionLockedError, WakeableSleep, type EventStore, type RecordedEvent } from '@app/event-store';
import type { DataSource } from 'typeorm';
import { topicForStream } from './integration-event';
import type { MessagePublisher, OutboundMessage } from './message-publisher.port';
import { backoffDelay, integrationMessage, type RelayCounters } from './outbox-relay';

/** The relay's subscription: its checkpoint in es_subscriptions, its lock one active relay per database. */
export const LOG_RELAY_SUBSCRIPTION = 'messaging.log-relay';

export interface LogRelayOptions {
  /** The event log, through the port (KurrentDB in the deployments that need this relay). */
  store: EventStore;
  /** Where the checkpoint and the lock live (PostgreSQL, es_subscriptions). */
  dataSource: DataSource;
  publisher: MessagePublisher;
  batchSize?: number;
  pollIntervalMs?: number;
  /** How often a standby instance retries to become the active one. */
  standbyRetryMs?: number;
  /** First wait after a failed batch; doubles per consecutive failure up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (error: unknown) => void;
}

/** The Kafka messages of a page of the log: published streams only, in log order. */
export function logMessages(events: RecordedEvent[]): OutboundMessage[] {
  const messages: OutboundMessage[] = [];
  for (const event of events) {
    const topic = topicForStream(event.streamId);
    if (topic === undefined) continue;
    messages.push(
      integrationMessage({
        topic,
        messageId: event.eventId,
        streamId: event.streamId,
        streamVersion: event.streamVersion,
        type: event.type,
        schemaVersion: event.schemaVersion,
        globalPosition: event.globalPosition,
        recordedAt: event.recordedAt,
        data: event.data,
        metadata: event.metadata,
      }),
    );
  }
  return messages;
}

/**
 * Publishes the global log itself, for a log kept where no outbox trigger can capture it
 * (KurrentDB: es_events stays empty). A durable subscription to `$all` through the EventStore
 * port, checkpointed in PostgreSQL, that publishes each page before it moves its checkpoint: at
 * least once, in log order, hence in order per key; the same envelope, key and headers as the
 * outbox relay. A failed page is retried whole, after a backoff, before anything after it. It
 * starts from the beginning of the log (nothing is lost; consumers deduplicate on the message id).
 */
export class LogRelay {
  private readonly subscription: DurableSubscription;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly standbyRetryMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private running = false;
  private held = false;
  private loop: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly pause = new WakeableSleep();
  /**
   * Backoff and standby waits, which only stop() ends. Were appends to end them, a broker down
   * under load would be retried at every append, and a standby would try the lock at every append.
   */
  private readonly halt = new WakeableSleep();
  private consecutiveFailures = 0;
  private readonly stats: RelayCounters = { published: 0, failures: 0, deadLettered: 0 };

  constructor(private readonly options: LogRelayOptions) {
    this.batchSize = options.batchSize ?? 200;
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    this.standbyRetryMs = options.standbyRetryMs ?? 1000;
    this.initialBackoffMs = options.initialBackoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new Error('batchSize must be a positive integer');
    this.subscription = new DurableSubscription({
      name: LOG_RELAY_SUBSCRIPTION,
      store: options.store,
      dataSource: options.dataSource,
      batchSize: this.batchSize,
      // Publishing is no database write: it runs first, and the checkpoint moves only once it succeeded.
      delivery: 'idempotent',
      handler: (events) => this.publish(events),
    });
  }

  /** Relays for as long as it runs (as standby while another relay holds the subscription). */
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
    this.halt.wake();
    await this.loop;
    this.loop = undefined;
    // Releases the subscription's lock.
    await this.subscription.stop();
    this.held = false;
  }

  /** True while this instance is the active relay. */
  get active(): boolean {
    return this.held;
  }

  counters(): RelayCounters {
    return { ...this.stats };
  }

  /** Events of the log after the checkpoint (published streams or not); read, so capped on stores that cannot count. */
  backlog(): Promise<number> {
    return this.subscription.lag();
  }

  /** The last relayed position of the log (undefined before the first page). */
  checkpoint(): Promise<string | undefined> {
    return this.subscription.checkpoint();
  }

  /** Takes the relay's lock if free; false while another relay holds it. */
  async tryAcquire(): Promise<boolean> {
    if (this.held) return true;
    try {
      await this.subscription.acquire();
      this.held = true;
      return true;
    } catch (error) {
      if (error instanceof SubscriptionLockedError) return false;
      throw error;
    }
  }

  /** Publishes one page of the log and moves the checkpoint past it; returns the events read (0 at the end). */
  relayBatch(): Promise<number> {
    if (!this.held) return Promise.reject(new Error('the log relay does not hold its lock'));
    return this.subscription.processBatch();
  }

  /** Relays until the end of the log; returns the number of events read. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.relayBatch();
      if (n === 0) return total;
      total += n;
    }
  }

  private async publish(events: RecordedEvent[]): Promise<void> {
    const messages = logMessages(events);
    if (messages.length === 0) return;
    await this.options.publisher.publish(messages);
    this.stats.published += messages.length;
    this.stats.deadLettered += messages.filter((message) => message.topic.endsWith('.dlq')).length;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let acquired: boolean;
      try {
        acquired = await this.tryAcquire();
      } catch (error) {
        (this.options.onError ?? defaultOnError)(error);
        acquired = false;
      }
      if (!acquired) {
        await this.wait(this.standbyRetryMs);
        continue;
      }
      try {
        const n = await this.relayBatch();
        this.consecutiveFailures = 0;
        if (n < this.batchSize) await this.sleep(this.pollIntervalMs);
      } catch (error) {
        this.stats.failures += 1;
        this.consecutiveFailures += 1;
        (this.options.onError ?? defaultOnError)(error);
        await this.wait(backoffDelay(this.consecutiveFailures, this.initialBackoffMs, this.maxBackoffMs));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return this.running ? this.pause.sleep(ms) : Promise.resolve();
  }

  private wait(ms: number): Promise<void> {
    return this.running ? this.halt.sleep(ms) : Promise.resolve();
  }
}

function defaultOnError(error: unknown): void {
  console.error('log relay batch failed; retrying', error);
}
