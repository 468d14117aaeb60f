/**
 * Command throughput over HTTP, measured from outside: the platform as users run it (compiled by `nest build`,
 * `node dist/…/main.js`) on PostgreSQL, and on embedded PGlite, against a same-run baseline (bench/http-baseline.ts:
 * Nest on the same HTTP stack and a `pg` pool of the same size, zod validation, one INSERT per request).
 *
 *   npm run bench:http
 *
 * Environment: ADMIN_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres; scratch databases are
 * created and dropped through it), BENCH_ROUNDS (3), BENCH_SECONDS (10 per round), BENCH_CONNECTIONS (32),
 * BENCH_PATIENTS (600 enrolled in the set-up phase), BENCH_TARGETS (pg,baseline,pglite), BENCH_DIST (use an existing
 * build instead of building into dist/bench-http), BENCH_CPU_PROF=<dir> (the PostgreSQL platform runs with
 * `--cpu-prof` into <dir>; see bench/cpu-profile.ts), BENCH_SYNCHRONOUS_COMMIT=off (platform B's database only, to
 * show what the WAL flush per commit costs; never a default). Target `pgB` is a second PostgreSQL platform from
 * BENCH_DIST_B, for an A/B comparison of two builds in the same run (its ratio to `pg` is printed); `pgliteB`
 * is the same on PGlite (its ratio to `pglite`).
 * BENCH_SOCKET_B=<dir> connects platform B to PostgreSQL through the Unix socket in <dir> (e.g. /var/run/postgresql)
 * instead of TCP on loopback, to show what the transport costs the platform's CPU. BENCH_NODE_FLAGS (and
 * BENCH_NODE_FLAGS_B for the B targets) replace the platform's node flags (default `--max-semi-space-size=16`, as
 * `npm run start:prod`), to compare V8 settings in one run.
 *
 * Each target gets a set-up phase (trial, five sites, BENCH_PATIENTS patients with an index procedure, until the
 * read models have caught up), a 3 s warm-up, then ROUNDS rounds with the targets' order rotated each round. The
 * load (bench/http-load.ts, a second process) keeps 32 connections busy with a mix of enrolments, procedures,
 * visits, adverse events and corrections, each with ids of its own. Reported: medians over rounds of commands/s
 * (2xx answers), p50/p95/p99 latency, the ratio to the baseline of the same round, and commits per command
 * (pg_stat_database.xact_commit of the target's own database, the idle rate of the background subscribers
 * subtracted).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { signToken } from '@app/auth';
import { buildApps, listeningOn, startProcess, type RunningProcess } from '../test/support/processes';
import { SETUP_AGE, type LoadResult, type LoadSpec } from './http-load';

const ROOT = join(__dirname, '..');
const ADMIN_URL = process.env.ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PATIENTS = Number(process.env.BENCH_PATIENTS ?? 600);
const TARGETS = (process.env.BENCH_TARGETS ?? 'pg,baseline,pglite').split(',') as TargetName[];
const CPU_PROF = process.env.BENCH_CPU_PROF;
/** Only to explain the figures (what the WAL flush per commit costs), never a default: off, local, on. */
const SYNCHRONOUS_COMMIT = process.env.BENCH_SYNCHRONOUS_COMMIT;
const SOCKET_B = process.env.BENCH_SOCKET_B;
const SECRET = 'bench-http-secret-0123456789-0123456789';
const TRIAL = 'BENCH-HTTP';
const SITES = ['S01', 'S02', 'S03', 'S04', 'S05'];
/** PostgreSQL's backends publish their counters at most every 10 s when idle (PGSTAT_IDLE_INTERVAL). */
const STATS_SETTLE_MS = 11_000;

type TargetName = 'pg' | 'pgB' | 'baseline' | 'pglite' | 'pgliteB';
const LABEL: Record<TargetName, string> = {
  pg: 'platform, PostgreSQL',
  pgB: 'platform B, PostgreSQL',
  baseline: 'baseline (Nest + pg INSERT)',
  pglite: 'platform, PGlite',
  pgliteB: 'platform B, PGlite',
};

