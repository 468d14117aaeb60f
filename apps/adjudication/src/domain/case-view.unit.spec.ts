import type { CaseEvent, CaseOpened, DomainError, Outcome } from '@app/contracts';
import { caseView, type CaseHistoryEvent, type Viewer } from './case-view';
import { sign } from './e-signature';

// A reported major amputation, its index procedure (no device: the case never holds one), two reviewers.
const caseId = 'AE-7';
const caseOpened: CaseOpened = {
  trialId: 'T',
  caseId,
  eventId: caseId,
  patientId: 'P-1',
  siteId: 'S-1',
  charterVersion: '2',
  report: {
    kind: 'amputation',
    onsetOn: '2025-05-01',
    limb: 'index',
    amputation: { level: 'major', planned: false },
    description: 'above-knee amputation',
  },
  sourceVersion: 1,
  reportedAt: '2025-05-02T08:00:00.000Z',
  indexProcedure: { performedOn: '2025-01-15', limb: 'left', lesions: [{ segment: 'btk', lengthMm: 110, occlusion: true }] },
};
const major: Outcome = {
  isEndpointEvent: true,
  kind: 'amputation',
  limb: 'index',
  onsetOn: '2025-05-01',
  amputation: { level: 'major', planned: false },
};

const reviewerA: Viewer = { userId: 'rev-a', roles: ['cec-reviewer'] };
const reviewerB: Viewer = { userId: 'rev-b', roles: ['cec-reviewer'] };
const stranger: Viewer = { userId: 'rev-c', roles: ['cec-reviewer'] };
const chair: Viewer = { userId: 'chair', roles: ['cec-chair'] };
const auditor: Viewer = { userId: 'aud', roles: ['auditor'] };

const reviewed = (reviewerId: string, round = 1, rationale = `${reviewerId} read the operative note`): CaseEvent => {
  const signature = sign(
    { caseId, round, outcome: major, rationale },
    {
      signerId: reviewerId,
      printedName: `Dr. ${reviewerId}`,
      meaning: 'review',
      signedAt: '2025-06-01T10:00:00.000Z',
      charterVersion: '2',
    },
  );
  return { type: 'ReviewSubmitted', data: { caseId, round, reviewerId, outcome: major, rationale, signature } };
};
const opened: CaseEvent = { type: 'CaseOpened', data: caseOpened };
const assigned = (round = 1): CaseEvent => ({
  type: 'ReviewersAssigned',
  data: { caseId, round, reviewerIds: ['rev-a', 'rev-b'], assignedBy: 'chair' },
});
const finalized = (round = 1, supersedesRound?: number): CaseEvent => ({
  type: 'CaseFinalized',
  data: {
    caseId,
    round,
    outcome: major,
    basis: 'concordant-reviews',
    charterVersion: '2',
    ...(supersedesRound ? { supersedesRound } : {}),
    finalizedAt: '2025-06-01T10:00:00.000Z',
  },
});

const oneReviewIn = [opened, assigned(), reviewed('rev-a')];
const bothIn = [...oneReviewIn, reviewed('rev-b'), finalized()];

function refusal(events: CaseEvent[], viewer: Viewer): DomainError {
  try {
    caseView(events, viewer);
  } catch (error) {
    return error as DomainError;
  }
  throw new Error('expected the view to be refused');
}

