/* SPDX-License-Identifier: Apache-2.0 */
/* The engine: runs a graph (engine.h) for a fixed batch. Every node gets one operator (XNNPACK, hwtune's GEMM
 * plans, or a native loop from ops.c) with its implementation and thread count from a chooser (the profile);
 * every value and conversion buffer lives at a planned offset of one arena (plan.c) allocated at create, so a
 * run allocates nothing. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xnnpack.h>

#include "engine_internal.h"
#include "hwtune/elementwise.h"
#include "hwtune/spmm.h"
#include "hwt_common.h"
#include "pool.h"

#define MAX_POOL_THREADS HWT_POOL_MAX_THREADS

bool hwt_engine_native_ops = false;

enum { kind_xnn = 0, kind_own_f32, kind_own_q8, kind_native, kind_logits, kind_own_conv, kind_own_dw,
       kind_own_sparse };

typedef struct node_exec {
  hwt_layer_choice choice;
  int kind;
  bool native_q8;      /* kind_native: hwt_op_q8 (else hwt_op_f32) */
  xnn_operator_t op;
  hwt_gemm_f32_plan *pf;
  hwt_gemm_qs8_plan *pq;
  hwt_conv_own *conv;  /* kind_own_conv (conv_own.c) */
  hwt_dwconv_own *dw;  /* kind_own_dw (dwconv_own.c) */
  hwt_spmm_f32_plan *ps; /* kind_own_sparse (spmm_own.c) */
  pthreadpool_t pool;
  const void *in[HWT_NODE_MAX_INPUTS]; /* inputs in the element type the node reads */
  hwt_shape ish[HWT_NODE_MAX_INPUTS];
  uint8_t irank[HWT_NODE_MAX_INPUTS];
  hwt_qparams iq[HWT_NODE_MAX_INPUTS];
  void *dst;           /* where the kernel writes: the value, or fout */
  float *fout;         /* q8 node computed in float: the float result, quantized into the value after */
  float *fin;          /* kind_logits: the int8 input minus its zero point, as float */
  float *wf, *bf;      /* kind_logits: int8 weights and biases times their scales (owned) */
  size_t gemm_m, lda;  /* own kernels */
  uint64_t ns;
} node_exec;

/* A value: graph input k at index k, node i at ninputs + i. */
typedef struct value_buf {
  void *p;             /* in its own element type */
  void *alt;           /* converted copy in the other type (a consumer reads that), or NULL */
  bool q8;
  hwt_qparams q;
  hwt_shape shape;
  size_t n;            /* elements for the whole batch */
} value_buf;

/* A graph input or output as the engine sees it (a model built without graph I/O: input 0 and the last node). */
typedef struct io_desc {
  int value;
  hwt_shape shape;
  uint8_t rank;
} io_desc;