interface Target {
  name: TargetName;
  dataDir?: string;
  server: RunningProcess;
  url: string;
  database?: string;
  token: string;
  patients: Array<{ patientId: string; siteId: string }>;
  corrections: number;
  results: LoadResult[];
  /** The process's own view of each round (platform targets): event-loop delay and garbage collection. */
  runtime: RuntimeSample[];
  loadMs: number;
}

interface RuntimeSample {
  lagP99Ms: number;
  lagMaxMs: number;
  gcMsPerS: number;
  /** Pauses longer than 10 ms in the round. */
  gcsOver10ms: number;
  gcs: number;
}

/** prom-client's default metrics: the event-loop delay histogram is reset at each scrape, GC counts and times are running sums. */
async function scrapeRuntime(
  target: Target,
): Promise<{ lagP99: number; lagMax: number; gcSeconds: number; gcs: number; gcsOver10ms: number }> {
  const text = await (await fetch(`${target.url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  const sum = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0);
  const gcs = sum(/^nodejs_gc_duration_seconds_count\{[^}]*\} (\S+)/gm);
  return {
    lagP99: value('nodejs_eventloop_lag_p99_seconds'),
    lagMax: value('nodejs_eventloop_lag_max_seconds'),
    gcSeconds: sum(/^nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)/gm),
    gcs,
    gcsOver10ms: gcs - sum(/^nodejs_gc_duration_seconds_bucket\{le="0\.01"[^}]*\} (\S+)/gm),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** The same database through the server's Unix socket in `dir` (libpq's `host` parameter, which pg reads too). */
function socketUrl(url: string, dir: string): string {
  const parsed = new URL(url);
  return `postgres://${parsed.username}@localhost${parsed.pathname}?host=${encodeURIComponent(dir)}`;
}

function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function xactCommit(database: string): Promise<number> {
  return admin(async (client) => {
    const { rows } = await client.query<{ n: string }>('SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = $1', [
      database,
    ]);
    return Number(rows[0]?.n ?? NaN);
  });
}

async function post(url: string, token: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

async function expectCreated(response: Promise<Response>, what: string): Promise<void> {
  const answer = await response;
  if (answer.status !== 201) throw new Error(`${what}: ${answer.status} ${await answer.text()}`);
}

/** Trial, sites and patients with an index procedure, 16 at a time; returns once the read models know the last one. */
async function setUp(target: Target, adminToken: string): Promise<void> {
  await expectCreated(
    post(target.url, adminToken, '/trials', { trialId: TRIAL, title: 'HTTP benchmark trial', protocolVersion: '1.0' }),
    'trial',
  );
  for (const siteId of SITES)
    await expectCreated(post(target.url, adminToken, `/trials/${TRIAL}/sites`, { siteId, name: `Site ${siteId}`, country: 'IT' }), siteId);
  const patients = Array.from({ length: PATIENTS }, (_, i) => ({ patientId: `BP-${i}`, siteId: SITES[i % SITES.length]! }));
  let nextPatient = 0;
  const enrolOne = async (): Promise<void> => {
    for (let i = nextPatient++; i < patients.length; i = nextPatient++) {
      const { patientId, siteId } = patients[i]!;
      const baseline = { ageYears: SETUP_AGE, sex: 'M', diabetes: false, presentation: 'cli', rutherfordClass: 5 };
      await expectCreated(
        post(target.url, target.token, `/trials/${TRIAL}/patients`, { patientId, siteId, enrolledOn: '2025-01-10', baseline }),
        patientId,
      );
      const procedure = {
        procedureId: `${patientId}-IDX`,
        performedOn: '2025-01-10',
        limb: 'left',
        device: { kind: 'DCB', name: 'Legflow DCB' },
        lesions: [{ segment: 'btk', lengthMm: 100, occlusion: true }],
        technicalSuccess: true,
      };
      // The procedures context learns of the patient from the log: retry until it has.
      for (let attempt = 0; ; attempt++) {
        const answer = await post(target.url, target.token, `/trials/${TRIAL}/patients/${patientId}/procedures`, procedure);
        if (answer.status === 201) break;
        if (attempt > 100) throw new Error(`procedure of ${patientId}: ${answer.status} ${await answer.text()}`);
        await sleep(100);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, enrolOne));
  // An adverse event of the last patient: the adverse-events context knows it (and so every earlier one).
  const last = patients[patients.length - 1]!;
  for (let attempt = 0; ; attempt++) {
    const answer = await post(target.url, target.token, `/trials/${TRIAL}/patients/${last.patientId}/adverse-events`, {
      eventId: 'probe-ae',
      kind: 'other',
      onsetOn: '2025-02-01',
      limb: 'index',
      description: 'probe',
    });
    if (answer.status === 201) break;
    if (attempt > 300) throw new Error(`probe: ${answer.status} ${await answer.text()}`);
    await sleep(100);
  }
  target.patients = patients;
}

function runLoad(target: Target, tag: string, seconds: number): Promise<LoadResult> {
  const spec: LoadSpec = {
    url: target.url,
    target: target.name === 'baseline' ? 'baseline' : 'platform',
    trialId: TRIAL,
    connections: CONNECTIONS,
    durationSeconds: seconds,
    tag,
    token: target.token,
    sites: SITES,
    patients: target.patients,
    correctionsBefore: target.corrections,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'http-load.ts')], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', BENCH_LOAD: JSON.stringify(spec) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited ${code}`));
      const result = JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
      target.corrections += result.corrections;
      resolve(result);
    });
  });
}

