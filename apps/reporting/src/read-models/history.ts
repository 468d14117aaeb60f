import { Inject, Injectable, Logger } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { DataSource, EntityManager } from 'typeorm';
import { trialOfStream } from '@app/contracts';
import {
  CLOCK,
  DATA_SOURCE,
  DurableSubscription,
  EVENT_STORE,
  SubscribedService,
  type Clock,
  type EventStore,
  type RecordedEvent,
} from '@app/event-store';
import { ProblemException } from '@app/http';
import { defaultCharter } from '../domain/default-charter';
import type { ReportInput } from '../domain/endpoint-report';
import { foldHistoryEvent, historyEntityOf, type HistoryFacts, type HistoryFactsByKind, type HistoryKind } from '../domain/history-fold';
import { TrialHistory, reportCutoff, reportInputAt, type HistorySnapshot, type ReportQuery } from '../domain/history-snapshot';

/**
 * The history read model of reporting (architecture.md "Point in time"): its rows, its projection
 * and registration, and its queries. The fold itself (domain/history-fold.ts) is pure and shared
 * with `trialctl replay`; this file is what keeps its results in PostgreSQL/PGlite.
 *
 * Tables (migrations 400, 700, 900):
 * - `rpt_knowledge`: one row per delivered event, of any trial: its knowledge sequence, global
 *   position, trial, knownAt (running maximum of recordedAt per trial) and, for a visit, the visit.
 * - `rpt_facts`: versions of each entity's report facts, valid for sequences [from_seq, to_seq),
 *   in reporting's own shapes only (HistoryFactsByKind).
 */

// --- rows ---

/** A row of rpt_knowledge as read back (bigint columns arrive as text from PostgreSQL). */
export interface KnowledgeRow {
  seq: string | number;
  global_position: string | number;
  trial_id: string | null;
  known_at: string;
  patient_id: string | null;
  visit_on: string | null;
}

/** A row of rpt_facts: one version of one entity's facts. */
export type FactsRow = {
  [K in HistoryKind]: {
    trial_id: string;
    kind: K;
    entity_id: string;
    facts: HistoryFactsByKind[K];
    from_seq: string | number;
    to_seq: string | number | null;
  };
}[HistoryKind];

// --- projection and registration ---

/**
 * Feeds the history read model: gives each delivered event its knowledge sequence and
 * knownAt = max(previous knownAt of its trial, recordedAt), and versions the facts a report
 * needs. Rows and checkpoint commit in one transaction.
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
    const [last] = await manager.query<Array<Pick<KnowledgeRow, 'seq'>>>('SELECT seq FROM rpt_knowledge ORDER BY seq DESC LIMIT 1');
    let seq = Number(last?.seq ?? 0);
    const knownAt = await latestKnownAt(manager, events);
    const batch = new Batch(manager);
    await batch.prefetch(events);
    // Column arrays, one entry per event, for one INSERT … unnest.
    const columns = {
      seq: [] as number[],
      position: [] as number[],
      trial: [] as Array<string | null>,
      at: [] as string[],
      patient: [] as Array<string | null>,
      visit: [] as Array<string | null>,
    };
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
  const rows = await manager.query<Array<{ trial_id: string; known_at: string }>>(
    `SELECT t.trial_id, to_char(k.known_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS known_at
       FROM unnest($1::text[]) AS t(trial_id)
       CROSS JOIN LATERAL (SELECT known_at FROM rpt_knowledge r WHERE r.trial_id = t.trial_id ORDER BY r.known_at DESC, r.seq DESC LIMIT 1) k`,
    [trials],
  );
  return new Map(rows.map((r) => [r.trial_id, r.known_at]));
}

/**
 * The current version of each of a batch's entities, and the update that closes it. Each is a key
 * lookup per entity (LATERAL … LIMIT 1, which the planner cannot turn into a join over the table):
 * joined to `unnest(...)`, the planner hashed every current row instead (bench:http, 2026-11-30:
 * 5,200 rows read for 30 wanted, 3 ms a batch and growing with the trial), since the statistics of
 * a table this busy lag behind it. An entity has at most one current version (to_seq IS NULL).
 */
export const CURRENT_FACTS = `SELECT k.trial_id, k.kind, k.entity_id, c.facts
   FROM unnest($1::text[], $2::text[], $3::text[]) AS k(trial_id, kind, entity_id)
   CROSS JOIN LATERAL (SELECT f.facts FROM rpt_facts f
                        WHERE f.trial_id = k.trial_id AND f.kind = k.kind AND f.entity_id = k.entity_id AND f.to_seq IS NULL
                        LIMIT 1) c`;
