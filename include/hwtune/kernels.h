/* SPDX-License-Identifier: Apache-2.0 */
/* Our GEMM kernels with fully-connected semantics, behind one plan API per family.
 *
 *   C[M x N] = clamp(A[M x K] * W^T + bias)       W given as N rows of K (XNNPACK's fully-connected layout)
 *
 * A plan packs the weights once for one ISA level and one blocking; run() may then be called any number of
 * times, from one thread at a time per plan, with any batch M. Threads come from the caller's pthreadpool
 * (NULL = run on the calling thread), the same pool XNNPACK uses, so thread counts mean the same thing.
 *
 * Kernels never fail and never allocate; create() validates and allocates, run() only asserts its contract.
 * Blocking (MC, KC, NC) defaults to the analytical model of hwt_gemm_default_blocking() and can be overridden
 * so the tuner can search it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthreadpool.h>

#include "hwtune/isa.h"
#include "hwtune/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hwt_gemm_family { hwt_gemm_f32 = 0, hwt_gemm_qs8, hwt_gemm_family_count } hwt_gemm_family;

typedef struct hwt_gemm_blocking {
  size_t mc, kc, nc;        /* 0 in a field = use the default for that field */
} hwt_gemm_blocking;

/* Cache budgets (bytes) the analytical model sizes blocking from: L1d, L2, and this core's share of L3. */
typedef struct hwt_cache_budget {
  uint64_t l1d, l2, l3_share;
} hwt_cache_budget;

/* Sets the process-wide cache budget used by defaults (call once at start-up from detect's plausible caches;
 * until then conservative defaults apply: 32 KiB, 512 KiB, 2 MiB). Thread-safe. */
void hwt_kernels_set_cache_budget(const hwt_cache_budget *budget);
hwt_cache_budget hwt_kernels_cache_budget(void);

/* Tile of the widest micro-kernel the family uses at `isa` (MR x NR); false if the family has none. */
bool hwt_gemm_tile(hwt_gemm_family family, hwt_isa isa, size_t *mr, size_t *nr);

/* Best ISA this process can run for the family (after the HWTUNE_ISA cap). */
hwt_isa hwt_gemm_best_isa(hwt_gemm_family family);
/* True when the family has kernels for `isa` AND this process can run them. */
bool hwt_gemm_isa_supported(hwt_gemm_family family, hwt_isa isa);

/* The analytical blocking for (family, isa) from a cache budget:
 *   KC: a KC x NR weight panel plus MR x KC inputs fill about half of L1d;
 *   MC: an MC x KC input block fills about half of L2;
 *   NC: a KC x NC weight block fills the L3 share. Rounded to MR / NR multiples. */
hwt_gemm_blocking hwt_gemm_default_blocking(hwt_gemm_family family, hwt_isa isa, const hwt_cache_budget *budget);

/* ---- fp32 ---- */
typedef struct hwt_gemm_f32_plan hwt_gemm_f32_plan;

/* w: N x K row-major (row n = output channel n); bias: N floats or NULL; output clamped to [min, max]
 * (use -INFINITY, +INFINITY for none). blocking may be NULL. isa must be supported. */
hwt_status hwt_gemm_f32_create(size_t n, size_t k, const float *w, const float *bias, float min, float max,
                               hwt_isa isa, const hwt_gemm_blocking *blocking, hwt_gemm_f32_plan **out);
/* a: M rows with a_stride floats between rows (>= K); c: M rows, c_stride (>= N). */
void hwt_gemm_f32_run(const hwt_gemm_f32_plan *plan, size_t m, const float *a, size_t a_stride, float *c,
                      size_t c_stride, pthreadpool_t pool);
void hwt_gemm_f32_destroy(hwt_gemm_f32_plan *plan);

/* ---- qs8: XNNPACK fully_connected_nc_qs8 semantics ----
 *   acc[m][n] = bias[n] + sum_k (a[m][k] - input_zero_point) * w[n][k]          (exact int32)
 *   c = clamp(round_nearest_even(acc * input_scale * kernel_scale[n] / output_scale) + output_zero_point)
 * computed as XNNPACK does: float scale = input_scale * kernel_scale / output_scale, then
 * lrintf((float) acc * scale) saturated, + output zero point, clamp to [output_min, output_max]. */
typedef struct hwt_qs8_params {
  int8_t input_zero_point;
  float input_scale;
  float kernel_scale;          /* used when kernel_scales is NULL */
  const float *kernel_scales;  /* optional: N per-channel scales (the runtime's per-channel quantization) */
  int8_t output_zero_point;
  float output_scale;
  int8_t output_min, output_max;
} hwt_qs8_params;

typedef struct hwt_gemm_qs8_plan hwt_gemm_qs8_plan;

hwt_status hwt_gemm_qs8_create(size_t n, size_t k, const int8_t *w, const int32_t *bias, const hwt_qs8_params *params,
                               hwt_isa isa, const hwt_gemm_blocking *blocking, hwt_gemm_qs8_plan **out);
void hwt_gemm_qs8_run(const hwt_gemm_qs8_plan *plan, size_t m, const int8_t *a, size_t a_stride, int8_t *c,
                      size_t c_stride, pthreadpool_t pool);
void hwt_gemm_qs8_destroy(hwt_gemm_qs8_plan *plan);

/* ---- qs8 with float output: an int8 fully-connected layer that ends in float (a classifier's logits) ----
 *   acc[m][n] = sum_k (a[m][k] - input_zero_point) * w[n][k]                      (exact int32, wrapping)
 *   c[m][n]   = min(max((float) acc[m][n] * s[n] + bias[n], min), max)             (float)
 * with s[n] = input_scale * kernel_scale[n] computed in float (kernel_scales[n] when given, else kernel_scale),
 * (float) acc rounded to nearest, then a float multiply and add (the compiler may fuse them); bias
 * (N floats) may be NULL for zeros; min <= max, either may be infinite. params->output_zero_point,
 * output_scale, output_min and output_max are ignored. Same kernels (ISA, blocking, threading) as the int8
 * output plan; destroy with hwt_gemm_qs8_destroy; hwt_gemm_qs8_run must not be called on such a plan, nor
 * hwt_gemm_qs8_f32out_run on an int8-output one. c: M rows of c_stride floats (>= N). */
hwt_status hwt_gemm_qs8_f32out_create(size_t n, size_t k, const int8_t *w, const float *bias,
                                      const hwt_qs8_params *params, float min, float max, hwt_isa isa,
                                      const hwt_gemm_blocking *blocking, hwt_gemm_qs8_plan **out);
void hwt_gemm_qs8_f32out_run(const hwt_gemm_qs8_plan *plan, size_t m, const int8_t *a, size_t a_stride, float *c,
                             size_t c_stride, pthreadpool_t pool);

/* Bytes a plan holds (packed weights + bias + workspace), for bench's "bytes the operator allocated". */
size_t hwt_gemm_f32_plan_bytes(const hwt_gemm_f32_plan *plan);
size_t hwt_gemm_qs8_plan_bytes(const hwt_gemm_qs8_plan *plan);
/* The blocking a plan actually uses (defaults filled in). */
hwt_gemm_blocking hwt_gemm_f32_plan_blocking(const hwt_gemm_f32_plan *plan);
hwt_gemm_blocking hwt_gemm_qs8_plan_blocking(const hwt_gemm_qs8_plan *plan);

#ifdef __cplusplus
}
#endif
