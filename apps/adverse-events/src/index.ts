export { AdverseEventsModule } from './adverse-events.module';
export { GetAdverseEvent } from './application/adverse-events.handlers';
export type { AdverseEventState } from './domain/adverse-event.decider';