struct hwt_engine {
  const hwt_model *m;
  io_desc in_io[HWT_GRAPH_MAX_IO], out_io[HWT_GRAPH_MAX_IO];
  size_t nout;
  size_t batch;
  bool timing;
  size_t ni, nv;
  node_exec *nx;
  value_buf *vals;
  float *in_scratch[HWT_GRAPH_MAX_IO];  /* int8 input with a layout change: float internal layout first */
  float *out_scratch[HWT_GRAPH_MAX_IO]; /* int8 output with a layout change: dequantized first */
  unsigned char *arena;
  size_t arena_bytes, values_bytes;
  hwt_plan_buf *plan;
  size_t nplan;
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
const hwt_layer_choice *hwt_engine_layer_choice(const hwt_engine *e, size_t i) { return &e->nx[i].choice; }
uint64_t hwt_engine_layer_ns(const hwt_engine *e, size_t i) { return e->nx[i].ns; }
size_t hwt_engine_bytes(const hwt_engine *e) { return e->bytes; }
size_t hwt_engine_arena_bytes(const hwt_engine *e) { return e->arena_bytes; }
size_t hwt_engine_values_bytes(const hwt_engine *e) { return e->values_bytes; }
const hwt_plan_buf *hwt_engine_plan(const hwt_engine *e, size_t *n) {
  *n = e->nplan;
  return e->plan;
}

static size_t vidx(const hwt_engine *e, int id) { return id < 0 ? (size_t) (-1 - id) : e->ni + (size_t) id; }

void hwt_engine_layer_output(const hwt_engine *e, size_t i, size_t sample, float *dst) {
  const value_buf *v = &e->vals[e->ni + i];
  size_t n = hwt_shape_size(v->shape);
  if (!v->q8) {
    memcpy(dst, (const float *) v->p + sample * n, n * sizeof(float));
  } else {
    const int8_t *src = (const int8_t *) v->p + sample * n;
    for (size_t k = 0; k < n; k++) dst[k] = hwt_dq8(src[k], v->q);
  }
}

void hwt_engine_destroy(hwt_engine *e) {
  if (e == NULL) return;
  if (e->nx != NULL) {
    for (size_t i = 0; i < e->m->nlayers; i++) {
      node_exec *x = &e->nx[i];
      if (x->op != NULL) xnn_delete_operator(x->op);
      hwt_gemm_f32_destroy(x->pf);
      hwt_gemm_qs8_destroy(x->pq);
      hwt_conv_own_destroy(x->conv);
      hwt_dwconv_own_destroy(x->dw);
      hwt_spmm_f32_destroy(x->ps);
      hwt_rt_free(x->wf);
      hwt_rt_free(x->bf);
    }
  }
  while (e->leaked != NULL) {
    void *next = *(void **) e->leaked;
    hwt_rt_free(e->leaked);
    e->leaked = next;
  }
  hwt_rt_free(e->nx);
  hwt_rt_free(e->vals);
  hwt_rt_free(e->plan);
  hwt_rt_free(e->arena);
  hwt_rt_free(e);
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
         l->pad_r == 0 && l->pad_b == 0 && l->pad_l == 0 && hwt_conv_groups(l) == 1;
}

/* Every engine of the process runs on the one runtime pool (pool.h): two engines' idle workers cannot starve
 * each other, and a worker the OS does not schedule delays nothing. */
static pthreadpool_t get_pool(unsigned threads) { return hwt_pool_get(threads); }

static hwt_status xnn_fail(const hwt_layer *l, size_t i, enum xnn_status s, char *err, size_t errlen) {
  hwt_errf(err, errlen, "layer %zu '%s' (%s): XNNPACK operator creation failed (status %d%s)", i, l->name,
           hwt_layer_type_name(l->type), (int) s, s == xnn_status_out_of_memory ? ": out of memory" : "");
  return s == xnn_status_out_of_memory ? hwt_status_out_of_memory : hwt_status_internal;
}

/* A float fc / conv / dwconv over src -> dst with weights w, b (the layer's, or the classifier's folded ones). */
static enum xnn_status create_xnn_f32(hwt_engine *e, const hwt_layer *l, node_exec *x, const float *w, const float *b,
                                      const void *src, void *dst) {
  enum xnn_status s;
  float lo, hi;
  hwt_layer_act_bounds_f32(l, &lo, &hi);
  hwt_shape is = x->ish[0];
  if (l->type == hwt_layer_fc) {
    size_t k = hwt_shape_size(is);
    s = xnn_create_fully_connected_nc_f32(k, l->outputs, k, l->outputs, w, b, lo, hi, 0, &x->op);
    if (s == xnn_status_success) s = xnn_setup_fully_connected_nc_f32(x->op, e->batch, src, dst, x->pool);
    return s;
  }
  bool dw = l->type == hwt_layer_dwconv;
  uint32_t g = hwt_conv_groups(l);
  s = xnn_create_convolution2d_nhwc_f32(l->pad_t, l->pad_r, l->pad_b, l->pad_l, l->kh, l->kw, l->sh, l->sw,
                                        hwt_dil(l->dh), hwt_dil(l->dw), dw ? is.c : g, dw ? 1 : is.c / g,
                                        dw ? 1 : l->out.c / g, is.c, l->out.c, w, b, lo, hi,
                                        dw ? XNN_FLAG_DEPTHWISE_CONVOLUTION : 0, &x->op);
  if (s == xnn_status_success) s = xnn_setup_convolution2d_nhwc_f32(x->op, e->batch, is.h, is.w, src, dst, x->pool);
  return s;
}

static hwt_status create_xnn(hwt_engine *e, size_t i, node_exec *x, bool q, char *err, size_t errlen) {
  const hwt_layer *l = &e->m->layers[i];
  enum xnn_status s;
  if (!q) {
    s = create_xnn_f32(e, l, x, l->w, l->b, x->in[0], x->dst);
  } else {
    hwt_qparams iq = x->iq[0];
    int8_t lo, hi;
    hwt_layer_act_bounds_q8(l, l->oq, &lo, &hi);
    /* Per-channel int8 (qc8): Debian's XNNPACK has it for convolution only, so a fully-connected layer runs
     * as a 1x1 convolution over a 1x1 image per sample. */
    bool dw = l->type == hwt_layer_dwconv, fc = l->type == hwt_layer_fc;
    hwt_shape is = x->ish[0];
    uint32_t g = fc ? 1 : hwt_conv_groups(l);
    size_t cin = fc ? hwt_shape_size(is) : is.c, cout = fc ? l->outputs : l->out.c;
    s = xnn_create_convolution2d_nhwc_qc8(
        fc ? 0 : l->pad_t, fc ? 0 : l->pad_r, fc ? 0 : l->pad_b, fc ? 0 : l->pad_l, fc ? 1 : l->kh, fc ? 1 : l->kw,
        fc ? 1 : l->sh, fc ? 1 : l->sw, fc ? 1 : hwt_dil(l->dh), fc ? 1 : hwt_dil(l->dw), dw ? (uint32_t) cin : g,
        dw ? 1 : cin / g, dw ? 1 : cout / g, cin, cout, (int8_t) iq.zero_point, iq.scale, l->wscale, l->wq, l->bq,
        (int8_t) l->oq.zero_point, l->oq.scale, lo, hi, dw ? XNN_FLAG_DEPTHWISE_CONVOLUTION : 0, &x->op);
    if (s == xnn_status_success)
      s = xnn_setup_convolution2d_nhwc_qc8(x->op, e->batch, fc ? 1 : is.h, fc ? 1 : is.w, x->in[0], x->dst, x->pool);
  }
  if (s != xnn_status_success) return xnn_fail(l, i, s, err, errlen);
  x->kind = kind_xnn;
  return hwt_status_ok;
}

static void note_source(hwt_layer_choice *c, const char *fmt, const char *what) {
  char prev[sizeof(c->source)];
  memcpy(prev, c->source, sizeof(prev));
  snprintf(c->source, sizeof(c->source), fmt, prev, what);
}

static hwt_status create_own(hwt_engine *e, size_t i, node_exec *x, bool q, char *err, size_t errlen) {
  const hwt_layer *l = &e->m->layers[i];
  bool fc = l->type == hwt_layer_fc;
  size_t n = fc ? l->outputs : l->out.c, k = fc ? hwt_shape_size(x->ish[0]) : x->ish[0].c;
  x->gemm_m = fc ? e->batch : e->batch * x->ish[0].h * x->ish[0].w;
  x->lda = k;
  hwt_gemm_family fam = q ? hwt_gemm_qs8 : hwt_gemm_f32;
  if (!hwt_gemm_isa_supported(fam, x->choice.isa)) {
    x->choice.isa = hwt_gemm_best_isa(fam);
    note_source(&x->choice, "%.24s (isa->%s)", hwt_isa_name(x->choice.isa));
  }
  const hwt_gemm_blocking *blk = &x->choice.blocking;
  hwt_status st;
  if (!q) {
    float lo, hi;
    hwt_layer_act_bounds_f32(l, &lo, &hi);
    st = hwt_gemm_f32_create(n, k, l->w, l->b, lo, hi, x->choice.isa, blk, &x->pf);
    x->kind = kind_own_f32;
  } else {
    hwt_qparams iq = x->iq[0];
    hwt_qs8_params p = {0};
    p.input_zero_point = (int8_t) iq.zero_point;
    p.input_scale = iq.scale;
    p.kernel_scale = l->wscale[0];
    p.kernel_scales = l->wscale;
    p.output_zero_point = (int8_t) l->oq.zero_point;
    p.output_scale = l->oq.scale;
    hwt_layer_act_bounds_q8(l, l->oq, &p.output_min, &p.output_max);
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

/* A dense KxK conv on hwtune/conv.h's plans (conv_own.c). */
static hwt_status create_own_conv(hwt_engine *e, size_t i, node_exec *x, bool q, char *err, size_t errlen) {
  const hwt_layer *l = &e->m->layers[i];
  hwt_gemm_family fam = q ? hwt_gemm_qs8 : hwt_gemm_f32;
  if (!hwt_gemm_isa_supported(fam, x->choice.isa)) {
    x->choice.isa = hwt_gemm_best_isa(fam);
    note_source(&x->choice, "%.24s (isa->%s)", hwt_isa_name(x->choice.isa));
  }
  hwt_status st = hwt_conv_own_create(l, x->ish[0], x->iq[0], q, x->choice.isa, &x->choice.blocking,
                                      x->choice.threads, &x->conv);
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "layer %zu '%s' (%s): hwtune conv plan (%s) failed: %s", i, l->name,
             hwt_layer_type_name(l->type), hwt_isa_name(x->choice.isa), hwt_status_string(st));
    return st;
  }
  x->kind = kind_own_conv;
  return hwt_status_ok;
}

/* A depthwise conv on hwtune/dwconv.h's plans (dwconv_own.c); HWTUNE_ENGINE_OWN_DW=1 forces it. */
static hwt_status create_own_dw(hwt_engine *e, size_t i, node_exec *x, bool q, char *err, size_t errlen) {
  const hwt_layer *l = &e->m->layers[i];
  if (x->choice.impl != hwt_impl_own) {
    x->choice.impl = hwt_impl_own;
    x->choice.isa = hwt_cpu_isa_get()->level; /* the default choice says scalar */
    note_source(&x->choice, "%.22s (%s)", "env own");
  }
  if (!hwt_isa_available(x->choice.isa)) x->choice.isa = hwt_cpu_isa_get()->level;
  hwt_status st = hwt_dwconv_own_create(l, x->ish[0], x->iq[0], q, x->choice.isa, &x->dw);
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "layer %zu '%s' (%s): hwtune dwconv plan (%s) failed: %s", i, l->name,
             hwt_layer_type_name(l->type), hwt_isa_name(x->choice.isa), hwt_status_string(st));
    return st;
  }
  x->kind = kind_own_dw;
  return hwt_status_ok;
}

