import type { Decider } from '@app/event-store';
import {
  DomainError,
  applyChanges,
  applyRecordedChanges,
  byId,
  type Baseline,
  type EnrollPatientBody,
  type PatientEvent,
  type TrialFacts as PublishedTrialFacts,
  type RecordVisitBody,
  type WithdrawPatientBody,
} from '@app/contracts';

/** What the patient decider needs to know of its trial (enrollment's own trial stream). */
export type TrialFacts = Pick<PublishedTrialFacts, 'arms' | 'siteIds'>;

export interface EnrolledPatient {
  status: 'enrolled';
  trialId: string;
  patientId: string;
  siteId: string;
  enrolledOn: string;
  arm?: string;
  baseline: Baseline;
  visits: Record<string, { visit: string; visitOn: string }>;
  withdrawal?: { withdrawnOn: string; reason: string };
}

export type PatientState = { status: 'absent' } | EnrolledPatient;

export type PatientCommand =
  | { type: 'EnrollPatient'; data: EnrollPatientBody & { trialId: string }; trial: TrialFacts; today: string }
  | { type: 'CorrectPatientData'; data: { changes: Record<string, unknown>; reason: string }; trial: TrialFacts; today: string }
  | { type: 'RecordVisit'; data: RecordVisitBody; today: string }
  | { type: 'WithdrawPatient'; data: WithdrawPatientBody; today: string };

export const initialPatientState = (): PatientState => ({ status: 'absent' });

function enrolled(state: PatientState): EnrolledPatient {
  if (state.status !== 'enrolled') throw new DomainError('PATIENT_NOT_FOUND', 'no such patient', 'not_found');
  return state;
}

/** Dates of what happened cannot lie after the day the command is given. */
export function notInFuture(date: string, today: string, field: string): void {
  if (date > today) throw new DomainError('DATE_IN_FUTURE', `${field} ${date} is after today (${today})`, 'rule', field);
}

function checkArm(arm: string | undefined, trial: TrialFacts, field: string): void {
  if (trial.arms.length === 0 && arm !== undefined)
    throw new DomainError('ARM_NOT_APPLICABLE', 'this trial is a single-arm registry', 'rule', field);
  if (trial.arms.length > 0 && arm === undefined)
    throw new DomainError('ARM_REQUIRED', `arm must be one of ${trial.arms.join(', ')}`, 'rule', field);
  if (arm !== undefined && trial.arms.length > 0 && !trial.arms.includes(arm)) {
    throw new DomainError('UNKNOWN_ARM', `arm must be one of ${trial.arms.join(', ')}`, 'rule', field);
  }
}

