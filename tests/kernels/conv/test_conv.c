/* SPDX-License-Identifier: Apache-2.0 */
/* Tester of the KxK convolution plans (hwtune/conv.h) against a scalar reference on edge shapes: fp32 within a
 * tolerance, qs8 bit-exact (the runtime's int8 conv: padding reads the input zero point, per-channel scales),
 * at the process's best ISA (HWTUNE_ISA caps it) and scalar, on 1 and 2 threads. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hwtune/conv.h"

typedef struct rng {
  uint64_t s;
} rng;
static uint32_t rnd(rng *r) {
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return (uint32_t) (r->s >> 32);
}

typedef struct cs {
  size_t batch, h, w;
  hwt_conv_shape s;
} cs;

/* kh kw sh sw pad t l b r, cin cout */
static const cs cases[] = {
    {1, 1, 1, {3, 3, 1, 1, 1, 1, 1, 1, 3, 8}},       /* 1x1 image, padding on every side */
    {1, 2, 3, {3, 3, 2, 2, 1, 1, 1, 1, 3, 17}},      /* 2x3 image, stride 2 */
    {1, 2, 3, {3, 3, 1, 1, 2, 2, 2, 2, 1, 5}},       /* padding larger than the kernel's reach */
    {2, 7, 9, {3, 3, 2, 2, 1, 1, 1, 1, 3, 32}},      /* stride 2 on odd sizes, batch 2: the stem */
    {1, 11, 13, {3, 3, 2, 2, 0, 1, 1, 0, 3, 8}},     /* asymmetric padding (TF SAME) */
    {1, 9, 8, {5, 5, 1, 1, 2, 2, 2, 2, 17, 19}},     /* 5x5, odd channels */
    {2, 6, 7, {1, 3, 1, 1, 0, 1, 0, 1, 17, 3}},      /* 1x3 */
    {1, 5, 5, {5, 5, 3, 2, 3, 1, 0, 4, 2, 33}},      /* padding larger than the stride, uneven strides */
    {1, 28, 28, {3, 3, 1, 1, 1, 1, 1, 1, 1, 8}},     /* digits CNN conv 1 */
    {1, 14, 14, {3, 3, 1, 1, 1, 1, 1, 1, 8, 16}},    /* digits CNN conv 2 */
    {1, 4, 4, {4, 4, 1, 1, 0, 0, 0, 0, 3, 7}},       /* kernel = image: one pixel */
    {3, 61, 37, {3, 3, 2, 2, 1, 1, 1, 1, 3, 32}},    /* several tiles, tile edges inside rows and images */
};
enum { NCASES = sizeof(cases) / sizeof(cases[0]) };

static size_t oh_of(const cs *c) { return hwt_conv_out_size(c->h, c->s.kh, c->s.sh, c->s.pad_t, c->s.pad_b); }
static size_t ow_of(const cs *c) { return hwt_conv_out_size(c->w, c->s.kw, c->s.sw, c->s.pad_l, c->s.pad_r); }

/* Scalar reference, integer or float accumulation through a callback-free double loop. in_q: padding value. */
static void ref_f32(const cs *c, const float *in, const float *w, const float *b, float lo, float hi, float *out) {
  const hwt_conv_shape *s = &c->s;
  size_t oh = oh_of(c), ow = ow_of(c);
  for (size_t n = 0; n < c->batch; n++)
    for (size_t oy = 0; oy < oh; oy++)
      for (size_t ox = 0; ox < ow; ox++)
        for (size_t co = 0; co < s->cout; co++) {
          double acc = b ? b[co] : 0;
          for (uint32_t ky = 0; ky < s->kh; ky++)
            for (uint32_t kx = 0; kx < s->kw; kx++) {
              long iy = (long) (oy * s->sh + ky) - s->pad_t, ix = (long) (ox * s->sw + kx) - s->pad_l;
              if (iy < 0 || ix < 0 || iy >= (long) c->h || ix >= (long) c->w) continue;
              for (size_t ci = 0; ci < s->cin; ci++)
                acc += (double) in[((n * c->h + iy) * c->w + ix) * s->cin + ci] *
                       w[((co * s->kh + ky) * s->kw + kx) * s->cin + ci];
            }
          float r = (float) acc;
          out[((n * oh + oy) * ow + ox) * s->cout + co] = r < lo ? lo : r > hi ? hi : r;
        }
}

