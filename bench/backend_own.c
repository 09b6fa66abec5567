/* SPDX-License-Identifier: Apache-2.0 */
/* Backend: our GEMM kernels through the plan API of kernels.h; a 1x1/stride-1/no-padding conv runs as a GEMM
 * over batch*H*W rows, as the engine runs it, any other dense conv on hwtune/conv.h's im2col plans (int8: with
 * per-channel kernel scales, as the engine's int8 layers).
 *
 * The tuner's hook (hwt_bench_own_caps, bench.h) answers from own_supports: what this backend runs is what the
 * tuner offers. A further own kernel (depthwise) plugs in by answering here (supports, caps: gemm = false when it
 * takes no GEMM blocking) and creating its plan in own_create; the tuner then races it with no change of its own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "hwt_common.h"
#include "hwtune/conv.h"
#include "hwtune/dwconv.h"

typedef struct own_inst {
  hwt_bench_problem p;
  hwt_gemm_f32_plan *f32;
  hwt_gemm_qs8_plan *qs8;
  hwt_conv_f32_plan *kf; /* KxK conv (own_kxk_*) */
  hwt_conv_qs8_plan *kq;
  hwt_dwconv_f32_plan *df; /* depthwise conv (own_dw_*) */
  hwt_dwconv_qs8_plan *dq;
  float *scales;        /* per-channel kernel scales (conv_qs8), kept for the plan's life */
  const void *in;
  void *out;
  size_t rows;
} own_inst;

/* ---- dense KxK convolutions (groups 1) on hwtune/conv.h's im2col plans ---- */
static bool own_kxk(const hwt_bench_problem *p) {
  return p->conv && p->groups == 1 && !(p->kh == 1 && p->kw == 1 && p->stride == 1 && p->pad == 0);
}

static hwt_status own_kxk_create(own_inst *o, hwt_isa isa, const hwt_gemm_blocking *blk, const void *weights,
                                 const void *bias, char *err, size_t errlen) {
  const hwt_bench_problem *p = &o->p;
  uint32_t pad = (uint32_t)p->pad, st = (uint32_t)p->stride;
  hwt_conv_shape s = {(uint32_t)p->kh, (uint32_t)p->kw, st, st, pad, pad, pad, pad, p->c, p->out_c};
  long cpus = sysconf(_SC_NPROCESSORS_ONLN); /* workspace slices: the pool's threads are not known yet */
  size_t slices = cpus > 0 ? (size_t)cpus : 1;
  hwt_status r = !p->qs8 ? hwt_conv_f32_create(&s, weights, bias, -INFINITY, INFINITY, isa, blk, slices, &o->kf)
                         : hwt_conv_qs8_create(&s, weights, bias, &p->q, isa, blk, slices, &o->kq);
  if (r != hwt_status_ok)
    hwt_errf(err, errlen, "own %s plan (%zux%zu stride %zu pad %zu, isa %s): %s", p->qs8 ? "conv_qs8" : "conv_f32",
             p->kh, p->kw, p->stride, p->pad, hwt_isa_name(isa), hwt_status_string(r));
  return r;
}

static void own_kxk_run(own_inst *o, pthreadpool_t pool) {
  if (o->kf) hwt_conv_f32_run(o->kf, o->p.batch, o->p.h, o->p.w, o->in, o->out, pool);
  if (o->kq) hwt_conv_qs8_run(o->kq, o->p.batch, o->p.h, o->p.w, o->in, o->out, pool);
}

/* ---- depthwise convolutions (groups = channels, multiplier 1) on hwtune/dwconv.h's plans ---- */
static bool own_dw(const hwt_bench_problem *p) {
  return p->conv && p->groups > 1 && p->groups == p->c && p->out_c == p->c;
}

static hwt_isa own_dw_isa(bool isa_auto, hwt_isa isa) { return isa_auto ? hwt_cpu_isa_get()->level : isa; }

static bool own_dw_supports(bool isa_auto, hwt_isa isa, char *why, size_t whylen) {
  hwt_isa use = own_dw_isa(isa_auto, isa);
  if (use >= hwt_isa_count || !hwt_isa_available(use)) {
    hwt_errf(why, whylen, "own dwconv: %s is not runnable here", hwt_isa_name(use) ? hwt_isa_name(use) : "?");
    return false;
  }
  return true;
}

