import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  adverseEventStream,
  patientStream,
  proceduresStream,
  trialStream,
  type EndpointDefinition,
  type Outcome,
  type WithdrawalCensoring,
} from '@app/contracts';
import {
  addDays,
  amputationExcludingPlannedMinor,
  EXPECTED_EXCLUDING_PLANNED_MINOR,
  EXPECTED_SITE_REPORTED,
  legDebBtkCohort,
  type ExpectedGroup,
} from '../../../../scripts/demo-cohort';
import { defaultCharter, DEFAULT_CHARTER_VERSION } from './default-charter';
import { replayReportInput, type ReplayedEvent } from './replay';
import {
  computeEndpointReport,
  endpointCurve,
  patientFollowUp,
  type AdverseEventFacts,
  type AdverseEventFactsReport,
  type EndpointReport,
  type EndpointReportGroup,
  type PatientFacts,
  type ReportInput,
} from './endpoint-report';

// --- fixtures ---

/** After every 6-month visit of the seed cohort (the last one is on 2025-12-28). */
const SEED_CUTOFF = '2026-01-31';
const AS_OF = { recordedAt: '2026-02-01T08:00:00.000Z', position: 4242 };

interface Facts {
  patients: PatientFacts[];
  adverseEvents: AdverseEventFacts[];
}

/** The adjudicated outcome that agrees with the site's report in every field. */
function concordantOutcome(report: AdverseEventFactsReport): Outcome {
  if (report.kind === 'other') return { isEndpointEvent: false, kind: 'none' };
  return {
    isEndpointEvent: true,
    kind: report.kind,
    onsetOn: report.onsetOn,
    ...(report.limb ? { limb: report.limb } : {}),
    ...(report.amputation ? { amputation: { ...report.amputation } } : {}),
    ...(report.tvr ? { tvr: { ...report.tvr } } : {}),
  };
}

/** The seed cohort (scripts/demo-cohort.ts) as report facts; every case in the state asked for. */
function seedFacts(cases: 'none' | 'pending' | 'finalized' = 'none'): Facts {
  const cohort = legDebBtkCohort();
  const patients = cohort.patients.map((p): PatientFacts => ({
    patientId: p.enrollment.patientId,
    siteId: p.enrollment.siteId,
    arm: p.enrollment.arm,
    diabetes: p.enrollment.baseline.diabetes,
    presentation: p.enrollment.baseline.presentation,
    indexProcedure: { performedOn: p.procedure.performedOn, segments: p.procedure.lesions.map((l) => l.segment) },
    visitDates: p.visits.map((v) => v.visitOn),
  }));
  const adverseEvents = cohort.patients.flatMap((p) =>
    p.adverseEvents.map((ae): AdverseEventFacts => {
      const report: AdverseEventFactsReport = { kind: ae.kind, onsetOn: ae.onsetOn, limb: ae.limb, amputation: ae.amputation, tvr: ae.tvr };
      const facts: AdverseEventFacts = { eventId: ae.eventId, patientId: p.enrollment.patientId, report, retracted: false };
      if (cases === 'pending') facts.adjudication = { finalized: false };
      if (cases === 'finalized') facts.adjudication = { finalized: true, outcome: concordantOutcome(report) };
      return facts;
    }),
  );
  return { patients, adverseEvents };
}

function seedInput(overrides: Partial<ReportInput> = {}, cases: 'none' | 'pending' | 'finalized' = 'none'): ReportInput {
  return {
    trialId: 'LEG-DEB-BTK',
    asOf: AS_OF,
    cutoff: SEED_CUTOFF,
    basis: 'site-reported',
    groupBy: ['diabetes'],
    charter: defaultCharter(),
    ...seedFacts(cases),
    ...overrides,
  };
}

const INDEX = '2025-01-01';
const day = (n: number): string => addDays(INDEX, n);

function patient(patientId: string, extra: Partial<PatientFacts> = {}): PatientFacts {
  return {
    patientId,
    siteId: 'S1',
    diabetes: false,
    presentation: 'cli',
    indexProcedure: { performedOn: INDEX, segments: ['btk'] },
    visitDates: [day(30), day(182)],
    ...extra,
  };
}

function adverseEvent(
  eventId: string,
  patientId: string,
  report: AdverseEventFactsReport,
  extra: Partial<AdverseEventFacts> = {},
): AdverseEventFacts {
  return { eventId, patientId, report, retracted: false, ...extra };
}

const majorAmputation = (onsetDay: number): AdverseEventFactsReport => ({
  kind: 'amputation',
  onsetOn: day(onsetDay),
  limb: 'index',
  amputation: { level: 'major', planned: false },
});
const cdTvr = (onsetDay: number): AdverseEventFactsReport => ({
  kind: 'tvr',
  onsetOn: day(onsetDay),
  limb: 'index',
  tvr: { clinicallyDriven: true },
});
const death = (onsetDay: number): AdverseEventFactsReport => ({ kind: 'death', onsetOn: day(onsetDay) });

function input(facts: Facts, overrides: Partial<ReportInput> = {}): ReportInput {
  return {
    trialId: 'T1',
    asOf: AS_OF,
    cutoff: '2026-06-30',
    basis: 'site-reported',
    groupBy: [],
    charter: defaultCharter(),
    ...facts,
    ...overrides,
  };
}

function endpoint(report: EndpointReport, id: string): EndpointReport['endpoints'][number] {
  const found = report.endpoints.find((e) => e.id === id);
  if (!found) throw new Error(`no endpoint ${id} in the report`);
  return found;
}

function onlyGroup(report: EndpointReport, id: string): EndpointReportGroup {
  const { groups } = endpoint(report, id);
  expect(groups).toHaveLength(1);
  return groups[0] as EndpointReportGroup;
}

/** Event-free patients of n per diabetes group, as the cohort's expectations state them. */
function eventFreeCounts(report: EndpointReport, id: string): ExpectedGroup[] {
  return endpoint(report, id).groups.map((g) => ({
    diabetes: g.key.diabetes as boolean,
    n: g.n,
    eventFree: Math.round((g.crude.eventFree ?? NaN) * g.crude.evaluable),
  }));
}

function charter(...endpoints: EndpointDefinition[]): ReportInput['charter'] {
  return { version: 'test-1', endpoints, censoring: { withdrawal: 'withdrawal-date' } };
}

const amputationEndpoint = (events: EndpointDefinition['events']): EndpointDefinition => ({
  id: 'freedom-from-amputation',
  label: 'Freedom from amputation',
  horizonDays: 180,
  events,
});

// --- tests ---

