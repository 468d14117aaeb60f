import {
  DomainError,
  byId,
  concordant,
  type AdverseEventReport,
  type CaseEvent,
  type CaseOpened,
  type DossierDocumentReleased,
  type ESignature,
  type IndexProcedureSummary,
  type Outcome,
} from '@app/contracts';

export type CaseStatus = 'awaiting-assignment' | 'in-review' | 'awaiting-resolution' | 'finalized' | 'cancelled';

export interface Review {
  reviewerId: string;
  outcome: Outcome;
  rationale: string;
  signature: ESignature;
}

export interface OpenCase {
  status: CaseStatus;
  trialId: string;
  caseId: string;
  eventId: string;
  patientId: string;
  siteId: string;
  charterVersion: string;
  report: AdverseEventReport;
  sourceVersion: number;
  reportedAt: string;
  indexProcedure?: IndexProcedureSummary;
  round: number;
  reviewerIds: string[];
  reviews: Record<string, Review>;
  queries: Record<string, { question: string; raisedBy: string; answer?: string; answeredBy?: string; documentIds?: string[] }>;
  /** Redacted renditions the coordinator released to the reviewers, by source document id. */
  dossier: Record<string, Omit<DossierDocumentReleased, 'caseId'>>;
  decision?: { round: number; outcome: Outcome; basis: 'concordant-reviews' | 'chair-resolution'; finalizedAt: string };
}

export type CaseState = { status: 'absent' } | OpenCase;

/** A committee member as the trial knows it (from enrollment). */
export interface Member {
  userId: string;
  role: 'cec-reviewer' | 'cec-chair';
  affiliatedSiteIds: string[];
}

export type CaseCommand =
  | { type: 'OpenCase'; data: CaseOpened }
  | {
      type: 'UpdateSourceReport';
      data: { report: AdverseEventReport; sourceVersion: number; change: 'correction' | 'retraction'; reason: string };
    }
  | { type: 'AssignReviewers'; data: { reviewerIds: string[]; reason?: string; assignedBy: string }; committee: Record<string, Member> }
  | { type: 'SubmitReview'; data: { reviewerId: string; outcome: Outcome; rationale: string; signature: ESignature }; now: string }
  | { type: 'ResolveCase'; data: { chairId: string; outcome: Outcome; rationale: string; signature: ESignature }; now: string }
  | { type: 'ReopenCase'; data: { reason: string } }
  | { type: 'RaiseQuery'; data: { queryId: string; question: string; raisedBy: string; asChair: boolean } }
  | {
      type: 'AnswerQuery';
      data: { queryId: string; answer: string; answeredBy: string; documentIds?: string[] };
      /** The documents attached to the case's adverse event (from its published events); absent = none. */
      attachedDocumentIds?: readonly string[];
      now: string;
    }
  | {
      type: 'ReleaseRendition';
      data: Omit<DossierDocumentReleased, 'caseId' | 'kind' | 'title' | 'source'>;
      /** The source document as attached to the case's adverse event; undefined when no such document is attached. */
      source: { kind: DossierDocumentReleased['kind']; title: string; sha256: string } | undefined;
    };

export const initialCaseState = (): CaseState => ({ status: 'absent' });

function existing(state: CaseState): OpenCase {
  if (state.status === 'absent') throw new DomainError('CASE_NOT_FOUND', 'no such case', 'not_found');
  return state;
}

function notClosed(state: OpenCase): void {
  if (state.status === 'finalized')
    throw new DomainError('CASE_FINALIZED', `the case is finalized (round ${state.round}); the chair may reopen it`, 'rule');
  if (state.status === 'cancelled')
    throw new DomainError('CASE_CANCELLED', 'the case was cancelled: its adverse event was retracted', 'rule');
}

const openQueries = (state: OpenCase) => Object.entries(state.queries).filter(([, q]) => q.answer === undefined);

/** Both reviews in, concordant, no open query: the case finalizes with the shared outcome. */
function finalizeIfConcordant(state: OpenCase, now: string): CaseEvent[] {
  const reviews = state.reviewerIds.map((id) => byId(state.reviews, id));
  const [a, b] = reviews;
  if (!a || !b || !concordant(a.outcome, b.outcome) || openQueries(state).length > 0) return [];
  return [finalized(state, a.outcome, 'concordant-reviews', now)];
}

function finalized(state: OpenCase, outcome: Outcome, basis: 'concordant-reviews' | 'chair-resolution', now: string): CaseEvent {
  return {
    type: 'CaseFinalized',
    data: {
      caseId: state.caseId,
      round: state.round,
      outcome,
      basis,
      charterVersion: state.charterVersion,
      ...(state.decision ? { supersedesRound: state.decision.round } : {}),
      finalizedAt: now,
    },
  };
}

