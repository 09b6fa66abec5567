/* SPDX-License-Identifier: Apache-2.0 */
/* Sparse-weight products for pruned fully-connected and 1x1 convolution layers (NHWC), fp32.
 *
 *   C[M x N] = clamp(A[M x K] * W^T + bias)       W given dense as N rows of K, zeros where pruned
 *
 * Same semantics and layouts as hwt_gemm_f32 (hwtune/kernels.h): a layer can switch between the dense and the
 * sparse plan without touching its inputs or outputs. create() compresses the nonzeros of W once (the format
 * is the plan's: see hwt_spmm_f32_plan_format) for one ISA level; run() never allocates and may be called any
 * number of times, from one thread at a time per plan, with any M. Exact zeros are skipped; NaN and Inf
 * weights are kept (they are nonzero), so results match the dense product up to float summation order.
 *
 * A pruned layer is worth running sparse only past a break-even sparsity that depends on the CPU and the shape:
 * the tuner measures it (hwtune tune), the engine reads it from the profile. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthreadpool.h>

#include "hwtune/isa.h"
#include "hwtune/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fraction of exact zeros (+0.0 and -0.0) among count floats; 0 for count 0. */
double hwt_sparsity_f32(const float *w, size_t count);

/* The block pattern the kernels at `isa` exploit best: pruning in blocks of bn consecutive output channels
 * (rows of W) by bk consecutive inputs (columns) leaves whole blocks zero. (1, 1) = unstructured. */
void hwt_spmm_block_shape(hwt_isa isa, uint32_t *bn, uint32_t *bk);

/* Best ISA this process can run sparse kernels at (after the HWTUNE_ISA cap). */
hwt_isa hwt_spmm_best_isa(void);

typedef struct hwt_spmm_f32_plan hwt_spmm_f32_plan;

/* w: N x K row-major; bias: N floats or NULL; output clamped to [min, max] (-INFINITY, INFINITY for none).
 * isa: a level available in this process; the plan runs the best sparse kernel that level allows. */
hwt_status hwt_spmm_f32_create(size_t n, size_t k, const float *w, const float *bias, float min, float max,
                               hwt_isa isa, hwt_spmm_f32_plan **out);
/* a: M rows, a_stride floats apart (>= K); c: M rows, c_stride apart (>= N). pool NULL = calling thread. */
void hwt_spmm_f32_run(const hwt_spmm_f32_plan *plan, size_t m, const float *a, size_t a_stride, float *c,
                      size_t c_stride, pthreadpool_t pool);
void hwt_spmm_f32_destroy(hwt_spmm_f32_plan *plan);

size_t hwt_spmm_f32_plan_bytes(const hwt_spmm_f32_plan *plan);   /* compressed weights + bias + workspace */
size_t hwt_spmm_f32_plan_nnz(const hwt_spmm_f32_plan *plan);     /* nonzero weights stored */
hwt_isa hwt_spmm_f32_plan_isa(const hwt_spmm_f32_plan *plan);    /* the ISA of the kernel the plan runs */
/* "csr": rows of nonzeros per output channel, uint16 input indices, padded to multiples of 4 entries;
 * "block 4x1": blocks of 4 output channels x 1 input, chosen at create when W was pruned in such blocks (the
 * block values, zeros included, at most 1.1x the CSR entries); "csr32": K > 65536, a portable loop.
 * docs/kernels-sparse.md measures them. */
const char *hwt_spmm_f32_plan_format(const hwt_spmm_f32_plan *plan);

#ifdef __cplusplus
}
#endif
