/* SPDX-License-Identifier: Apache-2.0 */
/* ONNX export (onnx.h): a graph written as an opset 13 ModelProto (14 when it has HardSwish), NCHW in the file;
 * int8 graphs in QDQ form (onnx.h). Weights are re-laid back from NHWC; fused activations become Relu / Clip nodes; an fc reading a
 * [C, H, W] value gets a Flatten, and its weight columns are permuted from the internal HWC order to CHW.
 * Every allocation of the message tree goes to one list freed at the end. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine_internal.h"
#include "hwt_common.h"
#include "onnx_internal.h"

typedef struct ex {
  const hwt_model *m;
  const char *path;
  char *err;
  size_t errlen;
  void **blocks;
  size_t nblocks, capblocks;
  bool oom;
  Onnx__NodeProto **nodes;
  size_t nnodes, capnodes;
  Onnx__TensorProto **inits;
  size_t ninits, capinits;
  char **vname;           /* per layer: the name of its output value (float; for int8 values the DequantizeLinear
                             output) */
  char **vdq;             /* QDQ: per value (index 0..ninputs-1 graph inputs, then layers): the name int8 readers
                             read (vname behind QuantizeLinear / DequantizeLinear with the value's parameters), or
                             NULL when no int8 node reads it */
  bool qdq;               /* an int8 graph, written as QDQ */
  bool hard_swish;
} ex;

static void *ex_alloc(ex *x, size_t n) {
  if (x->oom) return NULL;
  if (x->nblocks == x->capblocks) {
    size_t cap = x->capblocks ? x->capblocks * 2 : 256;
    void **p = realloc(x->blocks, cap * sizeof *p);
    if (p == NULL) {
      x->oom = true;
      return NULL;
    }
    x->blocks = p;
    x->capblocks = cap;
  }
  void *b = calloc(1, n ? n : 1);
  if (b == NULL) {
    x->oom = true;
    return NULL;
  }
  x->blocks[x->nblocks++] = b;
  return b;
}

static char *ex_str(ex *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *ex_str(ex *x, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  char *s = ex_alloc(x, strlen(buf) + 1);
  if (s) strcpy(s, buf);
  return s;
}

static bool push(ex *x, void ***arr, size_t *n, size_t *cap, void *item) {
  if (item == NULL) return false;
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 64;
    void **p = ex_alloc(x, c * sizeof *p);
    if (p == NULL) return false;
    if (*n) memcpy(p, *arr, *n * sizeof *p);
    *arr = p;
    *cap = c;
  }
  (*arr)[(*n)++] = item;
  return true;
}

static Onnx__NodeProto *add_node(ex *x, const char *op, const char *name, size_t nin) {
  Onnx__NodeProto *n = ex_alloc(x, sizeof *n);
  if (n == NULL) return NULL;
  onnx__node_proto__init(n);
  n->op_type = (char *) op;
  n->name = (char *) name;
  n->input = ex_alloc(x, (nin ? nin : 1) * sizeof(char *));
  n->n_input = nin;
  n->output = ex_alloc(x, sizeof(char *));
  n->n_output = 1;
  n->attribute = ex_alloc(x, 8 * sizeof(Onnx__AttributeProto *));
  if (!push(x, (void ***) &x->nodes, &x->nnodes, &x->capnodes, n) || n->input == NULL || n->output == NULL ||
      n->attribute == NULL)
    return NULL;
  return n;
}

static Onnx__AttributeProto *new_attr(ex *x, Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType t) {
  Onnx__AttributeProto *a = ex_alloc(x, sizeof *a);
  if (a == NULL || n->n_attribute >= 8) return NULL;
  onnx__attribute_proto__init(a);
  a->name = (char *) name;
  a->has_type = 1;
  a->type = t;
  n->attribute[n->n_attribute++] = a;
  return a;
}

