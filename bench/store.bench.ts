/**
 * Event-store benchmark: our PostgresEventStore against plain `pg` INSERTs into a table of the same
 * shape, and against Emmett's PostgreSQL event store, all on one PostgreSQL server.
 *
 *   npm run bench:store            (DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/trials_bench;
 *                                   BENCH_ROUNDS defaults to 5)
 *
 * Workloads, each run in ROUNDS rounds (READ_ROUNDS for reads), the contenders' order rotated every round; medians
 * are reported:
 *   (a) single-event appends: WRITERS concurrent writers, each appending sequentially to its own stream;
 *   (b) 100-event appends: the same WRITERS writers (same concurrency as (a), so the only change is the batch);
 *   (c) global read: the whole global log from the start, in pages of PAGE_SIZE, by one reader.
 *
 * Isolation: ours in schema bench_ours, raw in schema bench_raw (both in DATABASE_URL's database, dropped and
 * recreated at start); Emmett in its own database `<db>_emmett` (its tables live in `public`), recreated at start.
 */
import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { PostgresEventStore, openDataSource, type Actor, type Checkpoint } from '@app/event-store';
import {
  getPostgreSQLEventStore,
  readMessagesBatch,
  type PostgresEventStore as EmmettEventStore,
} from '@event-driven-io/emmett-postgresql';
// Emmett's own connection layer (a dependency of Emmett's); used to hand Emmett a 16-connection pool and to
// call its global-read function (readMessagesBatch), which takes a dumbo executor.
import { dumbo, rawSql, type Dumbo } from '@event-driven-io/dumbo';

// ---------------------------------------------------------------------------------------------- settings

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/trials_bench';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5); // append rounds; the machine is shared: more rounds, steadier medians
/** Reads vary less between rounds, and Emmett's full read takes ~15 s here (it sorts the whole table per page). */
const READ_ROUNDS = Math.min(ROUNDS, 3);
const WRITERS = 16;
const POOL_SIZE = 16;
const SINGLE_CALLS_PER_WRITER = 250; // 16 × 250 = 4,000 events per contender per round
const BATCH_SIZE = 100;
const BATCH_CALLS_PER_WRITER = 10; // 16 × 10 × 100 = 16,000 events per contender per round
const WARMUP_CALLS_PER_WRITER = 5; // untimed, per workload and contender
const PAGE_SIZE = 1000;
const MACHINE_NOTE = '2 cores, shared';

type ContenderName = 'ours' | 'raw' | 'emmett';
const CONTENDERS: readonly ContenderName[] = ['ours', 'raw', 'emmett'];
const LABEL: Record<ContenderName, string> = { ours: 'ours', raw: 'raw pg', emmett: 'Emmett' };

// ---------------------------------------------------------------------------------------------- events

/** An adverse-event report, ~310 bytes of JSON (metadata ~140 more). */
type AdverseEventReport = {
  reportId: string;
  siteId: string;
  subjectId: string;
  term: string;
  meddraPt: string;
  onset: string;
  serious: boolean;
  severity: string;
  causality: string;
  outcome: string;
  narrative: string;
};
type BenchMetadata = { actor: Actor; correlationId: string };
type BenchEvent = { type: 'AdverseEventReported'; data: AdverseEventReport; metadata: BenchMetadata };

const INVESTIGATOR: Actor = { userId: 'usr-3f9c2a', name: 'Dr. Ana Ferreira', roles: ['investigator'] };

function adverseEvent(writer: number, seq: number, correlationId: string): BenchEvent {
  return {
    type: 'AdverseEventReported',
    data: {
      reportId: randomUUID(),
      siteId: `SITE-${String(100 + writer).padStart(3, '0')}`,
      subjectId: `S-${String(writer).padStart(3, '0')}-${String(seq).padStart(5, '0')}`,
      term: 'Acute myocardial infarction',
      meddraPt: '10000891',
      onset: '2025-11-03',
      serious: true,
      severity: 'grade 3',
      causality: 'possible',
      outcome: 'recovering',
      narrative: 'Chest pain post-dose; troponin up; PCI.',
    },
    metadata: { actor: INVESTIGATOR, correlationId },
  };
}

