/**
 * The reporting context's public API: the only file outside apps/reporting may import. The module
 * and its migrations for a composition root; the pure report functions and the replay for
 * `trialctl replay` and the benchmark; the projection and query for those that drive them in tests.
 */
export { ReportingModule } from './reporting.module';
export { reportingMigrations } from './infrastructure/migrations/reporting-migrations';
export { GetReportInput, GetReportInputHandler, HistoryProjection } from './read-models/history';
export { ReportParams, toReportQuery } from './api/reporting.dto';
export { computeEndpointReport, endpointCurve } from './domain/endpoint-report';
export type { EndpointReport, GroupField, ReportBasis, ReportInput } from './domain/endpoint-report';
export { defaultCharter } from './domain/default-charter';
export type { Charter } from './domain/default-charter';
export { replayReportInput } from './domain/replay';
export type { ReplayedEvent } from './domain/replay';
export type { ReportQuery } from './domain/history-snapshot';
export { dataCutContent, parametersOf } from './domain/data-cut-content';
export type { AdtteRecord, CutLogEvent, DataCutContent, DataCutParameters } from './domain/data-cut-content';
export { renderDataCutDocuments, sha256 } from './domain/data-cut-report';
