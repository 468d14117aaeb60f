import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Principal } from '@app/auth';
import { unblindingStream } from '@app/contracts';
import { EVENT_STORE, type EventStore } from '@app/event-store';
import type { ReportInput } from '../domain/endpoint-report';
import type { ReportQuery } from '../domain/history-snapshot';

/** Records who saw results broken down by arm, when and with which parameters (ICH E6(R3) 3.16.1(g)). */
export class RecordUnblindedView {
  constructor(
    readonly trialId: string,
    readonly principal: Principal,
    readonly query: ReportQuery,
    readonly input: ReportInput,
    /** What was seen: `endpoint report`, `curve {endpointId}`. */
    readonly what: string,
  ) {}
}

@CommandHandler(RecordUnblindedView)
export class RecordUnblindedViewHandler implements ICommandHandler<RecordUnblindedView, void> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ trialId, principal, query, input, what }: RecordUnblindedView): Promise<void> {
    await this.store.appendToStream(unblindingStream(trialId), [
      {
        type: 'UnblindedResultsViewed',
        data: { trialId, what, parameters: { ...query, cutoff: input.cutoff }, asOf: input.asOf, charterVersion: input.charter.version },
        metadata: { actor: { userId: principal.userId, name: principal.name, roles: principal.roles }, reason: 'unblinded report by arm' },
      },
    ]);
  }
}
