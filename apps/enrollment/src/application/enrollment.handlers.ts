import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler, type IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { z } from 'zod';
import { assertSiteAccess, type Principal, type Role } from '@app/auth';
import { DomainError, byId, correctablePatientFields, patientStream, trialStream, type PatientEvent, type TrialEvent } from '@app/contracts';
import { CLOCK, EVENT_STORE, executeCommand, loadState, type Clock, type Decider, type EventStore } from '@app/event-store';
import { ProblemException, commandOptions, fieldErrors, type CommandContext } from '@app/http';
import { decidePatient, evolvePatient, initialPatientState, type EnrolledPatient, type PatientCommand, type PatientState, type TrialFacts } from '../domain/patient.decider';
import { decideTrial, evolveTrial, initialTrialState, type TrialCommand, type TrialState } from '../domain/trial.decider';
import {
  AddCommitteeMember,
  AddSite,
  CorrectPatientData,
  EnrollPatient,
  GetPatient,
  GetTrial,
  PublishCharter,
  RecordVisit,
  RegisterTrial,
  WithdrawPatient,
  type CommandResult,
} from './enrollment.messages';

export const trialDecider: Decider<TrialState, TrialCommand, TrialEvent> = { initialState: initialTrialState, decide: decideTrial, evolve: evolveTrial };
export const patientDecider: Decider<PatientState, PatientCommand, PatientEvent> = {
  initialState: initialPatientState,
  decide: decidePatient,
  evolve: evolvePatient,
};

export function principalOf(context: CommandContext): Principal {
  return { ...context.actor, roles: context.actor.roles as Role[] };
}

const SITE_ROLE: Role[] = ['site-investigator'];

/** For other contexts: the enrolled patient, if the sender may act at its site as its investigator. */
export async function enrolledPatientInScope(queries: QueryBus, trialId: string, patientId: string, context: CommandContext): Promise<EnrolledPatient> {
  const { state } = await queries.execute<GetPatient, { state: PatientState }>(new GetPatient(trialId, patientId));
  if (state.status !== 'enrolled') throw new DomainError('PATIENT_NOT_FOUND', `no patient ${patientId} in trial ${trialId}`, 'not_found');
  assertSiteAccess(principalOf(context), state.siteId, SITE_ROLE);
  return state;
}

/**
 * Checks each named field and its value against the field's schema; 400 with every offender.
 * The field is the client's key: only the map's own entries count, never what a plain object
 * inherits (`constructor`, `toString`, ...).
 */
export function validateCorrection(changes: Record<string, unknown>, fields: Record<string, z.ZodType>): void {
  const errors = Object.entries(changes).flatMap(([field, value]) => {
    const schema = byId(fields, field);
    if (!schema) return [{ path: `changes.${field}`, message: `not a correctable field; one of: ${Object.keys(fields).join(', ')}` }];
    const parsed = schema.safeParse(value);
    return parsed.success ? [] : fieldErrors(parsed.error, `changes.${field}`);
  });
  if (errors.length > 0) throw new ProblemException(400, 'INVALID_CORRECTION', 'the correction names unknown fields or invalid values', { errors });
}

abstract class EnrollmentHandler {
  constructor(
    @Inject(EVENT_STORE) protected readonly store: EventStore,
    @Inject(CLOCK) protected readonly clock: Clock,
  ) {}

  protected today(): string {
    return this.clock.now().toISOString().slice(0, 10);
  }

  protected async trial(trialId: string): Promise<Extract<TrialState, { status: 'registered' }>> {
    const { state } = await loadState(this.store, trialStream(trialId), trialDecider);
    if (state.status !== 'registered') throw new DomainError('TRIAL_NOT_FOUND', `no trial ${trialId}`, 'not_found');
    return state;
  }

  protected async trialFacts(trialId: string): Promise<TrialFacts> {
    const trial = await this.trial(trialId);
    return { arms: trial.arms, siteIds: Object.keys(trial.sites) };
  }

  /** An existing patient the site investigator may act on (own site only). */
  protected async patientInScope(trialId: string, patientId: string, context: CommandContext): Promise<EnrolledPatient> {
    await this.trial(trialId);
    const { state } = await loadState(this.store, patientStream(trialId, patientId), patientDecider);
    if (state.status !== 'enrolled') throw new DomainError('PATIENT_NOT_FOUND', `no patient ${patientId} in trial ${trialId}`, 'not_found');
    assertSiteAccess(principalOf(context), state.siteId, SITE_ROLE);
    return state;
  }

