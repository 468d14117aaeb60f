import { Inject, Injectable, Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import type { CaseEvent } from '@app/contracts';
import { DATA_SOURCE, DurableSubscription, EVENT_STORE, SubscribedService, type EventStore, type RecordedEvent } from '@app/event-store';
import { caseDecider, parseCaseStream } from '../application/case-decider';
import type { CaseState, OpenCase } from '../domain/case.decider';

/**
 * Keeps adj_cases (listing, worklists) and adj_reviews / adj_decisions (metrics) in step with the
 * case streams; rows and checkpoint commit together, so every case event counts exactly once.
 */
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
      handler: (events, manager) => this.project(events, manager),
      onError: (error) => this.logger.error(error),
    });
  }


  private async project(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    for (const recorded of events) {
      const ids = parseCaseStream(recorded.streamId);
      if (!ids) continue;
      const event = { type: recorded.type, data: recorded.data } as CaseEvent;
      const [row] = (await manager.query('SELECT state FROM adj_cases WHERE trial_id = $1 AND case_id = $2', [ids.trialId, ids.caseId])) as Array<{ state: CaseState }>;
      const state = caseDecider.evolve(row?.state ?? caseDecider.initialState(), event);
      if (state.status === 'absent') continue;
      await this.save(manager, state, recorded);
      if (event.type === 'ReviewSubmitted') {
        await manager.query('INSERT INTO adj_reviews (trial_id, case_id, round, reviewer_id, outcome) VALUES ($1, $2, $3, $4, $5::jsonb)', [
          ids.trialId,
          ids.caseId,
          event.data.round,
          event.data.reviewerId,
          JSON.stringify(event.data.outcome),
        ]);
      }
      if (event.type === 'CaseFinalized') {
        await manager.query('INSERT INTO adj_decisions (trial_id, case_id, round, basis, reported_at, finalized_at) VALUES ($1, $2, $3, $4, $5, $6)', [
          ids.trialId,
          ids.caseId,
          event.data.round,
          event.data.basis,
          state.reportedAt,
          event.data.finalizedAt,
        ]);
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
