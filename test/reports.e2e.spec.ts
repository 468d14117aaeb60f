import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TRIAL_ID, addDays, amputationExcludingPlannedMinor, legDebBtkCohort } from '../scripts/demo-cohort';
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

// --- withdrawal censoring against R (api.md "Endpoint report", semantics 3) ---

/** The cohort `withdrawals` of libs/statistics/reference/datasets.json and what reference.R computed from it. */
interface RCohort {
  name: string;
  epoch: string;
  cutoffDate: string;
  endpoints: Array<{ id: string; horizonDays: number; kinds: string[]; includesDeath: boolean }>;
  patients: Array<{
    id: string;
    group: 'diabetic' | 'non-diabetic';
    index: number;
    visits: number[];
    events: Array<{ kind: 'tvr' | 'death' | 'other'; day: number }>;
    withdrawn?: number;
  }>;
}
type Maybe = number | null;
interface RSubset {
  subset: 'pooled' | 'diabetic' | 'non-diabetic';
  n: number;
  events: number;
  censored: number;
  km: {
    steps: Array<{ time: number; nRisk: number; nEvent: number; nCensor: number; survival: number; lower: Maybe; upper: Maybe }>;
    at: Array<{ survival: number; standardError: Maybe; lower: Maybe; upper: Maybe }>;
  };
  crude: { evaluable: number; estimate: Maybe; lower: Maybe; upper: Maybe };
  cuminc?: { estimate: Maybe; lower: Maybe; upper: Maybe };
}
interface RRule {
  withdrawal: 'withdrawal-date' | 'last-contact';
  endpoints: Array<{ id: string; subsets: RSubset[] }>;
}
interface ReportGroup {
  key: Record<string, unknown>;
  n: number;
  events: number;
  censored: number;
  km: { survival: number; lower: number; upper: number; standardError: number };
  crude: { evaluable: number; eventFree: number | null; lower: number | null; upper: number | null };
  cumulativeIncidence?: { estimate: number; lower: number; upper: number };
}
interface CensoredReport {
  charterVersion: string;
  censoring: { withdrawal: string };
  endpoints: Array<{ id: string; groups: ReportGroup[] }>;
}
interface CurveBody {
  charterVersion: string;
  censoring: { withdrawal: string };
  groups: Array<{
    key: Record<string, unknown>;
    points: Array<{ time: number; atRisk: number; events: number; censored: number; survival: number; lower: number; upper: number }>;
  }>;
}

const referenceFile = <T>(file: string): T =>
  JSON.parse(readFileSync(join(__dirname, '..', 'libs', 'statistics', 'reference', file), 'utf8')) as T;
const R_COHORT = referenceFile<{ cohorts: RCohort[] }>('datasets.json').cohorts.find((c) => c.name === 'withdrawals')!;
const R_RULES = referenceFile<{ cohorts: Array<{ name: string; rules: RRule[] }> }>('reference.json').cohorts.find(
  (c) => c.name === 'withdrawals',
)!.rules;

/** Every figure against R's to 1e-4 (the report rounds to 4 decimals), counted; R's NA only where api.md fixes the value. */
class AgainstR {
  figures = 0;
  readonly mismatches: string[] = [];
  close(label: string, ours: number | null | undefined, theirs: Maybe, na?: number): void {
    this.figures += 1;
    const expected = theirs ?? na;
    if (expected === undefined || typeof ours !== 'number' || !(Math.abs(ours - expected) <= 1e-4 + 1e-12))
      this.mismatches.push(`${label}: API ${String(ours)}, R ${String(theirs)}`);
  }
  equal(label: string, ours: unknown, theirs: unknown): void {
    if (ours !== theirs) this.mismatches.push(`${label}: API ${String(ours)}, R ${String(theirs)}`);
  }
}
const subsetKey = (subset: RSubset['subset']) => JSON.stringify(subset === 'pooled' ? {} : { diabetes: subset === 'diabetic' });

