import { jStat } from 'jstat';

/** A proportion with its exact (Clopper-Pearson) 95% interval. */
export interface ProportionEstimate {
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
}

/**
 * x successes of n with the Clopper-Pearson exact 95% interval, as R `binom.test(x, n)`: the
 * 2.5% quantile of Beta(x, n - x + 1) and the 97.5% quantile of Beta(x + 1, n - x); x = 0 gives
 * lower 0 and x = n upper 1. Counts that are not integers 0 <= x <= n throw a RangeError; n = 0 is
 * a valid but empty sample whose proportion is undefined, so every number is NaN.
 */
export function clopperPearson(x: number, n: number): ProportionEstimate {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be an integer >= 0, got ${n}`);
  if (!Number.isSafeInteger(x) || x < 0 || x > n) {
    throw new RangeError(`x must be an integer in [0, n = ${n}], got ${x}`);
  }
  if (n === 0) return { estimate: NaN, lower: NaN, upper: NaN };
  return {
    estimate: x / n,
    lower: x === 0 ? 0 : jStat.beta.inv(0.025, x, n - x + 1),
    upper: x === n ? 1 : jStat.beta.inv(0.975, x + 1, n - x),
  };
}
