/* SPDX-License-Identifier: Apache-2.0 */
/* int8 peak probe, AVX-VNNI: 12 independent 256-bit VEX vpdpbusd chains (as Alder Lake / Zen 5 run it). Inline
 * asm keeps the 12 NAMED accumulators + 2 inputs in the 16 ymm registers (GCC 12 spills them with intrinsics, and
 * keeps an array of accumulators in memory, storing each one every iteration). */
#include <immintrin.h>

#include "probes.h"

#define CHAINS 12
#define DP(i) "%{vex%} vpdpbusd %[b], %[a], %[c" #i "]\n\t"
#define OP(i) [c##i] "+x"(c##i)
#define INIT(i) __m256i c##i = _mm256_set1_epi32(i)

static double run(uint64_t iters) {
  const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2);
  INIT(0); INIT(1); INIT(2); INIT(3); INIT(4); INIT(5); INIT(6); INIT(7); INIT(8); INIT(9); INIT(10); INIT(11);
  for (uint64_t it = 0; it < iters; it++) {
    __asm__ volatile(DP(0) DP(1) DP(2) DP(3) DP(4) DP(5) DP(6) DP(7) DP(8) DP(9) DP(10) DP(11)
                     : OP(0), OP(1), OP(2), OP(3), OP(4), OP(5), OP(6), OP(7), OP(8), OP(9), OP(10), OP(11)
                     : [a] "x"(a), [b] "x"(b));
  }
  __m256i s0 = _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3));
  __m256i s1 = _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7));
  __m256i s2 = _mm256_add_epi32(_mm256_add_epi32(c8, c9), _mm256_add_epi32(c10, c11));
  __m256i s = _mm256_add_epi32(_mm256_add_epi32(s0, s1), s2);
  int out[8];
  _mm256_storeu_si256((__m256i *)out, s);
  return (double)out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

/* vpdpbusd ymm: 32 u8 x s8 multiplies + 32 additions = 64 OP */
const hwt_peak_probe hwt_peak_int8_avxvnni = {hwt_isa_avxvnni, true, CHAINS * 64, CHAINS, run};
