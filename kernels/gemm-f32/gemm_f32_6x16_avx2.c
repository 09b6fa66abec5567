/* SPDX-License-Identifier: Apache-2.0 */
/* fp32 GEMM micro-kernel 6x16, AVX2+FMA: 12 ymm accumulators, the main tile. */
#define HWT_MR 6
#define HWT_NV 2
#define HWT_U 1
#define HWT_FN hwt_gemm_f32_ukernel_6x16__avx2
#include "gemm-f32/gemm_f32_template_avx2.h"
