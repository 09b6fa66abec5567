/* SPDX-License-Identifier: Apache-2.0 */
/* Pure statistics for compare: median, normal CDF, Mann-Whitney U test, bootstrap CI of a ratio of medians. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hwt_report.h"

/* k-th smallest of v[0..n) (0-based), reordering v. Hoare-style quickselect with median-of-three pivots. */
static double select_kth(double *v, size_t n, size_t k) {
  size_t lo = 0, hi = n - 1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    double a = v[lo], b = v[mid], c = v[hi];
    double pivot = (a < b) ? ((b < c) ? b : (a < c ? c : a)) : ((a < c) ? a : (b < c ? c : b));
    size_t i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) {
        double t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++;
        if (j == 0) break;
        j--;
      }
    }
    if (k <= j)
      hi = j;
    else if (k >= i)
      lo = i;
    else
      return v[k];
  }
  return v[k];
}

/* Median of v (reordered). */
static double median_inplace(double *v, size_t n) {
  double hi = select_kth(v, n, n / 2);
  if (n % 2) return hi;
  /* The lower middle is the largest element left of n/2 after selection. */
  double lo = v[0];
  for (size_t i = 1; i < n / 2; i++)
    if (v[i] > lo) lo = v[i];
  return 0.5 * (lo + hi);
}


double hwt_rstat_norm_cdf(double z) { return 0.5 * erfc(-z / sqrt(2.0)); }

typedef struct ranked {
  double v;
  int group;  /* 0 = a, 1 = b */
} ranked;

static int cmp_ranked(const void *x, const void *y) {
  const ranked *a = x, *b = y;
  if (a->v < b->v) return -1;
  if (a->v > b->v) return 1;
  return a->group - b->group;
}

/* Exact upper tail P(U >= u) for sample sizes m, n under H0 (no ties): the U distribution's counts are the
 * coefficients of the Gaussian binomial [m+n choose m]_q, built with G(i,j) = G(i,j-1) + q^j G(i-1,j). */
static double exact_sf(size_t m, size_t n, double u) {
  size_t deg = m * n;
  double **g = calloc(m + 1, sizeof *g);
  if (g == NULL) return NAN;
  for (size_t i = 0; i <= m; i++) {
    g[i] = calloc(deg + 1, sizeof **g);
    if (g[i] == NULL) {
      for (size_t k = 0; k < i; k++) free(g[k]);
      free(g);
      return NAN;
    }
  }
  /* j = 0: G(i,0) = 1 for every i. */
  for (size_t i = 0; i <= m; i++) g[i][0] = 1;
  for (size_t j = 1; j <= n; j++) {
    /* G(0,j) = 1 stays. For i ascending, g[i] holds G(i,j-1); g[i-1] already holds G(i-1,j). */
    for (size_t i = 1; i <= m; i++) {
      for (size_t d = i * j + 1; d-- > j;) g[i][d] += g[i - 1][d - j];
    }
  }
  double total = 0, tail = 0;
  for (size_t d = 0; d <= deg; d++) {
    total += g[m][d];
    if ((double)d >= u - 1e-9) tail += g[m][d];
  }
  for (size_t i = 0; i <= m; i++) free(g[i]);
  free(g);
  return tail / total;
}

hwt_mwu hwt_rstat_mann_whitney(const double *a, size_t na, const double *b, size_t nb) {
  hwt_mwu r = {NAN, NAN, false};
  if (na == 0 || nb == 0) return r;
  size_t n = na + nb;
  ranked *x = malloc(n * sizeof *x);
  if (x == NULL) return r;
  for (size_t i = 0; i < na; i++) x[i] = (ranked){a[i], 0};
  for (size_t i = 0; i < nb; i++) x[na + i] = (ranked){b[i], 1};
  qsort(x, n, sizeof *x, cmp_ranked);
  double ra = 0, tie_term = 0;
  bool ties = false;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && x[j + 1].v == x[i].v) j++;
    double t = (double)(j - i + 1);
    double midrank = 0.5 * ((double)i + (double)j) + 1.0;
    for (size_t k = i; k <= j; k++)
      if (x[k].group == 0) ra += midrank;
    if (t > 1) {
      ties = true;
      tie_term += t * t * t - t;
    }
    i = j + 1;
  }
  free(x);
  double u1 = ra - (double)na * ((double)na + 1) / 2;
  double u2 = (double)na * (double)nb - u1;
  double u = u1 > u2 ? u1 : u2;
  r.u = u1;
  size_t mn = na < nb ? na : nb, mx = na < nb ? nb : na;
  if (!ties && mn <= 8 && mn * mx <= 20000) {
    double p = 2 * exact_sf(mn, mx, u);
    r.p = p > 1 ? 1 : p;
    r.exact = true;
    return r;
  }
  double dn = (double)n, mu = (double)na * (double)nb / 2;
  double s2 = (double)na * (double)nb / 12 * ((dn + 1) - tie_term / (dn * (dn - 1)));
  if (!(s2 > 0)) {
    r.p = 1;  /* every value equal */
    return r;
  }
  double z = (u - mu - 0.5) / sqrt(s2);
  double p = 2 * 0.5 * erfc(z / sqrt(2.0));
  r.p = p > 1 ? 1 : p;
  return r;
}

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform index in [0, n): the high half of a 64x64-bit product (Lemire), no division. */
static size_t pick(uint64_t *s, size_t n) { return (size_t)(((unsigned __int128)splitmix64(s) * n) >> 64); }

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

void hwt_rstat_bootstrap_ratio(const double *a, size_t na, const double *b, size_t nb, uint64_t seed,
                              unsigned rounds, double level, double *lo, double *hi) {
  *lo = *hi = NAN;
  if (na == 0 || nb == 0 || rounds < 10) return;
  size_t nmax = na > nb ? na : nb;
  double *tmp = malloc(nmax * sizeof *tmp);
  double *ratios = malloc(rounds * sizeof *ratios);
  if (tmp == NULL || ratios == NULL) {
    free(tmp);
    free(ratios);
    return;
  }
  uint64_t s = seed;
  for (unsigned r = 0; r < rounds; r++) {
    for (size_t i = 0; i < na; i++) tmp[i] = a[pick(&s, na)];
    double ma = median_inplace(tmp, na);
    for (size_t i = 0; i < nb; i++) tmp[i] = b[pick(&s, nb)];
    double mb = median_inplace(tmp, nb);
    ratios[r] = mb / ma;
  }
  qsort(ratios, rounds, sizeof *ratios, cmp_double);
  double tail = (1 - level) / 2;
  size_t ilo = (size_t)floor(tail * rounds);
  size_t ihi = (size_t)ceil((1 - tail) * rounds);
  if (ihi >= 1) ihi -= 1;
  if (ihi >= rounds) ihi = rounds - 1;
  *lo = ratios[ilo];
  *hi = ratios[ihi];
  free(tmp);
  free(ratios);
}
