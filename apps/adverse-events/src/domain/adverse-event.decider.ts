import type { Decider } from '@app/event-store';
import {
  AdverseEventReport,
  DomainError,
  byId,
  applyChanges,
  applyRecordedChanges,
  type AdverseEventEvent,
  type AttachDocumentFields,
  type DocumentAttached,
  type ReportAdverseEventBody,
  type StoredFile,
} from '@app/contracts';

/** What the decider needs to know of the patient (enrollment's published PatientFacts). */
export interface PatientFacts {
  siteId: string;
  enrolledOn: string;
  withdrawnOn?: string;
}

export type AdverseEventState =
  | { status: 'absent' }
  | {
      status: 'reported' | 'retracted';
      trialId: string;
      patientId: string;
      siteId: string;
      eventId: string;
      report: AdverseEventReport;
      /** Source documents the site attached, by document id. */
      documents: Record<string, Omit<DocumentAttached, 'trialId' | 'patientId' | 'eventId' | 'siteId'>>;
    };

export type AdverseEventCommand =
  | {
      type: 'ReportAdverseEvent';
      data: ReportAdverseEventBody & { trialId: string; patientId: string };
      patient: PatientFacts;
      today: string;
    }
  | { type: 'CorrectAdverseEvent'; data: { changes: Record<string, unknown>; reason: string }; patient: PatientFacts; today: string }
  | { type: 'RetractAdverseEvent'; data: { reason: string } }
  /** The file is already staged in the blob store; the event names it by hash. */
  | { type: 'AttachDocument'; data: AttachDocumentFields & StoredFile };

export const initialAdverseEventState = (): AdverseEventState => ({ status: 'absent' });

/** The rules a report must satisfy, whether first reported or as corrected. */
export function checkReport(report: AdverseEventReport, patient: PatientFacts, today: string, prefix = ''): void {
  const field = (name: string) => `${prefix}${name}`;
  if (report.onsetOn < patient.enrolledOn) {
    throw new DomainError(
      'ONSET_BEFORE_ENROLLMENT',
      `onsetOn ${report.onsetOn} precedes enrolment on ${patient.enrolledOn}`,
      'rule',
      field('onsetOn'),
    );
  }
  if (report.onsetOn > today)
    throw new DomainError('DATE_IN_FUTURE', `onsetOn ${report.onsetOn} is after today (${today})`, 'rule', field('onsetOn'));
  if (patient.withdrawnOn !== undefined && report.onsetOn > patient.withdrawnOn) {
    throw new DomainError('PATIENT_WITHDRAWN', `the patient withdrew on ${patient.withdrawnOn}`, 'rule', field('onsetOn'));
  }
  const limbEvent = report.kind === 'amputation' || report.kind === 'tvr';
  if (limbEvent && report.limb === undefined)
    throw new DomainError('LIMB_REQUIRED', `an ${report.kind} names the limb: index or contralateral`, 'rule', field('limb'));
  if (report.kind === 'amputation' && report.amputation === undefined) {
    throw new DomainError('AMPUTATION_DETAILS_REQUIRED', 'an amputation needs amputation: {level, planned}', 'rule', field('amputation'));
  }
  if (report.kind !== 'amputation' && report.amputation !== undefined) {
    throw new DomainError('DETAILS_MISMATCH', 'amputation details belong to an amputation only', 'rule', field('amputation'));
  }
  if (report.kind === 'tvr' && report.tvr === undefined)
    throw new DomainError('TVR_DETAILS_REQUIRED', 'a TVR needs tvr: {clinicallyDriven}', 'rule', field('tvr'));
  if (report.kind !== 'tvr' && report.tvr !== undefined)
    throw new DomainError('DETAILS_MISMATCH', 'tvr details belong to a TVR only', 'rule', field('tvr'));
}

