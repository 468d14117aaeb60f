import type { Outcome } from '@app/contracts';
import { ageBucket, cohensKappa, committeeMetrics, median, reviewerAgreement, type ReviewPair } from './metrics';

/** A 2x2 table of two raters' yes/no ratings as pairs: a = yes/yes, b = yes/no, c = no/yes, d = no/no. */
function table(a: number, b: number, c: number, d: number): Array<[boolean, boolean]> {
  const cell = (count: number, pair: [boolean, boolean]) => Array.from({ length: count }, (): [boolean, boolean] => [...pair]);
  return [...cell(a, [true, true]), ...cell(b, [true, false]), ...cell(c, [false, true]), ...cell(d, [false, false])];
}

const majorAmputation: Outcome = {
  isEndpointEvent: true,
  kind: 'amputation',
  onsetOn: '2025-05-01',
  limb: 'index',
  amputation: { level: 'major', planned: false },
};
const minorAmputation: Outcome = { ...majorAmputation, amputation: { level: 'minor', planned: false } };
const clinicallyDrivenTvr: Outcome = {
  isEndpointEvent: true,
  kind: 'tvr',
  onsetOn: '2025-03-14',
  limb: 'index',
  tvr: { clinicallyDriven: true },
};
const noEndpoint: Outcome = { isEndpointEvent: false, kind: 'none' };
const deathNotEndpoint: Outcome = { isEndpointEvent: false, kind: 'death', onsetOn: '2025-06-02' };

describe('cohensKappa', () => {
  it('is null without pairs', () => {
    expect(cohensKappa([])).toBeNull();
  });

  it('gives 0.4 for a=20, b=5, c=10, d=15 (po 0.70, pe 0.50)', () => {
    expect(cohensKappa(table(20, 5, 10, 15))).toBeCloseTo(0.4, 10);
  });

  it('gives 0.6 for a=45, b=15, c=5, d=35 (po 0.80, pe 0.50)', () => {
    expect(cohensKappa(table(45, 15, 5, 35))).toBeCloseTo(0.6, 10);
  });

  it('gives 48/73 for a=10, b=2, c=3, d=15 (po 25/30, pe 77/150)', () => {
    // po = 25/30, p1 = 12/30, p2 = 13/30, pe = (12·13 + 18·17)/900 = 462/900; (po − pe)/(1 − pe) = 288/438 = 48/73.
    expect(cohensKappa(table(10, 2, 3, 15))).toBeCloseTo(48 / 73, 10);
  });

  it('is 1 on perfect agreement with both categories used', () => {
    expect(cohensKappa(table(7, 0, 0, 3))).toBe(1);
  });

  it('is 0 when agreement is exactly what chance predicts', () => {
    // p1 = p2 = 0.5, pe = 0.5, po = 0.5.
    expect(cohensKappa(table(5, 5, 5, 5))).toBeCloseTo(0, 10);
  });

  it('is negative when the raters systematically disagree', () => {
    expect(cohensKappa(table(0, 5, 5, 0))).toBeCloseTo(-1, 10);
  });

  it('is 0 when one rater says always yes and the other always no', () => {
    // pe = 1·0 + 0·1 = 0, po = 0.
    expect(cohensKappa(table(0, 4, 0, 0))).toBe(0);
  });

  it.each([
    ['all yes on both sides', table(6, 0, 0, 0)],
    ['all no on both sides', table(0, 0, 0, 6)],
    ['a single pair', table(1, 0, 0, 0)],
  ])('is 1 when every rating is identical on both sides (%s), where pe = 1', (_label, pairs) => {
    expect(cohensKappa(pairs)).toBe(1);
  });

  it('does not depend on the order of the pairs', () => {
    const pairs = table(20, 5, 10, 15);
    expect(cohensKappa([...pairs].reverse())).toBeCloseTo(0.4, 10);
  });
});

describe('median', () => {
  it('is null for an empty list', () => {
    expect(median([])).toBeNull();
  });

  it('is the middle value of an odd-length list, unsorted input', () => {
    expect(median([12, 3, 45])).toBe(12);
    expect(median([7])).toBe(7);
  });

  it('is the mean of the two middle values of an even-length list', () => {
    expect(median([30, 4, 10, 8])).toBe(9);
    expect(median([1, 2])).toBe(1.5);
  });

  it('sorts numerically, not as strings', () => {
    expect(median([100, 9, 20])).toBe(20);
  });

  it('does not reorder the input', () => {
    const days = [5, 1, 3];
    median(days);
    expect(days).toEqual([5, 1, 3]);
  });
});