/* int8 weights with a float output (the int8 classifier, engine.h). A fully-connected layer runs as our qs8 GEMM
 * with float output (hwt_gemm_qs8_f32out_*: exact int32 sums on the int8 weights, times input_scale * wscale[n],
 * plus the bias in float), whatever implementation the chooser names (only its threads are used): it reads the
 * int8 weights, a quarter of the float ones. Convolutions run as a float operator on the int8 input minus its
 * zero point with the int8 weights times their scales: the same products, rounded to float (relative ~1e-7). */
static hwt_status create_logits(hwt_engine *e, size_t i, unsigned cap, const hwt_engine_options *opt, char *err,
                                size_t errlen) {
  const hwt_layer *l = &e->m->layers[i];
  node_exec *x = &e->nx[i];
  bool fc = l->type == hwt_layer_fc;
  size_t nw = hwt_layer_weight_count(l), n = hwt_layer_bias_count(l), k = fc ? hwt_shape_size(x->ish[0]) : 0;
  size_t per = nw / (n ? n : 1); /* weights per output channel (fc, conv); dwconv: per tap, channel = index % C */
  float is = x->iq[0].scale;
  x->kind = kind_logits;
  x->bf = hwt_rt_alloc(n * sizeof(float));
  if (x->bf == NULL) {
    hwt_errf(err, errlen, "layer %zu '%s': out of memory for the float-output biases", i, l->name);
    return hwt_status_out_of_memory;
  }
  for (size_t o = 0; o < n; o++) x->bf[o] = (float) l->bq[o] * (is * l->wscale[o]);
  int32_t zp = x->iq[0].zero_point;
  if (fc && zp >= INT8_MIN && zp <= INT8_MAX) {
    x->choice = (hwt_layer_choice){hwt_impl_own, hwt_gemm_best_isa(hwt_gemm_qs8), cap, {0, 0, 0}, "own qs8 (float out)", false, 0, 0, false};
    hwt_layer_query qry = {op_name(l, false), l, e->batch, e->batch, n, k, 0};
    if (opt->chooser != NULL && opt->chooser(opt->chooser_ctx, &qry, &x->choice))
      note_source(&x->choice, "%.30s (%s)", "qs8 f32 out");
    /* The chooser answers for the float GEMM this layer was before: keep its threads, not its ISA or blocking. */
    x->choice.impl = hwt_impl_own;
    x->choice.isa = hwt_gemm_best_isa(hwt_gemm_qs8);
    x->choice.blocking = (hwt_gemm_blocking){0, 0, 0};
    if (x->choice.threads == 0) x->choice.threads = 1;
    if (x->choice.threads > cap) x->choice.threads = cap;
    x->pool = get_pool(x->choice.threads);
    float lo, hi;
    hwt_layer_act_bounds_f32(l, &lo, &hi);
    hwt_qs8_params qp = {.input_zero_point = (int8_t) zp, .input_scale = is, .kernel_scales = l->wscale};
    hwt_status st = hwt_gemm_qs8_f32out_create(n, k, l->wq, x->bf, &qp, lo, hi, x->choice.isa, NULL, &x->pq);
    if (st != hwt_status_ok) {
      hwt_errf(err, errlen, "layer %zu '%s': hwtune qs8 GEMM (float out) plan failed: %s", i, l->name,
               hwt_status_string(st));
      return st;
    }
    return hwt_status_ok;
  }
  size_t wf_bytes;
  x->wf = !__builtin_mul_overflow(nw, sizeof(float), &wf_bytes) ? hwt_rt_alloc(wf_bytes) : NULL;
  if (x->wf == NULL) {
    hwt_errf(err, errlen, "layer %zu '%s': out of memory for the float-output int8 weights", i, l->name);
    return hwt_status_out_of_memory;
  }
  for (size_t j = 0; j < nw; j++) {
    size_t o = l->type == hwt_layer_dwconv ? j % n : j / per;
    x->wf[j] = (float) l->wq[j] * (is * l->wscale[o]);
  }
  x->choice = (hwt_layer_choice){hwt_impl_xnnpack, hwt_isa_scalar, cap, {0, 0, 0}, "default (float out)", false, 0, 0, false};
  hwt_layer_query qry = {op_name(l, false), l, e->batch, e->batch, n, k, 0};
  if (!fc) {
    qry.m = e->batch * l->out.h * l->out.w;
    qry.k = (size_t) l->kh * l->kw * (l->type == hwt_layer_dwconv ? 1 : x->ish[0].c / hwt_conv_groups(l));
  }
  if (opt->chooser != NULL && opt->chooser(opt->chooser_ctx, &qry, &x->choice))
    note_source(&x->choice, "%.30s (%s)", "f32 out");
  if (x->choice.threads == 0) x->choice.threads = 1;
  if (x->choice.threads > cap) x->choice.threads = cap;
  x->pool = get_pool(x->choice.threads);
  if (x->choice.impl == hwt_impl_own && fc) {
    float lo, hi;
    hwt_layer_act_bounds_f32(l, &lo, &hi);
    if (!hwt_gemm_isa_supported(hwt_gemm_f32, x->choice.isa)) x->choice.isa = hwt_gemm_best_isa(hwt_gemm_f32);
    hwt_status st = hwt_gemm_f32_create(n, k, x->wf, x->bf, lo, hi, x->choice.isa, &x->choice.blocking, &x->pf);
    if (st != hwt_status_ok) {
      hwt_errf(err, errlen, "layer %zu '%s': hwtune GEMM plan failed: %s", i, l->name, hwt_status_string(st));
      return st;
    }
    return hwt_status_ok;
  }
  x->choice.impl = hwt_impl_xnnpack;
  enum xnn_status s = create_xnn_f32(e, l, x, x->wf, x->bf, x->fin, x->dst);
  if (s != xnn_status_success) return xnn_fail(l, i, s, err, errlen);
  return hwt_status_ok;
}

