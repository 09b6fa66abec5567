/* SPDX-License-Identifier: Apache-2.0 */
/* The int8 elementwise kernels (hwtune/elementwise.h) of every ISA level this process runs, and the engine loops
 * built on them (add, quantize, dequantize, global average pool, input layout), give exactly the bits of the
 * scalar formulas (engine_internal.h hwt_q8 / hwt_dq8) for random and edge inputs: saturation, zero points at the
 * ends, rounding ties, NaN and infinities, every length from 0 to 67 and large ones, unaligned buffers. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "onnx.h"
#include "hwtune/elementwise.h"

/* ---- inputs ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t) (rng_state >> 32);
}
static float rndf(float lo, float hi) { return lo + (hi - lo) * (float) (rnd() >> 8) / 16777216.0f; }

static const float scales[] = {1.0f, 0.5f, 0.25f, 2.0f, 0.1f, 1.0f / 3.0f, 0.0078125f, 0.02352941f, 1e-3f, 7.5f,
                               3e-6f, 1e4f};
static const int32_t zps[] = {-128, -127, -1, 0, 1, 5, 126, 127};
#define NSCALES (sizeof(scales) / sizeof(scales[0]))
#define NZPS (sizeof(zps) / sizeof(zps[0]))

static const size_t sizes[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                               21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41,
                               42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62,
                               63, 64, 65, 66, 67, 127, 255, 1000, 4099};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
enum { maxn = 4099 + 8 };

/* Floats around the quantization grid of scale s: ties (k + 0.5) * s, near-ties, values past saturation and
 * the specials. */
static float edge_float(float s) {
  switch (rnd() % 10) {
    case 0: return ((float) ((int) (rnd() % 600) - 300) + 0.5f) * s;
    case 1: return nextafterf(((float) ((int) (rnd() % 600) - 300) + 0.5f) * s, (rnd() & 1) ? INFINITY : -INFINITY);
    case 2: {
      static const float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, FLT_MAX, -FLT_MAX, 1e30f, -1e30f,
                                 FLT_MIN, -FLT_MIN, 1e-40f, -1e-40f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f};
      return sp[rnd() % (sizeof(sp) / sizeof(sp[0]))];
    }
    case 3: return (float) ((int) (rnd() % 520) - 260) * s;
    default: return rndf(-300.0f, 300.0f) * s;
  }
}

/* ---- the kernels of one level against the formulas ---- */

static const hwt_q8_vec_ops *ops_or_skip(hwt_isa isa) {
  const hwt_q8_vec_ops *o = hwt_q8_vec_for(isa);
  if (o == NULL)
    cr_skip_test("no int8 elementwise kernels for ISA %s in this build and process (CPU, OS or HWTUNE_ISA cap)",
                 hwt_isa_name(isa));
  return o;
}

static void check_quantize(hwt_isa isa) {
  const hwt_q8_vec_ops *o = ops_or_skip(isa);
  static float in[maxn];
  static int8_t out[maxn], want[maxn];
  for (size_t si = 0; si < NSCALES; si++)
    for (size_t zi = 0; zi < NZPS; zi++)
      for (size_t ni = 0; ni < NSIZES; ni++) {
        size_t n = sizes[ni], off = rnd() % 4;
        hwt_qparams q = {scales[si], zps[zi]};
        for (size_t i = 0; i < n; i++) in[off + i] = edge_float(q.scale);
        for (size_t i = 0; i < n; i++) want[i] = hwt_q8(in[off + i], q, -128, 127);
        memset(out, 0x55, n + 8);
        o->quantize(in + off, n, q.scale, q.zero_point, out + off);
        for (size_t i = 0; i < n; i++)
          cr_assert_eq(out[off + i], want[i], "%s quantize n=%zu s=%g zp=%d: x[%zu]=%a -> %d, want %d",
                       hwt_isa_name(isa), n, (double) q.scale, q.zero_point, i, (double) in[off + i], out[off + i],
                       want[i]);
        for (size_t i = 0; i < off; i++) cr_assert_eq(out[i], 0x55, "%s quantize wrote before its output", hwt_isa_name(isa));
        for (size_t i = off + n; i < n + 8; i++)
          cr_assert_eq(out[i], 0x55, "%s quantize n=%zu wrote past its output", hwt_isa_name(isa), n);
      }
}

