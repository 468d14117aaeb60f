import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { adverseEventStream } from '@app/contracts';
import { EVENT_STORE, loadState, type EventStore } from '@app/event-store';
import { adverseEventDecider, type AdverseEventState } from '../domain/adverse-event.decider';

/** The adverse event as currently corrected (GET …/adverse-events/{e}), folded from its stream, with its version for the ETag. */
export class GetAdverseEvent {
  constructor(
    readonly trialId: string,
    readonly eventId: string,
  ) {}
}

@QueryHandler(GetAdverseEvent)
export class GetAdverseEventHandler implements IQueryHandler<GetAdverseEvent, { state: AdverseEventState; version: number }> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  execute({ trialId, eventId }: GetAdverseEvent) {
    return loadState(this.store, adverseEventStream(trialId, eventId), adverseEventDecider);
  }
}
