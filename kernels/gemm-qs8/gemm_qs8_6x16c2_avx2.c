/* SPDX-License-Identifier: Apache-2.0 */
/* qs8 micro-kernels for AVX2 without VNNI: 6x16 (and 4/2/1-row variants), k in pairs, 16-bit vpmaddwd.
 *
 * vpmaddubsw (u8 x s8) would saturate its 16-bit pair sums (255 * -128 * 2 < -32768), so this kernel widens both
 * sides instead: A is packed as u16 (a + 128, 0..255), weights are sign-extended with vpmovsxbw, and vpmaddwd
 * adds each k pair exactly into int32. Per k pair: 2 weight loads+widens, 6 broadcasts, 12 vpmaddwd + 12 vpaddd.
 * Twelve accumulators + two weight vectors + one broadcast fill the 16 ymm registers. Rows are named variables
 * (FOR_ROWS macros, dead rows removed when MR is a constant) because GCC 12 spills arrays of vectors. */
#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "driver/gemm_qs8_ukernel.h"

enum { NR = 16, KR = 2 };

static inline __m256i broadcast_pair(const uint8_t *p) {
  int32_t v; /* two u16 values of A: k and k+1 */
  memcpy(&v, p, sizeof(v));
  return _mm256_set1_epi32(v);
}

#include "gemm_qs8_tile_avx2.h"

static inline __attribute__((always_inline)) void tile(const size_t MR, size_t mr, size_t nc, size_t kc,
                                                       const void *a, size_t a_stride, const int8_t *w,
                                                       const int32_t *acc_in, size_t acc_in_stride,
                                                       int32_t *acc_out, int8_t *c, size_t c_stride,
                                                       const float *scale, const hwt_qs8_requant *rq) {
  HWT_QS8_TILE_BEGIN()

  /* a is u16: the k pair sits at byte offset 2 k */
  for (size_t k = 0; k < kc; k += KR) {
    const __m256i w0 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)w));
    const __m256i w1 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(w + 16)));
    w += 32;
#define STEP(r)                                                                  \
  if (MR > r) {                                                                  \
    const __m256i va = broadcast_pair(a##r##_ + 2 * k);                          \
    acc##r##_0 = _mm256_add_epi32(acc##r##_0, _mm256_madd_epi16(va, w0));        \
    acc##r##_1 = _mm256_add_epi32(acc##r##_1, _mm256_madd_epi16(va, w1));        \
  }
    FOR_ROWS(STEP)
#undef STEP
  }

  HWT_QS8_TILE_END()
}

#define DEFINE_KERNEL(mr_)                                                                                          \
  void hwt_gemm_qs8_ukernel_##mr_##x16c2__avx2(size_t mr, size_t nc, size_t kc, const void *a, size_t a_stride,    \
                                               const int8_t *w, const int32_t *acc_in, size_t acc_in_stride,       \
                                               int32_t *acc_out, int8_t *c, size_t c_stride, const float *scale,   \
                                               const hwt_qs8_requant *rq) {                                        \
    tile(mr_, mr, nc, kc, a, a_stride, w, acc_in, acc_in_stride, acc_out, c, c_stride, scale, rq);                 \
  }

DEFINE_KERNEL(1)
DEFINE_KERNEL(2)
DEFINE_KERNEL(4)
DEFINE_KERNEL(6)
