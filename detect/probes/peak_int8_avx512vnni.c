/* SPDX-License-Identifier: Apache-2.0 */
/* int8 peak probe, AVX512-VNNI: 24 independent 512-bit vpdpbusd chains (32 zmm registers: 24 + 2 inputs).
 * The loop body is inline asm: with intrinsics GCC 12 copies the accumulators to the stack every iteration,
 * and the probe then measures stores instead of dot products. */
#include <immintrin.h>

#include "probes.h"

#define CHAINS 24
#define DP(i) "vpdpbusd %[b], %[a], %[c" #i "]\n\t"
#define OP(i) [c##i] "+v"(c[i])

static double run(uint64_t iters) {
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  __m512i c[CHAINS];
  for (int i = 0; i < CHAINS; i++) c[i] = _mm512_set1_epi32(i);
  for (uint64_t it = 0; it < iters; it++) {
    /* two statements of 12 chains: "+v" operands count twice against GCC's limit of 30 */
    __asm__ volatile(DP(0) DP(1) DP(2) DP(3) DP(4) DP(5) DP(6) DP(7) DP(8) DP(9) DP(10) DP(11)
                     : OP(0), OP(1), OP(2), OP(3), OP(4), OP(5), OP(6), OP(7), OP(8), OP(9), OP(10), OP(11)
                     : [a] "v"(a), [b] "v"(b));
    __asm__ volatile(DP(12) DP(13) DP(14) DP(15) DP(16) DP(17) DP(18) DP(19) DP(20) DP(21) DP(22) DP(23)
                     : OP(12), OP(13), OP(14), OP(15), OP(16), OP(17), OP(18), OP(19), OP(20), OP(21), OP(22), OP(23)
                     : [a] "v"(a), [b] "v"(b));
  }
  __m512i s = c[0];
  for (int i = 1; i < CHAINS; i++) s = _mm512_add_epi32(s, c[i]);
  return (double)_mm512_reduce_add_epi32(s);
}

/* vpdpbusd zmm: 64 u8 x s8 multiplies + 64 additions = 128 OP */
const hwt_peak_probe hwt_peak_int8_avx512vnni = {hwt_isa_avx512vnni, true, CHAINS * 128, CHAINS, run};