/* engine/reference.c weights_q8's formula. */
static void ref_qs8(const cs *c, const int8_t *in, const int8_t *w, const int32_t *b, const hwt_qs8_params *p,
                    int8_t *out) {
  const hwt_conv_shape *s = &c->s;
  size_t oh = oh_of(c), ow = ow_of(c);
  for (size_t n = 0; n < c->batch; n++)
    for (size_t oy = 0; oy < oh; oy++)
      for (size_t ox = 0; ox < ow; ox++)
        for (size_t co = 0; co < s->cout; co++) {
          int32_t acc = b ? b[co] : 0;
          for (uint32_t ky = 0; ky < s->kh; ky++)
            for (uint32_t kx = 0; kx < s->kw; kx++) {
              long iy = (long) (oy * s->sh + ky) - s->pad_t, ix = (long) (ox * s->sw + kx) - s->pad_l;
              if (iy < 0 || ix < 0 || iy >= (long) c->h || ix >= (long) c->w) continue;
              for (size_t ci = 0; ci < s->cin; ci++)
                acc += (in[((n * c->h + iy) * c->w + ix) * s->cin + ci] - p->input_zero_point) *
                       w[((co * s->kh + ky) * s->kw + kx) * s->cin + ci];
            }
          float ks = p->kernel_scales ? p->kernel_scales[co] : p->kernel_scale;
          float scale = p->input_scale * ks / p->output_scale, r = (float) acc * scale;
          float v = nearbyintf(r) + (float) p->output_zero_point;
          if (v < p->output_min) v = p->output_min;
          if (v > p->output_max) v = p->output_max;
          out[((n * oh + oy) * ow + ox) * s->cout + co] = (int8_t) v;
        }
}

static void check_f32(const cs *c, hwt_isa isa, size_t threads, bool clamp) {
  rng r = {0x1234567ull + c->h * 131 + c->s.cout};
  const hwt_conv_shape *s = &c->s;
  size_t ni = c->batch * c->h * c->w * s->cin, nw = s->cout * s->kh * s->kw * s->cin;
  size_t no = c->batch * oh_of(c) * ow_of(c) * s->cout;
  float *in = malloc(ni * sizeof(float)), *w = malloc(nw * sizeof(float)), *b = malloc(s->cout * sizeof(float));
  float *out = malloc((no + 1) * sizeof(float)), *ref = malloc((no + 1) * sizeof(float));
  for (size_t i = 0; i < ni; i++) in[i] = (float) (rnd(&r) % 2001) / 1000.0f - 1.0f;
  for (size_t i = 0; i < nw; i++) w[i] = (float) (rnd(&r) % 2001) / 1000.0f - 1.0f;
  for (size_t i = 0; i < s->cout; i++) b[i] = (float) (rnd(&r) % 2001) / 1000.0f - 1.0f;
  float lo = clamp ? -0.5f : -INFINITY, hi = clamp ? 1.5f : INFINITY;
  ref_f32(c, in, w, b, lo, hi, ref);
  out[no] = 12345.0f;
  hwt_conv_f32_plan *plan = NULL;
  cr_assert_eq(hwt_conv_f32_create(s, w, b, lo, hi, isa, NULL, threads, &plan), hwt_status_ok);
  pthreadpool_t pool = threads > 1 ? pthreadpool_create(threads) : NULL;
  for (int rep = 0; rep < 2; rep++) { /* a plan runs again on its workspace */
    hwt_conv_f32_run(plan, c->batch, c->h, c->w, in, out, pool);
    size_t kk = (size_t) s->kh * s->kw * s->cin;
    for (size_t i = 0; i < no; i++)
      cr_assert(fabsf(out[i] - ref[i]) <= 1e-5f * (float) kk + 1e-5f * fabsf(ref[i]),
                "%zux%zux%zu k%ux%u s%u,%u cin %zu cout %zu isa %s threads %zu: out[%zu] = %g, reference %g",
                c->batch, c->h, c->w, s->kh, s->kw, s->sh, s->sw, s->cin, s->cout, hwt_isa_name(isa), threads, i,
                (double) out[i], (double) ref[i]);
    cr_assert_eq(out[no], 12345.0f, "wrote past the output");
  }
  cr_assert(hwt_conv_f32_plan_bytes(plan) > 0);
  if (pool) pthreadpool_destroy(pool);
  hwt_conv_f32_destroy(plan);
  free(in), free(w), free(b), free(out), free(ref);
}

