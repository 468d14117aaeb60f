/**
 * x rounded to 4 decimals, half away from zero on the exact binary value (Number#toFixed), never
 * -0; NaN and ±Infinity pass through.
 */
export function round4(x: number): number {
  if (!Number.isFinite(x)) return x;
  const rounded = Number(x.toFixed(4));
  // toFixed keeps the sign of a tiny negative: "-0.0000" would read back as -0.
  return rounded === 0 ? 0 : rounded;
}