export function decidePatient(command: PatientCommand, state: PatientState): PatientEvent[] {
  switch (command.type) {
    case 'EnrollPatient': {
      const { data, trial } = command;
      if (state.status !== 'absent')
        throw new DomainError('PATIENT_ALREADY_ENROLLED', `patient ${data.patientId} is already enrolled`, 'conflict', 'patientId');
      if (!trial.siteIds.includes(data.siteId))
        throw new DomainError('UNKNOWN_SITE', `site ${data.siteId} is not a site of this trial`, 'rule', 'siteId');
      checkArm(data.arm, trial, 'arm');
      notInFuture(data.enrolledOn, command.today, 'enrolledOn');
      return [{ type: 'PatientEnrolled', data: { ...data } }];
    }
    case 'CorrectPatientData': {
      const patient = enrolled(state);
      const current = { enrolledOn: patient.enrolledOn, arm: patient.arm, baseline: patient.baseline };
      const { result, changes } = applyChanges(current, command.data.changes);
      if ('arm' in command.data.changes) checkArm(result.arm, command.trial, 'changes.arm');
      if ('enrolledOn' in command.data.changes) {
        notInFuture(result.enrolledOn, command.today, 'changes.enrolledOn');
        if (patient.withdrawal && result.enrolledOn > patient.withdrawal.withdrawnOn) {
          throw new DomainError(
            'WITHDRAWAL_BEFORE_ENROLLMENT',
            `enrolledOn cannot follow the withdrawal on ${patient.withdrawal.withdrawnOn}`,
            'rule',
            'changes.enrolledOn',
          );
        }
        const earliestVisit = Object.values(patient.visits)
          .map((v) => v.visitOn)
          .sort()[0];
        if (earliestVisit !== undefined && result.enrolledOn > earliestVisit) {
          throw new DomainError(
            'ENROLLMENT_AFTER_VISIT',
            `enrolledOn cannot follow the visit of ${earliestVisit}`,
            'rule',
            'changes.enrolledOn',
          );
        }
      }
      return [
        {
          type: 'PatientDataCorrected',
          data: { trialId: patient.trialId, patientId: patient.patientId, changes, reason: command.data.reason },
        },
      ];
    }
    case 'RecordVisit': {
      const patient = enrolled(state);
      const { visitId, visit, visitOn } = command.data;
      if (byId(patient.visits, visitId))
        throw new DomainError('VISIT_ALREADY_RECORDED', `visit ${visitId} is already recorded`, 'conflict', 'visitId');
      if (visitOn < patient.enrolledOn)
        throw new DomainError(
          'VISIT_BEFORE_ENROLLMENT',
          `visitOn ${visitOn} precedes enrolment on ${patient.enrolledOn}`,
          'rule',
          'visitOn',
        );
      if (patient.withdrawal && visitOn > patient.withdrawal.withdrawnOn) {
        throw new DomainError('PATIENT_WITHDRAWN', `the patient withdrew on ${patient.withdrawal.withdrawnOn}`, 'rule', 'visitOn');
      }
      notInFuture(visitOn, command.today, 'visitOn');
      return [{ type: 'VisitRecorded', data: { trialId: patient.trialId, patientId: patient.patientId, visitId, visit, visitOn } }];
    }
    case 'WithdrawPatient': {
      const patient = enrolled(state);
      if (patient.withdrawal)
        throw new DomainError('PATIENT_ALREADY_WITHDRAWN', `the patient withdrew on ${patient.withdrawal.withdrawnOn}`, 'conflict');
      const { withdrawnOn, reason } = command.data;
      if (withdrawnOn < patient.enrolledOn)
        throw new DomainError(
          'WITHDRAWAL_BEFORE_ENROLLMENT',
          `withdrawnOn precedes enrolment on ${patient.enrolledOn}`,
          'rule',
          'withdrawnOn',
        );
      const lastVisit = Object.values(patient.visits)
        .map((v) => v.visitOn)
        .sort()
        .pop();
      if (lastVisit !== undefined && withdrawnOn < lastVisit) {
        throw new DomainError('VISIT_AFTER_WITHDRAWAL', `a visit is recorded on ${lastVisit}, after withdrawnOn`, 'rule', 'withdrawnOn');
      }
      notInFuture(withdrawnOn, command.today, 'withdrawnOn');
      return [{ type: 'PatientWithdrawn', data: { trialId: patient.trialId, patientId: patient.patientId, withdrawnOn, reason } }];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unknown command ${JSON.stringify(unhandled)}`);
    }
  }
}

export function evolvePatient(state: PatientState, event: PatientEvent): PatientState {
  switch (event.type) {
    case 'PatientEnrolled': {
      const { trialId, patientId, siteId, enrolledOn, arm, baseline } = event.data;
      return { status: 'enrolled', trialId, patientId, siteId, enrolledOn, ...(arm !== undefined ? { arm } : {}), baseline, visits: {} };
    }
    case 'PatientDataCorrected': {
      if (state.status !== 'enrolled') return state;
      return {
        ...state,
        ...applyRecordedChanges({ enrolledOn: state.enrolledOn, arm: state.arm, baseline: state.baseline }, event.data.changes),
      };
    }
    case 'VisitRecorded':
      return state.status === 'enrolled'
        ? { ...state, visits: { ...state.visits, [event.data.visitId]: { visit: event.data.visit, visitOn: event.data.visitOn } } }
        : state;
    case 'PatientWithdrawn':
      return state.status === 'enrolled'
        ? { ...state, withdrawal: { withdrawnOn: event.data.withdrawnOn, reason: event.data.reason } }
        : state;
    default:
      return state;
  }
}

export const patientDecider: Decider<PatientState, PatientCommand, PatientEvent> = {
  initialState: initialPatientState,
  decide: decidePatient,
  evolve: evolvePatient,
};
