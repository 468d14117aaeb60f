/**
 * Loads the seed's LEG-DEB BTK cohort (scripts/demo-cohort.ts) into a running platform through
 * its HTTP API only, and prints what it did and the rates the cohort must show.
 *
 *   npm run demo                       # DEMO_URL, default http://localhost:${PORT:-3000}
 *   DATA_DIR=/tmp/d PORT=3999 npm run demo
 *   npm run demo -- --no-adjudicate    # leave the CEC cases open
 *
 * Then the CEC adjudicates as the article's did: it waits until the server lists a case for every
 * reported amputation, TVR and death (GET /trials/{t}/adjudication/cases: a broken case feed shows
 * here, not as a report with 0 events), the chair assigns the two reviewers, and both confirm the
 * event as reported with a signed review. Before that, each amputation gets its operative note and
 * the coordinator releases a redacted rendition to the case's dossier (scripts/demo-documents.ts). Each signing uses a token minted just before it, as a
 * fresh login (auth_time within SIGNATURE_MAX_AGE, 21 CFR 11.200(a)(1)).
 *
 * Tokens are HS256, signed with JWT_SECRET or the secret the platform generated into
 * <DATA_DIR or ./.data>/jwt-secret. Every command carries a stable Idempotency-Key, and a 409
 * saying the same id already exists counts as done, so a re-run after a partial failure completes
 * the load and a second full run reports "already loaded". Any other non-2xx answer is printed
 * (method, path, problem+json) and ends the run with exit code 1.
 */
import { existsSync } from 'node:fs';
// Direct files, not the package index: the index also loads the NestJS guard and modules.
import { jwtSecretPath, readSecretFile } from '../libs/auth/src/jwt-settings';
import { signToken } from '../libs/auth/src/sign-token';
import type { Role } from '../libs/auth/src/roles';
import {
  EXPECTED_EXCLUDING_PLANNED_MINOR,
  EXPECTED_SITE_REPORTED,
  TRIAL_ID,
  countEventFree,
  legDebBtkCohort,
  type ExpectedGroup,
} from './demo-cohort';
import { demoDataCut } from './demo-data-cut';
import { loadDossiers } from './demo-documents';

const USAGE = 'usage: npm run demo [-- --no-adjudicate]   (DEMO_URL, JWT_SECRET or DATA_DIR as the server)';
/** How long the case feed may take to open the cases of the reported events (Kafka in a deployment). */
const CASE_FEED_TIMEOUT_MS = Number(process.env.DEMO_CASE_TIMEOUT_MS ?? 60_000);

const BASE_URL = (process.env.DEMO_URL?.trim() || `http://localhost:${process.env.PORT?.trim() || '3000'}`).replace(/\/+$/, '');

/** A failure the user must see: printed without a stack trace, exit code 1. */
class DemoError extends Error {}

/** Commands answered 409 with these codes address an id that already exists: done before. */
const ALREADY_DONE = new Set([
  'TRIAL_ALREADY_EXISTS',
  'SITE_ALREADY_EXISTS',
  'COMMITTEE_MEMBER_EXISTS',
  'PATIENT_ALREADY_ENROLLED',
  'PROCEDURE_ALREADY_RECORDED',
  'VISIT_ALREADY_RECORDED',
  'ADVERSE_EVENT_ALREADY_REPORTED',
]);

type Kind = 'trials' | 'sites' | 'committee members' | 'patients' | 'procedures' | 'visits' | 'adverse events';
const KINDS: Kind[] = ['trials', 'sites', 'committee members', 'patients', 'procedures', 'visits', 'adverse events'];

interface Tally {
  created: number;
  existing: number;
}
const tally = new Map<Kind, Tally>(KINDS.map((kind) => [kind, { created: 0, existing: 0 }]));
let lastPosition: number | undefined;

function readSecret(): string {
  const fromEnv = process.env.JWT_SECRET?.trim();
  if (fromEnv) return fromEnv;
  const path = jwtSecretPath(process.env.DATA_DIR?.trim() || './.data');
  if (!existsSync(path)) {
    throw new DemoError(
      `no JWT_SECRET set and no ${path}; set JWT_SECRET or DATA_DIR to the server's, or start the platform once on the embedded default`,
    );
  }
  return readSecretFile(path);
}

