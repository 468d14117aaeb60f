import { Logger } from '@nestjs/common';
import { Kafka, logLevel as KafkaLogLevel, type Admin, type logCreator, type Producer, type TopicMessages } from 'kafkajs';
import type { MessagePublisher, OutboundMessage } from '../message-publisher.port';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** kafkajs' own log; default: errors only (the relay reports failures itself). */
  logLevel?: KafkaLogLevel;
  /** Where kafkajs logs go; default: Nest's logger (pino in the apps), under the context "kafkajs". */
  logCreator?: logCreator;
}

/** A comma list of brokers (KAFKA_BROKERS) as a list; empty when unset or blank. */
export function parseBrokers(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
}

/**
 * kafkajs' log through Nest's logger, which the apps route to pino: one format, one level and one
 * collector for every line a process writes, instead of kafkajs' own JSON on the console.
 */
export function nestLogCreator(context = 'kafkajs'): logCreator {
  const logger = new Logger(context);
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
      const details =
        Object.keys(extra).length > 0
          ? ` ${JSON.stringify(extra, (_key, value: unknown) => (value instanceof Error ? value.message : value))}`
          : '';
      const text = `${namespace ? `${namespace}: ` : ''}${String(message)}${details}`;
      if (level <= KafkaLogLevel.ERROR) logger.error(text);
      else if (level === KafkaLogLevel.WARN) logger.warn(text);
      else if (level === KafkaLogLevel.INFO) logger.log(text);
      else logger.debug(text);
    };
}

/** A kafkajs client for these brokers. */
export function createKafka(options: KafkaClientOptions): Kafka {
  if (options.brokers.length === 0) throw new Error('at least one Kafka broker is needed');
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: options.logLevel ?? KafkaLogLevel.ERROR,
    logCreator: options.logCreator ?? nestLogCreator(),
  });
}

interface ProducerSlot {
  producer: Producer;
  connecting: Promise<void> | undefined;
}

/**
 * The MessagePublisher on Kafka. An idempotent producer (acks from all in-sync replicas, one
 * request in flight) so the broker neither duplicates nor reorders a key's messages when it
 * retries a send internally. Its retries are bounded, unlike kafkajs' idempotent default of
 * "forever": the relay must see an outage to back off and count it, and the duplicates a
 * re-published batch can cause are absorbed by the consumers' inbox.
 *
 * After a failed publish the producer is replaced by a new one (a new producer id, sequences from
 * zero). The old one's sequence numbers may no longer match the broker's: when acknowledgements
 * were lost (a broker restart) the broker has the batch while the producer does not count it, and
 * the relay's next batch is rarely the same batch, so the broker answers
 * OUT_OF_ORDER_SEQUENCE_NUMBER, which kafkajs never resolves, to every send of that producer.
 */
export class KafkaPublisher implements MessagePublisher {
  private slot: ProducerSlot;
  private rebuilt = 0;

  constructor(
    private readonly kafka: Pick<Kafka, 'producer'>,
    private readonly options: { retries?: number; allowAutoTopicCreation?: boolean } = {},
  ) {
    this.slot = this.newSlot();
  }

  /** How many times a failed publish replaced the producer. */
  get rebuilds(): number {
    return this.rebuilt;
  }

  async publish(messages: OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const slot = this.slot;
    // Grouping by topic keeps each topic's messages in outbox order, hence each key's order.
    const byTopic = new Map<string, TopicMessages>();
    for (const message of messages) {
      let group = byTopic.get(message.topic);
      if (!group) byTopic.set(message.topic, (group = { topic: message.topic, messages: [] }));
      group.messages.push({ key: message.key, value: message.value, headers: message.headers });
    }
    try {
      await this.connectSlot(slot);
      await slot.producer.sendBatch({ topicMessages: [...byTopic.values()], acks: -1 });
    } catch (error) {
      this.replace(slot);
      throw error;
    }
  }

  /** Connects the current producer; a failed connect is tried again by the next publish. */
  connect(): Promise<void> {
    return this.connectSlot(this.slot);
  }

  async close(): Promise<void> {
    const slot = this.slot;
    slot.connecting = undefined;
    await slot.producer.disconnect();
  }

  private newSlot(): ProducerSlot {
    return {
      producer: this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: this.options.allowAutoTopicCreation ?? false,
        retry: { retries: this.options.retries ?? 5 },
      }),
      connecting: undefined,
    };
  }

  private connectSlot(slot: ProducerSlot): Promise<void> {
    if (!slot.connecting) {
      slot.connecting = slot.producer.connect().catch((error: unknown) => {
        slot.connecting = undefined;
        throw error;
      });
    }
    return slot.connecting;
  }

  /** The next publish uses a fresh producer; the failed one is closed in the background. */
  private replace(failed: ProducerSlot): void {
    if (this.slot !== failed) return;
    this.slot = this.newSlot();
    this.rebuilt += 1;
    failed.connecting = undefined;
    failed.producer.disconnect().catch(() => undefined);
  }
}

/** How the deployment creates the integration topics: partitions, and replicas (-1: the broker's default). */
export interface TopicCreation {
  numPartitions: number;
  replicationFactor: number;
}

/**
 * KAFKA_CREATE_TOPICS: `<partitions>` or `<partitions>:<replication factor>` (e.g. `6` or `6:3`);
 * undefined when unset or blank. Throws a message naming the variable when malformed.
 */
export function parseTopicCreation(value: string | undefined): TopicCreation | undefined {
  const text = value?.trim() ?? '';
  if (text === '') return undefined;
  const match = /^(\d{1,4})(?::(\d{1,2}))?$/.exec(text);
  const numPartitions = Number(match?.[1]);
  const replicationFactor = match?.[2] === undefined ? -1 : Number(match[2]);
  if (!match || numPartitions < 1 || replicationFactor === 0) {
    throw new Error(`KAFKA_CREATE_TOPICS must be <partitions>[:<replication factor>], both at least 1 (e.g. 6 or 6:3), got "${text}"`);
  }
  return { numPartitions, replicationFactor };
}

/**
 * Creates the integration topics and their dead-letter topics when missing (a no-op for those
 * that exist). Partitions bound consumers' parallelism; keys keep per-stream order whatever the count.
 */
export async function ensureTopics(
  kafka: Pick<Kafka, 'admin'>,
  topics: string[],
  options: { numPartitions?: number; replicationFactor?: number } = {},
): Promise<string[]> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length === 0) return [];
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: options.numPartitions ?? 6,
        replicationFactor: options.replicationFactor ?? -1,
      })),
    });
    return missing;
  } finally {
    await admin.disconnect();
  }
}