export function decideAdverseEvent(command: AdverseEventCommand, state: AdverseEventState): AdverseEventEvent[] {
  switch (command.type) {
    case 'ReportAdverseEvent': {
      if (state.status !== 'absent')
        throw new DomainError(
          'ADVERSE_EVENT_ALREADY_REPORTED',
          `adverse event ${command.data.eventId} is already reported`,
          'conflict',
          'eventId',
        );
      const { trialId, patientId, eventId, ...report } = command.data;
      checkReport(report, command.patient, command.today);
      return [{ type: 'AdverseEventReported', data: { trialId, patientId, siteId: command.patient.siteId, eventId, ...report } }];
    }
    case 'CorrectAdverseEvent': {
      if (state.status === 'absent') throw new DomainError('ADVERSE_EVENT_NOT_FOUND', 'no such adverse event', 'not_found');
      if (state.status === 'retracted')
        throw new DomainError('ADVERSE_EVENT_RETRACTED', 'a retracted adverse event takes no more corrections', 'rule');
      const { result, changes } = applyChanges(state.report, command.data.changes);
      // A new kind drops the details the report had for the old one (unless this correction edits
      // them, which checkReport then refuses); the removal is recorded like any change.
      const edited = Object.keys(command.data.changes);
      if (result.kind !== state.report.kind) {
        for (const detail of ['amputation', 'tvr'] as const) {
          const before = state.report[detail];
          if (result.kind !== detail && before !== undefined && !edited.some((field) => field.startsWith(`${detail}.`))) {
            changes.push({ field: detail, previous: before, value: null });
            delete result[detail];
          }
        }
      }
      const parsed = AdverseEventReport.safeParse(result);
      if (!parsed.success)
        throw new DomainError('INVALID_CORRECTION', parsed.error.issues[0]?.message ?? 'invalid corrected report', 'invalid', 'changes');
      checkReport(parsed.data, command.patient, command.today, 'changes.');
      return [
        {
          type: 'AdverseEventCorrected',
          data: { trialId: state.trialId, patientId: state.patientId, eventId: state.eventId, changes, reason: command.data.reason },
        },
      ];
    }
    case 'RetractAdverseEvent': {
      if (state.status === 'absent') throw new DomainError('ADVERSE_EVENT_NOT_FOUND', 'no such adverse event', 'not_found');
      if (state.status === 'retracted')
        throw new DomainError('ADVERSE_EVENT_RETRACTED', 'the adverse event is already retracted', 'conflict');
      return [
        {
          type: 'AdverseEventRetracted',
          data: { trialId: state.trialId, patientId: state.patientId, eventId: state.eventId, reason: command.data.reason },
        },
      ];
    }
    case 'AttachDocument': {
      if (state.status === 'absent') throw new DomainError('ADVERSE_EVENT_NOT_FOUND', 'no such adverse event', 'not_found');
      if (state.status === 'retracted')
        throw new DomainError('ADVERSE_EVENT_RETRACTED', 'a retracted adverse event takes no more documents', 'rule');
      const { documentId } = command.data;
      if (byId(state.documents, documentId))
        throw new DomainError(
          'DOCUMENT_ALREADY_ATTACHED',
          `document ${documentId} is already attached to this event`,
          'conflict',
          'documentId',
        );
      const { trialId, patientId, eventId, siteId } = state;
      return [{ type: 'DocumentAttached', data: { trialId, patientId, eventId, siteId, ...command.data } }];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unknown command ${JSON.stringify(unhandled)}`);
    }
  }
}

export function evolveAdverseEvent(state: AdverseEventState, event: AdverseEventEvent): AdverseEventState {
  switch (event.type) {
    case 'AdverseEventReported': {
      const { trialId, patientId, siteId, eventId, ...report } = event.data;
      return { status: 'reported', trialId, patientId, siteId, eventId, report, documents: {} };
    }
    case 'AdverseEventCorrected': {
      if (state.status === 'absent') return state;
      return { ...state, report: applyRecordedChanges(state.report, event.data.changes) };
    }
    case 'AdverseEventRetracted':
      return state.status === 'absent' ? state : { ...state, status: 'retracted' };
    case 'DocumentAttached': {
      if (state.status === 'absent') return state;
      const { trialId: _t, patientId: _p, eventId: _e, siteId: _s, ...document } = event.data;
      return { ...state, documents: { ...state.documents, [document.documentId]: document } };
    }
    default:
      return state;
  }
}

export const adverseEventDecider: Decider<AdverseEventState, AdverseEventCommand, AdverseEventEvent> = {
  initialState: initialAdverseEventState,
  decide: decideAdverseEvent,
  evolve: evolveAdverseEvent,
};
