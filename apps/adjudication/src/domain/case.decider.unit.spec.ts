import { createHash } from 'node:crypto';
import type { AdverseEventReport, CaseEvent, CaseFinalized, CaseOpened, ESignature, Outcome } from '@app/contracts';
import { deciderSpec } from '../../../../libs/contracts/src/testing/decider-spec';
import { decideCase, evolveCase, initialCaseState, type CaseCommand, type CaseState, type Member, type OpenCase } from './case.decider';

const spec = deciderSpec({ decide: decideCase, evolve: evolveCase, initialState: initialCaseState });

// ---------------------------------------------------------------------------------------------
// Fixtures: one adjudicable adverse event (a major amputation at site S-BER) and its committee.
// ---------------------------------------------------------------------------------------------

const trialId = 'PAD-DCB-01';
const caseId = 'AE-0042';
const siteId = 'S-BER';
const charterVersion = '2';
const reportedAt = '2025-05-02T08:12:44.000Z';
const now = '2025-06-12T14:30:00.000Z';
const later = '2025-09-03T10:05:00.000Z';

const report: AdverseEventReport = {
  kind: 'amputation',
  onsetOn: '2025-05-01',
  limb: 'index',
  amputation: { level: 'major', planned: false },
  description: 'Above-knee amputation of the index limb after failed revascularisation',
};
const correctedReport: AdverseEventReport = {
  ...report,
  amputation: { level: 'minor', planned: false },
  description: 'Transmetatarsal amputation of the index limb',
};

const caseOpened: CaseOpened = {
  trialId,
  caseId,
  eventId: caseId,
  patientId: 'P-017',
  siteId,
  charterVersion,
  report,
  sourceVersion: 1,
  reportedAt,
  indexProcedure: { performedOn: '2025-01-15', limb: 'left', lesions: [{ segment: 'femoropopliteal', lengthMm: 140, occlusion: true }] },
};

interface Signer {
  id: string;
  name: string;
}
const anna: Signer = { id: 'rev-anna', name: 'Dr. Anna Keller' };
const bruno: Signer = { id: 'rev-bruno', name: 'Dr. Bruno Lindqvist' };
const carla: Signer = { id: 'rev-carla', name: 'Dr. Carla Moreau' };
const dieter: Signer = { id: 'rev-dieter', name: 'Dr. Dieter Hahn' };
const eva: Signer = { id: 'chair-eva', name: 'Prof. Eva Novak' };
const siteInvestigator = 'inv-ber-01';

const committee: Record<string, Member> = {
  [anna.id]: { userId: anna.id, role: 'cec-reviewer', affiliatedSiteIds: ['S-MUC'] },
  [bruno.id]: { userId: bruno.id, role: 'cec-reviewer', affiliatedSiteIds: [] },
  [carla.id]: { userId: carla.id, role: 'cec-reviewer', affiliatedSiteIds: ['S-VIE'] },
  // Works at the patient's site: may never review this case.
  [dieter.id]: { userId: dieter.id, role: 'cec-reviewer', affiliatedSiteIds: ['S-HAM', siteId] },
  [eva.id]: { userId: eva.id, role: 'cec-chair', affiliatedSiteIds: [] },
};

// Outcomes. `majorAmputation` is what the site reported; the others differ from it in one field.
const majorAmputation: Outcome = {
  isEndpointEvent: true,
  kind: 'amputation',
  onsetOn: '2025-05-01',
  limb: 'index',
  amputation: { level: 'major', planned: false },
};
const minorAmputation: Outcome = { ...majorAmputation, amputation: { level: 'minor', planned: false } };
const plannedMajorAmputation: Outcome = { ...majorAmputation, amputation: { level: 'major', planned: true } };
const notAnEndpoint: Outcome = { ...majorAmputation, isEndpointEvent: false };
const contralateralAmputation: Outcome = { ...majorAmputation, limb: 'contralateral' };
const amputationTwoDaysEarlier: Outcome = { ...majorAmputation, onsetOn: '2025-04-29' };
const { onsetOn: _onset, ...amputationWithoutOnset } = majorAmputation;
const clinicallyDrivenTvr: Outcome = {
  isEndpointEvent: true,
  kind: 'tvr',
  onsetOn: '2025-05-01',
  limb: 'index',
  tvr: { clinicallyDriven: true },
};
const scheduledTvr: Outcome = { ...clinicallyDrivenTvr, tvr: { clinicallyDriven: false } };
const deathNotEndpoint: Outcome = { isEndpointEvent: false, kind: 'death', onsetOn: '2025-05-01' };
const noEventNotEndpoint: Outcome = { isEndpointEvent: false, kind: 'none', onsetOn: '2025-05-01' };

const rationale = (outcome: Outcome): string =>
  outcome.isEndpointEvent
    ? `Source documents support ${outcome.kind} as an endpoint event.`
    : `Source documents do not support an endpoint event (${outcome.kind}).`;

/** An e-signature as the application makes it: bound by a SHA-256 to what was signed. */
function signed(signer: Signer, meaning: ESignature['meaning'], round: number, outcome: Outcome, signedAt: string): ESignature {
  const unsigned = { signerId: signer.id, printedName: signer.name, meaning, signedAt, charterVersion };
  const contentHash = createHash('sha256')
    .update(JSON.stringify({ caseId, round, outcome, rationale: rationale(outcome), signature: unsigned }), 'utf8')
    .digest('hex');
  return { ...unsigned, contentHash };
}

