/* SPDX-License-Identifier: Apache-2.0 */
/* One row of A (M = 1: a fully-connected layer at batch 1) against unstructured sparse weights, AVX-512.
 *
 * The weights are sliced (hwt_spmm_ell, spmm_ukernel.h): 16 output channels per group, one per lane, and the
 * inputs in windows of 32. For each (group, window), step s holds, per lane, the s-th nonzero of that lane's
 * channel inside the window (value and 5-bit offset; lanes with fewer nonzeros get a zero value). The window's
 * 32 inputs sit in two registers; one vpermt2ps picks each lane's input, one multiply-add adds 16 products. So a
 * step costs two loads (16 offsets, 16 values) and serves 16 nonzeros, where the CSR dot product loads index,
 * input and value for every single one. */
#include <immintrin.h>

#include "spmm/spmm_ukernel.h"

void hwt_spmm_f32_ell__avx512f(const hwt_spmm_ell *e, const hwt_spmm_args *p, const float *a, float *c, size_t g0,
                               size_t g1) {
  const size_t k = p->k, windows = e->windows;
  const __m512 vmin = _mm512_set1_ps(p->min), vmax = _mm512_set1_ps(p->max);
  for (size_t g = g0; g < g1; g++) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), acc2 = _mm512_setzero_ps(),
           acc3 = _mm512_setzero_ps();
    const uint32_t *ss = e->step_start + g * windows;
    for (size_t j = 0; j < windows; j++) {
      uint32_t s = ss[j];
      const uint32_t end = ss[j + 1];
      if (s == end) continue;
      const size_t k0 = 32 * j, left = k - k0;
      const __mmask16 mlo = left >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << left) - 1);
      const __mmask16 mhi = left >= 32 ? (__mmask16) 0xFFFF : left <= 16 ? 0 : (__mmask16) ((1u << (left - 16)) - 1);
      const __m512 lo = _mm512_maskz_loadu_ps(mlo, a + k0);
      const __m512 hi = _mm512_maskz_loadu_ps(mhi, a + k0 + 16);
      const uint8_t *ip = e->idx + (size_t) s * 16;
      const float *vp = e->val + (size_t) s * 16;
      for (; s + 4 <= end; s += 4, ip += 64, vp += 64) {
        __m512i i0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (const void *) ip));
        __m512i i1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (const void *) (ip + 16)));
        __m512i i2 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (const void *) (ip + 32)));
        __m512i i3 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (const void *) (ip + 48)));
        acc0 = _mm512_fmadd_ps(_mm512_permutex2var_ps(lo, i0, hi), _mm512_load_ps(vp), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_permutex2var_ps(lo, i1, hi), _mm512_load_ps(vp + 16), acc1);
        acc2 = _mm512_fmadd_ps(_mm512_permutex2var_ps(lo, i2, hi), _mm512_load_ps(vp + 32), acc2);
        acc3 = _mm512_fmadd_ps(_mm512_permutex2var_ps(lo, i3, hi), _mm512_load_ps(vp + 48), acc3);
      }
      for (; s < end; s++, ip += 16, vp += 16) {
        __m512i i0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (const void *) ip));
        acc0 = _mm512_fmadd_ps(_mm512_permutex2var_ps(lo, i0, hi), _mm512_load_ps(vp), acc0);
      }
    }
    const size_t n0 = 16 * g, nleft = p->n - n0;
    const __mmask16 mn = nleft >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << nleft) - 1);
    __m512 r = _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3));
    r = _mm512_add_ps(_mm512_maskz_loadu_ps(mn, p->bias + n0), r);
    r = _mm512_max_ps(vmin, r); /* the second operand comes back when either is NaN: NaN stays NaN */
    r = _mm512_min_ps(vmax, r);
    _mm512_mask_storeu_ps(c + n0, mn, r);
  }
}
