import { DomainError, type CensoringRule, type EndpointDefinition, type EventMatcher, type Outcome } from '@app/contracts';
import {
  clopperPearson,
  cumulativeIncidence,
  cumulativeIncidenceAt,
  kaplanMeier,
  kmAt,
  round4,
  type CompetingRiskStatus,
} from '@app/statistics';
import type { CurvePoint } from './km-svg';

/**
 * The endpoint report of api.md ("Endpoint report", semantics 1-7) as a pure function of the facts
 * known at the report's knowledge time: no clock, no I/O. Choices api.md leaves open are marked
 * "Decision" below.
 */

export type GroupField = 'arm' | 'diabetes' | 'presentation' | 'segment' | 'site';
export type ReportBasis = 'adjudicated' | 'site-reported';
export type Segment = 'femoropopliteal' | 'btk';

/** A patient as known at the report's knowledge time, corrections applied. */
export interface PatientFacts {
  patientId: string;
  siteId: string;
  arm?: string;
  diabetes: boolean;
  presentation: 'claudication' | 'cli';
  /** A retracted patient never counts (api.md rule 1). */
  retracted?: boolean;
  /** Ends follow-up (api.md rule 3). */
  withdrawnOn?: string;
  indexProcedure?: { performedOn: string; segments: Segment[] };
  visitDates: string[];
}

/** The report of an adverse event as currently corrected. */
export interface AdverseEventFactsReport {
  kind: 'amputation' | 'tvr' | 'death' | 'other';
  onsetOn: string;
  limb?: 'index' | 'contralateral';
  amputation?: { level: 'major' | 'minor'; planned: boolean };
  tvr?: { clinicallyDriven: boolean };
}

/** An adverse event as known at the report's knowledge time, with its adjudication case if any. */
export interface AdverseEventFacts {
  eventId: string;
  patientId: string;
  report: AdverseEventFactsReport;
  retracted: boolean;
  /** The case's current state; absent = no case (kind other, or not opened yet). */
  adjudication?: { finalized: true; outcome: Outcome } | { finalized: false };
}

export interface ReportInput {
  trialId: string;
  asOf: { recordedAt: string; position: number };
  /** The clinical data cut, YYYY-MM-DD. */
  cutoff: string;
  basis: ReportBasis;
  groupBy: GroupField[];
  /** The charter version the report applies: its endpoints and its censoring rule (api.md "Endpoint report"). */
  charter: { version: string; endpoints: EndpointDefinition[]; censoring: CensoringRule };
  patients: PatientFacts[];
  adverseEvents: AdverseEventFacts[];
}

/** A group's key: one entry per `groupBy` field, in the requested order; `{}` when pooled. */
export type GroupKey = Partial<Record<GroupField, string | boolean | null>>;

export interface EndpointReportGroup {
  key: GroupKey;
  n: number;
  events: number;
  censored: number;
  pendingAdjudication: number;
  km: { survival: number; lower: number; upper: number; standardError: number };
  /** null where no patient of the group is evaluable at the horizon (the proportion is undefined). */
  crude: { evaluable: number; eventFree: number | null; lower: number | null; upper: number | null };
  /** Only for endpoints that do not include death (api.md rule 6). */
  cumulativeIncidence?: { estimate: number; lower: number; upper: number };
}

export interface EndpointReportEndpoint {
  id: string;
  label: string;
  horizonDays: number;
  groups: EndpointReportGroup[];
}

/** The JSON body of `GET /trials/{t}/reports/endpoints`. */
export interface EndpointReport {
  trialId: string;
  asOf: { recordedAt: string; position: number };
  cutoff: string;
  basis: ReportBasis;
  charterVersion: string;
  /** The censoring rule of that version: it "travels with it" (api.md), so the answer says how a withdrawal was censored. */
  censoring: CensoringRule;
  endpoints: EndpointReportEndpoint[];
}

/** One point of a Kaplan-Meier step curve: R survfit's row at a distinct observed time. */
export type { CurvePoint };

export interface EndpointCurve {
  endpointId: string;
  label: string;
  horizonDays: number;
  groups: Array<{ key: GroupKey; n: number; points: CurvePoint[] }>;
}

/** Segment key of a patient treated in both segments. */
export const BOTH_SEGMENTS = 'femoropopliteal+btk';

