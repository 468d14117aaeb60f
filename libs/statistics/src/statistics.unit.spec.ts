import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  clopperPearson,
  cumulativeIncidence,
  cumulativeIncidenceAt,
  kaplanMeier,
  kmAt,
  logRank,
  round4,
  type CompetingRiskStatus,
} from '@app/statistics';

/*
 * Every number R computed in reference/reference.R (reference.json) against ours, to 1e-6.
 * R answers NA in a few degenerate places; reference.json holds null there and the rules below
 * say what we give instead (see the doc comments of the functions).
 */

interface Observation {
  time: number;
  status: CompetingRiskStatus;
  group?: string;
}
interface Datasets {
  datasets: { name: string; horizons: number[]; observations: Observation[] }[];
  binomial: { x: number; n: number }[];
}
type Maybe = number | null;
interface RKmRow {
  time: number;
  survival: number;
  standardError: Maybe;
  lower: Maybe;
  upper: Maybe;
}
interface RKmStep extends RKmRow {
  nRisk: number;
  nEvent: number;
  nCensor: number;
}
interface RCumincRow {
  time: number;
  evaluatedAt: number;
  extended: boolean;
  curve: string;
  estimate: Maybe;
  variance: Maybe;
  lower: Maybe;
  upper: Maybe;
}
interface RSubset {
  subset: string;
  n: number;
  km: { steps: RKmStep[]; at: RKmRow[] };
  cuminc: RCumincRow[];
}
interface RLogRank {
  groups: { group: string; n: number; observed: number; expected: number }[];
  variance: number[][];
  chiSquare: number;
  df: number;
  pValue: number;
}
interface Reference {
  versions: Record<string, string>;
  z: number;
  datasets: { name: string; subsets: RSubset[]; logRank: RLogRank | null }[];
  binomial: { x: number; n: number; estimate: number; lower: number; upper: number }[];
}

const read = <T>(file: string): T => JSON.parse(readFileSync(join(__dirname, '..', 'reference', file), 'utf8')) as T;
const input = read<Datasets>('datasets.json');
const reference = read<Reference>('reference.json');
const TOLERANCE = 1e-6;

/** Collects every disagreement so a failure lists them all, each with where it is. */
class Comparison {
  readonly mismatches: string[] = [];
  close(label: string, ours: number, theirs: number): void {
    if (!(Math.abs(ours - theirs) <= TOLERANCE)) this.mismatches.push(`${label}: ours ${ours}, R ${theirs}`);
  }
  /** R's NA is only acceptable where our documented rule gives `fallback`. */
  closeOr(label: string, ours: number, theirs: Maybe, fallback: number): void {
    this.close(theirs === null ? `${label} (R NA)` : label, ours, theirs ?? fallback);
  }
  equal(label: string, ours: unknown, theirs: unknown): void {
    if (ours !== theirs) this.mismatches.push(`${label}: ours ${String(ours)}, R ${String(theirs)}`);
  }
}

function subsetOf(observations: Observation[], subset: string): Observation[] {
  return subset === 'pooled' ? observations : observations.filter((o) => o.group === subset);
}

const survivalInput = (observations: Observation[]) => observations.map((o) => ({ time: o.time, event: o.status === 1 }));

describe('reference.json', () => {
  it('was computed from the data sets in datasets.json', () => {
    expect(reference.datasets.map((d) => d.name)).toEqual(input.datasets.map((d) => d.name));
    expect(reference.binomial.map(({ x, n }) => ({ x, n }))).toEqual(input.binomial);
    expect(Math.abs(reference.z - 1.959963984540054)).toBeLessThan(1e-12);
  });
});

