/* SPDX-License-Identifier: Apache-2.0 */
/* Internal contract between the qs8 GEMM driver (gemm_qs8.c) and its micro-kernels (kernels/gemm-qs8/, reference/).
 *
 * Packed operands (built by the driver, see hwt_gemm_qs8_pack_w):
 *   A: M rows of K' = round_up(K, KR) elements in the kernel's a_format: hwt_qs8_a_u8 stores a[m][k] ^ 0x80
 *      (= a + 128, unsigned 0..255: VNNI-style u8 x s8 kernels), hwt_qs8_a_u16 the same value as uint16 (kernels
 *      that widen to 16 bits), hwt_qs8_a_s8 a unchanged (s8 x s8 dot products), hwt_qs8_a_s8x a unchanged too,
 *      for u8 x s8 kernels that add 128 themselves (sign-bit flip): when K is a multiple of KR the driver passes
 *      the caller's rows in place, without packing. Padding elements are 0. Rows are a_stride bytes apart.
 *   W: per K block of KC' elements, per panel of NR output channels: KC'/KR groups of [NR][KR] int8 values
 *      (channel-major inside a group), zero for padding channels and padding k.
 *   bias: per channel, bias[n] - (offset + input_zero_point) * sum_k w[n][k] (mod 2^32), offset 128 for u8/u16/s8x
 *      formats (undoes the +128 in A) and 0 for s8, so the input zero point costs nothing at run time; zero for
 *      padding channels. Padded to a multiple of NR.
 *   scale: per channel float input_scale * kernel_scale[n] / output_scale; padded with 1.0f.
 *
 * A micro-kernel computes one MR x NR tile over kc elements of K (kc a positive multiple of KR):
 *   acc[r][j] = acc_in[r * acc_in_stride + j] + sum_k A[r][k] * W[k][j]        (int32, wrapping)
 * then, when acc_out != NULL, stores acc to acc_out[r * NR + j] for all NR columns (the driver keeps the tile
 * between K blocks); otherwise requantizes exactly like XNNPACK's fp32 path
 *   c[r][j] = (int8) (lrintf(clamp((float) acc * scale[j], min_less_zp, max_less_zp)) + zp)
 * and stores the first nc columns. acc_in_stride 0 broadcasts one row (the packed bias) to all rows.
 * It handles any 1 <= mr <= MR and 1 <= nc <= NR; rows mr.. alias row mr-1 (computed, written identically).
 * Kernels never allocate and never fail. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hwtune/isa.h"

/* Packed A formats (the a_format column of the family list). */
typedef enum hwt_qs8_a_format {
  hwt_qs8_a_u8 = 1,
  hwt_qs8_a_u16 = 2,
  hwt_qs8_a_s8 = 3,
  hwt_qs8_a_s8x = 4,
} hwt_qs8_a_format;

typedef struct hwt_qs8_requant {
  float min_less_zp;  /* output_min - output_zero_point */
  float max_less_zp;  /* output_max - output_zero_point */
  int32_t zp;         /* output_zero_point */
} hwt_qs8_requant;

typedef void hwt_gemm_qs8_ukernel_t(size_t mr, size_t nc, size_t kc, const void *a, size_t a_stride,
                                    const int8_t *w, const int32_t *acc_in, size_t acc_in_stride, int32_t *acc_out,
                                    int8_t *c, size_t c_stride, const float *scale, const hwt_qs8_requant *rq);
typedef hwt_gemm_qs8_ukernel_t *hwt_gemm_qs8_ukernel_fn;

/* Prototypes of every registered kernel, from the family list. */
#define HWT_QS8_UKERNEL(isa, mr, nr, kr, a_format, fn) hwt_gemm_qs8_ukernel_t fn;
#include "gemm-qs8/gemm_qs8.inc"
#undef HWT_QS8_UKERNEL

/* One row of the family list. */
typedef struct hwt_gemm_qs8_kernel_info {
  hwt_isa isa;
  size_t mr, nr, kr;
  hwt_qs8_a_format a_format;
  hwt_gemm_qs8_ukernel_fn fn;
  const char *name;
} hwt_gemm_qs8_kernel_info;

/* The family list as an array (for testers and benches); *count receives its length. */
const hwt_gemm_qs8_kernel_info *hwt_gemm_qs8_kernels(size_t *count);

/* The tile a plan runs (its tile group's main MR and NR; narrower than hwt_gemm_tile's for small N), and whether
 * it reads A in place. For testers. */
struct hwt_gemm_qs8_plan;
void hwt_gemm_qs8_plan_tile(const struct hwt_gemm_qs8_plan *plan, size_t *mr, size_t *nr, bool *a_in_place);

/* Packed sizes for a packing geometry: weights bytes and the number of padded channels. */
size_t hwt_gemm_qs8_packed_w_bytes(size_t n, size_t k, size_t nr, size_t kr);
/* Packs W (N x K) in K blocks of kc (a multiple of kr) and the folded bias (bias may be NULL) and scales
 * (kernel_scales may be NULL: kernel_scale for all). w_out: hwt_gemm_qs8_packed_w_bytes() bytes; bias_out and
 * scale_out: round_up(n, nr) entries. */
void hwt_gemm_qs8_pack_w(size_t n, size_t k, size_t nr, size_t kr, size_t kc, hwt_qs8_a_format a_format,
                         const int8_t *w, const int32_t *bias, int8_t input_zero_point, float input_scale, float kernel_scale, const float *kernel_scales,
                         float output_scale, int8_t *w_out, int32_t *bias_out, float *scale_out);
/* Bytes of one packed A element. */
static inline size_t hwt_qs8_a_bytes(hwt_qs8_a_format f) { return f == hwt_qs8_a_u16 ? 2 : 1; }
/* Packs m rows of A (a_stride bytes apart) as described above: dst rows are kpad elements, contiguous. */
void hwt_gemm_qs8_pack_a(size_t m, size_t k, size_t kpad, hwt_qs8_a_format a_format, const int8_t *a,
                         size_t a_stride, void *dst);
