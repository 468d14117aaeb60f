import { bootstrapService } from '../../platform/src/service';
import { GetPatientHandler } from '../../enrollment/src/application/enrollment.handlers';
import { ProceduresModule } from './procedures.module';

// A procedure is recorded only for an enrolled patient in the sender's sites: enrollment's read side.
void bootstrapService({ name: 'procedures', defaultPort: 3002, imports: [ProceduresModule], providers: [GetPatientHandler] });
