/* SPDX-License-Identifier: Apache-2.0 */
/* Portable int8 elementwise kernels: the formulas of hwtune/elementwise.h, one element at a time. */
#include <math.h>

#include "q8_vec_ukernel.h"

static inline int8_t q8(float real, float scale, int32_t zp) {
  float v = real / scale;
  if (isnan(v)) v = 0;
  v = nearbyintf(v) + (float) zp;
  if (v < -128.0f) v = -128.0f;
  if (v > 127.0f) v = 127.0f;
  return (int8_t) v;
}

void hwt_q8_quantize__scalar(const float *in, size_t n, float scale, int32_t zp, int8_t *out) {
  for (size_t i = 0; i < n; i++) out[i] = q8(in[i], scale, zp);
}

void hwt_q8_dequantize__scalar(const int8_t *in, size_t n, float scale, int32_t zp, float *out) {
  for (size_t i = 0; i < n; i++) out[i] = scale * (float) ((int32_t) in[i] - zp);
}

void hwt_q8_add__scalar(const int8_t *a, const int8_t *b, size_t n, float sa, int32_t za, float sb, int32_t zb,
                        float so, int32_t zo, int8_t *out) {
  for (size_t i = 0; i < n; i++) {
    float fa = sa * (float) ((int32_t) a[i] - za), fb = sb * (float) ((int32_t) b[i] - zb);
    out[i] = q8(fa + fb, so, zo);
  }
}
