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

#include "gemm_qs8_tile_avx2.h"

static inline __attribute__((always_inline)) void tile(const size_t MR, const bool SPLIT, size_t mr, size_t nc,
                                                       size_t kc, const void *a, size_t a_stride, const int8_t *w,
                                                       const int32_t *acc_in, size_t acc_in_stride,
                                                       int32_t *acc_out, int8_t *c, size_t c_stride,
                                                       const float *scale, const hwt_qs8_requant *rq) {
  HWT_QS8_TILE_BEGIN()
#define INIT_ODD(r) __m256i odd##r##_0 = _mm256_setzero_si256(), odd##r##_1 = _mm256_setzero_si256();
  FOR_ROWS(INIT_ODD)
#undef INIT_ODD

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

  HWT_QS8_TILE_END()
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