async function token(secret: string, userId: string, name: string, roles: Role[], sites: string[] = []): Promise<string> {
  return signToken({ userId, name, roles, sites }, secret, { expiresIn: '1h' });
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

async function call(
  method: 'GET' | 'POST',
  path: string,
  bearer: string | undefined,
  options: { body?: unknown; idempotencyKey?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { Accept: 'application/json, application/problem+json' };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.idempotencyKey) headers['Idempotency-Key'] = options.idempotencyKey;
  for (let attempt = 1; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(`${BASE_URL}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new DemoError(
        `${method} ${path}: cannot reach ${BASE_URL} (${cause?.code ?? cause?.message ?? String(error)}); is the server running?`,
      );
    }
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text for the error message
    }
    // A key whose first request is still running (or just failed) may be retried shortly.
    const retryable = response.status === 409 && codeOf(body) === 'IDEMPOTENCY_KEY_IN_PROGRESS';
    if (retryable && attempt < 5) {
      await new Promise((resolve) => setTimeout(resolve, 300 * attempt));
      continue;
    }
    return { status: response.status, headers: response.headers, body };
  }
}

function codeOf(body: unknown): string | undefined {
  return typeof body === 'object' && body !== null && typeof (body as { code?: unknown }).code === 'string'
    ? (body as { code: string }).code
    : undefined;
}

function fail(method: string, path: string, answer: Answer): never {
  const shown = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body, null, 2);
  throw new DemoError(`unexpected answer to ${method} ${path}: HTTP ${answer.status}\n${shown ?? '(no body)'}`);
}

/** Sends one command; returns 'created' or 'existing' (idempotent replay or a 409 for the same id). */
async function command(kind: Kind, path: string, bearer: string, body: unknown, idempotencyKey: string): Promise<'created' | 'existing'> {
  const answer = await call('POST', path, bearer, { body, idempotencyKey });
  const counts = tally.get(kind) as Tally;
  if (answer.status >= 200 && answer.status < 300) {
    const result = answer.body as { position?: unknown; caseId?: unknown } | undefined;
    if (typeof result?.position === 'number') lastPosition = Math.max(lastPosition ?? 0, result.position);
    const replayed = answer.headers.get('idempotent-replayed') === 'true';
    counts[replayed ? 'existing' : 'created']++;
    return replayed ? 'existing' : 'created';
  }
  const code = codeOf(answer.body);
  if (answer.status === 409 && code !== undefined && ALREADY_DONE.has(code)) {
    counts.existing++;
    return 'existing';
  }
  return fail('POST', path, answer);
}

/** A trial of that id that is not this single-arm registry must not be mixed with the demo's data. */
async function checkExistingTrial(adminToken: string, title: string): Promise<void> {
  const path = `/trials/${TRIAL_ID}`;
  const answer = await call('GET', path, adminToken);
  if (answer.status !== 200) fail('GET', path, answer);
  const trial = answer.body as { title?: string; arms?: string[] };
  if (trial.title !== title || (trial.arms ?? []).length > 0) {
    throw new DemoError(
      `trial ${TRIAL_ID} already exists but is not the demo's single-arm registry (title "${trial.title}", arms ${JSON.stringify(trial.arms)}); use a fresh DATA_DIR`,
    );
  }
}

function percent(group: ExpectedGroup): string {
  return `${((100 * group.eventFree) / group.n).toFixed(1)}% (${group.eventFree}/${group.n})`;
}

function same(a: ExpectedGroup[], b: ExpectedGroup[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The site-reported endpoint report, if this server serves it yet: compares its 6-month numbers
 * with the article's. Returns lines to print; throws when the server's numbers differ.
 */
async function compareWithReport(adminToken: string, basis: 'site-reported' | 'adjudicated', asOfLastWrite = true): Promise<string[]> {
  const query = new URLSearchParams({ basis, groupBy: 'diabetes' });
  // At the position of our last write: the report then includes it even if a projection lags.
  if (asOfLastWrite && lastPosition !== undefined) query.set('asOfPosition', String(lastPosition));
  const path = `/trials/${TRIAL_ID}/reports/endpoints?${query.toString()}`;
  let answer = await call('GET', path, adminToken);
  for (let attempt = 1; answer.status === 409 && codeOf(answer.body) === 'NOT_YET_KNOWN' && attempt <= 10; attempt++) {
    const wait = Number(answer.headers.get('retry-after') ?? '1');
    await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(wait, 0.2), 5) * 1000));
    answer = await call('GET', path, adminToken);
  }
  if (answer.status === 404 && codeOf(answer.body) === 'ROUTE_NOT_FOUND') {
    return ['server report:   GET /trials/{t}/reports/endpoints is not served by this server yet; not compared'];
  }
  if (answer.status !== 200) fail('GET', path, answer);
  const report = answer.body as {
    endpoints?: Array<{
      id: string;
      groups: Array<{ key: { diabetes?: boolean }; n: number; crude?: { evaluable: number; eventFree: number } }>;
    }>;
  };
  const lines = [`server report (${basis}, crude at 180 days):`];
  const mismatches: string[] = [];
  for (const [endpointId, expected] of Object.entries(EXPECTED_SITE_REPORTED)) {
    const endpoint = report.endpoints?.find((e) => e.id === endpointId);
    const shown = expected.map((want) => {
      const group = endpoint?.groups.find((g) => g.key.diabetes === want.diabetes);
      const got = group?.crude ? Math.round(group.crude.eventFree * group.crude.evaluable) : undefined;
      const ok = group !== undefined && group.n === want.n && group.crude?.evaluable === want.n && got === want.eventFree;
      if (!ok)
        mismatches.push(`${endpointId} diabetes=${want.diabetes}: expected ${want.eventFree}/${want.n}, got ${JSON.stringify(group)}`);
      return `${want.diabetes ? 'diabetes' : 'no diabetes'} ${group?.crude ? `${(100 * group.crude.eventFree).toFixed(1)}% (${got}/${group.crude.evaluable}, n=${group.n})` : 'missing'}${ok ? '' : '  <-- MISMATCH'}`;
    });
    lines.push(`  ${endpointId.padEnd(26)} ${shown.join('   ')}`);
  }
  if (mismatches.length > 0)
    throw new DemoError([...lines, 'the server reports other numbers than the article:', ...mismatches].join('\n'));
  return lines;
}

