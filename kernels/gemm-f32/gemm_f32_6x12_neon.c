/* SPDX-License-Identifier: Apache-2.0 */
/* fp32 GEMM micro-kernel 6x12, AArch64 NEON (vfmaq_laneq_f32): 18 q-register accumulators, the main tile. */
#define HWT_MR 6
#define HWT_FN hwt_gemm_f32_ukernel_6x12__neon
#include "gemm-f32/gemm_f32_template_neon.h"
