import { z } from 'zod';
import { ClinicalDate, Id, Presentation, Sex, Text } from './primitives';

export const RegisterTrialBody = z
  .object({
    trialId: Id,
    title: Text(300),
    protocolVersion: Text(64),
    arms: z.array(Id).min(2, 'a randomised trial has at least two arms').max(10).optional(),
  })
  .strict()
  .refine((body) => !body.arms || new Set(body.arms).size === body.arms.length, { path: ['arms'], message: 'arms must be distinct' });
export type RegisterTrialBody = z.infer<typeof RegisterTrialBody>;

export const EventMatcher = z
  .object({
    kind: z.enum(['amputation', 'tvr', 'death']),
    limb: z.enum(['index', 'contralateral']).optional(),
    amputationLevel: z.enum(['major', 'minor']).optional(),
    planned: z.boolean().optional(),
    clinicallyDriven: z.boolean().optional(),
  })
  .strict();
export type EventMatcher = z.infer<typeof EventMatcher>;

export const EndpointDefinition = z
  .object({
    id: Id,
    label: Text(200),
    horizonDays: z.number().int().min(1).max(3650),
    events: z.array(EventMatcher).max(20),
    includesDeath: z.boolean().optional(),
  })
  .strict()
  .refine((d) => d.events.length > 0 || d.includesDeath === true, {
    path: ['events'],
    message: 'an endpoint needs events or includesDeath',
  });
export type EndpointDefinition = z.infer<typeof EndpointDefinition>;

/**
 * How a withdrawal ends follow-up (api.md "Endpoint report", semantics 3): censored at the
 * withdrawal date (the patient's status was known when they withdrew), or at the last known contact
 * on or before it.
 */
export const WithdrawalCensoring = z.enum(['withdrawal-date', 'last-contact']);
export type WithdrawalCensoring = z.infer<typeof WithdrawalCensoring>;
export const CensoringRule = z.object({ withdrawal: WithdrawalCensoring }).strict();
export type CensoringRule = z.infer<typeof CensoringRule>;

/**
 * The rule of a charter that names none, a charter version published before the option existed
 * included (api.md: default `withdrawal-date`). A fresh copy on each call.
 */
export const defaultCensoring = (): CensoringRule => ({ withdrawal: 'withdrawal-date' });

export const PublishCharterBody = z
  .object({
    version: Id,
    endpoints: z.array(EndpointDefinition).min(1).max(50),
    censoring: CensoringRule.optional(),
  })
  .strict()
  .refine((c) => new Set(c.endpoints.map((e) => e.id)).size === c.endpoints.length, {
    path: ['endpoints'],
    message: 'endpoint ids must be distinct',
  });
export type PublishCharterBody = z.infer<typeof PublishCharterBody>;

export const AddSiteBody = z
  .object({
    siteId: Id,
    name: Text(200),
    country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code'),
  })
  .strict();
export type AddSiteBody = z.infer<typeof AddSiteBody>;

export const CommitteeRole = z.enum(['cec-reviewer', 'cec-chair']);
export const AddCommitteeMemberBody = z
  .object({
    userId: Id,
    name: Text(200),
    role: CommitteeRole,
    affiliatedSiteIds: z.array(Id).max(1000),
  })
  .strict();
export type AddCommitteeMemberBody = z.infer<typeof AddCommitteeMemberBody>;

export const Baseline = z
  .object({
    ageYears: z.number().int().min(18).max(120),
    sex: Sex,
    diabetes: z.boolean(),
    presentation: Presentation,
    rutherfordClass: z.number().int().min(0).max(6),
  })
  .strict();
export type Baseline = z.infer<typeof Baseline>;

export const EnrollPatientBody = z
  .object({
    patientId: Id,
    siteId: Id,
    enrolledOn: ClinicalDate,
    arm: Id.optional(),
    baseline: Baseline,
  })
  .strict();
export type EnrollPatientBody = z.infer<typeof EnrollPatientBody>;

