/* SPDX-License-Identifier: Apache-2.0 */
/* The qs8 depthwise row kernel for 3x3 and 5x5 with AVX512-VNNI: vpdpbusd sums four kernel rows' products per
 * channel in one instruction, and each input column, once transposed, serves every output pixel that reads it.
 *
 * Data layout (packed by dwconv_plan.c, hwt_dwconv_qs8_pack_quads): channels go in blocks of 64. A "column" is the
 * kernel-height input pixels above each other at one input x, for the 64 channels of a block, transposed into
 * G = ceil(kh / 4) groups of 4 zmm: in q (0..3) of a group, 128-bit lane L, dword i holds the four rows' bytes
 * (rows 4g..4g+3, a missing row reads the zero point) of channel 16L + 4q + i. That order is what two rounds of
 * unpack (epi8 then epi16) produce, and what packs_epi32 then packs_epi16 undo on the way out, so nothing else is
 * shuffled. Weights are packed in the same order per kernel column, bias and scales per accumulator q.
 *
 * vpdpbusd multiplies unsigned by signed bytes: inputs are flipped to u8 (x ^ 0x80 = x + 128) and the plan folds
 * -(input_zero_point + 128) * sum(w) into the bias, so the integer accumulator equals the reference's
 * bias + sum over in-image taps of (x - zp) * w (padding reads the zero point, which adds nothing), modulo 2^32 as
 * the reference's int32. Requantization gives the reference's result bit for bit (hwtune/dwconv.h; the steps are
 * in dwconv_qs8_vnni_block.h). Blocks of 64 channels run on zmm, a last block of up to 32 (16) channels on ymm (xmm). */
#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dwconv/dwconv_ukernel.h"

#define DW_INLINE static inline __attribute__((always_inline))

enum { DW_CB = 64, DW_MAXG = 2, DW_MAXK = 5 };

/* What every block of one output row shares. */
typedef struct dw_ctx {
  const int8_t *p[4 * DW_MAXG]; /* per kernel row: the input row at this block's channels, or the zero point row */
  size_t step[4 * DW_MAXG];     /* bytes per input pixel: channels, or 0 for the zero point row */
  const int8_t *w;
  const int32_t *bias;
  const float *scale;
  int8_t *out;
  size_t nc, iw, ow, sw;
  uint32_t pad_l;
  int32_t izp;
  float ozp, qmin, qmax;
} dw_ctx;

#define DWV_BITS 512
#include "dwconv/dwconv_qs8_vnni_block.h"
#define DWV_BITS 256
#include "dwconv/dwconv_qs8_vnni_block.h"
#define DWV_BITS 128
#include "dwconv/dwconv_qs8_vnni_block.h"

DW_INLINE void dw_row(const hwt_dwconv_row_args *a, const int KH, const int KW, const int S) {
  const size_t nc = a->channels, xrow = a->iw * nc;
  int8_t zrow[DW_CB];
  memset(zrow, (int8_t) a->input_zero_point, sizeof zrow);
  dw_ctx c = {.w = a->w, .bias = a->bias, .scale = a->scale, .out = a->out, .nc = nc, .iw = a->iw, .ow = a->ow,
              .sw = a->sw, .pad_l = a->pad_l, .izp = a->input_zero_point, .ozp = a->output_zero_point,
              .qmin = a->qmin, .qmax = a->qmax};
  const long iy0 = (long) (a->oy * a->sh) - (long) a->pad_t;
  for (int ky = 0; ky < KH; ky++) {
    long iy = iy0 + ky;
    bool in_image = iy >= 0 && iy < (long) a->ih;
    c.p[ky] = in_image ? (const int8_t *) a->in + (size_t) iy * xrow : zrow;
    c.step[ky] = in_image ? nc : 0;
  }
  size_t cb = 0;
  for (; cb + DW_CB <= nc; cb += DW_CB) {
    dw_block_512(&c, cb, ~(__mmask64) 0, KH, KW, S);
    for (int ky = 0; ky < KH; ky++)
      if (c.step[ky] != 0) c.p[ky] += DW_CB;
  }
  size_t left = nc - cb;
  if (left > 32)
    dw_block_512(&c, cb, ((__mmask64) 1 << left) - 1, KH, KW, S);
  else if (left > 16)
    dw_block_256(&c, cb, (__mmask32) (((uint64_t) 1 << left) - 1), KH, KW, S);
  else if (left > 0)
    dw_block_128(&c, cb, (__mmask16) ((1u << left) - 1), KH, KW, S);
}
void hwt_dwconv_qs8_packed_row__avx512vnni(const hwt_dwconv_row_args *a) {
  if (a->kh == 3 && a->kw == 3) {
    if (a->sw == 1)
      dw_row(a, 3, 3, 1);
    else if (a->sw == 2)
      dw_row(a, 3, 3, 2);
    else
      dw_row(a, 3, 3, 0);
  } else {
    if (a->sw == 1)
      dw_row(a, 5, 5, 1);
    else if (a->sw == 2)
      dw_row(a, 5, 5, 2);
    else
      dw_row(a, 5, 5, 0);
  }
}
