import { bootstrapService } from '../../platform/src/service';
import { GetTrialHandler } from '../../enrollment/src/application/enrollment.handlers';
import { AdjudicationModule } from './adjudication.module';
import { KafkaCaseFeed } from './infrastructure/kafka-case-feed';

// Assignments check the trial's committee and the reviewers' site affiliations: enrollment's read side.
// With KAFKA_BROKERS, reported adverse events reach the case opener over Kafka.
void bootstrapService({ name: 'adjudication', defaultPort: 3004, imports: [AdjudicationModule], providers: [GetTrialHandler, KafkaCaseFeed] });
