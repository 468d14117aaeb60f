import { DATA_SOURCE, EVENT_STORE, EVENT_STORE_ADAPTER, PostgresEventStore, type EventStore } from '@app/event-store';
import {
  type DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { TOPICS, deadLetterTopic } from '../integration-event';
import { createKafka, ensureTopics, KafkaPublisher, type KafkaClientOptions } from '../kafka/kafka-publisher';
import { LogRelay } from '../log-relay';
import { OutboxRelay, type RelayCounters } from '../outbox-relay';
import { IntegrationEventTransport, type IntegrationEventTransportOptions } from './integration-event-transport';

/** Options of the messaging module, validated at start-up. */
export const MessagingOptions = z
  .object({
    /** Absent or empty: no Kafka, no relay, and capture stays as it is (off unless once enabled). */
    kafkaBrokers: z.array(z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'a broker is host:port')).optional(),
    clientId: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, dot, dash, underscore'),
    /**
     * Create missing integration and dead-letter topics with these partitions at start-up, before
     * the first publish (KAFKA_CREATE_TOPICS), for a deployment without a topic step of its own.
     */
    createTopics: z
      .object({ numPartitions: z.number().int().min(1), replicationFactor: z.number().int().min(-1) })
      .strict()
      .optional(),
    batchSize: z.number().int().min(1).max(10_000).optional(),
    pollIntervalMs: z.number().int().min(1).optional(),
    maxBackoffMs: z.number().int().min(1).optional(),
  })
  .strict();
export type MessagingOptions = z.infer<typeof MessagingOptions>;

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');
/** The kafkajs client factory (createKafka); tests put a broker double here. */
export const KAFKA_CLIENT_FACTORY = Symbol('KAFKA_CLIENT_FACTORY');
export type KafkaClientFactory = (options: KafkaClientOptions) => Pick<Kafka, 'producer' | 'admin' | 'consumer'>;

export interface MessagingModuleOptions {
  useFactory: (...deps: never[]) => MessagingOptions | Promise<MessagingOptions>;
  inject?: Array<string | symbol | (abstract new (...args: never[]) => unknown)>;
  /** Default: createKafka. */
  kafka?: KafkaClientFactory;
}

/** The integration topics and their dead-letter topics: what the deployment creates. */
export function integrationTopics(): string[] {
  return Object.values(TOPICS).flatMap((topic) => [topic, deadLetterTopic(topic)]);
}

/**
 * The relay to Kafka for the application's lifetime, when Kafka brokers are configured; inert
 * otherwise. With the log in PostgreSQL it relays the transactional outbox; with the log on
 * KurrentDB (where es_events stays empty, so the outbox would capture nothing) it relays the log
 * itself through a checkpointed subscription (LogRelay): the same envelope, keys and topics
 * either way. Metrics read `enabled`, `backlog()` and `counters()`.
 */
