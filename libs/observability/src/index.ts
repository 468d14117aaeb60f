export { MetricsModule } from './metrics.module';
export { TrialsMetrics } from './trials-metrics';
export type { ScrapeSources } from './trials-metrics';
export { OUTBOX_BACKLOG } from './outbox-backlog';
export type { OutboxBacklog } from './outbox-backlog';
export { MeasuredCommandBus, commandOutcome, measuredCqrsModule } from './measured-command-bus';
export { MeasuredEventStore } from './measured-event-store';
export { streamCategory } from './stream-category';
