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
import { ProblemException, fieldErrors } from '@app/http';
import type { CaseFilter } from '../read-models/cases';

export class AssignReviewersDto extends createZodDto(AssignReviewersBody) {}
export class SubmitReviewDto extends createZodDto(SubmitReviewBody) {}
export class ResolveCaseDto extends createZodDto(ResolveCaseBody) {}
export class ReopenCaseDto extends createZodDto(ReopenCaseBody) {}
export class RaiseQueryDto extends createZodDto(RaiseQueryBody) {}
export class AnswerQueryDto extends createZodDto(AnswerQueryBody) {}

const CaseFilterQuery = z
  .object({
    status: z.enum(['awaiting-assignment', 'in-review', 'awaiting-resolution', 'finalized', 'cancelled']).optional(),
    eventId: Id.optional(),
  })
  .strict();

/** The listing's query string, or 400 naming each offending parameter. */
export function caseFilter(query: Record<string, string>): CaseFilter {
  const parsed = CaseFilterQuery.safeParse(query);
  if (!parsed.success)
    throw new ProblemException(400, 'VALIDATION_FAILED', 'invalid query parameters', { errors: fieldErrors(parsed.error, 'query') });
  return parsed.data;
}
