/* SPDX-License-Identifier: Apache-2.0 */
/* The tuner's search space for one problem, its analytical start point, and the "simpler" order. */
#include <stdlib.h>
#include <string.h>

#include "tuner.h"

void hwt_tune_problem_init(hwt_tune_problem *p, hwt_bench_op op, const hwt_bench_shape *shape, size_t batch) {
  memset(p, 0, sizeof *p);
  p->op = op;
  p->shape = *shape;
  p->batch = batch ? batch : 1;
  if (!shape->conv) {
    p->n = shape->n;
    p->k = shape->k;
    p->rows = p->batch;
    return;
  }
  size_t stride = shape->stride ? shape->stride : 1;
  size_t kh = shape->kh ? shape->kh : 1, kw = shape->kw ? shape->kw : 1;
  size_t out_h = shape->h + 2 * shape->pad >= kh ? (shape->h + 2 * shape->pad - kh) / stride + 1 : 1;
  size_t out_w = shape->w + 2 * shape->pad >= kw ? (shape->w + 2 * shape->pad - kw) / stride + 1 : 1;
  size_t groups = hwt_bench_op_is_dwconv(op) ? (shape->c ? shape->c : 1) : 1;
  p->n = shape->out_c_given ? shape->out_c : shape->c;
  p->k = kh * kw * (shape->c / groups ? shape->c / groups : 1);
  p->rows = p->batch * out_h * out_w;
}

bool hwt_tune_own_caps(const hwt_tune_problem *p, const hwt_tune_machine *m, hwt_bench_own_caps_t *caps) {
  if (!hwt_bench_own_caps(p->op, &p->shape, p->batch, caps)) return false;
  if (caps->gemm) {
    caps->runs = false;
    for (int i = 0; i < hwt_isa_count; i++) {
      caps->isa[i] = m->own_isa[caps->family][i];
      caps->runs = caps->runs || caps->isa[i];
    }
  }
  bool simd = false;
  for (int i = hwt_isa_scalar + 1; i < hwt_isa_count; i++) simd = simd || caps->isa[i];
  if (simd) caps->isa[hwt_isa_scalar] = false;
  return caps->runs;
}

/* The GEMM family of a problem our GEMM plans run (with a blocking). */
static bool op_family(const hwt_tune_problem *p, hwt_gemm_family *f) {
  hwt_bench_own_caps_t caps;
  if (!hwt_bench_own_caps(p->op, &p->shape, p->batch, &caps) || !caps.gemm) return false;
  *f = caps.family;
  return true;
}

void hwt_tune_machine_from_hw(const hwt_hw *hw, hwt_tune_machine *m) {
  memset(m, 0, sizeof *m);
  m->usable_cpus = hw && hw->usable_cpus ? hw->usable_cpus : 1;
  m->cache.l1d = hwt_hw_cache_budget(hw, 1, NULL);
  m->cache.l2 = hwt_hw_cache_budget(hw, 2, NULL);
  m->cache.l3_share = hwt_hw_cache_budget(hw, 3, NULL);
  for (int f = 0; f < hwt_gemm_family_count; f++)
    for (int i = 0; i < hwt_isa_count; i++) m->own_isa[f][i] = hwt_gemm_isa_supported((hwt_gemm_family)f, (hwt_isa)i);
}

/* A thread pays for its wake-up and its share of the tail with about 1 MFLOP of fp32 work (10-20 us of one core
 * here). The race cannot see that cost on a small layer: its bursts call back to back on the bench's pinned
 * pthreadpool, whose idle workers spin ~16 ms, so no call there ever wakes one, while the runtime's pool
 * (engine/pool.h) sleeps a worker after 50 us and runs jobs on the caller alone while its workers lag. 256x784 at
 * batch 1 (0.4 MFLOP, ~8 us): the race had 2 threads 7% ahead (bench alone, same moment: 6.06 vs 8.02 us), two
 * re-measurements had 1 thread 16-18% faster, the race on the runtime's pool (HWTUNE_TUNE_POOL=runtime) had them
 * even (8.14 vs 8.08 us); in int8 the same shape ran at 0.4x on 2 threads. So a ~10 us layer is not offered a
 * second thread at all (hwt_tune_threads_may_pay). int8 multiply-adds go about 4x faster (VNNI), so they count
 * a quarter. */
static const double thread_flops = 1.0e6;

static double flops_of(const hwt_tune_problem *p) {
  double f = 2.0 * (double)p->rows * (double)p->n * (double)p->k;
  return hwt_bench_op_is_qs8(p->op) ? f / 4 : f;
}

unsigned hwt_tune_analytical_threads(const hwt_tune_problem *p, unsigned usable_cpus) {
  double flops = flops_of(p);
  if (usable_cpus <= 1 || flops < 2 * thread_flops) return 1;
  double t = flops / thread_flops;
  return t >= usable_cpus ? usable_cpus : (unsigned)t;
}

bool hwt_tune_threads_may_pay(const hwt_tune_problem *p) { return flops_of(p) >= thread_flops; }

static size_t round_up(size_t v, size_t m) { return m ? (v + m - 1) / m * m : v; }