const reviewData = (reviewer: Signer, outcome: Outcome, round: number, at: string) => ({
  reviewerId: reviewer.id,
  outcome,
  rationale: rationale(outcome),
  signature: signed(reviewer, 'review', round, outcome, at),
});
const resolutionData = (outcome: Outcome, round: number, at: string) => ({
  chairId: eva.id,
  outcome,
  rationale: rationale(outcome),
  signature: signed(eva, 'approval', round, outcome, at),
});

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

const open: CaseCommand = { type: 'OpenCase', data: caseOpened };
const updateSource = (
  change: 'correction' | 'retraction',
  sourceVersion: number,
  reason: string,
  r: AdverseEventReport = correctedReport,
): CaseCommand => ({
  type: 'UpdateSourceReport',
  data: { report: r, sourceVersion, change, reason },
});
const assign = (reviewerIds: string[], reason?: string): CaseCommand => ({
  type: 'AssignReviewers',
  data: { reviewerIds, assignedBy: eva.id, ...(reason !== undefined ? { reason } : {}) },
  committee,
});
const submit = (reviewer: Signer, outcome: Outcome, round = 1, at = now): CaseCommand => ({
  type: 'SubmitReview',
  data: reviewData(reviewer, outcome, round, at),
  now: at,
});
const resolve = (outcome: Outcome, round = 1, at = now): CaseCommand => ({
  type: 'ResolveCase',
  data: resolutionData(outcome, round, at),
  now: at,
});
const reopen = (reason: string): CaseCommand => ({ type: 'ReopenCase', data: { reason } });
const raise = (queryId: string, raisedBy: string, asChair: boolean, question = 'Please provide the operative note.'): CaseCommand => ({
  type: 'RaiseQuery',
  data: { queryId, question, raisedBy, asChair },
});
const answer = (queryId: string, at = now, text = 'Operative note uploaded to the eCRF.'): CaseCommand => ({
  type: 'AnswerQuery',
  data: { queryId, answer: text, answeredBy: siteInvestigator },
  now: at,
});

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

const opened: CaseEvent = { type: 'CaseOpened', data: caseOpened };
const sourceUpdated = (
  change: 'correction' | 'retraction',
  sourceVersion: number,
  reason: string,
  r: AdverseEventReport = correctedReport,
): CaseEvent => ({
  type: 'SourceReportUpdated',
  data: { caseId, report: r, sourceVersion, change, reason },
});
const assigned = (reviewerIds: string[], round = 1, reason?: string): CaseEvent => ({
  type: 'ReviewersAssigned',
  data: { caseId, round, reviewerIds, assignedBy: eva.id, ...(reason !== undefined ? { reason } : {}) },
});
const reviewed = (reviewer: Signer, outcome: Outcome, round = 1, at = now): CaseEvent => ({
  type: 'ReviewSubmitted',
  data: { caseId, round, ...reviewData(reviewer, outcome, round, at) },
});
const chairResolved = (outcome: Outcome, round = 1, at = now): CaseEvent => ({
  type: 'ChairResolutionRecorded',
  data: { caseId, round, ...resolutionData(outcome, round, at) },
});
const finalized = (outcome: Outcome, basis: CaseFinalized['basis'], round = 1, at = now, supersedesRound?: number): CaseEvent => ({
  type: 'CaseFinalized',
  data: { caseId, round, outcome, basis, charterVersion, ...(supersedesRound !== undefined ? { supersedesRound } : {}), finalizedAt: at },
});
const reopened = (round: number, reason: string, trigger: 'chair' | 'correction' | 'retraction'): CaseEvent => ({
  type: 'CaseReopened',
  data: { caseId, round, reason, trigger },
});
const cancelled = (reason: string): CaseEvent => ({ type: 'CaseCancelled', data: { caseId, reason } });
const queryRaised = (queryId: string, raisedBy: string, question = 'Please provide the operative note.'): CaseEvent => ({
  type: 'QueryRaised',
  data: { caseId, queryId, question, raisedBy },
});
const queryAnswered = (queryId: string, text = 'Operative note uploaded to the eCRF.'): CaseEvent => ({
  type: 'QueryAnswered',
  data: { caseId, queryId, answer: text, answeredBy: siteInvestigator },
});

// ---------------------------------------------------------------------------------------------
// Histories
// ---------------------------------------------------------------------------------------------

const inReview: CaseEvent[] = [opened, assigned([anna.id, bruno.id])];
const oneReviewIn: CaseEvent[] = [...inReview, reviewed(anna, majorAmputation)];
const discordant: CaseEvent[] = [...oneReviewIn, reviewed(bruno, minorAmputation)];
const finalizedRound1: CaseEvent[] = [...oneReviewIn, reviewed(bruno, majorAmputation), finalized(majorAmputation, 'concordant-reviews')];
const retractedBeforeReview: CaseEvent[] = [
  opened,
  sourceUpdated('retraction', 2, 'entered in error', report),
  cancelled('adverse event retracted: entered in error'),
];
const reopenedRound2: CaseEvent[] = [...finalizedRound1, reopened(2, 'new imaging received', 'chair')];

