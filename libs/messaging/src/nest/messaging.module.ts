import { DATA_SOURCE, EVENT_STORE, type EventStore } from '@app/event-store';
import {
  type DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { logLevel as KafkaLogLevel } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { TOPICS, deadLetterTopic } from '../integration-event';
import { createKafka, ensureTopics, KafkaPublisher } from '../kafka/kafka-publisher';
import { OutboxRelay, type RelayCounters } from '../outbox-relay';

/** Options of the messaging module, validated at start-up. */
export const MessagingOptions = z
  .object({
    /** Absent or empty: no Kafka, no relay, and capture stays as it is (off unless once enabled). */
    kafkaBrokers: z.array(z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'a broker is host:port')).optional(),
    clientId: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, dot, dash, underscore'),
    /** Create missing integration and dead-letter topics at start (development; production provisions them). */
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

export interface MessagingModuleOptions {
  useFactory: (...deps: never[]) => MessagingOptions | Promise<MessagingOptions>;
  inject?: Array<string | symbol | (abstract new (...args: never[]) => unknown)>;
}

/**
 * The outbox relay for the application's lifetime, when Kafka brokers are configured; inert
 * otherwise. Metrics read `enabled`, `backlog()` and `counters()`.
 */
@Injectable()
export class MessagingRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('MessagingRelay');
  private relay: OutboxRelay | undefined;
  private publisher: KafkaPublisher | undefined;

  constructor(
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  get enabled(): boolean {
    return (this.options.kafkaBrokers?.length ?? 0) > 0;
  }

  async onApplicationBootstrap(): Promise<void> {
    const brokers = this.options.kafkaBrokers ?? [];
    if (brokers.length === 0) return;
    const kafka = createKafka({
      brokers,
      clientId: this.options.clientId,
      // Through Nest's logger, so the app's log format and level apply to kafkajs too.
      logCreator: () => (entry) => {
        const text = `kafkajs ${entry.namespace}: ${entry.log.message}`;
        if (entry.level <= KafkaLogLevel.ERROR) this.logger.error(text);
        else if (entry.level === KafkaLogLevel.WARN) this.logger.warn(text);
        else this.logger.debug(text);
      },
    });
    if (this.options.createTopics) {
      const topics = Object.values(TOPICS).flatMap((topic) => [topic, deadLetterTopic(topic)]);
      await ensureTopics(kafka, topics, this.options.createTopics);
    }
    this.publisher = new KafkaPublisher(kafka);
    this.relay = new OutboxRelay({
      dataSource: this.dataSource,
      publisher: this.publisher,
      batchSize: this.options.batchSize,
      pollIntervalMs: this.options.pollIntervalMs,
      maxBackoffMs: this.options.maxBackoffMs,
      wakeOn: (listener) => this.store.onAppended(listener),
      onError: (error) =>
        this.logger.warn(`outbox relay batch failed, backing off: ${error instanceof Error ? error.message : String(error)}`),
    });
    // Capture starts here, before the first publish: an unreachable broker only grows the backlog.
    await this.relay.start();
    this.logger.log(`relaying the outbox to Kafka at ${brokers.join(',')}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay?.stop();
    await this.publisher?.close();
  }

  /** Rows captured and not yet published (0 when messaging is off and capture never ran). */
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

/** Kafka transport for integration events: the outbox relay, started and stopped with the app. */
@Module({})
export class MessagingModule {
  static forRootAsync(options: MessagingModuleOptions): DynamicModule {
    return {
      module: MessagingModule,
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
        MessagingRelay,
      ],
      exports: [MessagingRelay],
    };
  }
}
