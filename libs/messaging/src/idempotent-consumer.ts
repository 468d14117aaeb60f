import type { DataSource, EntityManager } from 'typeorm';
import { deadLetterTopic, INTEGRATION_SCHEMA, IntegrationEventV1 } from './integration-event';
import { DLQ_HEADERS, type InboundMessage, type MessagePublisher } from './message-publisher.port';
import { errorText } from './error-text';
import { isTransientInfrastructureError } from './transient-error';

/** Applies one integration event through `manager`, inside the transaction that records it as processed. */
export type IntegrationEventHandler = (event: IntegrationEventV1, manager: EntityManager) => Promise<void>;

/** Thrown by a handler for a message that will never succeed (e.g. a rule it violates): dead-lettered at once. */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

export interface IdempotentConsumerOptions {
  /** Names the consumer in msg_inbox; two consumers of one message each apply it once. */
  name: string;
  dataSource: DataSource;
  handler: IntegrationEventHandler;
  /** Publishes to `<topic>.dlq`. */
  deadLetters: MessagePublisher;
  /** Failures of one message (same topic, partition, offset) before it is dead-lettered. */
  maxAttempts?: number;
  /** Errors that retrying cannot cure; default: NonRetryableError. */
  isNonRetryable?: (error: unknown) => boolean;
  /**
   * Errors of the infrastructure, not of the message (the database unreachable, restarting or out
   * of connections); default: isTransientInfrastructureError. They never count as attempts: the
   * consumer waits and tries again instead, so an outage cannot dead-letter good messages.
   */
  isTransient?: (error: unknown) => boolean;
  /** First wait after a transient error; doubles per consecutive one up to `transientMaxBackoffMs`. Default 250 ms. */
  transientBackoffMs?: number;
  /** Default 5 s: short enough to notice recovery at once, and below Kafka's session timeout between heartbeats. */
  transientMaxBackoffMs?: number;
  /**
   * How long one handle() keeps waiting out transient errors before it rejects (still uncounted),
   * handing the message back to the transport to deliver again. Default 60 s.
   */
  transientWaitLimitMs?: number;
}

/** What the transport offers while a message is in hand (Kafka: a heartbeat keeps the group membership during a long wait). */
export interface HandleContext {
  heartbeat?: () => Promise<void>;
}

export type ConsumeOutcome = 'processed' | 'duplicate' | 'dead-lettered';

type DeadLetterReason = 'invalid-envelope' | 'non-retryable' | 'retries-exhausted';

/**
 * Exactly-once effect over an at-least-once transport: the handler's writes and the insert of
 * (consumer, message id) into msg_inbox commit together, so a redelivered message finds its row
 * and is acknowledged without effect. Poison messages (an envelope that fails the schema, a
 * non-retryable error, or `maxAttempts` failures) go to `<topic>.dlq` and are then acknowledged,
 * so one bad message does not stall its partition forever. Attempts are counted in memory: a
 * restart grants a failing message another `maxAttempts`. Transient infrastructure errors (see
 * `isTransient`) are not attempts: the message waits, with backoff, until the database answers.
 */
export class IdempotentConsumer {
  private readonly maxAttempts: number;
  private readonly attempts = new Map<string, number>();