hwt_gemm_blocking hwt_tune_analytical_blocking(const hwt_tune_problem *p, hwt_gemm_family f, hwt_isa isa,
                                               const hwt_cache_budget *cache) {
  hwt_gemm_blocking a = hwt_gemm_default_blocking(f, isa, cache);
  size_t mr = 1, nr = 1;
  hwt_gemm_tile(f, isa, &mr, &nr);
  /* One row group (a GEMV): KC keeps a KC x NR weight panel in L1 for the next rows, and there are none. Blocking
   * K then only adds passes over C: measured at batch 1 on this kind of machine, KC = K ran as fast as or faster
   * than the L1 value (256x784 avx512f on 2 threads: 4.8 us at KC 784, 6.0 us at KC 160). */
  if (p->rows <= (mr ? mr : 1) && p->k > 0) a.kc = p->k;
  return a;
}

hwt_gemm_blocking hwt_tune_clamp_blocking(const hwt_tune_problem *p, hwt_bench_op op, hwt_isa isa,
                                          hwt_gemm_blocking b) {
  hwt_gemm_family f;
  size_t mr = 1, nr = 1;
  (void)op;
  if (op_family(p, &f)) hwt_gemm_tile(f, isa, &mr, &nr);
  if (mr == 0) mr = 1;
  if (nr == 0) nr = 1;
  size_t mc = round_up(b.mc ? b.mc : mr, mr), mmax = round_up(p->rows ? p->rows : 1, mr);
  size_t nc = round_up(b.nc ? b.nc : nr, nr), nmax = round_up(p->n ? p->n : 1, nr);
  size_t kc = b.kc ? b.kc : p->k;
  if (kc < p->k) kc = round_up(kc, 8);
  if (kc > p->k) kc = p->k;
  hwt_gemm_blocking out = {mc < mmax ? mc : mmax, kc ? kc : 1, nc < nmax ? nc : nmax};
  return out;
}

bool hwt_tune_same(const hwt_tune_candidate *a, const hwt_tune_candidate *b) {
  if (a->impl != b->impl || a->threads != b->threads) return false;
  if (a->impl != hwt_bench_own) return true;
  return a->isa == b->isa && a->blocking.mc == b->blocking.mc && a->blocking.kc == b->blocking.kc &&
         a->blocking.nc == b->blocking.nc;
}

int hwt_tune_simpler(const hwt_tune_candidate *a, const hwt_tune_candidate *b) {
  if (a->threads != b->threads) return a->threads < b->threads ? -1 : 1;
  int ia = a->impl == hwt_bench_xnnpack ? 0 : 1, ib = b->impl == hwt_bench_xnnpack ? 0 : 1;
  if (ia != ib || ia == 0) return ia - ib;
  unsigned wa = hwt_isa_vector_bits(a->isa), wb = hwt_isa_vector_bits(b->isa);
  return wa == wb ? 0 : wa < wb ? -1 : 1;
}

typedef struct cand_vec {
  hwt_tune_candidate *v;
  size_t n, cap;
} cand_vec;

static bool push_unique(cand_vec *cv, const hwt_tune_candidate *c) {
  for (size_t i = 0; i < cv->n; i++) {
    if (hwt_tune_same(&cv->v[i], c)) {
      if (c->default_blocking) cv->v[i].default_blocking = true;
      return true;
    }
  }
  if (cv->n == cv->cap) {
    size_t cap = cv->cap ? cv->cap * 2 : 64;
    hwt_tune_candidate *v = realloc(cv->v, cap * sizeof *v);
    if (!v) return false;
    cv->v = v;
    cv->cap = cap;
  }
  cv->v[cv->n++] = *c;
  return true;
}

hwt_status hwt_tune_space(const hwt_tune_problem *p, const hwt_tune_machine *m, hwt_tune_candidate **out,
                          size_t *count) {
  cand_vec cv = {0};
  unsigned usable = m->usable_cpus ? m->usable_cpus : 1;
  for (unsigned t = 1; t <= usable; t++) {
    hwt_tune_candidate c = {.impl = hwt_bench_xnnpack, .threads = t, .default_blocking = true};
    if (!push_unique(&cv, &c)) goto oom;
  }
  hwt_bench_own_caps_t caps;
  if (hwt_tune_own_caps(p, m, &caps)) {
    for (int i = 0; i < hwt_isa_count; i++) {
      if (!caps.isa[i]) continue;
      if (!caps.gemm) {
        for (unsigned t = 1; t <= usable; t++) {
          hwt_tune_candidate c = {.impl = hwt_bench_own, .isa = (hwt_isa)i, .threads = t, .default_blocking = true};
          if (!push_unique(&cv, &c)) goto oom;
        }
        continue;
      }
      hwt_gemm_blocking a = hwt_tune_analytical_blocking(p, caps.family, (hwt_isa)i, &m->cache);
      static const double scale[5] = {0.25, 0.5, 1.0, 2.0, 4.0};
      for (unsigned t = 1; t <= usable; t++) {
        for (int x = 0; x < 5; x++) {
          for (int y = 0; y < 5; y++) {
            for (int z = 0; z < 5; z++) {
              hwt_gemm_blocking b = {(size_t)((double)a.mc * scale[x]), (size_t)((double)a.kc * scale[y]),
                                     (size_t)((double)a.nc * scale[z])};
              hwt_tune_candidate c = {.impl = hwt_bench_own, .isa = (hwt_isa)i, .threads = t,
                                      .blocking = hwt_tune_clamp_blocking(p, p->op, (hwt_isa)i, b),
                                      .default_blocking = x == 2 && y == 2 && z == 2};
              if (!push_unique(&cv, &c)) goto oom;
            }
          }
        }
      }
    }
  }
  *out = cv.v;
  *count = cv.n;
  return hwt_status_ok;
oom:
  free(cv.v);
  return hwt_status_out_of_memory;
}
