export { ReportingModule } from './reporting.module';
export { ReportingHistory1764000000400 } from './infrastructure/migrations/1764000000400-reporting-history';
export { ReportingVisits1764000000500 } from './infrastructure/migrations/1764000000500-reporting-visits';
export { KnowledgePerTrial1764000000700 } from './infrastructure/migrations/1764000000700-knowledge-per-trial';
