import { z } from 'zod';
import { ClinicalDate, Id, Limb, Text } from './primitives';

export const Lesion = z
  .object({
    segment: z.enum(['femoropopliteal', 'btk']),
    lengthMm: z.number().positive().max(1000),
    occlusion: z.boolean(),
  })
  .strict();
export type Lesion = z.infer<typeof Lesion>;

export const Device = z.object({ kind: z.enum(['DCB', 'PTA', 'DES', 'other']), name: Text(200) }).strict();
export type Device = z.infer<typeof Device>;

export const RecordProcedureBody = z
  .object({
    procedureId: Id,
    performedOn: ClinicalDate,
    limb: Limb,
    device: Device,
    lesions: z.array(Lesion).min(1).max(20),
    technicalSuccess: z.boolean(),
  })
  .strict();
export type RecordProcedureBody = z.infer<typeof RecordProcedureBody>;

export interface ProcedureRecorded extends RecordProcedureBody {
  trialId: string;
  patientId: string;
  /** The first procedure of a patient is the index procedure: time origin and index limb. */
  index: boolean;
}

export type ProcedureEvent = { type: 'ProcedureRecorded'; data: ProcedureRecorded };
