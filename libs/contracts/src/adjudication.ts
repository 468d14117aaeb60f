import { z } from 'zod';
import type { AdverseEventReport } from './adverse-events';
import type { DossierDocumentReleased } from './documents';
import { ClinicalDate, Id, Laterality, Text } from './primitives';

/** A CEC classification of a candidate endpoint event (api.md `Outcome`). */
export const Outcome = z
  .object({
    isEndpointEvent: z.boolean(),
    kind: z.enum(['amputation', 'tvr', 'death', 'none']),
    onsetOn: ClinicalDate.optional(),
    limb: Laterality.optional(),
    amputation: z
      .object({ level: z.enum(['major', 'minor']), planned: z.boolean() })
      .strict()
      .optional(),
    tvr: z.object({ clinicallyDriven: z.boolean() }).strict().optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.isEndpointEvent && o.kind === 'none') ctx.addIssue({ code: 'custom', path: ['kind'], message: 'an endpoint event has a kind' });
    if (o.kind === 'amputation' && !o.amputation)
      ctx.addIssue({ code: 'custom', path: ['amputation'], message: 'an amputation needs {level, planned}' });
    if (o.kind !== 'amputation' && o.amputation)
      ctx.addIssue({ code: 'custom', path: ['amputation'], message: 'only for kind amputation' });
    if (o.kind === 'tvr' && !o.tvr) ctx.addIssue({ code: 'custom', path: ['tvr'], message: 'a TVR needs {clinicallyDriven}' });
    if (o.kind !== 'tvr' && o.tvr) ctx.addIssue({ code: 'custom', path: ['tvr'], message: 'only for kind tvr' });
    if ((o.kind === 'amputation' || o.kind === 'tvr') && !o.limb)
      ctx.addIssue({ code: 'custom', path: ['limb'], message: 'a limb event names the limb' });
  });
export type Outcome = z.infer<typeof Outcome>;

export const AssignReviewersBody = z
  .object({
    reviewerIds: z.tuple([Id, Id]),
    reason: Text().optional(),
  })
  .strict()
  .refine((b) => b.reviewerIds[0] !== b.reviewerIds[1], { path: ['reviewerIds'], message: 'two different reviewers' });
export type AssignReviewersBody = z.infer<typeof AssignReviewersBody>;

export const SubmitReviewBody = z
  .object({ outcome: Outcome, rationale: Text(), signature: z.object({ meaning: z.literal('review') }).strict() })
  .strict();
export type SubmitReviewBody = z.infer<typeof SubmitReviewBody>;

export const ResolveCaseBody = z
  .object({ outcome: Outcome, rationale: Text(), signature: z.object({ meaning: z.literal('approval') }).strict() })
  .strict();
export type ResolveCaseBody = z.infer<typeof ResolveCaseBody>;

export const ReopenCaseBody = z.object({ reason: Text() }).strict();
export type ReopenCaseBody = z.infer<typeof ReopenCaseBody>;

export const RaiseQueryBody = z.object({ queryId: Id, question: Text() }).strict();
export type RaiseQueryBody = z.infer<typeof RaiseQueryBody>;

export const AnswerQueryBody = z
  .object({
    answer: Text(),
    /** Documents attached to the case's adverse event that the answer cites (api.md). */
    documentIds: z
      .array(Id)
      .max(20)
      .refine((ids) => new Set(ids).size === ids.length, 'each document once')
      .optional(),
  })
  .strict();
export type AnswerQueryBody = z.infer<typeof AnswerQueryBody>;

/**
 * An electronic signature (21 CFR 11.50/11.70): who, printed name, meaning, when (UTC), under
 * which charter version, bound to exactly what was signed by the hash of its canonical form.
 * The hash covers every other field, so authTime, amr and acr are bound too; signatures made
 * before they were recorded lack them and still verify (an absent field is not hashed).
 */