/** The endpoint report of api.md: for each charter endpoint, each non-empty group's estimates. */
export function computeEndpointReport(input: ReportInput): EndpointReport {
  const cohort = buildCohort(input);
  return {
    trialId: input.trialId,
    asOf: { recordedAt: input.asOf.recordedAt, position: input.asOf.position },
    cutoff: input.cutoff,
    basis: input.basis,
    charterVersion: input.charter.version,
    censoring: { withdrawal: input.charter.censoring.withdrawal },
    endpoints: input.charter.endpoints.map((endpoint) => ({
      id: endpoint.id,
      label: endpoint.label,
      horizonDays: endpoint.horizonDays,
      groups: groupObservations(cohort, endpoint).map(({ key, observations }) => summarize(key, observations, endpoint)),
    })),
  };
}

/**
 * Kaplan-Meier step points of one endpoint per group, for plotting: first the origin (day 0,
 * survival 1, everyone at risk), then one point per distinct observed time over all follow-up up
 * to cutoff. An unknown endpoint id is a DomainError `ENDPOINT_NOT_FOUND` (not_found).
 */
export function endpointCurve(input: ReportInput, endpointId: string): EndpointCurve {
  const endpoint = input.charter.endpoints.find((e) => e.id === endpointId);
  if (!endpoint) {
    throw new DomainError('ENDPOINT_NOT_FOUND', `charter ${input.charter.version} has no endpoint ${endpointId}`, 'not_found');
  }
  const cohort = buildCohort(input);
  return {
    endpointId: endpoint.id,
    label: endpoint.label,
    horizonDays: endpoint.horizonDays,
    groups: groupObservations(cohort, endpoint).map(({ key, observations }) => {
      const fit = kaplanMeier(observations.map((o) => ({ time: o.time, event: o.status === 1 })));
      const origin: CurvePoint = { time: 0, survival: 1, lower: 1, upper: 1, atRisk: fit.n, events: 0, censored: 0 };
      const steps = fit.steps.map((s): CurvePoint => ({
        time: s.time,
        survival: round4(s.survival),
        lower: round4(s.lower),
        upper: round4(s.upper),
        atRisk: s.nRisk,
        events: s.nEvent,
        censored: s.nCensor,
      }));
      return { key, n: fit.n, points: [origin, ...steps] };
    }),
  };
}

/** One patient's observation of one endpoint: days from the index procedure and how follow-up ended. */
export interface PatientFollowUp {
  patientId: string;
  key: GroupKey;
  time: number;
  /** 1 the endpoint event, 2 a death that is not part of the endpoint (competing), 0 censored. */
  status: CompetingRiskStatus;
}

/**
 * Each counted patient's (time, status) for one endpoint, by patient id: what the estimators of the
 * report and the curve are given, for checking the derivation itself (api.md semantics 1-3).
 */
export function patientFollowUp(input: ReportInput, endpointId: string): PatientFollowUp[] {
  const endpoint = input.charter.endpoints.find((e) => e.id === endpointId);
  if (!endpoint) {
    throw new DomainError('ENDPOINT_NOT_FOUND', `charter ${input.charter.version} has no endpoint ${endpointId}`, 'not_found');
  }
  const cohort = buildCohort(input);
  return cohort.groups
    .flatMap((g) =>
      g.patients.map((p) => {
        const { patientId, time, status } = observe(cohort, endpoint, p);
        return { patientId, key: g.key, time, status };
      }),
    )
    .sort((a, b) => compareStrings(a.patientId, b.patientId));
}

// --- the cohort: patients who count, with their adverse events, in day numbers ---

/** An adverse event classified as the basis sees it (or as the site reported it), in days since the epoch. */
interface Classification {
  kind: 'amputation' | 'tvr' | 'death' | 'other' | 'none';
  day: number;
  limb?: 'index' | 'contralateral';
  amputationLevel?: 'major' | 'minor';
  planned?: boolean;
  clinicallyDriven?: boolean;
}

interface CohortEvent {
  /** The report as currently corrected. */
  siteReported: Classification;
  /** The finalized outcome, if the case is finalized. */
  adjudicated?: { isEndpointEvent: boolean; classification: Classification };
  finalized: boolean;
}

interface CohortPatient {
  patientId: string;
  key: GroupKey;
  keyValues: Array<string | boolean | null>;
  indexDay: number;
  /** Where follow-up ends without an event or a competing death: last contact ≤ cutoff, or as the withdrawal rule says. */
  censorDay: number;
  /** Withdrawal ≤ cutoff, if any: no event or death after it counts. */
  withdrawalDay?: number;
  /** Non-retracted adverse events with onset (as reported) in [index date, cutoff]. */
  events: CohortEvent[];
}

/** The patients of one group (non-empty), the grouping being the same for every endpoint. */
interface CohortGroup {
  key: GroupKey;
  keyValues: Array<string | boolean | null>;
  patients: CohortPatient[];
}

