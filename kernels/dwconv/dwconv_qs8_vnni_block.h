/* SPDX-License-Identifier: Apache-2.0 */
/* One channel block of one output row for dwconv_qs8_avx512vnni.c, at one vector width: that file defines DWV_BITS
 * (512, 256 or 128) and includes this once per width (no include guard). A narrower width runs the lanes 0..W/128-1
 * of the same 64-channel packing: the first W/8 bytes of each 64-byte weight chunk, the first W/32 entries of each
 * 16 bias and scale entries, so a 32-channel layer or a 16-channel tail does not pay for 64 channels. */
#if DWV_BITS == 512
#define DWV __m512i
#define DWF __m512
#define DWM __mmask64
#define DWX(op) _mm512_##op
#define DWV_FN(name) name##_512
#define DWV_XOR _mm512_xor_si512
#define DWV_ZERO _mm512_setzero_si512
#define DWV_LOADU _mm512_loadu_si512
#define DWV_LOAD _mm512_load_si512
#elif DWV_BITS == 256
#define DWV __m256i
#define DWF __m256
#define DWM __mmask32
#define DWX(op) _mm256_##op
#define DWV_FN(name) name##_256
#define DWV_XOR _mm256_xor_si256
#define DWV_ZERO _mm256_setzero_si256
#define DWV_LOADU _mm256_loadu_si256
#define DWV_LOAD _mm256_load_si256
#elif DWV_BITS == 128
#define DWV __m128i
#define DWF __m128
#define DWM __mmask16
#define DWX(op) _mm_##op
#define DWV_FN(name) name##_128
#define DWV_XOR _mm_xor_si128
#define DWV_ZERO _mm_setzero_si128
#define DWV_LOADU _mm_loadu_si128
#define DWV_LOAD _mm_load_si128
#else
#error "define DWV_BITS as 512, 256 or 128"
#endif

/* The transposed column at input x = ix for G groups; outside the image every byte is the flipped zero point. */
DW_INLINE void DWV_FN(get_col)(const dw_ctx *c, long ix, DWM m, int kh, int G, DWV col[DW_MAXG][4]) {
  const DWV zpu = DWX(set1_epi8)((char) (c->izp ^ 0x80));
  if (ix < 0 || ix >= (long) c->iw) {
    for (int g = 0; g < G; g++)
      for (int q = 0; q < 4; q++) col[g][q] = zpu;
    return;
  }
  const DWV flip = DWX(set1_epi8)((char) 0x80);
  for (int g = 0; g < G; g++) {
    DWV v[4];
    for (int j = 0; j < 4; j++) {
      int ky = 4 * g + j; /* rows past the kernel have zero weights: any byte does */
      v[j] = ky < kh ? DWV_XOR(DWX(maskz_loadu_epi8)(m, c->p[ky] + (size_t) ix * c->step[ky]), flip)
                     : DWV_ZERO();
    }
    DWV t01lo = DWX(unpacklo_epi8)(v[0], v[1]), t01hi = DWX(unpackhi_epi8)(v[0], v[1]);
    DWV t23lo = DWX(unpacklo_epi8)(v[2], v[3]), t23hi = DWX(unpackhi_epi8)(v[2], v[3]);
    col[g][0] = DWX(unpacklo_epi16)(t01lo, t23lo);
    col[g][1] = DWX(unpackhi_epi16)(t01lo, t23lo);
    col[g][2] = DWX(unpacklo_epi16)(t01hi, t23hi);
    col[g][3] = DWX(unpackhi_epi16)(t01hi, t23hi);
  }
}

/* Channels cb.. (mask m) of the output row. KH x KW kernel; S = the horizontal stride when it is 1 or 2 (columns
 * reused across output pixels), 0 for any other stride (every column loaded per pixel). */
DW_INLINE void DWV_FN(dw_block)(const dw_ctx *c, size_t cb, DWM m, const int KH, const int KW, const int S) {
  const int G = (KH + 3) / 4;
  const int8_t *wb = c->w + (cb / DW_CB) * ((size_t) KW * G * 4 * DW_CB);
  DWV b[4];
  DWF s[4];
  for (int q = 0; q < 4; q++) {
    b[q] = DWV_LOADU((const DWV *) (const void *) (c->bias + cb + 16 * q));
    s[q] = DWX(loadu_ps)(c->scale + cb + 16 * q);
  }
  /* nearbyintf(r) + ozp clamped to [qmin, qmax] equals round(clamp(r, qmin - ozp, qmax - ozp)) + ozp: the bounds
   * are integers and rounding is monotone. r is never NaN: the plan replaced NaN and infinite scales (dwconv_plan.c) */
  const DWF lo = DWX(set1_ps)(c->qmin - c->ozp), hi = DWX(set1_ps)(c->qmax - c->ozp);
  const DWV ozp16 = DWX(set1_epi16)((short) c->ozp);
  DWV col[DW_MAXK][DW_MAXG][4];
  long ix0 = -(long) c->pad_l;
  for (int k = 0; k < KW; k++) DWV_FN(get_col)(c, ix0 + k, m, KH, G, col[k]);
  int8_t *out = c->out + cb;
  for (size_t ox = 0; ox < c->ow; ox++) {
    if (ox > 0) {
      ix0 = (long) (ox * c->sw) - (long) c->pad_l;
      if (S == 0 || S >= KW) {
        for (int k = 0; k < KW; k++) DWV_FN(get_col)(c, ix0 + k, m, KH, G, col[k]);
      } else {
        for (int k = 0; k < KW - S; k++)
          for (int g = 0; g < G; g++)
            for (int q = 0; q < 4; q++) col[k][g][q] = col[k + S][g][q];
        for (int k = KW - S; k < KW; k++) DWV_FN(get_col)(c, ix0 + k, m, KH, G, col[k]);
      }
    }
    DWV acc[4] = {b[0], b[1], b[2], b[3]};
    const int8_t *wp = wb;
    __asm__("" : "+r"(wp)); /* one base register for the taps' weights: GCC otherwise keeps one pointer per tap */
    for (int k = 0; k < KW; k++)
      for (int g = 0; g < G; g++)
        for (int q = 0; q < 4; q++)
          acc[q] = DWX(dpbusd_epi32)(acc[q], col[k][g][q],
                                     DWV_LOAD((const DWV *) (const void *) (wp + ((size_t) (k * G + g) * 4 + q) * DW_CB)));
    DWV o[4];
    for (int q = 0; q < 4; q++) {
      DWF f = DWX(mul_ps)(DWX(cvtepi32_ps)(acc[q]), s[q]);
      f = DWX(min_ps)(DWX(max_ps)(f, lo), hi);
      o[q] = DWX(cvtps_epi32)(f); /* MXCSR's round to nearest even, as nearbyintf */
    }
    DWV o01 = DWX(add_epi16)(DWX(packs_epi32)(o[0], o[1]), ozp16);
    DWV o23 = DWX(add_epi16)(DWX(packs_epi32)(o[2], o[3]), ozp16);
    DWX(mask_storeu_epi8)(out + ox * c->nc, m, DWX(packs_epi16)(o01, o23));
  }
}

#undef DWV
#undef DWF
#undef DWM
#undef DWX
#undef DWV_FN
#undef DWV_XOR
#undef DWV_ZERO
#undef DWV_LOADU
#undef DWV_LOAD
#undef DWV_BITS
