/**
 * A read of one stream answers its version as a strong ETag, exactly as a command does, so the
 * ETag of a GET can be sent back as If-Match: 201 on that version, 412 once another write moved it.
 */
import { startPlatform, type RunningPlatform } from './support/platform';

describe('GET → If-Match round trip', () => {
  let p: RunningPlatform;
  let admin: string;
  let inv: string;
  const trialId = `ETAG-${Date.now().toString(36)}`;

  beforeAll(async () => {
    p = await startPlatform();
    admin = await p.token('trial-admin');
    inv = await p.token('site-investigator', { sites: ['S01'] });
  }, 120_000);
  afterAll(() => p.close());

  const post = (path: string, token: string, body: unknown, headers: Record<string, string> = {}) =>
    p.http
      .post(path)
      .set({ Authorization: `Bearer ${token}`, ...headers })
      .send(body as object);
  const get = (path: string, token: string) => p.http.get(path).set('Authorization', `Bearer ${token}`);

  it('a trial: the GET ETag is the stream version and works as If-Match', async () => {
    const created = await post('/trials', admin, { trialId, title: 'ETag registry', protocolVersion: '1' }).expect(201);
    const read = await get(`/trials/${trialId}`, admin).expect(200);
    expect(read.headers.etag).toBe(`"${(read.body as { version: number }).version}"`);
    expect(read.headers.etag).toBe(created.headers.etag);
    await post(
      `/trials/${trialId}/sites`,
      admin,
      { siteId: 'S01', name: 'One', country: 'IT' },
      { 'If-Match': read.headers.etag as string },
    ).expect(201);
    const stale = await post(
      `/trials/${trialId}/sites`,
      admin,
      { siteId: 'S02', name: 'Two', country: 'IT' },
      {
        'If-Match': read.headers.etag as string,
      },
    );
    expect(stale.status).toBe(412);
    const again = await get(`/trials/${trialId}`, admin).expect(200);
    expect(again.headers.etag).toBe(`"${(again.body as { version: number }).version}"`);
    expect(again.headers.etag).not.toBe(read.headers.etag);
  });

  it('a patient and an adverse event: the same round trip', async () => {
    const baseline = { ageYears: 70, sex: 'F', diabetes: false, presentation: 'cli', rutherfordClass: 5 };
    await post(`/trials/${trialId}/patients`, inv, { patientId: 'P1', siteId: 'S01', enrolledOn: '2026-01-10', baseline }).expect(201);
    const patient = await get(`/trials/${trialId}/patients/P1`, inv).expect(200);
    expect(patient.headers.etag).toBe(`"${(patient.body as { version: number }).version}"`);
    await post(
      `/trials/${trialId}/patients/P1/corrections`,
      inv,
      { changes: { 'baseline.ageYears': 71 }, reason: 'transcription error' },
      { 'If-Match': patient.headers.etag as string },
    ).expect(201);

    const event = {
      eventId: 'AE1',
      kind: 'other',
      onsetOn: '2026-02-01',
      description: 'groin haematoma',
    };
    await post(`/trials/${trialId}/patients/P1/adverse-events`, inv, event).expect(201);
    const read = await get(`/trials/${trialId}/patients/P1/adverse-events/AE1`, inv).expect(200);
    expect(read.headers.etag).toBe(`"${(read.body as { version: number }).version}"`);
    await post(
      `/trials/${trialId}/patients/P1/adverse-events/AE1/corrections`,
      inv,
      { changes: { onsetOn: '2026-02-02' }, reason: 'date misread' },
      { 'If-Match': read.headers.etag as string },
    ).expect(201);
    const stale = await post(
      `/trials/${trialId}/patients/P1/adverse-events/AE1/corrections`,
      inv,
      { changes: { onsetOn: '2026-02-03' }, reason: 'again' },
      { 'If-Match': read.headers.etag as string },
    );
    expect(stale.status).toBe(412);
  });
});
