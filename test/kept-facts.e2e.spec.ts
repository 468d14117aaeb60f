import { PostgresEventStore, type EventStore } from '../libs/event-store/src';
import { registerTrialWithSite, startPlatform, uniqueId, type RunningPlatform } from './support/platform';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

const baseline = { ageYears: 64, sex: 'F', diabetes: false, presentation: 'claudication', rutherfordClass: 3 };
const haematoma = (eventId: string, onsetOn: string) => ({
  eventId,
  kind: 'other',
  onsetOn,
  limb: 'index',
  description: 'groin haematoma',
});
const procedure = (procedureId: string, performedOn: string) => ({
  procedureId,
  performedOn,
  limb: 'left',
  device: { kind: 'DCB', name: 'Legflow DCB' },
  lesions: [{ segment: 'btk', lengthMm: 80, occlusion: true }],
  technicalSuccess: true,
});
const metadata = { actor: { userId: 'elsewhere', name: 'Another process', roles: [] }, correlationId: 'c-elsewhere' };

/**
 * A procedure or an adverse event is decided on the patient's facts (enrolment date, withdrawal),
 * which the platform takes from what it last saw of the patient's stream, without reading it. Here
 * another process (a second store on the same database, as a second server would hold it) changes
 * the patient behind the platform's back: the decision must be the one the stream as it is gives.
 */