describe.each(input.datasets)('data set $name', (dataset) => {
  const expected = reference.datasets.find((d) => d.name === dataset.name);
  if (!expected) throw new Error(`no reference for ${dataset.name}`);

  it.each(expected.subsets)('Kaplan-Meier of $subset matches R survfit, log-log', (r) => {
    const observations = subsetOf(dataset.observations, r.subset);
    const fit = kaplanMeier(survivalInput(observations));
    const check = new Comparison();
    check.equal('n', fit.n, r.n);
    check.equal('steps', fit.steps.length, r.km.steps.length);
    r.km.steps.forEach((rs, i) => {
      const step = fit.steps[i];
      if (!step) return;
      const at = `step ${rs.time}`;
      check.equal(`${at} time`, step.time, rs.time);
      check.equal(`${at} nRisk`, step.nRisk, rs.nRisk);
      check.equal(`${at} nEvent`, step.nEvent, rs.nEvent);
      check.equal(`${at} nCensor`, step.nCensor, rs.nCensor);
      check.close(`${at} survival`, step.survival, rs.survival);
      check.closeOr(`${at} standardError`, step.standardError, rs.standardError, 0);
      check.closeOr(`${at} lower`, step.lower, rs.lower, rs.survival);
      check.closeOr(`${at} upper`, step.upper, rs.upper, rs.survival);
      if (rs.lower === null) expect([0, 1]).toContain(rs.survival);
      if (rs.standardError === null) expect(rs.survival).toBe(0);
    });
    for (const ra of r.km.at) {
      const ours = kmAt(fit, ra.time);
      const at = `t=${ra.time}`;
      check.close(`${at} survival`, ours.survival, ra.survival);
      check.closeOr(`${at} standardError`, ours.standardError, ra.standardError, 0);
      check.closeOr(`${at} lower`, ours.lower, ra.lower, ra.survival);
      check.closeOr(`${at} upper`, ours.upper, ra.upper, ra.survival);
      if (ra.lower === null) expect([0, 1]).toContain(ra.survival);
    }
    expect(check.mismatches).toEqual([]);
  });

  it.each(expected.subsets)('cumulative incidence of $subset matches R cmprsk::cuminc', (r) => {
    const observations = subsetOf(dataset.observations, r.subset);
    const fit = cumulativeIncidence(observations.map(({ time, status }) => ({ time, status })));
    const check = new Comparison();
    for (const rc of r.cuminc) {
      // Asked at the horizon itself: past the last follow-up our flat extension must equal
      // what R gives at that last time (rc.evaluatedAt).
      const ours = cumulativeIncidenceAt(fit, rc.time);
      const at = `t=${rc.time}${rc.extended ? ` (R at ${rc.evaluatedAt})` : ''}`;
      // No status-1 event in the data: cuminc makes no curve at all; ours is 0 throughout.
      const estimate = rc.estimate ?? 0;
      if (rc.estimate === null) expect(observations.some((o) => o.status === 1)).toBe(false);
      check.close(`${at} estimate`, ours.estimate, estimate);
      check.closeOr(`${at} variance`, ours.variance, rc.variance, 0);
      check.close(`${at} standardError`, ours.standardError, Math.sqrt(rc.variance ?? 0));
      check.closeOr(`${at} lower`, ours.lower, rc.lower, estimate);
      check.closeOr(`${at} upper`, ours.upper, rc.upper, estimate);
      if (rc.lower === null) expect([0, 1]).toContain(estimate);
    }
    expect(check.mismatches).toEqual([]);
  });

  const rLogRank = expected.logRank;
  if (rLogRank) {
    it('log-rank test matches R survdiff', () => {
      const test = logRank(dataset.observations.map((o) => ({ time: o.time, event: o.status === 1, group: o.group ?? '' })));
      const check = new Comparison();
      check.equal('groups', test.groups.map((g) => g.group).join(), rLogRank.groups.map((g) => g.group).join());
      const position = new Map(test.groups.map((g, i) => [g.group, i]));
      rLogRank.groups.forEach((rg, ri) => {
        const i = position.get(rg.group) ?? -1;
        const ours = test.groups[i];
        if (!ours) return;
        check.equal(`${rg.group} n`, ours.n, rg.n);
        check.close(`${rg.group} observed`, ours.observed, rg.observed);
        check.close(`${rg.group} expected`, ours.expected, rg.expected);
        rLogRank.groups.forEach((rh, rj) => {
          const j = position.get(rh.group) ?? -1;
          const covariance = test.variance[i]?.[j] ?? NaN;
          check.close(`variance ${rg.group}/${rh.group}`, covariance, rLogRank.variance[ri]?.[rj] ?? NaN);
        });
      });
      check.close('chiSquare', test.chiSquare, rLogRank.chiSquare);
      check.equal('df', test.df, rLogRank.df);
      check.close('pValue', test.pValue, rLogRank.pValue);
      expect(check.mismatches).toEqual([]);
    });
  }
});

describe('Clopper-Pearson', () => {
  it.each(reference.binomial)('$x of $n matches R binom.test', (r) => {
    const ours = clopperPearson(r.x, r.n);
    const check = new Comparison();
    check.close('estimate', ours.estimate, r.estimate);
    check.close('lower', ours.lower, r.lower);
    check.close('upper', ours.upper, r.upper);
    expect(check.mismatches).toEqual([]);
  });
});

describe('the api.md example (LEG-DEB diabetic group)', () => {
  const observations = input.datasets.find((d) => d.name === 'leg-deb')?.observations.filter((o) => o.group === 'diabetic');

  it('has 16 patients, 2 events before 180 days, 14 censored after', () => {
    expect(observations).toHaveLength(16);
  });

  it('reports km at 180 days as api.md shows', () => {
    const km = kmAt(kaplanMeier(survivalInput(observations ?? [])), 180);
    expect([km.survival, km.lower, km.upper, km.standardError].map(round4)).toEqual([0.875, 0.586, 0.9672, 0.0827]);
  });

  it('reports crude 14 of 16 event-free as api.md shows', () => {
    const crude = clopperPearson(14, 16);
    expect([crude.estimate, crude.lower, crude.upper].map(round4)).toEqual([0.875, 0.6165, 0.9845]);
  });
});
