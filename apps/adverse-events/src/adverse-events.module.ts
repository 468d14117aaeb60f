import { Module } from '@nestjs/common';
import { EnrollmentFactsModule } from '@app/runtime';
import { AdverseEventsController } from './api/adverse-events.controller';
import { adverseEventCommandHandlers } from './application/adverse-events.commands';
import { GetAdverseEventHandler } from './read-models/adverse-event-view';

/** Site-reported adverse events (amputation, TVR, death, other), corrections, retractions. */
@Module({
  // An event is reported only for an enrolled patient in the sender's sites: enrollment's published facts.
  imports: [EnrollmentFactsModule],
  controllers: [AdverseEventsController],
  providers: [...adverseEventCommandHandlers, GetAdverseEventHandler],
})
export class AdverseEventsModule {}
