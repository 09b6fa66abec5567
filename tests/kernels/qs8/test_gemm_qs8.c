/* SPDX-License-Identifier: Apache-2.0 */
/* Tester of the qs8 GEMM family, expanded over its list: every micro-kernel and every ISA's plan against an exact
 * scalar reference, and against Debian's XNNPACK fully_connected_nc_qs8 (within 1 LSB). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "driver/gemm_qs8_ukernel.h"
#include "hwtune/kernels.h"

/* ---- deterministic data ---- */
typedef struct rng {
  uint64_t s;
} rng;
static uint32_t rnd(rng *r) {
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return (uint32_t)(r->s >> 32);
}
static int8_t rnd_i8(rng *r) { return (int8_t)(uint8_t)(rnd(r) & 0xffu); }

#define SENTINEL ((int8_t)0x5a)

/* 64-byte aligned (packed operands are read with aligned loads); aligned_alloc wants a size multiple of 64. */
static void *alloc64(size_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64 + 64); }

typedef struct problem {
  size_t m, n, k, a_stride, c_stride;
  int8_t *a;       /* m * a_stride + XNN_EXTRA_BYTES */
  int8_t *w;       /* n * k */
  int32_t *bias;   /* n or NULL */
  float *kscales;  /* n or NULL */
  hwt_qs8_params p;
} problem;

/* Parameter sets: zero points at the extremes, clamps, per-channel scales; bias on/off; strided rows. */
static void problem_init(problem *pb, size_t m, size_t n, size_t k, unsigned variant, uint64_t seed) {
  memset(pb, 0, sizeof(*pb));
  rng r = {seed * 0x9e3779b97f4a7c15ull + 1};
  const unsigned cfg = variant % 4;
  const bool with_bias = (variant / 4) % 2 == 0, strided = variant % 3 != 0;
  pb->m = m;
  pb->n = n;
  pb->k = k;
  pb->a_stride = k + (strided ? 5 : 0);
  pb->c_stride = n + (strided ? 3 : 0);
  pb->a = malloc(m * pb->a_stride + XNN_EXTRA_BYTES);
  pb->w = malloc(n * k);
  cr_assert(pb->a && pb->w);
  for (size_t i = 0; i < m * pb->a_stride + XNN_EXTRA_BYTES; i++) pb->a[i] = rnd_i8(&r);
  for (size_t i = 0; i < n * k; i++) pb->w[i] = rnd_i8(&r);
  if (with_bias) {
    pb->bias = malloc(n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) pb->bias[i] = (int32_t)(rnd(&r) % 40001u) - 20000;
  }
  /* Requantization scale ~ 0.011 / sqrt(K) spreads outputs over the int8 range. */
  pb->p.input_scale = 0.5f;
  pb->p.output_scale = 1.0f;
  pb->p.kernel_scale = 0.022f / sqrtf((float)k);
  static const struct {
    int8_t zp_in, zp_out, lo, hi;
  } cfgs[4] = {{0, 0, -128, 127}, {-128, 127, -128, 127}, {127, -128, -100, 50}, {5, -3, -20, 20}};
  pb->p.input_zero_point = cfgs[cfg].zp_in;
  pb->p.output_zero_point = cfgs[cfg].zp_out;
  pb->p.output_min = cfgs[cfg].lo;
  pb->p.output_max = cfgs[cfg].hi;
  if (cfg == 3) {
    pb->kscales = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) pb->kscales[i] = pb->p.kernel_scale * (0.25f + (float)(rnd(&r) % 1000u) / 500.0f);
    pb->p.kernel_scales = pb->kscales;
  }
}

static void problem_free(problem *pb) {
  free(pb->a);
  free(pb->w);
  free(pb->bias);
  free(pb->kscales);
}

static int8_t *output_buffer(const problem *pb) {
  int8_t *c = malloc(pb->m * pb->c_stride);
  cr_assert(c);
  memset(c, SENTINEL, pb->m * pb->c_stride);
  return c;
}

/* Independent reference: exact int64 sum, then XNNPACK's fp32 requantization written out. */
static void reference(const problem *pb, int8_t *c) {
  const hwt_qs8_params *p = &pb->p;
  for (size_t i = 0; i < pb->m; i++) {
    for (size_t j = 0; j < pb->n; j++) {
      int64_t acc = pb->bias ? pb->bias[j] : 0;
      for (size_t q = 0; q < pb->k; q++)
        acc += ((int64_t)pb->a[i * pb->a_stride + q] - p->input_zero_point) * pb->w[j * pb->k + q];
      const float ks = p->kernel_scales ? p->kernel_scales[j] : p->kernel_scale;
      const float scale = p->input_scale * ks / p->output_scale;
      float f = (float)(int32_t)acc * scale;
      f = fmaxf(f, (float)(p->output_min - p->output_zero_point));
      f = fminf(f, (float)(p->output_max - p->output_zero_point));
      c[i * pb->c_stride + j] = (int8_t)(lrintf(f) + p->output_zero_point);
    }
  }
}

