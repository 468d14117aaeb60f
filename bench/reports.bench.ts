/**
 * Reporting benchmark: a synthetic randomised trial of 10,000 patients at 100 sites (~1M events),
 * then (1) a full rebuild of the history read model from the event log, (2) endpoint reports for
 * random knowledge times with groupBy=arm,diabetes, (3) the memory of the process doing both.
 *
 *   npm run bench:reports     (DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/trials_bench;
 *                              BENCH_PATIENTS defaults to 10000, BENCH_VISITS to 90 per patient;
 *                              BENCH_REUSE=1 keeps the log loaded by the previous run and rebuilds only)
 *
 * The baseline measured in the same run is the naive way: a report by replaying the trial's whole
 * log from the event store for one request.
 */
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { adverseEventStream, caseStream, patientStream, proceduresStream, type CaseEvent } from '@app/contracts';
import { PostgresEventStore, openDataSource, type NewEvent } from '@app/event-store';
import { platformMigrations } from '../apps/platform/src/platform.module';
import { GetReportInput, GetReportInputHandler, HistoryProjection, computeEndpointReport } from '../apps/reporting/src';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/trials_bench';
const PATIENTS = Number(process.env.BENCH_PATIENTS ?? 10_000);
const SITES = 100;
const VISITS = Number(process.env.BENCH_VISITS ?? 90);
const REPORTS = 40;
const SCHEMA = 'bench_reports';
const TRIAL = 'BENCH-TRIAL';
const WRITERS = 8;

function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const addDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
const actor = { actor: { userId: 'bench', name: 'Bench', roles: ['site-investigator'] } };

/** Streams of one synthetic patient: enrolment, index procedure, visits, adverse events, cases. */
function patientStreams(i: number, random: () => number): Array<[string, NewEvent[]]> {
  const patientId = `P${String(i).padStart(5, '0')}`;
  const siteId = `S${String(i % SITES).padStart(3, '0')}`;
  const enrolledOn = addDays('2023-01-01', Math.floor(random() * 700));
  const diabetes = random() < 0.45;
  const arm = random() < 0.5 ? 'DCB' : 'PTA';
  const streams: Array<[string, NewEvent[]]> = [];
  const patient: NewEvent[] = [
    {
      type: 'PatientEnrolled',
      data: {
        trialId: TRIAL,
        patientId,
        siteId,
        enrolledOn,
        arm,
        baseline: {
          ageYears: 60 + Math.floor(random() * 25),
          sex: random() < 0.6 ? 'M' : 'F',
          diabetes,
          presentation: random() < 0.6 ? 'cli' : 'claudication',
          rutherfordClass: 3 + Math.floor(random() * 3),
        },
      },
      metadata: actor,
    },
  ];
  for (let v = 0; v < VISITS; v++) {
    patient.push({
      type: 'VisitRecorded',
      data: { trialId: TRIAL, patientId, visitId: `V${v}`, visit: 'unscheduled', visitOn: addDays(enrolledOn, 7 * (v + 1)) },
      metadata: actor,
    });
  }
  streams.push([patientStream(TRIAL, patientId), patient]);
  streams.push([
    proceduresStream(TRIAL, patientId),
    [
      {
        type: 'ProcedureRecorded',
        data: {
          trialId: TRIAL,
          patientId,
          procedureId: 'IDX',
          performedOn: enrolledOn,
          limb: 'left',
          device: { kind: arm, name: arm },
          lesions: [{ segment: random() < 0.5 ? 'btk' : 'femoropopliteal', lengthMm: 100, occlusion: false }],
          technicalSuccess: true,
          index: true,
        },
        metadata: actor,
      },
    ],
  ]);
  const risk = (diabetes ? 1.6 : 1) * (arm === 'PTA' ? 1.4 : 1);
  const kinds: Array<['amputation' | 'tvr' | 'death', number]> = [
    ['amputation', 0.08 * risk],
    ['tvr', 0.15 * risk],
    ['death', 0.05 * risk],
  ];
  for (const [kind, p] of kinds) {
    if (random() >= p) continue;
    const eventId = `${patientId}-${kind}`;
    const onsetOn = addDays(enrolledOn, 1 + Math.floor(random() * 600));
    const report = {
      kind,
      onsetOn,
      ...(kind === 'death' ? {} : { limb: 'index' }),
      ...(kind === 'amputation' ? { amputation: { level: random() < 0.4 ? 'major' : 'minor', planned: random() < 0.3 } } : {}),
      ...(kind === 'tvr' ? { tvr: { clinicallyDriven: random() < 0.8 } } : {}),
      description: 'synthetic',
    };
    streams.push([
      adverseEventStream(TRIAL, eventId),
      [{ type: 'AdverseEventReported', data: { trialId: TRIAL, patientId, siteId, eventId, ...report }, metadata: actor }],
    ]);
    const outcome = { isEndpointEvent: true, ...report };
    delete (outcome as { description?: string }).description;
    const caseEvents: CaseEvent[] = [
      {
        type: 'CaseOpened',
        data: {
          trialId: TRIAL,
          caseId: eventId,
          eventId,
          patientId,
          siteId,
          charterVersion: 'default-1',
          report: report as never,
          sourceVersion: 1,
          reportedAt: `${onsetOn}T12:00:00.000Z`,
        },
      },
      {
        type: 'CaseFinalized',
        data: {
          caseId: eventId,
          round: 1,
          outcome: outcome as never,
          basis: 'concordant-reviews',
          charterVersion: 'default-1',
          finalizedAt: `${addDays(onsetOn, 20)}T12:00:00.000Z`,
        },
      },
    ];
    streams.push([caseStream(TRIAL, eventId), caseEvents.map((e) => ({ ...e, metadata: actor }))]);
  }
  return streams;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};
