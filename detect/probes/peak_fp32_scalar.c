/* SPDX-License-Identifier: Apache-2.0 */
/* fp32 peak probe, portable scalar code: 12 independent multiply-add chains, kept scalar on purpose (this is what
 * a non-vectorised loop can reach). */
#include "probes.h"

#define CHAINS 12
#define REP12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-vectorize")))
#endif
static double run(uint64_t iters) {
  volatile float vm = 0.999f, vc = 0.001f; /* volatile: stop the compiler from folding the recurrence */
  const float m = vm, c = vc;
#define INIT(i) float a##i = (float)(i) * 0.01f;
  REP12(INIT)
  for (uint64_t it = 0; it < iters; it++) {
#define STEP(i) a##i = a##i * m + c;
    REP12(STEP)
  }
  return (double)a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
}

const hwt_peak_probe hwt_peak_fp32_scalar = {hwt_isa_scalar, false, CHAINS * 2, CHAINS, run};
