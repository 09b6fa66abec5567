/* SPDX-License-Identifier: Apache-2.0 */
/* Tester of the depthwise plans (hwtune/dwconv.h) against a scalar reference on edge shapes: fp32 within a
 * tolerance, qs8 bit-exact with the runtime's int8 depthwise formula (engine/reference.c weights_q8: padding reads
 * the input zero point, per-channel scales, nearbyintf), at every ISA level this process may use (HWTUNE_ISA caps
 * them), on 1 and 2 threads. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hwtune/conv.h"
#include "hwtune/dwconv.h"

typedef struct rng {
  uint64_t s;
} rng;
static uint32_t rnd(rng *r) {
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return (uint32_t) (r->s >> 32);
}

typedef struct ds {
  size_t batch, h, w;
  hwt_dwconv_shape s;
} ds;

/* kh kw sh sw pad t l b r, channels */
static const ds cases[] = {
    {1, 1, 1, {3, 3, 1, 1, 1, 1, 1, 1, 1}},      /* 1x1 image, 1 channel */
    {1, 1, 1, {3, 3, 2, 2, 1, 1, 1, 1, 17}},     /* 1x1 image, stride 2 */
    {1, 2, 3, {3, 3, 1, 1, 1, 1, 1, 1, 3}},      /* 2x3 image */
    {1, 2, 3, {3, 3, 2, 2, 1, 1, 1, 1, 33}},     /* 2x3 image, stride 2 */
    {1, 2, 3, {3, 3, 1, 1, 2, 2, 2, 2, 5}},      /* padding larger than the kernel's reach */
    {2, 7, 9, {3, 3, 2, 2, 1, 1, 1, 1, 17}},     /* stride 2 on odd sizes, batch 2 */
    {1, 11, 13, {3, 3, 2, 2, 0, 0, 1, 1, 33}},   /* asymmetric padding (TF SAME) */
    {1, 9, 8, {5, 5, 1, 1, 2, 2, 2, 2, 17}},     /* 5x5, odd channels */
    {2, 9, 7, {5, 5, 2, 2, 2, 2, 2, 2, 3}},      /* 5x5 stride 2, batch 2 */
    {1, 5, 5, {5, 5, 1, 2, 3, 4, 0, 1, 16}},     /* padding larger than the stride, uneven strides */
    {1, 13, 11, {3, 3, 1, 1, 1, 1, 1, 1, 300}},  /* more channels than one accumulator block */
    {2, 14, 14, {3, 3, 1, 1, 1, 1, 1, 1, 96}},   /* enough work for 2 threads */
    {1, 6, 6, {1, 1, 1, 1, 0, 0, 0, 0, 7}},      /* 1x1 kernel */
    /* the AVX512-VNNI quads kernel: blocks of 64 channels, columns reused across pixels at stride 1 and 2 */
    {1, 4, 5, {3, 3, 1, 1, 1, 1, 1, 1, 64}},     /* one full block */
    {1, 5, 4, {3, 3, 1, 1, 1, 1, 1, 1, 65}},     /* one block and a 1-channel tail */
    {1, 9, 10, {3, 3, 2, 2, 1, 1, 1, 1, 144}},   /* MobileNet v2's 144: two blocks and a 16-channel tail */
    {1, 3, 17, {3, 3, 2, 2, 0, 1, 1, 0, 32}},    /* half a block, even width, one-sided padding */
    {1, 7, 8, {3, 3, 3, 3, 1, 1, 1, 1, 19}},     /* stride 3: no column reuse */
    {1, 1, 9, {3, 3, 1, 1, 3, 3, 3, 3, 70}},     /* 1-pixel-high image, padding larger than the kernel */
    {1, 8, 9, {5, 5, 1, 1, 2, 2, 2, 2, 70}},     /* 5x5 over two blocks */
    {1, 9, 11, {5, 5, 2, 2, 3, 1, 2, 3, 129}},   /* 5x5 stride 2, uneven padding larger than the stride */
    {1, 6, 7, {5, 5, 3, 3, 2, 2, 2, 2, 5}},      /* 5x5 stride 3 */
    {1, 7, 7, {3, 5, 1, 1, 1, 2, 1, 2, 33}},     /* 3x5: not a quads shape, the template runs it */
};
enum { NCASES = sizeof(cases) / sizeof(cases[0]) };

