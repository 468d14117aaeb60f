import type { Baseline, PatientEvent } from '@app/contracts';
import { deciderSpec } from '../../../../libs/contracts/src/testing/decider-spec';
import { decidePatient, evolvePatient, initialPatientState, type PatientCommand, type TrialFacts } from './patient.decider';

const spec = deciderSpec({ decide: decidePatient, evolve: evolvePatient, initialState: initialPatientState });

const trialId = 'T1';
const patientId = 'P1';
const today = '2025-06-30';
const randomised: TrialFacts = { arms: ['DCB', 'PTA'], siteIds: ['S1', 'S2'] };
const singleArm: TrialFacts = { arms: [], siteIds: ['S1', 'S2'] };
const baseline: Baseline = { ageYears: 70, sex: 'F', diabetes: false, presentation: 'cli', rutherfordClass: 5 };

const enrolled = (enrolledOn = '2025-01-10', arm: string | null = 'DCB'): PatientEvent => ({
  type: 'PatientEnrolled',
  data: { trialId, patientId, siteId: 'S1', enrolledOn, ...(arm !== null ? { arm } : {}), baseline },
});
const visited = (visitId: string, visitOn: string): PatientEvent => ({
  type: 'VisitRecorded',
  data: { trialId, patientId, visitId, visit: '30d', visitOn },
});
const withdrawn = (withdrawnOn: string): PatientEvent => ({
  type: 'PatientWithdrawn',
  data: { trialId, patientId, withdrawnOn, reason: 'consent withdrawn' },
});
const corrected = (changes: Array<{ field: string; previous: unknown; value: unknown }>): PatientEvent => ({
  type: 'PatientDataCorrected',
  data: { trialId, patientId, changes, reason: 'source data verification' },
});

const enroll = (overrides: { siteId?: string; enrolledOn?: string; arm?: string } = {}, trial = randomised): PatientCommand => ({
  type: 'EnrollPatient',
  data: { trialId, patientId, siteId: 'S1', enrolledOn: '2025-01-10', arm: 'DCB', baseline, ...overrides },
  trial,
  today,
});
const correct = (changes: Record<string, unknown>, trial = randomised): PatientCommand => ({
  type: 'CorrectPatientData',
  data: { changes, reason: 'source data verification' },
  trial,
  today,
});
const recordVisit = (visitId: string, visitOn: string): PatientCommand => ({
  type: 'RecordVisit',
  data: { visitId, visit: '30d', visitOn },
  today,
});
const withdraw = (withdrawnOn: string): PatientCommand => ({
  type: 'WithdrawPatient',
  data: { withdrawnOn, reason: 'consent withdrawn' },
  today,
});

