/* SPDX-License-Identifier: Apache-2.0 */
/* Tuner: the "simpler choice wins unless beaten beyond its CI" rule, the racing search on a synthetic machine
 * (measurements from a cost model through the seam, no timing), the space, and the profile writer's merge. */
#define _GNU_SOURCE 1  /* sched_setaffinity */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hwtune/profile.h"
#include "engine.h"
#include "tuner.h"

/* ---------------------------------------------------------------- the decision rule */

static hwt_tune_scored scored(hwt_bench_impl impl, unsigned threads, bool def, double median, double half_ci) {
  hwt_tune_scored s;
  memset(&s, 0, sizeof s);
  s.cand.impl = impl;
  s.cand.isa = impl == hwt_bench_own ? hwt_isa_avx2 : hwt_isa_scalar;
  s.cand.threads = threads;
  s.cand.default_blocking = def;
  s.meas.median_ns = median;
  s.meas.ci_low_ns = median - half_ci;
  s.meas.ci_high_ns = median + half_ci;
  s.measured = true;
  s.precision = 2;
  return s;
}

Test(tune_rule, overlapping_ci_keeps_the_simpler_choice) {
  /* own with 2 threads is 1% faster by median, but the CIs overlap: XNNPACK on 1 thread stays. */
  hwt_tune_scored v[2] = {scored(hwt_bench_own, 2, true, 99, 2), scored(hwt_bench_xnnpack, 1, true, 100, 2)};
  size_t ru;
  cr_assert_eq(hwt_tune_choose(v, 2, &ru), 1);
  cr_assert_eq(ru, 0, "the faster one is reported as runner-up");
}

Test(tune_rule, beating_beyond_the_ci_wins) {
  hwt_tune_scored v[2] = {scored(hwt_bench_xnnpack, 1, true, 100, 2), scored(hwt_bench_own, 2, true, 90, 2)};
  size_t ru;
  cr_assert_eq(hwt_tune_choose(v, 2, &ru), 1);
  cr_assert_eq(ru, 0);
}

Test(tune_rule, each_step_must_beat_the_current_choice) {
  /* S (xnnpack t1) [98,102]; A (own t1) [95,97.9] beats S; B (own t2) [90,96] does not beat A (96 > 95). */
  hwt_tune_scored v[3] = {scored(hwt_bench_own, 2, true, 93, 3), scored(hwt_bench_xnnpack, 1, true, 100, 2),
                          scored(hwt_bench_own, 1, true, 96.45, 1.45)};
  size_t ru;
  cr_assert_eq(hwt_tune_choose(v, 3, &ru), 2);
  cr_assert_eq(ru, 0);
  /* Tighter CI on B: it now beats A. */
  v[0] = scored(hwt_bench_own, 2, true, 93, 1);
  cr_assert_eq(hwt_tune_choose(v, 3, &ru), 0);
}

Test(tune_rule, equally_simple_the_faster_median_wins) {
  /* Same impl and threads: tuned blocking (or another ISA) is no more complex than the analytical one. */
  hwt_tune_scored v[3] = {scored(hwt_bench_own, 1, false, 97, 2), scored(hwt_bench_own, 1, true, 100, 2),
                          scored(hwt_bench_xnnpack, 1, true, 110, 2)};
  size_t ru;
  cr_assert_eq(hwt_tune_choose(v, 3, &ru), 0);
  cr_assert_eq(ru, 1);
  /* ...but the class still has to beat the simpler class beyond the CIs: XNNPACK at 98 +- 2 stays. */
  v[2] = scored(hwt_bench_xnnpack, 1, true, 98, 2);
  cr_assert_eq(hwt_tune_choose(v, 3, &ru), 2);
  cr_assert_eq(ru, 0);
}

Test(tune_rule, a_wider_isa_must_beat_the_narrower_beyond_the_ci) {
  /* avx512f 1% faster by median than avx2 at the same threads, CIs overlapping: avx2 (narrower) stays. */
  hwt_tune_scored v[3] = {scored(hwt_bench_own, 2, false, 99, 1.5), scored(hwt_bench_own, 2, false, 100, 1.5),
                          scored(hwt_bench_xnnpack, 2, true, 150, 2)};
  v[0].cand.isa = hwt_isa_avx512f;
  size_t ru;
  cr_assert_eq(hwt_tune_choose(v, 3, &ru), 1, "avx2 kept: avx512f does not beat it beyond the CIs");
  cr_assert_eq(ru, 0);
  /* Beyond the CIs (256x784 here: avx512f 12% ahead), the wider one wins. */
  v[0] = scored(hwt_bench_own, 2, false, 88, 1);
  v[0].cand.isa = hwt_isa_avx512f;
  cr_assert_eq(hwt_tune_choose(v, 3, &ru), 0);
  /* Same width (avxvnni and avx2 are 256-bit): no simpler one, the faster median wins. */
  v[0] = scored(hwt_bench_own, 2, false, 99, 1.5);
  v[0].cand.isa = hwt_isa_avxvnni;
  cr_assert_eq(hwt_tune_choose(v, 3, &ru), 0);
  cr_assert_lt(hwt_tune_simpler(&v[1].cand, &(hwt_tune_candidate){.impl = hwt_bench_own, .isa = hwt_isa_avx512vnni,
                                                                   .threads = 2}),
               0);
  cr_assert_gt(hwt_tune_simpler(&v[1].cand, &(hwt_tune_candidate){.impl = hwt_bench_own, .isa = hwt_isa_neon,
                                                                   .threads = 2}),
               0);
}

Test(tune_rule, unmeasured_are_ignored) {
  hwt_tune_scored v[2] = {scored(hwt_bench_xnnpack, 1, true, 100, 2), scored(hwt_bench_own, 1, true, 10, 1)};
  v[1].measured = false;
  size_t ru;
  cr_assert_eq(hwt_tune_choose(v, 2, &ru), 0);
  cr_assert_eq(ru, SIZE_MAX);
  v[0].measured = false;
  cr_assert_eq(hwt_tune_choose(v, 2, &ru), SIZE_MAX);
}

/* ---------------------------------------------------------------- a synthetic machine */

typedef struct model {
  double xnn_1t, own_1t;      /* ns at 1 thread, analytical blocking */
  double speedup_2t;          /* time(1 thread) / time(2 threads) */
  double kc_opt_factor;       /* the best KC relative to the analytical one */
  double kc_opt_isa[hwt_isa_count]; /* the same for one ISA (0 = kc_opt_factor) */
  hwt_gemm_blocking analytical;
  size_t nc_opt[hwt_isa_count]; /* each ISA's best NC: its analytical one (0 = analytical.nc) */
  double half_ci;             /* relative half-width of the reported CI */
  size_t calls, max_calls;    /* budget: remaining_s() = 0 after max_calls (0 = unlimited) */
  bool saw_two_threads;
  double drift;               /* the machine slows by this factor per measurement call (0 = none) */
  double slowdown;            /* current factor */
  size_t races;               /* race calls */
  double isa_factor[hwt_isa_count];  /* own time of that ISA relative to own_1t (0 = 1) */
  unsigned slow_finals;       /* bit i: final-precision race i+1 is a slow moment for 2 threads */
  hwt_isa luck_isa;           /* set-up luck: this ISA's configurations run ... */
  double luck[3];             /* ... this factor in final-precision races 1 to 3 (0 = none) */
  unsigned finals;            /* final-precision races so far */
  hwt_isa rough_slows;        /* rough measurements (levels 0 and 1) see this ISA slower than it is ... */
  double rough_loss;          /* ... by this fraction (0 = none) */
  double rough_moved_loss;    /* rough measurements see blockings off the analytical one this much slower */
  double rough_quarter_kc_loss; /* ... and those with KC at most 1/4 of the analytical one this much more */
  double clock_s;             /* a race takes its max_s and the set-up of its entries on this clock */
  double setup_s;             /* set-up of one race entry */
  hwt_tune_pace *pace;        /* the pace a caller keeps (NULL = none), asked through model_scale_now */
  double scale;               /* the scale it last gave */
  double xnn_luck[5];         /* XNNPACK on 2 threads runs this factor in races 1 to 5 (0 = none) */
} model;

static double truth(const model *md, const hwt_tune_candidate *c) {
  double t;
  if (c->impl == hwt_bench_xnnpack) {
    t = md->xnn_1t;
  } else {
    double kc_f = md->kc_opt_isa[c->isa] > 0 ? md->kc_opt_isa[c->isa] : md->kc_opt_factor;
    double kc_opt = (double)md->analytical.kc * kc_f;
    t = md->own_1t * (1.0 + 0.08 * fabs(log2((double)c->blocking.kc / kc_opt)) +
                      0.03 * fabs(log2((double)c->blocking.nc /
                                       (double)(md->nc_opt[c->isa] ? md->nc_opt[c->isa] : md->analytical.nc))));
    if (c->isa == hwt_isa_scalar) t *= 6;
    if (md->isa_factor[c->isa] > 0) t *= md->isa_factor[c->isa];
  }
  return c->threads >= 2 ? t / md->speedup_2t : t;
}

static hwt_status model_measure(void *ctx, const hwt_tune_problem *p, const hwt_tune_candidate *c, int level,
                                double max_s, hwt_tune_measurement *out, char *err, size_t errlen) {
  (void)p;
  (void)max_s;
  (void)err;
  (void)errlen;
  model *md = ctx;
  md->calls++;
  if (c->threads >= 2) md->saw_two_threads = true;
  double t = truth(md, c);
  if (md->drift > 0) t *= (md->slowdown = md->slowdown > 0 ? md->slowdown * md->drift : 1.0);
  double h = md->half_ci * (level == 0 ? 4 : level == 1 ? 2 : 1);
  *out = (hwt_tune_measurement){.median_ns = t, .ci_low_ns = t * (1 - h), .ci_high_ns = t * (1 + h),
                                .p99_ns = t * 1.1, .samples = 10, .elapsed_s = 0.01};
  return hwt_status_ok;
}

/* Side by side: one moment of the machine for all of them. */
static hwt_status model_race(void *ctx, const hwt_tune_problem *p, const hwt_tune_candidate *c, size_t n, int level,
                             double max_s, hwt_tune_measurement *out, hwt_status *st, char *err, size_t errlen) {
  (void)p;
  (void)max_s;
  (void)err;
  (void)errlen;
  model *md = ctx;
  md->races++;
  md->clock_s += max_s + (double)n * md->setup_s;
  if (md->pace) hwt_tune_pace_note(md->pace, n, max_s / md->scale, (double)n * md->setup_s);
  if (level == 2) md->finals++;
  bool slow = level == 2 && md->finals <= 16 && (md->slow_finals >> (md->finals - 1) & 1u);
  if (md->drift > 0) md->slowdown = md->slowdown > 0 ? md->slowdown * md->drift : 1.0;
  for (size_t i = 0; i < n; i++) {
    if (c[i].threads >= 2) md->saw_two_threads = true;
    double t = truth(md, &c[i]) * (md->drift > 0 ? md->slowdown : 1.0);
    if (level < 2 && c[i].impl == hwt_bench_own && c[i].isa == md->rough_slows) t *= 1.0 + md->rough_loss;
    if (level < 2 && c[i].impl == hwt_bench_own && !c[i].default_blocking) t *= 1.0 + md->rough_moved_loss;
    if (level < 2 && c[i].impl == hwt_bench_own && 4 * c[i].blocking.kc <= md->analytical.kc)
      t *= 1.0 + md->rough_quarter_kc_loss;
    /* the slow moment: ours on 2 threads 1.8x slower, XNNPACK's 1.2x (measured on 4096x4096, batch 1) */
    if (slow && c[i].threads >= 2) t *= c[i].impl == hwt_bench_own ? 1.8 : 1.2;
    if (level == 2 && md->finals >= 1 && md->finals <= 3 && md->luck[md->finals - 1] > 0 &&
        c[i].impl == hwt_bench_own && c[i].isa == md->luck_isa)
      t *= md->luck[md->finals - 1];
    if (md->races <= 5 && md->xnn_luck[md->races - 1] > 0 && c[i].impl == hwt_bench_xnnpack && c[i].threads == 2)
      t *= md->xnn_luck[md->races - 1];
    double h = md->half_ci * (level == 0 ? 4 : level == 1 ? 2 : 1);
    out[i] = (hwt_tune_measurement){.median_ns = t, .ci_low_ns = t * (1 - h), .ci_high_ns = t * (1 + h),
                                    .p99_ns = t * 1.1, .samples = 10, .elapsed_s = 0.01};
    st[i] = hwt_status_ok;
  }
  return hwt_status_ok;
}

