import { SingleActiveLock, WakeableSleep } from '@app/event-store';
import type { DataSource } from 'typeorm';
import { deadLetterTopic, HEADERS, INTEGRATION_SCHEMA, toIntegrationEvent, type CapturedEvent } from './integration-event';
import { errorText } from './error-text';
import { DLQ_HEADERS, type MessagePublisher, type OutboundMessage } from './message-publisher.port';

/**
 * Switches outbox capture on (enables the trigger on es_events). Kept on once set, even while no
 * relay runs (a restart or a broker outage must not lose events): the outbox simply waits. Only
 * a change takes es_events' SHARE ROW EXCLUSIVE lock, which waits for appends in flight and holds
 * new ones back for a moment; an instance that finds capture on already takes no lock.
 */
export async function enableMessaging(dataSource: DataSource): Promise<void> {
  if (await isMessagingEnabled(dataSource)) return;
  await dataSource.transaction(async (manager) => {
    // Give up rather than queue appends behind a long transaction for ever; start() is retried.
    await manager.query("SET LOCAL lock_timeout = '10s'");
    await manager.query('ALTER TABLE es_events ENABLE TRIGGER msg_outbox_capture');
  });
}

/** Switches capture off and, when `discardBacklog`, drops what was not yet published (decommissioning Kafka). */
export async function disableMessaging(dataSource: DataSource, options: { discardBacklog?: boolean } = {}): Promise<void> {
  await dataSource.transaction(async (manager) => {
    await manager.query("SET LOCAL lock_timeout = '10s'");
    await manager.query('ALTER TABLE es_events DISABLE TRIGGER msg_outbox_capture');
    if (options.discardBacklog) await manager.query('DELETE FROM msg_outbox');
  });
}

/** Whether appends are being captured into the outbox. */
export async function isMessagingEnabled(dataSource: DataSource): Promise<boolean> {
  const rows: Array<{ enabled: boolean }> = await dataSource.query(
    "SELECT tgenabled <> 'D' AS enabled FROM pg_trigger WHERE tgrelid = 'es_events'::regclass AND tgname = 'msg_outbox_capture'",
  );
  if (rows.length === 0) throw new Error('msg_outbox_capture is missing: run the MessagingOutbox1764000000600 migration');
  return rows[0]!.enabled === true;
}

export interface OutboxRelayOptions {
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
  /** Wakes the relay right after a local append (e.g. `store.onAppended`), instead of at its next poll. */
  wakeOn?: (listener: () => void) => () => void;
}

/** Counters for metrics; monotonic for the life of the relay. */
export interface RelayCounters {
  /** Messages the publisher accepted (a batch published again after a failed delete counts again). */
  published: number;
  /** Failed batches (publisher or database), each followed by a backoff. */
  failures: number;
  /** Outbox rows that could not form a valid envelope and went to a dead-letter topic. */
  deadLettered: number;
}

interface OutboxRow {
  id: string;
  topic: string;
  message_key: string;
  message_id: string;
  stream_version: string;
  event_type: string;
  schema_version: number;
  global_position: string;
  recorded_at: string;
  data: unknown;
  metadata: unknown;
}

const LOCK_KEY = 'msg-outbox-relay';

/** The wait after `failures` consecutive failures: exponential, capped. */
export function backoffDelay(failures: number, initialMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 30));
}