static size_t oh_of(const ds *c) { return hwt_conv_out_size(c->h, c->s.kh, c->s.sh, c->s.pad_t, c->s.pad_b); }
static size_t ow_of(const ds *c) { return hwt_conv_out_size(c->w, c->s.kw, c->s.sw, c->s.pad_l, c->s.pad_r); }

static void ref_f32(const ds *c, const float *in, const float *w, const float *b, float lo, float hi, float *out) {
  const hwt_dwconv_shape *s = &c->s;
  size_t oh = oh_of(c), ow = ow_of(c), nc = s->channels;
  for (size_t n = 0; n < c->batch; n++)
    for (size_t oy = 0; oy < oh; oy++)
      for (size_t ox = 0; ox < ow; ox++)
        for (size_t ch = 0; ch < nc; ch++) {
          double acc = b ? b[ch] : 0;
          for (uint32_t ky = 0; ky < s->kh; ky++)
            for (uint32_t kx = 0; kx < s->kw; kx++) {
              long iy = (long) (oy * s->sh + ky) - s->pad_t, ix = (long) (ox * s->sw + kx) - s->pad_l;
              if (iy < 0 || ix < 0 || iy >= (long) c->h || ix >= (long) c->w) continue;
              acc += (double) in[((n * c->h + iy) * c->w + ix) * nc + ch] * w[(ky * s->kw + kx) * nc + ch];
            }
          float r = (float) acc;
          out[((n * oh + oy) * ow + ox) * nc + ch] = r < lo ? lo : r > hi ? hi : r;
        }
}

/* engine/reference.c weights_q8 and requant. */
static void ref_qs8(const ds *c, const int8_t *in, const int8_t *w, const int32_t *b, const hwt_qs8_params *p,
                    int8_t *out) {
  const hwt_dwconv_shape *s = &c->s;
  size_t oh = oh_of(c), ow = ow_of(c), nc = s->channels;
  for (size_t n = 0; n < c->batch; n++)
    for (size_t oy = 0; oy < oh; oy++)
      for (size_t ox = 0; ox < ow; ox++)
        for (size_t ch = 0; ch < nc; ch++) {
          int32_t acc = b ? b[ch] : 0;
          for (uint32_t ky = 0; ky < s->kh; ky++)
            for (uint32_t kx = 0; kx < s->kw; kx++) {
              long iy = (long) (oy * s->sh + ky) - s->pad_t, ix = (long) (ox * s->sw + kx) - s->pad_l;
              if (iy < 0 || ix < 0 || iy >= (long) c->h || ix >= (long) c->w) continue;
              acc += (in[((n * c->h + iy) * c->w + ix) * nc + ch] - p->input_zero_point) *
                     w[(ky * s->kw + kx) * nc + ch];
            }
          float scale = p->input_scale * p->kernel_scales[ch] / p->output_scale, r = (float) acc * scale;
          if (isnan(r)) r = 0;
          float v = nearbyintf(r) + (float) p->output_zero_point;
          if (v < p->output_min) v = p->output_min;
          if (v > p->output_max) v = p->output_max;
          out[((n * oh + oy) * ow + ox) * nc + ch] = (int8_t) v;
        }
}

