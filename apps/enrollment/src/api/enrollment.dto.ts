import { createZodDto } from 'nestjs-zod';
import {
  AddCommitteeMemberBody,
  AddSiteBody,
  CorrectionBody,
  EnrollPatientBody,
  PublishCharterBody,
  RecordVisitBody,
  RegisterTrialBody,
  WithdrawPatientBody,
} from '@app/contracts';

// Each example is a body the API accepts, on the ids of the path parameters' examples (test/openapi.e2e.spec.ts sends them).
export class RegisterTrialDto extends createZodDto(
  RegisterTrialBody.meta({
    example: {
      trialId: 'PAD-DCB-01',
      title: 'Drug-coated balloon vs PTA in femoropopliteal disease',
      protocolVersion: '1.0',
      arms: ['DCB', 'PTA'],
    },
  }),
) {}
export class PublishCharterDto extends createZodDto(
  PublishCharterBody.meta({
    example: {
      version: '2',
      endpoints: [
        {
          id: 'freedom-from-cd-tvr',
          label: 'Freedom from clinically driven TVR',
          horizonDays: 365,
          events: [{ kind: 'tvr', limb: 'index', clinicallyDriven: true }],
        },
        {
          id: 'amputation-free-survival',
          label: 'Amputation-free survival',
          horizonDays: 365,
          events: [{ kind: 'amputation', limb: 'index', amputationLevel: 'major' }],
          includesDeath: true,
        },
      ],
      censoring: { withdrawal: 'withdrawal-date' },
    },
  }),
) {}
export class AddSiteDto extends createZodDto(AddSiteBody.meta({ example: { siteId: 'S01', name: 'Ospedale Uno', country: 'IT' } })) {}
export class AddCommitteeMemberDto extends createZodDto(
  AddCommitteeMemberBody.meta({ example: { userId: 'rev-1', name: 'Dr. Ann Reviewer', role: 'cec-reviewer', affiliatedSiteIds: [] } }),
) {}
export class EnrollPatientDto extends createZodDto(
  EnrollPatientBody.meta({
    example: {
      patientId: 'P001',
      siteId: 'S01',
      enrolledOn: '2026-01-12',
      arm: 'DCB',
      baseline: { ageYears: 71, sex: 'M', diabetes: false, presentation: 'claudication', rutherfordClass: 3 },
    },
  }),
) {}
export class CorrectionDto extends createZodDto(
  CorrectionBody.meta({
    example: { changes: { 'baseline.diabetes': true }, reason: 'HbA1c of the screening visit received after enrolment' },
  }),
) {}
export class RecordVisitDto extends createZodDto(
  RecordVisitBody.meta({ example: { visitId: 'V-30D', visit: '30d', visitOn: '2026-02-11' } }),
) {}
export class WithdrawPatientDto extends createZodDto(
  WithdrawPatientBody.meta({ example: { withdrawnOn: '2026-03-02', reason: 'Withdrew consent' } }),
) {}
