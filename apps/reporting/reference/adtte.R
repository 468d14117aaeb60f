# A data cut's figures recomputed by R from its ADaM ADTTE dataset alone (api.md "Data cuts").
#
#   Rscript apps/reporting/reference/adtte.R <adtte.csv> <PARAMCD=horizonDays,...> > figures.json
#
# For every endpoint (PARAMCD) and group (pooled, by DIABFL, by CLIFL, by TRTP when present):
# the Kaplan-Meier estimate at the horizon (survfit, conf.type = "log-log"; CNSR 0 is the event,
# every other CNSR censors) and, for endpoints without death, the cumulative incidence with death
# competing (cmprsk::cuminc: CNSR 0 cause 1, CNSR 2 cause 2, CNSR 1 and 3 censored), CI on the
# log(-log) scale as libs/statistics/reference/reference.R computes it. test/data-cuts.e2e.spec.ts
# runs it on the exported dataset and compares with the cut's report to 1e-4; without R it reads
# apps/reporting/reference/adtte-seed.json, written by this script from the seed cohort's cut.

suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE, colClasses = "character", na.strings = character(0))
d$AVAL <- as.numeric(d$AVAL)
d$CNSR <- as.integer(d$CNSR)
horizon_pairs <- strsplit(strsplit(args[2], ",")[[1]], "=")
horizons <- setNames(as.numeric(vapply(horizon_pairs, `[`, "", 2)), vapply(horizon_pairs, `[`, "", 1))
z <- qnorm(0.975)

km_at <- function(sub, h) {
  fit <- survfit(Surv(AVAL, CNSR == 0) ~ 1, data = sub, conf.type = "log-log")
  s <- summary(fit, times = h, extend = TRUE)
  list(survival = s$surv, lower = s$lower, upper = s$upper, standardError = s$std.err)
}

cuminc_at <- function(sub, h) {
  status <- ifelse(sub$CNSR == 0, 1, ifelse(sub$CNSR == 2, 2, 0))
  # cmprsk fails without any uncensored time (all censored): then nothing has happened, F = 0.
  if (!any(status == 1)) return(list(estimate = 0, lower = NA, upper = NA))
  fit <- cuminc(sub$AVAL, status, cencode = 0)
  tp <- timepoints(fit["1 1"], min(h, max(sub$AVAL)))
  estimate <- tp$est[1, 1]
  variance <- tp$var[1, 1]
  lower <- NA_real_
  upper <- NA_real_
  if (!is.na(estimate) && estimate > 0 && estimate < 1) {
    a <- z * sqrt(variance) / (estimate * log(estimate))
    lower <- estimate^exp(-a)
    upper <- estimate^exp(a)
  }
  list(estimate = estimate, lower = lower, upper = upper)
}

by_columns <- intersect(c("DIABFL", "CLIFL", "TRTP"), names(d))
out <- list()
for (paramcd in names(horizons)) {
  p <- d[d$PARAMCD == paramcd, ]
  h <- horizons[[paramcd]]
  subsets <- list(list(by = "pooled", group = "", rows = p))
  for (column in by_columns) for (value in sort(unique(p[[column]]))) {
    subsets[[length(subsets) + 1]] <- list(by = column, group = value, rows = p[p[[column]] == value, ])
  }
  for (s in subsets) {
    out[[length(out) + 1]] <- list(
      paramcd = paramcd, by = s$by, group = s$group, n = nrow(s$rows),
      km = km_at(s$rows, h), cuminc = cuminc_at(s$rows, h)
    )
  }
}
cat(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"))
