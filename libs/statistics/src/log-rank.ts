import { jStat } from 'jstat';
import type { SurvivalObservation } from './kaplan-meier';
import { assertTime, byTime } from './validation';

/** A right-censored observation labelled with the group it is compared in. */
export interface GroupedSurvivalObservation extends SurvivalObservation {
  readonly group: string;
}

/** One group's share of a log-rank test. */
export interface LogRankGroup {
  readonly group: string;
  readonly n: number;
  readonly observed: number;
  readonly expected: number;
}

/** A log-rank test: per group counts (groups sorted by name), O − E covariance, chi-square, df, p. */
export interface LogRankTest {
  readonly groups: readonly LogRankGroup[];
  readonly variance: readonly (readonly number[])[];
  readonly chiSquare: number;
  readonly df: number;
  readonly pValue: number;
}

/**
 * Log-rank test of equal survival across groups, as R `survdiff(Surv(time, event) ~ group)`.
 * Groups with no expected events are left out of the statistic and of df, as there. Fewer than two
 * groups throws a RangeError (as R). With no event at all R says df −1; we say df 0, chi-square 0
 * and p NaN. With one group left, chi-square is 0, df 0 and p 1 (R's pchisq(0, 0)). A singular
 * covariance (R: an error from solve) gives chi-square and p NaN.
 */
export function logRank(observations: readonly GroupedSurvivalObservation[]): LogRankTest {
  observations.forEach((o, i) => {
    assertTime(o.time, i);
    if (typeof o.event !== 'boolean') throw new RangeError(`observation ${i}: event must be a boolean`);
    if (typeof o.group !== 'string') throw new RangeError(`observation ${i}: group must be a string`);
  });
  const names = [...new Set(observations.map((o) => o.group))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (names.length < 2) throw new RangeError(`a log-rank test needs at least two groups, got ${names.length}`);
  const index = new Map(names.map((name, i) => [name, i]));
  const k = names.length;
  const groupOf = (o: GroupedSurvivalObservation): number => index.get(o.group) ?? -1;
  const atRisk = names.map((name) => observations.filter((o) => o.group === name).length);
  const sizes = [...atRisk];
  const observed = new Array<number>(k).fill(0);
  const expected = new Array<number>(k).fill(0);
  const variance = names.map(() => new Array<number>(k).fill(0));

  for (const { items } of byTime(observations)) {
    const n = atRisk.reduce((sum, r) => sum + r, 0);
    const deaths = items.filter((o) => o.event).length;
    if (deaths > 0) {
      for (const o of items) if (o.event) observed[groupOf(o)] = (observed[groupOf(o)] ?? 0) + 1;
      // Hypergeometric covariance of the group counts of the `deaths` events among the n at risk.
      const factor = n > 1 ? (deaths * (n - deaths)) / (n * n * (n - 1)) : 0;
      for (let j = 0; j < k; j++) {
        const nj = atRisk[j] ?? 0;
        expected[j] = (expected[j] ?? 0) + (deaths * nj) / n;
        const row = variance[j] ?? [];
        for (let m = 0; m < k; m++) {
          row[m] = (row[m] ?? 0) + factor * nj * ((j === m ? n : 0) - (atRisk[m] ?? 0));
        }
      }
    }
    for (const o of items) atRisk[groupOf(o)] = (atRisk[groupOf(o)] ?? 0) - 1;
  }

  const groups = names.map((group, i) => ({
    group,
    n: sizes[i] ?? 0,
    observed: observed[i] ?? 0,
    expected: expected[i] ?? 0,
  }));
  // As survdiff: keep groups with expected > 0, drop the first of them (the rest determine it).
  const kept = groups.flatMap((g, i) => (g.expected > 0 ? [i] : []));
  const { chiSquare, df, pValue } = statistic(kept, groups, variance);
  return { groups, variance, chiSquare, df, pValue };
}

function statistic(
  kept: readonly number[],
  groups: readonly LogRankGroup[],
  variance: readonly (readonly number[])[],
): { chiSquare: number; df: number; pValue: number } {
  if (kept.length === 0) return { chiSquare: 0, df: 0, pValue: NaN };
  if (kept.length === 1) return { chiSquare: 0, df: 0, pValue: 1 };
  const free = kept.slice(1);
  const difference = free.map((i) => (groups[i]?.observed ?? 0) - (groups[i]?.expected ?? 0));
  const matrix = free.map((i) => free.map((m) => variance[i]?.[m] ?? 0));
  const solution = solve(matrix, difference);
  const df = free.length;
  if (!solution) return { chiSquare: NaN, df, pValue: NaN };
  const chiSquare = solution.reduce((sum, x, i) => sum + x * (difference[i] ?? 0), 0);
  return { chiSquare, df, pValue: 1 - jStat.chisquare.cdf(chiSquare, df) };
}

/** Solves A·x = b by Gaussian elimination with partial pivoting; undefined when A is singular. */
function solve(a: readonly (readonly number[])[], b: readonly number[]): number[] | undefined {
  const size = b.length;
  const rows = a.map((row, i) => [...row, b[i] ?? 0]);
  const scale = Math.max(...a.map((row, i) => Math.abs(row[i] ?? 0)));
  for (let col = 0; col < size; col++) {
    let pivot = col;
    for (let r = col + 1; r < size; r++) {
      if (Math.abs(rows[r]?.[col] ?? 0) > Math.abs(rows[pivot]?.[col] ?? 0)) pivot = r;
    }
    const pivotRow = rows[pivot];
    const current = rows[col];
    if (!pivotRow || !current) return undefined;
    const p = pivotRow[col] ?? 0;
    // Relative tolerance, like R's solve refusing a computationally singular system.
    if (!(Math.abs(p) > scale * 1e-12)) return undefined;
    rows[pivot] = current;
    rows[col] = pivotRow;
    for (let r = col + 1; r < size; r++) {
      const row = rows[r];
      if (!row) continue;
      const f = (row[col] ?? 0) / p;
      for (let c = col; c <= size; c++) row[c] = (row[c] ?? 0) - f * (pivotRow[c] ?? 0);
    }
  }
  const x = new Array<number>(size).fill(0);
  for (let r = size - 1; r >= 0; r--) {
    const row = rows[r] ?? [];
    let sum = row[size] ?? 0;
    for (let c = r + 1; c < size; c++) sum -= (row[c] ?? 0) * (x[c] ?? 0);
    x[r] = sum / (row[r] ?? NaN);
  }
  return x;
}