describe('computeEndpointReport on the seed cohort (LEG-DEB BTK)', () => {
  it('prints the article numbers, site-reported, by diabetes, under the default charter', () => {
    const report = computeEndpointReport(seedInput());

    expect(report).toMatchObject({
      trialId: 'LEG-DEB-BTK',
      asOf: AS_OF,
      cutoff: SEED_CUTOFF,
      basis: 'site-reported',
      charterVersion: 'default-1',
    });
    expect(endpoint(report, 'freedom-from-cd-tvr')).toEqual({
      id: 'freedom-from-cd-tvr',
      label: 'Freedom from clinically-driven target vessel revascularization of the index limb',
      horizonDays: 180,
      groups: [
        {
          key: { diabetes: false },
          n: 20,
          events: 0,
          censored: 20,
          pendingAdjudication: 0,
          km: { survival: 1, lower: 1, upper: 1, standardError: 0 },
          crude: { evaluable: 20, eventFree: 1, lower: 0.8316, upper: 1 },
          cumulativeIncidence: { estimate: 0, lower: 0, upper: 0 },
        },
        {
          key: { diabetes: true },
          n: 16,
          events: 2,
          censored: 14,
          // No case in the facts: both TVRs are site-reported qualifying events awaiting the CEC.
          pendingAdjudication: 2,
          km: { survival: 0.875, lower: 0.586, upper: 0.9672, standardError: 0.0827 },
          crude: { evaluable: 16, eventFree: 0.875, lower: 0.6165, upper: 0.9845 },
          cumulativeIncidence: { estimate: 0.125, lower: 0.019, upper: 0.3357 },
        },
      ],
    });
    const amputation = endpoint(report, 'freedom-from-amputation').groups;
    expect(amputation.map((g) => [g.key, g.n, g.events, g.km.survival, g.crude.evaluable, g.crude.eventFree])).toEqual([
      [{ diabetes: false }, 20, 1, 0.95, 20, 0.95],
      [{ diabetes: true }, 16, 4, 0.75, 16, 0.75],
    ]);
    expect(eventFreeCounts(report, 'freedom-from-cd-tvr')).toEqual(EXPECTED_SITE_REPORTED['freedom-from-cd-tvr']);
    expect(eventFreeCounts(report, 'freedom-from-amputation')).toEqual(EXPECTED_SITE_REPORTED['freedom-from-amputation']);
  });

  it('reports every endpoint of the default charter, cumulative incidence only where death is not part of it', () => {
    const report = computeEndpointReport(seedInput({ groupBy: [] }));

    expect(report.endpoints.map((e) => [e.id, e.horizonDays])).toEqual([
      ['freedom-from-cd-tvr', 180],
      ['freedom-from-amputation', 180],
      ['freedom-from-major-amputation', 365],
      ['amputation-free-survival', 365],
      ['survival', 365],
    ]);
    for (const id of ['freedom-from-cd-tvr', 'freedom-from-amputation', 'freedom-from-major-amputation']) {
      expect(onlyGroup(report, id).cumulativeIncidence).toBeDefined();
    }
    for (const id of ['amputation-free-survival', 'survival']) {
      expect(onlyGroup(report, id)).not.toHaveProperty('cumulativeIncidence');
      // No major amputation and no death in the cohort; nobody is followed for 365 days.
      expect(onlyGroup(report, id)).toMatchObject({
        key: {},
        n: 36,
        events: 0,
        km: { survival: 1 },
        crude: { evaluable: 0, eventFree: null },
      });
    }
  });

  it('excludes planned amputations with a matcher planned: false', () => {
    const report = computeEndpointReport(
      seedInput({ charter: charter(amputationEndpoint([{ kind: 'amputation', limb: 'index', planned: false }])) }),
    );

    expect(eventFreeCounts(report, 'freedom-from-amputation')).toEqual(EXPECTED_EXCLUDING_PLANNED_MINOR);
    expect(endpoint(report, 'freedom-from-amputation').groups.map((g) => g.km.survival)).toEqual([0.95, 1]);
  });

  it('excludes planned minor amputations only with two matchers (major, or unplanned)', () => {
    const twoMatchers = amputationEndpoint([
      { kind: 'amputation', limb: 'index', amputationLevel: 'major' },
      { kind: 'amputation', limb: 'index', planned: false },
    ]);
    const unplannedOnly = amputationEndpoint([{ kind: 'amputation', limb: 'index', planned: false }]);

    expect(eventFreeCounts(computeEndpointReport(seedInput({ charter: charter(twoMatchers) })), 'freedom-from-amputation')).toEqual(
      EXPECTED_EXCLUDING_PLANNED_MINOR,
    );
    expect(
      eventFreeCounts(computeEndpointReport(seedInput({ charter: charter(amputationExcludingPlannedMinor()) })), 'freedom-from-amputation'),
    ).toEqual(EXPECTED_EXCLUDING_PLANNED_MINOR);

    // A planned major amputation (day 30, non-diabetic BTK-001): still an event when only planned
    // minor ones are excluded, but dropped by the single matcher planned: false.
    const withPlannedMajor = seedInput();
    withPlannedMajor.adverseEvents.push(
      adverseEvent('BTK-001-AE9', 'BTK-001', {
        kind: 'amputation',
        onsetOn: addDays('2025-01-08', 30),
        limb: 'index',
        amputation: { level: 'major', planned: true },
      }),
    );
    const nonDiabetic = (def: EndpointDefinition): ExpectedGroup | undefined =>
      eventFreeCounts(computeEndpointReport({ ...withPlannedMajor, charter: charter(def) }), 'freedom-from-amputation')[0];
    expect(nonDiabetic(twoMatchers)).toEqual({ diabetes: false, n: 20, eventFree: 18 });
    expect(nonDiabetic(unplannedOnly)).toEqual({ diabetes: false, n: 20, eventFree: 19 });
  });

  it('gives the same numbers adjudicated when every case is finalized concordant, with nothing pending', () => {
    const siteReported = computeEndpointReport(seedInput({}, 'finalized'));
    const adjudicated = computeEndpointReport(seedInput({ basis: 'adjudicated' }, 'finalized'));

    expect(adjudicated.basis).toBe('adjudicated');
    expect(adjudicated.endpoints).toEqual(siteReported.endpoints);
    expect(adjudicated.endpoints.flatMap((e) => e.groups.map((g) => g.pendingAdjudication))).toEqual(Array(10).fill(0));
    expect(endpoint(adjudicated, 'freedom-from-cd-tvr').groups[1]).toMatchObject({
      events: 2,
      km: { survival: 0.875, lower: 0.586, upper: 0.9672, standardError: 0.0827 },
      crude: { evaluable: 16, eventFree: 0.875, lower: 0.6165, upper: 0.9845 },
    });
  });

  it('counts no event while its case is pending, and shows it as pending adjudication', () => {
    const report = computeEndpointReport(seedInput({ basis: 'adjudicated' }, 'pending'));

    expect(endpoint(report, 'freedom-from-cd-tvr').groups.map((g) => [g.key, g.events, g.pendingAdjudication, g.km.survival])).toEqual([
      [{ diabetes: false }, 0, 0, 1],
      [{ diabetes: true }, 0, 2, 1],
    ]);
    expect(
      endpoint(report, 'freedom-from-amputation').groups.map((g) => [g.key, g.events, g.pendingAdjudication, g.crude.eventFree]),
    ).toEqual([
      [{ diabetes: false }, 0, 1, 1],
      [{ diabetes: true }, 0, 4, 1],
    ]);
  });
});

