import { legDebBtkCohort } from '../../scripts/demo-cohort';
import { startPlatform } from './platform';
import { adjudicateAsReported, seedCohort } from './seed-cohort';

/**
 * A real audit export (GET /trials/{t}/audit/export) of the seed cohort with its CEC cases
 * adjudicated and one adverse event corrected: several stream families, chains longer than one.
 */
export async function sampleExport(trialId = `EXPORT-${Date.now().toString(36)}`): Promise<{ trialId: string; text: string }> {
  const p = await startPlatform();
  try {
    const cohort = legDebBtkCohort();
    const tokens = await seedCohort(p, trialId, cohort);
    await adjudicateAsReported(p, trialId, cohort, tokens);
    const patient = cohort.patients.find((x) => x.adverseEvents.length > 0)!;
    const event = patient.adverseEvents[0]!;
    await p.http
      .post(`/trials/${trialId}/patients/${patient.enrollment.patientId}/adverse-events/${event.eventId}/corrections`)
      .set('Authorization', `Bearer ${tokens[patient.enrollment.siteId]}`)
      .send({ changes: { description: `${event.description} (corrected: ü, 🩺, "quoted")` }, reason: 'wording' })
      .expect(201);
    const answer = await p.http
      .get(`/trials/${trialId}/audit/export`)
      .set('Authorization', `Bearer ${tokens.auditor}`)
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => done(null, text));
      })
      .expect(200);
    return { trialId, text: answer.body as string };
  } finally {
    await p.close();
  }
}
