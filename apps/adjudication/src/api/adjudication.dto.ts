import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import {
  AnswerQueryBody,
  AssignReviewersBody,
  Id,
  RaiseQueryBody,
  ReopenCaseBody,
  ResolveCaseBody,
  SubmitReviewBody,
} from '@app/contracts';

/** An adjudicated outcome the examples share: the major amputation the site reported. */
const MAJOR_AMPUTATION = {
  isEndpointEvent: true,
  kind: 'amputation',
  onsetOn: '2026-04-02',
  limb: 'index',
  amputation: { level: 'major', planned: false },
} as const;

// Each example is a body the API accepts, on the ids of the path parameters' examples (test/openapi.e2e.spec.ts sends them).
export class AssignReviewersDto extends createZodDto(AssignReviewersBody.meta({ example: { reviewerIds: ['rev-1', 'rev-2'] } })) {}
export class SubmitReviewDto extends createZodDto(
  SubmitReviewBody.meta({
    example: {
      outcome: MAJOR_AMPUTATION,
      rationale: 'The operative note describes an above-knee amputation of the index limb, unplanned, after acute ischaemia.',
      signature: { meaning: 'review' },
    },
  }),
) {}
export class ResolveCaseDto extends createZodDto(
  ResolveCaseBody.meta({
    example: {
      outcome: MAJOR_AMPUTATION,
      rationale: 'The discharge letter confirms an above-knee amputation; the second review missed the operative note.',
      signature: { meaning: 'approval' },
    },
  }),
) {}
export class ReopenCaseDto extends createZodDto(
  ReopenCaseBody.meta({ example: { reason: 'A later operative note changes the amputation level.' } }),
) {}
export class RaiseQueryDto extends createZodDto(
  RaiseQueryBody.meta({ example: { queryId: 'Q001', question: 'Please provide the operative note of the amputation.' } }),
) {}
export class AnswerQueryDto extends createZodDto(
  AnswerQueryBody.meta({ example: { answer: 'The operative note is attached to the adverse event as OP-0402.' } }),
) {}

/** The case listing's query parameters. */
export const CaseFilterQuery = z
  .object({
    status: z
      .enum(['awaiting-assignment', 'in-review', 'awaiting-resolution', 'finalized', 'cancelled'])
      .optional()
      .meta({ description: 'Only cases in this state.' }),
    eventId: Id.optional().meta({ description: 'Only the case of this adverse event.', example: 'AE001' }),
  })
  .strict();

/** The listing's filter as validated. */
export type CaseFilterParameters = z.output<typeof CaseFilterQuery>;
