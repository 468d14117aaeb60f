import { DomainError, parseStreamId, type CensoringRule, type DataCutFrozen } from '@app/contracts';
import { logRank, round4 } from '@app/statistics';
import { defaultCharter } from './default-charter';
import {
  computeEndpointReport,
  endpointCurve,
  patientFollowUp,
  type EndpointReportGroup,
  type GroupField,
  type GroupKey,
  type ReportInput,
} from './endpoint-report';
import type { CurvePoint } from './km-svg';
import { replayReportInput, type ReplayedEvent } from './replay';

/**
 * What a DSMB data cut shows (api.md "Data cuts"), as a pure function of the trial's log up to the
 * cut's knowledge position and the cut's own parameters: the API computes it from the store's log
 * when the cut is frozen and whenever a document is read, `trialctl cut` from an audit export, with
 * this same code, so the documents rendered from it are the same bytes everywhere.
 *
 * Endpoint figures are the endpoint report's (api.md "Endpoint report", basis `adjudicated`), from
 * the same replay as `trialctl replay`; the rest (patient flow, visits due, adverse events by CEC
 * status, the source of each ADTTE date) is folded here from the same events.
 */

/** An event of the trial's log as delivered (export order), with its integrity hash. */
export interface CutLogEvent extends ReplayedEvent {
  hash: string;
}

/** The parameters a cut is frozen with (DataCutFrozen, less what is derived). */
export interface DataCutParameters {
  trialId: string;
  dataCutId: string;
  cutoff: string;
  /** Global position of the trial's last event the cut includes. */
  position: number;
  note: string;
  replaces?: string;
}

/** The parameters a cut's content is derived from, as DataCutFrozen records them. */
export function parametersOf(cut: DataCutFrozen): DataCutParameters {
  return {
    trialId: cut.trialId,
    dataCutId: cut.dataCutId,
    cutoff: cut.cutoff,
    position: cut.position,
    note: cut.note,
    ...(cut.replaces !== undefined ? { replaces: cut.replaces } : {}),
  };
}

/**
 * Visits and their windows: a visit is due by the cut-off once its window has closed on or before
 * the cut-off (target day after the index procedure + window), unless the patient withdrew or died
 * before the target day. Decision: 30 d ± 7, 6 m (day 182) ± 30, 12 m (day 365) ± 30.
 */
export const SCHEDULED_VISITS = [
  { visit: '30d', targetDay: 30, windowDays: 7 },
  { visit: '6m', targetDay: 182, windowDays: 30 },
  { visit: '12m', targetDay: 365, windowDays: 30 },
] as const;

/** Numbers at risk are given every this many days from day 0 up to the endpoint's horizon. */
export const AT_RISK_INTERVAL_DAYS = 30;

/** The subgroups the open report breaks each endpoint down by (pooled over arms: no unblinding). */
export const OPEN_SUBGROUPS: GroupField[] = ['diabetes', 'presentation'];

export interface VisitDue {
  patientId: string;
  siteId: string;
  visit: string;
  dueOn: string;
  /** Window end: the day the visit became overdue when not done. */
  windowEndsOn: string;
  doneOn?: string;
}

export interface EndpointGroupFigures extends EndpointReportGroup {
  /** Label of the group as printed ("All patients", "diabetes", "arm DCB", …). */
  label: string;
  /** Patients at risk at each AT_RISK_INTERVAL_DAYS step, from day 0 to the horizon. */
  atRisk: Array<{ day: number; n: number }>;
}

export interface EndpointFigures {
  id: string;
  label: string;
  horizonDays: number;
  includesDeath: boolean;
  /** Pooled first, then the breakdown of the session (OPEN_SUBGROUPS, or arm). */
  tables: Array<{ by: GroupField | 'pooled'; groups: EndpointGroupFigures[] }>;
  /** The plotted step curves: pooled (open session) or by arm (closed). */
  curves: Array<{ label: string; points: CurvePoint[] }>;
  /** Closed session only, with two or more arms. */
  logRank?: {
    chiSquare: number;
    df: number;
    pValue: number | null;
    groups: Array<{ group: string; n: number; observed: number; expected: number }>;
  };
}