async function startTarget(name: TargetName, dist: string, runId: string, adminToken: string, token: string): Promise<Target> {
  let server: RunningProcess;
  let database: string | undefined;
  let dataDir: string | undefined;
  if (name === 'baseline') {
    database = `${runId}_base`;
    await admin((client) => client.query(`CREATE DATABASE ${database}`));
    server = spawnTsx('baseline', join(ROOT, 'bench', 'http-baseline.ts'), { BASELINE_DATABASE_URL: databaseUrl(database), PORT: '0' });
  } else {
    const env: Record<string, string | undefined> = { JWT_SECRET: SECRET, PORT: '0', LOG_LEVEL: undefined, DATABASE_URL: undefined };
    if (name === 'pg' || name === 'pgB') {
      database = name === 'pg' ? runId : `${runId}_b`;
      await admin((client) => client.query(`CREATE DATABASE ${database}`));
      if (SYNCHRONOUS_COMMIT && name === 'pgB')
        await admin((client) => client.query(`ALTER DATABASE ${database} SET synchronous_commit = ${SYNCHRONOUS_COMMIT}`));
      env.DATABASE_URL = databaseUrl(database);
      if (SOCKET_B && name === 'pgB') env.DATABASE_URL = socketUrl(env.DATABASE_URL, SOCKET_B);
    }
    dataDir = mkdtempSync(join(tmpdir(), `bench-http-${name}-`));
    env.DATA_DIR = dataDir;
    const b = name === 'pgB' || name === 'pgliteB';
    // As npm run start:prod, unless BENCH_NODE_FLAGS (BENCH_NODE_FLAGS_B for the B targets) says otherwise.
    const flags = (process.env[b ? 'BENCH_NODE_FLAGS_B' : 'BENCH_NODE_FLAGS'] ?? '--max-semi-space-size=16').split(' ').filter(Boolean);
    if (CPU_PROF && name === 'pg') flags.push('--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`);
    const build = b ? (process.env.BENCH_DIST_B ?? dist) : dist;
    server = startNode(name, [...flags, join(build, 'apps', 'platform', 'src', 'main.js')], env);
  }
  const url = await listeningOn(server, 120_000);
  const target: Target = { name, dataDir, server, url, database, token, patients: [], corrections: 0, results: [], runtime: [], loadMs: 0 };
  if (name !== 'baseline') await setUp(target, adminToken);
  else target.patients = Array.from({ length: PATIENTS }, (_, i) => ({ patientId: `BP-${i}`, siteId: SITES[i % SITES.length]! }));
  return target;
}

/** startProcess runs `node <script>`; the servers need node flags (or tsx) before the script. */
function startNode(name: string, args: string[], env: Record<string, string | undefined>): RunningProcess {
  const [first, ...rest] = args;
  return startProcess(name, first!, env, rest);
}

function spawnTsx(name: string, script: string, env: Record<string, string>): RunningProcess {
  return startProcess(name, '--import', env, ['tsx', script]);
}

async function main(): Promise<void> {
  const runId = `bench_http_${process.pid}`;
  const dist = process.env.BENCH_DIST ?? (await buildApps('bench-http'));
  const now = new Date();
  const adminToken = await signToken({ userId: 'bench-admin', name: 'Bench Admin', roles: ['trial-admin'], sites: [] }, SECRET, {
    authTime: now,
  });
  const token = await signToken({ userId: 'bench-inv', name: 'Dr. Bench', roles: ['site-investigator'], sites: SITES }, SECRET, {
    authTime: now,
  });
  const targets: Target[] = [];
  try {
    for (const name of TARGETS) {
      process.stderr.write(`starting and setting up ${LABEL[name]}…\n`);
      targets.push(await startTarget(name, dist, runId, adminToken, token));
    }
    for (const target of targets) await runLoad(target, `w-${target.name}`, 3);
    // Idle commit rate of each database (the platform's subscribers poll), to subtract from the measured phase.
    await sleep(STATS_SETTLE_MS);
    const idle0 = new Map<Target, [number, number]>();
    for (const t of targets) if (t.database) idle0.set(t, [await xactCommit(t.database), Date.now()]);
    await sleep(12_000);
    const start = new Map<Target, [number, number]>();
    for (const t of targets) if (t.database) start.set(t, [await xactCommit(t.database), Date.now()]);
    for (let round = 0; round < ROUNDS; round++) {
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const target of order) {
        const platform = target.name !== 'baseline';
        const before = platform ? await scrapeRuntime(target) : undefined;
        const began = Date.now();
        const result = await runLoad(target, `r${round}-${target.name}`, SECONDS);
        target.loadMs += Date.now() - began;
        target.results.push(result);
        let runtime = '';
        if (before) {
          const after = await scrapeRuntime(target);
          const sample = {
            lagP99Ms: after.lagP99 * 1000,
            lagMaxMs: after.lagMax * 1000,
            gcMsPerS: ((after.gcSeconds - before.gcSeconds) * 1000) / result.seconds,
            gcs: after.gcs - before.gcs,
            gcsOver10ms: after.gcsOver10ms - before.gcsOver10ms,
          };
          target.runtime.push(sample);
          runtime = `, event-loop delay p99 ${sample.lagP99Ms.toFixed(1)} max ${sample.lagMaxMs.toFixed(1)} ms, GC ${sample.gcMsPerS.toFixed(0)} ms/s in ${sample.gcs} pauses (${sample.gcsOver10ms} over 10 ms)`;
        }
        const rate = result.ok / result.seconds;
        process.stderr.write(
          `round ${round + 1} ${LABEL[target.name]}: ${rate.toFixed(0)} commands/s, p50 ${result.p50} p95 ${result.p95} p99 ${result.p99} ms, ` +
            `statuses ${JSON.stringify(result.statuses)}${result.errors ? `, ${result.errors} errors` : ''}${runtime}\n`,
        );
      }
    }
    await sleep(STATS_SETTLE_MS);
    const commits = new Map<Target, { raw: number; net: number }>();
    for (const t of targets) {
      if (!t.database) continue;
      const [i0, ti0] = idle0.get(t)!;
      const [c1, t1] = start.get(t)!;
      const c2 = await xactCommit(t.database);
      const t2 = Date.now();
      const idleRate = (c1 - i0) / (t1 - ti0);
      const commands = t.results.reduce((sum, r) => sum + r.requests, 0);
      const raw = c2 - c1;
      commits.set(t, { raw: raw / commands, net: (raw - idleRate * (t2 - t1 - t.loadMs)) / commands });
    }
    report(targets, commits);
  } finally {
    for (const t of targets) {
      await t.server.stop(15_000);
      if (t.dataDir) rmSync(t.dataDir, { recursive: true, force: true });
    }
    await admin(async (client) => {
      for (const t of targets) if (t.database) await client.query(`DROP DATABASE IF EXISTS ${t.database} WITH (FORCE)`);
    });
  }
}