static void run_own(const problem *pb, hwt_isa isa, const hwt_gemm_blocking *blk, pthreadpool_t pool, int8_t *c) {
  hwt_gemm_qs8_plan *plan = NULL;
  hwt_status st = hwt_gemm_qs8_create(pb->n, pb->k, pb->w, pb->bias, &pb->p, isa, blk, &plan);
  cr_assert_eq(st, hwt_status_ok, "create(isa %s, N=%zu K=%zu): %s", hwt_isa_name(isa), pb->n, pb->k,
               hwt_status_string(st));
  hwt_gemm_qs8_run(plan, pb->m, pb->a, pb->a_stride, c, pb->c_stride, pool);
  hwt_gemm_qs8_destroy(plan);
}

static void run_xnnpack(const problem *pb, int8_t *c) {
  cr_assert_eq(xnn_initialize(NULL), xnn_status_success);
  xnn_operator_t op = NULL;
  const hwt_qs8_params *p = &pb->p;
  cr_assert_eq(xnn_create_fully_connected_nc_qs8(pb->k, pb->n, pb->a_stride, pb->c_stride, p->input_zero_point,
                                                 p->input_scale, p->kernel_scale, pb->w, pb->bias,
                                                 p->output_zero_point, p->output_scale, p->output_min, p->output_max,
                                                 0, &op),
               xnn_status_success);
  cr_assert_eq(xnn_setup_fully_connected_nc_qs8(op, pb->m, pb->a, c, NULL), xnn_status_success);
  cr_assert_eq(xnn_run_operator(op, NULL), xnn_status_success);
  xnn_delete_operator(op);
}

/* Exact (tol 0) or within tol LSB on every element; padding columns of C untouched. */
static void expect_close(const problem *pb, const int8_t *got, const int8_t *want, int tol, const char *what) {
  for (size_t i = 0; i < pb->m; i++) {
    for (size_t j = 0; j < pb->c_stride; j++) {
      const int g = got[i * pb->c_stride + j], e = want[i * pb->c_stride + j];
      if (j >= pb->n) {
        cr_assert_eq(g, SENTINEL, "%s: wrote padding column %zu of row %zu (M=%zu N=%zu K=%zu)", what, j, i, pb->m,
                     pb->n, pb->k);
        continue;
      }
      cr_assert(abs(g - e) <= tol, "%s: c[%zu][%zu] = %d, expected %d (tol %d; M=%zu N=%zu K=%zu zp %d/%d [%d,%d])",
                what, i, j, g, e, tol, pb->m, pb->n, pb->k, pb->p.input_zero_point, pb->p.output_zero_point,
                pb->p.output_min, pb->p.output_max);
    }
  }
}

/* ---- parameters from the family list ---- */
static size_t isa_params(hwt_isa *out) {
  size_t count = 0, used = 0;
  const hwt_gemm_qs8_kernel_info *ks = hwt_gemm_qs8_kernels(&count);
  for (size_t i = 0; i < count; i++) {
    bool seen = false;
    for (size_t j = 0; j < used; j++) seen |= out[j] == ks[i].isa;
    if (!seen) out[used++] = ks[i].isa;
  }
  return used;
}

static void require_isa(hwt_isa isa) {
  if (!hwt_isa_available(isa))
    cr_skip_test("ISA %s is not available in this process (CPU, OS or HWTUNE_ISA cap)", hwt_isa_name(isa));
}

/* ---- micro-kernels, one parameter per row of gemm_qs8.inc ---- */
ParameterizedTestParameters(qs8, ukernel) {
  static size_t idx[64];
  size_t count = 0;
  hwt_gemm_qs8_kernels(&count);
  cr_assert(count <= 64);
  for (size_t i = 0; i < count; i++) idx[i] = i;
  return cr_make_param_array(size_t, idx, count);
}

