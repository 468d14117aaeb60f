export { MetricsModule } from './metrics.module';
export { TrialsMetrics } from './trials-metrics';
export type { ScrapeSources } from './trials-metrics';
export { OUTBOX_BACKLOG } from './outbox-backlog';
export type { OutboxBacklog } from './outbox-backlog';
export { commandOutcome, instrumentCommandBus, instrumentEventStore } from './instrument';
export { streamCategory } from './stream-category';
