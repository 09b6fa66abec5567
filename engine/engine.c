/* SPDX-License-Identifier: Apache-2.0 */
/* The engine: builds one operator per layer (XNNPACK, hwtune's GEMM plans, or a native loop) for a fixed
 * batch, with per-layer implementation and thread count from a chooser (the profile), and runs them. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xnnpack.h>

#include "engine_internal.h"
#include "hwt_common.h"
#include "pool.h"

#define MAX_POOL_THREADS HWT_POOL_MAX_THREADS
#define PAD_BYTES 64 /* >= XNN_EXTRA_BYTES: XNNPACK may read past the end of an input */

enum { kind_xnn = 0, kind_own_f32, kind_own_q8, kind_native, kind_logits_q8 };

typedef struct layer_exec {
  hwt_layer_choice choice;
  int kind;
  xnn_operator_t op;
  hwt_gemm_f32_plan *pf;
  hwt_gemm_qs8_plan *pq;
  pthreadpool_t pool;
  void *out;         /* batch x out elements, int8 or float (float for softmax and fp32 models) */
  float *fin, *wf, *bf; /* float-logits classifier: dequantized input, weights and bias folded with scales */
  size_t gemm_m;     /* own kernels: rows */
  uint64_t ns;
} layer_exec;

struct hwt_engine {
  const hwt_model *m;
  size_t batch;
  bool q, timing;
  void *in;
  layer_exec *lx;
  size_t leak_bytes;
  void *leaked; /* test hook: a chain of blocks, freed by destroy */
  size_t bytes;
};

const char *hwt_impl_name(hwt_impl impl) {
  switch (impl) {
    case hwt_impl_xnnpack: return "xnnpack";
    case hwt_impl_own: return "own";
    case hwt_impl_native: return "native";
  }
  return "unknown";
}

/* ---- XNNPACK initialisation with the counting allocator ---- */
void *hwt_rt_xnn_allocate(void *ctx, size_t size);
void *hwt_rt_xnn_reallocate(void *ctx, void *p, size_t size);
void hwt_rt_xnn_deallocate(void *ctx, void *p);
void *hwt_rt_xnn_aligned_allocate(void *ctx, size_t alignment, size_t size);
void hwt_rt_xnn_aligned_deallocate(void *ctx, void *p);

static const struct xnn_allocator counting_allocator = {NULL, hwt_rt_xnn_allocate, hwt_rt_xnn_reallocate,
                                                        hwt_rt_xnn_deallocate, hwt_rt_xnn_aligned_allocate,
                                                        hwt_rt_xnn_aligned_deallocate};
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static enum xnn_status init_status;
static void init_xnn(void) { init_status = xnn_initialize(&counting_allocator); }

hwt_status hwt_engine_global_init(char *err, size_t errlen) {
  pthread_once(&init_once, init_xnn);
  if (init_status != xnn_status_success) {
    hwt_errf(err, errlen, "XNNPACK initialisation failed (status %d)", (int) init_status);
    return hwt_status_unsupported;
  }
  return hwt_status_ok;
}

size_t hwt_engine_batch(const hwt_engine *e) { return e->batch; }
const hwt_model *hwt_engine_model(const hwt_engine *e) { return e->m; }
const hwt_layer_choice *hwt_engine_layer_choice(const hwt_engine *e, size_t i) { return &e->lx[i].choice; }
uint64_t hwt_engine_layer_ns(const hwt_engine *e, size_t i) { return e->lx[i].ns; }
size_t hwt_engine_bytes(const hwt_engine *e) { return e->bytes; }

static bool layer_out_float(const hwt_engine *e, const hwt_layer *l) {
  return !e->q || l->type == hwt_layer_softmax || hwt_layer_float_logits(e->m, (size_t) (l - e->m->layers));
}

void hwt_engine_layer_output(const hwt_engine *e, size_t i, size_t sample, float *dst) {
  const hwt_layer *l = &e->m->layers[i];
  size_t n = hwt_shape_size(l->out);
  if (layer_out_float(e, l)) {
    memcpy(dst, (const float *) e->lx[i].out + sample * n, n * sizeof(float));
  } else {
    const int8_t *src = (const int8_t *) e->lx[i].out + sample * n;
    for (size_t k = 0; k < n; k++) dst[k] = hwt_dq8(src[k], l->oq);
  }
}

