/* SPDX-License-Identifier: Apache-2.0 */
/* Body of the NEON dot-product qs8 micro-kernels (ARMv8.2 SDOT, vdotq_lane_s32): an MR x 16 tile, k groups of 4,
 * A as s8. A packed W group of 16 channels x 4 k is 4 q registers, each holding 4 channels' 4 weights, which is
 * SDOT's layout: one SDOT adds a row's 4 inputs (a lane of the A register) times 4 channels into 4 int32
 * accumulators. A is read 8 k at a time (lanes 0 and 1). Register budget at MR = 4: 16 accumulators + 8 W + 4 A.
 * Each gemm_qs8_<mr>x16c4_neondot.c defines HWT_MR and HWT_FN, then includes this file once (compiled with
 * +dotprod by its file-name token). No include guard on purpose. */
#include <assert.h>

#include "gemm-qs8/gemm_qs8_neon_common.h"

#if !defined(HWT_MR) || !defined(HWT_FN)
#error "define HWT_MR and HWT_FN before including gemm_qs8_template_neondot.h"
#endif

void HWT_FN(size_t mr, size_t nc, size_t kc, const void *a, size_t a_stride, const int8_t *w, const int32_t *acc_in,
            size_t acc_in_stride, int32_t *acc_out, int8_t *c, size_t c_stride, const float *scale,
            const hwt_qs8_requant *rq) {
  enum { MR = HWT_MR, NR = 16, KR = 4, NV = NR / 4 };
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

  /* The accumulators start from acc_in: int32 addition wraps, so the order of the sum does not matter. */
  int32x4_t acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) acc[i][v] = vld1q_s32(accr[i] + 4 * v);

  size_t k = 0;
  for (; k + 2 * KR <= kc; k += 2 * KR) {
    int8x8_t av[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) av[i] = vld1_s8(ar[i] + k);
    int8x16_t w0[NV], w1[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      w0[v] = vld1q_s8(w + 16 * v);
      w1[v] = vld1q_s8(w + NR * KR + 16 * v);
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) {
        acc[i][v] = vdotq_lane_s32(acc[i][v], w0[v], av[i], 0);
        acc[i][v] = vdotq_lane_s32(acc[i][v], w1[v], av[i], 1);
      }
    w += 2 * NR * KR;
  }
  if (k < kc) {
    /* One group of 4 left: exactly 4 bytes of each row are read. */
    int8x8_t av[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      int32_t t;
      memcpy(&t, ar[i] + k, sizeof(t));
      av[i] = vreinterpret_s8_s32(vdup_n_s32(t));
    }
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      const int8x16_t wv = vld1q_s8(w + 16 * v);
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++) acc[i][v] = vdotq_lane_s32(acc[i][v], wv, av[i], 0);
    }
  }

  if (acc_out != NULL) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      if ((size_t)i >= mr) break;
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) vst1q_s32(acc_out + i * NR + 4 * v, acc[i][v]);
    }
    return;
  }
  const float32x4_t vmin = vdupq_n_f32(rq->min_less_zp), vmax = vdupq_n_f32(rq->max_less_zp);
  const int32x4_t vzp = vdupq_n_s32(rq->zp);
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    if ((size_t)i >= mr) break;
    const int8x8_t lo = hwt_qs8_neon_requant8(acc[i][0], acc[i][1], scale, vmin, vmax, vzp);
    const int8x8_t hi = hwt_qs8_neon_requant8(acc[i][2], acc[i][3], scale + 8, vmin, vmax, vzp);
    hwt_qs8_neon_store16(c + i * c_stride, vcombine_s8(lo, hi), nc);
  }
}
