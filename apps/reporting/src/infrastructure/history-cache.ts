import type { DataSource } from 'typeorm';
import type { CharterVersionPublished } from '@app/contracts';
import type { AdverseEventHistoryFacts, HistoryFacts, HistoryKind, PatientHistoryFacts } from '../domain/history-fold';

/** One version of an entity's facts, valid from its sequence until the next version's. */
interface Version {
  fromSeq: number;
  facts: HistoryFacts;
}

/** A patient's visits as parallel arrays: epoch day of the visit, knowledge sequence it was recorded at. */
interface Visits {
  days: number[];
  seqs: number[];
}

/** The facts of a trial valid at one knowledge sequence, as a report reads them. */
export interface HistorySnapshot {
  patients: Array<{ patientId: string; facts: PatientHistoryFacts; lastVisitOn: string | undefined }>;
  adverseEvents: AdverseEventHistoryFacts[];
  latestCharter: CharterVersionPublished | undefined;
}

const DAY_MS = 86_400_000;
const toDay = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY_MS;
const fromDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** Everything of one trial's history read model loaded so far, up to `upTo`. */
class TrialHistory {
  upTo = 0;
  readonly entities = new Map<HistoryKind, Map<string, Version[]>>();
  readonly visits = new Map<string, Visits>();

  addVersion(kind: HistoryKind, entityId: string, version: Version): void {
    let byId = this.entities.get(kind);
    if (!byId) this.entities.set(kind, (byId = new Map()));
    const versions = byId.get(entityId);
    if (versions) versions.push(version);
    else byId.set(entityId, [version]);
  }

  addVisit(patientId: string, day: number, seq: number): void {
    const visits = this.visits.get(patientId);
    if (visits) {
      visits.days.push(day);
      visits.seqs.push(seq);
    } else {
      this.visits.set(patientId, { days: [day], seqs: [seq] });
    }
  }

  /** Each entity's version valid at `seq` (the last one from at or before it). */
  *validAt<T extends HistoryFacts>(kind: HistoryKind, seq: number): Generator<{ entityId: string; fromSeq: number; facts: T }> {
    for (const [entityId, versions] of this.entities.get(kind) ?? []) {
      let lo = 0;
      let hi = versions.length - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if ((versions[mid] as Version).fromSeq <= seq) {
          found = mid;
          lo = mid + 1;
        } else {
          hi = mid - 1;
        }
      }
      if (found >= 0) yield { entityId, fromSeq: (versions[found] as Version).fromSeq, facts: (versions[found] as Version).facts as T };
    }
  }

  /** The latest visit on or before the cutoff day among those known at `seq`. */
  lastVisit(patientId: string, seq: number, cutoffDay: number): string | undefined {
    const visits = this.visits.get(patientId);
    if (!visits) return undefined;
    let best = -Infinity;
    const { days, seqs } = visits;
    for (let i = 0; i < days.length; i += 1) {
      const day = days[i] as number;
      if (day > best && day <= cutoffDay && (seqs[i] as number) <= seq) best = day;
    }
    return best === -Infinity ? undefined : fromDay(best);
  }
}

/**
 * An in-memory mirror of the history read model (rpt_facts, visits on rpt_knowledge), per trial, loaded on a
 * trial's first report and brought up to date by sequence before each one. A report then picks
 * the versions valid at its sequence without a query per patient, and parses each version's
 * JSON once rather than on every report. Any number of reporting instances may each keep one:
 * the tables stay the source of truth.
 */
export class HistoryCache {
  private readonly trials = new Map<string, TrialHistory>();
  private readonly syncs = new Map<string, Promise<TrialHistory>>();
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

  /** The trial's facts valid at `seq`, with each patient's latest visit on or before `cutoff`. */
  async at(trialId: string, seq: number, cutoff: string): Promise<HistorySnapshot> {
    this.evictIdle(trialId);
    const trial = await this.synced(trialId, seq);
    const cutoffDay = toDay(cutoff);
    const patients: HistorySnapshot['patients'] = [];
    for (const { entityId, facts } of trial.validAt<PatientHistoryFacts>('patient', seq)) {
      patients.push({ patientId: entityId, facts, lastVisitOn: trial.lastVisit(entityId, seq, cutoffDay) });
    }
    const adverseEvents = [...trial.validAt<AdverseEventHistoryFacts>('adverse-event', seq)].map((v) => v.facts);
    let latest: { fromSeq: number; facts: CharterVersionPublished } | undefined;
    for (const version of trial.validAt<CharterVersionPublished>('charter', seq)) if (!latest || version.fromSeq > latest.fromSeq) latest = version;
    return { patients, adverseEvents, latestCharter: latest?.facts };
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
  private async synced(trialId: string, seq: number): Promise<TrialHistory> {
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
  private async load(trialId: string, current: TrialHistory | undefined): Promise<TrialHistory> {
    // Batches commit knowledge, facts and visits together, so every row up to this sequence is visible below.
    const [head] = (await this.dataSource.query('SELECT coalesce(max(seq), 0) AS seq FROM rpt_knowledge')) as Array<{ seq: string | number }>;
    const upTo = Number(head?.seq ?? 0);
    const trial = current && upTo >= current.upTo ? current : new TrialHistory();
    const from = trial.upTo;
    if (upTo === from) return trial;
    const [facts, visits] = await Promise.all([
      this.dataSource.query(
        `SELECT kind, entity_id, facts, from_seq FROM rpt_facts WHERE trial_id = $1 AND from_seq > $2 AND from_seq <= $3 ORDER BY from_seq`,
        [trialId, from, upTo],
      ) as Promise<Array<{ kind: HistoryKind; entity_id: string; facts: HistoryFacts; from_seq: string | number }>>,
      this.dataSource.query(
        `SELECT patient_id, visit_on - date '1970-01-01' AS day, seq FROM rpt_knowledge
          WHERE seq > $2 AND seq <= $3 AND trial_id = $1 AND visit_on IS NOT NULL ORDER BY seq`,
        [trialId, from, upTo],
      ) as Promise<Array<{ patient_id: string; day: number; seq: string | number }>>,
    ]);
    for (const row of facts) trial.addVersion(row.kind, row.entity_id, { fromSeq: Number(row.from_seq), facts: row.facts });
    for (const row of visits) trial.addVisit(row.patient_id, Number(row.day), Number(row.seq));
    trial.upTo = upTo;
    this.trials.set(trialId, trial);
    return trial;
  }
}
