import { Kafka, logLevel as KafkaLogLevel, type logCreator, type Producer, type TopicMessages } from 'kafkajs';
import type { MessagePublisher, OutboundMessage } from '../message-publisher.port';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** kafkajs' own log; default: errors only (the relay reports failures itself). */
  logLevel?: KafkaLogLevel;
  /** Where kafkajs logs go (e.g. the app's logger); default: kafkajs' JSON lines on the console. */
  logCreator?: logCreator;
}

/** A comma list of brokers (KAFKA_BROKERS) as a list; empty when unset or blank. */
export function parseBrokers(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
}

/** A kafkajs client for these brokers. */
export function createKafka(options: KafkaClientOptions): Kafka {
  if (options.brokers.length === 0) throw new Error('at least one Kafka broker is needed');
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: options.logLevel ?? KafkaLogLevel.ERROR,
    ...(options.logCreator ? { logCreator: options.logCreator } : {}),
  });
}

/**
 * The MessagePublisher on Kafka. An idempotent producer (acks from all in-sync replicas, one
 * request in flight) so the broker neither duplicates nor reorders a key's messages when it
 * retries a send internally. Its retries are bounded, unlike kafkajs' idempotent default of
 * "forever": the relay must see an outage to back off and count it, and the duplicates a
 * re-published batch can cause are absorbed by the consumers' inbox.
 */
export class KafkaPublisher implements MessagePublisher {
  private readonly producer: Producer;
  private connecting: Promise<void> | undefined;

  constructor(kafka: Kafka, options: { retries?: number; allowAutoTopicCreation?: boolean } = {}) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: options.allowAutoTopicCreation ?? false,
      retry: { retries: options.retries ?? 5 },
    });
  }

  async publish(messages: OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.connect();
    // Grouping by topic keeps each topic's messages in outbox order, hence each key's order.
    const byTopic = new Map<string, TopicMessages>();
    for (const message of messages) {
      let group = byTopic.get(message.topic);
      if (!group) byTopic.set(message.topic, (group = { topic: message.topic, messages: [] }));
      group.messages.push({ key: message.key, value: message.value, headers: message.headers });
    }
    await this.producer.sendBatch({ topicMessages: [...byTopic.values()], acks: -1 });
  }

  /** Connects once; a failed connect is tried again by the next publish. */
  connect(): Promise<void> {
    if (!this.connecting) {
      this.connecting = this.producer.connect().catch((error: unknown) => {
        this.connecting = undefined;
        throw error;
      });
    }
    return this.connecting;
  }

  async close(): Promise<void> {
    this.connecting = undefined;
    await this.producer.disconnect();
  }
}

/**
 * Creates the integration topics and their dead-letter topics when missing (a no-op for those
 * that exist). Partitions bound consumers' parallelism; keys keep per-stream order whatever the count.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: string[],
  options: { numPartitions?: number; replicationFactor?: number } = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: options.numPartitions ?? 6,
        replicationFactor: options.replicationFactor ?? -1,
      })),
    });
  } finally {
    await admin.disconnect();
  }
}