/** calls[writer][call] = the events of that append call; generated before the clock starts. */
function generateCalls(writers: number, callsPerWriter: number, batchSize: number): BenchEvent[][][] {
  return Array.from({ length: writers }, (_, writer) =>
    Array.from({ length: callsPerWriter }, (_, call) => {
      const correlationId = randomUUID();
      return Array.from({ length: batchSize }, (_, i) => adverseEvent(writer, call * batchSize + i, correlationId));
    }),
  );
}

// ---------------------------------------------------------------------------------------------- contenders

/** Returns the number of events in the next page of the global log (fewer than the page size at the end). */
type PageReader = () => Promise<number>;

interface Contender {
  readonly name: ContenderName;
  /** Appends to a stream owned by the caller, whose current version is `version`. No concurrency check. */
  append(streamId: string, version: number, events: BenchEvent[]): Promise<void>;
  /** A reader of the global log from its start (all three contenders have one). */
  openReader(pageSize: number): PageReader;
  /** VACUUM ANALYZE of the event table before the read workload, so every planner sees fresh statistics. */
  analyze(): Promise<void>;
}

function oursContender(dataSource: DataSource): Contender {
  const store = new PostgresEventStore(dataSource);
  return {
    name: 'ours',
    async append(streamId, _version, events) {
      await store.appendToStream(streamId, events);
    },
    openReader(pageSize) {
      let after: Checkpoint | undefined;
      return async () => {
        const page = await store.readAll({ after, maxCount: pageSize });
        after = page.checkpoint;
        return page.events.length;
      };
    },
    async analyze() {
      await dataSource.query('VACUUM ANALYZE es_events');
    },
  };
}

const RAW_SCHEMA = 'bench_raw';
const RAW_DDL = `
  CREATE SCHEMA ${RAW_SCHEMA};
  CREATE TABLE ${RAW_SCHEMA}.es_events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       text NOT NULL,
    stream_version  bigint NOT NULL,
    event_id        uuid NOT NULL UNIQUE,
    event_type      text NOT NULL,
    schema_version  integer NOT NULL,
    data            jsonb NOT NULL,
    metadata        jsonb NOT NULL,
    recorded_at     timestamptz NOT NULL,
    hash            bytea NOT NULL,
    CONSTRAINT es_events_stream_version UNIQUE (stream_id, stream_version)
  );
  CREATE INDEX es_events_delivery_order ON ${RAW_SCHEMA}.es_events (transaction_id, global_position);`;

const RAW_COLUMNS = 9;
const rawInsertSql = new Map<number, string>();
function rawInsert(rows: number): string {
  let sql = rawInsertSql.get(rows);
  if (sql === undefined) {
    const tuples = Array.from({ length: rows }, (_, r) => {
      const params = Array.from({ length: RAW_COLUMNS }, (_, c) => `$${r * RAW_COLUMNS + c + 1}`);
      return `(${params.join(', ')})`;
    });
    sql = `INSERT INTO ${RAW_SCHEMA}.es_events (stream_id, stream_version, event_id, event_type, schema_version,
             data, metadata, recorded_at, hash) VALUES ${tuples.join(', ')}`;
    rawInsertSql.set(rows, sql);
  }
  return sql;
}

// The same gap-safe read and row-tuple paging as PostgresEventStore.readAll, columns and all.
const RAW_READ = `SELECT global_position, transaction_id::text AS transaction_id, stream_id, stream_version,
    event_id::text AS event_id, event_type, schema_version, data, metadata, recorded_at, encode(hash, 'hex') AS hash
  FROM ${RAW_SCHEMA}.es_events e
  WHERE e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
    AND (e.transaction_id, e.global_position) > ($1::text::xid8, $2::bigint)
  ORDER BY e.transaction_id, e.global_position
  LIMIT $3`;