void hwt_engine_destroy(hwt_engine *e) {
  if (e == NULL) return;
  if (e->lx != NULL) {
    for (size_t i = 0; i < e->m->nlayers; i++) {
      layer_exec *x = &e->lx[i];
      if (x->op != NULL) xnn_delete_operator(x->op);
      hwt_gemm_f32_destroy(x->pf);
      hwt_gemm_qs8_destroy(x->pq);
      hwt_rt_free(x->out);
      hwt_rt_free(x->fin);
      hwt_rt_free(x->wf);
      hwt_rt_free(x->bf);
    }
  }
  while (e->leaked != NULL) {
    void *next = *(void **) e->leaked;
    hwt_rt_free(e->leaked);
    e->leaked = next;
  }
  hwt_rt_free(e->lx);
  hwt_rt_free(e->in);
  hwt_rt_free(e);
}

/* Bytes of `batch` tensors of shape s with es-byte elements plus the read-past pad; false on overflow (a model
 * from any source, generators and future importers included, must not wrap the engine's buffers). */
static bool tensor_bytes(hwt_shape s, size_t batch, size_t es, size_t *out) {
  size_t n;
  return !__builtin_mul_overflow((size_t) s.h, (size_t) s.w, &n) && !__builtin_mul_overflow(n, (size_t) s.c, &n) &&
         !__builtin_mul_overflow(n, batch, &n) && !__builtin_mul_overflow(n, es, &n) &&
         !__builtin_add_overflow(n, (size_t) PAD_BYTES, out);
}

static const char *op_name(const hwt_layer *l, bool q) {
  switch (l->type) {
    case hwt_layer_fc: return q ? "gemm_qs8" : "gemm_f32";
    case hwt_layer_conv: return q ? "conv_qs8" : "conv_f32";
    case hwt_layer_dwconv: return q ? "dwconv_qs8" : "dwconv_f32";
    default: return NULL;
  }
}

static bool is_1x1(const hwt_layer *l) {
  return l->type == hwt_layer_conv && l->kh == 1 && l->kw == 1 && l->sh == 1 && l->sw == 1 && l->pad_t == 0 &&
         l->pad_r == 0 && l->pad_b == 0 && l->pad_l == 0;
}

/* Every engine of the process runs on the one runtime pool (pool.h): two engines' idle workers cannot starve
 * each other, and a worker the OS does not schedule delays nothing. */
static pthreadpool_t get_pool(hwt_engine *e, unsigned threads) {
  (void) e;
  return hwt_pool_get(threads);
}

static hwt_status create_xnn(hwt_engine *e, size_t i, const void *src, layer_exec *x, char *err, size_t errlen) {
  const hwt_layer *l = &e->m->layers[i];
  const hwt_model *m = e->m;
  enum xnn_status s = xnn_status_invalid_parameter;
  size_t B = e->batch;
  if (!e->q) {
    float lo, hi;
    hwt_act_bounds_f32(l->act, &lo, &hi);
    if (l->type == hwt_layer_fc) {
      size_t k = hwt_shape_size(l->in);
      s = xnn_create_fully_connected_nc_f32(k, l->outputs, k, l->outputs, l->w, l->b, lo, hi, 0, &x->op);
      if (s == xnn_status_success) s = xnn_setup_fully_connected_nc_f32(x->op, B, src, x->out, x->pool);
    } else {
      bool dw = l->type == hwt_layer_dwconv;
      s = xnn_create_convolution2d_nhwc_f32(l->pad_t, l->pad_r, l->pad_b, l->pad_l, l->kh, l->kw, l->sh, l->sw, 1, 1,
                                            dw ? l->in.c : 1, dw ? 1 : l->in.c, dw ? 1 : l->out.c, l->in.c, l->out.c,
                                            l->w, l->b, lo, hi, dw ? XNN_FLAG_DEPTHWISE_CONVOLUTION : 0, &x->op);
      if (s == xnn_status_success)
        s = xnn_setup_convolution2d_nhwc_f32(x->op, B, l->in.h, l->in.w, src, x->out, x->pool);
    }
  } else {
    hwt_qparams iq = hwt_model_out_q(m, (int) i - 1);
    int8_t lo, hi;
    hwt_act_bounds_q8(l->act, l->oq, &lo, &hi);
    /* Per-channel int8 (qc8): Debian's XNNPACK has it for convolution only, so a fully-connected layer runs
     * as a 1x1 convolution over a 1x1 image per sample. */
    bool dw = l->type == hwt_layer_dwconv, fc = l->type == hwt_layer_fc;
    size_t cin = fc ? hwt_shape_size(l->in) : l->in.c, cout = fc ? l->outputs : l->out.c;
    s = xnn_create_convolution2d_nhwc_qc8(
        fc ? 0 : l->pad_t, fc ? 0 : l->pad_r, fc ? 0 : l->pad_b, fc ? 0 : l->pad_l, fc ? 1 : l->kh, fc ? 1 : l->kw,
        fc ? 1 : l->sh, fc ? 1 : l->sw, 1, 1, dw ? l->in.c : 1, dw ? 1 : cin, dw ? 1 : cout, cin, cout,
        (int8_t) iq.zero_point, iq.scale, l->wscale, l->wq, l->bq, (int8_t) l->oq.zero_point, l->oq.scale, lo, hi,
        dw ? XNN_FLAG_DEPTHWISE_CONVOLUTION : 0, &x->op);
    if (s == xnn_status_success)
      s = xnn_setup_convolution2d_nhwc_qc8(x->op, B, fc ? 1 : l->in.h, fc ? 1 : l->in.w, src, x->out, x->pool);
  }
  if (s != xnn_status_success) {
    hwt_errf(err, errlen, "layer %zu '%s' (%s): XNNPACK operator creation failed (status %d%s)", i, l->name,
             hwt_layer_type_name(l->type), (int) s, s == xnn_status_out_of_memory ? ": out of memory" : "");
    return s == xnn_status_out_of_memory ? hwt_status_out_of_memory : hwt_status_internal;
  }
  x->kind = kind_xnn;
  return hwt_status_ok;
}

