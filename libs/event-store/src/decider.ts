import {
  ConcurrentModificationError,
  EventStoreError,
  IdempotencyKeyReusedError,
  StreamGuardFailedError,
  WrongExpectedVersionError,
} from './errors';
import type { EventMetadata, EventStore, IdempotencyClaim, ReadStreamResult, RecordedEvent, StreamGuard } from './event-store.port';

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
  return fold(await store.readStream(streamId), decider);
}

/**
 * The state of exactly the events read, and their version: the version a decision appends
 * on is the last event it folded, never a separately read head.
 */
function fold<State, Event extends { type: string; data: unknown }>(
  read: ReadStreamResult,
  decider: Pick<Decider<State, unknown, Event>, 'initialState' | 'evolve'>,
): { state: State; version: number } {
  const known = folds.get(read)?.get(decider);
  if (known) return known as { state: State; version: number };
  let state = decider.initialState();
  for (const event of read.events) state = decider.evolve(state, { type: event.type, data: event.data } as Event);
  return foldedAs(read, decider, { state, version: versionOf(read) });
}

/**
 * The state each decider folded a stream object into. A stream object never changes (a kept stream
 * is replaced, not extended), nor does a state (evolve returns a new one), so a command on a stream
 * this process keeps starts from the state the last command left instead of folding every event
 * again: a patient's stream grows with every visit.
 */
const folds = new WeakMap<ReadStreamResult, WeakMap<object, { state: unknown; version: number }>>();

function foldedAs<T extends { state: unknown; version: number }>(read: ReadStreamResult, decider: object, folded: T): T {
  let byDecider = folds.get(read);
  if (!byDecider) folds.set(read, (byDecider = new WeakMap()));
  byDecider.set(decider, folded);
  return folded;
}

/** An Idempotency-Key on a command; `replayed` is set when the command had already been carried out. */
export interface IdempotentCommand extends IdempotencyClaim {
  replayed?: boolean;
}

/** What the idempotency metadata of an event names: the key and the request it answered. */
export function idempotencyMetadata(claim: IdempotencyClaim): Pick<EventMetadata, 'idempotencyKey' | 'requestHash'> {
  return { idempotencyKey: claim.key, requestHash: claim.requestHash };
}

/**
 * The events by which an earlier request with this key was carried out on this stream (a retry
 * after a lost answer or a crash), or undefined. The key is the user's: another user's events
 * with the same key are not theirs; an expired key (recorded before `notBefore`) answers nothing.
 */
function carriedOut(events: RecordedEvent[], claim: IdempotencyClaim): RecordedEvent[] | undefined {
  const mine = events.filter(
    (event) =>
      event.metadata.idempotencyKey === claim.key && event.metadata.actor?.userId === claim.scope && event.recordedAt >= claim.notBefore,
  );
  if (mine.length === 0) return undefined;
  if (mine.some((event) => event.metadata.requestHash !== claim.requestHash)) throw new IdempotencyKeyReusedError(claim.key);
  return mine;
}

export interface ExecuteOptions {
  ifMatch?: number;
  metadata: EventMetadata;
  idempotency?: IdempotentCommand;
  /**
   * How long a command without If-Match keeps deciding again after losing a race to another
   * writer of the stream before it gives up with ConcurrentModificationError (api.md: ~2 s).
   */
  retryBudgetMs?: number;
  /**
   * The command usually starts its stream (an enrolment, a new adverse event): unless this process
   * has seen the stream, decide on the initial state and append as the stream's first events without
   * reading it first, one round trip less. Only an accepted append counts: if the stream exists (a
   * duplicate id, a retried Idempotency-Key) or the decision refuses, it is read and decided again as
   * usual, so the answer is the one a read would have given.
   */
  expectNewStream?: boolean;
  /**
   * How long a command waits for the commands before it on the same stream in this process;
   * a backlog longer than this answers ConcurrentModificationError (back-pressure, not a race).
   */
  turnWaitMs?: number;
  /**
   * Other streams the decision rests on, at the versions their facts were folded from (see
   * readKeptState): the append stands only if they are unchanged, else StreamGuardFailedError
   * reaches the caller, who folds the facts again and runs the command again.
   */
  guards?: StreamGuard[];
}

export const DEFAULT_RETRY_BUDGET_MS = 2000;
export const DEFAULT_TURN_WAIT_MS = 10_000;
const BACKOFF_BASE_MS = 2;
const BACKOFF_CAP_MS = 100;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Commands on one stream take turns within a process: without this, N concurrent commands on a
 * stream collide and re-decide O(N²) times in all, and under load the last of them runs out of
 * retry budget though nobody else was at fault. Turns are per store instance and stream id, in
 * arrival order; writers in other processes still meet the optimistic check and the retry below.
 */
