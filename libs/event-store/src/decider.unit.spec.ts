import { executeCommand, type Decider } from './decider';
import { WrongExpectedVersionError } from './errors';
import type { AppendOptions, AppendResult, EventStore, NewEvent, ReadStreamResult, RecordedEvent } from './event-store.port';

/** Just enough of a store to count what executeCommand reads: streams in memory, the version check of an append. */
function memoryStore() {
  const streams = new Map<string, RecordedEvent[]>();
  const reads = new Map<string, number>();
  let position = 0;
  const store: EventStore = {
    appendToStream(streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
      const stream = streams.get(streamId) ?? [];
      const expected = options.expectedVersion ?? 'any';
      if (typeof expected === 'number' && expected !== stream.length)
        return Promise.reject(new WrongExpectedVersionError(streamId, expected, stream.length));
      const recorded = events.map((event, i) => ({
        eventId: `${streamId}-${stream.length + i + 1}`,
        type: event.type,
        schemaVersion: 1,
        data: event.data,
        metadata: event.metadata ?? {},
        streamId,
        streamVersion: stream.length + i + 1,
        globalPosition: ++position,
        checkpoint: String(position),
        recordedAt: '2026-01-01T00:00:00.000Z',
        hash: '',
      }));
      streams.set(streamId, [...stream, ...recorded]);
      return Promise.resolve({ streamVersion: stream.length + recorded.length, globalPosition: position, events: recorded });
    },
    readStream(streamId: string): Promise<ReadStreamResult> {
      reads.set(streamId, (reads.get(streamId) ?? 0) + 1);
      const events = streams.get(streamId) ?? [];
      return Promise.resolve({ streamVersion: events.length, events });
    },
    readAll: () => Promise.resolve({ events: [], checkpoint: undefined }),
    onAppended: () => () => undefined,
    close: () => Promise.resolve(),
  };
  return { store, reads, streams };
}

type Counted = { type: 'Counted'; data: { to: number } };
const counter: Decider<number, 'increment', Counted> = {
  initialState: () => 0,
  decide: (_command, count) => [{ type: 'Counted', data: { to: count + 1 } }],
  evolve: (_count, e) => e.data.to,
};
const metadata = { correlationId: 'c-memory' };

describe('the streams a process keeps between commands', () => {
  it('holds at most 50,000 events, the least recently used streams going first, and no stream longer than 200', async () => {
    const { store, reads } = memoryStore();
    const bulk = Array.from({ length: 149 }, (_, i) => ({ type: 'Counted', data: { to: i + 1 } }));
    const ids = Array.from({ length: 400 }, (_, i) => `s${i}`);
    // 400 streams of 150 events once each command has run: 60,000 events, more than are kept.
    for (const id of ids) {
      await store.appendToStream(id, bulk);
      await executeCommand(store, id, counter, 'increment', { metadata });
    }
    const readsOf = (id: string) => reads.get(id) ?? 0;
    expect(ids.every((id) => readsOf(id) === 1)).toBe(true);
    // The most recent 333 streams (333 × 151 ≤ 50,000) are decided on without a read; the oldest were let go.
    for (const id of ids.slice(-300)) await executeCommand(store, id, counter, 'increment', { metadata });
    expect(ids.slice(-300).every((id) => readsOf(id) === 1)).toBe(true);
    await executeCommand(store, 's0', counter, 'increment', { metadata });
    expect(readsOf('s0')).toBe(2);

    // A stream near the front that is used again moves to the end, and outlives its neighbours when new streams come in.
    const front = ids.slice(-300)[0]!;
    const neighbour = ids.slice(-300)[1]!;
    await executeCommand(store, front, counter, 'increment', { metadata });
    for (let i = 0; i < 40; i++) {
      await store.appendToStream(`new${i}`, bulk);
      await executeCommand(store, `new${i}`, counter, 'increment', { metadata });
    }
    await executeCommand(store, front, counter, 'increment', { metadata });
    await executeCommand(store, neighbour, counter, 'increment', { metadata });
    expect([readsOf(front), readsOf(neighbour)]).toEqual([1, 2]);

    // A stream longer than 200 events is read for every command.
    const long = Array.from({ length: 250 }, (_, i) => ({ type: 'Counted', data: { to: i + 1 } }));
    await store.appendToStream('long', long);
    await executeCommand(store, 'long', counter, 'increment', { metadata });
    await executeCommand(store, 'long', counter, 'increment', { metadata });
    expect(readsOf('long')).toBe(2);
  });
});

describe('the state a process keeps with a stream', () => {
  it('starts each command from the state the last one left, not from a fold of every event again', async () => {
    const { store, reads } = memoryStore();
    let evolved = 0;
    // A log of visits, as a patient's stream grows with each: folding it whole costs one step per event.
    const visits: Decider<string[], string, { type: 'Visited'; data: { on: string } }> = {
      initialState: () => [],
      decide: (on, seen) => {
        if (seen.includes(on)) throw new Error(`ALREADY ${on}`);
        return [{ type: 'Visited', data: { on } }];
      },
      evolve: (seen, e) => {
        evolved += 1;
        return [...seen, e.data.on];
      },
    };
    const days = Array.from({ length: 100 }, (_, i) => `2026-01-${String(i).padStart(3, '0')}`);
    for (const day of days) await executeCommand(store, 'visits', visits, day, { metadata });
    expect(reads.get('visits')).toBe(1);
    // Two steps per command (the decided events and the same events as recorded); folding whole would be 5,050.
    expect(evolved).toBeLessThanOrEqual(2 * days.length);
    // The kept state is the stream's: a repeated day is refused on it as a read of the stream would refuse it.
    await expect(executeCommand(store, 'visits', visits, days[42]!, { metadata })).rejects.toThrow(`ALREADY ${days[42]}`);
    const outcome = await executeCommand(store, 'visits', visits, '2026-02-01', { metadata });
    expect(outcome.state).toEqual([...days, '2026-02-01']);
  });
});