export interface AdtteRecord {
  STUDYID: string;
  USUBJID: string;
  SITEID: string;
  PARAMCD: string;
  PARAM: string;
  AVAL: number;
  AVALU: 'DAYS';
  STARTDT: string;
  ADT: string;
  CNSR: 0 | 1 | 2 | 3;
  EVNTDESC: string;
  CNSDTDSC: string;
  SRCDOM: string;
  SRCVAR: string;
  SRCSEQ: number;
  DIABFL: 'Y' | 'N';
  CLIFL: 'Y' | 'N';
  SEGMENT: string;
  TRTP: string;
  TRTA: string;
}

export interface SessionContent {
  session: 'open' | 'closed';
  endpoints: EndpointFigures[];
}

/** Everything the documents of a cut show. Plain data: rendering never computes a figure. */
export interface DataCutContent {
  cut: DataCutParameters & { knownAt: string; chainHead: string };
  trial: { title: string; protocolVersion: string; arms: string[] };
  charter: { version: string; censoring: CensoringRule };
  sites: Array<{ siteId: string; name: string; country: string }>;
  flow: {
    enrolled: number;
    indexProcedure: number;
    withdrawn: Array<{ patientId: string; siteId: string; withdrawnOn: string }>;
    died: Array<{ patientId: string; siteId: string; diedOn: string }>;
    visits: { due: number; done: number; overdue: VisitDue[] };
  };
  adverseEvents: {
    byKind: Array<{ kind: string; reported: number; adjudicated: number; pending: number; noCase: number }>;
    retracted: number;
    oldestPending?: { eventId: string; patientId: string; openedAt: string; ageDays: number };
  };
  open: SessionContent;
  closed: SessionContent;
  adtte: AdtteRecord[];
}

// --- the fold of what the endpoint report does not keep ---

interface SourcedDate {
  on: string;
  position: number;
}

interface FlowPatient {
  siteId: string;
  enrolledOn: string;
  indexOn?: string;
  indexPosition?: number;
  withdrawal?: SourcedDate;
  visits: Array<SourcedDate & { visit: string }>;
}

interface FlowEvent {
  patientId: string;
  kind: string;
  onsetOn: string;
  /** Position of the report or correction that set the current report. */
  reportPosition: number;
  retracted: boolean;
  caseStatus: 'none' | 'pending' | 'finalized';
  /** Knowledge instant the case's current round opened (CaseOpened or CaseReopened). */
  openedAt?: string;
  finalizedPosition?: number;
  outcomeOnsetOn?: string;
}

interface Flow {
  trial: { title: string; protocolVersion: string; arms: string[] };
  sites: Map<string, { name: string; country: string }>;
  patients: Map<string, FlowPatient>;
  events: Map<string, FlowEvent>;
}

type Data = Record<string, unknown>;
const str = (data: Data, key: string): string | undefined => (typeof data[key] === 'string' ? data[key] : undefined);

