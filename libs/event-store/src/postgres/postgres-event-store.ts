import pg from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { systemClock, uuidGenerator } from '../clock';
import { IdempotencyKeyReusedError, StreamGuardFailedError, WrongExpectedVersionError } from '../errors';
import type {
  AppendOptions,
  AppendResult,
  Checkpoint,
  Clock,
  EventStore,
  IdempotencyClaim,
  IdGenerator,
  NewEvent,
  ReadAllOptions,
  ReadAllResult,
  ReadStreamOptions,
  ReadStreamResult,
  RecordedEvent,
  StreamGuard,
} from '../event-store.port';
import { storedContent } from '../hash-chain';
import { Coalescer, type CoalescerLimits, type Settled } from './coalescer';

export interface PostgresAppendOptions extends AppendOptions {
  /** Append inside this open transaction (e.g. a subscription handler's), committed by its owner. */
  manager?: EntityManager;
}

interface EventRow {
  global_position: string | number;
  transaction_id: string;
  stream_id: string;
  stream_version: string | number;
  event_id: string;
  event_type: string;
  schema_version: number;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  recorded_at: string;
  hash: string;
}

// Qualified ORDER BY matters: transaction_id is also an output alias, of type text.
// recorded_at leaves as ISO text: parsing to a Date and formatting back costs more than the query.
const EVENT_COLUMNS = `global_position, transaction_id::text AS transaction_id, stream_id, stream_version, event_id::text AS event_id,
  event_type, schema_version, data, metadata,
  to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS recorded_at, encode(hash, 'hex') AS hash`;

/**
 * Several streams (or ranges) in one statement, one row per event plus the stream's version. Exported for the
 * test of its plan: it must look each stream up by its key whatever size es_streams had when it was planned.
 */
export const READ_STREAMS = `SELECT q.i AS wanted, s.version AS head, e.* FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS q(stream_id, from_version, lim, i)
         -- LATERAL ... LIMIT 1 (never flattened into a join): one key lookup per stream asked for. A plain join was
         -- planned as a hash join over all of es_streams, and a pool connection kept that plan as the table grew.
         CROSS JOIN LATERAL (SELECT stream_id, version FROM es_streams WHERE stream_id = q.stream_id LIMIT 1) s
         LEFT JOIN LATERAL (
           SELECT ${EVENT_COLUMNS} FROM es_events
            WHERE stream_id = s.stream_id AND stream_version >= q.from_version
            ORDER BY stream_version LIMIT q.lim) e ON true
        ORDER BY q.i, e.stream_version`;

const WRONG_EXPECTED_VERSION = 'ES409';
const KEY_REUSED = 'ES422';
const GUARD_FAILED = 'ES412';

/** Checkpoints are "transactionId:globalPosition", the tuple the global read orders by. */
export function encodeCheckpoint(transactionId: string, globalPosition: number): Checkpoint {
  return `${transactionId}:${globalPosition}`;
}

export function decodeCheckpoint(checkpoint: Checkpoint): { transactionId: string; globalPosition: string } {
  const match = /^(\d+):(\d+)$/.exec(checkpoint);
  if (!match) throw new Error(`not a PostgreSQL event-store checkpoint: ${checkpoint}`);
  return { transactionId: match[1] as string, globalPosition: match[2] as string };
}

function toRecorded(row: EventRow): RecordedEvent {
  const globalPosition = Number(row.global_position);
  return {
    eventId: row.event_id,
    type: row.event_type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    streamId: row.stream_id,
    streamVersion: Number(row.stream_version),
    globalPosition,
    checkpoint: encodeCheckpoint(row.transaction_id, globalPosition),
    recordedAt: row.recorded_at,
    hash: row.hash,
  };
}

function driverError(error: unknown): { code?: string; detail?: string } {
  const e = error as { driverError?: { code?: string; detail?: string }; code?: string; detail?: string };
  return e.driverError ?? e;
}

/**
 * The statements of the hot path, named: on a server each connection parses and plans them once and then only
 * binds (and the request skips TypeORM's query runner). PGlite, or a DataSource whose pool is not `pg`'s, gets
 * the same text through TypeORM.
 */
async function run<T>(dataSource: DataSource, name: string, text: string, values: unknown[]): Promise<T[]> {
  const pool = (dataSource.driver as unknown as { master?: unknown }).master;
  if (!(pool instanceof pg.Pool)) return dataSource.query<T[]>(text, values);
  return (await pool.query({ name, text, values })).rows as T[];
}

