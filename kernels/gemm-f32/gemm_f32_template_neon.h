/* SPDX-License-Identifier: Apache-2.0 */
/* Body of the AArch64 NEON fp32 micro-kernels: an MR x 12 tile of 3 MR q-register accumulators, W panels of
 * NR = 12 columns. A is read 4 k at a time, one q register per row, and each k lane multiplies a W row with
 * vfmaq_laneq_f32 (one load of A feeds 12 FMAs per row). Register budget at MR = 6: 18 accumulators + 6 A
 * + 3 W = 27 of 32. HWT_U (default 1) accumulator sets take turns over the k lanes, so a narrow tile still has
 * enough independent FMA chains to hide the FMA latency (the 1-row GEMV kernel uses 2: 6 chains instead of 3).
 * Each gemm_f32_<mr>x12_neon.c defines HWT_MR, HWT_FN (and HWT_U), then includes this file once.
 * No include guard on purpose. */
#include <arm_neon.h>
#include <assert.h>
#include <string.h>

#include "driver/gemm_f32_ukernel.h"

#if !defined(HWT_MR) || !defined(HWT_FN)
#error "define HWT_MR and HWT_FN before including gemm_f32_template_neon.h"
#endif
#ifndef HWT_U
#define HWT_U 1
#endif

void HWT_FN(size_t m, size_t n, size_t k, const float *a, size_t a_stride, const float *w, const float *bias,
            float *c, size_t c_stride, uint32_t flags, const hwt_gemm_f32_minmax *minmax) {
  enum { MR = HWT_MR, NV = 3, NR = 12, U = HWT_U };
  _Static_assert(U == 1 || U == 2 || U == 4, "HWT_U: 1, 2 or 4 accumulator sets (the 4 k lanes are shared out)");
  assert(m >= 1 && m <= MR);
  assert(n >= 1 && k >= 1);
  /* Rows past m alias the last real row: they compute the same values; only the m real rows are stored. */
  const float *ar[MR];
  float *cr[MR];
  ar[0] = a;
  cr[0] = c;
#pragma GCC unroll 16
  for (int i = 1; i < MR; i++) {
    ar[i] = (size_t)i < m ? ar[i - 1] + a_stride : ar[i - 1];
    cr[i] = (size_t)i < m ? cr[i - 1] + c_stride : cr[i - 1];
  }
  const float32x4_t vmin = vdupq_n_f32(minmax->min);
  const float32x4_t vmax = vdupq_n_f32(minmax->max);
  size_t col = 0;
  do {
    const size_t nc = n - col < NR ? n - col : NR;
    float32x4_t acc[U][MR][NV];
    if (flags & HWT_GEMM_F32_ACCUMULATE) {
      /* Exactly nc floats of each C row are read: a partial panel goes through a zero-padded copy. */
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++) {
        if (nc == NR) {
#pragma GCC unroll 4
          for (int v = 0; v < NV; v++) acc[0][i][v] = vld1q_f32(cr[i] + col + 4 * v);
        } else {
          float tmp[NR] = {0};
          memcpy(tmp, cr[i] + col, nc * sizeof(float));
#pragma GCC unroll 4
          for (int v = 0; v < NV; v++) acc[0][i][v] = vld1q_f32(tmp + 4 * v);
        }
      }
    } else {
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) {
        const float32x4_t b = vld1q_f32(bias + col + 4 * v);  /* bias is NR-padded */
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) acc[0][i][v] = b;
      }
    }
#pragma GCC unroll 4
    for (int u = 1; u < U; u++)
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[u][i][v] = vdupq_n_f32(0.0f);

    size_t kk = 0;
    for (; kk + 4 <= k; kk += 4) {
      float32x4_t av[MR];
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++) av[i] = vld1q_f32(ar[i] + kk);
      const float *wk = w + kk * NR;
      /* vfmaq_laneq_f32 needs a constant lane: one block per k of the four. */
#define HWT_NEON_F32_LANE(L)                                                                                      \
  do {                                                                                                            \
    const float32x4_t w0 = vld1q_f32(wk + (L) * NR), w1 = vld1q_f32(wk + (L) * NR + 4),                           \
                      w2 = vld1q_f32(wk + (L) * NR + 8);                                                          \
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                                       \
      acc[(L) % U][i][0] = vfmaq_laneq_f32(acc[(L) % U][i][0], w0, av[i], L);                                     \
      acc[(L) % U][i][1] = vfmaq_laneq_f32(acc[(L) % U][i][1], w1, av[i], L);                                     \
      acc[(L) % U][i][2] = vfmaq_laneq_f32(acc[(L) % U][i][2], w2, av[i], L);                                     \
    }                                                                                                             \
  } while (0)
      HWT_NEON_F32_LANE(0);
      HWT_NEON_F32_LANE(1);
      HWT_NEON_F32_LANE(2);
      HWT_NEON_F32_LANE(3);
#undef HWT_NEON_F32_LANE
    }
    for (; kk < k; kk++) {
      const float *wk = w + kk * NR;
      const float32x4_t w0 = vld1q_f32(wk), w1 = vld1q_f32(wk + 4), w2 = vld1q_f32(wk + 8);
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++) {
        const float av = ar[i][kk];
        acc[0][i][0] = vfmaq_n_f32(acc[0][i][0], w0, av);
        acc[0][i][1] = vfmaq_n_f32(acc[0][i][1], w1, av);
        acc[0][i][2] = vfmaq_n_f32(acc[0][i][2], w2, av);
      }
    }
    w += k * NR;
#pragma GCC unroll 4
    for (int u = 1; u < U; u++)
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[0][i][v] = vaddq_f32(acc[0][i][v], acc[u][i][v]);

    if (flags & HWT_GEMM_F32_CLAMP) {
      /* FMAX/FMIN return NaN when an operand is NaN, so NaN passes through the clamp as in the reference. */
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[0][i][v] = vminq_f32(vmaxq_f32(acc[0][i][v], vmin), vmax);
    }
    /* Only the m real rows are stored (rows past m alias row m - 1 and hold the same values). */
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      if ((size_t)i >= m) break;
      if (nc == NR) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) vst1q_f32(cr[i] + col + 4 * v, acc[0][i][v]);
      } else {
        float tmp[NR];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) vst1q_f32(tmp + 4 * v, acc[0][i][v]);
        memcpy(cr[i] + col, tmp, nc * sizeof(float));
      }
    }
    col += nc;
  } while (col < n);
}
