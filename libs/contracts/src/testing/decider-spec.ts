import { DomainError } from '../domain-error';

/** The shape of a pure decider, kept structural so contracts need not depend on the event store. */
export interface DeciderUnderTest<State, Command, Event> {
  decide: (command: Command, state: State) => Event[];
  evolve: (state: State, event: Event) => State;
  initialState: () => State;
}

/** What a test can assert once it has said what happened and what was asked. */
export interface DeciderThen<Event> {
  /** The command is accepted and emits exactly these events. */
  then(expected: Event[]): void;
  /** The command is refused with a DomainError of this code (and kind, when given); returned for further checks. */
  thenThrows(code: string, kind?: DomainError['kind']): DomainError;
  /** The command is refused with some DomainError, whichever its code. */
  thenRefuses(): DomainError;
}

/** A given(events) / when(command) / then(events | error) harness for a pure decider. */
export function deciderSpec<State, Command, Event>(decider: DeciderUnderTest<State, Command, Event>) {
  return {
    given: (events: Event[]) => ({
      when: (command: Command): DeciderThen<Event> => {
        // The state is rebuilt through evolve, so every test also exercises the fold.
        const decide = () =>
          decider.decide(
            command,
            events.reduce((state, event) => decider.evolve(state, event), decider.initialState()),
          );
        const refusal = (): DomainError => {
          let emitted: Event[];
          try {
            emitted = decide();
          } catch (error) {
            if (error instanceof DomainError) return error;
            throw error;
          }
          throw new Error(`expected a refusal, but the command was accepted with ${JSON.stringify(emitted)}`);
        };
        return {
          then: (expected) => {
            expect(decide()).toStrictEqual(expected);
          },
          thenThrows: (code, kind) => {
            const error = refusal();
            expect({ code: error.code, ...(kind !== undefined ? { kind: error.kind } : {}) }).toEqual({
              code,
              ...(kind !== undefined ? { kind } : {}),
            });
            return error;
          },
          thenRefuses: refusal,
        };
      },
    }),
  };
}
