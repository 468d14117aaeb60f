import {
  applyRecordedChanges,
  defaultCensoring,
  parseStreamId,
  type AdverseEventEvent,
  type AdverseEventReport,
  type CaseEvent,
  type PatientEvent,
  type ProcedureEvent,
  type TrialEvent,
} from '@app/contracts';
import type { Charter } from './default-charter';
import type { AdverseEventFacts, AdverseEventFactsReport, PatientFacts, Segment } from './endpoint-report';

/**
 * The fold from a trial's published events (@app/contracts) to the facts an endpoint report
 * reads, in reporting's own shapes: never another context's decider or state, so a refactor inside
 * enrollment or adverse-events cannot leave rows here that this code misreads.
 *
 * It is pure and lives in domain/ rather than in the read model (read-models/history.ts) because
 * `trialctl replay` folds an export with it, without TypeORM or a database: the history read model
 * versions each result, the replay keeps them in memory, and both compute the same report.
 */

/** What enrolment published of a patient that a report reads (api.md "Endpoint report"), corrections applied. */
export interface Enrolment {
  siteId: string;
  arm?: string;
  diabetes: boolean;
  presentation: 'claudication' | 'cli';
  enrolledOn: string;
  /** Ends follow-up (api.md rule 3). */
  withdrawnOn?: string;
}

/** A patient as the history keeps it; visits are kept apart (they are only ever added). */
export interface PatientHistoryFacts {
  patientId: string;
  /** Absent until the enrolment is known (a procedure folded first waits for it). */
  enrolment?: Enrolment;
  /** The first procedure: time origin and segments of the index limb. */
  indexProcedure?: { performedOn: string; segments: Segment[] };
}

/** An adverse event as the history keeps it: the report as corrected, retraction and the state of its case. */
export type AdverseEventHistoryFacts = AdverseEventFacts;

/** What each kind of entity keeps; a charter version is kept by its version id. */
export interface HistoryFactsByKind {
  patient: PatientHistoryFacts;
  'adverse-event': AdverseEventHistoryFacts;
  charter: Charter;
}
export type HistoryKind = keyof HistoryFactsByKind;
export type HistoryFacts = HistoryFactsByKind[HistoryKind];

/** The current facts of an entity, as whoever folds keeps them. */
export type CurrentFacts = <K extends HistoryKind>(kind: K, entityId: string) => HistoryFactsByKind[K] | undefined;

/** A new version of one entity's facts. */
export type FactsChange = {
  [K in HistoryKind]: { type: 'facts'; trialId: string; kind: K; entityId: string; facts: HistoryFactsByKind[K] };
}[HistoryKind];

/** What one event changes: a new version of an entity's facts, or a visit (only ever added). */
export type HistoryChange = FactsChange | { type: 'visit'; trialId: string; patientId: string; visitOn: string };

export interface LoggedEvent {
  streamId: string;
  type: string;
  data: unknown;
}

/**
 * The entity whose current facts folding this event reads (a case's is its adverse event: a case
 * is named after the event it adjudicates, see `caseOpenedFor`); undefined when it reads none.
 */
export function historyEntityOf(event: {
  streamId: string;
  type: string;
}): { trialId: string; kind: HistoryKind; entityId: string } | undefined {
  const stream = parseStreamId(event.streamId);
  if (!stream?.entityId || event.type === 'VisitRecorded') return undefined;
  switch (stream.family) {
    case 'patient':
    case 'procedures':
      return { trialId: stream.trialId, kind: 'patient', entityId: stream.entityId };
    case 'adverse-event':
    case 'case':
      return { trialId: stream.trialId, kind: 'adverse-event', entityId: stream.entityId };
    default: {
      const family: never = stream;
      return family;
    }
  }
}

/**
 * The change one event makes to the report facts, given the current facts of the entity it
 * touches (`current` must answer for `historyEntityOf(event)`); undefined when the event changes
 * nothing a report reads.
 */