  constructor(private readonly options: IdempotentConsumerOptions) {
    this.maxAttempts = options.maxAttempts ?? 5;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) throw new Error('maxAttempts must be a positive integer');
    if (!/^[A-Za-z0-9._:-]{1,200}$/.test(options.name)) throw new Error(`invalid consumer name ${options.name}`);
  }

  get name(): string {
    return this.options.name;
  }

  /**
   * Handles one message. Resolves when the message may be acknowledged (committed offset);
   * rejects when it should be delivered again (a retryable failure below `maxAttempts`, or the
   * dead-letter topic unreachable).
   */
  async handle(message: InboundMessage, context: HandleContext = {}): Promise<ConsumeOutcome> {
    const parsed = parseEnvelope(message);
    if (!parsed.ok) {
      await this.deadLetter(message, 'invalid-envelope', parsed.error, 1);
      return 'dead-lettered';
    }
    const where = `${message.topic}/${message.partition}/${message.offset}`;
    const started = Date.now();
    for (let transientFailures = 0; ;) {
      try {
        const outcome = await this.apply(parsed.event);
        this.attempts.delete(where);
        return outcome;
      } catch (error) {
        if ((this.options.isTransient ?? isTransientInfrastructureError)(error)) {
          transientFailures += 1;
          const wait = Math.min(
            this.options.transientMaxBackoffMs ?? 5000,
            (this.options.transientBackoffMs ?? 250) * 2 ** Math.min(transientFailures - 1, 20),
          );
          // Past the limit the transport gets the message back, uncounted, and delivers it again.
          if (Date.now() + wait - started > (this.options.transientWaitLimitMs ?? 60_000)) throw error;
          await new Promise((resolve) => setTimeout(resolve, wait));
          await context.heartbeat?.();
          continue;
        }
        const attempts = (this.attempts.get(where) ?? 0) + 1;
        const nonRetryable = (this.options.isNonRetryable ?? ((e) => e instanceof NonRetryableError))(error);
        if (!nonRetryable && attempts < this.maxAttempts) {
          this.attempts.set(where, attempts);
          throw error;
        }
        await this.deadLetter(message, nonRetryable ? 'non-retryable' : 'retries-exhausted', error, attempts);
        this.attempts.delete(where);
        return 'dead-lettered';
      }
    }
  }

  /** True when this consumer has applied the message. */
  async hasProcessed(messageId: string): Promise<boolean> {
    const rows: unknown[] = await this.options.dataSource.query('SELECT 1 FROM msg_inbox WHERE consumer = $1 AND message_id = $2', [
      this.options.name,
      messageId,
    ]);
    return rows.length > 0;
  }

  private async apply(event: IntegrationEventV1): Promise<ConsumeOutcome> {
    return this.options.dataSource.transaction(async (manager) => {
      // A concurrent delivery of the same message waits here on the other's uncommitted row.
      const inserted: unknown[] = await manager.query(
        'INSERT INTO msg_inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING message_id',
        [this.options.name, event.messageId],
      );
      if (inserted.length === 0) return 'duplicate';
      await this.options.handler(event, manager);
      return 'processed';
    });
  }

  private async deadLetter(message: InboundMessage, reason: DeadLetterReason, error: unknown, attempts: number): Promise<void> {
    const headers: Record<string, string | Buffer> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      if (value === undefined) continue;
      // Repeated headers keep their last value: DLQ headers are for people and tools, not replay.
      const single = Array.isArray(value) ? value[value.length - 1] : value;
      if (single !== undefined) headers[name] = single;
    }
    Object.assign(headers, {
      [DLQ_HEADERS.reason]: reason,
      [DLQ_HEADERS.error]: errorText(error),
      [DLQ_HEADERS.consumer]: this.options.name,
      [DLQ_HEADERS.originalTopic]: message.topic,
      [DLQ_HEADERS.originalPartition]: String(message.partition),
      [DLQ_HEADERS.originalOffset]: message.offset,
      [DLQ_HEADERS.attempts]: String(attempts),
    });
    await this.options.deadLetters.publish([
      {
        topic: deadLetterTopic(message.topic),
        key: message.key === null ? null : message.key.toString(),
        value: message.value ?? '',
        headers,
      },
    ]);
  }
}

function parseEnvelope(message: InboundMessage): { ok: true; event: IntegrationEventV1 } | { ok: false; error: Error } {
  if (message.value === null) return { ok: false, error: new Error('message has no value') };
  let json: unknown;
  try {
    json = JSON.parse(message.value.toString());
  } catch (error) {
    return { ok: false, error: new Error(`value is not JSON: ${errorText(error)}`) };
  }
  const result = IntegrationEventV1.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    return { ok: false, error: new Error(`envelope does not match ${INTEGRATION_SCHEMA}: ${issues}`) };
  }
  if (result.data.topic !== message.topic) {
    return { ok: false, error: new Error(`envelope of topic ${result.data.topic} arrived on ${message.topic}`) };
  }
  return { ok: true, event: result.data };
}
