/**
 * DSMB data cuts (api.md "Data cuts", issue #17): frozen and hashed, the open and closed reports as
 * HTML and PDF, ADaM ADTTE checked against R, and `trialctl cut` re-deriving every byte from an
 * audit export alone. On PGlite, and on PostgreSQL when DATABASE_URL names a server.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Response } from 'supertest';
import { EXPECTED_SITE_REPORTED, legDebBtkCohort } from '../scripts/demo-cohort';
import { startPlatform, uniqueId, type RunningPlatform } from './support/platform';
import { adjudicateAsReported, seedCohort, type CohortTokens } from './support/seed-cohort';
import { runTrialctl, runTrialctlToFile } from './support/trialctl';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PDFParse } = require('pdf-parse') as { PDFParse: new (o: { data: Buffer }) => { getText(): Promise<{ text: string }> } };

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

const CUTOFF = '2025-12-31';
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const binary = (res: Response, done: (error: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => done(null, Buffer.concat(chunks)));
};
const pdfText = async (bytes: Buffer) => (await new PDFParse({ data: bytes }).getText()).text.replace(/\s+/g, ' ');
const htmlText = (html: string) =>
  html
    .replace(/<svg[\s\S]*?<\/svg>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

/** The text of one endpoint's section: from its heading `label (id)` to the next heading of the same kind. */
function section(text: string, endpointId: string): string {
  const start = text.indexOf(`(${endpointId})`);
  expect(start).toBeGreaterThanOrEqual(0);
  const next = text.slice(start + 1).search(/\((freedom-from|amputation-free|survival)[a-z-]*\)/);
  return next < 0 ? text.slice(start) : text.slice(start, start + 1 + next);
}

/** The rows of each endpoint's group tables in a report's HTML: endpoint id → row label → cells. */
function htmlRows(html: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const part of html.split('<h2').slice(1)) {
    const id = /\(([a-z-]+)\)<\/h2>/.exec(part)?.[1];
    if (!id) continue;
    const rows = new Map<string, string[]>();
    for (const row of part.matchAll(/<tr>(.*?)<\/tr>/g)) {
      const cells = [...(row[1] ?? '').matchAll(/<td class="\w+">(.*?)<\/td>/g)].map((m) => m[1] ?? '');
      if (cells.length === 9 && cells[0] !== undefined) rows.set(cells[0], cells);
    }
    out.set(id, rows);
  }
  return out;
}

const numbers = (cell: string | undefined) => [...(cell ?? '').matchAll(/-?\d+\.\d{4}/g)].map((m) => Number(m[0]));

