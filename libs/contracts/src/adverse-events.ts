import { z } from 'zod';
import type { DocumentAttached } from './documents';
import type { FieldChange } from './enrollment';
import { ClinicalDate, Id, Laterality, Text } from './primitives';

export const AdverseEventKind = z.enum(['amputation', 'tvr', 'death', 'other']);
export type AdverseEventKind = z.infer<typeof AdverseEventKind>;
export const AmputationDetails = z.object({ level: z.enum(['major', 'minor']), planned: z.boolean() }).strict();
export const TvrDetails = z.object({ clinicallyDriven: z.boolean() }).strict();

/** The report's fields, without cross-field rules (those are the domain's). */
export const AdverseEventReport = z
  .object({
    kind: AdverseEventKind,
    onsetOn: ClinicalDate,
    limb: Laterality.optional(),
    amputation: AmputationDetails.optional(),
    tvr: TvrDetails.optional(),
    description: Text(),
  })
  .strict();
export type AdverseEventReport = z.infer<typeof AdverseEventReport>;

export const ReportAdverseEventBody = AdverseEventReport.extend({ eventId: Id }).strict();
export type ReportAdverseEventBody = z.infer<typeof ReportAdverseEventBody>;

export const RetractAdverseEventBody = z.object({ reason: Text() }).strict();
export type RetractAdverseEventBody = z.infer<typeof RetractAdverseEventBody>;

/** Fields of a report a correction may change, by dotted path. */
export const correctableAdverseEventFields = {
  kind: AdverseEventKind,
  onsetOn: ClinicalDate,
  limb: Laterality,
  'amputation.level': AmputationDetails.shape.level,
  'amputation.planned': AmputationDetails.shape.planned,
  'tvr.clinicallyDriven': TvrDetails.shape.clinicallyDriven,
  description: Text(),
} as const;

export interface AdverseEventReported extends AdverseEventReport {
  trialId: string;
  patientId: string;
  siteId: string;
  eventId: string;
}
export interface AdverseEventCorrected {
  trialId: string;
  patientId: string;
  eventId: string;
  changes: FieldChange[];
  reason: string;
}
export interface AdverseEventRetracted {
  trialId: string;
  patientId: string;
  eventId: string;
  reason: string;
}

export type AdverseEventEvent =
  | { type: 'AdverseEventReported'; data: AdverseEventReported }
  | { type: 'AdverseEventCorrected'; data: AdverseEventCorrected }
  | { type: 'AdverseEventRetracted'; data: AdverseEventRetracted }
  | { type: 'DocumentAttached'; data: DocumentAttached };

/** Kinds that are candidate endpoint events and open a CEC case. */
export const ADJUDICABLE_KINDS: readonly AdverseEventKind[] = ['amputation', 'tvr', 'death'];

/**
 * api.md "Adjudication rules": an adverse event of kind amputation, TVR or death opens a CEC case
 * at once, and the case is named after the event (the reporter learns its id from the report).
 */
export function caseOpenedFor(report: { eventId: string; kind: AdverseEventKind }): string | undefined {
  return ADJUDICABLE_KINDS.includes(report.kind) ? report.eventId : undefined;
}
