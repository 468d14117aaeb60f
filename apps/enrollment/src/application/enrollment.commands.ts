import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { assertSiteAccess, principalOf, type Role } from '@app/auth';
import {
  DomainError,
  correctablePatientFields,
  patientStream,
  trialStream,
  type AddCommitteeMemberBody,
  type AddSiteBody,
  type CorrectionBody,
  type EnrollPatientBody,
  type PublishCharterBody,
  type RecordVisitBody,
  type RegisterTrialBody,
  type WithdrawPatientBody,
} from '@app/contracts';
import {
  CLOCK,
  EVENT_STORE,
  decideOnFacts,
  executeCommand,
  readKeptState,
  type Clock,
  type EventStore,
  type StreamGuard,
} from '@app/event-store';
import { commandOptions, commandResult, validateCorrection, type CommandContext, type CommandResult } from '@app/http';
import { patientDecider, type EnrolledPatient, type PatientCommand, type PatientState, type TrialFacts } from '../domain/patient.decider';
import { trialDecider, type TrialCommand } from '../domain/trial.decider';

export class RegisterTrial {
  constructor(
    readonly body: RegisterTrialBody,
    readonly context: CommandContext,
  ) {}
}
export class PublishCharter {
  constructor(
    readonly trialId: string,
    readonly body: PublishCharterBody,
    readonly context: CommandContext,
  ) {}
}
export class AddSite {
  constructor(
    readonly trialId: string,
    readonly body: AddSiteBody,
    readonly context: CommandContext,
  ) {}
}
export class AddCommitteeMember {
  constructor(
    readonly trialId: string,
    readonly body: AddCommitteeMemberBody,
    readonly context: CommandContext,
  ) {}
}
export class EnrollPatient {
  constructor(
    readonly trialId: string,
    readonly body: EnrollPatientBody,
    readonly context: CommandContext,
  ) {}
}
export class CorrectPatientData {
  constructor(
    readonly trialId: string,
    readonly patientId: string,
    readonly body: CorrectionBody,
    readonly context: CommandContext,
  ) {}
}
export class RecordVisit {
  constructor(
    readonly trialId: string,
    readonly patientId: string,
    readonly body: RecordVisitBody,
    readonly context: CommandContext,
  ) {}
}
export class WithdrawPatient {
  constructor(
    readonly trialId: string,
    readonly patientId: string,
    readonly body: WithdrawPatientBody,
    readonly context: CommandContext,
  ) {}
}

const SITE_ROLE: Role[] = ['site-investigator'];

abstract class EnrollmentHandler {
  constructor(
    @Inject(EVENT_STORE) protected readonly store: EventStore,
    @Inject(CLOCK) protected readonly clock: Clock,
  ) {}

  protected today(): string {
    return this.clock.now().toISOString().slice(0, 10);
  }

  /**
   * Runs a decision on the registered trial's facts (else 404), guarded by the trial stream's version:
   * folded from what this process last saw of the trial, with no read, and decided again on a read
   * should the trial have moved on or the kept facts refuse (decideOnFacts).
   */
  protected decideOnTrial<T>(trialId: string, decide: (trial: TrialFacts, guards: StreamGuard[]) => Promise<T>): Promise<T> {
    const streamId = trialStream(trialId);
    const load = async (fresh: boolean) => {
      const { state, version, kept } = await readKeptState(this.store, streamId, trialDecider, { fresh });
      if (state.status !== 'registered') throw new DomainError('TRIAL_NOT_FOUND', `no trial ${trialId}`, 'not_found');
      return { facts: { arms: state.arms, siteIds: Object.keys(state.sites) }, version, kept };
    };
    return decideOnFacts(streamId, load, decide, (error) => error instanceof DomainError);
  }

  /**
   * The command on an existing patient the site investigator may act on (own site only), built from
   * the patient as read for the decision itself: the scope check and the decision share one read of
   * the stream (a registered trial is ApiGuard's check, and a patient implies its trial).
   */
  protected inScope(
    trialId: string,
    patientId: string,
    context: CommandContext,
    command: (patient: EnrolledPatient) => PatientCommand,
  ): (state: PatientState) => PatientCommand {
    return (state) => {
      if (state.status !== 'enrolled')
        throw new DomainError('PATIENT_NOT_FOUND', `no patient ${patientId} in trial ${trialId}`, 'not_found');
      assertSiteAccess(principalOf(context), state.siteId, SITE_ROLE);
      return command(state);
    };
  }

  protected async onTrial(trialId: string, command: TrialCommand, context: CommandContext, id = trialId): Promise<CommandResult> {
    return commandResult(id, await executeCommand(this.store, trialStream(trialId), trialDecider, command, commandOptions(context)));
  }

