import { bootstrapService } from '../../platform/src/service';
import { GetTrialHandler } from '../../enrollment/src/application/enrollment.handlers';
import { AdjudicationModule } from './adjudication.module';

// Assignments check the trial's committee and the reviewers' site affiliations: enrollment's read side.
void bootstrapService({ name: 'adjudication', defaultPort: 3004, imports: [AdjudicationModule], providers: [GetTrialHandler] });
