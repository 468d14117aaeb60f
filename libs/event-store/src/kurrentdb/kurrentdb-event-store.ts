import {
  ANY,
  BACKWARDS,
  END,
  ErrorType,
  FORWARDS,
  KurrentDBClient,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  isCommandError,
  jsonEvent,
  type AppendStreamState,
  type CurrentStreamState,
  type EventData,
  type JSONType,
  type Position,
  type ReadStreamOptions as KurrentReadStreamOptions,
  type ResolvedEvent,
} from '@kurrent/kurrentdb-client';
import { systemClock, uuidGenerator } from '../clock';
import { StreamGuardFailedError, WrongExpectedVersionError } from '../errors';
import type {
  AppendOptions,
  AppendResult,
  Checkpoint,
  Clock,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  IdGenerator,
  NewEvent,
  ReadAllOptions,
  ReadAllResult,
  ReadStreamOptions,
  ReadStreamResult,
  RecordedEvent,
} from '../event-store.port';
import { chainHash, contentDigest, toJsonValue, type HashedContent } from '../hash-chain';

/** Envelope fields the adapter adds to each event's KurrentDB metadata, next to the caller's metadata. */
export const ENVELOPE_KEYS = ['recordedAt', 'schemaVersion', 'hash'] as const;

/**
 * A writer that loses the race to a concurrent append re-reads the head and tries again; each
 * lost race means another append succeeded, so this bound only trips on a pathologically hot stream.
 */
const MAX_APPEND_ATTEMPTS = 25;

const DEFAULT_READ_ALL_COUNT = 1000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * What the client's stream and $all reads have in common; the client's own record type is a
 * conditional type over JSON and binary events that is awkward to accept as a parameter.
 */
interface StoredRecord {
  streamId: string;
  id: string;
  type: string;
  revision: bigint;
  data: unknown;
  metadata: unknown;
  created: Date;
  position?: Position;
}

/** The last event of a stream (`version` 0 and no hash when the stream does not exist). */
interface StreamHead {
  version: number;
  hash: Buffer;
}

/**
 * Our versions count events (version N = the stream holds N events); KurrentDB revisions are
 * 0-based indexes of the last event. Version 0 (and `no_stream`) is therefore NO_STREAM.
 */
export function toStreamState(expected: ExpectedVersion): AppendStreamState {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      if (!Number.isSafeInteger(expected) || expected < 0) {
        throw new RangeError(`expected version must be a non-negative integer, got ${expected}`);
      }
      return expected === 0 ? NO_STREAM : BigInt(expected - 1);
  }
}

/** The inverse direction, for the current state a KurrentDB conflict reports. */
export function versionOfStreamState(state: CurrentStreamState): number {
  return state === NO_STREAM ? 0 : Number(state) + 1;
}

/** Whether a stream currently at `version` meets the caller's expectation. */
export function satisfiesExpectation(expected: ExpectedVersion, version: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return version === 0;
    case 'stream_exists':
      return version > 0;
    default:
      return expected === version;
  }
}

/**
 * An exact expectation is only ever met by the head it was checked against; `any` and
 * `stream_exists` still hold after someone else appended, so losing that race is no conflict.
 */
export function retriesOnConcurrentAppend(expected: ExpectedVersion): boolean {
  return expected === 'any' || expected === 'stream_exists';
}

/** Checkpoints are the $all position "commit/prepare": events of one append share a commit position. */
export function encodePositionCheckpoint(position: Position): Checkpoint {
  return `${position.commit}/${position.prepare}`;
}

export function decodePositionCheckpoint(checkpoint: Checkpoint): Position {
  const match = /^(\d+)\/(\d+)$/.exec(checkpoint);
  if (!match) throw new Error(`not a KurrentDB event-store checkpoint: ${checkpoint}`);
  return { commit: BigInt(match[1] as string), prepare: BigInt(match[2] as string) };
}

