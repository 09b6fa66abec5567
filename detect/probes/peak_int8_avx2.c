/* SPDX-License-Identifier: Apache-2.0 */
/* int8 peak probe, AVX2 without VNNI: vpmaddubsw (u8 x s8 -> pairs of s16) + vpmaddwd (-> s32) + vpaddd, the
 * sequence int8 GEMM kernels use, over a 2 x 4 tile of distinct inputs into 8 accumulators. Inline asm: 2 + 4
 * inputs, the ones vector, 8 accumulators and one temporary fill the 16 ymm registers exactly. */
#include <immintrin.h>

#include "probes.h"

#define CHAINS 8
#define STEP(i, j)                                  \
  "vpmaddubsw %[b" #j "], %[a" #i "], %[t]\n\t"     \
  "vpmaddwd %[ones], %[t], %[t]\n\t"                \
  "vpaddd %[t], %[c" #i #j "], %[c" #i #j "]\n\t"

static double run(uint64_t iters) {
  const __m256i a0 = _mm256_set1_epi8(3), a1 = _mm256_set1_epi8(5);
  const __m256i b0 = _mm256_set1_epi8(1), b1 = _mm256_set1_epi8(-2), b2 = _mm256_set1_epi8(3),
                b3 = _mm256_set1_epi8(-4), ones = _mm256_set1_epi16(1);
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  __m256i t;
  for (uint64_t it = 0; it < iters; it++) {
    __asm__ volatile(STEP(0, 0) STEP(0, 1) STEP(0, 2) STEP(0, 3) STEP(1, 0) STEP(1, 1) STEP(1, 2) STEP(1, 3)
                     : [c00] "+x"(c00), [c01] "+x"(c01), [c02] "+x"(c02), [c03] "+x"(c03), [c10] "+x"(c10),
                       [c11] "+x"(c11), [c12] "+x"(c12), [c13] "+x"(c13), [t] "=&x"(t)
                     : [a0] "x"(a0), [a1] "x"(a1), [b0] "x"(b0), [b1] "x"(b1), [b2] "x"(b2), [b3] "x"(b3),
                       [ones] "x"(ones));
  }
  __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(c00, c01), _mm256_add_epi32(c02, c03)),
                               _mm256_add_epi32(_mm256_add_epi32(c10, c11), _mm256_add_epi32(c12, c13)));
  int out[8];
  _mm256_storeu_si256((__m256i *)out, s);
  return (double)out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

/* per chain step: 32 u8 x s8 multiplies + 32 additions (16 in vpmaddubsw, 8 in vpmaddwd, 8 in vpaddd) = 64 OP */
const hwt_peak_probe hwt_peak_int8_avx2 = {hwt_isa_avx2, true, CHAINS * 64, CHAINS, run};
