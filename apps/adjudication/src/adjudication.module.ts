import { Module } from '@nestjs/common';
import { EnrollmentFactsModule } from '@app/runtime';
import { AdjudicationController } from './api/adjudication.controller';
import { adjudicationHandlers } from './application/adjudication.commands';
import { CaseOpener } from './infrastructure/case-opener';
import { CaseQueries, CasesProjection } from './read-models/cases';

/** CEC cases: assignment, blinded reviews, chair rulings, queries, reopening, e-signatures. */
@Module({
  // Assignments check the trial's committee and the reviewers' site affiliations: enrollment's published facts.
  imports: [EnrollmentFactsModule],
  controllers: [AdjudicationController],
  providers: [CaseOpener, CasesProjection, CaseQueries, ...adjudicationHandlers],
  // The standalone service feeds the opener from Kafka when configured (KafkaCaseFeed).
  exports: [CaseOpener],
})
export class AdjudicationModule {}
