import type { ProcedureEvent, RecordProcedureBody } from '@app/contracts';
import { deciderSpec } from '../../../../libs/contracts/src/testing/decider-spec';
import {
  decideProcedures,
  evolveProcedures,
  initialProceduresState,
  type PatientFacts,
  type ProceduresCommand,
} from './procedures.decider';

const spec = deciderSpec({ decide: decideProcedures, evolve: evolveProcedures, initialState: initialProceduresState });

const trialId = 'T1';
const patientId = 'P1';
const today = '2025-06-30';
const patient: PatientFacts = { enrolledOn: '2025-01-10' };

const body = (procedureId: string, performedOn: string, limb: 'left' | 'right' = 'left'): RecordProcedureBody => ({
  procedureId,
  performedOn,
  limb,
  device: { kind: 'DCB', name: 'Paclitaxel balloon' },
  lesions: [
    { segment: 'femoropopliteal', lengthMm: 120, occlusion: true },
    { segment: 'btk', lengthMm: 40, occlusion: false },
  ],
  technicalSuccess: true,
});
const record = (
  procedureId: string,
  performedOn: string,
  facts: PatientFacts = patient,
  limb: 'left' | 'right' = 'left',
): ProceduresCommand => ({
  type: 'RecordProcedure',
  data: { ...body(procedureId, performedOn, limb), trialId, patientId },
  patient: facts,
  today,
});
const recorded = (procedureId: string, performedOn: string, index: boolean, limb: 'left' | 'right' = 'left'): ProcedureEvent => ({
  type: 'ProcedureRecorded',
  data: { ...body(procedureId, performedOn, limb), trialId, patientId, index },
});

describe('procedures decider', () => {
  describe('RecordProcedure', () => {
    it('records the first procedure as the index procedure, with every field of the command', () => {
      spec
        .given([])
        .when(record('proc-1', '2025-01-15'))
        .then([recorded('proc-1', '2025-01-15', true)]);
    });

    it('records a later procedure as not the index', () => {
      spec
        .given([recorded('proc-1', '2025-01-15', true)])
        .when(record('proc-2', '2025-03-01', patient, 'right'))
        .then([recorded('proc-2', '2025-03-01', false, 'right')]);
    });

    it('keeps the first procedure as the index after several', () => {
      spec
        .given([recorded('proc-1', '2025-01-15', true), recorded('proc-2', '2025-03-01', false)])
        .when(record('proc-3', '2025-04-01'))
        .then([recorded('proc-3', '2025-04-01', false)]);
    });

    it('accepts a procedure on the day of enrolment, on the day of the index, and today', () => {
      spec
        .given([])
        .when(record('proc-1', '2025-01-10'))
        .then([recorded('proc-1', '2025-01-10', true)]);
      spec
        .given([recorded('proc-1', '2025-01-15', true)])
        .when(record('proc-2', '2025-01-15'))
        .then([recorded('proc-2', '2025-01-15', false)]);
      spec
        .given([])
        .when(record('proc-1', today))
        .then([recorded('proc-1', today, true)]);
    });

    it('refuses a procedure id already recorded', () => {
      const error = spec
        .given([recorded('proc-1', '2025-01-15', true)])
        .when(record('proc-1', '2025-02-01'))
        .thenThrows('PROCEDURE_ALREADY_RECORDED', 'conflict');
      expect(error.field).toBe('procedureId');
    });

    it('refuses a procedure before enrolment', () => {
      const error = spec.given([]).when(record('proc-1', '2025-01-09')).thenThrows('PROCEDURE_BEFORE_ENROLLMENT', 'rule');
      expect(error.field).toBe('performedOn');
    });

    it('refuses a procedure after the withdrawal, and accepts one on its day', () => {
      const withdrew: PatientFacts = { enrolledOn: '2025-01-10', withdrawnOn: '2025-02-01' };
      const error = spec
        .given([])
        .when(record('proc-1', '2025-02-02', withdrew))
        .thenThrows('PATIENT_WITHDRAWN', 'rule');
      expect(error.field).toBe('performedOn');
      spec
        .given([])
        .when(record('proc-1', '2025-02-01', withdrew))
        .then([recorded('proc-1', '2025-02-01', true)]);
    });

    it('refuses a procedure dated after today', () => {
      const error = spec.given([]).when(record('proc-1', '2025-07-01')).thenThrows('DATE_IN_FUTURE', 'rule');
      expect(error.field).toBe('performedOn');
    });

    it('refuses a later procedure that precedes the index', () => {
      const error = spec
        .given([recorded('proc-1', '2025-02-01', true)])
        .when(record('proc-2', '2025-01-31'))
        .thenThrows('PROCEDURE_BEFORE_INDEX', 'rule');
      expect(error.field).toBe('performedOn');
      expect(error.message).toContain('2025-02-01');
    });

    it('compares with the index procedure, not with the latest one', () => {
      const history = [recorded('proc-1', '2025-02-01', true), recorded('proc-2', '2025-04-01', false)];
      spec
        .given(history)
        .when(record('proc-3', '2025-03-01'))
        .then([recorded('proc-3', '2025-03-01', false)]);
      spec.given(history).when(record('proc-3', '2025-01-20')).thenThrows('PROCEDURE_BEFORE_INDEX');
    });
  });
});