ParameterizedTest(size_t *index, qs8, ukernel) {
  const hwt_gemm_qs8_kernel_info *ki = &hwt_gemm_qs8_kernels(NULL)[*index];
  require_isa(ki->isa);
  const size_t kcs[] = {ki->kr, 3 * ki->kr, 16 * ki->kr, 50 * ki->kr};
  unsigned seed = 1;
  for (size_t mr = 1; mr <= ki->mr; mr++) {
    for (size_t nc = 1; nc <= ki->nr; nc++) {
      for (size_t t = 0; t < sizeof(kcs) / sizeof(kcs[0]); t++) {
        for (int split = 0; split < 2; split++) {
          /* split: K in two blocks, the first stored raw (acc_out), the second reloaded (acc_in stride NR). */
          const size_t kcb = kcs[t], k = split ? 2 * kcb : kcb;
          problem pb;
          problem_init(&pb, mr, nc, k, seed, seed);
          seed++;
          const size_t npad = ki->nr, a_bytes = hwt_qs8_a_bytes(ki->a_format);
          int8_t *wp = alloc64(hwt_gemm_qs8_packed_w_bytes(nc, k, ki->nr, ki->kr));
          int32_t *bp = alloc64(npad * sizeof(int32_t));
          float *sp = alloc64(npad * sizeof(float));
          void *ap = alloc64(mr * k * a_bytes);
          _Alignas(64) int32_t tile[16 * 64];
          cr_assert(wp && bp && sp && ap && ki->mr * ki->nr <= 16 * 64);
          hwt_gemm_qs8_pack_w(nc, k, ki->nr, ki->kr, kcb, ki->a_format, pb.w, pb.bias, pb.p.input_zero_point,
                              pb.p.input_scale, pb.p.kernel_scale, pb.p.kernel_scales, pb.p.output_scale, wp, bp, sp);
          hwt_gemm_qs8_pack_a(mr, k, k, ki->a_format, pb.a, pb.a_stride, ap);
          const hwt_qs8_requant rq = {(float)(pb.p.output_min - pb.p.output_zero_point),
                                      (float)(pb.p.output_max - pb.p.output_zero_point), pb.p.output_zero_point};
          int8_t *got = output_buffer(&pb), *want = output_buffer(&pb);
          if (split) {
            ki->fn(mr, nc, kcb, ap, k * a_bytes, wp, bp, 0, tile, NULL, 0, sp, &rq);
            ki->fn(mr, nc, kcb, (const uint8_t *)ap + kcb * a_bytes, k * a_bytes, wp + kcb * npad, tile, ki->nr,
                   NULL, got, pb.c_stride, sp, &rq);
          } else {
            ki->fn(mr, nc, kcb, ap, k * a_bytes, wp, bp, 0, NULL, got, pb.c_stride, sp, &rq);
          }
          reference(&pb, want);
          expect_close(&pb, got, want, 0, ki->name);
          free(got);
          free(want);
          free(wp);
          free(bp);
          free(sp);
          free(ap);
          problem_free(&pb);
        }
      }
    }
  }
  cr_log_info("%s: %u tiles compared", ki->name, seed - 1);
}

/* ---- plans per ISA over the shape grid ---- */
ParameterizedTestParameters(qs8, plan_shapes) {
  static hwt_isa isas[hwt_isa_count];
  size_t n = isa_params(isas);
  return cr_make_param_array(hwt_isa, isas, n);
}

ParameterizedTest(hwt_isa *isa, qs8, plan_shapes) {
  require_isa(*isa);
  size_t mr = 0, nr = 0;
  cr_assert(hwt_gemm_tile(hwt_gemm_qs8, *isa, &mr, &nr));
  /* Small blocks so that K is below, equal to and above KC, M spans two MC blocks and N several NC tiles. */
  const hwt_gemm_blocking blk = {2 * mr, 64, 2 * nr};
  const size_t ms[] = {1, 2, mr - 1, mr, mr + 1, 2 * mr + 3};
  const size_t ns[] = {1, nr - 1, nr, nr + 1, 3 * nr + 5};
  const size_t ks[] = {1, 7, 63, 64, 65, 131};
  unsigned variant = 0;
  for (size_t im = 0; im < sizeof(ms) / sizeof(ms[0]); im++) {
    if (ms[im] == 0) continue;
    for (size_t in = 0; in < sizeof(ns) / sizeof(ns[0]); in++) {
      if (ns[in] == 0) continue;
      for (size_t ik = 0; ik < sizeof(ks) / sizeof(ks[0]); ik++) {
        problem pb;
        problem_init(&pb, ms[im], ns[in], ks[ik], variant, variant + 7);
        variant++;
        int8_t *got = output_buffer(&pb), *want = output_buffer(&pb), *ref = output_buffer(&pb);
        run_own(&pb, *isa, &blk, NULL, got);
        reference(&pb, want);
        expect_close(&pb, got, want, 0, hwt_isa_name(*isa));
        run_own(&pb, hwt_isa_scalar, &blk, NULL, ref);
        expect_close(&pb, got, ref, 0, "vs scalar plan");
        if (pb.kscales == NULL) {
          int8_t *xnn = output_buffer(&pb);
          run_xnnpack(&pb, xnn);
          expect_close(&pb, got, xnn, 1, "vs XNNPACK");
          free(xnn);
        }
        free(got);
        free(want);
        free(ref);
        problem_free(&pb);
      }
    }
  }
  cr_log_info("%s: %u shapes compared", hwt_isa_name(*isa), variant);
}