static double model_scale_now(void *ctx) {
  model *md = ctx;
  return md->scale = hwt_tune_pace_scale(md->pace, md->clock_s);
}

static double model_remaining(void *ctx) {
  model *md = ctx;
  return md->max_calls && md->calls >= md->max_calls ? 0.0 : 100.0;
}

static void machine(hwt_tune_machine *m, unsigned cpus) {
  memset(m, 0, sizeof *m);
  m->usable_cpus = cpus;
  m->cache = (hwt_cache_budget){32 << 10, 1 << 20, 2 << 20};
  m->own_isa[hwt_gemm_f32][hwt_isa_scalar] = true;
  m->own_isa[hwt_gemm_f32][hwt_isa_avx2] = true;
}

static void problem(hwt_tune_problem *p, const char *shape, size_t batch) {
  hwt_bench_shape s;
  char err[128];
  cr_assert_eq(hwt_bench_parse_shape(shape, &s, err, sizeof err), hwt_status_ok, "%s", err);
  hwt_tune_problem_init(p, hwt_bench_gemm_f32, &s, batch);
}

static model make_model(const hwt_tune_machine *m, const hwt_tune_problem *p, double xnn, double own, double sp) {
  model md = {.xnn_1t = xnn, .own_1t = own, .speedup_2t = sp, .kc_opt_factor = 2.0, .half_ci = 0.005};
  hwt_gemm_blocking a = hwt_tune_analytical_blocking(p, hwt_gemm_f32, hwt_isa_avx2, &m->cache);
  md.analytical = hwt_tune_clamp_blocking(p, p->op, hwt_isa_avx2, a);
  return md;
}

/* `cpus` CPUs, a problem of `shape` at `batch`, and the model on them (see make_model). */
static model setup(hwt_tune_machine *m, unsigned cpus, hwt_tune_problem *p, const char *shape, size_t batch,
                   double xnn, double own, double sp) {
  machine(m, cpus);
  problem(p, shape, batch);
  return make_model(m, p, xnn, own, sp);
}

/* The best true time over the whole space. */
static double space_best(const model *md, const hwt_tune_problem *p, const hwt_tune_machine *m) {
  hwt_tune_candidate *v;
  size_t n;
  cr_assert_eq(hwt_tune_space(p, m, &v, &n), hwt_status_ok);
  double best = INFINITY;
  for (size_t i = 0; i < n; i++) best = fmin(best, truth(md, &v[i]));
  free(v);
  return best;
}

/* The search, raced, on the model; asserts it succeeds. */
static hwt_tune_outcome raced_search(model *md, const hwt_tune_problem *p, const hwt_tune_machine *m) {
  hwt_tune_measurer raced = {.measure = model_measure, .race = model_race, .ctx = md};
  hwt_tune_outcome o;
  cr_assert_eq(hwt_tune_search(p, m, &raced, &o, NULL, 0), hwt_status_ok);
  return o;
}

/* Our configurations measured on `threads` threads. */
static size_t own_measured_at(const hwt_tune_outcome *o, unsigned threads) {
  size_t n = 0;
  for (size_t i = 0; i < o->nall; i++)
    n += o->all[i].measured && o->all[i].cand.impl == hwt_bench_own && o->all[i].cand.threads == threads;
  return n;
}

Test(tune_search, finds_the_best_measuring_a_fifth_of_the_space) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = setup(&m, 2, &p, "2048x2048", 512, 100000, 80000, 1.9);
  hwt_tune_measurer mm = {.measure = model_measure, .ctx = &md, .remaining_s = model_remaining};
  hwt_tune_outcome o;
  char err[256];
  cr_assert_eq(hwt_tune_search(&p, &m, &mm, &o, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert(o.ok);
  double best = space_best(&md, &p, &m);
  double got = truth(&md, &o.choice.cand);
  cr_assert(got <= best * 1.03, "tuner's choice %.0f ns vs best %.0f ns", got, best);
  cr_assert_eq(o.choice.cand.impl, hwt_bench_own);
  cr_assert_eq(o.choice.cand.threads, 2);
  cr_assert(o.choice.cand.blocking.kc > md.analytical.kc, "KC refined upward (model optimum at 2x analytical)");
  cr_assert(o.configs_measured * 5 <= o.space_size, "measured %zu of %zu configurations", o.configs_measured,
            o.space_size);
  cr_assert(o.has_runner_up);
  cr_assert(o.margin >= 0, "the choice is the fastest here: %f", o.margin);
  hwt_tune_outcome_free(&o);
}

Test(tune_search, one_cpu_never_gets_two_threads) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = setup(&m, 1, &p, "2048x2048", 64, 100000, 80000, 1.9);
  hwt_tune_measurer mm = {.measure = model_measure, .ctx = &md};
  hwt_tune_outcome o;
  cr_assert_eq(hwt_tune_search(&p, &m, &mm, &o, NULL, 0), hwt_status_ok);
  cr_assert_eq(o.choice.cand.threads, 1);
  cr_assert(!md.saw_two_threads, "2 threads were measured with 1 usable CPU");
  hwt_tune_outcome_free(&o);
}

Test(tune_search, threads_kept_only_where_they_help) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  /* Two threads within the CI of one thread: the simpler (1 thread) is kept. */
  model md = setup(&m, 2, &p, "2048x2048", 64, 100000, 80000, 1.004);
  hwt_tune_measurer mm = {.measure = model_measure, .ctx = &md};
  hwt_tune_outcome o;
  cr_assert_eq(hwt_tune_search(&p, &m, &mm, &o, NULL, 0), hwt_status_ok);
  cr_assert_eq(o.choice.cand.threads, 1);
  hwt_tune_outcome_free(&o);
}

Test(tune_search, ties_with_xnnpack_keep_xnnpack) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  /* tiny (the analytical thread count is 1); own as fast as xnnpack; 2 threads slower */
  model md = setup(&m, 2, &p, "64x64", 1, 1000, 1000, 0.5);
  cr_assert_eq(hwt_tune_analytical_threads(&p, 2), 1);
  md.kc_opt_factor = 1.0;
  hwt_tune_measurer mm = {.measure = model_measure, .ctx = &md};
  hwt_tune_outcome o;
  cr_assert_eq(hwt_tune_search(&p, &m, &mm, &o, NULL, 0), hwt_status_ok);
  cr_assert_eq(o.choice.cand.impl, hwt_bench_xnnpack);
  cr_assert_eq(o.choice.cand.threads, 1);
  hwt_tune_outcome_free(&o);
}

Test(tune_search, budget_is_a_hard_bound) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = setup(&m, 2, &p, "2048x2048", 64, 100000, 80000, 1.9);
  md.max_calls = 3;
  hwt_tune_measurer mm = {.measure = model_measure, .ctx = &md, .remaining_s = model_remaining};
  hwt_tune_outcome o;
  cr_assert_eq(hwt_tune_search(&p, &m, &mm, &o, NULL, 0), hwt_status_ok);
  cr_assert_eq(md.calls, 3);
  cr_assert(o.budget_exhausted);
  cr_assert(o.ok, "a choice from what was measured");
  hwt_tune_outcome_free(&o);
}

Test(tune_search, exhaustive_measures_everything) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = setup(&m, 2, &p, "1024x1024", 16, 100000, 80000, 1.9);
  hwt_tune_measurer mm = {.measure = model_measure, .ctx = &md};
  hwt_tune_outcome o;
  cr_assert_eq(hwt_tune_exhaustive(&p, &m, &mm, &o, NULL, 0), hwt_status_ok);
  cr_assert_eq(o.configs_measured, o.space_size);
  /* every configuration once in groups of 16 with the anchor (XNNPACK, 1 thread) in each, then at most nine
   * finalists again side by side, twice (a slow race drops out, the others are pooled) */
  size_t groups = (o.space_size + 15) / 16;
  cr_assert(md.calls > o.space_size && md.calls <= o.space_size + groups + 18, "%zu calls for %zu configurations",
            md.calls, o.space_size);
  cr_assert(truth(&md, &o.choice.cand) <= space_best(&md, &p, &m) * 1.01);
  hwt_tune_outcome_free(&o);
}

/* A machine that slows down by 15% at every measurement (a neighbour starting up, a clock winding down). Measured
 * one after the other, whatever comes first looks fastest; raced side by side, every candidate sees the same
 * moment and the truth shows. */
Test(tune_search, racing_cancels_drift) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = setup(&m, 2, &p, "2048x2048", 512, 100000, 80000, 1.9);
  md.drift = 1.15;
  hwt_tune_measurer seq = {.measure = model_measure, .ctx = &md};
  hwt_tune_outcome o;
  cr_assert_eq(hwt_tune_search(&p, &m, &seq, &o, NULL, 0), hwt_status_ok);
  double best = space_best(&md, &p, &m);
  cr_assert(truth(&md, &o.choice.cand) > best * 1.03, "one after the other, drift misleads (the test's premise)");
  hwt_tune_outcome_free(&o);

  md.slowdown = 0;
  md.calls = 0;
  hwt_tune_measurer raced = {.measure = model_measure, .race = model_race, .ctx = &md};
  cr_assert_eq(hwt_tune_search(&p, &m, &raced, &o, NULL, 0), hwt_status_ok);
  cr_assert(truth(&md, &o.choice.cand) <= best * 1.03, "raced: %.0f ns vs best %.0f ns",
            truth(&md, &o.choice.cand), best);
  cr_assert_eq(md.calls, 0, "every comparison was a race");
  cr_assert(md.races >= 4);
  hwt_tune_outcome_free(&o);

  /* exhaustive, raced: the same */
  md.slowdown = 0;
  cr_assert_eq(hwt_tune_exhaustive(&p, &m, &raced, &o, NULL, 0), hwt_status_ok);
  cr_assert(truth(&md, &o.choice.cand) <= best * 1.01);
  hwt_tune_outcome_free(&o);
}

/* Below the analytical thread count's work size (1 thread here), XNNPACK alone probes 2 threads in the first round;
 * our kernels run on 2 threads only where that probe says threads pay. Far below it (half of one thread's work),
 * 2 threads are not measured at all. */
Test(tune_search, more_threads_probed_by_xnnpack_first) {
  hwt_tune_machine m;
  machine(&m, 2);
  hwt_tune_problem p;
  problem(&p, "1024x640", 1);  /* 1.3 MFLOP: one thread's work, not two */
  cr_assert_eq(hwt_tune_analytical_threads(&p, 2), 1);
  cr_assert(hwt_tune_threads_may_pay(&p));
  for (int helps = 0; helps < 2; helps++) {
    model md = make_model(&m, &p, 1200, 1000, helps ? 1.9 : 0.5);
    md.kc_opt_factor = 1.0;
    hwt_tune_outcome o = raced_search(&md, &p, &m);
    size_t own2 = own_measured_at(&o, 2);
    if (helps) {
      cr_assert(own2 > 0, "threads pay: our kernels were tried on 2 threads");
      cr_assert_eq(o.choice.cand.impl, hwt_bench_own);
      cr_assert_eq(o.choice.cand.threads, 2);
    } else {
      cr_assert_eq(own2, 0, "2 threads slowed XNNPACK down: %zu own 2-thread configurations measured", own2);
      cr_assert_eq(o.choice.cand.threads, 1);
    }
    hwt_tune_outcome_free(&o);
  }
  problem(&p, "64x64", 1);
  cr_assert(!hwt_tune_threads_may_pay(&p));
  model md = make_model(&m, &p, 1200, 1000, 1.9);
  hwt_tune_outcome o = raced_search(&md, &p, &m);
  cr_assert(!md.saw_two_threads, "8 KFLOP per call: 2 threads not measured");
  cr_assert_eq(o.choice.cand.threads, 1);
  hwt_tune_outcome_free(&o);
}

