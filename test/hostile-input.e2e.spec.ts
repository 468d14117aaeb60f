import fc from 'fast-check';
import { startPlatform, uniqueId, type RunningPlatform } from './support/platform';

/**
 * Property-based tests of every command of api.md's Commands table over HTTP: valid, almost valid
 * and hostile bodies (prototype keys, deep nesting, huge numbers, NUL and unicode, wrong types)
 * and hostile path ids. Whatever comes in, the answer is never a 5xx; a refusal is problem+json
 * with a stable code (a 400 names the offending field), and a refused command writes nothing.
 * fast-check prints the seed and the shrunk counterexample of a failure, so it can be replayed.
 */

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

// --- JSON values, written byte for byte -------------------------------------------------------

/** A JSON token sent as written: numbers JSON.stringify cannot produce (1e400, -0) and deep nesting. */
class RawJson {
  constructor(readonly text: string) {}
}
type Json = null | boolean | number | string | RawJson | Json[] | { [key: string]: Json };
type Segment = string | number;

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof RawJson);
}

/** Defines an own property even for `__proto__`, as express's JSON.parse does. */
function setOwn(target: { [key: string]: Json }, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function toJson(value: Json): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (isObject(value))
    return `{${Object.keys(value)
      .map((key) => `${JSON.stringify(key)}:${toJson(value[key] as Json)}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

function clone(value: Json): Json {
  if (Array.isArray(value)) return value.map(clone);
  if (isObject(value)) {
    const copy: { [key: string]: Json } = {};
    for (const key of Object.keys(value)) setOwn(copy, key, clone(value[key] as Json));
    return copy;
  }
  return value;
}

/** Every node of a JSON tree with its path, root first. */
function nodes(value: Json, path: Segment[] = []): Array<{ path: Segment[]; value: Json }> {
  const children: Array<{ path: Segment[]; value: Json }> = [];
  if (Array.isArray(value)) value.forEach((item, i) => children.push(...nodes(item, [...path, i])));
  else if (isObject(value)) for (const key of Object.keys(value)) children.push(...nodes(value[key] as Json, [...path, key]));
  return [{ path, value }, ...children];
}

/** A copy of `root` with the node at `path` replaced (or, with `undefined`, removed). */
function replaced(root: Json, path: Segment[], next: Json | undefined): Json {
  if (path.length === 0) return next === undefined ? {} : next;
  const copy = clone(root);
  let node: Json = copy;
  for (const segment of path.slice(0, -1)) node = (node as Record<Segment, Json>)[segment] as Json;
  const last = path[path.length - 1] as Segment;
  if (Array.isArray(node)) {
    if (next === undefined) node.splice(Number(last), 1);
    else node[Number(last)] = next;
  } else if (isObject(node)) {
    if (next === undefined) delete node[String(last)];
    else setOwn(node, String(last), next);
  }
  return copy;
}

const dotted = (path: Segment[]) => path.map(String).join('.');
/** An error path names the mutated field when one is the other or contains it. */
const related = (errorPath: string, mutated: string) =>
  errorPath === mutated ||
  mutated.startsWith(`${errorPath}.`) ||
  errorPath.startsWith(`${mutated}.`) ||
  (mutated === '' && errorPath !== '');

// --- value generators -------------------------------------------------------------------------

const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
];
const idChars = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-'.split(''));
const freshId = (prefix: string) =>
  fc.string({ unit: idChars, minLength: 1, maxLength: 20 }).map((tail) => `${prefix}-${uniqueId('x')}-${tail}`.slice(0, 64));
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const text = (maxLength = 60) =>
  fc
    .string({ unit: 'grapheme', minLength: 1, maxLength })
    .filter((s) => s.trim().length > 0 && !s.includes('\u0000') && !LONE_SURROGATE.test(s));
const dateBetween = (from: string, to: string) => {
  const start = Date.parse(`${from}T00:00:00Z`);
  const days = Math.round((Date.parse(`${to}T00:00:00Z`) - start) / 86_400_000);
  return fc.integer({ min: 0, max: days }).map((d) => new Date(start + d * 86_400_000).toISOString().slice(0, 10));
};

const hostileStrings: Json[] = [
  '',
  ' ',
  '\u0000',
  'P\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\u202eevil',
  '\u200b',
  '🦄'.repeat(40),
  'Ｐ１',
  'ǅ̶̡̛',
  '../../etc/passwd',
  'P/1',
  '%00',
  '%2e%2e',
  '<script>alert(1)</script>',
  "'; DROP TABLE es_events; --",
  '${jndi:ldap://x}',
  'x'.repeat(65),
  'x'.repeat(10_000),
];
/** Path segments sent as is: percent-encodings of no UTF-8 at all, and ones that decode to what is no id. */
const undecodable = ['%', '%zz', '%E0%A4%A', '%ED%A0%80', '%C0%AF', '%FF'];
const encodedNonIds = ['%00', '%2F', '%2e%2e%2f', 'a%20b', '%F0%9F%A6%84'];
const hugeNumbers: Json[] = [
  new RawJson('1e400'),
  new RawJson('-1e400'),
  new RawJson('1e-400'),
  new RawJson('-0'),
  new RawJson('123456789012345678901234567890123456789'),
  new RawJson('9007199254740993'),
  1e308,
  -1e308,
  5e-324,
  Number.MAX_SAFE_INTEGER,
  -1,
  0.5,
];
const wrongTypes: Json[] = [null, true, false, 0, 1, -1, 'x', [], {}, [null], ['x', 1], { a: 1 }, { length: 2 }];
const deepNesting = fc
  .integer({ min: 50, max: 40_000 })
  .chain((depth) =>
    fc.constantFrom(new RawJson(`${'['.repeat(depth)}${']'.repeat(depth)}`), new RawJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)),
  );
