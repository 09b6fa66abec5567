/* SPDX-License-Identifier: Apache-2.0 */
/* fp32 peak probe, AVX2+FMA3: 12 independent 256-bit FMA chains (16 ymm registers: 12 + 2 constants). */
#include <immintrin.h>

#include "probes.h"

#define CHAINS 12
#define REP12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

static double run(uint64_t iters) {
  const __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
#define INIT(i) __m256 a##i = _mm256_set1_ps((float)(i) * 0.01f);
  REP12(INIT)
  for (uint64_t it = 0; it < iters; it++) {
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, m, c);
    REP12(STEP)
  }
  __m256 s = a0;
#define SUM(i) s = _mm256_add_ps(s, a##i);
  SUM(1) SUM(2) SUM(3) SUM(4) SUM(5) SUM(6) SUM(7) SUM(8) SUM(9) SUM(10) SUM(11)
  float out[8];
  _mm256_storeu_ps(out, s);
  return (double)out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

const hwt_peak_probe hwt_peak_fp32_avx2 = {hwt_isa_avx2, false, CHAINS * 8 * 2, CHAINS, run};