/* Float nodes that XNNPACK has an operator for (global average pooling, broadcasting add / sub / mul / div,
 * sigmoid, hardswish): vectorized and threaded. relu / relu6 / clip stay native: XNNPACK's clamp does not keep
 * a NaN, and the audit flags NaN outputs. Returns false (native loop) for anything else. */
static bool create_xnn_elementwise(hwt_engine *e, size_t i, node_exec *x, unsigned cap, char *err, size_t errlen,
                                   hwt_status *st) {
  const hwt_layer *l = &e->m->layers[i];
  size_t B = e->batch, n = hwt_shape_size(l->out);
  enum xnn_status s = xnn_status_unsupported_parameter;
  *st = hwt_status_ok;
  /* Large tensors only get the pool: below ~64K elements the pool's wake-up costs more than it saves. */
  unsigned threads = n * B >= ((size_t) 1 << 16) ? cap : 1;
  x->pool = get_pool(threads);
  switch (l->type) {
    case hwt_layer_gavgpool: {
      hwt_shape is = x->ish[0];
      s = xnn_create_global_average_pooling_nwc_f32(is.c, is.c, is.c, -INFINITY, INFINITY, 0, &x->op);
      if (s == xnn_status_success)
        s = xnn_setup_global_average_pooling_nwc_f32(x->op, B, (size_t) is.h * is.w, x->in[0], x->dst, x->pool);
      break;
    }
    case hwt_layer_sigmoid:
    case hwt_layer_hard_swish:
      s = l->type == hwt_layer_sigmoid ? xnn_create_sigmoid_nc_f32(n, n, n, 0, &x->op)
                                       : xnn_create_hardswish_nc_f32(n, n, n, 0, &x->op);
      if (s == xnn_status_success)
        s = l->type == hwt_layer_sigmoid ? xnn_setup_sigmoid_nc_f32(x->op, B, x->in[0], x->dst, x->pool)
                                         : xnn_setup_hardswish_nc_f32(x->op, B, x->in[0], x->dst, x->pool);
      break;
    case hwt_layer_add:
    case hwt_layer_sub:
    case hwt_layer_mul:
    case hwt_layer_div: {
      hwt_shape a = x->ish[0], b = l->nin >= 2 ? x->ish[1] : l->wshape;
      const float *pa = x->in[0], *pb = x->in[1];
      if (l->nin < 2) { /* the constant, copied with XNNPACK's read-past pad */
        size_t nb = hwt_shape_size(b);
        x->wf = hwt_rt_calloc(nb + XNN_EXTRA_BYTES / sizeof(float), sizeof(float));
        if (x->wf == NULL) {
          hwt_errf(err, errlen, "layer %zu '%s': out of memory", i, l->name);
          *st = hwt_status_out_of_memory;
          return true;
        }
        memcpy(x->wf, l->w, nb * sizeof(float));
        pb = x->wf;
      }
      size_t sa[4] = {B, a.h, a.w, a.c}, sb[4] = {l->nin >= 2 ? B : 1, b.h, b.w, b.c};
      bool swap = l->nin < 2 && l->const_first;
      switch (l->type) {
        case hwt_layer_add: s = xnn_create_add_nd_f32(-INFINITY, INFINITY, 0, &x->op); break;
        case hwt_layer_sub: s = xnn_create_subtract_nd_f32(-INFINITY, INFINITY, 0, &x->op); break;
        case hwt_layer_mul: s = xnn_create_multiply_nd_f32(-INFINITY, INFINITY, 0, &x->op); break;
        default: s = xnn_create_divide_nd_f32(-INFINITY, INFINITY, 0, &x->op); break;
      }
      if (s != xnn_status_success) break;
      const size_t *s1 = swap ? sb : sa, *s2 = swap ? sa : sb;
      const float *p1 = swap ? pb : pa, *p2 = swap ? pa : pb;
      switch (l->type) {
        case hwt_layer_add: s = xnn_setup_add_nd_f32(x->op, 4, s1, 4, s2, p1, p2, x->dst, x->pool); break;
        case hwt_layer_sub: s = xnn_setup_subtract_nd_f32(x->op, 4, s1, 4, s2, p1, p2, x->dst, x->pool); break;
        case hwt_layer_mul: s = xnn_setup_multiply_nd_f32(x->op, 4, s1, 4, s2, p1, p2, x->dst, x->pool); break;
        default: s = xnn_setup_divide_nd_f32(x->op, 4, s1, 4, s2, p1, p2, x->dst, x->pool); break;
      }
      break;
    }
    default: return false;
  }
  if (s != xnn_status_success) {
    *st = xnn_fail(l, i, s, err, errlen);
    return true;
  }
  x->kind = kind_xnn;
  x->choice = (hwt_layer_choice){hwt_impl_xnnpack, hwt_isa_scalar, threads, {0, 0, 0}, "default (elementwise)", false, 0, 0, false};
  return true;
}

