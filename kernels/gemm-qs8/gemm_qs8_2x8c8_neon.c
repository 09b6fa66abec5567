/* SPDX-License-Identifier: Apache-2.0 */
/* qs8 GEMM micro-kernel 2x8c8, AArch64 NEON (vmull_s8 + vpadalq_s16): the main tile without dot products. */
#define HWT_MR 2
#define HWT_FN hwt_gemm_qs8_ukernel_2x8c8__neon
#include "gemm-qs8/gemm_qs8_template_neon.h"
