import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AdjudicationController } from './api/adjudication.controller';
import { adjudicationHandlers } from './application/adjudication.handlers';
import { CaseOpener } from './infrastructure/case-opener';
import { CasesProjection } from './infrastructure/cases-projection';

/** CEC cases: assignment, blinded reviews, chair rulings, queries, reopening, e-signatures. */
@Module({
  imports: [CqrsModule],
  controllers: [AdjudicationController],
  providers: [CaseOpener, CasesProjection, ...adjudicationHandlers],
  // The standalone service feeds the opener from Kafka when configured (KafkaCaseFeed).
  exports: [CaseOpener],
})
export class AdjudicationModule {}
