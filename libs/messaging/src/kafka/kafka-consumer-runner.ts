import type { Consumer, Kafka } from 'kafkajs';
import type { HandleContext } from '../idempotent-consumer';
import type { InboundMessage } from '../message-publisher.port';

/** What the runner hands each message to; resolving acknowledges it, rejecting has it delivered again. */
export interface MessageHandler {
  handle(message: InboundMessage, context?: HandleContext): Promise<unknown>;
}

export interface KafkaConsumerRunnerOptions {
  kafka: Pick<Kafka, 'consumer'>;
  groupId: string;
  topics: string[];
  handler: MessageHandler;
  /** Where a group with no committed offset starts; default: the beginning (nothing missed). */
  fromBeginning?: boolean;
  /**
   * Called when kafkajs' consumer crashes (CRASH): `restart` says whether kafkajs will restart it
   * (retriable errors) or has stopped consuming for good, which a health check must report.
   */
  onCrash?: (crash: { error: Error; restart: boolean }) => void;
}

/**
 * Runs a consumer group over `topics`, one message at a time per partition (so per key, in
 * order). kafkajs resolves a message's offset only after eachMessage resolves, and autoCommit
 * commits only resolved offsets: a message whose handler rejects is fetched again, and one that
 * succeeded may be delivered again after a crash before the commit (the IdempotentConsumer's
 * inbox makes that harmless).
 */
export class KafkaConsumerRunner {
  private readonly consumer: Consumer;
  private started = false;
  private stopped: { error: Error } | undefined;

  constructor(private readonly options: KafkaConsumerRunnerOptions) {
    if (options.topics.length === 0) throw new Error('a consumer needs at least one topic');
    // kafkajs' consumers auto-create by default: subscribing before the deployment created a topic
    // would make it with the broker's default of one partition. Topics are the deployment's job.
    this.consumer = options.kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.stopped = { error: payload.error };
      this.options.onCrash?.({ error: payload.error, restart: payload.restart });
    });
  }

  /** The error that stopped consumption for good (a crash kafkajs does not restart); undefined while consuming. */
  get crashed(): Error | undefined {
    return this.stopped?.error;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning ?? true });
    await this.consumer.run({
      autoCommit: true,
      partitionsConsumedConcurrently: 1,
      eachMessage: async (payload) => {
        const { topic, partition, message } = payload;
        await this.options.handler.handle(
          { topic, partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers },
          // A handler waiting out a database outage keeps the group membership meanwhile.
          { heartbeat: () => payload.heartbeat() },
        );
      },
    });
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    // disconnect() stops fetching, waits for the message in hand and commits resolved offsets.
    await this.consumer.disconnect();
  }
}