interface CaseSummary {
  caseId: string;
  eventId: string;
  status: 'awaiting-assignment' | 'in-review' | 'awaiting-resolution' | 'finalized' | 'cancelled';
  reviewerIds?: string[];
}

/**
 * Polls the cases list until it holds a case for every expected event: the cases open in the
 * background (the case feed follows the log, or Kafka in a deployment), so a command's caseId
 * alone does not prove the server adjudicates anything.
 */
async function awaitCases(chairToken: string, expected: string[]): Promise<CaseSummary[]> {
  const path = `/trials/${TRIAL_ID}/adjudication/cases`;
  const deadline = Date.now() + CASE_FEED_TIMEOUT_MS;
  for (;;) {
    const answer = await call('GET', path, chairToken);
    if (answer.status !== 200) fail('GET', path, answer);
    const listed = answer.body as CaseSummary[] | { items?: CaseSummary[] };
    const cases = Array.isArray(listed) ? listed : (listed.items ?? []);
    const missing = expected.filter((eventId) => !cases.some((c) => c.eventId === eventId));
    if (missing.length === 0) return cases;
    if (Date.now() > deadline) {
      throw new DemoError(
        `GET ${path} lists ${cases.length} case(s) after ${CASE_FEED_TIMEOUT_MS / 1000} s, expected one for each of the ${expected.length} reported amputations, TVRs and deaths; none for ${missing.join(', ')}. Is the case feed running (the adjudication service's log or Kafka consumer, GET /health)?`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Chair assigns both reviewers, each confirms the event as reported; a finalized case is left alone. */
async function adjudicate(
  secret: string,
  cohort: ReturnType<typeof legDebBtkCohort>,
  cases: CaseSummary[],
): Promise<{ finalized: number; alreadyFinalized: number }> {
  const chair = cohort.committee.find((m) => m.role === 'cec-chair');
  const reviewers = cohort.committee.filter((m) => m.role === 'cec-reviewer');
  const [first, second] = reviewers;
  if (!chair || !first || !second) throw new DemoError('scripts/demo-cohort.ts needs a CEC chair and two reviewers');
  const events = new Map(cohort.patients.flatMap((p) => p.adverseEvents.map((e) => [e.eventId, e] as const)));
  const t = `/trials/${TRIAL_ID}/adjudication/cases`;
  let finalized = 0;
  let alreadyFinalized = 0;
  for (const summary of cases) {
    const event = events.get(summary.eventId);
    if (!event) continue;
    if (summary.status === 'finalized' || summary.status === 'cancelled') {
      alreadyFinalized++;
      continue;
    }
    if (summary.status === 'awaiting-resolution') {
      throw new DemoError(
        `case ${summary.caseId} waits for the chair's resolution (discordant reviews): not the demo's doing; use a fresh DATA_DIR`,
      );
    }
    const c = `${t}/${summary.caseId}`;
    if (summary.status === 'awaiting-assignment') {
      const chairToken = await token(secret, chair.userId, chair.name, ['cec-chair']);
      const assigned = await call('POST', `${c}/assignment`, chairToken, {
        body: { reviewerIds: [first.userId, second.userId] },
        idempotencyKey: ['demo', TRIAL_ID, 'assign', summary.caseId].join(':'),
      });
      if (assigned.status !== 201 && assigned.status !== 200) fail('POST', `${c}/assignment`, assigned);
    }
    const outcome = {
      isEndpointEvent: true,
      kind: event.kind,
      onsetOn: event.onsetOn,
      ...(event.limb ? { limb: event.limb } : {}),
      ...(event.amputation ? { amputation: event.amputation } : {}),
      ...(event.tvr ? { tvr: event.tvr } : {}),
    };
    for (const reviewer of [first, second]) {
      // A fresh login for every signature: the token's auth_time is now (SIGNATURE_MAX_AGE).
      const signer = await token(secret, reviewer.userId, reviewer.name, ['cec-reviewer']);
      const review = await call('POST', `${c}/reviews`, signer, {
        body: { outcome, rationale: 'Confirmed from the source documents as reported by the site.', signature: { meaning: 'review' } },
        idempotencyKey: ['demo', TRIAL_ID, 'review', summary.caseId, reviewer.userId].join(':'),
      });
      const code = codeOf(review.body);
      // Reviewed in an earlier, interrupted run: the review stands.
      if (review.status === 409 && code !== undefined && /ALREADY_REVIEWED|REVIEW_ALREADY/.test(code)) continue;
      if (review.status !== 201 && review.status !== 200) fail('POST', `${c}/reviews`, review);
      const position = (review.body as { position?: unknown } | undefined)?.position;
      if (typeof position === 'number') lastPosition = Math.max(lastPosition ?? 0, position);
    }
    finalized++;
  }
  return { finalized, alreadyFinalized };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--no-adjudicate' && arg !== '--adjudicate');
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return;
  }
  if (unknown.length > 0) throw new DemoError(`unknown argument(s) ${unknown.join(' ')}\n${USAGE}`);
  const adjudicating = !args.includes('--no-adjudicate');
  const cohort = legDebBtkCohort();

  // The cohort must reproduce the article's numbers by itself before anything is sent.
  const tvr = countEventFree(cohort, (e) => e.kind === 'tvr' && e.tvr?.clinicallyDriven === true);
  const amputation = countEventFree(cohort, (e) => e.kind === 'amputation');
  const unplannedOrMajor = countEventFree(
    cohort,
    (e) => e.kind === 'amputation' && (e.amputation?.level === 'major' || e.amputation?.planned === false),
  );
  if (
    !same(tvr, EXPECTED_SITE_REPORTED['freedom-from-cd-tvr']) ||
    !same(amputation, EXPECTED_SITE_REPORTED['freedom-from-amputation']) ||
    !same(unplannedOrMajor, EXPECTED_EXCLUDING_PLANNED_MINOR)
  ) {
    throw new DemoError(`scripts/demo-cohort.ts does not reproduce the article: ${JSON.stringify({ tvr, amputation, unplannedOrMajor })}`);
  }

  const health = await call('GET', '/health', undefined);
  if (health.status !== 200) fail('GET', '/health', health);

  const secret = readSecret();
  const admin = await token(secret, 'demo-trial-admin', 'Demo Trial Administrator', ['trial-admin']);
  const investigators = new Map<string, string>();
  for (const site of cohort.sites) {
    investigators.set(
      site.siteId,
      await token(secret, `demo-investigator-${site.siteId}`, `Demo Investigator ${site.siteId}`, ['site-investigator'], [site.siteId]),
    );
  }
  const key = (...parts: string[]) => ['demo', TRIAL_ID, ...parts].join(':');
  const t = `/trials/${TRIAL_ID}`;

  console.log(`Loading the LEG-DEB BTK cohort into ${BASE_URL} …`);
  const trial = await command('trials', '/trials', admin, cohort.trial, key('trial'));
  if (trial === 'existing') {
    await checkExistingTrial(admin, cohort.trial.title);
    console.log(`trial ${TRIAL_ID} already exists: completing whatever is missing`);
  }
  for (const site of cohort.sites) await command('sites', `${t}/sites`, admin, site, key('site', site.siteId));
  for (const member of cohort.committee)
    await command('committee members', `${t}/committee-members`, admin, member, key('committee', member.userId));

  for (const patient of cohort.patients) {
    const { patientId, siteId } = patient.enrollment;
    const bearer = investigators.get(siteId);
    if (!bearer) throw new DemoError(`patient ${patientId} names unknown site ${siteId}`);
    const p = `${t}/patients/${patientId}`;
    await command('patients', `${t}/patients`, bearer, patient.enrollment, key('patient', patientId));
    await command('procedures', `${p}/procedures`, bearer, patient.procedure, key('procedure', patient.procedure.procedureId));
    for (const visit of patient.visits) await command('visits', `${p}/visits`, bearer, visit, key('visit', visit.visitId));
    for (const event of patient.adverseEvents)
      await command('adverse events', `${p}/adverse-events`, bearer, event, key('adverse-event', event.eventId));
  }

  const created = KINDS.reduce((sum, kind) => sum + (tally.get(kind) as Tally).created, 0);
  console.log('');
  console.log(
    created === 0 ? `already loaded: ${TRIAL_ID} was complete, nothing sent changed anything` : `loaded ${created} new record(s)`,
  );
  for (const kind of KINDS) {
    const { created: c, existing: e } = tally.get(kind) as Tally;
    console.log(`  ${kind.padEnd(18)} ${String(c + e).padStart(3)}  (new ${c}, already there ${e})`);
  }

  const chairMember = cohort.committee.find((m) => m.role === 'cec-chair');
  const chairToken = await token(secret, chairMember?.userId ?? 'cec-chair', chairMember?.name ?? 'CEC Chair', ['cec-chair']);
  const expectedCases = cohort.patients.flatMap((p) =>
    p.adverseEvents.filter((e) => e.kind === 'amputation' || e.kind === 'tvr' || e.kind === 'death').map((e) => e.eventId),
  );
  const cases = await awaitCases(chairToken, expectedCases);
  console.log(`  CEC cases listed by the server: ${cases.length} (one per reported amputation, TVR and death)`);
  const coordinator = await token(secret, 'demo-cec-coordinator', 'Demo CEC Coordinator', ['cec-coordinator']);
  const dossiers = await loadDossiers({ baseUrl: BASE_URL, trialId: TRIAL_ID, cohort, investigators, coordinator, key });
  console.log(
    `  CEC dossier: an operative note attached to each amputation, its redacted rendition released to the reviewers ` +
      `(new: ${dossiers.attached} attached, ${dossiers.released} released; already there ${dossiers.existing})`,
  );
  // Cases decided by an earlier run: their positions are not known here, so the adjudicated report is asked as of now.
  let decidedEarlier = false;
  if (adjudicating) {
    const { finalized, alreadyFinalized } = await adjudicate(secret, cohort, cases);
    decidedEarlier = alreadyFinalized > 0;
    console.log(
      `  adjudicated: ${finalized} case(s) confirmed as reported by two concordant signed reviews` +
        (alreadyFinalized > 0 ? `, ${alreadyFinalized} already decided` : ''),
    );
  } else {
    console.log('  --no-adjudicate: the cases stay open, so the adjudicated report counts no events yet (basis=site-reported does)');
  }
  if (lastPosition !== undefined) console.log(`  last global position: ${lastPosition}`);

  console.log('');
  console.log('expected at 6 months (site-reported, default charter), without / with diabetes:');
  console.log(`  freedom from CD-TVR         ${percent(tvr[0] as ExpectedGroup)}   ${percent(tvr[1] as ExpectedGroup)}`);
  console.log(`  freedom from any amputation ${percent(amputation[0] as ExpectedGroup)}   ${percent(amputation[1] as ExpectedGroup)}`);
  console.log(
    `  … excluding planned minor   ${percent(unplannedOrMajor[0] as ExpectedGroup)}   ${percent(unplannedOrMajor[1] as ExpectedGroup)}  (under a charter version without planned minor amputations)`,
  );
  for (const line of await compareWithReport(admin, 'site-reported')) console.log(line);
  if (adjudicating) for (const line of await compareWithReport(admin, 'adjudicated', !decidedEarlier)) console.log(line);
  if (adjudicating) {
    // The DSMB's unit of work: a frozen data cut, its open and closed reports and the ADTTE dataset.
    const dsmb = await token(secret, 'demo-dsmb', 'Demo DSMB Member', ['dsmb-member']);
    for (const line of await demoDataCut({
      baseUrl: BASE_URL,
      trialId: TRIAL_ID,
      adminToken: admin,
      dsmbToken: dsmb,
      cutoff: '2025-12-31',
    }))
      console.log(line);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `demo: ${error instanceof DemoError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
