import type { DataSource } from 'typeorm';
import type { HistoryFacts, HistoryKind } from '../domain/history-fold';
import { TrialHistory, type HistorySnapshot } from '../domain/history-snapshot';

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

  /** The trial's facts valid at `seq`, with each patient's latest visit on or before `cutoff`. */
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
    const [head] = (await this.dataSource.query('SELECT coalesce(max(seq), 0) AS seq FROM rpt_knowledge')) as Array<{ seq: string | number }>;
    const upTo = Number(head?.seq ?? 0);
    const trial = current && upTo >= current.upTo ? current : { history: new TrialHistory(), upTo: 0 };
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
    for (const row of facts) trial.history.addVersion(row.kind, row.entity_id, { fromSeq: Number(row.from_seq), facts: row.facts });
    for (const row of visits) trial.history.addVisit(row.patient_id, Number(row.day), Number(row.seq));
    trial.upTo = upTo;
    this.trials.set(trialId, trial);
    return trial;
  }
}
