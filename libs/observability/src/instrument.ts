import type { CommandBus } from '@nestjs/cqrs';
import { WrongExpectedVersionError, type EventStore } from '@app/event-store';
import { toProblem } from '@app/http';
import { streamCategory } from './stream-category';
import type { TrialsMetrics } from './trials-metrics';

const INSTRUMENTED = Symbol('trials-metrics-instrumented');

function once(target: object): boolean {
  const marked = target as { [INSTRUMENTED]?: true };
  if (marked[INSTRUMENTED]) return false;
  marked[INSTRUMENTED] = true;
  return true;
}

/** The outcome label of a refused command: the problem code its HTTP answer carries. */
export function commandOutcome(error: unknown): string {
  return toProblem(error).problem.code;
}

/**
 * Counts and times every command the bus executes. The bus instance's `execute` is replaced by a
 * wrapper that calls the original and returns exactly what it returns (a synchronous throw, e.g.
 * no handler, stays synchronous), so callers see no difference.
 */
export function instrumentCommandBus(bus: CommandBus, metrics: TrialsMetrics): void {
  if (!once(bus)) return;
  const execute = bus.execute.bind(bus);
  const wrapped = (command: object, context?: unknown) => {
    const name = command.constructor.name;
    const timer = metrics.commandDuration.startTimer({ command: name });
    const settle = (outcome: string) => {
      metrics.commands.inc({ command: name, outcome });
      timer({ outcome });
    };
    let running: Promise<unknown>;
    try {
      running = (execute as (command: object, context?: unknown) => Promise<unknown>)(command, context);
    } catch (error) {
      settle(commandOutcome(error));
      throw error;
    }
    return running.then(
      (result) => {
        settle('ok');
        return result;
      },
      (error: unknown) => {
        settle(commandOutcome(error));
        throw error;
      },
    );
  };
  bus.execute = wrapped as CommandBus['execute'];
}

/**
 * Counts appended events and times appends on the EVENT_STORE instance every consumer shares;
 * the adapter's own method does the work and its result or error passes through unchanged.
 */
export function instrumentEventStore(store: EventStore, metrics: TrialsMetrics): void {
  if (!once(store)) return;
  const append = store.appendToStream.bind(store);
  store.appendToStream = async (streamId, events, options) => {
    const category = streamCategory(streamId);
    const timer = metrics.appendDuration.startTimer({ stream_category: category });
    try {
      const result = await append(streamId, events, options);
      timer({ outcome: 'ok' });
      metrics.eventsAppended.inc({ stream_category: category }, result.events.length);
      return result;
    } catch (error) {
      timer({ outcome: error instanceof WrongExpectedVersionError ? 'conflict' : 'error' });
      throw error;
    }
  };
}
