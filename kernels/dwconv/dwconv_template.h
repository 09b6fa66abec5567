/* SPDX-License-Identifier: Apache-2.0 */
/* The depthwise row kernels in portable C, written so the compiler vectorizes them over channels: each ISA's file
 * defines HWT_DW_ISA and HWT_DW_VB (bytes of its float vector register; a tile is two vectors) and includes this with
 * its own flags (-mavx512f, -mavx2; NEON is the AArch64 baseline).
 *
 * Per output row the vertical tap range is computed once, per pixel the horizontal one, so the tap loops carry no
 * bounds test. Channels go in tiles of HWT_DW_CT held in registers (GCC/Clang
 * vector-extension registers) across all taps; interior pixels of 3x3 and 5x5 kernels run with the tap counts as
 * constants (fully unrolled); fp32 takes a last single vector, then a variable-length tail, qs8 the tail. qs8
 * weights are packed as int16 at create: (x - zp) * w fits int16 (|x - zp| <= 255, |w| <= 128), summed in int32. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dwconv/dwconv_ukernel.h"

#if !defined(HWT_DW_ISA) || !defined(HWT_DW_VB)
#error "define HWT_DW_ISA and HWT_DW_VB before including dwconv_template.h"
#endif
#define HWT_DW_CAT2(a, b) a##b
#define HWT_DW_CAT(a, b) HWT_DW_CAT2(a, b)
#define HWT_DW_INLINE static inline __attribute__((always_inline))

static inline void tap_range(long base, uint32_t k, size_t n, uint32_t *k0, uint32_t *k1) {
  long lo = base < 0 ? -base : 0, hi = (long) n - base;
  if (hi > (long) k) hi = k;
  if (hi < lo) hi = lo;
  *k0 = (uint32_t) lo;
  *k1 = (uint32_t) hi;
}

/* GCC/Clang vector extensions: HWT_DW_VB bytes per float vector (the ISA's register), V lanes; a tile is two. */
#define HWT_DW_V (HWT_DW_VB / 4)
#define HWT_DW_CT (2 * HWT_DW_V)
typedef float dw_vf __attribute__((vector_size(HWT_DW_VB)));
typedef int32_t dw_vi32 __attribute__((vector_size(HWT_DW_VB)));
typedef int16_t dw_vi16 __attribute__((vector_size(HWT_DW_VB / 2)));
typedef int8_t dw_vi8 __attribute__((vector_size(HWT_DW_VB / 4)));

HWT_DW_INLINE dw_vf ld_f(const float *p) {
  dw_vf v;
  memcpy(&v, p, sizeof v);
  return v;
}
HWT_DW_INLINE dw_vi16 ld_i16(const int16_t *p) {
  dw_vi16 v;
  memcpy(&v, p, sizeof v);
  return v;
}
HWT_DW_INLINE dw_vi16 ld_i8(const int8_t *p) {
  dw_vi8 v;
  memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, dw_vi16);
}
HWT_DW_INLINE dw_vf clamp_f(dw_vf v, dw_vf lo, dw_vf hi) {
  dw_vi32 m = v < lo;
  v = (dw_vf) (((dw_vi32) v & ~m) | ((dw_vi32) lo & m));
  m = v > hi;
  return (dw_vf) (((dw_vi32) v & ~m) | ((dw_vi32) hi & m));
}

/* ---- fp32 ---- */

/* One tile of HWT_DW_CT channels: x points at the first valid tap's pixel, w at its weights. */
HWT_DW_INLINE void f32_tile(const float *restrict x, const float *restrict w, const float *restrict b,
                            float *restrict o, size_t xrow, size_t wrow, size_t nc, uint32_t nky, uint32_t nkx,
                            float lo, float hi) {
  dw_vf a0 = ld_f(b), a1 = ld_f(b + HWT_DW_V);
  for (uint32_t ky = 0; ky < nky; ky++)
    for (uint32_t kx = 0; kx < nkx; kx++) {
      const float *xp = x + ky * xrow + kx * nc, *wp = w + ky * wrow + kx * nc;
      a0 += ld_f(xp) * ld_f(wp);
      a1 += ld_f(xp + HWT_DW_V) * ld_f(wp + HWT_DW_V);
    }
  dw_vf vlo = lo - (dw_vf){0}, vhi = hi - (dw_vf){0};
  a0 = clamp_f(a0, vlo, vhi);
  a1 = clamp_f(a1, vlo, vhi);
  memcpy(o, &a0, sizeof a0);
  memcpy(o + HWT_DW_V, &a1, sizeof a1);
}

