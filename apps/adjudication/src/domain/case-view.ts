import {
  DomainError,
  byId,
  type AdverseEventReport,
  type CaseEvent,
  type CaseFinalized,
  type ChairResolutionRecorded,
  type ESignature,
  type Outcome,
  type ReviewSubmitted,
} from '@app/contracts';
import { caseDecider, type CaseState, type OpenCase } from './case.decider';
import { verifySignature } from './e-signature';

export type Viewer = { userId: string; roles: readonly string[] };

/** A case event with what the store knows of it besides its data: when it was recorded, and by whom. */
export type CaseHistoryEvent = CaseEvent & { recordedAt?: string; recordedBy?: string };

/** An e-signature with whether it still matches exactly what was signed (21 CFR 11.70). */
export type CheckedSignature = ESignature & { valid: boolean };

/** Why a round opened: the site's report, its correction or retraction, or the chair's reopening. */
export interface RoundOpening {
  trigger: 'report' | 'correction' | 'retraction' | 'chair';
  /** The site's reason for a correction or retraction, or the chair's reason for reopening. */
  reason?: string;
  at?: string;
  /** Who reopened (the chair); a report, correction or retraction comes from the site, through the case opener. */
  by?: string;
  /** The report as it stood when the round opened (a later correction during the round is in `sourceUpdates`). */
  report: AdverseEventReport;
  sourceVersion: number;
}

export interface RoundView {
  round: number;
  opened: RoundOpening;
  /** Corrections of the report while the round was open (the case stayed in the round). */
  sourceUpdates: Array<{ change: 'correction' | 'retraction'; reason: string; at?: string; sourceVersion: number }>;
  assignments: Array<{ reviewerIds: string[]; assignedBy: string; at?: string; reason?: string }>;
  reviewsSubmitted: number;
  reviews: Array<{ reviewerId: string; outcome: Outcome; rationale: string; submittedAt?: string; signature: CheckedSignature }>;
  queries: Array<{ queryId: string; question: string; raisedBy: string; answer?: string; answeredBy?: string; documentIds?: string[] }>;
  resolution?: { chairId: string; outcome: Outcome; rationale: string; signature: CheckedSignature };
  decision?: Omit<CaseFinalized, 'caseId' | 'round'> & {
    /** What the decision rests on: both reviews' rationales, or the chair's. */
    rationales: Array<{ signerId: string; meaning: 'review' | 'approval'; rationale: string }>;
    signatures: CheckedSignature[];
    /** The later round whose decision replaced this one; both stay on record. */
    supersededByRound?: number;
  };
  cancellation?: { reason: string; at?: string };
}

const isChairOrAuditor = (viewer: Viewer) => viewer.roles.includes('cec-chair') || viewer.roles.includes('auditor');

/**
 * The dossier of a case as one viewer may see it, from the case's events: the current round at
 * the top (as before), and `rounds`, the whole history a regulator reads — every round with why
 * it opened, its assignments, reviews with rationale and signature, and its decision with the
 * rationale it rests on, its signatures and, once superseded, by which round.
 *
 * Blinding, in every round: never arm or device (the case holds neither). A reviewer reads only a
 * case assigned to them in its current round, and sees only their own review of it until both
 * reviews are in. Against anchoring, a reviewer of a reopened case sees nothing of the earlier
 * rounds — reviews, rulings, decisions, queries — until they have submitted their own review in
 * the current round. The chair and auditors see everything, with each e-signature checked
 * against exactly what was signed (21 CFR 11.70).
 */
