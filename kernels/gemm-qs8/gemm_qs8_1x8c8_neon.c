/* SPDX-License-Identifier: Apache-2.0 */
/* qs8 GEMM micro-kernel 1x8c8, AArch64 NEON (vmull_s8 + vpadalq_s16): the batch-1 GEMV path. */
#define HWT_MR 1
#define HWT_FN hwt_gemm_qs8_ukernel_1x8c8__neon
#include "gemm-qs8/gemm_qs8_template_neon.h"