/* Default blocking (K well above the default KC) and odd overrides that the plan must round, against XNNPACK and
 * the reference. */
ParameterizedTestParameters(qs8, plan_default_blocking) {
  static hwt_isa isas[hwt_isa_count];
  size_t n = isa_params(isas);
  return cr_make_param_array(hwt_isa, isas, n);
}

ParameterizedTest(hwt_isa *isa, qs8, plan_default_blocking) {
  require_isa(*isa);
  const size_t shapes[][3] = {{37, 300, 1000}, {1, 1024, 1024}, {64, 96, 2053}, {3, 17, 4099}};
  const hwt_gemm_blocking odd = {3, 37, 5}; /* rounded up to MR, KR and NR multiples by create() */
  for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
    for (unsigned v = 0; v < 4; v++) {
      problem pb;
      problem_init(&pb, shapes[s][0], shapes[s][1], shapes[s][2], v, 100 + s * 8 + v);
      int8_t *got = output_buffer(&pb), *want = output_buffer(&pb), *xnn = output_buffer(&pb);
      run_own(&pb, *isa, v == 3 ? &odd : NULL, NULL, got);
      reference(&pb, want);
      expect_close(&pb, got, want, 0, hwt_isa_name(*isa));
      if (pb.kscales == NULL) { /* XNNPACK's qs8 has one kernel scale */
        run_xnnpack(&pb, xnn);
        expect_close(&pb, got, xnn, 1, "vs XNNPACK");
      }
      free(got);
      free(want);
      free(xnn);
      problem_free(&pb);
    }
  }
}

/* Two threads compute the same bytes as one. */
ParameterizedTestParameters(qs8, multithreaded_equals_single) {
  static hwt_isa isas[hwt_isa_count];
  size_t n = isa_params(isas);
  return cr_make_param_array(hwt_isa, isas, n);
}

ParameterizedTest(hwt_isa *isa, qs8, multithreaded_equals_single) {
  require_isa(*isa);
  pthreadpool_t pool = pthreadpool_create(2);
  cr_assert(pool != NULL);
  /* The last shape has >= 1 MiB of A per MC block, so the threads also pack A in parallel. */
  const size_t shapes[][3] = {{64, 256, 300}, {1, 4096, 64}, {19, 101, 131}, {200, 64, 64}, {70, 33, 15013}};
  const hwt_gemm_blocking small = {16, 64, 64};
  for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
    for (int b = 0; b < 2; b++) {
      problem pb;
      problem_init(&pb, shapes[s][0], shapes[s][1], shapes[s][2], (unsigned)s, 300 + s);
      int8_t *one = output_buffer(&pb), *two = output_buffer(&pb);
      run_own(&pb, *isa, b ? &small : NULL, NULL, one);
      run_own(&pb, *isa, b ? &small : NULL, pool, two);
      cr_assert(memcmp(one, two, pb.m * pb.c_stride) == 0, "2 threads differ from 1 (M=%zu N=%zu K=%zu)", pb.m,
                pb.n, pb.k);
      int8_t *want = output_buffer(&pb);
      reference(&pb, want);
      expect_close(&pb, two, want, 0, "2 threads vs reference");
      free(want);
      free(one);
      free(two);
      problem_free(&pb);
    }
  }
  pthreadpool_destroy(pool);
}

/* Saturation: a huge requantization scale pins outputs to the clamps; a tiny one to the zero point. */
Test(qs8, requantization_extremes) {
  const float kscale[] = {100.0f, 1e-9f};
  for (int t = 0; t < 2; t++) {
    problem pb;
    problem_init(&pb, 9, 40, 77, 1, 900 + t);
    pb.p.kernel_scale = kscale[t];
    int8_t *got = output_buffer(&pb), *want = output_buffer(&pb), *xnn = output_buffer(&pb);
    run_own(&pb, hwt_gemm_best_isa(hwt_gemm_qs8), NULL, NULL, got);
    reference(&pb, want);
    expect_close(&pb, got, want, 0, "extreme scale");
    run_xnnpack(&pb, xnn);
    expect_close(&pb, got, xnn, 1, "extreme scale vs XNNPACK");
    free(got);
    free(want);
    free(xnn);
    problem_free(&pb);
  }
}