/* A layer of ~10 us does not pay for the runtime's pool waking a second thread: 256x784 at batch 1 (0.4 MFLOP)
 * ran 16-18% faster on 1 thread in re-measurements, and its int8 twin at 0.4x on 2. Even when the race's
 * figures say 2 threads are 1.9x faster, neither XNNPACK nor ours is measured on 2. */
Test(tune_search, tiny_problem_never_gets_a_second_thread) {
  hwt_tune_machine m;
  machine(&m, 2);
  hwt_tune_problem p;
  problem(&p, "256x784", 1);
  cr_assert_eq(hwt_tune_analytical_threads(&p, 2), 1);
  cr_assert(!hwt_tune_threads_may_pay(&p), "0.4 MFLOP per call may not pay for a second thread");
  model md = make_model(&m, &p, 12000, 8000, 1.9);
  hwt_tune_outcome o = raced_search(&md, &p, &m);
  cr_assert(!md.saw_two_threads, "2 threads measured on a 0.4 MFLOP problem");
  cr_assert_eq(o.choice.cand.threads, 1);
  hwt_tune_outcome_free(&o);
  /* its int8 twin counts a quarter of that; 2048x2048 (8.4 MFLOP) still gets both CPUs */
  hwt_bench_shape s;
  cr_assert_eq(hwt_bench_parse_shape("256x784", &s, NULL, 0), hwt_status_ok);
  hwt_tune_problem_init(&p, hwt_bench_gemm_qs8, &s, 1);
  cr_assert(!hwt_tune_threads_may_pay(&p));
  problem(&p, "2048x2048", 1);
  cr_assert_eq(hwt_tune_analytical_threads(&p, 2), 2);
}

/* When XNNPACK runs 1.3x slower on fewer threads, ours is not measured there; otherwise the final race holds the
 * refined configuration on fewer threads (the simpler choice). */
Test(tune_search, fewer_threads_finalist_unless_threads_plainly_pay) {
  hwt_tune_machine m;
  machine(&m, 2);
  hwt_tune_problem p;
  problem(&p, "4096x1024", 1);
  cr_assert_eq(hwt_tune_analytical_threads(&p, 2), 2);
  for (int pays = 0; pays < 2; pays++) {
    model md = make_model(&m, &p, 300000, 200000, pays ? 1.9 : 1.1);
    md.kc_opt_factor = 1.0;
    hwt_tune_outcome o = raced_search(&md, &p, &m);
    size_t own1 = own_measured_at(&o, 1);
    cr_assert_eq(own1, pays ? 0u : 1u, "speed-up %s: %zu own 1-thread configurations", pays ? "1.9" : "1.1", own1);
    cr_assert_eq(o.choice.cand.threads, 2);
    hwt_tune_outcome_free(&o);
  }
}

/* One of the two final races falls in a slow moment for 2 threads, in which XNNPACK ties ours; that race drops
 * out and the decision comes from the quieter one, whichever of the two it is. When both fall in it, the later
 * confirmation race (run after the other problems) is quieter and decides; when it is not, nothing changes. */
Test(tune_search, the_final_race_decides_in_the_quieter_moment) {
  hwt_tune_machine m;
  machine(&m, 2);
  hwt_tune_problem p;
  problem(&p, "4096x4096", 1);
  for (unsigned slow = 1; slow <= 2; slow++) {
    model md = make_model(&m, &p, 1500000, 1000000, 1.9);
    md.kc_opt_factor = 1.0;
    md.slow_finals = 1u << (slow - 1);
    hwt_tune_outcome o = raced_search(&md, &p, &m);
    cr_assert_eq(md.finals, 2, "the final race ran twice");
    cr_assert_eq(o.choice.cand.impl, hwt_bench_own, "slow moment in final race %u: chose XNNPACK", slow);
    cr_assert_eq(o.choice.cand.threads, 2);
    cr_assert_float_eq(o.choice.meas.median_ns, truth(&md, &o.choice.cand), 1e-6, "the quiet race's figure");
    hwt_tune_outcome_free(&o);
  }
  for (int confirm_quiet = 0; confirm_quiet < 2; confirm_quiet++) {
    model md = make_model(&m, &p, 1500000, 1000000, 1.9);
    md.kc_opt_factor = 1.0;
    md.slow_finals = confirm_quiet ? 3u : 7u;
    hwt_tune_outcome o = raced_search(&md, &p, &m);
    hwt_tune_measurer raced = {.measure = model_measure, .race = model_race, .ctx = &md};
    cr_assert_eq(o.choice.cand.impl, hwt_bench_xnnpack, "both finals slow: XNNPACK ties ours, the simpler wins");
    unsigned before = o.final_race;
    cr_assert_eq(hwt_tune_confirm(&p, &raced, &o, NULL, 0), hwt_status_ok);
    cr_assert_eq(md.finals, 3);
    if (confirm_quiet) {
      cr_assert_eq(o.choice.cand.impl, hwt_bench_own, "the quiet confirmation race decides");
      cr_assert_neq(o.final_race, before);
    } else {
      cr_assert_eq(o.choice.cand.impl, hwt_bench_xnnpack, "no quieter race: the choice stands");
    }
    hwt_tune_outcome_free(&o);
  }
}

/* 2 CPUs, own avx2 and avx512f (avx512f `avx512_factor` x avx2's time, avx2 200 us at 1 thread), a GEMV of `shape`
 * whose analytical blocking is optimal; XNNPACK `xnn` ns at 1 thread; 2 threads 1.9x faster. */
static model two_isa_model(hwt_tune_machine *m, hwt_tune_problem *p, const char *shape, double xnn,
                           double avx512_factor) {
  model md = setup(m, 2, p, shape, 1, xnn, 200000, 1.9);
  m->own_isa[hwt_gemm_f32][hwt_isa_avx512f] = true;
  md.kc_opt_factor = 1.0;
  md.isa_factor[hwt_isa_avx512f] = avx512_factor;
  md.nc_opt[hwt_isa_avx512f] =
      hwt_tune_clamp_blocking(p, p->op, hwt_isa_avx512f,
                              hwt_tune_analytical_blocking(p, hwt_gemm_f32, hwt_isa_avx512f, &m->cache))
          .nc;
  return md;
}

/* The search chose own avx2, within `tol` of the best true time of the space. */
static void assert_chose_avx2_within(const model *md, const hwt_tune_problem *p, const hwt_tune_machine *m,
                                     const hwt_tune_outcome *o, double tol) {
  cr_assert(o->ok);
  double best = space_best(md, p, m);
  cr_assert_eq(o->choice.cand.impl, hwt_bench_own);
  cr_assert_eq(o->choice.cand.isa, hwt_isa_avx2, "chose %s", hwt_isa_name(o->choice.cand.isa));
  cr_assert(truth(md, &o->choice.cand) <= best * tol, "%.0f ns vs best %.0f ns", truth(md, &o->choice.cand), best);
}

/* Set-up luck in the two final races of one moment: avx512f (truly 2% slower) ran 5% fast in the first, 10% slow in
 * the second. Pooled, the two races rank the ISAs right; either race alone (the first is the quieter) would not. */
Test(tune_search, final_races_of_one_moment_are_pooled) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = two_isa_model(&m, &p, "1024x4096", 300000, 1.02);
  md.luck_isa = hwt_isa_avx512f;
  md.luck[0] = 0.95;
  md.luck[1] = 1.10;
  hwt_tune_outcome o = raced_search(&md, &p, &m);
  cr_assert_eq(md.finals, 2);
  cr_assert_eq(o.choice.cand.impl, hwt_bench_own);
  cr_assert_eq(o.choice.cand.isa, hwt_isa_avx2, "chose %s", hwt_isa_name(o.choice.cand.isa));
  hwt_tune_outcome_free(&o);
}

/* The refinement's step to half KC (truly 8% faster) loses its level-1 race by 0.9% (the rough measurement sees
 * it 9% slower than it is): a near miss, it runs in the final race, and wins there. */
Test(tune_search, a_near_miss_of_the_refinement_gets_its_final_race) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = setup(&m, 2, &p, "4096x1024", 1, 230000, 200000, 1.9);
  md.kc_opt_factor = 0.5;
  md.rough_moved_loss = 0.09;
  hwt_tune_outcome o = raced_search(&md, &p, &m);
  cr_assert(o.ok);
  double best = space_best(&md, &p, &m);
  cr_assert_eq(o.choice.cand.impl, hwt_bench_own);
  cr_assert(truth(&md, &o.choice.cand) <= best * 1.01, "%zu,%zu,%zu: %.0f ns vs best %.0f ns",
            o.choice.cand.blocking.mc, o.choice.cand.blocking.kc, o.choice.cand.blocking.nc,
            truth(&md, &o.choice.cand), best);
  hwt_tune_outcome_free(&o);
}

/* Two refined ISAs, two near misses. avx512f (12% slower than avx2 at its best) starts ahead, as avx2's best KC is
 * K/4 and both start at KC = K; avx2 is refined second. Rough races see moved blockings 7% fast, and KC = K/4 9%
 * slow on top: avx2's step to K/4 (truly 7.4% faster) loses by 1%, and avx512f's step to K/2 (truly 8% slower)
 * loses by 0.4%, the closer near miss. Each ISA keeps its own, so avx2 at K/4 reaches the final race and wins it;
 * with one near miss in all the choice was avx2 at K/2, 8% slower. */
Test(tune_search, each_refined_isa_brings_its_near_miss_to_the_final_race) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = two_isa_model(&m, &p, "4096x1024", 230000, 1.12);
  md.kc_opt_isa[hwt_isa_avx2] = 0.25;
  md.rough_moved_loss = -0.07;
  md.rough_quarter_kc_loss = 0.09;
  hwt_tune_outcome o = raced_search(&md, &p, &m);
  cr_assert(o.ok);
  cr_assert_eq(o.choice.cand.impl, hwt_bench_own);
  cr_assert_eq(o.choice.cand.isa, hwt_isa_avx2, "chose %s", hwt_isa_name(o.choice.cand.isa));
  cr_assert_eq(4 * o.choice.cand.blocking.kc, md.analytical.kc, "chose KC %zu, the best is %zu",
               o.choice.cand.blocking.kc, md.analytical.kc / 4);
  hwt_tune_outcome_free(&o);
}

/* The search chose own avx2 on 2 threads at the analytical blocking. */
static void assert_chose_analytical(const model *md, const hwt_tune_outcome *o) {
  cr_assert(o->ok);
  cr_assert_eq(o->choice.cand.impl, hwt_bench_own);
  cr_assert(hwt_tune_same(&o->choice.cand, &(hwt_tune_candidate){.impl = hwt_bench_own, .isa = hwt_isa_avx2,
                                                                  .threads = 2, .blocking = md->analytical}),
            "chose %zu,%zu,%zu on %u threads, not the analytical %zu,%zu,%zu", o->choice.cand.blocking.mc,
            o->choice.cand.blocking.kc, o->choice.cand.blocking.nc, o->choice.cand.threads, md->analytical.mc,
            md->analytical.kc, md->analytical.nc);
}

/* Rough races see every blocking off the analytical one 5% faster than it is: the refinement walks away from the
 * analytical start, which is truly the best, and races it again on the way. The final race still holds it (the
 * start round's fastest are noted before the refinement re-races them). */
Test(tune_search, the_start_rounds_best_races_in_the_final_after_the_refinement_left_it) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = setup(&m, 2, &p, "1024x4096", 1, 230000, 200000, 1.9);
  md.kc_opt_factor = 1.0;
  md.rough_moved_loss = -0.05;
  hwt_tune_outcome o = raced_search(&md, &p, &m);
  assert_chose_analytical(&md, &o);
  hwt_tune_outcome_free(&o);
}

/* Rough races see blockings off the analytical one 4.5% faster than they are; a step of NC (truly 3% slower) then
 * looks 1.6% faster: within one race's noise, so the refinement does not take it, and no walk measures NC x 4 (it
 * did before steps had to win by 2%). The step still runs in the final race, as a near miss, and loses there. */
