export { AdjudicationModule } from './adjudication.module';
export { KafkaCaseFeed } from './infrastructure/kafka-case-feed';
export { AdjudicationReadModel1764000000300, adjudicationMigrations } from './infrastructure/migrations';
