import {
  clopperPearson,
  cumulativeIncidence,
  cumulativeIncidenceAt,
  kaplanMeier,
  kmAt,
  logRank,
  round4,
  type CompetingRiskObservation,
  type SurvivalObservation,
} from '@app/statistics';

const survival = (rows: [number, boolean][]): SurvivalObservation[] => rows.map(([time, event]) => ({ time, event }));
const competing = (rows: [number, 0 | 1 | 2][]): CompetingRiskObservation[] => rows.map(([time, status]) => ({ time, status }));

describe('kaplanMeier / kmAt', () => {
  it('an empty sample has no steps and no estimate (NaN), at any horizon', () => {
    const fit = kaplanMeier([]);
    expect(fit).toEqual({ n: 0, steps: [] });
    expect(kmAt(fit, 180)).toEqual({ time: 180, survival: NaN, standardError: NaN, lower: NaN, upper: NaN });
  });

  it('all censored: S = 1, SE 0 and CI [1, 1] everywhere', () => {
    const fit = kaplanMeier(
      survival([
        [3, false],
        [8, false],
        [8, false],
      ]),
    );
    expect(fit.steps.map((s) => [s.time, s.nRisk, s.nCensor, s.survival, s.standardError, s.lower, s.upper])).toEqual([
      [3, 3, 1, 1, 0, 1, 1],
      [8, 2, 2, 1, 0, 1, 1],
    ]);
    expect(kmAt(fit, 365)).toEqual({ time: 365, survival: 1, standardError: 0, lower: 1, upper: 1 });
  });

  it('before the first event, and at negative horizons, S = 1 with CI [1, 1]', () => {
    const fit = kaplanMeier(
      survival([
        [10, true],
        [20, false],
      ]),
    );
    for (const t of [-1, 0, 9.999]) {
      expect(kmAt(fit, t)).toEqual({ time: t, survival: 1, standardError: 0, lower: 1, upper: 1 });
    }
  });

  it('counts events at exactly the horizon', () => {
    const fit = kaplanMeier(
      survival([
        [10, true],
        [20, false],
      ]),
    );
    expect(kmAt(fit, 10).survival).toBe(0.5);
  });

  it('S reaching 0 gives SE 0 and CI [0, 0] (R: NaN and NA)', () => {
    const fit = kaplanMeier(
      survival([
        [2, true],
        [6, true],
        [6, true],
      ]),
    );
    const last = fit.steps[fit.steps.length - 1];
    expect(last).toMatchObject({ time: 6, nRisk: 2, nEvent: 2, survival: 0, standardError: 0, lower: 0, upper: 0 });
    expect(kmAt(fit, 1000)).toMatchObject({ survival: 0, standardError: 0, lower: 0, upper: 0 });
  });

  it('a censoring at an event time is still at risk for that event', () => {
    const fit = kaplanMeier(
      survival([
        [5, true],
        [5, false],
        [7, true],
      ]),
    );
    expect(fit.steps[0]).toMatchObject({ time: 5, nRisk: 3, nEvent: 1, nCensor: 1 });
    expect(fit.steps[0]?.survival).toBeCloseTo(2 / 3, 15);
  });

  it('past the last observed time the last value holds', () => {
    const censored = Array.from({ length: 14 }, (): [number, boolean] => [182, false]);
    const fit = kaplanMeier(survival([[96, true], [141, true], ...censored]));
    expect(kmAt(fit, 365)).toEqual({ ...kmAt(fit, 182), time: 365 });
    expect(kmAt(fit, Infinity).survival).toBe(0.875);
  });

  it('does not depend on input order and does not modify the input', () => {
    const rows = survival([
      [9, false],
      [2, true],
      [5, true],
      [5, false],
      [1, false],
    ]);
    const copy = rows.map((r) => ({ ...r }));
    expect(kaplanMeier(rows)).toEqual(kaplanMeier([...rows].reverse()));
    expect(rows).toEqual(copy);
  });

  it.each([-1, NaN, Infinity])('refuses time %p', (time) => {
    expect(() => kaplanMeier([{ time, event: true }])).toThrow(RangeError);
  });

  it('refuses a NaN horizon', () => {
    expect(() => kmAt(kaplanMeier([]), NaN)).toThrow(RangeError);
  });
});

