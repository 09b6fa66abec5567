/* SPDX-License-Identifier: Apache-2.0 */
/* Statistics over arrays of samples, shared by bench, report and audit: pure functions, no I/O, no global state
 * (the bootstrap takes its seed). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* All functions take unsorted input unless named *_sorted; n == 0 gives NaN. */
double hwt_stats_mean(const double *x, size_t n);
/* Sample standard deviation (n - 1 in the denominator); 0 for n == 1. */
double hwt_stats_stddev(const double *x, size_t n);
/* Quantile q in [0, 1] of sorted data, linear interpolation between order statistics (R type 7, numpy default). */
double hwt_stats_quantile_sorted(const double *sorted, size_t n, double q);
/* Quantile q in [0, 1] of unsorted data (sorts a copy), same definition as hwt_stats_quantile_sorted. */
double hwt_stats_quantile(const double *x, size_t n, double q);
double hwt_stats_median(const double *x, size_t n);
/* Median absolute deviation from the median (raw, not scaled by 1.4826). */
double hwt_stats_mad(const double *x, size_t n);
/* The figure of samples drawn from `ngroups` groups (group[i] < ngroups) whose level differs by group: each
 * group's median, then the mean of those without the lowest and the highest quarter of the groups (floor(m / 4)
 * each side, of the m groups that have samples). Where the plain median of a 50/50 mixture of two levels lands
 * on either level as the shares move by one sample, this moves by a fraction of the gap. scratch: n + ngroups
 * doubles. NaN when n == 0. */
double hwt_stats_grouped_figure(const double *x, const unsigned *group, size_t n, unsigned ngroups,
                                double *scratch);
/* Sorts a copy into `out` (n entries). */
void hwt_stats_sort_copy(const double *x, size_t n, double *out);

/* Distribution-free confidence interval of the median from order statistics: the largest rank l with
 * P(Binomial(n, 1/2) <= l - 1) <= (1 - level) / 2 gives [x_(l), x_(n+1-l)] (1-based ranks).
 * Returns false (and the min/max range) when n is too small for the level (n < 6 at 95%).
 * *lo_rank / *hi_rank (1-based) may be NULL. */
bool hwt_stats_median_ci_sorted(const double *sorted, size_t n, double level, double *lo, double *hi,
                                size_t *lo_rank, size_t *hi_rank);

/* Percentile bootstrap CI of the median: `reps` resamples drawn with a fixed-seed generator (splitmix64),
 * so the result is reproducible. scratch: n doubles, reps_out: reps doubles (caller-provided). */
void hwt_stats_bootstrap_median_ci(const double *x, size_t n, double level, unsigned reps, uint64_t seed,
                                   double *scratch, double *reps_out, double *lo, double *hi);

/* Summary of one sample set. */
typedef struct hwt_stats_summary {
  size_t n;
  double mean, stddev, median, mad, min, max, p90, p99, ci_low, ci_high, cv;
  bool ci_exact;   /* false when n was too small for a 95% order-statistic interval */
} hwt_stats_summary;

/* scratch: n doubles. */
void hwt_stats_summarize(const double *x, size_t n, double *scratch, hwt_stats_summary *out);
