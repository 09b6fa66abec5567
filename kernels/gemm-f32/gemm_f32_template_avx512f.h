/* SPDX-License-Identifier: Apache-2.0 */
/* Body of the AVX-512F fp32 micro-kernels: an MR x (16 NV) tile of zmm accumulators, W panels of NR = 16 NV
 * columns, A broadcast one element at a time. Each gemm_f32_<mr>x<nr>_avx512f.c defines HWT_MR, HWT_NV, HWT_U
 * (independent accumulator sets over k, so narrow tiles still hide the 4-cycle FMA latency) and HWT_FN, then
 * includes this file once. No include guard on purpose. */
#include <assert.h>
#include <immintrin.h>

#include "driver/gemm_f32_ukernel.h"

#if !defined(HWT_MR) || !defined(HWT_NV) || !defined(HWT_U) || !defined(HWT_FN)
#error "define HWT_MR, HWT_NV, HWT_U and HWT_FN before including gemm_f32_template_avx512f.h"
#endif

/* One k step into accumulator set u. The W vectors are named variables, not an array: GCC 12 left a W array in
 * memory for some MR (8, 12), turning every FMA into a stack load. */
#define HWT_F32_AVX512F_STEP(u, kidx)                                                                       \
  do {                                                                                                      \
    const float *wk_ = w + (kidx) * NR;                                                                     \
    const __m512 w0_ = _mm512_loadu_ps(wk_);                                                                \
    const __m512 w1_ = NV > 1 ? _mm512_loadu_ps(wk_ + 16) : w0_;                                           \
    const __m512 w2_ = NV > 2 ? _mm512_loadu_ps(wk_ + 32) : w0_;                                           \
    const __m512 w3_ = NV > 3 ? _mm512_loadu_ps(wk_ + 48) : w0_;                                           \
    _Pragma("GCC unroll 16") for (int i_ = 0; i_ < MR; i_++) {                                              \
      const __m512 av_ = _mm512_set1_ps(ar[i_][kidx]);                                                      \
      acc[u][i_][0] = _mm512_fmadd_ps(av_, w0_, acc[u][i_][0]);                                             \
      if (NV > 1) acc[u][i_][NV > 1 ? 1 : 0] = _mm512_fmadd_ps(av_, w1_, acc[u][i_][NV > 1 ? 1 : 0]);       \
      if (NV > 2) acc[u][i_][NV > 2 ? 2 : 0] = _mm512_fmadd_ps(av_, w2_, acc[u][i_][NV > 2 ? 2 : 0]);       \
      if (NV > 3) acc[u][i_][NV > 3 ? 3 : 0] = _mm512_fmadd_ps(av_, w3_, acc[u][i_][NV > 3 ? 3 : 0]);       \
    }                                                                                                       \
  } while (0)

/* GCC 12's regional register allocator spills the W vectors of some tiles (8x32, 12x32, 6x64) to the stack and
 * feeds every FMA from memory, halving throughput; one region for the whole function keeps them in registers. */
_Static_assert(HWT_NV >= 1 && HWT_NV <= 4, "HWT_F32_AVX512F_STEP names at most 4 W vectors");

__attribute__((optimize("-fira-region=one")))
void HWT_FN(size_t m, size_t n, size_t k, const float *a, size_t a_stride, const float *w, const float *bias,
            float *c, size_t c_stride, uint32_t flags, const hwt_gemm_f32_minmax *minmax) {
  enum { MR = HWT_MR, NV = HWT_NV, U = HWT_U, NR = 16 * HWT_NV };
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
  const __m512 vmin = _mm512_set1_ps(minmax->min);
  const __m512 vmax = _mm512_set1_ps(minmax->max);
  size_t col = 0;
  do {
    const size_t nc = n - col < NR ? n - col : NR;
    __mmask16 mask[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; v++) {
      const size_t left = nc > (size_t)v * 16 ? nc - (size_t)v * 16 : 0;
      mask[v] = (__mmask16)(left >= 16 ? 0xffffu : (1u << left) - 1u);
    }
    __m512 acc[U][MR][NV];
    if (flags & HWT_GEMM_F32_ACCUMULATE) {
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++) acc[0][i][v] = _mm512_maskz_loadu_ps(mask[v], cr[i] + col + 16 * v);
    } else {
#pragma GCC unroll 16
      for (int v = 0; v < NV; v++) {
        const __m512 b = _mm512_loadu_ps(bias + col + 16 * v);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) acc[0][i][v] = b;
      }
    }
#pragma GCC unroll 16
    for (int u = 1; u < U; u++)
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++) acc[u][i][v] = _mm512_setzero_ps();

    size_t kk = 0;
    if (NV == 2 && nc <= 16) {
      /* Half a panel (N = 16, or a last panel of N % 32 <= 16: MobileNet's 16-channel 1x1 layers): only W's first
       * vector holds columns, so skip the second one's FMAs and use its accumulators as a second k chain (two
       * chains of MR keep the FMA latency hidden). 112x112x32->16 ran every FMA twice without this. */
      enum { H = NV > 1 ? 1 : 0 };
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++) acc[0][i][H] = _mm512_setzero_ps();
      for (; kk + 2 <= k; kk += 2) {
        const __m512 w0 = _mm512_loadu_ps(w + kk * NR), w1 = _mm512_loadu_ps(w + (kk + 1) * NR);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
          acc[0][i][0] = _mm512_fmadd_ps(_mm512_set1_ps(ar[i][kk]), w0, acc[0][i][0]);
          acc[0][i][H] = _mm512_fmadd_ps(_mm512_set1_ps(ar[i][kk + 1]), w1, acc[0][i][H]);
        }
      }
      if (kk < k) {
        const __m512 w0 = _mm512_loadu_ps(w + kk * NR);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) acc[0][i][0] = _mm512_fmadd_ps(_mm512_set1_ps(ar[i][kk]), w0, acc[0][i][0]);
      }
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++) acc[0][i][0] = _mm512_add_ps(acc[0][i][0], acc[0][i][H]); /* [H] not stored */
    } else {
      for (; kk + U <= k; kk += U) {
#pragma GCC unroll 16
        for (int u = 0; u < U; u++) HWT_F32_AVX512F_STEP(u, kk + u);
      }
      for (; kk < k; kk++) HWT_F32_AVX512F_STEP(0, kk);
    }
    w += k * NR;

#pragma GCC unroll 16
    for (int u = 1; u < U; u++)
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++) acc[0][i][v] = _mm512_add_ps(acc[0][i][v], acc[u][i][v]);
    if (flags & HWT_GEMM_F32_CLAMP) {
      /* max/min return their second operand when either is NaN: the accumulator goes second so NaN survives. */
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++) acc[0][i][v] = _mm512_min_ps(vmax, _mm512_max_ps(vmin, acc[0][i][v]));
    }
    if (nc == NR) {
#pragma GCC unroll 16
      for (int i = MR - 1; i >= 0; i--)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(cr[i] + col + 16 * v, acc[0][i][v]);
    } else {
#pragma GCC unroll 16
      for (int i = MR - 1; i >= 0; i--)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++) _mm512_mask_storeu_ps(cr[i] + col + 16 * v, mask[v], acc[0][i][v]);
    }
    col += nc;
  } while (col < n);
}