static hwt_status create_own(hwt_engine *e, size_t i, layer_exec *x, char *err, size_t errlen) {
  const hwt_layer *l = &e->m->layers[i];
  bool fc = l->type == hwt_layer_fc;
  size_t n = fc ? l->outputs : l->out.c, k = fc ? hwt_shape_size(l->in) : l->in.c;
  x->gemm_m = fc ? e->batch : e->batch * l->in.h * l->in.w;
  hwt_gemm_family fam = e->q ? hwt_gemm_qs8 : hwt_gemm_f32;
  if (!hwt_gemm_isa_supported(fam, x->choice.isa)) {
    x->choice.isa = hwt_gemm_best_isa(fam);
    char prev[sizeof(x->choice.source)];
    memcpy(prev, x->choice.source, sizeof(prev));
    snprintf(x->choice.source, sizeof(x->choice.source), "%.24s (isa->%s)", prev, hwt_isa_name(x->choice.isa));
  }
  const hwt_gemm_blocking *blk = &x->choice.blocking;
  hwt_status st;
  if (!e->q) {
    float lo, hi;
    hwt_act_bounds_f32(l->act, &lo, &hi);
    st = hwt_gemm_f32_create(n, k, l->w, l->b, lo, hi, x->choice.isa, blk, &x->pf);
    x->kind = kind_own_f32;
  } else {
    hwt_qparams iq = hwt_model_out_q(e->m, (int) i - 1);
    hwt_qs8_params p = {0};
    p.input_zero_point = (int8_t) iq.zero_point;
    p.input_scale = iq.scale;
    p.kernel_scale = l->wscale[0];
    p.kernel_scales = l->wscale;
    p.output_zero_point = (int8_t) l->oq.zero_point;
    p.output_scale = l->oq.scale;
    hwt_act_bounds_q8(l->act, l->oq, &p.output_min, &p.output_max);
    st = hwt_gemm_qs8_create(n, k, l->wq, l->bq, &p, x->choice.isa, blk, &x->pq);
    x->kind = kind_own_q8;
  }
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "layer %zu '%s' (%s): hwtune GEMM plan (%s) failed: %s", i, l->name,
             hwt_layer_type_name(l->type), hwt_isa_name(x->choice.isa), hwt_status_string(st));
    return st;
  }
  return hwt_status_ok;
}

/* The int8 classifier with float logits. Neither XNNPACK's qc8 nor our qs8 plans output float, so it runs as
 * an fp32 fully-connected layer on the dequantized int8 input with the int8 weights times their scales: the
 * same products as the int32 path, rounded to float (relative error ~1e-7 instead of exact integers). */
