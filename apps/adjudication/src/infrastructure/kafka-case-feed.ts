import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { DataSource } from 'typeorm';
import { DATA_SOURCE } from '@app/event-store';
import {
  IdempotentConsumer,
  KafkaConsumerRunner,
  KafkaPublisher,
  TOPICS,
  createKafka,
  parseBrokers,
  type IntegrationEventV1,
  type MessagePublisher,
} from '@app/messaging';
import { CaseOpener } from './case-opener';

/** Consumer group and inbox name of the case opener on Kafka. */
export const CASE_FEED_CONSUMER = 'adjudication.case-opener';

/**
 * The distributed deployment's feed of the case opener: adverse events arrive as integration
 * events on `trials.adverse-events.v1` (published by whichever service's outbox relay is active)
 * instead of from a subscription to the shared log. Only when KAFKA_BROKERS is set; the
 * single-process platform keeps its in-process subscription.
 */
@Injectable()
export class KafkaCaseFeed implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(KafkaCaseFeed.name);
  private runner: KafkaConsumerRunner | undefined;
  private publisher: KafkaPublisher | undefined;
  private readonly brokers: string[];

  constructor(
    private readonly opener: CaseOpener,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    config: ConfigService,
  ) {
    this.brokers = parseBrokers(config.get<string>('KAFKA_BROKERS'));
  }

  /** Before any bootstrap hook: the opener must not also start its log subscription. */
  onModuleInit(): void {
    if (this.brokers.length > 0) this.opener.fedExternally = true;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.brokers.length === 0) return;
    const kafka = createKafka({ brokers: this.brokers, clientId: 'trials-adjudication' });
    this.publisher = new KafkaPublisher(kafka);
    this.runner = new KafkaConsumerRunner({
      kafka,
      groupId: CASE_FEED_CONSUMER,
      topics: [TOPICS.adverseEvents],
      handler: this.consumer(this.publisher),
      fromBeginning: true,
    });
    await this.runner.start();
    this.logger.log(`opening cases from ${TOPICS.adverseEvents} at ${this.brokers.join(',')}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner?.stop();
    await this.publisher?.close();
  }

  /**
   * Each message once in effect: the inbox row commits with the consumer's transaction, and the
   * case commands are idempotent by source version should a message be handled again.
   */
  consumer(deadLetters: MessagePublisher): IdempotentConsumer {
    return new IdempotentConsumer({
      name: CASE_FEED_CONSUMER,
      dataSource: this.dataSource,
      deadLetters,
      handler: (event: IntegrationEventV1) =>
        this.opener.react({
          eventId: event.messageId,
          streamId: event.streamId,
          streamVersion: event.streamVersion,
          type: event.type,
          data: event.data,
          recordedAt: event.recordedAt,
          ...(event.correlationId ? { correlationId: event.correlationId } : {}),
        }),
    });
  }
}
