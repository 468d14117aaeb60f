import { z } from 'zod';
import { ClinicalDate } from '@app/contracts';
import type { ReportQuery } from '../domain/history-snapshot';

const GROUP_FIELDS = ['arm', 'diabetes', 'presentation', 'segment', 'site'] as const;

/** The report's query parameters (api.md "Endpoint report"); `trialctl replay` parses its flags with the same schema. */
export const ReportParams = z
  .object({
    asOf: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 instant' }).optional().meta({
      description: 'Knowledge time (default now): only events recorded by then count. Give `asOf` or `asOfPosition`, not both.',
      example: '2026-06-30T12:00:00Z',
    }),
    asOfPosition: z.coerce
      .number()
      .int()
      .min(0)
      .optional()
      .meta({
        description:
          "Knowledge time as a global position, e.g. a command's `position`, to see one's own write. " +
          'A position the read model has not reached yet answers 409 `NOT_YET_KNOWN` with `Retry-After`.',
        example: 42,
      }),
    cutoff: ClinicalDate.optional().meta({
      description:
        'Clinical data cut (YYYY-MM-DD; default the UTC date of the knowledge time): events and follow-up after it do not count.',
      example: '2026-06-30',
    }),
    basis: z
      .enum(['adjudicated', 'site-reported'])
      .default('adjudicated')
      .meta({ description: 'Count events as finalized by the CEC (default) or as the sites currently report them.' }),
    groupBy: z
      .string()
      .meta({
        description:
          'Comma list of `arm`, `diabetes`, `presentation`, `segment`, `site`; none = pooled. By `arm` only for dsmb-member and auditor ' +
          '(403 `ARM_BREAKDOWN_FORBIDDEN` otherwise), and each such answer is recorded as an unblinded view.',
        example: 'diabetes',
      })
      .optional()
      .transform((value) => (value ? value.split(',').map((v) => v.trim()) : []))
      .pipe(z.array(z.enum(GROUP_FIELDS)).refine((list) => new Set(list).size === list.length, 'fields must be distinct')),
  })
  .strict()
  .refine((q) => q.asOf === undefined || q.asOfPosition === undefined, { path: ['asOf'], message: 'give asOf or asOfPosition, not both' });

/** The report's parameters as validated. */
export type ReportParameters = z.output<typeof ReportParams>;

/** Validated parameters as a report query: instants normalised to UTC milliseconds, like stored times. */
export function toReportQuery(params: ReportParameters): ReportQuery {
  return {
    ...(params.asOf !== undefined ? { asOf: new Date(params.asOf).toISOString() } : {}),
    ...(params.asOfPosition !== undefined ? { asOfPosition: params.asOfPosition } : {}),
    ...(params.cutoff !== undefined ? { cutoff: params.cutoff } : {}),
    basis: params.basis,
    groupBy: params.groupBy,
  };
}