/** Folds the facts of patient flow, visits and CEC status the endpoint report does not keep. */
function foldFlow(events: readonly CutLogEvent[]): Flow {
  const flow: Flow = { trial: { title: '', protocolVersion: '', arms: [] }, sites: new Map(), patients: new Map(), events: new Map() };
  for (const event of events) {
    const stream = parseStreamId(event.streamId);
    if (!stream) continue;
    const data = (event.data ?? {}) as Data;
    switch (event.type) {
      case 'TrialRegistered':
        flow.trial = {
          title: str(data, 'title') ?? '',
          protocolVersion: str(data, 'protocolVersion') ?? '',
          arms: Array.isArray(data.arms) ? data.arms.map(String) : [],
        };
        break;
      case 'SiteAdded':
        flow.sites.set(str(data, 'siteId') ?? '', { name: str(data, 'name') ?? '', country: str(data, 'country') ?? '' });
        break;
      case 'PatientEnrolled':
        flow.patients.set(stream.entityId ?? '', {
          siteId: str(data, 'siteId') ?? '',
          enrolledOn: str(data, 'enrolledOn') ?? '',
          visits: [],
        });
        break;
      case 'PatientDataCorrected': {
        const patient = flow.patients.get(stream.entityId ?? '');
        const changes = Array.isArray(data.changes) ? (data.changes as Array<{ field?: unknown; value?: unknown }>) : [];
        for (const change of changes)
          if (patient && change.field === 'enrolledOn' && typeof change.value === 'string') patient.enrolledOn = change.value;
        break;
      }
      case 'PatientWithdrawn': {
        const patient = flow.patients.get(stream.entityId ?? '');
        if (patient) patient.withdrawal = { on: str(data, 'withdrawnOn') ?? '', position: event.globalPosition };
        break;
      }
      case 'VisitRecorded': {
        const patient = flow.patients.get(stream.entityId ?? '');
        patient?.visits.push({ visit: str(data, 'visit') ?? '', on: str(data, 'visitOn') ?? '', position: event.globalPosition });
        break;
      }
      case 'ProcedureRecorded': {
        const patient = flow.patients.get(stream.entityId ?? '');
        if (patient && data.index === true) {
          patient.indexOn = str(data, 'performedOn');
          patient.indexPosition = event.globalPosition;
        }
        break;
      }
      case 'AdverseEventReported':
        flow.events.set(stream.entityId ?? '', {
          patientId: str(data, 'patientId') ?? '',
          kind: str(data, 'kind') ?? 'other',
          onsetOn: str(data, 'onsetOn') ?? '',
          reportPosition: event.globalPosition,
          retracted: false,
          caseStatus: flow.events.get(stream.entityId ?? '')?.caseStatus ?? 'none',
        });
        break;
      case 'AdverseEventCorrected': {
        const ae = flow.events.get(stream.entityId ?? '');
        const changes = Array.isArray(data.changes) ? (data.changes as Array<{ field?: unknown; value?: unknown }>) : [];
        if (!ae) break;
        ae.reportPosition = event.globalPosition;
        for (const change of changes) {
          if (change.field === 'kind' && typeof change.value === 'string') ae.kind = change.value;
          if (change.field === 'onsetOn' && typeof change.value === 'string') ae.onsetOn = change.value;
        }
        break;
      }
      case 'AdverseEventRetracted': {
        const ae = flow.events.get(stream.entityId ?? '');
        if (ae) ae.retracted = true;
        break;
      }
      case 'CaseOpened':
      case 'CaseReopened': {
        const ae = flow.events.get(stream.entityId ?? '');
        if (ae) {
          ae.caseStatus = 'pending';
          ae.openedAt = event.recordedAt;
        }
        break;
      }
      case 'CaseCancelled': {
        const ae = flow.events.get(stream.entityId ?? '');
        if (ae) ae.caseStatus = 'none';
        break;
      }
      case 'CaseFinalized': {
        const ae = flow.events.get(stream.entityId ?? '');
        const outcome = (data.outcome ?? {}) as Data;
        if (ae) {
          ae.caseStatus = 'finalized';
          ae.finalizedPosition = event.globalPosition;
          ae.outcomeOnsetOn = str(outcome, 'onsetOn') ?? ae.onsetOn;
        }
        break;
      }
      default:
        break;
    }
  }
  return flow;
}

// --- the content ---

const DAY_MS = 86_400_000;
const dayOf = (date: string) => Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
const dateOf = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The content of a cut from the trial's log (in delivery order, the export's order; other trials'
 * events are ignored). The cut's position must be one of the trial's events.
 */
export function dataCutContent(log: readonly CutLogEvent[], cut: DataCutParameters): DataCutContent {
  const events = log.filter((e) => parseStreamId(e.streamId)?.trialId === cut.trialId);
  const end = events.findIndex((e) => e.globalPosition === cut.position);
  if (end < 0)
    throw new DomainError('POSITION_NOT_IN_LOG', `position ${cut.position} is not an event of trial ${cut.trialId}'s log`, 'not_found');
  const prefix = events.slice(0, end + 1);
  const input = replayReportInput(
    cut.trialId,
    prefix,
    { asOfPosition: cut.position, cutoff: cut.cutoff, basis: 'adjudicated', groupBy: [] },
    defaultCharter(),
  );
  const flow = foldFlow(prefix);
  const knownAt = input.asOf.recordedAt;
  return {
    cut: { ...cut, knownAt, chainHead: (prefix[end] as CutLogEvent).hash },
    trial: flow.trial,
    charter: { version: input.charter.version, censoring: { withdrawal: input.charter.censoring.withdrawal } },
    sites: [...flow.sites.entries()].map(([siteId, s]) => ({ siteId, ...s })).sort((a, b) => byString(a.siteId, b.siteId)),
    flow: patientFlow(flow, input),
    adverseEvents: adverseEventSummary(flow, cut.cutoff, knownAt),
    open: { session: 'open', endpoints: endpointFigures(input, OPEN_SUBGROUPS, false) },
    closed: { session: 'closed', endpoints: endpointFigures(input, ['arm'], true) },
    adtte: adtteRecords(input, flow),
  };
}