function rawContender(pool: pg.Pool): Contender {
  return {
    name: 'raw',
    async append(streamId, version, events) {
      const recordedAt = new Date().toISOString();
      const params: unknown[] = [];
      events.forEach((event, i) => {
        const data = JSON.stringify(event.data);
        const hash = createHash('sha256').update(data).digest();
        params.push(streamId, version + i + 1, randomUUID(), event.type, 1, data, JSON.stringify(event.metadata), recordedAt, hash);
      });
      await pool.query(rawInsert(events.length), params);
    },
    openReader(pageSize) {
      let transactionId = '0';
      let globalPosition = '0';
      return async () => {
        const { rows } = await pool.query<{ transaction_id: string; global_position: string }>(RAW_READ, [
          transactionId,
          globalPosition,
          pageSize,
        ]);
        const last = rows[rows.length - 1];
        if (last) {
          transactionId = last.transaction_id;
          globalPosition = String(last.global_position);
        }
        return rows.length;
      };
    },
    async analyze() {
      await pool.query(`VACUUM ANALYZE ${RAW_SCHEMA}.es_events`);
    },
  };
}

function emmettContender(store: EmmettEventStore, pool: Dumbo): Contender {
  return {
    name: 'emmett',
    async append(streamId, _version, events) {
      await store.appendToStream(streamId, events);
    },
    openReader(pageSize) {
      // Emmett's global read (what its consumers poll): pages by global_position, ordered by (transaction_id, global_position).
      let after = 0n;
      return async () => {
        const batch = await readMessagesBatch<BenchEvent>(pool.execute, { after, batchSize: pageSize });
        after = batch.currentGlobalPosition;
        return batch.messages.length;
      };
    },
    async analyze() {
      await pool.execute.command(rawSql('VACUUM ANALYZE emt_messages'));
    },
  };
}

// ---------------------------------------------------------------------------------------------- statistics

interface RoundResult {
  events: number;
  seconds: number;
  /** Per call: an append, or a page read. */
  latenciesMs: number[];
}

interface Summary {
  eventsPerSecond: number;
  p50: number;
  p99: number;
}

function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sortedAscending.length); // nearest rank
  return sortedAscending[Math.min(sortedAscending.length, Math.max(1, rank)) - 1]!;
}

function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

