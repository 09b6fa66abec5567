/* SPDX-License-Identifier: Apache-2.0 */
/* Body of the plain-NEON qs8 micro-kernels (AArch64 baseline, no dot product): an MR x 8 tile, k groups of 8,
 * A as s8. Per group, channel j's 8 weights times a row's 8 inputs with SMULL (8 exact int16 products: |a w| <=
 * 2^14) and SADALP into 4 int32 partial sums per (row, channel); the partial sums are reduced with ADDP once at
 * the end. Register budget at MR = 2: 16 accumulators + 2 A + W and products. Each gemm_qs8_<mr>x8c8_neon.c
 * defines HWT_MR and HWT_FN, then includes this file once. No include guard on purpose. */
#include <assert.h>

#include "gemm-qs8/gemm_qs8_neon_common.h"

#if !defined(HWT_MR) || !defined(HWT_FN)
#error "define HWT_MR and HWT_FN before including gemm_qs8_template_neon.h"
#endif

void HWT_FN(size_t mr, size_t nc, size_t kc, const void *a, size_t a_stride, const int8_t *w, const int32_t *acc_in,
            size_t acc_in_stride, int32_t *acc_out, int8_t *c, size_t c_stride, const float *scale,
            const hwt_qs8_requant *rq) {
  enum { MR = HWT_MR, NR = 8, KR = 8 };
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

  int32x4_t acc[MR][NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (int j = 0; j < NR; j++) acc[i][j] = vdupq_n_s32(0);

  for (size_t k = 0; k < kc; k += KR) {
    int8x8_t av[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) av[i] = vld1_s8(ar[i] + k);
#pragma GCC unroll 8
    for (int j = 0; j < NR; j++) {
      const int8x8_t wj = vld1_s8(w + j * KR);
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++) acc[i][j] = vpadalq_s16(acc[i][j], vmull_s8(wj, av[i]));
    }
    w += NR * KR;
  }

  /* Reduce the 4 partial sums of each (row, channel): ADDP twice gives channels 4q..4q+3 in one vector. Then add
   * acc_in (int32 wrapping, like the reference). */
  int32x4_t out[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
    for (int q = 0; q < 2; q++) {
      const int32x4_t s01 = vpaddq_s32(acc[i][4 * q], acc[i][4 * q + 1]);
      const int32x4_t s23 = vpaddq_s32(acc[i][4 * q + 2], acc[i][4 * q + 3]);
      out[i][q] = vaddq_s32(vpaddq_s32(s01, s23), vld1q_s32(accr[i] + 4 * q));
    }

  if (acc_out != NULL) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      if ((size_t)i >= mr) break;
      vst1q_s32(acc_out + i * NR, out[i][0]);
      vst1q_s32(acc_out + i * NR + 4, out[i][1]);
    }
    return;
  }
  const float32x4_t vmin = vdupq_n_f32(rq->min_less_zp), vmax = vdupq_n_f32(rq->max_less_zp);
  const int32x4_t vzp = vdupq_n_s32(rq->zp);
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    if ((size_t)i >= mr) break;
    hwt_qs8_neon_store8(c + i * c_stride, hwt_qs8_neon_requant8(out[i][0], out[i][1], scale, vmin, vmax, vzp), nc);
  }
}