static void check_dequantize(hwt_isa isa) {
  const hwt_q8_vec_ops *o = ops_or_skip(isa);
  static int8_t in[maxn];
  static float out[maxn];
  for (size_t si = 0; si < NSCALES + 1; si++)
    for (size_t zi = 0; zi < NZPS; zi++)
      for (size_t ni = 0; ni < NSIZES; ni++) {
        size_t n = sizes[ni], off = rnd() % 4;
        hwt_qparams q = {si < NSCALES ? scales[si] : 1.0f, zps[zi]};
        for (size_t i = 0; i < n; i++) in[off + i] = (int8_t) (i < 256 ? (int) i - 128 : (int) (rnd() % 256) - 128);
        memset(out, 0x55, sizeof(float) * (n + 8));
        o->dequantize(in + off, n, q.scale, q.zero_point, out + off);
        for (size_t i = 0; i < n; i++) {
          float w = hwt_dq8(in[off + i], q);
          cr_assert(memcmp(&out[off + i], &w, sizeof w) == 0, "%s dequantize n=%zu s=%g zp=%d: %d -> %a, want %a",
                    hwt_isa_name(isa), n, (double) q.scale, q.zero_point, in[off + i], (double) out[off + i],
                    (double) w);
        }
        uint32_t guard;
        memcpy(&guard, &out[off + n], sizeof guard);
        cr_assert_eq(guard, 0x55555555u, "%s dequantize n=%zu wrote past its output", hwt_isa_name(isa), n);
      }
}

static int8_t add_want(int8_t a, int8_t b, hwt_qparams qa, hwt_qparams qb, hwt_qparams qo) {
  return hwt_q8(hwt_dq8(a, qa) + hwt_dq8(b, qb), qo, -128, 127);
}

static void check_add_params(const hwt_q8_vec_ops *o, hwt_isa isa, hwt_qparams qa, hwt_qparams qb, hwt_qparams qo) {
  enum { all = 65536 };
  static int8_t a[all + 8], b[all + 8], out[all + 8];
  /* every pair of values, at an unaligned offset */
  size_t off = rnd() % 4;
  for (size_t i = 0; i < all; i++) {
    a[off + i] = (int8_t) ((int) (i >> 8) - 128);
    b[off + i] = (int8_t) ((int) (i & 255) - 128);
  }
  o->add(a + off, b + off, all, qa.scale, qa.zero_point, qb.scale, qb.zero_point, qo.scale, qo.zero_point, out + off);
  for (size_t i = 0; i < all; i++) {
    int8_t w = add_want(a[off + i], b[off + i], qa, qb, qo);
    cr_assert_eq(out[off + i], w, "%s add sa=%g za=%d sb=%g zb=%d so=%g zo=%d: %d + %d -> %d, want %d",
                 hwt_isa_name(isa), (double) qa.scale, qa.zero_point, (double) qb.scale, qb.zero_point,
                 (double) qo.scale, qo.zero_point, a[off + i], b[off + i], out[off + i], w);
  }
  /* every length up to 67 and some large ones, random values; nothing written past the end */
  for (size_t ni = 0; ni < NSIZES; ni++) {
    size_t n = sizes[ni];
    for (size_t i = 0; i < n; i++) {
      a[i] = (int8_t) (rnd() & 255);
      b[i] = (int8_t) (rnd() & 255);
    }
    memset(out, 0x55, n + 8);
    o->add(a, b, n, qa.scale, qa.zero_point, qb.scale, qb.zero_point, qo.scale, qo.zero_point, out);
    for (size_t i = 0; i < n; i++)
      cr_assert_eq(out[i], add_want(a[i], b[i], qa, qb, qo), "%s add n=%zu at %zu", hwt_isa_name(isa), n, i);
    for (size_t i = n; i < n + 8; i++) cr_assert_eq(out[i], 0x55, "%s add n=%zu wrote past its output", hwt_isa_name(isa), n);
  }
}

