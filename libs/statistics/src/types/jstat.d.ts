// jstat ships no types; this declares only the two distribution functions we call.
declare module 'jstat' {
  export const jStat: {
    readonly beta: {
      /** Quantile of Beta(a, b): the inverse regularized incomplete beta function. */
      inv(p: number, a: number, b: number): number;
    };
    readonly chisquare: {
      /** Lower-tail CDF of the chi-square distribution with `dof` degrees of freedom. */
      cdf(x: number, dof: number): number;
    };
  };
}