const lanes = new WeakMap<EventStore, Map<string, Promise<void>>>();

async function takeTurn(store: EventStore, streamId: string, waitMs: number): Promise<() => void> {
  let streams = lanes.get(store);
  if (!streams) lanes.set(store, (streams = new Map()));
  const previous = streams.get(streamId) ?? Promise.resolve();
  let finish!: () => void;
  const mine = new Promise<void>((resolve) => (finish = resolve));
  // The next command waits for this one and, through it, for every earlier one.
  const tail = previous.then(() => mine);
  streams.set(streamId, tail);
  const release = () => {
    finish();
    if (streams.get(streamId) === tail) streams.delete(streamId);
  };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    previous.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), Math.max(0, waitMs)))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    // Give up the turn without jumping the queue: whoever comes next still waits for `previous`,
    // and the lane is forgotten only once that is done too.
    finish();
    void tail.then(() => {
      if (streams.get(streamId) === tail) streams.delete(streamId);
    });
    throw new ConcurrentModificationError(streamId, `commands before this one in this process took over ${waitMs} ms`, 1);
  }
  return release;
}

/**
 * Load → decide → append with the version that was decided on. Without If-Match a lost race is
 * retried on the fresh stream (deciding is pure, so retrying is safe), with jittered exponential
 * backoff, until the retry budget runs out; with If-Match the race is the client's (412).
 *
 * With an Idempotency-Key, a stream that already holds this request's events answers with them
 * (nothing is decided or written again), and the append records the key in the same transaction.
 */
export async function executeCommand<State, Command, Event extends { type: string; data: unknown }>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, Event>,
  command: Command | ((state: State) => Command),
  options: ExecuteOptions,
): Promise<CommandOutcome<State>> {
  const release = await takeTurn(store, streamId, options.turnWaitMs ?? DEFAULT_TURN_WAIT_MS);
  try {
    return await decideAndAppend(store, streamId, decider, command, options, Date.now(), options.retryBudgetMs ?? DEFAULT_RETRY_BUDGET_MS);
  } finally {
    release();
  }
}

async function decideAndAppend<State, Command, Event extends { type: string; data: unknown }>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, Event>,
  command: Command | ((state: State) => Command),
  options: ExecuteOptions,
  started: number,
  budget: number,
): Promise<CommandOutcome<State>> {
  const claim = options.idempotency;
  const metadata = claim ? { ...options.metadata, ...idempotencyMetadata(claim) } : options.metadata;
  // First a decision on the stream as assumed, without reading it: as this process last saw it, or
  // empty for a command that usually starts its stream. Only an accepted append counts: it proves
  // the assumption was the stream's state (the version is checked). Anything else (the stream moved
  // on elsewhere, a refusal, nothing to do, an If-Match naming another version) reads the stream
  // and decides again as usual, so the answer is the one a read would have given.
  const assumed = recall(store, streamId) ?? (options.expectNewStream ? NO_STREAM : undefined);
  if (assumed && (options.ifMatch === undefined || options.ifMatch === versionOf(assumed))) {
    const replay = claim && replayOf(assumed, claim, decider);
    if (replay) return replay;
    const outcome = await appendOnAssumed(store, streamId, decider, command, metadata, claim, assumed, options.guards);
    if (outcome) return outcome;
  }
  for (let attempt = 1; ; attempt++) {
    const read = await store.readStream(streamId);
    remember(store, streamId, read);
    const replay = claim && replayOf(read, claim, decider);
    if (replay) return replay;
    const { state, version } = fold(read, decider);
    if (options.ifMatch !== undefined && options.ifMatch !== version) throw new PreconditionFailedError(streamId, options.ifMatch, version);
    const events = decideOn(decider, command, state);
    if (events.length === 0) return { streamVersion: version, position: 0, events: [], state };
    try {
      return await appendDecided(store, streamId, decider, { state, version, events, base: read.events }, metadata, claim, options.guards);
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      forget(store, streamId);
      if (options.ifMatch !== undefined) throw new PreconditionFailedError(streamId, options.ifMatch, error.actual);
      const elapsed = Date.now() - started;
      if (elapsed >= budget)
        throw new ConcurrentModificationError(streamId, `other writers kept committing first, ${attempt} attempts in ${elapsed} ms`, 1);
      // Full jitter: writers that collided spread out instead of colliding again in step.
      const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 10), budget - elapsed);
      await pause(Math.random() * ceiling);
    }
  }
}

