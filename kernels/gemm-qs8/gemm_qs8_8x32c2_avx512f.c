/* SPDX-License-Identifier: Apache-2.0 */
/* qs8 micro-kernels for AVX-512 without VNNI (Skylake-X class): 8x32 (and 4/2/1-row variants), k in pairs,
 * 512-bit vpmaddwd.
 *
 * Same scheme as the AVX2 kernel at twice the width: A packed as u16 (a + 128), weights sign-extended with
 * vpmovsxbw, vpmaddwd adds each k pair exactly into int32 (vpmaddubsw would saturate). Per k pair: two 32-byte
 * weight loads widened to zmm, one 4-byte broadcast per row, 2 vpmaddwd + 2 vpaddd per row; 8 rows give 16
 * accumulators. One template, instantiated per MR; rows are named variables (FOR_ROWS macros, dead rows removed
 * when MR is a constant) because GCC 12 spills arrays of vectors. */
#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "driver/gemm_qs8_ukernel.h"

enum { NR = 32, KR = 2 };

/* acc += a . w over one k pair of 16-bit values per 32-bit lane (exact: 255 * 128 * 2 fits easily). */
static inline __m512i madd(__m512i acc, __m512i a, __m512i w) {
  return _mm512_add_epi32(acc, _mm512_madd_epi16(a, w));
}

/* Two u16 values of A (k and k+1) broadcast to every lane. */
static inline __m512i broadcast_a(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof(v));
  return _mm512_set1_epi32(v);
}

#include "gemm_qs8_tile_avx512.h"

static inline __attribute__((always_inline)) void tile(const size_t MR, size_t mr, size_t nc,
                                                       size_t kc, const void *a, size_t a_stride, const int8_t *w,
                                                       const int32_t *acc_in, size_t acc_in_stride,
                                                       int32_t *acc_out, int8_t *c, size_t c_stride,
                                                       const float *scale, const hwt_qs8_requant *rq) {
  HWT_QS8_TILE_BEGIN()

  /* a is u16: the k pair sits at byte offset 2 k */
  for (size_t k = 0; k < kc; k += KR) {
    const __m512i w0 = _mm512_cvtepi8_epi16(_mm256_load_si256((const __m256i *)w));
    const __m512i w1 = _mm512_cvtepi8_epi16(_mm256_load_si256((const __m256i *)(w + 32)));
    w += 64;
#define STEP(r)                                             \
  if (MR > r) {                                             \
    const __m512i va = broadcast_a(a##r##_ + 2 * k);        \
    acc##r##_0 = madd(acc##r##_0, va, w0);                  \
    acc##r##_1 = madd(acc##r##_1, va, w1);                  \
  }
    FOR_ROWS(STEP)
#undef STEP
  }

  HWT_QS8_TILE_END()
}

#define DEFINE_KERNEL(mr_)                                                                                          \
  void hwt_gemm_qs8_ukernel_##mr_##x32c2__avx512f(size_t mr, size_t nc, size_t kc, const void *a,                  \
                                                     size_t a_stride, const int8_t *w, const int32_t *acc_in,       \
                                                     size_t acc_in_stride, int32_t *acc_out, int8_t *c,             \
                                                     size_t c_stride, const float *scale,                           \
                                                     const hwt_qs8_requant *rq) {                                   \
    tile(mr_, mr, nc, kc, a, a_stride, w, acc_in, acc_in_stride, acc_out, c, c_stride, scale, rq);                 \
  }

DEFINE_KERNEL(1)
DEFINE_KERNEL(2)
DEFINE_KERNEL(4)
DEFINE_KERNEL(8)