function patientFlow(flow: Flow, input: ReportInput): DataCutContent['flow'] {
  const cutoffDay = dayOf(input.cutoff);
  const deaths = new Map<string, string>();
  for (const ae of flow.events.values())
    if (!ae.retracted && ae.kind === 'death' && dayOf(ae.onsetOn) <= cutoffDay) {
      const earlier = deaths.get(ae.patientId);
      if (earlier === undefined || ae.onsetOn < earlier) deaths.set(ae.patientId, ae.onsetOn);
    }
  const ids = [...flow.patients.keys()].sort(byString);
  const withdrawn: DataCutContent['flow']['withdrawn'] = [];
  const died: DataCutContent['flow']['died'] = [];
  const due: VisitDue[] = [];
  let enrolled = 0;
  let indexProcedure = 0;
  for (const patientId of ids) {
    const p = flow.patients.get(patientId) as FlowPatient;
    if (dayOf(p.enrolledOn) <= cutoffDay) enrolled += 1;
    const withdrawalDay = p.withdrawal && dayOf(p.withdrawal.on) <= cutoffDay ? dayOf(p.withdrawal.on) : undefined;
    if (p.withdrawal && withdrawalDay !== undefined) withdrawn.push({ patientId, siteId: p.siteId, withdrawnOn: p.withdrawal.on });
    const diedOn = deaths.get(patientId);
    if (diedOn !== undefined) died.push({ patientId, siteId: p.siteId, diedOn });
    if (p.indexOn === undefined || dayOf(p.indexOn) > cutoffDay) continue;
    indexProcedure += 1;
    const indexDay = dayOf(p.indexOn);
    const leftDay = Math.min(withdrawalDay ?? Infinity, diedOn === undefined ? Infinity : dayOf(diedOn));
    for (const scheduled of SCHEDULED_VISITS) {
      const targetDay = indexDay + scheduled.targetDay;
      const windowEnd = targetDay + scheduled.windowDays;
      if (windowEnd > cutoffDay || leftDay < targetDay) continue;
      const done = p.visits
        .filter((v) => v.visit === scheduled.visit && dayOf(v.on) <= cutoffDay)
        .map((v) => v.on)
        .sort(byString)[0];
      due.push({
        patientId,
        siteId: p.siteId,
        visit: scheduled.visit,
        dueOn: dateOf(targetDay),
        windowEndsOn: dateOf(windowEnd),
        ...(done !== undefined ? { doneOn: done } : {}),
      });
    }
  }
  const overdue = due
    .filter((v) => v.doneOn === undefined)
    .sort((a, b) => byString(a.siteId, b.siteId) || byString(a.patientId, b.patientId));
  return { enrolled, indexProcedure, withdrawn, died, visits: { due: due.length, done: due.length - overdue.length, overdue } };
}

const AE_KINDS = ['amputation', 'tvr', 'death', 'other'];

function adverseEventSummary(flow: Flow, cutoff: string, knownAt: string): DataCutContent['adverseEvents'] {
  const cutoffDay = dayOf(cutoff);
  const rows = new Map(AE_KINDS.map((kind) => [kind, { kind, reported: 0, adjudicated: 0, pending: 0, noCase: 0 }]));
  let retracted = 0;
  let oldest: DataCutContent['adverseEvents']['oldestPending'];
  for (const [eventId, ae] of [...flow.events.entries()].sort((a, b) => byString(a[0], b[0]))) {
    if (dayOf(ae.onsetOn) > cutoffDay) continue;
    if (ae.retracted) {
      retracted += 1;
      continue;
    }
    let row = rows.get(ae.kind);
    if (!row) rows.set(ae.kind, (row = { kind: ae.kind, reported: 0, adjudicated: 0, pending: 0, noCase: 0 }));
    row.reported += 1;
    if (ae.caseStatus === 'finalized') row.adjudicated += 1;
    else if (ae.caseStatus === 'pending') row.pending += 1;
    else row.noCase += 1;
    if (ae.caseStatus === 'pending' && ae.openedAt !== undefined && (!oldest || ae.openedAt < oldest.openedAt)) {
      const ageDays = Math.max(0, Math.floor((Date.parse(knownAt) - Date.parse(ae.openedAt)) / DAY_MS));
      oldest = { eventId, patientId: ae.patientId, openedAt: ae.openedAt, ageDays };
    }
  }
  return { byKind: [...rows.values()], retracted, ...(oldest ? { oldestPending: oldest } : {}) };
}

