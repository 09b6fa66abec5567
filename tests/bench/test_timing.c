/* SPDX-License-Identifier: Apache-2.0 */
/* Calibration and the sampling stop rule, driven by a fake clock (deterministic, no real time involved). */
#include <criterion/criterion.h>

#include "bench.h"

typedef struct fake {
  uint64_t now;
  uint64_t per_read;    /* ns every clock read costs */
  uint64_t per_call;    /* ns one body iteration takes */
  uint64_t jitter;      /* added to every other call */
  uint64_t calls;
  volatile int *stop;
  uint64_t stop_after;  /* set *stop after this many body invocations (0 = never) */
  uint64_t invocations;
} fake;

static uint64_t fake_now(void *ctx) {
  fake *f = ctx;
  f->now += f->per_read;
  return f->now;
}

static void fake_body(void *ctx, uint64_t iterations) {
  fake *f = ctx;
  for (uint64_t i = 0; i < iterations; i++) {
    f->now += f->per_call + ((f->calls & 1) ? f->jitter : 0);
    f->calls++;
  }
  f->invocations++;
  if (f->stop_after && f->invocations == f->stop_after) *f->stop = 1;
}

Test(timing, timer_overhead_is_the_min_clock_cost) {
  fake f = {.per_read = 25};
  hwt_bench_clock c = {fake_now, &f};
  cr_assert_float_eq(hwt_bench_timer_overhead(&c, 100), 25.0, 0);
}

Test(timing, calibrate_reaches_target_with_power_of_two) {
  fake f = {.per_call = 1000};
  hwt_bench_clock c = {fake_now, &f};
  /* 100 us target at 1 us a call: the smallest power of two >= 100 calls. */
  cr_assert_eq(hwt_bench_calibrate(&c, fake_body, &f, 100000, 1u << 20), 128);
  /* A call longer than the target: one iteration. */
  fake g = {.per_call = 5000000};
  hwt_bench_clock cg = {fake_now, &g};
  cr_assert_eq(hwt_bench_calibrate(&cg, fake_body, &g, 100000, 1u << 20), 1);
  /* The cap wins. */
  fake h = {.per_call = 1};
  hwt_bench_clock ch = {fake_now, &h};
  cr_assert_eq(hwt_bench_calibrate(&ch, fake_body, &h, 1000000000, 64), 64);
}

Test(timing, calibrate_target_is_100x_timer_overhead) {
  /* Clock reads cost 40 ns: the harness's target is 100 x 40 = 4 us; at 10 ns a call that is 512 calls
   * (the first power of two whose run, 5120 ns + read cost, reaches 4000 ns). */
  fake f = {.per_read = 40, .per_call = 10};
  hwt_bench_clock c = {fake_now, &f};
  double overhead = hwt_bench_timer_overhead(&c, 10);
  uint64_t it = hwt_bench_calibrate(&c, fake_body, &f, (uint64_t)(100 * overhead), 1u << 20);
  cr_assert_eq(it, 512);
  cr_assert(it * 10 + 40 >= 100 * overhead);
}

Test(timing, sampling_stops_when_ci_is_tight) {
  fake f = {.per_call = 1000};
  hwt_bench_clock c = {fake_now, &f};
  double out[1000];
  bool interrupted;
  hwt_bench_sampling p = {.iterations = 10, .min_samples = 10, .max_samples = 1000, .target_ci = 0.01,
                          .max_ns = 1000000000ull};
  size_t n = hwt_bench_sample(&c, fake_body, &f, &p, out, &interrupted);
  /* Identical samples: the CI has zero width at the first check (min_samples). */
  cr_assert_eq(n, 10);
  cr_assert_not(interrupted);
  cr_assert_float_eq(out[0], 1000.0, 1e-9);
}

