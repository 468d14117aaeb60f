/** Who did it: every event names its actor (21 CFR 11.10(e), ICH E6(R3) 4.2.2). */
export interface Actor {
  userId: string;
  name: string;
  roles: string[];
}

/** Metadata carried by every event besides its payload. */
export interface EventMetadata {
  actor?: Actor;
  reason?: string;
  correlationId?: string;
  causationId?: string;
  idempotencyKey?: string;
  /** SHA-256 of the request that carried the idempotency key: a retry must be the same request. */
  requestHash?: string;
  [key: string]: unknown;
}

/** An event to append. `eventId` and `recordedAt` are assigned by the store when absent. */
export interface NewEvent<Data = unknown> {
  type: string;
  data: Data;
  schemaVersion?: number;
  eventId?: string;
  metadata?: EventMetadata;
}

/**
 * An opaque position in the global log, ordered by the store that issued it.
 * Reading "after" a checkpoint returns every event delivered later, none twice.
 */
export type Checkpoint = string;

/** An event as stored, with its place in its stream and in the global log. */
export interface RecordedEvent<Data = unknown> {
  eventId: string;
  type: string;
  schemaVersion: number;
  data: Data;
  metadata: EventMetadata;
  streamId: string;
  /** 1-based position in its stream: the stream's version after this event. */
  streamVersion: number;
  /** Position in the global log (knowledge order is given by `checkpoint`, not by this). */
  globalPosition: number;
  checkpoint: Checkpoint;
  /** Server clock, UTC, ISO-8601 with milliseconds. */
  recordedAt: string;
  /** Hex SHA-256 chained to the previous event of the same stream. */
  hash: string;
}

/**
 * `any`: no check; `no_stream`: the stream must not exist; `stream_exists`: it must;
 * a number: the stream's current version must equal it (0 = no stream).
 */
export type ExpectedVersion = 'any' | 'no_stream' | 'stream_exists' | number;

/**
 * The Idempotency-Key a command carries: `scope` is the user the key belongs to, `requestHash`
 * identifies the request, and a key recorded before `notBefore` has expired (IDEMPOTENCY_TTL).
 */
export interface IdempotencyClaim {
  scope: string;
  key: string;
  requestHash: string;
  notBefore: string;
}

export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
  /**
   * Records the key with the events, atomically, where the store can (PostgreSQL): an append
   * whose key already answers another request of the scope fails with IdempotencyKeyReusedError.
   */
  idempotency?: IdempotencyClaim;
  /**
   * Other streams the decision rests on (e.g. the patient's, for an adverse event), each at the
   * version its facts were folded from (0: no such stream). The append stands only if every one is
   * still at that version, checked in the append's own transaction; else StreamGuardFailedError and
   * nothing is written. (KurrentDB: checked just before the append, not atomically with it.)
   */
  guards?: StreamGuard[];
}

/** A stream a decision rests on, at the version it was decided on. */
export interface StreamGuard {
  streamId: string;
  version: number;
}

export interface AppendResult {
  streamVersion: number;
  /** Global position of the last appended event. */
  globalPosition: number;
  events: RecordedEvent[];
}

export interface ReadStreamOptions {
  /** First stream version to return (1-based); default 1. */
  fromVersion?: number;
  maxCount?: number;
}

export interface ReadStreamResult {
  /** 0 when the stream does not exist. */
  streamVersion: number;
  events: RecordedEvent[];
}

export interface ReadAllOptions {
  /** Exclusive; absent = from the beginning of the log. */
  after?: Checkpoint;
  maxCount?: number;
}

export interface ReadAllResult {
  events: RecordedEvent[];
  /** Checkpoint of the last returned event, or the `after` given when none. */
  checkpoint: Checkpoint | undefined;
}

/** The event store port. Adapters: PostgreSQL (server or PGlite), KurrentDB. */
export interface EventStore {
  appendToStream(streamId: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult>;
  /** The global log in delivery order; only events no earlier-ordered writer can still precede. */
  readAll(options?: ReadAllOptions): Promise<ReadAllResult>;
  /**
   * A mark of "now" for read-your-writes: once settled(mark), every event committed before the
   * mark was taken is visible to readAll. Stores whose readAll is never behind may omit both.
   */
  horizon?(): Promise<string>;
  settled?(mark: string): Promise<boolean>;
  /**
   * How many events lie after `after` (the start of the log when absent), appends still in flight
   * included: a subscription's lag. Optional because not every store can count without reading.
   */
  countAfter?(after: Checkpoint | undefined): Promise<number>;
  /** Called after each local append so subscribers need not wait for their next poll. */
  onAppended(listener: () => void): () => void;
  close(): Promise<void>;
}

/** Injected time source: domain and store never read the system clock directly. */
export interface Clock {
  now(): Date;
}

/** Injected id source for event ids (UUIDs). */
export interface IdGenerator {
  next(): string;
}
