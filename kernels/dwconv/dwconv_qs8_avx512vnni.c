/* SPDX-License-Identifier: Apache-2.0 */
/* The qs8 depthwise row kernel for 3x3 and 5x5 with AVX512-VNNI: vpdpbusd sums four kernel rows' products per
 * channel in one instruction, and each input column, once transposed, serves every output pixel that reads it.
 *
 * Data layout (packed by dwconv_plan.c, hwt_dwconv_qs8_pack_quads): channels go in blocks of 64. A "column" is the
 * kernel-height input pixels above each other at one input x, for the 64 channels of a block, transposed into
 * G = ceil(kh / 4) groups of 4 zmm: in q (0..3) of a group, 128-bit lane L, dword i holds the four rows' bytes
 * (rows 4g..4g+3, a missing row reads the zero point) of channel 16L + 4q + i. That order is what two rounds of
 * unpack (epi8 then epi16) produce, and what packs_epi32 then packs_epi16 undo on the way out, so nothing else is
 * shuffled. Weights are packed in the same order per kernel column, bias and scales per accumulator q.
 *
 * vpdpbusd multiplies unsigned by signed bytes: inputs are flipped to u8 (x ^ 0x80 = x + 128) and the plan folds
 * -(input_zero_point + 128) * sum(w) into the bias, so the integer accumulator equals the reference's
 * bias + sum over in-image taps of (x - zp) * w (padding reads the zero point, which adds nothing), modulo 2^32 as
 * the reference's int32. Requantization is the reference's float formula, op for op (hwtune/dwconv.h). */
#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dwconv/dwconv_ukernel.h"

#define DW_INLINE static inline __attribute__((always_inline))

enum { DW_CB = 64, DW_MAXG = 2, DW_MAXK = 5 };

typedef struct dw_rows {
  const int8_t *p[4 * DW_MAXG]; /* per kernel row: the input row at this block's channels, or the zero point row */
  size_t step[4 * DW_MAXG];     /* bytes per input pixel: channels, or 0 for the zero point row */
} dw_rows;

/* The transposed column at input x = ix (in the image) for G groups. */
DW_INLINE void load_col(const dw_rows *r, size_t ix, __mmask64 m, int kh, int G, __m512i col[DW_MAXG][4]) {
  const __m512i flip = _mm512_set1_epi8((char) 0x80);
  for (int g = 0; g < G; g++) {
    __m512i v[4];
    for (int j = 0; j < 4; j++) {
      int ky = 4 * g + j;
      v[j] = ky < kh ? _mm512_maskz_loadu_epi8(m, r->p[ky] + ix * r->step[ky]) : _mm512_setzero_si512();
    }
    __m512i t01lo = _mm512_unpacklo_epi8(v[0], v[1]), t01hi = _mm512_unpackhi_epi8(v[0], v[1]);
    __m512i t23lo = _mm512_unpacklo_epi8(v[2], v[3]), t23hi = _mm512_unpackhi_epi8(v[2], v[3]);
    col[g][0] = _mm512_xor_si512(_mm512_unpacklo_epi16(t01lo, t23lo), flip);
    col[g][1] = _mm512_xor_si512(_mm512_unpackhi_epi16(t01lo, t23lo), flip);
    col[g][2] = _mm512_xor_si512(_mm512_unpacklo_epi16(t01hi, t23hi), flip);
    col[g][3] = _mm512_xor_si512(_mm512_unpackhi_epi16(t01hi, t23hi), flip);
  }
}

/* Column at input x = ix: outside the image every byte is the flipped zero point. */
DW_INLINE void get_col(const dw_rows *r, long ix, size_t iw, __mmask64 m, __m512i zpu, int kh, int G,
                       __m512i col[DW_MAXG][4]) {
  if (ix < 0 || ix >= (long) iw) {
    for (int g = 0; g < G; g++)
      for (int q = 0; q < 4; q++) col[g][q] = zpu;
  } else {
    load_col(r, (size_t) ix, m, kh, G, col);
  }
}

/* One output row. KH x KW kernel; S = the horizontal stride when it is 1 or 2 (columns are reused across output
 * pixels), 0 for any other stride (every column loaded per pixel). */
