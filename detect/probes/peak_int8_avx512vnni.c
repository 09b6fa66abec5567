/* SPDX-License-Identifier: Apache-2.0 */
/* int8 peak probe, AVX512-VNNI: 24 independent 512-bit vpdpbusd chains (32 zmm registers: 24 + 2 inputs).
 * The loop body is inline asm over 24 NAMED accumulators: with an array of accumulators (or intrinsics) GCC 12
 * keeps the array in memory and stores every accumulator each iteration, and the probe then measured ~305 GOP/s
 * of stores instead of the ~880 GOP/s of dot products a Zen 5 core sustains. */
#include <immintrin.h>

#include "probes.h"

#define CHAINS 24
#define DP(i) "vpdpbusd %[b], %[a], %[c" #i "]\n\t"
#define OP(i) [c##i] "+v"(c##i)
#define INIT(i) __m512i c##i = _mm512_set1_epi32(i)

static double run(uint64_t iters) {
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  INIT(0); INIT(1); INIT(2); INIT(3); INIT(4); INIT(5); INIT(6); INIT(7); INIT(8); INIT(9); INIT(10); INIT(11);
  INIT(12); INIT(13); INIT(14); INIT(15); INIT(16); INIT(17); INIT(18); INIT(19); INIT(20); INIT(21); INIT(22);
  INIT(23);
  for (uint64_t it = 0; it < iters; it++) {
    /* two statements of 12 chains: "+v" operands count twice against GCC's limit of 30 */
    __asm__ volatile(DP(0) DP(1) DP(2) DP(3) DP(4) DP(5) DP(6) DP(7) DP(8) DP(9) DP(10) DP(11)
                     : OP(0), OP(1), OP(2), OP(3), OP(4), OP(5), OP(6), OP(7), OP(8), OP(9), OP(10), OP(11)
                     : [a] "v"(a), [b] "v"(b));
    __asm__ volatile(DP(12) DP(13) DP(14) DP(15) DP(16) DP(17) DP(18) DP(19) DP(20) DP(21) DP(22) DP(23)
                     : OP(12), OP(13), OP(14), OP(15), OP(16), OP(17), OP(18), OP(19), OP(20), OP(21), OP(22), OP(23)
                     : [a] "v"(a), [b] "v"(b));
  }
  __m512i s0 = _mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3));
  __m512i s1 = _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7));
  __m512i s2 = _mm512_add_epi32(_mm512_add_epi32(c8, c9), _mm512_add_epi32(c10, c11));
  __m512i s3 = _mm512_add_epi32(_mm512_add_epi32(c12, c13), _mm512_add_epi32(c14, c15));
  __m512i s4 = _mm512_add_epi32(_mm512_add_epi32(c16, c17), _mm512_add_epi32(c18, c19));
  __m512i s5 = _mm512_add_epi32(_mm512_add_epi32(c20, c21), _mm512_add_epi32(c22, c23));
  __m512i s = _mm512_add_epi32(_mm512_add_epi32(s0, s1), _mm512_add_epi32(_mm512_add_epi32(s2, s3),
                                                                          _mm512_add_epi32(s4, s5)));
  /* Sum lanes in double: _mm512_reduce_add_epi32 adds in int, and the chains wrap after a long run (UB). */
  int32_t lanes[16];
  _mm512_storeu_si512(lanes, s);
  double sum = 0;
  for (int i = 0; i < 16; i++) sum += lanes[i];
  return sum;
}

/* vpdpbusd zmm: 64 u8 x s8 multiplies + 64 additions = 128 OP */
const hwt_peak_probe hwt_peak_int8_avx512vnni = {hwt_isa_avx512vnni, true, CHAINS * 128, CHAINS, run};
