/* SPDX-License-Identifier: Apache-2.0 */
/* Bandwidth probes, AArch64 Advanced SIMD: read (8 independent 128-bit add chains over the loads) and triad. */
#include <arm_neon.h>

#include "probes.h"

static double bw_read(const float *buf, size_t n, uint64_t reps) {
  float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
  for (uint64_t r = 0; r < reps; r++) {
    for (size_t i = 0; i < n; i += 32) {
      s0 = vaddq_f32(s0, vld1q_f32(buf + i));
      s1 = vaddq_f32(s1, vld1q_f32(buf + i + 4));
      s2 = vaddq_f32(s2, vld1q_f32(buf + i + 8));
      s3 = vaddq_f32(s3, vld1q_f32(buf + i + 12));
      s4 = vaddq_f32(s4, vld1q_f32(buf + i + 16));
      s5 = vaddq_f32(s5, vld1q_f32(buf + i + 20));
      s6 = vaddq_f32(s6, vld1q_f32(buf + i + 24));
      s7 = vaddq_f32(s7, vld1q_f32(buf + i + 28));
    }
    __asm__ volatile("" ::: "memory");
  }
  float32x4_t s = vaddq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)),
                            vaddq_f32(vaddq_f32(s4, s5), vaddq_f32(s6, s7)));
  return (double)vaddvq_f32(s);
}

static void bw_triad(float *a, const float *b, const float *c, size_t n, uint64_t reps) {
  const float32x4_t s = vdupq_n_f32(0.5f);
  for (uint64_t r = 0; r < reps; r++) {
    for (size_t i = 0; i < n; i += 8) {
      vst1q_f32(a + i, vfmaq_f32(vld1q_f32(b + i), s, vld1q_f32(c + i)));
      vst1q_f32(a + i + 4, vfmaq_f32(vld1q_f32(b + i + 4), s, vld1q_f32(c + i + 4)));
    }
    __asm__ volatile("" ::: "memory");
  }
}

const hwt_bw_probe hwt_bw_neon = {hwt_isa_neon, bw_read, bw_triad};