static hwt_status create_logits(hwt_engine *e, size_t i, unsigned cap, const hwt_engine_options *opt, char *err,
                                size_t errlen) {
  const hwt_layer *l = &e->m->layers[i];
  layer_exec *x = &e->lx[i];
  size_t k = hwt_shape_size(l->in), n = l->outputs;
  float is = hwt_model_out_q(e->m, (int) i - 1).scale;
  x->kind = kind_logits_q8;
  size_t fin_bytes, wf_bytes;
  bool fits = tensor_bytes(l->in, e->batch, sizeof(float), &fin_bytes) &&
              !__builtin_mul_overflow(n, k * sizeof(float), &wf_bytes); /* k * 4 <= fin_bytes did not wrap */
  x->fin = fits ? hwt_rt_alloc(fin_bytes) : NULL;
  x->wf = fits ? hwt_rt_alloc(wf_bytes) : NULL;
  x->bf = hwt_rt_alloc(n * sizeof(float));
  if (x->fin == NULL || x->wf == NULL || x->bf == NULL) {
    hwt_errf(err, errlen, "layer %zu '%s': out of memory for the float classifier", i, l->name);
    return hwt_status_out_of_memory;
  }
  for (size_t o = 0; o < n; o++) {
    float sc = is * l->wscale[o];
    for (size_t j = 0; j < k; j++) x->wf[o * k + j] = (float) l->wq[o * k + j] * sc;
    x->bf[o] = (float) l->bq[o] * sc;
  }
  x->choice = (hwt_layer_choice){hwt_impl_xnnpack, hwt_isa_scalar, cap, {0, 0, 0}, "default (float logits)"};
  hwt_layer_query qry = {"gemm_f32", l, e->batch, e->batch, n, k};
  if (opt->chooser != NULL && opt->chooser(opt->chooser_ctx, &qry, &x->choice)) {
    char prev[sizeof(x->choice.source)];
    memcpy(prev, x->choice.source, sizeof(prev));
    snprintf(x->choice.source, sizeof(x->choice.source), "%.30s (f32 logits)", prev);
  }
  if (x->choice.threads == 0) x->choice.threads = 1;
  if (x->choice.threads > cap) x->choice.threads = cap;
  x->pool = get_pool(e, x->choice.threads);
  float lo, hi;
  hwt_act_bounds_f32(l->act, &lo, &hi);
  if (x->choice.impl == hwt_impl_own) {
    if (!hwt_gemm_isa_supported(hwt_gemm_f32, x->choice.isa)) x->choice.isa = hwt_gemm_best_isa(hwt_gemm_f32);
    hwt_status st = hwt_gemm_f32_create(n, k, x->wf, x->bf, lo, hi, x->choice.isa, &x->choice.blocking, &x->pf);
    if (st != hwt_status_ok) {
      hwt_errf(err, errlen, "layer %zu '%s': hwtune GEMM plan failed: %s", i, l->name, hwt_status_string(st));
      return st;
    }
    return hwt_status_ok;
  }
  x->choice.impl = hwt_impl_xnnpack;
  enum xnn_status s = xnn_create_fully_connected_nc_f32(k, n, k, n, x->wf, x->bf, lo, hi, 0, &x->op);
  if (s == xnn_status_success) s = xnn_setup_fully_connected_nc_f32(x->op, e->batch, x->fin, x->out, x->pool);
  if (s != xnn_status_success) {
    hwt_errf(err, errlen, "layer %zu '%s': XNNPACK operator creation failed (status %d)", i, l->name, (int) s);
    return s == xnn_status_out_of_memory ? hwt_status_out_of_memory : hwt_status_internal;
  }
  return hwt_status_ok;
}