/* One vector of HWT_DW_V channels (the remainder after the tiles). */
HWT_DW_INLINE void f32_one(const float *restrict x, const float *restrict w, const float *restrict b,
                           float *restrict o, size_t xrow, size_t wrow, size_t nc, uint32_t nky, uint32_t nkx,
                           float lo, float hi) {
  dw_vf a0 = ld_f(b);
  for (uint32_t ky = 0; ky < nky; ky++)
    for (uint32_t kx = 0; kx < nkx; kx++) a0 += ld_f(x + ky * xrow + kx * nc) * ld_f(w + ky * wrow + kx * nc);
  a0 = clamp_f(a0, lo - (dw_vf){0}, hi - (dw_vf){0});
  memcpy(o, &a0, sizeof a0);
}

HWT_DW_INLINE void f32_tail(const float *restrict x, const float *restrict w, const float *restrict b,
                            float *restrict o, size_t xrow, size_t wrow, size_t nc, uint32_t nky, uint32_t nkx,
                            float lo, float hi, size_t n) {
  float acc[HWT_DW_CT];
  for (size_t c = 0; c < n; c++) acc[c] = b[c];
  for (uint32_t ky = 0; ky < nky; ky++)
    for (uint32_t kx = 0; kx < nkx; kx++) {
      const float *restrict xp = x + ky * xrow + kx * nc, *restrict wp = w + ky * wrow + kx * nc;
      for (size_t c = 0; c < n; c++) acc[c] += xp[c] * wp[c];
    }
  for (size_t c = 0; c < n; c++) {
    float v = acc[c] < lo ? lo : acc[c];
    o[c] = v > hi ? hi : v;
  }
}

/* All channels of one pixel with nky x nkx valid taps (constants when inlined from the interior cases). */
HWT_DW_INLINE void f32_pixel(const float *x, const float *w, const float *b, float *o, size_t xrow, size_t wrow,
                             size_t nc, uint32_t nky, uint32_t nkx, float lo, float hi) {
  size_t c = 0;
  for (; c + HWT_DW_CT <= nc; c += HWT_DW_CT) f32_tile(x + c, w + c, b + c, o + c, xrow, wrow, nc, nky, nkx, lo, hi);
  if (c + HWT_DW_V <= nc) {
    f32_one(x + c, w + c, b + c, o + c, xrow, wrow, nc, nky, nkx, lo, hi);
    c += HWT_DW_V;
  }
  if (c < nc) f32_tail(x + c, w + c, b + c, o + c, xrow, wrow, nc, nky, nkx, lo, hi, nc - c);
}

void HWT_DW_CAT(hwt_dwconv_f32_row__, HWT_DW_ISA)(const hwt_dwconv_row_args *a) {
  const size_t nc = a->channels, xrow = a->iw * nc, wrow = (size_t) a->kw * nc;
  const float *in = a->in, *wt = a->w, *bias = a->bias;
  float *out = a->out;
  const float lo = a->min, hi = a->max;
  uint32_t ky0, ky1;
  long iy0 = (long) (a->oy * a->sh) - a->pad_t;
  tap_range(iy0, a->kh, a->ih, &ky0, &ky1);
  const uint32_t nky = ky1 - ky0;
  for (size_t ox = 0; ox < a->ow; ox++) {
    uint32_t kx0, kx1;
    long ix0 = (long) (ox * a->sw) - a->pad_l;
    tap_range(ix0, a->kw, a->iw, &kx0, &kx1);
    const uint32_t nkx = kx1 - kx0;
    float *o = out + ox * nc;
    if (nky == 0 || nkx == 0) {
      f32_pixel(in, wt, bias, o, xrow, wrow, nc, 0, 0, lo, hi);
      continue;
    }
    const float *x = in + (size_t) (iy0 + ky0) * xrow + (size_t) (ix0 + kx0) * nc;
    const float *w = wt + ky0 * wrow + kx0 * nc;
    if (nky == 3 && nkx == 3)
      f32_pixel(x, w, bias, o, xrow, wrow, nc, 3, 3, lo, hi);
    else if (nky == 5 && nkx == 5)
      f32_pixel(x, w, bias, o, xrow, wrow, nc, 5, 5, lo, hi);
    else
      f32_pixel(x, w, bias, o, xrow, wrow, nc, nky, nkx, lo, hi);
  }
}

/* ---- qs8 ---- */

HWT_DW_INLINE void qs8_out(const int32_t *acc, const float *restrict s, int8_t *restrict o, size_t n, float ozp,
                           float qlo, float qhi) {
  for (size_t c = 0; c < n; c++) {
    float r = (float) acc[c] * s[c];
    r = r != r ? 0.0f : r; /* 0 x inf: the real value is 0 (engine/reference.c requant) */
    float v = nearbyintf(r) + ozp;
    v = v < qlo ? qlo : v;
    v = v > qhi ? qhi : v;
    o[c] = (int8_t) (int32_t) v;
  }
}

