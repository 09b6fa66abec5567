/* SPDX-License-Identifier: Apache-2.0 */
/* Backend: spmm_f32's `xnnpack`, XNNPACK's sparse inference path: its NCHW 1x1 convolution operator, which packs
 * the nonzero weights once and runs a sparse-matrix micro-kernel (xnn_ukernel_type_spmm) over the pixels.
 *
 * Why the operator and not the subgraph: XNNPACK reaches sparse kernels only through NCHW operators. Its subgraph
 * runtime with XNN_FLAG_HINT_SPARSE_INFERENCE rewrites eligible 1x1 convolutions to exactly this operator
 * (xnn_subgraph_rewrite_for_nchw), but Debian's snapshot (libxnnpack-dev 0.0~git20220216, upstream ae108ef) does
 * the rewrite only when xnn_initialize set XNN_INIT_FLAG_CHW_OPT (src/subgraph.c: xnn_subgraph_optimize), and on
 * x86 it sets that flag only on CPUs WITHOUT AVX (src/init.c: "Sparse microkernels on x86 currently target only
 * SSE, and on processors with AVX ISA dense inference is expected to be faster than sparse"). On any AVX machine
 * the hinted runtime stays dense; creating the operator directly times the same sparse kernel (x86: the SSE
 * 32x1 one; arm64: NEON 32x1/32x2/32x4 by the weights' block structure) on the layer alone, with no subtraction.
 *
 * Layout: NCHW, the layout XNNPACK's sparse inference runs whole networks in (no transposes between layers). A
 * gemm shape NxK at batch M is one image of 1 x M pixels and K channels. bind() transposes the harness's NHWC input
 * into the operator's own NCHW buffer once (untimed); collect() transposes the output back for --verify. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <xnnpack.h>

#include "backend.h"
#include "hwt_common.h"

#define PAD_BYTES 64 /* XNNPACK may read XNN_EXTRA_BYTES (16) past an input */

typedef struct xs_inst {
  xnn_operator_t op;
  hwt_bench_problem p;
  size_t images, pixels, h, w;  /* NCHW view */
  float *in, *out;              /* NCHW buffers */
  float *nhwc_out;              /* the bound output, for collect() */
  size_t bytes;
} xs_inst;

static bool xs_supports(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, char *why, size_t whylen) {
  (void)isa;
  if (p->op != hwt_bench_spmm_f32) {
    hwt_errf(why, whylen, "xnnpack sparse: spmm_f32 only");
    return false;
  }
  if (!isa_auto) {
    hwt_errf(why, whylen, "xnnpack picks its own kernels: isa must be auto");
    return false;
  }
  return hwt_bench_xnnpack_init(why, whylen) == hwt_status_ok;
}

static const char *xs_isa_name(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa) {
  (void)p, (void)isa_auto, (void)isa;
  return "auto";
}

static hwt_status xs_create(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, const hwt_gemm_blocking *blk,
                            const void *weights, const void *bias, void **inst, char *err, size_t errlen) {
  (void)isa_auto, (void)isa, (void)blk;
  hwt_status st = hwt_bench_xnnpack_init(err, errlen);
  if (st != hwt_status_ok) return st;
  xs_inst *x = calloc(1, sizeof(*x));
  if (x == NULL) return hwt_status_out_of_memory;
  x->p = *p;
  if (p->conv) {
    x->images = p->batch, x->h = p->h, x->w = p->w;
  } else {
    x->images = 1, x->h = 1, x->w = p->batch;
  }
  x->pixels = x->h * x->w;
  x->in = hwt_alloc_big(x->images * x->pixels * p->k * sizeof(float) + PAD_BYTES);
  x->out = hwt_alloc_big(x->images * x->pixels * p->n * sizeof(float) + PAD_BYTES);
  if (x->in == NULL || x->out == NULL) {
    free(x->in);
    free(x->out);
    free(x);
    return hwt_status_out_of_memory;
  }
  memset(x->in, 0, x->images * x->pixels * p->k * sizeof(float) + PAD_BYTES);
  const size_t before = hwt_bench_xnnpack_bytes_in_use();
  /* Weights [OC][1][1][C] as the NHWC operator's; 1x1, stride 1, no padding, groups 1: the spmm kernel type. */
  enum xnn_status xs = xnn_create_convolution2d_nchw_f32(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, p->k, p->n, p->k, p->n,
                                                         weights, bias, -INFINITY, INFINITY, 0, &x->op);
  if (xs != xnn_status_success) {
    hwt_errf(err, errlen,
             "xnnpack-sparse: not available in this build: xnn_create_convolution2d_nchw_f32 (1x1, %zu -> %zu "
             "channels) returned status %d",
             p->k, p->n, (int)xs);
    free(x->in);
    free(x->out);
    free(x);
    return xs == xnn_status_unsupported_hardware || xs == xnn_status_unsupported_parameter ? hwt_status_unsupported
                                                                                             : hwt_status_internal;
  }
  x->bytes = hwt_bench_xnnpack_bytes_in_use() - before;
  *inst = x;
  return hwt_status_ok;
}