Test(tune_search, a_step_must_win_by_more_than_the_noise) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = setup(&m, 2, &p, "4096x1024", 1, 230000, 200000, 1.9);
  md.kc_opt_factor = 1.0;
  md.rough_moved_loss = -0.045;
  hwt_tune_outcome o = raced_search(&md, &p, &m);
  cr_assert(o.ok);
  size_t far = 0;
  for (size_t i = 0; i < o.nall; i++) {
    const hwt_tune_candidate *c = &o.all[i].cand;
    if (o.all[i].measured && c->impl == hwt_bench_own &&
        (c->blocking.nc > 3 * md.analytical.nc || 3 * c->blocking.nc < md.analytical.nc))
      far++;
  }
  cr_assert_eq(far, 0, "%zu configurations with NC beyond x2 of the analytical %zu", far, md.analytical.nc);
  assert_chose_analytical(&md, &o);
  hwt_tune_outcome_free(&o);
}

/* A lucky set-up in the confirmation race: avx512f, truly 6% slower than avx2, runs 12% fast there (5% ahead of
 * avx2) after two final races that ranked it right. That race's level (the median entry) is the others', so it is
 * not a quieter moment; the median of the three races is each entry's figure, and avx2 stays. */
Test(tune_search, one_lucky_set_up_in_three_final_races_does_not_decide) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = two_isa_model(&m, &p, "4096x1024", 230000, 1.06);
  md.luck_isa = hwt_isa_avx512f;
  md.luck[2] = 0.88;
  hwt_tune_outcome o = raced_search(&md, &p, &m);
  cr_assert_eq(o.choice.cand.isa, hwt_isa_avx2);
  hwt_tune_measurer raced = {.measure = model_measure, .race = model_race, .ctx = &md};
  cr_assert_eq(hwt_tune_confirm(&p, &raced, &o, NULL, 0), hwt_status_ok);
  cr_assert_eq(md.finals, 3);
  cr_assert_eq(o.choice.cand.impl, hwt_bench_own);
  cr_assert_eq(o.choice.cand.isa, hwt_isa_avx2, "chose %s", hwt_isa_name(o.choice.cand.isa));
  cr_assert_float_eq(o.choice.meas.median_ns, truth(&md, &o.choice.cand), 1e-6, "the median race's figure");
  hwt_tune_outcome_free(&o);
}

/* The rough start round sees the best ISA 20% slower than it is (unlucky set-ups): it drops out, the two fastest of
 * that round are the other ISA and XNNPACK, and the other ISA is refined. The final race, at full precision, holds
 * the dropped ISA's best start configuration too (within 15% of the refined ISA's start figure), and the truly
 * faster ISA is chosen. */
Test(tune_search, a_misjudged_isa_is_corrected_in_the_final_race) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = two_isa_model(&m, &p, "4096x1024", 230000, 1.05);
  md.rough_slows = hwt_isa_avx2;
  md.rough_loss = 0.2;
  hwt_tune_outcome o = raced_search(&md, &p, &m);
  assert_chose_avx2_within(&md, &p, &m, &o, 1.03);
  hwt_tune_outcome_free(&o);
}

/* avx512f runs best at its analytical KC, avx2 at half of it (measured so on 4096x1024 here: avx512f at KC 256
 * 8-14% slower than avx2 at KC 256, the two tied at KC 1024). At the analytical blocking avx512f is 2% faster, so
 * it is refined (and cannot improve), while avx2's best configuration is 6% faster still: the second ISA, within 5%
 * in the start round, is refined too, and wins the final race. */
Test(tune_search, a_close_second_isa_is_refined_too) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = two_isa_model(&m, &p, "4096x1024", 230000, 1.06);
  md.kc_opt_factor = 0.5;
  md.kc_opt_isa[hwt_isa_avx512f] = 1.0;
  hwt_tune_outcome o = raced_search(&md, &p, &m);
  assert_chose_avx2_within(&md, &p, &m, &o, 1.01);
  hwt_tune_outcome_free(&o);
}

/* The same machine, avx512f 8% slower than avx2 at the analytical blocking, with CIs wide enough (+-4% in the
 * second start round) that it stays in the race: not close enough to search its blocking; it runs only its start
 * configuration and, in the final race, avx2's refined blocking. */
Test(tune_search, a_distant_second_isa_is_not_refined) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = two_isa_model(&m, &p, "4096x1024", 230000, 1.08 * 1.08);
  md.half_ci = 0.02;
  md.kc_opt_factor = 0.5;
  md.kc_opt_isa[hwt_isa_avx512f] = 1.0;
  hwt_tune_outcome o = raced_search(&md, &p, &m);
  cr_assert(o.ok);
  size_t avx512 = 0, transferred = 0;
  const hwt_gemm_blocking want = hwt_tune_clamp_blocking(&p, p.op, hwt_isa_avx512f, o.choice.cand.blocking);
  for (size_t i = 0; i < o.nall; i++) {
    const hwt_tune_candidate *c = &o.all[i].cand;
    if (!o.all[i].measured || c->impl != hwt_bench_own || c->isa != hwt_isa_avx512f) continue;
    avx512++;
    transferred += c->blocking.kc == want.kc && c->blocking.nc == want.nc;
  }
  cr_assert_eq(avx512, 2, "avx512f measured in %zu configurations", avx512);
  cr_assert_eq(transferred, 1, "one of them with avx2's refined blocking");
  cr_assert_eq(o.choice.cand.isa, hwt_isa_avx2);
  hwt_tune_outcome_free(&o);
}

/* The rough rounds see avx2 20% slower than it is, so avx512f (truly 6% slower) is refined alone, to KC / 2, where
 * both ISAs run best; avx2's start configuration in the final race still has the analytical KC (8% off its best,
 * and slower than avx512f's refined one). avx2 at avx512f's refined blocking, in the final race, is within 3% of
 * the best of the space (this model's best NC differs by ISA by a factor of 1.7: 2.3%). */
Test(tune_search, the_refined_blocking_is_tried_on_the_other_isa) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = two_isa_model(&m, &p, "4096x1024", 230000, 1.06);
  md.rough_slows = hwt_isa_avx2;
  md.rough_loss = 0.2;
  md.kc_opt_factor = 0.5;
  hwt_tune_outcome o = raced_search(&md, &p, &m);
  assert_chose_avx2_within(&md, &p, &m, &o, 1.03);
  hwt_tune_outcome_free(&o);
}

/* ---------------------------------------------------------------- pacing */

Test(tune_pace, with_free_set_ups_the_share_goes_to_sampling) {
  hwt_tune_pace pc;
  hwt_tune_pace_begin(&pc, 3.0, 3.0, 20, 0, 2.0);
  cr_assert_float_eq(hwt_tune_pace_scale(&pc, 0), 1.0, 1e-9);
  hwt_tune_pace_begin(&pc, 12.0, 3.0, 20, 0, 2.0);
  cr_assert_float_eq(hwt_tune_pace_scale(&pc, 0), 2.0, 1e-9, "time to spare: up to max_scale");
}

Test(tune_pace, set_ups_are_taken_out_of_the_share) {
  hwt_tune_pace pc;
  hwt_tune_pace_begin(&pc, 6.0, 3.0, 20, 0.15, 2.0);
  cr_assert_float_eq(hwt_tune_pace_scale(&pc, 0), 1.0, 1e-9, "(6 - 20 x 0.15) / 3");
}

Test(tune_pace, the_set_up_cost_seen_replaces_the_prediction) {
  hwt_tune_pace pc;
  hwt_tune_pace_begin(&pc, 6.0, 3.0, 20, 0.01, 2.0);
  /* the first race: 4 entries, 0.2 s of sampling asked at scale 1, 0.8 s of set-up (0.2 s an entry) */
  hwt_tune_pace_note(&pc, 4, 0.2, 0.8);
  cr_assert_float_eq(hwt_tune_pace_setup_s(&pc), 0.2, 1e-9);
  cr_assert_float_eq(hwt_tune_pace_scale(&pc, 1.0), (5.0 - 16 * 0.2) / 2.8, 1e-9);
}

Test(tune_pace, past_the_share_the_scale_is_the_floor) {
  hwt_tune_pace pc;
  hwt_tune_pace_begin(&pc, 6.0, 3.0, 20, 0.1, 2.0);
  cr_assert_float_eq(hwt_tune_pace_scale(&pc, 7.0), HWT_TUNE_MIN_SCALE, 1e-9);
}

Test(tune_pace, shares_follow_the_plans) {
  const double planned[3] = {1.0, 2.0, 3.0};
  cr_assert_float_eq(hwt_tune_share_s(30.0, planned, 3), 5.0, 1e-9);
  cr_assert_float_eq(hwt_tune_share_s(30.0, planned + 2, 1), 30.0, 1e-9);
  cr_assert_float_eq(hwt_tune_share_s(0.0, planned, 3), 0.0, 1e-9);
}

/* Set-ups that cost 40% of a problem's share, predicted at a quarter of that: a search paced by what its races
 * show ends near its share; one scaled from the sampling plan alone runs well over. */
Test(tune_pace, a_paced_search_keeps_to_its_share_when_set_ups_are_costly) {
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = setup(&m, 2, &p, "4096x1024", 1, 100, 90, 1.8);
  const double share = 10.0, sampling = hwt_tune_planned_s(&p, &m), setups = hwt_tune_planned_setups(&p, &m);
  md.setup_s = 0.4 * share / setups;
  hwt_tune_pace pc;
  hwt_tune_pace_begin(&pc, share, sampling, setups, md.setup_s / 4, 2.0);
  md.pace = &pc;
  hwt_tune_measurer paced = {.measure = model_measure, .race = model_race, .ctx = &md, .scale_now = model_scale_now};
  hwt_tune_outcome o;
  cr_assert_eq(hwt_tune_search(&p, &m, &paced, &o, NULL, 0), hwt_status_ok);
  cr_assert(o.ok);
  cr_assert(md.clock_s <= 1.15 * share, "paced: %.2f s of a %.0f s share", md.clock_s, share);
  cr_assert(md.clock_s >= 0.7 * share, "paced: %.2f s of a %.0f s share (time left unused)", md.clock_s, share);
  hwt_tune_outcome_free(&o);

  model plain = setup(&m, 2, &p, "4096x1024", 1, 100, 90, 1.8);
  plain.setup_s = md.setup_s;
  hwt_tune_measurer fixed = {.measure = model_measure, .race = model_race, .ctx = &plain, .scale = share / sampling};
  cr_assert_eq(hwt_tune_search(&p, &m, &fixed, &o, NULL, 0), hwt_status_ok);
  cr_assert(plain.clock_s > 1.15 * share, "unpaced: %.2f s of a %.0f s share", plain.clock_s, share);
  hwt_tune_outcome_free(&o);
}

/* ---------------------------------------------------------------- the quality check */

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

#define PROFILE_HEAD(fp) "{\"schema\": \"hwtune.profile/1\", \"machine\": {\"fingerprint\": \"" fp "\"}, \"entries\": ["