Test(qs8, rejects_bad_arguments) {
  const int8_t w[4] = {1, 2, 3, 4};
  hwt_qs8_params ok = {.input_scale = 1.0f, .kernel_scale = 0.01f, .output_scale = 1.0f, .output_min = -128,
                       .output_max = 127};
  hwt_gemm_qs8_plan *plan = NULL;
  const hwt_isa s = hwt_isa_scalar;
  cr_assert_eq(hwt_gemm_qs8_create(0, 4, w, NULL, &ok, s, NULL, &plan), hwt_status_invalid_argument);
  cr_assert_eq(hwt_gemm_qs8_create(1, 0, w, NULL, &ok, s, NULL, &plan), hwt_status_invalid_argument);
  cr_assert_eq(hwt_gemm_qs8_create(1, 4, NULL, NULL, &ok, s, NULL, &plan), hwt_status_invalid_argument);
  cr_assert_eq(hwt_gemm_qs8_create(1, 4, w, NULL, NULL, s, NULL, &plan), hwt_status_invalid_argument);
  hwt_qs8_params bad = ok;
  bad.output_min = 5;
  bad.output_max = 5;
  cr_assert_eq(hwt_gemm_qs8_create(1, 4, w, NULL, &bad, s, NULL, &plan), hwt_status_invalid_argument);
  bad = ok;
  bad.input_scale = NAN;
  cr_assert_eq(hwt_gemm_qs8_create(1, 4, w, NULL, &bad, s, NULL, &plan), hwt_status_invalid_argument);
  bad = ok;
  bad.kernel_scale = 0.0f;
  cr_assert_eq(hwt_gemm_qs8_create(1, 4, w, NULL, &bad, s, NULL, &plan), hwt_status_invalid_argument);
  const float neg[1] = {-1.0f};
  bad = ok;
  bad.kernel_scales = neg;
  cr_assert_eq(hwt_gemm_qs8_create(1, 4, w, NULL, &bad, s, NULL, &plan), hwt_status_invalid_argument);
  bad = ok;
  bad.kernel_scale = 300.0f; /* requantization scale >= 256: XNNPACK refuses it too */
  cr_assert_eq(hwt_gemm_qs8_create(1, 4, w, NULL, &bad, s, NULL, &plan), hwt_status_unsupported);
  cr_assert_eq(hwt_gemm_qs8_create(1, 4, w, NULL, &ok, hwt_isa_count, NULL, &plan), hwt_status_unsupported);
  cr_assert_null(plan);
  hwt_gemm_qs8_destroy(NULL);
}

Test(qs8, blocking_is_reported_and_rounded) {
  const hwt_isa isa = hwt_gemm_best_isa(hwt_gemm_qs8);
  size_t mr = 0, nr = 0;
  cr_assert(hwt_gemm_tile(hwt_gemm_qs8, isa, &mr, &nr));
  int8_t *w = calloc(100 * 1000, 1);
  const hwt_qs8_params p = {.input_scale = 1.0f, .kernel_scale = 0.01f, .output_scale = 1.0f, .output_min = -128,
                            .output_max = 127};
  hwt_gemm_qs8_plan *plan = NULL;
  const hwt_gemm_blocking want = {mr + 1, 101, nr + 1};
  cr_assert_eq(hwt_gemm_qs8_create(100, 1000, w, NULL, &p, isa, &want, &plan), hwt_status_ok);
  const hwt_gemm_blocking got = hwt_gemm_qs8_plan_blocking(plan);
  cr_assert_eq(got.mc, 2 * mr);
  cr_assert_eq(got.nc, 2 * nr);
  cr_assert(got.kc >= 101 && got.kc < 101 + 16, "kc %zu", got.kc);
  cr_assert_geq(hwt_gemm_qs8_plan_bytes(plan), 100u * 1000u);
  hwt_gemm_qs8_destroy(plan);
  cr_assert_eq(hwt_gemm_qs8_create(100, 1000, w, NULL, &p, isa, NULL, &plan), hwt_status_ok);
  const hwt_gemm_blocking def = hwt_gemm_qs8_plan_blocking(plan);
  cr_assert(def.mc % mr == 0 && def.nc % nr == 0 && def.kc > 0, "default blocking %zu/%zu/%zu", def.mc, def.kc,
            def.nc);
  hwt_gemm_qs8_destroy(plan);
  free(w);
}