export function caseView(events: CaseHistoryEvent[], viewer: Viewer) {
  const state = existingCase(events);
  const dossier = dossierOf(state);
  const privileged = isChairOrAuditor(viewer);
  if (!privileged && !state.reviewerIds.includes(viewer.userId))
    throw new DomainError('NOT_ASSIGNED', `${viewer.userId} is not assigned to this case`, 'forbidden');

  const history = roundsOf(events);
  const current = history.rounds[history.rounds.length - 1];
  const reviews = Object.values(state.reviews);
  const bothIn = state.reviewerIds.length === 2 && state.reviewerIds.every((id) => byId(state.reviews, id));
  const reviewedThisRound = byId(state.reviews, viewer.userId) !== undefined;
  const seesHistory = privileged || reviewedThisRound;
  const seesAllReviews = privileged || bothIn;

  const rounds = history.rounds
    .filter((round) => seesHistory || round.round === state.round)
    .map((round) => (round.round === state.round && !seesAllReviews ? blinded(round, viewer.userId) : round));
  const visibleReviews = seesAllReviews ? reviews : reviews.filter((r) => r.reviewerId === viewer.userId);
  // The standing decision of a reopened case is an earlier round's until the new round decides.
  const decision = state.decision && (seesHistory || state.decision.round === state.round) ? state.decision : undefined;
  const queryIds = new Set((seesHistory ? history.rounds : current ? [current] : []).flatMap((r) => r.queries.map((q) => q.queryId)));

  const base = {
    ...caseFacts(state),
    charterVersion: state.charterVersion,
    reviewerIds: state.reviewerIds,
    reviewsSubmitted: reviews.length,
    reviews: visibleReviews.map(({ reviewerId, outcome, rationale, signature }) => ({ reviewerId, outcome, rationale, signature })),
    queries: Object.entries(state.queries)
      .filter(([queryId]) => queryIds.has(queryId))
      .map(([queryId, q]) => ({ queryId, ...q })),
    ...(decision ? { decision } : {}),
    dossier,
    ...(seesHistory ? {} : { earlierRoundsHidden: state.round > 1 }),
    rounds,
  };
  if (!privileged) return base;
  return {
    ...base,
    decisions: events.flatMap((e) => (e.type === 'CaseFinalized' ? [e.data] : [])),
    signatures: events.flatMap((e) =>
      e.type === 'ReviewSubmitted' || e.type === 'ChairResolutionRecorded' ? [{ round: e.data.round, ...checked(e.data) }] : [],
    ),
  };
}

/** True for a viewer whose only CEC role is the coordinator's: it gets coordinatorCaseView. */
export const isCoordinatorOnly = (viewer: Viewer) =>
  viewer.roles.includes('cec-coordinator') && !viewer.roles.some((r) => r === 'cec-chair' || r === 'cec-reviewer' || r === 'auditor');

/** The released renditions, in the order they were released: what reviewers and the chair adjudicate from (api.md). */
function dossierOf(state: OpenCase) {
  return Object.values(state.dossier).map((d) => ({
    documentId: d.documentId,
    kind: d.kind,
    title: d.title,
    filename: d.rendition.filename,
    mediaType: d.rendition.mediaType,
    size: d.rendition.size,
    sha256: d.rendition.sha256,
    redactionNote: d.redactionNote,
    releasedAt: d.releasedAt,
    releasedBy: d.releasedBy,
  }));
}

/**
 * The CEC coordinator prepares the dossier and never adjudicates: it sees the case's report (never
 * arm or device: the case holds neither) and the dossier, not the reviews, rulings or decisions.
 */
export function coordinatorCaseView(events: CaseHistoryEvent[]) {
  const state = existingCase(events);
  return { ...caseFacts(state), dossier: dossierOf(state) };
}

/** The case its events make, or 404. */
function existingCase(events: CaseHistoryEvent[]): OpenCase {
  const state = events.reduce<CaseState>(caseDecider.evolve, caseDecider.initialState());
  if (state.status === 'absent') throw new DomainError('CASE_NOT_FOUND', 'no such case', 'not_found');
  return state;
}

/** What every viewer of a case sees of it: the event, patient and site, where it stands, the report (never arm or device). */
function caseFacts(state: OpenCase) {
  return {
    caseId: state.caseId,
    eventId: state.eventId,
    patientId: state.patientId,
    siteId: state.siteId,
    status: state.status,
    round: state.round,
    reportedAt: state.reportedAt,
    report: state.report,
    ...(state.indexProcedure ? { indexProcedure: state.indexProcedure } : {}),
  };
}

/** The current round as a reviewer sees it before both reviews are in: their own review only. */
function blinded(round: RoundView, userId: string): RoundView {
  return { ...round, reviews: round.reviews.filter((r) => r.reviewerId === userId) };
}

function checked(data: ReviewSubmitted | ChairResolutionRecorded): CheckedSignature {
  const { caseId, round, outcome, rationale, signature } = data;
  return { ...signature, valid: verifySignature({ caseId, round, outcome, rationale }, signature) };
}

/**
 * Folds the case's events into its rounds. A correction or retraction of a finalized case's
 * report comes as SourceReportUpdated then CaseReopened: the update is why the next round opened.
 */
