/**
 * The LEG-DEB BTK cohort of the seed article (product.md, "The seed's cohort, a public acceptance
 * case") as request bodies of the HTTP API: pure data, no I/O, so tests can reuse it.
 *
 * What the article fixes: 36 patients with 6-month follow-up, 20 without and 16 with diabetes;
 * mean lesion length 115 ± 41 mm (BTK); at 6 months freedom from TVR 20/20 and 14/16, freedom
 * from any amputation 19/20 and 12/16; five amputations, four of them minor, planned before
 * revascularisation and performed during the in-hospital stay.
 *
 * What is invented here (plausible, documented): site ids, names and countries; the CEC; ages,
 * sexes, presentations, Rutherford classes, limbs and dates; which patients have the events.
 * The fifth amputation is **minor and unplanned** (a toe amputation for progressing gangrene at
 * day 67) in the one non-diabetic patient with an amputation: the article mentions no major
 * amputation, and an unplanned one counts under both the default charter and a charter that
 * excludes planned minor amputations. The four planned minor amputations are in four distinct
 * diabetic patients; the two clinically driven TVRs are in two other diabetic patients. All
 * endpoint events are at sites S01–S03, none of whose patients the two CEC reviewers (affiliated
 * with S04 and S05) are barred from adjudicating.
 */
import type {
  AddCommitteeMemberBody,
  AddSiteBody,
  EndpointDefinition,
  EnrollPatientBody,
  RecordProcedureBody,
  RecordVisitBody,
  RegisterTrialBody,
  ReportAdverseEventBody,
} from '../libs/contracts/src';

export interface DemoPatient {
  enrollment: EnrollPatientBody;
  /** The first (index) procedure: time origin and index limb. */
  procedure: RecordProcedureBody;
  visits: RecordVisitBody[];
  adverseEvents: ReportAdverseEventBody[];
}

export interface DemoCohort {
  trial: RegisterTrialBody;
  sites: AddSiteBody[];
  committee: AddCommitteeMemberBody[];
  patients: DemoPatient[];
}

/** A site-reported endpoint result of one diabetes subgroup at 6 months: event-free patients of n. */
export interface ExpectedGroup {
  diabetes: boolean;
  n: number;
  eventFree: number;
}

export const TRIAL_ID = 'LEG-DEB-BTK';
export const DEVICE = { kind: 'DCB', name: 'Legflow (Cardionovum), SAFEPAX-coated paclitaxel DCB' } as const;
/** Days from the index procedure to the 30-day and the 6-month visit (≥ 180: full 6-month follow-up). */
export const VISIT_DAYS = { '30d': 30, '6m': 182 } as const;

/**
 * The article's numbers, as the site-reported endpoint report must show them at 6 months
 * (default charter: `freedom-from-cd-tvr` and `freedom-from-amputation`, index limb, 180 days).
 */
export const EXPECTED_SITE_REPORTED: Record<'freedom-from-cd-tvr' | 'freedom-from-amputation', ExpectedGroup[]> = {
  'freedom-from-cd-tvr': [
    { diabetes: false, n: 20, eventFree: 20 },
    { diabetes: true, n: 16, eventFree: 14 },
  ],
  'freedom-from-amputation': [
    { diabetes: false, n: 20, eventFree: 19 },
    { diabetes: true, n: 16, eventFree: 12 },
  ],
};

/**
 * Freedom from amputation under a charter version that excludes planned minor amputations: only
 * the unplanned minor amputation (non-diabetic patient BTK-018) remains.
 */
export const EXPECTED_EXCLUDING_PLANNED_MINOR: ExpectedGroup[] = [
  { diabetes: false, n: 20, eventFree: 19 },
  { diabetes: true, n: 16, eventFree: 16 },
];

/** An endpoint definition that excludes planned minor amputations, for a second charter version. */
export function amputationExcludingPlannedMinor(): EndpointDefinition {
  return {
    id: 'freedom-from-amputation',
    label: 'Freedom from amputation of the index limb (planned minor amputations excluded)',
    horizonDays: 180,
    events: [
      { kind: 'amputation', limb: 'index', amputationLevel: 'major' },
      { kind: 'amputation', limb: 'index', amputationLevel: 'minor', planned: false },
    ],
  };
}

/** `YYYY-MM-DD` plus a number of calendar days (UTC). */
export function addDays(date: string, days: number): string {
  const at = new Date(`${date}T00:00:00Z`);
  at.setUTCDate(at.getUTCDate() + days);
  return at.toISOString().slice(0, 10);
}

