# Reference values for libs/statistics, computed by R itself.
#
# Reads datasets.json (beside this file) and writes reference.json, which
# statistics.unit.spec.ts compares with our TypeScript to 1e-6. CI has no R: it only reads
# the committed JSON. Re-run after changing datasets.json:
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
  binomial = lapply(input$binomial, binomial_reference)
)

writeLines(
  toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE),
  file.path(here, "reference.json")
)
