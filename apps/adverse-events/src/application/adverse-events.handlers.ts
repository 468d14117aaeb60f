import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler, type IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import {
  ADJUDICABLE_KINDS,
  DomainError,
  adverseEventStream,
  correctableAdverseEventFields,
  type AdverseEventEvent,
  type CorrectionBody,
  type ReportAdverseEventBody,
  type RetractAdverseEventBody,
} from '@app/contracts';
import { CLOCK, EVENT_STORE, executeCommand, loadState, type Clock, type Decider, type EventStore } from '@app/event-store';
import { commandOptions, type CommandContext } from '@app/http';
import { enrolledPatientInScope, validateCorrection, type CommandResult } from '../../../enrollment/src';
import {
  decideAdverseEvent,
  evolveAdverseEvent,
  initialAdverseEventState,
  type AdverseEventCommand,
  type AdverseEventState,
  type PatientFacts,
} from '../domain/adverse-event.decider';

export const adverseEventDecider: Decider<AdverseEventState, AdverseEventCommand, AdverseEventEvent> = {
  initialState: initialAdverseEventState,
  decide: decideAdverseEvent,
  evolve: evolveAdverseEvent,
};

export class ReportAdverseEvent {
  constructor(readonly trialId: string, readonly patientId: string, readonly body: ReportAdverseEventBody, readonly context: CommandContext) {}
}
export class CorrectAdverseEvent {
  constructor(readonly trialId: string, readonly patientId: string, readonly eventId: string, readonly body: CorrectionBody, readonly context: CommandContext) {}
}
export class RetractAdverseEvent {
  constructor(readonly trialId: string, readonly patientId: string, readonly eventId: string, readonly body: RetractAdverseEventBody, readonly context: CommandContext) {}
}
export class GetAdverseEvent {
  constructor(readonly trialId: string, readonly eventId: string) {}
}

export type ReportResult = CommandResult & { caseId?: string };

abstract class AdverseEventHandler {
  constructor(
    @Inject(EVENT_STORE) protected readonly store: EventStore,
    @Inject(CLOCK) protected readonly clock: Clock,
    protected readonly queries: QueryBus,
  ) {}

  protected today(): string {
    return this.clock.now().toISOString().slice(0, 10);
  }

  /** The enrolled patient, if the sender may act at its site. */
  protected async patient(trialId: string, patientId: string, context: CommandContext): Promise<PatientFacts> {
    const state = await enrolledPatientInScope(this.queries, trialId, patientId, context);
    return { siteId: state.siteId, enrolledOn: state.enrolledOn, ...(state.withdrawal ? { withdrawnOn: state.withdrawal.withdrawnOn } : {}) };
  }

  /** An adverse event is addressed under its patient: another patient's path does not reach it. */
  protected async existing(trialId: string, patientId: string, eventId: string): Promise<void> {
    const { state } = await loadState(this.store, adverseEventStream(trialId, eventId), adverseEventDecider);
    if (state.status === 'absent' || state.patientId !== patientId) {
      throw new DomainError('ADVERSE_EVENT_NOT_FOUND', `no adverse event ${eventId} for patient ${patientId}`, 'not_found');
    }
  }

  protected async run(trialId: string, eventId: string, command: AdverseEventCommand, context: CommandContext, reason?: string) {
    return executeCommand(this.store, adverseEventStream(trialId, eventId), adverseEventDecider, command, commandOptions(context, { reason }));
  }
}

@CommandHandler(ReportAdverseEvent)
export class ReportAdverseEventHandler extends AdverseEventHandler implements ICommandHandler<ReportAdverseEvent, ReportResult> {
  async execute({ trialId, patientId, body, context }: ReportAdverseEvent): Promise<ReportResult> {
    const patient = await this.patient(trialId, patientId, context);
    const outcome = await this.run(trialId, body.eventId, { type: 'ReportAdverseEvent', data: { ...body, trialId, patientId }, patient, today: this.today() }, context);
    // One CEC case per candidate endpoint event, named after it, so the reporter learns it at once.
    const caseId = ADJUDICABLE_KINDS.includes(body.kind) ? body.eventId : undefined;
    return { id: body.eventId, streamVersion: outcome.streamVersion, position: outcome.position, ...(caseId ? { caseId } : {}) };
  }
}

@CommandHandler(CorrectAdverseEvent)
export class CorrectAdverseEventHandler extends AdverseEventHandler implements ICommandHandler<CorrectAdverseEvent, CommandResult> {
  async execute({ trialId, patientId, eventId, body, context }: CorrectAdverseEvent): Promise<CommandResult> {
    validateCorrection(body.changes, correctableAdverseEventFields);
    const patient = await this.patient(trialId, patientId, context);
    await this.existing(trialId, patientId, eventId);
    const outcome = await this.run(trialId, eventId, { type: 'CorrectAdverseEvent', data: body, patient, today: this.today() }, context, body.reason);
    return { id: eventId, streamVersion: outcome.streamVersion, position: outcome.position };
  }
}

@CommandHandler(RetractAdverseEvent)
export class RetractAdverseEventHandler extends AdverseEventHandler implements ICommandHandler<RetractAdverseEvent, CommandResult> {
  async execute({ trialId, patientId, eventId, body, context }: RetractAdverseEvent): Promise<CommandResult> {
    await this.patient(trialId, patientId, context);
    await this.existing(trialId, patientId, eventId);
    const outcome = await this.run(trialId, eventId, { type: 'RetractAdverseEvent', data: body }, context, body.reason);
    return { id: eventId, streamVersion: outcome.streamVersion, position: outcome.position };
  }
}

@QueryHandler(GetAdverseEvent)
export class GetAdverseEventHandler implements IQueryHandler<GetAdverseEvent, { state: AdverseEventState; version: number }> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  execute({ trialId, eventId }: GetAdverseEvent) {
    return loadState(this.store, adverseEventStream(trialId, eventId), adverseEventDecider);
  }
}

export const adverseEventHandlers = [ReportAdverseEventHandler, CorrectAdverseEventHandler, RetractAdverseEventHandler, GetAdverseEventHandler];