Test(timing, sampling_runs_until_max_time_when_noisy) {
  /* Alternating 1000 / 1500 ns calls with 1 iteration per sample: the median's CI spans both values forever
   * (half-width 25% > 1%), so only the time budget (1 ms) ends sampling. */
  fake f = {.per_call = 1000, .jitter = 500};
  hwt_bench_clock c = {fake_now, &f};
  double out[10000];
  bool interrupted;
  hwt_bench_sampling p = {.iterations = 1, .min_samples = 10, .max_samples = 10000, .target_ci = 0.01,
                          .max_ns = 1000000};
  size_t n = hwt_bench_sample(&c, fake_body, &f, &p, out, &interrupted);
  /* 1 ms / 1250 ns average = 800 samples (the sample that crosses the budget is kept). */
  cr_assert(n >= 799 && n <= 801, "n = %zu", n);
}

Test(timing, sampling_honours_the_stop_flag) {
  volatile int stop = 0;
  fake f = {.per_call = 1000, .jitter = 500, .stop = &stop, .stop_after = 7};
  hwt_bench_clock c = {fake_now, &f};
  double out[100];
  bool interrupted;
  hwt_bench_sampling p = {.iterations = 1, .min_samples = 10, .max_samples = 100, .target_ci = 0.01,
                          .max_ns = 1000000000ull, .stop = &stop};
  size_t n = hwt_bench_sample(&c, fake_body, &f, &p, out, &interrupted);
  cr_assert_eq(n, 7);
  cr_assert(interrupted);
}

Test(timing, sampling_respects_max_samples) {
  fake f = {.per_call = 1000, .jitter = 500};
  hwt_bench_clock c = {fake_now, &f};
  double out[50];
  bool interrupted;
  hwt_bench_sampling p = {.iterations = 1, .min_samples = 10, .max_samples = 50, .target_ci = 0.01,
                          .max_ns = 1000000000ull};
  cr_assert_eq(hwt_bench_sample(&c, fake_body, &f, &p, out, &interrupted), 50);
}

/* Disturbance counter for the filter tests: moves during every `every`-th body invocation. */
typedef struct disturb {
  fake *f;
  uint64_t every;
  uint64_t count;
} disturb;

static uint64_t disturb_now(void *ctx) {
  disturb *d = ctx;
  /* Disturbed invocations so far: the invocations numbered every, 2*every, ... */
  return d->every ? d->f->invocations / d->every : d->count;
}

Test(timing, preempted_samples_are_dropped_and_counted) {
  /* Every 3rd sample is "preempted" and 10x slower: all of them are dropped, none reaches the statistics. */
  fake f = {.per_call = 1000};
  hwt_bench_clock c = {fake_now, &f};
  disturb d = {.f = &f, .every = 3};
  double out[100];
  size_t dropped = 0;
  bool interrupted;
  hwt_bench_sampling p = {.iterations = 1, .min_samples = 10, .max_samples = 100, .target_ci = 0.01,
                          .max_ns = 1000000000ull, .disturbance = disturb_now, .disturbance_ctx = &d,
                          .dropped = &dropped};
  size_t n = hwt_bench_sample(&c, fake_body, &f, &p, out, &interrupted);
  cr_assert_eq(n, 10, "identical kept samples: stops at min_samples");
  cr_assert_eq(dropped, 4, "invocations 3, 6, 9, 12 were disturbed (dropped %zu)", dropped);
  for (size_t i = 0; i < n; i++) cr_assert_float_eq(out[i], 1000.0, 1e-9);
}

Test(timing, always_disturbed_still_terminates_with_samples) {
  fake f = {.per_call = 1000};
  hwt_bench_clock c = {fake_now, &f};
  disturb d = {.f = &f, .every = 1};
  double out[100000];
  size_t dropped = 0;
  bool interrupted;
  hwt_bench_sampling p = {.iterations = 1, .min_samples = 10, .max_samples = 100000, .target_ci = 0.01,
                          .max_ns = 100000, .disturbance = disturb_now, .disturbance_ctx = &d, .dropped = &dropped};
  size_t n = hwt_bench_sample(&c, fake_body, &f, &p, out, &interrupted);
  /* 100 us budget at 1 us a sample: ~100 dropped, then filtering stops and samples are kept. */
  cr_assert(n >= 3, "n = %zu", n);
  cr_assert(dropped >= 99 && dropped <= 101, "dropped = %zu", dropped);
  cr_assert(f.now <= 2 * 100000 + 20000, "ends within twice the budget (%llu ns)", (unsigned long long)f.now);
}
