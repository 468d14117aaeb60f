import type { CaseEvent, CaseOpened, DomainError, Outcome } from '@app/contracts';
import { caseView, type Viewer } from './case-view';
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
