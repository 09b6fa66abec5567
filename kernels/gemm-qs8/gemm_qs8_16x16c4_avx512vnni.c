/* SPDX-License-Identifier: Apache-2.0 */
/* qs8 micro-kernels for AVX512-VNNI, narrow tile: 16x16 (and 8/4/2/1-row variants), k in groups of 4, A read as
 * signed bytes (hwt_qs8_a_s8x). One zmm accumulator per row; the template is gemm_qs8_template_narrow_avx512vnni.h. */
#define NR 16
#include "gemm_qs8_template_narrow_avx512vnni.h"

HWT_QS8_NARROW_KERNEL(1, 16, true)
HWT_QS8_NARROW_KERNEL(2, 16, true)
HWT_QS8_NARROW_KERNEL(4, 16, false)
HWT_QS8_NARROW_KERNEL(8, 16, false)
HWT_QS8_NARROW_KERNEL(16, 16, false)
