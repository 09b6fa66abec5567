/* SPDX-License-Identifier: Apache-2.0 */
/* Tester of the sparse-weight plans (hwtune/spmm.h) against the dense product in double on edge shapes: M = 1, 2,
 * 7, tile boundaries (8, 16, 32 rows and one past), N or K = 1, odd sizes, strides wider than K and N, K past the
 * 16-bit index range; sparsities 0% to 100% with all-zero output channels and input columns; NaN and Inf weights;
 * clamps; bias NULL; at every ISA level this process may use (HWTUNE_ISA caps them), on 1 and 2 threads. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hwtune/spmm.h"

typedef struct rng {
  uint64_t s;
} rng;
static uint32_t rnd(rng *r) {
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return (uint32_t) (r->s >> 32);
}

enum { PAT_RANDOM, PAT_ZERO_ROWS, PAT_ZERO_COLS, PAT_NONFINITE, PAT_BLOCK4 };

typedef struct sc {
  size_t m, n, k, pad_a, pad_c;
  double sparsity;
  int pattern;
  bool bias, clamp;
} sc;

static const sc cases[] = {
    {1, 1, 1, 0, 0, 0.0, PAT_RANDOM, true, false},
    {1, 256, 784, 0, 0, 0.9, PAT_RANDOM, true, false},    /* the MLP's first layer, batch 1 */
    {8, 256, 784, 0, 0, 0.9, PAT_RANDOM, true, true},     /* batch 8 */
    {2, 7, 13, 3, 5, 0.5, PAT_RANDOM, false, false},
    {7, 1, 33, 1, 2, 0.5, PAT_RANDOM, true, true},        /* N = 1 */
    {7, 9, 1, 0, 0, 0.0, PAT_RANDOM, true, false},        /* K = 1 */
    {8, 17, 19, 0, 1, 0.99, PAT_RANDOM, true, false},
    {9, 24, 40, 2, 0, 0.5, PAT_RANDOM, false, true},
    {16, 8, 64, 0, 0, 0.75, PAT_RANDOM, true, false},
    {17, 15, 31, 1, 1, 0.5, PAT_ZERO_ROWS, true, false},
    {32, 33, 70, 0, 3, 0.9, PAT_ZERO_COLS, true, false},
    {33, 40, 48, 5, 0, 0.5, PAT_RANDOM, true, true},      /* a 32-row tile and a single row */
    {49, 160, 96, 0, 0, 0.9, PAT_RANDOM, true, true},     /* 7x7 pixels */
    {64, 64, 512, 0, 0, 0.5, PAT_RANDOM, true, false},    /* enough work for 2 threads, split over rows */
    {3, 200, 300, 0, 0, 0.5, PAT_RANDOM, true, false},    /* split over channels */
    {161, 64, 200, 3, 1, 0.5, PAT_RANDOM, true, true},    /* split over 32-row tiles on 2 threads, a last row */
    {20, 12, 50, 0, 0, 0.8, PAT_NONFINITE, true, false},
    {1, 12, 50, 0, 0, 0.8, PAT_NONFINITE, false, false},
    {5, 10, 20, 0, 0, 1.0, PAT_RANDOM, true, false},      /* all zero: the bias, clamped */
    {1, 10, 20, 0, 0, 1.0, PAT_RANDOM, false, true},
    {2, 3, 70000, 0, 0, 0.9, PAT_RANDOM, true, false},    /* 32-bit input indices */
    {1, 3, 70000, 0, 0, 0.9, PAT_RANDOM, true, false},
    /* one row on AVX-512: the sliced kernel (16 channels x 32-input windows): N and K off those multiples,
     * empty windows, zero channels, enough channels to split over 2 threads */
    {1, 17, 33, 0, 0, 0.5, PAT_RANDOM, true, true},
    {1, 33, 65, 2, 0, 0.9, PAT_RANDOM, false, false},
    {1, 16, 32, 0, 0, 0.3, PAT_RANDOM, true, false},
    {1, 31, 100, 0, 0, 0.99, PAT_RANDOM, true, false},
    {1, 40, 96, 0, 0, 0.5, PAT_ZERO_ROWS, true, true},
    {1, 24, 70, 0, 0, 0.75, PAT_ZERO_COLS, true, false},
    {1, 2048, 512, 0, 0, 0.5, PAT_RANDOM, true, false},
    {11, 5, 66000, 7, 0, 0.5, PAT_RANDOM, false, false},
    /* pruned in blocks of 4 output channels x 1 input: the block kernels, N not a multiple of 4 */
    {1, 256, 784, 0, 0, 0.9, PAT_BLOCK4, true, false},
    {8, 256, 784, 0, 0, 0.9, PAT_BLOCK4, true, true},
    {1, 10, 37, 0, 3, 0.5, PAT_BLOCK4, true, true},
    {2, 7, 9, 2, 1, 0.0, PAT_BLOCK4, false, false},
    {17, 13, 64, 0, 0, 0.75, PAT_BLOCK4, true, false},
    {33, 6, 20, 1, 1, 0.5, PAT_BLOCK4, false, true},
    {49, 160, 96, 0, 0, 0.9, PAT_BLOCK4, true, false},
    {64, 64, 512, 0, 0, 0.5, PAT_BLOCK4, true, false},
    {3, 200, 300, 0, 0, 0.5, PAT_BLOCK4, true, false},
    {150, 66, 200, 0, 2, 0.5, PAT_BLOCK4, true, true},
    {9, 3, 5, 0, 0, 0.99, PAT_BLOCK4, true, false},
};
enum { NCASES = sizeof(cases) / sizeof(cases[0]) };