HWT_DW_INLINE void qs8_tile(const int8_t *restrict x, const int16_t *restrict w, const int32_t *restrict b,
                            const float *restrict s, int8_t *restrict o, size_t xrow, size_t wrow, size_t nc,
                            uint32_t nky, uint32_t nkx, int16_t zp, float ozp, float qlo, float qhi) {
  dw_vi32 a0, a1;
  memcpy(&a0, b, sizeof a0);
  memcpy(&a1, b + HWT_DW_V, sizeof a1);
  const dw_vi16 vzp = zp - (dw_vi16){0};
  for (uint32_t ky = 0; ky < nky; ky++)
    for (uint32_t kx = 0; kx < nkx; kx++) {
      const int8_t *xp = x + ky * xrow + kx * nc;
      const int16_t *wp = w + ky * wrow + kx * nc;
      dw_vi16 p0 = (ld_i8(xp) - vzp) * ld_i16(wp), p1 = (ld_i8(xp + HWT_DW_V) - vzp) * ld_i16(wp + HWT_DW_V);
      a0 += __builtin_convertvector(p0, dw_vi32);
      a1 += __builtin_convertvector(p1, dw_vi32);
    }
  int32_t acc[HWT_DW_CT];
  memcpy(acc, &a0, sizeof a0);
  memcpy(acc + HWT_DW_V, &a1, sizeof a1);
  qs8_out(acc, s, o, HWT_DW_CT, ozp, qlo, qhi);
}

HWT_DW_INLINE void qs8_tail(const int8_t *restrict x, const int16_t *restrict w, const int32_t *restrict b,
                            const float *restrict s, int8_t *restrict o, size_t xrow, size_t wrow, size_t nc,
                            uint32_t nky, uint32_t nkx, int16_t zp, float ozp, float qlo, float qhi, size_t n) {
  int32_t acc[HWT_DW_CT];
  for (size_t c = 0; c < n; c++) acc[c] = b[c];
  for (uint32_t ky = 0; ky < nky; ky++)
    for (uint32_t kx = 0; kx < nkx; kx++) {
      const int8_t *restrict xp = x + ky * xrow + kx * nc;
      const int16_t *restrict wp = w + ky * wrow + kx * nc;
      for (size_t c = 0; c < n; c++) acc[c] += (int16_t) ((int16_t) (xp[c] - zp) * wp[c]);
    }
  qs8_out(acc, s, o, n, ozp, qlo, qhi);
}

HWT_DW_INLINE void qs8_pixel(const int8_t *x, const int16_t *w, const int32_t *b, const float *s, int8_t *o,
                             size_t xrow, size_t wrow, size_t nc, uint32_t nky, uint32_t nkx, int16_t zp, float ozp,
                             float qlo, float qhi) {
  size_t c = 0;
  for (; c + HWT_DW_CT <= nc; c += HWT_DW_CT)
    qs8_tile(x + c, w + c, b + c, s + c, o + c, xrow, wrow, nc, nky, nkx, zp, ozp, qlo, qhi);
  if (c < nc) qs8_tail(x + c, w + c, b + c, s + c, o + c, xrow, wrow, nc, nky, nkx, zp, ozp, qlo, qhi, nc - c);
}

void HWT_DW_CAT(hwt_dwconv_qs8_row__, HWT_DW_ISA)(const hwt_dwconv_row_args *a) {
  const size_t nc = a->channels, xrow = a->iw * nc, wrow = (size_t) a->kw * nc;
  const int8_t *in = a->in;
  const int16_t *wt = a->w;
  const int32_t *bias = a->bias;
  const float *scale = a->scale;
  int8_t *out = a->out;
  const int16_t zp = (int16_t) a->input_zero_point;
  const float ozp = a->output_zero_point, qlo = a->qmin, qhi = a->qmax;
  uint32_t ky0, ky1;
  long iy0 = (long) (a->oy * a->sh) - a->pad_t;
  tap_range(iy0, a->kh, a->ih, &ky0, &ky1);
  const uint32_t nky = ky1 - ky0;
  for (size_t ox = 0; ox < a->ow; ox++) {
    uint32_t kx0, kx1;
    long ix0 = (long) (ox * a->sw) - a->pad_l;
    tap_range(ix0, a->kw, a->iw, &kx0, &kx1);
    const uint32_t nkx = kx1 - kx0;
    int8_t *o = out + ox * nc;
    if (nky == 0 || nkx == 0) {
      qs8_pixel(in, wt, bias, scale, o, xrow, wrow, nc, 0, 0, zp, ozp, qlo, qhi);
      continue;
    }
    const int8_t *x = in + (size_t) (iy0 + ky0) * xrow + (size_t) (ix0 + kx0) * nc;
    const int16_t *w = wt + ky0 * wrow + kx0 * nc;
    if (nky == 3 && nkx == 3)
      qs8_pixel(x, w, bias, scale, o, xrow, wrow, nc, 3, 3, zp, ozp, qlo, qhi);
    else if (nky == 5 && nkx == 5)
      qs8_pixel(x, w, bias, scale, o, xrow, wrow, nc, 5, 5, zp, ozp, qlo, qhi);
    else
      qs8_pixel(x, w, bias, scale, o, xrow, wrow, nc, nky, nkx, zp, ozp, qlo, qhi);
  }
}
