/* SPDX-License-Identifier: Apache-2.0 */
/* fp32 GEMM micro-kernel 1x16, AVX2+FMA: batch-1 GEMV, 4 accumulator sets over k (8 ymm) so the FMA latency is hidden. */
#define HWT_MR 1
#define HWT_NV 2
#define HWT_U 4
#define HWT_FN hwt_gemm_f32_ukernel_1x16__avx2
#include "gemm-f32/gemm_f32_template_avx2.h"
