/* SPDX-License-Identifier: Apache-2.0 */
/* The depthwise row kernels in portable C, written so the compiler vectorizes the channel loops: each ISA's file
 * includes this with its own flags (-mavx512f, -mavx2, NEON is the AArch64 baseline). The vertical tap range is
 * computed once per row and the horizontal one once per pixel, so the tap loops have no per-tap bounds test; a
 * block of channels accumulates in a stack array that stays in L1. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "dwconv/dwconv_ukernel.h"

#ifndef HWT_DW_ISA
#error "define HWT_DW_ISA before including dwconv_template.h"
#endif
#define HWT_DW_CAT2(a, b) a##b
#define HWT_DW_CAT(a, b) HWT_DW_CAT2(a, b)

enum { HWT_DW_CB = 256 }; /* channels per accumulator block */

static inline void tap_range(long base, uint32_t k, size_t n, uint32_t *k0, uint32_t *k1) {
  long lo = base < 0 ? -base : 0, hi = (long) n - base;
  if (hi > (long) k) hi = k;
  if (hi < lo) hi = lo;
  *k0 = (uint32_t) lo;
  *k1 = (uint32_t) hi;
}

void HWT_DW_CAT(hwt_dwconv_f32_row__, HWT_DW_ISA)(const hwt_dwconv_row_args *a) {
  const size_t nc = a->channels;
  const float *in = a->in, *wt = a->w, *bias = a->bias;
  float *out = a->out;
  const float lo = a->min, hi = a->max;
  uint32_t ky0, ky1;
  long iy0 = (long) (a->oy * a->sh) - a->pad_t;
  tap_range(iy0, a->kh, a->ih, &ky0, &ky1);
  for (size_t ox = 0; ox < a->ow; ox++) {
    uint32_t kx0, kx1;
    long ix0 = (long) (ox * a->sw) - a->pad_l;
    tap_range(ix0, a->kw, a->iw, &kx0, &kx1);
    float *o = out + ox * nc;
    for (size_t c0 = 0; c0 < nc; c0 += HWT_DW_CB) {
      const size_t n = nc - c0 < HWT_DW_CB ? nc - c0 : HWT_DW_CB;
      float acc[HWT_DW_CB];
      for (size_t c = 0; c < n; c++) acc[c] = bias[c0 + c];
      for (uint32_t ky = ky0; ky < ky1; ky++) {
        const float *xr = in + ((size_t) (iy0 + ky) * a->iw) * nc + c0;
        const float *wr = wt + (size_t) ky * a->kw * nc + c0;
        for (uint32_t kx = kx0; kx < kx1; kx++) {
          const float *restrict x = xr + (size_t) (ix0 + kx) * nc;
          const float *restrict w = wr + (size_t) kx * nc;
          for (size_t c = 0; c < n; c++) acc[c] += x[c] * w[c];
        }
      }
      for (size_t c = 0; c < n; c++) {
        float v = acc[c];
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        o[c0 + c] = v;
      }
    }
  }
}

void HWT_DW_CAT(hwt_dwconv_qs8_row__, HWT_DW_ISA)(const hwt_dwconv_row_args *a) {
  const size_t nc = a->channels;
  const int8_t *in = a->in, *wt = a->w;
  const int32_t *bias = a->bias;
  const float *scale = a->scale;
  int8_t *out = a->out;
  const int16_t zp = (int16_t) a->input_zero_point;
  const float ozp = a->output_zero_point, qlo = a->qmin, qhi = a->qmax;
  uint32_t ky0, ky1;
  long iy0 = (long) (a->oy * a->sh) - a->pad_t;
  tap_range(iy0, a->kh, a->ih, &ky0, &ky1);
  for (size_t ox = 0; ox < a->ow; ox++) {
    uint32_t kx0, kx1;
    long ix0 = (long) (ox * a->sw) - a->pad_l;
    tap_range(ix0, a->kw, a->iw, &kx0, &kx1);
    int8_t *o = out + ox * nc;
    for (size_t c0 = 0; c0 < nc; c0 += HWT_DW_CB) {
      const size_t n = nc - c0 < HWT_DW_CB ? nc - c0 : HWT_DW_CB;
      int32_t acc[HWT_DW_CB];
      for (size_t c = 0; c < n; c++) acc[c] = bias[c0 + c];
      for (uint32_t ky = ky0; ky < ky1; ky++) {
        const int8_t *xr = in + ((size_t) (iy0 + ky) * a->iw) * nc + c0;
        const int8_t *wr = wt + (size_t) ky * a->kw * nc + c0;
        for (uint32_t kx = kx0; kx < kx1; kx++) {
          const int8_t *restrict x = xr + (size_t) (ix0 + kx) * nc;
          const int8_t *restrict w = wr + (size_t) kx * nc;
          /* |x - zp| <= 255 and |w| <= 128: the product fits int16. */
          for (size_t c = 0; c < n; c++) acc[c] += (int16_t) ((int16_t) (x[c] - zp) * (int16_t) w[c]);
        }
      }
      for (size_t c = 0; c < n; c++) {
        float r = (float) acc[c] * scale[c0 + c];
        r = r != r ? 0.0f : r;
        float v = nearbyintf(r) + ozp;
        v = v < qlo ? qlo : v;
        v = v > qhi ? qhi : v;
        o[c0 + c] = (int8_t) (int32_t) v;
      }
    }
  }
}
