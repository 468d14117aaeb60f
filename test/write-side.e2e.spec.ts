import { startPlatform, uniqueId, type RunningPlatform } from './support/platform';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

const baseline = { ageYears: 71, sex: 'M', diabetes: true, presentation: 'cli', rutherfordClass: 5 };
const procedure = (procedureId: string, performedOn = '2026-01-10') => ({
  procedureId,
  performedOn,
  limb: 'left',
  device: { kind: 'DCB', name: 'Elutax SV' },
  lesions: [{ segment: 'btk', lengthMm: 120, occlusion: true }],
  technicalSuccess: true,
});
const amputation = (eventId: string, onsetOn = '2026-01-12') => ({
  eventId,
  kind: 'amputation',
  onsetOn,
  limb: 'index',
  amputation: { level: 'minor', planned: true },
  description: 'toe amputation planned before revascularisation',
});

describe.each(backends)('write side over HTTP on %s', (_name, databaseUrl) => {
  let p: RunningPlatform;
  let admin: string;
  let inv1: string; // site-investigator of S01
  let inv2: string; // site-investigator of S02
  let trialId: string;

  const post = (path: string, token: string, body: unknown, headers: Record<string, string> = {}) =>
    p.http
      .post(path)
      .set('Authorization', `Bearer ${token}`)
      .set(headers)
      .send(body as object);

  beforeAll(async () => {
    p = await startPlatform({ databaseUrl });
    admin = await p.token('trial-admin', { sub: 'admin-1', name: 'Ada Admin' });
    inv1 = await p.token('site-investigator', { sub: 'inv-1', name: 'Dr. Uno', sites: ['S01'] });
    inv2 = await p.token('site-investigator', { sub: 'inv-2', name: 'Dr. Due', sites: ['S02'] });
    trialId = uniqueId('T');
    await post('/trials', admin, { trialId, title: 'DCB vs PTA below the knee', protocolVersion: '1.0', arms: ['DCB', 'PTA'] }).expect(201);
    await post(`/trials/${trialId}/sites`, admin, { siteId: 'S01', name: 'Ospedale Uno', country: 'IT' }).expect(201);
    await post(`/trials/${trialId}/sites`, admin, { siteId: 'S02', name: 'Klinikum Zwei', country: 'DE' }).expect(201);
  });
  afterAll(async () => {
    await p?.close();
  });

  const enroll = (patientId: string, token = inv1, extra: Record<string, unknown> = {}) =>
    post(`/trials/${trialId}/patients`, token, { patientId, siteId: 'S01', enrolledOn: '2026-01-10', arm: 'DCB', baseline, ...extra });

  describe('happy paths', () => {
    it('sets up a trial: trial, charter, sites, committee; answers id, streamVersion, position and an ETag', async () => {
      const t = uniqueId('T');
      const created = await post('/trials', admin, { trialId: t, title: 'Registry', protocolVersion: '2.1' }).expect(201);
      expect(created.body).toEqual({ id: t, streamVersion: 1, position: expect.any(Number) });
      expect(created.headers.etag).toBe('"1"');
      await post(`/trials/${t}/sites`, admin, { siteId: 'S09', name: 'Site Nine', country: 'CH' }).expect(201);
      const member = await post(`/trials/${t}/committee-members`, admin, {
        userId: 'rev-1',
        name: 'Dr. Reviewer',
        role: 'cec-reviewer',
        affiliatedSiteIds: ['S09'],
      }).expect(201);
      expect(member.body).toMatchObject({ id: 'rev-1', streamVersion: 3 });
      expect(member.body.position).toBeGreaterThan(created.body.position);
      const charter = await p.http
        .put(`/trials/${t}/charter`)
        .set('Authorization', `Bearer ${admin}`)
        .send({
          version: '2',
          endpoints: [
            {
              id: 'freedom-from-amputation',
              label: 'Freedom from any amputation',
              horizonDays: 180,
              events: [{ kind: 'amputation', limb: 'index' }],
            },
          ],
        })
        .expect(201);
      expect(charter.body).toMatchObject({ id: '2', streamVersion: 4 });
      const read = await p.http.get(`/trials/${t}`).set('Authorization', `Bearer ${admin}`).expect(200);
      expect(read.body).toMatchObject({
        trialId: t,
        arms: [],
        sites: { S09: { name: 'Site Nine', country: 'CH' } },
        committee: { 'rev-1': { role: 'cec-reviewer' } },
        version: 4,
      });
      expect(read.body.charters).toHaveLength(1);
    });

    it('records the life of a patient: enrollment, procedures, visit, adverse event, corrections, retraction, withdrawal', async () => {
      const patientId = uniqueId('P');
      const enrolled = await enroll(patientId).expect(201);
      expect(enrolled.body).toMatchObject({ id: patientId, streamVersion: 1 });
      const first = await post(`/trials/${trialId}/patients/${patientId}/procedures`, inv1, procedure('PR1')).expect(201);
      expect(first.body).toMatchObject({ id: 'PR1', index: true });
      const second = await post(`/trials/${trialId}/patients/${patientId}/procedures`, inv1, procedure('PR2', '2026-03-01')).expect(201);
      expect(second.body).toMatchObject({ id: 'PR2', index: false, streamVersion: 2 });
      await post(`/trials/${trialId}/patients/${patientId}/visits`, inv1, { visitId: 'V30', visit: '30d', visitOn: '2026-02-09' }).expect(
        201,
      );

      const eventId = uniqueId('AE');
      const reported = await post(`/trials/${trialId}/patients/${patientId}/adverse-events`, inv1, amputation(eventId)).expect(201);
      expect(reported.body).toMatchObject({ id: eventId, caseId: eventId, streamVersion: 1 });
      const other = await post(`/trials/${trialId}/patients/${patientId}/adverse-events`, inv1, {
        eventId: uniqueId('AE'),
        kind: 'other',
        onsetOn: '2026-01-20',
        description: 'groin haematoma',
      }).expect(201);
      expect(other.body.caseId).toBeUndefined();

      const corrected = await post(`/trials/${trialId}/patients/${patientId}/adverse-events/${eventId}/corrections`, inv1, {
        changes: { 'amputation.level': 'major', onsetOn: '2026-01-13' },
        reason: 'source document verification',
      }).expect(201);
      expect(corrected.body.streamVersion).toBe(2);
      const ae = await p.http
        .get(`/trials/${trialId}/patients/${patientId}/adverse-events/${eventId}`)
        .set('Authorization', `Bearer ${inv1}`)
        .expect(200);
      expect(ae.body.report).toMatchObject({ onsetOn: '2026-01-13', amputation: { level: 'major', planned: true } });

      const events = await p.dataSource.query(`SELECT data, metadata FROM es_events WHERE stream_id = $1 ORDER BY stream_version`, [
        `adverse-event/${trialId}/${eventId}`,
      ]);
      expect(events[1].data.changes).toEqual(
        expect.arrayContaining([
          { field: 'amputation.level', previous: 'minor', value: 'major' },
          { field: 'onsetOn', previous: '2026-01-12', value: '2026-01-13' },
        ]),
      );
      expect(events[1].metadata).toMatchObject({
        reason: 'source document verification',
        actor: { userId: 'inv-1', name: 'Dr. Uno', roles: ['site-investigator'] },
      });

      await post(`/trials/${trialId}/patients/${patientId}/adverse-events/${eventId}/retraction`, inv1, {
        reason: 'entered for the wrong patient',
      }).expect(201);
      await post(`/trials/${trialId}/patients/${patientId}/corrections`, inv1, {
        changes: { 'baseline.diabetes': false },
        reason: 'HbA1c re-checked',
      }).expect(201);
      await post(`/trials/${trialId}/patients/${patientId}/withdrawal`, inv1, {
        withdrawnOn: '2026-04-01',
        reason: 'consent withdrawn',
      }).expect(201);
      const patient = await p.http.get(`/trials/${trialId}/patients/${patientId}`).set('Authorization', `Bearer ${inv1}`).expect(200);
      expect(patient.body).toMatchObject({
        baseline: { diabetes: false },
        withdrawal: { withdrawnOn: '2026-04-01' },
        visits: { V30: { visit: '30d' } },
        version: 4,
      });
    });
  });

  describe('rules refused with their codes', () => {
    const expectProblem = (
      response: { status: number; body: { code?: string }; headers: Record<string, string> },
      status: number,
      code: string,
    ) => {
      expect({ status: response.status, code: response.body.code }).toEqual({ status, code });
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    };

    it('a patient enrolls once, at an existing site of an existing trial, with a valid arm', async () => {
      const id = uniqueId('P');
      await enroll(id).expect(201);
      expectProblem(await enroll(id), 409, 'PATIENT_ALREADY_ENROLLED');
      expectProblem(await enroll(uniqueId('P'), inv1, { siteId: 'S77' }), 403, 'SITE_FORBIDDEN');
      const everywhere = await p.token('site-investigator', { sites: ['S01', 'S77'] });
      expectProblem(await enroll(uniqueId('P'), everywhere, { siteId: 'S77' }), 422, 'UNKNOWN_SITE');
      expectProblem(
        await post(`/trials/${uniqueId('NOPE')}/patients`, inv1, { patientId: 'x', siteId: 'S01', enrolledOn: '2026-01-10', baseline }),
        404,
        'TRIAL_NOT_FOUND',
      );
      expectProblem(await enroll(uniqueId('P'), inv1, { arm: undefined }), 422, 'ARM_REQUIRED');
      expectProblem(await enroll(uniqueId('P'), inv1, { arm: 'Placebo' }), 422, 'UNKNOWN_ARM');
      expectProblem(await enroll(uniqueId('P'), inv1, { enrolledOn: '2026-07-01' }), 422, 'DATE_IN_FUTURE');
    });

    it('an adverse event needs an enrolled patient, an onset after enrolment and a limb for amputation/TVR', async () => {
      const id = uniqueId('P');
      await enroll(id).expect(201);
      expectProblem(
        await post(`/trials/${trialId}/patients/${uniqueId('P')}/adverse-events`, inv1, amputation(uniqueId('AE'))),
        404,
        'PATIENT_NOT_FOUND',
      );
      expectProblem(
        await post(`/trials/${trialId}/patients/${id}/adverse-events`, inv1, amputation(uniqueId('AE'), '2026-01-01')),
        422,
        'ONSET_BEFORE_ENROLLMENT',
      );
      const { limb: _limb, ...noLimb } = amputation(uniqueId('AE'));
      expectProblem(await post(`/trials/${trialId}/patients/${id}/adverse-events`, inv1, noLimb), 422, 'LIMB_REQUIRED');
      expectProblem(
        await post(`/trials/${trialId}/patients/${id}/adverse-events`, inv1, {
          eventId: uniqueId('AE'),
          kind: 'tvr',
          onsetOn: '2026-02-01',
          description: 'TVR',
        }),
        422,
        'LIMB_REQUIRED',
      );
      const eventId = uniqueId('AE');
      await post(`/trials/${trialId}/patients/${id}/adverse-events`, inv1, amputation(eventId)).expect(201);
      expectProblem(
        await post(`/trials/${trialId}/patients/${id}/adverse-events`, inv1, amputation(eventId)),
        409,
        'ADVERSE_EVENT_ALREADY_REPORTED',
      );
    });

    it('corrections need a reason and a real change of a known field; a retracted event takes none', async () => {
      const id = uniqueId('P');
      await enroll(id).expect(201);
      const eventId = uniqueId('AE');
      await post(`/trials/${trialId}/patients/${id}/adverse-events`, inv1, amputation(eventId)).expect(201);
      const path = `/trials/${trialId}/patients/${id}/adverse-events/${eventId}`;
      const missingReason = await post(`${path}/corrections`, inv1, { changes: { onsetOn: '2026-01-14' } });
      expectProblem(missingReason, 400, 'VALIDATION_FAILED');
      expect(missingReason.body.errors).toEqual([expect.objectContaining({ path: 'reason' })]);
      expectProblem(
        await post(`${path}/corrections`, inv1, { changes: { onsetOn: '2026-01-12' }, reason: 'same' }),
        422,
        'CORRECTION_UNCHANGED',
      );
      const unknown = await post(`${path}/corrections`, inv1, { changes: { colour: 'red' }, reason: 'why not' });
      expectProblem(unknown, 400, 'INVALID_CORRECTION');
      expect(unknown.body.errors).toEqual([expect.objectContaining({ path: 'changes.colour' })]);
      expectProblem(
        await post(`${path}/corrections`, inv1, { changes: { 'amputation.level': 'huge' }, reason: 'typo' }),
        400,
        'INVALID_CORRECTION',
      );
      expectProblem(
        await post(`${path}/corrections`, inv1, { changes: { eventId: 'other' }, reason: 'rename' }),
        400,
        'INVALID_CORRECTION',
      );
      expectProblem(
        await post(`/trials/${trialId}/patients/${id}/corrections`, inv1, { changes: { 'baseline.diabetes': true }, reason: 'same' }),
        422,
        'CORRECTION_UNCHANGED',
      );
      await post(`${path}/retraction`, inv1, { reason: 'duplicate report' }).expect(201);
      expectProblem(
        await post(`${path}/corrections`, inv1, { changes: { onsetOn: '2026-01-14' }, reason: 'late fix' }),
        422,
        'ADVERSE_EVENT_RETRACTED',
      );
      expectProblem(await post(`${path}/retraction`, inv1, { reason: 'again' }), 409, 'ADVERSE_EVENT_RETRACTED');
      expectProblem(
        await post(`/trials/${trialId}/patients/${uniqueId('P')}/adverse-events/${eventId}/corrections`, inv1, {
          changes: { onsetOn: '2026-01-14' },
          reason: 'x',
        }),
        404,
        'PATIENT_NOT_FOUND',
      );
    });

    it('visits and withdrawal follow enrolment; a withdrawn patient takes no later facts', async () => {
      const id = uniqueId('P');
      await enroll(id).expect(201);
      const base = `/trials/${trialId}/patients/${id}`;
      expectProblem(
        await post(`${base}/visits`, inv1, { visitId: 'V0', visit: '30d', visitOn: '2026-01-01' }),
        422,
        'VISIT_BEFORE_ENROLLMENT',
      );
      await post(`${base}/visits`, inv1, { visitId: 'V1', visit: '30d', visitOn: '2026-02-09' }).expect(201);
      expectProblem(
        await post(`${base}/visits`, inv1, { visitId: 'V1', visit: '6m', visitOn: '2026-06-09' }),
        409,
        'VISIT_ALREADY_RECORDED',
      );
      expectProblem(
        await post(`${base}/withdrawal`, inv1, { withdrawnOn: '2026-01-01', reason: 'x' }),
        422,
        'WITHDRAWAL_BEFORE_ENROLLMENT',
      );
      await post(`${base}/withdrawal`, inv1, { withdrawnOn: '2026-03-01', reason: 'moved abroad' }).expect(201);
      expectProblem(
        await post(`${base}/withdrawal`, inv1, { withdrawnOn: '2026-03-02', reason: 'again' }),
        409,
        'PATIENT_ALREADY_WITHDRAWN',
      );
      expectProblem(await post(`${base}/visits`, inv1, { visitId: 'V2', visit: '6m', visitOn: '2026-06-09' }), 422, 'PATIENT_WITHDRAWN');
      expectProblem(await post(`${base}/adverse-events`, inv1, amputation(uniqueId('AE'), '2026-05-01')), 422, 'PATIENT_WITHDRAWN');
    });

    it('trial setup refuses duplicates and unknown affiliations', async () => {
      expectProblem(await post('/trials', admin, { trialId, title: 'again', protocolVersion: '1' }), 409, 'TRIAL_ALREADY_EXISTS');
      expectProblem(
        await post(`/trials/${trialId}/sites`, admin, { siteId: 'S01', name: 'dup', country: 'IT' }),
        409,
        'SITE_ALREADY_EXISTS',
      );
      expectProblem(
        await post(`/trials/${trialId}/committee-members`, admin, {
          userId: 'c1',
          name: 'Dr. C',
          role: 'cec-chair',
          affiliatedSiteIds: ['S99'],
        }),
        422,
        'UNKNOWN_SITE',
      );
      const charter = {
        version: 'v1',
        endpoints: [{ id: 'survival', label: 'Survival', horizonDays: 365, events: [], includesDeath: true }],
      };
      await p.http.put(`/trials/${trialId}/charter`).set('Authorization', `Bearer ${admin}`).send(charter).expect(201);
      const again = await p.http.put(`/trials/${trialId}/charter`).set('Authorization', `Bearer ${admin}`).send(charter);
      expectProblem(again, 409, 'CHARTER_VERSION_EXISTS');
    });

    it('If-Match on a stale version is refused with 412 and writes nothing', async () => {
      const id = uniqueId('P');
      const enrolled = await enroll(id).expect(201);
      const before = await p.eventCount();
      const stale = await post(
        `/trials/${trialId}/patients/${id}/visits`,
        inv1,
        { visitId: 'V1', visit: '30d', visitOn: '2026-02-09' },
        { 'If-Match': '"7"' },
      );
      expectProblem(stale, 412, 'VERSION_MISMATCH');
      expect(await p.eventCount()).toBe(before);
      await post(
        `/trials/${trialId}/patients/${id}/visits`,
        inv1,
        { visitId: 'V1', visit: '30d', visitOn: '2026-02-09' },
        { 'If-Match': enrolled.headers.etag as string },
      ).expect(201);
      expectProblem(
        await post(
          `/trials/${trialId}/patients/${id}/visits`,
          inv1,
          { visitId: 'V2', visit: '6m', visitOn: '2026-06-09' },
          { 'If-Match': 'soon' },
        ),
        400,
        'INVALID_IF_MATCH',
      );
    });
  });

  describe('every route × role', () => {
    const ROLES = ['trial-admin', 'site-investigator', 'cec-reviewer', 'cec-chair', 'dsmb-member', 'sponsor', 'auditor'] as const;
    type Route = { method: 'get' | 'post' | 'put'; path: () => string; allowed: ReadonlyArray<(typeof ROLES)[number]> };
    let patientId: string;
    let eventId: string;
    beforeAll(async () => {
      patientId = uniqueId('P');
      eventId = uniqueId('AE');
      await enroll(patientId).expect(201);
      await post(`/trials/${trialId}/patients/${patientId}/adverse-events`, inv1, amputation(eventId)).expect(201);
    });
    const routes: Route[] = [
      { method: 'post', path: () => '/trials', allowed: ['trial-admin'] },
      { method: 'get', path: () => `/trials/${trialId}`, allowed: ROLES },
      { method: 'put', path: () => `/trials/${trialId}/charter`, allowed: ['trial-admin'] },
      { method: 'post', path: () => `/trials/${trialId}/sites`, allowed: ['trial-admin'] },
      { method: 'post', path: () => `/trials/${trialId}/committee-members`, allowed: ['trial-admin'] },
      { method: 'post', path: () => `/trials/${trialId}/patients`, allowed: ['site-investigator'] },
      { method: 'get', path: () => `/trials/${trialId}/patients/${patientId}`, allowed: ['site-investigator', 'trial-admin', 'auditor'] },
      { method: 'post', path: () => `/trials/${trialId}/patients/${patientId}/procedures`, allowed: ['site-investigator'] },
      { method: 'post', path: () => `/trials/${trialId}/patients/${patientId}/visits`, allowed: ['site-investigator'] },
      { method: 'post', path: () => `/trials/${trialId}/patients/${patientId}/adverse-events`, allowed: ['site-investigator'] },
      {
        method: 'get',
        path: () => `/trials/${trialId}/patients/${patientId}/adverse-events/${eventId}`,
        allowed: ['site-investigator', 'trial-admin', 'auditor'],
      },
      {
        method: 'post',
        path: () => `/trials/${trialId}/patients/${patientId}/adverse-events/${eventId}/corrections`,
        allowed: ['site-investigator'],
      },
      {
        method: 'post',
        path: () => `/trials/${trialId}/patients/${patientId}/adverse-events/${eventId}/retraction`,
        allowed: ['site-investigator'],
      },
      { method: 'post', path: () => `/trials/${trialId}/patients/${patientId}/corrections`, allowed: ['site-investigator'] },
      { method: 'post', path: () => `/trials/${trialId}/patients/${patientId}/withdrawal`, allowed: ['site-investigator'] },
    ];

    it.each(routes.map((r) => [`${r.method.toUpperCase()} ${r.path.toString().replace(/^\(\) => /, '')}`, r] as const))(
      '%s',
      async (_label, route) => {
        const before = await p.eventCount();
        const anonymous = await p.http[route.method](route.path()).send({});
        expect(anonymous.status).toBe(401);
        expect(anonymous.body.code).toBe('AUTHENTICATION_REQUIRED');
        for (const role of ROLES) {
          const token = await p.token(role, { sites: ['S01'] });
          const response = await p.http[route.method](route.path()).set('Authorization', `Bearer ${token}`).send({});
          if (route.allowed.includes(role)) {
            // Allowed: the empty body (or a read) gets past authorisation, into validation or the answer.
            expect([200, 400]).toContain(response.status);
          } else {
            expect({ role, status: response.status, code: response.body.code }).toEqual({ role, status: 403, code: 'ROLE_FORBIDDEN' });
          }
        }
        const garbage = await p.http[route.method](route.path()).set('Authorization', 'Bearer not.a.jwt');
        expect(garbage.status).toBe(401);
        expect(await p.eventCount()).toBe(before);
      },
    );

    it("another site's investigator can neither read nor write the patient", async () => {
      const before = await p.eventCount();
      const base = `/trials/${trialId}/patients/${patientId}`;
      const attempts = [
        p.http.get(base).set('Authorization', `Bearer ${inv2}`),
        p.http.get(`${base}/adverse-events/${eventId}`).set('Authorization', `Bearer ${inv2}`),
        post(`${base}/procedures`, inv2, procedure('PRX')),
        post(`${base}/visits`, inv2, { visitId: 'VX', visit: '30d', visitOn: '2026-02-09' }),
        post(`${base}/adverse-events`, inv2, amputation(uniqueId('AE'))),
        post(`${base}/adverse-events/${eventId}/corrections`, inv2, { changes: { onsetOn: '2026-01-14' }, reason: 'x' }),
        post(`${base}/adverse-events/${eventId}/retraction`, inv2, { reason: 'x' }),
        post(`${base}/corrections`, inv2, { changes: { 'baseline.ageYears': 70 }, reason: 'x' }),
        post(`${base}/withdrawal`, inv2, { withdrawnOn: '2026-03-01', reason: 'x' }),
        enroll(uniqueId('P'), inv2),
      ];
      for (const response of await Promise.all(attempts)) {
        expect({ status: response.status, code: response.body.code }).toEqual({ status: 403, code: 'SITE_FORBIDDEN' });
      }
      expect(await p.eventCount()).toBe(before);
    });
  });

  describe('bad input is refused with 4xx and nothing is written', () => {
    let patientId: string;
    beforeAll(async () => {
      patientId = uniqueId('P');
      await enroll(patientId).expect(201);
    });

    const cases: Array<
      [
        string,
        (token: string) => Promise<{ status: number; body: { code?: string; errors?: Array<{ path: string }> } }>,
        number,
        string,
        string?,
      ]
    > = [
      [
        'malformed JSON',
        (t) =>
          p.http
            .post(`/trials/${trialId}/patients`)
            .set('Authorization', `Bearer ${t}`)
            .set('Content-Type', 'application/json')
            .send('{"patientId": "P1",'),
        400,
        'MALFORMED_JSON',
        undefined,
      ],
      [
        'a wrong type',
        (t) => enroll(uniqueId('P'), t, { baseline: { ...baseline, ageYears: 'old' } }),
        400,
        'VALIDATION_FAILED',
        'baseline.ageYears',
      ],
      ['an unknown field', (t) => enroll(uniqueId('P'), t, { favouriteColour: 'blue' }), 400, 'VALIDATION_FAILED', 'favouriteColour'],
      [
        'an unknown nested field',
        (t) => enroll(uniqueId('P'), t, { baseline: { ...baseline, bmi: 31 } }),
        400,
        'VALIDATION_FAILED',
        'baseline.bmi',
      ],
      ['an impossible date', (t) => enroll(uniqueId('P'), t, { enrolledOn: '2026-02-30' }), 400, 'VALIDATION_FAILED', 'enrolledOn'],
      ['an id with bad characters in the body', (t) => enroll('P 1/../x', t), 400, 'VALIDATION_FAILED', 'patientId'],
      [
        'an id with bad characters in the path',
        (t) =>
          p.http
            .post(`/trials/${trialId}/patients/${encodeURIComponent('P$1')}/visits`)
            .set('Authorization', `Bearer ${t}`)
            .send({ visitId: 'V1', visit: '30d', visitOn: '2026-02-09' }),
        400,
        'INVALID_ID',
        'params.p',
      ],
      ['a too long id', (t) => enroll('P'.repeat(65), t), 400, 'VALIDATION_FAILED', 'patientId'],
      [
        'an oversized body',
        (t) => enroll(uniqueId('P'), t, { baseline: { ...baseline }, padding: 'x'.repeat(300_000) }),
        413,
        'PAYLOAD_TOO_LARGE',
        undefined,
      ],
      [
        'a JSON array instead of an object',
        (t) => p.http.post(`/trials/${trialId}/patients`).set('Authorization', `Bearer ${t}`).send([1, 2]),
        400,
        'VALIDATION_FAILED',
        undefined,
      ],
      [
        'a body that is not JSON',
        (t) =>
          p.http
            .post(`/trials/${trialId}/patients`)
            .set('Authorization', `Bearer ${t}`)
            .set('Content-Type', 'text/plain')
            .send('patientId=P1'),
        400,
        'VALIDATION_FAILED',
        undefined,
      ],
      [
        'an unknown kind of adverse event',
        (t) => post(`/trials/${trialId}/patients/${patientId}/adverse-events`, t, { ...amputation(uniqueId('AE')), kind: 'stroke' }),
        400,
        'VALIDATION_FAILED',
        'kind',
      ],
      [
        'an unknown route',
        (t) => p.http.post(`/trials/${trialId}/nothing-here`).set('Authorization', `Bearer ${t}`).send({}),
        404,
        'ROUTE_NOT_FOUND',
        undefined,
      ],
    ];

    // Every row has five entries: jest reads a test function with more parameters than its row as a done-callback test.
    it.each(cases)('%s', async (_label, send, status, code, path) => {
      const before = await p.eventCount();
      const response = await send(inv1);
      expect({ status: response.status, code: response.body.code }).toEqual({ status, code });
      if (path) expect(response.body.errors?.map((e) => e.path)).toContain(path);
      expect(await p.eventCount()).toBe(before);
    });
  });

  describe('Idempotency-Key', () => {
    it('a retried command with the same key writes once and answers the same; another body is refused', async () => {
      const patientId = uniqueId('P');
      const key = uniqueId('key');
      const before = await p.eventCount();
      const first = await enroll(patientId).set('Idempotency-Key', key).expect(201);
      const again = await enroll(patientId).set('Idempotency-Key', key).expect(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(await p.eventCount()).toBe(before + 1);
      const reused = await enroll(uniqueId('P')).set('Idempotency-Key', key);
      expect({ status: reused.status, code: reused.body.code }).toEqual({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
      const metadata = await p.dataSource.query('SELECT metadata FROM es_events WHERE stream_id = $1', [`patient/${trialId}/${patientId}`]);
      expect(metadata[0].metadata.idempotencyKey).toBe(key);
      expect(await p.eventCount()).toBe(before + 1);
    });

    it('concurrent retries with one key write once', async () => {
      const eventId = uniqueId('AE');
      const patientId = uniqueId('P');
      await enroll(patientId).expect(201);
      const before = await p.eventCount();
      const key = uniqueId('key');
      const responses = await Promise.all(
        Array.from({ length: 5 }, () =>
          post(`/trials/${trialId}/patients/${patientId}/adverse-events`, inv1, amputation(eventId), { 'Idempotency-Key': key }),
        ),
      );
      expect(responses.filter((r) => r.status === 201).length).toBeGreaterThanOrEqual(1);
      for (const r of responses) expect([201, 409]).toContain(r.status);
      expect(await p.eventCount()).toBe(before + 1);
    });

    it('a refused command leaves the key free for a corrected retry', async () => {
      const key = uniqueId('key');
      await enroll(uniqueId('P'), inv1, { arm: 'Placebo' }).set('Idempotency-Key', key).expect(422);
      await enroll(uniqueId('P')).set('Idempotency-Key', key).expect(201);
    });
  });

  it('serves the OpenAPI document at /docs-json with the command routes', async () => {
    const response = await p.http.get('/docs-json').expect(200);
    expect(Object.keys(response.body.paths)).toEqual(
      expect.arrayContaining(['/trials', '/trials/{t}/patients', '/trials/{t}/patients/{p}/adverse-events/{e}/corrections']),
    );
    expect(response.body.components.schemas).toHaveProperty('EnrollPatientDto');
  });
});
