export { AdjudicationModule } from './adjudication.module';
export { AdjudicationReadModel1764000000300 } from './infrastructure/migrations/1764000000300-adjudication-read-model';
