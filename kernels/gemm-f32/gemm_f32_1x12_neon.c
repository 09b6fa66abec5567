/* SPDX-License-Identifier: Apache-2.0 */
/* fp32 GEMM micro-kernel 1x12, AArch64 NEON (vfmaq_laneq_f32): one row, the batch-1 GEMV path (2 accumulator sets). */
#define HWT_MR 1
#define HWT_U 2
#define HWT_FN hwt_gemm_f32_ukernel_1x12__neon
#include "gemm-f32/gemm_f32_template_neon.h"