interface Cohort {
  basis: ReportBasis;
  cutoffDay: number;
  /** Ordered by their key values (null < false < true < strings). */
  groups: CohortGroup[];
}

function buildCohort(input: ReportInput): Cohort {
  // Many patients share dates: each distinct date is parsed once per report.
  const days = new Map<string, number>();
  // `what` names the date in an error; `{id}` stands for the id, so no message is built unless one is thrown.
  const dayNumber = (date: string, what: string, id = ''): number => {
    let day = days.get(date);
    if (day === undefined) days.set(date, (day = parseDay(date, what.replace('{id}', id))));
    return day;
  };
  const cutoffDay = dayNumber(input.cutoff, 'cutoff');
  const fields = [...new Set(input.groupBy)];
  const byPatient = new Map<string, AdverseEventFacts[]>();
  for (const ae of input.adverseEvents) {
    // Decision: a retracted adverse event never counts, under either basis (the site says it did
    // not happen; its case is reopened), and is no contact either.
    if (ae.retracted) continue;
    const list = byPatient.get(ae.patientId) ?? [];
    list.push(ae);
    byPatient.set(ae.patientId, list);
  }
  const patients: CohortPatient[] = [];
  for (const p of [...input.patients].sort((a, b) => compareStrings(a.patientId, b.patientId))) {
    // api.md rule 1: an index procedure on or before cutoff, not retracted.
    if (p.retracted || !p.indexProcedure) continue;
    const indexDay = dayNumber(p.indexProcedure.performedOn, 'patient {id} index procedure', p.patientId);
    if (indexDay > cutoffDay) continue;
    const aes = byPatient.get(p.patientId) ?? [];
    const contacts = [indexDay];
    for (const visit of p.visitDates) contacts.push(dayNumber(visit, 'patient {id} visit', p.patientId));
    const events: CohortEvent[] = [];
    for (const ae of aes) {
      const siteReported = fromReport(ae.report, dayNumber(ae.report.onsetOn, 'adverse event {id} onset', ae.eventId));
      contacts.push(siteReported.day);
      const adjudication = ae.adjudication;
      const adjudicated = adjudication?.finalized
        ? {
            isEndpointEvent: adjudication.outcome.isEndpointEvent,
            classification: fromOutcome(
              adjudication.outcome,
              adjudication.outcome.onsetOn === undefined
                ? siteReported.day
                : dayNumber(adjudication.outcome.onsetOn, 'adjudicated onset of {id}', ae.eventId),
            ),
          }
        : undefined;
      events.push({ siteReported, adjudicated, finalized: adjudication?.finalized === true });
    }
    const withdrawnOn = p.withdrawnOn === undefined ? undefined : dayNumber(p.withdrawnOn, 'patient {id} withdrawal', p.patientId);
    // api.md rule 3: a withdrawal after the cutoff is not one yet.
    const withdrawalDay = withdrawnOn !== undefined && withdrawnOn <= cutoffDay ? withdrawnOn : undefined;
    const censorDay = followUpEnd(input.charter.censoring, indexDay, contacts, cutoffDay, withdrawalDay);
    const keyValues = fields.map((field) => groupValue(p, field));
    const key: GroupKey = {};
    fields.forEach((field, i) => {
      key[field] = keyValues[i] ?? null;
    });
    patients.push({ patientId: p.patientId, key, keyValues, indexDay, censorDay, withdrawalDay, events });
  }
  const groups = new Map<string, CohortGroup>();
  for (const p of patients) {
    const id = JSON.stringify(p.keyValues);
    const group = groups.get(id);
    if (group) group.patients.push(p);
    else groups.set(id, { key: p.key, keyValues: p.keyValues, patients: [p] });
  }
  return { basis: input.basis, cutoffDay, groups: [...groups.values()].sort((a, b) => compareKeys(a.keyValues, b.keyValues)) };
}

/**
 * The day follow-up ends for a patient without an event or a competing death (api.md "Endpoint
 * report", semantics 3): the last known contact ≤ cutoff; after a withdrawal ≤ cutoff, the withdrawal
 * date itself (the patient's status was known when they withdrew) or, when the charter says
 * `censoring: {withdrawal: "last-contact"}`, the last contact on or before the withdrawal. A contact
 * after the withdrawal never extends follow-up.
 */