/** A group key as printed. */
export function groupLabel(key: GroupKey): string {
  const entries = Object.entries(key);
  if (entries.length === 0) return 'All patients';
  return entries
    .map(([field, value]) => {
      if (field === 'diabetes') return value ? 'diabetes' : 'no diabetes';
      if (field === 'arm') return value === null ? 'no arm' : `arm ${String(value)}`;
      return String(value);
    })
    .join(', ');
}

function atRiskSteps(horizonDays: number, times: number[]): Array<{ day: number; n: number }> {
  const steps: Array<{ day: number; n: number }> = [];
  for (let day = 0; day <= horizonDays; day += AT_RISK_INTERVAL_DAYS) steps.push({ day, n: times.filter((t) => t >= day).length });
  return steps;
}

function endpointFigures(input: ReportInput, breakdown: GroupField[], closed: boolean): EndpointFigures[] {
  const pooled = computeEndpointReport({ ...input, groupBy: [] });
  const byField = breakdown.map((field) => ({ field, report: computeEndpointReport({ ...input, groupBy: [field] }) }));
  return input.charter.endpoints.map((endpoint, e) => {
    const figures = (groups: EndpointReportGroup[], groupBy: GroupField[]): EndpointGroupFigures[] => {
      const followUp = patientFollowUp({ ...input, groupBy }, endpoint.id);
      return groups.map((g) => ({
        ...g,
        label: groupLabel(g.key),
        atRisk: atRiskSteps(
          endpoint.horizonDays,
          followUp.filter((f) => JSON.stringify(f.key) === JSON.stringify(g.key)).map((f) => f.time),
        ),
      }));
    };
    const tables: EndpointFigures['tables'] = [{ by: 'pooled', groups: figures(pooled.endpoints[e]?.groups ?? [], []) }];
    for (const { field, report } of byField) tables.push({ by: field, groups: figures(report.endpoints[e]?.groups ?? [], [field]) });
    const curveInput = { ...input, groupBy: closed ? (['arm'] as GroupField[]) : [] };
    const curves = endpointCurve(curveInput, endpoint.id).groups.map((g) => ({ label: groupLabel(g.key), points: g.points }));
    const result: EndpointFigures = {
      id: endpoint.id,
      label: endpoint.label,
      horizonDays: endpoint.horizonDays,
      includesDeath: endpoint.includesDeath === true || endpoint.events.some((m) => m.kind === 'death'),
      tables,
      curves,
    };
    if (closed) {
      const observations = patientFollowUp(curveInput, endpoint.id).map((f) => ({
        time: f.time,
        event: f.status === 1,
        group: String(f.key.arm ?? 'no arm'),
      }));
      if (new Set(observations.map((o) => o.group)).size >= 2) {
        const test = logRank(observations);
        result.logRank = {
          chiSquare: round4(test.chiSquare),
          df: test.df,
          pValue: Number.isNaN(test.pValue) ? null : round4(test.pValue),
          groups: test.groups.map((g) => ({ group: g.group, n: g.n, observed: g.observed, expected: round4(g.expected) })),
        };
      }
    }
    return result;
  });
}

// --- ADaM ADTTE ---

