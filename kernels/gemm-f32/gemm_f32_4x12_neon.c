/* SPDX-License-Identifier: Apache-2.0 */
/* fp32 GEMM micro-kernel 4x12, AArch64 NEON (vfmaq_laneq_f32): 12 accumulators, for 2 to 4 rows left in a batch. */
#define HWT_MR 4
#define HWT_FN hwt_gemm_f32_ukernel_4x12__neon
#include "gemm-f32/gemm_f32_template_neon.h"