function roundsOf(events: CaseHistoryEvent[]): { rounds: RoundView[] } {
  const rounds: RoundView[] = [];
  let state: CaseState = caseDecider.initialState();
  let reopeningUpdate: (CaseHistoryEvent & { type: 'SourceReportUpdated' }) | undefined;
  const roundOf = (n: number) => rounds.find((r) => r.round === n);
  const currentRound = () => rounds[rounds.length - 1];
  const queryRound = new Map<string, RoundView>();

  for (const event of events) {
    const before = state;
    state = caseDecider.evolve(state, event);
    const at = event.recordedAt;
    switch (event.type) {
      case 'CaseOpened': {
        if (before.status !== 'absent') break;
        const { report, sourceVersion, reportedAt } = event.data;
        rounds.push(newRound(1, { trigger: 'report', at: reportedAt, report, sourceVersion }));
        break;
      }
      case 'SourceReportUpdated': {
        if (before.status === 'absent') break;
        // On a finalized case the update reopens it: it belongs to the round it opens.
        if (before.status === 'finalized') reopeningUpdate = event;
        else {
          const { change, reason, sourceVersion } = event.data;
          currentRound()?.sourceUpdates.push({ change, reason, ...(at ? { at } : {}), sourceVersion });
        }
        break;
      }
      case 'CaseReopened': {
        if (before.status === 'absent') break;
        const { round, reason, trigger } = event.data;
        const update = trigger !== 'chair' ? reopeningUpdate : undefined;
        const opening: RoundOpening = update
          ? { trigger, reason: update.data.reason, report: update.data.report, sourceVersion: update.data.sourceVersion }
          : { trigger, reason, report: before.report, sourceVersion: before.sourceVersion };
        const by = trigger === 'chair' ? event.recordedBy : undefined;
        rounds.push(newRound(round, { ...opening, ...(at ? { at } : {}), ...(by ? { by } : {}) }));
        reopeningUpdate = undefined;
        break;
      }
      case 'ReviewersAssigned': {
        const { round, reviewerIds, assignedBy, reason } = event.data;
        roundOf(round)?.assignments.push({ reviewerIds, assignedBy, ...(at ? { at } : {}), ...(reason ? { reason } : {}) });
        break;
      }
      case 'ReviewSubmitted': {
        const target = roundOf(event.data.round);
        if (!target) break;
        const { reviewerId, outcome, rationale } = event.data;
        target.reviews.push({ reviewerId, outcome, rationale, ...(at ? { submittedAt: at } : {}), signature: checked(event.data) });
        target.reviewsSubmitted += 1;
        break;
      }
      case 'ChairResolutionRecorded': {
        const { chairId, outcome, rationale } = event.data;
        const target = roundOf(event.data.round);
        if (target) target.resolution = { chairId, outcome, rationale, signature: checked(event.data) };
        break;
      }
      case 'CaseFinalized': {
        const { caseId: _caseId, round, ...decided } = event.data;
        const target = roundOf(round);
        if (!target) break;
        const basis: Array<{ signerId: string; meaning: 'review' | 'approval'; rationale: string; signature: CheckedSignature }> =
          decided.basis === 'chair-resolution' && target.resolution
            ? [{ signerId: target.resolution.chairId, meaning: 'approval', ...target.resolution }]
            : target.reviews.map((r) => ({ signerId: r.reviewerId, meaning: 'review', rationale: r.rationale, signature: r.signature }));
        target.decision = {
          ...decided,
          rationales: basis.map(({ signerId, meaning, rationale }) => ({ signerId, meaning, rationale })),
          signatures: basis.map((b) => b.signature),
        };
        const superseded = decided.supersedesRound !== undefined ? roundOf(decided.supersedesRound)?.decision : undefined;
        if (superseded) superseded.supersededByRound = round;
        break;
      }
      case 'CaseCancelled': {
        const target = currentRound();
        if (target && before.status !== 'absent') target.cancellation = { reason: event.data.reason, ...(at ? { at } : {}) };
        break;
      }
      case 'QueryRaised': {
        const target = currentRound();
        if (!target || byId(before.status === 'absent' ? {} : before.queries, event.data.queryId)) break;
        const { queryId, question, raisedBy } = event.data;
        target.queries.push({ queryId, question, raisedBy });
        queryRound.set(queryId, target);
        break;
      }
      case 'QueryAnswered': {
        const query = queryRound.get(event.data.queryId)?.queries.find((q) => q.queryId === event.data.queryId);
        const { answer, answeredBy, documentIds } = event.data;
        if (query && query.answer === undefined) Object.assign(query, { answer, answeredBy, ...(documentIds ? { documentIds } : {}) });
        break;
      }
      case 'DossierDocumentReleased':
        // The dossier belongs to the case, not to a round: caseView lists it beside the rounds.
        break;
      default: {
        const unhandled: never = event;
        throw new Error(`unknown case event ${JSON.stringify(unhandled)}`);
      }
    }
  }
  return { rounds };
}

function newRound(round: number, opened: RoundOpening): RoundView {
  return { round, opened, sourceUpdates: [], assignments: [], reviewsSubmitted: 0, reviews: [], queries: [] };
}