/**
 * Publishes the outbox in id order and deletes what was published. At least once: rows leave
 * only after the publisher accepted them, so a crash or a failed delete publishes them again
 * (consumers deduplicate on the message id). A failed batch is retried whole, from the head of
 * the outbox, before anything after it, so a key's messages never overtake each other. One
 * active relay per database (a session advisory lock held on the connection the relay queries
 * through, so losing that connection also stops the relay; in-process on PGlite).
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly standbyRetryMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly pause = new WakeableSleep();
  /** Backoff and standby waits, which only stop() ends: appends do not (see LogRelay). */
  private readonly halt = new WakeableSleep();
  private unsubscribe: (() => void) | undefined;
  private readonly lock: SingleActiveLock;
  private consecutiveFailures = 0;
  private serial: Promise<void> = Promise.resolve();
  private readonly stats: RelayCounters = { published: 0, failures: 0, deadLettered: 0 };

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 200;
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    this.standbyRetryMs = options.standbyRetryMs ?? 1000;
    this.initialBackoffMs = options.initialBackoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new Error('batchSize must be a positive integer');
    this.lock = new SingleActiveLock(options.dataSource, LOCK_KEY);
  }

  /** Turns capture on, then relays for as long as it runs (as standby while another relay is active). */
  async start(): Promise<void> {
    if (this.running) return;
    await enableMessaging(this.options.dataSource);
    this.running = true;
    this.unsubscribe = this.options.wakeOn?.(() => this.pause.wake());
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.pause.wake();
    this.halt.wake();
    await this.loop;
    this.loop = undefined;
    await this.lock.release();
  }

  /** True while this instance holds the relay lock. */
  get active(): boolean {
    return this.lock.held;
  }

  counters(): RelayCounters {
    return { ...this.stats };
  }

  /** Rows captured and not yet published. */
  async backlog(): Promise<number> {
    const rows: Array<{ n: string }> = await this.options.dataSource.query('SELECT count(*)::text AS n FROM msg_outbox');
    return Number(rows[0]?.n ?? 0);
  }

  /** Takes the relay lock if free; false while another relay holds it. */
  tryAcquire(): Promise<boolean> {
    return this.lock.tryAcquire();
  }

  /**
   * Publishes one batch from the head of the outbox and deletes it; returns how many rows it
   * took (0 when empty). Throws, leaving every row in place, when publishing fails. The lock must
   * be held (start() or tryAcquire()).
   */
  relayBatch(): Promise<number> {
    const run = this.serial.then(() => this.batch());
    this.serial = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Relays until the outbox is empty; returns the number of rows relayed. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.relayBatch();
      if (n === 0) return total;
      total += n;
    }
  }

  private async batch(): Promise<number> {
    if (!this.active) throw new Error('the outbox relay does not hold its lock');
    const db = this.lock.session ?? this.options.dataSource;
    // Qualified ORDER BY: the output alias id is text, and '10' sorts before '9'.
    const rows: OutboxRow[] = await db.query(
      `SELECT id::text AS id, topic, message_key, message_id::text AS message_id, stream_version::text AS stream_version,
              event_type, schema_version, global_position::text AS global_position,
              to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS recorded_at, data, metadata
         FROM msg_outbox o ORDER BY o.id LIMIT $1`,
      [this.batchSize],
    );
    if (rows.length === 0) return 0;
    let deadLettered = 0;
    const messages = rows.map((row) => {
      const message = toMessage(row);
      if (message.topic !== row.topic) deadLettered += 1;
      return message;
    });
    await this.options.publisher.publish(messages);
    this.stats.published += messages.length;
    this.stats.deadLettered += deadLettered;
    // If this delete fails the batch is published again: duplicates, never losses.
    await db.query('DELETE FROM msg_outbox WHERE id = ANY($1::bigint[])', [rows.map((row) => row.id)]);
    return rows.length;
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (!(await this.tryAcquireQuietly())) {
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
        // A dead lock connection means the lock is gone too: become a standby rather than fail forever.
        await this.lock.alive();
        await this.wait(backoffDelay(this.consecutiveFailures, this.initialBackoffMs, this.maxBackoffMs));
      }
    }
  }

  private async tryAcquireQuietly(): Promise<boolean> {
    try {
      return await this.tryAcquire();
    } catch (error) {
      (this.options.onError ?? defaultOnError)(error);
      return false;
    }
  }

  /** After stop() nothing waits: the loop ends at once. */
  private sleep(ms: number): Promise<void> {
    return this.running ? this.pause.sleep(ms) : Promise.resolve();
  }

  private wait(ms: number): Promise<void> {
    return this.running ? this.halt.sleep(ms) : Promise.resolve();
  }
}

/** The message of one outbox row (see integrationMessage). */
function toMessage(row: OutboxRow): OutboundMessage {
  return integrationMessage({
    topic: row.topic,
    messageId: row.message_id,
    streamId: row.message_key,
    streamVersion: Number(row.stream_version),
    type: row.event_type,
    schemaVersion: row.schema_version,
    globalPosition: Number(row.global_position),
    recordedAt: row.recorded_at,
    data: row.data,
    metadata: row.metadata,
  });
}

/**
 * The Kafka message of a captured event: its envelope, keyed by stream id, with the routing
 * headers. An event that cannot form a valid envelope (e.g. an imported event without an actor)
 * would block its topic forever if retried; it goes to the topic's dead-letter topic instead, in
 * its place in the batch, with the error named, so nothing is lost silently. Shared by the outbox
 * relay and the log relay, so both publish the same bytes for the same event.
 */
export function integrationMessage(captured: CapturedEvent): OutboundMessage {
  try {
    const envelope = toIntegrationEvent(captured);
    return {
      topic: envelope.topic,
      key: envelope.streamId,
      value: JSON.stringify(envelope),
      headers: {
        [HEADERS.messageId]: envelope.messageId,
        [HEADERS.schema]: INTEGRATION_SCHEMA,
        [HEADERS.type]: envelope.type,
        [HEADERS.contentType]: 'application/json',
      },
    };
  } catch (error) {
    // Only the identifying fields travel: the raw data may hold blinded fields.
    return {
      topic: deadLetterTopic(captured.topic),
      key: captured.streamId,
      value: JSON.stringify({
        messageId: captured.messageId,
        streamId: captured.streamId,
        streamVersion: captured.streamVersion,
        type: captured.type,
      }),
      headers: {
        [HEADERS.messageId]: captured.messageId,
        [HEADERS.type]: captured.type,
        [DLQ_HEADERS.reason]: 'invalid-envelope',
        [DLQ_HEADERS.error]: errorText(error),
        [DLQ_HEADERS.consumer]: 'outbox-relay',
        [DLQ_HEADERS.originalTopic]: captured.topic,
      },
    };
  }
}

function defaultOnError(error: unknown): void {
  console.error('outbox relay batch failed; retrying', error);
}
