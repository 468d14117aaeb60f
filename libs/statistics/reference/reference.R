# Reference values for libs/statistics, computed by R itself.
#
# Reads datasets.json (beside this file) and writes reference.json, which
# statistics.unit.spec.ts compares with our TypeScript to 1e-6 (datasets, binomial), and
# apps/reporting's endpoint-report.unit.spec.ts and test/reports.e2e.spec.ts with the endpoint
# report to 1e-4, its rounding (cohorts). CI has no R: it only reads the committed JSON. Re-run after changing datasets.json:
#
#   apt-get install -y --no-install-recommends r-base-core r-cran-survival r-cran-cmprsk r-cran-jsonlite
#   Rscript libs/statistics/reference/reference.R
#
# What is recorded is R's own output; where R gives NA (a log-log interval at S = 0 or 1, a
# cmprsk curve that does not exist) the JSON holds null and the spec states what we give
# instead. The output is deterministic (no dates), so an unchanged run leaves no diff.

suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

here <- local({
  file_arg <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(file_arg) == 1) dirname(normalizePath(sub("^--file=", "", file_arg))) else getwd()
})

input <- fromJSON(file.path(here, "datasets.json"), simplifyVector = FALSE)
z <- qnorm(0.975)

as_frame <- function(observations) {
  data.frame(
    time = vapply(observations, function(o) as.numeric(o$time), numeric(1)),
    status = vapply(observations, function(o) as.integer(o$status), integer(1)),
    group = vapply(observations, function(o) if (is.null(o$group)) NA_character_ else o$group, character(1)),
    stringsAsFactors = FALSE
  )
}

# Kaplan-Meier with the event of interest (status 1); a competing death censors.
km_reference <- function(d, horizons) {
  fit <- survfit(Surv(time, status == 1) ~ 1, data = d, conf.type = "log-log")
  steps <- data.frame(
    time = fit$time,
    nRisk = fit$n.risk,
    nEvent = fit$n.event,
    nCensor = fit$n.censor,
    survival = fit$surv,
    # survfit keeps the standard error of log S; summary() reports it on the survival scale.
    standardError = fit$surv * fit$std.err,
    lower = fit$lower,
    upper = fit$upper
  )
  s <- summary(fit, times = horizons, extend = TRUE)
  at <- data.frame(
    time = s$time,
    survival = s$surv,
    standardError = s$std.err,
    lower = s$lower,
    upper = s$upper
  )
  list(steps = steps, at = at)
}

# cmprsk::cuminc for cause 1 (cause 2 competing); `curve` names the cuminc component.
# timepoints() answers NA past the largest follow-up time of the curve: there we ask it at
# that time and say so with `extended`.
cuminc_reference <- function(fit, curve, max_time, horizons) {
  rows <- lapply(horizons, function(t) {
    evaluated_at <- min(t, max_time)
    estimate <- NA_real_
    variance <- NA_real_
    if (!is.null(fit[[curve]])) {
      tp <- timepoints(fit[curve], evaluated_at)
      estimate <- tp$est[1, 1]
      variance <- tp$var[1, 1]
    }
    lower <- NA_real_
    upper <- NA_real_
    if (!is.na(estimate) && estimate > 0 && estimate < 1) {
      # log(-log F) scale: the delta-method SE of log(-log F) is sqrt(var) / |F log F|.
      a <- z * sqrt(variance) / (estimate * log(estimate))
      lower <- estimate^exp(-a)
      upper <- estimate^exp(a)
    }
    list(
      time = t, evaluatedAt = evaluated_at, extended = t > max_time, curve = curve,
      estimate = estimate, variance = variance, lower = lower, upper = upper
    )
  })
  rows
}

logrank_reference <- function(d) {
  groups <- sort(unique(d$group))
  if (length(groups) < 2) return(NULL)
  d$group <- factor(d$group, levels = groups)
  sd <- survdiff(Surv(time, status == 1) ~ group, data = d)
  list(
    groups = lapply(seq_along(groups), function(i) list(
      group = groups[i], n = as.integer(sd$n[i]), observed = sd$obs[i], expected = sd$exp[i]
    )),
    variance = unname(sd$var),
    chiSquare = sd$chisq,
    # print.survdiff's degrees of freedom: groups with a positive expected count, minus one.
    df = sum(sd$exp > 0) - 1,
    pValue = sd$pvalue
  )
}

dataset_reference <- function(ds) {
  d <- as_frame(ds$observations)
  horizons <- as.numeric(unlist(ds$horizons))
  pooled_cuminc <- cuminc(d$time, d$status, cencode = 0)
  subsets <- list(list(
    subset = "pooled",
    n = nrow(d),
    km = km_reference(d, horizons),
    cuminc = cuminc_reference(pooled_cuminc, "1 1", max(d$time), horizons)
  ))
  if (!all(is.na(d$group))) {
    grouped_cuminc <- cuminc(d$time, d$status, group = d$group, cencode = 0)
    for (g in sort(unique(d$group))) {
      sub <- d[d$group == g, ]
      subsets[[length(subsets) + 1]] <- list(
        subset = g,
        n = nrow(sub),
        km = km_reference(sub, horizons),
        cuminc = cuminc_reference(grouped_cuminc, paste(g, 1), max(sub$time), horizons)
      )
    }
  }
  list(name = ds$name, subsets = subsets, logRank = logrank_reference(d))
}

