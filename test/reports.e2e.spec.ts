import { TRIAL_ID, amputationExcludingPlannedMinor, legDebBtkCohort } from '../scripts/demo-cohort';
import { startPlatform, type RunningPlatform } from './support/platform';
import { byDiabetes, expectPublishedTable, type EndpointReport } from './support/published-table';
import { adjudicateAsReported, reclassifyAsNoEvent, seedCohort, type CohortTokens } from './support/seed-cohort';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

type Report = EndpointReport;

describe.each(backends)('endpoint reports as of any time on %s', (_name, databaseUrl) => {
  let p: RunningPlatform;
  let trialId: string;
  let tokens: CohortTokens = {};
  const cohort = legDebBtkCohort();
  const report = (who: string, query: string) =>
    p.http.get(`/trials/${trialId}/reports/endpoints?${query}`).set('Authorization', `Bearer ${tokens[who]}`);

  beforeAll(async () => {
    // Each backend run gets its own trial id: suites share a server database.
    p = await startPlatform({ databaseUrl });
    trialId = databaseUrl ? `${TRIAL_ID}-${Date.now().toString(36)}` : TRIAL_ID;
    tokens = await seedCohort(p, trialId, cohort);
  });
  afterAll(async () => {
    await p?.close();
  });

  const cutoff = 'cutoff=2025-12-31';

  it('prints the published LEG-DEB BTK table, by diabetes, site-reported', async () => {
    const response = await report('admin', `basis=site-reported&groupBy=diabetes&${cutoff}`).expect(200);
    expectPublishedTable(response.body as Report);
  });

  it('adjudicated basis counts only finalized cases; pending ones are shown as pending', async () => {
    const before = (await report('admin', `groupBy=diabetes&${cutoff}`).expect(200)).body as Report;
    expect(byDiabetes(before, 'freedom-from-amputation', true)).toMatchObject({ events: 0, pendingAdjudication: 4, km: { survival: 1 } });
    expect(byDiabetes(before, 'freedom-from-amputation', false)).toMatchObject({ events: 0, pendingAdjudication: 1 });

    // The CEC confirms every reported event as reported.
    await adjudicateAsReported(p, trialId, cohort, tokens);
    const after = (await report('admin', `groupBy=diabetes&${cutoff}`).expect(200)).body as Report;
    const siteReported = (await report('admin', `basis=site-reported&groupBy=diabetes&${cutoff}`).expect(200)).body as Report;
    for (const endpointId of ['freedom-from-cd-tvr', 'freedom-from-amputation']) {
      for (const diabetes of [false, true]) {
        const { pendingAdjudication, ...adjudicated } = byDiabetes(after, endpointId, diabetes)!;
        const { pendingAdjudication: _ignored, ...reported } = byDiabetes(siteReported, endpointId, diabetes)!;
        expect(pendingAdjudication).toBe(0);
        expect(adjudicated).toEqual(reported);
      }
    }
  });

  it('answers the same bytes as of a past position after a reclassification, and the new numbers after it', async () => {
    const query = `groupBy=diabetes&${cutoff}`;
    const now = (await report('admin', query).expect(200)).body as Report;
    const position = now.asOf.position;
    const frozen = await report('admin', `asOfPosition=${position}&${query}`).expect(200);
    expect(byDiabetes(frozen.body as Report, 'freedom-from-amputation', true)?.crude.eventFree).toBe(0.75);
    // Later facts are recorded after the instant the first report was known at.
    p.clock.set(new Date(Date.parse(now.asOf.recordedAt) + 60_000));

    // The chair reopens one diabetic amputation and the CEC rules it is not an endpoint event.
    const patient = cohort.patients.find((x) => x.enrollment.baseline.diabetes && x.adverseEvents.some((e) => e.kind === 'amputation'))!;
    const caseId = patient.adverseEvents[0]!.eventId;
    await reclassifyAsNoEvent(p, trialId, cohort, tokens, caseId);
    const later = (await report('admin', query).expect(200)).body as Report;
    expect(byDiabetes(later, 'freedom-from-amputation', true)?.crude.eventFree).toBe(0.8125);
    const again = await report('admin', `asOfPosition=${position}&${query}`).expect(200);
    expect(again.text).toBe(frozen.text);
    const byInstant = await report('admin', `asOf=${encodeURIComponent(now.asOf.recordedAt)}&${query}`).expect(200);
    expect(byDiabetes(byInstant.body as Report, 'freedom-from-amputation', true)?.crude.eventFree).toBe(0.75);
  });

  it('a second charter version excluding planned minor amputations raises freedom from amputation', async () => {
    const before = (await report('admin', `basis=site-reported&groupBy=diabetes&${cutoff}`).expect(200)).body as Report;
    await p.http
      .put(`/trials/${trialId}/charter`)
      .set('Authorization', `Bearer ${tokens.admin}`)
      .send({ version: '2', endpoints: [amputationExcludingPlannedMinor()] })
      .expect(201);
    const after = (await report('admin', `basis=site-reported&groupBy=diabetes&${cutoff}`).expect(200)).body as Report;
    expect(after.charterVersion).toBe('2');
    expect(byDiabetes(after, 'freedom-from-amputation', false)?.crude.eventFree).toBe(0.95);
    expect(byDiabetes(after, 'freedom-from-amputation', true)?.crude.eventFree).toBe(1);
    // As of before the new version, the old charter still applies.
    const old = (await report('admin', `basis=site-reported&groupBy=diabetes&${cutoff}&asOfPosition=${before.asOf.position}`).expect(200))
      .body as Report;
    expect(old.charterVersion).toBe('default-1');
    expect(byDiabetes(old, 'freedom-from-amputation', true)?.crude.eventFree).toBe(0.75);
  });

  it('keeps arms for the DSMB, records each unblinded view, and refuses arms to sponsors', async () => {
    const refused = await report('sponsor', 'groupBy=arm');
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 403, code: 'ARM_BREAKDOWN_FORBIDDEN' });
    await report('sponsor', 'groupBy=diabetes').expect(200);
    const views = async () =>
      Number((await p.dataSource.query(`SELECT count(*) AS n FROM es_events WHERE stream_id = $1`, [`unblinding/${trialId}`]))[0].n);
    const before = await views();
    await report('dsmb', `groupBy=arm,diabetes&${cutoff}`).expect(200);
    expect(await views()).toBe(before + 1);
    const [row] = await p.dataSource.query(
      `SELECT data, metadata FROM es_events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1`,
      [`unblinding/${trialId}`],
    );
    expect(row.metadata.actor).toMatchObject({ userId: 'dsmb-1', name: 'Prof. DSMB' });
    expect(row.data.parameters).toMatchObject({ groupBy: ['arm', 'diabetes'], cutoff: '2025-12-31' });
  });

  it('serves the Kaplan-Meier curve as JSON points and as SVG', async () => {
    // Charter version 2 (previous test) defines only freedom-from-amputation, without planned minor ones.
    const missing = await p.http
      .get(`/trials/${trialId}/reports/endpoints/freedom-from-cd-tvr/curve`)
      .set('Authorization', `Bearer ${tokens.admin}`);
    expect({ status: missing.status, code: missing.body.code }).toEqual({ status: 404, code: 'ENDPOINT_NOT_FOUND' });
    const json = await p.http
      .get(`/trials/${trialId}/reports/endpoints/freedom-from-amputation/curve?groupBy=diabetes&basis=site-reported&${cutoff}`)
      .set('Authorization', `Bearer ${tokens.admin}`)
      .expect(200);
    const survivalAtEnd = (diabetes: boolean) =>
      json.body.groups.find((g: { key: { diabetes: boolean } }) => g.key.diabetes === diabetes).points.at(-1).survival;
    expect([survivalAtEnd(false), survivalAtEnd(true)]).toEqual([0.95, 1]);
    const svg = await p.http
      .get(`/trials/${trialId}/reports/endpoints/freedom-from-amputation/curve?groupBy=diabetes&basis=site-reported&${cutoff}`)
      .set('Authorization', `Bearer ${tokens.admin}`)
      .set('Accept', 'image/svg+xml')
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => done(null, text));
      })
      .expect(200);
    expect(svg.headers['content-type']).toMatch(/^image\/svg\+xml/);
    const text = svg.body as string;
    expect(text.startsWith('<svg')).toBe(true);
    expect(text).toContain('No. at risk');
    expect(text).toContain('Freedom from');
  });

  it('refuses a knowledge time not yet known, and bad parameters', async () => {
    const future = await report('admin', 'asOfPosition=999999999');
    expect({ status: future.status, code: future.body.code, retryAfter: future.headers['retry-after'] }).toEqual({
      status: 409,
      code: 'NOT_YET_KNOWN',
      retryAfter: '1',
    });
    const bad = await report('admin', 'groupBy=colour');
    expect({ status: bad.status, code: bad.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    const both = await report('admin', 'asOf=2026-01-01T00:00:00Z&asOfPosition=3');
    expect(both.status).toBe(400);
    const reviewer = await p.http.get(`/trials/${trialId}/reports/endpoints`).set('Authorization', `Bearer ${tokens.chair}`);
    expect(reviewer.status).toBe(403);
  });
});
