import { applyDecorators, Catch, Controller, Logger, UseFilters, type RpcExceptionFilter } from '@nestjs/common';
import { BaseRpcContext, Server, type CustomTransportStrategy, type MessageHandler as NestMessageHandler } from '@nestjs/microservices';
import type { Kafka } from 'kafkajs';
import { isObservable, lastValueFrom, throwError, type Observable } from 'rxjs';
import type { DataSource, EntityManager } from 'typeorm';
import { IdempotentConsumer, NonRetryableError, type ConsumeOutcome, type IdempotentConsumerOptions } from '../idempotent-consumer';
import type { IntegrationEventV1 } from '../integration-event';
import { KafkaConsumerRunner } from '../kafka/kafka-consumer-runner';
import { KafkaPublisher } from '../kafka/kafka-publisher';
import type { HandleContext } from '../idempotent-consumer';
import type { InboundMessage, MessagePublisher } from '../message-publisher.port';

/**
 * The second argument of an `@EventPattern` handler (`@Ctx()`): the transaction that records the
 * message in the consumer's inbox. Writes through `manager` commit with that row, so the handler's
 * effect and "processed" are one fact.
 */
export class IntegrationEventContext extends BaseRpcContext<[IntegrationEventV1, EntityManager]> {
  getEvent(): IntegrationEventV1 {
    return this.args[0];
  }

  getManager(): EntityManager {
    return this.args[1];
  }

  getTopic(): string {
    return this.args[0].topic;
  }
}

/**
 * Hands a handler's error to the transport as it was thrown. Nest's default RPC filter replaces
 * every error by `{ status: 'error', message: 'Internal server error' }`, which would hide what
 * the idempotent consumer must tell apart: a database outage (wait, not an attempt), a
 * NonRetryableError (dead-letter at once) and any other failure (an attempt).
 */
@Catch()
export class IntegrationEventErrors implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}

/**
 * Marks a class of `@EventPattern` handlers for the integration-event transport: a controller
 * whose errors reach the transport unchanged (IntegrationEventErrors). Filters are bound when Nest
 * registers the handlers, so this must be on the class; a global filter would come too late.
 */
export function IntegrationEventHandlers(): ClassDecorator {
  return applyDecorators(Controller(), UseFilters(new IntegrationEventErrors()));
}

export interface IntegrationEventTransportOptions extends Pick<
  IdempotentConsumerOptions,
  'maxAttempts' | 'isNonRetryable' | 'isTransient' | 'transientBackoffMs' | 'transientMaxBackoffMs' | 'transientWaitLimitMs'
> {
  /** The consumer group on Kafka and the consumer's name in msg_inbox. */
  name: string;
  /** The integration topics consumed; each needs an `@EventPattern(topic)` handler. */
  topics: string[];
  /** kafkajs client (or the broker double): a consumer for the topics, a producer for their dead-letter topics. */
  kafka: Pick<Kafka, 'consumer' | 'producer'>;
  dataSource: DataSource;
  /** Default: from the beginning, so a new group misses nothing (the inbox absorbs what it already applied). */
  fromBeginning?: boolean;
  /** Every crash of the kafkajs consumer; `restart: false` means consumption has stopped for good. */
  onCrash?: (crash: { consumer: string; error: Error; restart: boolean }) => void;
}

/** Unique id of this transport, for `@EventPattern(topic, INTEGRATION_EVENTS)` should another transport ever join. */
export const INTEGRATION_EVENTS = Symbol('integration-events');

/**
 * Nest microservice transport for integration events on Kafka: contexts declare their consumers as
 * `@EventPattern('<topic>')` handlers (in an `@IntegrationEventHandlers()` class) and this strategy
 * feeds them. Each message goes through the IdempotentConsumer, so the guarantees of the outbox's
 * other side hold for every handler: the inbox row commits in the handler's transaction (each
 * message once in effect), failures are retried a bounded number of times and then dead-lettered
 * to `<topic>.dlq`, and transient infrastructure errors wait instead of counting. Nest's own Kafka
 * transport has none of these, and would auto-create topics.
 */
export class IntegrationEventTransport extends Server implements CustomTransportStrategy {
  override transportId = INTEGRATION_EVENTS;
  protected override readonly logger = new Logger(IntegrationEventTransport.name);
  readonly consumer: IdempotentConsumer;
  private readonly deadLetters: KafkaPublisher;
  private runner: KafkaConsumerRunner | undefined;