/* ---- float output (hwt_gemm_qs8_f32out_*): exact int32 sums, float epilogue ---- */
static float *f32out_bias(const problem *pb, uint64_t seed) {
  rng r = {seed * 0x9e3779b97f4a7c15ull + 3};
  float *b = malloc(pb->n * sizeof(float));
  cr_assert(b);
  for (size_t j = 0; j < pb->n; j++) b[j] = ((float)(rnd(&r) % 2001u) - 1000.0f) / 256.0f;
  return b;
}

/* The header's definition with an int64 sum (exact), and the bound a fused multiply-add may differ by. */
static void f32out_reference(const problem *pb, const float *bias, float lo, float hi, float *c, float *tol) {
  const hwt_qs8_params *p = &pb->p;
  for (size_t i = 0; i < pb->m; i++) {
    for (size_t j = 0; j < pb->n; j++) {
      int64_t acc = 0;
      for (size_t q = 0; q < pb->k; q++)
        acc += ((int64_t)pb->a[i * pb->a_stride + q] - p->input_zero_point) * pb->w[j * pb->k + q];
      cr_assert(acc >= INT32_MIN && acc <= INT32_MAX);
      const float s = p->input_scale * (p->kernel_scales ? p->kernel_scales[j] : p->kernel_scale);
      const float prod = (float)(int32_t)acc * s, b = bias ? bias[j] : 0.0f;
      c[i * pb->n + j] = fminf(fmaxf(prod + b, lo), hi);
      tol[i * pb->n + j] = 2.0f * FLT_EPSILON * (fabsf(prod) + fabsf(b)) + FLT_MIN;
    }
  }
}

static void run_f32out(const problem *pb, const float *bias, float lo, float hi, hwt_isa isa,
                       const hwt_gemm_blocking *blk, pthreadpool_t pool, float *c) {
  hwt_gemm_qs8_plan *plan = NULL;
  hwt_status st = hwt_gemm_qs8_f32out_create(pb->n, pb->k, pb->w, bias, &pb->p, lo, hi, isa, blk, &plan);
  cr_assert_eq(st, hwt_status_ok, "f32out create(isa %s, N=%zu K=%zu): %s", hwt_isa_name(isa), pb->n, pb->k,
               hwt_status_string(st));
  hwt_gemm_qs8_f32out_run(plan, pb->m, pb->a, pb->a_stride, c, pb->c_stride, pool);
  hwt_gemm_qs8_destroy(plan);
}

static float *f32_buffer(const problem *pb) {
  float *c = malloc(pb->m * pb->c_stride * sizeof(float));
  cr_assert(c);
  for (size_t i = 0; i < pb->m * pb->c_stride; i++) c[i] = 12345.0f; /* sentinel */
  return c;
}

static void f32out_check(const problem *pb, const float *bias, float lo, float hi, hwt_isa isa,
                         const hwt_gemm_blocking *blk, pthreadpool_t pool) {
  float *got = f32_buffer(pb), *want = malloc(pb->m * pb->n * sizeof(float)), *tol = malloc(pb->m * pb->n * sizeof(float));
  cr_assert(want && tol);
  run_f32out(pb, bias, lo, hi, isa, blk, pool, got);
  f32out_reference(pb, bias, lo, hi, want, tol);
  for (size_t i = 0; i < pb->m; i++) {
    for (size_t j = 0; j < pb->c_stride; j++) {
      const float g = got[i * pb->c_stride + j];
      if (j >= pb->n) {
        cr_assert_eq(g, 12345.0f, "f32out %s wrote past N at [%zu][%zu]", hwt_isa_name(isa), i, j);
        continue;
      }
      const float w = want[i * pb->n + j];
      cr_assert(fabsf(g - w) <= tol[i * pb->n + j], "f32out %s M=%zu N=%zu K=%zu [%zu][%zu]: got %.9g want %.9g",
                hwt_isa_name(isa), pb->m, pb->n, pb->k, i, j, (double)g, (double)w);
    }
  }
  free(got);
  free(want);
  free(tol);
}

ParameterizedTestParameters(qs8, f32out_shapes) {
  static hwt_isa isas[hwt_isa_count];
  size_t n = isa_params(isas);
  return cr_make_param_array(hwt_isa, isas, n);
}