/* ---- the memory plan of an engine ---- */

/* Bytes of n elements of es bytes; false on overflow. */
static bool nbytes(size_t n, size_t es, size_t *out) { return !__builtin_mul_overflow(n, es, out); }

enum { buf_value, buf_alt, buf_in_scratch, buf_out_scratch, buf_fout, buf_fin };
typedef struct buf_ref {
  int what;
  size_t index; /* value index, io index or node */
} buf_ref;

static hwt_status build_plan(hwt_engine *e, const hwt_engine_options *opt, char *err, size_t errlen) {
  const hwt_model *m = e->m;
  size_t nl = m->nlayers, ni = e->ni, nv = e->nv, B = e->batch;
  uint32_t end = (uint32_t) nl + 1;
  /* Per value: last step read in its own type / in the other type. */
  uint32_t *last = hwt_rt_calloc(nv * 2, sizeof(uint32_t));
  bool *need_alt = hwt_rt_calloc(nv, sizeof(bool));
  size_t cap = nv * 2 + 2 * HWT_GRAPH_MAX_IO + 2 * nl;
  e->plan = hwt_rt_calloc(cap, sizeof(hwt_plan_buf));
  buf_ref *refs = hwt_rt_calloc(cap, sizeof(buf_ref));
  hwt_status st = hwt_status_out_of_memory;
  if (last == NULL || need_alt == NULL || e->plan == NULL || refs == NULL) {
    hwt_errf(err, errlen, "engine: out of memory for the memory plan");
    goto done;
  }
  for (size_t v = 0; v < nv; v++) last[v * 2] = v < ni ? 0 : (uint32_t) (v - ni + 1);
  for (size_t i = 0; i < nl; i++) {
    const hwt_layer *l = &m->layers[i];
    bool rq8 = hwt_node_reads_q8(l);
    for (int j = 0; j < l->nin; j++) {
      size_t v = vidx(e, l->inputs[j]);
      bool other = e->vals[v].q8 != rq8;
      last[v * 2 + other] = (uint32_t) i + 1;
      if (other) {
        need_alt[v] = true;
        hwt_qparams q = e->vals[v].q;
        if (rq8 && !(q.scale > 0 && isfinite(q.scale))) {
          hwt_errf(err, errlen,
                   "layer %zu '%s' (%s): reads int8, but its input %d is float without quantization params (scale %g)",
                   i, l->name, hwt_layer_type_name(l->type), j, (double) q.scale);
          st = hwt_status_invalid_argument;
          goto done;
        }
      }
    }
  }
  for (size_t k = 0; k < e->nout; k++) last[vidx(e, e->out_io[k].value) * 2] = end;
  size_t nb = 0;
#define ADD(BYTES, FIRST, LAST, WHAT, INDEX)                    \
  do {                                                          \
    e->plan[nb] = (hwt_plan_buf){(BYTES), (FIRST), (LAST), 0};  \
    refs[nb++] = (buf_ref){(WHAT), (INDEX)};                    \
  } while (0)
  size_t total = 0;
  for (size_t v = 0; v < nv; v++) {
    value_buf *vb = &e->vals[v];
    size_t bytes;
    if (!nbytes(vb->n, vb->q8 ? 1 : 4, &bytes)) goto overflow;
    uint32_t first = v < ni ? 0 : (uint32_t) (v - ni + 1), lst = last[v * 2];
    if (lst == end || opt->keep_values) { /* graph outputs and kept values: never reused */
      first = 0;
      lst = end;
    }
    ADD(bytes, first, lst, buf_value, v);
    if (need_alt[v]) {
      if (!nbytes(vb->n, vb->q8 ? 4 : 1, &bytes)) goto overflow;
      ADD(bytes, v < ni ? 0 : (uint32_t) (v - ni + 1), last[v * 2 + 1], buf_alt, v);
    }
  }
  for (size_t k = 0; k < ni; k++) {
    const io_desc *io = &e->in_io[k];
    size_t bytes;
    if (e->vals[k].q8 && !hwt_layout_is_copy(io->shape, io->rank)) {
      if (!nbytes(e->vals[k].n, 4, &bytes)) goto overflow;
      ADD(bytes, 0, 0, buf_in_scratch, k);
    }
  }
  for (size_t k = 0; k < e->nout; k++) {
    const io_desc *io = &e->out_io[k];
    size_t bytes, v = vidx(e, io->value);
    if (e->vals[v].q8 && !hwt_layout_is_copy(io->shape, io->rank)) {
      if (!nbytes(e->vals[v].n, 4, &bytes)) goto overflow;
      ADD(bytes, end, end, buf_out_scratch, k);
    }
  }
  for (size_t i = 0; i < nl; i++) {
    const hwt_layer *l = &m->layers[i];
    value_buf *vb = &e->vals[ni + i];
    size_t bytes;
    if (hwt_node_q8_via_float(l)) {
      if (!nbytes(vb->n, 4, &bytes)) goto overflow;
      ADD(bytes, (uint32_t) i + 1, (uint32_t) i + 1, buf_fout, i);
    }
    bool wnode = l->type == hwt_layer_fc || l->type == hwt_layer_conv || l->type == hwt_layer_dwconv;
    if (wnode && l->wq != NULL && !l->q8) {
      if (!nbytes(e->vals[vidx(e, l->inputs[0])].n, 4, &bytes)) goto overflow;
      ADD(bytes, (uint32_t) i + 1, (uint32_t) i + 1, buf_fin, i);
    }
  }
#undef ADD
  e->nplan = nb;
  for (size_t b = 0; b < nb; b++)
    if (__builtin_add_overflow(total, e->plan[b].bytes, &total)) goto overflow;
  e->values_bytes = total;
  if (!hwt_plan_assign(e->plan, nb, &e->arena_bytes)) goto overflow;
  e->arena = hwt_rt_calloc(1, e->arena_bytes ? e->arena_bytes : 64);
  if (e->arena == NULL) {
    hwt_errf(err, errlen, "engine: out of memory for the %zu-byte activation arena (batch %zu)", e->arena_bytes, B);
    goto done;
  }
  for (size_t b = 0; b < nb; b++) {
    void *p = e->arena + e->plan[b].offset;
    size_t k = refs[b].index;
    switch (refs[b].what) {
      case buf_value: e->vals[k].p = p; break;
      case buf_alt: e->vals[k].alt = p; break;
      case buf_in_scratch: e->in_scratch[k] = p; break;
      case buf_out_scratch: e->out_scratch[k] = p; break;
      case buf_fout: e->nx[k].fout = p; break;
      case buf_fin: e->nx[k].fin = p; break;
    }
  }
  st = hwt_status_ok;
  goto done;
overflow:
  hwt_errf(err, errlen, "engine: the values x batch %zu do not fit in memory's address range", B);
  st = hwt_status_out_of_memory;
done:
  hwt_rt_free(last);
  hwt_rt_free(need_alt);
  hwt_rt_free(refs);
  return st;
}

