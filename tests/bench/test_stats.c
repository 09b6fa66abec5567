/* SPDX-License-Identifier: Apache-2.0 */
/* Statistics against hand-computed values: moments, quantiles, MAD, order-statistic and bootstrap CIs. */
#include <criterion/criterion.h>
#include <math.h>

#include "hwt_stats.h"

static const double data10[10] = {7, 1, 9, 3, 5, 10, 2, 8, 4, 6}; /* 1..10 shuffled */

Test(stats, mean_and_stddev) {
  cr_assert_float_eq(hwt_stats_mean(data10, 10), 5.5, 1e-12);
  /* sample variance of 1..10 = 55/6 */
  cr_assert_float_eq(hwt_stats_stddev(data10, 10), sqrt(55.0 / 6.0), 1e-12);
  double one = 3;
  cr_assert_float_eq(hwt_stats_stddev(&one, 1), 0.0, 1e-12);
  cr_assert(isnan(hwt_stats_mean(NULL, 0)));
}

Test(stats, median_odd_even) {
  cr_assert_float_eq(hwt_stats_median(data10, 10), 5.5, 1e-12);
  const double odd[5] = {9, 1, 5, 3, 100};
  cr_assert_float_eq(hwt_stats_median(odd, 5), 5.0, 1e-12);
}

Test(stats, quantiles_type7) {
  double s[10];
  hwt_stats_sort_copy(data10, 10, s);
  /* numpy.percentile([1..10], 90) = 9.1, 99 -> 9.91, 25 -> 3.25 */
  cr_assert_float_eq(hwt_stats_quantile_sorted(s, 10, 0.90), 9.1, 1e-12);
  cr_assert_float_eq(hwt_stats_quantile_sorted(s, 10, 0.99), 9.91, 1e-12);
  cr_assert_float_eq(hwt_stats_quantile_sorted(s, 10, 0.25), 3.25, 1e-12);
  cr_assert_float_eq(hwt_stats_quantile_sorted(s, 10, 0.0), 1.0, 1e-12);
  cr_assert_float_eq(hwt_stats_quantile_sorted(s, 10, 1.0), 10.0, 1e-12);
}

Test(stats, mad) {
  /* median 5.5; |x - 5.5| = 0.5,0.5,1.5,1.5,...,4.5,4.5 -> median 2.5 */
  cr_assert_float_eq(hwt_stats_mad(data10, 10), 2.5, 1e-12);
  const double outlier[7] = {1, 1, 2, 2, 4, 6, 9}; /* classic example: MAD = 1 */
  cr_assert_float_eq(hwt_stats_mad(outlier, 7), 1.0, 1e-12);
}

Test(stats, median_ci_order_statistics) {
  double s[10], lo, hi;
  size_t l, h;
  hwt_stats_sort_copy(data10, 10, s);
  /* n = 10: P(Bin(10,.5) <= 1) = 11/1024 <= 0.025 < P(<= 2) = 56/1024 -> ranks 2 and 9. */
  cr_assert(hwt_stats_median_ci_sorted(s, 10, 0.95, &lo, &hi, &l, &h));
  cr_assert_eq(l, 2);
  cr_assert_eq(h, 9);
  cr_assert_float_eq(lo, 2.0, 1e-12);
  cr_assert_float_eq(hi, 9.0, 1e-12);
  /* n = 100: the textbook ranks 40 and 61. */
  double big[100];
  for (int i = 0; i < 100; i++) big[i] = i + 1;
  cr_assert(hwt_stats_median_ci_sorted(big, 100, 0.95, &lo, &hi, &l, &h));
  cr_assert_eq(l, 40);
  cr_assert_eq(h, 61);
  /* n = 5 is too small for 95% (P(X = 0) = 1/32 > 0.025): reports failure and the full range. */
  cr_assert_not(hwt_stats_median_ci_sorted(big, 5, 0.95, &lo, &hi, &l, &h));
  cr_assert_float_eq(lo, 1.0, 1e-12);
  cr_assert_float_eq(hi, 5.0, 1e-12);
  /* n = 6 is the smallest with a 95% interval: ranks 1 and 6 (P(X = 0) = 1/64). */
  cr_assert(hwt_stats_median_ci_sorted(big, 6, 0.95, &lo, &hi, &l, &h));
  cr_assert_eq(l, 1);
  cr_assert_eq(h, 6);
}

