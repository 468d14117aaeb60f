/** A follow-up time: days from the time origin, finite and not negative. */
export function assertTime(time: unknown, index: number): asserts time is number {
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) {
    throw new RangeError(`observation ${index}: time must be a finite number >= 0, got ${String(time)}`);
  }
}

/** A horizon may lie anywhere on the time axis, even at infinity, but must be a number. */
export function assertHorizon(t: unknown): asserts t is number {
  if (typeof t !== 'number' || Number.isNaN(t)) throw new RangeError(`horizon must be a number, got ${String(t)}`);
}

/** Index of the last item whose time is <= t, or -1; `sorted` ascends by time. */
export function lastAtOrBefore(sorted: readonly { time: number }[], t: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid]?.time ?? Infinity) <= t) low = mid + 1;
    else high = mid;
  }
  return low - 1;
}

/** Items grouped by equal time, ascending; the input is not modified. */
export function byTime<T extends { time: number }>(items: readonly T[]): { time: number; items: T[] }[] {
  const sorted = [...items].sort((a, b) => a.time - b.time);
  const groups: { time: number; items: T[] }[] = [];
  for (const item of sorted) {
    const last = groups[groups.length - 1];
    if (last && last.time === item.time) last.items.push(item);
    else groups.push({ time: item.time, items: [item] });
  }
  return groups;
}