export function decideCase(command: CaseCommand, state: CaseState): CaseEvent[] {
  switch (command.type) {
    case 'OpenCase':
      // Opened by a subscriber that may see the same report twice: the second time is a no-op.
      return state.status === 'absent' ? [{ type: 'CaseOpened', data: command.data }] : [];

    case 'UpdateSourceReport': {
      const c = existing(state);
      const { report, sourceVersion, change, reason } = command.data;
      if (sourceVersion <= c.sourceVersion || c.status === 'cancelled') return [];
      const updated: CaseEvent = { type: 'SourceReportUpdated', data: { caseId: c.caseId, report, sourceVersion, change, reason } };
      if (c.status === 'finalized') {
        return [
          updated,
          {
            type: 'CaseReopened',
            data: { caseId: c.caseId, round: c.round + 1, reason: `adverse event ${change}: ${reason}`, trigger: change },
          },
        ];
      }
      if (change === 'retraction')
        return [updated, { type: 'CaseCancelled', data: { caseId: c.caseId, reason: `adverse event retracted: ${reason}` } }];
      return [updated];
    }

    case 'AssignReviewers': {
      const c = existing(state);
      notClosed(c);
      const { reviewerIds, reason, assignedBy } = command.data;
      for (const id of reviewerIds) {
        const member = byId(command.committee, id);
        if (!member || member.role !== 'cec-reviewer')
          throw new DomainError('NOT_A_REVIEWER', `${id} is not a CEC reviewer of this trial`, 'rule', 'reviewerIds');
        if (member.affiliatedSiteIds.includes(c.siteId)) {
          throw new DomainError(
            'REVIEWER_CONFLICT',
            `${id} is affiliated with site ${c.siteId}, the patient's site`,
            'rule',
            'reviewerIds',
          );
        }
      }
      if (c.reviewerIds.length > 0) {
        if (!reason) throw new DomainError('REASON_REQUIRED', 'reassigning reviewers needs a reason', 'rule', 'reason');
        const dropped = c.reviewerIds.filter((id) => !reviewerIds.includes(id) && byId(c.reviews, id));
        if (dropped.length > 0)
          throw new DomainError(
            'REVIEW_ALREADY_SUBMITTED',
            `${dropped.join(', ')} already submitted a review in this round`,
            'rule',
            'reviewerIds',
          );
        if (c.reviewerIds.every((id) => reviewerIds.includes(id)))
          throw new DomainError('ASSIGNMENT_UNCHANGED', 'these reviewers are already assigned', 'rule', 'reviewerIds');
      }
      return [
        { type: 'ReviewersAssigned', data: { caseId: c.caseId, round: c.round, reviewerIds, assignedBy, ...(reason ? { reason } : {}) } },
      ];
    }

    case 'SubmitReview': {
      const c = existing(state);
      notClosed(c);
      const { reviewerId } = command.data;
      if (!c.reviewerIds.includes(reviewerId))
        throw new DomainError('NOT_ASSIGNED', `${reviewerId} is not assigned to this case`, 'forbidden');
      if (byId(c.reviews, reviewerId)) throw new DomainError('REVIEW_ALREADY_SUBMITTED', 'one review per reviewer and round', 'conflict');
      const submitted: CaseEvent = { type: 'ReviewSubmitted', data: { caseId: c.caseId, round: c.round, ...command.data } };
      const after = evolveCase(c, submitted) as OpenCase;
      return [submitted, ...finalizeIfConcordant(after, command.now)];
    }

    case 'ResolveCase': {
      const c = existing(state);
      notClosed(c);
      if (c.status !== 'awaiting-resolution')
        throw new DomainError('RESOLUTION_NOT_NEEDED', 'the chair resolves only two discordant reviews', 'rule');
      if (openQueries(c).length > 0) throw new DomainError('OPEN_QUERY', 'a case with an open query cannot be finalized', 'rule');
      const { chairId, outcome, rationale, signature } = command.data;
      return [
        { type: 'ChairResolutionRecorded', data: { caseId: c.caseId, round: c.round, chairId, outcome, rationale, signature } },
        finalized(c, outcome, 'chair-resolution', command.now),
      ];
    }

    case 'ReopenCase': {
      const c = existing(state);
      if (c.status !== 'finalized') throw new DomainError('CASE_NOT_FINALIZED', 'only a finalized case can be reopened', 'rule');
      return [{ type: 'CaseReopened', data: { caseId: c.caseId, round: c.round + 1, reason: command.data.reason, trigger: 'chair' } }];
    }

    case 'RaiseQuery': {
      const c = existing(state);
      notClosed(c);
      const { queryId, question, raisedBy, asChair } = command.data;
      if (!asChair && !c.reviewerIds.includes(raisedBy))
        throw new DomainError('NOT_ASSIGNED', `${raisedBy} is not assigned to this case`, 'forbidden');
      if (byId(c.queries, queryId)) throw new DomainError('QUERY_ALREADY_EXISTS', `query ${queryId} exists`, 'conflict', 'queryId');
      return [{ type: 'QueryRaised', data: { caseId: c.caseId, queryId, question, raisedBy } }];
    }

    case 'AnswerQuery': {
      const c = existing(state);
      const query = byId(c.queries, command.data.queryId);
      if (!query) throw new DomainError('QUERY_NOT_FOUND', `no query ${command.data.queryId}`, 'not_found');
      if (query.answer !== undefined) throw new DomainError('QUERY_ALREADY_ANSWERED', 'this query is answered', 'conflict');
      const cited = command.data.documentIds ?? [];
      cited.forEach((documentId, index) => {
        if (!(command.attachedDocumentIds ?? []).includes(documentId))
          throw new DomainError(
            'DOCUMENT_NOT_ATTACHED',
            `document ${documentId} is not attached to adverse event ${c.eventId}`,
            'rule',
            `documentIds.${index}`,
          );
      });
      const answered: CaseEvent = { type: 'QueryAnswered', data: { caseId: c.caseId, ...command.data } };
      const after = evolveCase(c, answered) as OpenCase;
      return [answered, ...(c.status === 'in-review' ? finalizeIfConcordant(after, command.now) : [])];
    }

    case 'ReleaseRendition': {
      const c = existing(state);
      const { documentId } = command.data;
      const source = command.source;
      if (!source)
        throw new DomainError(
          'DOCUMENT_NOT_FOUND',
          `no document ${documentId} is attached to adverse event ${c.eventId}`,
          'not_found',
          'documentId',
        );
      if (c.status === 'cancelled')
        throw new DomainError('CASE_CANCELLED', 'the case was cancelled: its adverse event was retracted', 'rule');
      if (byId(c.dossier, documentId))
        throw new DomainError(
          'RENDITION_ALREADY_RELEASED',
          `a rendition of document ${documentId} is already in the dossier`,
          'conflict',
          'documentId',
        );
      return [
        {
          type: 'DossierDocumentReleased',
          data: { caseId: c.caseId, ...command.data, kind: source.kind, title: source.title, source: { sha256: source.sha256 } },
        },
      ];
    }

    default: {
      const unhandled: never = command;
      throw new Error(`unknown command ${JSON.stringify(unhandled)}`);
    }
  }
}

