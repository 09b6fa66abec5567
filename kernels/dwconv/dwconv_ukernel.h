/* SPDX-License-Identifier: Apache-2.0 */
/* Depthwise row kernels: one call computes one output row of one image, all channels. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "hwtune/isa.h"

typedef struct hwt_dwconv_row_args {
  const void *in;      /* the image: h x w x channels */
  void *out;           /* the output row: ow x channels */
  const void *w;       /* packed weights: kh*kw taps x channels (float; int16 for qs8; quads for qs8 packed) */
  const void *bias;    /* channels (float or int32), never NULL (zeros packed) */
  const float *scale;  /* qs8: channels requantization scales */
  size_t channels, ih, iw, ow;
  size_t oy;
  uint32_t kh, kw, sh, sw, pad_t, pad_l;
  float min, max;            /* fp32 clamp */
  int32_t input_zero_point;  /* qs8 */
  float output_zero_point, qmin, qmax;
} hwt_dwconv_row_args;

typedef void (*hwt_dwconv_row_fn)(const hwt_dwconv_row_args *a);

#define HWT_DWCONV_UKERNEL(isa_)                                    \
  void hwt_dwconv_f32_row__##isa_(const hwt_dwconv_row_args *a); \
  void hwt_dwconv_qs8_row__##isa_(const hwt_dwconv_row_args *a);
#define HWT_DWCONV_QS8_PACKED(isa_) void hwt_dwconv_qs8_packed_row__##isa_(const hwt_dwconv_row_args *a);
#include "dwconv/dwconv.inc"
#undef HWT_DWCONV_UKERNEL
#undef HWT_DWCONV_QS8_PACKED
