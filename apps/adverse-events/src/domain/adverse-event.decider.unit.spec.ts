import { type AdverseEventEvent, type AdverseEventReport, type FieldChange } from '@app/contracts';
import { deciderSpec } from '../../../../libs/contracts/src/testing/decider-spec';
import {
  decideAdverseEvent,
  evolveAdverseEvent,
  initialAdverseEventState,
  type AdverseEventCommand,
  type PatientFacts,
} from './adverse-event.decider';

const spec = deciderSpec({ decide: decideAdverseEvent, evolve: evolveAdverseEvent, initialState: initialAdverseEventState });

const trialId = 'T1';
const patientId = 'P1';
const eventId = 'AE1';
const today = '2025-06-30';
const patient: PatientFacts = { siteId: 'S1', enrolledOn: '2025-01-10' };
const withdrewOnMay15: PatientFacts = { ...patient, withdrawnOn: '2025-05-15' };

const amputation: AdverseEventReport = {
  kind: 'amputation',
  onsetOn: '2025-05-01',
  limb: 'index',
  amputation: { level: 'major', planned: false },
  description: 'Above-knee amputation',
};
const tvr: AdverseEventReport = {
  kind: 'tvr',
  onsetOn: '2025-04-01',
  limb: 'index',
  tvr: { clinicallyDriven: true },
  description: 'Re-intervention for restenosis',
};
const death: AdverseEventReport = { kind: 'death', onsetOn: '2025-05-20', description: 'Cardiac death' };
const other: AdverseEventReport = { kind: 'other', onsetOn: '2025-03-01', description: 'Groin hematoma' };

const report = (r: AdverseEventReport, facts: PatientFacts = patient): AdverseEventCommand => ({
  type: 'ReportAdverseEvent',
  data: { ...r, trialId, patientId, eventId },
  patient: facts,
  today,
});
const correct = (changes: Record<string, unknown>, facts: PatientFacts = patient): AdverseEventCommand => ({
  type: 'CorrectAdverseEvent',
  data: { changes, reason: 'source data verification' },
  patient: facts,
  today,
});
const retract: AdverseEventCommand = { type: 'RetractAdverseEvent', data: { reason: 'entered in error' } };

const reported = (r: AdverseEventReport, siteId = 'S1'): AdverseEventEvent => ({
  type: 'AdverseEventReported',
  data: { trialId, patientId, siteId, eventId, ...r },
});
const corrected = (changes: FieldChange[]): AdverseEventEvent => ({
  type: 'AdverseEventCorrected',
  data: { trialId, patientId, eventId, changes, reason: 'source data verification' },
});
const retracted: AdverseEventEvent = { type: 'AdverseEventRetracted', data: { trialId, patientId, eventId, reason: 'entered in error' } };

