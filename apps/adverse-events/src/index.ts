export { AdverseEventsModule } from './adverse-events.module';
