import type { DemoCohort } from '../../scripts/demo-cohort';
import type { RunningPlatform } from './platform';

/** Tokens of everyone the seed cohort needs, keyed by role name, reviewer user id or site id. */
export type CohortTokens = Record<string, string>;

/**
 * Records the seed cohort through HTTP (trial, sites, committee, patients, index procedures,
 * visits, adverse events) as the sites and the trial admin would, and returns their tokens.
 */
export async function seedCohort(p: RunningPlatform, trialId: string, cohort: DemoCohort): Promise<CohortTokens> {
  const tokens: CohortTokens = {};
  tokens.admin = await p.token('trial-admin', { sub: 'admin' });
  tokens.sponsor = await p.token('sponsor', { sub: 'sponsor' });
  tokens.dsmb = await p.token('dsmb-member', { sub: 'dsmb-1', name: 'Prof. DSMB' });
  tokens.chair = await p.token('cec-chair', { sub: 'cec-chair', name: 'CEC Chair' });
  tokens.auditor = await p.token('auditor', { sub: 'auditor-1', name: 'Regulatory Inspector' });
  for (const m of cohort.committee.filter((c) => c.role === 'cec-reviewer'))
    tokens[m.userId] = await p.token('cec-reviewer', { sub: m.userId, name: m.name });
  const post = (who: string, path: string, body: unknown) =>
    p.http
      .post(`/trials/${trialId}${path}`)
      .set('Authorization', `Bearer ${tokens[who]}`)
      .send(body as object);
  await p.http
    .post('/trials')
    .set('Authorization', `Bearer ${tokens.admin}`)
    .send({ ...cohort.trial, trialId })
    .expect(201);
  for (const site of cohort.sites) {
    await post('admin', '/sites', site).expect(201);
    tokens[site.siteId] = await p.token('site-investigator', { sub: `inv-${site.siteId}`, sites: [site.siteId] });
  }
  for (const member of cohort.committee) await post('admin', '/committee-members', member).expect(201);
  for (const patient of cohort.patients) {
    const site = patient.enrollment.siteId;
    const base = `/patients/${patient.enrollment.patientId}`;
    await post(site, '/patients', patient.enrollment).expect(201);
    await post(site, `${base}/procedures`, patient.procedure).expect(201);
    for (const visit of patient.visits) await post(site, `${base}/visits`, visit).expect(201);
    for (const ae of patient.adverseEvents) await post(site, `${base}/adverse-events`, ae).expect(201);
  }
  return tokens;
}

/** The CEC confirms every reported adverse event as reported: assignment by the chair, two concordant signed reviews. */
export async function adjudicateAsReported(p: RunningPlatform, trialId: string, cohort: DemoCohort, tokens: CohortTokens): Promise<void> {
  const post = (who: string, path: string, body: unknown) =>
    p.http
      .post(`/trials/${trialId}${path}`)
      .set('Authorization', `Bearer ${tokens[who]}`)
      .send(body as object);
  const [first, second] = cohort.committee.filter((c) => c.role === 'cec-reviewer').map((c) => c.userId);
  for (const patient of cohort.patients) {
    for (const ae of patient.adverseEvents) {
      await post('chair', `/adjudication/cases/${ae.eventId}/assignment`, { reviewerIds: [first, second] }).expect(201);
      const outcome = {
        isEndpointEvent: true,
        kind: ae.kind,
        onsetOn: ae.onsetOn,
        limb: ae.limb,
        ...(ae.amputation ? { amputation: ae.amputation } : {}),
        ...(ae.tvr ? { tvr: ae.tvr } : {}),
      };
      for (const reviewer of [first!, second!]) {
        await post(reviewer, `/adjudication/cases/${ae.eventId}/reviews`, {
          outcome,
          rationale: 'as reported',
          signature: { meaning: 'review' },
        }).expect(201);
      }
    }
  }
}

/** The chair reopens a case and both reviewers rule it is not an endpoint event (a reclassification). */
export async function reclassifyAsNoEvent(
  p: RunningPlatform,
  trialId: string,
  cohort: DemoCohort,
  tokens: CohortTokens,
  caseId: string,
): Promise<void> {
  const post = (who: string, path: string, body: unknown) =>
    p.http
      .post(`/trials/${trialId}${path}`)
      .set('Authorization', `Bearer ${tokens[who]}`)
      .send(body as object);
  await post('chair', `/adjudication/cases/${caseId}/reopening`, {
    reason: 'source documents show a debridement, not an amputation',
  }).expect(201);
  const [first, second] = cohort.committee.filter((c) => c.role === 'cec-reviewer').map((c) => c.userId);
  await post('chair', `/adjudication/cases/${caseId}/assignment`, { reviewerIds: [first, second] }).expect(201);
  for (const reviewer of [first!, second!]) {
    await post(reviewer, `/adjudication/cases/${caseId}/reviews`, {
      outcome: { isEndpointEvent: false, kind: 'none' },
      rationale: 'debridement only',
      signature: { meaning: 'review' },
    }).expect(201);
  }
}
