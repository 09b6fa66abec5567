/* SPDX-License-Identifier: Apache-2.0 */
/* Tester of the gemm_f32 family, expanded over kernels/gemm-f32/gemm_f32.inc: every micro-kernel directly, and
 * every ISA through the plan API, against a double-precision reference. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/gemm_f32_ukernel.h"
#include "hwtune/kernels.h"

/* ---- deterministic data ---- */

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static float rnd(void) {
  g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
  /* uniform in [-1, 1), 24-bit resolution */
  return (float)((int32_t)(g_rng >> 40) - (1 << 23)) / (float)(1 << 23);
}
static void fill(float *p, size_t count) {
  for (size_t i = 0; i < count; i++) p[i] = rnd();
}

/* Sentinel kept between C rows (c_stride > n) to catch writes outside the n columns. */
static const float SENTINEL = -12345.0f;

/* The bound for one output: a K-term fp32 dot product (+ bias, accumulated across K blocks through C, then
 * clamped) differs from the exact value by at most about (K + 2) u sum |a w| (+ |bias|); FLT_EPSILON = 2u. */
static double error_bound(size_t k, double abs_sum) { return (double)(k + 2) * FLT_EPSILON * abs_sum + 1e-30; }

typedef struct problem {
  size_t m, n, k, a_stride, c_stride;
  float *a, *w, *bias, *c;
  float min, max;
} problem;

/* Exact-size allocations (no slack) so the sanitizer build sees any read past A, W or C. */
static void problem_init(problem *p, size_t m, size_t n, size_t k, size_t a_pad, size_t c_pad, bool with_bias,
                         bool clamp) {
  p->m = m;
  p->n = n;
  p->k = k;
  p->a_stride = k + a_pad;
  p->c_stride = n + c_pad;
  p->a = malloc(((m - 1) * p->a_stride + k) * sizeof(float));
  p->w = malloc(n * k * sizeof(float));
  p->bias = with_bias ? malloc(n * sizeof(float)) : NULL;
  p->c = malloc(((m - 1) * p->c_stride + n) * sizeof(float));
  cr_assert(p->a && p->w && p->c && (p->bias || !with_bias));
  fill(p->a, (m - 1) * p->a_stride + k);
  fill(p->w, n * k);
  if (p->bias) fill(p->bias, n);
  for (size_t i = 0; i < (m - 1) * p->c_stride + n; i++) p->c[i] = SENTINEL;
  /* A clamp that bites on some outputs: values are sums of about k terms in [-1, 1]. */
  const float s = clamp ? 0.25f * sqrtf((float)k) : INFINITY;
  p->min = -s;
  p->max = s * 0.5f;
  if (!clamp) p->max = INFINITY;
}

static void problem_free(problem *p) {
  free(p->a);
  free(p->w);
  free(p->bias);
  free(p->c);
}

/* Compares C with the double reference; returns the number of bad elements (and prints the first). */
static size_t problem_check(const problem *p, const char *what) {
  size_t bad = 0;
  for (size_t i = 0; i < p->m; i++) {
    for (size_t j = 0; j < p->n; j++) {
      double ref = p->bias ? p->bias[j] : 0.0, abs_sum = p->bias ? fabs(p->bias[j]) : 0.0;
      for (size_t kk = 0; kk < p->k; kk++) {
        const double prod = (double)p->a[i * p->a_stride + kk] * (double)p->w[j * p->k + kk];
        ref += prod;
        abs_sum += fabs(prod);
      }
      if (isnan(ref)) {
        /* IEEE: NaN stays NaN, through the clamp too. */
        if (isnan(p->c[i * p->c_stride + j])) continue;
      } else {
        ref = ref < p->min ? p->min : ref;
        ref = ref > p->max ? p->max : ref;
        const double got = p->c[i * p->c_stride + j];
        if (isinf(ref) ? got == ref : fabs(got - ref) <= error_bound(p->k, abs_sum)) continue;
      }
      if (bad++ == 0)
        cr_log_error("%s: m=%zu n=%zu k=%zu: C[%zu][%zu] = %.9g, reference %.9g", what, p->m, p->n, p->k, i, j,
                     (double)p->c[i * p->c_stride + j], ref);
    }
    if (i + 1 < p->m)
      for (size_t j = p->n; j < p->c_stride; j++)
        if (p->c[i * p->c_stride + j] != SENTINEL && bad++ == 0)
          cr_log_error("%s: m=%zu n=%zu k=%zu: wrote C[%zu][%zu] past n", what, p->m, p->n, p->k, i, j);
  }
  return bad;
}

