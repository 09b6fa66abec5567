/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the AArch64 qs8 micro-kernels (neon, neondot, neoni8mm): requantization with exactly the
 * reference's float operations, and row stores of nc <= 16 bytes. Internal; included by the kernel templates. */
#pragma once
#include <arm_neon.h>
#include <string.h>

#include "driver/gemm_qs8_ukernel.h"

/* 8 channels: (float) acc * scale, clamped to [min_less_zp, max_less_zp], rounded to nearest even (FCVTNS, as
 * lrintf in the default rounding mode), plus the zero point. The same float multiply and clamp as the reference,
 * so results are bit-identical; the saturating narrows never saturate after the clamp. */
static inline int8x8_t hwt_qs8_neon_requant8(int32x4_t lo, int32x4_t hi, const float *scale, float32x4_t vmin,
                                             float32x4_t vmax, int32x4_t vzp) {
  float32x4_t flo = vmulq_f32(vcvtq_f32_s32(lo), vld1q_f32(scale));
  float32x4_t fhi = vmulq_f32(vcvtq_f32_s32(hi), vld1q_f32(scale + 4));
  flo = vminq_f32(vmaxq_f32(flo, vmin), vmax);
  fhi = vminq_f32(vmaxq_f32(fhi, vmin), vmax);
  const int32x4_t ilo = vaddq_s32(vcvtnq_s32_f32(flo), vzp);
  const int32x4_t ihi = vaddq_s32(vcvtnq_s32_f32(fhi), vzp);
  return vqmovn_s16(vcombine_s16(vqmovn_s32(ilo), vqmovn_s32(ihi)));
}

/* Stores the first nc of 8 bytes (nc <= 8): nothing past column nc is written. */
static inline void hwt_qs8_neon_store8(int8_t *c, int8x8_t v, size_t nc) {
  if (nc == 8) {
    vst1_s8(c, v);
  } else {
    int8_t tmp[8];
    vst1_s8(tmp, v);
    memcpy(c, tmp, nc);
  }
}

/* Stores the first nc of 16 bytes (nc <= 16). */
static inline void hwt_qs8_neon_store16(int8_t *c, int8x16_t v, size_t nc) {
  if (nc == 16) {
    vst1q_s8(c, v);
  } else {
    int8_t tmp[16];
    vst1q_s8(tmp, v);
    memcpy(c, tmp, nc);
  }
}
