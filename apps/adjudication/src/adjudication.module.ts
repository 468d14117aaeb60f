import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DEFAULT_SIGNATURE_MAX_AGE_SECONDS, SIGNATURE_MAX_AGE } from '@app/auth';
import { EnrollmentFactsModule, type PlatformConfig } from '@app/runtime';
import { AdjudicationController } from './api/adjudication.controller';
import { adjudicationHandlers } from './application/adjudication.commands';
import { CaseOpener } from './infrastructure/case-opener';
import { CaseQueries, CasesProjection } from './read-models/cases';

/** CEC cases: assignment, blinded reviews, chair rulings, queries, reopening, e-signatures. */
@Module({
  // Assignments check the trial's committee and the reviewers' site affiliations: enrollment's published facts.
  imports: [EnrollmentFactsModule],
  controllers: [AdjudicationController],
  providers: [
    CaseOpener,
    CasesProjection,
    CaseQueries,
    ...adjudicationHandlers,
    {
      // Read when the module is built at boot (the configuration validated it), never at load.
      provide: SIGNATURE_MAX_AGE,
      inject: [ConfigService],
      useFactory: (config: ConfigService<Pick<PlatformConfig, 'SIGNATURE_MAX_AGE'>, true>) =>
        config.get('SIGNATURE_MAX_AGE', { infer: true }) ?? DEFAULT_SIGNATURE_MAX_AGE_SECONDS,
    },
  ],
  // The standalone service feeds the opener from Kafka when configured (KafkaCaseFeed).
  exports: [CaseOpener],
})
export class AdjudicationModule {}