describe('reviewerAgreement', () => {
  it('has no rate and no kappa without pairs', () => {
    expect(reviewerAgreement([])).toStrictEqual({ pairs: 0, agreementRate: null, kappaIsEndpointEvent: null });
  });

  it('counts concordant pairs on the key fields and takes kappa on isEndpointEvent', () => {
    const pairs: ReviewPair[] = [
      { first: majorAmputation, second: majorAmputation }, // concordant, yes/yes
      { first: majorAmputation, second: { ...majorAmputation, onsetOn: '2025-04-30' } }, // onset ignored: concordant, yes/yes
      { first: majorAmputation, second: minorAmputation }, // level differs: discordant, yes/yes
      { first: clinicallyDrivenTvr, second: noEndpoint }, // discordant, yes/no
      { first: noEndpoint, second: noEndpoint }, // concordant, no/no
    ];
    // isEndpointEvent: a=3, b=1, c=0, d=1 → po = 4/5, p1 = 4/5, p2 = 3/5, pe = 12/25 + 2/25 = 14/25,
    // kappa = (20/25 − 14/25)/(11/25) = 6/11.
    const result = reviewerAgreement(pairs);
    expect(result.pairs).toBe(5);
    expect(result.agreementRate).toBeCloseTo(3 / 5, 10);
    expect(result.kappaIsEndpointEvent).toBeCloseTo(6 / 11, 10);
  });

  it('is 1 and 1 when every pair agrees on a single category', () => {
    expect(
      reviewerAgreement([
        { first: deathNotEndpoint, second: deathNotEndpoint },
        { first: noEndpoint, second: noEndpoint },
      ]),
    ).toStrictEqual({ pairs: 2, agreementRate: 1, kappaIsEndpointEvent: 1 });
  });

  it('can have full kappa on isEndpointEvent and still discordant pairs', () => {
    const result = reviewerAgreement([
      { first: majorAmputation, second: minorAmputation },
      { first: noEndpoint, second: deathNotEndpoint },
    ]);
    expect(result).toStrictEqual({ pairs: 2, agreementRate: 0, kappaIsEndpointEvent: 1 });
  });
});

describe('ageBucket', () => {
  it.each([
    [0, '0-7'],
    [7, '0-7'],
    [8, '8-30'],
    [30, '8-30'],
    [31, '31-90'],
    [90, '31-90'],
    [91, '>90'],
    [400, '>90'],
  ])('puts a case %i days old in %s', (days, bucket) => {
    expect(ageBucket(days)).toBe(bucket);
  });
});

describe('committeeMetrics', () => {
  const now = '2025-07-01T12:00:00.000Z';

  it('counts open cases by age, the median days to the first decision and the agreement of complete review pairs', () => {
    const metrics = committeeMetrics(
      {
        cases: [
          { status: 'awaiting-assignment', reportedAt: '2025-06-28T12:00:00.000Z' },
          { status: 'in-review', reportedAt: '2025-06-01T12:00:00.000Z' },
          { status: 'awaiting-resolution', reportedAt: '2025-01-01T12:00:00.000Z' },
          { status: 'finalized', reportedAt: '2025-01-01T12:00:00.000Z' },
          { status: 'cancelled', reportedAt: '2025-01-01T12:00:00.000Z' },
        ],
        firstDecisions: [
          { reportedAt: '2025-01-01T00:00:00.000Z', finalizedAt: '2025-01-11T00:00:00.000Z' },
          { reportedAt: '2025-01-01T00:00:00.000Z', finalizedAt: '2025-01-02T08:00:00.000Z' },
        ],
        reviews: [
          { caseId: 'C1', round: 1, outcome: majorAmputation },
          { caseId: 'C1', round: 1, outcome: majorAmputation },
          { caseId: 'C2', round: 1, outcome: majorAmputation },
          { caseId: 'C2', round: 1, outcome: minorAmputation },
          // A round with one review so far is not a pair.
          { caseId: 'C2', round: 2, outcome: minorAmputation },
        ],
      },
      now,
    );
    expect(metrics).toEqual({
      openCases: 3,
      openCasesByAge: { '0-7': 1, '8-30': 1, '31-90': 0, '>90': 1 },
      finalizedCases: 2,
      medianDaysToFinalDecision: 5.67,
      reviewerAgreement: { pairs: 2, agreementRate: 0.5, kappaIsEndpointEvent: 1 },
    });
  });

  it('answers nulls, not zeros, when there is nothing to measure', () => {
    expect(committeeMetrics({ cases: [], firstDecisions: [], reviews: [] }, now)).toEqual({
      openCases: 0,
      openCasesByAge: { '0-7': 0, '8-30': 0, '31-90': 0, '>90': 0 },
      finalizedCases: 0,
      medianDaysToFinalDecision: null,
      reviewerAgreement: { pairs: 0, agreementRate: null, kappaIsEndpointEvent: null },
    });
  });
});
