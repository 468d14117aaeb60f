import type { DynamicModule, Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { MessagingModule, MessagingRelay, parseBrokers, parseTopicCreation } from '@app/messaging';
import { OUTBOX_BACKLOG } from '@app/observability';

/**
 * Integration events to Kafka when KAFKA_BROKERS is set: the relay (one active per database,
 * whichever process holds its lock) of the outbox, or of the log itself when the log is on
 * KurrentDB, and its backlog for /metrics. KAFKA_CREATE_TOPICS (`<partitions>[:<replicas>]`) has
 * the relay create missing topics at start-up, for deployments without a topic step of their own.
 */
export function messagingImports(clientId: string): { imports: DynamicModule[]; providers: Provider[] } {
  return {
    imports: [
      MessagingModule.forRootAsync({
        inject: [ConfigService],
        useFactory: (config: ConfigService) => {
          const createTopics = parseTopicCreation(config.get<string>('KAFKA_CREATE_TOPICS'));
          return {
            kafkaBrokers: parseBrokers(config.get<string>('KAFKA_BROKERS')),
            clientId,
            ...(createTopics ? { createTopics } : {}),
          };
        },
      }),
    ],
    providers: [{ provide: OUTBOX_BACKLOG, useExisting: MessagingRelay }],
  };
}