static void check_add(hwt_isa isa) {
  const hwt_q8_vec_ops *o = ops_or_skip(isa);
  /* ties: halves of integers everywhere (0.5 + 0.5 over 1, 0.25 + 0.75 over 0.5, ...) */
  static const float tie[][3] = {{1, 1, 1},       {0.5f, 0.5f, 1},     {0.25f, 0.75f, 0.5f}, {0.5f, 1, 2},
                                 {1, 1, 0.5f},    {0.125f, 0.375f, 1}, {2, 3, 4},            {1, 1, 256}};
  for (size_t t = 0; t < sizeof(tie) / sizeof(tie[0]); t++)
    for (size_t zi = 0; zi < NZPS; zi += 3) {
      int32_t z = zps[zi];
      check_add_params(o, isa, (hwt_qparams){tie[t][0], z}, (hwt_qparams){tie[t][1], -z - 1},
                       (hwt_qparams){tie[t][2], zps[(zi + 5) % NZPS]});
    }
  /* zero points at the ends, saturating both ways */
  check_add_params(o, isa, (hwt_qparams){1, -128}, (hwt_qparams){1, -128}, (hwt_qparams){1, 127});
  check_add_params(o, isa, (hwt_qparams){1, 127}, (hwt_qparams){1, 127}, (hwt_qparams){1, -128});
  /* random scales like a calibrated model's */
  for (int r = 0; r < 24; r++) {
    hwt_qparams qa = {rndf(0.002f, 0.2f), (int32_t) (rnd() % 256) - 128};
    hwt_qparams qb = {rndf(0.002f, 0.2f), (int32_t) (rnd() % 256) - 128};
    hwt_qparams qo = {rndf(0.002f, 0.3f), (int32_t) (rnd() % 256) - 128};
    check_add_params(o, isa, qa, qb, qo);
  }
  /* A built tie that a fused multiply-add would break: sa * 3 rounds down to fa, sb = 0.5 - fa exactly, so
   * fa + sb * 1 is exactly 0.5 (rounds to 0) while sa * 3 + sb unrounded is a bit more (rounds to 1). The set
   * must show such an input, or it could not tell a contracted kernel from a correct one. */
  float sa = 0.1f;
  while ((double) (sa * 3.0f) >= 3.0 * (double) sa) sa = nextafterf(sa, 1.0f);
  hwt_qparams qa = {sa, 0}, qb = {0.5f - sa * 3.0f, 0}, qo = {1.0f, 0};
  cr_assert_eq((double) qb.scale, 0.5 - (double) (sa * 3.0f), "sb not exact");
  check_add_params(o, isa, qa, qb, qo);
  check_add_params(o, isa, qb, qa, qo); /* the same tie with the operands swapped */
  size_t fused_differs = 0;
  for (int x = -128; x < 128; x++)
    for (int y = -128; y < 128; y++) {
      float fused = fmaf(qa.scale, (float) x, hwt_dq8((int8_t) y, qb));
      fused_differs += hwt_q8(fused, qo, -128, 127) != add_want((int8_t) x, (int8_t) y, qa, qb, qo);
    }
  cr_assert_gt(fused_differs, 0, "no input where a fused multiply-add would change the result: the set is too weak");
  for (int r = 0; r < 8; r++) { /* scales near 1 over 1: sums near halves */
    hwt_qparams ra = {rndf(0.3f, 0.7f), 0}, rb = {rndf(0.3f, 0.7f), (int32_t) (rnd() % 16) - 8};
    check_add_params(o, isa, ra, rb, qo);
  }
  /* a zero output scale: infinities and 0 / 0 = NaN */
  check_add_params(o, isa, (hwt_qparams){0.5f, 3}, (hwt_qparams){0.25f, -3}, (hwt_qparams){0.0f, 2});
}