type Row = readonly [
  site: string,
  age: number,
  sex: 'F' | 'M',
  diabetes: boolean,
  presentation: 'claudication' | 'cli',
  rutherford: number,
  lengthMm: number,
  occlusion: boolean,
  event: EventSpec | null,
];

type EventSpec =
  { kind: 'tvr'; day: number; description: string } | { kind: 'amputation'; day: number; planned: boolean; description: string };

const PLANNED_TOE = (day: number, toe: string): EventSpec => ({
  kind: 'amputation',
  day,
  planned: true,
  description: `Minor amputation (${toe}) of the index foot for pre-existing gangrene, planned before revascularisation, performed during the in-hospital stay`,
});
const TVR = (day: number, what: string): EventSpec => ({
  kind: 'tvr',
  day,
  description: `Clinically driven re-intervention of the index BTK lesion: ${what}`,
});

/**
 * One row per patient, BTK-001 … BTK-036. Lesion lengths have mean 115.0 and SD 41.0 mm exactly
 * (to one decimal); 16 patients have diabetes; 33 present with CLI (Rutherford 4–6), 3 with
 * claudication (Rutherford 3).
 */
const ROWS: readonly Row[] = [
  ['S01', 74, 'M', false, 'cli', 5, 122, true, null],
  ['S01', 69, 'M', true, 'cli', 5, 145, true, PLANNED_TOE(2, 'hallux')],
  ['S01', 78, 'F', false, 'cli', 4, 89, false, null],
  ['S01', 71, 'M', true, 'cli', 5, 168, true, TVR(96, 'recurrent rest pain and non-healing ulcer with restenosis on duplex')],
  ['S01', 66, 'M', false, 'claudication', 3, 62, false, null],
  ['S01', 80, 'F', true, 'cli', 4, 111, true, null],
  ['S01', 73, 'M', false, 'cli', 5, 134, true, null],
  ['S01', 77, 'M', false, 'cli', 4, 96, false, null],
  ['S01', 68, 'M', true, 'cli', 6, 186, true, PLANNED_TOE(3, 'second and third toe')],
  ['S01', 75, 'F', false, 'cli', 5, 54, false, null],
  ['S02', 72, 'M', true, 'cli', 4, 128, true, null],
  ['S02', 81, 'M', false, 'cli', 4, 102, false, null],
  ['S02', 70, 'M', true, 'cli', 6, 153, true, PLANNED_TOE(1, 'fourth and fifth toe')],
  ['S02', 67, 'F', false, 'cli', 5, 77, false, null],
  ['S02', 76, 'M', true, 'cli', 5, 206, true, TVR(141, 'wound deterioration with re-occlusion on angiography')],
  ['S02', 79, 'M', false, 'cli', 4, 116, true, null],
  ['S02', 64, 'M', true, 'cli', 5, 85, false, null],
  [
    'S02',
    82,
    'F',
    false,
    'cli',
    5,
    141,
    true,
    {
      kind: 'amputation',
      day: 67,
      planned: false,
      description: 'Unplanned minor amputation (hallux) of the index foot for progressing gangrene despite a patent treated segment',
    },
  ],
  ['S03', 71, 'M', false, 'cli', 4, 108, false, null],
  ['S03', 74, 'M', true, 'cli', 4, 131, true, null],
  ['S03', 69, 'M', true, 'cli', 5, 176, true, PLANNED_TOE(4, 'hallux')],
  ['S03', 83, 'F', false, 'cli', 5, 99, false, null],
  ['S03', 65, 'M', false, 'claudication', 3, 44, false, null],
  ['S03', 77, 'M', true, 'cli', 4, 119, true, null],
  ['S03', 72, 'F', false, 'cli', 4, 82, false, null],
  ['S03', 70, 'M', true, 'cli', 5, 148, true, null],
  ['S04', 76, 'M', false, 'cli', 5, 125, true, null],
  ['S04', 73, 'M', true, 'cli', 4, 92, false, null],
  ['S04', 61, 'F', false, 'claudication', 3, 24, false, null],
  ['S04', 79, 'M', false, 'cli', 4, 114, true, null],
  ['S04', 68, 'M', true, 'cli', 5, 157, true, null],
  ['S05', 75, 'F', false, 'cli', 4, 68, false, null],
  ['S05', 72, 'M', true, 'cli', 5, 138, true, null],
  ['S05', 78, 'M', false, 'cli', 4, 105, false, null],
  ['S05', 84, 'M', false, 'cli', 5, 73, true, null],
  ['S05', 70, 'M', true, 'cli', 4, 162, true, null],
];