describe('computeEndpointReport: which events qualify', () => {
  const cdTvrOnly = charter(defaultCharter().endpoints[0] as EndpointDefinition);

  it('does not count a retracted adverse event, nor as pending, nor as a contact', () => {
    const facts: Facts = {
      patients: [patient('P1', { visitDates: [day(30)] }), patient('P2')],
      adverseEvents: [adverseEvent('E1', 'P1', cdTvr(90), { retracted: true }), adverseEvent('E2', 'P2', cdTvr(60))],
    };
    const group = onlyGroup(computeEndpointReport(input(facts, { charter: cdTvrOnly })), 'freedom-from-cd-tvr');

    expect(group).toMatchObject({ n: 2, events: 1, censored: 1, pendingAdjudication: 1 });
    // P1 is censored at the 30-day visit, not at the retracted onset (day 90): evaluable is P2 only.
    expect(group.crude).toEqual({ evaluable: 1, eventFree: 0, lower: 0, upper: 0.975 });
  });

  it('drops an event whose onset a correction moved after the cutoff', () => {
    const before = { patients: [patient('P1')], adverseEvents: [adverseEvent('E1', 'P1', cdTvr(60))] };
    const corrected = { patients: [patient('P1')], adverseEvents: [adverseEvent('E1', 'P1', { ...cdTvr(60), onsetOn: '2026-07-15' })] };

    expect(onlyGroup(computeEndpointReport(input(before, { charter: cdTvrOnly })), 'freedom-from-cd-tvr')).toMatchObject({
      events: 1,
      pendingAdjudication: 1,
    });
    expect(onlyGroup(computeEndpointReport(input(corrected, { charter: cdTvrOnly })), 'freedom-from-cd-tvr')).toMatchObject({
      events: 0,
      censored: 1,
      pendingAdjudication: 0,
      km: { survival: 1 },
      crude: { evaluable: 1, eventFree: 1 },
    });
  });

  it('matches limb, level, planned and clinically driven; an absent matcher field matches anything', () => {
    const facts: Facts = {
      patients: ['P1', 'P2', 'P3', 'P4'].map((id) => patient(id)),
      adverseEvents: [
        adverseEvent('E1', 'P1', { ...cdTvr(20), limb: 'contralateral' }),
        adverseEvent('E2', 'P2', { ...cdTvr(20), tvr: { clinicallyDriven: false } }),
        adverseEvent('E3', 'P3', { kind: 'amputation', onsetOn: day(20), limb: 'index', amputation: { level: 'minor', planned: true } }),
        adverseEvent('E4', 'P4', { kind: 'other', onsetOn: day(20) }),
      ],
    };
    const report = computeEndpointReport(input(facts));

    expect(onlyGroup(report, 'freedom-from-cd-tvr').events).toBe(0);
    expect(onlyGroup(report, 'freedom-from-amputation').events).toBe(1);
    expect(onlyGroup(report, 'freedom-from-major-amputation').events).toBe(0);
    const anyTvr = charter({ id: 'any-tvr', label: 'Any TVR', horizonDays: 180, events: [{ kind: 'tvr' }] });
    expect(onlyGroup(computeEndpointReport(input(facts, { charter: anyTvr })), 'any-tvr').events).toBe(2);
  });

  it('ignores an event dated before the index procedure', () => {
    const facts: Facts = { patients: [patient('P1')], adverseEvents: [adverseEvent('E1', 'P1', cdTvr(-3))] };
    expect(onlyGroup(computeEndpointReport(input(facts, { charter: cdTvrOnly })), 'freedom-from-cd-tvr')).toMatchObject({
      events: 0,
      pendingAdjudication: 0,
      crude: { evaluable: 1, eventFree: 1 },
    });
  });

  it('matches the adjudicated outcome, not the report, and uses its onset (else the report onset)', () => {
    const finalized = (outcome: Outcome): AdverseEventFacts['adjudication'] => ({ finalized: true, outcome });
    const facts: Facts = {
      patients: ['P1', 'P2', 'P3', 'P4'].map((id) => patient(id)),
      adverseEvents: [
        // Reported minor, adjudicated major, on another day.
        adverseEvent(
          'E1',
          'P1',
          { ...majorAmputation(40), amputation: { level: 'minor', planned: false } },
          {
            adjudication: finalized({
              isEndpointEvent: true,
              kind: 'amputation',
              onsetOn: day(45),
              limb: 'index',
              amputation: { level: 'major', planned: false },
            }),
          },
        ),
        // Reported major, adjudicated as no endpoint event.
        adverseEvent('E2', 'P2', majorAmputation(50), { adjudication: finalized({ isEndpointEvent: false, kind: 'none' }) }),
        // Adjudicated major without an onset of its own: the report's day 70 holds.
        adverseEvent('E3', 'P3', majorAmputation(70), {
          adjudication: finalized({
            isEndpointEvent: true,
            kind: 'amputation',
            limb: 'index',
            amputation: { level: 'major', planned: false },
          }),
        }),
        // Reported major, case still open.
        adverseEvent('E4', 'P4', majorAmputation(80), { adjudication: { finalized: false } }),
      ],
    };
    const report = computeEndpointReport(input(facts, { basis: 'adjudicated' }));
    const curve = endpointCurve(input(facts, { basis: 'adjudicated' }), 'freedom-from-major-amputation');

    expect(onlyGroup(report, 'freedom-from-major-amputation')).toMatchObject({ n: 4, events: 2, pendingAdjudication: 1 });
    expect(curve.groups[0]?.points.filter((p) => p.events > 0).map((p) => p.time)).toEqual([45, 70]);
    // Site-reported: three majors (days 40 is minor), the pending one included.
    expect(onlyGroup(computeEndpointReport(input(facts)), 'freedom-from-major-amputation')).toMatchObject({
      events: 3,
      pendingAdjudication: 1,
    });
  });
});

