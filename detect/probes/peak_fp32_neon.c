/* SPDX-License-Identifier: Apache-2.0 */
/* fp32 peak probe, AArch64 Advanced SIMD: 24 independent 128-bit FMLA chains (Neoverse V-cores have 4 FMA pipes
 * of latency 4: 16 chains are the minimum; 32 vector registers leave room for 24 + 2 constants). */
#include <arm_neon.h>

#include "probes.h"

#define CHAINS 24
#define REP24(X)                                                                                                  \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19)   \
  X(20) X(21) X(22) X(23)

static double run(uint64_t iters) {
  const float32x4_t m = vdupq_n_f32(0.999f), c = vdupq_n_f32(0.001f);
#define INIT(i) float32x4_t a##i = vdupq_n_f32((float)(i) * 0.01f);
  REP24(INIT)
  for (uint64_t it = 0; it < iters; it++) {
#define STEP(i) a##i = vfmaq_f32(c, a##i, m);
    REP24(STEP)
  }
  float32x4_t s = a0;
#define SUM(i) s = vaddq_f32(s, a##i);
  SUM(1) SUM(2) SUM(3) SUM(4) SUM(5) SUM(6) SUM(7) SUM(8) SUM(9) SUM(10) SUM(11) SUM(12) SUM(13) SUM(14) SUM(15)
  SUM(16) SUM(17) SUM(18) SUM(19) SUM(20) SUM(21) SUM(22) SUM(23)
  return (double)vaddvq_f32(s);
}

const hwt_peak_probe hwt_peak_fp32_neon = {hwt_isa_neon, false, CHAINS * 4 * 2, CHAINS, run};