binomial_reference <- function(b) {
  test <- binom.test(b$x, b$n, conf.level = 0.95)
  list(x = b$x, n = b$n, estimate = unname(test$estimate), lower = test$conf.int[1], upper = test$conf.int[2])
}

# --- cohorts: per-patient follow-up under api.md "Endpoint report" semantics 1-3, then the report ---
#
# Written from the contract's text, not from our TypeScript: for each withdrawal censoring rule a
# patient's time is the first qualifying event; else a competing death (death not part of the
# endpoint); else censored at the last known contact <= cutoff (index procedure, visits, onsets of
# any adverse event). A withdrawal <= cutoff ends follow-up: censored at the withdrawal date
# ("withdrawal-date") or at the last contact on or before it ("last-contact"); an event or death on
# the withdrawal day still counts, one after it does not.

derive_patient <- function(p, cutoff, endpoint, rule) {
  index <- p$index
  at <- function(day) index + as.numeric(day)
  withdrawal <- if (!is.null(p$withdrawn) && at(p$withdrawn) <= cutoff) at(p$withdrawn) else Inf
  kinds <- unlist(endpoint$kinds)
  first_event <- Inf
  first_death <- Inf
  onsets <- numeric(0)
  for (e in p$events) {
    day <- at(e$day)
    onsets <- c(onsets, day)
    if (day < index || day > cutoff) next
    if (e$kind %in% kinds || (isTRUE(endpoint$includesDeath) && e$kind == "death")) {
      first_event <- min(first_event, day)
    } else if (e$kind == "death") {
      first_death <- min(first_death, day)
    }
  }
  if (is.finite(first_event) && first_event <= min(withdrawal, first_death)) return(list(time = first_event - index, status = 1L))
  if (is.finite(first_death) && first_death <= withdrawal) return(list(time = first_death - index, status = 2L))
  contacts <- c(index, vapply(p$visits, at, numeric(1)), onsets)
  limit <- if (is.finite(withdrawal)) withdrawal else cutoff
  end <- if (is.finite(withdrawal) && rule == "withdrawal-date") withdrawal else max(contacts[contacts <= limit], -Inf)
  list(time = max(index, end) - index, status = 0L)
}

crude_reference <- function(d, horizon) {
  events <- sum(d$status == 1 & d$time <= horizon)
  evaluable <- sum((d$status == 1 & d$time <= horizon) | d$time >= horizon)
  if (evaluable == 0) return(list(evaluable = 0L, eventFree = 0L, estimate = NA, lower = NA, upper = NA))
  b <- binom.test(evaluable - events, evaluable, conf.level = 0.95)
  list(
    evaluable = evaluable, eventFree = evaluable - events,
    estimate = unname(b$estimate), lower = b$conf.int[1], upper = b$conf.int[2]
  )
}

cohort_endpoint_reference <- function(cohort, endpoint, rule) {
  derived <- lapply(cohort$patients, function(p) c(list(id = p$id, group = p$group), derive_patient(p, cohort$cutoff, endpoint, rule)))
  d <- data.frame(
    time = vapply(derived, function(o) o$time, numeric(1)),
    status = vapply(derived, function(o) o$status, integer(1)),
    group = vapply(derived, function(o) o$group, character(1)),
    stringsAsFactors = FALSE
  )
  horizon <- as.numeric(endpoint$horizonDays)
  subset_reference <- function(name, sub, fit, curve) {
    out <- list(
      subset = name, n = nrow(sub), events = sum(sub$status == 1), censored = sum(sub$status != 1),
      km = km_reference(sub, horizon),
      crude = crude_reference(sub, horizon)
    )
    if (!isTRUE(endpoint$includesDeath)) out$cuminc <- cuminc_reference(fit, curve, max(sub$time), horizon)[[1]]
    out
  }
  subsets <- list(subset_reference("pooled", d, cuminc(d$time, d$status, cencode = 0), "1 1"))
  grouped <- cuminc(d$time, d$status, group = d$group, cencode = 0)
  for (g in sort(unique(d$group))) {
    subsets[[length(subsets) + 1]] <- subset_reference(g, d[d$group == g, ], grouped, paste(g, 1))
  }
  list(id = endpoint$id, horizonDays = horizon, patients = derived, subsets = subsets)
}

cohort_reference <- function(cohort) {
  list(
    name = cohort$name,
    rules = lapply(cohort$rules, function(rule) list(
      withdrawal = rule,
      endpoints = lapply(cohort$endpoints, function(e) cohort_endpoint_reference(cohort, e, rule))
    ))
  )
}

out <- list(
  generatedBy = "libs/statistics/reference/reference.R",
  versions = list(
    R = paste(R.version$major, R.version$minor, sep = "."),
    survival = as.character(packageVersion("survival")),
    cmprsk = as.character(packageVersion("cmprsk")),
    jsonlite = as.character(packageVersion("jsonlite"))
  ),
  z = z,
  datasets = lapply(input$datasets, dataset_reference),
  binomial = lapply(input$binomial, binomial_reference),
  cohorts = lapply(input$cohorts, cohort_reference)
)

writeLines(
  toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE),
  file.path(here, "reference.json")
)
