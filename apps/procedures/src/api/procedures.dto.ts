import { createZodDto } from 'nestjs-zod';
import { RecordProcedureBody } from '@app/contracts';

// A body the API accepts for the patient of the path parameter's example (test/openapi.e2e.spec.ts sends it).
export class RecordProcedureDto extends createZodDto(
  RecordProcedureBody.meta({
    example: {
      procedureId: 'PR001',
      performedOn: '2026-01-12',
      limb: 'left',
      device: { kind: 'DCB', name: 'Paclitaxel-coated balloon 5x120 mm' },
      lesions: [{ segment: 'femoropopliteal', lengthMm: 120, occlusion: false }],
      technicalSuccess: true,
    },
  }),
) {}
