import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler, type IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { proceduresStream, type ProcedureEvent, type RecordProcedureBody } from '@app/contracts';
import { CLOCK, EVENT_STORE, executeCommand, loadState, type Clock, type Decider, type EventStore } from '@app/event-store';
import { commandOptions, type CommandContext } from '@app/http';
import { enrolledPatientInScope, type CommandResult } from '../../../enrollment/src';
import { decideProcedures, evolveProcedures, initialProceduresState, type ProceduresCommand, type ProceduresState } from '../domain/procedures.decider';

export const proceduresDecider: Decider<ProceduresState, ProceduresCommand, ProcedureEvent> = {
  initialState: initialProceduresState,
  decide: decideProcedures,
  evolve: evolveProcedures,
};

export class RecordProcedure {
  constructor(readonly trialId: string, readonly patientId: string, readonly body: RecordProcedureBody, readonly context: CommandContext) {}
}

/** The procedures of a patient, for other contexts (the index procedure is the time origin). */
export class GetProcedures {
  constructor(readonly trialId: string, readonly patientId: string) {}
}

@CommandHandler(RecordProcedure)
export class RecordProcedureHandler implements ICommandHandler<RecordProcedure, CommandResult & { index: boolean }> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly queries: QueryBus,
  ) {}

  async execute({ trialId, patientId, body, context }: RecordProcedure): Promise<CommandResult & { index: boolean }> {
    const patient = await enrolledPatientInScope(this.queries, trialId, patientId, context);
    const command: ProceduresCommand = {
      type: 'RecordProcedure',
      data: { ...body, trialId, patientId },
      patient: { enrolledOn: patient.enrolledOn, ...(patient.withdrawal ? { withdrawnOn: patient.withdrawal.withdrawnOn } : {}) },
      today: this.clock.now().toISOString().slice(0, 10),
    };
    const outcome = await executeCommand(this.store, proceduresStream(trialId, patientId), proceduresDecider, command, commandOptions(context));
    return { id: body.procedureId, streamVersion: outcome.streamVersion, position: outcome.position, index: outcome.state.indexProcedureId === body.procedureId };
  }
}

@QueryHandler(GetProcedures)
export class GetProceduresHandler implements IQueryHandler<GetProcedures, { state: ProceduresState; version: number }> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  execute({ trialId, patientId }: GetProcedures) {
    return loadState(this.store, proceduresStream(trialId, patientId), proceduresDecider);
  }
}
