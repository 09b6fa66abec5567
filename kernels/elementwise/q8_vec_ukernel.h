/* SPDX-License-Identifier: Apache-2.0 */
/* Prototypes of the int8 elementwise kernels, one set per ISA file (q8_vec_<isa>.c). Internal. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define HWT_Q8_VEC_DECLARE(isa)                                                                                \
  void hwt_q8_quantize__##isa(const float *in, size_t n, float scale, int32_t zp, int8_t *out);                \
  void hwt_q8_dequantize__##isa(const int8_t *in, size_t n, float scale, int32_t zp, float *out);              \
  void hwt_q8_add__##isa(const int8_t *a, const int8_t *b, size_t n, float sa, int32_t za, float sb, int32_t zb, \
                         float so, int32_t zo, int8_t *out);

HWT_Q8_VEC_DECLARE(scalar)
#if defined(__x86_64__)
HWT_Q8_VEC_DECLARE(avx2)
HWT_Q8_VEC_DECLARE(avx512f)
#elif defined(__aarch64__)
HWT_Q8_VEC_DECLARE(neon)
#endif