function roundSummary(result: RoundResult): Summary {
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  return { eventsPerSecond: result.events / result.seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** Median over rounds of each statistic. */
function summarize(rounds: readonly RoundResult[]): Summary {
  const summaries = rounds.map(roundSummary);
  return {
    eventsPerSecond: median(summaries.map((s) => s.eventsPerSecond)),
    p50: median(summaries.map((s) => s.p50)),
    p99: median(summaries.map((s) => s.p99)),
  };
}

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const fmtRate = (n: number): string => int.format(n);
const fmtMs = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const fmtRatio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : 'n/a');

// ---------------------------------------------------------------------------------------------- workloads

interface AppendWorkload {
  key: 'single' | 'batch';
  /** Printed as the section heading. */
  title: string;
  callsPerWriter: number;
  batchSize: number;
}

const WORKLOADS: readonly AppendWorkload[] = [
  { key: 'single', title: `(a) single-event appends, ${WRITERS} writers`, callsPerWriter: SINGLE_CALLS_PER_WRITER, batchSize: 1 },
  {
    key: 'batch',
    title: `(b) ${BATCH_SIZE}-event appends, ${WRITERS} writers`,
    callsPerWriter: BATCH_CALLS_PER_WRITER,
    batchSize: BATCH_SIZE,
  },
];

/** Every writer appends its calls, one after another, to its own stream; all writers run concurrently. */
async function runAppends(contender: Contender, streamPrefix: string, calls: BenchEvent[][][]): Promise<RoundResult> {
  const latenciesMs: number[] = [];
  let events = 0;
  const started = performance.now();
  await Promise.all(
    calls.map(async (writerCalls, writer) => {
      const streamId = `AdverseEvent-${streamPrefix}-w${writer}`;
      let version = 0;
      for (const batch of writerCalls) {
        const t0 = performance.now();
        await contender.append(streamId, version, batch);
        latenciesMs.push(performance.now() - t0);
        version += batch.length;
        events += batch.length;
      }
    }),
  );
  return { events, seconds: (performance.now() - started) / 1000, latenciesMs };
}

async function runRead(reader: PageReader, pageSize: number): Promise<RoundResult> {
  const latenciesMs: number[] = [];
  let events = 0;
  const started = performance.now();
  for (;;) {
    const t0 = performance.now();
    const count = await reader();
    latenciesMs.push(performance.now() - t0);
    events += count;
    if (count < pageSize) break;
  }
  return { events, seconds: (performance.now() - started) / 1000, latenciesMs };
}

/** Round r runs the contenders rotated by r, so each one takes each position once over three rounds. */
function orderForRound(round: number): ContenderName[] {
  return CONTENDERS.map((_, i) => CONTENDERS[(i + round) % CONTENDERS.length]!);
}

function logRound(round: number, name: ContenderName, result: RoundResult): void {
  const s = roundSummary(result);
  console.log(
    `  round ${round + 1}  ${LABEL[name].padEnd(7)} ${fmtRate(s.eventsPerSecond).padStart(9)} ev/s  ` +
      `p50 ${fmtMs(s.p50).padStart(6)} ms  p99 ${fmtMs(s.p99).padStart(6)} ms  ` +
      `(${int.format(result.events)} events in ${result.seconds.toFixed(2)} s)`,
  );
}

// ---------------------------------------------------------------------------------------------- setup

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected database name in DATABASE_URL: ${name}`);
  return name;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates the bench database if missing, recreates Emmett's database; returns the server version. */
async function prepareDatabases(benchDb: string, emmettDb: string): Promise<string> {
  return withClient(withDatabase(DATABASE_URL, 'postgres'), async (admin) => {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [benchDb]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${benchDb}`);
    await admin.query(`DROP DATABASE IF EXISTS ${emmettDb} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${emmettDb}`);
    const { rows } = await admin.query<{ server_version: string }>('SHOW server_version');
    return (rows[0]?.server_version ?? '?').split(' ')[0]!;
  });
}

/**
 * dumbo (Emmett's driver layer) installs process-wide pg type parsers on first use: int8 → BigInt and json/jsonb
 * through a reviver. Left alone, that would change what our store and raw pg parse too. So we let it install them,
 * copy them onto Emmett's own pool only, and put pg's defaults back for everyone else.
 */
const EMMETT_PARSED_TYPES = [20 /* int8 */, 114 /* json */, 3802 /* jsonb */] as const;
function isolateEmmettTypeParsers(emmettTypes: pg.TypeOverrides, defaults: Map<number, (value: string) => unknown>): void {
  for (const oid of EMMETT_PARSED_TYPES) {
    const installed = pg.types.getTypeParser(oid, 'text');
    emmettTypes.setTypeParser(oid, 'text', installed);
    const original = defaults.get(oid);
    if (original) pg.types.setTypeParser(oid, 'text', original);
  }
}

// ---------------------------------------------------------------------------------------------- main

type WorkloadKey = 'single' | 'batch' | 'read';
type Results = Record<WorkloadKey, Record<ContenderName, RoundResult[]>>;