static void check_f32(const ds *c, hwt_isa isa, size_t threads, bool clamp) {
  const hwt_dwconv_shape *s = &c->s;
  size_t nc = s->channels, ni = c->batch * c->h * c->w * nc, no = c->batch * oh_of(c) * ow_of(c) * nc;
  size_t nw = (size_t) s->kh * s->kw * nc;
  rng r = {0x9e3779b97f4a7c15ull ^ (ni * 31 + nw)};
  float *in = malloc(ni * sizeof(float)), *w = malloc(nw * sizeof(float)), *b = malloc(nc * sizeof(float));
  float *out = malloc(no * sizeof(float)), *ref = malloc(no * sizeof(float));
  for (size_t i = 0; i < ni; i++) in[i] = (float) (rnd(&r) % 2001) / 1000.0f - 1.0f;
  for (size_t i = 0; i < nw; i++) w[i] = (float) (rnd(&r) % 2001) / 1000.0f - 1.0f;
  for (size_t i = 0; i < nc; i++) b[i] = (float) (rnd(&r) % 201) / 100.0f - 1.0f;
  float lo = clamp ? 0.0f : -INFINITY, hi = clamp ? 6.0f : INFINITY;
  hwt_dwconv_f32_plan *plan = NULL;
  cr_assert_eq(hwt_dwconv_f32_create(s, w, b, lo, hi, isa, &plan), hwt_status_ok);
  cr_assert_gt(hwt_dwconv_f32_plan_bytes(plan), nw * sizeof(float));
  pthreadpool_t pool = threads > 1 ? pthreadpool_create(threads) : NULL;
  hwt_dwconv_f32_run(plan, c->batch, c->h, c->w, in, out, pool);
  ref_f32(c, in, w, b, lo, hi, ref);
  for (size_t i = 0; i < no; i++)
    cr_assert(fabsf(out[i] - ref[i]) <= 1e-5f * (1.0f + fabsf(ref[i])) * s->kh * s->kw,
              "%zux%zux%zu k%ux%u s%u,%u ch %zu isa %s threads %zu: out[%zu] = %g, reference %g", c->batch, c->h,
              c->w, s->kh, s->kw, s->sh, s->sw, nc, hwt_isa_name(hwt_dwconv_f32_plan_isa(plan)), threads, i,
              out[i], ref[i]);
  if (pool) pthreadpool_destroy(pool);
  hwt_dwconv_f32_destroy(plan);
  free(in), free(w), free(b), free(out), free(ref);
}

static void check_qs8(const ds *c, hwt_isa isa, size_t threads, unsigned variant) {
  const hwt_dwconv_shape *s = &c->s;
  size_t nc = s->channels, ni = c->batch * c->h * c->w * nc, no = c->batch * oh_of(c) * ow_of(c) * nc;
  size_t nw = (size_t) s->kh * s->kw * nc;
  rng r = {0x2545f4914f6cdd1dull ^ (ni * 17 + nw + variant)};
  int8_t *in = malloc(ni), *w = malloc(nw), *out = malloc(no), *ref = malloc(no);
  int32_t *b = malloc(nc * sizeof(int32_t));
  float *ks = malloc(nc * sizeof(float));
  for (size_t i = 0; i < ni; i++) in[i] = (int8_t) (rnd(&r) & 0xff);
  for (size_t i = 0; i < nw; i++) w[i] = (int8_t) (rnd(&r) & 0xff);
  for (size_t i = 0; i < nc; i++) {
    b[i] = (int32_t) (rnd(&r) % 20001) - 10000;
    ks[i] = 0.002f + (float) (rnd(&r) % 1000) * 1e-5f;
  }
  /* variant 0: zero points, wide range; 1: extreme zero points (|x - zp| up to 255), ReLU6-like clamp;
   * 2: the other extreme input zero point, and infinite scales on even channels (every third one with zero
   * weights and bias, so acc * scale is 0 x inf = NaN, which counts as 0) */
  if (variant == 2)
    for (size_t ch = 0; ch < nc; ch++) {
      if (ch % 2 == 0) ks[ch] = 1e10f;
      if (ch % 3 == 0) {
        b[ch] = 0;
        for (size_t t = 0; t < (size_t) s->kh * s->kw; t++) w[t * nc + ch] = 0;
      }
    }
  hwt_qs8_params p = {.input_zero_point = variant == 2 ? 127 : variant ? -128 : 3,
                      .input_scale = variant == 2 ? 1e30f : 0.05f, .kernel_scales = ks,
                      .output_zero_point = variant == 2 ? 0 : variant ? 127 : -5,
                      .output_scale = variant == 2 ? 0.1f : variant ? 0.3f : 0.1f,
                      .output_min = variant == 1 ? -100 : -128, .output_max = variant == 1 ? 100 : 127};
  hwt_dwconv_qs8_plan *plan = NULL;
  cr_assert_eq(hwt_dwconv_qs8_create(s, w, b, &p, isa, &plan), hwt_status_ok);
  pthreadpool_t pool = threads > 1 ? pthreadpool_create(threads) : NULL;
  hwt_dwconv_qs8_run(plan, c->batch, c->h, c->w, in, out, pool);
  ref_qs8(c, in, w, b, &p, ref);
  for (size_t i = 0; i < no; i++)
    cr_assert_eq(out[i], ref[i], "%zux%zux%zu k%ux%u s%u,%u ch %zu isa %s threads %zu v%u: out[%zu] = %d, ref %d",
                 c->batch, c->h, c->w, s->kh, s->kw, s->sh, s->sw, nc,
                 hwt_isa_name(hwt_dwconv_qs8_plan_isa(plan)), threads, variant, i, out[i], ref[i]);
  if (pool) pthreadpool_destroy(pool);
  hwt_dwconv_qs8_destroy(plan);
  free(in), free(w), free(out), free(ref), free(b), free(ks);
}

