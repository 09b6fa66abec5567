/* SPDX-License-Identifier: Apache-2.0 */
/* The one interface every backend (XNNPACK FC, XNNPACK conv, our kernels, the reference, the test-only wrong
 * one) implements, and the problem description the harness hands them. Internal to bench/. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthreadpool.h>

#include "bench.h"
#include "hwtune/kernels.h"

/* One operator instance's problem. Layouts (NHWC, XNNPACK's):
 *   gemm:  input [batch][k], weights [n][k], bias [n], output [batch][n]
 *   conv:  input [batch][h][w][c], weights [groups][out_c/groups][kh][kw][c/groups], bias [out_c],
 *          output [batch][out_h][out_w][out_c]
 * f32 bias is float, qs8 bias is int32; qs8 uses `q`: gemm ops one kernel scale (q.kernel_scale), conv ops one
 * per output channel (hwt_bench_channel_scale), as the runtime's int8 convolutions are quantized. */
typedef struct hwt_bench_problem {
  hwt_bench_op op;
  bool qs8, conv;
  size_t batch;
  size_t n, k;                      /* gemm: n, k; conv: out_c, kh*kw*c/groups */
  size_t h, w, c, out_c, kh, kw, stride, pad, groups, out_h, out_w;
  size_t in_elems, out_elems, w_elems, bias_elems;
  hwt_qs8_params q;
} hwt_bench_problem;

/* Fills the problem for a configuration's op, shape and batch. */
void hwt_bench_problem_init(hwt_bench_problem *p, hwt_bench_op op, const hwt_bench_shape *s, size_t batch);
/* Whether the problem's int8 weights have one scale per output channel (qs8 conv and dwconv ops). */
bool hwt_bench_per_channel(const hwt_bench_problem *p);
/* The kernel scale of output channel o: q.kernel_scale times 0.8..1.2 by channel when per-channel, else
 * q.kernel_scale. Every backend and the reference build from it. */
float hwt_bench_channel_scale(const hwt_bench_problem *p, size_t o);
/* The n per-channel scales, malloc'ed (free()); NULL when the problem is per-tensor or on out of memory
 * (*oom tells them apart). */
float *hwt_bench_channel_scales_new(const hwt_bench_problem *p, bool *oom);
/* Elements per call of the gemm view: rows of A (batch for gemm, batch*out_h*out_w for conv). */
size_t hwt_bench_problem_rows(const hwt_bench_problem *p);

typedef struct hwt_bench_backend {
  hwt_bench_impl impl;
  /* False with a reason when this backend cannot run the problem at this ISA here. */
  bool (*supports)(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, char *why, size_t whylen);
  /* The ISA token the backend will report ("auto" for xnnpack). */
  const char *(*isa_name)(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa);
  hwt_status (*create)(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, const hwt_gemm_blocking *blocking,
                       const void *weights, const void *bias, void **inst, char *err, size_t errlen);
  /* Binds input and output buffers (XNNPACK's setup). Called once per instance, before run. */
  hwt_status (*bind)(void *inst, const void *input, void *output, pthreadpool_t pool, char *err, size_t errlen);
  void (*run)(void *inst, pthreadpool_t pool);
  /* Bytes the instance allocated (packed weights, workspace); 0 = unknown (the harness measures malloc). */
  size_t (*op_bytes)(const void *inst);
  /* The blocking actually used; false when the backend has none to report. */
  bool (*blocking)(const void *inst, hwt_gemm_blocking *out);
  void (*destroy)(void *inst);
  /* Optional (NULL: the output is already there): after run, puts the result into the bound output buffer in the
   * layout above. For a backend that runs in its own layout (XNNPACK's NCHW sparse convolution); --verify calls
   * it, timing does not. */
  void (*collect)(void *inst);
  /* Optional: the weight format the instance runs ("csr", "block 4x1", ...: hwt_spmm_f32_plan_format), NULL when
   * the backend has none to report. */
  const char *(*format)(const void *inst);
} hwt_bench_backend;

extern const hwt_bench_backend hwt_bench_backend_xnnpack_fc;
extern const hwt_bench_backend hwt_bench_backend_xnnpack_conv;
extern const hwt_bench_backend hwt_bench_backend_own;
extern const hwt_bench_backend hwt_bench_backend_reference;
extern const hwt_bench_backend hwt_bench_backend_wrong;
extern const hwt_bench_backend hwt_bench_backend_spmm;            /* spmm_f32 own: hwtune/spmm.h plans */
extern const hwt_bench_backend hwt_bench_backend_xnnpack_sparse;  /* spmm_f32 xnnpack: NCHW sparse 1x1 conv */
extern const hwt_bench_backend hwt_bench_backend_xnnpack_dense;   /* spmm_f32 xnnpack-dense: FC or NHWC conv */

/* The backend for (impl, op). */
const hwt_bench_backend *hwt_bench_backend_for(hwt_bench_impl impl, hwt_bench_op op);

/* The reference computation (also the verify oracle): f32 accumulates in double; qs8 accumulates exactly in
 * int64 and requantizes as XNNPACK does (float scale = input_scale * kernel_scale / output_scale, then
 * lrintf((float) acc * scale) + output zero point, clamped). */
void hwt_bench_reference_compute(const hwt_bench_problem *p, const void *weights, const void *bias,
                                 const void *input, void *output);
int8_t hwt_bench_requantize(int64_t acc, float scale, int8_t zero_point, int8_t qmin, int8_t qmax);

/* xnn_initialize once per process; hwt_status_unsupported with a reason when XNNPACK cannot run here. */
hwt_status hwt_bench_xnnpack_init(char *err, size_t errlen);

/* Bytes XNNPACK currently holds (it allocates through our counting allocator). */
size_t hwt_bench_xnnpack_bytes_in_use(void);

/* "xnnpack" version string of the XNNPACK this binary links. */
const char *hwt_bench_xnnpack_version(void);
