import type { DynamicModule, Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { MessagingModule, MessagingRelay, parseBrokers } from '@app/messaging';
import { OUTBOX_BACKLOG } from '@app/observability';

/**
 * Integration events to Kafka when KAFKA_BROKERS is set: the outbox relay (one active per
 * database, whichever process holds its lock) and the outbox backlog for /metrics.
 */
export function messagingImports(clientId: string): { imports: DynamicModule[]; providers: Provider[] } {
  return {
    imports: [
      MessagingModule.forRootAsync({
        inject: [ConfigService],
        useFactory: (config: ConfigService) => ({ kafkaBrokers: parseBrokers(config.get<string>('KAFKA_BROKERS')), clientId }),
      }),
    ],
    providers: [{ provide: OUTBOX_BACKLOG, useExisting: MessagingRelay }],
  };
}
