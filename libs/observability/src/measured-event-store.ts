import {
  WrongExpectedVersionError,
  type AppendOptions,
  type AppendResult,
  type Checkpoint,
  type EventStore,
  type NewEvent,
  type ReadAllOptions,
  type ReadAllResult,
  type ReadStreamOptions,
  type ReadStreamResult,
} from '@app/event-store';
import { streamCategory } from './stream-category';
import type { TrialsMetrics } from './trials-metrics';

/**
 * The event store port around an adapter, counting appended events and timing appends by stream
 * category; everything passes through unchanged. EventStoreModule applies it to EVENT_STORE when
 * MetricsModule provides EVENT_STORE_DECORATOR, so every consumer (handlers, subscribers) is measured.
 */
export class MeasuredEventStore implements EventStore {
  // Declared, not initialised: a store without them must not seem to have them (consumers test presence).
  declare readonly horizon?: () => Promise<string>;
  declare readonly settled?: (mark: string) => Promise<boolean>;
  declare readonly countAfter?: (after: Checkpoint | undefined) => Promise<number>;

  constructor(
    private readonly inner: EventStore,
    private readonly metrics: TrialsMetrics,
  ) {
    const optional: Partial<Pick<EventStore, 'horizon' | 'settled' | 'countAfter'>> = {};
    if (inner.horizon) optional.horizon = inner.horizon.bind(inner);
    if (inner.settled) optional.settled = inner.settled.bind(inner);
    if (inner.countAfter) optional.countAfter = inner.countAfter.bind(inner);
    Object.assign(this, optional);
  }

  async appendToStream(streamId: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    const category = streamCategory(streamId);
    const timer = this.metrics.appendDuration.startTimer({ stream_category: category });
    try {
      const result = await this.inner.appendToStream(streamId, events, options);
      timer({ outcome: 'ok' });
      this.metrics.eventsAppended.inc({ stream_category: category }, result.events.length);
      return result;
    } catch (error) {
      timer({ outcome: error instanceof WrongExpectedVersionError ? 'conflict' : 'error' });
      throw error;
    }
  }

  readStream(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult> {
    return this.inner.readStream(streamId, options);
  }

  readAll(options?: ReadAllOptions): Promise<ReadAllResult> {
    return this.inner.readAll(options);
  }

  onAppended(listener: () => void): () => void {
    return this.inner.onAppended(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