  protected async onTrial(trialId: string, command: TrialCommand, context: CommandContext): Promise<CommandResult> {
    const outcome = await executeCommand(this.store, trialStream(trialId), trialDecider, command, commandOptions(context));
    return { id: trialId, streamVersion: outcome.streamVersion, position: outcome.position };
  }

  protected async onPatient(trialId: string, patientId: string, command: PatientCommand, context: CommandContext, reason?: string): Promise<CommandResult> {
    const outcome = await executeCommand(this.store, patientStream(trialId, patientId), patientDecider, command, commandOptions(context, { reason }));
    return { id: patientId, streamVersion: outcome.streamVersion, position: outcome.position };
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
  async execute({ trialId, body, context }: PublishCharter): Promise<CommandResult> {
    const result = await this.onTrial(trialId, { type: 'PublishCharter', data: { ...body, trialId } }, context);
    return { ...result, id: body.version };
  }
}

@CommandHandler(AddSite)
export class AddSiteHandler extends EnrollmentHandler implements ICommandHandler<AddSite, CommandResult> {
  async execute({ trialId, body, context }: AddSite): Promise<CommandResult> {
    return { ...(await this.onTrial(trialId, { type: 'AddSite', data: { ...body, trialId } }, context)), id: body.siteId };
  }
}

@CommandHandler(AddCommitteeMember)
export class AddCommitteeMemberHandler extends EnrollmentHandler implements ICommandHandler<AddCommitteeMember, CommandResult> {
  async execute({ trialId, body, context }: AddCommitteeMember): Promise<CommandResult> {
    return { ...(await this.onTrial(trialId, { type: 'AddCommitteeMember', data: { ...body, trialId } }, context)), id: body.userId };
  }
}

@CommandHandler(EnrollPatient)
export class EnrollPatientHandler extends EnrollmentHandler implements ICommandHandler<EnrollPatient, CommandResult> {
  async execute({ trialId, body, context }: EnrollPatient): Promise<CommandResult> {
    const trial = await this.trialFacts(trialId);
    assertSiteAccess(principalOf(context), body.siteId, SITE_ROLE);
    return this.onPatient(trialId, body.patientId, { type: 'EnrollPatient', data: { ...body, trialId }, trial, today: this.today() }, context);
  }
}

@CommandHandler(CorrectPatientData)
export class CorrectPatientDataHandler extends EnrollmentHandler implements ICommandHandler<CorrectPatientData, CommandResult> {
  async execute({ trialId, patientId, body, context }: CorrectPatientData): Promise<CommandResult> {
    validateCorrection(body.changes, correctablePatientFields);
    await this.patientInScope(trialId, patientId, context);
    const trial = await this.trialFacts(trialId);
    return this.onPatient(trialId, patientId, { type: 'CorrectPatientData', data: body, trial, today: this.today() }, context, body.reason);
  }
}

@CommandHandler(RecordVisit)
export class RecordVisitHandler extends EnrollmentHandler implements ICommandHandler<RecordVisit, CommandResult> {
  async execute({ trialId, patientId, body, context }: RecordVisit): Promise<CommandResult> {
    await this.patientInScope(trialId, patientId, context);
    const result = await this.onPatient(trialId, patientId, { type: 'RecordVisit', data: body, today: this.today() }, context);
    return { ...result, id: body.visitId };
  }
}

@CommandHandler(WithdrawPatient)
export class WithdrawPatientHandler extends EnrollmentHandler implements ICommandHandler<WithdrawPatient, CommandResult> {
  async execute({ trialId, patientId, body, context }: WithdrawPatient): Promise<CommandResult> {
    await this.patientInScope(trialId, patientId, context);
    return this.onPatient(trialId, patientId, { type: 'WithdrawPatient', data: body, today: this.today() }, context, body.reason);
  }
}

@QueryHandler(GetTrial)
export class GetTrialHandler implements IQueryHandler<GetTrial, { state: TrialState; version: number }> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  execute({ trialId }: GetTrial) {
    return loadState(this.store, trialStream(trialId), trialDecider);
  }
}

@QueryHandler(GetPatient)
export class GetPatientHandler implements IQueryHandler<GetPatient, { state: PatientState; version: number }> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  execute({ trialId, patientId }: GetPatient) {
    return loadState(this.store, patientStream(trialId, patientId), patientDecider);
  }
}

export const enrollmentHandlers = [
  RegisterTrialHandler,
  PublishCharterHandler,
  AddSiteHandler,
  AddCommitteeMemberHandler,
  EnrollPatientHandler,
  CorrectPatientDataHandler,
  RecordVisitHandler,
  WithdrawPatientHandler,
  GetTrialHandler,
  GetPatientHandler,
];
