/* SPDX-License-Identifier: Apache-2.0 */
/* Portable reference fp32 GEMM micro-kernel, 4 x 8 tile: plain C, the semantics every other f32 kernel matches. */
#include <assert.h>

#include "driver/gemm_f32_ukernel.h"

enum { MR = 4, NR = 8 };

void hwt_gemm_f32_ukernel_4x8__scalar(size_t m, size_t n, size_t k, const float *a, size_t a_stride,
                                      const float *w, const float *bias, float *c, size_t c_stride,
                                      uint32_t flags, const hwt_gemm_f32_minmax *minmax) {
  assert(m >= 1 && m <= MR);
  assert(n >= 1 && k >= 1);
  const float vmin = minmax->min, vmax = minmax->max;
  for (size_t n0 = 0; n0 < n; n0 += NR) {
    const size_t nc = n - n0 < NR ? n - n0 : NR;
    float acc[MR][NR];
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < NR; j++) {
        if (flags & HWT_GEMM_F32_ACCUMULATE)
          acc[i][j] = j < nc ? c[i * c_stride + n0 + j] : 0.0f;
        else
          acc[i][j] = bias[n0 + j];
      }
    for (size_t kk = 0; kk < k; kk++) {
      const float *wk = w + kk * NR;
      for (size_t i = 0; i < m; i++) {
        const float av = a[i * a_stride + kk];
        for (size_t j = 0; j < NR; j++) acc[i][j] += av * wk[j];
      }
    }
    w += k * NR;
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < nc; j++) {
        float v = acc[i][j];
        if (flags & HWT_GEMM_F32_CLAMP) {
          /* Comparisons with NaN are false, so NaN passes through, as in the SIMD kernels. */
          v = v < vmin ? vmin : v;
          v = v > vmax ? vmax : v;
        }
        c[i * c_stride + n0 + j] = v;
      }
  }
}
