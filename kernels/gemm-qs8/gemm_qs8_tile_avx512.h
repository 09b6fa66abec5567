/* SPDX-License-Identifier: Apache-2.0 */
/* The parts of an 8x32 qs8 tile that do not depend on how k is multiplied, shared by the 512-bit kernels
 * (gemm_qs8_8x32c2_avx512f.c, gemm_qs8_8x32c4_avx512vnni.c): row pointers, loading the running int32 sums, and
 * either storing them (K blocks still to come) or requantizing them to int8. The includer defines NR (32) and a
 * tile() whose parameters carry the names used below (MR, mr, nc, a, a_stride, acc_in, acc_in_stride, acc_out, c,
 * c_stride, scale, rq); its k loop updates acc<r>_0 / acc<r>_1 between HWT_QS8_TILE_BEGIN() and HWT_QS8_TILE_END().
 * Rows are named variables, not arrays, because GCC 12 spills arrays of vectors. */
#pragma once
#include <immintrin.h>
#include <stdbool.h>

#include "driver/gemm_qs8_ukernel.h"

#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

/* Row pointers; rows past mr alias the previous row (computed and written identically). */
#define HWT_QS8_ROW_PTRS(r)                                           \
  const uint8_t *a##r##_ = a0;                                        \
  const int32_t *in##r##_ = in0;                                      \
  int32_t *out##r##_ = out0;                                          \
  int8_t *c##r##_ = c0;                                               \
  (void)a##r##_, (void)in##r##_, (void)out##r##_, (void)c##r##_;
#define HWT_QS8_NEXT_ROW(r, p)                                                                \
  if (MR > r) {                                                                               \
    const bool v = r < mr;                                                                    \
    a##r##_ = v ? a##p##_ + a_stride : a##p##_;                                               \
    in##r##_ = v ? in##p##_ + acc_in_stride : in##p##_;                                       \
    out##r##_ = v ? out##p##_ + NR : out##p##_;                                               \
    c##r##_ = v ? c##p##_ + c_stride : c##p##_;                                               \
  }
#define HWT_QS8_LOAD_ACC(r)                                                           \
  __m512i acc##r##_0 = _mm512_setzero_si512(), acc##r##_1 = _mm512_setzero_si512();   \
  if (MR > r) {                                                                       \
    acc##r##_0 = _mm512_loadu_si512(in##r##_);                                        \
    acc##r##_1 = _mm512_loadu_si512(in##r##_ + 16);                                   \
  }
#define HWT_QS8_STORE_ACC(r)                         \
  if (MR > r) {                                      \
    _mm512_storeu_si512(out##r##_, acc##r##_0);      \
    _mm512_storeu_si512(out##r##_ + 16, acc##r##_1); \
  }
#define HWT_QS8_STORE_C(r)                                                                              \
  if (MR > r) {                                                                                         \
    __m512 f0 = _mm512_mul_ps(_mm512_cvtepi32_ps(acc##r##_0), s0);                                      \
    __m512 f1 = _mm512_mul_ps(_mm512_cvtepi32_ps(acc##r##_1), s1);                                      \
    f0 = _mm512_min_ps(_mm512_max_ps(f0, lo), hi);                                                      \
    f1 = _mm512_min_ps(_mm512_max_ps(f1, lo), hi);                                                      \
    _mm_mask_storeu_epi8(c##r##_, m0, _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(f0), zp)));      \
    _mm_mask_storeu_epi8(c##r##_ + 16, m1, _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(f1), zp))); \
  }

/* Declares a<r>_, in<r>_, out<r>_, c<r>_ and acc<r>_0/1 (loaded from acc_in) for the eight rows. */
#define HWT_QS8_TILE_BEGIN()                                                                        \
  const uint8_t *a0 = (const uint8_t *)a;                                                           \
  const int32_t *in0 = acc_in;                                                                      \
  int32_t *out0 = acc_out;                                                                          \
  int8_t *c0 = c;                                                                                   \
  FOR_ROWS(HWT_QS8_ROW_PTRS)                                                                        \
  HWT_QS8_NEXT_ROW(1, 0) HWT_QS8_NEXT_ROW(2, 1) HWT_QS8_NEXT_ROW(3, 2) HWT_QS8_NEXT_ROW(4, 3)       \
  HWT_QS8_NEXT_ROW(5, 4) HWT_QS8_NEXT_ROW(6, 5) HWT_QS8_NEXT_ROW(7, 6)                              \
  FOR_ROWS(HWT_QS8_LOAD_ACC)

/* Stores the int32 sums when acc_out is set (more K blocks follow), else requantizes to int8 rows of c:
 * XNNPACK's fp32 requantization, float(acc) * scale, clamp in float (the bounds are integers, so clamping before
 * the round-to-nearest-even conversion equals clamping after), + zero point; masked stores for nc < 32. */
#define HWT_QS8_TILE_END()                                                                                    \
  if (acc_out != NULL) {                                                                                      \
    FOR_ROWS(HWT_QS8_STORE_ACC)                                                                               \
    return;                                                                                                   \
  }                                                                                                           \
  const __m512 s0 = _mm512_loadu_ps(scale), s1 = _mm512_loadu_ps(scale + 16);                                 \
  const __m512 lo = _mm512_set1_ps(rq->min_less_zp), hi = _mm512_set1_ps(rq->max_less_zp);                    \
  const __m512i zp = _mm512_set1_epi32(rq->zp);                                                               \
  const __mmask16 m0 = nc >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nc) - 1u);                           \
  const __mmask16 m1 = nc >= 32 ? (__mmask16)0xffff : nc <= 16 ? (__mmask16)0 : (__mmask16)((1u << (nc - 16)) - 1u); \
  FOR_ROWS(HWT_QS8_STORE_C)
