/* SPDX-License-Identifier: Apache-2.0 */
/* qs8 micro-kernels for AVX512-VNNI, narrow tile: 12x24 (and 8/4/2/1-row variants), k in groups of 4, A read as
 * signed bytes (hwt_qs8_a_s8x). A zmm and a ymm accumulator per row (24 of 32 registers at 12 rows); the template
 * is gemm_qs8_template_narrow_avx512vnni.h. */
#define NR 24
#include "gemm_qs8_template_narrow_avx512vnni.h"

HWT_QS8_NARROW_KERNEL(1, 24, true)
HWT_QS8_NARROW_KERNEL(2, 24, true)
HWT_QS8_NARROW_KERNEL(4, 24, false)
HWT_QS8_NARROW_KERNEL(8, 24, false)
HWT_QS8_NARROW_KERNEL(12, 24, false)