/** $all order: by commit position, then by prepare position within one commit. */
export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** System streams and system event types ($-prefixed) are the server's own bookkeeping, not ours. */
export function isSystemRecord(streamId: string, type: string): boolean {
  return streamId.startsWith('$') || type.startsWith('$');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** Splits stored metadata into the caller's metadata and the adapter's envelope fields. */
export function splitEnvelope(stored: unknown): {
  metadata: EventMetadata;
  recordedAt: string | undefined;
  schemaVersion: number | undefined;
  hash: string | undefined;
} {
  if (!isRecord(stored)) return { metadata: {}, recordedAt: undefined, schemaVersion: undefined, hash: undefined };
  const { recordedAt, schemaVersion, hash, ...metadata } = stored;
  return {
    metadata,
    recordedAt: typeof recordedAt === 'string' ? recordedAt : undefined,
    schemaVersion: typeof schemaVersion === 'number' ? schemaVersion : undefined,
    hash: typeof hash === 'string' ? hash : undefined,
  };
}

function positionOf(record: StoredRecord, resolved: { commitPosition?: bigint }): Position {
  if (record.position) return record.position;
  // Servers before 22.6 leave stream reads without a log position; the commit position is the
  // best they offer, and it only loses the order among events of one multi-event append.
  if (resolved.commitPosition !== undefined) return { commit: resolved.commitPosition, prepare: resolved.commitPosition };
  throw new Error(`event ${record.id} of ${record.streamId} came without a log position (server older than 22.6?)`);
}

function toRecorded(record: StoredRecord, position: Position): RecordedEvent {
  const envelope = splitEnvelope(record.metadata);
  return {
    eventId: record.id,
    type: record.type,
    // Events written by other tools lack our envelope; they still read, and verifyChains flags them.
    schemaVersion: envelope.schemaVersion ?? 1,
    data: record.data,
    metadata: envelope.metadata,
    streamId: record.streamId,
    streamVersion: Number(record.revision) + 1,
    globalPosition: Number(position.commit),
    checkpoint: encodePositionCheckpoint(position),
    recordedAt: envelope.recordedAt ?? record.created.toISOString(),
    hash: envelope.hash ?? '',
  };
}

function isStreamNotFound(error: unknown): boolean {
  return error instanceof Error && isCommandError(error) && error.type === ErrorType.STREAM_NOT_FOUND;
}

function isWrongExpectedVersion(error: unknown): error is Error & { actualState: CurrentStreamState } {
  return error instanceof Error && isCommandError(error) && error.type === ErrorType.WRONG_EXPECTED_VERSION;
}

type AppendAttempt = { ok: true; position: Position | undefined } | { ok: false; actual: number | undefined };

/**
 * The event store on KurrentDB (or EventStoreDB 20+). KurrentDB cannot compute our hash chain, so
 * an append reads the stream's head, chains onto its hash and appends at exactly that revision:
 * the server's optimistic check then guarantees nobody slipped in between.
 */
export class KurrentDbEventStore implements EventStore {
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly client: KurrentDBClient,
    private readonly clock: Clock = systemClock,
    private readonly ids: IdGenerator = uuidGenerator,
  ) {}

  static fromConnectionString(url: string, clock?: Clock, ids?: IdGenerator): KurrentDbEventStore {
    return new KurrentDbEventStore(KurrentDBClient.connectionString(url), clock, ids);
  }

  async appendToStream(streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    if (events.length === 0) throw new Error('appendToStream needs at least one event');
    const expected = options.expectedVersion ?? 'any';
    toStreamState(expected); // rejects a malformed expectation before any I/O
    const prepared = events.map((event) => {
      const metadata = toJsonValue(event.metadata) ?? {};
      const reserved = ENVELOPE_KEYS.filter((key) => key in metadata);
      // They would be overwritten by the envelope and so break the chain on read.
      if (reserved.length > 0) throw new Error(`metadata keys ${reserved.join(', ')} are reserved by the KurrentDB adapter`);
      // KurrentDB returns ids in lower case; hashing the same spelling keeps the chain verifiable.
      const eventId = (event.eventId ?? this.ids.next()).toLowerCase();
      if (!UUID.test(eventId)) throw new Error(`event id ${eventId} is not a UUID`);
      return {
        eventId,
        type: event.type,
        schemaVersion: event.schemaVersion ?? 1,
        data: toJsonValue(event.data) ?? null,
        metadata,
      };
    });

    for (let attempt = 1; ; attempt += 1) {
      // KurrentDB appends to one stream at a time: a guard is checked just before, not atomically with it.
      for (const guard of options.guards ?? []) {
        const { version } = await this.head(guard.streamId);
        if (version !== guard.version) throw new StreamGuardFailedError(guard.streamId, guard.version, version);
      }
      const head = await this.head(streamId);
      if (!satisfiesExpectation(expected, head.version)) throw new WrongExpectedVersionError(streamId, expected, head.version);
      // Taken per attempt so that a retried event is never stamped earlier than the one it follows.
      const recordedAt = this.clock.now().toISOString();
      let previous = head.hash;
      const chained = prepared.map((event, i) => {
        const content: HashedContent = { streamId, ...event, recordedAt };
        const streamVersion = head.version + i + 1;
        previous = chainHash(previous, streamVersion, contentDigest(content));
        return { ...content, streamVersion, hash: previous.toString('hex') };
      });
      const outcome = await this.tryAppend(streamId, chained, toStreamState(head.version));
      if (outcome.ok) {
        // The events are stored by now: failing the call over a read-back error would invite a
        // retry that duplicates them, so fall back to the single position the append reported.
        const positions = await this.positionsOf(streamId, head.version, chained.length).catch(() => new Map<string, Position>());
        const recorded: RecordedEvent[] = chained.map((event) => {
          const position = positions.get(event.eventId) ?? outcome.position;
          if (!position) throw new Error(`appended ${event.eventId} to ${streamId} but the server reported no log position`);
          return {
            eventId: event.eventId,
            type: event.type,
            schemaVersion: event.schemaVersion,
            data: event.data,
            metadata: event.metadata,
            streamId,
            streamVersion: event.streamVersion,
            globalPosition: Number(position.commit),
            checkpoint: encodePositionCheckpoint(position),
            recordedAt,
            hash: event.hash,
          };
        });
        const last = recorded[recorded.length - 1]!;
        this.notify();
        return { streamVersion: last.streamVersion, globalPosition: last.globalPosition, events: recorded };
      }
      if (!retriesOnConcurrentAppend(expected) || attempt >= MAX_APPEND_ATTEMPTS) {
        const actual = outcome.actual ?? (await this.head(streamId)).version;
        throw new WrongExpectedVersionError(streamId, expected, actual);
      }
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    const from = Math.max(1, options.fromVersion ?? 1);
    const maxCount = options.maxCount;
    if (maxCount !== undefined && maxCount <= 0) return { streamVersion: await this.version(streamId), events: [] };
    const records = await this.readRecords(streamId, {
      direction: FORWARDS,
      fromRevision: BigInt(from - 1),
      ...(maxCount !== undefined ? { maxCount } : {}),
    });
    const events = records.map(({ record, resolved }) => toRecorded(record, positionOf(record, resolved)));
    const last = events[events.length - 1];
    // A read that reached the end of the stream is its own version: taking it from a separate
    // read of the head would pair a head with events of another moment (a torn read), and a
    // command would then append on a state it never decided on. Only a read that stopped short
    // (maxCount) or started past the end asks the head, after the events.
    const reachedEnd = last !== undefined && (maxCount === undefined || events.length < maxCount);
    return { streamVersion: reachedEnd ? last.streamVersion : await this.version(streamId), events };
  }

  private async version(streamId: string): Promise<number> {
    const head = await this.lastRecord(streamId, false);
    return head ? Number(head.record.revision) + 1 : 0;
  }

  async readAll(options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const limit = options.maxCount ?? DEFAULT_READ_ALL_COUNT;
    if (limit <= 0) return { events: [], checkpoint: options.after };
    // KurrentDB appends through a single writer and exposes only committed events in $all, in
    // commit order, so nothing can later appear before a position already read: no gap handling.
    let cursor = options.after ? decodePositionCheckpoint(options.after) : undefined;
    const events: RecordedEvent[] = [];
    // System events are filtered here rather than by a server-side filter, so a short page from
    // the server reliably means the end of the log.
    const pageSize = limit + 1;
    for (;;) {
      let scanned = 0;
      let lastScanned: Position | undefined;
      for await (const resolved of this.client.readAll({ direction: FORWARDS, fromPosition: cursor ?? START, maxCount: pageSize })) {
        scanned += 1;
        const record = resolved.event;
        if (!record) continue;
        const position = record.position;
        lastScanned = position;
        // Reading from a position includes the event at that position.
        if (cursor && comparePositions(position, cursor) <= 0) continue;
        if (isSystemRecord(record.streamId, record.type)) continue;
        events.push(toRecorded(record, position));
        if (events.length === limit) break;
      }
      if (events.length === limit || scanned < pageSize || !lastScanned) break;
      cursor = lastScanned;
    }
    return { events, checkpoint: events.length > 0 ? events[events.length - 1]!.checkpoint : options.after };
  }

  onAppended(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.client.dispose();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  private async tryAppend(
    streamId: string,
    events: Array<HashedContent & { hash: string }>,
    streamState: AppendStreamState,
  ): Promise<AppendAttempt> {
    const payload: EventData[] = events.map((event) =>
      jsonEvent({
        id: event.eventId,
        type: event.type,
        // The client JSON-serialises any value; its type admits only objects, arrays and strings.
        data: event.data as JSONType,
        metadata: { ...event.metadata, recordedAt: event.recordedAt, schemaVersion: event.schemaVersion, hash: event.hash },
      }),
    );
    try {
      const result = await this.client.appendToStream(streamId, payload, { streamState, requiresLeader: true });
      // Only with throwOnAppendFailure=false in the connection string; the client's batch path then
      // misreports the current revision, so the caller re-reads it instead of trusting it.
      if (!result.success) return { ok: false, actual: undefined };
      return { ok: true, position: result.position };
    } catch (error) {
      if (isWrongExpectedVersion(error)) return { ok: false, actual: versionOfStreamState(error.actualState) };
      throw error;
    }
  }

  /** Log positions of just-appended events, read back because the append reports only one position. */
  private async positionsOf(streamId: string, fromVersion: number, count: number): Promise<Map<string, Position>> {
    const positions = new Map<string, Position>();
    const records = await this.readRecords(streamId, {
      direction: FORWARDS,
      fromRevision: BigInt(fromVersion),
      maxCount: count,
      requiresLeader: true,
    });
    for (const { record } of records) if (record.position) positions.set(record.id, record.position);
    return positions;
  }

  private async head(streamId: string): Promise<StreamHead> {
    const last = await this.lastRecord(streamId, true);
    if (!last) return { version: 0, hash: Buffer.alloc(0) };
    const { hash } = splitEnvelope(last.record.metadata);
    if (hash === undefined || !/^[0-9a-f]{64}$/.test(hash)) {
      throw new Error(`stream ${streamId} ends with event ${last.record.id}, which carries no hash: cannot extend its chain`);
    }
    return { version: Number(last.record.revision) + 1, hash: Buffer.from(hash, 'hex') };
  }

  /** Appends must see the leader's head: a lagging follower would turn into false conflicts. */
  private async lastRecord(
    streamId: string,
    requiresLeader: boolean,
  ): Promise<{ record: StoredRecord; resolved: ResolvedEvent } | undefined> {
    const [last] = await this.readRecords(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1, requiresLeader });
    return last;
  }

  private async readRecords(
    streamId: string,
    options: KurrentReadStreamOptions,
  ): Promise<Array<{ record: StoredRecord; resolved: ResolvedEvent }>> {
    const out: Array<{ record: StoredRecord; resolved: ResolvedEvent }> = [];
    try {
      for await (const resolved of this.client.readStream(streamId, options)) {
        if (resolved.event) out.push({ record: resolved.event, resolved });
      }
    } catch (error) {
      if (isStreamNotFound(error)) return [];
      throw error;
    }
    return out;
  }
}