export function foldHistoryEvent(event: LoggedEvent, current: CurrentFacts): HistoryChange | undefined {
  const stream = parseStreamId(event.streamId);
  if (!stream) return undefined;
  const { trialId } = stream;
  switch (stream.family) {
    case 'trial': {
      const charter = foldCharter(event as TrialEvent);
      return charter && { type: 'facts', trialId, kind: 'charter', entityId: charter.version, facts: charter };
    }
    case 'unblinding':
    case 'document-access':
    case 'data-cuts':
      return undefined;
    case 'patient': {
      const patientEvent = event as PatientEvent;
      if (patientEvent.type === 'VisitRecorded')
        return { type: 'visit', trialId, patientId: stream.entityId, visitOn: patientEvent.data.visitOn };
      const facts = foldPatient(current('patient', stream.entityId) ?? { patientId: stream.entityId }, patientEvent);
      return facts && { type: 'facts', trialId, kind: 'patient', entityId: stream.entityId, facts };
    }
    case 'procedures': {
      const facts = foldProcedure(current('patient', stream.entityId) ?? { patientId: stream.entityId }, event as ProcedureEvent);
      return facts && { type: 'facts', trialId, kind: 'patient', entityId: stream.entityId, facts };
    }
    case 'adverse-event': {
      const facts = foldAdverseEvent(current('adverse-event', stream.entityId), event as AdverseEventEvent);
      return facts && { type: 'facts', trialId, kind: 'adverse-event', entityId: stream.entityId, facts };
    }
    case 'case': {
      const facts = foldCase(current('adverse-event', stream.entityId), event as CaseEvent);
      return facts && { type: 'facts', trialId, kind: 'adverse-event', entityId: stream.entityId, facts };
    }
    default: {
      const family: never = stream;
      return family;
    }
  }
}

// Each fold lists every published event of its stream, so a new one is a compile error here; an
// event type this build does not know (written by a newer one) changes nothing, as a read model must tolerate.

function foldCharter(event: TrialEvent): Charter | undefined {
  switch (event.type) {
    case 'CharterVersionPublished':
      // A version published before the option existed carries no rule: it meant the default.
      return { version: event.data.version, endpoints: event.data.endpoints, censoring: event.data.censoring ?? defaultCensoring() };
    case 'TrialRegistered':
    case 'SiteAdded':
    case 'CommitteeMemberAdded':
      return undefined;
    default:
      return unknownEvent(event);
  }
}

function foldPatient(facts: PatientHistoryFacts, event: Exclude<PatientEvent, { type: 'VisitRecorded' }>): PatientHistoryFacts | undefined {
  switch (event.type) {
    case 'PatientEnrolled': {
      const { siteId, enrolledOn, arm, baseline } = event.data;
      return {
        ...facts,
        enrolment: {
          siteId,
          ...(arm !== undefined ? { arm } : {}),
          diabetes: baseline.diabetes,
          presentation: baseline.presentation,
          enrolledOn,
        },
      };
    }
    case 'PatientDataCorrected': {
      const enrolment = facts.enrolment;
      if (!enrolment) return undefined;
      // The change list names enrolment's published fields (correctablePatientFields): applied to
      // them, it changes what a report reads; the baseline fields no report reads are dropped after.
      const corrected = applyRecordedChanges<{ enrolledOn: string; arm?: string; baseline: Pick<Enrolment, 'diabetes' | 'presentation'> }>(
        {
          enrolledOn: enrolment.enrolledOn,
          ...(enrolment.arm !== undefined ? { arm: enrolment.arm } : {}),
          baseline: { diabetes: enrolment.diabetes, presentation: enrolment.presentation },
        },
        event.data.changes,
      );
      return {
        ...facts,
        enrolment: {
          siteId: enrolment.siteId,
          ...(corrected.arm !== undefined ? { arm: corrected.arm } : {}),
          diabetes: corrected.baseline.diabetes,
          presentation: corrected.baseline.presentation,
          enrolledOn: corrected.enrolledOn,
          ...(enrolment.withdrawnOn !== undefined ? { withdrawnOn: enrolment.withdrawnOn } : {}),
        },
      };
    }
    case 'PatientWithdrawn':
      return facts.enrolment ? { ...facts, enrolment: { ...facts.enrolment, withdrawnOn: event.data.withdrawnOn } } : undefined;
    default:
      return unknownEvent(event);
  }
}