const prototypeValue: fc.Arbitrary<Json> = fc.constantFrom<Json>(
  {},
  { polluted: true },
  { isAdmin: true, roles: ['trial-admin'] },
  'x',
  1,
  null,
  [],
  {
    prototype: { polluted: true },
  },
);

// --- the platform, the fixture, the commands ---------------------------------------------------

type Who = 'admin' | 'inv' | 'chair' | 'rev1';
type Param = 't' | 'p' | 'e' | 'c' | 'q';
interface Fixture {
  t: string;
  p: string;
  e: string;
  e2: string;
  c: string;
  q: string;
  users: Record<Who | 'rev2' | 'rev3', string>;
}

interface CommandSpec {
  /** The row of api.md's Commands table. */
  route: string;
  method: 'post' | 'put';
  as: Who;
  params: Param[];
  path: (ids: Record<Param, string>) => string;
  valid: (f: Fixture) => fc.Arbitrary<Json>;
  /** The code a valid body answers when the path names nothing. */
  notFound: Partial<Record<Param, string>>;
}

const baseline = fc.record({
  ageYears: fc.integer({ min: 18, max: 120 }),
  sex: fc.constantFrom('F', 'M'),
  diabetes: fc.boolean(),
  presentation: fc.constantFrom('claudication', 'cli'),
  rutherfordClass: fc.integer({ min: 0, max: 6 }),
});
const report = fc.oneof(
  fc.record({
    kind: fc.constant('amputation'),
    limb: fc.constantFrom('index', 'contralateral'),
    amputation: fc.record({ level: fc.constantFrom('major', 'minor'), planned: fc.boolean() }),
  }),
  fc.record({
    kind: fc.constant('tvr'),
    limb: fc.constantFrom('index', 'contralateral'),
    tvr: fc.record({ clinicallyDriven: fc.boolean() }),
  }),
  fc.record({ kind: fc.constantFrom('death', 'other') }),
);
const outcome = fc.oneof(
  fc.record(
    {
      isEndpointEvent: fc.boolean(),
      kind: fc.constant('amputation'),
      onsetOn: dateBetween('2026-01-10', '2026-06-30'),
      limb: fc.constantFrom('index', 'contralateral'),
      amputation: fc.record({ level: fc.constantFrom('major', 'minor'), planned: fc.boolean() }),
    },
    { requiredKeys: ['isEndpointEvent', 'kind', 'limb', 'amputation'] },
  ),
  fc.record({
    isEndpointEvent: fc.boolean(),
    kind: fc.constant('tvr'),
    limb: fc.constantFrom('index', 'contralateral'),
    tvr: fc.record({ clinicallyDriven: fc.boolean() }),
  }),
  fc.record({ isEndpointEvent: fc.constant(false), kind: fc.constant('none') }),
  fc.record({ isEndpointEvent: fc.boolean(), kind: fc.constant('death'), onsetOn: dateBetween('2026-01-10', '2026-06-30') }),
);
const changes = (fields: Record<string, fc.Arbitrary<Json>>) =>
  fc.record(fields, { requiredKeys: [] }).filter((c) => Object.keys(c).length > 0) as fc.Arbitrary<Json>;