describe.each(backends)('withdrawal censoring through the API against R on %s', (_name, databaseUrl) => {
  let p: RunningPlatform;
  let trialId: string;
  let admin: string;
  /** The trial's last position before charter version w2: every patient known, charter w1 (last-contact) in force. */
  let beforeW2: number;
  const at = (patient: RCohort['patients'][number], day: number) => addDays(R_COHORT.epoch, patient.index + day);
  const get = (path: string) => p.http.get(`/trials/${trialId}${path}`).set('Authorization', `Bearer ${admin}`);
  const charter = (version: string, censoring?: { withdrawal: string }) =>
    p.http
      .put(`/trials/${trialId}/charter`)
      .set('Authorization', `Bearer ${admin}`)
      .send({
        version,
        ...(censoring ? { censoring } : {}),
        endpoints: R_COHORT.endpoints.map((e) => ({
          id: e.id,
          label: e.id,
          horizonDays: e.horizonDays,
          events: e.kinds.map(() => ({ kind: 'tvr', clinicallyDriven: true, limb: 'index' })),
          ...(e.includesDeath ? { includesDeath: true } : {}),
        })),
      })
      .expect(201);

  beforeAll(async () => {
    p = await startPlatform({ databaseUrl });
    trialId = `WDR${databaseUrl ? `-${Date.now().toString(36)}` : ''}`;
    admin = await p.token('trial-admin', { sub: 'admin' });
    const site = await p.token('site-investigator', { sub: 'inv-S1', sites: ['S1'] });
    await p.http
      .post('/trials')
      .set('Authorization', `Bearer ${admin}`)
      .send({ trialId, title: 'Withdrawals', protocolVersion: '1' })
      .expect(201);
    await p.http
      .post(`/trials/${trialId}/sites`)
      .set('Authorization', `Bearer ${admin}`)
      .send({ siteId: 'S1', name: 'Site 1', country: 'DE' })
      .expect(201);
    await charter('w1', { withdrawal: 'last-contact' });
    const post = (path: string, body: object) =>
      p.http.post(`/trials/${trialId}${path}`).set('Authorization', `Bearer ${site}`).send(body).expect(201);
    let last = 0;
    for (const patient of R_COHORT.patients) {
      const base = `/patients/${patient.id}`;
      await post('/patients', {
        patientId: patient.id,
        siteId: 'S1',
        enrolledOn: at(patient, 0),
        baseline: { ageYears: 70, sex: 'F', diabetes: patient.group === 'diabetic', presentation: 'cli', rutherfordClass: 5 },
      });
      await post(`${base}/procedures`, {
        procedureId: `${patient.id}-IDX`,
        performedOn: at(patient, 0),
        limb: 'left',
        device: { kind: 'DCB', name: 'D' },
        lesions: [{ segment: 'btk', lengthMm: 80, occlusion: false }],
        technicalSuccess: true,
      });
      for (const [i, visit] of patient.visits.entries()) {
        await post(`${base}/visits`, { visitId: `${patient.id}-V${i}`, visit: 'unscheduled', visitOn: at(patient, visit) });
      }
      // Reported before the withdrawal is recorded: an adverse event dated after it is refused from then on.
      for (const [i, event] of patient.events.entries()) {
        await post(`${base}/adverse-events`, {
          eventId: `${patient.id}-E${i}`,
          kind: event.kind,
          onsetOn: at(patient, event.day),
          ...(event.kind === 'tvr' ? { limb: 'index', tvr: { clinicallyDriven: true } } : {}),
          description: 'as in libs/statistics/reference/datasets.json',
        });
      }
      if (patient.withdrawn !== undefined) {
        const res = await post(`${base}/withdrawal`, { withdrawnOn: at(patient, patient.withdrawn), reason: 'consent withdrawn' });
        last = (res.body as { position: number }).position;
      }
    }
    beforeW2 = last;
    // The default rule, withdrawal-date, by leaving it out.
    await charter('w2');
  });
  afterAll(async () => {
    await p?.close();
  });

  const query = (extra: string) => `basis=site-reported&cutoff=${R_COHORT.cutoffDate}${extra}`;

  it('keeps each charter version with its rule: GET /trials/{t} shows it, the default when none was given', async () => {
    const trial = (await get('').expect(200)).body as { charters: Array<{ version: string; censoring: { withdrawal: string } }> };
    expect(trial.charters.map((c) => [c.version, c.censoring])).toEqual([
      ['w1', { withdrawal: 'last-contact' }],
      ['w2', { withdrawal: 'withdrawal-date' }],
    ]);
    const refused = await p.http
      .put(`/trials/${trialId}/charter`)
      .set('Authorization', `Bearer ${admin}`)
      .send({
        version: 'w3',
        censoring: { withdrawal: 'never' },
        endpoints: [{ id: 's', label: 's', horizonDays: 1, events: [], includesDeath: true }],
      });
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it('reports every figure R gives under the rule of the charter version applied, now (withdrawal-date) and as of before w2 (last-contact)', async () => {
    const check = new AgainstR();
    const knowledge: Array<[RRule, string, string]> = [
      [R_RULES.find((r) => r.withdrawal === 'withdrawal-date')!, '', 'w2'],
      [R_RULES.find((r) => r.withdrawal === 'last-contact')!, `&asOfPosition=${beforeW2}`, 'w1'],
    ];
    for (const [rule, asOf, version] of knowledge) {
      const pooled = (await get(`/reports/endpoints?${query(asOf)}`).expect(200)).body as CensoredReport;
      const byDiabetes = (await get(`/reports/endpoints?${query(`${asOf}&groupBy=diabetes`)}`).expect(200)).body as CensoredReport;
      for (const report of [pooled, byDiabetes])
        expect([report.charterVersion, report.censoring]).toEqual([version, { withdrawal: rule.withdrawal }]);
      for (const endpoint of rule.endpoints) {
        for (const subset of endpoint.subsets) {
          const report = subset.subset === 'pooled' ? pooled : byDiabetes;
          const group = report.endpoints
            .find((e) => e.id === endpoint.id)
            ?.groups.find((g) => JSON.stringify(g.key) === subsetKey(subset.subset));
          const label = `${rule.withdrawal} ${endpoint.id} ${subset.subset}`;
          const km = subset.km.at[0]!;
          check.equal(`${label} n`, group?.n, subset.n);
          check.equal(`${label} events`, group?.events, subset.events);
          check.equal(`${label} censored`, group?.censored, subset.censored);
          check.equal(`${label} evaluable`, group?.crude.evaluable, subset.crude.evaluable);
          check.close(`${label} km.survival`, group?.km.survival, km.survival);
          check.close(`${label} km.standardError`, group?.km.standardError, km.standardError);
          check.close(`${label} km.lower`, group?.km.lower, km.lower);
          check.close(`${label} km.upper`, group?.km.upper, km.upper);
          check.close(`${label} crude.eventFree`, group?.crude.eventFree, subset.crude.estimate);
          check.close(`${label} crude.lower`, group?.crude.lower, subset.crude.lower);
          check.close(`${label} crude.upper`, group?.crude.upper, subset.crude.upper);
          if (subset.cuminc) {
            check.close(`${label} cuminc.estimate`, group?.cumulativeIncidence?.estimate, subset.cuminc.estimate);
            check.close(`${label} cuminc.lower`, group?.cumulativeIncidence?.lower, subset.cuminc.lower);
            check.close(`${label} cuminc.upper`, group?.cumulativeIncidence?.upper, subset.cuminc.upper);
          }
        }
      }
    }
    expect(check.mismatches).toEqual([]);
    // 2 rules × 3 subsets × (TVR: 4 KM + 3 crude + 3 cumulative incidence; survival: 4 KM + 3 crude).
    expect(check.figures).toBe(102);
  });

  it('plots the curve (JSON and SVG) under the same rule: every step of R’s survfit', async () => {
    const check = new AgainstR();
    for (const [withdrawal, asOf] of [
      ['withdrawal-date', ''],
      ['last-contact', `&asOfPosition=${beforeW2}`],
    ] as const) {
      const rule = R_RULES.find((r) => r.withdrawal === withdrawal)!;
      for (const endpoint of rule.endpoints) {
        const curve = (await get(`/reports/endpoints/${endpoint.id}/curve?${query(`${asOf}&groupBy=diabetes`)}`).expect(200))
          .body as CurveBody;
        expect(curve.censoring).toEqual({ withdrawal });
        for (const subset of endpoint.subsets.filter((x) => x.subset !== 'pooled')) {
          const points = curve.groups.find((g) => JSON.stringify(g.key) === subsetKey(subset.subset))?.points.slice(1) ?? [];
          check.equal(`${withdrawal} ${endpoint.id} ${subset.subset} steps`, points.length, subset.km.steps.length);
          subset.km.steps.forEach((step, i) => {
            const label = `${withdrawal} ${endpoint.id} ${subset.subset} t=${step.time}`;
            const point = points[i];
            check.equal(`${label} time`, point?.time, step.time);
            check.equal(`${label} atRisk`, point?.atRisk, step.nRisk);
            check.equal(`${label} events`, point?.events, step.nEvent);
            check.equal(`${label} censored`, point?.censored, step.nCensor);
            const one = step.survival === 1 ? 1 : undefined;
            check.close(`${label} survival`, point?.survival, step.survival);
            check.close(`${label} lower`, point?.lower, step.lower, one);
            check.close(`${label} upper`, point?.upper, step.upper, one);
          });
        }
      }
      const svg = await get(`/reports/endpoints/freedom-from-cd-tvr/curve?${query(asOf)}`)
        .set('Accept', 'image/svg+xml')
        .buffer(true)
        .parse((res, done) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => done(null, text));
        })
        .expect(200);
      expect(svg.body as string).toContain(
        withdrawal === 'last-contact' ? 'censored at the last contact' : 'censored at the withdrawal date',
      );
    }
    expect(check.mismatches).toEqual([]);
  });
});
