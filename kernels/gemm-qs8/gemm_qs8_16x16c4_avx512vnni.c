/* SPDX-License-Identifier: Apache-2.0 */
/* qs8 micro-kernels for AVX512-VNNI, narrow tile: 16x16 (and 8/4/2/1-row variants), k in groups of 4, A read as
 * signed bytes (hwt_qs8_a_s8x). One zmm accumulator per row; the template is gemm_qs8_template_narrow_avx512vnni.h.
 * The 16-row kernel runs a full tile with the row count fixed (rows at a constant stride, no aliasing selects) and
 * a partial one as two 8-row tiles. */
#define NR 16
#include "gemm_qs8_template_narrow_avx512vnni.h"

HWT_QS8_NARROW_KERNEL(1, 16, true)
HWT_QS8_NARROW_KERNEL(2, 16, true)
HWT_QS8_NARROW_KERNEL(4, 16, false)
HWT_QS8_NARROW_KERNEL(8, 16, false)

void hwt_gemm_qs8_ukernel_16x16c4__avx512vnni(size_t mr, size_t nc, size_t kc, const void *a, size_t a_stride,
                                              const int8_t *w, const int32_t *acc_in, size_t acc_in_stride,
                                              int32_t *acc_out, int8_t *c, size_t c_stride, const float *scale,
                                              const hwt_qs8_requant *rq) {
  if (mr < 16) {
    hwt_gemm_qs8_ukernel_8x16c4__avx512vnni(mr < 8 ? mr : 8, nc, kc, a, a_stride, w, acc_in, acc_in_stride, acc_out,
                                            c, c_stride, scale, rq);
    if (mr > 8) {
      hwt_gemm_qs8_ukernel_8x16c4__avx512vnni(mr - 8, nc, kc, (const int8_t *)a + 8 * a_stride, a_stride, w,
                                              acc_in + 8 * acc_in_stride, acc_in_stride,
                                              acc_out ? acc_out + 8 * NR : NULL, c ? c + 8 * c_stride : NULL,
                                              c_stride, scale, rq);
    }
    return;
  }
  tile(16, false, 16, nc, kc, a, a_stride, w, acc_in, acc_in_stride, acc_out, c, c_stride, scale, rq);
}
