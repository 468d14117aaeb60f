import { caseStream } from '../libs/contracts/src';
import { startPlatform, uniqueId, type RunningPlatform } from './support/platform';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

const baseline = { ageYears: 68, sex: 'F', diabetes: true, presentation: 'cli', rutherfordClass: 5 };
const amputationOutcome = (level: 'major' | 'minor', planned = false) => ({
  isEndpointEvent: true,
  kind: 'amputation',
  limb: 'index',
  onsetOn: '2026-02-01',
  amputation: { level, planned },
});

describe.each(backends)('CEC adjudication over HTTP on %s', (_name, databaseUrl) => {
  let p: RunningPlatform;
  let trialId: string;
  const tokens: Record<string, string> = {};
  const as = (who: string) => ({ Authorization: `Bearer ${tokens[who]}` });
  const post = (who: string, path: string, body: unknown) =>
    p.http
      .post(`/trials/${trialId}${path}`)
      .set(as(who))
      .send(body as object);
  const get = (who: string, path: string) => p.http.get(`/trials/${trialId}${path}`).set(as(who));

  beforeAll(async () => {
    p = await startPlatform({ databaseUrl });
    tokens.admin = await p.token('trial-admin', { sub: 'admin' });
    tokens.inv = await p.token('site-investigator', { sub: 'inv-s01', name: 'Dr. Site One', sites: ['S01'] });
    tokens.chair = await p.token('cec-chair', { sub: 'chair', name: 'Prof. Chair' });
    for (const id of ['rev-a', 'rev-b', 'rev-c', 'rev-d']) tokens[id] = await p.token('cec-reviewer', { sub: id, name: `Dr. ${id}` });
    trialId = uniqueId('T');
    await p.http
      .post('/trials')
      .set(as('admin'))
      .send({ trialId, title: 'Randomised DCB trial', protocolVersion: '1', arms: ['Alpha', 'Beta'] })
      .expect(201);
    for (const [siteId, country] of [
      ['S01', 'IT'],
      ['S02', 'DE'],
    ])
      await post('admin', '/sites', { siteId, name: `Site ${siteId}`, country }).expect(201);
    const members = [
      { userId: 'chair', name: 'Prof. Chair', role: 'cec-chair', affiliatedSiteIds: [] },
      { userId: 'rev-a', name: 'Dr. rev-a', role: 'cec-reviewer', affiliatedSiteIds: ['S02'] },
      { userId: 'rev-b', name: 'Dr. rev-b', role: 'cec-reviewer', affiliatedSiteIds: [] },
      { userId: 'rev-c', name: 'Dr. rev-c', role: 'cec-reviewer', affiliatedSiteIds: ['S01'] },
      { userId: 'rev-d', name: 'Dr. rev-d', role: 'cec-reviewer', affiliatedSiteIds: [] },
    ];
    for (const m of members) await post('admin', '/committee-members', m).expect(201);
  });
  afterAll(async () => {
    await p?.close();
  });

  /** A patient of S01 with an index procedure and an amputation report; returns ids. */
  async function reportedAmputation(): Promise<{ patientId: string; eventId: string; caseId: string }> {
    const patientId = uniqueId('P');
    await post('inv', '/patients', { patientId, siteId: 'S01', enrolledOn: '2026-01-05', arm: 'Alpha', baseline }).expect(201);
    await post('inv', `/patients/${patientId}/procedures`, {
      procedureId: 'IDX',
      performedOn: '2026-01-05',
      limb: 'right',
      device: { kind: 'DCB', name: 'SecretBalloon 4.0' },
      lesions: [{ segment: 'btk', lengthMm: 110, occlusion: true }],
      technicalSuccess: true,
    }).expect(201);
    const eventId = uniqueId('AE');
    const reported = await post('inv', `/patients/${patientId}/adverse-events`, {
      eventId,
      kind: 'amputation',
      onsetOn: '2026-02-01',
      limb: 'index',
      amputation: { level: 'major', planned: false },
      description: 'below-knee amputation after wound deterioration',
    }).expect(201);
    return { patientId, eventId, caseId: reported.body.caseId as string };
  }

  const review = (who: string, caseId: string, outcome: unknown) =>
    post(who, `/adjudication/cases/${caseId}/reviews`, {
      outcome,
      rationale: `${who} read the operative note`,
      signature: { meaning: 'review' },
    });

  it('a concordant case: opened by itself, assigned, blinded reviews, finalized with verifiable signatures', async () => {
    const { eventId, caseId } = await reportedAmputation();
    expect(caseId).toBe(eventId);
    const listed = await get('chair', `/adjudication/cases?eventId=${eventId}`).expect(200);
    expect(listed.body).toEqual([
      expect.objectContaining({ caseId, eventId, status: 'awaiting-assignment', kind: 'amputation', round: 1 }),
    ]);
    const chairWork = await get('chair', '/adjudication/worklist').expect(200);
    expect(chairWork.body).toEqual(expect.arrayContaining([expect.objectContaining({ caseId, action: 'assign' })]));

    await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-a', 'rev-b'] }).expect(201);
    const work = await get('rev-a', '/adjudication/worklist').expect(200);
    expect(work.body).toEqual([expect.objectContaining({ caseId, action: 'review' })]);

    await review('rev-a', caseId, amputationOutcome('major')).expect(201);
    // rev-b has not reviewed yet: sees nothing of rev-a's review.
    const blinded = await get('rev-b', `/adjudication/cases/${caseId}`).expect(200);
    expect(blinded.body.reviews).toEqual([]);
    expect(blinded.body.reviewsSubmitted).toBe(1);
    expect(blinded.text).not.toContain('rev-a read the operative note');
    expect(blinded.body.signatures).toBeUndefined();
    const own = await get('rev-a', `/adjudication/cases/${caseId}`).expect(200);
    expect(own.body.reviews).toEqual([expect.objectContaining({ reviewerId: 'rev-a' })]);

    await review('rev-b', caseId, { ...amputationOutcome('major'), onsetOn: '2026-02-02' }).expect(201);
    const final = await get('chair', `/adjudication/cases/${caseId}`).expect(200);
    expect(final.body).toMatchObject({
      status: 'finalized',
      decision: { round: 1, basis: 'concordant-reviews', outcome: { kind: 'amputation', amputation: { level: 'major' } } },
    });
    expect(final.body.reviews).toHaveLength(2);
    expect(final.body.signatures).toEqual([
      expect.objectContaining({
        signerId: 'rev-a',
        printedName: 'Dr. rev-a',
        meaning: 'review',
        charterVersion: 'default-1',
        valid: true,
        signedAt: expect.stringMatching(/Z$/),
        contentHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      }),
      expect.objectContaining({ signerId: 'rev-b', meaning: 'review', valid: true }),
    ]);
    const afterBoth = await get('rev-b', `/adjudication/cases/${caseId}`).expect(200);
    expect(afterBoth.body.reviews).toHaveLength(2);
    expect((await get('rev-a', '/adjudication/worklist')).body).toEqual([]);

    // 21 CFR 11.70: editing the stored signed content breaks its signature.
    await p.dataSource.query(
      `UPDATE es_events SET data = jsonb_set(data, '{rationale}', '"edited later"') WHERE stream_id = $1 AND event_type = 'ReviewSubmitted' AND data->>'reviewerId' = 'rev-a'`,
      [caseStream(trialId, caseId)],
    );
    const tampered = await get('chair', `/adjudication/cases/${caseId}`).expect(200);
    expect(tampered.body.signatures.map((s: { signerId: string; valid: boolean }) => [s.signerId, s.valid])).toEqual([
      ['rev-a', false],
      ['rev-b', true],
    ]);
  });

  it('a discordant case waits for the chair, whose signed resolution finalizes it', async () => {
    const { caseId } = await reportedAmputation();
    await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-a', 'rev-b'] }).expect(201);
    await review('rev-a', caseId, amputationOutcome('major')).expect(201);
    await review('rev-b', caseId, amputationOutcome('minor')).expect(201);
    const waiting = await get('chair', `/adjudication/cases/${caseId}`).expect(200);
    expect(waiting.body.status).toBe('awaiting-resolution');
    expect((await get('chair', '/adjudication/worklist')).body).toEqual(
      expect.arrayContaining([expect.objectContaining({ caseId, action: 'resolve' })]),
    );
    const resolved = await post('chair', `/adjudication/cases/${caseId}/resolution`, {
      outcome: amputationOutcome('major'),
      rationale: 'level confirmed by imaging',
      signature: { meaning: 'approval' },
    }).expect(201);
    expect(resolved.body.id).toBe(caseId);
    const final = await get('chair', `/adjudication/cases/${caseId}`).expect(200);
    expect(final.body).toMatchObject({
      status: 'finalized',
      decision: { basis: 'chair-resolution', outcome: { amputation: { level: 'major' } } },
    });
    expect(final.body.signatures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ signerId: 'chair', printedName: 'Prof. Chair', meaning: 'approval', valid: true }),
      ]),
    );
  });

  it('a site correction reopens the adjudicated case; the new decision supersedes the old, both kept', async () => {
    const { patientId, eventId, caseId } = await reportedAmputation();
    await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-a', 'rev-b'] }).expect(201);
    await review('rev-a', caseId, amputationOutcome('major')).expect(201);
    await review('rev-b', caseId, amputationOutcome('major')).expect(201);
    await post('inv', `/patients/${patientId}/adverse-events/${eventId}/corrections`, {
      changes: { 'amputation.level': 'minor' },
      reason: 'operative note says transmetatarsal',
    }).expect(201);
    const reopened = await get('chair', `/adjudication/cases/${caseId}`).expect(200);
    expect(reopened.body).toMatchObject({
      status: 'awaiting-assignment',
      round: 2,
      report: { amputation: { level: 'minor' } },
      reviews: [],
    });
    await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-b', 'rev-d'] }).expect(201);
    await review('rev-b', caseId, amputationOutcome('minor')).expect(201);
    await review('rev-d', caseId, amputationOutcome('minor')).expect(201);
    const final = await get('chair', `/adjudication/cases/${caseId}`).expect(200);
    expect(final.body.decision).toMatchObject({ round: 2, outcome: { amputation: { level: 'minor' } } });
    expect(final.body.decisions).toEqual([
      expect.objectContaining({ round: 1, outcome: expect.objectContaining({ amputation: { level: 'major', planned: false } }) }),
      expect.objectContaining({
        round: 2,
        supersedesRound: 1,
        outcome: expect.objectContaining({ amputation: { level: 'minor', planned: false } }),
      }),
    ]);
    // The chair can reopen too, with a reason.
    await post('chair', `/adjudication/cases/${caseId}/reopening`, { reason: 'new imaging received' }).expect(201);
    expect((await get('chair', `/adjudication/cases/${caseId}`)).body).toMatchObject({ status: 'awaiting-assignment', round: 3 });
  });

  it('refuses a reviewer affiliated with the patient site, and reviews or reads by a reviewer not assigned', async () => {
    const { caseId } = await reportedAmputation();
    const conflict = await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-c', 'rev-b'] });
    expect({ status: conflict.status, code: conflict.body.code }).toEqual({ status: 422, code: 'REVIEWER_CONFLICT' });
    await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-a', 'rev-b'] }).expect(201);
    const stranger = await review('rev-d', caseId, amputationOutcome('major'));
    expect({ status: stranger.status, code: stranger.body.code }).toEqual({ status: 403, code: 'NOT_ASSIGNED' });
    const peek = await get('rev-d', `/adjudication/cases/${caseId}`);
    expect({ status: peek.status, code: peek.body.code }).toEqual({ status: 403, code: 'NOT_ASSIGNED' });
    expect((await get('rev-d', '/adjudication/cases')).body.map((c: { caseId: string }) => c.caseId)).not.toContain(caseId);
    const twice = await review('rev-a', caseId, amputationOutcome('major'));
    expect(twice.status).toBe(201);
    const again = await review('rev-a', caseId, amputationOutcome('minor'));
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 409, code: 'REVIEW_ALREADY_SUBMITTED' });
    const notChair = await post('rev-a', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-a', 'rev-b'] });
    expect(notChair.status).toBe(403);
  });

  it('a case with an open query is not finalized until the site answers', async () => {
    const { caseId } = await reportedAmputation();
    await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-a', 'rev-b'] }).expect(201);
    await post('rev-a', `/adjudication/cases/${caseId}/queries`, { queryId: 'Q1', question: 'Please upload the operative note.' }).expect(
      201,
    );
    await review('rev-a', caseId, amputationOutcome('major')).expect(201);
    await review('rev-b', caseId, amputationOutcome('major')).expect(201);
    expect((await get('chair', `/adjudication/cases/${caseId}`)).body.status).toBe('in-review');
    const other = await p.token('site-investigator', { sites: ['S02'] });
    const wrongSite = await p.http
      .post(`/trials/${trialId}/adjudication/cases/${caseId}/queries/Q1/answer`)
      .set('Authorization', `Bearer ${other}`)
      .send({ answer: 'n/a' });
    expect(wrongSite.status).toBe(403);
    await post('inv', `/adjudication/cases/${caseId}/queries/Q1/answer`, { answer: 'Uploaded: below-knee amputation.' }).expect(201);
    const final = await get('chair', `/adjudication/cases/${caseId}`).expect(200);
    expect(final.body).toMatchObject({
      status: 'finalized',
      queries: [expect.objectContaining({ queryId: 'Q1', answer: 'Uploaded: below-knee amputation.' })],
    });
  });

  it('never shows arm or device to the committee (raw JSON)', async () => {
    const { caseId } = await reportedAmputation();
    await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-a', 'rev-b'] }).expect(201);
    const responses = [
      await get('chair', `/adjudication/cases/${caseId}`),
      await get('rev-a', `/adjudication/cases/${caseId}`),
      await get('chair', '/adjudication/cases'),
      await get('rev-a', '/adjudication/cases'),
      await get('rev-a', '/adjudication/worklist'),
      await get('chair', '/adjudication/worklist'),
    ];
    for (const response of responses) {
      expect(response.status).toBe(200);
      for (const secret of ['Alpha', 'Beta', 'SecretBalloon', 'DCB', '"arm"', '"device"']) expect(response.text).not.toContain(secret);
    }
    expect(responses[0]!.body.indexProcedure).toEqual({
      performedOn: '2026-01-05',
      limb: 'right',
      lesions: [{ segment: 'btk', lengthMm: 110, occlusion: true }],
    });
  });

  it('reports committee metrics', async () => {
    const metrics = await get('chair', '/adjudication/metrics').expect(200);
    expect(metrics.body.finalizedCases).toBeGreaterThanOrEqual(4);
    expect(metrics.body.openCases).toBeGreaterThanOrEqual(1);
    expect(metrics.body.reviewerAgreement.pairs).toBeGreaterThanOrEqual(5);
    expect(metrics.body.reviewerAgreement.agreementRate).toBeGreaterThan(0);
    expect(metrics.body.reviewerAgreement.agreementRate).toBeLessThan(1);
    expect(metrics.body.medianDaysToFinalDecision).toEqual(expect.any(Number));
    expect(Object.keys(metrics.body.openCasesByAge)).toEqual(['0-7', '8-30', '31-90', '>90']);
    expect((await get('rev-a', '/adjudication/metrics')).status).toBe(403);
  });
});