hwt_status hwt_engine_create(const hwt_model *m, size_t batch, const hwt_engine_options *opt, hwt_engine **out,
                             char *err, size_t errlen) {
  hwt_engine_options none = {0};
  if (opt == NULL) opt = &none;
  if (m == NULL || batch == 0 || m->nlayers == 0) {
    hwt_errf(err, errlen, "engine: needs a model and a batch >= 1");
    return hwt_status_invalid_argument;
  }
  hwt_status st = hwt_engine_global_init(err, errlen);
  if (st != hwt_status_ok) return st;
  size_t live0 = hwt_engine_mem_stats().live_bytes;
  hwt_engine *e = hwt_rt_calloc(1, sizeof(*e));
  if (e == NULL) goto oom;
  e->m = m;
  e->batch = batch;
  e->q = m->precision == hwt_prec_int8;
  e->timing = opt->layer_timing;
  e->leak_bytes = opt->test_leak_bytes;
  const char *leak = getenv("HWTUNE_ENGINE_TEST_LEAK");
  if (leak != NULL && e->leak_bytes == 0) e->leak_bytes = (size_t) strtoull(leak, NULL, 10);
  size_t es = e->q ? 1 : 4;
  size_t in_bytes;
  if (!tensor_bytes(m->input, batch, es, &in_bytes)) {
    hwt_errf(err, errlen, "engine: the input (%ux%ux%u) x batch %zu does not fit in memory's address range",
             m->input.h, m->input.w, m->input.c, batch);
    hwt_engine_destroy(e);
    return hwt_status_out_of_memory;
  }
  e->in = hwt_rt_calloc(1, in_bytes);
  e->lx = hwt_rt_calloc(m->nlayers, sizeof(layer_exec));
  if (e->in == NULL || e->lx == NULL) goto oom;
  /* More threads than usable CPUs only ever wait for each other: the cap is the usable CPUs at most. */
  unsigned usable = hwt_engine_usable_cpus();
  unsigned cap = opt->threads && opt->threads < usable ? opt->threads : usable;
  if (cap > MAX_POOL_THREADS) cap = MAX_POOL_THREADS;
  size_t plan_bytes = 0;
  for (size_t i = 0; i < m->nlayers; i++) {
    const hwt_layer *l = &m->layers[i];
    layer_exec *x = &e->lx[i];
    size_t out_bytes = 0;
    bool fits = tensor_bytes(l->out, batch, layer_out_float(e, l) ? 4 : 1, &out_bytes);
    x->out = fits ? hwt_rt_calloc(1, out_bytes) : NULL;
    if (x->out == NULL) {
      hwt_errf(err, errlen, "layer %zu '%s' (%s): out of memory for the %ux%ux%u x batch %zu output", i, l->name,
               hwt_layer_type_name(l->type), l->out.h, l->out.w, l->out.c, batch);
      hwt_engine_destroy(e);
      return hwt_status_out_of_memory;
    }
    const void *src = i == 0 ? e->in : e->lx[i - 1].out;
    const char *op = op_name(l, e->q);
    if (hwt_layer_float_logits(m, i)) {
      st = create_logits(e, i, cap, opt, err, errlen);
      if (st != hwt_status_ok) {
        hwt_engine_destroy(e);
        return st;
      }
      if (x->pf != NULL) plan_bytes += hwt_gemm_f32_plan_bytes(x->pf);
      continue;
    }
    if (op == NULL) {
      x->kind = kind_native;
      x->choice = (hwt_layer_choice){hwt_impl_native, hwt_isa_scalar, 1, {0, 0, 0}, "native"};
      continue;
    }
    x->choice = (hwt_layer_choice){hwt_impl_xnnpack, hwt_isa_scalar, cap, {0, 0, 0}, "default"};
    hwt_layer_query qry = {op, l, batch, 0, 0, 0};
    if (l->type == hwt_layer_fc) {
      qry.m = batch;
      qry.n = l->outputs;
      qry.k = hwt_shape_size(l->in);
    } else {
      qry.m = batch * l->out.h * l->out.w;
      qry.n = l->out.c;
      qry.k = (size_t) l->kh * l->kw * (l->type == hwt_layer_dwconv ? 1 : l->in.c);
    }
    if (opt->chooser != NULL) opt->chooser(opt->chooser_ctx, &qry, &x->choice);
    if (x->choice.threads == 0) x->choice.threads = 1;
    if (x->choice.threads > cap) x->choice.threads = cap;
    x->pool = get_pool(e, x->choice.threads);
    if (x->choice.threads > 1 && x->pool == NULL) {
      hwt_errf(err, errlen, "layer %zu '%s': cannot create a pool of %u threads", i, l->name, x->choice.threads);
      hwt_engine_destroy(e);
      return hwt_status_out_of_memory;
    }
    if (x->choice.impl == hwt_impl_own && !(l->type == hwt_layer_fc || is_1x1(l))) {
      /* Our kernels are GEMMs: they run fully-connected layers and 1x1 convolutions only. */
      x->choice.impl = hwt_impl_xnnpack;
      char prev[sizeof(x->choice.source)];
      memcpy(prev, x->choice.source, sizeof(prev));
      snprintf(x->choice.source, sizeof(x->choice.source), "%.24s (own n/a)", prev);
    }
    st = x->choice.impl == hwt_impl_own ? create_own(e, i, x, err, errlen) : create_xnn(e, i, src, x, err, errlen);
    if (st != hwt_status_ok) {
      hwt_engine_destroy(e);
      return st;
    }
    if (x->pf != NULL) plan_bytes += hwt_gemm_f32_plan_bytes(x->pf);
    if (x->pq != NULL) plan_bytes += hwt_gemm_qs8_plan_bytes(x->pq);
  }
  e->bytes = hwt_engine_mem_stats().live_bytes - live0 + plan_bytes;
  *out = e;
  return hwt_status_ok;
oom:
  hwt_errf(err, errlen, "engine: out of memory");
  hwt_engine_destroy(e);
  return hwt_status_out_of_memory;
}

