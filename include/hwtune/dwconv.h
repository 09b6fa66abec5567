/* SPDX-License-Identifier: Apache-2.0 */
/* Depthwise convolution (channel multiplier 1, dilation 1, NHWC), fp32 and qs8, with our own kernels.
 *
 *   out[b][oy][ox][c] = clamp(bias[c] + sum_{ky,kx} in[b][oy*sh + ky - pad_t][ox*sw + kx - pad_l][c] * w[ky][kx][c])
 *
 * Weights are in the runtime's layout [kh][kw][channels] (engine/ stores depthwise weights so). Pixels outside the
 * image read 0 (fp32) or the input zero point (qs8, so they add nothing). qs8 requantizes exactly as the runtime's
 * int8 depthwise layers (engine/reference.c): per channel float scale = input_scale * kernel_scale[c] / output_scale,
 * nearbyintf(acc * scale) + output_zero_point, clamped to [output_min, output_max] (a NaN product counts as 0).
 *
 * Any kernel size, stride and padding are accepted (padding may exceed the stride or the kernel); the kernels are
 * written for 3x3 and 5x5. The plan packs weights and bias at create; run() never allocates. A run splits output
 * rows across the pool's threads only when the work is large enough to pay for waking them. */
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

typedef struct hwt_dwconv_shape {
  uint32_t kh, kw;                     /* kernel, >= 1 */
  uint32_t sh, sw;                     /* stride, >= 1 */
  uint32_t pad_t, pad_l, pad_b, pad_r; /* padding, any */
  size_t channels;                     /* >= 1 */
} hwt_dwconv_shape;

/* ---- fp32 ---- */
typedef struct hwt_dwconv_f32_plan hwt_dwconv_f32_plan;

/* w: kh x kw x channels; bias: channels floats or NULL; clamp [min, max] (-INFINITY, INFINITY for none).
 * isa: a level available in this process; the plan runs the best registered kernel that level allows. */
hwt_status hwt_dwconv_f32_create(const hwt_dwconv_shape *shape, const float *w, const float *bias, float min,
                                 float max, hwt_isa isa, hwt_dwconv_f32_plan **out);
/* in: batch x h x w x channels; out: batch x oh x ow x channels (hwt_conv_out_size of hwtune/conv.h). */
void hwt_dwconv_f32_run(const hwt_dwconv_f32_plan *plan, size_t batch, size_t h, size_t w, const float *in,
                        float *out, pthreadpool_t pool);
void hwt_dwconv_f32_destroy(hwt_dwconv_f32_plan *plan);
size_t hwt_dwconv_f32_plan_bytes(const hwt_dwconv_f32_plan *plan);
/* The ISA of the kernel the plan runs. */
hwt_isa hwt_dwconv_f32_plan_isa(const hwt_dwconv_f32_plan *plan);

/* ---- qs8 ---- */
typedef struct hwt_dwconv_qs8_plan hwt_dwconv_qs8_plan;

/* w: kh x kw x channels int8; bias: channels int32 or NULL; params as hwt_gemm_qs8 (kernel_scales: channels). */
hwt_status hwt_dwconv_qs8_create(const hwt_dwconv_shape *shape, const int8_t *w, const int32_t *bias,
                                 const hwt_qs8_params *params, hwt_isa isa, hwt_dwconv_qs8_plan **out);
void hwt_dwconv_qs8_run(const hwt_dwconv_qs8_plan *plan, size_t batch, size_t h, size_t w, const int8_t *in,
                        int8_t *out, pthreadpool_t pool);
void hwt_dwconv_qs8_destroy(hwt_dwconv_qs8_plan *plan);
size_t hwt_dwconv_qs8_plan_bytes(const hwt_dwconv_qs8_plan *plan);
hwt_isa hwt_dwconv_qs8_plan_isa(const hwt_dwconv_qs8_plan *plan);

#ifdef __cplusplus
}
#endif