Test(stats, bootstrap_fixed_seed) {
  double x[50], scratch[50], reps[400], lo1, hi1, lo2, hi2;
  for (int i = 0; i < 50; i++) x[i] = 100 + (i * 37 % 50);
  hwt_stats_bootstrap_median_ci(x, 50, 0.95, 400, 42, scratch, reps, &lo1, &hi1);
  hwt_stats_bootstrap_median_ci(x, 50, 0.95, 400, 42, scratch, reps, &lo2, &hi2);
  cr_assert_float_eq(lo1, lo2, 0); /* same seed, same interval */
  cr_assert_float_eq(hi1, hi2, 0);
  double med = hwt_stats_median(x, 50);
  cr_assert(lo1 <= med && med <= hi1, "CI [%g, %g] must contain the median %g", lo1, hi1, med);
  cr_assert(hi1 - lo1 < 30, "the interval is much narrower than the data range");
  /* Constant data: a zero-width interval at the constant. */
  double c[8] = {5, 5, 5, 5, 5, 5, 5, 5};
  hwt_stats_bootstrap_median_ci(c, 8, 0.95, 100, 1, scratch, reps, &lo1, &hi1);
  cr_assert_float_eq(lo1, 5.0, 0);
  cr_assert_float_eq(hi1, 5.0, 0);
}

Test(stats, summarize) {
  double scratch[10];
  hwt_stats_summary s;
  hwt_stats_summarize(data10, 10, scratch, &s);
  cr_assert_eq(s.n, 10);
  cr_assert_float_eq(s.median, 5.5, 1e-12);
  cr_assert_float_eq(s.min, 1, 0);
  cr_assert_float_eq(s.max, 10, 0);
  cr_assert_float_eq(s.p90, 9.1, 1e-12);
  cr_assert_float_eq(s.mad, 2.5, 1e-12);
  cr_assert_float_eq(s.ci_low, 2, 0);
  cr_assert_float_eq(s.ci_high, 9, 0);
  cr_assert_float_eq(s.cv, sqrt(55.0 / 6.0) / 5.5, 1e-12);
  cr_assert(s.ci_exact);
}

/* Two set-ups at two levels (105 and 118): the plain median follows whichever has one more sample, the grouped
 * figure stays between them; the quarter trim drops a group that strays; empty groups and no samples. */
Test(stats, grouped_figure_averages_the_groups_levels) {
  double x[9];
  unsigned g[9];
  double scratch[9 + 4];
  for (int i = 0; i < 9; i++) {
    g[i] = (unsigned)(i % 2);
    x[i] = g[i] ? 118.0 + 0.1 * i : 105.0 + 0.1 * i;
  }
  /* 5 samples of group 0, 4 of group 1: the median is group 0's level */
  cr_assert(hwt_stats_median(x, 9) < 106.0);
  double f = hwt_stats_grouped_figure(x, g, 9, 2, scratch);
  /* group 0: 105.0 105.2 105.4 105.6 105.8 -> 105.4; group 1: 118.1 118.3 118.5 118.7 -> 118.4 */
  cr_assert_float_eq(f, (105.4 + 118.4) / 2, 1e-9);
  /* one sample more for group 1 (10 samples would not fit; move one over): the median jumps, the figure barely */
  g[8] = 1;
  x[8] = 118.9;
  cr_assert(hwt_stats_median(x, 9) > 117.0);
  f = hwt_stats_grouped_figure(x, g, 9, 2, scratch);
  cr_assert_float_eq(f, (105.3 + 118.5) / 2, 1e-9);

  /* four groups, one of them slow: the trim (one each side) drops it, and the fastest */
  const double y[8] = {10, 10.2, 11, 11.2, 12, 12.2, 40, 40};
  const unsigned gy[8] = {0, 0, 1, 1, 2, 2, 3, 3};
  cr_assert_float_eq(hwt_stats_grouped_figure(y, gy, 8, 4, scratch), (11.1 + 12.1) / 2, 1e-9);
  /* a group with no samples does not count: groups 0 and 2 of 4 */
  const unsigned gz[8] = {0, 0, 0, 0, 2, 2, 2, 2};
  cr_assert_float_eq(hwt_stats_grouped_figure(y, gz, 8, 4, scratch), (10.6 + 26.1) / 2, 1e-9);
  cr_assert(isnan(hwt_stats_grouped_figure(NULL, NULL, 0, 4, scratch)));
}