describe('clopperPearson', () => {
  it('n = 0 is an empty sample: every number is NaN', () => {
    expect(clopperPearson(0, 0)).toEqual({ estimate: NaN, lower: NaN, upper: NaN });
  });

  it('x = 0 has lower 0 and x = n has upper 1', () => {
    expect(clopperPearson(0, 7).lower).toBe(0);
    expect(clopperPearson(7, 7).upper).toBe(1);
  });

  it('one of one: [0.025, 1], none of one: [0, 0.975]', () => {
    const one = clopperPearson(1, 1);
    expect(one.lower).toBeCloseTo(0.025, 9);
    expect(one.upper).toBe(1);
    expect(clopperPearson(0, 1).upper).toBeCloseTo(0.975, 9);
  });

  it.each([
    [-1, 5],
    [6, 5],
    [1.5, 5],
    [1, -1],
    [1, 2.5],
    [NaN, 5],
    [1, Infinity],
  ])('refuses x = %p, n = %p', (x, n) => {
    expect(() => clopperPearson(x, n)).toThrow(RangeError);
  });
});

describe('cumulativeIncidence / cumulativeIncidenceAt', () => {
  it('an empty sample has no estimate (NaN)', () => {
    const fit = cumulativeIncidence([]);
    expect(fit).toEqual({ n: 0, steps: [] });
    expect(cumulativeIncidenceAt(fit, 30).estimate).toBeNaN();
  });

  it('no event of interest: 0 with variance 0 and CI [0, 0]', () => {
    const fit = cumulativeIncidence(
      competing([
        [3, 2],
        [5, 0],
        [9, 0],
      ]),
    );
    expect(cumulativeIncidenceAt(fit, 10)).toEqual({
      time: 10,
      estimate: 0,
      variance: 0,
      standardError: 0,
      lower: 0,
      upper: 0,
    });
  });

  it('without competing events it is 1 − Kaplan-Meier', () => {
    const rows: [number, 0 | 1][] = [
      [2, 1],
      [3, 0],
      [3, 1],
      [5, 1],
      [5, 1],
      [8, 0],
      [9, 1],
      [12, 0],
    ];
    const km = kaplanMeier(rows.map(([time, status]) => ({ time, event: status === 1 })));
    const ci = cumulativeIncidence(competing(rows));
    for (const t of [0, 2, 3, 4, 5, 9, 12, 20]) {
      expect(cumulativeIncidenceAt(ci, t).estimate).toBeCloseTo(1 - kmAt(km, t).survival, 12);
    }
  });

  it('deaths lower the incidence below 1 − Kaplan-Meier (which treats them as censored)', () => {
    const rows = competing([
      [1, 2],
      [2, 1],
      [3, 2],
      [4, 1],
      [6, 0],
    ]);
    const km = kaplanMeier(rows.map((o) => ({ time: o.time, event: o.status === 1 })));
    expect(cumulativeIncidenceAt(cumulativeIncidence(rows), 5).estimate).toBeLessThan(1 - kmAt(km, 5).survival);
  });

  it('F = 1 gives CI [1, 1]', () => {
    const at = cumulativeIncidenceAt(
      cumulativeIncidence(
        competing([
          [2, 1],
          [4, 1],
        ]),
      ),
      4,
    );
    expect(at).toMatchObject({ estimate: 1, lower: 1, upper: 1 });
  });

  it('the interval contains the estimate and stays inside (0, 1)', () => {
    const at = cumulativeIncidenceAt(
      cumulativeIncidence(
        competing([
          [1, 1],
          [2, 2],
          [3, 0],
          [4, 1],
          [5, 0],
        ]),
      ),
      4,
    );
    expect(at.lower).toBeGreaterThan(0);
    expect(at.lower).toBeLessThan(at.estimate);
    expect(at.upper).toBeGreaterThan(at.estimate);
    expect(at.upper).toBeLessThan(1);
  });

  it('refuses an unknown status', () => {
    expect(() => cumulativeIncidence([{ time: 1, status: 3 as 0 }])).toThrow(RangeError);
  });
});

