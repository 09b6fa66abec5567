/* SPDX-License-Identifier: Apache-2.0 */
/* The parts of a 6x16 qs8 tile that do not depend on how k is multiplied, shared by the 256-bit kernels
 * (gemm_qs8_6x16c2_avx2.c, gemm_qs8_6x16c4_avxvnni.c): row pointers, loading the running int32 sums, and either
 * storing them (K blocks still to come) or requantizing them to int8. The includer defines NR (16) and a tile()
 * whose parameters carry the names used below (MR, mr, nc, a, a_stride, acc_in, acc_in_stride, acc_out, c,
 * c_stride, scale, rq); its k loop updates acc<r>_0 / acc<r>_1 between HWT_QS8_TILE_BEGIN() and HWT_QS8_TILE_END().
 * Rows are named variables, not arrays, because GCC 12 spills arrays of vectors. */
#pragma once
#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "driver/gemm_qs8_ukernel.h"

/* float(acc) * scale, clamped, rounded to nearest even, + zero point, 16 int8 in channel order. */
static inline __m128i requantize16(__m256i acc0, __m256i acc1, __m256 s0, __m256 s1, __m256 lo, __m256 hi,
                                   __m256i zp) {
  __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc0), s0);
  __m256 f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc1), s1);
  f0 = _mm256_min_ps(_mm256_max_ps(f0, lo), hi);
  f1 = _mm256_min_ps(_mm256_max_ps(f1, lo), hi);
  const __m256i q0 = _mm256_add_epi32(_mm256_cvtps_epi32(f0), zp);
  const __m256i q1 = _mm256_add_epi32(_mm256_cvtps_epi32(f1), zp);
  /* packs works per 128-bit lane: [q0 0-3, q1 0-3 | q0 4-7, q1 4-7]; reorder the 64-bit quarters to channel order. */
  const __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), _MM_SHUFFLE(3, 1, 2, 0));
  return _mm_packs_epi16(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
}

#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

/* Row pointers; rows past mr alias the previous row (computed and written identically). */
#define HWT_QS8_ROW_PTRS(r)          \
  const uint8_t *a##r##_ = a0;       \
  const int32_t *in##r##_ = in0;     \
  int32_t *out##r##_ = out0;         \
  int8_t *c##r##_ = c0;              \
  (void)a##r##_, (void)in##r##_, (void)out##r##_, (void)c##r##_;
#define HWT_QS8_NEXT_ROW(r, p)                            \
  if (MR > r) {                                           \
    const bool v = r < mr;                                \
    a##r##_ = v ? a##p##_ + a_stride : a##p##_;           \
    in##r##_ = v ? in##p##_ + acc_in_stride : in##p##_;   \
    out##r##_ = v ? out##p##_ + NR : out##p##_;           \
    c##r##_ = v ? c##p##_ + c_stride : c##p##_;           \
  }
#define HWT_QS8_LOAD_ACC(r)                                                           \
  __m256i acc##r##_0 = _mm256_setzero_si256(), acc##r##_1 = _mm256_setzero_si256();   \
  if (MR > r) {                                                                       \
    acc##r##_0 = _mm256_loadu_si256((const __m256i *)in##r##_);                       \
    acc##r##_1 = _mm256_loadu_si256((const __m256i *)(in##r##_ + 8));                 \
  }
#define HWT_QS8_STORE_ACC(r)                                           \
  if (MR > r) {                                                        \
    _mm256_storeu_si256((__m256i *)out##r##_, acc##r##_0);             \
    _mm256_storeu_si256((__m256i *)(out##r##_ + 8), acc##r##_1);       \
  }
#define HWT_QS8_STORE_C(r)                                                          \
  if (MR > r) {                                                                     \
    const __m128i q = requantize16(acc##r##_0, acc##r##_1, s0, s1, lo, hi, zp);     \
    if (nc == NR) {                                                                 \
      _mm_storeu_si128((__m128i *)c##r##_, q);                                      \
    } else {                                                                        \
      int8_t tmp[NR];                                                               \
      _mm_storeu_si128((__m128i *)tmp, q);                                          \
      memcpy(c##r##_, tmp, nc);                                                     \
    }                                                                               \
  }

/* Declares a<r>_, in<r>_, out<r>_, c<r>_ and acc<r>_0/1 (loaded from acc_in) for the six rows. */
#define HWT_QS8_TILE_BEGIN()                                                                        \
  const uint8_t *a0 = (const uint8_t *)a;                                                           \
  const int32_t *in0 = acc_in;                                                                      \
  int32_t *out0 = acc_out;                                                                          \
  int8_t *c0 = c;                                                                                   \
  FOR_ROWS(HWT_QS8_ROW_PTRS)                                                                        \
  HWT_QS8_NEXT_ROW(1, 0) HWT_QS8_NEXT_ROW(2, 1) HWT_QS8_NEXT_ROW(3, 2) HWT_QS8_NEXT_ROW(4, 3)       \
  HWT_QS8_NEXT_ROW(5, 4)                                                                            \
  FOR_ROWS(HWT_QS8_LOAD_ACC)

/* Stores the int32 sums when acc_out is set (more K blocks follow), else requantizes to int8 rows of c. */
#define HWT_QS8_TILE_END()                                                                          \
  if (acc_out != NULL) {                                                                            \
    FOR_ROWS(HWT_QS8_STORE_ACC)                                                                     \
    return;                                                                                         \
  }                                                                                                 \
  const __m256 s0 = _mm256_loadu_ps(scale), s1 = _mm256_loadu_ps(scale + 8);                        \
  const __m256 lo = _mm256_set1_ps(rq->min_less_zp), hi = _mm256_set1_ps(rq->max_less_zp);          \
  const __m256i zp = _mm256_set1_epi32(rq->zp);                                                     \
  FOR_ROWS(HWT_QS8_STORE_C)
