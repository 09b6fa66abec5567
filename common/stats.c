/* SPDX-License-Identifier: Apache-2.0 */
/* Pure statistics over sample arrays: moments, order statistics, and confidence intervals of the median. */
#include "hwt_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void hwt_stats_sort_copy(const double *x, size_t n, double *out) {
  if (n == 0) return;
  memcpy(out, x, n * sizeof(double));
  qsort(out, n, sizeof(double), cmp_double);
}

double hwt_stats_mean(const double *x, size_t n) {
  if (n == 0) return NAN;
  double s = 0;
  for (size_t i = 0; i < n; i++) s += x[i];
  return s / (double)n;
}

double hwt_stats_stddev(const double *x, size_t n) {
  if (n == 0) return NAN;
  if (n == 1) return 0.0;
  double m = hwt_stats_mean(x, n), s = 0;
  for (size_t i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
  return sqrt(s / (double)(n - 1));
}

double hwt_stats_quantile_sorted(const double *sorted, size_t n, double q) {
  if (n == 0) return NAN;
  if (q <= 0) return sorted[0];
  if (q >= 1) return sorted[n - 1];
  double h = q * (double)(n - 1);
  size_t i = (size_t)floor(h);
  double frac = h - (double)i;
  if (i + 1 >= n) return sorted[n - 1];
  return sorted[i] + frac * (sorted[i + 1] - sorted[i]);
}

double hwt_stats_quantile(const double *x, size_t n, double q) {
  if (n == 0) return NAN;
  double *tmp = malloc(n * sizeof(double));
  if (tmp == NULL) return NAN;
  hwt_stats_sort_copy(x, n, tmp);
  double v = hwt_stats_quantile_sorted(tmp, n, q);
  free(tmp);
  return v;
}

double hwt_stats_median(const double *x, size_t n) { return hwt_stats_quantile(x, n, 0.5); }

double hwt_stats_grouped_figure(const double *x, const unsigned *group, size_t n, unsigned ngroups,
                                double *scratch) {
  double *val = scratch, *tmp = scratch + ngroups;
  size_t m = 0;
  for (unsigned g = 0; g < ngroups; g++) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
      if (group[i] == g) tmp[k++] = x[i];
    if (k == 0) continue;
    qsort(tmp, k, sizeof(double), cmp_double);
    val[m++] = hwt_stats_quantile_sorted(tmp, k, 0.5);
  }
  if (m == 0) return NAN;
  hwt_stats_sort_copy(val, m, tmp);
  const size_t trim = m / 4;
  return hwt_stats_mean(tmp + trim, m - 2 * trim);
}

double hwt_stats_mad(const double *x, size_t n) {
  if (n == 0) return NAN;
  double med = hwt_stats_median(x, n);
  double *dev = malloc(n * sizeof(double));
  if (dev == NULL) return NAN;
  for (size_t i = 0; i < n; i++) dev[i] = fabs(x[i] - med);
  double m = hwt_stats_median(dev, n);
  free(dev);
  return m;
}

/* log P(Binomial(n, 1/2) = i) */
static double log_binom_half(size_t n, size_t i) {
  return lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - (double)n * log(2.0);
}

bool hwt_stats_median_ci_sorted(const double *sorted, size_t n, double level, double *lo, double *hi,
                                size_t *lo_rank, size_t *hi_rank) {
  if (n == 0) {
    *lo = *hi = NAN;
    return false;
  }
  const double alpha_half = (1.0 - level) / 2.0;
  /* cdf(j) = P(X <= j); find the largest l >= 1 with cdf(l - 1) <= alpha_half. */
  double cdf = 0;
  size_t l = 0;
  for (size_t j = 0; j < n / 2 + 1; j++) {
    cdf += exp(log_binom_half(n, j));
    if (cdf <= alpha_half)
      l = j + 1;
    else
      break;
  }
  bool ok = l >= 1;
  if (!ok) l = 1;
  size_t h = n + 1 - l;
  *lo = sorted[l - 1];
  *hi = sorted[h - 1];
  if (lo_rank) *lo_rank = l;
  if (hi_rank) *hi_rank = h;
  return ok;
}

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void hwt_stats_bootstrap_median_ci(const double *x, size_t n, double level, unsigned reps, uint64_t seed,
                                   double *scratch, double *reps_out, double *lo, double *hi) {
  if (n == 0 || reps == 0) {
    *lo = *hi = NAN;
    return;
  }
  uint64_t state = seed;
  for (unsigned r = 0; r < reps; r++) {
    for (size_t i = 0; i < n; i++) scratch[i] = x[splitmix64(&state) % n];
    qsort(scratch, n, sizeof(double), cmp_double);
    reps_out[r] = hwt_stats_quantile_sorted(scratch, n, 0.5);
  }
  qsort(reps_out, reps, sizeof(double), cmp_double);
  *lo = hwt_stats_quantile_sorted(reps_out, reps, (1.0 - level) / 2.0);
  *hi = hwt_stats_quantile_sorted(reps_out, reps, 1.0 - (1.0 - level) / 2.0);
}

void hwt_stats_summarize(const double *x, size_t n, double *scratch, hwt_stats_summary *out) {
  memset(out, 0, sizeof(*out));
  out->n = n;
  if (n == 0) {
    out->mean = out->stddev = out->median = out->mad = out->min = out->max = NAN;
    out->p90 = out->p99 = out->ci_low = out->ci_high = out->cv = NAN;
    return;
  }
  hwt_stats_sort_copy(x, n, scratch);
  out->mean = hwt_stats_mean(x, n);
  out->stddev = hwt_stats_stddev(x, n);
  out->median = hwt_stats_quantile_sorted(scratch, n, 0.5);
  out->min = scratch[0];
  out->max = scratch[n - 1];
  out->p90 = hwt_stats_quantile_sorted(scratch, n, 0.90);
  out->p99 = hwt_stats_quantile_sorted(scratch, n, 0.99);
  out->ci_exact = hwt_stats_median_ci_sorted(scratch, n, 0.95, &out->ci_low, &out->ci_high, NULL, NULL);
  out->cv = out->mean > 0 ? out->stddev / out->mean : 0.0;
  for (size_t i = 0; i < n; i++) scratch[i] = fabs(x[i] - out->median);
  qsort(scratch, n, sizeof(double), cmp_double);
  out->mad = hwt_stats_quantile_sorted(scratch, n, 0.5);
}
