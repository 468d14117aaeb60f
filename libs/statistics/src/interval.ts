/** qnorm(0.975): every interval in this library is a two-sided 95% one. */
export const Z_975 = 1.959963984540054;

/**
 * 95% interval for a probability p on the log(-log p) scale, given the standard error of log p,
 * as R's survfit (conf.type = "log-log"): exp(-exp(log(-log p) ± z·se / log p)).
 * At p = 0 or 1 the transform is undefined (R answers NA); the interval collapses to [p, p].
 */
export function logLogInterval(p: number, seOfLogP: number): { lower: number; upper: number } {
  if (p <= 0 || p >= 1) return { lower: p, upper: p };
  const logLog = Math.log(-Math.log(p));
  const shift = (Z_975 * seOfLogP) / Math.log(p);
  return { lower: Math.exp(-Math.exp(logLog - shift)), upper: Math.exp(-Math.exp(logLog + shift)) };
}