function followUpEnd(
  rule: CensoringRule,
  indexDay: number,
  contacts: number[],
  cutoffDay: number,
  withdrawalDay: number | undefined,
): number {
  let end: number;
  if (withdrawalDay === undefined) end = lastOnOrBefore(contacts, cutoffDay);
  else {
    const withdrawal = rule.withdrawal;
    switch (withdrawal) {
      case 'withdrawal-date':
        end = withdrawalDay;
        break;
      case 'last-contact':
        end = lastOnOrBefore(contacts, withdrawalDay);
        break;
      default: {
        const unknown: never = withdrawal;
        throw new RangeError(`unknown withdrawal censoring ${String(unknown)}`);
      }
    }
  }
  // Decision: a withdrawal dated before the index procedure leaves follow-up 0, not negative.
  return Math.max(indexDay, end);
}

/** The latest day ≤ `limit`, or -Infinity when there is none. */
function lastOnOrBefore(days: number[], limit: number): number {
  let latest = -Infinity;
  for (const d of days) if (d <= limit && d > latest) latest = d;
  return latest;
}

/**
 * Decision: a patient without an arm (single-arm registry) has arm `null`; the segment of a patient
 * with lesions in both segments is `femoropopliteal+btk`, of one without lesions `null`.
 */
function groupValue(p: PatientFacts, field: GroupField): string | boolean | null {
  switch (field) {
    case 'arm':
      return p.arm ?? null;
    case 'diabetes':
      return p.diabetes;
    case 'presentation':
      return p.presentation;
    case 'site':
      return p.siteId;
    case 'segment': {
      const segments = new Set(p.indexProcedure?.segments ?? []);
      if (segments.has('femoropopliteal') && segments.has('btk')) return BOTH_SEGMENTS;
      if (segments.has('femoropopliteal')) return 'femoropopliteal';
      if (segments.has('btk')) return 'btk';
      return null;
    }
    default: {
      const unknown: never = field;
      throw new RangeError(`unknown group field ${String(unknown)}`);
    }
  }
}

function fromReport(report: AdverseEventFactsReport, day: number): Classification {
  return {
    kind: report.kind,
    day,
    limb: report.limb,
    amputationLevel: report.amputation?.level,
    planned: report.amputation?.planned,
    clinicallyDriven: report.tvr?.clinicallyDriven,
  };
}

/** The adjudicated outcome at its onset day (without its own onset, the report's). */
function fromOutcome(outcome: Outcome, day: number): Classification {
  return {
    kind: outcome.kind,
    day,
    limb: outcome.limb,
    amputationLevel: outcome.amputation?.level,
    planned: outcome.amputation?.planned,
    clinicallyDriven: outcome.tvr?.clinicallyDriven,
  };
}

// --- per endpoint: one observation per patient ---

interface Observation {
  patientId: string;
  /** Days from the index procedure to the event, the competing death or the end of follow-up. */
  time: number;
  /** 1 the endpoint event, 2 a death that is not part of the endpoint, 0 censored. */
  status: CompetingRiskStatus;
  pendingAdjudication: number;
}

function matches(m: EventMatcher, c: Classification): boolean {
  return (
    m.kind === c.kind &&
    (m.limb === undefined || m.limb === c.limb) &&
    (m.amputationLevel === undefined || m.amputationLevel === c.amputationLevel) &&
    (m.planned === undefined || m.planned === c.planned) &&
    (m.clinicallyDriven === undefined || m.clinicallyDriven === c.clinicallyDriven)
  );
}

function isEndpointEvent(endpoint: EndpointDefinition, c: Classification): boolean {
  if (endpoint.includesDeath === true && c.kind === 'death') return true;
  for (const m of endpoint.events) if (matches(m, c)) return true;
  return false;
}

/** Within follow-up: from the index procedure to the cutoff. */
function inWindow(c: Classification, p: CohortPatient, cohort: Cohort): boolean {
  return c.day >= p.indexDay && c.day <= cohort.cutoffDay;
}

/** Death is part of the endpoint by `includesDeath` or by a matcher of kind death. */
function includesDeath(endpoint: EndpointDefinition): boolean {
  return endpoint.includesDeath === true || endpoint.events.some((m) => m.kind === 'death');
}

