/* SPDX-License-Identifier: Apache-2.0 */
/* int8 peak probe, AArch64 dot product: 24 independent SDOT (vdotq_s32) chains. */
#include <arm_neon.h>

#include "probes.h"

#define CHAINS 24
#define REP24(X)                                                                                                  \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19)   \
  X(20) X(21) X(22) X(23)

static double run(uint64_t iters) {
  const int8x16_t a = vdupq_n_s8(3), b = vdupq_n_s8(-2);
#define INIT(i) int32x4_t c##i = vdupq_n_s32(i);
  REP24(INIT)
  for (uint64_t it = 0; it < iters; it++) {
#define STEP(i) c##i = vdotq_s32(c##i, a, b);
    REP24(STEP)
  }
  int32x4_t s = c0;
#define SUM(i) s = vaddq_s32(s, c##i);
  SUM(1) SUM(2) SUM(3) SUM(4) SUM(5) SUM(6) SUM(7) SUM(8) SUM(9) SUM(10) SUM(11) SUM(12) SUM(13) SUM(14) SUM(15)
  SUM(16) SUM(17) SUM(18) SUM(19) SUM(20) SUM(21) SUM(22) SUM(23)
  return (double)vaddvq_s32(s);
}

/* SDOT: 16 s8 x s8 multiplies + 16 additions = 32 OP */
const hwt_peak_probe hwt_peak_int8_neondot = {hwt_isa_neondot, true, CHAINS * 32, CHAINS, run};
