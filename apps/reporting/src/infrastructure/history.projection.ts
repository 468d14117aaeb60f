import { Inject, Injectable, Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import type { AdverseEventEvent, CaseEvent, CharterVersionPublished, Outcome, PatientEvent, ProcedureRecorded } from '@app/contracts';
import { DATA_SOURCE, DurableSubscription, EVENT_STORE, SubscribedService, type EventStore, type RecordedEvent } from '@app/event-store';
import { adverseEventDecider } from '../../../adverse-events/src/application/adverse-events.handlers';
import type { AdverseEventState } from '../../../adverse-events/src/domain/adverse-event.decider';
import { patientDecider } from '../../../enrollment/src/application/enrollment.handlers';
import type { PatientState } from '../../../enrollment/src/domain/patient.decider';

/** What the history keeps of a patient: enrolment state (visits live in rpt_visits) and the index procedure. */
export interface PatientHistoryFacts {
  patient: PatientState;
  indexProcedure?: { performedOn: string; segments: Array<'femoropopliteal' | 'btk'> };
}

/** What the history keeps of an adverse event: the site report and where its adjudication stands. */
export interface AdverseEventHistoryFacts {
  state: AdverseEventState;
  adjudication?: { finalized: true; outcome: Outcome } | { finalized: false };
}

type Kind = 'patient' | 'adverse-event' | 'charter';
type Facts = PatientHistoryFacts | AdverseEventHistoryFacts | CharterVersionPublished;

/**
 * Feeds the history-keeping read model: gives each delivered event its knowledge sequence and
 * knownAt = max(previous knownAt, recordedAt), and versions the facts a report needs. Rows and
 * checkpoint commit in one transaction.
 */
@Injectable()
export class HistoryProjection extends SubscribedService {
  private readonly logger = new Logger(HistoryProjection.name);
  readonly subscription: DurableSubscription;

  constructor(@Inject(EVENT_STORE) store: EventStore, @Inject(DATA_SOURCE) dataSource: DataSource) {
    super();
    this.subscription = new DurableSubscription({
      name: 'reporting.history',
      store,
      dataSource,
      batchSize: 1000,
      pollIntervalMs: 100,
      handler: (events, manager) => this.project(events, manager),
      onError: (error) => this.logger.error(error),
    });
  }


  async project(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    const [last] = (await manager.query('SELECT seq, known_at FROM rpt_knowledge ORDER BY seq DESC LIMIT 1')) as Array<{ seq: string | number; known_at: Date | string }>;
    let seq = Number(last?.seq ?? 0);
    let knownAt = last ? new Date(last.known_at).toISOString() : '';
    const batch = new Batch(manager);
    await batch.prefetch(events);
    const knowledge: Array<[number, number, string]> = [];
    for (const event of events) {
      seq += 1;
      if (event.recordedAt > knownAt) knownAt = event.recordedAt;
      knowledge.push([seq, event.globalPosition, knownAt]);
      await this.apply(batch, event, seq);
    }
    await manager.query(
      `INSERT INTO rpt_knowledge (seq, global_position, known_at)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[])`,
      [knowledge.map((k) => k[0]), knowledge.map((k) => k[1]), knowledge.map((k) => k[2])],
    );
    await batch.flush();
  }

  private async apply(batch: Batch, event: RecordedEvent, seq: number): Promise<void> {
    const [prefix, trialId, entityId] = event.streamId.split('/');
    if (!trialId || !entityId) {
      if (prefix === 'trial' && trialId && event.type === 'CharterVersionPublished') {
        const charter = event.data as CharterVersionPublished;
        batch.put(trialId, 'charter', charter.version, charter, seq);
      }
      return;
    }
    switch (prefix) {
      case 'patient': {
        if (event.type === 'VisitRecorded') {
          batch.visit(trialId, entityId, (event.data as { visitOn: string }).visitOn, seq);
          return;
        }
        const current = ((await batch.get(trialId, 'patient', entityId)) as PatientHistoryFacts | undefined) ?? { patient: patientDecider.initialState() };
        const patient = patientDecider.evolve(current.patient, { type: event.type, data: event.data } as PatientEvent);
        batch.put(trialId, 'patient', entityId, { ...current, patient }, seq);
        return;
      }
      case 'procedures': {
        const procedure = event.data as ProcedureRecorded;
        if (event.type !== 'ProcedureRecorded' || !procedure.index) return;
        const current = ((await batch.get(trialId, 'patient', entityId)) as PatientHistoryFacts | undefined) ?? { patient: patientDecider.initialState() };
        const segments = [...new Set(procedure.lesions.map((l) => l.segment))].sort();
        batch.put(trialId, 'patient', entityId, { ...current, indexProcedure: { performedOn: procedure.performedOn, segments } }, seq);
        return;
      }
      case 'adverse-event': {
        const current = ((await batch.get(trialId, 'adverse-event', entityId)) as AdverseEventHistoryFacts | undefined) ?? { state: adverseEventDecider.initialState() };
        const state = adverseEventDecider.evolve(current.state, { type: event.type, data: event.data } as AdverseEventEvent);
        batch.put(trialId, 'adverse-event', entityId, { ...current, state }, seq);
        return;
      }
      case 'case': {
        const caseEvent = { type: event.type, data: event.data } as CaseEvent;
        const adjudication =
          caseEvent.type === 'CaseFinalized'
            ? { finalized: true as const, outcome: caseEvent.data.outcome }
            : caseEvent.type === 'CaseOpened' || caseEvent.type === 'CaseReopened' || caseEvent.type === 'CaseCancelled'
              ? { finalized: false as const }
              : undefined;
        if (!adjudication) return;
        const eventId = caseEvent.type === 'CaseOpened' ? caseEvent.data.eventId : entityId;
        const current = (await batch.get(trialId, 'adverse-event', eventId)) as AdverseEventHistoryFacts | undefined;
        if (!current) return;
        batch.put(trialId, 'adverse-event', eventId, { ...current, adjudication }, seq);
        return;
      }
      default:
        return;
    }
  }
}

/** Current facts of a batch, read once and written once per entity and sequence. */
class Batch {
  private readonly current = new Map<string, Facts | undefined>();
  private readonly versions: Array<{ trialId: string; kind: Kind; entityId: string; facts: Facts; seq: number }> = [];
  private readonly visits: Array<{ trialId: string; patientId: string; visitOn: string; seq: number }> = [];

  constructor(private readonly manager: EntityManager) {}

  /** Reads the current facts of every entity the batch touches, in one query. */
  async prefetch(events: RecordedEvent[]): Promise<void> {
    const keys = new Map<string, [string, Kind, string]>();
    for (const e of events) {
      const [prefix, trialId, id] = e.streamId.split('/');
      if (!trialId || !id) continue;
      const kind: Kind | undefined = prefix === 'patient' || prefix === 'procedures' ? 'patient' : prefix === 'adverse-event' || prefix === 'case' ? 'adverse-event' : undefined;
      if (kind) keys.set(`${trialId}\u0000${kind}\u0000${id}`, [trialId, kind, id]);
    }
    const list = [...keys.values()];
    if (list.length === 0) return;
    for (const key of keys.keys()) this.current.set(key, undefined);
    const rows = (await this.manager.query(
      `SELECT f.trial_id, f.kind, f.entity_id, f.facts FROM rpt_facts f
         JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(trial_id, kind, entity_id)
           ON f.trial_id = k.trial_id AND f.kind = k.kind AND f.entity_id = k.entity_id
        WHERE f.to_seq IS NULL`,
      [list.map((k) => k[0]), list.map((k) => k[1]), list.map((k) => k[2])],
    )) as Array<{ trial_id: string; kind: Kind; entity_id: string; facts: Facts }>;
    for (const row of rows) this.current.set(`${row.trial_id}\u0000${row.kind}\u0000${row.entity_id}`, row.facts);
  }

  visit(trialId: string, patientId: string, visitOn: string, seq: number): void {
    this.visits.push({ trialId, patientId, visitOn, seq });
  }

  async get(trialId: string, kind: Kind, entityId: string): Promise<Facts | undefined> {
    const key = `${trialId}\u0000${kind}\u0000${entityId}`;
    if (!this.current.has(key)) {
      const [row] = (await this.manager.query('SELECT facts FROM rpt_facts WHERE trial_id = $1 AND kind = $2 AND entity_id = $3 AND to_seq IS NULL', [
        trialId,
        kind,
        entityId,
      ])) as Array<{ facts: Facts }>;
      this.current.set(key, row?.facts);
    }
    return this.current.get(key);
  }

  put(trialId: string, kind: Kind, entityId: string, facts: Facts, seq: number): void {
    this.current.set(`${trialId}\u0000${kind}\u0000${entityId}`, facts);
    this.versions.push({ trialId, kind, entityId, facts, seq });
  }

  /**
   * Writes the batch's versions in two statements: each version is closed by the next version of
   * the same entity in the batch, and the version current before the batch by the first one.
   */
  async flush(): Promise<void> {
    if (this.visits.length > 0) {
      await this.manager.query(
        `INSERT INTO rpt_visits (trial_id, patient_id, visit_on, seq) SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::bigint[])`,
        [this.visits.map((v) => v.trialId), this.visits.map((v) => v.patientId), this.visits.map((v) => v.visitOn), this.visits.map((v) => v.seq)],
      );
    }
    if (this.versions.length === 0) return;
    const key = (v: { trialId: string; kind: Kind; entityId: string }) => `${v.trialId}\u0000${v.kind}\u0000${v.entityId}`;
    const next = new Map<string, number>();
    const toSeq: Array<number | null> = new Array(this.versions.length).fill(null);
    for (let i = this.versions.length - 1; i >= 0; i--) {
      const v = this.versions[i]!;
      toSeq[i] = next.get(key(v)) ?? null;
      next.set(key(v), v.seq);
    }
    const firsts = [...next.entries()].map(([k, seq]) => ({ parts: k.split('\u0000'), seq }));
    await this.manager.query(
      `UPDATE rpt_facts f SET to_seq = u.seq
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u(trial_id, kind, entity_id, seq)
        WHERE f.trial_id = u.trial_id AND f.kind = u.kind AND f.entity_id = u.entity_id AND f.to_seq IS NULL`,
      [firsts.map((f) => f.parts[0]), firsts.map((f) => f.parts[1]), firsts.map((f) => f.parts[2]), firsts.map((f) => f.seq)],
    );
    await this.manager.query(
      `INSERT INTO rpt_facts (trial_id, kind, entity_id, facts, from_seq, to_seq)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::bigint[])`,
      [
        this.versions.map((v) => v.trialId),
        this.versions.map((v) => v.kind),
        this.versions.map((v) => v.entityId),
        this.versions.map((v) => JSON.stringify(v.facts)),
        this.versions.map((v) => v.seq),
        toSeq,
      ],
    );
  }
}
