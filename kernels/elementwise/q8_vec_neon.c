/* SPDX-License-Identifier: Apache-2.0 */
/* int8 elementwise kernels, AArch64 NEON: 8 elements per step, the tail through a zero-padded stack block. The
 * float operations are the scalar formula's, in its order (hwtune/elementwise.h); frinti (current rounding mode)
 * is nearbyintf. */
#include <arm_neon.h>
#include <string.h>

#include "q8_vec_ukernel.h"

typedef struct q8c {
  float32x4_t s, z, lo, hi;
} q8c;

static inline q8c q8c_make(float scale, int32_t zp) {
  q8c c = {vdupq_n_f32(scale), vdupq_n_f32((float) zp), vdupq_n_f32(-128.0f), vdupq_n_f32(127.0f)};
  return c;
}

static inline int32x4_t q8_ps(float32x4_t r, const q8c *c) {
  float32x4_t v = vdivq_f32(r, c->s);
  v = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vceqq_f32(v, v))); /* NaN -> 0 */
  v = vrndiq_f32(v);
  v = vaddq_f32(v, c->z);
  v = vminq_f32(vmaxq_f32(v, c->lo), c->hi);
  return vcvtq_s32_f32(v);
}

static inline int8x8_t pack2(int32x4_t a, int32x4_t b) {
  return vqmovn_s16(vcombine_s16(vqmovn_s32(a), vqmovn_s32(b)));
}

static inline float32x4_t dq4(int16x4_t v, int32x4_t z, float32x4_t s) {
  return vmulq_f32(s, vcvtq_f32_s32(vsubq_s32(vmovl_s16(v), z)));
}

static void quantize8(const float *in, const q8c *c, int8_t *out) {
  vst1_s8(out, pack2(q8_ps(vld1q_f32(in), c), q8_ps(vld1q_f32(in + 4), c)));
}

void hwt_q8_quantize__neon(const float *in, size_t n, float scale, int32_t zp, int8_t *out) {
  q8c c = q8c_make(scale, zp);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) quantize8(in + i, &c, out + i);
  if (i < n) {
    float b[8] = {0};
    int8_t o[8];
    memcpy(b, in + i, (n - i) * sizeof(float));
    quantize8(b, &c, o);
    memcpy(out + i, o, n - i);
  }
}

static void dequantize8(const int8_t *in, int32x4_t z, float32x4_t s, float *out) {
  int16x8_t v = vmovl_s8(vld1_s8(in));
  vst1q_f32(out, dq4(vget_low_s16(v), z, s));
  vst1q_f32(out + 4, dq4(vget_high_s16(v), z, s));
}

void hwt_q8_dequantize__neon(const int8_t *in, size_t n, float scale, int32_t zp, float *out) {
  int32x4_t z = vdupq_n_s32(zp);
  float32x4_t s = vdupq_n_f32(scale);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) dequantize8(in + i, z, s, out + i);
  if (i < n) {
    int8_t b[8] = {0};
    float o[8];
    memcpy(b, in + i, n - i);
    dequantize8(b, z, s, o);
    memcpy(out + i, o, (n - i) * sizeof(float));
  }
}

typedef struct addc {
  int32x4_t za, zb;
  float32x4_t sa, sb;
  q8c o;
} addc;

static void add8(const int8_t *a, const int8_t *b, const addc *c, int8_t *out) {
  int16x8_t va = vmovl_s8(vld1_s8(a)), vb = vmovl_s8(vld1_s8(b));
  float32x4_t lo = vaddq_f32(dq4(vget_low_s16(va), c->za, c->sa), dq4(vget_low_s16(vb), c->zb, c->sb));
  float32x4_t hi = vaddq_f32(dq4(vget_high_s16(va), c->za, c->sa), dq4(vget_high_s16(vb), c->zb, c->sb));
  vst1_s8(out, pack2(q8_ps(lo, &c->o), q8_ps(hi, &c->o)));
}

void hwt_q8_add__neon(const int8_t *a, const int8_t *b, size_t n, float sa, int32_t za, float sb, int32_t zb,
                      float so, int32_t zo, int8_t *out) {
  addc c = {vdupq_n_s32(za), vdupq_n_s32(zb), vdupq_n_f32(sa), vdupq_n_f32(sb), q8c_make(so, zo)};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) add8(a + i, b + i, &c, out + i);
  if (i < n) {
    int8_t ba[8] = {0}, bb[8] = {0}, o[8];
    memcpy(ba, a + i, n - i);
    memcpy(bb, b + i, n - i);
    add8(ba, bb, &c, o);
    memcpy(out + i, o, n - i);
  }
}