/* ---- micro-kernels, one test per row of the family list ---- */

static void check_ukernel(hwt_isa isa, size_t mr, size_t nr, hwt_gemm_f32_ukernel_fn fn, const char *name) {
  if (!hwt_isa_available(isa))
    cr_skip_test("%s: ISA %s not available in this process (CPU or HWTUNE_ISA)", name, hwt_isa_name(isa));
  const size_t ms[] = {1, mr - 1, mr};
  const size_t ns[] = {1, nr - 1, nr, nr + 1, 3 * nr + 5};
  const size_t ks[] = {1, 2, 7, 16, 61};
  size_t bad = 0, runs = 0;
  for (size_t mi = 0; mi < 3; mi++) {
    const size_t m = ms[mi];
    if (m == 0) continue;
    for (size_t ni = 0; ni < 5; ni++)
      for (size_t ki = 0; ki < 5; ki++)
        for (unsigned variant = 0; variant < 4; variant++) {
          const size_t n = ns[ni], k = ks[ki];
          const bool with_bias = variant & 1, clamp = variant & 2;
          problem p;
          problem_init(&p, m, n, k, 3, 5, with_bias, clamp);
          float *packed = malloc(hwt_gemm_f32_packed_floats(n, k, nr) * sizeof(float));
          float *bias = calloc((n + nr - 1) / nr * nr, sizeof(float));
          cr_assert(packed && bias);
          hwt_gemm_f32_pack(n, k, k, nr, p.w, packed);
          if (with_bias) memcpy(bias, p.bias, n * sizeof(float));
          const hwt_gemm_f32_minmax mm = {p.min, p.max};
          if (variant == 3 && k > 1) {
            /* Two K blocks: the first from bias, the second accumulating through C with the clamp. */
            const size_t k1 = (k + 1) / 2;  /* packing by KC = k1 makes exactly two slabs */
            float *packed2 = malloc(hwt_gemm_f32_packed_floats(n, k, nr) * sizeof(float));
            cr_assert(packed2);
            hwt_gemm_f32_pack(n, k, k1, nr, p.w, packed2);
            const size_t n_padded = (n + nr - 1) / nr * nr;
            fn(m, n, k1, p.a, p.a_stride, packed2, bias, p.c, p.c_stride, 0, &mm);
            fn(m, n, k - k1, p.a + k1, p.a_stride, packed2 + k1 * n_padded, bias, p.c, p.c_stride,
               HWT_GEMM_F32_ACCUMULATE | HWT_GEMM_F32_CLAMP, &mm);
            free(packed2);
          } else {
            fn(m, n, k, p.a, p.a_stride, packed, bias, p.c, p.c_stride, clamp ? HWT_GEMM_F32_CLAMP : 0, &mm);
          }
          bad += problem_check(&p, name);
          runs++;
          free(packed);
          free(bias);
          problem_free(&p);
        }
  }
  cr_assert_eq(bad, 0, "%s: %zu wrong elements over %zu runs", name, bad, runs);
}

