import { Inject, Injectable, Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { DATA_SOURCE, DurableSubscription, EVENT_STORE, SubscribedService, type EventStore, type RecordedEvent } from '@app/event-store';
import { foldHistoryEvent, historyEntityOf, trialOfStream, type HistoryFacts, type HistoryKind } from '../domain/history-fold';

export type { AdverseEventHistoryFacts, PatientHistoryFacts } from '../domain/history-fold';

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
      batchSize: 5000,
      pollIntervalMs: 100,
      handler: (events, manager) => this.project(events, manager),
      onError: (error) => this.logger.error(error),
    });
  }

  /** One batch: a knowledge row for every event (with its visit, if one), then the new fact versions. */
  async project(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    const [last] = (await manager.query('SELECT seq FROM rpt_knowledge ORDER BY seq DESC LIMIT 1')) as Array<{ seq: string | number }>;
    let seq = Number(last?.seq ?? 0);
    const knownAt = await latestKnownAt(manager, events);
    const batch = new Batch(manager);
    await batch.prefetch(events);
    // Column arrays, one entry per event, for one INSERT … unnest.
    const columns = { seq: [] as number[], position: [] as number[], trial: [] as Array<string | null>, at: [] as string[], patient: [] as Array<string | null>, visit: [] as Array<string | null> };
    for (const event of events) {
      seq += 1;
      // Knowledge time runs per trial, so that a trial's export alone re-derives it (trialctl replay).
      const trialId = trialOfStream(event.streamId) ?? null;
      const previous = knownAt.get(trialId) ?? '';
      const at = event.recordedAt > previous ? event.recordedAt : previous;
      knownAt.set(trialId, at);
      const change = foldHistoryEvent(event, (kind, entityId) => batch.get(trialId, kind, entityId));
      // A visit is only ever added: it lives on its event's knowledge row.
      const visit = change?.type === 'visit' ? change : undefined;
      columns.seq.push(seq);
      columns.position.push(event.globalPosition);
      columns.trial.push(trialId);
      columns.at.push(at);
      columns.patient.push(visit ? visit.patientId : null);
      columns.visit.push(visit ? visit.visitOn : null);
      if (change?.type === 'facts') batch.put(change.trialId, change.kind, change.entityId, change.facts, seq);
    }
    await manager.query(
      `INSERT INTO rpt_knowledge (seq, global_position, trial_id, known_at, patient_id, visit_on)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[], $6::date[])`,
      [columns.seq, columns.position, columns.trial, columns.at, columns.patient, columns.visit],
    );
    await batch.flush();
  }
}

/** Each trial's knownAt before the batch (ISO text, like recordedAt), for the trials the batch touches. */
async function latestKnownAt(manager: EntityManager, events: RecordedEvent[]): Promise<Map<string | null, string>> {
  const trials = [...new Set(events.map((e) => trialOfStream(e.streamId)).filter((t): t is string => t !== undefined))];
  const rows = (await manager.query(
    `SELECT t.trial_id, to_char(k.known_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS known_at
       FROM unnest($1::text[]) AS t(trial_id)
       CROSS JOIN LATERAL (SELECT known_at FROM rpt_knowledge r WHERE r.trial_id = t.trial_id ORDER BY r.known_at DESC, r.seq DESC LIMIT 1) k`,
    [trials],
  )) as Array<{ trial_id: string; known_at: string }>;
  return new Map(rows.map((r) => [r.trial_id, r.known_at]));
}

/** Current facts of a batch, read once and written once per entity and sequence. */
class Batch {
  private readonly current = new Map<string, HistoryFacts | undefined>();
  private readonly versions: Array<{ trialId: string; kind: HistoryKind; entityId: string; facts: HistoryFacts; seq: number }> = [];

  constructor(private readonly manager: EntityManager) {}

  /** Reads the current facts of every entity the batch touches, in one query. */
  async prefetch(events: RecordedEvent[]): Promise<void> {
    const keys = new Map<string, [string, HistoryKind, string]>();
    for (const e of events) {
      const entity = historyEntityOf(e);
      if (entity) keys.set(`${entity.trialId}\u0000${entity.kind}\u0000${entity.entityId}`, [entity.trialId, entity.kind, entity.entityId]);
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
    )) as Array<{ trial_id: string; kind: HistoryKind; entity_id: string; facts: HistoryFacts }>;
    for (const row of rows) this.current.set(`${row.trial_id}\u0000${row.kind}\u0000${row.entity_id}`, row.facts);
  }

  /** The current facts of an entity (prefetched). */
  get(trialId: string | null, kind: HistoryKind, entityId: string): HistoryFacts | undefined {
    return this.current.get(`${trialId}\u0000${kind}\u0000${entityId}`);
  }

  put(trialId: string, kind: HistoryKind, entityId: string, facts: HistoryFacts, seq: number): void {
    this.current.set(`${trialId}\u0000${kind}\u0000${entityId}`, facts);
    this.versions.push({ trialId, kind, entityId, facts, seq });
  }

  /**
   * Writes the batch's versions in two statements: each version is closed by the next version of
   * the same entity in the batch, and the version current before the batch by the first one.
   */
  async flush(): Promise<void> {
    if (this.versions.length === 0) return;
    const key = (v: { trialId: string; kind: HistoryKind; entityId: string }) => `${v.trialId}\u0000${v.kind}\u0000${v.entityId}`;
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
