import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { ClinicalDate, FreezeDataCutBody } from '@app/contracts';
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

/** POST /trials/{t}/data-cuts (api.md "Data cuts"). */
export class FreezeDataCutDto extends createZodDto(
  FreezeDataCutBody.meta({
    description:
      'Freezes a data cut: the knowledge position (`asOfPosition`, default the latest delivered), the clinical cut-off and a note; ' +
      '`replaces` names the cut a corrected one replaces.',
    example: { dataCutId: 'DSMB-2026-06', cutoff: '2026-06-30', note: 'DSMB meeting 3: interim safety review' },
  }),
) {}

/** The session of a data cut's report: open (pooled) or closed (by arm, DSMB only, recorded). */
export const DataCutReportParams = z
  .object({
    session: z.enum(['open', 'closed']).meta({
      description:
        '`open`: pooled results (dsmb-member, sponsor, trial-admin). `closed`: results by arm with the log-rank test, dsmb-member only; ' +
        'every read is recorded as an unblinded view.',
      example: 'open',
    }),
  })
  .strict();
export type DataCutReportParameters = z.output<typeof DataCutReportParams>;
