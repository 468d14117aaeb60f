import { verifySignature } from '../apps/adjudication/src/domain/e-signature';
import { verifyExport } from '../libs/audit/src';
import { caseStream, type ChairResolutionRecorded, type ESignature, type ReviewSubmitted } from '../libs/contracts/src';
import { SignJWT } from 'jose';
import { TEST_SECRET, startPlatform, uniqueId, type RunningPlatform, type TokenOptions } from './support/platform';

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
    // The production window (api.md: SIGNATURE_MAX_AGE, default 300).
    p = await startPlatform({ databaseUrl, signatureMaxAge: 300 });
    tokens.admin = await p.token('trial-admin', { sub: 'admin' });
    tokens.inv = await p.token('site-investigator', { sub: 'inv-s01', name: 'Dr. Site One', sites: ['S01'] });
    tokens.chair = await p.token('cec-chair', { sub: 'chair', name: 'Prof. Chair' });
    for (const id of ['rev-a', 'rev-b', 'rev-c', 'rev-d']) tokens[id] = await p.token('cec-reviewer', { sub: id, name: `Dr. ${id}` });
    await setUpTrial();
  });

  /** A randomised trial with sites S01 and S02 and its committee; becomes the trial the helpers act on. */
  async function setUpTrial(): Promise<string> {
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
    return trialId;
  }
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

  it("a chair's command right after a site correction decides on the case the correction reopened", async () => {
    // The case opener reopens the case in the background; a command must not decide on the case as it was before.
    const cases = await Promise.all([reportedAmputation(), reportedAmputation(), reportedAmputation(), reportedAmputation()]);
    for (const { caseId } of cases) {
      await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-a', 'rev-b'] }).expect(201);
      await review('rev-a', caseId, amputationOutcome('major')).expect(201);
      await review('rev-b', caseId, amputationOutcome('major')).expect(201);
    }
    const answers = await Promise.all(
      cases.map(async ({ patientId, eventId, caseId }) => {
        await post('inv', `/patients/${patientId}/adverse-events/${eventId}/corrections`, {
          changes: { 'amputation.level': 'minor' },
          reason: 'operative note says transmetatarsal',
        }).expect(201);
        const assigned = await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-b', 'rev-d'] });
        return { status: assigned.status, code: (assigned.body as { code?: string }).code };
      }),
    );
    expect(answers).toEqual(cases.map(() => ({ status: 201, code: undefined })));
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
  it("a correction reopens a finalized case: the view keeps both rounds, the superseded ruling and the correction's reason", async () => {
    const { patientId, eventId, caseId } = await reportedAmputation();
    await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-a', 'rev-b'] }).expect(201);
    await review('rev-a', caseId, amputationOutcome('major')).expect(201);
    await review('rev-b', caseId, amputationOutcome('minor')).expect(201);
    await post('chair', `/adjudication/cases/${caseId}/resolution`, {
      outcome: amputationOutcome('major'),
      rationale: 'round-1 ruling: imaging shows a below-knee level',
      signature: { meaning: 'approval' },
    }).expect(201);
    await post('inv', `/patients/${patientId}/adverse-events/${eventId}/corrections`, {
      changes: { 'amputation.level': 'minor' },
      reason: 'operative note says transmetatarsal',
    }).expect(201);
    // The chair sees the case reopened (a read waits for the case opener, which reopens it), then assigns.
    expect((await get('chair', `/adjudication/cases/${caseId}`).expect(200)).body).toMatchObject({
      status: 'awaiting-assignment',
      round: 2,
    });
    await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-b', 'rev-d'] }).expect(201);

    // rev-d reviews round 2 without seeing round 1 (no anchoring), but sees why it reopened.
    const blind = await get('rev-d', `/adjudication/cases/${caseId}`).expect(200);
    expect(blind.body).toMatchObject({ round: 2, earlierRoundsHidden: true, rounds: [{ round: 2 }] });
    expect(blind.body.rounds[0].opened).toMatchObject({ trigger: 'correction', reason: 'operative note says transmetatarsal' });
    expect(blind.body.decision).toBeUndefined();
    for (const hidden of ['round-1 ruling', 'rev-a read the operative note', 'supersede']) expect(blind.text).not.toContain(hidden);

    await review('rev-d', caseId, amputationOutcome('minor')).expect(201);
    const seen = await get('rev-d', `/adjudication/cases/${caseId}`).expect(200);
    expect(seen.body.rounds.map((r: { round: number }) => r.round)).toEqual([1, 2]);
    expect(seen.body.rounds[1].reviews.map((r: { reviewerId: string }) => r.reviewerId)).toEqual(['rev-d']);
    expect(seen.text).toContain('round-1 ruling: imaging shows a below-knee level');

    await review('rev-b', caseId, amputationOutcome('minor')).expect(201);
    for (const who of ['chair', 'rev-b']) {
      const final = await get(who, `/adjudication/cases/${caseId}`).expect(200);
      const [first, second] = final.body.rounds;
      expect(first).toMatchObject({
        round: 1,
        opened: { trigger: 'report', report: { amputation: { level: 'major' } } },
        assignments: [{ reviewerIds: ['rev-a', 'rev-b'], assignedBy: 'chair', at: expect.stringMatching(/Z$/) }],
        reviews: [
          { reviewerId: 'rev-a', rationale: 'rev-a read the operative note', signature: { signerId: 'rev-a', valid: true } },
          { reviewerId: 'rev-b', signature: { valid: true } },
        ],
        resolution: { chairId: 'chair', rationale: 'round-1 ruling: imaging shows a below-knee level', signature: { valid: true } },
        decision: {
          basis: 'chair-resolution',
          outcome: { amputation: { level: 'major' } },
          rationales: [{ signerId: 'chair', meaning: 'approval', rationale: 'round-1 ruling: imaging shows a below-knee level' }],
          signatures: [{ signerId: 'chair', meaning: 'approval', valid: true }],
          supersededByRound: 2,
        },
      });
      expect(second).toMatchObject({
        round: 2,
        opened: { trigger: 'correction', reason: 'operative note says transmetatarsal', report: { amputation: { level: 'minor' } } },
        assignments: [{ reviewerIds: ['rev-b', 'rev-d'], assignedBy: 'chair' }],
        decision: { basis: 'concordant-reviews', supersedesRound: 1, outcome: { amputation: { level: 'minor' } } },
      });
      expect(second.decision.rationales).toHaveLength(2);
      for (const secret of ['Alpha', 'Beta', 'SecretBalloon', 'DCB', '"arm"', '"device"']) expect(final.text).not.toContain(secret);
    }
  });

  describe('the signing ceremony (21 CFR 11.200(a)(1))', () => {
    const reviewBody = { outcome: amputationOutcome('major'), rationale: 'signed after a fresh login', signature: { meaning: 'review' } };
    const now = () => p.clock.now().getTime();
    const login = (sub: string, options: TokenOptions = {}) => p.token('cec-reviewer', { sub, name: `Dr. ${sub}`, ...options });
    const signAs = (token: string, caseId: string, headers: Record<string, string> = {}) =>
      p.http
        .post(`/trials/${trialId}/adjudication/cases/${caseId}/reviews`)
        .set({ Authorization: `Bearer ${token}`, ...headers })
        .send(reviewBody);
    const caseEvents = async (caseId: string) =>
      Number(
        (
          await p.dataSource.query<Array<{ n: string }>>('SELECT count(*) AS n FROM es_events WHERE stream_id = $1', [
            caseStream(trialId, caseId),
          ])
        )[0]!.n,
      );
    const idempotencyRecords = async (key: string) =>
      Number((await p.dataSource.query<Array<{ n: string }>>('SELECT count(*) AS n FROM es_idempotency WHERE key = $1', [key]))[0]!.n);
    async function assignedCase(): Promise<string> {
      const { caseId } = await reportedAmputation();
      await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: ['rev-a', 'rev-b'] }).expect(201);
      return caseId;
    }
    function expectStepUp(response: { status: number; body: { code?: string }; headers: Record<string, string> }) {
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 401, code: 'SIGNATURE_REAUTHENTICATION_REQUIRED' });
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['www-authenticate']).toBe('Bearer error="insufficient_user_authentication", max_age=300');
    }

    it('refuses a stale, a missing or a future auth_time with the RFC 9470 challenge, and writes nothing', async () => {
      const caseId = await assignedCase();
      const before = { requests: await p.eventCount(), case: await caseEvents(caseId) };
      const refused = [
        await login('rev-a', { authTime: new Date(now() - 301_000) }),
        await login('rev-a', { authTime: null }),
        await login('rev-a', { authTime: new Date(now() + 120_000) }),
      ];
      for (const [i, token] of refused.entries()) {
        const key = `stale-${caseId}-${i}`;
        expectStepUp(await signAs(token, caseId, { 'Idempotency-Key': key }));
        expect(await idempotencyRecords(key)).toBe(0);
      }
      const chair = await p.token('cec-chair', { sub: 'chair', name: 'Prof. Chair', authTime: new Date(now() - 3_600_000) });
      expectStepUp(
        await p.http
          .post(`/trials/${trialId}/adjudication/cases/${caseId}/resolution`)
          .set('Authorization', `Bearer ${chair}`)
          .send({ outcome: amputationOutcome('major'), rationale: 'late', signature: { meaning: 'approval' } }),
      );
      expect({ requests: await p.eventCount(), case: await caseEvents(caseId) }).toEqual(before);
      // Reading needs no fresh login: only a signing does.
      await get('rev-a', `/adjudication/cases/${caseId}`).expect(200);
    });

    it('refuses a malformed auth_time as an invalid token, naming the claim', async () => {
      const caseId = await assignedCase();
      // Validly signed, but its auth_time is no NumericDate: an identity-provider fault, not a stale login.
      const forged = await new SignJWT({ name: 'Dr. rev-a', roles: ['cec-reviewer'], sites: [], auth_time: 'yesterday' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('rev-a')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(TEST_SECRET));
      const response = await signAs(forged, caseId);
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 401, code: 'TOKEN_INVALID' });
      expect(response.body.detail).toContain('"auth_time"');
    });

    it('accepts a fresh login and records authTime, amr and acr in the signature, the case view and the audit trail', async () => {
      const caseId = await assignedCase();
      const loggedInAt = new Date(now() - 299_000);
      const token = await login('rev-a', { authTime: loggedInAt, amr: ['pwd', 'otp'], acr: 'urn:example:loa:2' });
      await signAs(token, caseId).expect(201);
      const expected = {
        authTime: new Date(Math.floor(loggedInAt.getTime() / 1000) * 1000).toISOString(),
        amr: ['pwd', 'otp'],
        acr: 'urn:example:loa:2',
      };

      const [stored] = await p.dataSource.query<Array<{ data: ReviewSubmitted }>>(
        `SELECT data FROM es_events WHERE stream_id = $1 AND event_type = 'ReviewSubmitted'`,
        [caseStream(trialId, caseId)],
      );
      expect(stored!.data.signature).toMatchObject({ signerId: 'rev-a', meaning: 'review', ...expected });
      const { caseId: c, round, outcome, rationale, signature } = stored!.data;
      expect(verifySignature({ caseId: c, round, outcome, rationale }, signature)).toBe(true);
      // The hash covers them: a changed authTime no longer verifies (21 CFR 11.70).
      expect(verifySignature({ caseId: c, round, outcome, rationale }, { ...signature, authTime: new Date(0).toISOString() })).toBe(false);

      const view = await get('rev-a', `/adjudication/cases/${caseId}`).expect(200);
      expect(view.body.reviews[0].signature).toMatchObject(expected);
      expect(view.body.rounds[0].reviews[0].signature).toMatchObject({ ...expected, valid: true });
      const chairView = await get('chair', `/adjudication/cases/${caseId}`).expect(200);
      expect(chairView.body.signatures).toEqual([expect.objectContaining({ ...expected, valid: true })]);

      const auditor = await p.token('auditor', { sub: 'aud-sign' });
      const trail = await p.http
        .get(`/trials/${trialId}/audit?streamId=${encodeURIComponent(caseStream(trialId, caseId))}`)
        .set('Authorization', `Bearer ${auditor}`)
        .expect(200);
      const signed = (trail.body.items as Array<{ type: string; what: { signature: ESignature } }>).find(
        (i) => i.type === 'ReviewSubmitted',
      );
      expect(signed?.what.signature).toMatchObject(expected);
    });

    it('refuses the same token once its login is older than the window', async () => {
      const [first, second] = [await assignedCase(), await assignedCase()];
      const token = await login('rev-a');
      await signAs(token, first).expect(201);
      p.clock.advance(301_000);
      const before = await caseEvents(second);
      expectStepUp(await signAs(token, second));
      expect(await caseEvents(second)).toBe(before);
      await signAs(await login('rev-a'), second).expect(201);
    });

    it('replays a signing already carried out when its Idempotency-Key is retried after the window, and signs nothing new', async () => {
      const caseId = await assignedCase();
      const token = await login('rev-a');
      const key = `sign-${caseId}`;
      const first = await signAs(token, caseId, { 'Idempotency-Key': key }).expect(201);
      const count = await caseEvents(caseId);
      p.clock.advance(600_000);
      // The client lost the answer and retries: the review was signed with a fresh login back then;
      // the retry executes no signing, so it gets that answer, not a demand to log in again.
      const retry = await signAs(token, caseId, { 'Idempotency-Key': key }).expect(201);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.body).toEqual(first.body);
      expect(await caseEvents(caseId)).toBe(count);
      // A refused signing leaves its key unused: the same request after a new login goes through.
      const otherKey = `sign-b-${caseId}`;
      expectStepUp(
        await signAs(await p.token('cec-reviewer', { sub: 'rev-b', authTime: new Date(now() - 900_000) }), caseId, {
          'Idempotency-Key': otherKey,
        }),
      );
      await signAs(await login('rev-b'), caseId, { 'Idempotency-Key': otherKey }).expect(201);
    });

    it("keeps the reviewers' and the chair's signatures verifiable after an audit export round trip", async () => {
      // A trial of its own: the first test tampers with its trial's log on purpose, which no export verifies.
      const tampered = trialId;
      await setUpTrial();
      try {
        const caseId = await assignedCase();
        await signAs(await login('rev-a', { amr: ['pwd'] }), caseId).expect(201);
        await p.http
          .post(`/trials/${trialId}/adjudication/cases/${caseId}/reviews`)
          .set('Authorization', `Bearer ${await login('rev-b')}`)
          .send({ ...reviewBody, outcome: amputationOutcome('minor') })
          .expect(201);
        const chair = await p.token('cec-chair', { sub: 'chair', name: 'Prof. Chair', amr: ['hwk'], acr: 'phr' });
        await p.http
          .post(`/trials/${trialId}/adjudication/cases/${caseId}/resolution`)
          .set('Authorization', `Bearer ${chair}`)
          .send({ outcome: amputationOutcome('major'), rationale: 'ruled after a fresh login', signature: { meaning: 'approval' } })
          .expect(201);
        const auditor = await p.token('auditor', { sub: 'aud-export' });
        const res = await p.http
          .get(`/trials/${trialId}/audit/export`)
          .set('Authorization', `Bearer ${auditor}`)
          .buffer(true)
          .parse((response, done) => {
            let text = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => (text += chunk));
            response.on('end', () => done(null, text));
          })
          .expect(200);
        const verified = verifyExport((res.body as string).split('\n'));
        if (!verified.ok) throw new Error(`the export does not verify: ${JSON.stringify(verified)}`);
        const signings = verified.events.filter(
          (e) => e.streamId === caseStream(trialId, caseId) && (e.type === 'ReviewSubmitted' || e.type === 'ChairResolutionRecorded'),
        );
        expect(signings.map((e) => e.type)).toEqual(['ReviewSubmitted', 'ReviewSubmitted', 'ChairResolutionRecorded']);
        for (const event of signings) {
          const { caseId: c, round, outcome, rationale, signature } = event.data as ReviewSubmitted | ChairResolutionRecorded;
          expect(signature.authTime).toMatch(/Z$/);
          expect(verifySignature({ caseId: c, round, outcome, rationale }, signature)).toBe(true);
        }
        expect((signings[0]!.data as ReviewSubmitted).signature.amr).toEqual(['pwd']);
        expect((signings[2]!.data as ChairResolutionRecorded).signature).toMatchObject({ signerId: 'chair', amr: ['hwk'], acr: 'phr' });
      } finally {
        trialId = tampered;
      }
    });
  });
});
