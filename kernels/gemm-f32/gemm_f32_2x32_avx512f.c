/* SPDX-License-Identifier: Apache-2.0 */
/* fp32 GEMM micro-kernel 2x32, AVX-512F: 2 accumulator sets over k (8 zmm), for 2 rows. */
#define HWT_MR 2
#define HWT_NV 2
#define HWT_U 2
#define HWT_FN hwt_gemm_f32_ukernel_2x32__avx512f
#include "gemm-f32/gemm_f32_template_avx512f.h"
