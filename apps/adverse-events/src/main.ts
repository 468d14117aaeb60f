import { bootstrapService } from '../../platform/src/service';
import { GetPatientHandler } from '../../enrollment/src/application/enrollment.handlers';
import { AdverseEventsModule } from './adverse-events.module';

// An event is reported only for an enrolled patient in the sender's sites: enrollment's read side.
void bootstrapService({ name: 'adverse-events', defaultPort: 3003, imports: [AdverseEventsModule], providers: [GetPatientHandler] });
