/* SPDX-License-Identifier: Apache-2.0 */
/* Backend: XNNPACK convolution NHWC f32 / qc8 (int8 with per-channel kernel scales, the operator the engine runs
 * for its int8 layers); depthwise is groups = channels with one channel per group. */
#include <math.h>
#include <stdlib.h>

#include <xnnpack.h>

#include "backend.h"
#include "hwt_common.h"

typedef struct conv_inst {
  xnn_operator_t op;
  hwt_bench_problem p;
  size_t bytes;         /* XNNPACK's allocations during create and setup (indirection buffer) */
  float *scales;        /* qc8: per-channel kernel scales */
} conv_inst;

static bool conv_supports(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, char *why, size_t whylen) {
  (void)isa;
  if (!p->conv) {
    hwt_errf(why, whylen, "xnnpack convolution: not a conv op");
    return false;
  }
  if (!isa_auto) {
    hwt_errf(why, whylen, "xnnpack picks its own kernels: isa must be auto");
    return false;
  }
  return hwt_bench_xnnpack_init(why, whylen) == hwt_status_ok;
}

static const char *conv_isa_name(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa) {
  (void)p, (void)isa_auto, (void)isa;
  return "auto";
}

static hwt_status conv_create(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, const hwt_gemm_blocking *blk,
                              const void *weights, const void *bias, void **inst, char *err, size_t errlen) {
  (void)isa_auto, (void)isa, (void)blk;
  hwt_status st = hwt_bench_xnnpack_init(err, errlen);
  if (st != hwt_status_ok) return st;
  conv_inst *c = calloc(1, sizeof(*c));
  if (c == NULL) return hwt_status_out_of_memory;
  c->p = *p;
  const size_t before = hwt_bench_xnnpack_bytes_in_use();
  const uint32_t pad = (uint32_t)p->pad, g = (uint32_t)p->groups;
  const size_t gic = p->c / p->groups, goc = p->out_c / p->groups;
  /* Weights in the default layout [groups][goc][kh][kw][gic]; for groups = C, gic = goc = 1 this is also the
   * depthwise case, which XNNPACK detects and runs with its dwconv kernels. */
  enum xnn_status xs;
  if (!p->qs8)
    xs = xnn_create_convolution2d_nhwc_f32(pad, pad, pad, pad, (uint32_t)p->kh, (uint32_t)p->kw,
                                           (uint32_t)p->stride, (uint32_t)p->stride, 1, 1, g, gic, goc, p->c,
                                           p->out_c, weights, bias, -INFINITY, INFINITY, 0, &c->op);
  else {
    bool oom;
    c->scales = hwt_bench_channel_scales_new(p, &oom);
    if (c->scales == NULL) {
      free(c);
      return hwt_status_out_of_memory;
    }
    xs = xnn_create_convolution2d_nhwc_qc8(pad, pad, pad, pad, (uint32_t)p->kh, (uint32_t)p->kw,
                                           (uint32_t)p->stride, (uint32_t)p->stride, 1, 1, g, gic, goc, p->c,
                                           p->out_c, p->q.input_zero_point, p->q.input_scale, c->scales,
                                           weights, bias, p->q.output_zero_point, p->q.output_scale,
                                           p->q.output_min, p->q.output_max, 0, &c->op);
  }
  if (xs != xnn_status_success) {
    hwt_errf(err, errlen, "xnn_create_convolution2d_nhwc_%s failed: status %d", p->qs8 ? "qc8" : "f32", (int)xs);
    free(c->scales);
    free(c);
    return xs == xnn_status_unsupported_hardware ? hwt_status_unsupported : hwt_status_internal;
  }
  c->bytes = hwt_bench_xnnpack_bytes_in_use() - before;
  *inst = c;
  return hwt_status_ok;
}

static hwt_status conv_bind(void *inst, const void *input, void *output, pthreadpool_t pool, char *err,
                            size_t errlen) {
  conv_inst *c = inst;
  const size_t before = hwt_bench_xnnpack_bytes_in_use();
  enum xnn_status xs =
      c->p.qs8 ? xnn_setup_convolution2d_nhwc_qc8(c->op, c->p.batch, c->p.h, c->p.w, input, output, pool)
               : xnn_setup_convolution2d_nhwc_f32(c->op, c->p.batch, c->p.h, c->p.w, input, output, pool);
  if (xs != xnn_status_success) {
    hwt_errf(err, errlen, "xnn_setup_convolution2d_nhwc failed: status %d", (int)xs);
    return hwt_status_internal;
  }
  c->bytes += hwt_bench_xnnpack_bytes_in_use() - before;
  return hwt_status_ok;
}

static void conv_run(void *inst, pthreadpool_t pool) {
  conv_inst *c = inst;
  xnn_run_operator(c->op, pool);
}

static size_t conv_op_bytes(const void *inst) { return ((const conv_inst *)inst)->bytes; }

static bool conv_blocking(const void *inst, hwt_gemm_blocking *out) {
  (void)inst, (void)out;
  return false;
}

static void conv_destroy(void *inst) {
  conv_inst *c = inst;
  if (c == NULL) return;
  if (c->op) xnn_delete_operator(c->op);
  free(c->scales);
  free(c);
}

const hwt_bench_backend hwt_bench_backend_xnnpack_conv = {
    hwt_bench_xnnpack, conv_supports, conv_isa_name, conv_create, conv_bind, conv_run, conv_op_bytes,
    conv_blocking, conv_destroy, NULL, NULL};