describe.each(backends)('DSMB data cuts on %s', (_name, databaseUrl) => {
  let p: RunningPlatform;
  let tokens: CohortTokens;
  const t = uniqueId('CUT');
  const cohort = legDebBtkCohort();
  const dir = mkdtempSync(join(tmpdir(), 'data-cuts-'));
  const frozen: Record<string, { hashes: Record<string, string>; position: number }> = {};

  const post = (who: string, body: object, key?: string) => {
    const req = p.http.post(`/trials/${t}/data-cuts`).set('Authorization', `Bearer ${tokens[who]}`);
    return (key ? req.set('Idempotency-Key', key) : req).send(body);
  };
  const document = (who: string, path: string, accept: string) =>
    p.http
      .get(`/trials/${t}/data-cuts/${path}`)
      .set('Authorization', `Bearer ${tokens[who]}`)
      .set('Accept', accept)
      .buffer(true)
      .parse(binary);
  const freeze = async (dataCutId: string, extra: object = {}) => {
    const started = Date.now();
    const res = await post('admin', { dataCutId, cutoff: CUTOFF, note: `DSMB review ${dataCutId}`, ...extra });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201, body: { id: dataCutId } });
    frozen[dataCutId] = res.body.dataCut;
    console.log(`froze ${dataCutId} in ${Date.now() - started} ms`);
    return res.body.dataCut as { hashes: Record<string, string>; position: number; knownAt: string };
  };

  beforeAll(async () => {
    p = await startPlatform(databaseUrl ? { databaseUrl } : {});
    tokens = await seedCohort(p, t, cohort);
    tokens.investigator = tokens.S01!;
    tokens.reviewer = await p.token('cec-reviewer', { sub: 'rev-x' });
  });
  afterAll(async () => {
    await p?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("freezes the seed cohort before the CEC's adjudications: every endpoint event pending, none counted", async () => {
    const cut = await freeze('DC-before');
    expect(Object.keys(cut.hashes).sort()).toEqual(
      ['adtteCsv', 'adtteCsvBlinded', 'adtteJson', 'adtteJsonBlinded', 'closedHtml', 'closedPdf', 'openHtml', 'openPdf'].sort(),
    );
    const pdf = (await document('dsmb', 'DC-before/report?session=open', 'application/pdf').expect(200)).body as Buffer;
    expect(sha256(pdf)).toBe(cut.hashes.openPdf);
    const htmlAnswer = await document('sponsor', 'DC-before/report?session=open', 'text/html').expect(200);
    const html = htmlAnswer.body as Buffer;
    expect(sha256(html)).toBe(cut.hashes.openHtml);
    // Styled in a browser (inline style), and nothing active: no script, no fetch.
    expect(htmlAnswer.headers['content-security-policy']).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    const diabetic = htmlRows(html.toString('utf8')).get('freedom-from-cd-tvr')?.get('diabetes');
    // n 16, no adjudicated event, 16 censored, 2 pending, KM 1.
    expect(diabetic?.slice(1, 6)).toEqual(['16', '0', '16', '2', '1.0000 [1.0000, 1.0000]']);
    expect(await pdfText(pdf)).toContain('Pending');
  });

  it("after the CEC's adjudications the open report shows the article's table, in the PDF's text and in the HTML", async () => {
    await adjudicateAsReported(p, t, cohort, tokens);
    const cut = await freeze('DC-after');
    expect(cut.hashes.openPdf).not.toBe(frozen['DC-before']?.hashes.openPdf);
    const pdf = (await document('dsmb', 'DC-after/report?session=open', 'application/pdf').expect(200)).body as Buffer;
    const html = ((await document('dsmb', 'DC-after/report?session=open', 'text/html').expect(200)).body as Buffer).toString('utf8');
    expect(sha256(pdf)).toBe(cut.hashes.openPdf);
    console.log(`open report PDF ${pdf.length} bytes, HTML ${Buffer.byteLength(html)} bytes`);
    const fromPdf = await pdfText(pdf);
    const fromHtml = htmlText(html);
    const rows = htmlRows(html);
    for (const [endpointId, groups] of Object.entries(EXPECTED_SITE_REPORTED)) {
      for (const g of groups) {
        const crude = `${g.eventFree}/${g.n} = ${(g.eventFree / g.n).toFixed(4)}`;
        expect({ endpointId, pdf: section(fromPdf, endpointId).includes(crude) }).toEqual({ endpointId, pdf: true });
        expect({ endpointId, html: section(fromHtml, endpointId).includes(crude) }).toEqual({ endpointId, html: true });
        const row = rows.get(endpointId)?.get(g.diabetes ? 'diabetes' : 'no diabetes');
        expect({ endpointId, n: row?.[1], km: numbers(row?.[5])[0] }).toEqual({
          endpointId,
          n: String(g.n),
          km: Number((g.eventFree / g.n).toFixed(4)),
        });
      }
    }
    // api.md's example row: KM 0.8750 [0.5860, 0.9672], SE 0.0827, crude 14/16 [0.6165, 0.9845].
    expect(rows.get('freedom-from-cd-tvr')?.get('diabetes')?.slice(1, 8)).toEqual([
      '16',
      '2',
      '14',
      '0',
      '0.8750 [0.5860, 0.9672]',
      '0.0827',
      '14/16 = 0.8750 [0.6165, 0.9845]',
    ]);
    expect(fromPdf).toContain('0.8750 [0.5860, 0.9672]');
    // The title page: cut, cut-off, knowledge position and instant, charter and rule, chain head.
    for (const fact of ['DC-after', CUTOFF, String(cut.position), cut.knownAt, 'default-1', 'withdrawals censored at the withdrawal date'])
      expect({ fact, pdf: fromPdf.includes(fact), html: fromHtml.includes(fact) }).toEqual({ fact, pdf: true, html: true });
  });

  it('answers the same bytes for every read, and lists the cuts', async () => {
    const first = (await document('dsmb', 'DC-after/report?session=closed', 'application/pdf').expect(200)).body as Buffer;
    const second = (await document('dsmb', 'DC-after/report?session=closed', 'application/pdf').expect(200)).body as Buffer;
    expect(first.equals(second)).toBe(true);
    expect(sha256(first)).toBe(frozen['DC-after']?.hashes.closedPdf);
    const list = await p.http.get(`/trials/${t}/data-cuts`).set('Authorization', `Bearer ${tokens.auditor}`).expect(200);
    expect(list.body.dataCuts.map((c: { dataCutId: string }) => c.dataCutId)).toEqual(['DC-before', 'DC-after']);
    expect(list.body.dataCuts[1]).toMatchObject({ frozenBy: { userId: 'admin' }, cutoff: CUTOFF, charterVersion: 'default-1' });
  });

  it('keeps the rules: the closed session is for the DSMB, each closed read is in the audit trail, treatment only for the DSMB', async () => {
    await document('sponsor', 'DC-after/report?session=closed', 'text/html').expect(403);
    const admin = await document('admin', 'DC-after/report?session=closed', 'text/html').expect(403);
    expect(JSON.parse(admin.body.toString('utf8'))).toMatchObject({ code: 'CLOSED_SESSION_FORBIDDEN' });
    await document('investigator', 'DC-after/report?session=open', 'text/html').expect(403);
    await document('reviewer', 'DC-after/adtte', 'application/json').expect(403);
    await document('admin', 'DC-after/adtte', 'application/json').expect(403);
    await document('dsmb', 'DC-after/report?session=secret', 'text/html').expect(400);
    await post('dsmb', { dataCutId: 'DC-dsmb', cutoff: CUTOFF, note: 'x' }).expect(403);

    const closed = ((await document('dsmb', 'DC-after/report?session=closed', 'text/html').expect(200)).body as Buffer).toString('utf8');
    expect(closed).toContain('CLOSED SESSION');
    const trail = await p.http
      .get(`/trials/${t}/audit?streamId=unblinding/${t}`)
      .set('Authorization', `Bearer ${tokens.auditor}`)
      .expect(200);
    const reads = (trail.body.items as Array<{ type: string; who: { userId: string }; what: { what: string } }>).filter(
      (i) => i.type === 'UnblindedResultsViewed' && i.what.what.startsWith('data cut DC-after closed report'),
    );
    expect(reads.length).toBeGreaterThanOrEqual(3);
    expect(reads.every((r) => r.who.userId === 'dsmb-1')).toBe(true);

    for (const who of ['sponsor', 'auditor']) {
      const csv = ((await document(who, 'DC-after/adtte', 'text/csv').expect(200)).body as Buffer).toString('utf8');
      expect(csv.split('\r\n')[0]).not.toContain('TRTP');
      expect(sha256(csv)).toBe(frozen['DC-after']?.hashes.adtteCsvBlinded);
    }
    const json = JSON.parse(((await document('dsmb', 'DC-after/adtte', 'application/json').expect(200)).body as Buffer).toString('utf8'));
    expect(json).toMatchObject({ datasetJSONVersion: '1.1.0', name: 'ADTTE', records: cohort.patients.length * 5 });
    expect(json.columns.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['TRTP', 'TRTA', 'CNSR', 'SRCSEQ']));
    console.log(`ADTTE ${json.records} records`);
  });

  it("R's survfit and cuminc on the exported ADTTE reproduce every figure of the cut's open and closed report to 1e-4", async () => {
    const csv = ((await document('dsmb', 'DC-after/adtte', 'text/csv').expect(200)).body as Buffer).toString('utf8');
    const file = join(dir, 'adtte.csv');
    writeFileSync(file, csv);
    const horizons =
      'freedom-from-cd-tvr=180,freedom-from-amputation=180,freedom-from-major-amputation=365,amputation-free-survival=365,survival=365';
    const script = join(__dirname, '..', 'apps', 'reporting', 'reference', 'adtte.R');
    const r = spawnSync('Rscript', [script, file, horizons], { encoding: 'utf8' });
    let figures: RFigure[];
    if (r.error) {
      console.log(`R was not available (${r.error.message}): comparing with apps/reporting/reference/adtte-seed.json`);
      figures = JSON.parse(readFileSync(join(__dirname, '..', 'apps', 'reporting', 'reference', 'adtte-seed.json'), 'utf8')) as RFigure[];
    } else {
      expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
      figures = JSON.parse(r.stdout) as RFigure[];
      if (process.env.WRITE_R_REFERENCE)
        writeFileSync(join(__dirname, '..', 'apps', 'reporting', 'reference', 'adtte-seed.json'), `${JSON.stringify(figures, null, 1)}\n`);
    }
    const open = htmlRows(
      ((await document('dsmb', 'DC-after/report?session=open', 'text/html').expect(200)).body as Buffer).toString('utf8'),
    );
    const closed = htmlRows(
      ((await document('dsmb', 'DC-after/report?session=closed', 'text/html').expect(200)).body as Buffer).toString('utf8'),
    );
    const label: Record<string, (g: string) => string> = {
      pooled: () => 'All patients',
      DIABFL: (g) => (g === 'Y' ? 'diabetes' : 'no diabetes'),
      CLIFL: (g) => (g === 'Y' ? 'cli' : 'claudication'),
      TRTP: (g) => (g === '' ? 'no arm' : `arm ${g}`),
    };
    let compared = 0;
    let maxDiff = 0;
    for (const f of figures) {
      const row = (f.by === 'TRTP' ? closed : open).get(f.paramcd)?.get(label[f.by]!(f.group));
      expect({ figure: `${f.paramcd} ${f.by} ${f.group}`, found: row !== undefined, n: row?.[1] }).toEqual({
        figure: `${f.paramcd} ${f.by} ${f.group}`,
        found: true,
        n: String(f.n),
      });
      const [survival, lower, upper] = numbers(row?.[5]);
      const pairs: Array<[number | null, number | undefined]> = [
        [f.km.survival, survival],
        [f.km.lower, lower],
        [f.km.upper, upper],
        [f.km.standardError, numbers(row?.[6])[0]],
      ];
      if (row?.[8] !== 'n/a') {
        const [estimate, ciLower, ciUpper] = numbers(row?.[8]);
        pairs.push([f.cuminc.estimate, estimate], [f.cuminc.lower, ciLower], [f.cuminc.upper, ciUpper]);
      }
      for (const [expected, actual] of pairs) {
        // R says NA where a log-log interval is undefined (S = 1, F = 0); the report states [1, 1] or [0, 0] there.
        if (expected === null) continue;
        const diff = Math.abs(expected - (actual ?? NaN));
        expect({ figure: `${f.paramcd} ${f.by} ${f.group}`, close: diff <= 1e-4 }).toEqual({
          figure: `${f.paramcd} ${f.by} ${f.group}`,
          close: true,
        });
        maxDiff = Math.max(maxDiff, diff);
        compared += 1;
      }
    }
    console.log(`R agreement: ${compared} figures, max abs diff ${maxDiff.toExponential(2)}`);
    expect(compared).toBeGreaterThan(100);
  });

  it("leaves an old cut's bytes unchanged after a correction, and a new cut that replaces it differs; trialctl cut re-derives both from the export", async () => {
    const patient = cohort.patients.find((x) => x.adverseEvents.some((e) => e.kind === 'tvr'))!;
    const event = patient.adverseEvents.find((e) => e.kind === 'tvr')!;
    await p.http
      .post(`/trials/${t}/patients/${patient.enrollment.patientId}/adverse-events/${event.eventId}/corrections`)
      .set('Authorization', `Bearer ${tokens[patient.enrollment.siteId]}`)
      .send({ changes: { onsetOn: '2025-11-01' }, reason: 'source document shows a later date' })
      .expect(201);
    // The correction reopens the case in the background (the case opener): the case view waits for it,
    // so the new cut below is frozen on a log where the TVR is no longer adjudicated.
    const reopened = await p.http
      .get(`/trials/${t}/adjudication/cases/${event.eventId}`)
      .set('Authorization', `Bearer ${tokens.chair}`)
      .expect(200);
    expect(reopened.body).toMatchObject({ round: 2, status: 'awaiting-assignment' });
    const old = (await document('dsmb', 'DC-after/report?session=open', 'application/pdf').expect(200)).body as Buffer;
    expect(sha256(old)).toBe(frozen['DC-after']?.hashes.openPdf);
    const corrected = await freeze('DC-after-2', { replaces: 'DC-after' });
    expect(corrected.hashes.adtteCsv).not.toBe(frozen['DC-after']?.hashes.adtteCsv);
    expect(corrected.position).toBeGreaterThan(frozen['DC-after']!.position);

    const exported = await p.http
      .get(`/trials/${t}/audit/export`)
      .set('Authorization', `Bearer ${tokens.auditor}`)
      .buffer(true)
      .parse(binary)
      .expect(200);
    const file = join(dir, 'export.ndjson');
    writeFileSync(file, exported.body as Buffer);
    for (const id of ['DC-after', 'DC-after-2']) {
      const run = runTrialctl(['cut', file, '--data-cut', id]);
      expect({ id, status: run.status, stderr: run.stderr }).toEqual({ id, status: 0, stderr: '' });
      expect(run.stdout).toContain(`OK data cut ${id}`);
    }
    const out = join(dir, 'closed.pdf');
    const run = runTrialctlToFile(['cut', file, '--data-cut', 'DC-after', '--report', 'closed', '--format', 'pdf'], out);
    expect(run.status).toBe(0);
    const api = (await document('dsmb', 'DC-after/report?session=closed', 'application/pdf').expect(200)).body as Buffer;
    expect(readFileSync(out).equals(api)).toBe(true);
    const adtte = join(dir, 'adtte.json');
    expect(runTrialctlToFile(['cut', file, '--data-cut', 'DC-after', '--adtte', 'json'], adtte).status).toBe(0);
    expect(sha256(readFileSync(adtte))).toBe(frozen['DC-after']?.hashes.adtteJson);

    // One byte of one event's payload changed: the export no longer verifies, and nothing is derived from it.
    const text = readFileSync(file, 'utf8');
    const tampered = join(dir, 'tampered.ndjson');
    // The site's correction itself (written by the request, not by a background subscriber).
    writeFileSync(tampered, text.replace('"field":"onsetOn","value":"2025-11-01"', '"field":"onsetOn","value":"2025-11-02"'));
    expect(readFileSync(tampered, 'utf8')).not.toBe(text);
    const refused = runTrialctl(['cut', tampered, '--data-cut', 'DC-after-2']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('cut refused');
    const unknown = runTrialctl(['cut', file, '--data-cut', 'DC-none']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('no data cut DC-none');
  });

  it('refuses what it must: duplicates, a position not yet known, a bad cut-off, unknown trial, cut or replaced cut', async () => {
    const again = await post('admin', { dataCutId: 'DC-before', cutoff: CUTOFF, note: 'again' }).expect(409);
    expect(again.body).toMatchObject({ code: 'DATA_CUT_EXISTS' });
    const [a, b] = await Promise.all([
      post('admin', { dataCutId: 'DC-race', cutoff: CUTOFF, note: 'race' }),
      post('admin', { dataCutId: 'DC-race', cutoff: CUTOFF, note: 'race' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    const [k1, k2] = await Promise.all([
      post('admin', { dataCutId: 'DC-key', cutoff: CUTOFF, note: 'keyed' }, 'key-1'),
      post('admin', { dataCutId: 'DC-key', cutoff: CUTOFF, note: 'keyed' }, 'key-1'),
    ]);
    expect([k1.status, k2.status]).toContain(201);
    for (const r of [k1, k2]) if (r.status !== 201) expect(r.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_PROGRESS' });
    const replay = await post('admin', { dataCutId: 'DC-key', cutoff: CUTOFF, note: 'keyed' }, 'key-1').expect(201);
    expect(replay.body.dataCut.hashes).toEqual((k1.status === 201 ? k1 : k2).body.dataCut.hashes);

    const future = await post('admin', { dataCutId: 'DC-future', cutoff: CUTOFF, note: 'x', asOfPosition: 999_999_999 }).expect(409);
    expect(future.body).toMatchObject({ code: 'NOT_YET_KNOWN' });
    const bad = await post('admin', { dataCutId: 'DC-bad', cutoff: '2025-13-01', note: 'x' }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).join()).toContain('cutoff');
    const missing = await post('admin', { dataCutId: 'DC-x', cutoff: CUTOFF, note: 'x', replaces: 'DC-nope' }).expect(422);
    expect(missing.body).toMatchObject({ code: 'REPLACED_DATA_CUT_NOT_FOUND' });
    const noTrial = await p.http
      .post(`/trials/NO-SUCH-TRIAL/data-cuts`)
      .set('Authorization', `Bearer ${tokens.admin}`)
      .send({ dataCutId: 'DC1', cutoff: CUTOFF, note: 'x' })
      .expect(404);
    expect(noTrial.body).toMatchObject({ code: 'TRIAL_NOT_FOUND' });
    const noCut = await document('dsmb', 'DC-nope/report?session=open', 'text/html').expect(404);
    expect(JSON.parse(noCut.body.toString('utf8'))).toMatchObject({ code: 'DATA_CUT_NOT_FOUND' });
  });
});

interface RFigure {
  paramcd: string;
  by: 'pooled' | 'DIABFL' | 'CLIFL' | 'TRTP';
  group: string;
  n: number;
  km: { survival: number | null; lower: number | null; upper: number | null; standardError: number | null };
  cuminc: { estimate: number | null; lower: number | null; upper: number | null };
}
