import {
  adverseEventStream,
  caseStream,
  patientStream,
  proceduresStream,
  trialStream,
  unblindingStream,
  type AdverseEventEvent,
  type CaseEvent,
  type PatientEvent,
  type ProcedureEvent,
  type TrialEvent,
} from '@app/contracts';
import { foldHistoryEvent, historyEntityOf, patientForReport, type HistoryChange } from './history-fold';
import { TrialHistory, toDay } from './history-snapshot';

type Published =
  TrialEvent | PatientEvent | ProcedureEvent | AdverseEventEvent | CaseEvent | { type: 'UnblindedResultsViewed'; data: unknown };

const T = 'T1';
const enrolled: PatientEvent = {
  type: 'PatientEnrolled',
  data: {
    trialId: T,
    patientId: 'P1',
    siteId: 'S1',
    enrolledOn: '2025-01-10',
    arm: 'DCB',
    baseline: { ageYears: 70, sex: 'F', diabetes: false, presentation: 'cli', rutherfordClass: 5 },
  },
};
const amputation: AdverseEventEvent = {
  type: 'AdverseEventReported',
  data: {
    trialId: T,
    patientId: 'P1',
    siteId: 'S1',
    eventId: 'E1',
    kind: 'amputation',
    onsetOn: '2025-03-01',
    limb: 'index',
    amputation: { level: 'minor', planned: false },
    description: 'toe',
  },
};
const outcome = { isEndpointEvent: true, kind: 'tvr', limb: 'index', tvr: { clinicallyDriven: true } } as const;

/** given(events) → the history as the read model and the replay fold it (each event's ordinal its sequence). */
function given(events: Array<[string, Published]>): { history: TrialHistory; changes: Array<HistoryChange | undefined> } {
  const history = new TrialHistory();
  const changes = events.map(([streamId, event], index) => {
    const change = foldHistoryEvent({ streamId, ...event }, (kind, entityId) => history.current(kind, entityId));
    if (change?.type === 'visit') history.addVisit(change.patientId, toDay(change.visitOn), index + 1);
    else if (change) history.addVersion(change.kind, change.entityId, { fromSeq: index + 1, facts: change.facts });
    return change;
  });
  return { history, changes };
}

