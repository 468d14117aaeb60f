import { once } from 'node:events';
import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { Roles } from '@app/auth';
import { EVENT_STORE, type EventStore } from '@app/event-store';
import { IdParamPipe, ProblemException, fieldErrors } from '@app/http';
import { ManifestBuilder, eventLine } from './export-format';
import { reviewTrialLog, type AuditReview } from './review';
import { auditPage, readTrialLog, type AuditFilter, type AuditPage } from './trial-log';

const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 instant' });

const AuditParams = z
  .object({
    streamId: z.string().min(1).max(300).optional(),
    actor: z.string().min(1).max(200).optional(),
    type: z.string().min(1).max(200).optional(),
    from: Instant.optional(),
    to: Instant.optional(),
    // A checkpoint of the store: "transaction:position" on PostgreSQL, "commit/prepare" on KurrentDB.
    after: z
      .string()
      .regex(/^\d+[:/]\d+$/, 'must be a cursor returned as `next`')
      .optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
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
    startHour: z.coerce.number().int().min(0).max(23).default(8),
    endHour: z.coerce.number().int().min(1).max(24).default(18),
    lateDays: z.coerce.number().int().min(0).max(3650).default(30),
  })
  .strict()
  .refine((q) => q.startHour < q.endHour, { path: ['endHour'], message: 'endHour must follow startHour' });

@ApiTags('audit')
@ApiBearerAuth()
@Controller('trials/:t/audit')
export class AuditController {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @Get()
  @Roles('auditor', 'trial-admin')
  async trail(@Param('t', IdParamPipe) t: string, @Query() raw: Record<string, string>): Promise<AuditPage> {
    const parsed = AuditParams.safeParse(raw);
    if (!parsed.success)
      throw new ProblemException(400, 'VALIDATION_FAILED', 'invalid query parameters', { errors: fieldErrors(parsed.error, 'query') });
    const q = parsed.data;
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
  @Get('review')
  @Roles('auditor', 'trial-admin')
  async review(@Param('t', IdParamPipe) t: string, @Query() raw: Record<string, string>): Promise<AuditReview> {
    const parsed = ReviewParams.safeParse(raw);
    if (!parsed.success)
      throw new ProblemException(400, 'VALIDATION_FAILED', 'invalid query parameters', { errors: fieldErrors(parsed.error, 'query') });
    const events = [];
    for await (const page of readTrialLog(this.store, t)) events.push(...page);
    return reviewTrialLog(events, parsed.data);
  }

  /** The whole trial log as NDJSON, one event per line, closed by a manifest with the running root hash. */
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
