/* SPDX-License-Identifier: Apache-2.0 */
/* What each GEMM family driver tells the shared config (kernels/config/gemm_config.c). Internal. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "hwtune/isa.h"

/* The widest micro-kernel tile the family registers for `isa` (from its .inc list), in elements:
 * mr rows of A, nr columns of W, kr = k elements consumed per step (1 for f32, 4 for VNNI-style int8, ...).
 * Returns false when the family has no kernel for `isa` in this build. */
bool hwt_gemm_f32_family_tile(hwt_isa isa, size_t *mr, size_t *nr, size_t *kr);
bool hwt_gemm_qs8_family_tile(hwt_isa isa, size_t *mr, size_t *nr, size_t *kr);