static void fill_weights(const sc *c, rng *r, float *w) {
  for (size_t i = 0; i < c->n * c->k; i++) {
    bool zero = (double) (rnd(r) % 1000000) / 1e6 < c->sparsity;
    w[i] = zero ? ((rnd(r) & 1) ? 0.0f : -0.0f) : (float) (rnd(r) % 2001) / 1000.0f - 1.0f;
    if (!zero && w[i] == 0.0f) w[i] = 0.5f;
  }
  if (c->pattern == PAT_ZERO_ROWS)
    for (size_t n = 0; n < c->n; n += 3) memset(w + n * c->k, 0, c->k * sizeof(float));
  if (c->pattern == PAT_ZERO_COLS)
    for (size_t n = 0; n < c->n; n++)
      for (size_t k = 0; k < c->k; k += 2) w[n * c->k + k] = 0.0f;
  if (c->pattern == PAT_BLOCK4) /* whole blocks zero or whole blocks nonzero */
    for (size_t g = 0; g < c->n; g += 4)
      for (size_t k = 0; k < c->k; k++) {
        bool zero = (double) (rnd(r) % 1000000) / 1e6 < c->sparsity;
        for (size_t q = g; q < g + 4 && q < c->n; q++)
          w[q * c->k + k] = zero ? 0.0f : (float) (rnd(r) % 1000 + 1) / 1000.0f - ((q & 1) ? 1.5f : 0.0f);
      }
  if (c->pattern == PAT_NONFINITE) {
    w[0] = NAN;
    w[c->k + 3] = INFINITY;
    w[2 * c->k + 1] = -INFINITY;
    w[3 * c->k + 2] = INFINITY;
    w[3 * c->k + 7] = -INFINITY; /* Inf - Inf = NaN in any order */
  }
}

static void check(const sc *c, hwt_isa isa, size_t threads) {
  size_t lda = c->k + c->pad_a, ldc = c->n + c->pad_c;
  rng r = {0x9e3779b97f4a7c15ull ^ (c->m * 1000003 + c->n * 101 + c->k)};
  float *a = malloc(c->m * lda * sizeof(float)), *w = malloc(c->n * c->k * sizeof(float));
  float *b = malloc(c->n * sizeof(float)), *out = malloc(c->m * ldc * sizeof(float));
  cr_assert(a && w && b && out);
  for (size_t i = 0; i < c->m * lda; i++) a[i] = (float) (rnd(&r) % 2001) / 1000.0f - 1.0f;
  fill_weights(c, &r, w);
  for (size_t i = 0; i < c->n; i++) b[i] = (float) (rnd(&r) % 201) / 100.0f - 1.0f;
  for (size_t i = 0; i < c->m * ldc; i++) out[i] = 12345.0f; /* padding must survive */
  float lo = c->clamp ? -0.5f : -INFINITY, hi = c->clamp ? 0.75f : INFINITY;
  size_t nnz = 0;
  for (size_t i = 0; i < c->n * c->k; i++) nnz += w[i] != 0.0f;
  cr_assert_float_eq(hwt_sparsity_f32(w, c->n * c->k), 1.0 - (double) nnz / (double) (c->n * c->k), 1e-12);

  hwt_spmm_f32_plan *plan = NULL;
  cr_assert_eq(hwt_spmm_f32_create(c->n, c->k, w, c->bias ? b : NULL, lo, hi, isa, &plan), hwt_status_ok);
  cr_assert_eq(hwt_spmm_f32_plan_nnz(plan), nnz);
  cr_assert_geq(hwt_spmm_f32_plan_bytes(plan), nnz * sizeof(float));
  const char *fmt = hwt_spmm_f32_plan_format(plan);
  if (c->pattern == PAT_BLOCK4)
    cr_assert_str_eq(fmt, "block 4x1");
  else if (c->k > 65536)
    cr_assert_str_eq(fmt, "csr32");
  else if (c->sparsity <= 0.9 && c->n >= 4 && c->k > 1 && c->pattern != PAT_NONFINITE)
    cr_assert_str_eq(fmt, "csr", "%zux%zu s%.2f: format %s", c->n, c->k, c->sparsity, fmt);
  hwt_isa got = hwt_spmm_f32_plan_isa(plan);
  cr_assert((hwt_isa_required_features(got) & ~hwt_isa_required_features(isa)) == 0, "plan isa %s above %s",
            hwt_isa_name(got), hwt_isa_name(isa));
  pthreadpool_t pool = threads > 1 ? pthreadpool_create(threads) : NULL;
  for (int rep = 0; rep < 2; rep++) { /* a plan runs any number of times */
    hwt_spmm_f32_run(plan, c->m, a, lda, out, ldc, pool);
    for (size_t i = 0; i < c->m; i++) {
      for (size_t n = 0; n < c->n; n++) {
        double acc = c->bias ? b[n] : 0.0, mag = fabs(acc);
        for (size_t k = 0; k < c->k; k++) {
          acc += (double) a[i * lda + k] * w[n * c->k + k];
          mag += fabs((double) a[i * lda + k] * w[n * c->k + k]);
        }
        float ref = (float) acc;
        ref = ref < lo ? lo : ref > hi ? hi : ref;
        float got_v = out[i * ldc + n];
        bool ok = isnan(ref) ? isnan(got_v) : isinf(ref) ? got_v == ref : fabs(got_v - ref) <= 1e-5 * mag + 1e-6;
        cr_assert(ok, "%zux%zux%zu s%.2f isa %s threads %zu: c[%zu][%zu] = %g, reference %g", c->m, c->n, c->k,
                  c->sparsity, hwt_isa_name(got), threads, i, n, got_v, ref);
      }
      for (size_t n = c->n; n < ldc; n++) cr_assert_eq(out[i * ldc + n], 12345.0f, "c padding written");
    }
  }
  if (pool) pthreadpool_destroy(pool);
  hwt_spmm_f32_destroy(plan);
  free(a), free(w), free(b), free(out);
}

