/* SPDX-License-Identifier: Apache-2.0 */
/* fp32 peak probe, AVX-512F: 16 independent 512-bit FMA chains (latency 4 x 2 FMA pipes needs >= 8). */
#include <immintrin.h>

#include "probes.h"

#define CHAINS 16
#define REP16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)

static double run(uint64_t iters) {
  /* acc = acc * m + c converges to c / (1 - m): no overflow, no denormals whatever iters is. */
  const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
#define INIT(i) __m512 a##i = _mm512_set1_ps((float)(i) * 0.01f);
  REP16(INIT)
  for (uint64_t it = 0; it < iters; it++) {
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, m, c);
    REP16(STEP)
  }
  __m512 s = a0;
#define SUM(i) s = _mm512_add_ps(s, a##i);
  SUM(1) SUM(2) SUM(3) SUM(4) SUM(5) SUM(6) SUM(7) SUM(8) SUM(9) SUM(10) SUM(11) SUM(12) SUM(13) SUM(14) SUM(15)
  return _mm512_reduce_add_ps(s);
}

const hwt_peak_probe hwt_peak_fp32_avx512f = {hwt_isa_avx512f, false, CHAINS * 16 * 2, CHAINS, run};
