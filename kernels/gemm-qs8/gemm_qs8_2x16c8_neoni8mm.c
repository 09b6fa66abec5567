/* SPDX-License-Identifier: Apache-2.0 */
/* qs8 GEMM micro-kernel 2x16c8, NEON int8 matrix multiply (vmmlaq_s32): one row pair, for 1 or 2 rows. */
#define HWT_MR 2
#define HWT_FN hwt_gemm_qs8_ukernel_2x16c8__neoni8mm
#include "gemm-qs8/gemm_qs8_template_neoni8mm.h"
