import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Response } from 'supertest';
import { startPlatform, uniqueId, type RunningPlatform } from './support/platform';
import { runTrialctl } from './support/trialctl';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

const baseline = { ageYears: 71, sex: 'M', diabetes: true, presentation: 'cli', rutherfordClass: 5 };
const DEVICE = 'SecretBalloon 4.0';
const ARM = 'Alpha';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** What a site scans and uploads: an operative note naming the device (which would unblind a reviewer). */
const operativeNote = Buffer.from(
  `OPERATIVE NOTE\nPatient underwent above-knee amputation of the right (index) limb.\nPrior treatment: ${DEVICE} drug-coated balloon.\n`,
);
/** The coordinator's redacted rendition: a small PDF with the device blacked out. */
const redactedPdf = Buffer.from(
  '%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n' +
    '% OPERATIVE NOTE: above-knee amputation of the index limb. Prior treatment: [REDACTED].\ntrailer <</Root 1 0 R>>\n%%EOF\n',
);
const pngBytes = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]);
const zipBytes = Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(64, 1)]);

describe.each(backends)('the CEC dossier over HTTP on %s', (_name, databaseUrl) => {
  let p: RunningPlatform;
  let trialId: string;
  const tokens: Record<string, string> = {};
  const as = (who: string) => ({ Authorization: `Bearer ${tokens[who]}` });
  const post = (who: string, path: string, body: unknown) =>
    p.http
      .post(`/trials/${trialId}${path}`)
      .set(as(who))
      .send(body as object);
  const get = (who: string, path: string) =>
    p.http
      .get(`/trials/${trialId}${path}`)
      .set(as(who))
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
  const attach = (
    who: string,
    ae: { patientId: string; eventId: string },
    fields: Record<string, string>,
    file?: { bytes: Buffer; filename: string },
    headers: Record<string, string> = {},
  ) => {
    let r = p.http.post(`/trials/${trialId}/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents`).set(as(who)).set(headers);
    for (const [k, v] of Object.entries(fields)) r = r.field(k, v);
    if (file) r = r.attach('file', file.bytes, { filename: file.filename, contentType: 'application/octet-stream' });
    return r;
  };
  const release = (who: string, caseId: string, fields: Record<string, string>, file?: { bytes: Buffer; filename: string }) => {
    let r = p.http.post(`/trials/${trialId}/adjudication/cases/${caseId}/dossier`).set(as(who));
    for (const [k, v] of Object.entries(fields)) r = r.field(k, v);
    if (file) r = r.attach('file', file.bytes, { filename: file.filename, contentType: 'application/pdf' });
    return r;
  };
  const blobRows = async () => {
    const [row] = await p.dataSource.query<Array<{ contents: string; staging: string }>>(
      'SELECT (SELECT count(*) FROM blob_contents) AS contents, (SELECT count(*) FROM blob_staging) AS staging',
    );
    return { contents: Number(row?.contents), staging: Number(row?.staging) };
  };
  const bodyText = (res: Response) => JSON.stringify(res.body);

  beforeAll(async () => {
    p = await startPlatform({ databaseUrl });
    tokens.admin = await p.token('trial-admin', { sub: 'admin' });
    tokens.inv = await p.token('site-investigator', { sub: 'inv-s01', name: 'Dr. Site One', sites: ['S01'] });
    tokens.inv2 = await p.token('site-investigator', { sub: 'inv-s02', name: 'Dr. Site Two', sites: ['S02'] });
    tokens.coord = await p.token('cec-coordinator', { sub: 'coord', name: 'C. Coordinator' });
    tokens.chair = await p.token('cec-chair', { sub: 'chair', name: 'Prof. Chair' });
    tokens.auditor = await p.token('auditor', { sub: 'aud', name: 'A. Auditor' });
    for (const id of ['rev-a', 'rev-b', 'rev-c']) tokens[id] = await p.token('cec-reviewer', { sub: id, name: `Dr. ${id}` });
    trialId = uniqueId('T');
    await p.http
      .post('/trials')
      .set(as('admin'))
      .send({ trialId, title: 'Dossier trial', protocolVersion: '1', arms: [ARM, 'Beta'] })
      .expect(201);
    for (const siteId of ['S01', 'S02']) await post('admin', '/sites', { siteId, name: `Site ${siteId}`, country: 'IT' }).expect(201);
    for (const m of [
      { userId: 'chair', name: 'Prof. Chair', role: 'cec-chair', affiliatedSiteIds: [] },
      { userId: 'rev-a', name: 'Dr. rev-a', role: 'cec-reviewer', affiliatedSiteIds: [] },
      { userId: 'rev-b', name: 'Dr. rev-b', role: 'cec-reviewer', affiliatedSiteIds: [] },
      { userId: 'rev-c', name: 'Dr. rev-c', role: 'cec-reviewer', affiliatedSiteIds: [] },
    ])
      await post('admin', '/committee-members', m).expect(201);
  });
  afterAll(async () => {
    await p?.close();
  });

  /** A patient of S01 with an index procedure and an amputation (which opens a case), its reviewers assigned. */
  async function amputation(): Promise<{ patientId: string; eventId: string; caseId: string }> {
    const patientId = uniqueId('P');
    await post('inv', '/patients', { patientId, siteId: 'S01', enrolledOn: '2026-01-05', arm: ARM, baseline }).expect(201);
    await post('inv', `/patients/${patientId}/procedures`, {
      procedureId: 'IDX',
      performedOn: '2026-01-05',
      limb: 'right',
      device: { kind: 'DCB', name: DEVICE },
      lesions: [{ segment: 'btk', lengthMm: 110, occlusion: true }],
      technicalSuccess: true,
    }).expect(201);
    const eventId = uniqueId('AE');
    const res = await post('inv', `/patients/${patientId}/adverse-events`, {
      eventId,
      kind: 'amputation',
      onsetOn: '2026-02-01',
      limb: 'index',
      amputation: { level: 'major', planned: false },
      description: 'Above-knee amputation',
    }).expect(201);
    const caseId = (res.body as { caseId: string }).caseId;
    // The case opener works in the background: the chair's command waits for it.
    await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-a', 'rev-b'] }).expect(201);
    return { patientId, eventId, caseId };
  }

  it('attach → redact and release → the reviewer downloads the rendition → the download in the audit trail → export and verify --documents', async () => {
    const ae = await amputation();
    const before = await blobRows();

    const attached = await attach(
      'inv',
      ae,
      { documentId: 'DOC-1', kind: 'operative-note', title: 'Operative note, day of amputation' },
      { bytes: operativeNote, filename: 'op-note.pdf' }, // named .pdf, but it is text: the content decides
    ).expect(201);
    expect(attached.body).toMatchObject({
      id: 'DOC-1',
      documentId: 'DOC-1',
      mediaType: 'text/plain',
      size: operativeNote.length,
      sha256: sha256(operativeNote),
      filename: 'op-note.pdf',
    });
    expect((attached.body as { position: number }).position).toBeGreaterThan(0);

    // Reviewers and the chair see nothing until the coordinator releases a rendition.
    await get('rev-a', `/adjudication/cases/${ae.caseId}/dossier/DOC-1`).expect(404);
    await get('chair', `/adjudication/cases/${ae.caseId}/dossier/DOC-1`).expect(404);
    // Nor the original: it is for the site, the coordinator and auditors.
    await get('rev-a', `/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents/DOC-1`).expect(403);
    await get('chair', `/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents/DOC-1`).expect(403);
    await get('inv2', `/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents/DOC-1`).expect(403);

    const original = await get('coord', `/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents/DOC-1`).expect(200);
    expect(Buffer.compare(original.body as Buffer, operativeNote)).toBe(0);
    expect(original.headers['content-type']).toBe('text/plain; charset=utf-8');

    const released = await release(
      'coord',
      ae.caseId,
      { documentId: 'DOC-1', redactionNote: 'Device name blacked out on page 1' },
      { bytes: redactedPdf, filename: 'op-note-redacted.pdf' },
    ).expect(201);
    expect(released.body).toMatchObject({ documentId: 'DOC-1', rendition: { sha256: sha256(redactedPdf), mediaType: 'application/pdf' } });

    const download = await get('rev-a', `/adjudication/cases/${ae.caseId}/dossier/DOC-1`).expect(200);
    expect(Buffer.compare(download.body as Buffer, redactedPdf)).toBe(0);
    expect(download.headers).toMatchObject({
      'content-type': 'application/pdf',
      'content-length': String(redactedPdf.length),
      etag: `"${sha256(redactedPdf)}"`,
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
    });
    expect(download.headers['content-disposition']).toContain('filename="op-note-redacted.pdf"');
    expect(download.headers['repr-digest']).toBe(`sha-256=:${createHash('sha256').update(redactedPdf).digest('base64')}:`);
    // A reviewer not assigned to the case reads nothing of it.
    await get('rev-c', `/adjudication/cases/${ae.caseId}/dossier/DOC-1`).expect(403);

    // The case view lists the dossier, for reviewers as for the chair; the coordinator sees no reviews.
    const view = await p.http.get(`/trials/${trialId}/adjudication/cases/${ae.caseId}`).set(as('rev-a')).expect(200);
    expect((view.body as { dossier: unknown[] }).dossier).toEqual([
      {
        documentId: 'DOC-1',
        kind: 'operative-note',
        title: 'Operative note, day of amputation',
        filename: 'op-note-redacted.pdf',
        mediaType: 'application/pdf',
        size: redactedPdf.length,
        sha256: sha256(redactedPdf),
        redactionNote: 'Device name blacked out on page 1',
        releasedAt: expect.any(String) as string,
        releasedBy: 'coord',
      },
    ]);
    const coordinatorView = await p.http.get(`/trials/${trialId}/adjudication/cases/${ae.caseId}`).set(as('coord')).expect(200);
    expect(coordinatorView.body).toHaveProperty('dossier');
    expect(coordinatorView.body).not.toHaveProperty('reviews');
    expect(coordinatorView.body).not.toHaveProperty('rounds');
    // Blinding: no route a reviewer or the coordinator reads names the arm or the device.
    for (const who of ['rev-a', 'coord', 'chair']) {
      for (const path of [`/adjudication/cases/${ae.caseId}`, '/adjudication/cases', '/adjudication/worklist']) {
        const res = await p.http.get(`/trials/${trialId}${path}`).set(as(who));
        if (res.status !== 200) continue;
        expect(bodyText(res)).not.toContain(DEVICE);
        expect(bodyText(res)).not.toContain(`"${ARM}"`);
        expect(bodyText(res)).not.toContain('"arm"');
      }
    }
    expect((download.body as Buffer).toString('latin1')).not.toContain(DEVICE);
    // The coordinator reads documents, never the structured data that carries arm or device.
    await p.http.get(`/trials/${trialId}/patients/${ae.patientId}`).set(as('coord')).expect(403);
    await p.http.get(`/trials/${trialId}/patients/${ae.patientId}/adverse-events/${ae.eventId}`).set(as('coord')).expect(403);
    await post('coord', `/adjudication/cases/${ae.caseId}/reviews`, {
      outcome: { isEndpointEvent: false, kind: 'none' },
      rationale: 'x',
      signature: { meaning: 'review' },
    }).expect(403);

    // Every download is in the audit trail: who read which document of which case.
    const trail = await p.http
      .get(`/trials/${trialId}/audit`)
      .query({ streamId: `document-access/${trialId}` })
      .set(as('auditor'))
      .expect(200);
    const reads = JSON.stringify(trail.body);
    expect(reads).toContain('"DocumentRead"');
    expect(reads).toMatch(/"readBy":"rev-a"/);
    expect(reads).toMatch(/"version":"rendition"/);
    expect(reads).toContain(`"caseId":"${ae.caseId}"`);
    expect(reads).toMatch(/"readBy":"coord"/);

    // Both versions stored, each once.
    expect((await blobRows()).contents - before.contents).toBe(2);

    // The export names each document by its hash; trialctl checks a directory of downloads against it.
    const exported = await p.http.get(`/trials/${trialId}/audit/export`).set(as('auditor')).expect(200);
    const dir = mkdtempSync(join(tmpdir(), 'dossier-'));
    try {
      const exportFile = join(dir, 'export.ndjson');
      writeFileSync(exportFile, exported.text);
      const docs = join(dir, 'documents');
      const auditorOriginal = await get('auditor', `/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents/DOC-1`).expect(200);
      const auditorRendition = await get('auditor', `/adjudication/cases/${ae.caseId}/dossier/DOC-1`).expect(200);
      mkdirSync(docs);
      for (const res of [auditorOriginal, auditorRendition])
        writeFileSync(join(docs, String(res.headers.etag).replace(/"/g, '')), res.body as Buffer);
      const ok = runTrialctl(['verify', exportFile, '--documents', docs]);
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      expect(ok.stdout).toContain('OK documents');

      // One byte changed: refused, naming the file.
      writeFileSync(join(docs, sha256(redactedPdf)), Buffer.concat([redactedPdf.subarray(0, -1), Buffer.from('X')]));
      const tampered = runTrialctl(['verify', exportFile, '--documents', docs]);
      expect(tampered.status).toBe(1);
      expect(tampered.stderr).toContain(`${sha256(redactedPdf)}: content hashes to`);
      // A document missing: refused, naming which.
      rmSync(join(docs, sha256(redactedPdf)));
      const missing = runTrialctl(['verify', exportFile, '--documents', docs]);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain(`missing ${sha256(redactedPdf)}: rendition of document DOC-1`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses bad uploads with 4xx problem+json, and stores nothing of them', async () => {
    const ae = await amputation();
    const before = await blobRows();
    const fields = { documentId: 'DOC-X', kind: 'operative-note', title: 'Note' };
    const expectProblem = (res: Response, status: number, code: string, field?: string) => {
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body).toMatchObject({ status, code });
      if (field) expect(JSON.stringify((res.body as { errors?: unknown }).errors ?? [])).toContain(field);
    };

    expectProblem(await attach('inv', ae, fields, { bytes: zipBytes, filename: 'scan.pdf' }), 415, 'MEDIA_TYPE_UNSUPPORTED');
    expectProblem(await attach('inv', ae, fields, { bytes: Buffer.alloc(0), filename: 'empty.txt' }), 400, 'FILE_EMPTY');
    expectProblem(await attach('inv', ae, fields), 400, 'FILE_MISSING', 'file');
    expectProblem(
      await attach('inv', ae, { ...fields, kind: 'selfie' }, { bytes: pngBytes, filename: 'a.png' }),
      400,
      'VALIDATION_FAILED',
      'kind',
    );
    expectProblem(
      await attach('inv', ae, { ...fields, documentId: '../x' }, { bytes: pngBytes, filename: 'a.png' }),
      400,
      'VALIDATION_FAILED',
      'documentId',
    );
    expectProblem(await attach('inv', ae, { ...fields, extra: 'x' }, { bytes: pngBytes, filename: 'a.png' }), 400, 'VALIDATION_FAILED');
    expectProblem(await attach('inv2', ae, fields, { bytes: pngBytes, filename: 'a.png' }), 403, 'SITE_FORBIDDEN');
    expectProblem(await attach('coord', ae, fields, { bytes: pngBytes, filename: 'a.png' }), 403, 'ROLE_FORBIDDEN');
    expectProblem(
      await attach('inv', { ...ae, eventId: 'NOPE' }, fields, { bytes: pngBytes, filename: 'a.png' }),
      404,
      'ADVERSE_EVENT_NOT_FOUND',
    );
    // JSON is not an upload.
    const json = await post('inv', `/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents`, fields);
    expectProblem(json, 415, 'MEDIA_TYPE_UNSUPPORTED');
    // A broken multipart body (the closing boundary never comes).
    const broken = await p.http
      .post(`/trials/${trialId}/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents`)
      .set(as('inv'))
      .set('Content-Type', 'multipart/form-data; boundary=XYZ')
      .send('--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello');
    expectProblem(broken, 400, 'MULTIPART_INVALID');
    expect(await blobRows()).toEqual(before);

    // A hostile file name is stored sanitised: no path, no control or bidi characters. (A raw BEL in
    // the part header is a malformed header: 400 above, through the broken-body path.)
    const hostile = await attach(
      'inv',
      ae,
      { ...fields, documentId: 'DOC-H' },
      { bytes: pngBytes, filename: '..\\..\\etc/pass\twd\u202egnp.exe' },
    );
    expect(hostile.body).toMatchObject({ documentId: 'DOC-H' });
    expect((hostile.body as { filename: string }).filename).toBe('passwdgnp.exe');
    expect((hostile.body as { mediaType: string }).mediaType).toBe('image/png');
    // The same id again: 409, and nothing new is kept.
    const afterOne = await blobRows();
    expectProblem(
      await attach('inv', ae, { ...fields, documentId: 'DOC-H' }, { bytes: Buffer.from('other bytes\n'), filename: 'b.txt' }),
      409,
      'DOCUMENT_ALREADY_ATTACHED',
      'documentId',
    );
    expect(await blobRows()).toEqual(afterOne);

    // The coordinator cannot release a document that is not attached, nor release one twice.
    expectProblem(
      await release('coord', ae.caseId, { documentId: 'DOC-NONE', redactionNote: 'n' }, { bytes: redactedPdf, filename: 'r.pdf' }),
      404,
      'DOCUMENT_NOT_FOUND',
    );
    await release(
      'coord',
      ae.caseId,
      { documentId: 'DOC-H', redactionNote: 'nothing to redact' },
      { bytes: pngBytes, filename: 'r.png' },
    ).expect(201);
    expectProblem(
      await release('coord', ae.caseId, { documentId: 'DOC-H', redactionNote: 'again' }, { bytes: redactedPdf, filename: 'r.pdf' }),
      409,
      'RENDITION_ALREADY_RELEASED',
    );
    // Reviewers cannot release; a reviewer is not a coordinator.
    expectProblem(
      await release('rev-a', ae.caseId, { documentId: 'DOC-H', redactionNote: 'x' }, { bytes: redactedPdf, filename: 'r.pdf' }),
      403,
      'ROLE_FORBIDDEN',
    );
    expect((await blobRows()).staging).toBe(0);
  }, 120_000);

  it('answers 413 to an upload over 20 MB without reading it all, whether it declares its length or not', async () => {
    const ae = await amputation();
    const before = await blobRows();
    const { port } = (p.app.getHttpServer() as { address(): AddressInfo }).address();
    const path = `/trials/${trialId}/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents`;
    const send = (declareLength: boolean) =>
      new Promise<{ status: number; code?: string; sent: number }>((resolve, reject) => {
        const boundary = 'B0UNDARY';
        const head = Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="documentId"\r\n\r\nBIG\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nother\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nBig\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n`,
        );
        const total = 200 * 1024 * 1024; // 200 MB offered: the server must stop long before
        const req = httpRequest({
          port,
          path,
          method: 'POST',
          headers: {
            ...as('inv'),
            'Content-Type': `multipart/form-data; boundary=${boundary}`,
            ...(declareLength ? { 'Content-Length': String(head.length + total + 64) } : {}),
          },
        });
        let sent = 0;
        let answered = false;
        req.on('response', (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { code?: string };
            resolve({ status: res.statusCode ?? 0, code: body.code, sent });
          });
        });
        req.on('error', (error) => {
          if (!answered) reject(error);
        });
        req.write(head);
        const chunk = Buffer.alloc(1024 * 1024, 0x61);
        const pump = () => {
          while (!answered && sent < total) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          if (!answered) req.end();
        };
        pump();
      });
    // Ten times each: a server that closes at once with the rest of the body unread sends a TCP reset,
    // which lost the answer to about one client in five (write EPIPE before the 413 was read).
    for (let attempt = 0; attempt < 10; attempt += 1)
      for (const declared of [true, false]) {
        const result = await send(declared);
        expect(result).toMatchObject({ status: 413, code: 'FILE_TOO_LARGE' });
        // Stopped within a few MB of the limit, not after the 200 MB offered.
        expect(result.sent).toBeLessThan(64 * 1024 * 1024);
      }
    expect(await blobRows()).toEqual(before);
  }, 120_000);

  it('uploads and downloads a 20 MB document streamed, byte-identical, within a memory bound', async () => {
    const ae = await amputation();
    const { port } = (p.app.getHttpServer() as { address(): AddressInfo }).address();
    const size = 20 * 1024 * 1024; // the largest accepted
    // Two blocks, never mutated while queued: the first starts like a PDF (only the head is sniffed).
    const first = Buffer.alloc(1024 * 1024, 0x25);
    first.write('%PDF-1.7\n', 0);
    const filler = Buffer.alloc(1024 * 1024, 0x25);
    const expected = createHash('sha256');
    for (let sent = 0; sent < size; sent += filler.length) expected.update(sent === 0 ? first : filler);
    const digest = expected.digest('hex');

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    try {
      const boundary = 'BIGFILE';
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="documentId"\r\n\r\nDOC-20MB\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nimaging-report\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nAngiography series\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="angio.pdf"\r\n\r\n`,
      );
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({
          port,
          path: `/trials/${trialId}/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents`,
          method: 'POST',
          headers: {
            ...as('inv'),
            'Content-Type': `multipart/form-data; boundary=${boundary}`,
            'Content-Length': String(head.length + size + tail.length),
          },
        });
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        });
        req.on('error', reject);
        req.write(head);
        let sent = 0;
        const pump = () => {
          while (sent < size) {
            const chunk = sent === 0 ? first : filler;
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          req.end(tail);
        };
        pump();
      });
      expect(answer.status).toBe(201);
      expect(JSON.parse(answer.body)).toMatchObject({ size, sha256: digest, mediaType: 'application/pdf' });

      const downloaded = await new Promise<{ status: number; sha256: string; bytes: number }>((resolve, reject) => {
        const req = httpRequest({
          port,
          path: `/trials/${trialId}/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents/DOC-20MB`,
          headers: as('coord'),
        });
        req.on('response', (res) => {
          const hash = createHash('sha256');
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            hash.update(c);
            bytes += c.length;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, sha256: hash.digest('hex'), bytes }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(downloaded).toEqual({ status: 200, sha256: digest, bytes: size });
    } finally {
      clearInterval(sampler);
    }
    const grewMb = (peak - rssBefore) / 1024 / 1024;
    // Measured: see the README (Source documents). Client and server share this process, both streaming.
    console.log(`20 MB upload + download: RSS grew ${grewMb.toFixed(1)} MB at peak (${_name})`);
    expect(grewMb).toBeLessThan(100);

    // A reader that goes away after the first megabyte: the server stops reading, and serves the next one whole.
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({
        port,
        path: `/trials/${trialId}/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents/DOC-20MB`,
        headers: as('coord'),
      });
      req.on('response', (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes >= 1024 * 1024) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', (error) => (req.destroyed ? resolve() : reject(error)));
      req.end();
    });
    const again = await get('auditor', `/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents/DOC-20MB`).expect(200);
    expect(sha256(again.body as Buffer)).toBe(digest);
  }, 120_000);

  it('keeps nothing of an upload whose connection drops mid-file', async () => {
    const ae = await amputation();
    const before = await blobRows();
    const { port } = (p.app.getHttpServer() as { address(): AddressInfo }).address();
    await new Promise<void>((resolve) => {
      const boundary = 'DROP';
      const req = httpRequest({
        port,
        path: `/trials/${trialId}/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents`,
        method: 'POST',
        headers: { ...as('inv'), 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      });
      req.on('error', () => resolve());
      req.write(
        `--${boundary}\r\nContent-Disposition: form-data; name="documentId"\r\n\r\nDROPPED\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nother\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nDropped\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.txt"\r\n\r\n`,
      );
      req.write(Buffer.alloc(3 * 1024 * 1024, 0x62));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 500);
    });
    // The server notices the cut and discards what it staged.
    for (let i = 0; i < 50 && (await blobRows()).staging > 0; i += 1) await new Promise((r) => setTimeout(r, 100));
    expect(await blobRows()).toEqual(before);
    const view = await p.http.get(`/trials/${trialId}/patients/${ae.patientId}/adverse-events/${ae.eventId}`).set(as('inv')).expect(200);
    expect((view.body as { documents: object }).documents).toEqual({});
  }, 60_000);

  it('lets one of two concurrent uploads with the same document id win: one 201, one 409, one event', async () => {
    const ae = await amputation();
    const fields = { documentId: 'DOC-RACE', kind: 'other', title: 'Raced' };
    const answers = await Promise.all([
      attach('inv', ae, fields, { bytes: pngBytes, filename: 'a.png' }),
      attach('inv', ae, fields, { bytes: Buffer.from('a different file\n'), filename: 'b.txt' }),
      attach('inv', ae, fields, { bytes: redactedPdf, filename: 'c.pdf' }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409]);
    const winner = answers.find((a) => a.status === 201)!;
    const view = await p.http.get(`/trials/${trialId}/patients/${ae.patientId}/adverse-events/${ae.eventId}`).set(as('inv')).expect(200);
    const documents = (view.body as { documents: Record<string, { sha256: string }> }).documents;
    expect(Object.keys(documents)).toEqual(['DOC-RACE']);
    expect(documents['DOC-RACE']?.sha256).toBe((winner.body as { sha256: string }).sha256);
    const original = await get('inv', `/patients/${ae.patientId}/adverse-events/${ae.eventId}/documents/DOC-RACE`).expect(200);
    expect(sha256(original.body as Buffer)).toBe((winner.body as { sha256: string }).sha256);
    expect((await blobRows()).staging).toBe(0);
  }, 60_000);

  it('replays an upload retried with its Idempotency-Key, and refuses the key with another file', async () => {
    const ae = await amputation();
    const key = uniqueId('key');
    const fields = { documentId: 'DOC-K', kind: 'discharge-letter', title: 'Discharge letter' };
    const first = await attach('inv', ae, fields, { bytes: pngBytes, filename: 'l.png' }, { 'Idempotency-Key': key }).expect(201);
    const again = await attach('inv', ae, fields, { bytes: pngBytes, filename: 'l.png' }, { 'Idempotency-Key': key }).expect(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const other = await attach('inv', ae, fields, { bytes: Buffer.from('another file\n'), filename: 'l.txt' }, { 'Idempotency-Key': key });
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  }, 60_000);

  it('lets a query answer cite attached documents, and never reopens a finalized case for a document', async () => {
    const ae = await amputation();
    await attach(
      'inv',
      ae,
      { documentId: 'DOC-Q', kind: 'imaging-report', title: 'Angiography' },
      { bytes: pngBytes, filename: 'angio.png' },
    ).expect(201);
    await post('rev-a', `/adjudication/cases/${ae.caseId}/queries`, { queryId: 'Q1', question: 'Imaging before the amputation?' }).expect(
      201,
    );
    const unknown = await post('inv', `/adjudication/cases/${ae.caseId}/queries/Q1/answer`, {
      answer: 'Attached.',
      documentIds: ['DOC-NOPE'],
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body).toMatchObject({ code: 'DOCUMENT_NOT_ATTACHED' });
    await post('inv', `/adjudication/cases/${ae.caseId}/queries/Q1/answer`, { answer: 'Attached.', documentIds: ['DOC-Q'] }).expect(201);
    const view = await p.http.get(`/trials/${trialId}/adjudication/cases/${ae.caseId}`).set(as('chair')).expect(200);
    expect((view.body as { queries: unknown[] }).queries).toEqual([expect.objectContaining({ queryId: 'Q1', documentIds: ['DOC-Q'] })]);

    const outcome = {
      isEndpointEvent: true,
      kind: 'amputation',
      limb: 'index',
      onsetOn: '2026-02-01',
      amputation: { level: 'major', planned: false },
    };
    for (const reviewer of ['rev-a', 'rev-b'])
      await post(reviewer, `/adjudication/cases/${ae.caseId}/reviews`, {
        outcome,
        rationale: 'Major amputation',
        signature: { meaning: 'review' },
      }).expect(201);
    const finalized = await p.http.get(`/trials/${trialId}/adjudication/cases/${ae.caseId}`).set(as('chair')).expect(200);
    expect((finalized.body as { status: string }).status).toBe('finalized');
    await attach(
      'inv',
      ae,
      { documentId: 'DOC-LATE', kind: 'other', title: 'Late letter' },
      { bytes: pngBytes, filename: 'late.png' },
    ).expect(201);
    // A command waits for the case opener: if the attachment reopened the case, this would see round 2.
    await post('chair', `/adjudication/cases/${ae.caseId}/queries`, { queryId: 'Q2', question: 'Anything else?' }).expect(422);
    const after = await p.http.get(`/trials/${trialId}/adjudication/cases/${ae.caseId}`).set(as('chair')).expect(200);
    expect(after.body).toMatchObject({ status: 'finalized', round: 1 });
  }, 60_000);
});