interface PreparedEvent {
  streamId: string;
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  recordedAt: string;
  digest: string;
  /** This event as es_append reads it (its fields above), serialized once: its canonical content plus the digest. */
  json: string;
}

/** The events of an append as the JSON es_append and es_append_batch take, from each event's serialized form. */
function eventsJson(events: PreparedEvent[]): string {
  return `[${events.map((event) => event.json).join(',')}]`;
}

interface AppendRequest {
  streamId: string;
  expected: string;
  events: PreparedEvent[];
  key?: IdempotencyClaim;
  guards?: StreamGuard[];
}

type AppendedRow = { stream_version: string | number; global_position: string | number; transaction_id: string; hash: string };
type StreamRow = EventRow & { head: string | number };

interface StreamRead {
  streamId: string;
  from: number;
  limit: number | null;
}

/** What an error of a statement says: a server's refusal (severity ERROR) means its transaction was rolled back. */
function refusedByServer(error: unknown): boolean {
  return (driverError(error) as { severity?: unknown }).severity === 'ERROR';
}

async function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

/** es_append, or es_append_keyed when the append carries an Idempotency-Key: [prepared name, text, values]. */
function appendStatement({ streamId, expected, events, key }: AppendRequest): [string, string, unknown[]] {
  return key
    ? [
        'es_append_keyed',
        'SELECT * FROM es_append_keyed($1, $2, $3::jsonb, $4, $5, $6, $7::timestamptz)',
        [streamId, expected, eventsJson(events), key.scope, key.key, key.requestHash, key.notBefore],
      ]
    : ['es_append', 'SELECT * FROM es_append($1, $2, $3::jsonb)', [streamId, expected, eventsJson(events)]];
}

export interface PostgresEventStoreOptions {
  /**
   * Batching of concurrent appends and of concurrent stream reads (see Coalescer). At most
   * 32 appends share a transaction: each is a subtransaction, and PostgreSQL tracks up to 64 per
   * backend without spilling to disk. Two batches of each kind at once: measured under the HTTP
   * load, 1.28x the throughput of four (bigger batches, fewer round trips) and about what one
   * gives, while a batch held up by another transaction's lock on a stream holds up only itself.
   */
  appends?: CoalescerLimits;
  reads?: CoalescerLimits;
}

const DEFAULT_APPENDS: CoalescerLimits = { maxInFlight: 2, maxBatch: 32 };
const DEFAULT_READS: CoalescerLimits = { maxInFlight: 2, maxBatch: 64 };

/**
 * The event store on PostgreSQL (a server, or PGlite embedded), through a TypeORM DataSource.
 * An append is one call of es_append: version check, hash chain and bulk insert, atomically.
 * Appends and stream reads that arrive while others of their kind are running leave together, as
 * one statement (es_append_batch; one read of several streams): each keeps its own outcome.
 */