static hwt_status xs_bind(void *inst, const void *input, void *output, pthreadpool_t pool, char *err,
                          size_t errlen) {
  xs_inst *x = inst;
  const float *a = input;
  const size_t k = x->p.k;
  for (size_t b = 0; b < x->images; b++)
    for (size_t px = 0; px < x->pixels; px++)
      for (size_t c = 0; c < k; c++) x->in[(b * k + c) * x->pixels + px] = a[(b * x->pixels + px) * k + c];
  x->nhwc_out = output;
  const size_t before = hwt_bench_xnnpack_bytes_in_use();
  enum xnn_status xs = xnn_setup_convolution2d_nchw_f32(x->op, x->images, x->h, x->w, x->in, x->out, pool);
  if (xs != xnn_status_success) {
    hwt_errf(err, errlen, "xnnpack-sparse: xnn_setup_convolution2d_nchw_f32 failed: status %d", (int)xs);
    return xs == xnn_status_unsupported_parameter ? hwt_status_unsupported : hwt_status_internal;
  }
  x->bytes += hwt_bench_xnnpack_bytes_in_use() - before;
  return hwt_status_ok;
}

static void xs_run(void *inst, pthreadpool_t pool) {
  xs_inst *x = inst;
  xnn_run_operator(x->op, pool);
}

static void xs_collect(void *inst) {
  xs_inst *x = inst;
  const size_t n = x->p.n;
  for (size_t b = 0; b < x->images; b++)
    for (size_t px = 0; px < x->pixels; px++)
      for (size_t o = 0; o < n; o++) x->nhwc_out[(b * x->pixels + px) * n + o] = x->out[(b * n + o) * x->pixels + px];
}

static size_t xs_op_bytes(const void *inst) { return ((const xs_inst *)inst)->bytes; }

static bool xs_blocking(const void *inst, hwt_gemm_blocking *out) {
  (void)inst, (void)out;
  return false;
}

static void xs_destroy(void *inst) {
  xs_inst *x = inst;
  if (x == NULL) return;
  if (x->op) xnn_delete_operator(x->op);
  free(x->in);
  free(x->out);
  free(x);
}

const hwt_bench_backend hwt_bench_backend_xnnpack_sparse = {
    hwt_bench_xnnpack, xs_supports, xs_isa_name, xs_create, xs_bind, xs_run, xs_op_bytes, xs_blocking, xs_destroy,
    xs_collect, NULL};

/* ---- spmm_f32's `xnnpack-dense`: the same layer on XNNPACK's dense operators (fully-connected for NxK shapes,
 * NHWC convolution for 1x1 conv shapes), the baseline its sparse path has to beat. */
typedef struct xd_inst {
  const hwt_bench_backend *be;
  void *inst;
} xd_inst;

static const hwt_bench_backend *xd_target(const hwt_bench_problem *p) {
  return p->conv ? &hwt_bench_backend_xnnpack_conv : &hwt_bench_backend_xnnpack_fc;
}

static bool xd_supports(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, char *why, size_t whylen) {
  if (p->op != hwt_bench_spmm_f32) {
    hwt_errf(why, whylen, "xnnpack-dense: spmm_f32's dense baseline only");
    return false;
  }
  return xd_target(p)->supports(p, isa_auto, isa, why, whylen);
}

static hwt_status xd_create(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, const hwt_gemm_blocking *blk,
                            const void *weights, const void *bias, void **inst, char *err, size_t errlen) {
  xd_inst *d = calloc(1, sizeof(*d));
  if (d == NULL) return hwt_status_out_of_memory;
  d->be = xd_target(p);
  hwt_status st = d->be->create(p, isa_auto, isa, blk, weights, bias, &d->inst, err, errlen);
  if (st != hwt_status_ok) {
    free(d);
    return st;
  }
  *inst = d;
  return hwt_status_ok;
}

static hwt_status xd_bind(void *inst, const void *input, void *output, pthreadpool_t pool, char *err,
                          size_t errlen) {
  xd_inst *d = inst;
  return d->be->bind(d->inst, input, output, pool, err, errlen);
}

static void xd_run(void *inst, pthreadpool_t pool) {
  xd_inst *d = inst;
  d->be->run(d->inst, pool);
}

static size_t xd_op_bytes(const void *inst) {
  const xd_inst *d = inst;
  return d->be->op_bytes(d->inst);
}

static void xd_destroy(void *inst) {
  xd_inst *d = inst;
  if (d == NULL) return;
  d->be->destroy(d->inst);
  free(d);
}

const hwt_bench_backend hwt_bench_backend_xnnpack_dense = {
    hwt_bench_xnnpack_dense, xd_supports, xs_isa_name, xd_create, xd_bind, xd_run, xd_op_bytes, xs_blocking,
    xd_destroy, NULL, NULL};
