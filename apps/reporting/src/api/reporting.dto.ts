import { z } from 'zod';
import { ClinicalDate } from '@app/contracts';
import type { ReportQuery } from '../domain/history-snapshot';

const GROUP_FIELDS = ['arm', 'diabetes', 'presentation', 'segment', 'site'] as const;

/** The report's query parameters (api.md "Endpoint report"); `trialctl replay` parses its flags with the same schema. */
export const ReportParams = z
  .object({
    asOf: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 instant' }).optional(),
    asOfPosition: z.coerce.number().int().min(0).optional(),
    cutoff: ClinicalDate.optional(),
    basis: z.enum(['adjudicated', 'site-reported']).default('adjudicated'),
    groupBy: z
      .string()
      .optional()
      .transform((value) => (value ? value.split(',').map((v) => v.trim()) : []))
      .pipe(z.array(z.enum(GROUP_FIELDS)).refine((list) => new Set(list).size === list.length, 'fields must be distinct')),
  })
  .strict()
  .refine((q) => q.asOf === undefined || q.asOfPosition === undefined, { path: ['asOf'], message: 'give asOf or asOfPosition, not both' });

/** Validated parameters as a report query: instants normalised to UTC milliseconds, like stored times. */
export function toReportQuery(params: z.infer<typeof ReportParams>): ReportQuery {
  return {
    ...(params.asOf !== undefined ? { asOf: new Date(params.asOf).toISOString() } : {}),
    ...(params.asOfPosition !== undefined ? { asOfPosition: params.asOfPosition } : {}),
    ...(params.cutoff !== undefined ? { cutoff: params.cutoff } : {}),
    basis: params.basis,
    groupBy: params.groupBy,
  };
}