/* bench's depthwise weights are [c][kh][kw]; the plan takes the runtime's [kh][kw][c]. */
static hwt_status own_dw_create(own_inst *o, hwt_isa isa, const void *weights, const void *bias, char *err,
                                size_t errlen) {
  const hwt_bench_problem *p = &o->p;
  uint32_t pad = (uint32_t)p->pad, st = (uint32_t)p->stride;
  hwt_dwconv_shape s = {(uint32_t)p->kh, (uint32_t)p->kw, st, st, pad, pad, pad, pad, p->c};
  size_t taps = p->kh * p->kw, es = p->qs8 ? 1 : sizeof(float);
  char *w = malloc(taps * p->c * es);
  if (w == NULL) return hwt_status_out_of_memory;
  for (size_t c = 0; c < p->c; c++)
    for (size_t t = 0; t < taps; t++) memcpy(w + (t * p->c + c) * es, (const char *)weights + (c * taps + t) * es, es);
  hwt_status r = !p->qs8 ? hwt_dwconv_f32_create(&s, (const float *)(void *)w, bias, -INFINITY, INFINITY, isa, &o->df)
                         : hwt_dwconv_qs8_create(&s, (const int8_t *)w, bias, &o->p.q, isa, &o->dq);
  free(w);
  if (r != hwt_status_ok)
    hwt_errf(err, errlen, "own %s plan (%zux%zu stride %zu pad %zu, isa %s): %s",
             p->qs8 ? "dwconv_qs8" : "dwconv_f32", p->kh, p->kw, p->stride, p->pad, hwt_isa_name(isa),
             hwt_status_string(r));
  return r;
}

static void own_dw_run(own_inst *o, pthreadpool_t pool) {
  if (o->df) hwt_dwconv_f32_run(o->df, o->p.batch, o->p.h, o->p.w, o->in, o->out, pool);
  if (o->dq) hwt_dwconv_qs8_run(o->dq, o->p.batch, o->p.h, o->p.w, o->in, o->out, pool);
}

static hwt_gemm_family family_of(const hwt_bench_problem *p) { return p->qs8 ? hwt_gemm_qs8 : hwt_gemm_f32; }

static hwt_isa resolve_isa(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa) {
  return isa_auto ? hwt_gemm_best_isa(family_of(p)) : isa;
}

static bool own_supports(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, char *why, size_t whylen) {
  if (own_dw(p)) return own_dw_supports(isa_auto, isa, why, whylen);
  if (p->conv && p->groups != 1) {
    hwt_errf(why, whylen, "own kernels cover GEMM and dense (groups 1) convolutions only");
    return false;
  }
  hwt_isa use = resolve_isa(p, isa_auto, isa);
  if (!hwt_gemm_isa_supported(family_of(p), use)) {
    hwt_errf(why, whylen, "own kernels: %s has no %s kernel runnable here", p->qs8 ? "gemm_qs8" : "gemm_f32",
             hwt_isa_name(use) ? hwt_isa_name(use) : "?");
    return false;
  }
  return true;
}

static const char *own_isa_name(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa) {
  const char *name = hwt_isa_name(own_dw(p) ? own_dw_isa(isa_auto, isa) : resolve_isa(p, isa_auto, isa));
  return name ? name : "unknown";
}

static hwt_status own_create(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, const hwt_gemm_blocking *blk,
                             const void *weights, const void *bias, void **inst, char *err, size_t errlen) {
  own_inst *o = calloc(1, sizeof(*o));
  if (o == NULL) return hwt_status_out_of_memory;
  o->p = *p;
  o->rows = hwt_bench_problem_rows(p);
  hwt_isa use = resolve_isa(p, isa_auto, isa);
  bool oom;
  o->scales = hwt_bench_channel_scales_new(p, &oom); /* int8 convs: per-channel, as the engine's */
  if (oom) {
    free(o);
    return hwt_status_out_of_memory;
  }
  o->p.q.kernel_scales = o->scales;
  hwt_status st;
  if (own_dw(p))
    st = own_dw_create(o, own_dw_isa(isa_auto, isa), weights, bias, err, errlen);
  else if (own_kxk(p))
    st = own_kxk_create(o, use, blk, weights, bias, err, errlen);
  else if (!p->qs8)
    st = hwt_gemm_f32_create(p->n, p->k, weights, bias, -INFINITY, INFINITY, use, blk, &o->f32);
  else
    st = hwt_gemm_qs8_create(p->n, p->k, weights, bias, &o->p.q, use, blk, &o->qs8);
  if (st != hwt_status_ok && (own_kxk(p) || own_dw(p))) {
    free(o->scales);
    free(o);
    return st;
  }
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "own %s plan (N=%zu, K=%zu, isa %s): %s", p->qs8 ? "gemm_qs8" : "gemm_f32", p->n, p->k,
             hwt_isa_name(use), hwt_status_string(st));
    free(o->scales);
    free(o);
    return st;
  }
  *inst = o;
  return hwt_status_ok;
}

