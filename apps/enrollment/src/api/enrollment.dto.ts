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

export class RegisterTrialDto extends createZodDto(RegisterTrialBody) {}
export class PublishCharterDto extends createZodDto(PublishCharterBody) {}
export class AddSiteDto extends createZodDto(AddSiteBody) {}
export class AddCommitteeMemberDto extends createZodDto(AddCommitteeMemberBody) {}
export class EnrollPatientDto extends createZodDto(EnrollPatientBody) {}
export class CorrectionDto extends createZodDto(CorrectionBody) {}
export class RecordVisitDto extends createZodDto(RecordVisitBody) {}
export class WithdrawPatientDto extends createZodDto(WithdrawPatientBody) {}