async function main(): Promise<void> {
  const benchDb = databaseName(DATABASE_URL);
  const emmettDb = `${benchDb}_emmett`;
  const emmettUrl = withDatabase(DATABASE_URL, emmettDb);
  const pgVersion = await prepareDatabases(benchDb, emmettDb);
  await withClient(DATABASE_URL, async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS bench_ours CASCADE; DROP SCHEMA IF EXISTS ${RAW_SCHEMA} CASCADE;`);
    await client.query(RAW_DDL);
  });

  const defaults = new Map<number, (value: string) => unknown>(
    EMMETT_PARSED_TYPES.map((oid) => [oid, pg.types.getTypeParser(oid, 'text')]),
  );
  const emmettTypes = new pg.TypeOverrides();

  const dataSource = await openDataSource({ databaseUrl: DATABASE_URL, schema: 'bench_ours', poolSize: POOL_SIZE });
  const rawPool = new pg.Pool({ connectionString: DATABASE_URL, max: POOL_SIZE });
  const emmettPgPool = new pg.Pool({ connectionString: emmettUrl, max: POOL_SIZE, types: emmettTypes });
  const emmettPool = dumbo({ connectionString: emmettUrl, pool: emmettPgPool });
  isolateEmmettTypeParsers(emmettTypes, defaults);
  const emmettStore = getPostgreSQLEventStore(emmettUrl, { connectionOptions: { dumbo: emmettPool } });

  try {
    await emmettStore.schema.migrate();
    const contenders: Record<ContenderName, Contender> = {
      ours: oursContender(dataSource),
      raw: rawContender(rawPool),
      emmett: emmettContender(emmettStore, emmettPool),
    };

    const startedAt = new Date();
    const sample = adverseEvent(0, 0, randomUUID());
    console.log(
      `Event-store benchmark — ${startedAt.toISOString()} — Node ${process.version}, PostgreSQL ${pgVersion}, ` +
        `${os.cpus().length} CPUs (${MACHINE_NOTE}), load ${loadAverage()}`,
    );
    console.log(
      `${WRITERS} writers, pools of ${POOL_SIZE}, ${ROUNDS} rounds per append workload and ${READ_ROUNDS} of reads, ` +
        `the contenders' order rotated each round; ` +
        `event data ${JSON.stringify(sample.data).length} B + metadata ${JSON.stringify(sample.metadata).length} B of JSON.\n`,
    );

    const results: Results = { single: emptyByContender(), batch: emptyByContender(), read: emptyByContender() };
    const notes: string[] = [];
    const appended: Record<ContenderName, number> = { ours: 0, raw: 0, emmett: 0 };

    for (const workload of WORKLOADS) {
      console.log(workload.title);
      const warmup = generateCalls(WRITERS, WARMUP_CALLS_PER_WRITER, workload.batchSize);
      for (const name of CONTENDERS) {
        appended[name] += (await runAppends(contenders[name], `${workload.key}-warmup`, warmup)).events;
      }
      for (let round = 0; round < ROUNDS; round++) {
        const calls = generateCalls(WRITERS, workload.callsPerWriter, workload.batchSize);
        for (const name of orderForRound(round)) {
          const result = await runAppends(contenders[name], `${workload.key}-r${round}`, calls);
          appended[name] += result.events;
          results[workload.key][name].push(result);
          logRound(round, name, result);
        }
      }
      console.log();
    }

    console.log(`(c) global read from the start, pages of ${PAGE_SIZE}, one reader`);
    for (const name of CONTENDERS) {
      await contenders[name].analyze();
      // Untimed pass: warms the cache and sets hint bits, so that no contender pays for them in round 1.
      const warm = await runRead(contenders[name].openReader(PAGE_SIZE), PAGE_SIZE);
      if (warm.events !== appended[name]) {
        const note =
          `${LABEL[name]}'s global read returned ${int.format(warm.events)} rows for ${int.format(appended[name])} appended events ` +
          `(its paging filters on global_position but orders by transaction_id, so concurrent appends are skipped or repeated)`;
        notes.push(note);
        console.log(`  NOTE: ${note}`);
      }
    }
    for (let round = 0; round < READ_ROUNDS; round++) {
      for (const name of orderForRound(round)) {
        const result = await runRead(contenders[name].openReader(PAGE_SIZE), PAGE_SIZE);
        results.read[name].push(result);
        logRound(round, name, result);
      }
    }
    console.log();

    printSummary(results, notes, { startedAt, pgVersion });
    console.log(`\nload at end ${loadAverage()}; took ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s`);
  } finally {
    await emmettStore.close();
    await emmettPgPool.end();
    await rawPool.end();
    await dataSource.destroy();
  }
}

