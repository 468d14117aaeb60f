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
export function reviewerAgreement(pairs: ReviewPair[]): {
  pairs: number;
  agreementRate: number | null;
  kappaIsEndpointEvent: number | null;
} {
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

const DAY_MS = 86_400_000;

/** What the committee metrics are computed from (the cases read model's rows). */
export interface CommitteeRecords {
  /** Every case of the trial, with when its adverse event was reported. */
  cases: Array<{ status: string; reportedAt: string }>;
  /** The first decision of each finalized case (later rounds supersede it but do not restart the clock). */
  firstDecisions: Array<{ reportedAt: string; finalizedAt: string }>;
  /** Every review, in case, round and reviewer order: each round's two reviews are a pair in that order. */
  reviews: Array<{ caseId: string; round: number; outcome: Outcome }>;
}

/** Open cases by age, days from report to final decision, reviewer agreement; `now` is when asked. */
export function committeeMetrics({ cases, firstDecisions, reviews }: CommitteeRecords, now: string) {
  const openCasesByAge: Record<ReturnType<typeof ageBucket>, number> = { '0-7': 0, '8-30': 0, '31-90': 0, '>90': 0 };
  for (const c of cases.filter((row) => row.status !== 'finalized' && row.status !== 'cancelled')) {
    openCasesByAge[ageBucket(Math.floor((Date.parse(now) - Date.parse(c.reportedAt)) / DAY_MS))] += 1;
  }
  const byRound = new Map<string, Outcome[]>();
  for (const r of reviews) byRound.set(`${r.caseId}#${r.round}`, [...(byRound.get(`${r.caseId}#${r.round}`) ?? []), r.outcome]);
  const pairs = [...byRound.values()]
    .filter((o) => o.length === 2)
    .map(([first, second]) => ({ first: first as Outcome, second: second as Outcome }));
  const days = median(firstDecisions.map((d) => (Date.parse(d.finalizedAt) - Date.parse(d.reportedAt)) / DAY_MS));
  return {
    openCases: Object.values(openCasesByAge).reduce((a, b) => a + b, 0),
    openCasesByAge,
    finalizedCases: firstDecisions.length,
    medianDaysToFinalDecision: days === null ? null : Math.round(days * 100) / 100,
    reviewerAgreement: reviewerAgreement(pairs),
  };
}
