/* SPDX-License-Identifier: Apache-2.0 */
/* Template of the narrow AVX512-VNNI qs8 tiles (16 or 24 output channels, up to 16 rows), k in groups of 4, for
 * layers whose N is too small for the 32-wide main tile (MobileNet v2's 112x112x32->16 1x1 convolution).
 *
 * The includer defines NR (16 or 24) and then DEFINE_KERNEL(mr, split) per row variant. A row keeps one zmm
 * accumulator (channels 0-15) and, for NR 24, one ymm (16-23) fed by the EVEX ymm form of vpdpbusd (AVX512VL: no
 * AVX-VNNI needed). Zen 4 splits a zmm op into two 256-bit halves, so the ymm accumulator costs half a zmm one and
 * neither tile computes padding channels. With one or two vectors per row the tile can take 12-16 rows: each
 * weight load then feeds 12-16 vpdpbusd, and the independent accumulators cover the instruction's latency.
 *
 * A is read as stored (signed int8, the hwt_qs8_a_s8x format): each 4-byte group is broadcast and its sign bits
 * flipped (a ^ 0x80 = a + 128 as u8) in one vpxord with a {1to16} memory operand, and the packed bias folds
 * the -128 * sum(w) back (offset 128, as for hwt_qs8_a_u8). The driver can therefore skip packing A when K is a
 * multiple of 4 and let the kernel read the caller's rows in place: at K = 32, packing cost as much as the tile.
 * Rows are named variables (FOR_ROWS macros, dead rows removed when MR is a constant): GCC 12 spills arrays of
 * vectors. The 1- and 2-row variants alternate two accumulator sets over even/odd k steps (latency bound GEMV). */
#pragma once
#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "driver/gemm_qs8_ukernel.h"

#if NR != 16 && NR != 24
#error "NR must be 16 or 24"
#endif
enum { KR = 4, WIDE = NR == 24 };

#define FOR_ROWS(X) \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)

/* 4 bytes of an A row broadcast to every lane, sign bits flipped (s8 -> u8 + 128). */
static inline __m512i broadcast_a(const int8_t *p, __m512i sign) {
  int32_t v;
  memcpy(&v, p, sizeof(v));
  return _mm512_xor_si512(_mm512_set1_epi32(v), sign);
}

