import { once } from 'node:events';
import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { Roles } from '@app/auth';
import { EVENT_STORE, type EventStore } from '@app/event-store';
import { IdParamPipe, ReadOperation, ValidQuery } from '@app/http';
import { ManifestBuilder, eventLine } from './export-format';
import { reviewTrialLog, type AuditReview } from './review';
import { auditPage, readTrialLog, type AuditFilter, type AuditPage } from './trial-log';

const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 instant' });

const AuditParams = z
  .object({
    streamId: z
      .string()
      .min(1)
      .max(300)
      .optional()
      .meta({ description: 'Only the events of this stream, e.g. `patient-PAD-DCB-01-P001`.' }),
    actor: z.string().min(1).max(200).optional().meta({ description: 'Only the events written by this user id.' }),
    type: z.string().min(1).max(200).optional().meta({ description: 'Only events of this type, e.g. `AdverseEventCorrected`.' }),
    from: Instant.optional().meta({ description: 'Only events recorded at or after this instant.', example: '2026-01-01T00:00:00Z' }),
    to: Instant.optional().meta({ description: 'Only events recorded at or before this instant.', example: '2026-12-31T23:59:59Z' }),
    // A checkpoint of the store: "transaction:position" on PostgreSQL, "commit/prepare" on KurrentDB.
    after: z
      .string()
      .regex(/^\d+[:/]\d+$/, 'must be a cursor returned as `next`')
      .optional()
      .meta({ description: 'The `next` cursor of the previous page.' }),
    limit: z.coerce.number().int().min(1).max(1000).default(100).meta({ description: 'Events per page.' }),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || Date.parse(q.from) <= Date.parse(q.to), {
    path: ['to'],
    message: 'must not be before from',
  });

const EXPORT_PAGE = 500;

/** The audit trail (21 CFR 11.10(e), ICH E6(R3) 4.2.2): who, what, when, why, previous value; and the signed-off export. */
const ReviewParams = z
  .object({
    startHour: z.coerce.number().int().min(0).max(23).default(8).meta({ description: 'Start of working hours (UTC hour).' }),
    endHour: z.coerce.number().int().min(1).max(24).default(18).meta({ description: 'End of working hours (UTC hour), after startHour.' }),
    lateDays: z.coerce
      .number()
      .int()
      .min(0)
      .max(3650)
      .default(30)
      .meta({ description: 'An adverse event recorded more than this many days after its onset is listed as late.' }),
  })
  .strict()
  .refine((q) => q.startHour < q.endHour, { path: ['endHour'], message: 'endHour must follow startHour' });

@ApiTags('audit')
@ApiBearerAuth()
@Controller('trials/:t/audit')
export class AuditController {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @ReadOperation({
    summary: 'Audit trail',
    description:
      "The trial's events, oldest first, each with who (user id, printed name, roles), what, when, why and the values a correction replaced " +
      '(21 CFR 11.10(e)); filtered by stream, actor, type and time, a page at a time (`next` is the cursor of the following page).',
    response: 'A page of audit entries and the `next` cursor, if more follow.',
  })
  @Get()
  @Roles('auditor', 'trial-admin')
  async trail(@Param('t', IdParamPipe) t: string, @ValidQuery(AuditParams) q: z.output<typeof AuditParams>): Promise<AuditPage> {
    const filter: AuditFilter = {
      ...(q.streamId !== undefined ? { streamId: q.streamId } : {}),
      ...(q.actor !== undefined ? { actor: q.actor } : {}),
      ...(q.type !== undefined ? { type: q.type } : {}),
      ...(q.from !== undefined ? { from: Date.parse(q.from) } : {}),
      ...(q.to !== undefined ? { to: Date.parse(q.to) } : {}),
    };
    return auditPage(this.store, t, filter, { limit: q.limit, ...(q.after !== undefined ? { after: q.after } : {}) });
  }

  /**
   * Review helpers a monitor expects (ICH E6(R3) 4.2.3): changes made out of working hours (UTC),
   * corrections per site, adverse events recorded long after their onset.
   */
  @ReadOperation({
    summary: 'Audit review helpers',
    description:
      'What a monitor looks for (ICH E6(R3)): changes made out of working hours (UTC), corrections per site, adverse events recorded long after their onset.',
    response: 'Out-of-hours changes, corrections per site and late adverse events.',
  })
  @Get('review')
  @Roles('auditor', 'trial-admin')
  async review(@Param('t', IdParamPipe) t: string, @ValidQuery(ReviewParams) params: z.output<typeof ReviewParams>): Promise<AuditReview> {
    const events = [];
    for await (const page of readTrialLog(this.store, t)) events.push(...page);
    return reviewTrialLog(events, params);
  }

  /** The whole trial log as NDJSON, one event per line, closed by a manifest with the running root hash. */
  @ReadOperation({
    summary: 'Audit export',
    description:
      'The whole trial log as NDJSON, one event per line with its hash in a per-stream chain, closed by a manifest line with the running root hash. ' +
      '`trialctl verify` checks an export offline; a file without the manifest line is incomplete.',
    response: 'NDJSON: one event per line, then the manifest.',
    content: { 'application/x-ndjson': { schema: { type: 'string' } } },
    defaultProblems: [400, 401, 403, 404],
  })
  @Get('export')
  @Roles('auditor')
  async export(@Param('t', IdParamPipe) t: string, @Res() res: Response): Promise<void> {
    const manifest = new ManifestBuilder(t);
    res.status(200);
    res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="${t}-audit.ndjson"`);
    res.setHeader('Cache-Control', 'no-store');
    try {
      for await (const page of readTrialLog(this.store, t, { pageSize: EXPORT_PAGE })) {
        let chunk = '';
        for (const event of page) {
          manifest.add(event);
          chunk += `${eventLine(event)}\n`;
        }
        if (!res.write(chunk)) await once(res, 'drain');
        if (res.destroyed) return;
      }
      res.end(`${JSON.stringify(manifest.build())}\n`);
    } catch (error) {
      // Headers are gone: a half-written export must not look complete (it has no manifest).
      if (!res.headersSent) throw error;
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