export class PostgresEventStore implements EventStore {
  private readonly listeners = new Set<() => void>();
  private readonly appends: Coalescer<AppendRequest, AppendedRow[]>;
  private readonly reads: Coalescer<StreamRead, ReadStreamResult>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock = systemClock,
    private readonly ids: IdGenerator = uuidGenerator,
    options: PostgresEventStoreOptions = {},
  ) {
    this.appends = new Coalescer((requests) => this.appendBatch(requests), options.appends ?? DEFAULT_APPENDS);
    this.reads = new Coalescer((requests) => this.readBatch(requests), options.reads ?? DEFAULT_READS);
  }

  async appendToStream(streamId: string, events: NewEvent[], options: PostgresAppendOptions = {}): Promise<AppendResult> {
    if (events.length === 0) throw new Error('appendToStream needs at least one event');
    const expected = options.expectedVersion ?? 'any';
    const recordedAt = this.clock.now().toISOString();
    const prepared: PreparedEvent[] = events.map((event) => {
      const { content, digest, canonical } = storedContent({
        streamId,
        eventId: event.eventId ?? this.ids.next(),
        type: event.type,
        schemaVersion: event.schemaVersion ?? 1,
        data: event.data,
        metadata: event.metadata,
        recordedAt,
      });
      const hex = digest.toString('hex');
      // The canonical content is already the event's JSON (the same fields): the digest joins it, nothing is serialized again.
      return { ...content, digest: hex, json: `${canonical.slice(0, -1)},"digest":"${hex}"}` };
    });
    const request: AppendRequest = {
      streamId,
      expected: String(expected),
      events: prepared,
      ...(options.idempotency ? { key: options.idempotency } : {}),
      ...(options.guards?.length ? { guards: options.guards } : {}),
    };
    if (options.manager && request.guards) throw new Error("guarded appends inside a caller's transaction are not supported");
    let rows: AppendedRow[];
    try {
      if (options.manager) {
        const [, text, values] = appendStatement(request);
        rows = await options.manager.query<AppendedRow[]>(text, values);
      } else rows = await this.appends.submit(request);
    } catch (error) {
      const { code, detail } = driverError(error);
      if (code === WRONG_EXPECTED_VERSION) throw new WrongExpectedVersionError(streamId, expected, Number(detail));
      if (code === KEY_REUSED && options.idempotency) throw new IdempotencyKeyReusedError(options.idempotency.key);
      if (code === GUARD_FAILED) {
        const guard = JSON.parse(detail ?? '{}') as { streamId: string; expected: number; actual: number };
        throw new StreamGuardFailedError(guard.streamId, Number(guard.expected), Number(guard.actual));
      }
      throw error;
    }
    rows.sort((a, b) => Number(a.stream_version) - Number(b.stream_version));
    const recorded: RecordedEvent[] = rows.map((row, i) => {
      const event = prepared[i]!;
      const globalPosition = Number(row.global_position);
      return {
        eventId: event.eventId,
        type: event.type,
        schemaVersion: event.schemaVersion,
        data: event.data,
        metadata: event.metadata,
        streamId,
        streamVersion: Number(row.stream_version),
        globalPosition,
        checkpoint: encodeCheckpoint(row.transaction_id, globalPosition),
        recordedAt,
        hash: row.hash,
      };
    });
    const last = recorded[recorded.length - 1]!;
    if (!options.manager) this.notify();
    return { streamVersion: last.streamVersion, globalPosition: last.globalPosition, events: recorded };
  }

  /** One append on its own: the statement it has always been (a guarded one is es_append_batch's, which checks guards). */
  private async appendOne(request: AppendRequest): Promise<AppendedRow[]> {
    if (!request.guards) return run<AppendedRow>(this.dataSource, ...appendStatement(request));
    const [result] = await this.appendEntries([request], [0]);
    if (!result!.ok) throw result!.error;
    return result!.value;
  }

  /**
   * Appends in one es_append_batch call, in stream id order (stable, so one stream's appends keep
   * theirs): concurrent batches lock streams in the same order. If the server refuses the call as
   * a whole (a duplicate event id, a deadlock), nothing of it was kept, and each append is tried on
   * its own so that it alone gets its answer.
   */
  private async appendBatch(requests: AppendRequest[]): Promise<Array<Settled<AppendedRow[]>>> {
    if (requests.length === 1) return [await settle(this.appendOne(requests[0]!))];
    const order = requests
      .map((_, i) => i)
      .sort((a, b) => (requests[a]!.streamId < requests[b]!.streamId ? -1 : requests[a]!.streamId > requests[b]!.streamId ? 1 : a - b));
    try {
      return await this.appendEntries(requests, order);
    } catch (error) {
      if (!refusedByServer(error)) throw error;
      const settled: Array<Settled<AppendedRow[]>> = [];
      for (const request of requests) settled.push(await settle(this.appendOne(request)));
      return settled;
    }
  }

  /** One es_append_batch call of the requests in `order`; each request's rows, or its refusal (ES409, ES412, ES422). */
  private async appendEntries(requests: AppendRequest[], order: number[]): Promise<Array<Settled<AppendedRow[]>>> {
    const entries = order.map((i) => {
      const { streamId, expected, events, key, guards } = requests[i]!;
      const fields = JSON.stringify({
        streamId,
        expected,
        ...(key ? { scope: key.scope, key: key.key, requestHash: key.requestHash, notBefore: key.notBefore } : {}),
        ...(guards ? { guards: guards.map((g) => ({ stream_id: g.streamId, version: g.version })) } : {}),
      });
      return `${fields.slice(0, -1)},"events":${eventsJson(events)}}`;
    });
    type BatchRow = AppendedRow & { entry: number; error_code: string | null; error_detail: string | null };
    const rows = await run<BatchRow>(this.dataSource, 'es_append_batch', 'SELECT * FROM es_append_batch($1::jsonb)', [
      `[${entries.join(',')}]`,
    ]);
    const results: Array<Settled<AppendedRow[]>> = requests.map(() => ({ ok: true, value: [] }));
    for (const row of rows) {
      const at = order[row.entry]!;
      if (row.error_code !== null) results[at] = { ok: false, error: { code: row.error_code, detail: row.error_detail } };
      else (results[at] as { value: AppendedRow[] }).value.push(row);
    }
    return results;
  }

  readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    return this.reads.submit({ streamId, from: options.fromVersion ?? 1, limit: options.maxCount ?? null });
  }

  /**
   * Streams (or ranges of them) read in one statement, so one snapshot for all: a stream's version
   * and its events are those of the same moment. (Read apart, a command could fold N events, see
   * version N+1 and append on a state it never decided on.) The stream row comes first so a range
   * past the end still reports the version. One read alone is the statement it has always been.
   */
  private async readBatch(requests: StreamRead[]): Promise<Array<Settled<ReadStreamResult>>> {
    const answer = (rows: StreamRow[]): Settled<ReadStreamResult> => ({
      ok: true,
      value: { streamVersion: Number(rows[0]?.head ?? 0), events: rows.filter((row) => row.event_id !== null).map(toRecorded) },
    });
    if (requests.length === 1) {
      const { streamId, from, limit } = requests[0]!;
      const rows = await run<StreamRow>(
        this.dataSource,
        'es_read_stream',
        `SELECT s.version AS head, e.* FROM es_streams s
           LEFT JOIN LATERAL (
             SELECT ${EVENT_COLUMNS} FROM es_events
              WHERE stream_id = s.stream_id AND stream_version >= $2
              ORDER BY stream_version LIMIT $3) e ON true
          WHERE s.stream_id = $1
          ORDER BY e.stream_version`,
        [streamId, from, limit],
      );
      return [answer(rows)];
    }
    const rows = await run<StreamRow & { wanted: string | number }>(this.dataSource, 'es_read_streams', READ_STREAMS, [
      requests.map((r) => r.streamId),
      requests.map((r) => r.from),
      requests.map((r) => r.limit),
    ]);
    const byRequest: StreamRow[][] = requests.map(() => []);
    for (const row of rows) byRequest[Number(row.wanted) - 1]!.push(row);
    return byRequest.map(answer);
  }

  async readAll(options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const after = options.after ? decodeCheckpoint(options.after) : { transactionId: '0', globalPosition: '0' };
    // Only transactions older than every one still running are visible: none of them can
    // commit an event that sorts before what is returned here.
    const rows = await run<EventRow>(
      this.dataSource,
      'es_read_all',
      `SELECT ${EVENT_COLUMNS} FROM es_events e
        WHERE e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
          AND (e.transaction_id, e.global_position) > ($1::text::xid8, $2::bigint)
        ORDER BY e.transaction_id, e.global_position
        LIMIT $3`,
      [after.transactionId, after.globalPosition, options.maxCount ?? 1000],
    );
    const events = rows.map(toRecorded);
    return { events, checkpoint: events.length > 0 ? events[events.length - 1]!.checkpoint : options.after };
  }

  /**
   * Counts on the delivery-order index without the visibility filter: an event committed by a
   * transaction readAll still holds back is lag all the same.
   */
  async countAfter(after: Checkpoint | undefined): Promise<number> {
    const from = after ? decodeCheckpoint(after) : { transactionId: '0', globalPosition: '0' };
    const [row] = await this.dataSource.query<Array<{ n: string | number }>>(
      `SELECT count(*) AS n FROM es_events e WHERE (e.transaction_id, e.global_position) > ($1::text::xid8, $2::bigint)`,
      [from.transactionId, from.globalPosition],
    );
    return Number(row!.n);
  }

  /** The first transaction id not yet assigned: everything committed now has a lower one. */
  async horizon(): Promise<string> {
    const [row] = await this.dataSource.query<Array<{ mark: string }>>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS mark');
    return row!.mark;
  }

  /** True once no transaction older than the mark is still running, so readAll sees all of them. */
  async settled(mark: string): Promise<boolean> {
    const [row] = await this.dataSource.query<Array<{ settled: boolean }>>(
      'SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::text::xid8 AS settled',
      [mark],
    );
    return row!.settled === true;
  }

  /** Lets a transaction's owner wake subscribers once it has committed appends made with `manager`. */
  notify(): void {
    for (const listener of this.listeners) listener();
  }

  onAppended(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