export function evolveCase(state: CaseState, event: CaseEvent): CaseState {
  if (event.type === 'CaseOpened') {
    const { trialId, caseId, eventId, patientId, siteId, charterVersion, report, sourceVersion, reportedAt, indexProcedure } = event.data;
    return {
      status: 'awaiting-assignment',
      trialId,
      caseId,
      eventId,
      patientId,
      siteId,
      charterVersion,
      report,
      sourceVersion,
      reportedAt,
      ...(indexProcedure ? { indexProcedure } : {}),
      round: 1,
      reviewerIds: [],
      reviews: {},
      queries: {},
      dossier: {},
    };
  }
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'SourceReportUpdated':
      return { ...state, report: event.data.report, sourceVersion: event.data.sourceVersion };
    case 'ReviewersAssigned':
      return { ...state, status: 'in-review', reviewerIds: event.data.reviewerIds };
    case 'ReviewSubmitted': {
      const reviews = {
        ...state.reviews,
        [event.data.reviewerId]: {
          reviewerId: event.data.reviewerId,
          outcome: event.data.outcome,
          rationale: event.data.rationale,
          signature: event.data.signature,
        },
      };
      const [a, b] = state.reviewerIds.map((id) => byId(reviews, id));
      const discordant = a !== undefined && b !== undefined && !concordant(a.outcome, b.outcome);
      return { ...state, reviews, status: discordant ? 'awaiting-resolution' : state.status };
    }
    case 'ChairResolutionRecorded':
      return state;
    case 'CaseFinalized':
      return {
        ...state,
        status: 'finalized',
        decision: { round: event.data.round, outcome: event.data.outcome, basis: event.data.basis, finalizedAt: event.data.finalizedAt },
      };
    case 'CaseReopened':
      return { ...state, status: 'awaiting-assignment', round: event.data.round, reviewerIds: [], reviews: {} };
    case 'CaseCancelled':
      return { ...state, status: 'cancelled' };
    case 'QueryRaised':
      return {
        ...state,
        queries: { ...state.queries, [event.data.queryId]: { question: event.data.question, raisedBy: event.data.raisedBy } },
      };
    case 'QueryAnswered': {
      const query = byId(state.queries, event.data.queryId);
      if (!query) return state;
      return {
        ...state,
        queries: {
          ...state.queries,
          [event.data.queryId]: {
            ...query,
            answer: event.data.answer,
            answeredBy: event.data.answeredBy,
            ...(event.data.documentIds ? { documentIds: event.data.documentIds } : {}),
          },
        },
      };
    }
    case 'DossierDocumentReleased': {
      const { caseId: _caseId, ...released } = event.data;
      return { ...state, dossier: { ...state.dossier, [released.documentId]: released } };
    }
    default:
      return state;
  }
}

/** The case aggregate as the event store runs it (structurally the store's Decider). */
export const caseDecider = { initialState: initialCaseState, decide: decideCase, evolve: evolveCase };
