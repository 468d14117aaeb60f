import type { DynamicModule, Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { MessagingModule, MessagingRelay } from '@app/messaging';
import { OUTBOX_BACKLOG } from '@app/observability';

/** KAFKA_BROKERS as a list; empty when unset. */
export function kafkaBrokers(config: ConfigService): string[] {
  return (config.get<string>('KAFKA_BROKERS') ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
}

/**
 * Integration events to Kafka when KAFKA_BROKERS is set: the outbox relay (one active per
 * database, whichever process holds its lock) and the outbox backlog for /metrics.
 */
export function messagingImports(clientId: string): { imports: DynamicModule[]; providers: Provider[] } {
  return {
    imports: [MessagingModule.forRootAsync({ inject: [ConfigService], useFactory: (config: ConfigService) => ({ kafkaBrokers: kafkaBrokers(config), clientId }) })],
    providers: [{ provide: OUTBOX_BACKLOG, useExisting: MessagingRelay }],
  };
}