describe('logRank', () => {
  const grouped = (rows: [number, boolean, string][]) => rows.map(([time, event, group]) => ({ time, event, group }));

  it('needs two groups', () => {
    expect(() => logRank([])).toThrow(RangeError);
    expect(() =>
      logRank(
        grouped([
          [1, true, 'a'],
          [2, false, 'a'],
        ]),
      ),
    ).toThrow(RangeError);
  });

  it('no event at all: chi-square 0, df 0, p NaN (R: df −1)', () => {
    const test = logRank(
      grouped([
        [1, false, 'a'],
        [2, false, 'b'],
      ]),
    );
    expect(test).toMatchObject({ chiSquare: 0, df: 0, pValue: NaN });
    expect(test.groups).toEqual([
      { group: 'a', n: 1, observed: 0, expected: 0 },
      { group: 'b', n: 1, observed: 0, expected: 0 },
    ]);
  });

  it('a group with nobody at risk at any event time is left out of df', () => {
    const rows = grouped([
      [1, false, 'early'],
      [3, true, 'a'],
      [5, false, 'a'],
      [4, true, 'b'],
      [6, true, 'b'],
    ]);
    const test = logRank(rows);
    expect(test.groups.find((g) => g.group === 'early')?.expected).toBe(0);
    expect(test.df).toBe(1);
  });

  it('only one group with expected events: chi-square 0, df 0, p 1 (as R)', () => {
    const test = logRank(
      grouped([
        [1, false, 'early'],
        [3, true, 'a'],
        [5, false, 'a'],
      ]),
    );
    expect(test).toMatchObject({ chiSquare: 0, df: 0, pValue: 1 });
  });

  it('a singular covariance (every event at one time, all at risk dying) gives NaN', () => {
    const test = logRank(
      grouped([
        [1, true, 'a'],
        [1, true, 'a'],
        [1, true, 'b'],
      ]),
    );
    expect(test.chiSquare).toBeNaN();
    expect(test.pValue).toBeNaN();
    expect(test.df).toBe(1);
  });

  it('is symmetric in the groups and sorts them by name', () => {
    const rows = grouped([
      [2, true, 'b'],
      [3, true, 'a'],
      [4, false, 'b'],
      [5, true, 'a'],
      [7, true, 'b'],
      [8, false, 'a'],
    ]);
    const swapped = rows.map((o) => ({ ...o, group: o.group === 'a' ? 'b' : 'a' }));
    const test = logRank(rows);
    expect(test.groups.map((g) => g.group)).toEqual(['a', 'b']);
    expect(logRank(swapped).chiSquare).toBeCloseTo(test.chiSquare, 12);
    expect(test.groups.reduce((s, g) => s + g.observed - g.expected, 0)).toBeCloseTo(0, 12);
  });
});

describe('round4', () => {
  it.each([
    [0.87499999, 0.875],
    [0.585981436809016, 0.586],
    [0.967188846029124, 0.9672],
    [-1.23456, -1.2346],
    [1.00005, 1.0001], // the double nearest 1.00005 lies just above it
    [0.03125, 0.0313], // an exact binary tie rounds away from zero (R's round gives 0.0312)
    [-0.03125, -0.0313],
    [12345.678949, 12345.6789],
  ])('%p → %p', (x, expected) => {
    expect(round4(x)).toBe(expected);
  });

  it('never gives -0', () => {
    expect(Object.is(round4(-0.00001), 0)).toBe(true);
    expect(Object.is(round4(-0), 0)).toBe(true);
  });

  it('passes NaN and infinities through', () => {
    expect(round4(NaN)).toBeNaN();
    expect(round4(-Infinity)).toBe(-Infinity);
  });
});
