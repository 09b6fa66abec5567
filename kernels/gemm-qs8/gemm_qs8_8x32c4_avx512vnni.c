/* SPDX-License-Identifier: Apache-2.0 */
/* qs8 micro-kernels for AVX512-VNNI: 8x32 (and 4/2/1-row variants), k in groups of 4, 512-bit vpdpbusd u8 x s8.
 *
 * Per k step the tile loads two 64-byte weight vectors (32 channels x 4 k) and broadcasts 4 bytes of each A row;
 * 8 rows give 16 independent accumulators, enough to cover vpdpbusd latency at two issues per cycle. The 1- and
 * 2-row variants (batch 1 = GEMV, memory-bound) alternate two accumulator sets over even/odd k steps so the
 * dependency chains do not cap the weight stream. One template, instantiated per MR; rows are named variables
 * (ROW(r) macros, dead rows removed when MR is a constant) because GCC 12 spills arrays of vectors here. */
#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "driver/gemm_qs8_ukernel.h"

enum { NR = 32, KR = 4 };

/* acc += u8 a . s8 w, four products per 32-bit lane (the weight operand may come straight from memory). */
static inline __m512i dpbusd(__m512i acc, __m512i a, __m512i w) {
  __asm__("vpdpbusd %[w], %[a], %[acc]" : [acc] "+v"(acc) : [a] "v"(a), [w] "vm"(w));
  return acc;
}

static inline __m512i broadcast_a(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof(v));
  return _mm512_set1_epi32(v);
}

#include "gemm_qs8_tile_avx512.h"

static inline __attribute__((always_inline)) void tile(const size_t MR, const bool SPLIT, size_t mr, size_t nc,
                                                       size_t kc, const void *a, size_t a_stride, const int8_t *w,
                                                       const int32_t *acc_in, size_t acc_in_stride,
                                                       int32_t *acc_out, int8_t *c, size_t c_stride,
                                                       const float *scale, const hwt_qs8_requant *rq) {
  HWT_QS8_TILE_BEGIN()
#define INIT_ODD(r) __m512i odd##r##_0 = _mm512_setzero_si512(), odd##r##_1 = _mm512_setzero_si512();
  FOR_ROWS(INIT_ODD)
#undef INIT_ODD

  size_t k = 0;
  if (SPLIT) {
    for (; k + 2 * KR <= kc; k += 2 * KR) {
      const __m512i w0 = _mm512_load_si512(w), w1 = _mm512_load_si512(w + 64);
      const __m512i w2 = _mm512_load_si512(w + 128), w3 = _mm512_load_si512(w + 192);
      w += 4 * 64;
#define STEP2(r)                                                                      \
  if (MR > r) {                                                                       \
    const __m512i va = broadcast_a(a##r##_ + k), vb = broadcast_a(a##r##_ + k + KR);  \
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
    const __m512i w0 = _mm512_load_si512(w), w1 = _mm512_load_si512(w + 64);
    w += 2 * 64;
#define STEP(r)                                        \
  if (MR > r) {                                        \
    const __m512i va = broadcast_a(a##r##_ + k);       \
    acc##r##_0 = dpbusd(acc##r##_0, va, w0);           \
    acc##r##_1 = dpbusd(acc##r##_1, va, w1);           \
  }
    FOR_ROWS(STEP)
#undef STEP
  }
#define MERGE(r)                                             \
  if (SPLIT && MR > r) {                                     \
    acc##r##_0 = _mm512_add_epi32(acc##r##_0, odd##r##_0);   \
    acc##r##_1 = _mm512_add_epi32(acc##r##_1, odd##r##_1);   \
  }
  FOR_ROWS(MERGE)
#undef MERGE

  HWT_QS8_TILE_END()
}

#define DEFINE_KERNEL(mr_, split_)                                                                                  \
  void hwt_gemm_qs8_ukernel_##mr_##x32c4__avx512vnni(size_t mr, size_t nc, size_t kc, const void *a,               \
                                                     size_t a_stride, const int8_t *w, const int32_t *acc_in,       \
                                                     size_t acc_in_stride, int32_t *acc_out, int8_t *c,             \
                                                     size_t c_stride, const float *scale,                           \
                                                     const hwt_qs8_requant *rq) {                                   \
    tile(mr_, split_, mr, nc, kc, a, a_stride, w, acc_in, acc_in_stride, acc_out, c, c_stride, scale, rq);         \
  }

DEFINE_KERNEL(1, true)
DEFINE_KERNEL(2, true)
DEFINE_KERNEL(4, false)
DEFINE_KERNEL(8, false)
