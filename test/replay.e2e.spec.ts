import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyExport } from '../libs/audit/src';
import { ReportParams, computeEndpointReport, defaultCharter, replayReportInput, toReportQuery } from '../apps/reporting/src';
import { TRIAL_ID, amputationExcludingPlannedMinor, legDebBtkCohort } from '../scripts/demo-cohort';
import { startPlatform, type RunningPlatform } from './support/platform';
import { adjudicateAsReported, reclassifyAsNoEvent, seedCohort, type CohortTokens } from './support/seed-cohort';
import { runTrialctl, runTrialctlToFile } from './support/trialctl';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

const HOUR = 3_600_000;
const WITHDRAWN = 'BTK-W01';

/**
 * Round trip for regulators: a trial's history → export → verify → replay gives, at several past
 * knowledge times, byte for byte the report the API gave for the same parameters.
 */
describe.each(backends)('trialctl replay of an export on %s', (_name, databaseUrl) => {
  let p: RunningPlatform;
  let trialId: string;
  let tokens: CohortTokens = {};
  const cohort = legDebBtkCohort();
  /** Knowledge times to replay at: positions after each phase and instants between phases. */
  const positions: number[] = [];
  const instants: string[] = [];
  /** API response bodies by query string, as text and as the bytes on the wire. */
  const answers = new Map<string, string>();
  const answerBytes = new Map<string, Buffer>();
  let exportText = '';
  let dir: string;

  const reportBytes = async (who: string, query: string): Promise<Buffer> => {
    const res = await p.http
      .get(`/trials/${trialId}/reports/endpoints?${query}`)
      .set('Authorization', `Bearer ${tokens[who]}`)
      .buffer(true)
      .parse((response, done) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => done(null, Buffer.concat(chunks)));
      });
    expect({ query, status: res.status }).toEqual({ query, status: 200 });
    return res.body as Buffer;
  };
  const report = async (who: string, query: string) => (await reportBytes(who, query)).toString('utf8');
  const latestPosition = async () =>
    (JSON.parse(await report('admin', 'groupBy=diabetes')) as { asOf: { position: number } }).asOf.position;
  const phase = async (run: () => Promise<void>) => {
    const start = p.clock.now().getTime();
    instants.push(new Date(start - HOUR / 2).toISOString());
    await run();
    positions.push(await latestPosition());
    p.clock.set(new Date(start + HOUR));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'replay-'));
    p = await startPlatform({ databaseUrl });
    trialId = `${TRIAL_ID}-R${databaseUrl ? Date.now().toString(36) : ''}`;
    await phase(async () => {
      tokens = await seedCohort(p, trialId, cohort);
      // A patient who withdraws between visits: censored at day 120 (withdrawal date) or day 30 (last contact).
      const post = (path: string, body: object) =>
        p.http.post(`/trials/${trialId}${path}`).set('Authorization', `Bearer ${tokens.S01}`).send(body).expect(201);
      await post('/patients', {
        patientId: WITHDRAWN,
        siteId: 'S01',
        enrolledOn: '2025-03-01',
        baseline: { ageYears: 70, sex: 'F', diabetes: false, presentation: 'cli', rutherfordClass: 5 },
      });
      await post(`/patients/${WITHDRAWN}/procedures`, {
        procedureId: `${WITHDRAWN}-IDX`,
        performedOn: '2025-03-01',
        limb: 'left',
        device: { kind: 'DCB', name: 'D' },
        lesions: [{ segment: 'btk', lengthMm: 80, occlusion: false }],
        technicalSuccess: true,
      });
      await post(`/patients/${WITHDRAWN}/visits`, { visitId: `${WITHDRAWN}-V30D`, visit: '30d', visitOn: '2025-03-31' });
      await post(`/patients/${WITHDRAWN}/withdrawal`, { withdrawnOn: '2025-06-29', reason: 'consent withdrawn' });
    });
    await phase(() => adjudicateAsReported(p, trialId, cohort, tokens));
    const amputee = cohort.patients.find((x) => x.enrollment.baseline.diabetes && x.adverseEvents.some((e) => e.kind === 'amputation'))!;
    await phase(() => reclassifyAsNoEvent(p, trialId, cohort, tokens, amputee.adverseEvents[0]!.eventId));
    await phase(async () => {
      await p.http
        .put(`/trials/${trialId}/charter`)
        .set('Authorization', `Bearer ${tokens.admin}`)
        .send({ version: '2', endpoints: [amputationExcludingPlannedMinor()], censoring: { withdrawal: 'last-contact' } })
        .expect(201);
    });
    // An instant after everything, settled because the clock has moved past it.
    instants.push(new Date(p.clock.now().getTime() - HOUR / 4).toISOString());
    p.clock.set(new Date(p.clock.now().getTime() + HOUR));

    // Every answer first (a by-arm answer is itself recorded in the trial's log), then the export.
    for (const query of queries()) {
      const bytes = await reportBytes(query.includes('arm') ? 'dsmb' : 'admin', query);
      answerBytes.set(query, bytes);
      answers.set(query, bytes.toString('utf8'));
    }
    const res = await p.http
      .get(`/trials/${trialId}/audit/export`)
      .set('Authorization', `Bearer ${tokens.auditor}`)
      .buffer(true)
      .parse((response, done) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => done(null, text));
      })
      .expect(200);
    exportText = res.body as string;
  });
  afterAll(async () => {
    await p?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function queries(): string[] {
    const knowledge = [...positions.map((x) => `asOfPosition=${x}`), ...instants.map((t) => `asOf=${encodeURIComponent(t)}`)];
    const views = [
      'groupBy=diabetes&cutoff=2025-12-31',
      'basis=site-reported&groupBy=diabetes&cutoff=2025-12-31',
      'groupBy=arm,diabetes&cutoff=2025-12-31',
      'groupBy=segment,site',
      '',
    ];
    return knowledge.flatMap((k) => views.map((v) => (v ? `${k}&${v}` : k)));
  }

  it('the export verifies and holds every phase', () => {
    const verified = verifyExport(exportText.split('\n'));
    expect(verified.ok).toBe(true);
    expect(positions).toHaveLength(4);
    expect(new Set(positions).size).toBe(4);
    // The knowledge times differ in what they show: the reclassification and the new charter.
    const freedom = (q: string) =>
      JSON.parse(answers.get(q)!) as {
        charterVersion: string;
        endpoints: Array<{ id: string; groups: Array<{ key: { diabetes: boolean }; crude: { eventFree: number } }> }>;
      };
    const diabetic = (q: string) =>
      freedom(q)
        .endpoints.find((e) => e.id === 'freedom-from-amputation')!
        .groups.find((g) => g.key.diabetes)!.crude.eventFree;
    const view = 'groupBy=diabetes&cutoff=2025-12-31';
    expect([1, 2, 3].map((i) => diabetic(`asOfPosition=${positions[i]}&${view}`))).toEqual([0.75, 0.8125, 1]);
    expect(freedom(`asOfPosition=${positions[3]}&${view}`).charterVersion).toBe('2');
    // Each answer names the withdrawal rule of the charter version it applied (api.md "Endpoint report").
    const censoring = (q: string) => (JSON.parse(answers.get(q)!) as { censoring: { withdrawal: string } }).censoring.withdrawal;
    expect(positions.map((x) => censoring(`asOfPosition=${x}&${view}`))).toEqual([
      'withdrawal-date',
      'withdrawal-date',
      'withdrawal-date',
      'last-contact',
    ]);
  });

  it('replays byte-identical reports at every position and instant, for every view', () => {
    const verified = verifyExport(exportText.split('\n'));
    if (!verified.ok) throw new Error(verified.problem);
    expect(answers.size).toBe((4 + 5) * 5);
    for (const [query, body] of answers) {
      const params = ReportParams.parse(Object.fromEntries(new URLSearchParams(query)));
      const replayed = JSON.stringify(
        computeEndpointReport(replayReportInput(trialId, verified.events, toReportQuery(params), defaultCharter())),
      );
      expect({ query, body: replayed }).toEqual({ query, body });
      expect({ query, sameBytes: Buffer.compare(Buffer.from(replayed, 'utf8'), answerBytes.get(query)!) === 0 }).toEqual({
        query,
        sameBytes: true,
      });
    }
  });

  it('npx trialctl replay … > file writes the bytes of the API body, at every knowledge time of the trial (cmp)', () => {
    const file = join(dir, 'export.ndjson');
    writeFileSync(file, exportText);
    const views: Array<[string, string[]]> = [
      ['groupBy=diabetes&cutoff=2025-12-31', ['--group-by', 'diabetes', '--cutoff', '2025-12-31']],
      ['groupBy=arm,diabetes&cutoff=2025-12-31', ['--group-by', 'arm,diabetes', '--cutoff', '2025-12-31']],
      ['', []],
    ];
    const knowledge: Array<[string, string[]]> = [
      ...positions.map((x): [string, string[]] => [`asOfPosition=${x}`, ['--as-of', String(x)]]),
      [`asOf=${encodeURIComponent(instants[1]!)}`, ['--as-of', instants[1]!]],
    ];
    // Each knowledge time once, the views taking turns: a run of the bin costs seconds (tsx); the
    // in-process test above compares the bytes of every pair.
    const cases = knowledge.map(([query, flags], i): [string, string[]] => {
      const [view, more] = views[i % views.length]!;
      return [view ? `${query}&${view}` : query, [...flags, ...more]];
    });
    for (const [query, flags] of cases) {
      const out = join(dir, 'replayed.json');
      const run = runTrialctlToFile(['replay', file, ...flags], out);
      expect({ query, status: run.status, stderr: run.stderr }).toEqual({ query, status: 0, stderr: '' });
      const api = answerBytes.get(query)!;
      const replayed = readFileSync(out);
      // cmp: same length and same bytes, not the same parsed JSON.
      expect({ query, length: replayed.length }).toEqual({ query, length: api.length });
      expect({ query, equal: Buffer.compare(replayed, api) === 0 }).toEqual({ query, equal: true });
    }
  });

  it('npx trialctl replay prints the API JSON; refuses a position outside the trial and a tampered file', () => {
    const file = join(dir, 'export.ndjson');
    writeFileSync(file, exportText);
    const atPosition = runTrialctl([
      'replay',
      file,
      '--as-of',
      String(positions[2]),
      '--group-by',
      'arm,diabetes',
      '--cutoff',
      '2025-12-31',
    ]);
    expect({ status: atPosition.status, stderr: atPosition.stderr }).toEqual({ status: 0, stderr: '' });
    expect(atPosition.stdout).toBe(answers.get(`asOfPosition=${positions[2]}&groupBy=arm,diabetes&cutoff=2025-12-31`));
    const atInstant = runTrialctl([
      'replay',
      file,
      '--as-of',
      instants[1]!,
      '--basis',
      'site-reported',
      '--group-by',
      'diabetes',
      '--cutoff',
      '2025-12-31',
    ]);
    expect(atInstant.stdout).toBe(
      answers.get(`asOf=${encodeURIComponent(instants[1]!)}&basis=site-reported&groupBy=diabetes&cutoff=2025-12-31`),
    );

    const elsewhere = runTrialctl(['replay', file, '--as-of', String(positions[3]! + 1_000_000)]);
    expect(elsewhere.status).toBe(1);
    expect(elsewhere.stderr).toMatch(/is not an event of trial/);
    const badFlag = runTrialctl(['replay', file, '--group-by', 'colour']);
    expect(badFlag.status).toBe(2);
    expect(badFlag.stderr).toMatch(/--group-by/);

    const lines = exportText.split('\n');
    const index = lines.findIndex((l) => l.includes('"CaseFinalized"'));
    lines[index] = lines[index]!.replace('"isEndpointEvent":true', '"isEndpointEvent":false');
    const tampered = join(dir, 'tampered.ndjson');
    writeFileSync(tampered, lines.join('\n'));
    const refused = runTrialctl(['replay', tampered, '--as-of', String(positions[3])]);
    expect({ status: refused.status, stdout: refused.stdout }).toEqual({ status: 1, stdout: '' });
    expect(refused.stderr).toMatch(new RegExp(`line ${index + 1}`));
  });
});
