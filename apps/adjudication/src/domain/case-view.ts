import { DomainError, byId, type CaseEvent, type ChairResolutionRecorded, type ReviewSubmitted } from '@app/contracts';
import { caseDecider } from './case.decider';
import { verifySignature } from './e-signature';

export type Viewer = { userId: string; roles: readonly string[] };

const isChairOrAuditor = (viewer: Viewer) => viewer.roles.includes('cec-chair') || viewer.roles.includes('auditor');

/**
 * The dossier of a case as one viewer may see it, from the case's events. Never arm or device (the
 * case holds neither). A reviewer reads only a case assigned to them, and sees only their own review
 * until both reviews of the round are in; the chair and auditors see both, every past decision, and
 * each e-signature with whether it still matches what was signed (21 CFR 11.70).
 */
export function caseView(events: CaseEvent[], viewer: Viewer) {
  const state = events.reduce(caseDecider.evolve, caseDecider.initialState());
  if (state.status === 'absent') throw new DomainError('CASE_NOT_FOUND', 'no such case', 'not_found');
  const privileged = isChairOrAuditor(viewer);
  if (!privileged && !state.reviewerIds.includes(viewer.userId))
    throw new DomainError('NOT_ASSIGNED', `${viewer.userId} is not assigned to this case`, 'forbidden');
  const reviews = Object.values(state.reviews);
  const bothIn = state.reviewerIds.length === 2 && state.reviewerIds.every((id) => byId(state.reviews, id));
  const visibleReviews = privileged || bothIn ? reviews : reviews.filter((r) => r.reviewerId === viewer.userId);
  const base = {
    caseId: state.caseId,
    eventId: state.eventId,
    patientId: state.patientId,
    siteId: state.siteId,
    status: state.status,
    round: state.round,
    charterVersion: state.charterVersion,
    reportedAt: state.reportedAt,
    report: state.report,
    ...(state.indexProcedure ? { indexProcedure: state.indexProcedure } : {}),
    reviewerIds: state.reviewerIds,
    reviewsSubmitted: reviews.length,
    reviews: visibleReviews.map(({ reviewerId, outcome, rationale, signature }) => ({ reviewerId, outcome, rationale, signature })),
    queries: Object.entries(state.queries).map(([queryId, q]) => ({ queryId, ...q })),
    ...(state.decision ? { decision: state.decision } : {}),
  };
  if (!privileged) return base;
  return {
    ...base,
    decisions: events.flatMap((e) => (e.type === 'CaseFinalized' ? [e.data] : [])),
    signatures: events.flatMap((e) =>
      e.type === 'ReviewSubmitted' || e.type === 'ChairResolutionRecorded' ? [signatureCheck(e.data)] : [],
    ),
  };
}

function signatureCheck(data: ReviewSubmitted | ChairResolutionRecorded) {
  const { caseId, round, outcome, rationale, signature } = data;
  return { round, ...signature, valid: verifySignature({ caseId, round, outcome, rationale }, signature) };
}
