/* SPDX-License-Identifier: Apache-2.0 */
/* qs8 GEMM micro-kernel 1x16c4, NEON dot product (vdotq_lane_s32): the batch-1 GEMV path. */
#define HWT_MR 1
#define HWT_FN hwt_gemm_qs8_ukernel_1x16c4__neondot
#include "gemm-qs8/gemm_qs8_template_neondot.h"