function foldProcedure(facts: PatientHistoryFacts, event: ProcedureEvent): PatientHistoryFacts | undefined {
  // Only the index procedure (the patient's first) is a report's: its date is the time origin.
  if (event.type !== 'ProcedureRecorded' || !event.data.index) return undefined;
  const segments = [...new Set(event.data.lesions.map((l) => l.segment))].sort();
  return { ...facts, indexProcedure: { performedOn: event.data.performedOn, segments } };
}

function foldAdverseEvent(facts: AdverseEventHistoryFacts | undefined, event: AdverseEventEvent): AdverseEventHistoryFacts | undefined {
  switch (event.type) {
    case 'AdverseEventReported': {
      const { eventId, patientId } = event.data;
      return {
        eventId,
        patientId,
        report: reportFacts(event.data),
        retracted: false,
        ...(facts?.adjudication ? { adjudication: facts.adjudication } : {}),
      };
    }
    case 'AdverseEventCorrected': {
      if (!facts) return undefined;
      const changes = event.data.changes;
      const report: Record<string, unknown> = {
        ...applyRecordedChanges(
          facts.report,
          changes.filter((c) => c.value !== null),
        ),
      };
      // A change to null removes a detail (the amputation or TVR details of a report whose kind was corrected).
      for (const removed of changes) if (removed.value === null) delete report[removed.field];
      return { ...facts, report: reportFacts(report as unknown as AdverseEventFactsReport) };
    }
    case 'AdverseEventRetracted':
      return facts && { ...facts, retracted: true };
    case 'DocumentAttached':
      return undefined;
    default:
      return unknownEvent(event);
  }
}

/** The fields of a site report an endpoint reads; the free-text description stays with adverse-events. */
function reportFacts(report: AdverseEventFactsReport | AdverseEventReport): AdverseEventFactsReport {
  return {
    kind: report.kind,
    onsetOn: report.onsetOn,
    ...(report.limb !== undefined ? { limb: report.limb } : {}),
    ...(report.amputation !== undefined ? { amputation: report.amputation } : {}),
    ...(report.tvr !== undefined ? { tvr: report.tvr } : {}),
  };
}

/** Where the event's case stands: a finalized outcome counts, anything else is pending. */
function foldCase(facts: AdverseEventHistoryFacts | undefined, event: CaseEvent): AdverseEventHistoryFacts | undefined {
  if (!facts) return undefined;
  switch (event.type) {
    case 'CaseFinalized':
      return { ...facts, adjudication: { finalized: true, outcome: event.data.outcome } };
    case 'CaseOpened':
    case 'CaseReopened':
    case 'CaseCancelled':
      return { ...facts, adjudication: { finalized: false } };
    case 'SourceReportUpdated':
    case 'ReviewersAssigned':
    case 'ReviewSubmitted':
    case 'ChairResolutionRecorded':
    case 'QueryRaised':
    case 'QueryAnswered':
    case 'DossierDocumentReleased':
      return undefined;
    default:
      return unknownEvent(event);
  }
}

/** Exhaustive at compile time; at run time an unknown event type changes nothing. */
function unknownEvent(_event: never): undefined {
  return undefined;
}

/** A patient as a report reads it; undefined unless enrolled. `lastVisitOn` = latest visit ≤ cutoff and ≤ the withdrawal. */
export function patientForReport(facts: PatientHistoryFacts, lastVisitOn: string | undefined): PatientFacts | undefined {
  const enrolment = facts.enrolment;
  if (!enrolment) return undefined;
  return {
    patientId: facts.patientId,
    siteId: enrolment.siteId,
    ...(enrolment.arm !== undefined ? { arm: enrolment.arm } : {}),
    diabetes: enrolment.diabetes,
    presentation: enrolment.presentation,
    ...(enrolment.withdrawnOn !== undefined ? { withdrawnOn: enrolment.withdrawnOn } : {}),
    ...(facts.indexProcedure ? { indexProcedure: facts.indexProcedure } : {}),
    visitDates: lastVisitOn !== undefined ? [lastVisitOn] : [],
  };
}
