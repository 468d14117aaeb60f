import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AdverseEventsController } from './api/adverse-events.controller';
import { adverseEventHandlers } from './application/adverse-events.handlers';

/** Site-reported adverse events (amputation, TVR, death, other), corrections, retractions. */
@Module({
  imports: [CqrsModule],
  controllers: [AdverseEventsController],
  providers: [...adverseEventHandlers],
})
export class AdverseEventsModule {}
