/* SPDX-License-Identifier: Apache-2.0 */
/* Internal contract between the gemm_f32 driver, its micro-kernels and their tester. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "hwtune/isa.h"

/* Packed weights: for each K block (k0 = 0, KC, 2 KC, ...; kb = min(KC, K - k0) rows) a slab of ceil(N / NR)
 * panels; a panel holds kb x NR floats, k-major (NR consecutive columns per k), columns past N are zero. Panels of
 * one slab are contiguous, so a micro-kernel walks n columns by advancing kb * NR floats per panel.
 * Slab of k0 starts at packed + k0 * round_up(N, NR). */
size_t hwt_gemm_f32_packed_floats(size_t n, size_t k, size_t nr);
void hwt_gemm_f32_pack(size_t n, size_t k, size_t kc, size_t nr, const float *w, float *packed);

/* Micro-kernel flags. Without ACCUMULATE the accumulators start from bias; with it from C (a later K block).
 * CLAMP applies [min, max] before the store (the last K block); NaN passes through the clamp. */
enum { HWT_GEMM_F32_ACCUMULATE = 1u << 0, HWT_GEMM_F32_CLAMP = 1u << 1 };

typedef struct hwt_gemm_f32_minmax {
  float min, max;
} hwt_gemm_f32_minmax;

/* C[m x n] (+)= A[m x k] * (n columns of packed panels) (+ bias).
 *   1 <= m <= MR; n >= 1 (any, walks panels; stores exactly n columns); k >= 1 (the K block's rows kb)
 *   a: m rows, a_stride floats apart, k floats read per row (never more)
 *   w: first panel of the slab for column 0 of this call; bias: NR-padded, for column 0 (read only without
 *   ACCUMULATE); c: m rows, c_stride floats apart, exactly n floats read (ACCUMULATE) and written per row.
 * Kernels never allocate and never fail. */
typedef void (*hwt_gemm_f32_ukernel_fn)(size_t m, size_t n, size_t k, const float *a, size_t a_stride,
                                        const float *w, const float *bias, float *c, size_t c_stride,
                                        uint32_t flags, const hwt_gemm_f32_minmax *minmax);

#define HWT_GEMM_F32_UKERNEL(isa, mr, nr, fn)                                                                   \
  void fn(size_t m, size_t n, size_t k, const float *a, size_t a_stride, const float *w, const float *bias,   \
          float *c, size_t c_stride, uint32_t flags, const hwt_gemm_f32_minmax *minmax);
#include "gemm-f32/gemm_f32.inc"
#undef HWT_GEMM_F32_UKERNEL

typedef struct hwt_gemm_f32_ukernel_info {
  hwt_isa isa;
  size_t mr, nr;
  hwt_gemm_f32_ukernel_fn fn;
  const char *name;
} hwt_gemm_f32_ukernel_info;

/* The family list as a table (gemm_f32.c), in .inc order. */
extern const hwt_gemm_f32_ukernel_info hwt_gemm_f32_ukernels[];
extern const size_t hwt_gemm_f32_ukernel_count;
