import { bootstrap, migrationsWith } from '@app/runtime';
import { AdjudicationModule, KafkaCaseFeed, adjudicationMigrations } from './index';

// With KAFKA_BROKERS, reported adverse events reach the case opener over Kafka.
void bootstrap({
  name: 'adjudication',
  defaultPort: 3004,
  deployment: 'service',
  contexts: [AdjudicationModule],
  migrations: migrationsWith(adjudicationMigrations),
  providers: [KafkaCaseFeed],
});
