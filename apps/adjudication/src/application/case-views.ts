import { byId, type CaseEvent, type ChairResolutionRecorded, type ReviewSubmitted } from '@app/contracts';
import type { RecordedEvent } from '@app/event-store';
import type { OpenCase } from '../domain/case.decider';
import { verifySignature } from './e-signature';

export type Viewer = { userId: string; roles: string[] };

const isChairOrAuditor = (viewer: Viewer) => viewer.roles.includes('cec-chair') || viewer.roles.includes('auditor');

/**
 * The dossier a viewer may see. Never arm or device (the case holds neither). A reviewer sees
 * only their own review until both reviews of the round are in; the chair and auditors see both,
 * every past decision, and each e-signature with whether it still matches what was signed.
 */
export function caseView(state: OpenCase, events: RecordedEvent[], viewer: Viewer) {
  const reviews = Object.values(state.reviews);
  const bothIn = state.reviewerIds.length === 2 && state.reviewerIds.every((id) => byId(state.reviews, id));
  const privileged = isChairOrAuditor(viewer);
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
  const typed = events.map((e) => ({ type: e.type, data: e.data }) as CaseEvent);
  return {
    ...base,
    decisions: typed.flatMap((e) => (e.type === 'CaseFinalized' ? [e.data] : [])),
    signatures: typed.flatMap((e) => (e.type === 'ReviewSubmitted' || e.type === 'ChairResolutionRecorded' ? [signatureCheck(e.data)] : [])),
  };
}

function signatureCheck(data: ReviewSubmitted | ChairResolutionRecorded) {
  const { caseId, round, outcome, rationale, signature } = data;
  return { round, ...signature, valid: verifySignature({ caseId, round, outcome, rationale }, signature) };
}
