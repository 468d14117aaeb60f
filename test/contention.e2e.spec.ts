import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerTrialWithSite, startPlatform, uniqueId, type RunningPlatform } from './support/platform';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

const baseline = { ageYears: 64, sex: 'F', diabetes: false, presentation: 'claudication', rutherfordClass: 3 };
const amputation = (eventId: string) => ({
  eventId,
  kind: 'amputation',
  onsetOn: '2026-02-01',
  limb: 'index',
  amputation: { level: 'minor', planned: false },
  description: 'toe amputation',
});

/**
 * api.md, Conventions: every decision is taken on the whole stream as one consistent read; a
 * command without If-Match is not refused because another committed first; an Idempotency-Key
 * is recorded with the command's events and never stuck.
 */
describe.each(backends)('commands racing on one stream, on %s', (_name, databaseUrl) => {
  let p: RunningPlatform;
  let inv: string;
  let trialId: string;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    p.http
      .post(path)
      .set('Authorization', `Bearer ${inv}`)
      .set(headers)
      .send(body as object);
  const enroll = async () => {
    const patientId = uniqueId('P');
    await post(`/trials/${trialId}/patients`, { patientId, siteId: 'S01', enrolledOn: '2026-01-05', baseline }).expect(201);
    return patientId;
  };
  const eventsOf = async (streamId: string) =>
    await p.dataSource.query<
      Array<{
        event_type: string;
        data: Record<string, unknown>;
        metadata: Record<string, unknown>;
      }>
    >('SELECT event_type, data, metadata FROM es_events WHERE stream_id = $1 ORDER BY stream_version', [streamId]);

  beforeAll(async () => {
    p = await startPlatform({ databaseUrl });
    inv = await p.token('site-investigator', { sub: 'inv-race', name: 'Dr. Race', sites: ['S01'] });
    trialId = await registerTrialWithSite(p, 'Contention');
  });
  afterAll(async () => {
    await p?.close();
  });

  it('16 concurrent distinct commands on one patient all succeed, each recorded once', async () => {
    const patientId = await enroll();
    const responses = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        post(`/trials/${trialId}/patients/${patientId}/visits`, {
          visitId: `V${i}`,
          visit: 'unscheduled',
          visitOn: `2026-03-${String(i + 1).padStart(2, '0')}`,
        }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(16).fill(201));
    const versions = responses.map((r) => r.body.streamVersion as number).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 16 }, (_, i) => i + 2));
    const visits = (await eventsOf(`patient/${trialId}/${patientId}`)).filter((e) => e.event_type === 'VisitRecorded');
    expect(visits.map((e) => e.data.visitId).sort()).toEqual(Array.from({ length: 16 }, (_, i) => `V${i}`).sort());
  });

  it('never records one visit twice when it races with others (decisions on one consistent read)', async () => {
    const patients = await Promise.all(Array.from({ length: 25 }, () => enroll()));
    const duplicated: string[] = [];
    const refused: string[] = [];
    await Promise.all(
      patients.map(async (patientId) => {
        const path = `/trials/${trialId}/patients/${patientId}/visits`;
        const same = { visitId: 'V-same', visit: '30d', visitOn: '2026-02-04' };
        const responses = await Promise.all([
          post(path, same),
          post(path, { visitId: 'V-a', visit: 'unscheduled', visitOn: '2026-02-05' }),
          post(path, same),
          post(path, { visitId: 'V-b', visit: 'unscheduled', visitOn: '2026-02-06' }),
          post(path, same),
          post(path, { visitId: 'V-c', visit: 'unscheduled', visitOn: '2026-02-07' }),
        ]);
        const recorded = (await eventsOf(`patient/${trialId}/${patientId}`)).filter((e) => e.data.visitId === 'V-same');
        if (recorded.length !== 1) duplicated.push(`${patientId}: V-same recorded ${recorded.length} times`);
        const sameAnswers = [responses[0], responses[2], responses[4]];
        const distinct = [responses[1], responses[3], responses[5]];
        const sameCodes = sameAnswers.map((r) => (r.status === 201 ? 201 : r.body.code)).sort();
        if (sameCodes.join() !== '201,VISIT_ALREADY_RECORDED,VISIT_ALREADY_RECORDED')
          refused.push(`${patientId}: same visit answered ${sameCodes.join()}`);
        for (const r of distinct) if (r.status !== 201) refused.push(`${patientId}: distinct visit answered ${r.status} ${r.body.code}`);
      }),
    );
    expect(duplicated).toEqual([]);
    expect(refused).toEqual([]);
  });

  describe('Idempotency-Key', () => {
    it('records the key with the events, in the same append (one write per keyed command)', async () => {
      const patientId = await enroll();
      const key = uniqueId('key');
      const answer = await post(`/trials/${trialId}/patients/${patientId}/adverse-events`, amputation('AE1'), {
        'Idempotency-Key': key,
      }).expect(201);
      const [event] = await eventsOf(`adverse-event/${trialId}/AE1`);
      expect(event!.metadata).toMatchObject({ idempotencyKey: key, requestHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      const rows = await p.dataSource.query('SELECT stream_id, request_hash FROM es_idempotency WHERE scope = $1 AND key = $2', [
        'inv-race',
        key,
      ]);
      expect(rows).toEqual([{ stream_id: `adverse-event/${trialId}/AE1`, request_hash: event!.metadata.requestHash }]);
      const replay = await post(`/trials/${trialId}/patients/${patientId}/adverse-events`, amputation('AE1'), {
        'Idempotency-Key': key,
      }).expect(201);
      expect(replay.body).toEqual(answer.body);
      expect(replay.headers['idempotent-replayed']).toBe('true');
    });

    it('a key whose first request never stored its events runs the command on retry (not stuck)', async () => {
      // What a crash before the append leaves: nothing. The old claim-first design left a claim row.
      const patientId = await enroll();
      const key = uniqueId('key');
      const eventId = uniqueId('AE');
      const first = await post(`/trials/${trialId}/patients/${patientId}/adverse-events`, amputation(eventId), { 'Idempotency-Key': key });
      expect(first.status).toBe(201);
      // The same key on a request that was refused is free again.
      const refusedKey = uniqueId('key');
      await post(
        `/trials/${trialId}/patients/${patientId}/visits`,
        { visitId: 'V1', visit: '30d', visitOn: '2025-01-01' },
        { 'Idempotency-Key': refusedKey },
      ).expect(422);
      await post(
        `/trials/${trialId}/patients/${patientId}/visits`,
        { visitId: 'V1', visit: '30d', visitOn: '2026-02-04' },
        { 'Idempotency-Key': refusedKey },
      ).expect(201);
    });

    it('the same request sent five times at once is carried out once; the others replay it or answer 409 with Retry-After', async () => {
      const patientId = await enroll();
      const key = uniqueId('key');
      const eventId = uniqueId('AE');
      const responses = await Promise.all(
        Array.from({ length: 5 }, () =>
          post(`/trials/${trialId}/patients/${patientId}/adverse-events`, amputation(eventId), { 'Idempotency-Key': key }),
        ),
      );
      const created = responses.filter((r) => r.status === 201);
      expect(created.length).toBeGreaterThanOrEqual(1);
      for (const r of created) expect(r.body).toEqual(created[0]!.body);
      for (const r of responses.filter((a) => a.status !== 201)) {
        expect({ status: r.status, code: r.body.code, retryAfter: r.headers['retry-after'] }).toEqual({
          status: 409,
          code: 'IDEMPOTENCY_KEY_IN_PROGRESS',
          retryAfter: '1',
        });
      }
      expect(await eventsOf(`adverse-event/${trialId}/${eventId}`)).toHaveLength(1);
    });

    it('a client that hangs up before its answer leaves its key free: each retry ends 201 and each event is recorded once', async () => {
      const { port } = p.app.getHttpServer().address() as AddressInfo;
      const patientId = await enroll();
      // Each with a token the server has not seen, whose verification is asynchronous: a hang-up can
      // land while the server authenticates, before the key is claimed.
      const sent = await Promise.all(
        Array.from({ length: 16 }, async (_, i) => ({
          key: uniqueId('key'),
          eventId: uniqueId('AE'),
          hangUpAfterMs: i % 8,
          token: await p.token('site-investigator', { sub: uniqueId('inv-gone'), sites: ['S01'] }),
        })),
      );
      // Each request is sent whole, then its connection dropped at once or a few milliseconds later:
      // before the server reads it, while it authenticates, while the command runs, or as the answer is written.
      await Promise.all(
        sent.map(
          ({ key, eventId, hangUpAfterMs, token }) =>
            new Promise<void>((resolve) => {
              const body = JSON.stringify(amputation(eventId));
              const request = httpRequest({
                port,
                method: 'POST',
                path: `/trials/${trialId}/patients/${patientId}/adverse-events`,
                headers: {
                  Authorization: `Bearer ${token}`,
                  'Content-Type': 'application/json',
                  'Content-Length': Buffer.byteLength(body),
                  'Idempotency-Key': key,
                },
              });
              request.on('error', () => resolve());
              request.on('close', () => resolve());
              request.end(body, () => setTimeout(() => request.destroy(), hangUpAfterMs));
            }),
        ),
      );
      const stuck: string[] = [];
      for (const { key, eventId, token } of sent) {
        const retry = () =>
          p.http
            .post(`/trials/${trialId}/patients/${patientId}/adverse-events`)
            .set({ Authorization: `Bearer ${token}`, 'Idempotency-Key': key })
            .send(amputation(eventId));
        let answer = await retry();
        // A command still running when its client left answers 409 IN_PROGRESS until it ends; never for long.
        for (let tries = 0; answer.status === 409 && tries < 40; tries += 1) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          answer = await retry();
        }
        if (answer.status !== 201) stuck.push(`${key}: ${answer.status} ${answer.body.code}`);
        expect(await eventsOf(`adverse-event/${trialId}/${eventId}`)).toHaveLength(1);
      }
      expect(stuck).toEqual([]);
    });

    it('a key spent on one request refuses another, on the same stream or another, and writes nothing', async () => {
      const patientId = await enroll();
      const key = uniqueId('key');
      await post(
        `/trials/${trialId}/patients/${patientId}/visits`,
        { visitId: 'V1', visit: '30d', visitOn: '2026-02-04' },
        { 'Idempotency-Key': key },
      ).expect(201);
      const other = await enroll();
      const before = await p.eventCount();
      const sameStream = await post(
        `/trials/${trialId}/patients/${patientId}/visits`,
        { visitId: 'V2', visit: '6m', visitOn: '2026-07-04' },
        { 'Idempotency-Key': key },
      );
      expect({ status: sameStream.status, code: sameStream.body.code }).toEqual({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
      const otherStream = await post(
        `/trials/${trialId}/patients/${other}/visits`,
        { visitId: 'V1', visit: '30d', visitOn: '2026-02-04' },
        { 'Idempotency-Key': key },
      );
      expect({ status: otherStream.status, code: otherStream.body.code }).toEqual({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(await p.eventCount()).toBe(before);
      // Keys are the user's: another investigator may use the same key.
      const colleague = await p.token('site-investigator', { sub: 'inv-other', sites: ['S01'] });
      await p.http
        .post(`/trials/${trialId}/patients/${other}/visits`)
        .set('Authorization', `Bearer ${colleague}`)
        .set('Idempotency-Key', key)
        .send({ visitId: 'V1', visit: '30d', visitOn: '2026-02-04' })
        .expect(201);
    });

    it('a key expires after IDEMPOTENCY_TTL (24h by default) and may then name a new request', async () => {
      const patientId = await enroll();
      const key = uniqueId('key');
      await post(
        `/trials/${trialId}/patients/${patientId}/visits`,
        { visitId: 'V1', visit: '30d', visitOn: '2026-02-04' },
        { 'Idempotency-Key': key },
      ).expect(201);
      const saved = p.clock.now();
      try {
        p.clock.set(new Date(saved.getTime() + 23 * 3_600_000));
        await post(
          `/trials/${trialId}/patients/${patientId}/visits`,
          { visitId: 'V2', visit: '6m', visitOn: '2026-06-04' },
          { 'Idempotency-Key': key },
        ).expect(422);
        p.clock.set(new Date(saved.getTime() + 25 * 3_600_000));
        await post(
          `/trials/${trialId}/patients/${patientId}/visits`,
          { visitId: 'V2', visit: '6m', visitOn: '2026-06-04' },
          { 'Idempotency-Key': key },
        ).expect(201);
        const other = await enroll();
        const reused = await post(
          `/trials/${trialId}/patients/${other}/visits`,
          { visitId: 'V9', visit: '30d', visitOn: '2026-02-04' },
          { 'Idempotency-Key': key },
        );
        expect(reused.status).toBe(422);
      } finally {
        p.clock.set(saved);
      }
    });
  });
});
