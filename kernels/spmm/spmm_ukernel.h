/* SPDX-License-Identifier: Apache-2.0 */
/* Sparse-weight micro-kernels: one call computes rows [m0, m1) x output channels [n0, n1) of C = clamp(A W^T + b)
 * from the plan's compressed rows of W. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hwtune/isa.h"

/* Rows of A are transposed into tiles of at most this many rows (the workspace holds K x HWT_SPMM_MR floats). */
#define HWT_SPMM_MR 32

/* Compressed sparse rows of W (one row per output channel): the nonzeros of channel n are
 * [row_start[n], row_start[n + 1]) in val, their input indices in idx16 (the kernels need K <= 65536). Each
 * channel's list is padded with zero values to a multiple of 4 entries (the index repeated: a valid input). */
typedef struct hwt_spmm_args {
  size_t n, k;
  const uint32_t *row_start;
  const uint16_t *idx16;
  bool block4;           /* format "block 4x1": row_start, idx16 and val per group of 4 channels (spmm_template.h) */
  const float *val;
  const float *bias;     /* n floats, never NULL */
  float min, max;
  const float *a;
  size_t a_stride;
  float *c;
  size_t c_stride;
} hwt_spmm_args;

/* ws: K * HWT_SPMM_MR floats, 64-byte aligned, owned by the caller for the call. */
typedef void (*hwt_spmm_rows_fn)(const hwt_spmm_args *p, size_t m0, size_t m1, size_t n0, size_t n1, float *ws);

/* Sliced format for one row of A (M = 1) on AVX-512 (spmm_ell_avx512f.c): output channels in groups of 16 (one
 * per lane), inputs in windows of 32. Steps of (group g, window j) are [step_start[g * windows + j],
 * step_start[g * windows + j + 1]); step s holds 16 values (val + 16 s, 64-byte aligned) and 16 offsets into the
 * window (idx + 16 s, 0..31). */
typedef struct hwt_spmm_ell {
  size_t groups, windows;
  const uint32_t *step_start; /* groups * windows + 1 */
  const uint8_t *idx;
  const float *val;
} hwt_spmm_ell;

/* Groups [g0, g1) of C's single row. */
void hwt_spmm_f32_ell__avx512f(const hwt_spmm_ell *e, const hwt_spmm_args *p, const float *a, float *c, size_t g0,
                               size_t g1);

#define HWT_SPMM_UKERNEL(isa_) \
  void hwt_spmm_f32_rows__##isa_(const hwt_spmm_args *p, size_t m0, size_t m1, size_t n0, size_t n1, float *ws);
#include "spmm/spmm.inc"
#undef HWT_SPMM_UKERNEL