#define HWT_GEMM_F32_UKERNEL(isa, mr, nr, fn) \
  Test(gemm_f32_ukernel, fn) { check_ukernel(hwt_isa_##isa, mr, nr, fn, #fn); }
#include "gemm-f32/gemm_f32.inc"
#undef HWT_GEMM_F32_UKERNEL

/* ---- plans, one test per ISA level ---- */

static void skip_unless_supported(hwt_isa isa) {
  size_t mr, nr;
  if (!hwt_gemm_tile(hwt_gemm_f32, isa, &mr, &nr))
    cr_skip_test("gemm_f32 registers no kernel for ISA %s in this build", hwt_isa_name(isa));
  if (!hwt_isa_available(isa))
    cr_skip_test("ISA %s not available in this process (CPU or HWTUNE_ISA)", hwt_isa_name(isa));
}

static size_t run_plan_case(hwt_isa isa, size_t m, size_t n, size_t k, bool with_bias, bool clamp,
                            const hwt_gemm_blocking *blk, pthreadpool_t pool) {
  problem p;
  problem_init(&p, m, n, k, 1 + m % 3, 2 + n % 3, with_bias, clamp);
  hwt_gemm_f32_plan *plan = NULL;
  cr_assert_eq(hwt_gemm_f32_create(n, k, p.w, p.bias, p.min, p.max, isa, blk, &plan), hwt_status_ok,
               "create n=%zu k=%zu isa=%s", n, k, hwt_isa_name(isa));
  hwt_gemm_f32_run(plan, m, p.a, p.a_stride, p.c, p.c_stride, pool);
  char what[64];
  snprintf(what, sizeof(what), "plan %s", hwt_isa_name(isa));
  const size_t bad = problem_check(&p, what);
  hwt_gemm_f32_destroy(plan);
  problem_free(&p);
  return bad;
}

/* M in {1, MR-1, MR, MR+1, 2MR+3} x N in {1, NR-1, NR, NR+1, 3NR+5} x K around KC and prime, bias and clamp
 * on/off, strided A and C. With `small`, MC = 2 MR, KC = 16, NC = 2 NR so every blocking loop turns. */
static void check_plan_shapes(hwt_isa isa, bool small, pthreadpool_t pool) {
  skip_unless_supported(isa);
  size_t mr, nr;
  hwt_gemm_tile(hwt_gemm_f32, isa, &mr, &nr);
  hwt_gemm_blocking blk = {2 * mr, 16, 2 * nr};
  if (!small) blk = hwt_gemm_default_blocking(hwt_gemm_f32, isa, NULL);
  const size_t kc = blk.kc;
  const size_t ms[] = {1, mr - 1, mr, mr + 1, 2 * mr + 3};
  const size_t ns[] = {1, nr - 1, nr, nr + 1, 3 * nr + 5};
  const size_t ks[] = {1, kc - 1, kc, kc + 1, 2 * kc + 3, 37};
  size_t bad = 0;
  for (size_t mi = 0; mi < 5; mi++)
    for (size_t ni = 0; ni < 5; ni++)
      for (size_t ki = 0; ki < 6; ki++) {
        if (ms[mi] == 0 || ks[ki] == 0) continue;
        for (unsigned variant = 0; variant < 4; variant++)
          bad += run_plan_case(isa, ms[mi], ns[ni], ks[ki], variant & 1, variant & 2, small ? &blk : NULL, pool);
      }
  cr_assert_eq(bad, 0, "isa %s: %zu wrong elements", hwt_isa_name(isa), bad);
}

#define PLAN_TESTS(isa)                                                                                 \
  Test(gemm_f32_plan, shapes_##isa) { check_plan_shapes(hwt_isa_##isa, false, NULL); }                  \
  Test(gemm_f32_plan, small_blocking_##isa) { check_plan_shapes(hwt_isa_##isa, true, NULL); }           \
  Test(gemm_f32_plan, tiny_cache_budget_##isa) {                                                        \
    /* Criterion runs each test in its own process, so the global budget does not leak into other tests. */ \
    const hwt_cache_budget tiny = {1u << 10, 4u << 10, 16u << 10};                                      \
    hwt_kernels_set_cache_budget(&tiny);                                                                \
    check_plan_shapes(hwt_isa_##isa, false, NULL);                                                      \
  }                                                                                                     \
  Test(gemm_f32_plan, two_threads_equal_one_##isa) {                                                    \
    skip_unless_supported(hwt_isa_##isa);                                                               \
    check_threads_equal(hwt_isa_##isa);                                                                 \
  }                                                                                                     \
  Test(gemm_f32_plan, nan_inf_##isa) {                                                                  \
    skip_unless_supported(hwt_isa_##isa);                                                               \
    check_nan_inf(hwt_isa_##isa);                                                                       \
  }

/* A 2-thread pool must give bit-identical results to the calling thread alone. */
static void check_threads_equal(hwt_isa isa) {
  pthreadpool_t pool = pthreadpool_create(2);
  cr_assert_not_null(pool);
  cr_assert_eq(pthreadpool_get_threads_count(pool), 2);
  size_t mr, nr;
  hwt_gemm_tile(hwt_gemm_f32, isa, &mr, &nr);
  const size_t shapes[][3] = {{1, 3 * nr + 5, 40}, {2 * mr + 3, 5 * nr + 1, 70}, {37, 2 * nr, 33}, {64, 1, 9},
                              {5 * mr, 9 * nr + 3, 129}};
  const hwt_gemm_blocking blks[] = {{0, 0, 0}, {2 * mr, 16, 2 * nr}, {mr, 32, nr}};
  for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
    for (size_t b = 0; b < 3; b++) {
      const size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
      problem p;
      problem_init(&p, m, n, k, 2, 3, true, true);
      const size_t c_len = (m - 1) * p.c_stride + n;
      float *c1 = malloc(c_len * sizeof(float));
      cr_assert_not_null(c1);
      memcpy(c1, p.c, c_len * sizeof(float));
      hwt_gemm_f32_plan *plan = NULL;
      cr_assert_eq(hwt_gemm_f32_create(n, k, p.w, p.bias, p.min, p.max, isa, &blks[b], &plan), hwt_status_ok);
      hwt_gemm_f32_run(plan, m, p.a, p.a_stride, c1, p.c_stride, NULL);
      hwt_gemm_f32_run(plan, m, p.a, p.a_stride, p.c, p.c_stride, pool);
      cr_assert_eq(memcmp(c1, p.c, c_len * sizeof(float)), 0, "isa %s m=%zu n=%zu k=%zu blocking #%zu: 2 threads "
                   "differ from 1", hwt_isa_name(isa), m, n, k, b);
      cr_assert_eq(problem_check(&p, "two threads"), 0);
      hwt_gemm_f32_destroy(plan);
      free(c1);
      problem_free(&p);
    }
  pthreadpool_destroy(pool);
}

/* NaN and Inf in A or W propagate as IEEE arithmetic says (NaN * x = NaN, Inf * 0 = NaN, Inf + -Inf = NaN),
 * across K blocks, and NaN passes the clamp. */
static void check_nan_inf(hwt_isa isa) {
  size_t mr, nr;
  hwt_gemm_tile(hwt_gemm_f32, isa, &mr, &nr);
  const size_t m = mr + 1, n = 2 * nr + 3, k = 45;
  const hwt_gemm_blocking blk = {mr, 16, nr};
  for (unsigned variant = 0; variant < 2; variant++) {
    problem p;
    problem_init(&p, m, n, k, 1, 1, true, variant == 1);
    p.a[0 * p.a_stride + 3] = NAN;                 /* row 0: all NaN */
    p.a[1 * p.a_stride + 20] = INFINITY;           /* row 1: +-Inf by sign of w[j][20], NaN where w = 0 */
    p.w[2 * k + 20] = 0.0f;                        /* ... Inf * 0 = NaN at column 2 */
    p.a[2 * p.a_stride + 5] = INFINITY;            /* row 2: Inf * w5 + -Inf * w40 ... */
    p.a[2 * p.a_stride + 40] = -INFINITY;
    p.w[(n - 1) * k + 30] = INFINITY;              /* last column: +-Inf by sign of a[i][30] */
    p.w[(n - 2) * k + 7] = NAN;                    /* column n-2: NaN */
    hwt_gemm_f32_plan *plan = NULL;
    cr_assert_eq(hwt_gemm_f32_create(n, k, p.w, p.bias, p.min, p.max, isa, &blk, &plan), hwt_status_ok);
    hwt_gemm_f32_run(plan, m, p.a, p.a_stride, p.c, p.c_stride, NULL);
    cr_assert_eq(problem_check(&p, "nan/inf"), 0, "isa %s clamp=%u", hwt_isa_name(isa), variant);
    cr_assert(isnan(p.c[0]), "NaN in A must give NaN");
    cr_assert(isnan(p.c[1 * p.c_stride + 2]), "Inf * 0 must give NaN");
    cr_assert(isnan(p.c[(m - 1) * p.c_stride + n - 2]), "NaN in W must give NaN");
    if (variant == 0) cr_assert(isinf(p.c[(m - 1) * p.c_stride + n - 1]), "Inf in W must give +-Inf");
    hwt_gemm_f32_destroy(plan);
    problem_free(&p);
  }
}

PLAN_TESTS(scalar)
PLAN_TESTS(avx2)
PLAN_TESTS(avx512f)
PLAN_TESTS(neon)

/* ---- API contract ---- */

Test(gemm_f32_api, rejects_bad_arguments) {
  float w[6] = {1, 2, 3, 4, 5, 6};
  hwt_gemm_f32_plan *plan = (hwt_gemm_f32_plan *)&plan;  /* must stay untouched on failure */
  hwt_gemm_f32_plan *const sentinel = plan;
  cr_assert_eq(hwt_gemm_f32_create(0, 3, w, NULL, -INFINITY, INFINITY, hwt_isa_scalar, NULL, &plan),
               hwt_status_invalid_argument);
  cr_assert_eq(hwt_gemm_f32_create(2, 0, w, NULL, -INFINITY, INFINITY, hwt_isa_scalar, NULL, &plan),
               hwt_status_invalid_argument);
  cr_assert_eq(hwt_gemm_f32_create(2, 3, NULL, NULL, -INFINITY, INFINITY, hwt_isa_scalar, NULL, &plan),
               hwt_status_invalid_argument);
  cr_assert_eq(hwt_gemm_f32_create(2, 3, w, NULL, -INFINITY, INFINITY, hwt_isa_scalar, NULL, NULL),
               hwt_status_invalid_argument);
  cr_assert_eq(hwt_gemm_f32_create(2, 3, w, NULL, 1.0f, -1.0f, hwt_isa_scalar, NULL, &plan),
               hwt_status_invalid_argument);
  cr_assert_eq(hwt_gemm_f32_create(2, 3, w, NULL, NAN, INFINITY, hwt_isa_scalar, NULL, &plan),
               hwt_status_invalid_argument);
  cr_assert_eq(hwt_gemm_f32_create(2, 3, w, NULL, -INFINITY, INFINITY, hwt_isa_count, NULL, &plan),
               hwt_status_unsupported);
#if defined(__x86_64__)
  cr_assert_eq(hwt_gemm_f32_create(2, 3, w, NULL, -INFINITY, INFINITY, hwt_isa_neon, NULL, &plan),
               hwt_status_unsupported);
#endif
  cr_assert_eq(plan, sentinel);
  hwt_gemm_f32_destroy(NULL);
  cr_assert_eq(hwt_gemm_f32_plan_bytes(NULL), 0);
}

Test(gemm_f32_api, blocking_is_legal_and_reported) {
  const size_t n = 50, k = 70;
  float *w = calloc(n * k, sizeof(float));
  cr_assert_not_null(w);
  const hwt_isa isa = hwt_gemm_best_isa(hwt_gemm_f32);
  size_t mr, nr;
  cr_assert(hwt_gemm_tile(hwt_gemm_f32, isa, &mr, &nr));
  hwt_gemm_f32_plan *plan = NULL;
  const hwt_gemm_blocking want = {mr + 1, 1000, 1};
  cr_assert_eq(hwt_gemm_f32_create(n, k, w, NULL, -INFINITY, INFINITY, isa, &want, &plan), hwt_status_ok);
  const hwt_gemm_blocking got = hwt_gemm_f32_plan_blocking(plan);
  cr_assert_eq(got.mc, 2 * mr, "MC rounds up to a multiple of MR");
  cr_assert_eq(got.kc, k, "KC is capped at K");
  cr_assert_eq(got.nc, nr, "NC rounds up to a multiple of NR");
  cr_assert_geq(hwt_gemm_f32_plan_bytes(plan), (n + nr - 1) / nr * nr * k * sizeof(float));
  hwt_gemm_f32_destroy(plan);

  /* Defaults: the analytical model's values, legal. */
  cr_assert_eq(hwt_gemm_f32_create(n, k, w, NULL, -INFINITY, INFINITY, isa, NULL, &plan), hwt_status_ok);
  const hwt_gemm_blocking def = hwt_gemm_f32_plan_blocking(plan);
  cr_assert(def.mc > 0 && def.mc % mr == 0 && def.nc % nr == 0 && def.kc >= 1 && def.kc <= k);
  hwt_gemm_f32_destroy(plan);
  free(w);
}

Test(gemm_f32_api, list_rows_are_consistent) {
  /* One packing per ISA: every row of an ISA shares NR with that ISA's main tile. */
  for (size_t i = 0; i < hwt_gemm_f32_ukernel_count; i++) {
    const hwt_gemm_f32_ukernel_info *u = &hwt_gemm_f32_ukernels[i];
    size_t mr, nr;
    cr_assert(hwt_gemm_tile(hwt_gemm_f32, u->isa, &mr, &nr));
    cr_assert_eq(u->nr, nr, "%s: nr %zu differs from its isa's %zu", u->name, u->nr, nr);
    cr_assert_leq(u->mr, mr);
  }
  cr_assert(hwt_gemm_isa_supported(hwt_gemm_f32, hwt_isa_scalar));
}

Test(gemm_f32_api, m_zero_is_a_no_op) {
  float w[4] = {1, 2, 3, 4}, c[2] = {7, 7};
  hwt_gemm_f32_plan *plan = NULL;
  cr_assert_eq(hwt_gemm_f32_create(2, 2, w, NULL, -INFINITY, INFINITY, hwt_isa_scalar, NULL, &plan),
               hwt_status_ok);
  hwt_gemm_f32_run(plan, 0, NULL, 2, c, 2, NULL);
  cr_assert(c[0] == 7 && c[1] == 7);
  hwt_gemm_f32_destroy(plan);
}