describe('blinded case view', () => {
  it('shows a reviewer neither the other review nor its signature until both are in', () => {
    const view = caseView(oneReviewIn, reviewerB);
    expect(view.reviews).toEqual([]);
    expect(view.reviewsSubmitted).toBe(1);
    expect(JSON.stringify(view)).not.toContain('rev-a read the operative note');
    expect(view).not.toHaveProperty('signatures');
    expect(view).not.toHaveProperty('decisions');
  });

  it('shows a reviewer their own review before the other is in', () => {
    expect(caseView(oneReviewIn, reviewerA).reviews).toEqual([
      expect.objectContaining({ reviewerId: 'rev-a', rationale: 'rev-a read the operative note' }),
    ]);
  });

  it('shows a reviewer both reviews once both are in', () => {
    expect(caseView(bothIn, reviewerB).reviews.map((r) => r.reviewerId)).toEqual(['rev-a', 'rev-b']);
  });

  it.each([
    ['chair', chair],
    ['auditor', auditor],
  ])('shows the %s both reviews at once, each signature checked, and every decision', (_role, viewer) => {
    const view = caseView(oneReviewIn, viewer);
    expect(view.reviews.map((r) => r.reviewerId)).toEqual(['rev-a']);
    expect(view).toMatchObject({ signatures: [{ signerId: 'rev-a', round: 1, meaning: 'review', valid: true }], decisions: [] });
    const reopened: CaseEvent[] = [
      ...bothIn,
      { type: 'CaseReopened', data: { caseId, round: 2, reason: 'new imaging', trigger: 'chair' } },
      assigned(2),
      reviewed('rev-a', 2),
      reviewed('rev-b', 2),
      finalized(2, 1),
    ];
    expect(caseView(reopened, viewer)).toMatchObject({ round: 2, decisions: [{ round: 1 }, { round: 2, supersedesRound: 1 }] });
  });

  it('never holds arm or device: the index procedure shows date, limb and lesions only', () => {
    for (const viewer of [reviewerA, reviewerB, chair, auditor]) {
      const text = JSON.stringify(caseView(bothIn, viewer));
      for (const secret of ['"arm"', '"device"']) expect(text).not.toContain(secret);
    }
    expect(caseView(bothIn, chair).indexProcedure).toEqual(caseOpened.indexProcedure);
  });

  it('flags a signature whose signed content was changed afterwards (21 CFR 11.70)', () => {
    const tampered = reviewed('rev-a');
    if (tampered.type !== 'ReviewSubmitted') throw new Error('unreachable');
    const edited: CaseEvent = { type: 'ReviewSubmitted', data: { ...tampered.data, rationale: 'edited later' } };
    const view = caseView([opened, assigned(), edited, reviewed('rev-b')], chair) as {
      signatures: Array<{ signerId: string; valid: boolean }>;
    };
    expect(view.signatures.map((s) => [s.signerId, s.valid])).toEqual([
      ['rev-a', false],
      ['rev-b', true],
    ]);
  });

  it('refuses a reviewer not assigned to the case, and a case that does not exist', () => {
    expect(refusal(bothIn, stranger)).toMatchObject({ code: 'NOT_ASSIGNED', kind: 'forbidden' });
    expect(refusal([], chair)).toMatchObject({ code: 'CASE_NOT_FOUND', kind: 'not_found' });
  });
});

