/* SPDX-License-Identifier: Apache-2.0 */
/* Bandwidth probes, AVX-512: read (8 independent 512-bit add chains over the loads) and STREAM triad. */
#include <immintrin.h>

#include "probes.h"

static double bw_read(const float *buf, size_t n, uint64_t reps) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
  for (uint64_t r = 0; r < reps; r++) {
    for (size_t i = 0; i < n; i += 128) {
      s0 = _mm512_add_ps(s0, _mm512_load_ps(buf + i));
      s1 = _mm512_add_ps(s1, _mm512_load_ps(buf + i + 16));
      s2 = _mm512_add_ps(s2, _mm512_load_ps(buf + i + 32));
      s3 = _mm512_add_ps(s3, _mm512_load_ps(buf + i + 48));
      s4 = _mm512_add_ps(s4, _mm512_load_ps(buf + i + 64));
      s5 = _mm512_add_ps(s5, _mm512_load_ps(buf + i + 80));
      s6 = _mm512_add_ps(s6, _mm512_load_ps(buf + i + 96));
      s7 = _mm512_add_ps(s7, _mm512_load_ps(buf + i + 112));
    }
    __asm__ volatile("" ::: "memory");
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)),
                           _mm512_add_ps(_mm512_add_ps(s4, s5), _mm512_add_ps(s6, s7)));
  return (double)_mm512_reduce_add_ps(s);
}

static void bw_triad(float *a, const float *b, const float *c, size_t n, uint64_t reps) {
  const __m512 s = _mm512_set1_ps(0.5f);
  for (uint64_t r = 0; r < reps; r++) {
    for (size_t i = 0; i < n; i += 32) {
      _mm512_store_ps(a + i, _mm512_fmadd_ps(s, _mm512_load_ps(c + i), _mm512_load_ps(b + i)));
      _mm512_store_ps(a + i + 16, _mm512_fmadd_ps(s, _mm512_load_ps(c + i + 16), _mm512_load_ps(b + i + 16)));
    }
    __asm__ volatile("" ::: "memory");
  }
}

const hwt_bw_probe hwt_bw_avx512f = {hwt_isa_avx512f, bw_read, bw_triad};