/** The answer of an earlier request with this Idempotency-Key carried out on the stream, if any (events never change, so any read of them tells). */
function replayOf<State, Event extends { type: string; data: unknown }>(
  read: ReadStreamResult,
  claim: IdempotentCommand,
  decider: Pick<Decider<State, unknown, Event>, 'initialState' | 'evolve'>,
): CommandOutcome<State> | undefined {
  const earlier = carriedOut(read.events, claim);
  if (!earlier) return undefined;
  const last = earlier[earlier.length - 1]!;
  claim.replayed = true;
  const upTo = fold(
    { streamVersion: last.streamVersion, events: read.events.filter((e) => e.streamVersion <= last.streamVersion) },
    decider,
  );
  return { streamVersion: last.streamVersion, position: last.globalPosition, events: earlier, state: upTo.state };
}

/** The attempt on an assumed stream (see decideAndAppend); undefined = read and decide as usual. */
async function appendOnAssumed<State, Command, Event extends { type: string; data: unknown }>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, Event>,
  command: Command | ((state: State) => Command),
  metadata: EventMetadata,
  claim: IdempotentCommand | undefined,
  assumed: ReadStreamResult,
  guards: StreamGuard[] | undefined,
): Promise<CommandOutcome<State> | undefined> {
  const { state, version } = fold(assumed, decider);
  let events: Event[];
  try {
    events = decideOn(decider, command, state);
  } catch {
    // Refused on the assumption: the stream as it is may be refused otherwise (409 before 422), or not at all.
    return undefined;
  }
  if (events.length === 0) return undefined;
  try {
    return await appendDecided(store, streamId, decider, { state, version, events, base: assumed.events }, metadata, claim, guards);
  } catch (error) {
    if (!(error instanceof WrongExpectedVersionError)) throw error;
    forget(store, streamId);
    return undefined;
  }
}

/**
 * The streams this process last saw, per store: what a command decided on plus what it appended,
 * or what it read. A hint only, never trusted for an answer other than an accepted append (see
 * decideAndAppend), so another process writing the same stream costs a read, not a wrong decision.
 * Bounded by events held (about 25-50 MB at the sizes of this domain's events): the least recently
 * used streams go first, and a stream longer than SEEN_STREAM_EVENTS is not kept.
 */
interface Seen {
  streams: Map<string, Kept>;
  events: number;
  /** Counts recalls and remembers: at most this many streams went in after one touched at a given tick. */
  tick: number;
}
interface Kept {
  stream: ReadStreamResult;
  touched: number;
}
const seen = new WeakMap<EventStore, Seen>();
const SEEN_EVENTS = 50_000;
const SEEN_STREAM_EVENTS = 200;
const NO_STREAM: ReadStreamResult = { streamVersion: 0, events: [] };

function versionOf(stream: ReadStreamResult): number {
  return stream.events.length > 0 ? stream.events[stream.events.length - 1]!.streamVersion : stream.streamVersion;
}

function remember(store: EventStore, streamId: string, stream: ReadStreamResult): void {
  let memory = seen.get(store);
  if (!memory) seen.set(store, (memory = { streams: new Map(), events: 0, tick: 0 }));
  forget(store, streamId);
  if (stream.events.length > SEEN_STREAM_EVENTS) return;
  memory.streams.set(streamId, { stream, touched: ++memory.tick });
  memory.events += stream.events.length;
  for (const [oldest, held] of memory.streams) {
    if (memory.events <= SEEN_EVENTS) break;
    memory.streams.delete(oldest);
    memory.events -= held.stream.events.length;
  }
}

function recall(store: EventStore, streamId: string): ReadStreamResult | undefined {
  const memory = seen.get(store);
  const held = memory?.streams.get(streamId);
  if (!memory || !held) return undefined;
  // Least recently used go first: Map keeps insertion order, so a stream used moves to the end. Only one
  // in the older half moves (more than half the map may have gone in after it since it was touched): a
  // delete and an insert on every use cost more than the order is worth for streams far from the front.
  memory.tick += 1;
  if (memory.tick - held.touched > memory.streams.size / 2) {
    memory.streams.delete(streamId);
    memory.streams.set(streamId, held);
    held.touched = memory.tick;
  }
  return held.stream;
}

/**
 * A stream another decision rests on (a patient's, for an adverse event), folded by `folder` (a
 * stable object: the fold is kept with the stream), as this process last saw it when it has
 * (`kept`: no read), else read (and kept). Facts folded from a kept stream may be stale: a decision
 * on them must carry the stream's version as a guard (ExecuteOptions.guards), and one they refuse
 * must be made again on `fresh` facts, so that no answer rests on a stale view (decideOnFacts).
 */
