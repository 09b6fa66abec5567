/* SPDX-License-Identifier: Apache-2.0 */
/* fp32 GEMM micro-kernel 5x32, AVX-512F: 10 zmm accumulators, for 5 rows. */
#define HWT_MR 5
#define HWT_NV 2
#define HWT_U 1
#define HWT_FN hwt_gemm_f32_ukernel_5x32__avx512f
#include "gemm-f32/gemm_f32_template_avx512f.h"
