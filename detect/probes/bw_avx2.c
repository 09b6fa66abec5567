/* SPDX-License-Identifier: Apache-2.0 */
/* Bandwidth probes, AVX2: read (8 independent 256-bit add chains over the loads) and STREAM triad. */
#include <immintrin.h>

#include "probes.h"

static double bw_read(const float *buf, size_t n, uint64_t reps) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
  for (uint64_t r = 0; r < reps; r++) {
    for (size_t i = 0; i < n; i += 64) {
      s0 = _mm256_add_ps(s0, _mm256_load_ps(buf + i));
      s1 = _mm256_add_ps(s1, _mm256_load_ps(buf + i + 8));
      s2 = _mm256_add_ps(s2, _mm256_load_ps(buf + i + 16));
      s3 = _mm256_add_ps(s3, _mm256_load_ps(buf + i + 24));
      s4 = _mm256_add_ps(s4, _mm256_load_ps(buf + i + 32));
      s5 = _mm256_add_ps(s5, _mm256_load_ps(buf + i + 40));
      s6 = _mm256_add_ps(s6, _mm256_load_ps(buf + i + 48));
      s7 = _mm256_add_ps(s7, _mm256_load_ps(buf + i + 56));
    }
    __asm__ volatile("" ::: "memory");
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)),
                           _mm256_add_ps(_mm256_add_ps(s4, s5), _mm256_add_ps(s6, s7)));
  float out[8];
  _mm256_storeu_ps(out, s);
  return (double)out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

static void bw_triad(float *a, const float *b, const float *c, size_t n, uint64_t reps) {
  const __m256 s = _mm256_set1_ps(0.5f);
  for (uint64_t r = 0; r < reps; r++) {
    for (size_t i = 0; i < n; i += 16) {
      _mm256_store_ps(a + i, _mm256_fmadd_ps(s, _mm256_load_ps(c + i), _mm256_load_ps(b + i)));
      _mm256_store_ps(a + i + 8, _mm256_fmadd_ps(s, _mm256_load_ps(c + i + 8), _mm256_load_ps(b + i + 8)));
    }
    __asm__ volatile("" ::: "memory");
  }
}

const hwt_bw_probe hwt_bw_avx2 = {hwt_isa_avx2, bw_read, bw_triad};