@Injectable()
export class MessagingRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('MessagingRelay');
  private relay: OutboxRelay | LogRelay | undefined;
  private publisher: KafkaPublisher | undefined;

  constructor(
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(EVENT_STORE_ADAPTER) private readonly adapter: EventStore,
    @Inject(KAFKA_CLIENT_FACTORY) private readonly kafkaClient: KafkaClientFactory,
  ) {}

  get enabled(): boolean {
    return (this.options.kafkaBrokers?.length ?? 0) > 0;
  }

  /** What is relayed: the outbox (log in PostgreSQL), the log itself (elsewhere), or nothing (no brokers). */
  get source(): 'outbox' | 'log' | 'none' {
    if (!this.enabled) return 'none';
    return this.adapter instanceof PostgresEventStore ? 'outbox' : 'log';
  }

  async onApplicationBootstrap(): Promise<void> {
    const brokers = this.options.kafkaBrokers ?? [];
    if (brokers.length === 0) return;
    // kafkajs' log goes through Nest's logger (createKafka's default), so the app's format and level apply.
    const kafka = this.kafkaClient({ brokers, clientId: this.options.clientId });
    if (this.options.createTopics) {
      const created = await ensureTopics(kafka, integrationTopics(), this.options.createTopics);
      if (created.length > 0)
        this.logger.log(`created Kafka topics ${created.join(', ')} (${this.options.createTopics.numPartitions} partitions)`);
    }
    this.publisher = new KafkaPublisher(kafka);
    const onError = (error: unknown) =>
      this.logger.warn(`relay batch failed, backing off: ${error instanceof Error ? error.message : String(error)}`);
    if (this.source === 'log') {
      const relay = new LogRelay({
        store: this.store,
        dataSource: this.dataSource,
        publisher: this.publisher,
        batchSize: this.options.batchSize,
        pollIntervalMs: this.options.pollIntervalMs,
        maxBackoffMs: this.options.maxBackoffMs,
        onError,
      });
      this.relay = relay;
      relay.start();
      this.logger.log(`relaying the event log to Kafka at ${brokers.join(',')}`);
      return;
    }
    const relay = new OutboxRelay({
      dataSource: this.dataSource,
      publisher: this.publisher,
      batchSize: this.options.batchSize,
      pollIntervalMs: this.options.pollIntervalMs,
      maxBackoffMs: this.options.maxBackoffMs,
      wakeOn: (listener) => this.store.onAppended(listener),
      onError,
    });
    this.relay = relay;
    // Capture starts here, before the first publish: an unreachable broker only grows the backlog.
    await relay.start();
    this.logger.log(`relaying the outbox to Kafka at ${brokers.join(',')}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay?.stop();
    await this.publisher?.close();
  }

  /** Messages waiting: outbox rows not yet published, or events of the log after the relay's checkpoint. */
  async backlog(): Promise<number> {
    if (this.relay) return this.relay.backlog();
    const rows: Array<{ n: string }> = await this.dataSource.query('SELECT count(*)::text AS n FROM msg_outbox');
    return Number(rows[0]?.n ?? 0);
  }

  counters(): RelayCounters {
    return this.relay?.counters() ?? { published: 0, failures: 0, deadLettered: 0 };
  }

  /** True while this instance is the active relay (another replica may be). */
  get active(): boolean {
    return this.relay?.active ?? false;
  }
}

/** A consumer that has stopped for good, as /health reports it. */
export interface StoppedConsumer {
  consumer: string;
  error: Error;
}

/**
 * Creates the process's integration-event transports (Nest microservice strategies) on the
 * configured brokers and keeps them, so /health can tell when one has stopped consuming: kafkajs
 * gives up on a non-retriable error (CRASH without restart) and nothing else would notice.
 */
@Injectable()
export class IntegrationEventTransports {
  private readonly transports: IntegrationEventTransport[] = [];
  private readonly stopListeners: Array<(stopped: StoppedConsumer) => void> = [];

  constructor(
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(KAFKA_CLIENT_FACTORY) private readonly kafkaClient: KafkaClientFactory,
  ) {}

  /** True when Kafka brokers are configured (KAFKA_BROKERS): only then do transports exist. */
  get enabled(): boolean {
    return (this.options.kafkaBrokers?.length ?? 0) > 0;
  }

  /** A transport consuming `topics` as consumer `name`; connect it with `app.connectMicroservice({ strategy })`. */
  create(
    options: Pick<IntegrationEventTransportOptions, 'name' | 'topics'> &
      Partial<Omit<IntegrationEventTransportOptions, 'kafka' | 'onCrash'>>,
  ): IntegrationEventTransport {
    const brokers = this.options.kafkaBrokers ?? [];
    if (brokers.length === 0) throw new Error(`${options.name}: an integration-event transport needs KAFKA_BROKERS`);
    const transport = new IntegrationEventTransport({
      dataSource: this.dataSource,
      ...options,
      kafka: this.kafkaClient({ brokers, clientId: this.options.clientId }),
      onCrash: ({ consumer, error, restart }) => {
        if (restart) return;
        for (const listener of this.stopListeners) listener({ consumer, error });
      },
    });
    this.transports.push(transport);
    return transport;
  }

  /** Consumers of this process and whether each is consuming. */
  consumers(): Array<{ consumer: string; topics: readonly string[]; crashed: Error | undefined }> {
    return this.transports.map((t) => ({ consumer: t.name, topics: t.topics, crashed: t.crashed }));
  }

  /** Consumers that crashed and that kafkajs will not restart. */
  stopped(): StoppedConsumer[] {
    return this.transports.flatMap((t) => (t.crashed ? [{ consumer: t.name, error: t.crashed }] : []));
  }

  /** Called once per consumer that stops for good (the process should exit so the orchestrator restarts it). */
  onStopped(listener: (stopped: StoppedConsumer) => void): void {
    this.stopListeners.push(listener);
  }
}

/** Kafka transport for integration events: the outbox relay, started and stopped with the app. */
@Module({})
export class MessagingModule {
  static forRootAsync(options: MessagingModuleOptions): DynamicModule {
    return {
      module: MessagingModule,
      // One per process, and contexts' Kafka handlers ask it whether brokers are configured.
      global: true,
      providers: [
        {
          provide: MESSAGING_OPTIONS,
          inject: options.inject ?? [],
          useFactory: async (...deps: never[]) => {
            const parsed = MessagingOptions.safeParse(await options.useFactory(...deps));
            if (!parsed.success) {
              const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
              throw new Error(`invalid messaging configuration: ${issues}`);
            }
            return parsed.data;
          },
        },
        { provide: KAFKA_CLIENT_FACTORY, useValue: options.kafka ?? createKafka },
        MessagingRelay,
        IntegrationEventTransports,
      ],
      exports: [MessagingRelay, IntegrationEventTransports],
    };
  }
}