describe('history fold: published events into reporting’s own facts', () => {
  it('keeps of a patient what a report reads, corrections applied with the recorded change list', () => {
    const { history } = given([
      [patientStream(T, 'P1'), enrolled],
      [
        proceduresStream(T, 'P1'),
        {
          type: 'ProcedureRecorded',
          data: {
            trialId: T,
            patientId: 'P1',
            procedureId: 'X1',
            performedOn: '2025-01-12',
            limb: 'left',
            device: { kind: 'DCB', name: 'D' },
            lesions: [
              { segment: 'btk', lengthMm: 40, occlusion: false },
              { segment: 'femoropopliteal', lengthMm: 90, occlusion: true },
              { segment: 'btk', lengthMm: 10, occlusion: false },
            ],
            technicalSuccess: true,
            index: true,
          },
        },
      ],
      // A later procedure is no index procedure.
      [
        proceduresStream(T, 'P1'),
        {
          type: 'ProcedureRecorded',
          data: {
            trialId: T,
            patientId: 'P1',
            procedureId: 'X2',
            performedOn: '2025-05-01',
            limb: 'left',
            device: { kind: 'PTA', name: 'B' },
            lesions: [{ segment: 'btk', lengthMm: 40, occlusion: false }],
            technicalSuccess: true,
            index: false,
          },
        },
      ],
      [
        patientStream(T, 'P1'),
        {
          type: 'PatientDataCorrected',
          data: {
            trialId: T,
            patientId: 'P1',
            reason: 'source data verification',
            changes: [
              { field: 'baseline.diabetes', previous: false, value: true },
              { field: 'baseline.rutherfordClass', previous: 5, value: 4 },
              { field: 'arm', previous: 'DCB', value: 'PTA' },
            ],
          },
        },
      ],
      [
        patientStream(T, 'P1'),
        { type: 'VisitRecorded', data: { trialId: T, patientId: 'P1', visitId: 'V1', visit: '30d', visitOn: '2025-02-10' } },
      ],
      [
        patientStream(T, 'P1'),
        { type: 'PatientWithdrawn', data: { trialId: T, patientId: 'P1', withdrawnOn: '2025-06-01', reason: 'moved away' } },
      ],
    ]);
    const facts = history.current('patient', 'P1');
    expect(facts).toEqual({
      patientId: 'P1',
      enrolment: { siteId: 'S1', arm: 'PTA', diabetes: true, presentation: 'cli', enrolledOn: '2025-01-10', withdrawnOn: '2025-06-01' },
      indexProcedure: { performedOn: '2025-01-12', segments: ['btk', 'femoropopliteal'] },
    });
    // Enrolment's private state stays with enrolment: no status, visits or baseline here.
    expect(Object.keys(facts ?? {})).toEqual(['patientId', 'enrolment', 'indexProcedure']);
    expect(patientForReport(facts!, history.lastVisit('P1', 6, toDay('2025-12-31')))).toEqual({
      patientId: 'P1',
      siteId: 'S1',
      arm: 'PTA',
      diabetes: true,
      presentation: 'cli',
      withdrawnOn: '2025-06-01',
      indexProcedure: { performedOn: '2025-01-12', segments: ['btk', 'femoropopliteal'] },
      visitDates: ['2025-02-10'],
    });
    // The version valid before the correction still reads as it did then.
    expect([...history.validAt('patient', 3)].map((v) => v.facts.enrolment)).toEqual([
      { siteId: 'S1', arm: 'DCB', diabetes: false, presentation: 'cli', enrolledOn: '2025-01-10' },
    ]);
  });

  it('keeps an index procedure folded before the enrolment, and reports the patient once enrolled', () => {
    const procedure: ProcedureEvent = {
      type: 'ProcedureRecorded',
      data: {
        trialId: T,
        patientId: 'P1',
        procedureId: 'X1',
        performedOn: '2025-01-12',
        limb: 'left',
        device: { kind: 'DCB', name: 'D' },
        lesions: [{ segment: 'btk', lengthMm: 40, occlusion: false }],
        technicalSuccess: true,
        index: true,
      },
    };
    const before = given([[proceduresStream(T, 'P1'), procedure]]).history.current('patient', 'P1')!;
    expect(patientForReport(before, undefined)).toBeUndefined();
    const after = given([
      [proceduresStream(T, 'P1'), procedure],
      [patientStream(T, 'P1'), enrolled],
    ]).history.current('patient', 'P1')!;
    expect(patientForReport(after, undefined)?.indexProcedure).toEqual({ performedOn: '2025-01-12', segments: ['btk'] });
  });

  it('keeps an adverse event as corrected, its retraction and where its case stands', () => {
    const { history, changes } = given([
      [adverseEventStream(T, 'E1'), amputation],
      [
        caseStream(T, 'E1'),
        {
          type: 'CaseOpened',
          data: {
            trialId: T,
            caseId: 'E1',
            eventId: 'E1',
            patientId: 'P1',
            siteId: 'S1',
            charterVersion: 'default-1',
            report: amputation.data,
            sourceVersion: 1,
            reportedAt: '2025-03-02T10:00:00.000Z',
          },
        },
      ],
      [
        adverseEventStream(T, 'E1'),
        {
          type: 'AdverseEventCorrected',
          data: {
            trialId: T,
            patientId: 'P1',
            eventId: 'E1',
            reason: 'was a TVR',
            changes: [
              { field: 'kind', previous: 'amputation', value: 'tvr' },
              { field: 'tvr.clinicallyDriven', previous: null, value: true },
              { field: 'description', previous: 'toe', value: 'stent' },
              // The details of the old kind, removed by the correction.
              { field: 'amputation', previous: { level: 'minor', planned: false }, value: null },
            ],
          },
        },
      ],
      [caseStream(T, 'E1'), { type: 'ReviewersAssigned', data: { caseId: 'E1', round: 1, reviewerIds: ['R1', 'R2'], assignedBy: 'A' } }],
      [
        caseStream(T, 'E1'),
        {
          type: 'CaseFinalized',
          data: {
            caseId: 'E1',
            round: 1,
            outcome,
            basis: 'concordant-reviews',
            charterVersion: 'default-1',
            finalizedAt: '2025-04-01T10:00:00.000Z',
          },
        },
      ],
    ]);
    expect(changes[3]).toBeUndefined();
    expect(history.current('adverse-event', 'E1')).toEqual({
      eventId: 'E1',
      patientId: 'P1',
      report: { kind: 'tvr', onsetOn: '2025-03-01', limb: 'index', tvr: { clinicallyDriven: true } },
      retracted: false,
      adjudication: { finalized: true, outcome },
    });
    expect([...history.validAt('adverse-event', 2)].map((v) => v.facts)).toEqual([
      {
        eventId: 'E1',
        patientId: 'P1',
        report: { kind: 'amputation', onsetOn: '2025-03-01', limb: 'index', amputation: { level: 'minor', planned: false } },
        retracted: false,
        adjudication: { finalized: false },
      },
    ]);

    const retracted = given([
      [adverseEventStream(T, 'E1'), amputation],
      [
        adverseEventStream(T, 'E1'),
        { type: 'AdverseEventRetracted', data: { trialId: T, patientId: 'P1', eventId: 'E1', reason: 'entered for the wrong patient' } },
      ],
      [caseStream(T, 'E1'), { type: 'CaseReopened', data: { caseId: 'E1', round: 2, reason: 'retracted', trigger: 'retraction' } }],
    ]).history.current('adverse-event', 'E1');
    expect(retracted).toMatchObject({ retracted: true, adjudication: { finalized: false } });
    // The adverse-event decider's state stays with adverse-events.
    expect(Object.keys(retracted ?? {}).sort()).toEqual(['adjudication', 'eventId', 'patientId', 'report', 'retracted']);
  });

  it('keeps each charter version by its id, and ignores what no report reads', () => {
    const endpoints = [{ id: 'survival', label: 'Survival', horizonDays: 365, events: [], includesDeath: true }];
    const { history, changes } = given([
      [trialStream(T), { type: 'TrialRegistered', data: { trialId: T, title: 't', protocolVersion: '1', arms: ['DCB', 'PTA'] } }],
      [trialStream(T), { type: 'CharterVersionPublished', data: { trialId: T, version: 'c1', endpoints } }],
      [unblindingStream(T), { type: 'UnblindedResultsViewed', data: {} }],
      [caseStream(T, 'E9'), { type: 'CaseCancelled', data: { caseId: 'E9', reason: 'no such event known' } }],
      ['elsewhere/T1/x', { type: 'PatientEnrolled', data: enrolled.data }],
    ]);
    expect(changes).toEqual([
      undefined,
      // Published before the charter had a censoring option: the default rule (api.md "Endpoint report").
      {
        type: 'facts',
        trialId: T,
        kind: 'charter',
        entityId: 'c1',
        facts: { version: 'c1', endpoints, censoring: { withdrawal: 'withdrawal-date' } },
      },
      undefined,
      undefined,
      undefined,
    ]);
    expect(history.snapshot(5, '2025-12-31').latestCharter).toEqual({
      version: 'c1',
      endpoints,
      censoring: { withdrawal: 'withdrawal-date' },
    });
  });

  it('keeps a charter version’s censoring rule as published, each version its own', () => {
    const endpoints = [{ id: 'survival', label: 'Survival', horizonDays: 365, events: [], includesDeath: true }];
    const { history } = given([
      [trialStream(T), { type: 'TrialRegistered', data: { trialId: T, title: 't', protocolVersion: '1', arms: [] } }],
      [
        trialStream(T),
        { type: 'CharterVersionPublished', data: { trialId: T, version: 'c1', endpoints, censoring: { withdrawal: 'last-contact' } } },
      ],
      [trialStream(T), { type: 'CharterVersionPublished', data: { trialId: T, version: 'c2', endpoints } }],
    ]);
    expect(history.snapshot(2, '2025-12-31').latestCharter?.censoring).toEqual({ withdrawal: 'last-contact' });
    expect(history.snapshot(3, '2025-12-31').latestCharter?.censoring).toEqual({ withdrawal: 'withdrawal-date' });
  });

  it('gives a report the latest visit on or before the withdrawal, not one after it', () => {
    const { history } = given([
      [patientStream(T, 'P1'), enrolled],
      [
        patientStream(T, 'P1'),
        { type: 'VisitRecorded', data: { trialId: T, patientId: 'P1', visitId: 'V1', visit: '30d', visitOn: '2025-02-01' } },
      ],
      [
        patientStream(T, 'P1'),
        { type: 'VisitRecorded', data: { trialId: T, patientId: 'P1', visitId: 'V2', visit: '6m', visitOn: '2025-07-01' } },
      ],
      [
        patientStream(T, 'P1'),
        { type: 'PatientWithdrawn', data: { trialId: T, patientId: 'P1', withdrawnOn: '2025-05-01', reason: 'moved' } },
      ],
    ]);
    expect(history.snapshot(3, '2025-12-31').patients[0]?.lastVisitOn).toBe('2025-07-01');
    expect(history.snapshot(4, '2025-12-31').patients[0]?.lastVisitOn).toBe('2025-02-01');
    expect(history.snapshot(4, '2025-03-01').patients[0]?.lastVisitOn).toBe('2025-02-01');
  });

  it('names the entity a batch must read before folding, by the one stream-id grammar', () => {
    expect(historyEntityOf({ streamId: patientStream(T, 'P1'), type: 'PatientWithdrawn' })).toEqual({
      trialId: T,
      kind: 'patient',
      entityId: 'P1',
    });
    expect(historyEntityOf({ streamId: proceduresStream(T, 'P1'), type: 'ProcedureRecorded' })).toEqual({
      trialId: T,
      kind: 'patient',
      entityId: 'P1',
    });
    expect(historyEntityOf({ streamId: caseStream(T, 'E1'), type: 'CaseFinalized' })).toEqual({
      trialId: T,
      kind: 'adverse-event',
      entityId: 'E1',
    });
    expect(historyEntityOf({ streamId: patientStream(T, 'P1'), type: 'VisitRecorded' })).toBeUndefined();
    expect(historyEntityOf({ streamId: trialStream(T), type: 'CharterVersionPublished' })).toBeUndefined();
    expect(historyEntityOf({ streamId: 'patient/T1/P1/extra', type: 'PatientEnrolled' })).toBeUndefined();
  });
});