export async function readKeptState<State, Event extends { type: string; data: unknown }>(
  store: EventStore,
  streamId: string,
  folder: Pick<Decider<State, unknown, Event>, 'initialState' | 'evolve'>,
  options: { fresh?: boolean } = {},
): Promise<{ state: State; version: number; kept: boolean }> {
  const held = options.fresh ? undefined : recall(store, streamId);
  if (held && held.events.length > 0) return { ...fold(held, folder), kept: true };
  const stream = await store.readStream(streamId);
  remember(store, streamId, stream);
  return { ...fold(stream, folder), kept: false };
}

/**
 * The first `version` events of a stream. Events never change and what this process last saw of a
 * stream is always a prefix of it, so a kept copy that reaches that far answers without a read.
 */
export async function readStreamUpTo(store: EventStore, streamId: string, version: number): Promise<RecordedEvent[]> {
  const held = recall(store, streamId);
  if (held && versionOf(held) >= version) return held.events.filter((e) => e.streamVersion <= version);
  return (await store.readStream(streamId, { maxCount: version })).events;
}

/** How often a decision on another stream's facts runs again because that stream moved on meanwhile. */
const FACTS_ATTEMPTS = 3;

/**
 * Runs a decision resting on facts of another stream (a patient's for an adverse event, a trial's
 * for an enrolment), guarded by the version they were folded from: its append stands only if that
 * stream is unchanged. `load(fresh)` folds the facts, from what this process last saw of the stream
 * unless `fresh` (readKeptState). A moved stream (StreamGuardFailedError), or a refusal
 * (`isRefusal`) of facts that were kept rather than read, loads them fresh and decides again, so no
 * answer rests on a stale view; after FACTS_ATTEMPTS moves, ConcurrentModificationError.
 */
export async function decideOnFacts<Facts, T>(
  streamId: string,
  load: (fresh: boolean) => Promise<{ facts: Facts; version: number; kept: boolean }>,
  decide: (facts: Facts, guards: StreamGuard[]) => Promise<T>,
  isRefusal: (error: unknown) => boolean,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const { facts, version, kept } = await load(attempt > 1);
    try {
      return await decide(facts, [{ streamId, version }]);
    } catch (error) {
      if (error instanceof StreamGuardFailedError && error.streamId === streamId) {
        if (attempt < FACTS_ATTEMPTS) continue;
        throw new ConcurrentModificationError(streamId, `it changed while ${attempt} decisions were made on it`, 1);
      }
      if (kept && isRefusal(error)) continue;
      throw error;
    }
  }
}

function forget(store: EventStore, streamId: string): void {
  const memory = seen.get(store);
  const held = memory?.streams.get(streamId);
  if (!memory || !held) return;
  memory.streams.delete(streamId);
  memory.events -= held.stream.events.length;
}

/** The events the decider decides for the command (or the command built from the state) on `state`. */
function decideOn<State, Command, Event extends { type: string; data: unknown }>(
  decider: Decider<State, Command, Event>,
  command: Command | ((state: State) => Command),
  state: State,
): Event[] {
  const resolved = typeof command === 'function' ? (command as (state: State) => Command)(state) : command;
  return decider.decide(resolved, state);
}

/** Appends events decided on the stream at `version` (with the Idempotency-Key's record), and the command's outcome. */
async function appendDecided<State, Command, Event extends { type: string; data: unknown }>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, Event>,
  decided: { state: State; version: number; events: Event[]; base: RecordedEvent[] },
  metadata: EventMetadata,
  claim: IdempotentCommand | undefined,
  guards: StreamGuard[] | undefined,
): Promise<CommandOutcome<State>> {
  const result = await store.appendToStream(
    streamId,
    decided.events.map((event) => ({ type: event.type, data: event.data, metadata })),
    { expectedVersion: decided.version, ...(claim ? { idempotency: claim } : {}), ...(guards?.length ? { guards } : {}) },
  );
  const kept: ReadStreamResult = { streamVersion: result.streamVersion, events: [...decided.base, ...result.events] };
  remember(store, streamId, kept);
  // Folded from the events as recorded (JSON), exactly as a fold of the kept stream would be; the command's answer and
  // the next command on the stream both start from it.
  const next = result.events.reduce((state, e) => decider.evolve(state, { type: e.type, data: e.data } as Event), decided.state);
  foldedAs(kept, decider, { state: next, version: result.streamVersion });
  return { streamVersion: result.streamVersion, position: result.globalPosition, events: result.events, state: next };
}
