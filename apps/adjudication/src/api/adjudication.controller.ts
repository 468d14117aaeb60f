import { Body, Controller, Get, Inject, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { CurrentPrincipal, Roles, type Principal } from '@app/auth';
import {
  AnswerQueryBody,
  AssignReviewersBody,
  DomainError,
  Id,
  RaiseQueryBody,
  ReopenCaseBody,
  ResolveCaseBody,
  SubmitReviewBody,
  caseStream,
  type CaseEvent,
  type Outcome,
} from '@app/contracts';
import { CLOCK, DATA_SOURCE, EVENT_STORE, type Clock, type EventStore } from '@app/event-store';
import { Ctx, IdParamPipe, ProblemException, fieldErrors, type CommandContext } from '@app/http';
import type { CommandResult } from '../../../enrollment/src';
import { AnswerQuery, AssignReviewers, RaiseQuery, ReopenCase, ResolveCase, SubmitReview } from '../application/adjudication.handlers';
import { caseDecider } from '../application/case-decider';
import { caseView } from '../application/case-views';
import type { OpenCase } from '../domain/case.decider';
import { ageBucket, median, reviewerAgreement } from '../domain/metrics';
import { CaseOpener } from '../infrastructure/case-opener';
import { CasesProjection } from '../infrastructure/cases-projection';

export class AssignReviewersDto extends createZodDto(AssignReviewersBody) {}
export class SubmitReviewDto extends createZodDto(SubmitReviewBody) {}
export class ResolveCaseDto extends createZodDto(ResolveCaseBody) {}
export class ReopenCaseDto extends createZodDto(ReopenCaseBody) {}
export class RaiseQueryDto extends createZodDto(RaiseQueryBody) {}
export class AnswerQueryDto extends createZodDto(AnswerQueryBody) {}

const CaseFilter = z
  .object({
    status: z.enum(['awaiting-assignment', 'in-review', 'awaiting-resolution', 'finalized', 'cancelled']).optional(),
    eventId: Id.optional(),
  })
  .strict();

interface CaseRow {
  case_id: string;
  event_id: string;
  patient_id: string;
  site_id: string;
  status: string;
  round: number;
  reviewer_ids: string[];
  reviewed_by: string[];
  open_queries: number;
  reported_at: Date | string;
  state: OpenCase;
}

const DAY = 86_400_000;

@ApiTags('adjudication')
@ApiBearerAuth()
@Controller('trials/:t/adjudication')
export class AdjudicationController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly opener: CaseOpener,
    private readonly projection: CasesProjection,
  ) {}

  @Post('cases/:c/assignment')
  @Roles('cec-chair')
  assign(@Param('t', IdParamPipe) t: string, @Param('c', IdParamPipe) c: string, @Body() body: AssignReviewersDto, @Ctx() ctx: CommandContext): Promise<CommandResult> {
    return this.commands.execute(new AssignReviewers(t, c, body, ctx));
  }

  @Post('cases/:c/reviews')
  @Roles('cec-reviewer')
  review(@Param('t', IdParamPipe) t: string, @Param('c', IdParamPipe) c: string, @Body() body: SubmitReviewDto, @Ctx() ctx: CommandContext): Promise<CommandResult> {
    return this.commands.execute(new SubmitReview(t, c, body, ctx));
  }

  @Post('cases/:c/resolution')
  @Roles('cec-chair')
  resolve(@Param('t', IdParamPipe) t: string, @Param('c', IdParamPipe) c: string, @Body() body: ResolveCaseDto, @Ctx() ctx: CommandContext): Promise<CommandResult> {
    return this.commands.execute(new ResolveCase(t, c, body, ctx));
  }

  @Post('cases/:c/reopening')
  @Roles('cec-chair')
  reopen(@Param('t', IdParamPipe) t: string, @Param('c', IdParamPipe) c: string, @Body() body: ReopenCaseDto, @Ctx() ctx: CommandContext): Promise<CommandResult> {
    return this.commands.execute(new ReopenCase(t, c, body, ctx));
  }

  @Post('cases/:c/queries')
  @Roles('cec-chair', 'cec-reviewer')
  query(@Param('t', IdParamPipe) t: string, @Param('c', IdParamPipe) c: string, @Body() body: RaiseQueryDto, @Ctx() ctx: CommandContext): Promise<CommandResult> {
    return this.commands.execute(new RaiseQuery(t, c, body, ctx));
  }

  @Post('cases/:c/queries/:q/answer')
  @Roles('site-investigator')
  answer(
    @Param('t', IdParamPipe) t: string,
    @Param('c', IdParamPipe) c: string,
    @Param('q', IdParamPipe) q: string,
    @Body() body: AnswerQueryDto,
    @Ctx() ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.commands.execute(new AnswerQuery(t, c, q, body, ctx));
  }

  /** Cases of the trial (blinded); a reviewer lists only cases assigned to them. */
  @Get('cases')
  @Roles('cec-reviewer', 'cec-chair', 'auditor')
  async cases(@Param('t', IdParamPipe) t: string, @Query() query: Record<string, string>, @CurrentPrincipal() principal: Principal) {
    const parsed = CaseFilter.safeParse(query);
    if (!parsed.success) throw new ProblemException(400, 'VALIDATION_FAILED', 'invalid query parameters', { errors: fieldErrors(parsed.error, 'query') });
    const rows = await this.rows(t);
    const onlyAssigned = !principal.roles.includes('cec-chair') && !principal.roles.includes('auditor');
    return rows
      .filter((r) => (!parsed.data.status || r.status === parsed.data.status) && (!parsed.data.eventId || r.event_id === parsed.data.eventId))
      .filter((r) => !onlyAssigned || r.reviewer_ids.includes(principal.userId))
      .map((r) => this.summary(r));
  }

  @Get('cases/:c')
  @Roles('cec-reviewer', 'cec-chair', 'auditor')
  async case(@Param('t', IdParamPipe) t: string, @Param('c', IdParamPipe) c: string, @CurrentPrincipal() principal: Principal) {
    await this.opener.subscription.catchUpToNow();
    const { events } = await this.store.readStream(caseStream(t, c));
    const folded = events.map((e) => ({ type: e.type, data: e.data }) as CaseEvent).reduce(caseDecider.evolve, caseDecider.initialState());
    if (folded.status === 'absent') throw new DomainError('CASE_NOT_FOUND', `no case ${c} in trial ${t}`, 'not_found');
    const privileged = principal.roles.includes('cec-chair') || principal.roles.includes('auditor');
    if (!privileged && !folded.reviewerIds.includes(principal.userId)) throw new DomainError('NOT_ASSIGNED', `${principal.userId} is not assigned to this case`, 'forbidden');
    return caseView(folded, events, principal);
  }

  /** Own open work: reviews to submit; for the chair, cases to assign or resolve. */
  @Get('worklist')
  @Roles('cec-reviewer', 'cec-chair')
  async worklist(@Param('t', IdParamPipe) t: string, @CurrentPrincipal() principal: Principal) {
    const rows = await this.rows(t);
    const items = [];
    for (const r of rows) {
      if (principal.roles.includes('cec-reviewer') && r.status === 'in-review' && r.reviewer_ids.includes(principal.userId) && !r.reviewed_by.includes(principal.userId)) {
        items.push({ ...this.summary(r, false), action: 'review' });
      }
      if (principal.roles.includes('cec-chair') && r.status === 'awaiting-assignment') items.push({ ...this.summary(r), action: 'assign' });
      if (principal.roles.includes('cec-chair') && r.status === 'awaiting-resolution') items.push({ ...this.summary(r), action: r.open_queries > 0 ? 'await-query-answer' : 'resolve' });
    }
    return items;
  }

  /** Committee metrics: open cases by age, days from report to final decision, reviewer agreement. */
  @Get('metrics')
  @Roles('cec-chair', 'auditor', 'trial-admin')
  async metrics(@Param('t', IdParamPipe) t: string) {
    const rows = await this.rows(t);
    const now = this.clock.now().getTime();
    const openCasesByAge: Record<string, number> = { '0-7': 0, '8-30': 0, '31-90': 0, '>90': 0 };
    for (const r of rows.filter((row) => row.status !== 'finalized' && row.status !== 'cancelled')) {
      const bucket = ageBucket(Math.floor((now - new Date(r.reported_at).getTime()) / DAY));
      openCasesByAge[bucket] = (openCasesByAge[bucket] ?? 0) + 1;
    }
    const decisions: Array<{ case_id: string; days: string | number }> = await this.dataSource.query(
      `SELECT DISTINCT ON (case_id) case_id, EXTRACT(EPOCH FROM (finalized_at - reported_at)) / 86400 AS days
         FROM adj_decisions WHERE trial_id = $1 ORDER BY case_id, round`,
      [t],
    );
    const reviews: Array<{ case_id: string; round: number; reviewer_id: string; outcome: Outcome }> = await this.dataSource.query(
      'SELECT case_id, round, reviewer_id, outcome FROM adj_reviews WHERE trial_id = $1 ORDER BY case_id, round, reviewer_id',
      [t],
    );
    const byRound = new Map<string, Outcome[]>();
    for (const r of reviews) byRound.set(`${r.case_id}#${r.round}`, [...(byRound.get(`${r.case_id}#${r.round}`) ?? []), r.outcome]);
    const pairs = [...byRound.values()].filter((o) => o.length === 2).map(([first, second]) => ({ first: first as Outcome, second: second as Outcome }));
    const days = median(decisions.map((d) => Number(d.days)));
    return {
      openCases: Object.values(openCasesByAge).reduce((a, b) => a + b, 0),
      openCasesByAge,
      finalizedCases: decisions.length,
      medianDaysToFinalDecision: days === null ? null : Math.round(days * 100) / 100,
      reviewerAgreement: reviewerAgreement(pairs),
    };
  }

  /** Listing reads the projection after catching it up, so a command's effect is visible at once. */
  private async rows(trialId: string): Promise<CaseRow[]> {
    await this.opener.subscription.catchUpToNow();
    await this.projection.subscription.catchUpToNow();
    return this.dataSource.query('SELECT * FROM adj_cases WHERE trial_id = $1 ORDER BY reported_at, case_id', [trialId]);
  }

  private summary(r: CaseRow, withReviewers = true) {
    return {
      caseId: r.case_id,
      eventId: r.event_id,
      patientId: r.patient_id,
      siteId: r.site_id,
      status: r.status,
      round: r.round,
      kind: r.state.report.kind,
      reportedAt: new Date(r.reported_at).toISOString(),
      ...(withReviewers ? { reviewerIds: r.reviewer_ids, reviewsSubmitted: r.reviewed_by.length } : {}),
      openQueries: r.open_queries,
    };
  }
}
