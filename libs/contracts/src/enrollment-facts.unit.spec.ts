import { applyRecordedChanges } from './domain-error';
import { evolvePatientFacts, evolveTrialFacts, type PatientFacts, type TrialFacts } from './enrollment-facts';
import type { PatientEvent, TrialEvent } from './enrollment';

const baseline = { ageYears: 70, sex: 'F' as const, diabetes: true, presentation: 'cli' as const, rutherfordClass: 5 };

describe("enrollment's published facts", () => {
  it('fold a trial: arms, sites, committee, the charter version in force', () => {
    const events: TrialEvent[] = [
      { type: 'TrialRegistered', data: { trialId: 'T1', title: 't', protocolVersion: '1', arms: ['DCB', 'PTA'] } },
      { type: 'SiteAdded', data: { trialId: 'T1', siteId: 'S1', name: 'One', country: 'DE' } },
      {
        type: 'CommitteeMemberAdded',
        data: { trialId: 'T1', userId: 'r1', name: 'Dr R', role: 'cec-reviewer', affiliatedSiteIds: ['S1'] },
      },
      { type: 'CharterVersionPublished', data: { trialId: 'T1', version: '1', endpoints: [] } },
      { type: 'CharterVersionPublished', data: { trialId: 'T1', version: '2', endpoints: [] } },
    ];
    expect(events.reduce<TrialFacts | undefined>(evolveTrialFacts, undefined)).toEqual({
      trialId: 'T1',
      arms: ['DCB', 'PTA'],
      siteIds: ['S1'],
      committee: { r1: { userId: 'r1', name: 'Dr R', role: 'cec-reviewer', affiliatedSiteIds: ['S1'] } },
      charterVersion: '2',
    });
  });

  it('fold a patient: the corrected enrolment date and the withdrawal, never the arm', () => {
    const events: PatientEvent[] = [
      { type: 'PatientEnrolled', data: { trialId: 'T1', patientId: 'P1', siteId: 'S1', enrolledOn: '2026-01-02', arm: 'DCB', baseline } },
      {
        type: 'PatientDataCorrected',
        data: {
          trialId: 'T1',
          patientId: 'P1',
          reason: 'typo',
          changes: [
            { field: 'enrolledOn', previous: '2026-01-02', value: '2026-01-03' },
            { field: 'arm', previous: 'DCB', value: 'PTA' },
          ],
        },
      },
      { type: 'VisitRecorded', data: { trialId: 'T1', patientId: 'P1', visitId: 'v1', visit: '30d', visitOn: '2026-02-01' } },
      { type: 'PatientWithdrawn', data: { trialId: 'T1', patientId: 'P1', withdrawnOn: '2026-03-01', reason: 'moved' } },
    ];
    const facts = events.reduce<PatientFacts | undefined>(evolvePatientFacts, undefined);
    expect(facts).toEqual({ trialId: 'T1', patientId: 'P1', siteId: 'S1', enrolledOn: '2026-01-03', withdrawnOn: '2026-03-01' });
    expect(JSON.stringify(facts)).not.toContain('DCB');
    expect(JSON.stringify(facts)).not.toContain('PTA');
  });

  it('know nothing of a stream that never started', () => {
    expect(
      evolveTrialFacts(undefined, { type: 'SiteAdded', data: { trialId: 'T1', siteId: 'S1', name: 'x', country: 'DE' } }),
    ).toBeUndefined();
    expect(
      evolvePatientFacts(undefined, {
        type: 'PatientWithdrawn',
        data: { trialId: 'T1', patientId: 'P1', withdrawnOn: '2026-03-01', reason: 'x' },
      }),
    ).toBeUndefined();
  });
});

describe('applyRecordedChanges', () => {
  it('sets what a correction set and removes what it recorded as null', () => {
    const report = { kind: 'amputation', onsetOn: '2026-01-01', amputation: { level: 'major', planned: false } } as Record<string, unknown>;
    const corrected = applyRecordedChanges(report, [
      { field: 'kind', value: 'tvr' },
      { field: 'tvr.clinicallyDriven', value: true },
      { field: 'amputation', value: null },
    ]);
    expect(corrected).toEqual({ kind: 'tvr', onsetOn: '2026-01-01', tvr: { clinicallyDriven: true } });
    expect(report).toEqual({ kind: 'amputation', onsetOn: '2026-01-01', amputation: { level: 'major', planned: false } });
  });

  it('never reaches a prototype', () => {
    expect(() => applyRecordedChanges({}, [{ field: '__proto__.polluted', value: 1 }])).toThrow();
    applyRecordedChanges({}, [{ field: 'constructor.prototype.polluted', value: null }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