describe('computeEndpointReport: follow-up', () => {
  it('counts only patients not retracted with an index procedure on or before the cutoff', () => {
    const facts: Facts = {
      patients: [
        patient('P1'),
        patient('P2', { retracted: true }),
        patient('P3', { indexProcedure: undefined }),
        patient('P4', { indexProcedure: { performedOn: '2026-07-01', segments: ['btk'] } }),
        patient('P5', { indexProcedure: { performedOn: '2026-06-30', segments: ['btk'] }, visitDates: [] }),
      ],
      adverseEvents: [adverseEvent('E2', 'P2', cdTvr(10)), adverseEvent('E4', 'P4', { ...cdTvr(0), onsetOn: '2026-07-01' })],
    };
    expect(onlyGroup(computeEndpointReport(input(facts)), 'freedom-from-cd-tvr')).toMatchObject({
      n: 2,
      events: 0,
      pendingAdjudication: 0,
    });
  });

  it('ends follow-up at a withdrawal: no longer evaluable, an event after it not counted', () => {
    const facts: Facts = {
      patients: [patient('P1', { withdrawnOn: day(100) }), patient('P2', { withdrawnOn: day(100) }), patient('P3')],
      // P2's TVR comes after the withdrawal; the 6-month visits after it do not extend follow-up.
      adverseEvents: [adverseEvent('E2', 'P2', cdTvr(120))],
    };
    const report = computeEndpointReport(input(facts));
    const group = onlyGroup(report, 'freedom-from-cd-tvr');

    expect(group).toMatchObject({ n: 3, events: 0, censored: 3, crude: { evaluable: 1, eventFree: 1 } });
    expect(endpointCurve(input(facts), 'freedom-from-cd-tvr').groups[0]?.points.map((p) => [p.time, p.censored])).toEqual([
      [0, 0],
      [100, 2],
      [182, 1],
    ]);
    // A withdrawal after the cutoff is not yet one.
    const later = { ...facts, patients: [patient('P1', { withdrawnOn: '2026-08-01' })] };
    expect(onlyGroup(computeEndpointReport(input(later)), 'freedom-from-cd-tvr').crude.evaluable).toBe(1);
  });

  it('censors at a death for endpoints without death, and counts it for amputation-free survival and survival', () => {
    const facts: Facts = {
      patients: ['P1', 'P2', 'P3', 'P4'].map((id) => patient(id, { visitDates: [day(30), day(182), day(370)] })),
      adverseEvents: [
        adverseEvent('D1', 'P1', death(90)),
        adverseEvent('A2', 'P2', majorAmputation(200)),
        adverseEvent('D2', 'P2', death(250)),
      ],
    };
    const report = computeEndpointReport(input(facts));

    expect(onlyGroup(report, 'freedom-from-major-amputation')).toMatchObject({
      events: 1,
      censored: 3,
      km: { survival: 0.6667 },
      // P1 died at day 90: follow-up < 365 without an event, not evaluable.
      crude: { evaluable: 3, eventFree: 0.6667 },
    });
    expect(onlyGroup(report, 'amputation-free-survival')).toMatchObject({
      events: 2,
      censored: 2,
      km: { survival: 0.5 },
      crude: { evaluable: 4, eventFree: 0.5 },
    });
    expect(onlyGroup(report, 'survival')).toMatchObject({ events: 2, censored: 2, km: { survival: 0.5 }, pendingAdjudication: 2 });
  });

  it('treats death as the competing event of the cumulative incidence (Aalen-Johansen, as cmprsk::cuminc)', () => {
    // Deaths at days 10 and 60, amputations at 20, 50 and 200, censored at 100 and five at 182.
    const facts: Facts = {
      patients: Array.from({ length: 10 }, (_, i) => patient(`P${i}`, i === 5 ? { visitDates: [day(30), day(100)] } : {})),
      adverseEvents: [
        adverseEvent('D0', 'P0', death(10)),
        adverseEvent('A1', 'P1', majorAmputation(20)),
        adverseEvent('A2', 'P2', majorAmputation(50)),
        adverseEvent('D3', 'P3', death(60)),
        adverseEvent('A4', 'P4', majorAmputation(200)),
      ],
    };
    const major180 = charter({
      id: 'major-180',
      label: 'Major amputation, 6 months',
      horizonDays: 180,
      events: [{ kind: 'amputation', amputationLevel: 'major' }],
    });
    const group = onlyGroup(computeEndpointReport(input(facts, { charter: major180 })), 'major-180');

    // R: f <- cuminc(c(10,20,50,60,200,100,182,182,182,182), c(2,1,1,2,1,0,0,0,0,0)); timepoints(f, 180),
    // CI est^exp(∓1.96·sqrt(var)/(est·log(est))). Kaplan-Meier censors the deaths: 1 − 0.7778 > 0.2.
    expect(group.cumulativeIncidence).toEqual({ estimate: 0.2, lower: 0.0259, upper: 0.4923 });
    expect(group.km).toEqual({ survival: 0.7778, lower: 0.3648, upper: 0.9393, standardError: 0.1386 });
    expect(group).toMatchObject({
      n: 10,
      events: 3,
      censored: 7,
      crude: { evaluable: 7, eventFree: 0.7143, lower: 0.2904, upper: 0.9633 },
    });
  });

  it('knows a death under the adjudicated basis only from a finalized outcome of kind death', () => {
    const facts: Facts = {
      patients: [patient('P1', { visitDates: [] }), patient('P2', { visitDates: [] })],
      adverseEvents: [
        adverseEvent('D1', 'P1', death(90), {
          adjudication: { finalized: true, outcome: { isEndpointEvent: false, kind: 'death', onsetOn: day(90) } },
        }),
        adverseEvent('D2', 'P2', death(95), { adjudication: { finalized: false } }),
      ],
    };
    const report = computeEndpointReport(input(facts, { basis: 'adjudicated' }));

    // Ruled no endpoint event, D1 is still a death: it censors survival, competes with amputation.
    expect(onlyGroup(report, 'survival')).toMatchObject({ events: 0, censored: 2, pendingAdjudication: 1 });
    const curve = endpointCurve(input(facts, { basis: 'adjudicated' }), 'survival');
    expect(curve.groups[0]?.points.map((p) => [p.time, p.events, p.censored])).toEqual([
      [0, 0, 0],
      [90, 0, 1],
      [95, 0, 1],
    ]);
  });

  it('leaves the crude proportion null when no patient is evaluable yet', () => {
    const facts: Facts = { patients: [patient('P1', { visitDates: [day(30)] })], adverseEvents: [] };
    expect(onlyGroup(computeEndpointReport(input(facts)), 'freedom-from-cd-tvr').crude).toEqual({
      evaluable: 0,
      eventFree: null,
      lower: null,
      upper: null,
    });
  });
});