  constructor(private readonly options: IntegrationEventTransportOptions) {
    super();
    if (options.topics.length === 0) throw new Error('an integration-event transport needs at least one topic');
    this.deadLetters = new KafkaPublisher(options.kafka);
    this.consumer = new IdempotentConsumer({
      name: options.name,
      dataSource: options.dataSource,
      deadLetters: this.deadLetters,
      handler: (event, manager) => this.dispatch(event, manager),
      ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
      ...(options.isNonRetryable ? { isNonRetryable: options.isNonRetryable } : {}),
      ...(options.isTransient ? { isTransient: options.isTransient } : {}),
      ...(options.transientBackoffMs !== undefined ? { transientBackoffMs: options.transientBackoffMs } : {}),
      ...(options.transientMaxBackoffMs !== undefined ? { transientMaxBackoffMs: options.transientMaxBackoffMs } : {}),
      ...(options.transientWaitLimitMs !== undefined ? { transientWaitLimitMs: options.transientWaitLimitMs } : {}),
    });
  }

  get name(): string {
    return this.options.name;
  }

  get topics(): readonly string[] {
    return this.options.topics;
  }

  /** The error that stopped consumption for good (a kafkajs crash without restart); undefined while consuming. */
  get crashed(): Error | undefined {
    return this.runner?.crashed;
  }

  /** Called by `startAllMicroservices()`: refuses to start a topic nobody handles, then joins the group. */
  listen(callback: (error?: unknown) => void): void {
    this.start().then(
      () => callback(),
      (error: unknown) => callback(error),
    );
  }

  private async start(): Promise<void> {
    const unhandled = this.options.topics.filter((topic) => !this.getHandlerByPattern(topic));
    // Consuming a topic without a handler would dead-letter every message of it.
    if (unhandled.length > 0) throw new Error(`${this.options.name}: no @EventPattern handler for ${unhandled.join(', ')}`);
    this.runner = new KafkaConsumerRunner({
      kafka: this.options.kafka,
      groupId: this.options.name,
      topics: [...this.options.topics],
      handler: this.consumer,
      fromBeginning: this.options.fromBeginning ?? true,
      onCrash: ({ error, restart }) => {
        if (restart) this.logger.warn(`${this.options.name}: Kafka consumer crashed, kafkajs restarts it: ${error.message}`);
        this.options.onCrash?.({ consumer: this.options.name, error, restart });
      },
    });
    await this.runner.start();
    this.logger.log(`${this.options.name} consuming ${this.options.topics.join(', ')}`);
  }

  /** Handles one message as the Kafka consumer would (tests, and a DLQ replay in process). */
  handle(message: InboundMessage, context?: HandleContext): Promise<ConsumeOutcome> {
    return this.consumer.handle(message, context);
  }

  async close(): Promise<void> {
    await this.runner?.stop();
    await this.deadLetters.close();
  }

  /** No transport events to listen to: crashes are reported through `onCrash` and `crashed`. */
  on(): void {
    throw new Error(`${IntegrationEventTransport.name} has no events; use the onCrash option`);
  }

  unwrap<T>(): T {
    return this.runner as T;
  }

  /** The dead-letter publisher, for a replay tool that shares this transport's client. */
  get deadLetterPublisher(): MessagePublisher {
    return this.deadLetters;
  }

  /**
   * Calls the `@EventPattern` handler of the event's topic inside the inbox transaction and waits
   * for its outcome. Not through Server.handleEvent: that one neither waits for an observable
   * result nor passes an error on, and the consumer must know both to acknowledge or retry.
   */
  private async dispatch(event: IntegrationEventV1, manager: EntityManager): Promise<void> {
    const handler: NestMessageHandler | null = this.getHandlerByPattern(event.topic);
    if (!handler) throw new NonRetryableError(`no @EventPattern handler for ${event.topic}`);
    try {
      const result: unknown = await handler(event, new IntegrationEventContext([event, manager]));
      if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
    } catch (error) {
      throw filtered(error);
    }
  }
}

/** Nest's default RPC filter leaves only `{ status, message }`: say what is missing instead of a bare object. */
function filtered(error: unknown): unknown {
  if (error instanceof Error || typeof error !== 'object' || error === null || !('status' in error)) return error;
  const message = (error as { message?: unknown }).message;
  return new Error(
    `${typeof message === 'string' ? message : 'handler failed'} (the handler's class lacks @IntegrationEventHandlers(), so its error was replaced)`,
  );
}
