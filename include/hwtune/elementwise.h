/* SPDX-License-Identifier: Apache-2.0 */
/* int8 elementwise kernels (quantize, dequantize, add with requantization) behind one table of function pointers
 * per ISA level.
 *
 * Every kernel gives, for every input, exactly the bits of these scalar formulas (the engine's hwt_q8/hwt_dq8):
 *
 *   dq(v, s, z)  = s * (float) ((int32_t) v - z)
 *   q(r, s, z)   = clamp((float) round_half_even(r / s == NaN ? 0 : r / s) + (float) z, -128, 127)
 *   add(a, b)    = q(dq(a, sa, za) + dq(b, sb, zb), so, zo)
 *
 * in float, with the operations in this order and no fused multiply-add (the kernel files are compiled with
 * -ffp-contract=off). Zero points are in [-128, 127]. Kernels never allocate; n may be 0; buffers may not overlap
 * (except out == in for the same element type). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "hwtune/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hwt_q8_vec_ops {
  hwt_isa isa;
  /* out[i] = q(in[i], scale, zp) */
  void (*quantize)(const float *in, size_t n, float scale, int32_t zp, int8_t *out);
  /* out[i] = dq(in[i], scale, zp) */
  void (*dequantize)(const int8_t *in, size_t n, float scale, int32_t zp, float *out);
  /* out[i] = add(a[i], b[i]) */
  void (*add)(const int8_t *a, const int8_t *b, size_t n, float sa, int32_t za, float sb, int32_t zb, float so,
              int32_t zo, int8_t *out);
} hwt_q8_vec_ops;

/* The kernels of the best level this process runs (after the HWTUNE_ISA cap); never NULL. Computed once. */
const hwt_q8_vec_ops *hwt_q8_vec_best(void);
/* The kernels of `isa`, or NULL when this build has none for it or this process cannot run it. Levels without
 * their own kernels borrow the nearest lower ones (avx512vnni -> avx512f, avxvnni -> avx2, neondot -> neon). */
const hwt_q8_vec_ops *hwt_q8_vec_for(hwt_isa isa);

#ifdef __cplusplus
}
#endif