/** The whole cohort; deterministic, so a re-run sends the same bodies under the same Idempotency-Keys. */
export function legDebBtkCohort(): DemoCohort {
  const trial: RegisterTrialBody = {
    trialId: TRIAL_ID,
    title: 'LEG-DEB registry, below-the-knee cohort: Legflow new-generation DCB in infrapopliteal arteries',
    protocolVersion: '1.0',
  };
  const sites: AddSiteBody[] = [
    { siteId: 'S01', name: 'Vascular Surgery Unit, Ospedale Civile di Torino', country: 'IT' },
    { siteId: 'S02', name: 'Interventional Angiology, Policlinico di Milano', country: 'IT' },
    { siteId: 'S03', name: 'Klinik für Angiologie, Universitätsklinikum Leipzig', country: 'DE' },
    { siteId: 'S04', name: 'Gefäßzentrum, Klinikum München-Nord', country: 'DE' },
    { siteId: 'S05', name: 'Angiologie, Kantonsspital Bern', country: 'CH' },
  ];
  const committee: AddCommitteeMemberBody[] = [
    { userId: 'cec-rev-1', name: 'Dr. Anna Keller', role: 'cec-reviewer', affiliatedSiteIds: ['S04'] },
    { userId: 'cec-rev-2', name: 'Dr. Luca Bernasconi', role: 'cec-reviewer', affiliatedSiteIds: ['S05'] },
    { userId: 'cec-chair', name: 'Prof. Maria Rossi', role: 'cec-chair', affiliatedSiteIds: [] },
  ];

  const first = '2025-01-08';
  const patients = ROWS.map((row, i): DemoPatient => {
    const [siteId, ageYears, sex, diabetes, presentation, rutherfordClass, lengthMm, occlusion, event] = row;
    const patientId = `BTK-${String(i + 1).padStart(3, '0')}`;
    // Index procedures spread over 2025-01-08 … 2025-06-28; enrolment on the procedure day.
    const performedOn = addDays(first, Math.round(i * 4.9));
    const adverseEvents: ReportAdverseEventBody[] = [];
    if (event?.kind === 'tvr') {
      adverseEvents.push({
        eventId: `${patientId}-AE1`,
        kind: 'tvr',
        onsetOn: addDays(performedOn, event.day),
        limb: 'index',
        tvr: { clinicallyDriven: true },
        description: event.description,
      });
    } else if (event?.kind === 'amputation') {
      adverseEvents.push({
        eventId: `${patientId}-AE1`,
        kind: 'amputation',
        onsetOn: addDays(performedOn, event.day),
        limb: 'index',
        amputation: { level: 'minor', planned: event.planned },
        description: event.description,
      });
    }
    return {
      enrollment: {
        patientId,
        siteId,
        enrolledOn: performedOn,
        baseline: { ageYears, sex, diabetes, presentation, rutherfordClass },
      },
      procedure: {
        procedureId: `${patientId}-IDX`,
        performedOn,
        limb: i % 2 === 0 ? 'left' : 'right',
        device: { ...DEVICE },
        lesions: [{ segment: 'btk', lengthMm, occlusion }],
        technicalSuccess: true,
      },
      visits: [
        { visitId: `${patientId}-V30D`, visit: '30d', visitOn: addDays(performedOn, VISIT_DAYS['30d']) },
        { visitId: `${patientId}-V6M`, visit: '6m', visitOn: addDays(performedOn, VISIT_DAYS['6m']) },
      ],
      adverseEvents,
    };
  });
  return { trial, sites, committee, patients };
}

/**
 * Site-reported freedom from an index-limb event within `horizonDays`, by diabetes, counted from
 * the cohort's own data (every patient has ≥ 180 days of follow-up, so crude = Kaplan-Meier).
 */
export function countEventFree(
  cohort: DemoCohort,
  matches: (event: ReportAdverseEventBody) => boolean,
  horizonDays = 180,
): ExpectedGroup[] {
  return [false, true].map((diabetes) => {
    const group = cohort.patients.filter((p) => p.enrollment.baseline.diabetes === diabetes);
    const withEvent = group.filter((p) =>
      p.adverseEvents.some((e) => e.limb === 'index' && matches(e) && daysBetween(p.procedure.performedOn, e.onsetOn) <= horizonDays),
    );
    return { diabetes, n: group.length, eventFree: group.length - withEvent.length };
  });
}

/** Calendar days from one date to another. */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}