ParameterizedTest(hwt_isa *isa, qs8, f32out_shapes) {
  require_isa(*isa);
  size_t mr = 0, nr = 0;
  cr_assert(hwt_gemm_tile(hwt_gemm_qs8, *isa, &mr, &nr));
  const hwt_gemm_blocking blk = {2 * mr, 64, 2 * nr};
  const size_t ms[] = {1, 2, mr - 1, mr, mr + 1, 2 * mr + 3};
  const size_t ns[] = {1, nr - 1, nr, nr + 1, 3 * nr + 5};
  const size_t ks[] = {1, 7, 64, 65, 131};
  const float clamps[][2] = {{-INFINITY, INFINITY}, {-0.5f, 0.75f}, {0.0f, INFINITY}};
  unsigned variant = 0;
  for (size_t im = 0; im < sizeof(ms) / sizeof(ms[0]); im++) {
    if (ms[im] == 0) continue;
    for (size_t in = 0; in < sizeof(ns) / sizeof(ns[0]); in++) {
      if (ns[in] == 0) continue;
      for (size_t ik = 0; ik < sizeof(ks) / sizeof(ks[0]); ik++) {
        problem pb;
        problem_init(&pb, ms[im], ns[in], ks[ik], variant, variant + 11);
        float *bias = variant % 2 ? f32out_bias(&pb, variant) : NULL;
        const float *cl = clamps[variant % 3];
        f32out_check(&pb, bias, cl[0], cl[1], *isa, variant % 4 == 3 ? NULL : &blk, NULL);
        free(bias);
        problem_free(&pb);
        variant++;
      }
    }
  }
  /* Whole classifiers (default blocking), one and two threads. */
  pthreadpool_t pool = pthreadpool_create(2);
  cr_assert(pool != NULL);
  const size_t shapes[][3] = {{1, 1000, 1280}, {4, 1000, 1280}, {3, 17, 4099}, {64, 10, 128}};
  for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
    problem pb;
    problem_init(&pb, shapes[s][0], shapes[s][1], shapes[s][2], (unsigned)s, 500 + s);
    float *bias = f32out_bias(&pb, s);
    f32out_check(&pb, bias, -INFINITY, INFINITY, *isa, NULL, NULL);
    f32out_check(&pb, bias, -INFINITY, INFINITY, *isa, NULL, pool);
    free(bias);
    problem_free(&pb);
  }
  pthreadpool_destroy(pool);
}

Test(qs8, f32out_rejects_bad_arguments) {
  const int8_t w[4] = {1, 2, 3, 4};
  hwt_qs8_params p = {.input_scale = 0.5f, .kernel_scale = 0.25f}; /* output fields unused */
  hwt_gemm_qs8_plan *plan = NULL;
  cr_expect_eq(hwt_gemm_qs8_f32out_create(2, 2, w, NULL, &p, 1.0f, 0.0f, hwt_isa_scalar, NULL, &plan),
               hwt_status_invalid_argument);
  cr_expect_eq(hwt_gemm_qs8_f32out_create(2, 2, w, NULL, &p, NAN, 0.0f, hwt_isa_scalar, NULL, &plan),
               hwt_status_invalid_argument);
  p.input_scale = 0.0f;
  cr_expect_eq(hwt_gemm_qs8_f32out_create(2, 2, w, NULL, &p, 0.0f, 1.0f, hwt_isa_scalar, NULL, &plan),
               hwt_status_invalid_argument);
  p.input_scale = 1e6f; /* a large scale is fine for float output (no int8 requantization bound) */
  cr_assert_eq(hwt_gemm_qs8_f32out_create(2, 2, w, NULL, &p, -INFINITY, INFINITY, hwt_isa_scalar, NULL, &plan),
               hwt_status_ok);
  hwt_gemm_qs8_destroy(plan);
}

/* Narrow layers (N below the main tile's NR: MobileNet v2's 16- and 24-channel projections) take a narrower tile
 * group where the ISA has one, and read A in place when K is a multiple of KR: edge N around 16 and 24, odd and
 * even K (packed and in place), every M from 1 to 40 (all row variants and tails), K blocked and not. */
ParameterizedTestParameters(qs8, narrow_shapes) {
  static hwt_isa isas[hwt_isa_count];
  size_t n = isa_params(isas);
  return cr_make_param_array(hwt_isa, isas, n);
}

