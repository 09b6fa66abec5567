/* SPDX-License-Identifier: Apache-2.0 */
/* Dense KxK convolution (groups 1, dilation 1, NHWC) on our GEMM plans (kernels.h), fp32 and qs8.
 *
 *   out[b][oy][ox][co] = clamp(bias[co] + sum_{ky,kx,ci} in[b][oy*sh + ky - pad_t][ox*sw + kx - pad_l][ci]
 *                                                       * w[co][ky][kx][ci])
 *
 * Weights are in the runtime's layout [cout][kh][kw][cin] (engine/ stores convolution weights so). Pixels outside
 * the image read 0 (fp32) or the input zero point (qs8, so they add nothing: the runtime's int8 conv semantics).
 * qs8 requantizes exactly as hwt_gemm_qs8 (XNNPACK's qc8: per-channel kernel scales).
 *
 * The plan copies rows of output pixels' receptive fields (im2col) into a workspace it owns, a tile of about half
 * of L2 at a time, and runs the GEMM on the tile (A rows = pixels, K = kh*kw*cin). The workspace has one slice per
 * thread (max_threads at create); a run uses min(max_threads, the pool's threads) threads. One run at a time per
 * plan. Kernels never allocate: create() validates and allocates, run() only asserts its contract. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <pthreadpool.h>

#include "hwtune/isa.h"
#include "hwtune/kernels.h"
#include "hwtune/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hwt_conv_shape {
  uint32_t kh, kw;                     /* kernel, >= 1 */
  uint32_t sh, sw;                     /* stride, >= 1 */
  uint32_t pad_t, pad_l, pad_b, pad_r; /* padding, any (may exceed the stride or the kernel) */
  size_t cin, cout;                    /* channels, >= 1 */
} hwt_conv_shape;

/* Output size of one spatial dimension (0 if the padded input is smaller than the kernel). */
size_t hwt_conv_out_size(size_t in, uint32_t k, uint32_t stride, uint32_t pad_before, uint32_t pad_after);

/* ---- fp32 ---- */
typedef struct hwt_conv_f32_plan hwt_conv_f32_plan;

/* w: cout x kh x kw x cin; bias: cout floats or NULL; clamp [min, max]. blocking: the GEMM's (NULL = default).
 * max_threads: workspace slices (0 = 1). */
hwt_status hwt_conv_f32_create(const hwt_conv_shape *shape, const float *w, const float *bias, float min, float max,
                               hwt_isa isa, const hwt_gemm_blocking *blocking, size_t max_threads,
                               hwt_conv_f32_plan **out);
/* in: batch x h x w x cin; out: batch x oh x ow x cout (hwt_conv_out_size). */
void hwt_conv_f32_run(hwt_conv_f32_plan *plan, size_t batch, size_t h, size_t w, const float *in, float *out,
                      pthreadpool_t pool);
void hwt_conv_f32_destroy(hwt_conv_f32_plan *plan);
size_t hwt_conv_f32_plan_bytes(const hwt_conv_f32_plan *plan);

/* ---- qs8 ---- */
typedef struct hwt_conv_qs8_plan hwt_conv_qs8_plan;

/* w: cout x kh x kw x cin int8; bias: cout int32 or NULL; params as hwt_gemm_qs8 (kernel_scales: cout). */
hwt_status hwt_conv_qs8_create(const hwt_conv_shape *shape, const int8_t *w, const int32_t *bias,
                               const hwt_qs8_params *params, hwt_isa isa, const hwt_gemm_blocking *blocking,
                               size_t max_threads, hwt_conv_qs8_plan **out);
void hwt_conv_qs8_run(hwt_conv_qs8_plan *plan, size_t batch, size_t h, size_t w, const int8_t *in, int8_t *out,
                      pthreadpool_t pool);
void hwt_conv_qs8_destroy(hwt_conv_qs8_plan *plan);
size_t hwt_conv_qs8_plan_bytes(const hwt_conv_qs8_plan *plan);

#ifdef __cplusplus
}
#endif
