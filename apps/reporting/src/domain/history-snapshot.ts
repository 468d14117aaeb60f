import type { Charter } from './default-charter';
import type { GroupField, ReportBasis, ReportInput } from './endpoint-report';
import {
  patientForReport,
  type AdverseEventHistoryFacts,
  type HistoryFacts,
  type HistoryFactsByKind,
  type HistoryKind,
  type PatientHistoryFacts,
} from './history-fold';

/**
 * A trial's history in memory: every version of every entity's report facts and every visit,
 * each with the knowledge sequence it became known at. The API's read-model mirror and
 * `trialctl replay` both answer "the facts valid at sequence S" through it.
 */

/** Report parameters as the API and `trialctl replay` accept them (after validation). */
export interface ReportQuery {
  asOf?: string;
  asOfPosition?: number;
  cutoff?: string;
  basis: ReportBasis;
  groupBy: GroupField[];
}

/** The clinical data cut of a report: as given, else the UTC date of its knowledge time. */
export function reportCutoff(query: ReportQuery, asOf: { recordedAt: string }): string {
  return query.cutoff ?? asOf.recordedAt.slice(0, 10);
}

/** One version of an entity's facts, valid from its sequence until the next version's. */
export interface Version {
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
  latestCharter: Charter | undefined;
}

const DAY_MS = 86_400_000;
/** Days since 1970-01-01 of a YYYY-MM-DD date. */
export const toDay = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY_MS;
const fromDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

export class TrialHistory {
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

  /** An entity's latest version's facts. */
  current<K extends HistoryKind>(kind: K, entityId: string): HistoryFactsByKind[K] | undefined {
    // Versions are filed under their kind (addVersion), so the kind types them.
    return this.entities.get(kind)?.get(entityId)?.at(-1)?.facts as HistoryFactsByKind[K] | undefined;
  }

  /** Each entity's version valid at `seq` (the last one from at or before it). */
  *validAt<K extends HistoryKind>(kind: K, seq: number): Generator<{ entityId: string; fromSeq: number; facts: HistoryFactsByKind[K] }> {
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
      if (found >= 0)
        yield {
          entityId,
          fromSeq: (versions[found] as Version).fromSeq,
          facts: (versions[found] as Version).facts as HistoryFactsByKind[K],
        };
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

  /** The trial's facts valid at `seq`, with each patient's latest visit on or before `cutoff` and before their withdrawal. */
  snapshot(seq: number, cutoff: string): HistorySnapshot {
    const cutoffDay = toDay(cutoff);
    const patients: HistorySnapshot['patients'] = [];
    for (const { entityId, facts } of this.validAt('patient', seq)) {
      // api.md rule 3: no contact after a withdrawal is follow-up, and the last one on or before it is
      // where a `last-contact` charter censors: the latest visit up to the earlier of the two dates.
      const withdrawnOn = facts.enrolment?.withdrawnOn;
      const limit = withdrawnOn === undefined ? cutoffDay : Math.min(cutoffDay, toDay(withdrawnOn));
      patients.push({ patientId: entityId, facts, lastVisitOn: this.lastVisit(entityId, seq, limit) });
    }
    const adverseEvents = [...this.validAt('adverse-event', seq)].map((v) => v.facts);
    let latest: { fromSeq: number; facts: Charter } | undefined;
    for (const version of this.validAt('charter', seq)) if (!latest || version.fromSeq > latest.fromSeq) latest = version;
    return { patients, adverseEvents, latestCharter: latest?.facts };
  }
}

/**
 * The report input of a snapshot at a resolved knowledge time: enrolled patients, reported
 * adverse events, the cut-off (default: the UTC date of the knowledge time) and the latest charter
 * version known then (else the default charter).
 */
export function reportInputAt(
  snapshot: HistorySnapshot,
  args: { trialId: string; query: ReportQuery; asOf: { recordedAt: string; position: number }; defaultCharter: ReportInput['charter'] },
): ReportInput {
  const { query, asOf } = args;
  const charter = snapshot.latestCharter;
  return {
    trialId: args.trialId,
    asOf,
    cutoff: reportCutoff(query, asOf),
    basis: query.basis,
    groupBy: query.groupBy,
    charter: charter ? { version: charter.version, endpoints: charter.endpoints, censoring: charter.censoring } : args.defaultCharter,
    patients: snapshot.patients.flatMap(({ facts, lastVisitOn }) => patientForReport(facts, lastVisitOn) ?? []),
    // Kept in the shape a report reads: retracted ones included, flagged (the report skips them).
    adverseEvents: snapshot.adverseEvents,
  };
}
