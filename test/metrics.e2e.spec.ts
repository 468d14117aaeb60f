import { HistoryProjection } from '../apps/reporting/src';
import { startPlatform, uniqueId, type RunningPlatform } from './support/platform';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

const baseline = { ageYears: 68, sex: 'F', diabetes: false, presentation: 'cli', rutherfordClass: 5 };
const amputation = (eventId: string) => ({
  eventId,
  kind: 'amputation',
  onsetOn: '2026-01-12',
  limb: 'index',
  amputation: { level: 'minor', planned: true },
  description: 'toe amputation',
});

/** One scrape, parsed: `sample('name', { label: 'value' })` is the sample with exactly those labels, 0 when absent. */
interface Scrape {
  text: string;
  sample(name: string, labels?: Record<string, string>): number;
  samples(name: string): Array<{ labels: Record<string, string>; value: number }>;
}

function parseExposition(text: string): Scrape {
  const rows: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    rows.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  const same = (a: Record<string, string>, b: Record<string, string>) =>
    Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);
  return {
    text,
    sample: (name, labels = {}) => rows.find((row) => row.name === name && same(row.labels, labels))?.value ?? 0,
    samples: (name) => rows.filter((row) => row.name === name),
  };
}

describe.each(backends)('GET /metrics on %s', (_name, databaseUrl) => {
  let p: RunningPlatform;
  let admin: string;
  let inv: string;

  beforeAll(async () => {
    p = await startPlatform({ databaseUrl });
    admin = await p.token('trial-admin', { sub: 'admin-m', name: 'Ada Admin' });
    inv = await p.token('site-investigator', { sub: 'inv-m', name: 'Dr. Uno', sites: ['S01'] });
  });
  afterAll(async () => {
    await p?.close();
  });

  const post = (path: string, token: string, body: object) => p.http.post(path).set('Authorization', `Bearer ${token}`).send(body);
  const scrape = async (): Promise<Scrape> => {
    // No Authorization header: Prometheus scrapes without a token.
    const response = await p.http.get('/metrics').expect(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    return parseExposition(response.text);
  };
  /** Events stored for one trial, by stream category, straight from the log. */
  const storedByCategory = async (trialId: string): Promise<Record<string, number>> => {
    const rows: Array<{ category: string; n: string | number }> = await p.dataSource.query(
      `SELECT split_part(stream_id, '/', 1) AS category, count(*) AS n FROM es_events
        WHERE stream_id = 'trial/' || $1 OR stream_id LIKE '%/' || $1 || '/%' GROUP BY 1`,
      [trialId],
    );
    return Object.fromEntries(rows.map((row) => [row.category, Number(row.n)]));
  };
  /** Every durable subscription the platform runs. */
  const subscriptionNames = ['adjudication.case-opener', 'adjudication.cases', 'reporting.history'];

  it('answers without a token, in the Prometheus text format, with process metrics, and stays out of the OpenAPI document', async () => {
    const metrics = await scrape();
    expect(metrics.sample('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    for (const name of [
      'trials_commands_total',
      'trials_command_duration_seconds',
      'trials_events_appended_total',
      'trials_event_append_duration_seconds',
      'trials_subscription_lag_events',
      'trials_outbox_backlog',
    ]) {
      expect(metrics.text).toContain(`# TYPE ${name} `);
    }
    // No messaging relay in the platform: the outbox gauge says 0 rather than failing the scrape.
    expect(metrics.sample('trials_outbox_backlog')).toBe(0);
    const openApi = await p.http.get('/docs-json').expect(200);
    expect(Object.keys(openApi.body.paths as object)).not.toContain('/metrics');
  });

  it('counts each command by outcome, and each appended event by stream category, exactly', async () => {
    const trialId = uniqueId('T');
    const before = await scrape();
    await post('/trials', admin, { trialId, title: 'Metrics trial', protocolVersion: '1.0', arms: ['DCB', 'PTA'] }).expect(201);
    const duplicate = await post('/trials', admin, {
      trialId,
      title: 'Metrics trial',
      protocolVersion: '1.0',
      arms: ['DCB', 'PTA'],
    }).expect(409);
    const refusedCode = duplicate.body.code as string;
    await post(`/trials/${trialId}/sites`, admin, { siteId: 'S01', name: 'Ospedale Uno', country: 'IT' }).expect(201);
    await post(`/trials/${trialId}/sites`, admin, { siteId: 'S02', name: 'Klinikum Zwei', country: 'DE' }).expect(201);
    const unknownSite = await post(`/trials/${trialId}/patients`, inv, {
      patientId: uniqueId('P'),
      siteId: 'S09',
      enrolledOn: '2026-01-10',
      arm: 'DCB',
      baseline,
    });
    expect(unknownSite.status).toBeGreaterThanOrEqual(400);
    for (let i = 0; i < 2; i += 1) {
      await post(`/trials/${trialId}/patients`, inv, {
        patientId: uniqueId('P'),
        siteId: 'S01',
        enrolledOn: '2026-01-10',
        arm: 'DCB',
        baseline,
      }).expect(201);
    }
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => after.sample(name, labels) - before.sample(name, labels);

    expect(delta('trials_commands_total', { command: 'RegisterTrial', outcome: 'ok' })).toBe(1);
    expect(delta('trials_commands_total', { command: 'RegisterTrial', outcome: refusedCode })).toBe(1);
    expect(delta('trials_commands_total', { command: 'AddSite', outcome: 'ok' })).toBe(2);
    expect(delta('trials_commands_total', { command: 'EnrollPatient', outcome: 'ok' })).toBe(2);
    expect(delta('trials_commands_total', { command: 'EnrollPatient', outcome: unknownSite.body.code as string })).toBe(1);
    expect(delta('trials_command_duration_seconds_count', { command: 'AddSite', outcome: 'ok' })).toBe(2);
    expect(after.sample('trials_command_duration_seconds_bucket', { command: 'AddSite', outcome: 'ok', le: '+Inf' })).toBe(
      after.sample('trials_command_duration_seconds_count', { command: 'AddSite', outcome: 'ok' }),
    );

    // What the counter says was appended is what the log holds: refused commands wrote nothing.
    expect(await storedByCategory(trialId)).toEqual({ trial: 3, patient: 2 });
    expect(delta('trials_events_appended_total', { stream_category: 'trial' })).toBe(3);
    expect(delta('trials_events_appended_total', { stream_category: 'patient' })).toBe(2);
    expect(delta('trials_event_append_duration_seconds_count', { stream_category: 'trial', outcome: 'ok' })).toBe(3);
  });

  it('counts appends made in the background (CEC cases opened by the subscriber) like any other', async () => {
    const trialId = uniqueId('T');
    await post('/trials', admin, { trialId, title: 'Cases', protocolVersion: '1.0', arms: ['DCB', 'PTA'] }).expect(201);
    await post(`/trials/${trialId}/sites`, admin, { siteId: 'S01', name: 'Ospedale Uno', country: 'IT' }).expect(201);
    const patientId = uniqueId('P');
    await post(`/trials/${trialId}/patients`, inv, { patientId, siteId: 'S01', enrolledOn: '2026-01-10', arm: 'DCB', baseline }).expect(
      201,
    );
    const before = await scrape();
    const reported = await post(`/trials/${trialId}/patients/${patientId}/adverse-events`, inv, amputation(uniqueId('AE'))).expect(201);
    expect(reported.body.caseId).toBeDefined();
    // The case opener appends in the background; wait until the log holds the case and the
    // opener reports no lag (on a shared server this assumes no other process runs the opener).
    let after = await scrape();
    let stored = await storedByCategory(trialId);
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      if ((stored['case'] ?? 0) > 0 && after.sample('trials_subscription_lag_events', { subscription: 'adjudication.case-opener' }) === 0)
        break;
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await scrape();
      stored = await storedByCategory(trialId);
    }
    expect(stored['case']).toBeGreaterThan(0);
    expect(
      after.sample('trials_events_appended_total', { stream_category: 'case' }) -
        before.sample('trials_events_appended_total', { stream_category: 'case' }),
    ).toBe(stored['case']);
    expect(
      after.sample('trials_events_appended_total', { stream_category: 'adverse-event' }) -
        before.sample('trials_events_appended_total', { stream_category: 'adverse-event' }),
    ).toBe(1);
  });

  it('reports each subscription lag: it grows while a subscription is stopped and returns to 0 once it has caught up', async () => {
    const names = subscriptionNames;
    const initial = await scrape();
    expect(
      initial
        .samples('trials_subscription_lag_events')
        .map((s) => s.labels['subscription'])
        .sort(),
    ).toEqual(names);

    const history = p.app.get(HistoryProjection).subscription;
    await history.stop();
    try {
      const before = await scrape();
      const appendedBefore = before.samples('trials_events_appended_total').reduce((sum, s) => sum + s.value, 0);
      const trialId = uniqueId('T');
      await post('/trials', admin, { trialId, title: 'Lag', protocolVersion: '1.0' }).expect(201);
      await post(`/trials/${trialId}/sites`, admin, { siteId: 'S01', name: 'Ospedale Uno', country: 'IT' }).expect(201);
      const stopped = await scrape();
      const appended = stopped.samples('trials_events_appended_total').reduce((sum, s) => sum + s.value, 0) - appendedBefore;
      expect(appended).toBe(2);
      const grew =
        stopped.sample('trials_subscription_lag_events', { subscription: 'reporting.history' }) -
        before.sample('trials_subscription_lag_events', { subscription: 'reporting.history' });
      // On PGlite this process is the only writer; a shared server may see other suites' appends too.
      if (databaseUrl) expect(grew).toBeGreaterThanOrEqual(appended);
      else expect(grew).toBe(appended);
    } finally {
      history.start();
    }

    const deadline = Date.now() + 20_000;
    let lags: number[] = [];
    while (Date.now() < deadline) {
      const metrics = await scrape();
      lags = names.map((name) => metrics.sample('trials_subscription_lag_events', { subscription: name }));
      if (lags.every((lag) => lag === 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(lags).toEqual(names.map(() => 0));
  });
});