Test(tune_check, races_the_choices_and_reports_the_ratio) {
  char dir[] = "/tmp/hwtune-check-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char tuned[256], ref[256], other[256], bad[256];
  snprintf(tuned, sizeof tuned, "%s/t.json", dir);
  snprintf(ref, sizeof ref, "%s/r.json", dir);
  snprintf(other, sizeof other, "%s/o.json", dir);
  snprintf(bad, sizeof bad, "%s/b.json", dir);
  /* tuned: XNNPACK on 1 thread (the model's 100 us); reference: own avx2 on 2 threads (80 us / 1.9) */
  write_file(tuned, PROFILE_HEAD("fp") "{\"op\": \"gemm_f32\", \"shape\": \"2048x2048\", \"batch\": 64, \"choice\": "
                    "{\"impl\": \"xnnpack\", \"isa\": \"auto\", \"threads\": 1}, \"configs_measured\": 10},\n"
                    "{\"op\": \"gemm_f32\", \"shape\": \"64x64\", \"batch\": 1, \"choice\": {\"impl\": \"xnnpack\", "
                    "\"isa\": \"auto\", \"threads\": 1}, \"configs_measured\": 3}]}\n");
  write_file(ref, PROFILE_HEAD("fp") "{\"op\": \"gemm_f32\", \"shape\": \"2048x2048\", \"batch\": 64, \"choice\": "
                  "{\"impl\": \"own\", \"isa\": \"avx2\", \"threads\": 2, \"mc\": 96, \"kc\": 256, \"nc\": 512}, "
                  "\"runner_up\": {\"impl\": \"xnnpack\", \"isa\": \"auto\", \"threads\": 2}, \"space_size\": 60}]}\n");
  write_file(other, PROFILE_HEAD("fp2") "]}\n");
  write_file(bad, "{\"schema\": \"hwtune.profile/1\",\n \"entries\": [}\n");
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = setup(&m, 2, &p, "2048x2048", 64, 100000, 80000, 1.9);
  md.analytical = (hwt_gemm_blocking){96, 256, 512};
  md.kc_opt_factor = 1.0;
  hwt_tune_measurer mm = {.measure = model_measure, .race = model_race, .ctx = &md};
  hwt_tune_check_row *rows = NULL;
  size_t n = 0;
  char err[512];
  cr_assert_eq(hwt_tune_check(tuned, ref, &mm, 0.1, &rows, &n, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(n, 1, "only the (op, shape, batch) both profiles hold");
  cr_assert_eq(md.races, 5, "five races (fresh set-ups) of the three configurations");
  cr_assert_eq(rows[0].tuned.impl, hwt_bench_xnnpack);
  cr_assert_eq(rows[0].best.impl, hwt_bench_own, "the faster of the reference's choice and runner-up");
  cr_assert_float_eq(rows[0].ratio, 100000.0 / (80000.0 / 1.9), 1e-6);
  cr_assert_eq(rows[0].measured, 10);
  cr_assert_eq(rows[0].space, 60);
  free(rows);

  cr_assert_eq(hwt_tune_check(tuned, other, &mm, 0.1, &rows, &n, err, sizeof err), hwt_status_invalid_argument);
  cr_assert(strstr(err, "different machines"), "%s", err);
  cr_assert_eq(hwt_tune_check(tuned, bad, &mm, 0.1, &rows, &n, err, sizeof err), hwt_status_invalid_argument);
  cr_assert(strstr(err, bad) && strstr(err, ":2:"), "names the file and line: %s", err);
  /* A missing file: the reason, without jansson's "-1:-1" positions (issue 17). */
  char missing[300];
  snprintf(missing, sizeof missing, "%s/missing.json", dir);
  cr_assert_eq(hwt_tune_check(missing, ref, &mm, 0.1, &rows, &n, err, sizeof err), hwt_status_invalid_argument);
  char want[400];
  snprintf(want, sizeof want, "cannot open '%s': No such file or directory", missing);
  cr_assert_str_eq(err, want);
  cr_assert_eq(hwt_tune_check(tuned, dir, &mm, 0.1, &rows, &n, err, sizeof err), hwt_status_invalid_argument);
  snprintf(want, sizeof want, "cannot read '%s': not a regular file", dir);
  cr_assert_str_eq(err, want, "a directory");
  unlink(tuned);
  unlink(ref);
  unlink(other);
  unlink(bad);
  rmdir(dir);
}

/* The tuned choice is the reference's choice; the reference's runner-up ties it but has lucky races (0.95-1.05).
 * Picked on the same races it is measured on, the runner-up would be "the best" by luck and the choice would miss
 * by 3%; picked on the other races (each race's pick leaves that race out), the ratio is 1. */
Test(tune_check, the_best_is_picked_on_other_races_than_the_ratio) {
  char dir[] = "/tmp/hwtune-check-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char tuned[256], ref[256];
  snprintf(tuned, sizeof tuned, "%s/t.json", dir);
  snprintf(ref, sizeof ref, "%s/r.json", dir);
  write_file(tuned, PROFILE_HEAD("fp") "{\"op\": \"gemm_f32\", \"shape\": \"2048x2048\", \"batch\": 64, \"choice\": "
                    "{\"impl\": \"own\", \"isa\": \"avx2\", \"threads\": 2, \"mc\": 96, \"kc\": 256, \"nc\": 512}, "
                    "\"configs_measured\": 10}]}\n");
  write_file(ref, PROFILE_HEAD("fp") "{\"op\": \"gemm_f32\", \"shape\": \"2048x2048\", \"batch\": 64, \"choice\": "
                  "{\"impl\": \"own\", \"isa\": \"avx2\", \"threads\": 2, \"mc\": 96, \"kc\": 256, \"nc\": 512}, "
                  "\"runner_up\": {\"impl\": \"xnnpack\", \"isa\": \"auto\", \"threads\": 2}, \"space_size\": 60}]}\n");
  hwt_tune_machine m;
  hwt_tune_problem p;
  model md = setup(&m, 2, &p, "2048x2048", 64, 80000, 80000, 1.9);
  md.analytical = (hwt_gemm_blocking){96, 256, 512};
  md.kc_opt_factor = 1.0;
  const double luck[5] = {0.95, 1.04, 0.96, 1.05, 0.97};
  memcpy(md.xnn_luck, luck, sizeof luck);
  hwt_tune_measurer mm = {.measure = model_measure, .race = model_race, .ctx = &md};
  hwt_tune_check_row *rows = NULL;
  size_t n = 0;
  char err[512];
  cr_assert_eq(hwt_tune_check(tuned, ref, &mm, 0.1, &rows, &n, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(n, 1);
  cr_assert_eq(md.races, 5);
  cr_assert_float_eq(rows[0].ratio, 1.0, 1e-9, "ratio %.4f", rows[0].ratio);
  free(rows);
  unlink(tuned);
  unlink(ref);
  rmdir(dir);
}

/* ---------------------------------------------------------------- the space */

Test(tune_space, sizes_and_dedup) {
  hwt_tune_machine m;
  machine(&m, 2);
  hwt_tune_problem p;
  problem(&p, "2048x2048", 4096);
  hwt_tune_candidate *v;
  size_t n;
  cr_assert_eq(hwt_tune_space(&p, &m, &v, &n), hwt_status_ok);
  /* xnnpack x 2 threads + avx2 (scalar dropped: a SIMD level exists) x 2 threads x <= 125 blockings. */
  cr_assert(n > 2 + 2 * 25 && n <= 2 + 2 * 125, "%zu", n);
  for (size_t i = 0; i < n; i++) {
    cr_assert(v[i].impl != hwt_bench_own || v[i].isa == hwt_isa_avx2);
    for (size_t j = i + 1; j < n; j++) cr_assert(!hwt_tune_same(&v[i], &v[j]), "%zu and %zu are the same", i, j);
  }
  size_t big = n;
  free(v);
  /* batch 1: every MC collapses to one tile of rows. */
  problem(&p, "2048x2048", 1);
  cr_assert_eq(hwt_tune_space(&p, &m, &v, &n), hwt_status_ok);
  cr_assert(n < big, "%zu < %zu", n, big);
  free(v);
  /* conv: XNNPACK only, one per thread count. */
  hwt_bench_shape s;
  cr_assert_eq(hwt_bench_parse_shape("56x56x64:64:k3s1p1", &s, NULL, 0), hwt_status_ok);
  hwt_tune_problem_init(&p, hwt_bench_conv_f32, &s, 1);
  cr_assert_eq(p.n, 64);
  cr_assert_eq(p.k, 9 * 64);
  cr_assert_eq(p.rows, 56 * 56);
  /* 3x3: our im2col conv plans (hwtune/conv.h) answer it without a blocking: one per ISA and thread count */
  hwt_bench_own_caps_t caps;
  cr_assert(hwt_tune_own_caps(&p, &m, &caps));
  cr_assert(!caps.gemm);
  size_t isas = 0;
  for (int i = 0; i < hwt_isa_count; i++) isas += caps.isa[i];
  cr_assert(isas >= 1);
  cr_assert_eq(hwt_tune_space(&p, &m, &v, &n), hwt_status_ok);
  cr_assert_eq(n, 2 + 2 * isas, "%zu", n);
  for (size_t i = 0; i < n; i++)
    cr_assert(v[i].impl != hwt_bench_own || (v[i].blocking.mc == 0 && v[i].default_blocking));
  free(v);
  /* a 1x1 conv is our GEMM over batch*H*W rows: own per ISA, thread count and blocking, as for gemm */
  cr_assert_eq(hwt_bench_parse_shape("28x28x32:192:k1s1p0", &s, NULL, 0), hwt_status_ok);
  hwt_tune_problem_init(&p, hwt_bench_conv_f32, &s, 2);
  cr_assert_eq(p.rows, 2 * 28 * 28);
  cr_assert(hwt_tune_own_caps(&p, &m, &caps));
  cr_assert(caps.gemm);
  cr_assert_eq(caps.family, hwt_gemm_f32);
  cr_assert_eq(hwt_tune_space(&p, &m, &v, &n), hwt_status_ok);
  size_t own = 0, mc_big = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i].impl != hwt_bench_own) continue;
    own++;
    cr_assert_eq(v[i].isa, hwt_isa_avx2);
    mc_big += v[i].blocking.mc > 28 * 28;  /* MC ranges over the rows of both images */
  }
  cr_assert(own >= 2 * 5, "own configurations of a 1x1 conv: %zu", own);
  cr_assert(mc_big > 0);
  free(v);
  /* with stride or padding it is not a GEMM over the input's rows: an im2col plan, no blocking searched */
  cr_assert_eq(hwt_bench_parse_shape("28x28x32:192:k1s2p0", &s, NULL, 0), hwt_status_ok);
  hwt_tune_problem_init(&p, hwt_bench_conv_f32, &s, 1);
  cr_assert(hwt_tune_own_caps(&p, &m, &caps));
  cr_assert(!caps.gemm);
  /* depthwise: our dwconv plans answer the hook, with no blocking to search */
  cr_assert_eq(hwt_bench_parse_shape("28x28x32::k3s1p1", &s, NULL, 0), hwt_status_ok);
  hwt_tune_problem_init(&p, hwt_bench_dwconv_f32, &s, 1);
  cr_assert(hwt_tune_own_caps(&p, &m, &caps));
  cr_assert(!caps.gemm);
}

Test(tune_space, analytical_threads_follow_work_size) {
  hwt_tune_problem p;
  problem(&p, "64x64", 1);
  cr_assert_eq(hwt_tune_analytical_threads(&p, 8), 1);
  problem(&p, "1024x1024", 64);
  cr_assert_eq(hwt_tune_analytical_threads(&p, 8), 8);
  cr_assert_eq(hwt_tune_analytical_threads(&p, 1), 1);
}

Test(tune_space, gemv_blocks_no_k) {
  hwt_cache_budget cache = {32 << 10, 1 << 20, 2 << 20};
  hwt_gemm_blocking def = hwt_gemm_default_blocking(hwt_gemm_f32, hwt_isa_avx2, &cache);
  hwt_tune_problem p;
  problem(&p, "256x4096", 1);   /* one row group: KC = K */
  hwt_gemm_blocking a = hwt_tune_analytical_blocking(&p, hwt_gemm_f32, hwt_isa_avx2, &cache);
  cr_assert_eq(a.kc, 4096);
  cr_assert(def.kc < 4096, "the premise: the L1 value blocks K (%zu)", def.kc);
  cr_assert_eq(a.nc, def.nc);
  problem(&p, "256x4096", 64);  /* many rows: the cache model's KC */
  a = hwt_tune_analytical_blocking(&p, hwt_gemm_f32, hwt_isa_avx2, &cache);
  cr_assert_eq(a.kc, def.kc);
  cr_assert_eq(a.mc, def.mc);
}

/* ---------------------------------------------------------------- the profile writer */

static json_t *entry(const char *shape, size_t n, const char *impl, unsigned threads) {
  hwt_tune_problem p;
  problem(&p, shape, 1);
  (void)n;
  hwt_tune_outcome o;
  memset(&o, 0, sizeof o);
  o.ok = true;
  o.choice.cand.impl = strcmp(impl, "own") == 0 ? hwt_bench_own : hwt_bench_xnnpack;
  o.choice.cand.isa = hwt_isa_avx2;
  o.choice.cand.threads = threads;
  o.choice.cand.blocking = (hwt_gemm_blocking){8, 256, 512};
  o.choice.meas = (hwt_tune_measurement){.median_ns = 1000, .ci_low_ns = 990, .ci_high_ns = 1010, .p99_ns = 1100};
  o.space_size = 40;
  o.configs_measured = 7;
  return hwt_tune_entry_json(&p, &o, 0, 0);
}

static size_t count_files(const char *dir) {
  DIR *d = opendir(dir);
  size_t n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  if (d) closedir(d);
  return n;
}

Test(tune_writer, update_merges_and_replaces) {
  char dir[] = "/tmp/hwtune-tune-test-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/sub/p.json", dir);
  json_t *meta = json_pack("{s:s, s:s}", "objective", "latency", "hwtune_version", "0.1.0");
  json_t *fields = json_pack("{s:s, s:s}", "arch", "x86_64", "brand", "Test CPU");
  json_t *first = json_pack("[o, o]", entry("64x64", 64, "own", 1), entry("128x64", 128, "xnnpack", 1));
  size_t kept = 9, replaced = 9;
  char err[512];
  cr_assert_eq(hwt_tune_write_profile(path, HWT_TUNE_WRITE_MKDIRS, meta, "fp1", fields, first, &kept, &replaced, err,
                                      sizeof err),
               hwt_status_ok, "%s", err);
  cr_assert_eq(kept, 0);
  cr_assert_eq(replaced, 0);
  json_t *second = json_pack("[o, o]", entry("128x64", 128, "own", 2), entry("256x64", 256, "xnnpack", 1));
  cr_assert_eq(hwt_tune_write_profile(path, 0, meta, "fp1", fields, second, &kept, &replaced, err, sizeof err),
               hwt_status_ok, "%s", err);
  cr_assert_eq(kept, 1);
  cr_assert_eq(replaced, 1);

  hwt_profile *p = NULL;
  char msg[512];
  cr_assert_eq(hwt_profile_load(path, &p, msg, sizeof msg), hwt_status_ok, "%s", msg);
  cr_assert_eq(hwt_profile_count(p), 3);
  hwt_profile_choice c;
  hwt_profile_query q = {.op = "gemm_f32", .dtype = "f32", .n = 128, .k = 64, .batch = 1, .max_threads = 2};
  cr_assert_eq(hwt_profile_lookup(p, &q, &c), hwt_profile_match_exact);
  cr_assert_str_eq(c.impl, "own", "the re-tuned entry replaced the old one");
  cr_assert(hwt_profile_entry(p, c.entry, &c));
  cr_assert_eq(c.threads, 2);
  cr_assert_eq(c.kc, 256);
  hwt_profile_free(p);

  /* No temporary files are left next to it. */
  char sub[256];
  snprintf(sub, sizeof sub, "%s/sub", dir);
  cr_assert_eq(count_files(sub), 1);

  /* A damaged file at the path is not overwritten. */
  json_t *third = json_pack("[o]", entry("512x64", 512, "xnnpack", 1));
  FILE *f = fopen(path, "w");
  fputs("{\"schema\": \"hwtune.prof", f);
  fclose(f);
  cr_assert_eq(hwt_tune_write_profile(path, 0, meta, "fp1", fields, third, &kept, &replaced, err, sizeof err),
               hwt_status_parse_error);
  cr_assert(strstr(err, "not overwriting") != NULL, "%s", err);
  unlink(path);
  rmdir(sub);
  rmdir(dir);
  json_decref(first);
  json_decref(second);
  json_decref(third);
  json_decref(meta);
  json_decref(fields);
}