describe.each(backends)('decisions on a patient another process changed, on %s', (_name, databaseUrl) => {
  let p: RunningPlatform;
  let inv: string;
  let trialId: string;
  let elsewhere: EventStore;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    p.http
      .post(path)
      .set('Authorization', `Bearer ${inv}`)
      .set(headers)
      .send(body as object);
  const eventsOf = async (streamId: string) =>
    await p.dataSource.query<Array<{ event_type: string }>>(
      'SELECT event_type FROM es_events WHERE stream_id = $1 ORDER BY stream_version',
      [streamId],
    );
  /** A patient enrolled on 2026-01-05 with one adverse event reported: the platform has seen its stream. */
  const seenPatient = async () => {
    const patientId = uniqueId('P');
    await post(`/trials/${trialId}/patients`, { patientId, siteId: 'S01', enrolledOn: '2026-01-05', baseline }).expect(201);
    await post(`/trials/${trialId}/patients/${patientId}/adverse-events`, haematoma(uniqueId('E'), '2026-02-01')).expect(201);
    return { patientId, stream: `patient/${trialId}/${patientId}` };
  };

  beforeAll(async () => {
    p = await startPlatform({ databaseUrl });
    elsewhere = new PostgresEventStore(p.dataSource);
    inv = await p.token('site-investigator', { sub: 'inv-kept', name: 'Dr. Kept', sites: ['S01'] });
    trialId = await registerTrialWithSite(p, 'Kept facts');
  });
  afterAll(async () => {
    await p?.close();
  });

  it('refuses an adverse event after a withdrawal recorded elsewhere', async () => {
    const { patientId, stream } = await seenPatient();
    await elsewhere.appendToStream(stream, [
      { type: 'PatientWithdrawn', data: { trialId, patientId, withdrawnOn: '2026-03-01', reason: 'moved away' }, metadata },
    ]);
    const late = await post(`/trials/${trialId}/patients/${patientId}/adverse-events`, haematoma(uniqueId('E'), '2026-04-01'));
    expect(late.status).toBe(422);
    expect(late.body.code).toBe('PATIENT_WITHDRAWN');
    // And a procedure after it, the same.
    const procedureAfter = await post(`/trials/${trialId}/patients/${patientId}/procedures`, procedure(uniqueId('X'), '2026-04-02'));
    expect(procedureAfter.status).toBe(422);
    expect(procedureAfter.body.code).toBe('PATIENT_WITHDRAWN');
  });

  it('refuses a procedure before an enrolment date corrected elsewhere, and accepts an event the stale date refused', async () => {
    const { patientId, stream } = await seenPatient();
    await elsewhere.appendToStream(stream, [
      {
        type: 'PatientDataCorrected',
        data: { trialId, patientId, changes: [{ field: 'enrolledOn', previous: '2026-01-05', value: '2026-01-20' }], reason: 'typo' },
        metadata,
      },
    ]);
    const early = await post(`/trials/${trialId}/patients/${patientId}/procedures`, procedure(uniqueId('X'), '2026-01-10'));
    expect(early.status).toBe(422);
    expect(early.body.code).toBe('PROCEDURE_BEFORE_ENROLLMENT');
    await post(`/trials/${trialId}/patients/${patientId}/procedures`, procedure(uniqueId('X'), '2026-01-25')).expect(201);

    // The other way round: what the platform last saw (enrolled 01-05) refuses 01-03; the stream, corrected to 01-02, accepts it.
    const other = await seenPatient();
    await elsewhere.appendToStream(other.stream, [
      {
        type: 'PatientDataCorrected',
        data: {
          trialId,
          patientId: other.patientId,
          changes: [{ field: 'enrolledOn', previous: '2026-01-05', value: '2026-01-02' }],
          reason: 'typo',
        },
        metadata,
      },
    ]);
    await post(`/trials/${trialId}/patients/${other.patientId}/procedures`, procedure(uniqueId('X'), '2026-01-03')).expect(201);
  });

  it('enrols at a site added to the trial elsewhere, which the trial as last seen here does not have', async () => {
    const siteId = uniqueId('S');
    await elsewhere.appendToStream(`trial/${trialId}`, [
      { type: 'SiteAdded', data: { trialId, siteId, name: 'Added elsewhere', country: 'FR' }, metadata },
    ]);
    const there = await p.token('site-investigator', { sub: 'inv-there', name: 'Dr. There', sites: [siteId] });
    const patientId = uniqueId('P');
    await p.http
      .post(`/trials/${trialId}/patients`)
      .set('Authorization', `Bearer ${there}`)
      .send({ patientId, siteId, enrolledOn: '2026-01-05', baseline })
      .expect(201);
    // And at a site it has, on a trial moved on elsewhere: decided again on the trial as it is.
    await post(`/trials/${trialId}/patients`, { patientId: uniqueId('P'), siteId: 'S01', enrolledOn: '2026-01-05', baseline }).expect(201);
  });

  it('carries out one report sent twice at once with one Idempotency-Key once, on a patient moved on elsewhere', async () => {
    const { patientId, stream } = await seenPatient();
    // The platform's kept facts are now one version behind: both copies fail their guard first.
    await elsewhere.appendToStream(stream, [
      {
        type: 'VisitRecorded',
        data: { trialId, patientId, visitId: 'V-elsewhere', visit: 'unscheduled', visitOn: '2026-02-10' },
        metadata,
      },
    ]);
    const eventId = uniqueId('E');
    const key = { 'Idempotency-Key': uniqueId('K') };
    const path = `/trials/${trialId}/patients/${patientId}/adverse-events`;
    const [first, second] = await Promise.all([
      post(path, haematoma(eventId, '2026-02-11'), key),
      post(path, haematoma(eventId, '2026-02-11'), key),
    ]);
    const statuses = [first.status, second.status].sort();
    // One carries it out; the other is told the key is still running, or replays the same answer.
    expect([
      [201, 201],
      [201, 409],
    ]).toContainEqual(statuses);
    for (const answer of [first, second]) if (answer.status === 409) expect(answer.body.code).toBe('IDEMPOTENCY_KEY_IN_PROGRESS');
    expect((await eventsOf(`adverse-event/${trialId}/${eventId}`)).map((e) => e.event_type)).toEqual(['AdverseEventReported']);
    // And again afterwards: replayed, nothing more written.
    const again = await post(path, haematoma(eventId, '2026-02-11'), key).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await eventsOf(`adverse-event/${trialId}/${eventId}`)).toHaveLength(1);
  });

  it('answers 404 for a patient no process has enrolled, and writes nothing', async () => {
    const patientId = uniqueId('P-unknown');
    const eventId = uniqueId('E');
    const answer = await post(`/trials/${trialId}/patients/${patientId}/adverse-events`, haematoma(eventId, '2026-02-11'));
    expect(answer.status).toBe(404);
    expect(answer.body.code).toBe('PATIENT_NOT_FOUND');
    const recorded = await post(`/trials/${trialId}/patients/${patientId}/procedures`, procedure(uniqueId('X'), '2026-02-12'));
    expect(recorded.status).toBe(404);
    expect(await eventsOf(`adverse-event/${trialId}/${eventId}`)).toEqual([]);
    expect(await eventsOf(`patient/${trialId}/${patientId}`)).toEqual([]);
  });

  it('records each adverse event once while another process keeps appending visits to the patient', async () => {
    const { patientId, stream } = await seenPatient();
    let writing = true;
    const visits = (async () => {
      for (let i = 0; writing && i < 200; i++) {
        const visitOn = `2026-0${3 + (i % 6)}-${String(1 + (i % 28)).padStart(2, '0')}`;
        await elsewhere.appendToStream(stream, [
          { type: 'VisitRecorded', data: { trialId, patientId, visitId: `V${i}`, visit: 'unscheduled', visitOn }, metadata },
        ]);
      }
    })();
    const eventIds = Array.from({ length: 12 }, () => uniqueId('E'));
    const answers = await Promise.all(
      eventIds.map((eventId) => post(`/trials/${trialId}/patients/${patientId}/adverse-events`, haematoma(eventId, '2026-02-02'))),
    );
    writing = false;
    await visits;
    for (const [i, answer] of answers.entries()) {
      // Accepted, or (the patient moving on at every attempt) 409 with nothing written; never a 5xx.
      expect([201, 409]).toContain(answer.status);
      const written = await eventsOf(`adverse-event/${trialId}/${eventIds[i]!}`);
      expect(written.map((e) => e.event_type)).toEqual(answer.status === 201 ? ['AdverseEventReported'] : []);
      if (answer.status === 409) expect(answer.body.code).toBe('CONCURRENT_MODIFICATION');
    }
    expect(answers.filter((a) => a.status === 201).length).toBeGreaterThan(0);
  });
});
