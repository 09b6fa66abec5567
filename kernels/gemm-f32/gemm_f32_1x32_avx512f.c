/* SPDX-License-Identifier: Apache-2.0 */
/* fp32 GEMM micro-kernel 1x32, AVX-512F: batch-1 GEMV, 4 accumulator sets over k (8 zmm) so the FMA latency is hidden. */
#define HWT_MR 1
#define HWT_NV 2
#define HWT_U 4
#define HWT_FN hwt_gemm_f32_ukernel_1x32__avx512f
#include "gemm-f32/gemm_f32_template_avx512f.h"
