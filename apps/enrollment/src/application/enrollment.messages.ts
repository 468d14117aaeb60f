import type {
  AddCommitteeMemberBody,
  AddSiteBody,
  CorrectionBody,
  EnrollPatientBody,
  PublishCharterBody,
  RecordVisitBody,
  RegisterTrialBody,
  WithdrawPatientBody,
} from '@app/contracts';
import type { CommandContext } from '@app/http';

/** What every command answers (api.md): the stream it wrote and where its last event landed. */
export interface CommandResult {
  id: string;
  streamVersion: number;
  position: number;
}

export class RegisterTrial {
  constructor(readonly body: RegisterTrialBody, readonly context: CommandContext) {}
}
export class PublishCharter {
  constructor(readonly trialId: string, readonly body: PublishCharterBody, readonly context: CommandContext) {}
}
export class AddSite {
  constructor(readonly trialId: string, readonly body: AddSiteBody, readonly context: CommandContext) {}
}
export class AddCommitteeMember {
  constructor(readonly trialId: string, readonly body: AddCommitteeMemberBody, readonly context: CommandContext) {}
}
export class EnrollPatient {
  constructor(readonly trialId: string, readonly body: EnrollPatientBody, readonly context: CommandContext) {}
}
export class CorrectPatientData {
  constructor(readonly trialId: string, readonly patientId: string, readonly body: CorrectionBody, readonly context: CommandContext) {}
}
export class RecordVisit {
  constructor(readonly trialId: string, readonly patientId: string, readonly body: RecordVisitBody, readonly context: CommandContext) {}
}
export class WithdrawPatient {
  constructor(readonly trialId: string, readonly patientId: string, readonly body: WithdrawPatientBody, readonly context: CommandContext) {}
}

/** Queries other contexts ask of enrollment (in-process QueryBus; over Kafka when distributed). */
export class GetTrial {
  constructor(readonly trialId: string) {}
}
export class GetPatient {
  constructor(readonly trialId: string, readonly patientId: string) {}
}