/* ---- create ---- */

/* A pruned fc / 1x1 conv on our sparse plan (spmm_own.c): the same GEMM view as create_own. */
static hwt_status create_sparse(hwt_engine *e, size_t i, node_exec *x, char *err, size_t errlen) {
  const hwt_layer *l = &e->m->layers[i];
  bool fc = l->type == hwt_layer_fc;
  x->gemm_m = fc ? e->batch : e->batch * x->ish[0].h * x->ish[0].w;
  x->lda = fc ? hwt_shape_size(x->ish[0]) : x->ish[0].c;
  x->choice.impl = hwt_impl_own;
  x->choice.isa = hwt_spmm_best_isa();
  x->choice.blocking = (hwt_gemm_blocking){0, 0, 0};
  hwt_status st = hwt_spmm_own_create(l, x->ish[0], x->choice.isa, &x->ps);
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "layer %zu '%s' (%s): hwtune sparse plan (%s) failed: %s", i, l->name,
             hwt_layer_type_name(l->type), hwt_isa_name(x->choice.isa), hwt_status_string(st));
    return st;
  }
  x->kind = kind_own_sparse;
  return hwt_status_ok;
}

static hwt_status create_node(hwt_engine *e, size_t i, unsigned cap, const hwt_engine_options *opt, char *err,
                              size_t errlen) {
  const hwt_model *m = e->m;
  const hwt_layer *l = &m->layers[i];
  node_exec *x = &e->nx[i];
  bool rq8 = hwt_node_reads_q8(l);
  for (int j = 0; j < l->nin; j++) {
    const value_buf *v = &e->vals[vidx(e, l->inputs[j])];
    x->in[j] = v->q8 == rq8 ? v->p : v->alt;
    x->ish[j] = v->shape;
    x->irank[j] = hwt_model_value_rank(m, l->inputs[j]);
    x->iq[j] = v->q;
  }
  x->dst = x->fout != NULL ? (void *) x->fout : e->vals[e->ni + i].p;
  bool wnode = l->type == hwt_layer_fc || l->type == hwt_layer_conv || l->type == hwt_layer_dwconv;
  if (wnode && l->wq != NULL && !l->q8) return create_logits(e, i, cap, opt, err, errlen);
  if (!wnode && !rq8 && l->type != hwt_layer_quantize && !hwt_engine_native_ops) {
    hwt_status st;
    if (create_xnn_elementwise(e, i, x, cap, err, errlen, &st)) return st;
  }
  if (!wnode) {
    x->kind = kind_native;
    x->native_q8 = l->type == hwt_layer_quantize || (rq8 && hwt_op_has_q8(l->type));
    x->choice = (hwt_layer_choice){hwt_impl_native, hwt_isa_scalar, 1, {0, 0, 0}, "native", false, 0, 0, false};
    return hwt_status_ok;
  }
  bool q = l->wq != NULL; /* and q8: int8 in, int8 out */
  if (!q && l->w == NULL) {
    hwt_errf(err, errlen, "layer %zu '%s' (%s): no weights", i, l->name, hwt_layer_type_name(l->type));
    return hwt_status_invalid_argument;
  }
  x->choice = (hwt_layer_choice){hwt_impl_xnnpack, hwt_isa_scalar, cap, {0, 0, 0}, "default", false, 0, 0, false};
  hwt_layer_query qry = {op_name(l, q), l, e->batch, 0, 0, 0, 0};
  if (l->type == hwt_layer_fc) {
    qry.m = e->batch;
    qry.n = l->outputs;
    qry.k = hwt_shape_size(x->ish[0]);
  } else {
    qry.m = e->batch * l->out.h * l->out.w;
    qry.n = l->out.c;
    qry.k = (size_t) l->kh * l->kw * (l->type == hwt_layer_dwconv ? 1 : x->ish[0].c / hwt_conv_groups(l));
  }
  bool sparse_ok = !q && hwt_spmm_own_eligible(l); /* spmm_own.c */
  if (sparse_ok) {
    hwt_spmm_own_prepare(l, qry.n, qry.k, &x->choice);
    qry.sparsity = x->choice.sparsity;
  }
  if (opt->chooser != NULL) opt->chooser(opt->chooser_ctx, &qry, &x->choice);
  if (x->choice.threads == 0) x->choice.threads = 1;
  if (x->choice.threads > cap) x->choice.threads = cap;
  x->pool = get_pool(x->choice.threads);
  if (x->choice.threads > 1 && x->pool == NULL) {
    hwt_errf(err, errlen, "layer %zu '%s': cannot create a pool of %u threads", i, l->name, x->choice.threads);
    return hwt_status_out_of_memory;
  }
  if (sparse_ok) {
    hwt_sparse_mode mode = hwt_spmm_own_mode(opt->sparse);
    bool sparse = hwt_spmm_own_decide(mode, &x->choice);
    if (sparse || x->choice.sparsity > 0.0 || mode != hwt_sparse_auto) {
      char note[64], prev[sizeof(x->choice.source)];
      hwt_spmm_own_note(mode, &x->choice, note, sizeof note);
      memcpy(prev, x->choice.source, sizeof prev);
      snprintf(x->choice.source, sizeof x->choice.source, "%.40s; %.52s", prev, note);
    }
    if (sparse) return create_sparse(e, i, x, err, errlen);
  }
  if (hwt_conv_own_eligible(l) && hwt_conv_own_forced() && x->choice.impl != hwt_impl_own) {
    x->choice.impl = hwt_impl_own;
    x->choice.isa = hwt_gemm_best_isa(q ? hwt_gemm_qs8 : hwt_gemm_f32); /* the default choice says scalar */
    note_source(&x->choice, "%.22s (%s)", "env own");
  }
  if (x->choice.impl == hwt_impl_own && hwt_conv_own_eligible(l)) return create_own_conv(e, i, x, q, err, errlen);
  if (hwt_dwconv_own_eligible(l, x->ish[0]) && (x->choice.impl == hwt_impl_own || hwt_dwconv_own_forced()))
    return create_own_dw(e, i, x, q, err, errlen);
  if (x->choice.impl == hwt_impl_own && !(l->type == hwt_layer_fc || is_1x1(l))) {
    /* Our kernels are GEMMs: they run fully-connected layers and 1x1 convolutions only. */
    x->choice.impl = hwt_impl_xnnpack;
    note_source(&x->choice, "%.24s (%s)", "own n/a");
  }
  if (x->choice.impl != hwt_impl_own) x->choice.impl = hwt_impl_xnnpack;
  return x->choice.impl == hwt_impl_own ? create_own(e, i, x, q, err, errlen) : create_xnn(e, i, x, q, err, errlen);
}

