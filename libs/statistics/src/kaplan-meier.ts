import { logLogInterval } from './interval';
import { assertHorizon, assertTime, byTime, lastAtOrBefore } from './validation';

/** One right-censored observation: days from the time origin, and whether the event happened then. */
export interface SurvivalObservation {
  readonly time: number;
  readonly event: boolean;
}

/** The Kaplan-Meier curve at one distinct observed time (event or censoring), as R's survfit rows. */
export interface KaplanMeierStep {
  readonly time: number;
  readonly nRisk: number;
  readonly nEvent: number;
  readonly nCensor: number;
  readonly survival: number;
  /** Greenwood, on the survival scale (R's summary std.err); 0 where survival is 0 or 1. */
  readonly standardError: number;
  readonly lower: number;
  readonly upper: number;
}

/** A Kaplan-Meier fit: the number of observations and the step function, ascending by time. */
export interface KaplanMeierFit {
  readonly n: number;
  readonly steps: readonly KaplanMeierStep[];
}

/** Survival at a horizon with its Greenwood standard error and 95% log-log interval. */
export interface SurvivalEstimate {
  readonly time: number;
  readonly survival: number;
  readonly standardError: number;
  readonly lower: number;
  readonly upper: number;
}

/**
 * Kaplan-Meier estimate as R `survfit(Surv(time, event) ~ 1, conf.type = "log-log")`. Events at a
 * time happen before the censorings at that time: those censored then are still at risk.
 */
export function kaplanMeier(observations: readonly SurvivalObservation[]): KaplanMeierFit {
  observations.forEach((o, i) => {
    assertTime(o.time, i);
    if (typeof o.event !== 'boolean') throw new RangeError(`observation ${i}: event must be a boolean`);
  });
  const steps: KaplanMeierStep[] = [];
  let nRisk = observations.length;
  let survival = 1;
  // Greenwood's sum for the variance of log S; infinite once everyone left at risk has the event.
  let greenwood = 0;
  for (const { time, items } of byTime(observations)) {
    const nEvent = items.filter((o) => o.event).length;
    const nCensor = items.length - nEvent;
    if (nEvent > 0) {
      survival *= (nRisk - nEvent) / nRisk;
      greenwood += nRisk > nEvent ? nEvent / (nRisk * (nRisk - nEvent)) : Infinity;
    }
    const seOfLog = Math.sqrt(greenwood);
    // R reports 0 × ∞ = NaN at S = 0; like the [1, 1] rule at S = 1, we collapse to 0 and [0, 0].
    const standardError = survival === 0 ? 0 : survival * seOfLog;
    steps.push({ time, nRisk, nEvent, nCensor, survival, standardError, ...logLogInterval(survival, seOfLog) });
    nRisk -= items.length;
  }
  return { n: observations.length, steps };
}

/**
 * The fit at horizon t: events at times <= t count. Before the first event S = 1 with SE 0 and
 * interval [1, 1]; past the last observed time the last value holds (R summary, extend = TRUE).
 * A fit of no observations has no estimate: every number is NaN.
 */
export function kmAt(fit: KaplanMeierFit, t: number): SurvivalEstimate {
  assertHorizon(t);
  if (fit.n === 0) return { time: t, survival: NaN, standardError: NaN, lower: NaN, upper: NaN };
  const step = fit.steps[lastAtOrBefore(fit.steps, t)];
  if (!step) return { time: t, survival: 1, standardError: 0, lower: 1, upper: 1 };
  const { survival, standardError, lower, upper } = step;
  return { time: t, survival, standardError, lower, upper };
}