DW_INLINE void dw_row(const hwt_dwconv_row_args *a, const int KH, const int KW, const int S) {
  const int G = (KH + 3) / 4;
  const size_t nc = a->channels, xrow = a->iw * nc, ow = a->ow, iw = a->iw, sw = a->sw;
  const int8_t *in = a->in;
  const int8_t *wt = a->w;
  const int32_t *bias = a->bias;
  const float *scale = a->scale;
  int8_t *out = a->out;
  int8_t zrow[DW_CB];
  memset(zrow, (int8_t) a->input_zero_point, sizeof zrow);
  const __m512i zpu = _mm512_set1_epi8((char) (a->input_zero_point ^ 0x80));
  const __m512 ozp = _mm512_set1_ps(a->output_zero_point), qlo = _mm512_set1_ps(a->qmin),
               qhi = _mm512_set1_ps(a->qmax);
  const long iy0 = (long) (a->oy * a->sh) - (long) a->pad_t;
  const size_t wblock = (size_t) KW * G * 4 * DW_CB;

  for (size_t cb = 0; cb < nc; cb += DW_CB) {
    const size_t left = nc - cb;
    const __mmask64 m = left >= DW_CB ? ~(__mmask64) 0 : (((__mmask64) 1 << left) - 1);
    dw_rows r;
    for (int ky = 0; ky < KH; ky++) {
      long iy = iy0 + ky;
      bool in_image = iy >= 0 && iy < (long) a->ih;
      r.p[ky] = in_image ? in + (size_t) iy * xrow + cb : zrow;
      r.step[ky] = in_image ? nc : 0;
    }
    const int8_t *wb = wt + (cb / DW_CB) * wblock;
    __m512i b[4];
    __m512 s[4];
    for (int q = 0; q < 4; q++) {
      b[q] = _mm512_loadu_si512(bias + cb + 16 * q);
      s[q] = _mm512_loadu_ps(scale + cb + 16 * q);
    }
    __m512i col[DW_MAXK][DW_MAXG][4];
    long ix0 = -(long) a->pad_l;
    for (int k = 0; k < KW; k++) get_col(&r, ix0 + k, iw, m, zpu, KH, G, col[k]);
    for (size_t ox = 0; ox < ow; ox++) {
      if (ox > 0) {
        ix0 = (long) (ox * sw) - (long) a->pad_l;
        if (S == 0 || S >= KW) {
          for (int k = 0; k < KW; k++) get_col(&r, ix0 + k, iw, m, zpu, KH, G, col[k]);
        } else {
          for (int k = 0; k < KW - S; k++)
            for (int g = 0; g < G; g++)
              for (int q = 0; q < 4; q++) col[k][g][q] = col[k + S][g][q];
          for (int k = KW - S; k < KW; k++) get_col(&r, ix0 + k, iw, m, zpu, KH, G, col[k]);
        }
      }
      __m512i acc[4] = {b[0], b[1], b[2], b[3]};
      for (int k = 0; k < KW; k++)
        for (int g = 0; g < G; g++)
          for (int q = 0; q < 4; q++)
            acc[q] = _mm512_dpbusd_epi32(acc[q], col[k][g][q],
                                         _mm512_load_si512(wb + ((size_t) (k * G + g) * 4 + q) * DW_CB));
      __m512i o[4];
      for (int q = 0; q < 4; q++) {
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[q]), s[q]);
        __mmask16 ord = _mm512_cmp_ps_mask(f, f, _CMP_ORD_Q); /* NaN (0 x inf) counts as 0 */
        f = _mm512_maskz_roundscale_ps(ord, f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        f = _mm512_add_ps(f, ozp);
        f = _mm512_min_ps(_mm512_max_ps(f, qlo), qhi);
        o[q] = _mm512_cvttps_epi32(f);
      }
      __m512i v = _mm512_packs_epi16(_mm512_packs_epi32(o[0], o[1]), _mm512_packs_epi32(o[2], o[3]));
      _mm512_mask_storeu_epi8(out + ox * nc + cb, m, v);
    }
  }
}

void hwt_dwconv_qs8_packed_row__avx512vnni(const hwt_dwconv_row_args *a) {
  if (a->kh == 3 && a->kw == 3) {
    if (a->sw == 1)
      dw_row(a, 3, 3, 1);
    else if (a->sw == 2)
      dw_row(a, 3, 3, 2);
    else
      dw_row(a, 3, 3, 0);
  } else {
    if (a->sw == 1)
      dw_row(a, 5, 5, 1);
    else if (a->sw == 2)
      dw_row(a, 5, 5, 2);
    else
      dw_row(a, 5, 5, 0);
  }
}