const stateAfter = (events: CaseEvent[]): CaseState =>
  events.reduce<CaseState>((state, event) => evolveCase(state, event), initialCaseState());
function openCaseAfter(events: CaseEvent[]): OpenCase {
  const state = stateAfter(events);
  if (state.status === 'absent') throw new Error('expected an existing case');
  return state;
}

describe('case decider', () => {
  describe('OpenCase', () => {
    it('opens a case for a new adverse event', () => {
      spec.given([]).when(open).then([opened]);
    });

    it('starts round 1 awaiting assignment, with the dossier of the report', () => {
      expect(stateAfter([opened])).toStrictEqual<CaseState>({
        status: 'awaiting-assignment',
        trialId,
        caseId,
        eventId: caseId,
        patientId: 'P-017',
        siteId,
        charterVersion,
        report,
        sourceVersion: 1,
        reportedAt,
        indexProcedure: caseOpened.indexProcedure,
        round: 1,
        reviewerIds: [],
        reviews: {},
        queries: {},
        dossier: {},
      });
    });

    it('leaves out the index procedure when the patient has none yet', () => {
      const { indexProcedure: _procedure, ...withoutProcedure } = caseOpened;
      const state = openCaseAfter([{ type: 'CaseOpened', data: withoutProcedure }]);
      expect('indexProcedure' in state).toBe(false);
    });

    it.each<[string, CaseEvent[]]>([
      ['awaiting assignment', [opened]],
      ['in review', inReview],
      ['finalized', finalizedRound1],
      ['cancelled', retractedBeforeReview],
    ])('is a no-op when the case already exists (%s): the subscriber may deliver twice', (_label, history) => {
      spec.given(history).when(open).then([]);
    });
  });

  describe('UpdateSourceReport', () => {
    it('refuses an update of a case that does not exist', () => {
      spec
        .given([])
        .when(updateSource('correction', 2, 'source data verification'))
        .thenThrows('CASE_NOT_FOUND', 'not_found');
    });

    it.each([
      ['the same', 1],
      ['an older', 0],
    ])('ignores %s source version', (_label, version) => {
      spec
        .given(inReview)
        .when(updateSource('correction', version, 'source data verification'))
        .then([]);
    });

    it('ignores a version older than the last update already applied', () => {
      spec
        .given([...inReview, sourceUpdated('correction', 3, 'source data verification')])
        .when(updateSource('correction', 2, 'late redelivery'))
        .then([]);
    });

    it.each<[string, CaseEvent[]]>([
      ['awaiting assignment', [opened]],
      ['in review', oneReviewIn],
      ['awaiting resolution', discordant],
    ])('records a correction of a case %s, without a new round', (_label, history) => {
      spec
        .given(history)
        .when(updateSource('correction', 2, 'source data verification'))
        .then([sourceUpdated('correction', 2, 'source data verification')]);
    });

    it('makes the corrected report and its version the dossier', () => {
      const state = openCaseAfter([...oneReviewIn, sourceUpdated('correction', 2, 'source data verification')]);
      expect(state).toMatchObject({
        report: correctedReport,
        sourceVersion: 2,
        round: 1,
        status: 'in-review',
        reviewerIds: [anna.id, bruno.id],
      });
      expect(Object.keys(state.reviews)).toEqual([anna.id]);
    });

    it('reopens a finalized case on a correction: new round, trigger correction', () => {
      spec
        .given(finalizedRound1)
        .when(updateSource('correction', 2, 'amputation level was minor'))
        .then([
          sourceUpdated('correction', 2, 'amputation level was minor'),
          reopened(2, 'adverse event correction: amputation level was minor', 'correction'),
        ]);
    });

    it('reopens a finalized case on a retraction: new round, trigger retraction', () => {
      spec
        .given(finalizedRound1)
        .when(updateSource('retraction', 2, 'entered in error', report))
        .then([
          sourceUpdated('retraction', 2, 'entered in error', report),
          reopened(2, 'adverse event retraction: entered in error', 'retraction'),
        ]);
    });

    it('after reopening on a correction, awaits a new assignment in round 2 and keeps the first decision', () => {
      const state = openCaseAfter([
        ...finalizedRound1,
        sourceUpdated('correction', 2, 'amputation level was minor'),
        reopened(2, 'adverse event correction: amputation level was minor', 'correction'),
      ]);
      expect(state).toMatchObject({
        status: 'awaiting-assignment',
        round: 2,
        reviewerIds: [],
        reviews: {},
        report: correctedReport,
        sourceVersion: 2,
      });
      expect(state.decision).toStrictEqual({ round: 1, outcome: majorAmputation, basis: 'concordant-reviews', finalizedAt: now });
    });

    it.each<[string, CaseEvent[]]>([
      ['awaiting assignment', [opened]],
      ['in review', oneReviewIn],
      ['awaiting resolution', discordant],
      ['reopened, awaiting assignment', reopenedRound2],
    ])('cancels a case %s when its adverse event is retracted', (_label, history) => {
      spec
        .given(history)
        .when(updateSource('retraction', 2, 'entered in error', report))
        .then([sourceUpdated('retraction', 2, 'entered in error', report), cancelled('adverse event retracted: entered in error')]);
    });

    it('marks the case cancelled', () => {
      expect(stateAfter(retractedBeforeReview).status).toBe('cancelled');
    });

    it('ignores any update of a cancelled case, even with a newer version', () => {
      spec
        .given(retractedBeforeReview)
        .when(updateSource('correction', 3, 'source data verification'))
        .then([]);
      spec
        .given(retractedBeforeReview)
        .when(updateSource('retraction', 3, 'duplicate retraction', report))
        .then([]);
    });
  });

  describe('AssignReviewers', () => {
    it('assigns two reviewers to a new case; no reason is needed the first time', () => {
      spec
        .given([opened])
        .when(assign([anna.id, bruno.id]))
        .then([assigned([anna.id, bruno.id])]);
    });

    it('puts the case in review with those reviewers', () => {
      expect(openCaseAfter(inReview)).toMatchObject({ status: 'in-review', reviewerIds: [anna.id, bruno.id], round: 1 });
    });

    it('refuses someone who is not on the committee', () => {
      const error = spec
        .given([opened])
        .when(assign([anna.id, 'dr-unknown']))
        .thenThrows('NOT_A_REVIEWER', 'rule');
      expect(error.field).toBe('reviewerIds');
      expect(error.message).toContain('dr-unknown');
    });

    it('refuses the chair as a reviewer', () => {
      const error = spec
        .given([opened])
        .when(assign([eva.id, bruno.id]))
        .thenThrows('NOT_A_REVIEWER', 'rule');
      expect(error.field).toBe('reviewerIds');
    });

    it("refuses a reviewer affiliated with the patient's site", () => {
      const error = spec
        .given([opened])
        .when(assign([anna.id, dieter.id]))
        .thenThrows('REVIEWER_CONFLICT', 'rule');
      expect(error.field).toBe('reviewerIds');
      expect(error.message).toContain(siteId);
    });

    it('accepts a reviewer affiliated with other sites only', () => {
      spec
        .given([opened])
        .when(assign([anna.id, carla.id]))
        .then([assigned([anna.id, carla.id])]);
    });

    it('refuses a reassignment without a reason', () => {
      const error = spec
        .given(inReview)
        .when(assign([anna.id, carla.id]))
        .thenThrows('REASON_REQUIRED', 'rule');
      expect(error.field).toBe('reason');
      spec
        .given(inReview)
        .when(assign([anna.id, carla.id], ''))
        .thenThrows('REASON_REQUIRED', 'rule');
    });

    it('reassigns with a reason, replacing a reviewer who has not reviewed yet', () => {
      spec
        .given(oneReviewIn)
        .when(assign([anna.id, carla.id], 'Dr. Lindqvist on leave'))
        .then([assigned([anna.id, carla.id], 1, 'Dr. Lindqvist on leave')]);
    });

    it('keeps the review already submitted by a reviewer who stays assigned', () => {
      const state = openCaseAfter([...oneReviewIn, assigned([anna.id, carla.id], 1, 'Dr. Lindqvist on leave')]);
      expect(state).toMatchObject({ status: 'in-review', reviewerIds: [anna.id, carla.id] });
      expect(state.reviews[anna.id]?.outcome).toStrictEqual(majorAmputation);
    });

    it('refuses to drop a reviewer who already submitted a review in this round', () => {
      const error = spec
        .given(oneReviewIn)
        .when(assign([bruno.id, carla.id], 'workload'))
        .thenThrows('REVIEW_ALREADY_SUBMITTED', 'rule');
      expect(error.field).toBe('reviewerIds');
      expect(error.message).toContain(anna.id);
    });

    it('refuses a reassignment to the same reviewers, in any order', () => {
      spec
        .given(inReview)
        .when(assign([anna.id, bruno.id], 'confirming'))
        .thenThrows('ASSIGNMENT_UNCHANGED', 'rule');
      spec
        .given(inReview)
        .when(assign([bruno.id, anna.id], 'confirming'))
        .thenThrows('ASSIGNMENT_UNCHANGED', 'rule');
    });

    it('refuses an assignment on a finalized case', () => {
      spec
        .given(finalizedRound1)
        .when(assign([anna.id, carla.id], 'second opinion'))
        .thenThrows('CASE_FINALIZED', 'rule');
    });

    it('refuses an assignment on a cancelled case', () => {
      spec
        .given(retractedBeforeReview)
        .when(assign([anna.id, bruno.id]))
        .thenThrows('CASE_CANCELLED', 'rule');
    });

    it('refuses an assignment on a case that does not exist', () => {
      spec
        .given([])
        .when(assign([anna.id, bruno.id]))
        .thenThrows('CASE_NOT_FOUND', 'not_found');
    });

    it('assigns the same reviewers again in a reopened round, without a reason, for that round', () => {
      spec
        .given(reopenedRound2)
        .when(assign([anna.id, bruno.id]))
        .then([assigned([anna.id, bruno.id], 2)]);
    });
  });

  describe('SubmitReview', () => {
    it('refuses a review from a reviewer not assigned to the case', () => {
      spec.given(inReview).when(submit(carla, majorAmputation)).thenThrows('NOT_ASSIGNED', 'forbidden');
    });

    it('refuses a review before any assignment', () => {
      spec.given([opened]).when(submit(anna, majorAmputation)).thenThrows('NOT_ASSIGNED', 'forbidden');
    });

    it('refuses a second review by the same reviewer in the same round', () => {
      spec.given(oneReviewIn).when(submit(anna, minorAmputation)).thenThrows('REVIEW_ALREADY_SUBMITTED', 'conflict');
    });

    it('records the first review alone, without finalizing', () => {
      spec
        .given(inReview)
        .when(submit(anna, majorAmputation))
        .then([reviewed(anna, majorAmputation)]);
      expect(openCaseAfter(oneReviewIn).status).toBe('in-review');
    });

    it('finalizes on two concordant reviews, with the charter version and the time of the second review', () => {
      spec
        .given(oneReviewIn)
        .when(submit(bruno, majorAmputation))
        .then([
          reviewed(bruno, majorAmputation),
          {
            type: 'CaseFinalized',
            data: { caseId, round: 1, outcome: majorAmputation, basis: 'concordant-reviews', charterVersion: '2', finalizedAt: now },
          },
        ]);
    });

    it('finalizes whichever assigned reviewer submits first', () => {
      spec
        .given([...inReview, reviewed(bruno, majorAmputation)])
        .when(submit(anna, majorAmputation, 1, later))
        .then([reviewed(anna, majorAmputation, 1, later), finalized(majorAmputation, 'concordant-reviews', 1, later)]);
    });

    it('records the decision in the state', () => {
      const state = openCaseAfter(finalizedRound1);
      expect(state.status).toBe('finalized');
      expect(state.decision).toStrictEqual({ round: 1, outcome: majorAmputation, basis: 'concordant-reviews', finalizedAt: now });
    });

    it('does not finalize on discordant reviews: the case awaits the chair', () => {
      spec
        .given(oneReviewIn)
        .when(submit(bruno, minorAmputation))
        .then([reviewed(bruno, minorAmputation)]);
      const state = openCaseAfter(discordant);
      expect(state.status).toBe('awaiting-resolution');
      expect(state.decision).toBeUndefined();
    });

    it('does not finalize concordant reviews while a query is open', () => {
      const history = [...oneReviewIn, queryRaised('Q1', anna.id)];
      spec
        .given(history)
        .when(submit(bruno, majorAmputation))
        .then([reviewed(bruno, majorAmputation)]);
      expect(openCaseAfter([...history, reviewed(bruno, majorAmputation)]).status).toBe('in-review');
    });

    it('finalizes concordant reviews when every query raised is answered', () => {
      spec
        .given([...oneReviewIn, queryRaised('Q1', anna.id), queryAnswered('Q1')])
        .when(submit(bruno, majorAmputation))
        .then([reviewed(bruno, majorAmputation), finalized(majorAmputation, 'concordant-reviews')]);
    });

    it.each<[string, Outcome, Outcome]>([
      ['isEndpointEvent', majorAmputation, notAnEndpoint],
      ['kind', deathNotEndpoint, noEventNotEndpoint],
      ['amputation level', majorAmputation, minorAmputation],
      ['amputation planned', majorAmputation, plannedMajorAmputation],
      ['tvr clinicallyDriven', clinicallyDrivenTvr, scheduledTvr],
      ['limb', majorAmputation, contralateralAmputation],
    ])('makes the reviews discordant when only %s differs', (_field, first, second) => {
      const history = [...inReview, reviewed(anna, first)];
      spec
        .given(history)
        .when(submit(bruno, second))
        .then([reviewed(bruno, second)]);
      expect(stateAfter([...history, reviewed(bruno, second)]).status).toBe('awaiting-resolution');
    });

    it.each<[string, Outcome, Outcome]>([
      ['kind death, no limb', deathNotEndpoint, deathNotEndpoint],
      ['kind tvr', clinicallyDrivenTvr, clinicallyDrivenTvr],
      ['not an endpoint event', notAnEndpoint, notAnEndpoint],
    ])('finalizes identical classifications (%s)', (_label, first, second) => {
      spec
        .given([...inReview, reviewed(anna, first)])
        .when(submit(bruno, second))
        .then([reviewed(bruno, second), finalized(first, 'concordant-reviews')]);
    });

    it.each<[string, Outcome]>([
      ['a different onset date', amputationTwoDaysEarlier],
      ['no onset date', amputationWithoutOnset],
    ])('keeps reviews concordant when the second gives %s; the outcome is that of the first assigned reviewer', (_label, second) => {
      spec
        .given(oneReviewIn)
        .when(submit(bruno, second))
        .then([reviewed(bruno, second), finalized(majorAmputation, 'concordant-reviews')]);
    });

    it('refuses a review on a finalized case', () => {
      spec.given(finalizedRound1).when(submit(anna, minorAmputation)).thenThrows('CASE_FINALIZED', 'rule');
    });

    it('refuses a review on a cancelled case', () => {
      spec
        .given([
          ...inReview,
          sourceUpdated('retraction', 2, 'entered in error', report),
          cancelled('adverse event retracted: entered in error'),
        ])
        .when(submit(anna, majorAmputation))
        .thenThrows('CASE_CANCELLED', 'rule');
    });

    it('refuses a review of a case that does not exist', () => {
      spec.given([]).when(submit(anna, majorAmputation)).thenThrows('CASE_NOT_FOUND', 'not_found');
    });
  });

  describe('ResolveCase', () => {
    it.each<[string, CaseEvent[]]>([
      ['awaiting assignment', [opened]],
      ['in review, one review in', oneReviewIn],
      [
        'in review, concordant reviews held by an open query',
        [...oneReviewIn, queryRaised('Q1', eva.id), reviewed(bruno, majorAmputation)],
      ],
    ])('refuses a resolution of a case %s', (_label, history) => {
      spec.given(history).when(resolve(minorAmputation)).thenThrows('RESOLUTION_NOT_NEEDED', 'rule');
    });

    it('refuses a resolution of a finalized case', () => {
      spec.given(finalizedRound1).when(resolve(minorAmputation)).thenThrows('CASE_FINALIZED', 'rule');
    });

    it('refuses a resolution of a case that does not exist', () => {
      spec.given([]).when(resolve(minorAmputation)).thenThrows('CASE_NOT_FOUND', 'not_found');
    });

    it('refuses a resolution while a query is open', () => {
      spec
        .given([...discordant, queryRaised('Q1', eva.id)])
        .when(resolve(minorAmputation))
        .thenThrows('OPEN_QUERY', 'rule');
    });

    it("records the chair's signed ruling and finalizes with it", () => {
      spec
        .given(discordant)
        .when(resolve(minorAmputation, 1, later))
        .then([chairResolved(minorAmputation, 1, later), finalized(minorAmputation, 'chair-resolution', 1, later)]);
    });

    it('resolves once the open query is answered', () => {
      spec
        .given([...discordant, queryRaised('Q1', eva.id), queryAnswered('Q1')])
        .when(resolve(majorAmputation))
        .then([chairResolved(majorAmputation), finalized(majorAmputation, 'chair-resolution')]);
    });

    it('leaves the case finalized with the decision of the chair', () => {
      const state = openCaseAfter([...discordant, chairResolved(minorAmputation), finalized(minorAmputation, 'chair-resolution')]);
      expect(state.status).toBe('finalized');
      expect(state.decision).toStrictEqual({ round: 1, outcome: minorAmputation, basis: 'chair-resolution', finalizedAt: now });
    });
  });

  describe('ReopenCase', () => {
    it.each<[string, CaseEvent[]]>([
      ['awaiting assignment', [opened]],
      ['in review', oneReviewIn],
      ['awaiting resolution', discordant],
      ['cancelled', retractedBeforeReview],
      ['reopened', reopenedRound2],
    ])('refuses to reopen a case %s', (_label, history) => {
      spec.given(history).when(reopen('new imaging received')).thenThrows('CASE_NOT_FINALIZED', 'rule');
    });

    it('refuses to reopen a case that does not exist', () => {
      spec.given([]).when(reopen('new imaging received')).thenThrows('CASE_NOT_FOUND', 'not_found');
    });

    it('reopens a finalized case in a new round, triggered by the chair', () => {
      spec
        .given(finalizedRound1)
        .when(reopen('new imaging received'))
        .then([reopened(2, 'new imaging received', 'chair')]);
    });

    it('starts the new round without reviewers or reviews, keeping the earlier decision', () => {
      const state = openCaseAfter(reopenedRound2);
      expect(state).toMatchObject({ status: 'awaiting-assignment', round: 2, reviewerIds: [], reviews: {} });
      expect(state.decision?.round).toBe(1);
    });

    it('lets a reviewer of the first round review again in the new one', () => {
      spec
        .given([...reopenedRound2, assigned([anna.id, carla.id], 2)])
        .when(submit(anna, minorAmputation, 2, later))
        .then([reviewed(anna, minorAmputation, 2, later)]);
    });

    it('gives the second decision, by concordant reviews, the round it supersedes', () => {
      spec
        .given([...reopenedRound2, assigned([anna.id, carla.id], 2), reviewed(anna, minorAmputation, 2, later)])
        .when(submit(carla, minorAmputation, 2, later))
        .then([reviewed(carla, minorAmputation, 2, later), finalized(minorAmputation, 'concordant-reviews', 2, later, 1)]);
    });

    it('gives the second decision, by the chair, the round it supersedes', () => {
      spec
        .given([
          ...reopenedRound2,
          assigned([anna.id, carla.id], 2),
          reviewed(anna, minorAmputation, 2, later),
          reviewed(carla, majorAmputation, 2, later),
        ])
        .when(resolve(minorAmputation, 2, later))
        .then([chairResolved(minorAmputation, 2, later), finalized(minorAmputation, 'chair-resolution', 2, later, 1)]);
    });

    it('supersedes the latest decision when reopened twice', () => {
      const round2Final: CaseEvent[] = [
        ...reopenedRound2,
        assigned([anna.id, carla.id], 2),
        reviewed(anna, minorAmputation, 2, later),
        reviewed(carla, minorAmputation, 2, later),
        finalized(minorAmputation, 'concordant-reviews', 2, later, 1),
      ];
      spec
        .given(round2Final)
        .when(reopen('amputation level queried by monitor'))
        .then([reopened(3, 'amputation level queried by monitor', 'chair')]);
      const round3: CaseEvent[] = [
        ...round2Final,
        reopened(3, 'amputation level queried by monitor', 'chair'),
        assigned([bruno.id, carla.id], 3),
        reviewed(bruno, majorAmputation, 3, later),
      ];
      spec
        .given(round3)
        .when(submit(carla, majorAmputation, 3, later))
        .then([reviewed(carla, majorAmputation, 3, later), finalized(majorAmputation, 'concordant-reviews', 3, later, 2)]);
    });
  });

  describe('RaiseQuery', () => {
    it('lets the chair raise a query, assigned or not, even before assignment', () => {
      spec
        .given([opened])
        .when(raise('Q1', eva.id, true))
        .then([queryRaised('Q1', eva.id)]);
      spec
        .given(discordant)
        .when(raise('Q1', eva.id, true))
        .then([queryRaised('Q1', eva.id)]);
    });

    it('lets an assigned reviewer raise a query', () => {
      spec
        .given(inReview)
        .when(raise('Q1', bruno.id, false))
        .then([queryRaised('Q1', bruno.id)]);
    });

    it('refuses a query from a reviewer not assigned to the case', () => {
      spec
        .given(inReview)
        .when(raise('Q1', carla.id, false))
        .thenThrows('NOT_ASSIGNED', 'forbidden');
    });

    it('refuses a query id already used on the case, answered or not', () => {
      const error = spec
        .given([...inReview, queryRaised('Q1', anna.id)])
        .when(raise('Q1', bruno.id, false, 'Is there an angiogram?'))
        .thenThrows('QUERY_ALREADY_EXISTS', 'conflict');
      expect(error.field).toBe('queryId');
      spec
        .given([...inReview, queryRaised('Q1', anna.id), queryAnswered('Q1')])
        .when(raise('Q1', eva.id, true))
        .thenThrows('QUERY_ALREADY_EXISTS', 'conflict');
    });

    it('refuses a query on a closed case', () => {
      spec
        .given(finalizedRound1)
        .when(raise('Q1', eva.id, true))
        .thenThrows('CASE_FINALIZED', 'rule');
      spec
        .given(retractedBeforeReview)
        .when(raise('Q1', eva.id, true))
        .thenThrows('CASE_CANCELLED', 'rule');
    });

    it('refuses a query on a case that does not exist', () => {
      spec
        .given([])
        .when(raise('Q1', eva.id, true))
        .thenThrows('CASE_NOT_FOUND', 'not_found');
    });

    it('keeps the query open in the state', () => {
      expect(openCaseAfter([...inReview, queryRaised('Q1', anna.id)]).queries).toStrictEqual({
        Q1: { question: 'Please provide the operative note.', raisedBy: anna.id },
      });
    });
  });

  describe('AnswerQuery', () => {
    it('refuses an answer to a query that does not exist', () => {
      const error = spec.given(inReview).when(answer('Q9')).thenThrows('QUERY_NOT_FOUND', 'not_found');
      expect(error.message).toContain('Q9');
    });

    it('refuses a second answer', () => {
      spec
        .given([...inReview, queryRaised('Q1', anna.id), queryAnswered('Q1')])
        .when(answer('Q1', now, 'Angiogram uploaded as well.'))
        .thenThrows('QUERY_ALREADY_ANSWERED', 'conflict');
    });

    it('refuses an answer on a case that does not exist', () => {
      spec.given([]).when(answer('Q1')).thenThrows('CASE_NOT_FOUND', 'not_found');
    });

    it('records the answer', () => {
      const history = [...oneReviewIn, queryRaised('Q1', anna.id)];
      spec
        .given(history)
        .when(answer('Q1'))
        .then([queryAnswered('Q1')]);
      expect(openCaseAfter([...history, queryAnswered('Q1')]).queries).toStrictEqual({
        Q1: {
          question: 'Please provide the operative note.',
          raisedBy: anna.id,
          answer: 'Operative note uploaded to the eCRF.',
          answeredBy: siteInvestigator,
        },
      });
    });

    it('finalizes a round with two concordant reviews when its last open query is answered, at the time of the answer', () => {
      spec
        .given([...oneReviewIn, queryRaised('Q1', anna.id), reviewed(bruno, majorAmputation)])
        .when(answer('Q1', later))
        .then([queryAnswered('Q1'), finalized(majorAmputation, 'concordant-reviews', 1, later)]);
    });

    it('does not finalize while another query stays open', () => {
      spec
        .given([
          ...oneReviewIn,
          queryRaised('Q1', anna.id),
          queryRaised('Q2', eva.id, 'Was the amputation planned?'),
          reviewed(bruno, majorAmputation),
        ])
        .when(answer('Q1', later))
        .then([queryAnswered('Q1')]);
    });

    it('does not finalize discordant reviews: the chair still has to resolve', () => {
      spec
        .given([...discordant, queryRaised('Q1', eva.id)])
        .when(answer('Q1', later))
        .then([queryAnswered('Q1')]);
    });

    it('gives a decision finalized by an answer in a reopened round the round it supersedes', () => {
      spec
        .given([
          ...reopenedRound2,
          assigned([anna.id, carla.id], 2),
          queryRaised('Q2', carla.id, 'Please provide the discharge letter.'),
          reviewed(anna, minorAmputation, 2, later),
          reviewed(carla, minorAmputation, 2, later),
        ])
        .when(answer('Q2', later, 'Discharge letter uploaded.'))
        .then([queryAnswered('Q2', 'Discharge letter uploaded.'), finalized(minorAmputation, 'concordant-reviews', 2, later, 1)]);
    });
  });

  describe('evolveCase', () => {
    it('ignores events other than CaseOpened on an absent case', () => {
      expect(stateAfter([assigned([anna.id, bruno.id]), reviewed(anna, majorAmputation)])).toStrictEqual({ status: 'absent' });
    });

    it('leaves the state unchanged on an answer to an unknown query', () => {
      const before = stateAfter(inReview);
      expect(evolveCase(before, queryAnswered('Q9'))).toStrictEqual(before);
    });

    it('leaves the state unchanged on the chair ruling itself (the CaseFinalized that follows decides)', () => {
      const before = stateAfter(discordant);
      expect(evolveCase(before, chairResolved(minorAmputation))).toBe(before);
    });
  });

  describe('ReleaseRendition (the dossier, api.md "Source documents and the CEC dossier")', () => {
    const rendition = { filename: 'op-note-redacted.pdf', mediaType: 'application/pdf' as const, size: 2048, sha256: 'b'.repeat(64) };
    const source = { kind: 'operative-note' as const, title: 'Operative note', sha256: 'a'.repeat(64) };
    // `attachedAs: null` = no such document is attached to the event.
    const release = (documentId = 'DOC-1', attachedAs: typeof source | null = source): CaseCommand => ({
      type: 'ReleaseRendition',
      data: { documentId, rendition, redactionNote: 'device name removed', releasedBy: 'coord-1', releasedAt: now },
      source: attachedAs ?? undefined,
    });
    const released = (documentId = 'DOC-1'): CaseEvent => ({
      type: 'DossierDocumentReleased',
      data: {
        caseId,
        documentId,
        kind: 'operative-note',
        title: 'Operative note',
        source: { sha256: source.sha256 },
        rendition,
        redactionNote: 'device name removed',
        releasedBy: 'coord-1',
        releasedAt: now,
      },
    });

    it('releases a rendition of a document attached to the event, naming the source by hash', () => {
      spec.given(inReview).when(release()).then([released()]);
    });

    it('releases to a finalized case too: the record of what the committee read is completed', () => {
      spec.given(finalizedRound1).when(release()).then([released()]);
    });

    it('puts the rendition in the dossier, keyed by the source document id', () => {
      expect(openCaseAfter([...inReview, released()]).dossier['DOC-1']?.rendition.sha256).toBe(rendition.sha256);
    });

    it('refuses a document that is not attached to the event (404, the field named)', () => {
      const error = spec.given(inReview).when(release('DOC-9', null)).thenThrows('DOCUMENT_NOT_FOUND', 'not_found');
      expect(error.field).toBe('documentId');
    });

    it('refuses a second rendition of the same document (409)', () => {
      spec
        .given([...inReview, released()])
        .when(release())
        .thenThrows('RENDITION_ALREADY_RELEASED', 'conflict');
    });

    it('keeps a document id named like an Object.prototype member apart from the prototype', () => {
      spec
        .given(inReview)
        .when(release('constructor'))
        .then([released('constructor')]);
      spec
        .given([...inReview, released('constructor')])
        .when(release('constructor'))
        .thenThrows('RENDITION_ALREADY_RELEASED', 'conflict');
    });

    it('refuses a release to a cancelled case', () => {
      spec.given(retractedBeforeReview).when(release()).thenThrows('CASE_CANCELLED', 'rule');
    });

    it('refuses a case that does not exist', () => {
      spec.given([]).when(release()).thenThrows('CASE_NOT_FOUND', 'not_found');
    });
  });

  describe('AnswerQuery citing documents', () => {
    const citing = (documentIds: string[], attached: string[]): CaseCommand => ({
      type: 'AnswerQuery',
      data: { queryId: 'Q1', answer: 'See the operative note.', answeredBy: siteInvestigator, documentIds },
      attachedDocumentIds: attached,
      now,
    });

    it('records the documents the answer cites', () => {
      spec
        .given([...inReview, queryRaised('Q1', anna.id)])
        .when(citing(['DOC-1'], ['DOC-1', 'DOC-2']))
        .then([
          {
            type: 'QueryAnswered',
            data: { caseId, queryId: 'Q1', answer: 'See the operative note.', answeredBy: siteInvestigator, documentIds: ['DOC-1'] },
          },
        ]);
    });

    it('refuses a document not attached to the event, naming which one', () => {
      const error = spec
        .given([...inReview, queryRaised('Q1', anna.id)])
        .when(citing(['DOC-1', 'DOC-7'], ['DOC-1']))
        .thenThrows('DOCUMENT_NOT_ATTACHED', 'rule');
      expect(error.field).toBe('documentIds.1');
    });
  });
});