static void check_qs8(const cs *c, hwt_isa isa, size_t threads, unsigned variant) {
  rng r = {0x7654321ull + c->w * 17 + c->s.cin + variant};
  const hwt_conv_shape *s = &c->s;
  size_t ni = c->batch * c->h * c->w * s->cin, nw = s->cout * s->kh * s->kw * s->cin;
  size_t no = c->batch * oh_of(c) * ow_of(c) * s->cout;
  int8_t *in = malloc(ni), *w = malloc(nw), *out = malloc(no + 1), *ref = malloc(no + 1);
  int32_t *b = malloc(s->cout * sizeof(int32_t));
  float *ks = malloc(s->cout * sizeof(float));
  for (size_t i = 0; i < ni; i++) in[i] = (int8_t) (uint8_t) rnd(&r);
  for (size_t i = 0; i < nw; i++) w[i] = (int8_t) (uint8_t) rnd(&r);
  for (size_t i = 0; i < s->cout; i++) b[i] = (int32_t) (rnd(&r) % 40001u) - 20000;
  size_t kk = (size_t) s->kh * s->kw * s->cin;
  hwt_qs8_params p = {0};
  static const int8_t zps[3][4] = {{0, 0, -128, 127}, {-128, 127, -100, 50}, {37, -3, -128, 127}};
  p.input_zero_point = zps[variant][0];
  p.output_zero_point = zps[variant][1];
  p.output_min = zps[variant][2];
  p.output_max = zps[variant][3];
  p.input_scale = 0.5f;
  p.output_scale = 1.0f;
  p.kernel_scale = 0.022f / sqrtf((float) kk);
  for (size_t i = 0; i < s->cout; i++) ks[i] = p.kernel_scale * (0.25f + (float) (rnd(&r) % 1000u) / 500.0f);
  if (variant != 1) p.kernel_scales = ks;
  ref_qs8(c, in, w, b, &p, ref);
  out[no] = 0x5a;
  hwt_conv_qs8_plan *plan = NULL;
  cr_assert_eq(hwt_conv_qs8_create(s, w, b, &p, isa, NULL, threads, &plan), hwt_status_ok);
  pthreadpool_t pool = threads > 1 ? pthreadpool_create(threads) : NULL;
  for (int rep = 0; rep < 2; rep++) {
    hwt_conv_qs8_run(plan, c->batch, c->h, c->w, in, out, pool);
    for (size_t i = 0; i < no; i++)
      cr_assert_eq(out[i], ref[i], "%zux%zux%zu k%ux%u s%u,%u cin %zu cout %zu isa %s threads %zu zp %d: out[%zu]",
                   c->batch, c->h, c->w, s->kh, s->kw, s->sh, s->sw, s->cin, s->cout, hwt_isa_name(isa), threads,
                   p.input_zero_point, i);
    cr_assert_eq(out[no], 0x5a, "wrote past the output");
  }
  if (pool) pthreadpool_destroy(pool);
  hwt_conv_qs8_destroy(plan);
  free(in), free(w), free(b), free(ks), free(out), free(ref);
}

static void isas(hwt_gemm_family f, hwt_isa out[2], size_t *n) {
  out[0] = hwt_gemm_best_isa(f);
  *n = 1;
  if (out[0] != hwt_isa_scalar && hwt_gemm_isa_supported(f, hwt_isa_scalar)) out[(*n)++] = hwt_isa_scalar;
}

Test(conv, f32_edge_shapes) {
  hwt_isa is[2];
  size_t ni;
  isas(hwt_gemm_f32, is, &ni);
  for (size_t i = 0; i < NCASES; i++)
    for (size_t j = 0; j < ni; j++)
      for (size_t t = 1; t <= 2; t++) check_f32(&cases[i], is[j], t, (i + t) % 2 == 0);
}

Test(conv, qs8_edge_shapes_bit_exact) {
  hwt_isa is[2];
  size_t ni;
  isas(hwt_gemm_qs8, is, &ni);
  for (size_t i = 0; i < NCASES; i++)
    for (size_t j = 0; j < ni; j++)
      for (size_t t = 1; t <= 2; t++)
        for (unsigned v = 0; v < 3; v++) check_qs8(&cases[i], is[j], t, v);
}

Test(conv, rejects_bad_shapes) {
  float w[27] = {0};
  hwt_conv_f32_plan *p = (hwt_conv_f32_plan *) 1;
  hwt_conv_shape s = {3, 3, 0, 1, 0, 0, 0, 0, 3, 1};
  cr_assert_eq(hwt_conv_f32_create(&s, w, NULL, -INFINITY, INFINITY, hwt_isa_scalar, NULL, 1, &p),
               hwt_status_invalid_argument);
  cr_assert_null(p);
  cr_assert_eq(hwt_conv_out_size(2, 5, 1, 1, 1), 0);
  cr_assert_eq(hwt_conv_out_size(224, 3, 2, 1, 1), 112);
  hwt_conv_f32_destroy(NULL);
  hwt_conv_qs8_destroy(NULL);
}
