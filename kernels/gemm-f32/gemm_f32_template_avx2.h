/* SPDX-License-Identifier: Apache-2.0 */
/* Body of the AVX2+FMA fp32 micro-kernels: an MR x (8 NV) tile of ymm accumulators, W panels of NR = 8 NV
 * columns, A broadcast one element at a time. Each gemm_f32_<mr>x<nr>_avx2.c defines HWT_MR, HWT_NV, HWT_U
 * (independent accumulator sets over k, so narrow tiles still hide the FMA latency) and HWT_FN, then includes
 * this file once. No include guard on purpose. */
#include <assert.h>
#include <immintrin.h>

#include "driver/gemm_f32_ukernel.h"

#if !defined(HWT_MR) || !defined(HWT_NV) || !defined(HWT_U) || !defined(HWT_FN)
#error "define HWT_MR, HWT_NV, HWT_U and HWT_FN before including gemm_f32_template_avx2.h"
#endif

void HWT_FN(size_t m, size_t n, size_t k, const float *a, size_t a_stride, const float *w, const float *bias,
            float *c, size_t c_stride, uint32_t flags, const hwt_gemm_f32_minmax *minmax) {
  enum { MR = HWT_MR, NV = HWT_NV, U = HWT_U, NR = 8 * HWT_NV };
  assert(m >= 1 && m <= MR);
  assert(n >= 1 && k >= 1);
  /* Rows past m alias the last real row: they compute and store the same values, so no row test in the loop. */
  const float *ar[MR];
  float *cr[MR];
  ar[0] = a;
  cr[0] = c;
#pragma GCC unroll 16
  for (int i = 1; i < MR; i++) {
    ar[i] = (size_t)i < m ? ar[i - 1] + a_stride : ar[i - 1];
    cr[i] = (size_t)i < m ? cr[i - 1] + c_stride : cr[i - 1];
  }
  const __m256 vmin = _mm256_set1_ps(minmax->min);
  const __m256 vmax = _mm256_set1_ps(minmax->max);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  size_t col = 0;
  do {
    const size_t nc = n - col < NR ? n - col : NR;
    /* Lane masks for a partial panel: lane j of vector v is live when 8 v + j < nc. maskload/maskstore do not
     * touch (or fault on) masked-off lanes, so nothing past column n is read or written. */
    __m256i mask[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; v++) {
      const size_t left = nc > (size_t)v * 8 ? nc - (size_t)v * 8 : 0;
      mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left > 8 ? 8 : left)), lane);
    }
    __m256 acc[U][MR][NV];
    if (flags & HWT_GEMM_F32_ACCUMULATE) {
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++)
          acc[0][i][v] = nc == NR ? _mm256_loadu_ps(cr[i] + col + 8 * v)
                                  : _mm256_maskload_ps(cr[i] + col + 8 * v, mask[v]);
    } else {
#pragma GCC unroll 16
      for (int v = 0; v < NV; v++) {
        const __m256 b = _mm256_loadu_ps(bias + col + 8 * v);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) acc[0][i][v] = b;
      }
    }
#pragma GCC unroll 16
    for (int u = 1; u < U; u++)
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++) acc[u][i][v] = _mm256_setzero_ps();

    size_t kk = 0;
    for (; kk + U <= k; kk += U) {
#pragma GCC unroll 16
      for (int u = 0; u < U; u++) {
        __m256 wv[NV];
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++) wv[v] = _mm256_loadu_ps(w + (kk + u) * NR + 8 * v);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
          const __m256 av = _mm256_broadcast_ss(ar[i] + kk + u);
#pragma GCC unroll 16
          for (int v = 0; v < NV; v++) acc[u][i][v] = _mm256_fmadd_ps(av, wv[v], acc[u][i][v]);
        }
      }
    }
    for (; kk < k; kk++) {
      __m256 wv[NV];
#pragma GCC unroll 16
      for (int v = 0; v < NV; v++) wv[v] = _mm256_loadu_ps(w + kk * NR + 8 * v);
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++) {
        const __m256 av = _mm256_broadcast_ss(ar[i] + kk);
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++) acc[0][i][v] = _mm256_fmadd_ps(av, wv[v], acc[0][i][v]);
      }
    }
    w += k * NR;

#pragma GCC unroll 16
    for (int u = 1; u < U; u++)
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++) acc[0][i][v] = _mm256_add_ps(acc[0][i][v], acc[u][i][v]);
    if (flags & HWT_GEMM_F32_CLAMP) {
      /* max/min return their second operand when either is NaN: the accumulator goes second so NaN survives. */
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++) acc[0][i][v] = _mm256_min_ps(vmax, _mm256_max_ps(vmin, acc[0][i][v]));
    }
    if (nc == NR) {
#pragma GCC unroll 16
      for (int i = MR - 1; i >= 0; i--)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++) _mm256_storeu_ps(cr[i] + col + 8 * v, acc[0][i][v]);
    } else {
#pragma GCC unroll 16
      for (int i = MR - 1; i >= 0; i--)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++) _mm256_maskstore_ps(cr[i] + col + 8 * v, mask[v], acc[0][i][v]);
    }
    col += nc;
  } while (col < n);
}