hwt_status hwt_engine_create(const hwt_model *m, size_t batch, const hwt_engine_options *opt, hwt_engine **out,
                             char *err, size_t errlen) {
  hwt_engine_options none = {0};
  if (opt == NULL) opt = &none;
  *out = NULL;
  if (m == NULL || batch == 0 || m->nlayers == 0) {
    hwt_errf(err, errlen, "engine: needs a model and a batch >= 1");
    return hwt_status_invalid_argument;
  }
  if (m->ninputs > HWT_GRAPH_MAX_IO || m->noutputs > HWT_GRAPH_MAX_IO) {
    hwt_errf(err, errlen, "engine: the model has %zu graph inputs and %zu outputs (at most %d each)", m->ninputs,
             m->noutputs, HWT_GRAPH_MAX_IO);
    return hwt_status_invalid_argument;
  }
  hwt_status st = hwt_engine_global_init(err, errlen);
  if (st != hwt_status_ok) return st;
  size_t live0 = hwt_engine_mem_stats().live_bytes;
  hwt_engine *e = hwt_rt_calloc(1, sizeof(*e));
  if (e == NULL) goto oom;
  e->m = m;
  e->batch = batch;
  e->timing = opt->layer_timing;
  e->leak_bytes = opt->test_leak_bytes;
  const char *leak = getenv("HWTUNE_ENGINE_TEST_LEAK");
  if (leak != NULL && e->leak_bytes == 0) e->leak_bytes = (size_t) strtoull(leak, NULL, 10);
  e->ni = m->ninputs ? m->ninputs : 1;
  e->nv = e->ni + m->nlayers;
  e->nout = m->noutputs ? m->noutputs : 1;
  for (size_t k = 0; k < e->ni; k++) {
    int id = HWT_INPUT_ID(k);
    e->in_io[k] = (io_desc){id, hwt_model_value_shape(m, id), hwt_model_value_rank(m, id)};
  }
  for (size_t k = 0; k < e->nout; k++) {
    int id = m->noutputs ? m->outputs[k].value : (int) m->nlayers - 1;
    e->out_io[k] = (io_desc){id, hwt_model_value_shape(m, id), m->noutputs ? m->outputs[k].rank : 0};
  }
  e->nx = hwt_rt_calloc(m->nlayers, sizeof(node_exec));
  e->vals = hwt_rt_calloc(e->nv, sizeof(value_buf));
  if (e->nx == NULL || e->vals == NULL) goto oom;
  for (size_t v = 0; v < e->nv; v++) {
    int id = v < e->ni ? HWT_INPUT_ID(v) : (int) (v - e->ni);
    value_buf *vb = &e->vals[v];
    vb->shape = hwt_model_value_shape(m, id);
    vb->q8 = hwt_model_value_q8(m, id);
    vb->q = hwt_model_value_q(m, id);
    size_t bytes;
    if (__builtin_mul_overflow(hwt_shape_size(vb->shape), batch, &vb->n) || !nbytes(vb->n, sizeof(float), &bytes)) {
      hwt_errf(err, errlen, "engine: value %d (%ux%ux%u) x batch %zu does not fit in memory's address range", id,
               vb->shape.h, vb->shape.w, vb->shape.c, batch);
      hwt_engine_destroy(e);
      return hwt_status_out_of_memory;
    }
  }
  for (size_t i = 0; i < m->nlayers; i++) {
    const hwt_layer *l = &m->layers[i];
    bool ok = l->nin >= 1 && l->nin <= HWT_NODE_MAX_INPUTS;
    for (int j = 0; ok && j < l->nin; j++) ok = l->inputs[j] < (int) i && l->inputs[j] >= HWT_INPUT_ID(e->ni - 1);
    if (!ok) {
      hwt_errf(err, errlen, "layer %zu '%s' (%s): inputs not set or not earlier values (finalize the model)", i,
               l->name, hwt_layer_type_name(l->type));
      hwt_engine_destroy(e);
      return hwt_status_invalid_argument;
    }
  }
  st = build_plan(e, opt, err, errlen);
  if (st != hwt_status_ok) {
    hwt_engine_destroy(e);
    return st;
  }
  /* More threads than usable CPUs only ever wait for each other: the cap is the usable CPUs at most. */
  unsigned usable = hwt_engine_usable_cpus();
  unsigned cap = opt->threads && opt->threads < usable ? opt->threads : usable;
  if (cap > MAX_POOL_THREADS) cap = MAX_POOL_THREADS;
  size_t plan_bytes = 0;
  for (size_t i = 0; i < m->nlayers; i++) {
    st = create_node(e, i, cap, opt, err, errlen);
    if (st != hwt_status_ok) {
      hwt_engine_destroy(e);
      return st;
    }
    if (e->nx[i].pf != NULL) plan_bytes += hwt_gemm_f32_plan_bytes(e->nx[i].pf);
    if (e->nx[i].pq != NULL) plan_bytes += hwt_gemm_qs8_plan_bytes(e->nx[i].pq);
    plan_bytes += hwt_conv_own_bytes(e->nx[i].conv);
    plan_bytes += hwt_dwconv_own_bytes(e->nx[i].dw);
    if (e->nx[i].ps != NULL) plan_bytes += hwt_spmm_f32_plan_bytes(e->nx[i].ps);
  }
  e->bytes = hwt_engine_mem_stats().live_bytes - live0 + plan_bytes;
  *out = e;
  return hwt_status_ok;
oom:
  hwt_errf(err, errlen, "engine: out of memory");
  hwt_engine_destroy(e);
  return hwt_status_out_of_memory;
}