function adtteRecords(input: ReportInput, flow: Flow): AdtteRecord[] {
  const patients = new Map(input.patients.map((p) => [p.patientId, p]));
  const aesByPatient = new Map<string, Array<FlowEvent & { eventId: string }>>();
  for (const [eventId, ae] of flow.events) {
    if (ae.retracted) continue;
    const list = aesByPatient.get(ae.patientId) ?? [];
    list.push({ ...ae, eventId });
    aesByPatient.set(ae.patientId, list);
  }
  const records: AdtteRecord[] = [];
  for (const endpoint of input.charter.endpoints) {
    for (const f of patientFollowUp({ ...input, groupBy: [] }, endpoint.id)) {
      const p = patients.get(f.patientId);
      const fp = flow.patients.get(f.patientId);
      if (!p?.indexProcedure || !fp) continue;
      const startDay = dayOf(p.indexProcedure.performedOn);
      const adt = dateOf(startDay + f.time);
      const withdrawn = p.withdrawnOn !== undefined && p.withdrawnOn <= input.cutoff;
      const cnsr: AdtteRecord['CNSR'] = f.status === 1 ? 0 : f.status === 2 ? 2 : withdrawn ? 3 : 1;
      const source = sourceOf(cnsr, adt, fp, aesByPatient.get(f.patientId) ?? []);
      const segments = new Set(p.indexProcedure.segments);
      const arm = p.arm ?? '';
      records.push({
        STUDYID: input.trialId,
        USUBJID: `${input.trialId}-${f.patientId}`,
        SITEID: p.siteId,
        PARAMCD: endpoint.id,
        PARAM: `${endpoint.label} (days)`,
        AVAL: f.time,
        AVALU: 'DAYS',
        STARTDT: p.indexProcedure.performedOn,
        ADT: adt,
        CNSR: cnsr,
        EVNTDESC: source.description,
        CNSDTDSC: cnsr === 0 ? '' : source.censorDescription,
        SRCDOM: source.domain,
        SRCVAR: source.variable,
        SRCSEQ: source.position,
        DIABFL: p.diabetes ? 'Y' : 'N',
        CLIFL: p.presentation === 'cli' ? 'Y' : 'N',
        SEGMENT: [...segments].sort().join('+'),
        TRTP: arm,
        TRTA: arm,
      });
    }
  }
  return records;
}

interface Source {
  description: string;
  censorDescription: string;
  domain: string;
  variable: string;
  position: number;
}

/**
 * Where a record's date comes from (admiral's event and censoring sources): the adverse event (its
 * CEC decision when adjudicated), the withdrawal, or the contact that was last: a visit, an adverse
 * event's onset or the index procedure. SRCSEQ is that fact's global position in the log.
 */
function sourceOf(cnsr: AdtteRecord['CNSR'], adt: string, p: FlowPatient, aes: Array<FlowEvent & { eventId: string }>): Source {
  const onDate = aes
    .filter((ae) => (ae.caseStatus === 'finalized' ? ae.outcomeOnsetOn : ae.onsetOn) === adt || ae.onsetOn === adt)
    .sort((a, b) => a.reportPosition - b.reportPosition);
  if (cnsr === 0 || cnsr === 2) {
    const ae = (cnsr === 2 ? onDate.filter((a) => a.kind === 'death') : onDate.filter((a) => a.caseStatus === 'finalized'))[0] ?? onDate[0];
    const adjudicated = ae?.caseStatus === 'finalized';
    return {
      description:
        cnsr === 2 ? 'DEATH (COMPETING RISK)' : `${(ae?.kind ?? 'event').toUpperCase()}${adjudicated ? ' (CEC ADJUDICATED)' : ''}`,
      censorDescription: cnsr === 2 ? 'DEATH' : '',
      domain: adjudicated ? 'CE' : 'AE',
      variable: adjudicated ? 'CESTDTC' : 'AESTDTC',
      position: (adjudicated ? ae?.finalizedPosition : ae?.reportPosition) ?? 0,
    };
  }
  if (cnsr === 3 && p.withdrawal && p.withdrawal.on === adt)
    return { description: '', censorDescription: 'WITHDRAWAL', domain: 'DS', variable: 'DSSTDTC', position: p.withdrawal.position };
  const label = cnsr === 3 ? 'WITHDRAWAL: LAST CONTACT' : 'LAST CONTACT';
  const visit = p.visits.filter((v) => v.on === adt).sort((a, b) => a.position - b.position)[0];
  if (visit)
    return {
      description: '',
      censorDescription: `${label}: VISIT ${visit.visit}`,
      domain: 'SV',
      variable: 'SVSTDTC',
      position: visit.position,
    };
  const ae = onDate[0];
  if (ae)
    return {
      description: '',
      censorDescription: `${label}: ADVERSE EVENT ONSET`,
      domain: 'AE',
      variable: 'AESTDTC',
      position: ae.reportPosition,
    };
  return {
    description: '',
    censorDescription: `${label}: INDEX PROCEDURE`,
    domain: 'PR',
    variable: 'PRSTDTC',
    position: p.indexPosition ?? 0,
  };
}
