/* SPDX-License-Identifier: Apache-2.0 */
/* Body of the NEON int8 matrix-multiply qs8 micro-kernels (ARMv8.6 I8MM SMMLA, vmmlaq_s32): an MR x 16 tile (MR
 * even), k groups of 8, A as s8. SMMLA multiplies a 2 x 8 block of A (two rows' 8 inputs in one q register) by
 * the transpose of a 2 x 8 block of W (two channels' 8 weights: 16 consecutive bytes of a packed [16][8] group)
 * into a 2 x 2 int32 block [r0c0 r0c1 r1c0 r1c1]; ZIP1/ZIP2 on 64-bit lanes turn the blocks back into rows at the
 * end. Register budget at MR = 4: 16 accumulators + 8 W + 2 A. Each gemm_qs8_<mr>x16c8_neoni8mm.c defines HWT_MR
 * and HWT_FN, then includes this file once (compiled with +i8mm by its file-name token). No include guard. */
#include <assert.h>

#include "gemm-qs8/gemm_qs8_neon_common.h"

#if !defined(HWT_MR) || !defined(HWT_FN)
#error "define HWT_MR and HWT_FN before including gemm_qs8_template_neoni8mm.h"
#endif

void HWT_FN(size_t mr, size_t nc, size_t kc, const void *a, size_t a_stride, const int8_t *w, const int32_t *acc_in,
            size_t acc_in_stride, int32_t *acc_out, int8_t *c, size_t c_stride, const float *scale,
            const hwt_qs8_requant *rq) {
  enum { MR = HWT_MR, NR = 16, KR = 8, MP = HWT_MR / 2, NQ = NR / 2 };
  _Static_assert(HWT_MR % 2 == 0, "SMMLA works on row pairs: MR must be even");
  assert(mr >= 1 && mr <= MR && nc >= 1 && nc <= NR && kc >= KR && kc % KR == 0);
  /* Rows past mr alias row mr - 1 (A and acc_in): computed identically, never stored. */
  const int8_t *ar[MR];
  const int32_t *accr[MR];
  ar[0] = (const int8_t *)a;
  accr[0] = acc_in;
#pragma GCC unroll 16
  for (int i = 1; i < MR; i++) {
    ar[i] = (size_t)i < mr ? ar[i - 1] + a_stride : ar[i - 1];
    accr[i] = (size_t)i < mr ? accr[i - 1] + acc_in_stride : accr[i - 1];
  }

  /* acc[p][q] = rows 2p, 2p+1 x channels 2q, 2q+1, starting from acc_in (int32 wrapping). */
  int32x4_t acc[MP][NQ];
#pragma GCC unroll 8
  for (int p = 0; p < MP; p++)
#pragma GCC unroll 8
    for (int q = 0; q < NQ; q++)
      acc[p][q] = vcombine_s32(vld1_s32(accr[2 * p] + 2 * q), vld1_s32(accr[2 * p + 1] + 2 * q));

  for (size_t k = 0; k < kc; k += KR) {
    int8x16_t ap[MP];
#pragma GCC unroll 8
    for (int p = 0; p < MP; p++) ap[p] = vcombine_s8(vld1_s8(ar[2 * p] + k), vld1_s8(ar[2 * p + 1] + k));
#pragma GCC unroll 8
    for (int q = 0; q < NQ; q++) {
      const int8x16_t wq = vld1q_s8(w + 16 * q);
#pragma GCC unroll 8
      for (int p = 0; p < MP; p++) acc[p][q] = vmmlaq_s32(acc[p][q], ap[p], wq);
    }
    w += NR * KR;
  }

  /* Rows back from 2 x 2 blocks: row 2p's channels 4t..4t+3 are the low halves of blocks 2t and 2t+1. */
  int32x4_t out[MR][4];
#pragma GCC unroll 8
  for (int p = 0; p < MP; p++)
#pragma GCC unroll 4
    for (int t = 0; t < 4; t++) {
      const int64x2_t b0 = vreinterpretq_s64_s32(acc[p][2 * t]), b1 = vreinterpretq_s64_s32(acc[p][2 * t + 1]);
      out[2 * p][t] = vreinterpretq_s32_s64(vzip1q_s64(b0, b1));
      out[2 * p + 1][t] = vreinterpretq_s32_s64(vzip2q_s64(b0, b1));
    }

  if (acc_out != NULL) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      if ((size_t)i >= mr) break;
#pragma GCC unroll 4
      for (int t = 0; t < 4; t++) vst1q_s32(acc_out + i * NR + 4 * t, out[i][t]);
    }
    return;
  }
  const float32x4_t vmin = vdupq_n_f32(rq->min_less_zp), vmax = vdupq_n_f32(rq->max_less_zp);
  const int32x4_t vzp = vdupq_n_s32(rq->zp);
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    if ((size_t)i >= mr) break;
    const int8x8_t lo = hwt_qs8_neon_requant8(out[i][0], out[i][1], scale, vmin, vmax, vzp);
    const int8x8_t hi = hwt_qs8_neon_requant8(out[i][2], out[i][3], scale + 8, vmin, vmax, vzp);
    hwt_qs8_neon_store16(c + i * c_stride, vcombine_s8(lo, hi), nc);
  }
}
