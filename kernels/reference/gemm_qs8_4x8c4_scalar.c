/* SPDX-License-Identifier: Apache-2.0 */
/* Portable reference qs8 micro-kernel (4x8 tile, k groups of 4, u8 A): the exact result every SIMD kernel must match. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "driver/gemm_qs8_ukernel.h"

enum { MR = 4, NR = 8, KR = 4 };

void hwt_gemm_qs8_ukernel_4x8c4__scalar(size_t mr, size_t nc, size_t kc, const void *a, size_t a_stride,
                                        const int8_t *w, const int32_t *acc_in, size_t acc_in_stride,
                                        int32_t *acc_out, int8_t *c, size_t c_stride, const float *scale,
                                        const hwt_qs8_requant *rq) {
  /* Unsigned arithmetic: the int32 accumulation wraps like the SIMD kernels' (no signed-overflow UB). */
  uint32_t acc[MR][NR];
  for (size_t r = 0; r < mr; r++)
    for (size_t j = 0; j < NR; j++) acc[r][j] = (uint32_t)acc_in[r * acc_in_stride + j];

  const uint8_t *a8 = (const uint8_t *)a;
  for (size_t k = 0; k < kc; k += KR) {
    for (size_t r = 0; r < mr; r++) {
      const uint8_t *ar = a8 + r * a_stride + k;
      for (size_t j = 0; j < NR; j++) {
        const int8_t *wj = w + j * KR;
        int32_t dot = 0;  /* at most 4 * 255 * 128: no overflow */
        for (size_t q = 0; q < KR; q++) dot += (int32_t)ar[q] * (int32_t)wj[q];
        acc[r][j] += (uint32_t)dot;
      }
    }
    w += NR * KR;
  }

  if (acc_out != NULL) {
    for (size_t r = 0; r < mr; r++)
      for (size_t j = 0; j < NR; j++) acc_out[r * NR + j] = (int32_t)acc[r][j];
    return;
  }
  for (size_t r = 0; r < mr; r++) {
    for (size_t j = 0; j < nc; j++) {
      float f = (float)(int32_t)acc[r][j] * scale[j];
      f = f < rq->min_less_zp ? rq->min_less_zp : f;
      f = f > rq->max_less_zp ? rq->max_less_zp : f;
      c[r * c_stride + j] = (int8_t)((int32_t)lrintf(f) + rq->zp);
    }
  }
}
