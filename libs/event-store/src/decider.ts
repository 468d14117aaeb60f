import { EventStoreError, WrongExpectedVersionError } from './errors';
import type { EventMetadata, EventStore, RecordedEvent } from './event-store.port';

/** A context's pure domain: decide(command, state) → events, evolve(state, event) → state. */
export interface Decider<State, Command, Event extends { type: string; data: unknown }> {
  initialState: () => State;
  decide: (command: Command, state: State) => Event[];
  evolve: (state: State, event: Event) => State;
}

/** The client's If-Match named another version than the stream's; nothing was written. */
export class PreconditionFailedError extends EventStoreError {
  constructor(
    readonly streamId: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super('VERSION_MISMATCH', `If-Match expected version ${expected} of ${streamId}, the current version is ${actual}`);
  }
}

export interface CommandOutcome<State> {
  streamVersion: number;
  position: number;
  events: RecordedEvent[];
  state: State;
}

/** Folds a stream into state; the version is 0 for a stream that does not exist. */
export async function loadState<State, Event extends { type: string; data: unknown }>(
  store: EventStore,
  streamId: string,
  decider: Pick<Decider<State, unknown, Event>, 'initialState' | 'evolve'>,
): Promise<{ state: State; version: number }> {
  const { streamVersion, events } = await store.readStream(streamId);
  let state = decider.initialState();
  for (const event of events) state = decider.evolve(state, { type: event.type, data: event.data } as Event);
  return { state, version: streamVersion };
}

/**
 * Load → decide → append with the version that was decided on. Without If-Match a lost race is
 * retried on fresh state (deciding is pure, so retrying is safe); with If-Match it is the client's.
 */
export async function executeCommand<State, Command, Event extends { type: string; data: unknown }>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, Event>,
  command: Command | ((state: State) => Command),
  options: { ifMatch?: number; metadata: EventMetadata; attempts?: number },
): Promise<CommandOutcome<State>> {
  const attempts = options.ifMatch === undefined ? (options.attempts ?? 3) : 1;
  for (let attempt = 1; ; attempt++) {
    const { state, version } = await loadState(store, streamId, decider);
    if (options.ifMatch !== undefined && options.ifMatch !== version) throw new PreconditionFailedError(streamId, options.ifMatch, version);
    const resolved = typeof command === 'function' ? (command as (state: State) => Command)(state) : command;
    const events = decider.decide(resolved, state);
    if (events.length === 0) return { streamVersion: version, position: 0, events: [], state };
    try {
      const result = await store.appendToStream(
        streamId,
        events.map((event) => ({ type: event.type, data: event.data, metadata: options.metadata })),
        { expectedVersion: version },
      );
      const next = events.reduce(decider.evolve, state);
      return { streamVersion: result.streamVersion, position: result.globalPosition, events: result.events, state: next };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError) || attempt >= attempts) {
        if (error instanceof WrongExpectedVersionError && options.ifMatch !== undefined) {
          throw new PreconditionFailedError(streamId, options.ifMatch, error.actual);
        }
        throw error;
      }
    }
  }
}