static size_t profile_count(const char *path) {
  hwt_profile *p = NULL;
  char msg[512];
  cr_assert_eq(hwt_profile_load(path, &p, msg, sizeof msg), hwt_status_ok, "%s", msg);
  size_t n = hwt_profile_count(p);
  hwt_profile_free(p);
  return n;
}

Test(tune_writer, a_narrower_cpu_set_is_the_same_machine) {
  /* Issue 17: `taskset -c 0 hwtune tune` (detect's fingerprint counts the usable CPUs, so it differs) treated the
   * machine's own 56-entry profile as another machine's and replaced it with its 7 entries. The machine fields,
   * which libhwtune checks, are the same: the entries merge. */
  char dir[] = "/tmp/hwtune-tune-test-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/profile.json", dir);
  json_t *meta = json_pack("{s:s}", "objective", "latency");
  json_t *fields = json_pack("{s:s, s:s, s:s}", "arch", "x86_64", "brand", "Test CPU", "cpus", "2");
  json_t *all_cpus = json_pack("[o, o, o]", entry("64x64", 64, "own", 2), entry("128x64", 128, "xnnpack", 2),
                               entry("256x64", 256, "xnnpack", 2));
  json_t *one_cpu = json_pack("[o]", entry("64x64", 64, "own", 1));
  char err[1024];
  size_t kept = 0, replaced = 0, old = 0;
  cr_assert_eq(hwt_tune_write_profile(path, 0, meta, "fp-usable-2", fields, all_cpus, NULL, NULL, err, sizeof err),
               hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_tune_profile_target(path, 0, "fp-usable-1", fields, &old, err, sizeof err), hwt_status_ok, "%s",
               err);
  cr_assert_eq(old, 3);
  cr_assert_eq(hwt_tune_write_profile(path, 0, meta, "fp-usable-1", fields, one_cpu, &kept, &replaced, err, sizeof err),
               hwt_status_ok, "%s", err);
  cr_assert_eq(kept, 2);
  cr_assert_eq(replaced, 1);
  cr_assert_eq(profile_count(path), 3, "merged, nothing lost");
  unlink(path);
  rmdir(dir);
  json_decref(meta);
  json_decref(fields);
  json_decref(all_cpus);
  json_decref(one_cpu);
}

Test(tune_writer, another_machines_profile_needs_force) {
  char dir[] = "/tmp/hwtune-tune-test-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/p1.json", dir);
  json_t *meta = json_pack("{s:s}", "objective", "latency");
  json_t *theirs = json_pack("{s:s, s:s}", "arch", "x86_64", "brand", "Other CPU");
  json_t *ours = json_pack("{s:s, s:s}", "arch", "x86_64", "brand", "Test CPU");
  json_t *two = json_pack("[o, o]", entry("64x64", 64, "own", 2), entry("128x64", 128, "xnnpack", 2));
  json_t *one = json_pack("[o]", entry("512x64", 512, "xnnpack", 1));
  char err[1024];
  size_t kept = 0, replaced = 0;
  cr_assert_eq(hwt_tune_write_profile(path, 0, meta, "fp-theirs", theirs, two, NULL, NULL, err, sizeof err),
               hwt_status_ok, "%s", err);
  /* Refused, before a run and when writing; the message names the file and both fingerprints. */
  cr_assert_eq(hwt_tune_profile_target(path, 0, "fp-ours", ours, NULL, err, sizeof err), hwt_status_mismatch);
  cr_assert(strstr(err, path) && strstr(err, "'fp-theirs'") && strstr(err, "'fp-ours'") &&
                strstr(err, "brand 'Other CPU' here 'Test CPU'") && strstr(err, "--force"),
            "%s", err);
  cr_assert_eq(hwt_tune_write_profile(path, 0, meta, "fp-ours", ours, one, &kept, &replaced, err, sizeof err),
               hwt_status_mismatch);
  cr_assert_eq(profile_count(path), 2, "their entries are still there");
  /* The same fingerprint but other fields is still the same machine for the writer (detect said so). */
  cr_assert_eq(hwt_tune_profile_target(path, 0, "fp-theirs", ours, NULL, err, sizeof err), hwt_status_ok, "%s", err);
  /* --force replaces it. */
  cr_assert_eq(hwt_tune_profile_target(path, HWT_TUNE_WRITE_FORCE, "fp-ours", ours, NULL, err, sizeof err),
               hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_tune_write_profile(path, HWT_TUNE_WRITE_FORCE, meta, "fp-ours", ours, one, &kept, &replaced, err,
                                      sizeof err),
               hwt_status_ok, "%s", err);
  cr_assert_eq(kept, 0);
  cr_assert_eq(profile_count(path), 1);
  unlink(path);
  rmdir(dir);
  json_decref(meta);
  json_decref(theirs);
  json_decref(ours);
  json_decref(two);
  json_decref(one);
}

Test(tune_writer, missing_directory_is_not_created) {
  char dir[] = "/tmp/hwtune-tune-test-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[512], sub[256];
  snprintf(sub, sizeof sub, "%s/no/such", dir);
  snprintf(path, sizeof path, "%s/p.json", sub);
  json_t *meta = json_pack("{s:s}", "objective", "latency");
  json_t *fields = json_pack("{s:s, s:s}", "arch", "x86_64", "brand", "Test CPU");
  json_t *one = json_pack("[o]", entry("64x64", 64, "own", 1));
  char err[1024], want[1400];
  cr_assert_eq(hwt_tune_profile_target(path, 0, "fp", fields, NULL, err, sizeof err), hwt_status_not_found);
  snprintf(want, sizeof want,
           "cannot write '%s': directory '%s': No such file or directory (it is not created; create it first)", path,
           sub);
  cr_assert_str_eq(err, want);
  cr_assert_eq(hwt_tune_write_profile(path, 0, meta, "fp", fields, one, NULL, NULL, err, sizeof err),
               hwt_status_not_found);
  struct stat sb;
  cr_assert_neq(stat(sub, &sb), 0, "the directory was created");
  /* A file where the directory should be. */
  char file[256], under[300];
  snprintf(file, sizeof file, "%s/f", dir);
  write_file(file, "x");
  snprintf(under, sizeof under, "%s/p.json", file);
  cr_assert_eq(hwt_tune_profile_target(under, 0, "fp", fields, NULL, err, sizeof err), hwt_status_not_found);
  cr_assert(strstr(err, "is not a directory"), "%s", err);
  /* The default paths (results/profiles/, the XDG data directory) are created. */
  cr_assert_eq(hwt_tune_write_profile(path, HWT_TUNE_WRITE_MKDIRS, meta, "fp", fields, one, NULL, NULL, err,
                                      sizeof err),
               hwt_status_ok, "%s", err);
  cr_assert_eq(profile_count(path), 1);
  unlink(path);
  unlink(file);
  rmdir(sub);
  snprintf(sub, sizeof sub, "%s/no", dir);
  rmdir(sub);
  rmdir(dir);
  json_decref(meta);
  json_decref(fields);
  json_decref(one);
}

/* ---------------------------------------------------------------- the verb */