export const VisitKind = z.enum(['30d', '6m', '12m', 'unscheduled']);
export const RecordVisitBody = z.object({ visitId: Id, visit: VisitKind, visitOn: ClinicalDate }).strict();
export type RecordVisitBody = z.infer<typeof RecordVisitBody>;

export const WithdrawPatientBody = z.object({ withdrawnOn: ClinicalDate, reason: Text() }).strict();
export type WithdrawPatientBody = z.infer<typeof WithdrawPatientBody>;

/**
 * A change list, field → value. JSON.parse keeps a `__proto__` key as an own key, but a parsed
 * record drops it without a word: it is refused here, named, instead of vanishing from a correction.
 */
const ChangeList = z.preprocess(
  (input, ctx) => {
    if (typeof input === 'object' && input !== null && Object.hasOwn(input, '__proto__')) {
      ctx.addIssue({ code: 'custom', path: ['__proto__'], message: 'not a correctable field', input });
    }
    return input;
  },
  z.record(z.string().min(1).max(100), z.unknown()).refine((c) => Object.keys(c).length > 0, 'at least one change'),
);

/** `changes` name fields by dotted path; each value is checked against the field's own schema. */
export const CorrectionBody = z
  .object({
    changes: ChangeList,
    reason: Text(),
  })
  .strict();
export type CorrectionBody = z.infer<typeof CorrectionBody>;

/** Patient fields a correction may change: baseline, arm, enrolledOn. */
export const correctablePatientFields = {
  enrolledOn: ClinicalDate,
  arm: Id,
  'baseline.ageYears': Baseline.shape.ageYears,
  'baseline.sex': Baseline.shape.sex,
  'baseline.diabetes': Baseline.shape.diabetes,
  'baseline.presentation': Baseline.shape.presentation,
  'baseline.rutherfordClass': Baseline.shape.rutherfordClass,
} as const;

// --- events (the published language; stable forever) ---

export interface TrialRegistered {
  trialId: string;
  title: string;
  protocolVersion: string;
  arms: string[];
}
export interface CharterVersionPublished {
  trialId: string;
  version: string;
  endpoints: EndpointDefinition[];
  /** As the trial admin gave it; absent (every event before the option existed) = defaultCensoring(). */
  censoring?: CensoringRule;
}
export interface SiteAdded {
  trialId: string;
  siteId: string;
  name: string;
  country: string;
}
export interface CommitteeMemberAdded {
  trialId: string;
  userId: string;
  name: string;
  role: z.infer<typeof CommitteeRole>;
  affiliatedSiteIds: string[];
}
export interface PatientEnrolled {
  trialId: string;
  patientId: string;
  siteId: string;
  enrolledOn: string;
  arm?: string;
  baseline: Baseline;
}
/** A field changed by a correction, with the value it replaced (21 CFR 11.10(e)). */
export interface FieldChange {
  field: string;
  previous: unknown;
  value: unknown;
}
export interface PatientDataCorrected {
  trialId: string;
  patientId: string;
  changes: FieldChange[];
  reason: string;
}
export interface VisitRecorded {
  trialId: string;
  patientId: string;
  visitId: string;
  visit: z.infer<typeof VisitKind>;
  visitOn: string;
}
export interface PatientWithdrawn {
  trialId: string;
  patientId: string;
  withdrawnOn: string;
  reason: string;
}

export type TrialEvent =
  | { type: 'TrialRegistered'; data: TrialRegistered }
  | { type: 'CharterVersionPublished'; data: CharterVersionPublished }
  | { type: 'SiteAdded'; data: SiteAdded }
  | { type: 'CommitteeMemberAdded'; data: CommitteeMemberAdded };

export type PatientEvent =
  | { type: 'PatientEnrolled'; data: PatientEnrolled }
  | { type: 'PatientDataCorrected'; data: PatientDataCorrected }
  | { type: 'VisitRecorded'; data: VisitRecorded }
  | { type: 'PatientWithdrawn'; data: PatientWithdrawn };
