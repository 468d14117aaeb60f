import { createZodDto } from 'nestjs-zod';
import { CorrectionBody, ReportAdverseEventBody, RetractAdverseEventBody } from '@app/contracts';

// Each example is a body the API accepts, on the ids of the path parameters' examples (test/openapi.e2e.spec.ts sends them).
export class ReportAdverseEventDto extends createZodDto(
  ReportAdverseEventBody.meta({
    example: {
      eventId: 'AE001',
      kind: 'amputation',
      onsetOn: '2026-04-02',
      limb: 'index',
      amputation: { level: 'major', planned: false },
      description: 'Above-knee amputation of the index limb after acute limb ischaemia',
    },
  }),
) {}
export class AdverseEventCorrectionDto extends createZodDto(
  CorrectionBody.meta({
    example: { changes: { 'amputation.level': 'minor' }, reason: 'The operative note describes a transmetatarsal amputation' },
  }),
) {}
export class RetractAdverseEventDto extends createZodDto(
  RetractAdverseEventBody.meta({ example: { reason: 'Reported for the wrong patient' } }),
) {}
