import { bootstrap, migrationsWith } from '@app/runtime';
import { AdjudicationModule, adjudicationMigrations } from './index';
import { KafkaCaseFeedModule, caseFeedTransport } from './infrastructure/kafka-case-feed';

// With KAFKA_BROKERS, reported adverse events reach the case opener over Kafka: its
// @EventPattern handler (KafkaCaseFeed) through the integration-event transport.
void bootstrap({
  name: 'adjudication',
  defaultPort: 3004,
  deployment: 'service',
  contexts: [AdjudicationModule, KafkaCaseFeedModule],
  migrations: migrationsWith(adjudicationMigrations),
  microservices: (transports) => [caseFeedTransport(transports)],
});
