/* SPDX-License-Identifier: Apache-2.0 */
/* qs8 GEMM micro-kernel 4x16c8, NEON int8 matrix multiply (vmmlaq_s32): the main tile, two row pairs. */
#define HWT_MR 4
#define HWT_FN hwt_gemm_qs8_ukernel_4x16c8__neoni8mm
#include "gemm-qs8/gemm_qs8_template_neoni8mm.h"
