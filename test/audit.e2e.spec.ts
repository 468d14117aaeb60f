import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { ImportRefusedError, importExport, storeIsEmpty, verifyExport, type AuditItem } from '../libs/audit/src';
import { openDataSource } from '../libs/event-store/src';
import { platformMigrations } from '../apps/platform/src/platform.module';
import { startPlatform, uniqueId, type RunningPlatform } from './support/platform';
import { runTrialctl as run } from './support/trialctl';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

const baseline = { ageYears: 71, sex: 'M', diabetes: true, presentation: 'cli', rutherfordClass: 5 };

describe.each(backends)('audit trail and export on %s', (_name, databaseUrl) => {
  let p: RunningPlatform;
  let admin: string;
  let inv: string;
  let auditor: string;
  let trialId: string;
  let patientId: string;
  let eventId: string;
  let exportText: string;
  const times: Record<string, string> = {};

  const post = (path: string, token: string, body: unknown) =>
    p.http
      .post(path)
      .set('Authorization', `Bearer ${token}`)
      .send(body as object);
  const audit = (query: string, token = auditor) => p.http.get(`/trials/${trialId}/audit${query}`).set('Authorization', `Bearer ${token}`);
  const step = (label: string) => {
    p.clock.advance(60_000);
    times[label] = p.clock.now().toISOString();
  };

  beforeAll(async () => {
    p = await startPlatform({ databaseUrl });
    admin = await p.token('trial-admin', { sub: 'admin-1', name: 'Ada Admin' });
    inv = await p.token('site-investigator', { sub: 'inv-1', name: 'Dr. Uno', sites: ['S01'] });
    auditor = await p.token('auditor', { sub: 'aud-1', name: 'Ann Auditor' });
    trialId = uniqueId('T');
    patientId = uniqueId('P');
    eventId = uniqueId('AE');
    step('trial');
    await post('/trials', admin, { trialId, title: 'Audit trial', protocolVersion: '1.0', arms: ['DCB', 'PTA'] }).expect(201);
    await post(`/trials/${trialId}/sites`, admin, { siteId: 'S01', name: 'Ospedale Uno', country: 'IT' }).expect(201);
    step('patient');
    await post(`/trials/${trialId}/patients`, inv, { patientId, siteId: 'S01', enrolledOn: '2026-01-10', arm: 'DCB', baseline }).expect(
      201,
    );
    step('ae');
    await post(`/trials/${trialId}/patients/${patientId}/adverse-events`, inv, {
      eventId,
      kind: 'amputation',
      onsetOn: '2026-01-12',
      limb: 'index',
      amputation: { level: 'minor', planned: true },
      description: 'toe amputation',
    }).expect(201);
    step('correction');
    await post(`/trials/${trialId}/patients/${patientId}/adverse-events/${eventId}/corrections`, inv, {
      changes: { onsetOn: '2026-01-13' },
      reason: 'source document verification',
    }).expect(201);
    step('unblinded');
    const dsmb = await p.token('dsmb-member', { sub: 'dsmb-1', name: 'Dr. Board' });
    await p.http.get(`/trials/${trialId}/reports/endpoints?groupBy=arm`).set('Authorization', `Bearer ${dsmb}`).expect(200);
  });
  afterAll(async () => {
    await p?.close();
  });

  it('lists the correction with who, when (UTC), why and the previous value', async () => {
    const res = await audit('').expect(200);
    const items = res.body.items as AuditItem[];
    expect(res.body.next).toBeUndefined();
    const correction = items.find((i) => i.type === 'AdverseEventCorrected');
    expect(correction).toMatchObject({
      streamId: `adverse-event/${trialId}/${eventId}`,
      streamVersion: 2,
      recordedAt: times.correction,
      who: { userId: 'inv-1', name: 'Dr. Uno', roles: ['site-investigator'] },
      why: 'source document verification',
      changes: [{ field: 'onsetOn', previous: '2026-01-12', value: '2026-01-13' }],
    });
    expect(correction?.what).toMatchObject({ changes: expect.any(Array) });
    expect(items.map((i) => i.streamId).every((s) => s.includes(`/${trialId}`))).toBe(true);
    const positions = items.map((i) => i.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    // The DSMB's unblinded read is itself in the trail.
    expect(items.find((i) => i.streamId === `unblinding/${trialId}`)).toMatchObject({
      who: { userId: 'dsmb-1' },
      why: 'unblinded report by arm',
    });
    await audit('', admin).expect(200);
  });

  it('filters by streamId, type, actor and from/to', async () => {
    const byStream = (await audit(`?streamId=trial/${trialId}`).expect(200)).body.items as AuditItem[];
    expect(byStream.map((i) => i.type)).toEqual(['TrialRegistered', 'SiteAdded']);
    const byType = (await audit('?type=AdverseEventCorrected').expect(200)).body.items as AuditItem[];
    expect(byType).toHaveLength(1);
    const byActor = (await audit('?actor=inv-1').expect(200)).body.items as AuditItem[];
    expect(byActor.map((i) => i.type)).toEqual(['PatientEnrolled', 'AdverseEventReported', 'AdverseEventCorrected']);
    const window = (await audit(`?from=${times.ae}&to=${times.correction}`).expect(200)).body.items as AuditItem[];
    expect(window.every((i) => i.recordedAt >= times.ae! && i.recordedAt <= times.correction!)).toBe(true);
    expect(window.map((i) => i.type)).toEqual(expect.arrayContaining(['AdverseEventReported', 'AdverseEventCorrected']));
    expect(window.map((i) => i.type)).not.toContain('PatientEnrolled');
  });

  it('pages with limit and the `after` cursor', async () => {
    const all = (await audit('?limit=1000').expect(200)).body.items as AuditItem[];
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let guard = 0; guard < 50; guard += 1) {
      const res = await audit(`?limit=2${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`).expect(200);
      seen.push(...(res.body.items as AuditItem[]).map((i) => i.eventId));
      cursor = res.body.next as string | undefined;
      if (!cursor) break;
    }
    expect(seen).toEqual(all.map((i) => i.eventId));
  });

  it('review helpers: corrections per site and late records', async () => {
    const review = await p.http.get(`/trials/${trialId}/audit/review?lateDays=0`).set('Authorization', `Bearer ${auditor}`).expect(200);
    expect(review.body.correctionsPerSite).toEqual([{ siteId: 'S01', corrections: 1, retractions: 0 }]);
    expect(review.body.lateRecords.length).toBeGreaterThanOrEqual(1);
    expect(Array.isArray(review.body.outOfHoursChanges)).toBe(true);
    const bad = await p.http.get(`/trials/${trialId}/audit/review?startHour=20&endHour=8`).set('Authorization', `Bearer ${auditor}`);
    expect({ status: bad.status, code: bad.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it('refuses bad queries with 400 VALIDATION_FAILED and other roles with 403', async () => {
    for (const query of [
      '?limit=0',
      '?limit=1001',
      '?from=yesterday',
      '?after=garbage',
      '?colour=red',
      '?from=2026-07-01T00:00:00Z&to=2026-06-01T00:00:00Z',
    ]) {
      const res = await audit(query);
      expect({ query, status: res.status, code: res.body.code }).toEqual({ query, status: 400, code: 'VALIDATION_FAILED' });
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
    const sponsor = await p.token('sponsor');
    expect((await audit('', sponsor)).status).toBe(403);
    expect((await p.http.get(`/trials/${trialId}/audit/export`).set('Authorization', `Bearer ${sponsor}`)).status).toBe(403);
    expect((await p.http.get(`/trials/${trialId}/audit/export`).set('Authorization', `Bearer ${admin}`)).status).toBe(403);
    expect((await p.http.get(`/trials/${trialId}/audit`)).status).toBe(401);
  });

  it('exports NDJSON that verifies; one tampered line is named', async () => {
    const res = await p.http
      .get(`/trials/${trialId}/audit/export`)
      .set('Authorization', `Bearer ${auditor}`)
      .buffer(true)
      .parse((response, done) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => done(null, text));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    exportText = res.body as string;
    const lines = exportText.split('\n');
    const result = verifyExport(lines);
    expect(result).toMatchObject({ ok: true, trialId });
    const all = (await audit('?limit=1000').expect(200)).body.items as AuditItem[];
    if (result.ok) expect(result.count).toBeGreaterThanOrEqual(all.length);
    const manifest = JSON.parse(lines[lines.length - 2]!) as { kind: string; count: number };
    expect(manifest).toMatchObject({ kind: 'manifest', trialId, algorithm: 'sha256' });
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(first).sort()).toEqual([
      'checkpoint',
      'data',
      'eventId',
      'globalPosition',
      'hash',
      'kind',
      'metadata',
      'recordedAt',
      'schemaVersion',
      'streamId',
      'streamVersion',
      'type',
    ]);

    const index = lines.findIndex((l) => l.includes('"AdverseEventCorrected"'));
    const tampered = [...lines];
    tampered[index] = tampered[index]!.replace('source document verification', 'no reason');
    const bad = verifyExport(tampered);
    expect(bad).toMatchObject({ ok: false, line: index + 1, eventId: (JSON.parse(lines[index]!) as { eventId: string }).eventId });
  });

  describe('import into a fresh store', () => {
    let fresh: DataSource;
    beforeEach(async () => {
      fresh = await openDataSource({ dataDir: 'memory://', migrations: platformMigrations });
    });
    afterEach(async () => {
      await fresh.destroy();
    });

    it('imports the export; the re-exported hashes are equal', async () => {
      const verified = verifyExport(exportText.split('\n'));
      if (!verified.ok) throw new Error(verified.problem);
      const imported = await importExport(fresh, exportText.split('\n'));
      expect(imported).toEqual({ trialId, appended: verified.count, rootHash: verified.rootHash });
      await expect(importExport(fresh, exportText.split('\n'))).rejects.toThrow(/not empty/);
    });

    it('refuses a tampered export and writes nothing', async () => {
      const lines = exportText.split('\n');
      lines.splice(1, 1);
      await expect(importExport(fresh, lines)).rejects.toBeInstanceOf(ImportRefusedError);
      expect(await storeIsEmpty(fresh)).toBe(true);
    });
  });

  describe('trialctl', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'trialctl-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('verify: OK for the export, names the line of a tampered one (exit 1); import and replay refuse it', () => {
      const good = join(dir, 'good.ndjson');
      writeFileSync(good, exportText);
      const ok = run(['verify', good]);
      expect({ status: ok.status, out: ok.stdout }).toEqual({ status: 0, out: expect.stringMatching(/^OK .* events in \d+ streams/) });
      const lines = exportText.split('\n');
      lines[0] = lines[0]!.replace('Audit trial', 'Edited trial');
      const bad = join(dir, 'bad.ndjson');
      writeFileSync(bad, lines.join('\n'));
      const failed = run(['verify', bad]);
      expect(failed.status).toBe(1);
      expect(failed.stderr).toMatch(/line 1, event /);
      const imported = run(['import', bad], { DATA_DIR: join(dir, 'data-bad') });
      expect(imported.status).toBe(1);
      expect(imported.stderr).toMatch(/nothing was written/);
      const replay = run(['replay', bad, '--as-of', '1']);
      expect(replay.status).toBe(1);
      expect(replay.stderr).toMatch(/replay refused/);
      expect(replay.stdout).toBe('');
      const usage = run(['replay']);
      expect(usage.status).toBe(2);
      expect(usage.stderr).toMatch(/missing <export.ndjson>/);
    });

    it('import: into an empty DATA_DIR, then refuses a second import', () => {
      const good = join(dir, 'good.ndjson');
      writeFileSync(good, exportText);
      const first = run(['import', good], { DATA_DIR: join(dir, 'data') });
      expect({ status: first.status, err: first.stderr }).toEqual({ status: 0, err: '' });
      expect(first.stdout).toMatch(/re-export root hash equal/);
      const second = run(['import', good], { DATA_DIR: join(dir, 'data') });
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(/not empty/);
      const kurrent = run(['import', good], { DATA_DIR: join(dir, 'data-k'), KURRENTDB_URL: 'kurrentdb://127.0.0.1:2113?tls=false' });
      expect(kurrent.status).toBe(1);
      expect(kurrent.stderr).toMatch(/KURRENTDB_URL is set.*nothing was written/);
    });
  });
});