describe('patient decider', () => {
  describe('EnrollPatient', () => {
    it('enrols a patient in a randomised trial with the arm given', () => {
      spec.given([]).when(enroll()).then([enrolled()]);
    });

    it('enrols a patient in a single-arm registry without an arm', () => {
      spec
        .given([])
        .when({
          type: 'EnrollPatient',
          data: { trialId, patientId, siteId: 'S1', enrolledOn: '2025-01-10', baseline },
          trial: singleArm,
          today,
        })
        .then([enrolled('2025-01-10', null)]);
    });

    it('accepts an enrolment dated today', () => {
      spec
        .given([])
        .when(enroll({ enrolledOn: today }))
        .then([enrolled(today)]);
    });

    it('refuses a patient already enrolled', () => {
      const error = spec.given([enrolled()]).when(enroll()).thenThrows('PATIENT_ALREADY_ENROLLED', 'conflict');
      expect(error.field).toBe('patientId');
    });

    it('refuses a site that is not a site of the trial', () => {
      const error = spec
        .given([])
        .when(enroll({ siteId: 'S9' }))
        .thenThrows('UNKNOWN_SITE', 'rule');
      expect(error.field).toBe('siteId');
    });

    it('refuses a randomised enrolment without an arm', () => {
      const error = spec
        .given([])
        .when({
          type: 'EnrollPatient',
          data: { trialId, patientId, siteId: 'S1', enrolledOn: '2025-01-10', baseline },
          trial: randomised,
          today,
        })
        .thenThrows('ARM_REQUIRED', 'rule');
      expect(error.field).toBe('arm');
    });

    it('refuses an arm the trial does not have', () => {
      const error = spec
        .given([])
        .when(enroll({ arm: 'DES' }))
        .thenThrows('UNKNOWN_ARM', 'rule');
      expect(error.field).toBe('arm');
    });

    it('refuses an arm in a single-arm registry', () => {
      const error = spec
        .given([])
        .when(enroll({ arm: 'DCB' }, singleArm))
        .thenThrows('ARM_NOT_APPLICABLE', 'rule');
      expect(error.field).toBe('arm');
    });

    it('refuses an enrolment dated after today', () => {
      const error = spec
        .given([])
        .when(enroll({ enrolledOn: '2025-07-01' }))
        .thenThrows('DATE_IN_FUTURE', 'rule');
      expect(error.field).toBe('enrolledOn');
    });
  });

  describe('CorrectPatientData', () => {
    it('refuses a correction of a patient not enrolled', () => {
      spec
        .given([])
        .when(correct({ 'baseline.diabetes': true }))
        .thenThrows('PATIENT_NOT_FOUND', 'not_found');
    });

    it('corrects a baseline field by dotted path, recording previous and value', () => {
      spec
        .given([enrolled()])
        .when(correct({ 'baseline.diabetes': true }))
        .then([corrected([{ field: 'baseline.diabetes', previous: false, value: true }])]);
    });

    it('corrects several fields at once', () => {
      spec
        .given([enrolled(), visited('v1', '2025-02-10')])
        .when(correct({ enrolledOn: '2025-01-12', arm: 'PTA', 'baseline.rutherfordClass': 4 }))
        .then([
          corrected([
            { field: 'enrolledOn', previous: '2025-01-10', value: '2025-01-12' },
            { field: 'arm', previous: 'DCB', value: 'PTA' },
            { field: 'baseline.rutherfordClass', previous: 5, value: 4 },
          ]),
        ]);
    });

    it('refuses a value equal to the current one', () => {
      const error = spec
        .given([enrolled()])
        .when(correct({ 'baseline.sex': 'F' }))
        .thenThrows('CORRECTION_UNCHANGED', 'rule');
      expect(error.field).toBe('changes.baseline.sex');
    });

    it('refuses an arm the trial does not have', () => {
      const error = spec
        .given([enrolled()])
        .when(correct({ arm: 'DES' }))
        .thenThrows('UNKNOWN_ARM', 'rule');
      expect(error.field).toBe('changes.arm');
    });

    it('refuses removing the arm of a randomised patient', () => {
      spec
        .given([enrolled()])
        .when(correct({ arm: undefined }))
        .thenThrows('ARM_REQUIRED', 'rule');
    });

    it('refuses giving an arm to a patient of a single-arm registry', () => {
      spec
        .given([enrolled('2025-01-10', null)])
        .when(correct({ arm: 'DCB' }, singleArm))
        .thenThrows('ARM_NOT_APPLICABLE', 'rule');
    });

    it('does not check the arm when the correction does not name it', () => {
      // The trial facts no longer list the patient's arm; a baseline correction must still pass.
      spec
        .given([enrolled()])
        .when(correct({ 'baseline.ageYears': 71 }, { arms: ['X', 'Y'], siteIds: ['S1'] }))
        .then([corrected([{ field: 'baseline.ageYears', previous: 70, value: 71 }])]);
    });

    it('refuses an enrolment date after today', () => {
      const error = spec
        .given([enrolled()])
        .when(correct({ enrolledOn: '2025-07-01' }))
        .thenThrows('DATE_IN_FUTURE', 'rule');
      expect(error.field).toBe('changes.enrolledOn');
    });

    it('refuses an enrolment date after the earliest recorded visit', () => {
      const error = spec
        .given([enrolled(), visited('v2', '2025-04-01'), visited('v1', '2025-02-10')])
        .when(correct({ enrolledOn: '2025-02-11' }))
        .thenThrows('ENROLLMENT_AFTER_VISIT', 'rule');
      expect(error.field).toBe('changes.enrolledOn');
      expect(error.message).toContain('2025-02-10');
    });

    it('accepts an enrolment date on the day of the earliest visit', () => {
      spec
        .given([enrolled(), visited('v1', '2025-02-10')])
        .when(correct({ enrolledOn: '2025-02-10' }))
        .then([corrected([{ field: 'enrolledOn', previous: '2025-01-10', value: '2025-02-10' }])]);
    });

    it('sees earlier corrections: the same value again is unchanged, and previous is the corrected value', () => {
      const history = [enrolled(), corrected([{ field: 'baseline.diabetes', previous: false, value: true }])];
      spec
        .given(history)
        .when(correct({ 'baseline.diabetes': true }))
        .thenThrows('CORRECTION_UNCHANGED');
      spec
        .given(history)
        .when(correct({ 'baseline.diabetes': false }))
        .then([corrected([{ field: 'baseline.diabetes', previous: true, value: false }])]);
    });

    it('sees a corrected arm', () => {
      const history = [enrolled(), corrected([{ field: 'arm', previous: 'DCB', value: 'PTA' }])];
      spec
        .given(history)
        .when(correct({ arm: 'PTA' }))
        .thenThrows('CORRECTION_UNCHANGED');
      spec
        .given(history)
        .when(correct({ arm: 'DCB' }))
        .then([corrected([{ field: 'arm', previous: 'PTA', value: 'DCB' }])]);
    });

    it('refuses an enrolment date after the withdrawal', () => {
      spec
        .given([enrolled('2025-01-10'), withdrawn('2025-03-01')])
        .when(correct({ enrolledOn: '2025-04-01' }))
        .thenThrows('WITHDRAWAL_BEFORE_ENROLLMENT');
    });
  });

  describe('RecordVisit', () => {
    it('refuses a visit of a patient not enrolled', () => {
      spec.given([]).when(recordVisit('v1', '2025-02-10')).thenThrows('PATIENT_NOT_FOUND', 'not_found');
    });

    it('records a visit', () => {
      spec
        .given([enrolled()])
        .when(recordVisit('v1', '2025-02-10'))
        .then([visited('v1', '2025-02-10')]);
    });

    it('records visits on the day of enrolment and today', () => {
      spec
        .given([enrolled()])
        .when(recordVisit('v0', '2025-01-10'))
        .then([visited('v0', '2025-01-10')]);
      spec
        .given([enrolled()])
        .when(recordVisit('v9', today))
        .then([visited('v9', today)]);
    });

    it('refuses a visit id already recorded', () => {
      const error = spec
        .given([enrolled(), visited('v1', '2025-02-10')])
        .when(recordVisit('v1', '2025-03-10'))
        .thenThrows('VISIT_ALREADY_RECORDED', 'conflict');
      expect(error.field).toBe('visitId');
    });

    it('refuses a visit before enrolment', () => {
      const error = spec.given([enrolled()]).when(recordVisit('v1', '2025-01-09')).thenThrows('VISIT_BEFORE_ENROLLMENT', 'rule');
      expect(error.field).toBe('visitOn');
    });

    it('judges a visit against the corrected enrolment date', () => {
      spec
        .given([enrolled('2025-01-10'), corrected([{ field: 'enrolledOn', previous: '2025-01-10', value: '2025-01-20' }])])
        .when(recordVisit('v1', '2025-01-15'))
        .thenThrows('VISIT_BEFORE_ENROLLMENT');
    });

    it('refuses a visit after the withdrawal', () => {
      const error = spec
        .given([enrolled(), withdrawn('2025-03-01')])
        .when(recordVisit('v1', '2025-03-02'))
        .thenThrows('PATIENT_WITHDRAWN', 'rule');
      expect(error.field).toBe('visitOn');
    });

    it('accepts a visit on the day of the withdrawal', () => {
      spec
        .given([enrolled(), withdrawn('2025-03-01')])
        .when(recordVisit('v1', '2025-03-01'))
        .then([visited('v1', '2025-03-01')]);
    });

    it('refuses a visit dated after today', () => {
      const error = spec.given([enrolled()]).when(recordVisit('v1', '2025-07-01')).thenThrows('DATE_IN_FUTURE', 'rule');
      expect(error.field).toBe('visitOn');
    });
  });

  describe('WithdrawPatient', () => {
    it('refuses a withdrawal of a patient not enrolled', () => {
      spec.given([]).when(withdraw('2025-03-01')).thenThrows('PATIENT_NOT_FOUND', 'not_found');
    });

    it('withdraws a patient', () => {
      spec
        .given([enrolled(), visited('v1', '2025-02-10')])
        .when(withdraw('2025-03-01'))
        .then([withdrawn('2025-03-01')]);
    });

    it('accepts a withdrawal on the day of enrolment and today', () => {
      spec
        .given([enrolled()])
        .when(withdraw('2025-01-10'))
        .then([withdrawn('2025-01-10')]);
      spec
        .given([enrolled()])
        .when(withdraw(today))
        .then([withdrawn(today)]);
    });

    it('refuses a second withdrawal', () => {
      spec
        .given([enrolled(), withdrawn('2025-03-01')])
        .when(withdraw('2025-04-01'))
        .thenThrows('PATIENT_ALREADY_WITHDRAWN', 'conflict');
    });

    it('refuses a withdrawal before enrolment', () => {
      const error = spec.given([enrolled()]).when(withdraw('2025-01-09')).thenThrows('WITHDRAWAL_BEFORE_ENROLLMENT', 'rule');
      expect(error.field).toBe('withdrawnOn');
    });

    it('judges a withdrawal against the corrected enrolment date', () => {
      spec
        .given([enrolled('2025-01-10'), corrected([{ field: 'enrolledOn', previous: '2025-01-10', value: '2025-01-20' }])])
        .when(withdraw('2025-01-15'))
        .thenThrows('WITHDRAWAL_BEFORE_ENROLLMENT');
    });

    it('refuses a withdrawal dated after today', () => {
      const error = spec.given([enrolled()]).when(withdraw('2025-07-01')).thenThrows('DATE_IN_FUTURE', 'rule');
      expect(error.field).toBe('withdrawnOn');
    });

    it('refuses a withdrawal dated before a recorded visit', () => {
      spec
        .given([enrolled(), visited('v1', '2025-04-01')])
        .when(withdraw('2025-03-01'))
        .thenThrows('VISIT_AFTER_WITHDRAWAL');
    });
  });
});