function observe(cohort: Cohort, endpoint: EndpointDefinition, p: CohortPatient): Observation {
  // Decision: follow-up starts at the index procedure; an event dated before it (by the report
  // or by the adjudicated onset) is no endpoint event, no competing death and not pending.
  let firstEvent = Infinity;
  let firstDeath = Infinity;
  let pendingAdjudication = 0;
  for (const e of p.events) {
    if (inWindow(e.siteReported, p, cohort) && isEndpointEvent(endpoint, e.siteReported) && !e.finalized) pendingAdjudication += 1;
    let seen: Classification | undefined;
    let counts = false;
    if (cohort.basis === 'site-reported') {
      seen = e.siteReported;
      counts = true;
    } else if (e.adjudicated) {
      seen = e.adjudicated.classification;
      counts = e.adjudicated.isEndpointEvent;
    }
    if (!seen || !inWindow(seen, p, cohort)) continue;
    if (counts && isEndpointEvent(endpoint, seen)) firstEvent = Math.min(firstEvent, seen.day);
    // A death the basis knows of that is not this endpoint's event ends follow-up. Adjudicated,
    // a finalized outcome of kind death is a death even when the CEC rules it no endpoint event.
    else if (seen.kind === 'death') firstDeath = Math.min(firstDeath, seen.day);
  }
  const withdrawal = p.withdrawalDay ?? Infinity;
  // api.md rule 3: an event on the day of the withdrawal or of a competing death still counts, under
  // either censoring rule: its own date is the patient's time.
  if (Number.isFinite(firstEvent) && firstEvent <= Math.min(withdrawal, firstDeath)) {
    return { patientId: p.patientId, time: firstEvent - p.indexDay, status: 1, pendingAdjudication };
  }
  if (Number.isFinite(firstDeath) && firstDeath <= withdrawal)
    return { patientId: p.patientId, time: firstDeath - p.indexDay, status: 2, pendingAdjudication };
  return { patientId: p.patientId, time: p.censorDay - p.indexDay, status: 0, pendingAdjudication };
}

interface GroupObservations {
  key: GroupKey;
  observations: Observation[];
}

/** Each group's observations of one endpoint. */
function groupObservations(cohort: Cohort, endpoint: EndpointDefinition): GroupObservations[] {
  return cohort.groups.map((group) => {
    const observations: Observation[] = new Array(group.patients.length);
    for (let i = 0; i < group.patients.length; i += 1) observations[i] = observe(cohort, endpoint, group.patients[i] as CohortPatient);
    // In time order, the estimators' own sorts (stable, adaptive) take linear time.
    observations.sort((a, b) => a.time - b.time);
    return { key: group.key, observations };
  });
}

function summarize(key: GroupKey, observations: Observation[], endpoint: EndpointDefinition): EndpointReportGroup {
  const horizon = endpoint.horizonDays;
  const events = observations.filter((o) => o.status === 1).length;
  const km = kmAt(kaplanMeier(observations.map((o) => ({ time: o.time, event: o.status === 1 }))), horizon);
  const eventsByHorizon = observations.filter((o) => o.status === 1 && o.time <= horizon).length;
  const evaluable = observations.filter((o) => (o.status === 1 && o.time <= horizon) || o.time >= horizon).length;
  const crude = clopperPearson(evaluable - eventsByHorizon, evaluable);
  const group: EndpointReportGroup = {
    key,
    n: observations.length,
    events,
    censored: observations.length - events,
    pendingAdjudication: observations.reduce((sum, o) => sum + o.pendingAdjudication, 0),
    km: { survival: round4(km.survival), lower: round4(km.lower), upper: round4(km.upper), standardError: round4(km.standardError) },
    crude: { evaluable, eventFree: defined(crude.estimate), lower: defined(crude.lower), upper: defined(crude.upper) },
  };
  if (!includesDeath(endpoint)) {
    const ci = cumulativeIncidenceAt(cumulativeIncidence(observations.map((o) => ({ time: o.time, status: o.status }))), horizon);
    group.cumulativeIncidence = { estimate: round4(ci.estimate), lower: round4(ci.lower), upper: round4(ci.upper) };
  }
  return group;
}

// --- small helpers ---

const DAY_MS = 86_400_000;

/** Calendar days since 1970-01-01 of a `YYYY-MM-DD` date. */
function parseDay(date: string, what: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(date) ? Date.parse(`${date}T00:00:00Z`) : NaN;
  if (!Number.isFinite(ms)) throw new RangeError(`${what}: not a date YYYY-MM-DD: ${date}`);
  return Math.round(ms / DAY_MS);
}

/** A proportion rounded, or null where it is undefined (NaN would print as null anyway). */
function defined(x: number): number | null {
  return Number.isNaN(x) ? null : round4(x);
}

/** Code-unit order, independent of locale. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function rank(v: string | boolean | null): number {
  if (v === null) return 0;
  if (v === false) return 1;
  if (v === true) return 2;
  return 3;
}

function compareKeys(a: Array<string | boolean | null>, b: Array<string | boolean | null>): number {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    const byRank = rank(x) - rank(y);
    if (byRank !== 0) return byRank;
    if (typeof x === 'string' && typeof y === 'string') {
      const byString = compareStrings(x, y);
      if (byString !== 0) return byString;
    }
  }
  return 0;
}