describe('computeEndpointReport: groups and determinism', () => {
  function randomized(): Facts {
    const patients: PatientFacts[] = [];
    const adverseEvents: AdverseEventFacts[] = [];
    for (let i = 0; i < 24; i += 1) {
      const id = `R${String(i).padStart(2, '0')}`;
      patients.push(
        patient(id, {
          arm: i % 2 === 0 ? 'PTA' : 'DCB',
          diabetes: i % 3 === 0,
          siteId: `S${i % 4}`,
          presentation: i % 5 === 0 ? 'claudication' : 'cli',
          indexProcedure: {
            performedOn: day(i),
            segments: i % 6 === 0 ? ['btk', 'femoropopliteal'] : i % 2 === 0 ? ['btk'] : ['femoropopliteal'],
          },
          visitDates: [day(i + 30), day(i + 182 + (i % 7))],
        }),
      );
      if (i % 4 === 1) adverseEvents.push(adverseEvent(`${id}-T`, id, cdTvr(i + 40 + i)));
      if (i % 5 === 2) adverseEvents.push(adverseEvent(`${id}-A`, id, majorAmputation(i + 100)));
      if (i % 7 === 3) adverseEvents.push(adverseEvent(`${id}-D`, id, death(i + 150)));
    }
    return { patients, adverseEvents };
  }

  function shuffled<T>(items: T[], seed: number): T[] {
    const copy = [...items];
    let state = seed;
    for (let i = copy.length - 1; i > 0; i -= 1) {
      state = (state * 1103515245 + 12345) % 2147483648;
      const j = state % (i + 1);
      [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
    }
    return copy;
  }

  it('pools everyone under the key {} without groupBy', () => {
    expect(onlyGroup(computeEndpointReport(input(randomized())), 'freedom-from-cd-tvr')).toMatchObject({ key: {}, n: 24 });
  });

  it('gives four groups by arm and diabetes, in a stable order, keyed in the requested field order', () => {
    const report = computeEndpointReport(input(randomized(), { groupBy: ['arm', 'diabetes'] }));
    const groups = endpoint(report, 'freedom-from-cd-tvr').groups;

    expect(groups.map((g) => g.key)).toEqual([
      { arm: 'DCB', diabetes: false },
      { arm: 'DCB', diabetes: true },
      { arm: 'PTA', diabetes: false },
      { arm: 'PTA', diabetes: true },
    ]);
    expect(groups.map((g) => Object.keys(g.key))).toEqual(Array(4).fill(['arm', 'diabetes']));
    expect(groups.map((g) => g.n)).toEqual([8, 4, 8, 4]);
    expect(computeEndpointReport(input(randomized(), { groupBy: ['diabetes', 'arm'] })).endpoints[0]?.groups.map((g) => g.key)).toEqual([
      { diabetes: false, arm: 'DCB' },
      { diabetes: false, arm: 'PTA' },
      { diabetes: true, arm: 'DCB' },
      { diabetes: true, arm: 'PTA' },
    ]);
  });

  it('keys a patient treated in both segments femoropopliteal+btk, a patient without arm null, and shows no empty group', () => {
    const bySegment = computeEndpointReport(input(randomized(), { groupBy: ['segment'] }));
    expect(endpoint(bySegment, 'survival').groups.map((g) => [g.key, g.n])).toEqual([
      [{ segment: 'btk' }, 8],
      [{ segment: 'femoropopliteal' }, 12],
      [{ segment: 'femoropopliteal+btk' }, 4],
    ]);
    const bySite = computeEndpointReport(input(randomized(), { groupBy: ['site', 'presentation', 'site'] }));
    expect(endpoint(bySite, 'survival').groups.map((g) => g.key)).toEqual([
      { site: 'S0', presentation: 'claudication' },
      { site: 'S0', presentation: 'cli' },
      { site: 'S1', presentation: 'claudication' },
      { site: 'S1', presentation: 'cli' },
      { site: 'S2', presentation: 'claudication' },
      { site: 'S2', presentation: 'cli' },
      { site: 'S3', presentation: 'claudication' },
      { site: 'S3', presentation: 'cli' },
    ]);
    const armless = computeEndpointReport(input({ patients: [patient('P1')], adverseEvents: [] }, { groupBy: ['arm'] }));
    expect(onlyGroup(armless, 'survival').key).toEqual({ arm: null });
    expect(computeEndpointReport(input({ patients: [], adverseEvents: [] })).endpoints.map((e) => e.groups)).toEqual(Array(5).fill([]));
  });

  it('gives byte-identical JSON whatever the order of the input', () => {
    const facts = randomized();
    const reference = JSON.stringify(computeEndpointReport(input(facts, { groupBy: ['arm', 'segment'] })));
    for (const seed of [1, 7, 42]) {
      const reordered = { patients: shuffled(facts.patients, seed), adverseEvents: shuffled(facts.adverseEvents, seed + 1) };
      expect(JSON.stringify(computeEndpointReport(input(reordered, { groupBy: ['arm', 'segment'] })))).toBe(reference);
    }
  });

  it('rounds every number to 4 decimals', () => {
    const json = JSON.stringify(computeEndpointReport(input(randomized(), { groupBy: ['arm'] })));
    const numbers = json.match(/-?\d+\.\d+/g) ?? [];
    expect(numbers.length).toBeGreaterThan(0);
    for (const n of numbers) expect(n.split('.')[1]?.length ?? 0).toBeLessThanOrEqual(4);
  });
});

describe('endpointCurve', () => {
  it('gives Kaplan-Meier step points per group, starting at (0, 1)', () => {
    const curve = endpointCurve(seedInput(), 'freedom-from-cd-tvr');

    expect(curve).toMatchObject({ endpointId: 'freedom-from-cd-tvr', horizonDays: 180 });
    expect(curve.groups.map((g) => [g.key, g.n])).toEqual([
      [{ diabetes: false }, 20],
      [{ diabetes: true }, 16],
    ]);
    const diabetic = curve.groups[1]?.points ?? [];
    expect(diabetic[0]).toEqual({ time: 0, survival: 1, lower: 1, upper: 1, atRisk: 16, events: 0, censored: 0 });
    expect(diabetic.filter((p) => p.events > 0)).toEqual([
      { time: 96, survival: 0.9375, lower: 0.6323, upper: 0.991, atRisk: 16, events: 1, censored: 0 },
      { time: 141, survival: 0.875, lower: 0.586, upper: 0.9672, atRisk: 15, events: 1, censored: 0 },
    ]);
    expect(diabetic.at(-1)).toMatchObject({ time: 182, atRisk: 14, censored: 14, survival: 0.875 });
  });

  it('refuses an endpoint the charter does not have', () => {
    expect(() => endpointCurve(seedInput(), 'no-such-endpoint')).toThrow(
      expect.objectContaining({ code: 'ENDPOINT_NOT_FOUND', kind: 'not_found' }),
    );
  });
});

describe('defaultCharter', () => {
  it('is version default-1 with the five endpoints of api.md, a fresh copy each time', () => {
    const charterA = defaultCharter();
    expect(charterA.version).toBe(DEFAULT_CHARTER_VERSION);
    expect(DEFAULT_CHARTER_VERSION).toBe('default-1');
    expect(charterA.endpoints.map((e) => [e.id, e.events, e.horizonDays, e.includesDeath ?? false])).toEqual([
      ['freedom-from-cd-tvr', [{ kind: 'tvr', clinicallyDriven: true, limb: 'index' }], 180, false],
      ['freedom-from-amputation', [{ kind: 'amputation', limb: 'index' }], 180, false],
      ['freedom-from-major-amputation', [{ kind: 'amputation', amputationLevel: 'major', limb: 'index' }], 365, false],
      ['amputation-free-survival', [{ kind: 'amputation', amputationLevel: 'major', limb: 'index' }], 365, true],
      ['survival', [], 365, true],
    ]);
    for (const e of charterA.endpoints) expect(e.label.length).toBeGreaterThan(0);
    charterA.endpoints.pop();
    expect(defaultCharter().endpoints).toHaveLength(5);
  });
});

// --- withdrawal censoring (api.md "Endpoint report", semantics 3) ---

/** The patient-level cohort `withdrawals` of libs/statistics/reference/datasets.json: days from the epoch / from the index procedure. */
interface RCohortPatient {
  id: string;
  group: 'diabetic' | 'non-diabetic';
  index: number;
  visits: number[];
  events: Array<{ kind: 'tvr' | 'death' | 'other'; day: number }>;
  withdrawn?: number;
}
interface RCohort {
  name: string;
  epoch: string;
  cutoff: number;
  cutoffDate: string;
  rules: WithdrawalCensoring[];
  endpoints: Array<{ id: string; horizonDays: number; kinds: Array<'tvr'>; includesDeath: boolean }>;
  patients: RCohortPatient[];
}
type Maybe = number | null;
/** What reference.R computed from it: each patient's (time, status), then the report's figures per subset. */
interface RCohortSubset {
  subset: 'pooled' | 'diabetic' | 'non-diabetic';
  n: number;
  events: number;
  censored: number;
  km: {
    steps: Array<{ time: number; nRisk: number; nEvent: number; nCensor: number; survival: number; lower: Maybe; upper: Maybe }>;
    at: Array<{ time: number; survival: number; standardError: Maybe; lower: Maybe; upper: Maybe }>;
  };
  crude: { evaluable: number; eventFree: number; estimate: Maybe; lower: Maybe; upper: Maybe };
  cuminc?: { estimate: Maybe; lower: Maybe; upper: Maybe };
}
interface RCohortReference {
  name: string;
  rules: Array<{
    withdrawal: WithdrawalCensoring;
    endpoints: Array<{
      id: string;
      horizonDays: number;
      patients: Array<{ id: string; group: string; time: number; status: number }>;
      subsets: RCohortSubset[];
    }>;
  }>;
}

const REFERENCE_DIR = join(__dirname, '..', '..', '..', '..', 'libs', 'statistics', 'reference');
const readReference = <T>(file: string): T => JSON.parse(readFileSync(join(REFERENCE_DIR, file), 'utf8')) as T;
function withdrawalsCohort(): { cohort: RCohort; r: RCohortReference } {
  const cohort = readReference<{ cohorts: RCohort[] }>('datasets.json').cohorts.find((c) => c.name === 'withdrawals');
  const r = readReference<{ cohorts: RCohortReference[] }>('reference.json').cohorts.find((c) => c.name === 'withdrawals');
  if (!cohort || !r) throw new Error('no cohort "withdrawals" in libs/statistics/reference: run reference.R');
  return { cohort, r };
}

function cohortReport(kind: 'tvr' | 'death' | 'other', onsetOn: string): AdverseEventFactsReport {
  if (kind === 'tvr') return { kind, onsetOn, limb: 'index', tvr: { clinicallyDriven: true } };
  return { kind, onsetOn };
}

/** The cohort as report facts, under one withdrawal rule: the same input R derived its observations from. */
function cohortInput(cohort: RCohort, rule: WithdrawalCensoring, groupBy: ReportInput['groupBy']): ReportInput {
  const at = (p: RCohortPatient, d: number) => addDays(cohort.epoch, p.index + d);
  return {
    trialId: 'W',
    asOf: AS_OF,
    cutoff: cohort.cutoffDate,
    basis: 'site-reported',
    groupBy,
    charter: {
      version: `w-${rule}`,
      censoring: { withdrawal: rule },
      endpoints: cohort.endpoints.map((e) => ({
        id: e.id,
        label: e.id,
        horizonDays: e.horizonDays,
        events: e.kinds.map(() => ({ kind: 'tvr' as const, clinicallyDriven: true, limb: 'index' as const })),
        ...(e.includesDeath ? { includesDeath: true } : {}),
      })),
    },
    patients: cohort.patients.map((p) => ({
      patientId: p.id,
      siteId: 'S1',
      diabetes: p.group === 'diabetic',
      presentation: 'cli',
      indexProcedure: { performedOn: at(p, 0), segments: ['btk'] },
      visitDates: p.visits.map((v) => at(p, v)),
      ...(p.withdrawn !== undefined ? { withdrawnOn: at(p, p.withdrawn) } : {}),
    })),
    adverseEvents: cohort.patients.flatMap((p) =>
      p.events.map((e, i) => adverseEvent(`${p.id}-E${i + 1}`, p.id, cohortReport(e.kind, at(p, e.day)))),
    ),
  };
}

/** Every figure against R's, counted; a failure lists every disagreement with where it is. */
class AgainstR {
  figures = 0;
  counts = 0;
  readonly mismatches: string[] = [];
  /** To 1e-4: our figures are rounded to 4 decimals (api.md rule 7), R's are not. R's NA only where api.md gives `na`. */
  close(label: string, ours: number | null | undefined, theirs: Maybe, na?: number): void {
    this.figures += 1;
    const expected = theirs ?? na;
    if (expected === undefined || typeof ours !== 'number' || !(Math.abs(ours - expected) <= 1e-4 + 1e-12))
      this.mismatches.push(`${label}: ours ${String(ours)}, R ${String(theirs)}`);
  }
  equal(label: string, ours: unknown, theirs: unknown): void {
    this.counts += 1;
    if (ours !== theirs) this.mismatches.push(`${label}: ours ${String(ours)}, R ${String(theirs)}`);
  }
}

const subsetKey = (subset: RCohortSubset['subset']) => (subset === 'pooled' ? {} : { diabetes: subset === 'diabetic' });

/** The report's group figures (api.md rules 4-6) against R's subset: counts, KM, crude, cumulative incidence. */
function compareGroup(check: AgainstR, label: string, ours: EndpointReportGroup | undefined, r: RCohortSubset): void {
  check.equal(`${label} n`, ours?.n, r.n);
  check.equal(`${label} events`, ours?.events, r.events);
  check.equal(`${label} censored`, ours?.censored, r.censored);
  const km = r.km.at[0];
  if (!km) throw new Error(`${label}: R has no KM at the horizon`);
  // api.md rule 4: S = 1 has CI [1, 1] and standard error 0, where R's log-log CI is NA.
  const one = km.survival === 1 ? 1 : undefined;
  check.close(`${label} km.survival`, ours?.km.survival, km.survival);
  check.close(`${label} km.standardError`, ours?.km.standardError, km.standardError, one && 0);
  check.close(`${label} km.lower`, ours?.km.lower, km.lower, one);
  check.close(`${label} km.upper`, ours?.km.upper, km.upper, one);
  check.equal(`${label} crude.evaluable`, ours?.crude.evaluable, r.crude.evaluable);
  check.close(`${label} crude.eventFree`, ours?.crude.eventFree, r.crude.estimate);
  check.close(`${label} crude.lower`, ours?.crude.lower, r.crude.lower);
  check.close(`${label} crude.upper`, ours?.crude.upper, r.crude.upper);
  if (r.cuminc) {
    check.close(`${label} cumulativeIncidence.estimate`, ours?.cumulativeIncidence?.estimate, r.cuminc.estimate);
    check.close(`${label} cumulativeIncidence.lower`, ours?.cumulativeIncidence?.lower, r.cuminc.lower);
    check.close(`${label} cumulativeIncidence.upper`, ours?.cumulativeIncidence?.upper, r.cuminc.upper);
  } else {
    check.equal(`${label} no cumulativeIncidence (death is part of the endpoint)`, ours?.cumulativeIncidence, undefined);
  }
}

describe('withdrawal censoring against R (cohort "withdrawals" of libs/statistics/reference)', () => {
  const { cohort, r } = withdrawalsCohort();

  it('is the cohort R was given: both rules, withdrawn patients, an event on the withdrawal day, a withdrawal after the cut-off', () => {
    expect(addDays(cohort.epoch, cohort.cutoff)).toBe(cohort.cutoffDate);
    expect(r.rules.map((x) => x.withdrawal)).toEqual(['withdrawal-date', 'last-contact']);
    const withdrawn = cohort.patients.filter((p) => p.withdrawn !== undefined);
    expect(withdrawn.length).toBeGreaterThanOrEqual(10);
    expect(withdrawn.some((p) => p.events.some((e) => e.kind === 'tvr' && e.day === p.withdrawn))).toBe(true);
    expect(withdrawn.some((p) => p.events.some((e) => e.kind === 'death' && e.day === p.withdrawn))).toBe(true);
    expect(withdrawn.some((p) => p.index + p.withdrawn! > cohort.cutoff)).toBe(true);
  });

  it.each(['withdrawal-date', 'last-contact'] as const)('derives each patient’s time and status as R does, under %s', (rule) => {
    const check = new AgainstR();
    const byRule = r.rules.find((x) => x.withdrawal === rule)!;
    for (const endpoint of byRule.endpoints) {
      const ours = new Map(patientFollowUp(cohortInput(cohort, rule, []), endpoint.id).map((o) => [o.patientId, o]));
      expect(ours.size).toBe(endpoint.patients.length);
      for (const p of endpoint.patients) {
        check.equal(`${rule} ${endpoint.id} ${p.id} time`, ours.get(p.id)?.time, p.time);
        check.equal(`${rule} ${endpoint.id} ${p.id} status`, ours.get(p.id)?.status, p.status);
      }
    }
    expect(check.mismatches).toEqual([]);
    expect(check.counts).toBe(2 * 2 * cohort.patients.length);
  });

  it('gives every report figure R gives, to 1e-4: KM with Greenwood SE and log-log CI, Clopper-Pearson, Aalen-Johansen', () => {
    const check = new AgainstR();
    for (const byRule of r.rules) {
      const pooled = computeEndpointReport(cohortInput(cohort, byRule.withdrawal, []));
      const byDiabetes = computeEndpointReport(cohortInput(cohort, byRule.withdrawal, ['diabetes']));
      // The answer names the rule it applied (api.md: the censoring rule travels with the charter version).
      expect(pooled.censoring).toEqual({ withdrawal: byRule.withdrawal });
      for (const endpoint of byRule.endpoints) {
        for (const subset of endpoint.subsets) {
          const report = subset.subset === 'pooled' ? pooled : byDiabetes;
          const group = report.endpoints
            .find((e) => e.id === endpoint.id)
            ?.groups.find((g) => JSON.stringify(g.key) === JSON.stringify(subsetKey(subset.subset)));
          compareGroup(check, `${byRule.withdrawal} ${endpoint.id} ${subset.subset}`, group, subset);
        }
      }
    }
    expect(check.mismatches).toEqual([]);
    // 2 rules × 3 subsets × (TVR: 4 KM + 3 crude + 3 cumulative incidence; survival: 4 KM + 3 crude).
    expect(check.figures).toBe(2 * 3 * (10 + 7));
  });

  it('plots the curve R’s survfit gives: every step’s time, numbers at risk, events, censored, survival and log-log CI', () => {
    const check = new AgainstR();
    for (const byRule of r.rules) {
      for (const endpoint of byRule.endpoints) {
        const curve = endpointCurve(cohortInput(cohort, byRule.withdrawal, ['diabetes']), endpoint.id);
        for (const subset of endpoint.subsets.filter((x) => x.subset !== 'pooled')) {
          const points =
            curve.groups.find((g) => JSON.stringify(g.key) === JSON.stringify(subsetKey(subset.subset)))?.points.slice(1) ?? [];
          expect(points).toHaveLength(subset.km.steps.length);
          subset.km.steps.forEach((step, i) => {
            const label = `${byRule.withdrawal} ${endpoint.id} ${subset.subset} t=${step.time}`;
            const point = points[i];
            check.equal(`${label} time`, point?.time, step.time);
            check.equal(`${label} atRisk`, point?.atRisk, step.nRisk);
            check.equal(`${label} events`, point?.events, step.nEvent);
            check.equal(`${label} censored`, point?.censored, step.nCensor);
            const one = step.survival === 1 ? 1 : undefined;
            check.close(`${label} survival`, point?.survival, step.survival);
            check.close(`${label} lower`, point?.lower, step.lower, one);
            check.close(`${label} upper`, point?.upper, step.upper, one);
          });
        }
      }
    }
    expect(check.mismatches).toEqual([]);
  });
});

describe('withdrawal censoring: each rule on its own (api.md semantics 3)', () => {
  const withRule = (rule: WithdrawalCensoring, facts: Facts, overrides: Partial<ReportInput> = {}) =>
    input(facts, { charter: { ...defaultCharter(), censoring: { withdrawal: rule } }, ...overrides });
  const followUp = (rule: WithdrawalCensoring, facts: Facts, endpointId = 'freedom-from-cd-tvr') =>
    patientFollowUp(withRule(rule, facts), endpointId).map((o) => [o.patientId, o.time, o.status]);

  it('censors at the withdrawal date by default (default-1 says so), at the last contact on or before it under last-contact', () => {
    expect(defaultCharter().censoring).toEqual({ withdrawal: 'withdrawal-date' });
    const facts: Facts = {
      // P2's last contact before the withdrawal is an adverse event of kind other, not a visit.
      patients: [
        patient('P1', { visitDates: [day(30)], withdrawnOn: day(100) }),
        patient('P2', { visitDates: [day(30)], withdrawnOn: day(100) }),
      ],
      adverseEvents: [adverseEvent('O2', 'P2', { kind: 'other', onsetOn: day(70) })],
    };
    expect(followUp('withdrawal-date', facts)).toEqual([
      ['P1', 100, 0],
      ['P2', 100, 0],
    ]);
    expect(followUp('last-contact', facts)).toEqual([
      ['P1', 30, 0],
      ['P2', 70, 0],
    ]);
    expect(computeEndpointReport(input(facts)).censoring).toEqual({ withdrawal: 'withdrawal-date' });
    expect(computeEndpointReport(withRule('last-contact', facts)).censoring).toEqual({ withdrawal: 'last-contact' });
  });

  it('never extends follow-up past the withdrawal by a later contact, under either rule', () => {
    // A visit or an adverse event dated after the withdrawal (entered before it, or corrected) is no follow-up.
    const facts: Facts = {
      patients: [patient('P1', { visitDates: [day(30), day(182)], withdrawnOn: day(100) })],
      adverseEvents: [adverseEvent('O1', 'P1', { kind: 'other', onsetOn: day(150) }), adverseEvent('T1', 'P1', cdTvr(120))],
    };
    expect(followUp('withdrawal-date', facts)).toEqual([['P1', 100, 0]]);
    expect(followUp('last-contact', facts)).toEqual([['P1', 30, 0]]);
  });

  it('counts an event or a death on the withdrawal day under either rule', () => {
    const facts: Facts = {
      patients: [
        patient('P1', { visitDates: [day(30)], withdrawnOn: day(100) }),
        patient('P2', { visitDates: [day(30)], withdrawnOn: day(90) }),
      ],
      adverseEvents: [adverseEvent('T1', 'P1', cdTvr(100)), adverseEvent('D2', 'P2', death(90))],
    };
    for (const rule of ['withdrawal-date', 'last-contact'] as const) {
      expect(followUp(rule, facts)).toEqual([
        ['P1', 100, 1],
        ['P2', 90, 2],
      ]);
      expect(followUp(rule, facts, 'survival')).toEqual([
        ['P1', 100, 0],
        ['P2', 90, 1],
      ]);
    }
  });

  it('ignores a withdrawal after the cut-off under either rule: censored at the last contact on or before the cut-off', () => {
    const facts: Facts = { patients: [patient('P1', { visitDates: [day(30), day(182)], withdrawnOn: '2026-08-01' })], adverseEvents: [] };
    for (const rule of ['withdrawal-date', 'last-contact'] as const) {
      expect(followUp(rule, facts)).toEqual([['P1', 182, 0]]);
      expect(followUp(rule, facts)).toEqual(
        patientFollowUp(withRule(rule, { ...facts, patients: [patient('P1')] }), 'freedom-from-cd-tvr').map((o) => [
          o.patientId,
          o.time,
          o.status,
        ]),
      );
    }
  });

  it('leaves follow-up 0 for a withdrawal on or before the index procedure', () => {
    const facts: Facts = {
      patients: [patient('P1', { visitDates: [], withdrawnOn: day(0) }), patient('P2', { visitDates: [], withdrawnOn: day(-5) })],
      adverseEvents: [],
    };
    for (const rule of ['withdrawal-date', 'last-contact'] as const)
      expect(followUp(rule, facts)).toEqual([
        ['P1', 0, 0],
        ['P2', 0, 0],
      ]);
  });
});

// --- properties ---

/** A patient of the properties: days after an index procedure on day 0 (2025-01-01). */
interface GeneratedPatient {
  visits: number[];
  events: Array<{ kind: 'tvr' | 'death' | 'other'; day: number }>;
  withdrawn?: number;
}
const generatedPatient = fc.record(
  {
    visits: fc.array(fc.integer({ min: 1, max: 500 }), { maxLength: 4 }),
    events: fc.array(
      fc.record({ kind: fc.constantFrom('tvr' as const, 'death' as const, 'other' as const), day: fc.integer({ min: 0, max: 500 }) }),
      {
        maxLength: 3,
      },
    ),
    withdrawn: fc.integer({ min: 0, max: 500 }),
  },
  { requiredKeys: ['visits', 'events'] },
);
const rules = fc.constantFrom<WithdrawalCensoring>('withdrawal-date', 'last-contact');

function generatedFacts(patients: GeneratedPatient[]): Facts {
  return {
    patients: patients.map((p, i) =>
      patient(`G${i}`, { visitDates: p.visits.map(day), ...(p.withdrawn !== undefined ? { withdrawnOn: day(p.withdrawn) } : {}) }),
    ),
    adverseEvents: patients.flatMap((p, i) =>
      p.events.map((e, j) => adverseEvent(`G${i}-E${j}`, `G${i}`, cohortReport(e.kind, day(e.day)))),
    ),
  };
}

/**
 * api.md semantics 3 for one patient and the TVR endpoint, written again from the text: the
 * oracle of the properties (time, status).
 */
function oracle(p: GeneratedPatient, rule: WithdrawalCensoring, cutoff: number): [number, number] {
  const withdrawal = p.withdrawn !== undefined && p.withdrawn <= cutoff ? p.withdrawn : Infinity;
  const inFollowUp = (d: number) => d <= cutoff;
  const event = Math.min(...p.events.filter((e) => e.kind === 'tvr' && inFollowUp(e.day)).map((e) => e.day));
  const death = Math.min(...p.events.filter((e) => e.kind === 'death' && inFollowUp(e.day)).map((e) => e.day));
  if (Number.isFinite(event) && event <= Math.min(withdrawal, death)) return [event, 1];
  if (Number.isFinite(death) && death <= withdrawal) return [death, 2];
  const contacts = [0, ...p.visits, ...p.events.map((e) => e.day)];
  const limit = Math.min(withdrawal, cutoff);
  const end = Number.isFinite(withdrawal) && rule === 'withdrawal-date' ? withdrawal : Math.max(...contacts.filter((d) => d <= limit));
  return [end, 0];
}

describe('withdrawal censoring: properties', () => {
  it('follow-up never ends after the withdrawal nor the cut-off, is what api.md says under either rule, and last-contact never outlasts withdrawal-date', () => {
    fc.assert(
      fc.property(
        fc.array(generatedPatient, { minLength: 1, maxLength: 5 }),
        rules,
        fc.integer({ min: 0, max: 500 }),
        (patients, rule, cutoffDay) => {
          const facts = generatedFacts(patients);
          const cutoff = day(cutoffDay);
          const ours = patientFollowUp(withCutoff(rule, facts, cutoff), 'freedom-from-cd-tvr');
          const lastContact = patientFollowUp(withCutoff('last-contact', facts, cutoff), 'freedom-from-cd-tvr');
          const withdrawalDate = patientFollowUp(withCutoff('withdrawal-date', facts, cutoff), 'freedom-from-cd-tvr');
          patients.forEach((p, i) => {
            const o = ours.find((x) => x.patientId === `G${i}`);
            expect(o && [o.time, o.status]).toEqual(oracle(p, rule, cutoffDay));
            expect(o!.time).toBeLessThanOrEqual(cutoffDay);
            if (p.withdrawn !== undefined && p.withdrawn <= cutoffDay) expect(o!.time).toBeLessThanOrEqual(p.withdrawn);
            const [lc, wd] = [lastContact[i]!, withdrawalDate[i]!];
            expect(lc.time).toBeLessThanOrEqual(wd.time);
            // The rule only moves the censoring of a withdrawn patient: events and deaths are the same.
            expect(lc.status).toBe(wd.status);
            if (lc.status !== 0) expect(lc.time).toBe(wd.time);
          });
        },
      ),
    );
  });

  it('an event on the withdrawal day counts under either rule, unless an earlier event or death came first', () => {
    fc.assert(
      fc.property(generatedPatient, fc.integer({ min: 0, max: 400 }), rules, (p, withdrawn, rule) => {
        const earlier = p.events.filter((e) => e.kind !== 'other' && e.day < withdrawn);
        const withEvent: GeneratedPatient = { ...p, withdrawn, events: [...p.events, { kind: 'tvr', day: withdrawn }] };
        const [o] = patientFollowUp(withCutoff(rule, generatedFacts([withEvent]), day(450)), 'freedom-from-cd-tvr');
        if (earlier.length === 0) expect(o && [o.time, o.status]).toEqual([withdrawn, 1]);
        else expect(o!.time).toBeLessThan(withdrawn);
      }),
    );
  });

  it('a report as of older knowledge applies the rule of the charter version known then', () => {
    const maybeRule = fc.option(rules, { nil: undefined });
    fc.assert(
      fc.property(fc.array(generatedPatient, { minLength: 1, maxLength: 4 }), maybeRule, maybeRule, (patients, first, second) => {
        const log = charterLog(patients, first, second);
        const beforeSecond =
          log.find((e) => e.type === 'CharterVersionPublished' && (e.data as { version: string }).version === 'v2')!.globalPosition - 1;
        const query = { asOfPosition: beforeSecond, cutoff: day(450), basis: 'site-reported' as const, groupBy: [] };
        const older = replayReportInput('PT', log, query, defaultCharter());
        const latest = replayReportInput('PT', log, { ...query, asOfPosition: undefined }, defaultCharter());
        // An event without a rule is a version published before the option existed: the default.
        expect(computeEndpointReport(older)).toMatchObject({ charterVersion: 'v1', censoring: { withdrawal: first ?? 'withdrawal-date' } });
        expect(computeEndpointReport(latest)).toMatchObject({
          charterVersion: 'v2',
          censoring: { withdrawal: second ?? 'withdrawal-date' },
        });
        for (const [input, rule] of [
          [older, first ?? 'withdrawal-date'],
          [latest, second ?? 'withdrawal-date'],
        ] as const) {
          const observed = patientFollowUp(input, 'freedom-from-cd-tvr');
          patients.forEach((p, i) => expect(observed.find((o) => o.patientId === `G${i}`)).toMatchObject(toObject(oracle(p, rule, 450))));
        }
      }),
    );
  });
});

const toObject = ([time, status]: [number, number]) => ({ time, status });

function withCutoff(rule: WithdrawalCensoring, facts: Facts, cutoff: string): ReportInput {
  return input(facts, { cutoff, charter: { ...defaultCharter(), censoring: { withdrawal: rule } } });
}

/** A trial's log: charter v1 (rule or none), every patient with visits, withdrawal and adverse events, then charter v2. */
function charterLog(
  patients: GeneratedPatient[],
  first: WithdrawalCensoring | undefined,
  second: WithdrawalCensoring | undefined,
): ReplayedEvent[] {
  const T = 'PT';
  const events: Array<Omit<ReplayedEvent, 'globalPosition' | 'recordedAt'>> = [];
  const charterEvent = (version: string, rule: WithdrawalCensoring | undefined) => ({
    streamId: trialStream(T),
    type: 'CharterVersionPublished',
    data: {
      trialId: T,
      version,
      endpoints: defaultCharter().endpoints,
      ...(rule !== undefined ? { censoring: { withdrawal: rule } } : {}),
    },
  });
  events.push({ streamId: trialStream(T), type: 'TrialRegistered', data: { trialId: T, title: 'P', protocolVersion: '1', arms: [] } });
  events.push(charterEvent('v1', first));
  patients.forEach((p, i) => {
    const patientId = `G${i}`;
    events.push({
      streamId: patientStream(T, patientId),
      type: 'PatientEnrolled',
      data: {
        trialId: T,
        patientId,
        siteId: 'S1',
        enrolledOn: INDEX,
        baseline: { ageYears: 70, sex: 'F', diabetes: false, presentation: 'cli', rutherfordClass: 4 },
      },
    });
    events.push({
      streamId: proceduresStream(T, patientId),
      type: 'ProcedureRecorded',
      data: {
        trialId: T,
        patientId,
        procedureId: 'IDX',
        performedOn: INDEX,
        limb: 'left',
        device: { kind: 'DCB', name: 'D' },
        lesions: [{ segment: 'btk', lengthMm: 80, occlusion: false }],
        technicalSuccess: true,
        index: true,
      },
    });
    p.visits.forEach((v, j) =>
      events.push({
        streamId: patientStream(T, patientId),
        type: 'VisitRecorded',
        data: { trialId: T, patientId, visitId: `V${j}`, visit: 'unscheduled', visitOn: day(v) },
      }),
    );
    p.events.forEach((e, j) =>
      events.push({
        streamId: adverseEventStream(T, `${patientId}-E${j}`),
        type: 'AdverseEventReported',
        data: { trialId: T, patientId, siteId: 'S1', eventId: `${patientId}-E${j}`, description: 'd', ...cohortReport(e.kind, day(e.day)) },
      }),
    );
    if (p.withdrawn !== undefined)
      events.push({
        streamId: patientStream(T, patientId),
        type: 'PatientWithdrawn',
        data: { trialId: T, patientId, withdrawnOn: day(p.withdrawn), reason: 'r' },
      });
  });
  events.push(charterEvent('v2', second));
  return events.map((e, i) => ({ ...e, globalPosition: i + 1, recordedAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() }));
}