Test(dwconv, f32_edge_shapes) {
  for (int isa = 0; isa < hwt_isa_count; isa++) {
    if (!hwt_isa_available((hwt_isa) isa)) continue;
    for (size_t i = 0; i < NCASES; i++)
      for (size_t t = 1; t <= 2; t++) check_f32(&cases[i], (hwt_isa) isa, t, (i + t) % 2 == 0);
  }
}

Test(dwconv, qs8_edge_shapes_bit_exact) {
  for (int isa = 0; isa < hwt_isa_count; isa++) {
    if (!hwt_isa_available((hwt_isa) isa)) continue;
    for (size_t i = 0; i < NCASES; i++)
      for (size_t t = 1; t <= 2; t++)
        for (unsigned v = 0; v < 3; v++) check_qs8(&cases[i], (hwt_isa) isa, t, v);
  }
}

/* The quads kernel really runs where it should (else the test above would pass on the template alone), and
 * only there: 3x3 and 5x5, at a level that allows AVX512-VNNI. */
Test(dwconv, qs8_quads_kernel_chosen) {
  if (!hwt_isa_available(hwt_isa_avx512vnni)) cr_skip_test("AVX512-VNNI is not available in this process");
  int8_t w[25] = {0};
  hwt_qs8_params p = {.input_zero_point = 0, .input_scale = 1, .kernel_scale = 1, .output_scale = 1,
                      .output_min = -128, .output_max = 127};
  const struct {
    hwt_dwconv_shape s;
    int8_t izp;
    hwt_isa level, want;
  } cs[] = {
      {{3, 3, 1, 1, 1, 1, 1, 1, 1}, 0, hwt_isa_avx512vnni, hwt_isa_avx512vnni},
      {{5, 5, 2, 2, 2, 2, 2, 2, 1}, -128, hwt_isa_avx512vnni, hwt_isa_avx512vnni},
      {{3, 3, 1, 1, 1, 1, 1, 1, 1}, 0, hwt_isa_avx512f, hwt_isa_avx512f},
      {{3, 5, 1, 1, 1, 1, 1, 1, 1}, 0, hwt_isa_avx512vnni, hwt_isa_avx512f},
  };
  for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
    hwt_dwconv_qs8_plan *plan = NULL;
    p.input_zero_point = cs[i].izp;
    cr_assert_eq(hwt_dwconv_qs8_create(&cs[i].s, w, NULL, &p, cs[i].level, &plan), hwt_status_ok);
    cr_assert_eq(hwt_dwconv_qs8_plan_isa(plan), cs[i].want, "case %zu: %s", i,
                 hwt_isa_name(hwt_dwconv_qs8_plan_isa(plan)));
    hwt_dwconv_qs8_destroy(plan);
  }
}

Test(dwconv, rejects_bad_arguments) {
  float w[9] = {0};
  hwt_dwconv_f32_plan *p = (hwt_dwconv_f32_plan *) 1;
  hwt_dwconv_shape s = {3, 3, 1, 1, 1, 1, 1, 1, 0};
  cr_assert_eq(hwt_dwconv_f32_create(&s, w, NULL, -INFINITY, INFINITY, hwt_isa_scalar, &p),
               hwt_status_invalid_argument);
  cr_assert_null(p);
  s.channels = 1;
  s.sh = 0;
  cr_assert_eq(hwt_dwconv_f32_create(&s, w, NULL, -INFINITY, INFINITY, hwt_isa_scalar, &p),
               hwt_status_invalid_argument);
  s.sh = 1;
  cr_assert_eq(hwt_dwconv_f32_create(&s, w, NULL, 1.0f, 0.0f, hwt_isa_scalar, &p), hwt_status_invalid_argument);
  cr_assert_eq(hwt_dwconv_f32_create(&s, w, NULL, 0.0f, 6.0f, hwt_isa_scalar, &p), hwt_status_ok);
  hwt_dwconv_f32_destroy(p);
  hwt_dwconv_f32_destroy(NULL);
  hwt_dwconv_qs8_destroy(NULL);
}