static hwt_status own_bind(void *inst, const void *input, void *output, pthreadpool_t pool, char *err,
                           size_t errlen) {
  (void)pool, (void)err, (void)errlen;
  own_inst *o = inst;
  o->in = input;
  o->out = output;
  return hwt_status_ok;
}

static void own_run(void *inst, pthreadpool_t pool) {
  own_inst *o = inst;
  if (o->df || o->dq)
    own_dw_run(o, pool);
  else if (o->kf || o->kq)
    own_kxk_run(o, pool);
  else if (o->f32)
    hwt_gemm_f32_run(o->f32, o->rows, o->in, o->p.k, o->out, o->p.n, pool);
  else
    hwt_gemm_qs8_run(o->qs8, o->rows, o->in, o->p.k, o->out, o->p.n, pool);
}

static size_t own_op_bytes(const void *inst) {
  const own_inst *o = inst;
  if (o->df || o->dq) return hwt_dwconv_f32_plan_bytes(o->df) + hwt_dwconv_qs8_plan_bytes(o->dq);
  if (o->kf || o->kq) return hwt_conv_f32_plan_bytes(o->kf) + hwt_conv_qs8_plan_bytes(o->kq);
  return o->f32 ? hwt_gemm_f32_plan_bytes(o->f32) : hwt_gemm_qs8_plan_bytes(o->qs8);
}

static bool own_blocking(const void *inst, hwt_gemm_blocking *out) {
  const own_inst *o = inst;
  if (o->kf || o->kq || o->df || o->dq) return false;
  *out = o->f32 ? hwt_gemm_f32_plan_blocking(o->f32) : hwt_gemm_qs8_plan_blocking(o->qs8);
  return true;
}

static void own_destroy(void *inst) {
  own_inst *o = inst;
  if (o == NULL) return;
  hwt_gemm_f32_destroy(o->f32);
  hwt_gemm_qs8_destroy(o->qs8);
  hwt_conv_f32_destroy(o->kf);
  hwt_conv_qs8_destroy(o->kq);
  hwt_dwconv_f32_destroy(o->df);
  hwt_dwconv_qs8_destroy(o->dq);
  free(o->scales);
  free(o);
}

bool hwt_bench_own_caps(hwt_bench_op op, const hwt_bench_shape *shape, size_t batch, hwt_bench_own_caps_t *out) {
  memset(out, 0, sizeof *out);
  if (op >= hwt_bench_op_count || shape == NULL || !hwt_bench_shape_fits(op, shape, NULL, 0)) return false;
  hwt_bench_problem p;
  hwt_bench_problem_init(&p, op, shape, batch ? batch : 1);
  out->family = family_of(&p);
  /* GEMM plans (gemm ops, 1x1 stride-1 unpadded convs) take a blocking the tuner searches; the im2col KxK plans
   * run at their defaults (raced per ISA and thread count), as do the depthwise plans (own_dw_*) */
  out->gemm = !p.conv || (p.kh == 1 && p.kw == 1 && p.stride == 1 && p.pad == 0 && p.groups == 1);
  for (int i = 0; i < hwt_isa_count; i++) {
    out->isa[i] = own_supports(&p, false, (hwt_isa)i, NULL, 0);
    out->runs = out->runs || out->isa[i];
  }
  return out->runs;
}

const hwt_bench_backend hwt_bench_backend_own = {
    hwt_bench_own, own_supports, own_isa_name, own_create, own_bind, own_run, own_op_bytes, own_blocking,
    own_destroy, NULL, NULL};