export interface ESignature {
  signerId: string;
  printedName: string;
  meaning: 'review' | 'approval';
  signedAt: string;
  charterVersion: string;
  /**
   * When the signer last authenticated before signing (ISO-8601 UTC, from the token's auth_time):
   * the evidence that the signing was executed with a fresh login (21 CFR 11.200(a)(1)).
   */
  authTime?: string;
  /** How the signer authenticated (the token's `amr`, RFC 8176), when the identity provider says. */
  amr?: string[];
  /** The assurance level of that authentication (the token's `acr`), when the identity provider says. */
  acr?: string;
  contentHash: string;
}

/** What the dossier shows of the index procedure: never the device (blinding). */
export interface IndexProcedureSummary {
  performedOn: string;
  limb: 'left' | 'right';
  lesions: Array<{ segment: string; lengthMm: number; occlusion: boolean }>;
}

export interface CaseOpened {
  trialId: string;
  caseId: string;
  eventId: string;
  patientId: string;
  siteId: string;
  charterVersion: string;
  report: AdverseEventReport;
  /** Version of the adverse-event stream this case reflects. */
  sourceVersion: number;
  reportedAt: string;
  indexProcedure?: IndexProcedureSummary;
}
export interface SourceReportUpdated {
  caseId: string;
  report: AdverseEventReport;
  sourceVersion: number;
  change: 'correction' | 'retraction';
  reason: string;
}
export interface ReviewersAssigned {
  caseId: string;
  round: number;
  reviewerIds: string[];
  assignedBy: string;
  reason?: string;
}
export interface ReviewSubmitted {
  caseId: string;
  round: number;
  reviewerId: string;
  outcome: Outcome;
  rationale: string;
  signature: ESignature;
}
export interface ChairResolutionRecorded {
  caseId: string;
  round: number;
  chairId: string;
  outcome: Outcome;
  rationale: string;
  signature: ESignature;
}
export interface CaseFinalized {
  caseId: string;
  round: number;
  outcome: Outcome;
  basis: 'concordant-reviews' | 'chair-resolution';
  charterVersion: string;
  /** The round whose decision this one supersedes, if any. */
  supersedesRound?: number;
  finalizedAt: string;
}
export interface CaseReopened {
  caseId: string;
  round: number;
  reason: string;
  trigger: 'chair' | 'correction' | 'retraction';
}
export interface CaseCancelled {
  caseId: string;
  reason: string;
}
export interface QueryRaised {
  caseId: string;
  queryId: string;
  question: string;
  raisedBy: string;
}
export interface QueryAnswered {
  caseId: string;
  queryId: string;
  answer: string;
  answeredBy: string;
  /** The attached documents the answer cites, when it cites any. */
  documentIds?: string[];
}

export type CaseEvent =
  | { type: 'CaseOpened'; data: CaseOpened }
  | { type: 'SourceReportUpdated'; data: SourceReportUpdated }
  | { type: 'ReviewersAssigned'; data: ReviewersAssigned }
  | { type: 'ReviewSubmitted'; data: ReviewSubmitted }
  | { type: 'ChairResolutionRecorded'; data: ChairResolutionRecorded }
  | { type: 'CaseFinalized'; data: CaseFinalized }
  | { type: 'CaseReopened'; data: CaseReopened }
  | { type: 'CaseCancelled'; data: CaseCancelled }
  | { type: 'QueryRaised'; data: QueryRaised }
  | { type: 'QueryAnswered'; data: QueryAnswered }
  | { type: 'DossierDocumentReleased'; data: DossierDocumentReleased };

/** api.md: the fields two reviews must share to be concordant. */
export function concordant(a: Outcome, b: Outcome): boolean {
  return (
    a.isEndpointEvent === b.isEndpointEvent &&
    a.kind === b.kind &&
    a.amputation?.level === b.amputation?.level &&
    a.amputation?.planned === b.amputation?.planned &&
    a.tvr?.clinicallyDriven === b.tvr?.clinicallyDriven &&
    a.limb === b.limb
  );
}