static void attr_i(ex *x, Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *a = new_attr(x, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  if (a) a->has_i = 1, a->i = v;
}

static void attr_f(ex *x, Onnx__NodeProto *n, const char *name, float v) {
  Onnx__AttributeProto *a = new_attr(x, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  if (a) a->has_f = 1, a->f = v;
}

static void attr_ints(ex *x, Onnx__NodeProto *n, const char *name, const int64_t *v, size_t k) {
  Onnx__AttributeProto *a = new_attr(x, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  int64_t *p = ex_alloc(x, k * sizeof *p);
  if (a == NULL || p == NULL) return;
  memcpy(p, v, k * sizeof *p);
  a->ints = p;
  a->n_ints = k;
}

/* A float initializer of `rank` dims; returns its data (to fill) or NULL. */
static float *add_init(ex *x, const char *name, const int64_t *dims, size_t rank) {
  Onnx__TensorProto *t = ex_alloc(x, sizeof *t);
  if (t == NULL) return NULL;
  onnx__tensor_proto__init(t);
  t->name = (char *) name;
  t->has_data_type = 1;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t->dims = ex_alloc(x, (rank ? rank : 1) * sizeof(int64_t));
  size_t n = 1;
  for (size_t i = 0; i < rank; i++) n *= (size_t) dims[i];
  t->float_data = ex_alloc(x, n * sizeof(float));
  if (t->dims == NULL || t->float_data == NULL) return NULL;
  if (rank) memcpy(t->dims, dims, rank * sizeof(int64_t));
  t->n_dims = rank;
  t->n_float_data = n;
  if (!push(x, (void ***) &x->inits, &x->ninits, &x->capinits, t)) return NULL;
  return t->float_data;
}

static void add_init_i64(ex *x, const char *name, const int64_t *v, size_t n) {
  Onnx__TensorProto *t = ex_alloc(x, sizeof *t);
  if (t == NULL) return;
  onnx__tensor_proto__init(t);
  t->name = (char *) name;
  t->has_data_type = 1;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
  t->dims = ex_alloc(x, sizeof(int64_t));
  t->int64_data = ex_alloc(x, (n ? n : 1) * sizeof(int64_t));
  if (t->dims == NULL || t->int64_data == NULL) return;
  t->dims[0] = (int64_t) n;
  t->n_dims = 1;
  memcpy(t->int64_data, v, n * sizeof(int64_t));
  t->n_int64_data = n;
  push(x, (void ***) &x->inits, &x->ninits, &x->capinits, t);
}

/* An initializer of `type` with raw (little-endian) data of `n` elements of `esize` bytes; returns the bytes to
 * fill or NULL. */
static void *add_init_raw(ex *x, const char *name, int32_t type, size_t esize, const int64_t *dims, size_t rank) {
  Onnx__TensorProto *t = ex_alloc(x, sizeof *t);
  if (t == NULL) return NULL;
  onnx__tensor_proto__init(t);
  t->name = (char *) name;
  t->has_data_type = 1;
  t->data_type = type;
  t->dims = ex_alloc(x, (rank ? rank : 1) * sizeof(int64_t));
  size_t n = 1;
  for (size_t i = 0; i < rank; i++) n *= (size_t) dims[i];
  uint8_t *data = ex_alloc(x, n * esize);
  if (t->dims == NULL || data == NULL) return NULL;
  if (rank) memcpy(t->dims, dims, rank * sizeof(int64_t));
  t->n_dims = rank;
  t->has_raw_data = 1;
  t->raw_data.data = data;
  t->raw_data.len = n * esize;
  if (!push(x, (void ***) &x->inits, &x->ninits, &x->capinits, t)) return NULL;
  return data;
}

static void put_i32(uint8_t *p, int32_t v) {
  uint32_t u = (uint32_t) v;
  p[0] = (uint8_t) u, p[1] = (uint8_t) (u >> 8), p[2] = (uint8_t) (u >> 16), p[3] = (uint8_t) (u >> 24);
}

static bool consumes_spatial(hwt_layer_type t) {
  return t == hwt_layer_conv || t == hwt_layer_dwconv || t == hwt_layer_maxpool || t == hwt_layer_avgpool ||
         t == hwt_layer_gavgpool;
}

/* The logical rank written for value id: its own, or for native (rank 0) values 4 when they are images (h * w
 * > 1, or produced / read by a spatial node), else 2. */
static uint8_t value_rank(const ex *x, int id) {
  const hwt_model *m = x->m;
  uint8_t r = hwt_model_value_rank(m, id);
  if (r != 0) return r;
  hwt_shape s = hwt_model_value_shape(m, id);
  if ((size_t) s.h * s.w > 1) return 4;
  if (id >= 0 && consumes_spatial(m->layers[id].type)) return 4;
  for (size_t i = 0; i < m->nlayers; i++)
    for (int k = 0; k < m->layers[i].nin; k++)
      if (m->layers[i].inputs[k] == id && consumes_spatial(m->layers[i].type)) return 4;
  return 2;
}

static const char *value_name(const ex *x, int id) {
  return id >= 0 ? x->vname[id] : x->m->inputs[-1 - id].name;
}

/* QDQ: the index of value id in vdq (graph inputs first, then layers). */
static size_t vindex(const ex *x, int id) { return id < 0 ? (size_t) (-1 - id) : x->m->ninputs + (size_t) id; }

/* The name node l reads for input k: int8 readers in a QDQ graph read the dequantized int8 form. */
static const char *input_name(const ex *x, const hwt_layer *l, int k) {
  int id = l->inputs[k];
  if (x->qdq && hwt_node_reads_q8(l) && x->vdq[vindex(x, id)] != NULL) return x->vdq[vindex(x, id)];
  return value_name(x, id);
}

static Onnx__ValueInfoProto *value_info(ex *x, const char *name, hwt_shape s, uint8_t rank) {
  Onnx__ValueInfoProto *vi = ex_alloc(x, sizeof *vi);
  Onnx__TypeProto *tp = ex_alloc(x, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = ex_alloc(x, sizeof *tt);
  Onnx__TensorShapeProto *sp = ex_alloc(x, sizeof *sp);
  Onnx__TensorShapeProto__Dimension **dims = ex_alloc(x, 4 * sizeof *dims);
  if (!vi || !tp || !tt || !sp || !dims) return NULL;
  onnx__value_info_proto__init(vi);
  onnx__type_proto__init(tp);
  onnx__type_proto__tensor__init(tt);
  onnx__tensor_shape_proto__init(sp);
  int64_t d[4] = {0, s.c, s.h, s.w};
  if (rank == 3) d[2] = s.w;
  for (uint8_t i = 0; i < rank; i++) {
    Onnx__TensorShapeProto__Dimension *dm = ex_alloc(x, sizeof *dm);
    if (dm == NULL) return NULL;
    onnx__tensor_shape_proto__dimension__init(dm);
    if (i == 0 && x->m->fixed_batch == 0) {
      dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      dm->dim_param = "N";
    } else {
      dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      dm->dim_value = i == 0 ? x->m->fixed_batch : d[i];
    }
    dims[i] = dm;
  }
  sp->dim = dims;
  sp->n_dim = rank;
  tt->has_elem_type = 1;
  tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tt->shape = sp;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  vi->name = (char *) name;
  vi->type = tp;
  return vi;
}

static hwt_status fail(ex *x, size_t i, const char *what) {
  const hwt_layer *l = &x->m->layers[i];
  hwt_errf(x->err, x->errlen, "%s: node %zu '%s' (%s): %s", x->path, i, l->name, hwt_layer_type_name(l->type), what);
  return hwt_status_unsupported;
}

/* The clamp node of a fused activation: reads `in`, writes `out`. */
static void act_node(ex *x, const hwt_layer *l, size_t i, const char *in, const char *out) {
  if (l->act == hwt_act_relu) {
    Onnx__NodeProto *n = add_node(x, "Relu", ex_str(x, "%s_relu", l->name), 1);
    if (n) n->input[0] = (char *) in, n->output[0] = (char *) out;
    return;
  }
  float lo = l->act == hwt_act_relu6 ? 0.0f : l->act_lo, hi = l->act == hwt_act_relu6 ? 6.0f : l->act_hi;
  Onnx__NodeProto *n = add_node(x, "Clip", ex_str(x, "%s_clip", l->name), 3);
  char *lon = ex_str(x, "n%zu_min", i), *hin = ex_str(x, "n%zu_max", i);
  float *a = add_init(x, lon, NULL, 0), *b = add_init(x, hin, NULL, 0);
  if (!n || !a || !b) return;
  *a = lo;
  *b = hi;
  n->input[0] = (char *) in;
  n->input[1] = lon;
  n->input[2] = hin;
  n->output[0] = (char *) out;
}

static void qdq_nodes(ex *x, const char *tag, const char *src, const char *dst, hwt_qparams q);

/* The name an fc reads: its input, flattened to [N, K] when that value is an image (an int8 input is quantized
 * again after the Flatten with its own parameters, so that the Gemm reads a DequantizeLinear output). */
static const char *fc_input(ex *x, const hwt_layer *l, size_t i) {
  int id = l->inputs[0];
  const char *in = input_name(x, l, 0);
  if (value_rank(x, id) == 2) return in;
  Onnx__NodeProto *n = add_node(x, "Flatten", ex_str(x, "%s_flatten", l->name), 1);
  char *out = ex_str(x, "n%zu_flat", i);
  if (!n) return NULL;
  n->input[0] = (char *) in;
  n->output[0] = out;
  attr_i(x, n, "axis", 1);
  if (x->qdq && hwt_node_reads_q8(l)) {
    char *dq = ex_str(x, "qf%zu_dq", i);
    qdq_nodes(x, ex_str(x, "qf%zu", i), out, dq, hwt_model_value_q(x->m, id));
    return dq;
  }
  return out;
}

/* QuantizeLinear (scale, zero point) of `src` into `<tag>_q`, then DequantizeLinear of it into `dst`. Activations
 * are written as UINT8 with the zero point moved by 128: the same grid as hwtune's int8 (q_u8 = q_s8 + 128; the
 * importer reads it back as int8, bit for bit), and the form ONNX Runtime's x86 kernels fuse everywhere. With INT8
 * activations ONNX Runtime 1.31 fused 37 of MobileNet v2's 52 convolutions and no Add, ran the rest in float, and
 * was 1.7x slower (6.4-6.8 vs 3.7-3.9 ms at 1 thread): a handicapped peer. Weights stay INT8 (symmetric). */
static void qdq_nodes(ex *x, const char *tag, const char *src, const char *dst, hwt_qparams q) {
  char *sn = ex_str(x, "%s_scale", tag), *zn = ex_str(x, "%s_zero_point", tag), *qn = ex_str(x, "%s_q", tag);
  float *sc = add_init(x, sn, NULL, 0);
  uint8_t *zp = add_init_raw(x, zn, ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, 1, NULL, 0);
  Onnx__NodeProto *qnode = add_node(x, "QuantizeLinear", ex_str(x, "%s_quantize", tag), 3);
  Onnx__NodeProto *dnode = add_node(x, "DequantizeLinear", ex_str(x, "%s_dequantize", tag), 3);
  if (!sc || !zp || !qnode || !dnode || !qn) return;
  *sc = q.scale;
  *zp = (uint8_t) (q.zero_point + 128);
  qnode->input[0] = (char *) src, qnode->input[1] = sn, qnode->input[2] = zn, qnode->output[0] = qn;
  dnode->input[0] = qn, dnode->input[1] = sn, dnode->input[2] = zn, dnode->output[0] = (char *) dst;
}

/* Int8 weights `wq` (already in the file's layout, n values, dims wd) as an INT8 initializer with per-channel scales
 * along axis 0 and a DequantizeLinear into the float name `wn`; the int32 bias likewise into `bn`, its scale
 * in_scale * wscale[c] and zero point 0. */
static bool q8_params(ex *x, size_t i, const hwt_layer *l, const int8_t *wq, const int64_t *wd, size_t rank,
                      size_t cout, float in_scale, const char *wn, const char *bn) {
  int64_t cd[1] = {(int64_t) cout};
  char *wqn = ex_str(x, "n%zu_W_q", i), *wsn = ex_str(x, "n%zu_W_scale", i), *wzn = ex_str(x, "n%zu_W_zero_point", i);
  char *bqn = ex_str(x, "n%zu_B_q", i), *bsn = ex_str(x, "n%zu_B_scale", i), *bzn = ex_str(x, "n%zu_B_zero_point", i);
  size_t n = 1;
  for (size_t d = 0; d < rank; d++) n *= (size_t) wd[d];
  int8_t *w = add_init_raw(x, wqn, ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 1, wd, rank);
  float *ws = add_init(x, wsn, cd, 1), *bs = add_init(x, bsn, cd, 1);
  int8_t *wz = add_init_raw(x, wzn, ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 1, cd, 1);
  uint8_t *b = add_init_raw(x, bqn, ONNX__TENSOR_PROTO__DATA_TYPE__INT32, 4, cd, 1);
  uint8_t *bz = add_init_raw(x, bzn, ONNX__TENSOR_PROTO__DATA_TYPE__INT32, 4, cd, 1);
  Onnx__NodeProto *wdq = add_node(x, "DequantizeLinear", ex_str(x, "%s_W_dequantize", l->name), 3);
  Onnx__NodeProto *bdq = add_node(x, "DequantizeLinear", ex_str(x, "%s_B_dequantize", l->name), 3);
  if (!w || !ws || !bs || !wz || !b || !bz || !wdq || !bdq) return false;
  memcpy(w, wq, n);
  for (size_t c = 0; c < cout; c++) {
    ws[c] = l->wscale[c];
    bs[c] = in_scale * l->wscale[c];
    wz[c] = 0;
    put_i32(b + 4 * c, l->bq != NULL ? l->bq[c] : 0);
    put_i32(bz + 4 * c, 0);
  }
  wdq->input[0] = wqn, wdq->input[1] = wsn, wdq->input[2] = wzn, wdq->output[0] = (char *) wn;
  bdq->input[0] = bqn, bdq->input[1] = bsn, bdq->input[2] = bzn, bdq->output[0] = (char *) bn;
  attr_i(x, wdq, "axis", 0);
  attr_i(x, bdq, "axis", 0);
  /* topological order: the two DequantizeLinear nodes go before the op that reads them (added just before) */
  size_t k = x->nnodes;
  Onnx__NodeProto *op = x->nodes[k - 3];
  x->nodes[k - 3] = wdq, x->nodes[k - 2] = bdq, x->nodes[k - 1] = op;
  return !x->oom;
}

static hwt_status export_layer(ex *x, size_t i) {
  const hwt_layer *l = &x->m->layers[i];
  /* an int8 value: the op writes its float result to `out`, quantized and dequantized into vname */
  char *out = x->qdq && l->q8 ? ex_str(x, "f%zu", i) : x->vname[i];
  bool fused = l->act != hwt_act_none;
  char *pre = fused ? ex_str(x, "n%zu_pre", i) : out;
  Onnx__NodeProto *n = NULL;
  const char *in0 = input_name(x, l, 0);
  float in_scale = hwt_model_value_q(x->m, l->inputs[0]).scale;
  uint8_t r_in = value_rank(x, l->inputs[0]);
  switch (l->type) {
    case hwt_layer_conv:
    case hwt_layer_dwconv: {
      bool dw = l->type == hwt_layer_dwconv;
      uint32_t g = dw ? l->in.c : (l->groups ? l->groups : 1), cout = dw ? l->in.c : l->outputs;
      uint32_t cpg = dw ? 1 : l->in.c / g;
      bool one_d = r_in == 3;
      if (one_d && l->kh != 1) return fail(x, i, "a 1-D value with a 2-D kernel");
      n = add_node(x, "Conv", l->name, 3);
      char *wn = ex_str(x, "n%zu_W", i), *bn = ex_str(x, "n%zu_B", i);
      int64_t wd[4] = {cout, cpg, l->kh, l->kw}, bd[1] = {cout};
      if (one_d) wd[2] = l->kw;
      size_t kh = l->kh, kw = l->kw;
      if (l->wq != NULL) { /* int8 weights: re-laid as integers, dequantized in the file */
        size_t nw;
        int8_t *w = __builtin_mul_overflow((size_t) cout * cpg, kh * kw, &nw) ? NULL : malloc(nw ? nw : 1);
        if (w == NULL) {
          x->oom = true;
          break;
        }
        for (size_t o = 0; o < cout; o++)
          for (size_t c = 0; c < cpg; c++)
            for (size_t y = 0; y < kh; y++)
              for (size_t xx = 0; xx < kw; xx++)
                w[((o * cpg + c) * kh + y) * kw + xx] =
                    dw ? l->wq[(y * kw + xx) * cout + o] : l->wq[((o * kh + y) * kw + xx) * cpg + c];
        bool ok = n && q8_params(x, i, l, w, wd, one_d ? 3 : 4, cout, in_scale, wn, bn);
        free(w);
        if (!ok) break;
      } else {
        float *w = add_init(x, wn, wd, one_d ? 3 : 4), *b = add_init(x, bn, bd, 1);
        if (!n || !w || !b) break;
        for (size_t o = 0; o < cout; o++)
          for (size_t c = 0; c < cpg; c++)
            for (size_t y = 0; y < kh; y++)
              for (size_t xx = 0; xx < kw; xx++)
                w[((o * cpg + c) * kh + y) * kw + xx] =
                    dw ? l->w[(y * kw + xx) * cout + o] : l->w[((o * kh + y) * kw + xx) * cpg + c];
        memcpy(b, l->b, cout * sizeof(float));
      }
      n->input[0] = (char *) in0, n->input[1] = wn, n->input[2] = bn;
      int64_t ks[2] = {l->kh, l->kw}, st[2] = {l->sh, l->sw}, dl[2] = {l->dh ? l->dh : 1, l->dw ? l->dw : 1};
      int64_t pads[4] = {l->pad_t, l->pad_l, l->pad_b, l->pad_r};
      if (one_d) {
        int64_t k1[1] = {l->kw}, s1[1] = {l->sw}, d1[1] = {dl[1]}, p1[2] = {l->pad_l, l->pad_r};
        attr_ints(x, n, "kernel_shape", k1, 1), attr_ints(x, n, "strides", s1, 1);
        attr_ints(x, n, "dilations", d1, 1), attr_ints(x, n, "pads", p1, 2);
      } else {
        attr_ints(x, n, "kernel_shape", ks, 2), attr_ints(x, n, "strides", st, 2);
        attr_ints(x, n, "dilations", dl, 2), attr_ints(x, n, "pads", pads, 4);
      }
      attr_i(x, n, "group", g);
      break;
    }
    case hwt_layer_fc: {
      const char *a = fc_input(x, l, i);
      n = add_node(x, "Gemm", l->name, 3);
      char *wn = ex_str(x, "n%zu_W", i), *bn = ex_str(x, "n%zu_B", i);
      size_t K = hwt_shape_size(l->in), H = l->in.h, W = l->in.w, C = l->in.c;
      int64_t wd[2] = {l->outputs, (int64_t) K}, bd[1] = {l->outputs};
      /* internal column (y * W + x) * C + c -> logical c * H * W + y * W + x */
      if (l->wq != NULL) {
        size_t nw;
        int8_t *w = __builtin_mul_overflow((size_t) l->outputs, K, &nw) ? NULL : malloc(nw ? nw : 1);
        if (w == NULL) {
          x->oom = true;
          break;
        }
        for (size_t o = 0; o < l->outputs; o++)
          for (size_t y = 0; y < H; y++)
            for (size_t xx = 0; xx < W; xx++)
              for (size_t c = 0; c < C; c++) w[o * K + (c * H + y) * W + xx] = l->wq[o * K + (y * W + xx) * C + c];
        bool ok = n && a && q8_params(x, i, l, w, wd, 2, l->outputs, in_scale, wn, bn);
        free(w);
        if (!ok) break;
      } else {
        float *w = add_init(x, wn, wd, 2), *b = add_init(x, bn, bd, 1);
        if (!n || !a || !w || !b) break;
        for (size_t o = 0; o < l->outputs; o++)
          for (size_t y = 0; y < H; y++)
            for (size_t xx = 0; xx < W; xx++)
              for (size_t c = 0; c < C; c++) w[o * K + (c * H + y) * W + xx] = l->w[o * K + (y * W + xx) * C + c];
        memcpy(b, l->b, l->outputs * sizeof(float));
      }
      n->input[0] = (char *) a, n->input[1] = wn, n->input[2] = bn;
      attr_i(x, n, "transB", 1);
      break;
    }
    case hwt_layer_maxpool:
    case hwt_layer_avgpool: {
      n = add_node(x, l->type == hwt_layer_maxpool ? "MaxPool" : "AveragePool", l->name, 1);
      if (!n) break;
      n->input[0] = (char *) in0;
      if (r_in == 3) {
        int64_t k1[1] = {l->kw}, s1[1] = {l->sw}, p1[2] = {l->pad_l, l->pad_r};
        attr_ints(x, n, "kernel_shape", k1, 1), attr_ints(x, n, "strides", s1, 1), attr_ints(x, n, "pads", p1, 2);
      } else {
        int64_t ks[2] = {l->kh, l->kw}, st[2] = {l->sh, l->sw}, pads[4] = {l->pad_t, l->pad_l, l->pad_b, l->pad_r};
        attr_ints(x, n, "kernel_shape", ks, 2), attr_ints(x, n, "strides", st, 2), attr_ints(x, n, "pads", pads, 4);
      }
      if (l->ceil_mode) attr_i(x, n, "ceil_mode", 1);
      if (l->type == hwt_layer_avgpool && l->count_include_pad) attr_i(x, n, "count_include_pad", 1);
      break;
    }
    case hwt_layer_gavgpool:
      if (value_rank(x, (int) i) == 2 && r_in >= 3) { /* ReduceMean over the spatial axes without keepdims */
        int64_t axes[2] = {2, 3};
        n = add_node(x, "ReduceMean", l->name, 1);
        if (!n) break;
        n->input[0] = (char *) in0;
        attr_ints(x, n, "axes", r_in == 4 ? axes : axes, r_in == 4 ? 2 : 1);
        attr_i(x, n, "keepdims", 0);
      } else {
        n = add_node(x, "GlobalAveragePool", l->name, 1);
        if (n) n->input[0] = (char *) in0;
      }
      break;
    case hwt_layer_softmax:
    case hwt_layer_log_softmax: {
      uint8_t r = value_rank(x, (int) i), axes = l->axes ? l->axes : HWT_AXIS_C;
      int64_t axis = -1;
      if (axes == HWT_AXIS_C) axis = 1;
      else if (axes == HWT_AXIS_H && r == 4) axis = 2;
      else if (axes == HWT_AXIS_W && r >= 3) axis = r - 1;
      if (axis < 0) return fail(x, i, "softmax over several axes has no opset 13 form");
      n = add_node(x, l->type == hwt_layer_softmax ? "Softmax" : "LogSoftmax", l->name, 1);
      if (n) n->input[0] = (char *) in0, attr_i(x, n, "axis", axis);
      break;
    }
    case hwt_layer_add:
    case hwt_layer_sub:
    case hwt_layer_mul:
    case hwt_layer_div:
    case hwt_layer_max:
    case hwt_layer_min:
    case hwt_layer_prelu: {
      static const char *const ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "PRelu"};
      int k = l->type == hwt_layer_add ? 0 : l->type == hwt_layer_sub ? 1 : l->type == hwt_layer_mul ? 2
              : l->type == hwt_layer_div ? 3 : l->type == hwt_layer_max ? 4 : l->type == hwt_layer_min ? 5 : 6;
      n = add_node(x, ops[k], l->name, 2);
      if (!n) break;
      if (l->nin == 2) {
        n->input[0] = (char *) in0, n->input[1] = (char *) input_name(x, l, 1);
        break;
      }
      hwt_shape s = l->wshape;
      char *cn = ex_str(x, "n%zu_K", i);
      int64_t d[4] = {1, s.c, s.h, s.w};
      size_t rank = r_in;
      if (rank == 3) d[2] = s.w;
      float *w = add_init(x, cn, d, rank);
      if (!w) break;
      for (size_t c = 0; c < s.c; c++)
        for (size_t y = 0; y < s.h; y++)
          for (size_t xx = 0; xx < s.w; xx++) w[(c * s.h + y) * s.w + xx] = l->w[(y * s.w + xx) * s.c + c];
      n->input[l->const_first ? 1 : 0] = (char *) in0;
      n->input[l->const_first ? 0 : 1] = cn;
      break;
    }
    case hwt_layer_affine: { /* BatchNormalization with mean 0, var 1, epsilon 0: imports back exactly */
      size_t C = l->in.c;
      int64_t d[1] = {(int64_t) C};
      char *nm[4];
      float *p[4];
      static const char *const suffix[4] = {"scale", "shift", "mean", "var"};
      for (int k = 0; k < 4; k++) {
        nm[k] = ex_str(x, "n%zu_%s", i, suffix[k]);
        p[k] = add_init(x, nm[k], d, 1);
      }
      n = add_node(x, "BatchNormalization", l->name, 5);
      if (!n || !p[0] || !p[1] || !p[2] || !p[3]) break;
      memcpy(p[0], l->w, C * sizeof(float));
      memcpy(p[1], l->b, C * sizeof(float));
      for (size_t c = 0; c < C; c++) p[2][c] = 0.0f, p[3][c] = 1.0f;
      n->input[0] = (char *) in0;
      for (int k = 0; k < 4; k++) n->input[1 + k] = nm[k];
      attr_f(x, n, "epsilon", 0.0f);
      break;
    }
    case hwt_layer_concat:
      n = add_node(x, "Concat", l->name, (size_t) l->nin);
      if (!n) break;
      for (int k = 0; k < l->nin; k++) n->input[k] = (char *) input_name(x, l, k);
      attr_i(x, n, "axis", 1);
      break;
    case hwt_layer_reshape: {
      uint8_t r = value_rank(x, (int) i);
      hwt_shape s = l->out;
      int64_t d[4] = {0, s.c, s.h, s.w};
      if (r == 3) d[2] = s.w;
      char *sn = ex_str(x, "n%zu_shape", i);
      add_init_i64(x, sn, d, r);
      n = add_node(x, "Reshape", l->name, 2);
      if (n) n->input[0] = (char *) in0, n->input[1] = sn;
      break;
    }
    case hwt_layer_transpose: {
      int64_t perm[4];
      for (unsigned d = 0; d < l->rank && d < 4; d++) perm[d] = l->perm[d];
      n = add_node(x, "Transpose", l->name, 1);
      if (n) n->input[0] = (char *) in0, attr_ints(x, n, "perm", perm, l->rank);
      break;
    }
    case hwt_layer_relu:
    case hwt_layer_relu6:
    case hwt_layer_clip: {
      if (l->type == hwt_layer_relu) {
        n = add_node(x, "Relu", l->name, 1);
        if (n) n->input[0] = (char *) in0;
        break;
      }
      float lo = l->type == hwt_layer_relu6 ? 0 : l->alpha, hi = l->type == hwt_layer_relu6 ? 6 : l->beta;
      char *lon = ex_str(x, "n%zu_min", i), *hin = ex_str(x, "n%zu_max", i);
      float *a = add_init(x, lon, NULL, 0), *b = add_init(x, hin, NULL, 0);
      n = add_node(x, "Clip", l->name, 3);
      if (!n || !a || !b) break;
      *a = lo, *b = hi;
      n->input[0] = (char *) in0, n->input[1] = lon, n->input[2] = hin;
      break;
    }
    case hwt_layer_leaky_relu:
      n = add_node(x, "LeakyRelu", l->name, 1);
      if (n) n->input[0] = (char *) in0, attr_f(x, n, "alpha", l->alpha);
      break;
    case hwt_layer_hard_sigmoid:
      n = add_node(x, "HardSigmoid", l->name, 1);
      if (n) n->input[0] = (char *) in0, attr_f(x, n, "alpha", l->alpha), attr_f(x, n, "beta", l->beta);
      break;
    case hwt_layer_sigmoid:
    case hwt_layer_tanh:
    case hwt_layer_hard_swish:
    case hwt_layer_identity: {
      const char *op = l->type == hwt_layer_sigmoid ? "Sigmoid" : l->type == hwt_layer_tanh ? "Tanh"
                       : l->type == hwt_layer_hard_swish ? "HardSwish" : "Identity";
      x->hard_swish |= l->type == hwt_layer_hard_swish;
      n = add_node(x, op, l->name, 1);
      if (n) n->input[0] = (char *) in0;
      break;
    }
    case hwt_layer_unary: {
      static const char *const ops[hwt_unary_fn_count] = {
          "Neg", "Abs", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Elu", "Selu", "Softplus", "Softsign",
          "Erf", "Pow"};
      if ((unsigned) l->fn >= hwt_unary_fn_count) return fail(x, i, "unknown function");
      bool pw = l->fn == hwt_unary_pow;
      char *en = pw ? ex_str(x, "n%zu_exponent", i) : NULL;
      float *e = pw ? add_init(x, en, NULL, 0) : NULL;
      n = add_node(x, ops[l->fn], l->name, pw ? 2 : 1);
      if (!n || (pw && !e)) break;
      n->input[0] = (char *) in0;
      if (pw) *e = l->alpha, n->input[1] = en;
      if (l->fn == hwt_unary_elu || l->fn == hwt_unary_selu) attr_f(x, n, "alpha", l->alpha);
      if (l->fn == hwt_unary_selu) attr_f(x, n, "gamma", l->beta);
      break;
    }
    default: return fail(x, i, "no ONNX form (quantize / dequantize nodes are not exported)");
  }
  if (x->oom || n == NULL) {
    hwt_errf(x->err, x->errlen, "%s: out of memory", x->path);
    return hwt_status_out_of_memory;
  }
  n->output[0] = pre;
  if (fused) act_node(x, l, i, pre, out);
  /* QDQ: an int8 value is quantized with its parameters and dequantized for every reader; a float value that
   * int8 nodes read gets the same pair with its calibrated parameters (the engine converts it so) */
  if (x->qdq && (l->q8 || x->vdq[vindex(x, (int) i)] != NULL))
    qdq_nodes(x, ex_str(x, "q%zu", i), out, l->q8 ? x->vname[i] : x->vdq[vindex(x, (int) i)], l->oq);
  return x->oom ? hwt_status_out_of_memory : hwt_status_ok;
}

hwt_status hwt_onnx_export(const hwt_model *m, const char *path, char *err, size_t errlen) {
  if (m == NULL || path == NULL) {
    hwt_errf(err, errlen, "no model or no path");
    return hwt_status_invalid_argument;
  }
  ex ctx, *x = &ctx;
  memset(x, 0, sizeof *x);
  x->m = m;
  x->path = path;
  x->err = err;
  x->errlen = errlen;
  hwt_status st = hwt_status_ok;
  for (size_t i = 0; i < m->nlayers; i++) {
    const hwt_layer *l = &m->layers[i];
    if (l->type == hwt_layer_quantize || l->type == hwt_layer_dequantize)
      return fail(x, i, "quantize / dequantize nodes are not exported");
    x->qdq |= l->q8 || l->wq != NULL;
    if (l->wq != NULL && l->wscale == NULL) return fail(x, i, "int8 weights without scales");
    if (l->wq != NULL && l->w != NULL) return fail(x, i, "both float and int8 weights");
  }
  for (size_t k = 0; k < m->ninputs; k++) x->qdq |= m->inputs[k].q8;
  x->vname = ex_alloc(x, (m->nlayers + 1) * sizeof(char *));
  x->vdq = ex_alloc(x, (m->ninputs + m->nlayers + 1) * sizeof(char *));
  if (x->vname == NULL || x->vdq == NULL) goto oom;
  for (size_t i = 0; i < m->nlayers; i++) {
    x->vname[i] = NULL;
    for (size_t k = 0; k < m->noutputs && x->vname[i] == NULL; k++)
      if (m->outputs[k].value == (int) i) x->vname[i] = (char *) m->outputs[k].name;
    if (x->vname[i] == NULL) x->vname[i] = ex_str(x, "v%zu_%s", i, m->layers[i].name);
  }
  if (x->qdq) {
    /* which values int8 nodes read: those get a dequantized int8 form */
    for (size_t i = 0; i < m->nlayers; i++) {
      const hwt_layer *l = &m->layers[i];
      if (!hwt_node_reads_q8(l)) continue;
      for (int k = 0; k < l->nin; k++) {
        int id = l->inputs[k];
        hwt_qparams q = hwt_model_value_q(m, id);
        if (!(q.scale > 0 && isfinite(q.scale))) return fail(x, i, "reads int8, but its input has no parameters");
        size_t v = vindex(x, id);
        if (x->vdq[v] != NULL) continue;
        x->vdq[v] = id >= 0 && m->layers[id].q8 ? x->vname[id]
                    : ex_str(x, "q%s%zu_dq", id < 0 ? "in" : "", id < 0 ? v : (size_t) id);
      }
    }
    for (size_t i = 0; i < m->nlayers; i++)
      if (m->layers[i].q8) x->vdq[vindex(x, (int) i)] = x->vname[i];
    /* graph inputs read as int8: quantized and dequantized first */
    for (size_t k = 0; k < m->ninputs; k++)
      if (x->vdq[k] != NULL)
        qdq_nodes(x, ex_str(x, "qin%zu", k), m->inputs[k].name, x->vdq[k], hwt_model_value_q(m, HWT_INPUT_ID(k)));
  }
  for (size_t i = 0; i < m->nlayers && st == hwt_status_ok; i++) st = export_layer(x, i);
  if (st != hwt_status_ok) goto done;
  /* graph outputs: a value listed under a second name gets an Identity node */
  Onnx__ValueInfoProto **outs = ex_alloc(x, m->noutputs * sizeof *outs), **ins = ex_alloc(x, m->ninputs * sizeof *ins);
  if (!outs || !ins) goto oom;
  for (size_t k = 0; k < m->noutputs; k++) {
    int id = m->outputs[k].value;
    const char *vn = value_name(x, id);
    if (strcmp(vn, m->outputs[k].name) != 0) {
      Onnx__NodeProto *n = add_node(x, "Identity", ex_str(x, "output%zu", k), 1);
      if (!n) goto oom;
      n->input[0] = (char *) vn;
      n->output[0] = (char *) m->outputs[k].name;
    }
    outs[k] = value_info(x, m->outputs[k].name, hwt_model_value_shape(m, id), value_rank(x, id));
  }
  for (size_t k = 0; k < m->ninputs; k++)
    ins[k] = value_info(x, m->inputs[k].name, m->inputs[k].shape, value_rank(x, HWT_INPUT_ID(k)));
  if (x->oom) goto oom;
  Onnx__GraphProto g;
  onnx__graph_proto__init(&g);
  g.name = (char *) m->name;
  g.node = x->nodes, g.n_node = x->nnodes;
  g.initializer = x->inits, g.n_initializer = x->ninits;
  g.input = ins, g.n_input = m->ninputs;
  g.output = outs, g.n_output = m->noutputs;
  Onnx__OperatorSetIdProto ops;
  onnx__operator_set_id_proto__init(&ops);
  ops.domain = "";
  ops.has_version = 1;
  ops.version = x->hard_swish ? 14 : 13;
  Onnx__OperatorSetIdProto *opsp = &ops;
  Onnx__ModelProto mp;
  onnx__model_proto__init(&mp);
  mp.has_ir_version = 1;
  mp.ir_version = 7;
  mp.opset_import = &opsp;
  mp.n_opset_import = 1;
  mp.producer_name = "hwtune";
  /* QDQ: the step of output 0 (its calibrated int8 scale), for comparisons in units of quantization steps */
  Onnx__StringStringEntryProto meta, *metap = &meta;
  char step[32];
  if (x->qdq && m->noutputs > 0) {
    onnx__string_string_entry_proto__init(&meta);
    snprintf(step, sizeof step, "%.9g", (double) hwt_model_value_q(m, m->outputs[0].value).scale);
    meta.key = "hwtune.output_step";
    meta.value = step;
    mp.metadata_props = &metap;
    mp.n_metadata_props = 1;
  }
  mp.graph = &g;
  size_t len = onnx__model_proto__get_packed_size(&mp);
  uint8_t *buf = malloc(len ? len : 1);
  if (buf == NULL) goto oom;
  onnx__model_proto__pack(&mp, buf);
  st = hwt_write_file_atomic(path, buf, len, err, errlen);
  free(buf);
  goto done;
oom:
  hwt_errf(err, errlen, "%s: out of memory", path);
  st = hwt_status_out_of_memory;
done:
  for (size_t i = 0; i < x->nblocks; i++) free(x->blocks[i]);
  free(x->blocks);
  return st;
}
