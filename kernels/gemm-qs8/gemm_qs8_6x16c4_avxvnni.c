/* SPDX-License-Identifier: Apache-2.0 */
/* qs8 micro-kernels for AVX-VNNI: 6x16 (and 4/2/1-row variants), k in groups of 4, 256-bit VEX vpdpbusd u8 x s8.
 *
 * Sixteen ymm registers: 12 accumulators (6 rows x 2 vectors of 8 channels), two weight vectors, one broadcast.
 * The 1- and 2-row variants alternate two accumulator sets over even/odd k steps (latency, not registers, limits
 * a GEMV). One template, instantiated per MR; rows are named variables (FOR_ROWS macros, dead rows removed when MR
 * is a constant) because GCC 12 spills arrays of vectors. */
#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "driver/gemm_qs8_ukernel.h"

enum { NR = 16, KR = 4 };

/* acc += u8 a . s8 w; "{vex}" selects the AVX-VNNI encoding (the EVEX form would need AVX512-VNNI + VL). */
static inline __m256i dpbusd(__m256i acc, __m256i a, __m256i w) {
  __asm__("%{vex%} vpdpbusd %[w], %[a], %[acc]" : [acc] "+x"(acc) : [a] "x"(a), [w] "xm"(w));
  return acc;
}

static inline __m256i broadcast_a(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof(v));
  return _mm256_set1_epi32(v);
}

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

static inline __attribute__((always_inline)) void tile(const size_t MR, const bool SPLIT, size_t mr, size_t nc,
                                                       size_t kc, const void *a, size_t a_stride, const int8_t *w,
                                                       const int32_t *acc_in, size_t acc_in_stride,
                                                       int32_t *acc_out, int8_t *c, size_t c_stride,
                                                       const float *scale, const hwt_qs8_requant *rq) {
  /* Row pointers; rows past mr alias the previous row (computed and written identically). */
  const uint8_t *a0 = (const uint8_t *)a;
  const int32_t *in0 = acc_in;
  int32_t *out0 = acc_out;
  int8_t *c0 = c;
#define ROW_PTRS(r)                  \
  const uint8_t *a##r##_ = a0;       \
  const int32_t *in##r##_ = in0;     \
  int32_t *out##r##_ = out0;         \
  int8_t *c##r##_ = c0;              \
  (void)a##r##_, (void)in##r##_, (void)out##r##_, (void)c##r##_;
  FOR_ROWS(ROW_PTRS)
#undef ROW_PTRS
#define NEXT_ROW(r, p)                                    \
  if (MR > r) {                                           \
    const bool v = r < mr;                                \
    a##r##_ = v ? a##p##_ + a_stride : a##p##_;           \
    in##r##_ = v ? in##p##_ + acc_in_stride : in##p##_;   \
    out##r##_ = v ? out##p##_ + NR : out##p##_;           \
    c##r##_ = v ? c##p##_ + c_stride : c##p##_;           \
  }
  NEXT_ROW(1, 0) NEXT_ROW(2, 1) NEXT_ROW(3, 2) NEXT_ROW(4, 3) NEXT_ROW(5, 4)
#undef NEXT_ROW

#define INIT(r)                                                                       \
  __m256i acc##r##_0 = _mm256_setzero_si256(), acc##r##_1 = _mm256_setzero_si256();   \
  __m256i odd##r##_0 = _mm256_setzero_si256(), odd##r##_1 = _mm256_setzero_si256();   \
  if (MR > r) {                                                                       \
    acc##r##_0 = _mm256_loadu_si256((const __m256i *)in##r##_);                       \
    acc##r##_1 = _mm256_loadu_si256((const __m256i *)(in##r##_ + 8));                 \
  }
  FOR_ROWS(INIT)
#undef INIT

  size_t k = 0;
  if (SPLIT) {
    for (; k + 2 * KR <= kc; k += 2 * KR) {
      const __m256i w0 = _mm256_load_si256((const __m256i *)w), w1 = _mm256_load_si256((const __m256i *)(w + 32));
      const __m256i w2 = _mm256_load_si256((const __m256i *)(w + 64));
      const __m256i w3 = _mm256_load_si256((const __m256i *)(w + 96));
      w += 4 * 32;
#define STEP2(r)                                                                      \
  if (MR > r) {                                                                       \
    const __m256i va = broadcast_a(a##r##_ + k), vb = broadcast_a(a##r##_ + k + KR);  \
    acc##r##_0 = dpbusd(acc##r##_0, va, w0);                                          \
    acc##r##_1 = dpbusd(acc##r##_1, va, w1);                                          \
    odd##r##_0 = dpbusd(odd##r##_0, vb, w2);                                          \
    odd##r##_1 = dpbusd(odd##r##_1, vb, w3);                                          \
  }
      FOR_ROWS(STEP2)
#undef STEP2
    }
  }
  for (; k < kc; k += KR) {
    const __m256i w0 = _mm256_load_si256((const __m256i *)w), w1 = _mm256_load_si256((const __m256i *)(w + 32));
    w += 2 * 32;
#define STEP(r)                                        \
  if (MR > r) {                                        \
    const __m256i va = broadcast_a(a##r##_ + k);       \
    acc##r##_0 = dpbusd(acc##r##_0, va, w0);           \
    acc##r##_1 = dpbusd(acc##r##_1, va, w1);           \
  }
    FOR_ROWS(STEP)
#undef STEP
  }
#define MERGE(r)                                             \
  if (SPLIT && MR > r) {                                     \
    acc##r##_0 = _mm256_add_epi32(acc##r##_0, odd##r##_0);   \
    acc##r##_1 = _mm256_add_epi32(acc##r##_1, odd##r##_1);   \
  }
  FOR_ROWS(MERGE)
#undef MERGE

  if (acc_out != NULL) {
#define STORE_ACC(r)                                                   \
  if (MR > r) {                                                        \
    _mm256_storeu_si256((__m256i *)out##r##_, acc##r##_0);             \
    _mm256_storeu_si256((__m256i *)(out##r##_ + 8), acc##r##_1);       \
  }
    FOR_ROWS(STORE_ACC)
#undef STORE_ACC
    return;
  }
  const __m256 s0 = _mm256_loadu_ps(scale), s1 = _mm256_loadu_ps(scale + 8);
  const __m256 lo = _mm256_set1_ps(rq->min_less_zp), hi = _mm256_set1_ps(rq->max_less_zp);
  const __m256i zp = _mm256_set1_epi32(rq->zp);
#define STORE_C(r)                                                                  \
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
  FOR_ROWS(STORE_C)
#undef STORE_C
}

#define DEFINE_KERNEL(mr_, split_)                                                                                  \
  void hwt_gemm_qs8_ukernel_##mr_##x16c4__avxvnni(size_t mr, size_t nc, size_t kc, const void *a, size_t a_stride, \
                                                  const int8_t *w, const int32_t *acc_in, size_t acc_in_stride,    \
                                                  int32_t *acc_out, int8_t *c, size_t c_stride,                    \
                                                  const float *scale, const hwt_qs8_requant *rq) {                 \
    tile(mr_, split_, mr, nc, kc, a, a_stride, w, acc_in, acc_in_stride, acc_out, c, c_stride, scale, rq);         \
  }

DEFINE_KERNEL(1, true)
DEFINE_KERNEL(2, true)
DEFINE_KERNEL(4, false)
DEFINE_KERNEL(6, false)