static int run(const char *cmd) {
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(tune_cli, usage_errors_exit_2) {
  cr_assert_eq(run(HWTUNE_BINARY " tune --objective fastest 2>/dev/null"), 2);
  cr_assert_eq(run(HWTUNE_BINARY " tune --slo-ms 5 2>/dev/null"), 2);
  cr_assert_eq(run(HWTUNE_BINARY " tune --budget -1 2>/dev/null"), 2);
  cr_assert_eq(run(HWTUNE_BINARY " tune --op gemm_f64 2>/dev/null"), 2);
  cr_assert_eq(run(HWTUNE_BINARY " tune --help >/dev/null"), 0);
  cr_assert_eq(run(HWTUNE_BINARY " tune --check a.json 2>/dev/null"), 2, "--check needs --against");
  cr_assert_eq(run(HWTUNE_BINARY " tune --check /nonexistent/t.json --against /nonexistent/r.json 2>/dev/null"), 2);
}

Test(tune_cli, small_run_writes_a_loadable_profile) {
  char dir[] = "/tmp/hwtune-tune-cli-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char cmd[1024], path[256];
  snprintf(path, sizeof path, "%s/p.json", dir);
  snprintf(cmd, sizeof cmd,
           HWTUNE_BINARY " tune --op gemm_f32 --shape 64x64,96x64 --budget 4 --no-default -q --out %s >/dev/null",
           path);
  cr_assert_eq(run(cmd), 0);
  hwt_profile *p = NULL;
  char msg[512];
  cr_assert_eq(hwt_profile_open(path, NULL, 0, &p, msg, sizeof msg), hwt_status_ok, "%s", msg);
  cr_assert_eq(hwt_profile_count(p), 2);
  hwt_profile_choice c;
  hwt_profile_query q = {.op = "gemm_f32", .dtype = "f32", .shape = "96x64", .n = 96, .k = 64, .batch = 1};
  cr_assert_eq(hwt_profile_lookup(p, &q, &c), hwt_profile_match_exact);
  cr_assert(c.threads >= 1);
  hwt_profile_free(p);
  /* the quality check runs end to end (a profile against itself: every choice raced against itself and its
   * runner-up); 0 or 1 is its verdict, a table row per shape its output */
  char out[256];
  snprintf(out, sizeof out, "%s/check.txt", dir);
  snprintf(cmd, sizeof cmd, HWTUNE_BINARY " tune --check %s --against %s -q >%s", path, path, out);
  int rc = run(cmd);
  cr_assert(rc == 0 || rc == 1, "exit %d", rc);
  FILE *f = fopen(out, "r");
  cr_assert_not_null(f);
  char line[512];
  int rows = 0;
  while (fgets(line, sizeof line, f)) rows += strstr(line, "gemm_f32 ") == line;
  fclose(f);
  cr_assert_eq(rows, 2, "a row per shape");
  unlink(out);
  unlink(path);
  rmdir(dir);
}

/* A file's whole text (malloc'ed). */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  char *buf = calloc(1, 1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

Test(tune_cli, out_refuses_a_missing_directory_and_another_machines_profile) {
  char dir[] = "/tmp/hwtune-tune-cli-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char cmd[2048], err_path[300], missing[300], p1[300], def[300];
  snprintf(err_path, sizeof err_path, "%s/err.txt", dir);
  snprintf(missing, sizeof missing, "%s/no/such", dir);
  snprintf(p1, sizeof p1, "%s/p1.json", dir);
  snprintf(def, sizeof def, "%s/default.json", dir);
  /* --out into a directory that does not exist: exit 2, the directory is not created (bench, audit and report
   * refuse too), nothing measured. */
  snprintf(cmd, sizeof cmd,
           "HWTUNE_PROFILE=%s " HWTUNE_BINARY " tune --op gemm_f32 --shape 64x64 --budget 1 -q --out %s/p.json "
           ">/dev/null 2>%s",
           def, missing, err_path);
  cr_assert_eq(run(cmd), 2);
  char *e = slurp(err_path);
  cr_assert(strstr(e, missing) && strstr(e, "No such file or directory"), "%s", e);
  free(e);
  struct stat sb;
  cr_assert_neq(stat(missing, &sb), 0, "the directory was created");

  /* --out onto another machine's profile: exit 2 naming the file and both fingerprints, the file untouched. */
  write_file(p1, "{\"schema\": \"hwtune.profile/1\", \"machine\": {\"fingerprint\": \"0123456789abcdef0123456789abcdef\", "
                 "\"fields\": {\"arch\": \"x86_64\", \"brand\": \"Some Other CPU\"}}, \"objective\": \"latency\", "
                 "\"entries\": [{\"op\": \"gemm_f32\", \"dtype\": \"f32\", \"shape\": \"512x784\", \"batch\": 1, "
                 "\"n\": 512, \"k\": 784, \"choice\": {\"impl\": \"xnnpack\", \"isa\": \"auto\", \"threads\": 1}, "
                 "\"median_ns\": 1000}]}\n");
  char *before = slurp(p1);
  snprintf(cmd, sizeof cmd,
           "HWTUNE_PROFILE=%s " HWTUNE_BINARY " tune --op gemm_f32 --shape 64x64 --budget 1 -q --out %s >/dev/null "
           "2>%s",
           def, p1, err_path);
  cr_assert_eq(run(cmd), 2);
  e = slurp(err_path);
  cr_assert(strstr(e, p1) && strstr(e, "'0123456789abcdef0123456789abcdef'") && strstr(e, "this machine '") &&
                strstr(e, "--force"),
            "%s", e);
  free(e);
  char *after = slurp(p1);
  cr_assert_str_eq(after, before, "another machine's profile was changed");
  free(after);
  free(before);
  /* --force replaces it; --out elsewhere did not create the default profile. */
  snprintf(cmd, sizeof cmd,
           "HWTUNE_PROFILE=%s " HWTUNE_BINARY " tune --op gemm_f32 --shape 64x64 --budget 1 -q --out %s --force "
           ">/dev/null 2>%s",
           def, p1, err_path);
  cr_assert_eq(run(cmd), 0);
  cr_assert_eq(profile_count(p1), 1);
  cr_assert_neq(stat(def, &sb), 0, "--out without --also-default wrote the default profile");
  /* Usage errors. */
  cr_assert_eq(run(HWTUNE_BINARY " tune --also-default 2>/dev/null"), 2, "--also-default needs --out");
  cr_assert_eq(run(HWTUNE_BINARY " tune --out x.json --also-default --no-default 2>/dev/null"), 2);
  unlink(p1);
  unlink(err_path);
  rmdir(dir);
}

Test(tune_cli, a_run_under_a_narrower_cpu_set_merges_into_the_default_profile) {
  /* Issue 17: `taskset -c 0 hwtune tune ... --out p1.json` replaced the machine's default profile (56 entries)
   * with its 7. The default profile here holds this machine's fields with another fingerprint (detect's
   * fingerprint counts the usable CPUs) and two entries; the run is narrowed to one CPU. */
  char dir[] = "/tmp/hwtune-tune-cli-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char cmd[2048], p1[300], def[300];
  snprintf(p1, sizeof p1, "%s/p1.json", dir);
  snprintf(def, sizeof def, "%s/default.json", dir);
  hwt_profile_machine pm;
  hwt_profile_machine_probe(&pm);
  json_t *fields = json_object();
  for (size_t i = 0; i < pm.nfields; i++) json_object_set_new(fields, pm.fields[i].name, json_string(pm.fields[i].value));
  json_t *meta = json_pack("{s:s}", "objective", "latency");
  json_t *two = json_pack("[o, o]", entry("128x64", 128, "own", 2), entry("256x64", 256, "xnnpack", 2));
  char err[1024];
  cr_assert_eq(hwt_tune_write_profile(def, 0, meta, "fp-of-a-run-on-all-cpus", fields, two, NULL, NULL, err,
                                      sizeof err),
               hwt_status_ok, "%s", err);
  cpu_set_t old, one;
  cr_assert_eq(sched_getaffinity(0, sizeof old, &old), 0);
  int cpu = 0;
  while (!CPU_ISSET(cpu, &old)) cpu++;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
  snprintf(cmd, sizeof cmd,
           "HWTUNE_PROFILE=%s " HWTUNE_BINARY " tune --op gemm_f32 --shape 64x64 --budget 1 -q --out %s "
           "--also-default >/dev/null 2>/dev/null",
           def, p1);
  int rc_also = run(cmd);
  snprintf(cmd, sizeof cmd,
           "HWTUNE_PROFILE=%s " HWTUNE_BINARY " tune --op gemm_f32 --shape 96x64 --budget 1 -q --out %s "
           ">/dev/null 2>/dev/null",
           def, p1);
  int rc_out = run(cmd);
  cr_assert_eq(sched_setaffinity(0, sizeof old, &old), 0);
  cr_assert_eq(rc_also, 0);
  cr_assert_eq(rc_out, 0);
  cr_assert_eq(profile_count(def), 3, "the default profile kept its 2 entries and took the new one");
  cr_assert_eq(profile_count(p1), 2, "p1.json: both runs merged");
  unlink(p1);
  unlink(def);
  rmdir(dir);
  json_decref(fields);
  json_decref(meta);
  json_decref(two);
}

/* ---------------------------------------------------------------- tune --model: a model's layer problems */

static const hwt_bench_op all_f32[] = {hwt_bench_gemm_f32, hwt_bench_conv_f32, hwt_bench_dwconv_f32};
static const hwt_bench_op all_ops[] = {hwt_bench_gemm_f32, hwt_bench_conv_f32, hwt_bench_dwconv_f32,
                                       hwt_bench_gemm_qs8, hwt_bench_conv_qs8, hwt_bench_dwconv_qs8};

static size_t count_op(const hwt_tune_layer_shape *v, size_t n, hwt_bench_op op) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += v[i].op == op;
  return c;
}

Test(tune_model, the_engines_queries_one_problem_per_key) {
  hwt_model *m = NULL;
  char err[512], notes[512];
  cr_assert_eq(hwt_model_gen_mobilenet(1, &m), hwt_status_ok);
  hwt_tune_layer_shape *v = NULL;
  size_t n = 0;
  cr_assert_eq(hwt_tune_model_shapes(m, all_f32, 3, &v, &n, notes, sizeof notes, err, sizeof err), hwt_status_ok);
  /* MobileNet v1 0.25 at 96x96: 14 convolutions (the first 3x3, 13 pointwise), 13 depthwise, 1 classifier. The
   * profile key is (op, n, k): the five 6x6x128 blocks share theirs, a stride-2 depthwise layer shares the
   * stride-1 one's of its channels (6 channel counts) */
  cr_assert_eq(count_op(v, n, hwt_bench_gemm_f32), 1);
  cr_assert_eq(count_op(v, n, hwt_bench_conv_f32), 10, "%zu", count_op(v, n, hwt_bench_conv_f32));
  cr_assert_eq(count_op(v, n, hwt_bench_dwconv_f32), 6, "%zu", count_op(v, n, hwt_bench_dwconv_f32));
  cr_assert_str_empty(notes);
  size_t nodes = 0;
  for (size_t i = 0; i < n; i++) {
    nodes += v[i].layers;
    /* the profile key of each problem is the engine's query of its first node */
    const hwt_layer *l = NULL;
    for (size_t j = 0; j < m->nlayers; j++)
      if (strcmp(m->layers[j].name, v[i].first) == 0) l = &m->layers[j];
    cr_assert_not_null(l, "%s", v[i].first);
    hwt_tune_problem p;
    hwt_tune_problem_init(&p, v[i].op, &v[i].shape, 1);
    size_t qn = l->type == hwt_layer_fc ? l->outputs : l->out.c;
    size_t qk = l->type == hwt_layer_fc ? hwt_shape_size(l->in)
                                        : (size_t) l->kh * l->kw * (l->type == hwt_layer_dwconv ? 1 : l->in.c);
    cr_assert_eq(p.n, qn, "%s: n %zu vs %zu", v[i].shape.text, p.n, qn);
    cr_assert_eq(p.k, qk, "%s: k %zu vs %zu", v[i].shape.text, p.k, qk);
  }
  cr_assert_eq(nodes, 28, "every fc / conv / dwconv node is one of the problems");
  free(v);
  /* qs8 ops too: the int8 twin's nodes; its classifier keeps float logits, the gemm_f32 problem already there */
  cr_assert_eq(hwt_tune_model_shapes(m, all_ops, 6, &v, &n, notes, sizeof notes, err, sizeof err), hwt_status_ok);
  cr_assert_eq(count_op(v, n, hwt_bench_gemm_f32), 1);
  cr_assert_eq(count_op(v, n, hwt_bench_gemm_qs8), 0);
  cr_assert_eq(count_op(v, n, hwt_bench_conv_qs8), 10);
  cr_assert_eq(count_op(v, n, hwt_bench_dwconv_qs8), 6);
  free(v);
  hwt_model_free(m);
}

Test(tune_model, an_mlp_is_three_gemms) {
  hwt_model *m = NULL;
  char err[512], notes[512];
  cr_assert_eq(hwt_model_gen_mlp(1, &m), hwt_status_ok);
  hwt_tune_layer_shape *v = NULL;
  size_t n = 0;
  cr_assert_eq(hwt_tune_model_shapes(m, all_f32, 3, &v, &n, notes, sizeof notes, err, sizeof err), hwt_status_ok);
  cr_assert_eq(n, 3);
  cr_assert_str_eq(v[0].shape.text, "256x784");
  cr_assert_str_eq(v[1].shape.text, "128x256");
  cr_assert_str_eq(v[2].shape.text, "10x128");
  free(v);
  /* only conv ops asked: nothing of an MLP */
  const hwt_bench_op conv[] = {hwt_bench_conv_f32};
  cr_assert_eq(hwt_tune_model_shapes(m, conv, 1, &v, &n, notes, sizeof notes, err, sizeof err), hwt_status_ok);
  cr_assert_eq(n, 0);
  free(v);
  hwt_model_free(m);
}

Test(tune_model, what_the_bench_cannot_measure_is_noted_not_tuned) {
  hwt_layer layers[3];
  memset(layers, 0, sizeof layers);
  hwt_layer *g = &layers[0], *d = &layers[1], *a = &layers[2];
  snprintf(g->name, sizeof g->name, "grouped");
  g->type = hwt_layer_conv;
  g->groups = 2;
  g->kh = g->kw = 3;
  g->sh = g->sw = 1;
  g->outputs = 16;
  g->in = (hwt_shape){8, 8, 16};
  g->out = (hwt_shape){6, 6, 16};
  *d = *g;
  snprintf(d->name, sizeof d->name, "dilated");
  d->groups = 1;
  d->dh = d->dw = 2;
  *a = *g;
  snprintf(a->name, sizeof a->name, "asym");
  a->groups = 1;
  a->pad_t = a->pad_l = 0;
  a->pad_b = a->pad_r = 1;
  hwt_model m;
  memset(&m, 0, sizeof m);
  m.layers = layers;
  m.nlayers = 3;
  char err[512], notes[1024];
  hwt_tune_layer_shape *v = NULL;
  size_t n = 0;
  cr_assert_eq(hwt_tune_model_shapes(&m, all_f32, 3, &v, &n, notes, sizeof notes, err, sizeof err), hwt_status_ok);
  cr_assert_eq(n, 1, "only the asymmetric padding is measured");
  cr_assert_str_eq(v[0].shape.text, "8x8x16:16:k3x3s1p1");
  cr_assert(strstr(notes, "layer 0 'grouped': a grouped convolution (groups 2)"), "%s", notes);
  cr_assert(strstr(notes, "layer 1 'dilated': a dilated convolution"), "%s", notes);
  cr_assert(strstr(notes, "layer 2 'asym': asymmetric padding measured as 1"), "%s", notes);
  free(v);
}

Test(tune_cli, model_usage_errors) {
  cr_assert_eq(run(HWTUNE_BINARY " tune --model mlp --shape 64x64 2>/dev/null"), 2, "--model with --shape");
  cr_assert_eq(run(HWTUNE_BINARY " tune --model mlp --exhaustive 2>/dev/null"), 2);
  cr_assert_eq(run(HWTUNE_BINARY " tune --model mlp --op conv_f32 --no-default 2>/dev/null"), 2,
               "an MLP has nothing for conv_f32");
  cr_assert_eq(run(HWTUNE_BINARY " tune --model /nonexistent/m.json --no-default 2>/dev/null"), 1);
}

Test(tune_cli, model_run_makes_the_engine_use_the_profile) {
  char dir[] = "/tmp/hwtune-tune-model-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char cmd[1024], path[256], rep[256];
  snprintf(path, sizeof path, "%s/p.json", dir);
  snprintf(rep, sizeof rep, "%s/audit.json", dir);
  snprintf(cmd, sizeof cmd, HWTUNE_BINARY " tune --model mlp --budget 8 --no-default -q --out %s >/dev/null", path);
  cr_assert_eq(run(cmd), 0);
  hwt_profile *p = NULL;
  char msg[512];
  cr_assert_eq(hwt_profile_open(path, NULL, 0, &p, msg, sizeof msg), hwt_status_ok, "%s", msg);
  size_t entries = hwt_profile_count(p);
  cr_assert(entries >= 1 && entries <= 3, "%zu entries", entries);
  /* tune --model ends with the whole-model race and records its winner for (mlp, fp32, batch 1): when the tuned
   * plan won, the audit's engine asks the profile about each node and a tuned one answers "profile" (exact);
   * otherwise the engine runs the winning plan and says so instead ("model race: default" / "1 thread"). */
  hwt_profile_model pm;
  cr_assert_eq(hwt_profile_model_count(p), 1, "the race's model entry");
  cr_assert(hwt_profile_model_entry(p, 0, &pm));
  cr_assert_eq(pm.batch, 1);
  const char *want_src = pm.winner == hwt_profile_plan_tuned     ? "\"source\": \"profile\""
                         : pm.winner == hwt_profile_plan_default ? "\"source\": \"model race: default\""
                                                                 : "\"source\": \"model race: 1 thread\"";
  snprintf(cmd, sizeof cmd, HWTUNE_BINARY " audit --model mlp --profile %s --precision fp32 --bench-seconds 0.05 "
           "--no-peaks --no-abnormal --inputs 0 --out %s 2>/dev/null", path, rep);
  cr_assert_eq(run(cmd), 0);
  char *doc = slurp(rep);
  const char *names[3] = {"fc1", "fc2", "fc3"};
  const size_t qn[3] = {256, 128, 10}, qk[3] = {784, 256, 128};
  size_t exact = 0;
  for (int i = 0; i < 3; i++) {
    hwt_profile_choice c;
    hwt_profile_query q = {.op = "gemm_f32", .dtype = "f32", .n = qn[i], .k = qk[i], .batch = 1};
    if (hwt_profile_lookup(p, &q, &c) != hwt_profile_match_exact) continue;
    exact++;
    char want[128];
    snprintf(want, sizeof want, "\"name\": \"%s\",", names[i]);
    const char *row = strstr(doc, want);
    cr_assert_not_null(row, "%s in the audit's layers", names[i]);
    const char *src = strstr(row, "\"source\": ");
    cr_assert(src != NULL && strncmp(src, want_src, strlen(want_src)) == 0, "%s (winner %s): %.60s", names[i],
              hwt_profile_plan_name(pm.winner), src);
  }
  cr_assert_eq(exact, entries, "every entry is one of the model's queries");
  free(doc);
  hwt_profile_free(p);
  unlink(rep);
  unlink(path);
  rmdir(dir);
}

/* An ONNX model: tune lists exactly its layer problems (a zero budget measures none of them). */
Test(tune_cli, model_from_an_onnx_file) {
  char dir[] = "/tmp/hwtune-tune-onnx-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char cmd[2048], model[256], path[256], log[256];
  snprintf(model, sizeof model, "%s/mv2.onnx", dir);
  snprintf(path, sizeof path, "%s/p.json", dir);
  snprintf(log, sizeof log, "%s/log.txt", dir);
  snprintf(cmd, sizeof cmd, "%s/ci/models/mobilenet_v2.py --out %s --width 0.35 --resolution 64 --classes 10 >/dev/null",
           HWTUNE_SOURCE_DIR, model);
  cr_assert_eq(run(cmd), 0, "%s", cmd);
  snprintf(cmd, sizeof cmd, HWTUNE_BINARY " tune --model %s --budget 0.01 --no-default --out %s >/dev/null 2>%s", model,
           path, log);
  cr_assert_eq(run(cmd), 0);
  char *text = slurp(log);
  /* MobileNet v2 0.35: 52 convolutions = 17 depthwise (one per block) + 35 others, and the classifier; by profile
   * key (op, n, k): depthwise channels 16, 48, 96, 144, 192, 384, 576, 960 ... each once */
  size_t dw = 0, conv = 0, gemm = 0;
  for (const char *p = text; (p = strstr(p, "hwtune tune: ")) != NULL; p++) {
    p += 13;
    dw += strncmp(p, "dwconv_f32 ", 11) == 0;
    conv += strncmp(p, "conv_f32 ", 9) == 0;
    gemm += strncmp(p, "gemm_f32 ", 9) == 0;
  }
  cr_assert_eq(gemm, 1, "%s", text);
  cr_assert(dw >= 6 && dw <= 17, "%zu depthwise problems\n%s", dw, text);
  cr_assert(conv >= 15 && conv <= 35, "%zu conv problems\n%s", conv, text);
  cr_assert(strstr(text, "gemm_f32   10x1280") != NULL, "the classifier's key: %s", text);
  free(text);
  unlink(log);
  unlink(path);
  unlink(model);
  rmdir(dir);
}

/* ---------------------------------------------------------------- tune --model's entries reach the engine */

/* The entry tune --model writes for each layer problem of the built-in MobileNet (our kernels chosen wherever
 * they run it) is the one the engine's chooser (engine/profile_choice.c) finds for that layer: an engine created
 * with the profile runs every 1x1 convolution and the classifier on our kernels, from an exact profile match. */
Test(tune_model, conv_entries_reach_the_engine_layers) {
  hwt_model *mdl = NULL;
  char err[512], notes[1024];
  cr_assert_eq(hwt_model_open("mobilenet", &mdl, err, sizeof err), hwt_status_ok, "%s", err);
  const hwt_bench_op ops[] = {hwt_bench_gemm_f32, hwt_bench_conv_f32, hwt_bench_dwconv_f32};
  hwt_tune_layer_shape *v = NULL;
  size_t n = 0;
  cr_assert_eq(hwt_tune_model_shapes(mdl, ops, 3, &v, &n, notes, sizeof notes, err, sizeof err), hwt_status_ok,
               "%s", err);
  hwt_tune_machine m;
  hwt_tune_machine_from_hw(NULL, &m);
  json_t *entries = json_array();
  size_t own_entries = 0;
  for (size_t i = 0; i < n; i++) {
    hwt_tune_problem p;
    hwt_tune_problem_init(&p, v[i].op, &v[i].shape, 1);
    hwt_tune_outcome o;
    memset(&o, 0, sizeof o);
    o.ok = true;
    o.choice.cand = (hwt_tune_candidate){.impl = hwt_bench_xnnpack, .threads = 1, .default_blocking = true};
    hwt_bench_own_caps_t caps;
    if (hwt_tune_own_caps(&p, &m, &caps)) {
      hwt_isa isa = hwt_gemm_best_isa(caps.family);
      o.choice.cand = (hwt_tune_candidate){.impl = hwt_bench_own, .isa = isa, .threads = 1,
                                           .blocking = hwt_tune_clamp_blocking(
                                               &p, p.op, isa, hwt_tune_analytical_blocking(&p, caps.family, isa,
                                                                                           &m.cache))};
      own_entries++;
    }
    o.choice.meas = (hwt_tune_measurement){.median_ns = 1000, .ci_low_ns = 990, .ci_high_ns = 1010};
    json_array_append_new(entries, hwt_tune_entry_json(&p, &o, 0, 0));
  }
  cr_assert(own_entries >= 2, "own kernels offered for %zu of %zu problems", own_entries, n);
  json_t *meta = json_pack("{s:s, s:s}", "objective", "latency", "hwtune_version", "0.1.0");
  json_t *fields = json_pack("{s:s, s:s}", "arch", "x86_64", "brand", "Test CPU");
  char *text = hwt_tune_profile_text(meta, "fp1", fields, entries);
  cr_assert_not_null(text);
  hwt_profile *prof = NULL;
  char msg[512];
  cr_assert_eq(hwt_profile_load_buffer(text, strlen(text), "p.json", &prof, msg, sizeof msg), hwt_status_ok, "%s",
               msg);
  hwt_engine_options opt = {.threads = 1, .chooser = hwt_engine_profile_chooser, .chooser_ctx = prof};
  hwt_engine *e = NULL;
  cr_assert_eq(hwt_engine_create(mdl, 1, &opt, &e, err, sizeof err), hwt_status_ok, "%s", err);
  size_t pointwise = 0;
  for (size_t i = 0; i < mdl->nlayers; i++) {
    const hwt_layer *l = &mdl->layers[i];
    const hwt_layer_choice *c = hwt_engine_layer_choice(e, i);
    bool one = l->type == hwt_layer_conv && l->kh == 1 && l->kw == 1 && l->sh == 1 && l->sw == 1 &&
               l->pad_t == 0 && l->pad_b == 0 && l->pad_l == 0 && l->pad_r == 0 && l->groups <= 1;
    if (!one && l->type != hwt_layer_fc) continue;
    cr_assert_not_null(c);
    cr_assert_eq(c->impl, hwt_impl_own, "layer %zu '%s' runs %d (source '%s')", i, l->name, (int)c->impl,
                 c->source);
    cr_assert_str_eq(c->source, "profile", "layer %zu '%s'", i, l->name);
    pointwise += one;
  }
  cr_assert(pointwise >= 1, "the built-in MobileNet has 1x1 convolutions");
  hwt_engine_destroy(e);
  hwt_profile_free(prof);
  free(text);
  json_decref(entries);
  json_decref(meta);
  json_decref(fields);
  free(v);
  hwt_model_free(mdl);
}
