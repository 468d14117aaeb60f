import { Inject, Injectable, Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { DomainError, byId, caseStream, parseStreamId, type CaseEvent, type Outcome } from '@app/contracts';
import {
  CLOCK,
  DATA_SOURCE,
  DurableSubscription,
  EVENT_STORE,
  SubscribedService,
  loadState,
  type Clock,
  type EventStore,
  type RecordedEvent,
} from '@app/event-store';
import { caseView, coordinatorCaseView, isCoordinatorOnly, type CaseHistoryEvent, type Viewer } from '../domain/case-view';
import { caseDecider, type CaseStatus, type CaseState, type OpenCase } from '../domain/case.decider';
import { committeeMetrics } from '../domain/metrics';
import { CaseOpener } from '../infrastructure/case-opener';

/**
 * The cases read model: adj_cases (listing, worklists) and adj_reviews / adj_decisions (committee
 * metrics), kept in step with the case streams, and the queries over them.
 */

interface CaseRow {
  case_id: string;
  event_id: string;
  patient_id: string;
  site_id: string;
  status: CaseStatus;
  round: number;
  reviewer_ids: string[];
  reviewed_by: string[];
  open_queries: number;
  reported_at: Date | string;
  state: OpenCase;
}

interface ReviewRow {
  case_id: string;
  round: number;
  reviewer_id: string;
  outcome: Outcome;
}

interface DecisionRow {
  case_id: string;
  reported_at: Date | string;
  finalized_at: Date | string;
}

export interface CaseFilter {
  status?: CaseStatus;
  eventId?: string;
}

const iso = (value: Date | string) => new Date(value).toISOString();

/** Rows and checkpoint commit together, so every case event counts exactly once. */
@Injectable()
export class CasesProjection extends SubscribedService {
  private readonly logger = new Logger(CasesProjection.name);
  readonly subscription: DurableSubscription;

  constructor(@Inject(EVENT_STORE) store: EventStore, @Inject(DATA_SOURCE) dataSource: DataSource) {
    super();
    this.subscription = new DurableSubscription({
      name: 'adjudication.cases',
      store,
      dataSource,
      pollIntervalMs: 100,
      // Only case streams: a batch of reports, visits and procedures moves the checkpoint alone.
      relevant: (event) => parseStreamId(event.streamId)?.family === 'case',
      handler: (events, manager) => this.project(events, manager),
      onError: (error) => this.logger.error(error),
    });
  }

  private async project(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    for (const recorded of events) {
      const stream = parseStreamId(recorded.streamId);
      if (stream?.family !== 'case') continue;
      const { trialId, entityId: caseId } = stream;
      const event = { type: recorded.type, data: recorded.data } as CaseEvent;
      const [row]: Array<{ state: CaseState }> = await manager.query('SELECT state FROM adj_cases WHERE trial_id = $1 AND case_id = $2', [
        trialId,
        caseId,
      ]);
      const state = caseDecider.evolve(row?.state ?? caseDecider.initialState(), event);
      if (state.status === 'absent') continue;
      await this.save(manager, state, recorded);
      if (event.type === 'ReviewSubmitted') {
        await manager.query('INSERT INTO adj_reviews (trial_id, case_id, round, reviewer_id, outcome) VALUES ($1, $2, $3, $4, $5::jsonb)', [
          trialId,
          caseId,
          event.data.round,
          event.data.reviewerId,
          JSON.stringify(event.data.outcome),
        ]);
      }
      if (event.type === 'CaseFinalized') {
        await manager.query(
          'INSERT INTO adj_decisions (trial_id, case_id, round, basis, reported_at, finalized_at) VALUES ($1, $2, $3, $4, $5, $6)',
          [trialId, caseId, event.data.round, event.data.basis, state.reportedAt, event.data.finalizedAt],
        );
      }
    }
  }

  private async save(manager: EntityManager, state: OpenCase, recorded: RecordedEvent): Promise<void> {
    const openQueries = Object.values(state.queries).filter((q) => q.answer === undefined).length;
    await manager.query(
      `INSERT INTO adj_cases (trial_id, case_id, event_id, patient_id, site_id, status, round, reviewer_ids, reviewed_by,
                              open_queries, reported_at, finalized_at, decision, state)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11, $12, $13::jsonb, $14::jsonb)
       ON CONFLICT (trial_id, case_id) DO UPDATE SET
         status = EXCLUDED.status, round = EXCLUDED.round, reviewer_ids = EXCLUDED.reviewer_ids,
         reviewed_by = EXCLUDED.reviewed_by, open_queries = EXCLUDED.open_queries,
         finalized_at = EXCLUDED.finalized_at, decision = EXCLUDED.decision, state = EXCLUDED.state`,
      [
        state.trialId,
        state.caseId,
        state.eventId,
        state.patientId,
        state.siteId,
        state.status,
        state.round,
        JSON.stringify(state.reviewerIds),
        JSON.stringify(Object.keys(state.reviews)),
        openQueries,
        state.reportedAt,
        state.status === 'finalized' ? (state.decision?.finalizedAt ?? recorded.recordedAt) : null,
        state.decision ? JSON.stringify(state.decision) : null,
        JSON.stringify(state),
      ],
    );
  }
}

/**
 * The queries of the cases read model. Each waits until the case opener and the projection have
 * handled everything committed before the request, so a case shows right after its report and a
 * command's effect right after the command (read-your-writes), without a request driving either.
 */
@Injectable()
export class CaseQueries {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly opener: CaseOpener,
    private readonly projection: CasesProjection,
  ) {}

  /** Cases of the trial (blinded); a reviewer lists only the cases assigned to them. */
  async list(trialId: string, filter: CaseFilter, viewer: Viewer) {
    // The coordinator prepares every case's dossier: it lists them all, as the chair does.
    const onlyAssigned = !['cec-chair', 'auditor', 'cec-coordinator'].some((role) => viewer.roles.includes(role));
    return (await this.rows(trialId))
      .filter((r) => (!filter.status || r.status === filter.status) && (!filter.eventId || r.event_id === filter.eventId))
      .filter((r) => !onlyAssigned || r.reviewer_ids.includes(viewer.userId))
      .map((r) => summary(r));
  }

  /** Own open work: reviews to submit; for the chair, cases to assign or resolve. */
  async worklist(trialId: string, viewer: Viewer) {
    const items = [];
    for (const r of await this.rows(trialId)) {
      if (
        viewer.roles.includes('cec-reviewer') &&
        r.status === 'in-review' &&
        r.reviewer_ids.includes(viewer.userId) &&
        !r.reviewed_by.includes(viewer.userId)
      ) {
        items.push({ ...summary(r, false), action: 'review' });
      }
      if (viewer.roles.includes('cec-chair') && r.status === 'awaiting-assignment') items.push({ ...summary(r), action: 'assign' });
      if (viewer.roles.includes('cec-chair') && r.status === 'awaiting-resolution')
        items.push({ ...summary(r), action: r.open_queries > 0 ? 'await-query-answer' : 'resolve' });
    }
    return items;
  }

  /** Committee metrics: open cases by age, days from report to final decision, reviewer agreement. */
  async metrics(trialId: string) {
    const cases = await this.rows(trialId);
    const decisions: DecisionRow[] = await this.dataSource.query(
      'SELECT DISTINCT ON (case_id) case_id, reported_at, finalized_at FROM adj_decisions WHERE trial_id = $1 ORDER BY case_id, round',
      [trialId],
    );
    const reviews: ReviewRow[] = await this.dataSource.query(
      'SELECT case_id, round, reviewer_id, outcome FROM adj_reviews WHERE trial_id = $1 ORDER BY case_id, round, reviewer_id',
      [trialId],
    );
    return committeeMetrics(
      {
        cases: cases.map((c) => ({ status: c.status, reportedAt: iso(c.reported_at) })),
        firstDecisions: decisions.map((d) => ({ reportedAt: iso(d.reported_at), finalizedAt: iso(d.finalized_at) })),
        reviews: reviews.map((r) => ({ caseId: r.case_id, round: r.round, outcome: r.outcome })),
      },
      this.clock.now().toISOString(),
    );
  }

  /**
   * The case view with its whole history, from the case stream itself rather than the rows: it
   * verifies each e-signature against exactly the stored content it was made for, and dates each
   * round's steps by when they were recorded.
   */
  async view(trialId: string, caseId: string, viewer: Viewer) {
    await this.opener.caughtUp();
    const { events } = await this.store.readStream(caseStream(trialId, caseId));
    if (events.length === 0) throw new DomainError('CASE_NOT_FOUND', `no case ${caseId} in trial ${trialId}`, 'not_found');
    const history = events.map(
      (e) => ({ type: e.type, data: e.data, recordedAt: e.recordedAt, recordedBy: e.metadata.actor?.userId }) as CaseHistoryEvent,
    );
    return isCoordinatorOnly(viewer) ? coordinatorCaseView(history) : caseView(history, viewer);
  }

  /**
   * A released rendition of the case's dossier, for a reader who may see it (api.md): the coordinator,
   * the chair, auditors, and a reviewer assigned to the case's current round. A document not released
   * (or not attached at all) answers 404 to everyone: reviewers never learn what the dossier lacks.
   */
  async rendition(trialId: string, caseId: string, documentId: string, viewer: Viewer) {
    await this.opener.caughtUp();
    const { state } = await loadState(this.store, caseStream(trialId, caseId), caseDecider);
    if (state.status === 'absent') throw new DomainError('CASE_NOT_FOUND', `no case ${caseId} in trial ${trialId}`, 'not_found');
    const trialWide = ['cec-coordinator', 'cec-chair', 'auditor'].some((role) => viewer.roles.includes(role));
    if (!trialWide && !state.reviewerIds.includes(viewer.userId))
      throw new DomainError('NOT_ASSIGNED', `${viewer.userId} is not assigned to this case`, 'forbidden');
    const released = byId(state.dossier, documentId);
    if (!released)
      throw new DomainError('DOCUMENT_NOT_FOUND', `no released document ${documentId} in the dossier of case ${caseId}`, 'not_found');
    return { patientId: state.patientId, eventId: state.eventId, released };
  }

  private async rows(trialId: string): Promise<CaseRow[]> {
    // The opener first: the case events it appends are then committed before the projection is waited for.
    await this.opener.caughtUp();
    await this.projection.subscription.caughtUp();
    return this.dataSource.query('SELECT * FROM adj_cases WHERE trial_id = $1 ORDER BY reported_at, case_id', [trialId]);
  }
}

function summary(r: CaseRow, withReviewers = true) {
  return {
    caseId: r.case_id,
    eventId: r.event_id,
    patientId: r.patient_id,
    siteId: r.site_id,
    status: r.status,
    round: r.round,
    kind: r.state.report.kind,
    reportedAt: iso(r.reported_at),
    ...(withReviewers ? { reviewerIds: r.reviewer_ids, reviewsSubmitted: r.reviewed_by.length } : {}),
    openQueries: r.open_queries,
  };
}
