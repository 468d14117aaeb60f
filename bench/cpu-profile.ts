/**
 * Where the platform's CPU goes under the command load: reads a V8 .cpuprofile (from `BENCH_CPU_PROF=<dir> npm run
 * bench:http`) and divides its samples of the last N seconds into the stages of a command.
 *
 *   tsx bench/cpu-profile.ts <file.cpuprofile> [--last <seconds>]
 *
 * A sample goes to the highest-priority stage any frame of its stack belongs to. The driver's work (sending a
 * statement, parsing its answer) mostly runs in continuations and socket callbacks under no stage, so it is one
 * line of its own, whichever statement it served. Idle samples are left out of the shares.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

type Rule = [stage: string, test: (fn: string, url: string) => boolean];

const inFile = (part: string) => (_fn: string, url: string) => url.includes(part);
const fnIn = (names: string[], part?: string) => (fn: string, url: string) =>
  names.includes(fn) && (part === undefined || url.includes(part));

/**
 * Stages, highest priority first: a sample goes to the first stage that any frame of its stack (or, for `leaf`
 * rules, its leaf) matches, so a read under the patient lookup is the lookup's, not "loading streams".
 */
const STAGES: Array<[stage: string, where: 'any' | 'leaf', test: (fn: string, url: string) => boolean]> = [
  [
    'logging',
    'any',
    (_fn, url) => /node_modules\/(pino|sonic-boom|thread-stream|pino-std-serializers|fast-redact|pino-pretty)\//.test(url),
  ],
  // The request log is a middleware: the rest of the request runs under its frame, so only its own samples are its.
  ['logging', 'leaf', (_fn, url) => url.includes('node_modules/pino-http/') || url.includes('runtime/src/logging')],
  ['metrics', 'any', inFile('node_modules/prom-client/')],
  ['metrics', 'leaf', inFile('/observability/src/')],
  ['idempotency', 'any', (_fn, url) => url.includes('/http/src/idempotency') || url.includes('node_modules/canonicalize/')],
  [
    'background: subscribers, read models, case opener',
    'any',
    (_fn, url) => /event-store\/src\/(subscription|nest\/subscribed)|read-models\/|case-opener|outbox|log-relay/.test(url),
  ],
  ['patient lookup', 'any', (fn, url) => url.includes('enrollment-facts') || fn === 'patientInScope'],
  ['trial check (TrialExists)', 'any', inFile('/http/src/trial-exists')],
  ['deciding (decide/evolve)', 'any', (fn, url) => url.includes('.decider.') || (fn === 'fold' && url.includes('event-store/src/decider'))],
  ['appending', 'any', fnIn(['appendToStream', 'appendIn', 'append'], 'event-store/src/')],
  ['loading streams', 'any', fnIn(['readStream', 'loadState', 'trial', 'trialFacts'], '/src/')],
  ['auth (JWT, guard)', 'any', (_fn, url) => url.includes('/auth/src/') || url.includes('node_modules/jose/')],
  ['validation (zod)', 'any', (_fn, url) => /node_modules\/(zod|nestjs-zod)\//.test(url) || url.includes('/contracts/src/')],
];

/** When no stage claims the stack: the first of these that any frame (GC: the leaf) matches. */
const LEAF: Rule[] = [
  [
    'PostgreSQL round trips (pg, TypeORM: send, receive, parse; every statement)',
    (_fn, url) => /node_modules\/(pg|pg-protocol|pg-types|pg-pool|typeorm|postgres-array|postgres-date)\//.test(url),
  ],
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  [
    'HTTP (node http, Express, Nest routing, helmet, body parser, rxjs)',
    (_fn, url) =>
      /node:_http|node:net|node:stream|node:internal\/(streams|http|net|stream_base)|node_modules\/(express|body-parser|raw-body|router|helmet|@nestjs|rxjs|iconv-lite|qs|on-finished|finalhandler|send|type-is|content-type|mime|negotiator|accepts|cors|vary|path-to-regexp|depd)\//.test(
        url,
      ) ||
      url.includes('/http/src/') ||
      url.includes('/cqrs/'),
  ],
];

function main(): void {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { last: { type: 'string' } } });
  const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stageOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = stageOf.get(id);
    if (known) return known;
    const leaf = byId.get(id)!.callFrame;
    let stage: string | undefined;
    if (leaf.functionName === '(idle)') stage = 'idle';
    else if (leaf.functionName === '(program)') stage = 'V8/native (program)';
    if (stage === undefined) {
      const frames: Array<ProfileNode['callFrame']> = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) frames.push(byId.get(at)!.callFrame);
      stage = STAGES.find(([, where, test]) =>
        where === 'leaf' ? test(leaf.functionName, leaf.url) : frames.some((f) => test(f.functionName, f.url)),
      )?.[0];
    }
    if (stage === undefined) {
      const frames: Array<ProfileNode['callFrame']> = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) frames.push(byId.get(at)!.callFrame);
      stage = LEAF.find(([, test]) => frames.some((f) => test(f.functionName, f.url)))?.[0] ?? 'other';
    }
    stageOf.set(id, stage);
    return stage;
  };
  // Sample times, to keep only the last `--last` seconds (the load, not start-up and set-up).
  const times: number[] = [];
  let t = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((t += delta));
  const from = values.last ? profile.endTime - Number(values.last) * 1e6 : profile.startTime;
  const micros = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    if (times[i]! < from) return;
    const next = i + 1 < times.length ? times[i + 1]! - times[i]! : 0;
    const stage = classify(id);
    micros.set(stage, (micros.get(stage) ?? 0) + next);
  });
  const busy = [...micros].filter(([stage]) => stage !== 'idle').reduce((sum, [, us]) => sum + us, 0);
  const window = (profile.endTime - from) / 1e6;
  process.stdout.write(
    `window ${window.toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (${((busy / 1e6 / window) * 100).toFixed(0)}% of one core)\n`,
  );
  for (const [stage, us] of [...micros].filter(([s]) => s !== 'idle').sort((a, b) => b[1] - a[1]))
    process.stdout.write(`${((us / busy) * 100).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(2).padStart(6)} s  ${stage}\n`);
}

main();
