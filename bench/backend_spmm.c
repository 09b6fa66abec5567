/* SPDX-License-Identifier: Apache-2.0 */
/* Backend: spmm_f32's `own`, our sparse-weight plans (hwtune/spmm.h) over batch*H*W rows, NHWC as the dense ones. */
#include <math.h>
#include <stdlib.h>

#include "backend.h"
#include "hwt_common.h"
#include "hwtune/spmm.h"

typedef struct spmm_inst {
  hwt_bench_problem p;
  hwt_spmm_f32_plan *plan;
  const float *in;
  float *out;
  size_t rows;
} spmm_inst;

static hwt_isa spmm_isa(bool isa_auto, hwt_isa isa) { return isa_auto ? hwt_spmm_best_isa() : isa; }

static bool spmm_supports(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, char *why, size_t whylen) {
  if (p->op != hwt_bench_spmm_f32) {
    hwt_errf(why, whylen, "own sparse plans run spmm_f32 only");
    return false;
  }
  hwt_isa use = spmm_isa(isa_auto, isa);
  if (use >= hwt_isa_count || !hwt_isa_available(use)) {
    hwt_errf(why, whylen, "own spmm: %s is not runnable here", hwt_isa_name(use) ? hwt_isa_name(use) : "?");
    return false;
  }
  return true;
}

static const char *spmm_isa_name(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa) {
  (void)p;
  const char *name = hwt_isa_name(spmm_isa(isa_auto, isa));
  return name ? name : "unknown";
}

static hwt_status spmm_create(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, const hwt_gemm_blocking *blk,
                              const void *weights, const void *bias, void **inst, char *err, size_t errlen) {
  (void)blk;
  spmm_inst *s = calloc(1, sizeof(*s));
  if (s == NULL) return hwt_status_out_of_memory;
  s->p = *p;
  s->rows = hwt_bench_problem_rows(p);
  hwt_isa use = spmm_isa(isa_auto, isa);
  hwt_status st = hwt_spmm_f32_create(p->n, p->k, weights, bias, -INFINITY, INFINITY, use, &s->plan);
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "own spmm_f32 plan (N=%zu, K=%zu, isa %s): %s", p->n, p->k, hwt_isa_name(use),
             hwt_status_string(st));
    free(s);
    return st;
  }
  *inst = s;
  return hwt_status_ok;
}

static hwt_status spmm_bind(void *inst, const void *input, void *output, pthreadpool_t pool, char *err,
                            size_t errlen) {
  (void)pool, (void)err, (void)errlen;
  spmm_inst *s = inst;
  s->in = input;
  s->out = output;
  return hwt_status_ok;
}

static void spmm_run(void *inst, pthreadpool_t pool) {
  spmm_inst *s = inst;
  hwt_spmm_f32_run(s->plan, s->rows, s->in, s->p.k, s->out, s->p.n, pool);
}

static size_t spmm_op_bytes(const void *inst) { return hwt_spmm_f32_plan_bytes(((const spmm_inst *)inst)->plan); }

static bool spmm_blocking(const void *inst, hwt_gemm_blocking *out) {
  (void)inst, (void)out;
  return false;
}

static const char *spmm_format(const void *inst) {
  return hwt_spmm_f32_plan_format(((const spmm_inst *)inst)->plan);
}

static void spmm_destroy(void *inst) {
  spmm_inst *s = inst;
  if (s == NULL) return;
  hwt_spmm_f32_destroy(s->plan);
  free(s);
}

const hwt_bench_backend hwt_bench_backend_spmm = {
    hwt_bench_own, spmm_supports, spmm_isa_name, spmm_create, spmm_bind, spmm_run, spmm_op_bytes, spmm_blocking,
    spmm_destroy, NULL, spmm_format};