#define ISA_TESTS(isa)                                                  \
  Test(q8_vec, quantize_##isa) { check_quantize(hwt_isa_##isa); }       \
  Test(q8_vec, dequantize_##isa) { check_dequantize(hwt_isa_##isa); }   \
  Test(q8_vec, add_##isa) { check_add(hwt_isa_##isa); }

ISA_TESTS(scalar)
ISA_TESTS(avx2)
ISA_TESTS(avx512f)
ISA_TESTS(neon)

Test(q8_vec, best_honours_the_cap) {
  const hwt_q8_vec_ops *b = hwt_q8_vec_best();
  cr_assert_not_null(b);
  cr_assert(hwt_isa_available(b->isa), "best kernels (%s) above what this process runs", hwt_isa_name(b->isa));
  const char *cap = getenv("HWTUNE_ISA");
  if (cap != NULL && strcmp(cap, "scalar") == 0) cr_assert_eq(b->isa, hwt_isa_scalar);
  if (cap != NULL && strcmp(cap, "avx2") == 0) cr_assert_eq(b->isa, hwt_isa_avx2);
}

/* ---- engine loops (through the best level of this process) ---- */

Test(ops_q8, add_same_shape_batched) {
  static int8_t a[3 * 5 * 7 * 13], b[3 * 5 * 7 * 13], out[3 * 5 * 7 * 13];
  hwt_layer l = {0};
  l.type = hwt_layer_add;
  l.q8 = true;
  l.nin = 2;
  l.out = (hwt_shape){5, 7, 13};
  l.oq = (hwt_qparams){0.037f, -3};
  hwt_shape ish[2] = {l.out, l.out};
  hwt_qparams iq[2] = {{0.021f, 11}, {0.05f, -128}};
  size_t n = 5 * 7 * 13;
  for (size_t i = 0; i < 3 * n; i++) {
    a[i] = (int8_t) (rnd() & 255);
    b[i] = (int8_t) (rnd() & 255);
  }
  const void *in[2] = {a, b};
  uint8_t irank[2] = {4, 4};
  hwt_op_q8(&l, 3, in, ish, irank, iq, out);
  for (size_t i = 0; i < 3 * n; i++) cr_assert_eq(out[i], add_want(a[i], b[i], iq[0], iq[1], l.oq), "at %zu", i);
}

Test(ops_q8, quantize_node) {
  static float x[2 * 3 * 3 * 7];
  static int8_t out[2 * 3 * 3 * 7];
  hwt_layer l = {0};
  l.type = hwt_layer_quantize;
  l.q8 = true;
  l.nin = 1;
  l.out = (hwt_shape){3, 3, 7};
  l.oq = (hwt_qparams){0.5f, 127};
  for (size_t i = 0; i < sizeof(x) / sizeof(x[0]); i++) x[i] = edge_float(0.5f);
  const void *in[1] = {x};
  hwt_shape ish[1] = {l.out};
  uint8_t irank[1] = {4};
  hwt_qparams iq[1] = {{1, 0}};
  hwt_op_q8(&l, 2, in, ish, irank, iq, out);
  for (size_t i = 0; i < sizeof(x) / sizeof(x[0]); i++) cr_assert_eq(out[i], hwt_q8(x[i], l.oq, -128, 127));
}

Test(ops_q8, global_average_pool) {
  static const hwt_shape shapes[] = {{1, 1, 1},  {1, 1, 300}, {7, 7, 1280}, {3, 5, 17}, {17, 17, 3},
                                     {16, 16, 1}, {1, 257, 5}, {23, 23, 257}, {2, 1, 255}};
  static int8_t x[2 * 23 * 23 * 1280], out[2 * 1280];
  for (size_t t = 0; t < sizeof(shapes) / sizeof(shapes[0]); t++)
    for (int fill = 0; fill < 3; fill++) {
      hwt_shape is = shapes[t];
      size_t hw = (size_t) is.h * is.w, isz = hw * is.c;
      for (size_t i = 0; i < 2 * isz; i++) x[i] = fill == 0 ? (int8_t) (rnd() & 255) : fill == 1 ? -128 : 127;
      hwt_layer l = {0};
      l.type = hwt_layer_gavgpool;
      l.q8 = true;
      l.nin = 1;
      l.out = (hwt_shape){1, 1, is.c};
      l.oq = (hwt_qparams){fill == 0 ? 0.011f : 0.25f, fill == 2 ? -128 : 3};
      hwt_qparams iq[1] = {{0.02f, fill == 1 ? 127 : -7}};
      const void *in[1] = {x};
      uint8_t irank[1] = {4};
      hwt_op_q8(&l, 2, in, &is, irank, iq, out);
      for (size_t s = 0; s < 2; s++)
        for (uint32_t c = 0; c < is.c; c++) { /* the loop this replaces */
          int64_t acc = 0;
          for (size_t p = 0; p < hw; p++) acc += x[s * isz + p * is.c + c];
          float real = iq[0].scale * ((float) ((double) acc / (double) hw) - (float) iq[0].zero_point);
          cr_assert_eq(out[s * is.c + c], hwt_q8(real, l.oq, -128, 127), "shape %ux%ux%u fill %d sample %zu c %u",
                       is.h, is.w, is.c, fill, s, c);
        }
    }
}

Test(ops_q8, layout_to_internal) {
  static const hwt_shape shapes[] = {{224, 224, 3}, {5, 7, 3}, {1, 3, 3}, {9, 11, 1}, {13, 3, 65},
                                     {10, 10, 130}, {1, 129, 2}, {67, 1, 64}};
  static float src[2 * 224 * 224 * 3], dst[2 * 224 * 224 * 3];
  for (size_t t = 0; t < sizeof(shapes) / sizeof(shapes[0]); t++) {
    hwt_shape s = shapes[t];
    size_t hw = (size_t) s.h * s.w, n = hw * s.c;
    for (size_t i = 0; i < 2 * n; i++) src[i] = (float) i;
    hwt_layout_to_internal(s, 4, 2, src, dst);
    for (size_t b = 0; b < 2; b++)
      for (size_t ch = 0; ch < s.c; ch++)
        for (size_t p = 0; p < hw; p++)
          cr_assert_eq(dst[b * n + p * s.c + ch], src[b * n + ch * hw + p], "shape %ux%ux%u", s.h, s.w, s.c);
  }
}

/* Float softmax / log-softmax over every axis set: the contiguous fast path and the kept exponentials give the
 * bits of the generic loop they replace (copied here: offsets by division, exp computed twice). */
static size_t old_offset(size_t idx, const size_t *dims, const size_t *strides, int n) {
  size_t off = 0;
  for (int d = n - 1; d >= 0; d--) {
    off += (idx % dims[d]) * strides[d];
    idx /= dims[d];
  }
  return off;
}

static void old_softmax(const float *x, hwt_shape s, uint8_t axes, float *o, bool lg) {
  size_t dims[3] = {s.h, s.w, s.c}, st[3] = {(size_t) s.w * s.c, s.c, 1};
  size_t od[3], os[3], id[3], is[3], nout = 1, nin = 1;
  int no = 0, ni = 0;
  for (int d = 0; d < 3; d++) {
    if (axes & (1u << d)) {
      id[ni] = dims[d];
      is[ni++] = st[d];
      nin *= dims[d];
    } else {
      od[no] = dims[d];
      os[no++] = st[d];
      nout *= dims[d];
    }
  }
  for (size_t g = 0; g < nout; g++) {
    size_t base = old_offset(g, od, os, no);
    float mx = -INFINITY;
    for (size_t i = 0; i < nin; i++) {
      float v = x[base + old_offset(i, id, is, ni)];
      if (v > mx) mx = v;
    }
    double sum = 0;
    for (size_t i = 0; i < nin; i++) sum += exp((double) x[base + old_offset(i, id, is, ni)] - mx);
    double lsum = log(sum);
    for (size_t i = 0; i < nin; i++) {
      size_t k = base + old_offset(i, id, is, ni);
      o[k] = lg ? (float) ((double) x[k] - mx - lsum) : (float) (exp((double) x[k] - mx) / sum);
    }
  }
}

Test(ops_f32, softmax_every_axis_set) {
  static const hwt_shape shapes[] = {{1, 1, 1000}, {1, 1, 1025}, {3, 5, 7}, {2, 1, 9}, {1, 1, 1}, {4, 4, 80}};
  static float x[2 * 1280], out[2 * 1280], want[2 * 1280];
  for (size_t t = 0; t < sizeof(shapes) / sizeof(shapes[0]); t++)
    for (uint8_t axes = 1; axes < 8; axes++)
      for (int lg = 0; lg < 2; lg++) {
        hwt_shape s = shapes[t];
        size_t n = (size_t) s.h * s.w * s.c;
        for (size_t i = 0; i < 2 * n; i++) x[i] = rndf(-20.0f, 20.0f);
        hwt_layer l = {0};
        l.type = lg ? hwt_layer_log_softmax : hwt_layer_softmax;
        l.nin = 1;
        l.out = s;
        l.axes = axes;
        const void *in[1] = {x};
        uint8_t irank[1] = {4};
        hwt_qparams iq[1] = {{1, 0}};
        hwt_op_f32(&l, 2, in, &s, irank, iq, out);
        for (size_t b = 0; b < 2; b++) old_softmax(x + b * n, s, axes, want + b * n, lg);
        for (size_t i = 0; i < 2 * n; i++)
          cr_assert(memcmp(&out[i], &want[i], sizeof(float)) == 0, "shape %ux%ux%u axes %u lg %d at %zu: %a != %a",
                    s.h, s.w, s.c, axes, lg, i, (double) out[i], (double) want[i]);
      }
}

/* Tensor element types to float: one loop per type gives each element's C conversion. */
Test(tensor, to_f32_every_type) {
  enum { n = 67 };
  static union {
    float f[n];
    uint8_t u8[n];
    int8_t i8[n];
    int32_t i32[n];
    int64_t i64[n];
    double f64[n];
  } d;
  float out[n + 1];
  for (int dt = 0; dt < hwt_dtype_count; dt++) {
    for (int i = 0; i < n; i++) {
      uint32_t r = rnd();
      switch ((hwt_dtype) dt) {
        case hwt_dtype_f32: d.f[i] = rndf(-1e6f, 1e6f); break;
        case hwt_dtype_u8: d.u8[i] = (uint8_t) r; break;
        case hwt_dtype_i8: d.i8[i] = (int8_t) r; break;
        case hwt_dtype_i32: d.i32[i] = (int32_t) r; break;
        case hwt_dtype_i64: d.i64[i] = (int64_t) r * (int64_t) (r >> 2) * (i % 2 ? -1 : 1); break;
        case hwt_dtype_f64: d.f64[i] = (double) r / 3.0; break;
        case hwt_dtype_bool: d.u8[i] = (uint8_t) (r % 3); break;
        default: break;
      }
    }
    hwt_tensor t = {0};
    t.dtype = (hwt_dtype) dt;
    t.count = n;
    t.data = &d;
    out[n] = 42.0f;
    hwt_tensor_to_f32(&t, out);
    for (int i = 0; i < n; i++) {
      float w = 0;
      switch ((hwt_dtype) dt) {
        case hwt_dtype_f32: w = d.f[i]; break;
        case hwt_dtype_u8: w = (float) d.u8[i]; break;
        case hwt_dtype_i8: w = (float) d.i8[i]; break;
        case hwt_dtype_i32: w = (float) d.i32[i]; break;
        case hwt_dtype_i64: w = (float) d.i64[i]; break;
        case hwt_dtype_f64: w = (float) d.f64[i]; break;
        case hwt_dtype_bool: w = d.u8[i] ? 1.0f : 0.0f; break;
        default: break;
      }
      cr_assert(memcmp(&out[i], &w, sizeof w) == 0, "%s at %d: %a != %a", hwt_dtype_name((hwt_dtype) dt), i,
                (double) out[i], (double) w);
    }
    cr_assert_eq(out[n], 42.0f, "%s wrote past count", hwt_dtype_name((hwt_dtype) dt));
  }
}

/* relu / relu6 / identity on int8: the clamp shortcut (equal params) and the table give the formula's bytes. */
Test(ops_q8, relu_relu6_identity) {
  static const hwt_layer_type types[] = {hwt_layer_relu, hwt_layer_relu6, hwt_layer_identity};
  static const hwt_qparams params[] = {{0.05f, -128}, {0.05f, 0}, {0.05f, 127}, {0.0235f, -5},
                                       {1.0f, 3},     {6.0f / 255.0f, -128}, {0.1f, 90}};
  enum { n = 3 * 67 };
  int8_t x[n], out[n];
  for (size_t i = 0; i < n; i++) x[i] = (int8_t) (i < 256 ? (int) i - 128 : (int) (rnd() & 255));
  for (size_t t = 0; t < 3; t++)
    for (size_t a = 0; a < sizeof(params) / sizeof(params[0]); a++)
      for (size_t b = 0; b < sizeof(params) / sizeof(params[0]); b++) {
        hwt_layer l = {0};
        l.type = types[t];
        l.q8 = true;
        l.nin = 1;
        l.out = (hwt_shape){1, 3, 67};
        l.oq = params[b];
        hwt_qparams iq[1] = {params[a]};
        hwt_shape ish[1] = {l.out};
        uint8_t irank[1] = {4};
        const void *in[1] = {x};
        hwt_op_q8(&l, 1, in, ish, irank, iq, out);
        int8_t lo = -128, hi = 127;
        if (l.type != hwt_layer_identity)
          hwt_act_bounds_q8(l.type == hwt_layer_relu ? hwt_act_relu : hwt_act_relu6, l.oq, &lo, &hi);
        for (size_t i = 0; i < n; i++)
          cr_assert_eq(out[i], hwt_q8(hwt_dq8(x[i], iq[0]), l.oq, lo, hi), "type %zu params %zu -> %zu at %zu", t, a,
                       b, i);
      }
}

/* int8 max / average pool against the per-tap reference formula (reference.c's loop, copied): odd channel counts,
 * channel blocks past 256, padding on every side, count_include_pad both ways, 1-pixel images, batch 2. */
static void pool_ref(const hwt_layer *l, const int8_t *x, hwt_shape is, hwt_qparams iq, int8_t *out) {
  bool max = l->type == hwt_layer_maxpool;
  hwt_shape os = l->out;
  for (uint32_t oy = 0; oy < os.h; oy++)
    for (uint32_t ox = 0; ox < os.w; ox++)
      for (uint32_t c = 0; c < os.c; c++) {
        int32_t acc = max ? -128 : 0, taps = 0, padded = 0;
        for (uint32_t ky = 0; ky < l->kh; ky++)
          for (uint32_t kx = 0; kx < l->kw; kx++) {
            long iy = (long) oy * l->sh + ky - l->pad_t, ix = (long) ox * l->sw + kx - l->pad_l;
            if (iy < (long) is.h + l->pad_b && ix < (long) is.w + l->pad_r) padded++;
            if (iy < 0 || ix < 0 || iy >= is.h || ix >= is.w) continue;
            int32_t v = x[((size_t) iy * is.w + ix) * is.c + c];
            acc = max ? (v > acc ? v : acc) : acc + v;
            taps++;
          }
        float real;
        if (max)
          real = hwt_dq8((int8_t) acc, iq);
        else if (l->count_include_pad)
          real = padded ? iq.scale * ((float) (acc - taps * iq.zero_point) / (float) padded) : 0.0f;
        else
          real = iq.scale * ((float) acc / (float) (taps ? taps : 1) - (float) iq.zero_point);
        out[((size_t) oy * os.w + ox) * os.c + c] = hwt_q8(real, l->oq, -128, 127);
      }
}

Test(ops_q8, max_and_average_pool) {
  static const hwt_shape shapes[] = {{7, 9, 5}, {1, 1, 3}, {6, 6, 260}, {5, 4, 1}, {8, 8, 16}};
  static int8_t x[2 * 8 * 8 * 260], out[2 * 8 * 8 * 260], want[8 * 8 * 260];
  for (size_t t = 0; t < sizeof(shapes) / sizeof(shapes[0]); t++)
    for (int k = 1; k <= 3; k++)
      for (int st = 1; st <= 2; st++)
        for (int pad = 0; pad < k; pad++)
          for (int mode = 0; mode < 3; mode++) {
            hwt_shape is = shapes[t];
            hwt_layer l = {0};
            l.type = mode == 0 ? hwt_layer_maxpool : hwt_layer_avgpool;
            l.count_include_pad = mode == 2;
            l.q8 = true;
            l.nin = 1;
            l.kh = l.kw = (uint32_t) k;
            l.sh = l.sw = (uint32_t) st;
            l.pad_t = l.pad_l = (uint32_t) pad;
            l.pad_b = l.pad_r = (uint32_t) (k - 1 - pad / 2);
            if (is.h + l.pad_t + l.pad_b < (uint32_t) k || is.w + l.pad_l + l.pad_r < (uint32_t) k) continue;
            l.out = (hwt_shape){(is.h + l.pad_t + l.pad_b - k) / st + 1, (is.w + l.pad_l + l.pad_r - k) / st + 1, is.c};
            l.oq = (hwt_qparams){mode == 0 ? 0.04f : 0.013f, (int32_t) (rnd() % 256) - 128};
            hwt_qparams iq[1] = {{0.02f, (int32_t) (rnd() % 256) - 128}};
            size_t isz = (size_t) is.h * is.w * is.c, osz = (size_t) l.out.h * l.out.w * l.out.c;
            for (size_t i = 0; i < 2 * isz; i++) x[i] = (int8_t) (rnd() & 255);
            if (t == 4) memset(x, 127, isz); /* saturated sample */
            const void *in[1] = {x};
            uint8_t irank[1] = {4};
            hwt_op_q8(&l, 2, in, &is, irank, iq, out);
            for (size_t s = 0; s < 2; s++) {
              pool_ref(&l, x + s * isz, is, iq[0], want);
              for (size_t i = 0; i < osz; i++)
                cr_assert_eq(out[s * osz + i], want[i], "shape %ux%ux%u k %d s %d pad %d mode %d sample %zu at %zu",
                             is.h, is.w, is.c, k, st, pad, mode, s, i);
            }
          }
}

/* int8 softmax over every axis set against the loop it replaced (offsets by division, exp computed twice). */
static void old_softmax_q8(const int8_t *x, hwt_shape s, uint8_t axes, hwt_qparams iq, hwt_qparams oq, int8_t *o) {
  size_t dims[3] = {s.h, s.w, s.c}, st[3] = {(size_t) s.w * s.c, s.c, 1};
  size_t od[3], os[3], id[3], is[3], nout = 1, nin = 1;
  int no = 0, ni = 0;
  for (int d = 0; d < 3; d++) {
    if (axes & (1u << d)) {
      id[ni] = dims[d];
      is[ni++] = st[d];
      nin *= dims[d];
    } else {
      od[no] = dims[d];
      os[no++] = st[d];
      nout *= dims[d];
    }
  }
  for (size_t g = 0; g < nout; g++) {
    size_t base = old_offset(g, od, os, no);
    int32_t mx = -128;
    for (size_t i = 0; i < nin; i++) {
      int32_t v = x[base + old_offset(i, id, is, ni)];
      if (v > mx) mx = v;
    }
    double sum = 0;
    for (size_t i = 0; i < nin; i++) sum += exp((double) iq.scale * (x[base + old_offset(i, id, is, ni)] - mx));
    for (size_t i = 0; i < nin; i++) {
      size_t k = base + old_offset(i, id, is, ni);
      o[k] = hwt_q8((float) (exp((double) iq.scale * (x[k] - mx)) / sum), oq, -128, 127);
    }
  }
}

Test(ops_q8, softmax_every_axis_set) {
  static const hwt_shape shapes[] = {{1, 1, 1000}, {1, 1, 1025}, {3, 5, 7}, {2, 1, 9}, {1, 1, 1}, {4, 4, 80}};
  static int8_t x[2 * 1280], out[2 * 1280], want[2 * 1280];
  for (size_t t = 0; t < sizeof(shapes) / sizeof(shapes[0]); t++)
    for (uint8_t axes = 1; axes < 8; axes++) {
      hwt_shape s = shapes[t];
      size_t n = (size_t) s.h * s.w * s.c;
      for (size_t i = 0; i < 2 * n; i++) x[i] = (int8_t) (rnd() & 255);
      hwt_layer l = {0};
      l.type = hwt_layer_softmax;
      l.q8 = true;
      l.nin = 1;
      l.out = s;
      l.axes = axes;
      l.oq = (hwt_qparams){1.0f / 256.0f, -128};
      hwt_qparams iq[1] = {{0.07f, 3}};
      const void *in[1] = {x};
      uint8_t irank[1] = {4};
      hwt_op_q8(&l, 2, in, &s, irank, iq, out);
      for (size_t b = 0; b < 2; b++) old_softmax_q8(x + b * n, s, axes, iq[0], l.oq, want + b * n);
      for (size_t i = 0; i < 2 * n; i++)
        cr_assert_eq(out[i], want[i], "shape %ux%ux%u axes %u at %zu", s.h, s.w, s.c, axes, i);
    }
}
