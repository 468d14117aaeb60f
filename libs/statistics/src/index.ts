/** One right-censored observation, a Kaplan-Meier step, fit and estimate at a horizon. */
export type { SurvivalObservation, KaplanMeierStep, KaplanMeierFit, SurvivalEstimate } from './kaplan-meier';
/** Kaplan-Meier step function with Greenwood SE and 95% log-log CI, as R survfit(conf.type = "log-log"). */
export { kaplanMeier } from './kaplan-meier';
/** Kaplan-Meier survival, SE and 95% log-log CI at a horizon (events at t <= horizon count). */
export { kmAt } from './kaplan-meier';
/** A proportion with its 95% interval. */
export type { ProportionEstimate } from './clopper-pearson';
/** Clopper-Pearson exact 95% CI for x successes of n, as R binom.test. */
export { clopperPearson } from './clopper-pearson';
/** Competing-risk status, observation, Aalen-Johansen step, fit and estimate at a horizon. */
export type {
  CompetingRiskStatus,
  CompetingRiskObservation,
  CumulativeIncidenceStep,
  CumulativeIncidenceFit,
  CumulativeIncidenceEstimate,
} from './cumulative-incidence';
/** Aalen-Johansen cumulative incidence of status 1 with death (2) competing, as R cmprsk::cuminc. */
export { cumulativeIncidence } from './cumulative-incidence';
/** Cumulative incidence, cuminc variance and 95% log(-log) CI at a horizon. */
export { cumulativeIncidenceAt } from './cumulative-incidence';
/** A grouped observation, one group's counts and the result of a log-rank test. */
export type { GroupedSurvivalObservation, LogRankGroup, LogRankTest } from './log-rank';
/** Log-rank test across groups, as R survdiff: observed, expected, chi-square, df, p-value. */
export { logRank } from './log-rank';
/** Rounds to 4 decimals as the API reports numbers, never giving -0. */
export { round4 } from './round';