ParameterizedTest(hwt_isa *isa, qs8, narrow_shapes) {
  require_isa(*isa);
  const size_t ns[] = {1, 15, 16, 17, 24, 33};
  const size_t ks[] = {1, 3, 32, 33, 96, 147};
  const hwt_gemm_blocking small_kc = {0, 32, 0};
  unsigned variant = 0;
  for (size_t in = 0; in < sizeof(ns) / sizeof(ns[0]); in++) {
    for (size_t ik = 0; ik < sizeof(ks) / sizeof(ks[0]); ik++) {
      for (size_t m = 1; m <= 40; m++) {
        problem pb;
        problem_init(&pb, m, ns[in], ks[ik], variant, variant + 4242);
        int8_t *got = output_buffer(&pb), *want = output_buffer(&pb);
        run_own(&pb, *isa, variant % 3 == 2 ? &small_kc : NULL, NULL, got);
        reference(&pb, want);
        expect_close(&pb, got, want, 0, hwt_isa_name(*isa));
        free(got);
        free(want);
        problem_free(&pb);
        variant++;
      }
    }
  }
  /* Float output shares the tiles; and two threads compute the same bytes as one. */
  pthreadpool_t pool = pthreadpool_create(2);
  cr_assert(pool != NULL);
  for (size_t in = 0; in < sizeof(ns) / sizeof(ns[0]); in++) {
    problem pb;
    problem_init(&pb, 37, ns[in], in % 2 ? 33 : 96, (unsigned)in, 77 + in);
    float *bias = f32out_bias(&pb, in);
    f32out_check(&pb, bias, -INFINITY, INFINITY, *isa, NULL, NULL);
    f32out_check(&pb, bias, -2.0f, 2.0f, *isa, NULL, pool);
    free(bias);
    problem_free(&pb);
    problem_init(&pb, 12544 / 8, ns[in], 32, (unsigned)in, 99 + in);
    int8_t *one = output_buffer(&pb), *two = output_buffer(&pb), *want = output_buffer(&pb);
    run_own(&pb, *isa, NULL, NULL, one);
    run_own(&pb, *isa, NULL, pool, two);
    reference(&pb, want);
    expect_close(&pb, one, want, 0, "narrow, 1 thread");
    cr_assert(memcmp(one, two, pb.m * pb.c_stride) == 0, "narrow: 2 threads differ from 1 (N=%zu)", pb.n);
    free(one);
    free(two);
    free(want);
    problem_free(&pb);
  }
  pthreadpool_destroy(pool);
  cr_log_info("%s: %u narrow shapes compared", hwt_isa_name(*isa), variant);
}

/* Which tile a plan takes: the main tile for wide N; on AVX512-VNNI the 16- and 24-wide groups for N <= 16 and
 * N 17..24, reading A in place exactly when K is a multiple of 4. */
Test(qs8, narrow_tile_choice) {
  const hwt_qs8_params p = {.input_scale = 1.0f, .kernel_scale = 0.01f, .output_scale = 1.0f, .output_min = -128,
                            .output_max = 127};
  int8_t *w = calloc(64 * 64, 1);
  cr_assert(w);
  const struct {
    size_t n, k, nr;
    bool in_place;
  } cases[] = {{16, 32, 16, true}, {1, 32, 16, true}, {16, 33, 16, false}, {17, 96, 24, true}, {24, 144, 24, true},
               {25, 32, 32, false}, {32, 32, 32, false}, {33, 64, 32, false}, {64, 64, 32, false}};
  const hwt_isa isa = hwt_isa_avx512vnni;
  if (!hwt_isa_available(isa)) {
    free(w);
    cr_skip_test("AVX512-VNNI is not available in this process");
  }
  size_t main_mr = 0, main_nr = 0;
  cr_assert(hwt_gemm_tile(hwt_gemm_qs8, isa, &main_mr, &main_nr));
  cr_assert_eq(main_nr, 32, "the main AVX512-VNNI tile stays 32 wide");
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    hwt_gemm_qs8_plan *plan = NULL;
    cr_assert_eq(hwt_gemm_qs8_create(cases[i].n, cases[i].k, w, NULL, &p, isa, NULL, &plan), hwt_status_ok);
    size_t mr = 0, nr = 0;
    bool in_place = true;
    hwt_gemm_qs8_plan_tile(plan, &mr, &nr, &in_place);
    cr_expect_eq(nr, cases[i].nr, "N=%zu K=%zu: NR %zu, expected %zu", cases[i].n, cases[i].k, nr, cases[i].nr);
    cr_expect_eq(in_place, cases[i].in_place, "N=%zu K=%zu: in place %d", cases[i].n, cases[i].k, in_place);
    cr_expect(nr != 32 || mr == main_mr);
    hwt_gemm_qs8_destroy(plan);
  }
  free(w);
}