static inline __attribute__((always_inline)) void tile(const size_t MR, const bool SPLIT, size_t mr, size_t nc,
                                                       size_t kc, const void *a, size_t a_stride, const int8_t *w,
                                                       const int32_t *acc_in, size_t acc_in_stride,
                                                       int32_t *acc_out, int8_t *c, size_t c_stride,
                                                       const float *scale, const hwt_qs8_requant *rq) {
  const __m512i sign = _mm512_set1_epi8((char)0x80);
  const int8_t *a0 = (const int8_t *)a;
  const int32_t *in0 = acc_in;
  int32_t *out0 = acc_out;
  int8_t *c0 = c;
  /* Row pointers; rows past mr alias the previous row (computed and written identically). */
#define ROW_PTRS(r)                                              \
  const int8_t *a##r##_ = a0;                                    \
  const int32_t *in##r##_ = in0;                                 \
  int32_t *out##r##_ = out0;                                     \
  int8_t *c##r##_ = c0;                                          \
  (void)a##r##_, (void)in##r##_, (void)out##r##_, (void)c##r##_;
  FOR_ROWS(ROW_PTRS)
#undef ROW_PTRS
#define NEXT_ROW(r, p)                                        \
  if (MR > r) {                                               \
    const bool v = r < mr;                                    \
    a##r##_ = v ? a##p##_ + a_stride : a##p##_;               \
    in##r##_ = v ? in##p##_ + acc_in_stride : in##p##_;       \
    out##r##_ = v ? (out##p##_ ? out##p##_ + NR : NULL) : out##p##_; \
    c##r##_ = v ? (c##p##_ ? c##p##_ + c_stride : NULL) : c##p##_;   \
  }
  NEXT_ROW(1, 0) NEXT_ROW(2, 1) NEXT_ROW(3, 2) NEXT_ROW(4, 3) NEXT_ROW(5, 4) NEXT_ROW(6, 5) NEXT_ROW(7, 6)
  NEXT_ROW(8, 7) NEXT_ROW(9, 8) NEXT_ROW(10, 9) NEXT_ROW(11, 10) NEXT_ROW(12, 11) NEXT_ROW(13, 12)
  NEXT_ROW(14, 13) NEXT_ROW(15, 14)
#undef NEXT_ROW
#define LOAD_ACC(r)                                                                              \
  __m512i acc##r##_0 = _mm512_setzero_si512(), odd##r##_0 = _mm512_setzero_si512();              \
  __m256i acc##r##_1 = _mm256_setzero_si256(), odd##r##_1 = _mm256_setzero_si256();              \
  if (MR > r) {                                                                                  \
    acc##r##_0 = _mm512_loadu_si512(in##r##_);                                                   \
    if (WIDE) acc##r##_1 = _mm256_loadu_si256((const __m256i *)(in##r##_ + 16));                 \
  }                                                                                              \
  (void)acc##r##_1, (void)odd##r##_0, (void)odd##r##_1;
  FOR_ROWS(LOAD_ACC)
#undef LOAD_ACC

  size_t k = 0;
  if (SPLIT) {
    for (; k + 2 * KR <= kc; k += 2 * KR) {
      const __m512i w0 = _mm512_loadu_si512(w), w2 = _mm512_loadu_si512(w + NR * KR);
      __m256i w1 = _mm256_setzero_si256(), w3 = _mm256_setzero_si256();
      if (WIDE) {
        w1 = _mm256_loadu_si256((const __m256i *)(w + 64));
        w3 = _mm256_loadu_si256((const __m256i *)(w + NR * KR + 64));
      }
      w += 2 * NR * KR;
#define STEP2(r)                                                                                  \
  if (MR > r) {                                                                                   \
    const __m512i va = broadcast_a(a##r##_ + k, sign), vb = broadcast_a(a##r##_ + k + KR, sign);  \
    acc##r##_0 = _mm512_dpbusd_epi32(acc##r##_0, va, w0);                                         \
    odd##r##_0 = _mm512_dpbusd_epi32(odd##r##_0, vb, w2);                                         \
    if (WIDE) {                                                                                   \
      acc##r##_1 = _mm256_dpbusd_epi32(acc##r##_1, _mm512_castsi512_si256(va), w1);               \
      odd##r##_1 = _mm256_dpbusd_epi32(odd##r##_1, _mm512_castsi512_si256(vb), w3);               \
    }                                                                                             \
  }
      FOR_ROWS(STEP2)
#undef STEP2
    }
  }
  for (; k < kc; k += KR) {
    const __m512i w0 = _mm512_loadu_si512(w);
    const __m256i w1 = WIDE ? _mm256_loadu_si256((const __m256i *)(w + 64)) : _mm256_setzero_si256();
    w += NR * KR;
#define STEP(r)                                                                     \
  if (MR > r) {                                                                     \
    const __m512i va = broadcast_a(a##r##_ + k, sign);                              \
    acc##r##_0 = _mm512_dpbusd_epi32(acc##r##_0, va, w0);                           \
    if (WIDE) acc##r##_1 = _mm256_dpbusd_epi32(acc##r##_1, _mm512_castsi512_si256(va), w1); \
  }
    FOR_ROWS(STEP)
#undef STEP
  }
#define MERGE(r)                                                       \
  if (SPLIT && MR > r) {                                               \
    acc##r##_0 = _mm512_add_epi32(acc##r##_0, odd##r##_0);             \
    if (WIDE) acc##r##_1 = _mm256_add_epi32(acc##r##_1, odd##r##_1);   \
  }
  FOR_ROWS(MERGE)
#undef MERGE

  if (acc_out != NULL) {
#define STORE_ACC(r)                                                                    \
  if (MR > r) {                                                                         \
    _mm512_storeu_si512(out##r##_, acc##r##_0);                                         \
    if (WIDE) _mm256_storeu_si256((__m256i *)(out##r##_ + 16), acc##r##_1);             \
  }
    FOR_ROWS(STORE_ACC)
#undef STORE_ACC
    return;
  }
  /* XNNPACK's fp32 requantization, as the 32-wide tiles do (gemm_qs8_tile_avx512.h): float(acc) * scale, clamp
   * in float (integer bounds), round to nearest even, + zero point; masked stores for nc < NR. */
  const __m512 s0 = _mm512_loadu_ps(scale), lo = _mm512_set1_ps(rq->min_less_zp), hi = _mm512_set1_ps(rq->max_less_zp);
  const __m256 s1 = WIDE ? _mm256_loadu_ps(scale + 16) : _mm256_setzero_ps();
  const __m512i zp = _mm512_set1_epi32(rq->zp);
  const __mmask16 m0 = nc >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nc) - 1u);
  const __mmask16 m1 = nc >= 24 ? (__mmask16)0xff : nc <= 16 ? (__mmask16)0 : (__mmask16)((1u << (nc - 16)) - 1u);
#define STORE_C(r)                                                                                           \
  if (MR > r) {                                                                                              \
    __m512 f0 = _mm512_mul_ps(_mm512_cvtepi32_ps(acc##r##_0), s0);                                           \
    f0 = _mm512_min_ps(_mm512_max_ps(f0, lo), hi);                                                           \
    _mm_mask_storeu_epi8(c##r##_, m0, _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(f0), zp)));   \
    if (WIDE) {                                                                                              \
      __m256 f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc##r##_1), s1);                                         \
      f1 = _mm256_min_ps(_mm256_max_ps(f1, _mm512_castps512_ps256(lo)), _mm512_castps512_ps256(hi));         \
      const __m256i q1 = _mm256_add_epi32(_mm256_cvtps_epi32(f1), _mm512_castsi512_si256(zp));               \
      _mm_mask_storeu_epi8(c##r##_ + 16, m1, _mm256_cvtepi32_epi8(q1));                                      \
    }                                                                                                        \
  }
  FOR_ROWS(STORE_C)
#undef STORE_C
}

#define HWT_QS8_NARROW_KERNEL(mr_, nr_, split_)                                                                    \
  void hwt_gemm_qs8_ukernel_##mr_##x##nr_##c4__avx512vnni(size_t mr, size_t nc, size_t kc, const void *a,          \
                                                          size_t a_stride, const int8_t *w, const int32_t *acc_in, \
                                                          size_t acc_in_stride, int32_t *acc_out, int8_t *c,       \
                                                          size_t c_stride, const float *scale,                     \
                                                          const hwt_qs8_requant *rq) {                             \
    tile(mr_, split_, mr, nc, kc, a, a_stride, w, acc_in, acc_in_stride, acc_out, c, c_stride, scale, rq);        \
  }