  protected async onPatient(
    trialId: string,
    patientId: string,
    command: PatientCommand | ((state: PatientState) => PatientCommand),
    context: CommandContext,
    options: { reason?: string; id?: string; expectNewStream?: boolean; guards?: StreamGuard[] } = {},
  ): Promise<CommandResult> {
    const outcome = await executeCommand(this.store, patientStream(trialId, patientId), patientDecider, command, {
      ...commandOptions(context, { reason: options.reason }),
      ...(options.expectNewStream ? { expectNewStream: true } : {}),
      ...(options.guards ? { guards: options.guards } : {}),
    });
    return commandResult(options.id ?? patientId, outcome);
  }
}

@CommandHandler(RegisterTrial)
export class RegisterTrialHandler extends EnrollmentHandler implements ICommandHandler<RegisterTrial, CommandResult> {
  execute({ body, context }: RegisterTrial): Promise<CommandResult> {
    return this.onTrial(body.trialId, { type: 'RegisterTrial', data: body }, context);
  }
}

@CommandHandler(PublishCharter)
export class PublishCharterHandler extends EnrollmentHandler implements ICommandHandler<PublishCharter, CommandResult> {
  execute({ trialId, body, context }: PublishCharter): Promise<CommandResult> {
    return this.onTrial(trialId, { type: 'PublishCharter', data: { ...body, trialId } }, context, body.version);
  }
}

@CommandHandler(AddSite)
export class AddSiteHandler extends EnrollmentHandler implements ICommandHandler<AddSite, CommandResult> {
  execute({ trialId, body, context }: AddSite): Promise<CommandResult> {
    return this.onTrial(trialId, { type: 'AddSite', data: { ...body, trialId } }, context, body.siteId);
  }
}

@CommandHandler(AddCommitteeMember)
export class AddCommitteeMemberHandler extends EnrollmentHandler implements ICommandHandler<AddCommitteeMember, CommandResult> {
  execute({ trialId, body, context }: AddCommitteeMember): Promise<CommandResult> {
    return this.onTrial(trialId, { type: 'AddCommitteeMember', data: { ...body, trialId } }, context, body.userId);
  }
}

@CommandHandler(EnrollPatient)
export class EnrollPatientHandler extends EnrollmentHandler implements ICommandHandler<EnrollPatient, CommandResult> {
  async execute({ trialId, body, context }: EnrollPatient): Promise<CommandResult> {
    return this.decideOnTrial(trialId, (trial, guards) => {
      assertSiteAccess(principalOf(context), body.siteId, SITE_ROLE);
      return this.onPatient(
        trialId,
        body.patientId,
        { type: 'EnrollPatient', data: { ...body, trialId }, trial, today: this.today() },
        context,
        // An enrolment starts the patient's stream: no read first (a duplicate id is found by the append).
        { expectNewStream: true, guards },
      );
    });
  }
}

@CommandHandler(CorrectPatientData)
export class CorrectPatientDataHandler extends EnrollmentHandler implements ICommandHandler<CorrectPatientData, CommandResult> {
  async execute({ trialId, patientId, body, context }: CorrectPatientData): Promise<CommandResult> {
    validateCorrection(body.changes, correctablePatientFields);
    return this.decideOnTrial(trialId, (trial, guards) => {
      const command = this.inScope(trialId, patientId, context, () => ({
        type: 'CorrectPatientData',
        data: body,
        trial,
        today: this.today(),
      }));
      return this.onPatient(trialId, patientId, command, context, { reason: body.reason, guards });
    });
  }
}

@CommandHandler(RecordVisit)
export class RecordVisitHandler extends EnrollmentHandler implements ICommandHandler<RecordVisit, CommandResult> {
  async execute({ trialId, patientId, body, context }: RecordVisit): Promise<CommandResult> {
    const command = this.inScope(trialId, patientId, context, () => ({ type: 'RecordVisit', data: body, today: this.today() }));
    return this.onPatient(trialId, patientId, command, context, { id: body.visitId });
  }
}

@CommandHandler(WithdrawPatient)
export class WithdrawPatientHandler extends EnrollmentHandler implements ICommandHandler<WithdrawPatient, CommandResult> {
  async execute({ trialId, patientId, body, context }: WithdrawPatient): Promise<CommandResult> {
    const command = this.inScope(trialId, patientId, context, () => ({ type: 'WithdrawPatient', data: body, today: this.today() }));
    return this.onPatient(trialId, patientId, command, context, { reason: body.reason });
  }
}

export const enrollmentCommandHandlers = [
  RegisterTrialHandler,
  PublishCharterHandler,
  AddSiteHandler,
  AddCommitteeMemberHandler,
  EnrollPatientHandler,
  CorrectPatientDataHandler,
  RecordVisitHandler,
  WithdrawPatientHandler,
];