describe('adverse event decider', () => {
  describe('ReportAdverseEvent', () => {
    it.each([
      ['an amputation', amputation],
      ['a TVR', tvr],
      ['a death', death],
      ['another event', other],
    ])('reports %s', (_label, r) => {
      spec
        .given([])
        .when(report(r))
        .then([reported(r)]);
    });

    it("copies the patient's site into the event", () => {
      spec
        .given([])
        .when(report(tvr, { ...patient, siteId: 'S7' }))
        .then([reported(tvr, 'S7')]);
    });

    it('accepts an onset on the day of enrolment, on the day of withdrawal, and today', () => {
      spec
        .given([])
        .when(report({ ...other, onsetOn: '2025-01-10' }))
        .then([reported({ ...other, onsetOn: '2025-01-10' })]);
      spec
        .given([])
        .when(report({ ...other, onsetOn: '2025-05-15' }, withdrewOnMay15))
        .then([reported({ ...other, onsetOn: '2025-05-15' })]);
      spec
        .given([])
        .when(report({ ...other, onsetOn: today }))
        .then([reported({ ...other, onsetOn: today })]);
    });

    it('refuses an event already reported, and one retracted', () => {
      const error = spec
        .given([reported(tvr)])
        .when(report(tvr))
        .thenThrows('ADVERSE_EVENT_ALREADY_REPORTED', 'conflict');
      expect(error.field).toBe('eventId');
      spec
        .given([reported(tvr), retracted])
        .when(report(tvr))
        .thenThrows('ADVERSE_EVENT_ALREADY_REPORTED', 'conflict');
    });

    it('refuses an onset before enrolment', () => {
      const error = spec
        .given([])
        .when(report({ ...tvr, onsetOn: '2025-01-09' }))
        .thenThrows('ONSET_BEFORE_ENROLLMENT', 'rule');
      expect(error.field).toBe('onsetOn');
    });

    it('refuses an onset after today', () => {
      const error = spec
        .given([])
        .when(report({ ...tvr, onsetOn: '2025-07-01' }))
        .thenThrows('DATE_IN_FUTURE', 'rule');
      expect(error.field).toBe('onsetOn');
    });

    it('refuses an onset after the withdrawal', () => {
      const error = spec
        .given([])
        .when(report({ ...other, onsetOn: '2025-05-16' }, withdrewOnMay15))
        .thenThrows('PATIENT_WITHDRAWN', 'rule');
      expect(error.field).toBe('onsetOn');
    });

    it.each([
      ['amputation', amputation],
      ['tvr', tvr],
    ])('refuses %s without a limb', (_kind, r) => {
      const { limb: _limb, ...withoutLimb } = r;
      const error = spec.given([]).when(report(withoutLimb)).thenThrows('LIMB_REQUIRED', 'rule');
      expect(error.field).toBe('limb');
    });

    it('refuses an amputation without amputation details', () => {
      const { amputation: _details, ...withoutDetails } = amputation;
      const error = spec.given([]).when(report(withoutDetails)).thenThrows('AMPUTATION_DETAILS_REQUIRED', 'rule');
      expect(error.field).toBe('amputation');
    });

    it('refuses a TVR without TVR details', () => {
      const { tvr: _details, ...withoutDetails } = tvr;
      const error = spec.given([]).when(report(withoutDetails)).thenThrows('TVR_DETAILS_REQUIRED', 'rule');
      expect(error.field).toBe('tvr');
    });

    it.each([
      ['a TVR', tvr],
      ['a death', death],
      ['another event', other],
    ])('refuses amputation details on %s', (_label, r) => {
      const error = spec
        .given([])
        .when(report({ ...r, amputation: { level: 'minor', planned: true } }))
        .thenThrows('DETAILS_MISMATCH', 'rule');
      expect(error.field).toBe('amputation');
    });

    it.each([
      ['an amputation', amputation],
      ['a death', death],
      ['another event', other],
    ])('refuses TVR details on %s', (_label, r) => {
      const error = spec
        .given([])
        .when(report({ ...r, tvr: { clinicallyDriven: false } }))
        .thenThrows('DETAILS_MISMATCH', 'rule');
      expect(error.field).toBe('tvr');
    });
  });

  describe('CorrectAdverseEvent', () => {
    it('refuses a correction of an event never reported', () => {
      spec
        .given([])
        .when(correct({ onsetOn: '2025-05-02' }))
        .thenThrows('ADVERSE_EVENT_NOT_FOUND', 'not_found');
    });

    it('corrects the onset, recording previous and value', () => {
      spec
        .given([reported(amputation)])
        .when(correct({ onsetOn: '2025-05-02' }))
        .then([corrected([{ field: 'onsetOn', previous: '2025-05-01', value: '2025-05-02' }])]);
    });

    it('corrects nested details and several fields at once', () => {
      spec
        .given([reported(amputation)])
        .when(correct({ 'amputation.level': 'minor', 'amputation.planned': true, limb: 'contralateral', description: 'Toe amputation' }))
        .then([
          corrected([
            { field: 'amputation.level', previous: 'major', value: 'minor' },
            { field: 'amputation.planned', previous: false, value: true },
            { field: 'limb', previous: 'index', value: 'contralateral' },
            { field: 'description', previous: 'Above-knee amputation', value: 'Toe amputation' },
          ]),
        ]);
    });

    it('on a kind change from amputation to TVR, records the dropped amputation details', () => {
      spec
        .given([reported(amputation)])
        .when(correct({ kind: 'tvr', 'tvr.clinicallyDriven': true }))
        .then([
          corrected([
            { field: 'kind', previous: 'amputation', value: 'tvr' },
            { field: 'tvr.clinicallyDriven', previous: null, value: true },
            { field: 'amputation', previous: { level: 'major', planned: false }, value: null },
          ]),
        ]);
    });

    it('on a kind change from TVR to amputation, records the dropped TVR details', () => {
      spec
        .given([reported(tvr)])
        .when(correct({ kind: 'amputation', 'amputation.level': 'minor', 'amputation.planned': true }))
        .then([
          corrected([
            { field: 'kind', previous: 'tvr', value: 'amputation' },
            { field: 'amputation.level', previous: null, value: 'minor' },
            { field: 'amputation.planned', previous: null, value: true },
            { field: 'tvr', previous: { clinicallyDriven: true }, value: null },
          ]),
        ]);
    });

    it('on a kind change to death, drops the details of the old kind', () => {
      spec
        .given([reported(amputation)])
        .when(correct({ kind: 'death' }))
        .then([
          corrected([
            { field: 'kind', previous: 'amputation', value: 'death' },
            { field: 'amputation', previous: { level: 'major', planned: false }, value: null },
          ]),
        ]);
    });

    it('refuses a value equal to the current one', () => {
      const error = spec
        .given([reported(amputation)])
        .when(correct({ 'amputation.level': 'major' }))
        .thenThrows('CORRECTION_UNCHANGED', 'rule');
      expect(error.field).toBe('changes.amputation.level');
    });

    it.each([
      ['an unknown field', { severity: 'high' }],
      ['its id', { eventId: 'AE2' }],
      ['an invalid limb', { limb: 'left' }],
      ['an unknown kind', { kind: 'stroke' }],
      ['a malformed date', { onsetOn: 'yesterday' }],
      ['an empty description', { description: '   ' }],
    ])('refuses a correction naming %s as INVALID_CORRECTION', (_label, changes) => {
      const error = spec
        .given([reported(amputation)])
        .when(correct(changes))
        .thenThrows('INVALID_CORRECTION', 'invalid');
      expect(error.field).toBe('changes');
    });

    it('refuses a kind change to amputation with incomplete details as INVALID_CORRECTION', () => {
      spec
        .given([reported(tvr)])
        .when(correct({ kind: 'amputation', 'amputation.level': 'major' }))
        .thenThrows('INVALID_CORRECTION', 'invalid');
    });

    it('applies the report rules to the corrected report, naming the changed field', () => {
      expect(
        spec
          .given([reported(amputation)])
          .when(correct({ onsetOn: '2025-01-09' }))
          .thenThrows('ONSET_BEFORE_ENROLLMENT', 'rule').field,
      ).toBe('changes.onsetOn');
      expect(
        spec
          .given([reported(amputation)])
          .when(correct({ onsetOn: '2025-07-01' }))
          .thenThrows('DATE_IN_FUTURE', 'rule').field,
      ).toBe('changes.onsetOn');
      expect(
        spec
          .given([reported(amputation)])
          .when(correct({ onsetOn: '2025-05-16' }, withdrewOnMay15))
          .thenThrows('PATIENT_WITHDRAWN', 'rule').field,
      ).toBe('changes.onsetOn');
    });

    it('refuses a kind change to TVR of an event without a limb', () => {
      const error = spec
        .given([reported(other)])
        .when(correct({ kind: 'tvr', 'tvr.clinicallyDriven': true }))
        .thenThrows('LIMB_REQUIRED', 'rule');
      expect(error.field).toBe('changes.limb');
    });

    it('refuses a kind change to amputation without amputation details', () => {
      const error = spec
        .given([reported(other)])
        .when(correct({ kind: 'amputation', limb: 'index' }))
        .thenThrows('AMPUTATION_DETAILS_REQUIRED', 'rule');
      expect(error.field).toBe('changes.amputation');
    });

    it('refuses a kind change to TVR without TVR details', () => {
      const error = spec
        .given([reported(amputation)])
        .when(correct({ kind: 'tvr' }))
        .thenThrows('TVR_DETAILS_REQUIRED', 'rule');
      expect(error.field).toBe('changes.tvr');
    });

    it('refuses a correction of a retracted event', () => {
      spec
        .given([reported(amputation), retracted])
        .when(correct({ onsetOn: '2025-05-02' }))
        .thenThrows('ADVERSE_EVENT_RETRACTED', 'rule');
    });

    describe('sees earlier corrections', () => {
      const onsetCorrected = corrected([{ field: 'onsetOn', previous: '2025-05-01', value: '2025-05-02' }]);
      const becameTvr = corrected([
        { field: 'kind', previous: 'amputation', value: 'tvr' },
        { field: 'tvr.clinicallyDriven', previous: null, value: false },
        { field: 'amputation', previous: { level: 'major', planned: false }, value: null },
      ]);

      it('refuses correcting the onset again to the value it was corrected to', () => {
        spec
          .given([reported(amputation), onsetCorrected])
          .when(correct({ onsetOn: '2025-05-02' }))
          .thenThrows('CORRECTION_UNCHANGED');
      });

      it('records the corrected value as previous for the next correction', () => {
        spec
          .given([reported(amputation), onsetCorrected])
          .when(correct({ onsetOn: '2025-05-01' }))
          .then([corrected([{ field: 'onsetOn', previous: '2025-05-02', value: '2025-05-01' }])]);
      });

      it('knows the new kind and its details after a kind change', () => {
        spec
          .given([reported(amputation), becameTvr])
          .when(correct({ 'tvr.clinicallyDriven': false }))
          .thenThrows('CORRECTION_UNCHANGED');
        spec
          .given([reported(amputation), becameTvr])
          .when(correct({ 'tvr.clinicallyDriven': true }))
          .then([corrected([{ field: 'tvr.clinicallyDriven', previous: false, value: true }])]);
      });

      it('has dropped the old kind details after a kind change', () => {
        spec
          .given([reported(amputation), becameTvr])
          .when(correct({ kind: 'amputation' }))
          .thenThrows('AMPUTATION_DETAILS_REQUIRED');
        spec
          .given([reported(amputation), becameTvr])
          .when(correct({ kind: 'amputation', 'amputation.level': 'major', 'amputation.planned': false }))
          .then([
            corrected([
              { field: 'kind', previous: 'tvr', value: 'amputation' },
              { field: 'amputation.level', previous: null, value: 'major' },
              { field: 'amputation.planned', previous: null, value: false },
              { field: 'tvr', previous: { clinicallyDriven: false }, value: null },
            ]),
          ]);
      });
    });

    it('refuses details of a kind the report does not have', () => {
      spec
        .given([reported(tvr)])
        .when(correct({ 'amputation.level': 'minor' }))
        .thenThrows('INVALID_CORRECTION');
    });

    it('refuses a kind change that also edits the details of the old kind', () => {
      spec
        .given([reported(amputation)])
        .when(correct({ kind: 'tvr', 'tvr.clinicallyDriven': true, 'amputation.level': 'minor' }))
        .thenThrows('DETAILS_MISMATCH');
    });
  });

  describe('RetractAdverseEvent', () => {
    it('refuses a retraction of an event never reported', () => {
      spec.given([]).when(retract).thenThrows('ADVERSE_EVENT_NOT_FOUND', 'not_found');
    });

    it('retracts a reported event', () => {
      spec
        .given([reported(death)])
        .when(retract)
        .then([retracted]);
    });

    it('retracts a corrected event', () => {
      spec
        .given([reported(amputation), corrected([{ field: 'onsetOn', previous: '2025-05-01', value: '2025-05-02' }])])
        .when(retract)
        .then([retracted]);
    });

    it('refuses a second retraction', () => {
      spec
        .given([reported(death), retracted])
        .when(retract)
        .thenThrows('ADVERSE_EVENT_RETRACTED', 'conflict');
    });
  });

  describe('AttachDocument', () => {
    const file = { filename: 'op-note.pdf', mediaType: 'application/pdf' as const, size: 1234, sha256: 'c'.repeat(64) };
    const attach = (documentId = 'DOC-1'): AdverseEventCommand => ({
      type: 'AttachDocument',
      data: { documentId, kind: 'operative-note', title: 'Operative note', ...file },
    });
    const attached = (documentId = 'DOC-1'): AdverseEventEvent => ({
      type: 'DocumentAttached',
      data: { trialId, patientId, eventId, siteId: 'S1', documentId, kind: 'operative-note', title: 'Operative note', ...file },
    });

    it("attaches a document to a reported event, with the site and the server's hash", () => {
      spec
        .given([reported(amputation)])
        .when(attach())
        .then([attached()]);
    });

    it('refuses a document id already attached to the event (409, the field named)', () => {
      const error = spec
        .given([reported(amputation), attached()])
        .when(attach())
        .thenThrows('DOCUMENT_ALREADY_ATTACHED', 'conflict');
      expect(error.field).toBe('documentId');
    });

    it('attaches a second document under another id', () => {
      spec
        .given([reported(amputation), attached()])
        .when(attach('DOC-2'))
        .then([attached('DOC-2')]);
    });

    it('keeps ids named like Object.prototype members apart from the prototype', () => {
      spec
        .given([reported(amputation)])
        .when(attach('__proto__'))
        .then([attached('__proto__')]);
      spec
        .given([reported(amputation), attached('__proto__')])
        .when(attach('__proto__'))
        .thenThrows('DOCUMENT_ALREADY_ATTACHED', 'conflict');
      spec
        .given([reported(amputation), attached('toString')])
        .when(attach('constructor'))
        .then([attached('constructor')]);
    });

    it('refuses an event that does not exist, or one retracted', () => {
      spec.given([]).when(attach()).thenThrows('ADVERSE_EVENT_NOT_FOUND', 'not_found');
      spec
        .given([reported(amputation), retracted])
        .when(attach())
        .thenThrows('ADVERSE_EVENT_RETRACTED', 'rule');
    });

    it('leaves the report as it is: a document is not a correction', () => {
      const state = [reported(amputation), attached()].reduce(evolveAdverseEvent, initialAdverseEventState());
      expect(state.status === 'reported' && state.report).toEqual(amputation);
    });
  });
});