function report(targets: Target[], commits: Map<Target, { raw: number; net: number }>): void {
  const baseline = targets.find((t) => t.name === 'baseline');
  const lines = [
    `\nHTTP commands, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s, medians (2 cores, shared):`,
    `${'target'.padEnd(30)} ${'cmd/s'.padStart(7)} ${'p50'.padStart(6)} ${'p95'.padStart(6)} ${'p99'.padStart(6)} ${'× base'.padStart(7)} ${'commits/cmd'.padStart(12)}  non-2xx`,
  ];
  for (const t of targets) {
    const rates = t.results.map((r) => r.ok / r.seconds);
    const ratios =
      baseline && t !== baseline
        ? t.results.map((r, i) => r.ok / r.seconds / (baseline.results[i]!.ok / baseline.results[i]!.seconds))
        : [];
    const c = commits.get(t);
    const non2xx = t.results.reduce((sum, r) => sum + r.requests - r.ok, 0);
    lines.push(
      `${LABEL[t.name].padEnd(30)} ${median(rates).toFixed(0).padStart(7)} ${median(t.results.map((r) => r.p50))
        .toFixed(0)
        .padStart(6)} ` +
        `${median(t.results.map((r) => r.p95))
          .toFixed(0)
          .padStart(6)} ${median(t.results.map((r) => r.p99))
          .toFixed(0)
          .padStart(6)} ` +
        `${(ratios.length ? median(ratios).toFixed(2) : '').padStart(7)} ${(c ? `${c.net.toFixed(2)} (${c.raw.toFixed(2)})` : 'n/a').padStart(12)}  ${non2xx}`,
    );
  }
  for (const [of, against] of [
    ['pgB', 'pg'],
    ['pgliteB', 'pglite'],
  ] as const) {
    const a = targets.find((t) => t.name === against);
    const b = targets.find((t) => t.name === of);
    if (!a || !b) continue;
    const ratios = b.results.map((r, i) => r.ok / r.seconds / (a.results[i]!.ok / a.results[i]!.seconds));
    lines.push(`${LABEL[of]} / ${LABEL[against]}: ${median(ratios).toFixed(2)} (median of the per-round ratios)`);
  }
  for (const t of targets) {
    const kinds = Object.keys(t.results[0]?.byKind ?? {}).sort();
    const ofKind = (kind: string, p: 'p50' | 'p99') => median(t.results.map((r) => r.byKind[kind]?.[p] ?? NaN)).toFixed(0);
    lines.push(`${LABEL[t.name]}, p50/p99 ms by command: ${kinds.map((k) => `${k} ${ofKind(k, 'p50')}/${ofKind(k, 'p99')}`).join(', ')}`);
    if (t.runtime.length)
      lines.push(
        `${LABEL[t.name]}, its own view: event-loop delay p99 ${median(t.runtime.map((r) => r.lagP99Ms)).toFixed(1)} ms, ` +
          `GC ${median(t.runtime.map((r) => r.gcMsPerS)).toFixed(0)} ms/s (medians of the rounds)`,
      );
  }
  if (SYNCHRONOUS_COMMIT)
    lines.push(`synchronous_commit = ${SYNCHRONOUS_COMMIT} on platform B's database (an explanation, never a default)`);
  lines.push(
    'latencies in ms; × base: median of the per-round ratios to the baseline; commits/cmd: idle polling subtracted (raw in brackets)',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
