import { concordant, type Outcome } from '@app/contracts';

/** Cohen's kappa for two ratings per item (here: two reviewers' isEndpointEvent per round). */
export function cohensKappa(pairs: Array<[boolean, boolean]>): number | null {
  const n = pairs.length;
  if (n === 0) return null;
  const agree = pairs.filter(([a, b]) => a === b).length / n;
  const firstYes = pairs.filter(([a]) => a).length / n;
  const secondYes = pairs.filter(([, b]) => b).length / n;
  const expected = firstYes * secondYes + (1 - firstYes) * (1 - secondYes);
  if (expected === 1) return agree === 1 ? 1 : null;
  return (agree - expected) / (1 - expected);
}

/** Median of a list; null when empty. */
export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface ReviewPair {
  first: Outcome;
  second: Outcome;
}

/** Share of review pairs that were concordant (api.md's key fields) and kappa on isEndpointEvent. */
export function reviewerAgreement(pairs: ReviewPair[]): { pairs: number; agreementRate: number | null; kappaIsEndpointEvent: number | null } {
  return {
    pairs: pairs.length,
    agreementRate: pairs.length === 0 ? null : pairs.filter((p) => concordant(p.first, p.second)).length / pairs.length,
    kappaIsEndpointEvent: cohensKappa(pairs.map((p) => [p.first.isEndpointEvent, p.second.isEndpointEvent])),
  };
}

/** Age buckets of open cases, in days since the report. */
export function ageBucket(days: number): '0-7' | '8-30' | '31-90' | '>90' {
  if (days <= 7) return '0-7';
  if (days <= 30) return '8-30';
  if (days <= 90) return '31-90';
  return '>90';
}
