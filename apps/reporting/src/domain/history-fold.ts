import type { AdverseEventEvent, CaseEvent, CharterVersionPublished, Outcome, PatientEvent, ProcedureRecorded } from '@app/contracts';
import { evolveAdverseEvent, initialAdverseEventState, type AdverseEventState } from '../../../adverse-events/src/domain/adverse-event.decider';
import { evolvePatient, initialPatientState, type PatientState } from '../../../enrollment/src/domain/patient.decider';
import type { AdverseEventFacts, PatientFacts, ReportBasis, GroupField } from './endpoint-report';

/**
 * The fold from a trial's log to the facts an endpoint report reads, shared by the history read
 * model (which versions each result) and by `trialctl replay` (which keeps only the latest), so
 * a replay of an export computes what the API computes.
 */

/** What the history keeps of a patient: enrolment state (visits are kept apart) and the index procedure. */
export interface PatientHistoryFacts {
  patient: PatientState;
  indexProcedure?: { performedOn: string; segments: Array<'femoropopliteal' | 'btk'> };
}

/** What the history keeps of an adverse event: the site report and where its adjudication stands. */
export interface AdverseEventHistoryFacts {
  state: AdverseEventState;
  adjudication?: { finalized: true; outcome: Outcome } | { finalized: false };
}

export type HistoryKind = 'patient' | 'adverse-event' | 'charter';
export type HistoryFacts = PatientHistoryFacts | AdverseEventHistoryFacts | CharterVersionPublished;

/** What one event changes: a new version of an entity's facts, or a visit (only ever added). */
export type HistoryChange =
  | { type: 'facts'; trialId: string; kind: HistoryKind; entityId: string; facts: HistoryFacts }
  | { type: 'visit'; trialId: string; patientId: string; visitOn: string };

export interface LoggedEvent {
  streamId: string;
  type: string;
  data: unknown;
}

const SINGLE_STREAMS = new Set(['trial', 'unblinding']);
const ENTITY_STREAMS = new Set(['patient', 'procedures', 'adverse-event', 'case']);

/** The trial a stream belongs to (`trial/{t}`, `unblinding/{t}`, `{family}/{t}/{id}`), else undefined. */
export function trialOfStream(streamId: string): string | undefined {
  const parts = streamId.split('/');
  const [family, trialId] = parts;
  if (!family || !trialId) return undefined;
  if (parts.length === 2 && SINGLE_STREAMS.has(family)) return trialId;
  if (parts.length === 3 && ENTITY_STREAMS.has(family) && parts[2]) return trialId;
  return undefined;
}

/**
 * The entity whose current facts folding this event reads (a case's is its adverse event: caseId
 * = eventId); undefined when it reads none (a visit is only added).
 */
export function historyEntityOf(event: { streamId: string; type: string }): { trialId: string; kind: HistoryKind; entityId: string } | undefined {
  if (event.type === 'VisitRecorded') return undefined;
  const [family, trialId, entityId] = event.streamId.split('/');
  if (!trialId || !entityId) return undefined;
  if (family === 'patient' || family === 'procedures') return { trialId, kind: 'patient', entityId };
  if (family === 'adverse-event' || family === 'case') return { trialId, kind: 'adverse-event', entityId };
  return undefined;
}

/**
 * The change one event makes to the report facts, given the current facts of the entity it
 * touches (`current` must answer for `historyEntityOf(event.streamId)`); undefined when the event
 * changes nothing a report reads.
 */
export function foldHistoryEvent(event: LoggedEvent, current: (kind: HistoryKind, entityId: string) => HistoryFacts | undefined): HistoryChange | undefined {
  const [family, trialId, entityId] = event.streamId.split('/');
  if (!trialId) return undefined;
  if (!entityId) {
    if (family !== 'trial' || event.type !== 'CharterVersionPublished') return undefined;
    const charter = event.data as CharterVersionPublished;
    return { type: 'facts', trialId, kind: 'charter', entityId: charter.version, facts: charter };
  }
  switch (family) {
    case 'patient': {
      if (event.type === 'VisitRecorded') return { type: 'visit', trialId, patientId: entityId, visitOn: (event.data as { visitOn: string }).visitOn };
      const facts = (current('patient', entityId) as PatientHistoryFacts | undefined) ?? { patient: initialPatientState() };
      const patient = evolvePatient(facts.patient, { type: event.type, data: event.data } as PatientEvent);
      return { type: 'facts', trialId, kind: 'patient', entityId, facts: { ...facts, patient } };
    }
    case 'procedures': {
      const procedure = event.data as ProcedureRecorded;
      if (event.type !== 'ProcedureRecorded' || !procedure.index) return undefined;
      const facts = (current('patient', entityId) as PatientHistoryFacts | undefined) ?? { patient: initialPatientState() };
      const segments = [...new Set(procedure.lesions.map((l) => l.segment))].sort();
      return { type: 'facts', trialId, kind: 'patient', entityId, facts: { ...facts, indexProcedure: { performedOn: procedure.performedOn, segments } } };
    }
    case 'adverse-event': {
      const facts = (current('adverse-event', entityId) as AdverseEventHistoryFacts | undefined) ?? { state: initialAdverseEventState() };
      const state = evolveAdverseEvent(facts.state, { type: event.type, data: event.data } as AdverseEventEvent);
      return { type: 'facts', trialId, kind: 'adverse-event', entityId, facts: { ...facts, state } };
    }
    case 'case': {
      const caseEvent = { type: event.type, data: event.data } as CaseEvent;
      const adjudication =
        caseEvent.type === 'CaseFinalized'
          ? { finalized: true as const, outcome: caseEvent.data.outcome }
          : caseEvent.type === 'CaseOpened' || caseEvent.type === 'CaseReopened' || caseEvent.type === 'CaseCancelled'
            ? { finalized: false as const }
            : undefined;
      if (!adjudication) return undefined;
      const facts = current('adverse-event', entityId) as AdverseEventHistoryFacts | undefined;
      if (!facts) return undefined;
      return { type: 'facts', trialId, kind: 'adverse-event', entityId, facts: { ...facts, adjudication } };
    }
    default:
      return undefined;
  }
}

/** A patient as a report reads it; undefined unless enrolled. `lastVisitOn` = latest visit ≤ cutoff. */
export function patientForReport(facts: PatientHistoryFacts, lastVisitOn: string | undefined): PatientFacts | undefined {
  const p = facts.patient;
  if (p.status !== 'enrolled') return undefined;
  return {
    patientId: p.patientId,
    siteId: p.siteId,
    ...(p.arm !== undefined ? { arm: p.arm } : {}),
    diabetes: p.baseline.diabetes,
    presentation: p.baseline.presentation,
    ...(p.withdrawal ? { withdrawnOn: p.withdrawal.withdrawnOn } : {}),
    ...(facts.indexProcedure ? { indexProcedure: facts.indexProcedure } : {}),
    visitDates: lastVisitOn !== undefined ? [lastVisitOn] : [],
  };
}

/** An adverse event as a report reads it; undefined before it is reported. */
export function adverseEventForReport(facts: AdverseEventHistoryFacts): AdverseEventFacts | undefined {
  const s = facts.state;
  if (s.status === 'absent') return undefined;
  return { eventId: s.eventId, patientId: s.patientId, report: s.report, retracted: s.status === 'retracted', ...(facts.adjudication ? { adjudication: facts.adjudication } : {}) };
}

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