describe('case history across rounds (api.md: the case view keeps the whole history)', () => {
  const minor: Outcome = { ...major, amputation: { level: 'minor', planned: false } };
  const at = (minute: number) => `2025-06-0${1 + Math.floor(minute / 60)}T10:${String(minute % 60).padStart(2, '0')}:00.000Z`;
  const review = (reviewerId: string, round: number, outcome: Outcome, rationale: string, minute: number, extra = {}): CaseHistoryEvent => {
    const signature = sign(
      { caseId, round, outcome, rationale },
      { signerId: reviewerId, printedName: `Dr. ${reviewerId}`, meaning: 'review', signedAt: at(minute), charterVersion: '2', ...extra },
    );
    return { type: 'ReviewSubmitted', data: { caseId, round, reviewerId, outcome, rationale, signature }, recordedAt: at(minute) };
  };
  const assign = (round: number, reviewerIds: string[], minute: number): CaseHistoryEvent => ({
    type: 'ReviewersAssigned',
    data: { caseId, round, reviewerIds, assignedBy: 'chair' },
    recordedAt: at(minute),
    recordedBy: 'chair',
  });
  const chairSignature = sign(
    { caseId, round: 1, outcome: major, rationale: 'chair: imaging shows above-knee' },
    {
      signerId: 'chair',
      printedName: 'Prof. Chair',
      meaning: 'approval',
      signedAt: at(30),
      charterVersion: '2',
      authTime: at(28),
      amr: ['pwd', 'otp'],
      acr: 'urn:example:loa:2',
    },
  );
  const correctedReport = { ...caseOpened.report, amputation: { level: 'minor' as const, planned: false } };

  // Round 1: discordant, the chair rules; a site correction reopens it; round 2: concordant,
  // supersedes round 1; the chair reopens; round 3: rev-e has reviewed, rev-a not yet.
  const round1: CaseHistoryEvent[] = [
    { type: 'CaseOpened', data: caseOpened, recordedAt: '2025-05-02T08:00:01.000Z', recordedBy: 'system:adjudication' },
    assign(1, ['rev-a', 'rev-b'], 1),
    { type: 'QueryRaised', data: { caseId, queryId: 'Q1', question: 'round-1 question: level?', raisedBy: 'rev-a' }, recordedAt: at(2) },
    { type: 'QueryAnswered', data: { caseId, queryId: 'Q1', answer: 'above the knee', answeredBy: 'inv' }, recordedAt: at(3) },
    review('rev-a', 1, major, 'round-1 rationale of rev-a', 10, { authTime: at(9), amr: ['pwd'] }),
    review('rev-b', 1, minor, 'round-1 rationale of rev-b', 11),
    {
      type: 'ChairResolutionRecorded',
      data: { caseId, round: 1, chairId: 'chair', outcome: major, rationale: 'chair: imaging shows above-knee', signature: chairSignature },
      recordedAt: at(30),
    },
    {
      type: 'CaseFinalized',
      data: { caseId, round: 1, outcome: major, basis: 'chair-resolution', charterVersion: '2', finalizedAt: at(30) },
      recordedAt: at(30),
    },
  ];
  const round2: CaseHistoryEvent[] = [
    {
      type: 'SourceReportUpdated',
      data: { caseId, report: correctedReport, sourceVersion: 2, change: 'correction', reason: 'operative note says transmetatarsal' },
      recordedAt: at(40),
      recordedBy: 'system:adjudication',
    },
    {
      type: 'CaseReopened',
      data: { caseId, round: 2, reason: 'adverse event correction: operative note says transmetatarsal', trigger: 'correction' },
      recordedAt: at(40),
      recordedBy: 'system:adjudication',
    },
    assign(2, ['rev-b', 'rev-d'], 41),
    review('rev-b', 2, minor, 'round-2 rationale of rev-b', 50),
    review('rev-d', 2, minor, 'round-2 rationale of rev-d', 51),
    {
      type: 'CaseFinalized',
      data: { caseId, round: 2, outcome: minor, basis: 'concordant-reviews', charterVersion: '2', supersedesRound: 1, finalizedAt: at(51) },
      recordedAt: at(51),
    },
  ];
  const round3: CaseHistoryEvent[] = [
    {
      type: 'CaseReopened',
      data: { caseId, round: 3, reason: 'new imaging received', trigger: 'chair' },
      recordedAt: at(60),
      recordedBy: 'chair',
    },
    assign(3, ['rev-a', 'rev-e'], 61),
    review('rev-e', 3, minor, 'round-3 rationale of rev-e', 70, { authTime: at(69), amr: ['hwk'], acr: 'phr' }),
  ];
  const rev = (userId: string): Viewer => ({ userId, roles: ['cec-reviewer'] });
  const history = [...round1, ...round2, ...round3];
  const earlierRoundTexts = [
    'round-1 rationale of rev-a',
    'round-1 rationale of rev-b',
    'chair: imaging shows above-knee',
    'round-2 rationale of rev-b',
    'round-2 rationale of rev-d',
    'operative note says transmetatarsal',
    'round-1 question',
    'superseded',
  ];

  it('shows the chair and the auditor every round: why it opened, assignments, reviews, rulings, decisions and supersession', () => {
    for (const viewer of [chair, auditor]) {
      const view = caseView(history, viewer);
      expect(view.rounds.map((r) => r.round)).toEqual([1, 2, 3]);
      const [first, second, third] = view.rounds;
      expect(first).toMatchObject({
        opened: { trigger: 'report', at: caseOpened.reportedAt, report: caseOpened.report, sourceVersion: 1 },
        assignments: [{ reviewerIds: ['rev-a', 'rev-b'], assignedBy: 'chair', at: at(1) }],
        reviewsSubmitted: 2,
        reviews: [
          {
            reviewerId: 'rev-a',
            rationale: 'round-1 rationale of rev-a',
            submittedAt: at(10),
            signature: { signerId: 'rev-a', valid: true },
          },
          { reviewerId: 'rev-b', rationale: 'round-1 rationale of rev-b', signature: { signerId: 'rev-b', valid: true } },
        ],
        queries: [{ queryId: 'Q1', answer: 'above the knee' }],
        resolution: { chairId: 'chair', rationale: 'chair: imaging shows above-knee', signature: { meaning: 'approval', valid: true } },
        decision: {
          basis: 'chair-resolution',
          outcome: major,
          finalizedAt: at(30),
          rationales: [{ signerId: 'chair', meaning: 'approval', rationale: 'chair: imaging shows above-knee' }],
          signatures: [{ signerId: 'chair', authTime: at(28), amr: ['pwd', 'otp'], acr: 'urn:example:loa:2', valid: true }],
          supersededByRound: 2,
        },
      });
      expect(second).toMatchObject({
        opened: {
          trigger: 'correction',
          reason: 'operative note says transmetatarsal',
          at: at(40),
          report: correctedReport,
          sourceVersion: 2,
        },
        assignments: [{ reviewerIds: ['rev-b', 'rev-d'], at: at(41) }],
        decision: {
          basis: 'concordant-reviews',
          supersedesRound: 1,
          rationales: [
            { signerId: 'rev-b', meaning: 'review', rationale: 'round-2 rationale of rev-b' },
            { signerId: 'rev-d', meaning: 'review', rationale: 'round-2 rationale of rev-d' },
          ],
          signatures: [
            { signerId: 'rev-b', valid: true },
            { signerId: 'rev-d', valid: true },
          ],
        },
      });
      expect(second!.opened).not.toHaveProperty('by');
      expect(second!.decision).not.toHaveProperty('supersededByRound');
      expect(third).toMatchObject({
        opened: { trigger: 'chair', reason: 'new imaging received', by: 'chair', at: at(60), report: correctedReport },
        reviewsSubmitted: 1,
        reviews: [{ reviewerId: 'rev-e', signature: { authTime: at(69), amr: ['hwk'], acr: 'phr', valid: true } }],
      });
      expect(third).not.toHaveProperty('decision');
      // The standing decision until round 3 decides is round 2's, and both earlier ones are listed.
      expect(view).toMatchObject({ round: 3, status: 'in-review', decision: { round: 2 }, decisions: [{ round: 1 }, { round: 2 }] });
      expect(view).not.toHaveProperty('earlierRoundsHidden');
    }
  });

  it('hides every earlier round from a reviewer of a new round until their own review is in (no anchoring)', () => {
    const view = caseView(history, rev('rev-a'));
    expect(view.rounds.map((r) => r.round)).toEqual([3]);
    expect(view).toMatchObject({ round: 3, earlierRoundsHidden: true, reviews: [], reviewsSubmitted: 1, queries: [] });
    expect(view).not.toHaveProperty('decision');
    expect(view).not.toHaveProperty('decisions');
    expect(view).not.toHaveProperty('signatures');
    // Why this round opened is part of this round: the reviewer needs it to review.
    expect(view.rounds[0]).toMatchObject({ opened: { trigger: 'chair', reason: 'new imaging received' }, reviews: [] });
    const text = JSON.stringify(view);
    for (const hidden of [...earlierRoundTexts, 'round-3 rationale of rev-e']) expect(text).not.toContain(hidden);
  });

  it('shows a reviewer the earlier rounds once their own review of the current round is in, but not the other review yet', () => {
    const view = caseView(history, rev('rev-e'));
    expect(view.rounds.map((r) => r.round)).toEqual([1, 2, 3]);
    expect(view.rounds[2]!.reviews.map((r) => r.reviewerId)).toEqual(['rev-e']);
    expect(view.rounds[0]!.decision).toMatchObject({
      supersededByRound: 2,
      rationales: [{ rationale: 'chair: imaging shows above-knee' }],
    });
    expect(view).toMatchObject({ decision: { round: 2 }, queries: [{ queryId: 'Q1' }] });
    expect(view).not.toHaveProperty('earlierRoundsHidden');
    expect(view).not.toHaveProperty('signatures');

    const afterBoth = caseView([...history, review('rev-a', 3, minor, 'round-3 rationale of rev-a', 80)], rev('rev-a'));
    expect(afterBoth.rounds.map((r) => r.round)).toEqual([1, 2, 3]);
    expect(afterBoth.rounds[2]!.reviews.map((r) => r.reviewerId)).toEqual(['rev-e', 'rev-a']);
    expect(JSON.stringify(afterBoth)).toContain('round-1 rationale of rev-b');
  });

  it('refuses a reviewer of an earlier round who is not assigned in the current one', () => {
    expect(refusal(history, rev('rev-b'))).toMatchObject({ code: 'NOT_ASSIGNED', kind: 'forbidden' });
    expect(refusal(history, rev('rev-d'))).toMatchObject({ code: 'NOT_ASSIGNED', kind: 'forbidden' });
  });

  it('in round 2 hides round 1 from the reviewer who has not reviewed, and shows it to the one who has', () => {
    const midRound2 = [...round1, ...round2.slice(0, 4)];
    const before = caseView(midRound2, rev('rev-d'));
    expect(before.rounds.map((r) => r.round)).toEqual([2]);
    expect(before.rounds[0]!.opened).toMatchObject({ trigger: 'correction', reason: 'operative note says transmetatarsal' });
    expect(before).not.toHaveProperty('decision');
    for (const hidden of earlierRoundTexts.slice(0, 3)) expect(JSON.stringify(before)).not.toContain(hidden);
    const after = caseView(midRound2, rev('rev-b'));
    expect(after.rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(after).toMatchObject({ decision: { round: 1 }, reviews: [{ reviewerId: 'rev-b' }] });
  });

  it('never shows arm or device in any round, to anyone', () => {
    const reviewedByA = [...history, review('rev-a', 3, minor, 'round-3 rationale of rev-a', 80)];
    for (const viewer of [rev('rev-a'), rev('rev-e'), chair, auditor]) {
      for (const events of [history, reviewedByA]) {
        const text = JSON.stringify(caseView(events, viewer));
        for (const secret of ['"arm"', '"device"']) expect(text).not.toContain(secret);
      }
    }
  });

  it('records a correction or a retraction of an open round within it, and the cancellation', () => {
    const retracted = [
      ...round1.slice(0, 2),
      {
        type: 'SourceReportUpdated',
        data: { caseId, report: caseOpened.report, sourceVersion: 2, change: 'retraction', reason: 'entered for the wrong patient' },
        recordedAt: at(5),
      },
      { type: 'CaseCancelled', data: { caseId, reason: 'adverse event retracted: entered for the wrong patient' }, recordedAt: at(5) },
    ] satisfies CaseHistoryEvent[];
    const [only] = caseView(retracted, chair).rounds;
    expect(only).toMatchObject({
      round: 1,
      sourceUpdates: [{ change: 'retraction', reason: 'entered for the wrong patient', at: at(5), sourceVersion: 2 }],
      cancellation: { reason: 'adverse event retracted: entered for the wrong patient', at: at(5) },
    });
  });

  it('flags a tampered signature of an earlier round, and still verifies the signatures recorded before authTime existed', () => {
    const tampered = history.map((event) =>
      event.type === 'ChairResolutionRecorded' ? { ...event, data: { ...event.data, rationale: 'edited later' } } : event,
    );
    const view = caseView(tampered, auditor);
    expect(view.rounds[0]!.resolution!.signature.valid).toBe(false);
    expect(view.rounds[0]!.decision!.signatures[0]!.valid).toBe(false);
    // rev-b's round-1 review was signed without authTime (as before the signing ceremony): still valid.
    expect(view.rounds[0]!.reviews[1]!.signature).not.toHaveProperty('authTime');
    expect(view.rounds[0]!.reviews[1]!.signature.valid).toBe(true);
  });
});