hwt_status hwt_engine_run(hwt_engine *e, const float *in, float *out, hwt_run_info *info) {
  const hwt_model *m = e->m;
  size_t in_n = hwt_shape_size(m->input) * e->batch;
  size_t bad = 0;
  for (size_t k = 0; k < in_n; k++) bad += !isfinite(in[k]);
  if (e->q) {
    int8_t *qi = e->in;
    for (size_t k = 0; k < in_n; k++) qi[k] = hwt_q8(in[k], m->iq, -128, 127);
  } else {
    memcpy(e->in, in, in_n * sizeof(float));
  }
  for (size_t i = 0; i < m->nlayers; i++) {
    const hwt_layer *l = &m->layers[i];
    layer_exec *x = &e->lx[i];
    const void *src = i == 0 ? e->in : e->lx[i - 1].out;
    uint64_t t0 = e->timing ? hwt_now_ns() : 0;
    switch (x->kind) {
      case kind_xnn:
        if (xnn_run_operator(x->op, x->pool) != xnn_status_success) return hwt_status_internal;
        break;
      case kind_own_f32:
        hwt_gemm_f32_run(x->pf, x->gemm_m, src, l->type == hwt_layer_fc ? hwt_shape_size(l->in) : l->in.c, x->out,
                         l->out.c, x->pool);
        break;
      case kind_own_q8:
        hwt_gemm_qs8_run(x->pq, x->gemm_m, src, l->type == hwt_layer_fc ? hwt_shape_size(l->in) : l->in.c, x->out,
                         l->out.c, x->pool);
        break;
      case kind_logits_q8: {
        size_t k = hwt_shape_size(l->in) * e->batch;
        hwt_qparams iq = hwt_model_out_q(m, (int) i - 1);
        const int8_t *q = src;
        for (size_t j = 0; j < k; j++) x->fin[j] = (float) ((int32_t) q[j] - iq.zero_point);
        if (x->op != NULL) {
          if (xnn_run_operator(x->op, x->pool) != xnn_status_success) return hwt_status_internal;
        } else {
          hwt_gemm_f32_run(x->pf, e->batch, x->fin, hwt_shape_size(l->in), x->out, l->outputs, x->pool);
        }
        break;
      }
      default: {
        size_t isz = hwt_shape_size(l->in), osz = hwt_shape_size(l->out);
        const void *from = NULL;
        if (l->type == hwt_layer_add) from = l->from < 0 ? e->in : e->lx[l->from].out;
        for (size_t s = 0; s < e->batch; s++) {
          if (!e->q || (l->type == hwt_layer_softmax && i > 0 && hwt_layer_float_logits(m, i - 1))) {
            hwt_native_f32(l, (const float *) src + s * isz, from ? (const float *) from + s * osz : NULL,
                           (float *) x->out + s * osz);
          } else {
            hwt_qparams iq = hwt_model_out_q(m, (int) i - 1);
            hwt_qparams fq = l->type == hwt_layer_add ? hwt_model_out_q(m, l->from) : iq;
            hwt_native_q8(l, (const int8_t *) src + s * isz, iq, from ? (const int8_t *) from + s * osz : NULL, fq,
                          (int8_t *) x->out + s * osz, (float *) x->out + s * osz);
          }
        }
      }
    }
    if (e->timing) x->ns = hwt_now_ns() - t0;
  }
  size_t on = hwt_shape_size(m->layers[m->nlayers - 1].out);
  for (size_t s = 0; s < e->batch; s++) hwt_engine_layer_output(e, m->nlayers - 1, s, out + s * on);
  if (info != NULL) {
    info->input_nonfinite = bad;
    info->output_nonfinite = 0;
    for (size_t k = 0; k < on * e->batch; k++) info->output_nonfinite += !isfinite(out[k]);
  }
  if (e->leak_bytes >= sizeof(void *)) { /* test hook: grows by leak_bytes per run until destroy */
    void *p = hwt_rt_alloc(e->leak_bytes);
    if (p != NULL) {
      memset(p, 0x5a, e->leak_bytes);
      *(void **) p = e->leaked;
      e->leaked = p;
    }
  }
  return hwt_status_ok;
}