const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);

async function main(): Promise<void> {
  const started = performance.now();
  const admin = new pg.Client({ connectionString: DATABASE_URL.replace(/\/[^/]+$/, '/postgres') });
  await admin.connect();
  const dbName = DATABASE_URL.replace(/^.*\//, '');
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const reset = new pg.Client({ connectionString: DATABASE_URL });
  await reset.connect();
  const reuse =
    process.env.BENCH_REUSE === '1' &&
    (await reset.query(`SELECT to_regclass('${SCHEMA}.es_events') IS NOT NULL AS present`)).rows[0]?.present === true;
  if (reuse) {
    // Keep the log; the history read model is emptied and rebuilt below.
    await reset.query(`TRUNCATE ${SCHEMA}.rpt_knowledge, ${SCHEMA}.rpt_facts`);
    await reset.query(`DELETE FROM ${SCHEMA}.es_subscriptions WHERE name = 'reporting.history'`);
  } else {
    await reset.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  }
  await reset.end();

  const dataSource: DataSource = await openDataSource({
    databaseUrl: DATABASE_URL,
    schema: SCHEMA,
    migrations: platformMigrations,
    poolSize: 16,
  });
  const store = new PostgresEventStore(dataSource);

  let total = 0;
  if (reuse) {
    total = Number((await dataSource.query<Array<{ n: string }>>('SELECT count(*) AS n FROM es_events'))[0]?.n);
    console.log(`reusing the loaded log: ${total.toLocaleString('en')} events`);
  } else {
    // Load: patients in parallel writers, generated one at a time so this process holds no workload.
    const random = rng(7);
    await store.appendToStream(`trial/${TRIAL}`, [
      { type: 'TrialRegistered', data: { trialId: TRIAL, title: 'Bench', protocolVersion: '1', arms: ['DCB', 'PTA'] }, metadata: actor },
    ]);
    total = 1;
    const loadStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (next < PATIENTS) {
          for (const [stream, events] of patientStreams(next++, random)) {
            total += events.length;
            for (let i = 0; i < events.length; i += 200) await store.appendToStream(stream, events.slice(i, i + 200));
          }
        }
      }),
    );
    const loadSeconds = (performance.now() - loadStart) / 1000;
    console.log(`loaded ${total.toLocaleString('en')} events (${PATIENTS} patients, ${SITES} sites) in ${loadSeconds.toFixed(1)} s`);
    await dataSource.query('VACUUM ANALYZE es_events');
  }

  // (1) Rebuild the history read model from the whole log.
  const history = new HistoryProjection(store, dataSource);
  const rebuildStart = performance.now();
  await history.subscription.acquire();
  const handled = await history.subscription.catchUp();
  const rebuildSeconds = (performance.now() - rebuildStart) / 1000;
  const rebuildRate = handled / rebuildSeconds;
  console.log(
    `rebuild: ${handled.toLocaleString('en')} events in ${rebuildSeconds.toFixed(1)} s = ${Math.round(rebuildRate).toLocaleString('en')} events/s`,
  );
  // What autovacuum does to freshly written tables before long: statistics and the visibility map.
  for (const table of ['rpt_knowledge', 'rpt_facts']) await dataSource.query(`VACUUM ANALYZE ${table}`);

  // (2) Reports at random knowledge positions, groupBy=arm,diabetes.
  const clock = { now: () => new Date() };
  // The query's handler, called as the query bus would: it waits for the projection (caught up above), never drives it.
  const reports = new GetReportInputHandler(dataSource, clock, history);
  const positions = await dataSource.query<Array<{ global_position: string }>>('SELECT global_position FROM rpt_knowledge ORDER BY seq');
  const pick = rng(11);
  // The first report of a trial loads its history into the handler's memory; later ones load only what is new.
  const warmStart = performance.now();
  computeEndpointReport(await reports.execute(new GetReportInput(TRIAL, { basis: 'adjudicated', groupBy: ['arm', 'diabetes'] })));
  const warmMs = performance.now() - warmStart;
  const latencies: number[] = [];
  global.gc?.();
  let rssPeak = process.memoryUsage().rss;
  for (let i = 0; i < REPORTS; i++) {
    const position = Number(positions[Math.floor(pick() * positions.length)]!.global_position);
    const t0 = performance.now();
    const input = await reports.execute(
      new GetReportInput(TRIAL, { asOfPosition: position, cutoff: '2025-06-30', basis: 'adjudicated', groupBy: ['arm', 'diabetes'] }),
    );
    const report = computeEndpointReport(input);
    JSON.stringify(report);
    latencies.push(performance.now() - t0);
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }
  await history.subscription.stop();

  // Baseline: one report by replaying the trial's log (what the read model avoids).
  const replayStart = performance.now();
  let replayed = 0;
  let after: string | undefined;
  for (;;) {
    const page = await store.readAll({ after, maxCount: 5000 });
    if (page.events.length === 0) break;
    replayed += page.events.length;
    after = page.checkpoint;
  }
  const replayMs = performance.now() - replayStart;

  const p50 = percentile(latencies, 50);
  const p95 = percentile(latencies, 95);
  const version = (await dataSource.query<Array<{ server_version: string }>>('SHOW server_version'))[0]?.server_version;
  await dataSource.destroy();

  const lines = [
    `Reporting benchmark, ${new Date().toISOString().slice(0, 10)}: Node ${process.version}, PostgreSQL ${version}, ${os.cpus().length} cores, shared.`,
    `${PATIENTS.toLocaleString('en')} patients at ${SITES} sites, ${total.toLocaleString('en')} events; ${REPORTS} reports at random knowledge positions, groupBy=arm,diabetes, basis adjudicated, in-process (no HTTP).`,
    '',
    '| measure | result | target |',
    '|---|---:|---:|',
    `| full rebuild of the history read model | ${Math.round(rebuildRate).toLocaleString('en')} events/s (${rebuildSeconds.toFixed(1)} s) | ≥ 50,000 events/s |`,
    `| first report after start (loads the trial's history into memory) | ${warmMs.toFixed(0)} ms | |`,
    `| endpoint report, random asOf, p50 | ${p50.toFixed(1)} ms | |`,
    `| endpoint report, random asOf, p95 | ${p95.toFixed(1)} ms | ≤ 100 ms |`,
    `| baseline: replaying the log for one report (read only) | ${replayMs.toFixed(0)} ms (${replayed.toLocaleString('en')} events) | |`,
    `| process memory (RSS) peak | ${mib(rssPeak)} MiB | ≤ 1024 MiB |`,
  ];
  console.log(`\n${lines.join('\n')}\n\ntook ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
