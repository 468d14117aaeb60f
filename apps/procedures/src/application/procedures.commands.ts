import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { proceduresStream, type RecordProcedureBody } from '@app/contracts';
import { CLOCK, EVENT_STORE, executeCommand, type Clock, type EventStore } from '@app/event-store';
import { commandOptions, commandResult, type CommandContext, type CommandResult } from '@app/http';
import { EnrollmentFacts } from '@app/runtime';
import { proceduresDecider } from '../domain/procedures.decider';

export class RecordProcedure {
  constructor(
    readonly trialId: string,
    readonly patientId: string,
    readonly body: RecordProcedureBody,
    readonly context: CommandContext,
  ) {}
}

export type RecordProcedureResult = CommandResult & { index: boolean };

@CommandHandler(RecordProcedure)
export class RecordProcedureHandler implements ICommandHandler<RecordProcedure, RecordProcedureResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly enrollment: EnrollmentFacts,
  ) {}

  async execute({ trialId, patientId, body, context }: RecordProcedure): Promise<RecordProcedureResult> {
    const today = this.clock.now().toISOString().slice(0, 10);
    const outcome = await this.enrollment.decideOnPatient(trialId, patientId, context, (patient, guards) =>
      executeCommand(
        this.store,
        proceduresStream(trialId, patientId),
        proceduresDecider,
        { type: 'RecordProcedure', data: { ...body, trialId, patientId }, patient, today },
        { ...commandOptions(context), guards },
      ),
    );
    return { ...commandResult(body.procedureId, outcome), index: outcome.state.indexProcedureId === body.procedureId };
  }
}
