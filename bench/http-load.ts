/**
 * The load generator of `npm run bench:http`, in its own process so the client's CPU is not the server's: drives
 * one target with autocannon through the mixed command workload and prints one JSON line with the result.
 *
 * Input (BENCH_LOAD, JSON): see LoadSpec. Every request gets ids of its own (setupRequest), so no command is a
 * replay and no two commands of a run collide; every other request carries an Idempotency-Key (of its own), as a
 * client that retries sends one.
 */
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  /** `platform`: the real routes; `baseline`: POST /baseline/<kind> with the same bodies. */
  target: 'platform' | 'baseline';
  trialId: string;
  connections: number;
  durationSeconds: number;
  /** Unique per run and round: prefixes every id created. */
  tag: string;
  /** Bearer token of a site investigator of every site. */
  token: string;
  sites: string[];
  /** Patients enrolled (with an index procedure) in the set-up phase: visits, procedures, AEs and corrections go to them. */
  patients: Array<{ patientId: string; siteId: string }>;
  /** Corrections already sent to these patients (earlier rounds), so each correction changes the value. */
  correctionsBefore: number;
}

export interface LoadResult {
  requests: number;
  ok: number;
  statuses: Record<string, number>;
  errors: number;
  seconds: number;
  p50: number;
  p95: number;
  p99: number;
  /** Latency by kind of command (`patients`, `visits`, …): where a tail comes from. */
  byKind: Record<string, { count: number; p50: number; p99: number }>;
  corrections: number;
}

/** The mix, in percent: enrolments, procedures, visits, adverse events, corrections. */
const MIX: Array<[kind: string, weight: number]> = [
  ['patients', 20],
  ['procedures', 15],
  ['visits', 30],
  ['adverse-events', 20],
  ['corrections', 15],
];
const WHEEL = MIX.flatMap(([kind, weight]) => Array.from({ length: weight }, () => kind));

/** The age the set-up phase enrols with; corrections set 20 + n % 70, never equal to the previous value. */
export const SETUP_AGE = 19;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  let counter = 0;
  let corrections = spec.correctionsBefore;
  const next = (): { kind: string; path: string; body: unknown; key: string | undefined } => ({
    ...command(counter),
    key: counter++ % 2 ? `K${spec.tag}-${counter}` : undefined,
  });
  const command = (n: number): { kind: string; path: string; body: unknown } => {
    const kind = WHEEL[(n * 37) % WHEEL.length]!;
    const id = `${spec.tag}-${n}`;
    const patient = spec.patients[(n * 7919) % spec.patients.length]!;
    const base = `/trials/${spec.trialId}/patients/${patient.patientId}`;
    switch (kind) {
      case 'patients': {
        const siteId = spec.sites[n % spec.sites.length]!;
        const body = {
          patientId: `P${id}`,
          siteId,
          enrolledOn: '2025-03-01',
          baseline: {
            ageYears: 50 + (n % 40),
            sex: n % 2 ? 'F' : 'M',
            diabetes: n % 3 === 0,
            presentation: 'cli',
            rutherfordClass: 4 + (n % 3),
          },
        };
        return { kind, path: `/trials/${spec.trialId}/patients`, body };
      }
      case 'procedures':
        return {
          kind,
          path: `${base}/procedures`,
          body: {
            procedureId: `X${id}`,
            performedOn: '2025-04-01',
            limb: 'left',
            device: { kind: 'DCB', name: 'Legflow DCB' },
            lesions: [{ segment: 'btk', lengthMm: 80 + (n % 100), occlusion: n % 2 === 0 }],
            technicalSuccess: true,
          },
        };
      case 'visits':
        return { kind, path: `${base}/visits`, body: { visitId: `V${id}`, visit: 'unscheduled', visitOn: '2025-05-01' } };
      case 'adverse-events':
        return {
          kind,
          path: `${base}/adverse-events`,
          body: {
            eventId: `E${id}`,
            kind: 'other',
            onsetOn: '2025-05-02',
            limb: 'index',
            description: 'Groin haematoma at the access site, compressed',
          },
        };
      default: {
        // Correction k goes to patient k mod N and sets the age to 20 + ⌊k / N⌋ mod 70: each differs from the last.
        const k = corrections++;
        const target = spec.patients[k % spec.patients.length]!;
        return {
          kind,
          path: `/trials/${spec.trialId}/patients/${target.patientId}/corrections`,
          body: {
            changes: { 'baseline.ageYears': 20 + (Math.floor(k / spec.patients.length) % 70) },
            reason: 'age misread from the source record',
          },
        };
      }
    }
  };

  const headers = { 'content-type': 'application/json', authorization: `Bearer ${spec.token}` };
  const latencies: number[] = [];
  const latenciesByKind = new Map<string, number[]>();
  const statuses: Record<string, number> = {};
  let instance!: autocannon.Instance;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: spec.durationSeconds,
        headers,
        requests: [
          {
            method: 'POST',
            setupRequest: (request, context: { kind?: string }) => {
              const { kind, path, body, key } = next();
              context.kind = kind;
              return {
                ...request,
                path: spec.target === 'platform' ? path : `/baseline/${kind}`,
                headers: key ? { ...headers, 'idempotency-key': key } : headers,
                body: JSON.stringify(body),
              };
            },
          },
        ],
      },
      (error: Error | null, result: autocannon.Result) => (error ? reject(error) : resolve(result)),
    );
  });
  instance.on('response', (client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
    // One request at a time per connection: the client's context still holds the kind of the request just answered.
    const kind = (client as unknown as { requestIterator: { context: { kind: string } } }).requestIterator.context.kind;
    let ofKind = latenciesByKind.get(kind);
    if (!ofKind) latenciesByKind.set(kind, (ofKind = []));
    ofKind.push(responseTime);
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
  });
  const result = await finished;
  latencies.sort((a, b) => a - b);
  const ok = Object.entries(statuses)
    .filter(([status]) => status.startsWith('2'))
    .reduce((sum, [, count]) => sum + count, 0);
  return {
    requests: latencies.length,
    ok,
    statuses,
    errors: result.errors + result.timeouts,
    seconds: result.duration,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    byKind: Object.fromEntries(
      [...latenciesByKind].map(([kind, values]) => {
        values.sort((a, b) => a - b);
        return [kind, { count: values.length, p50: percentile(values, 50), p99: percentile(values, 99) }];
      }),
    ),
    corrections: corrections - spec.correctionsBefore,
  };
}

if (process.env.BENCH_LOAD) {
  run(JSON.parse(process.env.BENCH_LOAD) as LoadSpec)
    .then((result) => process.stdout.write(`${JSON.stringify(result)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    });
}
