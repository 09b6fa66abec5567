/* SPDX-License-Identifier: Apache-2.0 */
/* Timing behind a clock seam: timer overhead, iteration calibration and the sampling loop with its stop rule. */
#include <math.h>
#include <stdlib.h>

#include "bench.h"
#include "hwt_common.h"
#include "hwt_stats.h"

static uint64_t real_now(void *ctx) {
  (void)ctx;
  return hwt_now_ns();
}

hwt_bench_clock hwt_bench_real_clock(void) {
  hwt_bench_clock c = {real_now, NULL};
  return c;
}

double hwt_bench_timer_overhead(const hwt_bench_clock *clock, unsigned reads) {
  if (reads == 0) reads = 1;
  uint64_t best = UINT64_MAX;
  for (unsigned i = 0; i < reads; i++) {
    uint64_t a = clock->now_ns(clock->ctx);
    uint64_t b = clock->now_ns(clock->ctx);
    if (b - a < best) best = b - a;
  }
  return (double)best;
}

uint64_t hwt_bench_calibrate(const hwt_bench_clock *clock, hwt_bench_body body, void *ctx, uint64_t target_ns,
                             uint64_t max_iterations) {
  if (max_iterations == 0) max_iterations = 1;
  uint64_t iters = 1;
  for (;;) {
    uint64_t t0 = clock->now_ns(clock->ctx);
    body(ctx, iters);
    uint64_t dt = clock->now_ns(clock->ctx) - t0;
    if (dt >= target_ns || iters >= max_iterations) return iters;
    /* Jump close to the target in one step when the run is long enough to trust, else double. */
    uint64_t next = iters * 2;
    if (dt > target_ns / 16 && dt > 0) {
      double want = (double)iters * (double)target_ns / (double)dt;
      uint64_t p = 1;
      while ((double)p < want && p < max_iterations) p *= 2;
      if (p > next) next = p;
    }
    iters = next > max_iterations ? max_iterations : next;
  }
}

/* The stop rule: the 95% CI of the median within +-target of the median. */
static bool precise_enough(const double *x, size_t n, double target, double *scratch) {
  hwt_stats_sort_copy(x, n, scratch);
  double lo, hi;
  if (!hwt_stats_median_ci_sorted(scratch, n, 0.95, &lo, &hi, NULL, NULL)) return false;
  double med = hwt_stats_quantile_sorted(scratch, n, 0.5);
  if (!(med > 0)) return true;
  return (hi - lo) / 2.0 <= target * med;
}

size_t hwt_bench_sample(const hwt_bench_clock *clock, hwt_bench_body body, void *ctx, const hwt_bench_sampling *p,
                        double *out, bool *interrupted) {
  size_t n = 0;
  *interrupted = false;
  if (p->dropped) *p->dropped = 0;
  size_t min_samples = p->min_samples ? p->min_samples : 10;
  if (min_samples > p->max_samples) min_samples = p->max_samples;
  uint64_t iters = p->iterations ? p->iterations : 1;
  double *scratch = malloc(p->max_samples * sizeof(double));
  const uint64_t start = clock->now_ns(clock->ctx);
  size_t next_check = min_samples;
  bool filtering = p->disturbance != NULL;
  while (n < p->max_samples) {
    if (p->stop != NULL && *p->stop) {
      *interrupted = true;
      break;
    }
    const uint64_t d0 = filtering ? p->disturbance(p->disturbance_ctx) : 0;
    uint64_t t0 = clock->now_ns(clock->ctx);
    body(ctx, iters);
    uint64_t t1 = clock->now_ns(clock->ctx);
    const bool disturbed = filtering && p->disturbance(p->disturbance_ctx) != d0;
    const uint64_t elapsed = t1 - start;
    if (disturbed) {
      if (p->dropped) (*p->dropped)++;
    } else {
      out[n++] = (double)(t1 - t0) / (double)iters;
    }
    if (elapsed >= p->max_ns) {
      if (n >= 3) break;
      /* Out of time with too few undisturbed samples: keep whatever comes now, for at most the budget again. */
      filtering = false;
      if (elapsed >= 2 * p->max_ns && n >= 1) break;
    }
    if (n >= next_check) {
      /* Checking costs a sort: check at growing intervals (every ~10% more samples). */
      next_check = n + (n / 10 > 1 ? n / 10 : 1);
      if (scratch != NULL && precise_enough(out, n, p->target_ci, scratch)) break;
    }
  }
  free(scratch);
  return n;
}