const COMMANDS: CommandSpec[] = [
  {
    route: 'POST /trials',
    method: 'post',
    as: 'admin',
    params: [],
    path: () => '/trials',
    valid: () =>
      fc.record(
        {
          trialId: freshId('T'),
          title: text(),
          protocolVersion: text(20),
          arms: fc.uniqueArray(fc.string({ unit: idChars, minLength: 1, maxLength: 8 }), { minLength: 2, maxLength: 4 }),
        },
        { requiredKeys: ['trialId', 'title', 'protocolVersion'] },
      ),
    notFound: {},
  },
  {
    route: 'PUT /trials/{t}/charter',
    method: 'put',
    as: 'admin',
    params: ['t'],
    path: ({ t }) => `/trials/${t}/charter`,
    valid: () =>
      fc.record({
        version: freshId('v'),
        endpoints: fc.uniqueArray(
          fc.record({
            id: fc.string({ unit: idChars, minLength: 1, maxLength: 12 }),
            label: text(),
            horizonDays: fc.integer({ min: 1, max: 3650 }),
            events: fc.array(
              fc.record(
                {
                  kind: fc.constantFrom('amputation', 'tvr', 'death'),
                  limb: fc.constantFrom('index', 'contralateral'),
                  amputationLevel: fc.constantFrom('major', 'minor'),
                  planned: fc.boolean(),
                  clinicallyDriven: fc.boolean(),
                },
                { requiredKeys: ['kind'] },
              ),
              { minLength: 1, maxLength: 3 },
            ),
          }),
          { minLength: 1, maxLength: 3, selector: (e) => e.id },
        ),
      }),
    notFound: { t: 'TRIAL_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/sites',
    method: 'post',
    as: 'admin',
    params: ['t'],
    path: ({ t }) => `/trials/${t}/sites`,
    valid: () => fc.record({ siteId: freshId('S'), name: text(), country: fc.stringMatching(/^[A-Z]{2}$/) }),
    notFound: { t: 'TRIAL_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/committee-members',
    method: 'post',
    as: 'admin',
    params: ['t'],
    path: ({ t }) => `/trials/${t}/committee-members`,
    valid: () =>
      fc.record({
        userId: freshId('u'),
        name: text(),
        role: fc.constantFrom('cec-reviewer', 'cec-chair'),
        affiliatedSiteIds: fc.subarray(['S01', 'S02']),
      }),
    notFound: { t: 'TRIAL_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/patients',
    method: 'post',
    as: 'inv',
    params: ['t'],
    path: ({ t }) => `/trials/${t}/patients`,
    valid: () =>
      fc.record({
        patientId: freshId('P'),
        siteId: fc.constant('S01'),
        enrolledOn: dateBetween('2025-06-01', '2026-06-30'),
        arm: fc.constantFrom('DCB', 'PTA'),
        baseline,
      }),
    notFound: { t: 'TRIAL_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/patients/{p}/procedures',
    method: 'post',
    as: 'inv',
    params: ['t', 'p'],
    path: ({ t, p }) => `/trials/${t}/patients/${p}/procedures`,
    valid: () =>
      fc.record({
        procedureId: freshId('PR'),
        performedOn: dateBetween('2026-01-10', '2026-06-30'),
        limb: fc.constantFrom('left', 'right'),
        device: fc.record({ kind: fc.constantFrom('DCB', 'PTA', 'DES', 'other'), name: text() }),
        lesions: fc.array(
          fc.record({
            segment: fc.constantFrom('femoropopliteal', 'btk'),
            lengthMm: fc.double({ min: 0.5, max: 1000, noNaN: true }),
            occlusion: fc.boolean(),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        technicalSuccess: fc.boolean(),
      }),
    notFound: { t: 'TRIAL_NOT_FOUND', p: 'PATIENT_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/patients/{p}/visits',
    method: 'post',
    as: 'inv',
    params: ['t', 'p'],
    path: ({ t, p }) => `/trials/${t}/patients/${p}/visits`,
    valid: () =>
      fc.record({
        visitId: freshId('V'),
        visit: fc.constantFrom('30d', '6m', '12m', 'unscheduled'),
        visitOn: dateBetween('2026-01-10', '2026-06-30'),
      }),
    notFound: { t: 'TRIAL_NOT_FOUND', p: 'PATIENT_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/patients/{p}/adverse-events',
    method: 'post',
    as: 'inv',
    params: ['t', 'p'],
    path: ({ t, p }) => `/trials/${t}/patients/${p}/adverse-events`,
    valid: () =>
      fc
        .tuple(freshId('AE'), report, dateBetween('2026-01-10', '2026-06-30'), text())
        .map(([eventId, details, onsetOn, description]) => ({ eventId, ...details, onsetOn, description })),
    notFound: { t: 'TRIAL_NOT_FOUND', p: 'PATIENT_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/patients/{p}/adverse-events/{e}/corrections',
    method: 'post',
    as: 'inv',
    params: ['t', 'p', 'e'],
    path: ({ t, p, e }) => `/trials/${t}/patients/${p}/adverse-events/${e}/corrections`,
    valid: () =>
      fc.record({
        changes: changes({
          onsetOn: dateBetween('2026-01-10', '2026-06-30'),
          limb: fc.constantFrom('index', 'contralateral'),
          'amputation.level': fc.constantFrom('major', 'minor'),
          'amputation.planned': fc.boolean(),
          description: text(),
        }),
        reason: text(),
      }),
    notFound: { t: 'TRIAL_NOT_FOUND', p: 'PATIENT_NOT_FOUND', e: 'ADVERSE_EVENT_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/patients/{p}/adverse-events/{e}/retraction',
    method: 'post',
    as: 'inv',
    params: ['t', 'p', 'e'],
    path: ({ t, p, e }) => `/trials/${t}/patients/${p}/adverse-events/${e}/retraction`,
    valid: () => fc.record({ reason: text() }),
    notFound: { t: 'TRIAL_NOT_FOUND', p: 'PATIENT_NOT_FOUND', e: 'ADVERSE_EVENT_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/patients/{p}/corrections',
    method: 'post',
    as: 'inv',
    params: ['t', 'p'],
    path: ({ t, p }) => `/trials/${t}/patients/${p}/corrections`,
    valid: () =>
      fc.record({
        changes: changes({
          enrolledOn: dateBetween('2025-06-01', '2026-01-10'),
          arm: fc.constantFrom('DCB', 'PTA'),
          'baseline.ageYears': fc.integer({ min: 18, max: 120 }),
          'baseline.sex': fc.constantFrom('F', 'M'),
          'baseline.diabetes': fc.boolean(),
          'baseline.presentation': fc.constantFrom('claudication', 'cli'),
          'baseline.rutherfordClass': fc.integer({ min: 0, max: 6 }),
        }),
        reason: text(),
      }),
    notFound: { t: 'TRIAL_NOT_FOUND', p: 'PATIENT_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/patients/{p}/withdrawal',
    method: 'post',
    as: 'inv',
    params: ['t', 'p'],
    path: ({ t, p }) => `/trials/${t}/patients/${p}/withdrawal`,
    valid: () => fc.record({ withdrawnOn: dateBetween('2026-01-10', '2026-06-30'), reason: text() }),
    notFound: { t: 'TRIAL_NOT_FOUND', p: 'PATIENT_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/adjudication/cases/{c}/assignment',
    method: 'post',
    as: 'chair',
    params: ['t', 'c'],
    path: ({ t, c }) => `/trials/${t}/adjudication/cases/${c}/assignment`,
    valid: (f) =>
      fc.record(
        { reviewerIds: fc.shuffledSubarray([f.users.rev1, f.users.rev2, f.users.rev3], { minLength: 2, maxLength: 2 }), reason: text() },
        { requiredKeys: ['reviewerIds'] },
      ),
    notFound: { t: 'TRIAL_NOT_FOUND', c: 'CASE_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/adjudication/cases/{c}/reviews',
    method: 'post',
    as: 'rev1',
    params: ['t', 'c'],
    path: ({ t, c }) => `/trials/${t}/adjudication/cases/${c}/reviews`,
    valid: () => fc.record({ outcome, rationale: text(), signature: fc.constant({ meaning: 'review' }) }),
    notFound: { t: 'TRIAL_NOT_FOUND', c: 'CASE_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/adjudication/cases/{c}/resolution',
    method: 'post',
    as: 'chair',
    params: ['t', 'c'],
    path: ({ t, c }) => `/trials/${t}/adjudication/cases/${c}/resolution`,
    valid: () => fc.record({ outcome, rationale: text(), signature: fc.constant({ meaning: 'approval' }) }),
    notFound: { t: 'TRIAL_NOT_FOUND', c: 'CASE_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/adjudication/cases/{c}/reopening',
    method: 'post',
    as: 'chair',
    params: ['t', 'c'],
    path: ({ t, c }) => `/trials/${t}/adjudication/cases/${c}/reopening`,
    valid: () => fc.record({ reason: text() }),
    notFound: { t: 'TRIAL_NOT_FOUND', c: 'CASE_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/adjudication/cases/{c}/queries',
    method: 'post',
    as: 'chair',
    params: ['t', 'c'],
    path: ({ t, c }) => `/trials/${t}/adjudication/cases/${c}/queries`,
    valid: () => fc.record({ queryId: freshId('Q'), question: text() }),
    notFound: { t: 'TRIAL_NOT_FOUND', c: 'CASE_NOT_FOUND' },
  },
  {
    route: 'POST /trials/{t}/adjudication/cases/{c}/queries/{q}/answer',
    method: 'post',
    as: 'inv',
    params: ['t', 'c', 'q'],
    path: ({ t, c, q }) => `/trials/${t}/adjudication/cases/${c}/queries/${q}/answer`,
    valid: () => fc.record({ answer: text() }),
    notFound: { t: 'TRIAL_NOT_FOUND', c: 'CASE_NOT_FOUND', q: 'QUERY_NOT_FOUND' },
  },
];

// --- mutations of a valid body ----------------------------------------------------------------

interface Mutated {
  body: Json;
  /** The dotted path a 400 must name, when the mutation is one a 400 can name. */
  names?: string;
  how: string;
}

const jsonType = (value: Json): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

/** One small change to a valid body: a key removed, a wrong type, an unknown key, an out-of-range value. */
function almostValid(valid: fc.Arbitrary<Json>): fc.Arbitrary<Mutated> {
  return valid.chain((body) => {
    const all = nodes(body);
    const members = all.filter((n) => n.path.length > 0 && typeof n.path[n.path.length - 1] === 'string');
    const leaves = all.filter((n) => n.path.length > 0 && !isObject(n.value) && !Array.isArray(n.value));
    const objects = all.filter((n) => isObject(n.value));
    const options: Array<fc.Arbitrary<Mutated>> = [
      fc.constantFrom(...members).map((n) => ({ body: replaced(body, n.path, undefined), how: `without ${dotted(n.path)}` })),
      fc
        .tuple(fc.constantFrom(...leaves), fc.constantFrom(...wrongTypes))
        // Of another JSON type than the value it replaces: `true` for a boolean that was false is a valid
        // value (which may break a cross-field rule elsewhere, e.g. isEndpointEvent with kind none), not a wrong type.
        .filter(([n, value]) => jsonType(value) !== jsonType(n.value))
        .map(([n, value]) => ({ body: replaced(body, n.path, value), names: dotted(n.path), how: `${dotted(n.path)} of a wrong type` })),
      fc
        .tuple(
          fc.constantFrom(...objects),
          fc.string({ unit: idChars, minLength: 1, maxLength: 12 }),
          fc.constantFrom<Json>('x', 1, null, {}),
        )
        .filter(([n, key]) => !Object.keys(n.value as object).includes(key))
        .map(([n, key, value]) => ({
          body: replaced(body, [...n.path, key], value),
          names: dotted([...n.path, key]),
          how: `unknown key ${dotted([...n.path, key])}`,
        })),
      fc
        .tuple(fc.constantFrom(...leaves), fc.constantFrom(...hostileStrings, ...hugeNumbers))
        .map(([n, value]) => ({ body: replaced(body, n.path, value), how: `${dotted(n.path)} out of range` })),
    ];
    return fc.oneof(...options);
  });
}

/** Hostile input: prototype keys, deep nesting, huge numbers, NUL and unicode, anything at all. */
function hostile(valid: fc.Arbitrary<Json>): fc.Arbitrary<Mutated> {
  return fc.oneof(
    fc.tuple(valid, fc.constantFrom(...PROTOTYPE_KEYS), prototypeValue, fc.nat()).map(([body, key, value, pick]) => {
      const objects = nodes(body).filter((n) => isObject(n.value));
      const at = (objects[pick % objects.length] as { path: Segment[] }).path;
      return { body: replaced(body, [...at, key], value), names: dotted([...at, key]), how: `prototype key ${dotted([...at, key])}` };
    }),
    fc.tuple(valid, deepNesting, fc.nat()).map(([body, deep, pick]) => {
      const leaves = nodes(body).filter((n) => n.path.length > 0);
      const at = (leaves[pick % leaves.length] as { path: Segment[] }).path;
      return { body: replaced(body, at, deep), names: dotted(at), how: `deep nesting at ${dotted(at)}` };
    }),
    fc.tuple(valid, fc.constantFrom(...hugeNumbers), fc.nat()).map(([body, huge, pick]) => {
      const leaves = nodes(body).filter((n) => n.path.length > 0 && !isObject(n.value) && !Array.isArray(n.value));
      const at = (leaves[pick % leaves.length] as { path: Segment[] }).path;
      return { body: replaced(body, at, huge), how: `huge number at ${dotted(at)}` };
    }),
    fc.tuple(valid, fc.constantFrom(...hostileStrings), fc.nat()).map(([body, value, pick]) => {
      const strings = nodes(body).filter((n) => typeof n.value === 'string');
      const at = (strings[pick % strings.length] as { path: Segment[] }).path;
      return { body: replaced(body, at, value), how: `${JSON.stringify(value).slice(0, 40)} at ${dotted(at)}` };
    }),
    deepNesting.map((deep) => ({ body: deep, how: 'a deeply nested body' })),
    fc.jsonValue({ maxDepth: 4 }).map((value) => ({ body: value as Json, how: 'any JSON' })),
    fc
      .dictionary(fc.constantFrom(...PROTOTYPE_KEYS, 'changes', 'reason', 'outcome'), prototypeValue, { minKeys: 1 })
      .map((value) => ({ body: value, how: 'prototype keys only' })),
  );
}

// --- the suite -------------------------------------------------------------------------------

describe.each(backends)('hostile input to every command on %s', (_name, databaseUrl) => {
  let p: RunningPlatform;
  let f: Fixture;
  const tokens = {} as Record<Who, string>;
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

  /** Events written by this suite's users: exact on a server database that other suites share; the case opener writes as itself. */
  const written = async (): Promise<number> =>
    Number(
      (
        await p.dataSource.query(`SELECT count(*) AS n FROM es_events WHERE metadata->'actor'->>'userId' = ANY($1)`, [
          Object.values(f.users),
        ])
      )[0].n,
    );

  const send = (spec: Pick<CommandSpec, 'method' | 'as'>, path: string, body: Json) =>
    p.http[spec.method](path).set('Authorization', `Bearer ${tokens[spec.as]}`).set('Content-Type', 'application/json').send(toJson(body));

  const ids = (): Record<Param, string> => ({ t: f.t, p: f.p, e: f.e, c: f.c, q: f.q });
  const idsFor = (spec: CommandSpec): Record<Param, string> => (spec.route.endsWith('/retraction') ? { ...ids(), e: f.e2 } : ids());

  /** The answer to any command: never a 5xx; a refusal is a problem with a stable code and writes nothing. */
  async function expectSound(spec: CommandSpec, path: string, body: Json, names?: string) {
    const before = await written();
    const response = await send(spec, path, body);
    const after = await written();
    const seen = { status: response.status, code: response.body?.code, errors: response.body?.errors };
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    if (response.status >= 500) throw new Error(`${spec.route} answered ${JSON.stringify(seen)}`);
    if (response.status < 400) {
      expect(after).toBeGreaterThan(before);
      return response;
    }
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({
      status: response.status,
      code: expect.stringMatching(/^[A-Z][A-Z0-9_]*$/),
      type: expect.any(String),
      title: expect.any(String),
    });
    if (response.status === 400 && response.body.code !== 'MALFORMED_JSON') {
      const errors: unknown = response.body.errors;
      if (!Array.isArray(errors) || errors.length === 0)
        throw new Error(`${spec.route} answered 400 ${response.body.code} without errors[]`);
      for (const error of errors) expect(error).toEqual({ path: expect.any(String), message: expect.any(String) });
      const paths = errors.map((e: { path: string }) => e.path);
      if (names !== undefined && !paths.some((path) => related(String(path), names)))
        throw new Error(`400 for ${names} names ${JSON.stringify(paths)}`);
    }
    if (after !== before) throw new Error(`${spec.route} refused with ${JSON.stringify(seen)} but wrote ${after - before} event(s)`);
    return response;
  }

  beforeAll(async () => {
    p = await startPlatform({ databaseUrl });
    const run = uniqueId('hx');
    const users = {
      admin: `admin-${run}`,
      inv: `inv-${run}`,
      chair: `chair-${run}`,
      rev1: `rev1-${run}`,
      rev2: `rev2-${run}`,
      rev3: `rev3-${run}`,
    };
    tokens.admin = await p.token('trial-admin', { sub: users.admin });
    tokens.inv = await p.token('site-investigator', { sub: users.inv, sites: ['S01'] });
    tokens.chair = await p.token('cec-chair', { sub: users.chair });
    tokens.rev1 = await p.token('cec-reviewer', { sub: users.rev1 });
    const t = uniqueId('T');
    const admin = { method: 'post', as: 'admin' } as const;
    const inv = { method: 'post', as: 'inv' } as const;
    const ok = async (who: { method: 'post'; as: Who }, path: string, body: Json) => {
      const response = await send(who, path, body);
      if (response.status >= 300) throw new Error(`set-up ${path}: ${response.status} ${JSON.stringify(response.body)}`);
      return response;
    };
    await ok(admin, '/trials', { trialId: t, title: 'Hostile input', protocolVersion: '1', arms: ['DCB', 'PTA'] });
    await ok(admin, `/trials/${t}/sites`, { siteId: 'S01', name: 'Site One', country: 'IT' });
    await ok(admin, `/trials/${t}/sites`, { siteId: 'S02', name: 'Site Two', country: 'DE' });
    await ok(admin, `/trials/${t}/committee-members`, {
      userId: users.chair,
      name: 'Prof. Chair',
      role: 'cec-chair',
      affiliatedSiteIds: [],
    });
    for (const [userId, sites] of [
      [users.rev1, []],
      [users.rev2, ['S02']],
      [users.rev3, []],
    ] as const) {
      await ok(admin, `/trials/${t}/committee-members`, {
        userId,
        name: `Dr. ${userId}`,
        role: 'cec-reviewer',
        affiliatedSiteIds: [...sites],
      });
    }
    const patientId = uniqueId('P');
    await ok(inv, `/trials/${t}/patients`, {
      patientId,
      siteId: 'S01',
      enrolledOn: '2026-01-10',
      arm: 'DCB',
      baseline: { ageYears: 70, sex: 'F', diabetes: true, presentation: 'cli', rutherfordClass: 5 },
    });
    await ok(inv, `/trials/${t}/patients/${patientId}/procedures`, {
      procedureId: 'IDX',
      performedOn: '2026-01-10',
      limb: 'left',
      device: { kind: 'DCB', name: 'Balloon' },
      lesions: [{ segment: 'btk', lengthMm: 120, occlusion: true }],
      technicalSuccess: true,
    });
    const eventId = uniqueId('AE');
    const reported = await ok(inv, `/trials/${t}/patients/${patientId}/adverse-events`, {
      eventId,
      kind: 'amputation',
      onsetOn: '2026-02-01',
      limb: 'index',
      amputation: { level: 'minor', planned: false },
      description: 'toe amputation',
    });
    const other = uniqueId('AE');
    await ok(inv, `/trials/${t}/patients/${patientId}/adverse-events`, {
      eventId: other,
      kind: 'other',
      onsetOn: '2026-02-02',
      description: 'haematoma',
    });
    const caseId = reported.body.caseId as string;
    const queryId = 'Q1';
    await ok({ method: 'post', as: 'chair' }, `/trials/${t}/adjudication/cases/${caseId}/queries`, {
      queryId,
      question: 'Operative note?',
    });
    f = { t, p: patientId, e: eventId, e2: other, c: caseId, q: queryId, users };
  });
  afterAll(async () => {
    await p?.close();
  });

  // Moderate run counts: 18 commands × 4 properties, two shared cores, both backends well under two minutes.
  const RUNS = { valid: 6, almostValid: 16, hostile: 20, paths: 10 };

  describe.each(COMMANDS.map((spec) => [spec.route, spec] as const))('%s', (_route, spec) => {
    it('valid bodies: never 5xx, never refused as malformed', async () => {
      await fc.assert(
        fc.asyncProperty(spec.valid(f), async (body) => {
          const response = await expectSound(spec, spec.path(idsFor(spec)), body);
          expect(response.body.code).not.toBe('VALIDATION_FAILED');
        }),
        { numRuns: RUNS.valid },
      );
    });

    it('almost valid bodies: never 5xx; a 400 names the field; a refusal writes nothing', async () => {
      await fc.assert(
        fc.asyncProperty(almostValid(spec.valid(f)), async ({ body, names }) => {
          await expectSound(spec, spec.path(idsFor(spec)), body, names);
        }),
        { numRuns: RUNS.almostValid },
      );
    });

    it('hostile bodies: never 5xx, no prototype pollution; a 400 names the field; a refusal writes nothing', async () => {
      await fc.assert(
        fc.asyncProperty(hostile(spec.valid(f)), async ({ body, names }) => {
          await expectSound(spec, spec.path(idsFor(spec)), body, names);
        }),
        { numRuns: RUNS.hostile },
      );
    });

    if (spec.params.length > 0) {
      it('hostile path ids: 400 INVALID_ID naming the parameter, or 404 for an id that names nothing; nothing written', async () => {
        // Sent percent-encoded (a lone surrogate has no UTF-8 form, so it goes as its raw bytes, malformed).
        const badId = fc.oneof(
          fc
            .constantFrom(...hostileStrings.filter((s): s is string => typeof s === 'string' && s.length > 0 && !LONE_SURROGATE.test(s)))
            .map(encodeURIComponent),
          fc
            .string({ unit: 'binary', minLength: 1, maxLength: 80 })
            .filter((s) => !/^[A-Za-z0-9._-]{1,64}$/.test(s) && !LONE_SURROGATE.test(s))
            .map(encodeURIComponent),
          fc.constantFrom(...undecodable, ...encodedNonIds),
        );
        // Valid ids that name nothing; prototype keys are used as ids nowhere else in this trial.
        const nothing = fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS.filter((k) => /^[A-Za-z0-9._-]+$/.test(k))), freshId('none'));
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(...spec.params),
            fc.oneof(
              badId.map((id) => ({ id, valid: false })),
              nothing.map((id) => ({ id, valid: true })),
            ),
            spec.valid(f),
            async (param, { id, valid }, body) => {
              const path = spec.path({ ...idsFor(spec), [param]: id });
              const response = await expectSound(spec, path, body);
              if (valid) expect({ status: response.status, code: response.body.code }).toEqual({ status: 404, code: spec.notFound[param] });
              else {
                // A segment the router cannot even percent-decode is refused before parameters are named.
                const named = undecodable.includes(id) ? 'params' : `params.${param}`;
                expect({
                  status: response.status,
                  code: response.body.code,
                  paths: response.body.errors?.map((e: { path: string }) => e.path),
                }).toEqual({
                  status: 400,
                  code: 'INVALID_ID',
                  paths: [named],
                });
              }
            },
          ),
          { numRuns: RUNS.paths },
        );
      });
    }
  });

  describe('regressions', () => {
    // Before the fix: constructor, toString, hasOwnProperty and valueOf answered 500
    // ("schema.safeParse is not a function"), and __proto__ vanished from the change list.
    const keys = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__'];
    const endpoints = () => [
      { spec: COMMANDS.find((c) => c.route.endsWith('/adverse-events/{e}/corrections')) as CommandSpec, valid: { description: 'amended' } },
      { spec: COMMANDS.find((c) => c.route.endsWith('/patients/{p}/corrections')) as CommandSpec, valid: { 'baseline.diabetes': false } },
    ];

    it.each(keys)(
      'a correction naming %s is a 400 naming it, alone or beside a valid change, on patients and adverse events',
      async (key) => {
        for (const { spec, valid } of endpoints()) {
          for (const value of ['x', 1, true, {}, { polluted: true }] as Json[]) {
            for (const beside of [{}, valid]) {
              const list = clone(beside) as { [key: string]: Json };
              setOwn(list, key, value);
              const response = await expectSound(spec, spec.path(ids()), { changes: list, reason: 'source document verification' });
              // __proto__ is refused by the body's schema, as anywhere in any body; the others by the correction's field list.
              expect({ status: response.status, code: response.body.code }).toEqual({
                status: 400,
                code: key === '__proto__' ? 'VALIDATION_FAILED' : 'INVALID_CORRECTION',
              });
              expect(response.body.errors).toContainEqual({
                path: `changes.${key}`,
                message: expect.stringContaining('not a correctable field'),
              });
            }
          }
        }
      },
    );

    // Before the fix: free text with a NUL or half a surrogate pair passed validation and answered
    // 500 when PostgreSQL refused to store it.
    it.each(['\u0000', 'a\u0000b', '\ud800', 'x\udfffy'])(
      'free text with %j is a 400 naming the field, on every command that takes text',
      async (bad) => {
        const misses: string[] = [];
        for (const spec of COMMANDS) {
          const [body] = fc.sample(spec.valid(f), { numRuns: 1, seed: 7 });
          // Free text: every string of a valid body that is no id, date, enum or country code.
          const texts = nodes(body as Json).filter(
            (n) =>
              typeof n.value === 'string' &&
              /(title|protocolVersion|name|description|reason|rationale|question|answer|label)$/.test(dotted(n.path)),
          );
          for (const at of texts) {
            const response = await expectSound(spec, spec.path(idsFor(spec)), replaced(body as Json, at.path, bad));
            const paths = (response.body.errors ?? []).map((e: { path: string }) => e.path);
            if (response.status !== 400 || !paths.includes(dotted(at.path)))
              misses.push(`${spec.route} ${dotted(at.path)}: ${response.status} ${response.body.code} ${JSON.stringify(paths)}`);
          }
        }
        expect(misses).toEqual([]);
      },
    );

    // Before the fix: 400 HTTP_400 with no errors[] (Nest's mapping of the router's URIError).
    it('a path segment that is no percent-encoded UTF-8 is a 400 INVALID_ID on every command', async () => {
      const misses: string[] = [];
      for (const spec of COMMANDS.filter((c) => c.params.length > 0)) {
        const [body] = fc.sample(spec.valid(f), { numRuns: 1, seed: 5 });
        for (const [i, segment] of undecodable.entries()) {
          const param = spec.params[i % spec.params.length] as Param;
          const response = await expectSound(spec, spec.path({ ...idsFor(spec), [param]: segment }), body as Json);
          const paths = (response.body.errors ?? []).map((e: { path: string }) => e.path);
          if (response.status !== 400 || response.body.code !== 'INVALID_ID' || paths[0] !== 'params')
            misses.push(`${spec.route} ${param}=${segment}: ${response.status} ${response.body.code}`);
        }
      }
      expect(misses).toEqual([]);
    });

    it('a __proto__ key in any object of any command body is a 400 naming it', async () => {
      const misses: string[] = [];
      for (const spec of COMMANDS) {
        const [body] = fc.sample(spec.valid(f), { numRuns: 1, seed: 11 });
        for (const at of nodes(body as Json).filter((n) => isObject(n.value))) {
          const named = dotted([...at.path, '__proto__']);
          const response = await expectSound(
            spec,
            spec.path(idsFor(spec)),
            replaced(body as Json, [...at.path, '__proto__'], { polluted: true }),
          );
          const paths = (response.body.errors ?? []).map((e: { path: string }) => e.path);
          if (response.status !== 400 || !paths.includes(named))
            misses.push(`${spec.route} ${named}: ${response.status} ${response.body.code} ${JSON.stringify(paths)}`);
        }
      }
      expect(misses).toEqual([]);
    });

    it('ids that are prototype keys are ordinary ids: accepted once, then duplicates; naming nothing, not found', async () => {
      const t = uniqueId('T');
      const run = uniqueId('px');
      const chair = `chair-${run}`;
      const other = `rev-${run}`;
      const as = async (sub: string, role: 'trial-admin' | 'site-investigator' | 'cec-chair' | 'cec-reviewer') =>
        p.token(role, { sub, sites: ['S01'] });
      const who = {
        admin: await as(`admin-${run}`, 'trial-admin'),
        inv: await as(`inv-${run}`, 'site-investigator'),
        chair: await as(chair, 'cec-chair'),
      };
      const reviewer = { toString: await as('toString', 'cec-reviewer'), other: await as(other, 'cec-reviewer') };
      const post = (token: string, path: string, body: Json) =>
        p.http
          .post(`/trials/${t}${path}`)
          .set('Authorization', `Bearer ${token}`)
          .send(body as object);
      // Writes of this trial's users to its streams (the case opener writes as itself, in the background).
      const users = [`admin-${run}`, `inv-${run}`, chair, other, 'toString'];
      const inTrial = async () =>
        Number(
          (
            await p.dataSource.query(
              `SELECT count(*) AS n FROM es_events WHERE split_part(stream_id, '/', 2) = $1 AND metadata->'actor'->>'userId' = ANY($2)`,
              [t, users],
            )
          )[0].n,
        );
      const expectStatus = async (request: Promise<{ status: number; body: { code?: string } }>, status: number, code?: string) => {
        const before = await inTrial();
        const response = await request;
        expect({ status: response.status, code: response.body.code }).toEqual({ status, code: code ?? response.body.code });
        if (status >= 400) expect(await inTrial()).toBe(before);
      };

      await expectStatus(
        p.http
          .post('/trials')
          .set('Authorization', `Bearer ${who.admin}`)
          .send({ trialId: t, title: 'Prototype keys', protocolVersion: '1' }),
        201,
      );
      await expectStatus(post(who.admin, '/sites', { siteId: 'S01', name: 'Site One', country: 'IT' }), 201);
      await expectStatus(post(who.admin, '/sites', { siteId: 'constructor', name: 'Site Constructor', country: 'FR' }), 201);
      await expectStatus(post(who.admin, '/sites', { siteId: 'constructor', name: 'Again', country: 'FR' }), 409, 'SITE_ALREADY_EXISTS');
      await expectStatus(
        post(who.admin, '/committee-members', {
          userId: 'toString',
          name: 'Dr. toString',
          role: 'cec-reviewer',
          affiliatedSiteIds: ['valueOf'],
        }),
        422,
        'UNKNOWN_SITE',
      );
      await expectStatus(
        post(who.admin, '/committee-members', {
          userId: 'toString',
          name: 'Dr. toString',
          role: 'cec-reviewer',
          affiliatedSiteIds: ['constructor'],
        }),
        201,
      );
      await expectStatus(
        post(who.admin, '/committee-members', { userId: 'toString', name: 'Again', role: 'cec-reviewer', affiliatedSiteIds: [] }),
        409,
        'COMMITTEE_MEMBER_EXISTS',
      );
      await expectStatus(
        post(who.admin, '/committee-members', { userId: chair, name: 'Prof. Chair', role: 'cec-chair', affiliatedSiteIds: [] }),
        201,
      );
      await expectStatus(
        post(who.admin, '/committee-members', { userId: other, name: 'Dr. Other', role: 'cec-reviewer', affiliatedSiteIds: [] }),
        201,
      );

      const patient = '/patients/hasOwnProperty';
      await expectStatus(
        post(who.inv, '/patients', {
          patientId: 'hasOwnProperty',
          siteId: 'S01',
          enrolledOn: '2026-01-10',
          baseline: { ageYears: 70, sex: 'M', diabetes: false, presentation: 'cli', rutherfordClass: 5 },
        }),
        201,
      );
      await expectStatus(post(who.inv, `${patient}/visits`, { visitId: '__proto__', visit: '30d', visitOn: '2026-02-09' }), 201);
      await expectStatus(
        post(who.inv, `${patient}/visits`, { visitId: '__proto__', visit: '30d', visitOn: '2026-02-10' }),
        409,
        'VISIT_ALREADY_RECORDED',
      );
      await expectStatus(post(who.inv, `${patient}/visits`, { visitId: 'constructor', visit: '6m', visitOn: '2026-03-09' }), 201);
      const procedure = {
        performedOn: '2026-01-10',
        limb: 'left',
        device: { kind: 'PTA', name: 'Balloon' },
        lesions: [{ segment: 'btk', lengthMm: 80, occlusion: false }],
        technicalSuccess: true,
      };
      await expectStatus(post(who.inv, `${patient}/procedures`, { procedureId: 'valueOf', ...procedure }), 201);
      await expectStatus(
        post(who.inv, `${patient}/procedures`, { procedureId: 'valueOf', ...procedure }),
        409,
        'PROCEDURE_ALREADY_RECORDED',
      );
      const visits = await p.http.get(`/trials/${t}${patient}`).set('Authorization', `Bearer ${who.inv}`).expect(200);
      expect(Object.keys(visits.body.visits).sort()).toEqual(['__proto__', 'constructor']);

      await expectStatus(
        post(who.inv, `${patient}/adverse-events`, {
          eventId: 'constructor',
          kind: 'amputation',
          onsetOn: '2026-02-01',
          limb: 'index',
          amputation: { level: 'major', planned: false },
          description: 'BKA',
        }),
        201,
      );
      const cases = `/adjudication/cases/constructor`;
      await expectStatus(
        post(who.inv, `${patient}/adverse-events/toString/retraction`, { reason: 'no such event' }),
        404,
        'ADVERSE_EVENT_NOT_FOUND',
      );
      await expectStatus(
        post(who.chair, '/adjudication/cases/valueOf/queries', { queryId: 'Q1', question: 'No such case?' }),
        404,
        'CASE_NOT_FOUND',
      );
      await expectStatus(post(who.chair, `${cases}/queries`, { queryId: 'toString', question: 'Operative note?' }), 201);
      await expectStatus(post(who.chair, `${cases}/queries`, { queryId: 'toString', question: 'Again?' }), 409, 'QUERY_ALREADY_EXISTS');
      for (const missing of ['constructor', '__proto__', 'valueOf', 'hasOwnProperty']) {
        await expectStatus(
          post(who.inv, `${cases}/queries/${missing}/answer`, { answer: 'there is no such query' }),
          404,
          'QUERY_NOT_FOUND',
        );
      }
      await expectStatus(post(who.inv, `${cases}/queries/toString/answer`, { answer: 'attached' }), 201);
      await expectStatus(post(who.inv, `${cases}/queries/toString/answer`, { answer: 'again' }), 409, 'QUERY_ALREADY_ANSWERED');

      // A reviewer whose id is a prototype key is blinded like any other until both reviews are in.
      await expectStatus(post(who.chair, `${cases}/assignment`, { reviewerIds: ['toString', other] }), 201);
      const review = {
        outcome: { isEndpointEvent: true, kind: 'amputation', limb: 'index', amputation: { level: 'major', planned: false } },
        rationale: 'operative note',
        signature: { meaning: 'review' },
      };
      await expectStatus(post(reviewer.other, `${cases}/reviews`, review), 201);
      const blinded = await p.http.get(`/trials/${t}${cases}`).set('Authorization', `Bearer ${reviewer.toString}`).expect(200);
      expect({ submitted: blinded.body.reviewsSubmitted, visible: blinded.body.reviews }).toEqual({ submitted: 1, visible: [] });
      await expectStatus(post(reviewer.toString, `${cases}/reviews`, review), 201);
      await expectStatus(post(reviewer.toString, `${cases}/reviews`, review), 422, 'CASE_FINALIZED');
    });
  });
});
