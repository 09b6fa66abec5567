/* SPDX-License-Identifier: Apache-2.0 */
/* int8 elementwise kernels, AVX-512 (F + BW + VL): 16 elements per vector, the tail with masked loads and
 * stores. The float operations are the scalar formula's, in its order (hwtune/elementwise.h); vrndscaleps with
 * the current rounding mode is nearbyintf. */
#include <immintrin.h>

#include "q8_vec_ukernel.h"

typedef struct q8c {
  __m512 s, z, lo, hi;
} q8c;

static inline q8c q8c_make(float scale, int32_t zp) {
  q8c c = {_mm512_set1_ps(scale), _mm512_set1_ps((float) zp), _mm512_set1_ps(-128.0f), _mm512_set1_ps(127.0f)};
  return c;
}

/* q(r) as 16 bytes. */
static inline __m128i q8_ps(__m512 r, const q8c *c) {
  __m512 v = _mm512_div_ps(r, c->s);
  v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v); /* NaN -> 0 */
  v = _mm512_roundscale_ps(v, _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
  v = _mm512_add_ps(v, c->z);
  v = _mm512_min_ps(_mm512_max_ps(v, c->lo), c->hi);
  return _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v));
}

static inline __m512 dq8_ps(__m128i v, __m512i z, __m512 s) {
  return _mm512_mul_ps(s, _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_cvtepi8_epi32(v), z)));
}

static inline __mmask16 tail_mask(size_t r) { return (__mmask16) ((1u << r) - 1u); }

void hwt_q8_quantize__avx512f(const float *in, size_t n, float scale, int32_t zp, int8_t *out) {
  q8c c = q8c_make(scale, zp);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm_storeu_si128((__m128i *) (out + i), q8_ps(_mm512_loadu_ps(in + i), &c));
  if (i < n) {
    __mmask16 m = tail_mask(n - i);
    _mm_mask_storeu_epi8(out + i, m, q8_ps(_mm512_maskz_loadu_ps(m, in + i), &c));
  }
}

void hwt_q8_dequantize__avx512f(const int8_t *in, size_t n, float scale, int32_t zp, float *out) {
  __m512i z = _mm512_set1_epi32(zp);
  __m512 s = _mm512_set1_ps(scale);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, dq8_ps(_mm_loadu_si128((const __m128i *) (in + i)), z, s));
  if (i < n) {
    __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(out + i, m, dq8_ps(_mm_maskz_loadu_epi8(m, in + i), z, s));
  }
}

void hwt_q8_add__avx512f(const int8_t *a, const int8_t *b, size_t n, float sa, int32_t za, float sb, int32_t zb,
                         float so, int32_t zo, int8_t *out) {
  __m512i vza = _mm512_set1_epi32(za), vzb = _mm512_set1_epi32(zb);
  __m512 vsa = _mm512_set1_ps(sa), vsb = _mm512_set1_ps(sb);
  q8c c = q8c_make(so, zo);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 fa = dq8_ps(_mm_loadu_si128((const __m128i *) (a + i)), vza, vsa);
    __m512 fb = dq8_ps(_mm_loadu_si128((const __m128i *) (b + i)), vzb, vsb);
    _mm_storeu_si128((__m128i *) (out + i), q8_ps(_mm512_add_ps(fa, fb), &c));
  }
  if (i < n) {
    __mmask16 m = tail_mask(n - i);
    __m512 fa = dq8_ps(_mm_maskz_loadu_epi8(m, a + i), vza, vsa);
    __m512 fb = dq8_ps(_mm_maskz_loadu_epi8(m, b + i), vzb, vsb);
    _mm_mask_storeu_epi8(out + i, m, q8_ps(_mm512_add_ps(fa, fb), &c));
  }
}
