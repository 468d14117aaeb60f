import { logLogInterval } from './interval';
import { assertHorizon, assertTime, byTime, lastAtOrBefore } from './validation';

/** 0 censored, 1 the event of interest, 2 the competing event (death). */
export type CompetingRiskStatus = 0 | 1 | 2;

/** One observation with a competing risk: days from the time origin and how follow-up ended. */
export interface CompetingRiskObservation {
  readonly time: number;
  readonly status: CompetingRiskStatus;
}

/** The cumulative incidence of the event of interest at one distinct observed time. */
export interface CumulativeIncidenceStep {
  readonly time: number;
  readonly nRisk: number;
  readonly nEvent: number;
  readonly nCompeting: number;
  readonly nCensor: number;
  readonly estimate: number;
  /** cmprsk::cuminc's variance, updated (as there) at times with an event of interest. */
  readonly variance: number;
}

/** An Aalen-Johansen fit: the number of observations and the step function, ascending by time. */
export interface CumulativeIncidenceFit {
  readonly n: number;
  readonly steps: readonly CumulativeIncidenceStep[];
}

/** Cumulative incidence at a horizon, its variance, standard error and 95% log(-log) interval. */
export interface CumulativeIncidenceEstimate {
  readonly time: number;
  readonly estimate: number;
  readonly variance: number;
  readonly standardError: number;
  readonly lower: number;
  readonly upper: number;
}

/**
 * Aalen-Johansen cumulative incidence of status 1 with status 2 competing, and its variance, as
 * R `cmprsk::cuminc(time, status, cencode = 0)` (Gray's delta-method variance, with its correction
 * for tied events). Events of either kind at a time happen before the censorings at that time.
 */
export function cumulativeIncidence(observations: readonly CompetingRiskObservation[]): CumulativeIncidenceFit {
  observations.forEach((o, i) => {
    assertTime(o.time, i);
    if (o.status !== 0 && o.status !== 1 && o.status !== 2) {
      throw new RangeError(`observation ${i}: status must be 0, 1 or 2, got ${String(o.status)}`);
    }
  });
  const steps: CumulativeIncidenceStep[] = [];
  let nRisk = observations.length;
  let survivalBefore = 1; // all-cause Kaplan-Meier just before the current time
  let estimate = 0;
  let variance = 0;
  // cuminc's running sums; the variance is v1 + F²·v3 − 2F·v2.
  let v1 = 0;
  let v2 = 0;
  let v3 = 0;
  const accumulate = (a: number, b: number, deaths: number): void => {
    // Tied events count less than distinct ones: the factor is 1 for a single event.
    const tie = deaths > 1 ? 1 - (deaths - 1) / (nRisk - 1) : 1;
    const weight = (survivalBefore * survivalBefore * tie * deaths) / (nRisk * nRisk);
    v1 += b * b * weight;
    v2 += a * b * weight;
    v3 += a * a * weight;
  };
  for (const { time, items } of byTime(observations)) {
    const nEvent = items.filter((o) => o.status === 1).length;
    const nCompeting = items.filter((o) => o.status === 2).length;
    const nCensor = items.length - nEvent - nCompeting;
    if (nEvent + nCompeting > 0) {
      const survivalAfter = (survivalBefore * (nRisk - nEvent - nCompeting)) / nRisk;
      if (nEvent > 0) estimate += (survivalBefore * nEvent) / nRisk;
      // As cuminc: the competing term uses F already including this time's events of interest.
      if (nCompeting > 0 && survivalAfter > 0) accumulate(1 / survivalAfter, estimate / survivalAfter, nCompeting);
      if (nEvent > 0) {
        const a = survivalAfter > 0 ? 1 / survivalAfter : 0;
        accumulate(a, 1 + a * estimate, nEvent);
        variance = v1 + estimate * estimate * v3 - 2 * estimate * v2;
      }
      survivalBefore = survivalAfter;
    }
    steps.push({ time, nRisk, nEvent, nCompeting, nCensor, estimate, variance });
    nRisk -= items.length;
  }
  return { n: observations.length, steps };
}

/**
 * The fit at horizon t (events at times <= t count; 0 before the first), with the 95% interval
 * F^exp(±1.96·√var / (F·log F)) on the log(-log) scale; at F = 0 or 1 it collapses to [F, F].
 * Past the last observed time the last value holds (cmprsk::timepoints answers NA there).
 * A fit of no observations has no estimate: every number is NaN.
 */
export function cumulativeIncidenceAt(fit: CumulativeIncidenceFit, t: number): CumulativeIncidenceEstimate {
  assertHorizon(t);
  if (fit.n === 0) return { time: t, estimate: NaN, variance: NaN, standardError: NaN, lower: NaN, upper: NaN };
  const step = fit.steps[lastAtOrBefore(fit.steps, t)];
  const estimate = step?.estimate ?? 0;
  const variance = step?.variance ?? 0;
  const standardError = Math.sqrt(variance);
  return { time: t, estimate, variance, standardError, ...logLogInterval(estimate, standardError / estimate) };
}