function emptyByContender(): Record<ContenderName, RoundResult[]> {
  return { ours: [], raw: [], emmett: [] };
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

// ---------------------------------------------------------------------------------------------- report

const WORKLOAD_TITLES: Record<WorkloadKey, string> = {
  single: `(a) 1-event appends, ${WRITERS} writers`,
  batch: `(b) ${BATCH_SIZE}-event appends, ${WRITERS} writers`,
  read: `(c) global read, pages of ${PAGE_SIZE}`,
};

interface Comparison {
  /** Ratio of the medians of events/s. */
  ofMedians: number;
  /** Median of the per-round ratios: each round's contenders ran back to back, so this cancels slow drift. */
  paired: number;
}

function compare(ours: readonly RoundResult[], other: readonly RoundResult[]): Comparison {
  const rate = (r: RoundResult): number => r.events / r.seconds;
  return {
    ofMedians: summarize(ours).eventsPerSecond / summarize(other).eventsPerSecond,
    paired: median(ours.map((r, i) => rate(r) / rate(other[i]!))),
  };
}

function printSummary(results: Results, notes: readonly string[], info: { startedAt: Date; pgVersion: string }): void {
  console.log(`Summary: medians of ${ROUNDS} rounds (${READ_ROUNDS} for reads); latency per append call, or per page for reads`);
  const table: string[] = [
    `Event store benchmark, ${info.startedAt.toISOString().slice(0, 10)}: Node ${process.version}, PostgreSQL ${info.pgVersion}, ` +
      `${MACHINE_NOTE}. ${WRITERS} concurrent writers, one stream each, pools of ${POOL_SIZE}; median of ${ROUNDS} rounds ` +
      `(${READ_ROUNDS} for reads), ` +
      `contenders' order rotated. Latency per append call (per page for reads). "ours ÷ this": ratio of median events/s ` +
      `(median of per-round ratios in brackets).`,
    '',
    '| Workload | Contender | events/s | p50 ms | p99 ms | ours ÷ this |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const workload of ['single', 'batch', 'read'] as const) {
    for (const name of CONTENDERS) {
      const s = summarize(results[workload][name]);
      const c = compare(results[workload].ours, results[workload][name]);
      const ratio = name === 'ours' ? '—' : `${fmtRatio(c.ofMedians)} (${fmtRatio(c.paired)})`;
      console.log(
        `  ${WORKLOAD_TITLES[workload].padEnd(36)} ${LABEL[name].padEnd(7)} ${fmtRate(s.eventsPerSecond).padStart(9)} ev/s  ` +
          `p50 ${fmtMs(s.p50).padStart(6)} ms  p99 ${fmtMs(s.p99).padStart(6)} ms` +
          (name === 'ours' ? '' : `  ours/${name} ${ratio}`),
      );
      const title = name === 'ours' ? WORKLOAD_TITLES[workload] : '';
      table.push(`| ${title} | ${LABEL[name]} | ${fmtRate(s.eventsPerSecond)} | ${fmtMs(s.p50)} | ${fmtMs(s.p99)} | ${ratio} |`);
    }
  }
  if (notes.length > 0) table.push('', ...notes.map((note) => `Note: ${note}.`));

  const ratio = (workload: WorkloadKey, other: ContenderName): Comparison => compare(results[workload].ours, results[workload][other]);
  const verdict = (ok: boolean): string => (ok ? 'met' : 'SHORT');
  const ratioTarget = (label: string, c: Comparison, target: number): string =>
    `  ${label.padEnd(26)} ${fmtRatio(c.ofMedians)} (paired ${fmtRatio(c.paired)}), target ≥ ${target}×: ${verdict(c.ofMedians >= target)}`;
  const readRate = summarize(results.read.ours).eventsPerSecond;
  console.log('\nTargets');
  console.log(ratioTarget('single-event ours/raw', ratio('single', 'raw'), 0.7));
  console.log(ratioTarget('single-event ours/Emmett', ratio('single', 'emmett'), 2));
  console.log(ratioTarget('batched ours/raw', ratio('batch', 'raw'), 0.7));
  console.log(`  ${'global read ours'.padEnd(26)} ${fmtRate(readRate)} events/s, target ≥ 100,000: ${verdict(readRate >= 100_000)}`);

  console.log('\nMarkdown\n');
  console.log(table.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