export const CLOSE_CURRENT_FACTS = `UPDATE rpt_facts f SET to_seq = c.seq
   FROM (SELECT u.seq, x.ctid AS current
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u(trial_id, kind, entity_id, seq)
           CROSS JOIN LATERAL (SELECT r.ctid FROM rpt_facts r
                                WHERE r.trial_id = u.trial_id AND r.kind = u.kind AND r.entity_id = u.entity_id AND r.to_seq IS NULL
                                LIMIT 1) x) c
  WHERE f.ctid = c.current`;

const entityKey = (trialId: string | null, kind: HistoryKind, entityId: string) => `${trialId}\u0000${kind}\u0000${entityId}`;

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
      if (entity) keys.set(entityKey(entity.trialId, entity.kind, entity.entityId), [entity.trialId, entity.kind, entity.entityId]);
    }
    const list = [...keys.values()];
    if (list.length === 0) return;
    for (const key of keys.keys()) this.current.set(key, undefined);
    const rows = await this.manager.query<Array<Pick<FactsRow, 'trial_id' | 'kind' | 'entity_id' | 'facts'>>>(CURRENT_FACTS, [
      list.map((k) => k[0]),
      list.map((k) => k[1]),
      list.map((k) => k[2]),
    ]);
    for (const row of rows) this.current.set(entityKey(row.trial_id, row.kind, row.entity_id), row.facts);
  }

  /** The current facts of an entity (prefetched); rows of a kind hold that kind's facts. */
  get<K extends HistoryKind>(trialId: string | null, kind: K, entityId: string): HistoryFactsByKind[K] | undefined {
    return this.current.get(entityKey(trialId, kind, entityId)) as HistoryFactsByKind[K] | undefined;
  }

  put(trialId: string, kind: HistoryKind, entityId: string, facts: HistoryFacts, seq: number): void {
    this.current.set(entityKey(trialId, kind, entityId), facts);
    this.versions.push({ trialId, kind, entityId, facts, seq });
  }

  /**
   * Writes the batch's versions in two statements: each version is closed by the next version of
   * the same entity in the batch, and the version current before the batch by the first one.
   */
  async flush(): Promise<void> {
    if (this.versions.length === 0) return;
    const next = new Map<string, number>();
    const toSeq: Array<number | null> = new Array(this.versions.length).fill(null);
    for (let i = this.versions.length - 1; i >= 0; i--) {
      const v = this.versions[i]!;
      const key = entityKey(v.trialId, v.kind, v.entityId);
      toSeq[i] = next.get(key) ?? null;
      next.set(key, v.seq);
    }
    const firsts = [...next.entries()].map(([k, seq]) => ({ parts: k.split('\u0000'), seq }));
    await this.manager.query(CLOSE_CURRENT_FACTS, [
      firsts.map((f) => f.parts[0]),
      firsts.map((f) => f.parts[1]),
      firsts.map((f) => f.parts[2]),
      firsts.map((f) => f.seq),
    ]);
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

// --- queries: snapshot loading ---

/** A trial's history as loaded so far: every row projected up to `upTo`. */
interface Loaded {
  history: TrialHistory;
  upTo: number;
}

/**
 * An in-memory mirror of the history read model (rpt_facts, visits on rpt_knowledge), per trial, loaded on a
 * trial's first report and brought up to date by sequence before each one. A report then picks
 * the versions valid at its sequence without a query per patient, and parses each version's
 * JSON once rather than on every report. Any number of reporting instances may each keep one:
 * the tables stay the source of truth.
 */
export class HistoryCache {
  private readonly trials = new Map<string, Loaded>();
  private readonly syncs = new Map<string, Promise<Loaded>>();
  private readonly lastUsed = new Map<string, number>();

  /**
   * `now` (epoch ms) and `idleMs`: a trial's mirror not used for that long is dropped, so a
   * process serving many trials holds only those being reported on (it reloads on next use).
   */
  constructor(
    private readonly dataSource: DataSource,
    private readonly now: () => number = () => Date.now(),
    private readonly idleMs = 30 * 60_000,
  ) {}

  /** Trials whose history is held in memory. */
  get loadedTrials(): string[] {
    return [...this.trials.keys()];
  }

  /** The trial's facts valid at `seq`, with each patient's latest visit on or before `cutoff` and before their withdrawal. */
  async at(trialId: string, seq: number, cutoff: string): Promise<HistorySnapshot> {
    this.evictIdle(trialId);
    return (await this.synced(trialId, seq)).history.snapshot(seq, cutoff);
  }

  private evictIdle(using: string): void {
    const now = this.now();
    this.lastUsed.set(using, now);
    for (const [trialId, at] of this.lastUsed) {
      if (now - at > this.idleMs && !this.syncs.has(trialId)) {
        this.trials.delete(trialId);
        this.lastUsed.delete(trialId);
      }
    }
  }

  /** The trial's mirror, loaded at least up to `seq` (which must already be projected). */
  private async synced(trialId: string, seq: number): Promise<Loaded> {
    for (;;) {
      const current = this.trials.get(trialId);
      if (current && current.upTo >= seq) return current;
      // One load at a time per trial; a caller arriving during it waits, then checks again.
      const running = this.syncs.get(trialId);
      if (running) {
        await running;
        continue;
      }
      const sync = this.load(trialId, current).finally(() => this.syncs.delete(trialId));
      this.syncs.set(trialId, sync);
      const loaded = await sync;
      if (loaded.upTo < seq) throw new Error(`history read model has not reached sequence ${seq} (at ${loaded.upTo})`);
      return loaded;
    }
  }

  /** Loads what was projected after the mirror's sequence (visits by a range of the sequence key); starts afresh if the read model was rebuilt. */
  private async load(trialId: string, current: Loaded | undefined): Promise<Loaded> {
    // Batches commit knowledge, facts and visits together, so every row up to this sequence is visible below.
    const [head] = await this.dataSource.query<Array<Pick<KnowledgeRow, 'seq'>>>('SELECT coalesce(max(seq), 0) AS seq FROM rpt_knowledge');
    const upTo = Number(head?.seq ?? 0);
    const trial = current && upTo >= current.upTo ? current : { history: new TrialHistory(), upTo: 0 };
    const from = trial.upTo;
    if (upTo === from) return trial;
    const [facts, visits] = await Promise.all([
      this.dataSource.query<Array<Pick<FactsRow, 'kind' | 'entity_id' | 'facts' | 'from_seq'>>>(
        `SELECT kind, entity_id, facts, from_seq FROM rpt_facts WHERE trial_id = $1 AND from_seq > $2 AND from_seq <= $3 ORDER BY from_seq`,
        [trialId, from, upTo],
      ),
      this.dataSource.query<Array<{ patient_id: string; day: number; seq: string | number }>>(
        `SELECT patient_id, visit_on - date '1970-01-01' AS day, seq FROM rpt_knowledge
          WHERE seq > $2 AND seq <= $3 AND trial_id = $1 AND visit_on IS NOT NULL ORDER BY seq`,
        [trialId, from, upTo],
      ),
    ]);
    for (const row of facts) trial.history.addVersion(row.kind, row.entity_id, { fromSeq: Number(row.from_seq), facts: row.facts });
    for (const row of visits) trial.history.addVisit(row.patient_id, Number(row.day), Number(row.seq));
    trial.upTo = upTo;
    this.trials.set(trialId, trial);
    return trial;
  }
}

// --- queries: knowledge resolution and the report input ---

/** How long a report waits for a knowledge time the read model has not reached yet. */
const WAIT_MS = 2000;
/** A past instant is settled once the log has been idle past it by this margin (in-flight appends). */
const SETTLE_MS = 5000;

/** The trial's knowledge at a requested time: the sequence of the read model, its position and knownAt. */
interface Knowledge {
  seq: number;
  position: number;
  recordedAt?: string;
}

/**
 * The facts an endpoint report or curve of trial `trialId` reads, as of the query's knowledge time
 * (answers `ReportInput`). The same query gives the same input, whatever is recorded later; a
 * position not yet delivered is 409 NOT_YET_KNOWN.
 */
export class GetReportInput {
  constructor(
    readonly trialId: string,
    readonly query: ReportQuery,
  ) {}
}

/**
 * Resolves the knowledge time (asOf / asOfPosition) to a sequence of the history read model and
 * loads the facts valid at it. It waits for the projection to reach a position; it never drives it.
 */
@QueryHandler(GetReportInput)
export class GetReportInputHandler implements IQueryHandler<GetReportInput, ReportInput> {
  private readonly cache: HistoryCache;

  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly history: HistoryProjection,
  ) {
    this.cache = new HistoryCache(dataSource, () => clock.now().getTime());
  }

  async execute({ trialId, query }: GetReportInput): Promise<ReportInput> {
    const known = await this.knowledgeAt(trialId, query);
    const asOf = { recordedAt: known.recordedAt ?? this.clock.now().toISOString(), position: known.position };
    const snapshot = await this.cache.at(trialId, known.seq, reportCutoff(query, asOf));
    return reportInputAt(snapshot, { trialId, query, asOf, defaultCharter: defaultCharter() });
  }

  /**
   * The trial's knowledge at the requested time (architecture.md, "Point in time", per trial): the
   * sequence of the trial's last event known then, its position and knownAt. `asOf` = the trial's
   * events with knownAt ≤ asOf; `asOfPosition` = its events delivered up to the event at that
   * position (of any trial); neither = everything delivered.
   */
  private async knowledgeAt(trialId: string, query: ReportQuery): Promise<Knowledge> {
    if (query.asOfPosition !== undefined) return this.knowledgeAtPosition(trialId, query.asOfPosition);
    // Read-your-writes: what was committed before the request, once the active projection has it.
    // On timeout (a long transaction elsewhere holds the log back) the answer is what is delivered,
    // and says so by its position.
    await this.history.subscription.caughtUp(WAIT_MS);
    if (query.asOf === undefined) {
      const [latest] = await this.knowledge('WHERE trial_id = $1', [trialId]);
      return latest ?? { seq: 0, position: 0 };
    }
    const [at] = await this.knowledge('WHERE trial_id = $1 AND known_at <= $2', [trialId, query.asOf]);
    const [after] = await this.dataSource.query<unknown[]>('SELECT 1 FROM rpt_knowledge WHERE trial_id = $1 AND known_at > $2 LIMIT 1', [
      trialId,
      query.asOf,
    ]);
    // Stable only once nothing can still be delivered with a knownAt at or before asOf.
    if (!after && new Date(query.asOf).getTime() > this.clock.now().getTime() - SETTLE_MS) {
      throw notYetKnown(`knowledge as of ${query.asOf} is not settled yet`);
    }
    return { seq: at?.seq ?? 0, position: at?.position ?? 0, recordedAt: query.asOf };
  }

  /** A position answers once it is delivered; until then the request waits briefly, then is 409 NOT_YET_KNOWN. */
  private async knowledgeAtPosition(trialId: string, position: number): Promise<Knowledge> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const [row] = await this.knowledge('WHERE global_position = $1', [position]);
      if (row) {
        if (row.trialId === trialId) return row;
        // Another trial's position: this trial's knowledge then, or that event's own if the trial had none.
        const [mine] = await this.knowledge('WHERE trial_id = $1 AND seq <= $2', [trialId, row.seq], 'seq DESC');
        return { seq: row.seq, position, recordedAt: mine?.recordedAt ?? row.recordedAt };
      }
      const left = deadline - Date.now();
      if (left <= 0) throw notYetKnown(`position ${position} is not yet known to the report read model`);
      // Wait for the active projection to handle what is committed now; a position still absent
      // then may be a transaction not committed yet (or run nowhere here): look again shortly.
      await this.history.subscription.caughtUp(left);
      await sleep(20);
    }
  }

  /**
   * The last knowledge row matching `where`. Within a trial knownAt never decreases with the
   * sequence, so (known_at, seq) order is sequence order and the trial index serves it.
   */
  private async knowledge(
    where: string,
    params: unknown[],
    order = 'known_at DESC, seq DESC',
  ): Promise<Array<Required<Knowledge> & { trialId: string | null }>> {
    const rows = await this.dataSource.query<Array<Pick<KnowledgeRow, 'seq' | 'global_position' | 'trial_id' | 'known_at'>>>(
      `SELECT seq, global_position, trial_id, to_char(known_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS known_at
         FROM rpt_knowledge ${where} ORDER BY ${order} LIMIT 1`,
      params,
    );
    return rows.map((r) => ({ seq: Number(r.seq), position: Number(r.global_position), recordedAt: r.known_at, trialId: r.trial_id }));
  }
}

function notYetKnown(detail: string): ProblemException {
  return new ProblemException(409, 'NOT_YET_KNOWN', detail, { headers: { 'Retry-After': '1' } });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
