import type { Decider } from '@app/event-store';
import { DomainError, byId, type ProcedureEvent, type RecordProcedureBody } from '@app/contracts';

/** What the procedures decider needs to know of the patient (enrollment's published PatientFacts). */
export interface PatientFacts {
  enrolledOn: string;
  withdrawnOn?: string;
}

export interface ProceduresState {
  procedures: Record<string, { performedOn: string; index: boolean; limb: 'left' | 'right' }>;
  indexProcedureId?: string;
}

export type ProceduresCommand = {
  type: 'RecordProcedure';
  data: RecordProcedureBody & { trialId: string; patientId: string };
  patient: PatientFacts;
  today: string;
};

export const initialProceduresState = (): ProceduresState => ({ procedures: {} });

export function decideProcedures(command: ProceduresCommand, state: ProceduresState): ProcedureEvent[] {
  switch (command.type) {
    case 'RecordProcedure': {
      const { data, patient, today } = command;
      if (byId(state.procedures, data.procedureId))
        throw new DomainError('PROCEDURE_ALREADY_RECORDED', `procedure ${data.procedureId} is already recorded`, 'conflict', 'procedureId');
      if (data.performedOn < patient.enrolledOn) {
        throw new DomainError(
          'PROCEDURE_BEFORE_ENROLLMENT',
          `performedOn ${data.performedOn} precedes enrolment on ${patient.enrolledOn}`,
          'rule',
          'performedOn',
        );
      }
      if (patient.withdrawnOn !== undefined && data.performedOn > patient.withdrawnOn) {
        throw new DomainError('PATIENT_WITHDRAWN', `the patient withdrew on ${patient.withdrawnOn}`, 'rule', 'performedOn');
      }
      if (data.performedOn > today)
        throw new DomainError('DATE_IN_FUTURE', `performedOn ${data.performedOn} is after today (${today})`, 'rule', 'performedOn');
      const indexDate = state.indexProcedureId ? byId(state.procedures, state.indexProcedureId)?.performedOn : undefined;
      if (indexDate !== undefined && data.performedOn < indexDate) {
        throw new DomainError(
          'PROCEDURE_BEFORE_INDEX',
          `the index procedure was performed on ${indexDate}; a later procedure cannot precede it`,
          'rule',
          'performedOn',
        );
      }
      return [{ type: 'ProcedureRecorded', data: { ...data, index: state.indexProcedureId === undefined } }];
    }
    default: {
      const unhandled: never = command.type;
      throw new Error(`unknown command ${String(unhandled)}`);
    }
  }
}

export function evolveProcedures(state: ProceduresState, event: ProcedureEvent): ProceduresState {
  switch (event.type) {
    case 'ProcedureRecorded': {
      const { procedureId, performedOn, index, limb } = event.data;
      return {
        procedures: { ...state.procedures, [procedureId]: { performedOn, index, limb } },
        indexProcedureId: index ? procedureId : state.indexProcedureId,
      };
    }
    default:
      return state;
  }
}

export const proceduresDecider: Decider<ProceduresState, ProceduresCommand, ProcedureEvent> = {
  initialState: initialProceduresState,
  decide: decideProcedures,
  evolve: evolveProcedures,
};