Test(spmm, f32_edge_shapes_all_isas) {
  int tested = 0;
  for (int isa = 0; isa < hwt_isa_count; isa++) {
    if (!hwt_isa_available((hwt_isa) isa)) continue;
    for (size_t i = 0; i < NCASES; i++)
      for (size_t t = 1; t <= 2; t++) check(&cases[i], (hwt_isa) isa, t);
    tested++;
  }
  cr_assert_geq(tested, 1);
}

Test(spmm, best_isa_and_block_shape) {
  hwt_isa best = hwt_spmm_best_isa();
  cr_assert(hwt_isa_available(best));
  const char *cap = getenv("HWTUNE_ISA");
  if (cap != NULL && strcmp(cap, "scalar") == 0) cr_assert_eq(best, hwt_isa_scalar);
  uint32_t bn = 0, bk = 0;
  hwt_spmm_block_shape(best, &bn, &bk);
  cr_assert(bn >= 1 && bk >= 1 && bn <= 64 && bk <= 64);
  float w[4] = {1, 0, 0, 2};
  hwt_spmm_f32_plan *p = NULL;
  cr_assert_eq(hwt_spmm_f32_create(2, 2, w, NULL, -INFINITY, INFINITY, best, &p), hwt_status_ok);
  cr_assert_eq(hwt_spmm_f32_plan_isa(p), best);
  hwt_spmm_f32_destroy(p);
}

Test(spmm, rejects_bad_arguments) {
  float w[4] = {1, 0, 0, 2};
  hwt_spmm_f32_plan *p = (hwt_spmm_f32_plan *) 1;
  cr_assert_eq(hwt_spmm_f32_create(0, 2, w, NULL, -INFINITY, INFINITY, hwt_isa_scalar, &p),
               hwt_status_invalid_argument);
  cr_assert_null(p);
  cr_assert_eq(hwt_spmm_f32_create(2, 0, w, NULL, -INFINITY, INFINITY, hwt_isa_scalar, &p),
               hwt_status_invalid_argument);
  cr_assert_eq(hwt_spmm_f32_create(2, 2, NULL, NULL, -INFINITY, INFINITY, hwt_isa_scalar, &p),
               hwt_status_invalid_argument);
  cr_assert_eq(hwt_spmm_f32_create(2, 2, w, NULL, 1.0f, 0.0f, hwt_isa_scalar, &p), hwt_status_invalid_argument);
  cr_assert_eq(hwt_spmm_f32_create(2, 2, w, NULL, NAN, 0.0f, hwt_isa_scalar, &p), hwt_status_invalid_argument);
  cr_assert_eq(hwt_spmm_f32_create(2, 2, w, NULL, 0.0f, 1.0f, hwt_isa_count, &p), hwt_status_unsupported);
  cr_assert_eq(hwt_spmm_f32_create(2, 2, w, NULL, 0.0f, 1.0f, hwt_isa_scalar, NULL), hwt_status_invalid_argument);
  cr_assert_eq(hwt_sparsity_f32(NULL, 4), 0.0);
  cr_assert_eq(hwt_sparsity_f32(w, 0), 0.0);
  hwt_spmm_f32_run(NULL, 1, w, 2, w, 2, NULL);
  hwt_spmm_f32_destroy(NULL);
  cr_assert_eq(hwt_spmm_f32_plan_nnz(NULL), 0);
}