/* ---- run ---- */

/* The other-type copy of a value that some consumer reads. */
static void convert_alt(const value_buf *v) {
  if (v->alt == NULL) return;
  if (v->q8)
    hwt_q8_vec_best()->dequantize(v->p, v->n, v->q.scale, v->q.zero_point, v->alt);
  else
    hwt_q8_vec_best()->quantize(v->p, v->n, v->q.scale, v->q.zero_point, v->alt);
}

static hwt_status run_node(hwt_engine *e, size_t i) {
  const hwt_layer *l = &e->m->layers[i];
  node_exec *x = &e->nx[i];
  switch (x->kind) {
    case kind_xnn:
      if (xnn_run_operator(x->op, x->pool) != xnn_status_success) return hwt_status_internal;
      break;
    case kind_own_f32: hwt_gemm_f32_run(x->pf, x->gemm_m, x->in[0], x->lda, x->dst, l->out.c, x->pool); break;
    case kind_own_q8: hwt_gemm_qs8_run(x->pq, x->gemm_m, x->in[0], x->lda, x->dst, l->out.c, x->pool); break;
    case kind_own_conv: hwt_conv_own_run(x->conv, e->batch, x->in[0], x->dst, x->pool); break;
    case kind_own_dw: hwt_dwconv_own_run(x->dw, e->batch, x->in[0], x->dst, x->pool); break;
    case kind_own_sparse: hwt_spmm_f32_run(x->ps, x->gemm_m, x->in[0], x->lda, x->dst, l->out.c, x->pool); break;
    case kind_logits: {
      if (x->pq != NULL) { /* int8 fc, float out (create_logits) */
        hwt_gemm_qs8_f32out_run(x->pq, e->batch, x->in[0], hwt_shape_size(x->ish[0]), x->dst, l->outputs, x->pool);
        break;
      }
      size_t k = e->vals[vidx(e, l->inputs[0])].n;
      /* (float) (q - zp) is exactly 1.0f * (float) (q - zp) */
      hwt_q8_vec_best()->dequantize(x->in[0], k, 1.0f, x->iq[0].zero_point, x->fin);
      if (x->op != NULL) {
        if (xnn_run_operator(x->op, x->pool) != xnn_status_success) return hwt_status_internal;
      } else {
        hwt_gemm_f32_run(x->pf, e->batch, x->fin, hwt_shape_size(x->ish[0]), x->dst, l->outputs, x->pool);
      }
      break;
    }
    default:
      if (x->native_q8)
        hwt_op_q8(l, e->batch, x->in, x->ish, x->irank, x->iq, x->dst);
      else
        hwt_op_f32(l, e->batch, x->in, x->ish, x->irank, x->iq, x->dst);
      break;
  }
  if (x->fout != NULL) { /* q8 node computed in float */
    hwt_q8_vec_best()->quantize(x->fout, e->vals[e->ni + i].n, l->oq.scale, l->oq.zero_point, e->vals[e->ni + i].p);
  }
  return hwt_status_ok;
}

/* Elements of x that are NaN or +-Inf (exponent bits all ones), counted in 32-bit blocks the compiler vectorizes. */
static size_t count_nonfinite(const float *x, size_t n) {
  size_t bad = 0;
  for (size_t i0 = 0; i0 < n; i0 += (size_t) 1 << 30) {
    size_t e = n - i0 < ((size_t) 1 << 30) ? n : i0 + ((size_t) 1 << 30);
    uint32_t b = 0;
    for (size_t i = i0; i < e; i++) {
      uint32_t u;
      memcpy(&u, &x[i], sizeof u);
      b += (u & 0x7f800000u) == 0x7f800000u;
    }
    bad += b;
  }
  return bad;
}

hwt_status hwt_engine_run_io(hwt_engine *e, const float *const *ins, float *const *outs, hwt_run_info *info) {
  const hwt_model *m = e->m;
  size_t bad = 0;
  for (size_t k = 0; k < e->ni; k++) {
    if (ins[k] == NULL) continue;
    const io_desc *io = &e->in_io[k];
    value_buf *v = &e->vals[k];
    const float *src = ins[k];
    bad += count_nonfinite(src, v->n);
    if (v->q8) {
      if (e->in_scratch[k] != NULL) {
        hwt_layout_to_internal(io->shape, io->rank, e->batch, src, e->in_scratch[k]);
        src = e->in_scratch[k];
      }
      hwt_q8_vec_best()->quantize(src, v->n, v->q.scale, v->q.zero_point, v->p);
    } else {
      hwt_layout_to_internal(io->shape, io->rank, e->batch, src, v->p);
    }
    convert_alt(v);
  }
  for (size_t i = 0; i < m->nlayers; i++) {
    uint64_t t0 = e->timing ? hwt_now_ns() : 0;
    hwt_status st = run_node(e, i);
    if (st != hwt_status_ok) return st;
    convert_alt(&e->vals[e->ni + i]);
    if (e->timing) e->nx[i].ns = hwt_now_ns() - t0;
  }
  size_t obad = 0;
  for (size_t k = 0; k < e->nout; k++) {
    if (outs[k] == NULL) continue;
    const io_desc *io = &e->out_io[k];
    const value_buf *v = &e->vals[vidx(e, io->value)];
    const float *src = v->p;
    if (v->q8) {
      float *d = e->out_scratch[k] != NULL ? e->out_scratch[k] : outs[k];
      hwt_q8_vec_best()->dequantize(v->p, v->n, v->q.scale, v->q.zero_point, d);
      src = d;
    }
    if (src != outs[k]) hwt_layout_to_external(io->shape, io->rank, e->batch, src, outs[k]);
    obad += count_nonfinite(outs[k], v->n);
  }
  if (info != NULL) {
    info->input_nonfinite = bad;
    info->output_nonfinite = obad;
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

hwt_status hwt_engine_run(hwt_engine *e, const float *in, float *out, hwt_run_info *info) {
  const float *ins[HWT_GRAPH_MAX_IO] = {in};
  float *outs[HWT_GRAPH_MAX_IO] = {out};
  return hwt_engine_run_io(e, ins, outs, info);
}
