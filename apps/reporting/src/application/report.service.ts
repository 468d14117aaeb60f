import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { Principal } from '@app/auth';
import type { CharterVersionPublished } from '@app/contracts';
import { CLOCK, DATA_SOURCE, EVENT_STORE, type Clock, type EventStore } from '@app/event-store';
import { ProblemException } from '@app/http';
import { defaultCharter } from '../domain/default-charter';
import type { ReportInput } from '../domain/endpoint-report';
import {
  adverseEventForReport,
  assembleReportInput,
  patientForReport,
  type AdverseEventHistoryFacts,
  type PatientHistoryFacts,
  type ReportQuery,
} from '../domain/history-fold';
import { HistoryProjection } from '../infrastructure/history.projection';

export type { ReportQuery };

/** How long a report waits for a knowledge time the read model has not reached yet. */
const WAIT_MS = 2000;
/** A past instant is settled once the log has been idle past it by this margin (in-flight appends). */
const SETTLE_MS = 5000;

/**
 * Resolves a knowledge time (asOf / asOfPosition) to a sequence of the history read model and
 * loads the facts valid at it. The same request gives the same input, whatever is recorded later.
 */
@Injectable()
export class ReportService {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly history: HistoryProjection,
  ) {}

  async input(trialId: string, query: ReportQuery): Promise<ReportInput> {
    const known = await this.knowledgeAt(trialId, query);
    const asOf = { recordedAt: known.recordedAt ?? this.clock.now().toISOString(), position: known.position };
    const cutoff = query.cutoff ?? asOf.recordedAt.slice(0, 10);
    const [patients, events, charters, lastVisits] = await Promise.all([
      this.facts<PatientHistoryFacts>(trialId, 'patient', known.seq),
      this.facts<AdverseEventHistoryFacts>(trialId, 'adverse-event', known.seq),
      this.facts<CharterVersionPublished>(trialId, 'charter', known.seq),
      this.lastVisits(trialId, known.seq, cutoff),
    ]);
    return assembleReportInput({
      trialId,
      query,
      asOf,
      latestCharter: charters.sort((a, b) => a.seq - b.seq).pop()?.facts,
      defaultCharter: defaultCharter(),
      patients: patients.flatMap(({ facts, entityId }) => patientForReport(facts, lastVisits.get(entityId)) ?? []),
      adverseEvents: events.flatMap(({ facts }) => adverseEventForReport(facts) ?? []),
    });
  }

  /** Records who saw results broken down by arm, when and with which parameters (ICH E6(R3) 3.16.1(g)). */
  async recordUnblindedView(trialId: string, principal: Principal, query: ReportQuery, input: ReportInput, what: string): Promise<void> {
    await this.store.appendToStream(`unblinding/${trialId}`, [
      {
        type: 'UnblindedResultsViewed',
        data: { trialId, what, parameters: { ...query, cutoff: input.cutoff }, asOf: input.asOf, charterVersion: input.charter.version },
        metadata: { actor: { userId: principal.userId, name: principal.name, roles: principal.roles }, reason: 'unblinded report by arm' },
      },
    ]);
  }

  /**
   * The trial's knowledge at the requested time (architecture.md, "Point in time", per trial): the
   * sequence of the trial's last event known then, its position and knownAt. `asOf` = the trial's
   * events with knownAt ≤ asOf; `asOfPosition` = its events delivered up to the event at that
   * position (of any trial); neither = everything delivered.
   */
  private async knowledgeAt(trialId: string, query: ReportQuery): Promise<{ seq: number; position: number; recordedAt?: string }> {
    if (query.asOfPosition !== undefined) {
      const position = query.asOfPosition;
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const [row] = (await this.dataSource.query(
          `SELECT k.seq, to_char(k.known_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS known_at, t.known_at AS trial_known_at
             FROM rpt_knowledge k
             LEFT JOIN LATERAL (SELECT to_char(r.known_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS known_at
                                  FROM rpt_knowledge r WHERE r.trial_id = $2 AND r.seq <= k.seq ORDER BY r.seq DESC LIMIT 1) t ON true
            WHERE k.global_position = $1`,
          [position, trialId],
        )) as Array<{ seq: string | number; known_at: string; trial_known_at: string | null }>;
        // Another trial's position: this trial's knowledge then, or that event's own if the trial had none.
        if (row) return { seq: Number(row.seq), position, recordedAt: row.trial_known_at ?? row.known_at };
        if (Date.now() > deadline) throw notYetKnown(`position ${position} is not yet known to the report read model`);
        await this.history.subscription.catchUpToNow(WAIT_MS);
        await sleep(20);
      }
    }
    await this.history.subscription.catchUpToNow(WAIT_MS);
    if (query.asOf === undefined) {
      const [latest] = await this.knowledge('WHERE trial_id = $1', [trialId]);
      return latest ?? { seq: 0, position: 0 };
    }
    const [at] = await this.knowledge('WHERE trial_id = $1 AND known_at <= $2', [trialId, query.asOf]);
    const [after] = (await this.dataSource.query('SELECT 1 FROM rpt_knowledge WHERE trial_id = $1 AND known_at > $2 LIMIT 1', [trialId, query.asOf])) as unknown[];
    // Stable only once nothing can still be delivered with a knownAt at or before asOf.
    if (!after && new Date(query.asOf).getTime() > this.clock.now().getTime() - SETTLE_MS) {
      throw notYetKnown(`knowledge as of ${query.asOf} is not settled yet`);
    }
    return { seq: at?.seq ?? 0, position: at?.position ?? 0, recordedAt: query.asOf };
  }

  private async knowledge(where: string, params: unknown[]): Promise<Array<{ seq: number; position: number; recordedAt: string }>> {
    const rows = (await this.dataSource.query(
      `SELECT seq, global_position, to_char(known_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS known_at
         FROM rpt_knowledge ${where} ORDER BY seq DESC LIMIT 1`,
      params,
    )) as Array<{ seq: string | number; global_position: string | number; known_at: string }>;
    return rows.map((r) => ({ seq: Number(r.seq), position: Number(r.global_position), recordedAt: r.known_at }));
  }

  /**
   * Each patient's latest visit on or before the cutoff, as known at the sequence: the only visit
   * date a report uses (last known contact).
   */
  private async lastVisits(trialId: string, seq: number, cutoff: string): Promise<Map<string, string>> {
    // One index probe per patient known at the sequence, newest visit first.
    const rows = (await this.dataSource.query(
      `SELECT f.entity_id AS patient_id, to_char(v.visit_on, 'YYYY-MM-DD') AS visit_on
         FROM rpt_facts f
         CROSS JOIN LATERAL (
           SELECT r.visit_on FROM rpt_visits r
            WHERE r.trial_id = f.trial_id AND r.patient_id = f.entity_id AND r.visit_on <= $3::date AND r.seq <= $2
            ORDER BY r.visit_on DESC LIMIT 1) v
        WHERE int8range(f.from_seq, f.to_seq) @> $2::int8 AND f.trial_id = $1 AND f.kind = 'patient'`,
      [trialId, seq, cutoff],
    )) as Array<{ patient_id: string; visit_on: string }>;
    return new Map(rows.map((r) => [r.patient_id, r.visit_on]));
  }

  private async facts<T>(trialId: string, kind: string, seq: number): Promise<Array<{ entityId: string; facts: T; seq: number }>> {
    const rows = (await this.dataSource.query(
      `SELECT entity_id, facts, from_seq FROM rpt_facts
        WHERE int8range(from_seq, to_seq) @> $3::int8 AND trial_id = $1 AND kind = $2`,
      [trialId, kind, seq],
    )) as Array<{ entity_id: string; facts: T; from_seq: string | number }>;
    return rows.map((r) => ({ entityId: r.entity_id, facts: r.facts, seq: Number(r.from_seq) }));
  }
}

function notYetKnown(detail: string): ProblemException {
  return new ProblemException(409, 'NOT_YET_KNOWN', detail, { headers: { 'Retry-After': '1' } });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
