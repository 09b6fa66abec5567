/* SPDX-License-Identifier: Apache-2.0 */
/* int8 elementwise kernels, AVX2: 32 elements per step, the tail through a zero-padded stack block. The float
 * operations are the scalar formula's, in its order (hwtune/elementwise.h); vroundps with the current rounding
 * mode is nearbyintf. */
#include <immintrin.h>
#include <string.h>

#include "q8_vec_ukernel.h"

typedef struct q8c {
  __m256 s, z, lo, hi;
} q8c;

static inline q8c q8c_make(float scale, int32_t zp) {
  q8c c = {_mm256_set1_ps(scale), _mm256_set1_ps((float) zp), _mm256_set1_ps(-128.0f), _mm256_set1_ps(127.0f)};
  return c;
}

/* q(r) as int32 lanes in [-128, 127]. */
static inline __m256i q8_ps(__m256 r, const q8c *c) {
  __m256 v = _mm256_div_ps(r, c->s);
  v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> 0 */
  v = _mm256_round_ps(v, _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
  v = _mm256_add_ps(v, c->z);
  v = _mm256_min_ps(_mm256_max_ps(v, c->lo), c->hi);
  return _mm256_cvtps_epi32(v);
}

/* Four vectors of 8 int32 in [-128, 127] -> 32 bytes in element order. */
static inline __m256i pack4(__m256i i0, __m256i i1, __m256i i2, __m256i i3) {
  __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
  return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* 8 int8 at p -> s * (float) (v - z) */
static inline __m256 dq8_ps(const int8_t *p, __m256i z, __m256 s) {
  __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *) p));
  return _mm256_mul_ps(s, _mm256_cvtepi32_ps(_mm256_sub_epi32(v, z)));
}

static void quantize32(const float *in, const q8c *c, int8_t *out) {
  __m256i i0 = q8_ps(_mm256_loadu_ps(in), c), i1 = q8_ps(_mm256_loadu_ps(in + 8), c);
  __m256i i2 = q8_ps(_mm256_loadu_ps(in + 16), c), i3 = q8_ps(_mm256_loadu_ps(in + 24), c);
  _mm256_storeu_si256((__m256i *) out, pack4(i0, i1, i2, i3));
}

void hwt_q8_quantize__avx2(const float *in, size_t n, float scale, int32_t zp, int8_t *out) {
  q8c c = q8c_make(scale, zp);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) quantize32(in + i, &c, out + i);
  if (i < n) {
    float b[32] = {0};
    int8_t o[32];
    memcpy(b, in + i, (n - i) * sizeof(float));
    quantize32(b, &c, o);
    memcpy(out + i, o, n - i);
  }
}

static void dequantize32(const int8_t *in, __m256i z, __m256 s, float *out) {
  for (int k = 0; k < 32; k += 8) _mm256_storeu_ps(out + k, dq8_ps(in + k, z, s));
}

void hwt_q8_dequantize__avx2(const int8_t *in, size_t n, float scale, int32_t zp, float *out) {
  __m256i z = _mm256_set1_epi32(zp);
  __m256 s = _mm256_set1_ps(scale);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) dequantize32(in + i, z, s, out + i);
  if (i < n) {
    int8_t b[32] = {0};
    float o[32];
    memcpy(b, in + i, n - i);
    dequantize32(b, z, s, o);
    memcpy(out + i, o, (n - i) * sizeof(float));
  }
}

typedef struct addc {
  __m256i za, zb;
  __m256 sa, sb;
  q8c o;
} addc;

static inline __m256i add8(const int8_t *a, const int8_t *b, const addc *c) {
  return q8_ps(_mm256_add_ps(dq8_ps(a, c->za, c->sa), dq8_ps(b, c->zb, c->sb)), &c->o);
}

static void add32(const int8_t *a, const int8_t *b, const addc *c, int8_t *out) {
  __m256i i0 = add8(a, b, c), i1 = add8(a + 8, b + 8, c), i2 = add8(a + 16, b + 16, c), i3 = add8(a + 24, b + 24, c);
  _mm256_storeu_si256((__m256i *) out, pack4(i0, i1, i2, i3));
}

void hwt_q8_add__avx2(const int8_t *a, const int8_t *b, size_t n, float sa, int32_t za, float sb, int32_t zb,
                      float so, int32_t zo, int8_t *out) {
  addc c = {_mm256_set1_epi32(za), _mm256_set1_epi32(zb), _mm256_set1_ps(sa), _mm256_set1_ps(sb), q8c_make(so, zo)};
  size_t i = 0;
  for (; i + 32 <= n; i += 32) add32(a + i, b + i, &c, out + i);
  if (i < n) {
    int8_t ba[32] = {0}, bb[32] = {0}, o[32];
    memcpy(ba, a + i, n - i);
    memcpy(bb, b + i, n - i);
    add32(ba, bb, &c, o);
    memcpy(out + i, o, n - i);
  }
}
