/* SPDX-License-Identifier: Apache-2.0 */
/* ONNX import (onnx.h): decodes a ModelProto with protobuf-c (budgeted allocator), sorts its nodes, and maps
 * them onto the engine's graph (engine.h), re-laying weights from NCHW to NHWC once and folding
 * BatchNormalization and clamp activations into the producing Conv / Gemm. The model ends finalized
 * (hwt_model_finalize), which recomputes and checks every shape.
 *
 * Values: every ONNX tensor name is an entry. Constants (initializers, bound inputs, Constant nodes and the
 * few ops folded at import) hold a hwt_tensor; runtime values hold the engine's value id and their logical
 * (ONNX) rank and dims, dims[0] being the batch. Identity, Dropout, and a Flatten / Reshape that does not
 * reorder elements (a [N, C, 1, 1] tensor to [N, C]) alias the engine value instead of copying it.
 *
 * Flatten / Reshape of a [C, H, W] tensor with H * W > 1 keeps a reshape node (the engine reorders NHWC to the
 * logical order there); an fc after it reads the logical order, so its weights need no permutation. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwt_common.h"
#include "onnx_internal.h"

#define OPSET_MIN 1
#define OPSET_MAX 17

static const char supported_ops[] =
    "Add, AveragePool, BatchNormalization, Clip, Concat, Constant, Conv, DequantizeLinear, Div, Dropout, Flatten, "
    "Gemm, GlobalAveragePool, HardSigmoid, HardSwish, Identity, LeakyRelu, MatMul, MaxPool, Mul, QuantizeLinear, "
    "ReduceMean, Relu, Reshape, Sigmoid, Softmax, Squeeze, Sub, Tanh, Unsqueeze, "
    /* elementwise functions, Max / Min, PRelu, Pow, LogSoftmax (op_elementwise) */
    "Abs, Ceil, Elu, Erf, Exp, Floor, Log, LogSoftmax, Max, Min, Neg, Pow, PRelu, Reciprocal, Selu, Softplus, "
    "Softsign, Sqrt, "
    /* layout (op_transpose) */
    "Transpose";

const char *hwt_onnx_supported_ops(void) { return supported_ops; }

/* ---------------- values ---------------- */

typedef enum { V_UNDEF = 0, V_CONST, V_VALUE, V_DQ } vkind;

/* A constant that came from DequantizeLinear of an integer constant: the integers and their parameters, for the
 * QDQ int8 pattern (zero points as in the file, not shifted). */
typedef struct qconst {
  const hwt_tensor *q;    /* INT8 / UINT8 / INT32 */
  size_t n;               /* 1 (per tensor) or the size of `axis` */
  int axis;
  float *scale;
  int32_t *zp;
} qconst;

typedef struct entry {
  const char *name;
  int producer;           /* node index in the file, -1 for initializers and graph inputs */
  int uses;               /* node inputs and graph outputs naming it */
  vkind kind;
  const hwt_tensor *t;    /* V_CONST */
  int id;                 /* V_VALUE: the engine value id */
  uint8_t rank;           /* V_VALUE: logical rank incl. batch (1..4) */
  int64_t dims[4];        /* V_VALUE: logical dims, dims[0] = the batch */
  int consumer;           /* a node reading it (the only one when uses == 1), -1 none */
  qconst *qc;             /* V_CONST from DequantizeLinear: its integers */
  hwt_qparams dq;         /* V_DQ: DequantizeLinear of int8 value `id` (materialized on first float use) */
} entry;

typedef struct imp {
  const char *file;
  char *err;
  size_t errlen;
  const Onnx__GraphProto *g;
  int64_t opset;
  uint32_t batch;         /* the concrete batch used for shape arithmetic (fixed or opt.batch) */
  const hwt_onnx_options *opt;
  entry *e;
  size_t ne, cape;
  uint32_t *hash;         /* entry index + 1; 0 = empty */
  size_t hcap;
  qconst **qcs;           /* qconst records this import allocated */
  size_t nqcs, capqcs;
  hwt_tensor **owned;     /* tensors this import allocated (initializers, folded constants) */
  size_t nowned, capowned;
  uint64_t weight_bytes;
  hwt_layer *layers;
  int *id_uses;           /* per layer: consumers of its value (folding needs exactly one) */
  int *planned;           /* per layer: the Relu / Clip node folded into a QDQ int8 node ahead of time, or -1 */
  size_t nlayers, caplayers;
  hwt_model *m;
  /* the node being imported */
  size_t ni;
  const Onnx__NodeProto *node;
} imp;

static hwt_status node_err(imp *c, hwt_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static hwt_status node_err(imp *c, hwt_status st, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const Onnx__NodeProto *n = c->node;
  hwt_errf(c->err, c->errlen, "%s: node %zu '%.64s' (%.64s): %s", c->file, c->ni, n && n->name ? n->name : "",
           n && n->op_type ? n->op_type : "", msg);
  return st;
}

static hwt_status file_err(imp *c, hwt_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static hwt_status file_err(imp *c, hwt_status st, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  hwt_errf(c->err, c->errlen, "%s: %s", c->file, msg);
  return st;
}

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char) *s) * 1099511628211ull;
  return h;
}

static entry *lookup(imp *c, const char *name) {
  if (c->hcap == 0 || name == NULL) return NULL;
  for (size_t i = hash_str(name) & (c->hcap - 1);; i = (i + 1) & (c->hcap - 1)) {
    uint32_t k = c->hash[i];
    if (k == 0) return NULL;
    if (strcmp(c->e[k - 1].name, name) == 0) return &c->e[k - 1];
  }
}

/* Adds an entry (the table is sized once for every name the graph can define). */
static entry *add_entry(imp *c, const char *name) {
  if (c->ne >= c->cape) return NULL;
  size_t i = hash_str(name) & (c->hcap - 1);
  while (c->hash[i] != 0) i = (i + 1) & (c->hcap - 1);
  entry *e = &c->e[c->ne];
  memset(e, 0, sizeof *e);
  e->name = name;
  e->producer = -1;
  e->consumer = -1;
  c->hash[i] = (uint32_t) (++c->ne);
  return e;
}

static hwt_tensor *own_tensor(imp *c) {
  if (c->nowned == c->capowned) {
    size_t cap = c->capowned ? c->capowned * 2 : 16;
    hwt_tensor **p = realloc(c->owned, cap * sizeof *p);
    if (p == NULL) return NULL;
    c->owned = p;
    c->capowned = cap;
  }
  hwt_tensor *t = calloc(1, sizeof *t);
  if (t != NULL) c->owned[c->nowned++] = t;
  return t;
}

/* The internal (h, w, c) of logical dims (engine.h). */
static hwt_shape internal_shape(uint8_t rank, const int64_t *d) {
  switch (rank) {
    case 4: return (hwt_shape){(uint32_t) d[2], (uint32_t) d[3], (uint32_t) d[1]};
    case 3: return (hwt_shape){1, (uint32_t) d[2], (uint32_t) d[1]};
    case 2: return (hwt_shape){1, 1, (uint32_t) d[1]};
    default: return (hwt_shape){1, 1, 1};
  }
}

static void dims_string(uint8_t rank, const int64_t *d, char *buf, size_t len) {
  size_t n = 0;
  buf[0] = '\0';
  n += (size_t) snprintf(buf + n, len - n, "[");
  for (uint8_t i = 0; i < rank && n < len; i++)
    n += (size_t) snprintf(buf + n, len - n, "%s%lld", i ? ", " : "", (long long) d[i]);
  if (n < len) snprintf(buf + n, len - n, "]");
}

/* ---------------- layers ---------------- */

/* Appends a layer named after the node (plus `suffix`); returns its index (= value id) or -1 (out of memory,
 * message written). */
static int new_layer(imp *c, hwt_layer_type type, const char *suffix) {
  if (c->nlayers == c->caplayers) {
    size_t cap = c->caplayers ? c->caplayers * 2 : 64;
    if (cap > (size_t) INT32_MAX) {
      node_err(c, hwt_status_unsupported, "more than 2^31 nodes");
      return -1;
    }
    hwt_layer *p = hwt_rt_calloc(cap, sizeof *p);
    int *u = calloc(cap, sizeof *u), *pl = calloc(cap, sizeof *pl);
    if (p == NULL || u == NULL || pl == NULL) {
      hwt_rt_free(p);
      free(u);
      free(pl);
      node_err(c, hwt_status_out_of_memory, "out of memory");
      return -1;
    }
    if (c->nlayers) {
      memcpy(p, c->layers, c->nlayers * sizeof *p);
      memcpy(u, c->id_uses, c->nlayers * sizeof *u);
      memcpy(pl, c->planned, c->nlayers * sizeof *pl);
    }
    free(c->planned);
    c->planned = pl;
    hwt_rt_free(c->layers);
    free(c->id_uses);
    c->layers = p;
    c->id_uses = u;
    c->caplayers = cap;
  }
  int id = (int) c->nlayers++;
  hwt_layer *l = &c->layers[id];
  memset(l, 0, sizeof *l);
  l->type = type;
  const char *name = c->node->name && c->node->name[0] ? c->node->name : NULL;
  if (name)
    snprintf(l->name, sizeof l->name, "%.*s%s", (int) (sizeof l->name - 1 - strlen(suffix)), name, suffix);
  else
    snprintf(l->name, sizeof l->name, "%.40s_%zu%s", c->node->op_type, c->ni, suffix);
  c->id_uses[id] = 0;
  c->planned[id] = -1;
  return id;
}

static void set_layer_out(imp *c, int id, uint8_t rank, const int64_t *dims) {
  c->layers[id].rank = rank;
  c->layers[id].out = internal_shape(rank, dims);
}

/* Defines the node's output k as runtime value id with logical dims; uses of the entry count for the id. */
static void define_value(imp *c, size_t k, int id, uint8_t rank, const int64_t *dims) {
  entry *e = lookup(c, c->node->output[k]);
  e->kind = V_VALUE;
  e->id = id;
  e->rank = rank;
  memcpy(e->dims, dims, rank * sizeof dims[0]);
  if (id >= 0) c->id_uses[id] += e->uses;
}

static void define_const(imp *c, size_t k, const hwt_tensor *t) {
  entry *e = lookup(c, c->node->output[k]);
  e->kind = V_CONST;
  e->t = t;
}

static void append_fused(hwt_layer *l, const char *op, const char *name) {
  size_t n = strlen(l->fused);
  snprintf(l->fused + n, sizeof l->fused - n, "%s%s '%s'", n ? " + " : "", op, name ? name : "");
}

/* ---------------- inputs and attributes ---------------- */

static const char *in_name(imp *c, size_t k) {
  return k < c->node->n_input && c->node->input[k] && c->node->input[k][0] ? c->node->input[k] : NULL;
}

static int new_layer(imp *c, hwt_layer_type type, const char *suffix);

/* Input k; a pending DequantizeLinear of an int8 value becomes a dequantize node on its first float use. */
static entry *input(imp *c, size_t k) {
  entry *e = lookup(c, in_name(c, k));
  if (e == NULL || e->kind != V_DQ) return e;
  int id = new_layer(c, hwt_layer_dequantize, "_dq");
  if (id < 0) return NULL;
  c->layers[id].nin = 1;
  c->layers[id].inputs[0] = e->id;
  c->layers[id].rank = e->rank;
  c->layers[id].out = internal_shape(e->rank, e->dims);
  e->kind = V_VALUE;
  e->id = id;
  c->id_uses[id] = e->uses;
  return e;
}

/* Input k as a runtime value (not a constant). */
static hwt_status need_value(imp *c, size_t k, entry **out) {
  entry *e = input(c, k);
  if (e == NULL) return node_err(c, hwt_status_schema_error, "input %zu is missing", k);
  if (e->kind == V_CONST)
    return node_err(c, hwt_status_unsupported, "input %zu '%.64s' is a constant (constant folding of %.32s is not "
                    "supported)", k, e->name, c->node->op_type);
  *out = e;
  return hwt_status_ok;
}

/* Input k as a constant (initializer, Constant node, bound input). */
static hwt_status need_const(imp *c, size_t k, const hwt_tensor **out) {
  entry *e = input(c, k);
  if (e == NULL) return node_err(c, hwt_status_schema_error, "input %zu is missing", k);
  if (e->kind != V_CONST)
    return node_err(c, hwt_status_unsupported, "input %zu '%.64s' must be a constant (an initializer or a "
                    "Constant node)", k, e->name);
  *out = e->t;
  return hwt_status_ok;
}

static const Onnx__AttributeProto *attr(imp *c, const char *name) {
  for (size_t i = 0; i < c->node->n_attribute; i++) {
    const Onnx__AttributeProto *a = c->node->attribute[i];
    if (a->name && strcmp(a->name, name) == 0) return a;
  }
  return NULL;
}

static hwt_status attr_int(imp *c, const char *name, int64_t def, int64_t *out) {
  const Onnx__AttributeProto *a = attr(c, name);
  *out = def;
  if (a == NULL) return hwt_status_ok;
  if (!a->has_i || (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT))
    return node_err(c, hwt_status_schema_error, "attribute '%s' is not an integer", name);
  *out = a->i;
  return hwt_status_ok;
}

static hwt_status attr_float(imp *c, const char *name, float def, float *out) {
  const Onnx__AttributeProto *a = attr(c, name);
  *out = def;
  if (a == NULL) return hwt_status_ok;
  if (!a->has_f || (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT))
    return node_err(c, hwt_status_schema_error, "attribute '%s' is not a float", name);
  *out = a->f;
  return hwt_status_ok;
}

/* INTS attribute into v[0..max); *n = -1 when absent. */
static hwt_status attr_ints(imp *c, const char *name, int64_t *v, size_t max, int *n) {
  const Onnx__AttributeProto *a = attr(c, name);
  *n = -1;
  if (a == NULL) return hwt_status_ok;
  if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)
    return node_err(c, hwt_status_schema_error, "attribute '%s' is not a list of integers", name);
  if (a->n_ints > max)
    return node_err(c, hwt_status_unsupported, "attribute '%s' has %zu values (at most %zu here)", name, a->n_ints,
                    max);
  for (size_t i = 0; i < a->n_ints; i++) v[i] = a->ints[i];
  *n = (int) a->n_ints;
  return hwt_status_ok;
}

static hwt_status attr_string(imp *c, const char *name, const char *def, char *buf, size_t len) {
  const Onnx__AttributeProto *a = attr(c, name);
  snprintf(buf, len, "%s", def);
  if (a == NULL) return hwt_status_ok;
  if (!a->has_s || (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING))
    return node_err(c, hwt_status_schema_error, "attribute '%s' is not a string", name);
  size_t n = a->s.len < len - 1 ? a->s.len : len - 1;
  memcpy(buf, a->s.data, n);
  buf[n] = '\0';
  return hwt_status_ok;
}

/* A constant's elements as float (malloc'ed; free()). */
static float *const_f32(imp *c, const hwt_tensor *t) {
  float *f = malloc(t->count ? t->count * sizeof(float) : 1);
  if (f == NULL) {
    node_err(c, hwt_status_out_of_memory, "out of memory");
    return NULL;
  }
  hwt_tensor_to_f32(t, f);
  return f;
}

/* Integer constant (int64 / int32) elements into v[0..max). */
static hwt_status const_ints(imp *c, const hwt_tensor *t, const char *what, int64_t *v, size_t max, size_t *n) {
  if (t->dtype != hwt_dtype_i64 && t->dtype != hwt_dtype_i32)
    return node_err(c, hwt_status_schema_error, "%s must be int64, not %s", what, hwt_dtype_name(t->dtype));
  if (t->rank > 1 || t->count > max)
    return node_err(c, hwt_status_unsupported, "%s has %zu values (at most %zu here)", what, t->count, max);
  for (size_t i = 0; i < t->count; i++)
    v[i] = t->dtype == hwt_dtype_i64 ? ((const int64_t *) t->data)[i] : ((const int32_t *) t->data)[i];
  *n = t->count;
  return hwt_status_ok;
}

/* A scalar float constant (one element). */
static hwt_status const_scalar(imp *c, size_t k, const char *what, float *out) {
  const hwt_tensor *t = NULL;
  hwt_status st = need_const(c, k, &t);
  if (st != hwt_status_ok) return st;
  if (t->count != 1) return node_err(c, hwt_status_unsupported, "%s must be a scalar (has %zu values)", what, t->count);
  hwt_tensor_to_f32(t, out);
  return hwt_status_ok;
}

/* An output k beyond the first that is used by something: not supported. */
static hwt_status extra_outputs_unused(imp *c, size_t from) {
  for (size_t k = from; k < c->node->n_output; k++) {
    if (c->node->output[k] == NULL || c->node->output[k][0] == '\0') continue;
    entry *e = lookup(c, c->node->output[k]);
    if (e && e->uses > 0)
      return node_err(c, hwt_status_unsupported, "output %zu '%.64s' is used (only the first output is supported)",
                      k, c->node->output[k]);
  }
  return hwt_status_ok;
}

/* Normalizes an axis against `rank` (negative counts from the end). */
static hwt_status norm_axis(imp *c, int64_t axis, int rank, const char *what, int *out) {
  if (axis < -rank || axis >= rank)
    return node_err(c, hwt_status_schema_error, "%s %lld is out of range for rank %d", what, (long long) axis, rank);
  *out = (int) (axis < 0 ? axis + rank : axis);
  return hwt_status_ok;
}

/* ---------------- opsets 1 to 6 ----------------
 * An operator means what its latest version <= the model's opset says. Before opset 7 the supported operators
 * differ from version 7 only in what these helpers and the op_* functions handle: consumed_inputs (ignored, as
 * every attribute the importer does not read); BatchNormalization and Dropout's is_test (1 = inference, the
 * only mode taken); Add / Sub / Mul / Div without implicit broadcasting, or with broadcast = 1 and the legacy
 * alignment below; Gemm's broadcast flag on C; Reshape's `shape` attribute (before 5); Concat's optional axis
 * (before 4, default 1); AveragePool without count_include_pad (pads never count). Operators that do not exist
 * yet at the model's opset are refused per node (node_since). */

/* is_test of BatchNormalization / Dropout before opset 7 (default 0 = training, which an inference importer
 * cannot run: batch statistics, random masks). */
static hwt_status legacy_is_test(imp *c) {
  int64_t t;
  hwt_status st = attr_int(c, "is_test", 0, &t);
  if (st != hwt_status_ok) return st;
  if (t != 1)
    return node_err(c, hwt_status_unsupported, "opset %lld: is_test = %lld (training mode) not supported; "
                    "inference needs is_test = 1", (long long) c->opset, (long long) t);
  return hwt_status_ok;
}

/* The legacy (before opset 7) broadcast of operand B (rank rb) into A (rank ra): B is aligned with A's dims at
 * `axis` (default ra - rb, B's dims a suffix of A's); B's leading and trailing dims of size 1 broadcast, the
 * others must equal A's. cd gets B's dims at A's rank, 1 where B broadcasts (same elements, same order). */
static hwt_status legacy_align(imp *c, const char *what, const int64_t *ad, int ra, const int64_t *bd, int rb,
                               int64_t *cd) {
  char as[96], bs[96];
  dims_string((uint8_t) ra, ad, as, sizeof as);
  dims_string((uint8_t) rb, bd, bs, sizeof bs);
  if (rb > ra)
    return node_err(c, hwt_status_schema_error, "opset %lld broadcast: %s %s has a higher rank than %s",
                    (long long) c->opset, what, bs, as);
  int64_t axis = ra - rb;
  const Onnx__AttributeProto *ax = attr(c, "axis");
  hwt_status st;
  if (ax != NULL && (st = attr_int(c, "axis", 0, &axis)) != hwt_status_ok) return st;
  if (axis < 0 || axis > ra - rb)
    return node_err(c, hwt_status_schema_error, "opset %lld broadcast: axis %lld does not fit %s %s into %s",
                    (long long) c->opset, (long long) axis, what, bs, as);
  int lo = 0, hi = rb - 1;
  while (lo < rb && bd[lo] == 1) lo++;
  while (hi >= lo && bd[hi] == 1) hi--;
  for (int i = 0; i < ra; i++) cd[i] = 1;
  for (int i = lo; i <= hi; i++) {
    if (bd[i] != ad[axis + i])
      return node_err(c, hwt_status_schema_error, "opset %lld broadcast: %s %s at axis %lld does not match %s "
                      "(dim %d: %lld vs %lld)", (long long) c->opset, what, bs, (long long) axis, as, i,
                      (long long) bd[i], (long long) ad[axis + i]);
    cd[axis + i] = bd[i];
  }
  return hwt_status_ok;
}

/* The broadcast attribute of Add / Sub / Mul / Div / Gemm before opset 7 (0 or 1). */
static hwt_status legacy_broadcast_flag(imp *c, int64_t *b) {
  hwt_status st = attr_int(c, "broadcast", 0, b);
  if (st != hwt_status_ok) return st;
  if (*b != 0 && *b != 1)
    return node_err(c, hwt_status_schema_error, "broadcast = %lld (0 or 1)", (long long) *b);
  return hwt_status_ok;
}

/* The first opset that defines op (all supported operators exist since opset 1 but these). */
static hwt_status node_since(imp *c, const char *op) {
  static const struct {
    const char *op;
    int since;
  } first[] = {{"HardSwish", 14}, {"QuantizeLinear", 10}, {"DequantizeLinear", 10}, {"Erf", 9}};
  for (size_t i = 0; i < sizeof first / sizeof first[0]; i++)
    if (strcmp(op, first[i].op) == 0 && c->opset < first[i].since)
      return node_err(c, hwt_status_unsupported, "%s does not exist at opset %lld (defined since opset %d)", op,
                      (long long) c->opset, first[i].since);
  return hwt_status_ok;
}

/* Weight bytes: the model's total must stay under 2 GiB. */
static hwt_status count_weights(imp *c, size_t floats) {
  c->weight_bytes += (uint64_t) floats * 4;
  if (c->weight_bytes > HWT_ONNX_MAX_WEIGHT_BYTES)
    return node_err(c, hwt_status_unsupported, "the model's weights exceed 2 GiB");
  return hwt_status_ok;
}

static float *alloc_params(imp *c, size_t n) {
  if (count_weights(c, n) != hwt_status_ok) return NULL;
  float *p = hwt_rt_calloc(n ? n : 1, sizeof(float));
  if (p == NULL) node_err(c, hwt_status_out_of_memory, "out of memory (%zu weights)", n);
  return p;
}

/* Checks a new value's dims (positive, fitting uint32, at most 2^31 elements). */
static hwt_status check_dims(imp *c, uint8_t rank, const int64_t *d) {
  uint64_t n = 1;
  for (uint8_t i = 0; i < rank; i++) {
    if (d[i] <= 0 || d[i] > (int64_t) HWT_ONNX_MAX_ELEMENTS) {
      char buf[96];
      dims_string(rank, d, buf, sizeof buf);
      return node_err(c, hwt_status_unsupported, "output dims %s: each must be in 1..2^31", buf);
    }
    n *= (uint64_t) d[i];
    if (n > HWT_ONNX_MAX_ELEMENTS) {
      char buf[96];
      dims_string(rank, d, buf, sizeof buf);
      return node_err(c, hwt_status_unsupported, "output dims %s: more than 2^31 elements", buf);
    }
  }
  return hwt_status_ok;
}

/* The layer that produced runtime value e, when an op may fold into it: a float conv / dwconv / fc with no
 * fused activation whose value has no other consumer (and is no graph output). -1 otherwise. */
static int foldable(imp *c, const entry *e) {
  if (e->id < 0) return -1;
  hwt_layer *l = &c->layers[e->id];
  if (l->type != hwt_layer_conv && l->type != hwt_layer_dwconv && l->type != hwt_layer_fc) return -1;
  if (l->act != hwt_act_none || l->q8 || l->wq != NULL || c->id_uses[e->id] != 1) return -1;
  return e->id;
}

/* A unary node on input 0 producing the same dims. */
static hwt_status unary(imp *c, hwt_layer_type type, float alpha, float beta, int *idp) {
  entry *x = NULL;
  hwt_status st = need_value(c, 0, &x);
  if (st != hwt_status_ok) return st;
  int id = new_layer(c, type, "");
  if (id < 0) return hwt_status_out_of_memory;
  hwt_layer *l = &c->layers[id];
  l->nin = 1;
  l->inputs[0] = x->id;
  l->alpha = alpha;
  l->beta = beta;
  set_layer_out(c, id, x->rank, x->dims);
  define_value(c, 0, id, x->rank, x->dims);
  if (idp) *idp = id;
  return hwt_status_ok;
}

/* ---------------- spatial attributes (Conv, pools) ---------------- */

typedef struct window {
  int nsp;                /* spatial dims: 1 (rank 3) or 2 (rank 4) */
  int64_t k[2], s[2], d[2], pb[2], pe[2]; /* kernel, stride, dilation, pad begin / end per spatial dim */
  int64_t in[2], out[2];
} window;

/* Reads strides, dilations, pads / auto_pad for input dims x (rank 3 or 4) and kernel k (already set), and
 * computes the output size (ceil_mode for pools). */
static hwt_status read_window(imp *c, const entry *x, window *w, bool ceil_mode) {
  int nsp = x->rank - 2;
  w->nsp = nsp;
  for (int i = 0; i < nsp; i++) w->in[i] = x->dims[2 + i];
  int64_t v[4];
  int n;
  hwt_status st = attr_ints(c, "strides", v, 2, &n);
  if (st != hwt_status_ok) return st;
  for (int i = 0; i < nsp; i++) w->s[i] = n < 0 ? 1 : v[i];
  if (n >= 0 && n != nsp) return node_err(c, hwt_status_schema_error, "strides has %d values for %d spatial dims", n, nsp);
  st = attr_ints(c, "dilations", v, 2, &n);
  if (st != hwt_status_ok) return st;
  if (n >= 0 && n != nsp)
    return node_err(c, hwt_status_schema_error, "dilations has %d values for %d spatial dims", n, nsp);
  for (int i = 0; i < nsp; i++) w->d[i] = n < 0 ? 1 : v[i];
  for (int i = 0; i < nsp; i++) {
    if (w->s[i] < 1 || w->s[i] > 65535) return node_err(c, hwt_status_unsupported, "stride %lld not supported", (long long) w->s[i]);
    if (w->d[i] < 1 || w->d[i] > 65535) return node_err(c, hwt_status_unsupported, "dilation %lld not supported", (long long) w->d[i]);
    if (w->k[i] < 1 || w->k[i] > 65535) return node_err(c, hwt_status_unsupported, "kernel %lld not supported", (long long) w->k[i]);
  }
  char autopad[32];
  st = attr_string(c, "auto_pad", "NOTSET", autopad, sizeof autopad);
  if (st != hwt_status_ok) return st;
  st = attr_ints(c, "pads", v, 4, &n);
  if (st != hwt_status_ok) return st;
  if (n >= 0 && n != 2 * nsp)
    return node_err(c, hwt_status_schema_error, "pads has %d values for %d spatial dims", n, nsp);
  for (int i = 0; i < nsp; i++) {
    w->pb[i] = n < 0 ? 0 : v[i];
    w->pe[i] = n < 0 ? 0 : v[nsp + i];
    if (w->pb[i] < 0 || w->pe[i] < 0 || w->pb[i] > 65535 || w->pe[i] > 65535)
      return node_err(c, hwt_status_unsupported, "pads %lld, %lld not supported", (long long) w->pb[i],
                      (long long) w->pe[i]);
  }
  bool same_upper = strcmp(autopad, "SAME_UPPER") == 0, same_lower = strcmp(autopad, "SAME_LOWER") == 0;
  if (same_upper || same_lower) {
    for (int i = 0; i < nsp; i++) {
      int64_t ext = (w->k[i] - 1) * w->d[i] + 1;
      int64_t out = (w->in[i] + w->s[i] - 1) / w->s[i];
      int64_t total = (out - 1) * w->s[i] + ext - w->in[i];
      if (total < 0) total = 0;
      w->pb[i] = same_upper ? total / 2 : total - total / 2;
      w->pe[i] = total - w->pb[i];
    }
  } else if (strcmp(autopad, "VALID") == 0) {
    for (int i = 0; i < nsp; i++) w->pb[i] = w->pe[i] = 0;
  } else if (strcmp(autopad, "NOTSET") != 0) {
    return node_err(c, hwt_status_unsupported, "auto_pad '%s' not supported", autopad);
  }
  for (int i = 0; i < nsp; i++) {
    int64_t ext = (w->k[i] - 1) * w->d[i] + 1;
    int64_t span = w->in[i] + w->pb[i] + w->pe[i] - ext;
    if (span < 0)
      return node_err(c, hwt_status_schema_error, "kernel %lld (dilated %lld) is larger than the padded input %lld",
                      (long long) w->k[i], (long long) ext, (long long) (w->in[i] + w->pb[i] + w->pe[i]));
    int64_t out = span / w->s[i] + 1;
    if (ceil_mode && span % w->s[i] != 0) {
      out++;
      /* the last window must start inside the input or its begin padding */
      if ((out - 1) * w->s[i] >= w->in[i] + w->pb[i]) out--;
    }
    w->out[i] = out;
  }
  return hwt_status_ok;
}

static void window_to_layer(const window *w, hwt_layer *l) {
  if (w->nsp == 2) {
    l->kh = (uint32_t) w->k[0], l->kw = (uint32_t) w->k[1];
    l->sh = (uint32_t) w->s[0], l->sw = (uint32_t) w->s[1];
    l->dh = (uint32_t) w->d[0], l->dw = (uint32_t) w->d[1];
    l->pad_t = (uint32_t) w->pb[0], l->pad_l = (uint32_t) w->pb[1];
    l->pad_b = (uint32_t) w->pe[0], l->pad_r = (uint32_t) w->pe[1];
  } else {
    l->kh = 1, l->kw = (uint32_t) w->k[0];
    l->sh = 1, l->sw = (uint32_t) w->s[0];
    l->dh = 1, l->dw = (uint32_t) w->d[0];
    l->pad_t = l->pad_b = 0;
    l->pad_l = (uint32_t) w->pb[0], l->pad_r = (uint32_t) w->pe[0];
  }
}

/* ---------------- operators ---------------- */

static hwt_status conv_build(imp *c, entry *x, const hwt_tensor *wt);
static hwt_status gemm_build(imp *c, entry *a, const hwt_tensor *bt, bool matmul);
/* The QDQ int8 pattern around a Conv / Gemm / MatMul (see plan_q8). */
typedef struct q8plan {
  hwt_qparams in, out;
  float *wscale;          /* per output channel (hwt_rt_alloc) */
  int act_node;           /* the Relu / Clip folded, or -1 */
  bool float_out;         /* Gemm / MatMul with no QuantizeLinear after it: the classifier with float logits */
  const qconst *bias;     /* the bias as int32 integers (DequantizeLinear of INT32, zero point 0), or NULL */
} q8plan;
static bool plan_q8(imp *c, const entry *x, const entry *w, size_t cout, int waxis, bool fc, q8plan *p);
static hwt_status apply_q8(imp *c, int id, q8plan *p);

static hwt_status op_conv(imp *c) {
  entry *x = NULL;
  const hwt_tensor *wt = NULL;
  entry *xraw = lookup(c, in_name(c, 0)), *wraw = lookup(c, in_name(c, 1));
  q8plan plan;
  bool q8 = wraw && wraw->kind == V_CONST && plan_q8(c, xraw, wraw, (size_t) wraw->t->dims[0], 0, false, &plan);
  hwt_status st = q8 ? hwt_status_ok : need_value(c, 0, &x);
  if (q8) x = xraw;
  if (st == hwt_status_ok) st = need_const(c, 1, &wt);
  if (st == hwt_status_ok && (st = conv_build(c, x, wt)) == hwt_status_ok && q8)
    st = apply_q8(c, lookup(c, c->node->output[0])->id, &plan);
  if (q8) hwt_rt_free(plan.wscale);
  return st;
}

static hwt_status conv_build(imp *c, entry *x, const hwt_tensor *wt) {
  hwt_status st;
  if (x->rank != 3 && x->rank != 4)
    return node_err(c, hwt_status_unsupported, "input of rank %u (Conv on 1-D and 2-D images only)", x->rank);
  if (wt->rank != x->rank)
    return node_err(c, hwt_status_schema_error, "weight of rank %u for an input of rank %u", wt->rank, x->rank);
  int64_t group;
  if ((st = attr_int(c, "group", 1, &group)) != hwt_status_ok) return st;
  int64_t cin = x->dims[1], cout = wt->dims[0], cpg = wt->dims[1];
  if (group < 1 || cin % group != 0 || cout % group != 0)
    return node_err(c, hwt_status_schema_error, "group %lld does not divide %lld input and %lld output channels",
                    (long long) group, (long long) cin, (long long) cout);
  if (cpg * group != cin)
    return node_err(c, hwt_status_schema_error, "weight has %lld input channels per group, input %lld / group %lld",
                    (long long) cpg, (long long) cin, (long long) group);
  window w;
  memset(&w, 0, sizeof w);
  int nsp = x->rank - 2;
  for (int i = 0; i < nsp; i++) w.k[i] = wt->dims[2 + i];
  int64_t ks[2];
  int nk;
  if ((st = attr_ints(c, "kernel_shape", ks, 2, &nk)) != hwt_status_ok) return st;
  if (nk >= 0)
    for (int i = 0; i < nsp; i++)
      if (nk != nsp || ks[i] != w.k[i])
        return node_err(c, hwt_status_schema_error, "kernel_shape does not match the weight's dims");
  if ((st = read_window(c, x, &w, false)) != hwt_status_ok) return st;
  const hwt_tensor *bt = NULL;
  if (in_name(c, 2) != NULL) {
    if ((st = need_const(c, 2, &bt)) != hwt_status_ok) return st;
    if (bt->count != (size_t) cout)
      return node_err(c, hwt_status_schema_error, "bias has %zu values for %lld output channels", bt->count,
                      (long long) cout);
  }
  bool dw = group == cin && cout == cin && group > 1;
  int id = new_layer(c, dw ? hwt_layer_dwconv : hwt_layer_conv, "");
  if (id < 0) return hwt_status_out_of_memory;
  hwt_layer *l = &c->layers[id];
  l->nin = 1;
  l->inputs[0] = x->id;
  window_to_layer(&w, l);
  l->in = internal_shape(x->rank, x->dims);
  l->groups = dw ? 0 : (uint32_t) group;
  l->outputs = dw ? 0 : (uint32_t) cout; /* dwconv: C (the model format has no outputs for it) */
  size_t kh = l->kh, kw = l->kw, n = (size_t) cout * kh * kw * (size_t) cpg;
  float *src = const_f32(c, wt);
  if (src == NULL) return hwt_status_out_of_memory;
  l->w = alloc_params(c, n);
  l->b = alloc_params(c, (size_t) cout);
  if (l->w == NULL || l->b == NULL) {
    free(src);
    return hwt_status_out_of_memory;
  }
  for (size_t o = 0; o < (size_t) cout; o++)
    for (size_t i = 0; i < (size_t) cpg; i++)
      for (size_t y = 0; y < kh; y++)
        for (size_t xx = 0; xx < kw; xx++) {
          float v = src[((o * (size_t) cpg + i) * kh + y) * kw + xx];
          if (dw)
            l->w[(y * kw + xx) * (size_t) cout + o] = v;
          else
            l->w[((o * kh + y) * kw + xx) * (size_t) cpg + i] = v;
        }
  free(src);
  if (bt) hwt_tensor_to_f32(bt, l->b);
  int64_t od[4] = {x->dims[0], cout, w.out[0], nsp == 2 ? w.out[1] : 0};
  if ((st = check_dims(c, x->rank, od)) != hwt_status_ok) return st;
  set_layer_out(c, id, x->rank, od);
  define_value(c, 0, id, x->rank, od);
  return hwt_status_ok;
}

/* Gemm and MatMul: an fc with w [N][K] from a constant B. */
static hwt_status gemm_build(imp *c, entry *a, const hwt_tensor *bt, bool matmul) {
  hwt_status st;
  int64_t ta = 0, tb = 0;
  float alpha = 1, beta = 1;
  if (!matmul) {
    if ((st = attr_int(c, "transA", 0, &ta)) != hwt_status_ok) return st;
    if ((st = attr_int(c, "transB", 0, &tb)) != hwt_status_ok) return st;
    if ((st = attr_float(c, "alpha", 1, &alpha)) != hwt_status_ok) return st;
    if ((st = attr_float(c, "beta", 1, &beta)) != hwt_status_ok) return st;
    if (ta != 0) return node_err(c, hwt_status_unsupported, "transA = 1 not supported (the batch is A's first dim)");
  }
  if (a->rank != 2)
    return node_err(c, hwt_status_unsupported, "input A of rank %u (only [N, K] matrices)", a->rank);
  if (bt->rank != 2) return node_err(c, hwt_status_unsupported, "B of rank %u (only 2-D constants)", bt->rank);
  int64_t k = a->dims[1], kb = tb ? bt->dims[1] : bt->dims[0], nout = tb ? bt->dims[0] : bt->dims[1];
  if (kb != k)
    return node_err(c, hwt_status_schema_error, "A has %lld columns, B has %lld rows", (long long) k, (long long) kb);
  if (nout < 1 || nout > (int64_t) UINT32_MAX) return node_err(c, hwt_status_schema_error, "B has no columns");
  const hwt_tensor *ct = NULL;
  if (in_name(c, 2) != NULL) {
    if (matmul) return node_err(c, hwt_status_schema_error, "MatMul has two inputs");
    if ((st = need_const(c, 2, &ct)) != hwt_status_ok) return st;
    if (c->opset < 7) { /* broadcast = 0: C is [M, N]; 1: C broadcasts into [M, N] by the legacy rule */
      int64_t bc, mn[2] = {a->dims[0], nout}, cd[2];
      if ((st = legacy_broadcast_flag(c, &bc)) != hwt_status_ok) return st;
      if (bc == 1) {
        if ((st = legacy_align(c, "C", mn, 2, ct->dims, (int) ct->rank, cd)) != hwt_status_ok) return st;
      } else if (ct->rank != 2 || ct->dims[0] != mn[0] || ct->dims[1] != mn[1]) {
        char cs[96], ms[96];
        dims_string((uint8_t) ct->rank, ct->dims, cs, sizeof cs);
        dims_string(2, mn, ms, sizeof ms);
        return node_err(c, hwt_status_schema_error, "opset %lld without broadcast = 1: C %s must be [M, N] = %s",
                        (long long) c->opset, cs, ms);
      } else {
        cd[0] = mn[0], cd[1] = mn[1];
      }
      if (cd[0] != 1)
        return node_err(c, hwt_status_unsupported, "opset %lld: C varies along M (the batch, %lld rows); only a "
                        "bias per column or a scalar is supported", (long long) c->opset, (long long) mn[0]);
    } else {
      bool ok = ct->count == 1 || (ct->count == (size_t) nout && (ct->rank == 1 || (ct->rank == 2 && ct->dims[0] == 1)));
      if (!ok) return node_err(c, hwt_status_unsupported, "bias C of %zu values: only [N], [1, N] or a scalar", ct->count);
    }
  }
  int id = new_layer(c, hwt_layer_fc, "");
  if (id < 0) return hwt_status_out_of_memory;
  hwt_layer *l = &c->layers[id];
  l->nin = 1;
  l->inputs[0] = a->id;
  l->outputs = (uint32_t) nout;
  l->in = internal_shape(a->rank, a->dims);
  size_t N = (size_t) nout, K = (size_t) k;
  float *src = const_f32(c, bt);
  if (src == NULL) return hwt_status_out_of_memory;
  l->w = alloc_params(c, N * K);
  l->b = alloc_params(c, N);
  if (l->w == NULL || l->b == NULL) {
    free(src);
    return hwt_status_out_of_memory;
  }
  for (size_t n = 0; n < N; n++)
    for (size_t j = 0; j < K; j++) l->w[n * K + j] = alpha * (tb ? src[n * K + j] : src[j * N + n]);
  free(src);
  if (ct) {
    float *cv = const_f32(c, ct);
    if (cv == NULL) return hwt_status_out_of_memory;
    for (size_t n = 0; n < N; n++) l->b[n] = beta * cv[ct->count == 1 ? 0 : n];
    free(cv);
  }
  int64_t od[2] = {a->dims[0], nout};
  set_layer_out(c, id, 2, od);
  define_value(c, 0, id, 2, od);
  return hwt_status_ok;
}

static hwt_status op_gemm(imp *c, bool matmul) {
  entry *a = NULL;
  const hwt_tensor *bt = NULL;
  entry *xraw = lookup(c, in_name(c, 0)), *wraw = lookup(c, in_name(c, 1));
  q8plan plan;
  bool q8 = false;
  if (wraw && wraw->kind == V_CONST && wraw->t->rank == 2) {
    int64_t tb = 0;
    float alpha = 1, beta = 1;
    if (!matmul) {
      attr_int(c, "transB", 0, &tb);
      attr_float(c, "alpha", 1, &alpha);
      attr_float(c, "beta", 1, &beta);
    }
    if (alpha == 1 && beta == 1)
      q8 = plan_q8(c, xraw, wraw, (size_t) wraw->t->dims[tb ? 0 : 1], tb ? 0 : 1, true, &plan);
  }
  hwt_status st = q8 ? hwt_status_ok : need_value(c, 0, &a);
  if (q8) a = xraw;
  if (st == hwt_status_ok) st = need_const(c, 1, &bt);
  if (st == hwt_status_ok && (st = gemm_build(c, a, bt, matmul)) == hwt_status_ok && q8)
    st = apply_q8(c, lookup(c, c->node->output[0])->id, &plan);
  if (q8) hwt_rt_free(plan.wscale);
  return st;
}

static hwt_status op_batchnorm(imp *c) {
  entry *x = NULL;
  hwt_status st = need_value(c, 0, &x);
  if (st != hwt_status_ok) return st;
  if (x->rank < 2) return node_err(c, hwt_status_unsupported, "input of rank %u", x->rank);
  float eps;
  int64_t spatial = 1, training = 0;
  if ((st = attr_float(c, "epsilon", 1e-5f, &eps)) != hwt_status_ok) return st;
  if (c->opset < 9 && (st = attr_int(c, "spatial", 1, &spatial)) != hwt_status_ok) return st;
  if (spatial != 1) return node_err(c, hwt_status_unsupported, "spatial = 0 not supported");
  if (c->opset < 7 && (st = legacy_is_test(c)) != hwt_status_ok) return st;
  if ((st = attr_int(c, "training_mode", 0, &training)) != hwt_status_ok) return st;
  if (training != 0) return node_err(c, hwt_status_unsupported, "training_mode = 1 not supported (inference only)");
  if ((st = extra_outputs_unused(c, 1)) != hwt_status_ok) return st;
  size_t C = (size_t) x->dims[1];
  const hwt_tensor *p[4];
  static const char *const names[4] = {"scale", "B", "mean", "var"};
  for (int i = 0; i < 4; i++) {
    if ((st = need_const(c, 1 + (size_t) i, &p[i])) != hwt_status_ok) return st;
    if (p[i]->count != C)
      return node_err(c, hwt_status_schema_error, "%s has %zu values for %zu channels", names[i], p[i]->count, C);
  }
  float *v[4] = {0};
  float *s = malloc(C * sizeof(float) + 1), *t = malloc(C * sizeof(float) + 1);
  st = s && t ? hwt_status_ok : hwt_status_out_of_memory;
  for (int i = 0; i < 4 && st == hwt_status_ok; i++)
    if ((v[i] = const_f32(c, p[i])) == NULL) st = hwt_status_out_of_memory;
  if (st != hwt_status_ok) {
    if (!s || !t) node_err(c, st, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < C; i++) {
    double sc = (double) v[0][i] / sqrt((double) v[3][i] + (double) eps);
    s[i] = (float) sc;
    t[i] = (float) ((double) v[1][i] - (double) v[2][i] * sc);
  }
  int pid = foldable(c, x);
  if (pid >= 0) {
    hwt_layer *l = &c->layers[pid];
    if (l->type == hwt_layer_dwconv) {
      for (size_t k = 0; k < (size_t) l->kh * l->kw; k++)
        for (size_t ch = 0; ch < C; ch++) l->w[k * C + ch] *= s[ch];
    } else { /* conv and fc: w [C][per] */
      size_t per = hwt_layer_weight_count(l) / C;
      for (size_t o = 0; o < C; o++)
        for (size_t j = 0; j < per; j++) l->w[o * per + j] *= s[o];
    }
    for (size_t o = 0; o < C; o++) l->b[o] = l->b[o] * s[o] + t[o];
    append_fused(l, "BatchNormalization", c->node->name);
    c->id_uses[pid] = 0;
    define_value(c, 0, pid, x->rank, x->dims);
  } else {
    int id = new_layer(c, hwt_layer_affine, "");
    if (id < 0) {
      st = hwt_status_out_of_memory;
      goto done;
    }
    hwt_layer *l = &c->layers[id];
    l->nin = 1;
    l->inputs[0] = x->id;
    if ((st = count_weights(c, 2 * C)) != hwt_status_ok) goto done;
    l->w = hwt_rt_alloc(C * sizeof(float) + 1);
    l->b = hwt_rt_alloc(C * sizeof(float) + 1);
    if (l->w == NULL || l->b == NULL) {
      st = node_err(c, hwt_status_out_of_memory, "out of memory");
      goto done;
    }
    memcpy(l->w, s, C * sizeof(float));
    memcpy(l->b, t, C * sizeof(float));
    set_layer_out(c, id, x->rank, x->dims);
    define_value(c, 0, id, x->rank, x->dims);
  }
done:
  for (int i = 0; i < 4; i++) free(v[i]);
  free(s);
  free(t);
  return st;
}

/* Relu / Clip: fused into the producing conv / fc when it is the value's only consumer, else its own node. */
static hwt_status op_clamp(imp *c, bool relu) {
  entry *x = NULL;
  hwt_status st = need_value(c, 0, &x);
  if (st != hwt_status_ok) return st;
  float lo = 0, hi = INFINITY;
  if (!relu) {
    lo = -INFINITY;
    if (c->opset < 11) {
      if ((st = attr_float(c, "min", -FLT_MAX, &lo)) != hwt_status_ok) return st;
      if ((st = attr_float(c, "max", FLT_MAX, &hi)) != hwt_status_ok) return st;
    } else {
      if (in_name(c, 1) && (st = const_scalar(c, 1, "min", &lo)) != hwt_status_ok) return st;
      if (in_name(c, 2) && (st = const_scalar(c, 2, "max", &hi)) != hwt_status_ok) return st;
    }
    if (isnan(lo) || isnan(hi)) return node_err(c, hwt_status_unsupported, "NaN bounds");
  }
  int pid = foldable(c, x);
  if (x->id >= 0 && c->planned[x->id] == (int) c->ni) pid = x->id; /* folded into a QDQ int8 node */
  if (pid >= 0) {
    hwt_layer *l = &c->layers[pid];
    if (lo == 0 && hi == INFINITY)
      l->act = hwt_act_relu;
    else if (lo == 0 && hi == 6)
      l->act = hwt_act_relu6;
    else
      l->act = hwt_act_clip, l->act_lo = lo, l->act_hi = hi;
    append_fused(l, c->node->op_type, c->node->name);
    c->id_uses[pid] = 0;
    define_value(c, 0, pid, x->rank, x->dims);
    return hwt_status_ok;
  }
  if (relu) return unary(c, hwt_layer_relu, 0, 0, NULL);
  return unary(c, hwt_layer_clip, lo, hi, NULL);
}

/* Right-aligns constant dims against a value of rank r; false when they do not broadcast into it. */
static bool broadcast_dims(const hwt_tensor *t, const entry *x, int64_t *cd) {
  if (t->rank > x->rank) return false;
  int off = x->rank - (int) t->rank;
  for (int i = 0; i < x->rank; i++) cd[i] = i < off ? 1 : t->dims[i - off];
  if (cd[0] != 1) return false; /* over the batch */
  for (int i = 1; i < x->rank; i++)
    if (cd[i] != 1 && cd[i] != x->dims[i]) return false;
  return true;
}

/* Before opset 7 without broadcast = 1: both operands have the same shape. */
static hwt_status legacy_equal(imp *c, int ra, const int64_t *ad, int rb, const int64_t *bd) {
  bool eq = ra == rb;
  for (int i = 0; eq && i < ra; i++) eq = ad[i] == bd[i];
  if (eq) return hwt_status_ok;
  char as[96], bs[96];
  dims_string((uint8_t) ra, ad, as, sizeof as);
  dims_string((uint8_t) rb, bd, bs, sizeof bs);
  return node_err(c, hwt_status_schema_error, "opset %lld without broadcast = 1: %s and %s must have equal shapes "
                  "(no implicit broadcasting before opset 7)", (long long) c->opset, as, bs);
}

/* A constant operand before opset 7: cd = its dims at the value's rank (equal shapes, or B aligned by the legacy
 * rule when broadcast = 1 and the constant is B). A constant that varies along the batch is refused. */
static hwt_status legacy_const_dims(imp *c, const hwt_tensor *t, const entry *x, bool first, int64_t bc,
                                    int64_t *cd) {
  hwt_status st;
  if (first || bc == 0) { /* A constant: the output has A's shape, which must then be the value's */
    if ((st = legacy_equal(c, x->rank, x->dims, (int) t->rank, t->dims)) != hwt_status_ok) return st;
    for (int i = 0; i < x->rank; i++) cd[i] = t->dims[i];
  } else if ((st = legacy_align(c, "B", x->dims, x->rank, t->dims, (int) t->rank, cd)) != hwt_status_ok) {
    return st;
  }
  if (cd[0] != 1) {
    char ts[96];
    dims_string((uint8_t) t->rank, t->dims, ts, sizeof ts);
    return node_err(c, hwt_status_unsupported, "opset %lld: constant %s varies along the batch dimension (%lld)",
                    (long long) c->opset, ts, (long long) x->dims[0]);
  }
  return hwt_status_ok;
}

static hwt_status op_binary(imp *c, hwt_layer_type type) {
  entry *a = input(c, 0), *b = input(c, 1);
  if (a == NULL || b == NULL) return node_err(c, hwt_status_schema_error, "needs two inputs");
  if (a->kind == V_CONST && b->kind == V_CONST)
    return node_err(c, hwt_status_unsupported, "both inputs are constants (constant folding is not supported)");
  bool commutative = type == hwt_layer_add || type == hwt_layer_mul || type == hwt_layer_max || type == hwt_layer_min;
  int64_t bc = 0;
  hwt_status st;
  if (c->opset < 7 && (st = legacy_broadcast_flag(c, &bc)) != hwt_status_ok) return st;
  if (a->kind == V_CONST || b->kind == V_CONST) {
    bool first = a->kind == V_CONST;
    entry *x = first ? b : a;
    const hwt_tensor *t = first ? a->t : b->t;
    int64_t cd[4] = {0};
    if (c->opset < 7) {
      if ((st = legacy_const_dims(c, t, x, first, bc, cd)) != hwt_status_ok) return st;
    } else if (!broadcast_dims(t, x, cd)) {
      char xs[96], ts[96];
      dims_string(x->rank, x->dims, xs, sizeof xs);
      dims_string((uint8_t) t->rank, t->dims, ts, sizeof ts);
      return node_err(c, hwt_status_unsupported, "constant %s does not broadcast into %s without the batch", ts, xs);
    }
    int id = new_layer(c, type, "");
    if (id < 0) return hwt_status_out_of_memory;
    hwt_layer *l = &c->layers[id];
    l->nin = 1;
    l->inputs[0] = x->id;
    l->const_first = first && !commutative;
    l->wshape = internal_shape(x->rank, cd);
    size_t n = hwt_shape_size(l->wshape);
    float *src = const_f32(c, t);
    if (src == NULL) return hwt_status_out_of_memory;
    l->w = alloc_params(c, n);
    if (l->w == NULL) {
      free(src);
      return hwt_status_out_of_memory;
    }
    /* logical [1, C, H, W] (or [1, C, L], [1, K], [1]) to internal [H][W][C] */
    size_t C = x->rank >= 2 ? (size_t) cd[1] : 1, H = x->rank == 4 ? (size_t) cd[2] : 1;
    size_t W = x->rank == 4 ? (size_t) cd[3] : x->rank == 3 ? (size_t) cd[2] : 1;
    for (size_t ch = 0; ch < C; ch++)
      for (size_t y = 0; y < H; y++)
        for (size_t xx = 0; xx < W; xx++) l->w[(y * W + xx) * C + ch] = src[(ch * H + y) * W + xx];
    free(src);
    set_layer_out(c, id, x->rank, x->dims);
    define_value(c, 0, id, x->rank, x->dims);
    return hwt_status_ok;
  }
  /* two runtime values: equal dims, or the second 1 where they differ (swap for Add / Mul) */
  if (a->rank != b->rank) return node_err(c, hwt_status_unsupported, "inputs of ranks %u and %u", a->rank, b->rank);
  if (c->opset < 7) { /* B into A only: equal dims, or B's leading / trailing 1s with broadcast = 1 */
    int64_t cd[4];
    if (bc == 1) {
      if ((st = legacy_align(c, "B", a->dims, a->rank, b->dims, b->rank, cd)) != hwt_status_ok) return st;
    } else if ((st = legacy_equal(c, a->rank, a->dims, b->rank, b->dims)) != hwt_status_ok) {
      return st;
    }
    commutative = false;
  }
  bool a_in_b = true, b_in_a = true;
  for (int i = 0; i < a->rank; i++) {
    if (a->dims[i] != b->dims[i] && b->dims[i] != 1) b_in_a = false;
    if (a->dims[i] != b->dims[i] && a->dims[i] != 1) a_in_b = false;
  }
  if (!b_in_a && a_in_b && commutative) {
    entry *t = a;
    a = b;
    b = t;
    b_in_a = true;
  }
  if (!b_in_a || b->dims[0] != a->dims[0]) {
    char as[96], bs[96];
    dims_string(a->rank, a->dims, as, sizeof as);
    dims_string(b->rank, b->dims, bs, sizeof bs);
    return node_err(c, hwt_status_unsupported, "inputs %s and %s: only equal shapes or the second broadcast into "
                    "the first", as, bs);
  }
  int id = new_layer(c, type, "");
  if (id < 0) return hwt_status_out_of_memory;
  hwt_layer *l = &c->layers[id];
  l->nin = 2;
  l->inputs[0] = a->id;
  l->inputs[1] = b->id;
  set_layer_out(c, id, a->rank, a->dims);
  define_value(c, 0, id, a->rank, a->dims);
  return hwt_status_ok;
}

/* A pool (Max / Average) or a global average pool. */
static hwt_status op_pool(imp *c, hwt_layer_type type) {
  entry *x = NULL;
  hwt_status st = need_value(c, 0, &x);
  if (st != hwt_status_ok) return st;
  if (x->rank != 3 && x->rank != 4) return node_err(c, hwt_status_unsupported, "input of rank %u", x->rank);
  if ((st = extra_outputs_unused(c, 1)) != hwt_status_ok) return st;
  if (type == hwt_layer_gavgpool) {
    int id = new_layer(c, type, "");
    if (id < 0) return hwt_status_out_of_memory;
    c->layers[id].nin = 1;
    c->layers[id].inputs[0] = x->id;
    int64_t od[4] = {x->dims[0], x->dims[1], 1, 1};
    set_layer_out(c, id, x->rank, od);
    define_value(c, 0, id, x->rank, od);
    return hwt_status_ok;
  }
  window w;
  memset(&w, 0, sizeof w);
  int64_t ks[2];
  int nk, nsp = x->rank - 2;
  if ((st = attr_ints(c, "kernel_shape", ks, 2, &nk)) != hwt_status_ok) return st;
  if (nk != nsp) return node_err(c, hwt_status_schema_error, "kernel_shape must have %d values", nsp);
  for (int i = 0; i < nsp; i++) w.k[i] = ks[i];
  int64_t ceil_mode = 0, cip = 0, order = 0;
  if ((st = attr_int(c, "ceil_mode", 0, &ceil_mode)) != hwt_status_ok) return st;
  /* count_include_pad exists since opset 7; before, pads never count */
  if (type == hwt_layer_avgpool && c->opset >= 7 && (st = attr_int(c, "count_include_pad", 0, &cip)) != hwt_status_ok) return st;
  if (type == hwt_layer_maxpool && (st = attr_int(c, "storage_order", 0, &order)) != hwt_status_ok) return st;
  if (order != 0) return node_err(c, hwt_status_unsupported, "storage_order = %lld not supported", (long long) order);
  if ((st = read_window(c, x, &w, ceil_mode != 0)) != hwt_status_ok) return st;
  for (int i = 0; i < nsp; i++)
    if (w.d[i] != 1) {
      if (nsp == 2)
        return node_err(c, hwt_status_unsupported, "dilations [%lld, %lld] not supported", (long long) w.d[0],
                        (long long) w.d[1]);
      return node_err(c, hwt_status_unsupported, "dilations [%lld] not supported", (long long) w.d[0]);
    }
  int id = new_layer(c, type, "");
  if (id < 0) return hwt_status_out_of_memory;
  hwt_layer *l = &c->layers[id];
  l->nin = 1;
  l->inputs[0] = x->id;
  window_to_layer(&w, l);
  l->dh = l->dw = 0;
  l->ceil_mode = ceil_mode != 0;
  l->count_include_pad = cip != 0;
  int64_t od[4] = {x->dims[0], x->dims[1], w.out[0], nsp == 2 ? w.out[1] : 0};
  set_layer_out(c, id, x->rank, od);
  define_value(c, 0, id, x->rank, od);
  return hwt_status_ok;
}

static hwt_status op_reducemean(imp *c) {
  entry *x = NULL;
  hwt_status st = need_value(c, 0, &x);
  if (st != hwt_status_ok) return st;
  int64_t axes[4], keep;
  int n;
  if ((st = attr_ints(c, "axes", axes, 4, &n)) != hwt_status_ok) return st;
  if ((st = attr_int(c, "keepdims", 1, &keep)) != hwt_status_ok) return st;
  if (n < 0 && in_name(c, 1)) return node_err(c, hwt_status_unsupported, "axes as an input (opset 18) not supported");
  unsigned mask = 0;
  for (int i = 0; i < n; i++) {
    int a = 0;
    if ((st = norm_axis(c, axes[i], x->rank, "axis", &a)) != hwt_status_ok) return st;
    mask |= 1u << a;
  }
  unsigned want = x->rank == 4 ? 0xcu : x->rank == 3 ? 0x4u : 0;
  if (n < 0 || want == 0 || mask != want)
    return node_err(c, hwt_status_unsupported, "only the mean over the spatial axes (H and W) is supported");
  int id = new_layer(c, hwt_layer_gavgpool, "");
  if (id < 0) return hwt_status_out_of_memory;
  c->layers[id].nin = 1;
  c->layers[id].inputs[0] = x->id;
  int64_t od[4] = {x->dims[0], x->dims[1], 1, 1};
  uint8_t rank = keep ? x->rank : 2;
  set_layer_out(c, id, rank, od);
  define_value(c, 0, id, rank, od);
  return hwt_status_ok;
}

/* Flatten / Reshape / Squeeze / Unsqueeze of a runtime value to new logical dims (the batch stays first). A
 * reshape that keeps the internal order aliases the value (unless it is a graph output); others get a node. */
static hwt_status reshape_to(imp *c, entry *x, uint8_t rank, int64_t *od) {
  if (rank < 1 || rank > 4) return node_err(c, hwt_status_unsupported, "output of rank %u (1 to 4 supported)", rank);
  hwt_status st = check_dims(c, rank, od);
  if (st != hwt_status_ok) return st;
  uint64_t nin = 1, nout = 1;
  for (int i = 1; i < x->rank; i++) nin *= (uint64_t) x->dims[i];
  for (int i = 1; i < rank; i++) nout *= (uint64_t) od[i];
  if (od[0] != x->dims[0] || nin != nout) {
    char xs[96], os[96];
    dims_string(x->rank, x->dims, xs, sizeof xs);
    dims_string(rank, od, os, sizeof os);
    return node_err(c, hwt_status_unsupported, "%s to %s %s", xs, os,
                    od[0] != x->dims[0] ? "changes the batch dimension" : "changes the element count");
  }
  hwt_shape si = internal_shape(x->rank, x->dims), so = internal_shape(rank, od);
  /* the internal order equals the logical one when no spatial extent is left on either side */
  bool same_order = (si.h * si.w == 1 || si.c == 1) && (so.h * so.w == 1 || so.c == 1);
  entry *out = lookup(c, c->node->output[0]);
  bool graph_output = false;
  for (size_t i = 0; i < c->g->n_output; i++)
    if (c->g->output[i]->name && strcmp(c->g->output[i]->name, out->name) == 0) graph_output = true;
  if (same_order && !graph_output && x->id >= 0) {
    c->id_uses[x->id] -= 1;
    define_value(c, 0, x->id, rank, od);
    return hwt_status_ok;
  }
  int id = new_layer(c, hwt_layer_reshape, "");
  if (id < 0) return hwt_status_out_of_memory;
  c->layers[id].nin = 1;
  c->layers[id].inputs[0] = x->id;
  set_layer_out(c, id, rank, od);
  define_value(c, 0, id, rank, od);
  return hwt_status_ok;
}

/* Flatten / Reshape / Squeeze / Unsqueeze of a constant: same data, new dims. */
static hwt_status reshape_const(imp *c, const hwt_tensor *t, unsigned rank, const int64_t *od) {
  hwt_tensor *o = own_tensor(c);
  if (o == NULL) return node_err(c, hwt_status_out_of_memory, "out of memory");
  size_t bytes = t->count * hwt_dtype_size(t->dtype);
  o->data = hwt_rt_alloc(bytes ? bytes : 1);
  if (o->data == NULL) return node_err(c, hwt_status_out_of_memory, "out of memory");
  memcpy(o->data, t->data, bytes);
  o->dtype = t->dtype;
  o->count = t->count;
  o->rank = rank;
  for (unsigned i = 0; i < rank; i++) o->dims[i] = od[i];
  define_const(c, 0, o);
  return hwt_status_ok;
}

typedef enum { RS_FLATTEN, RS_RESHAPE, RS_SQUEEZE, RS_UNSQUEEZE } rs_kind;

static hwt_status op_reshape(imp *c, rs_kind kind) {
  entry *x = input(c, 0);
  if (x == NULL) return node_err(c, hwt_status_schema_error, "input 0 is missing");
  bool is_const = x->kind == V_CONST;
  unsigned rank = is_const ? x->t->rank : x->rank;
  int64_t d[HWT_TENSOR_MAX_RANK], od[HWT_TENSOR_MAX_RANK];
  for (unsigned i = 0; i < rank; i++) d[i] = is_const ? x->t->dims[i] : x->dims[i];
  uint64_t total = 1;
  for (unsigned i = 0; i < rank; i++) total *= (uint64_t) d[i];
  unsigned orank = 0;
  hwt_status st;
  if (kind == RS_FLATTEN) {
    int64_t axis;
    int a = 0;
    if ((st = attr_int(c, "axis", 1, &axis)) != hwt_status_ok) return st;
    if (axis == (int64_t) rank)
      a = (int) rank;
    else if ((st = norm_axis(c, axis, (int) rank, "axis", &a)) != hwt_status_ok)
      return st;
    uint64_t p = 1;
    for (int i = 0; i < a; i++) p *= (uint64_t) d[i];
    od[0] = (int64_t) p;
    od[1] = p ? (int64_t) (total / p) : 0;
    orank = 2;
  } else if (kind == RS_RESHAPE) {
    size_t n;
    if (c->opset < 5) { /* Reshape-1: the shape is an attribute */
      int na;
      if ((st = attr_ints(c, "shape", od, HWT_TENSOR_MAX_RANK, &na)) != hwt_status_ok) return st;
      if (na < 0) return node_err(c, hwt_status_schema_error, "opset %lld: attribute 'shape' missing", (long long) c->opset);
      n = (size_t) na;
    } else {
      const hwt_tensor *s = NULL;
      if ((st = need_const(c, 1, &s)) != hwt_status_ok) return st;
      if ((st = const_ints(c, s, "the shape", od, HWT_TENSOR_MAX_RANK, &n)) != hwt_status_ok) return st;
    }
    int64_t allowzero = 0;
    if (c->opset >= 14 && (st = attr_int(c, "allowzero", 0, &allowzero)) != hwt_status_ok) return st;
    int infer = -1;
    uint64_t known = 1;
    for (size_t i = 0; i < n; i++) {
      if (od[i] == 0 && !allowzero) {
        if (i >= rank) return node_err(c, hwt_status_schema_error, "shape[%zu] = 0 copies a missing dim", i);
        od[i] = d[i];
      }
      if (od[i] == -1) {
        if (infer >= 0) return node_err(c, hwt_status_schema_error, "two -1 in the shape");
        infer = (int) i;
        continue;
      }
      if (od[i] < 0 || od[i] > (int64_t) HWT_ONNX_MAX_ELEMENTS)
        return node_err(c, hwt_status_schema_error, "shape[%zu] = %lld", i, (long long) od[i]);
      known *= (uint64_t) od[i];
      if (known > HWT_ONNX_MAX_ELEMENTS) return node_err(c, hwt_status_schema_error, "shape has too many elements");
    }
    if (infer >= 0) {
      if (known == 0 || total % known != 0)
        return node_err(c, hwt_status_schema_error, "shape cannot hold %llu elements", (unsigned long long) total);
      od[infer] = (int64_t) (total / known);
    }
    orank = (unsigned) n;
  } else {
    int64_t axes[HWT_TENSOR_MAX_RANK];
    int na = -1;
    if (c->opset < 13) {
      if ((st = attr_ints(c, "axes", axes, HWT_TENSOR_MAX_RANK, &na)) != hwt_status_ok) return st;
    } else if (in_name(c, 1)) {
      const hwt_tensor *s = NULL;
      size_t n;
      if ((st = need_const(c, 1, &s)) != hwt_status_ok) return st;
      if ((st = const_ints(c, s, "axes", axes, HWT_TENSOR_MAX_RANK, &n)) != hwt_status_ok) return st;
      na = (int) n;
    }
    unsigned mask = 0;
    if (kind == RS_SQUEEZE) {
      if (na < 0) { /* every dim of size 1 except the batch of a runtime value */
        for (unsigned i = is_const ? 0 : 1; i < rank; i++)
          if (d[i] == 1) mask |= 1u << i;
      }
      for (int i = 0; i < na; i++) {
        int a = 0;
        if ((st = norm_axis(c, axes[i], (int) rank, "axis", &a)) != hwt_status_ok) return st;
        if (d[a] != 1) return node_err(c, hwt_status_schema_error, "axis %d has size %lld, not 1", a, (long long) d[a]);
        mask |= 1u << a;
      }
      for (unsigned i = 0; i < rank; i++)
        if (!(mask & (1u << i))) od[orank++] = d[i];
    } else {
      if (na < 0) return node_err(c, hwt_status_schema_error, "axes missing");
      unsigned r = rank + (unsigned) na;
      if (r > HWT_TENSOR_MAX_RANK) return node_err(c, hwt_status_unsupported, "rank %u", r);
      for (int i = 0; i < na; i++) {
        int a = 0;
        if ((st = norm_axis(c, axes[i], (int) r, "axis", &a)) != hwt_status_ok) return st;
        if (mask & (1u << a)) return node_err(c, hwt_status_schema_error, "axis %d repeated", a);
        mask |= 1u << a;
      }
      for (unsigned i = 0, j = 0; i < r; i++) od[i] = (mask & (1u << i)) ? 1 : d[j++];
      orank = r;
    }
  }
  if (is_const) return reshape_const(c, x->t, orank, od);
  return reshape_to(c, x, (uint8_t) orank, od);
}

static hwt_status op_concat(imp *c) {
  int64_t axis;
  hwt_status st = attr_int(c, "axis", c->opset < 4 ? 1 : INT64_MIN, &axis); /* optional (default 1) before 4 */
  if (st != hwt_status_ok) return st;
  if (axis == INT64_MIN) return node_err(c, hwt_status_schema_error, "attribute 'axis' missing");
  if (c->node->n_input < 1) return node_err(c, hwt_status_schema_error, "no inputs");
  entry *x0 = NULL;
  if ((st = need_value(c, 0, &x0)) != hwt_status_ok) return st;
  int a = 0;
  if ((st = norm_axis(c, axis, x0->rank, "axis", &a)) != hwt_status_ok) return st;
  if (a != 1) return node_err(c, hwt_status_unsupported, "axis %lld: only the channels (axis 1) are supported", (long long) axis);
  int64_t od[4];
  memcpy(od, x0->dims, sizeof od);
  od[1] = 0;
  int prev = -1;
  size_t k = 0;
  while (k < c->node->n_input) {
    int id = new_layer(c, hwt_layer_concat, prev < 0 ? "" : "_chain");
    if (id < 0) return hwt_status_out_of_memory;
    hwt_layer *l = &c->layers[id];
    if (prev >= 0) l->inputs[l->nin++] = prev;
    for (; k < c->node->n_input && l->nin < HWT_NODE_MAX_INPUTS; k++) {
      entry *x = NULL;
      if ((st = need_value(c, k, &x)) != hwt_status_ok) return st;
      if (x->rank != x0->rank) return node_err(c, hwt_status_schema_error, "inputs of different ranks");
      for (int i = 0; i < x->rank; i++)
        if (i != 1 && x->dims[i] != x0->dims[i])
          return node_err(c, hwt_status_schema_error, "input %zu '%.64s' differs in dim %d", k, x->name, i);
      od[1] += x->dims[1];
      l = &c->layers[id];
      l->inputs[l->nin++] = x->id;
    }
    if ((st = check_dims(c, x0->rank, od)) != hwt_status_ok) return st;
    set_layer_out(c, id, x0->rank, od);
    prev = id;
  }
  define_value(c, 0, prev, x0->rank, od);
  return hwt_status_ok;
}

/* The HWT_AXIS_* bit of logical axis a (1..rank-1) of a value of rank r. */
static uint8_t axis_bit(int r, int a) {
  if (a == 1) return HWT_AXIS_C;
  if (r == 4) return a == 2 ? HWT_AXIS_H : HWT_AXIS_W;
  return HWT_AXIS_W; /* rank 3: L */
}

static hwt_status op_softmax(imp *c) {
  entry *x = NULL;
  hwt_status st = need_value(c, 0, &x);
  if (st != hwt_status_ok) return st;
  int64_t axis;
  if ((st = attr_int(c, "axis", c->opset < 13 ? 1 : -1, &axis)) != hwt_status_ok) return st;
  int a = 0;
  if ((st = norm_axis(c, axis, x->rank, "axis", &a)) != hwt_status_ok) return st;
  if (a == 0 || x->rank < 2)
    return node_err(c, hwt_status_unsupported, "axis %lld includes the batch dimension", (long long) axis);
  uint8_t bits = 0;
  if (c->opset < 13)
    for (int i = a; i < x->rank; i++) bits |= axis_bit(x->rank, i); /* coerced to 2-D: every axis from `axis` */
  else
    bits = axis_bit(x->rank, a);
  int id;
  bool lg = strcmp(c->node->op_type, "LogSoftmax") == 0; /* the same axis rules in every opset */
  if ((st = unary(c, lg ? hwt_layer_log_softmax : hwt_layer_softmax, 0, 0, &id)) != hwt_status_ok) return st;
  c->layers[id].axes = bits;
  return hwt_status_ok;
}

/* Identity / Dropout: alias the value (a node when the output is a graph output, so each output has its own). */
static hwt_status op_identity(imp *c, bool dropout) {
  entry *x = input(c, 0);
  if (x == NULL) return node_err(c, hwt_status_schema_error, "input 0 is missing");
  hwt_status st;
  if (dropout) {
    if ((st = extra_outputs_unused(c, 1)) != hwt_status_ok) return st;
    if (c->opset < 7 && (st = legacy_is_test(c)) != hwt_status_ok) return st;
    if (c->opset >= 12 && in_name(c, 2)) {
      const hwt_tensor *t = NULL;
      if ((st = need_const(c, 2, &t)) != hwt_status_ok) return st;
      float f = 0;
      if (t->count == 1) hwt_tensor_to_f32(t, &f);
      if (t->count != 1 || f != 0) return node_err(c, hwt_status_unsupported, "training_mode = true not supported");
    }
  }
  if (x->kind == V_CONST) {
    define_const(c, 0, x->t);
    return hwt_status_ok;
  }
  entry *out = lookup(c, c->node->output[0]);
  bool graph_output = false;
  for (size_t i = 0; i < c->g->n_output; i++)
    if (c->g->output[i]->name && strcmp(c->g->output[i]->name, out->name) == 0) graph_output = true;
  if (!graph_output && x->id >= 0) {
    c->id_uses[x->id] -= 1;
    define_value(c, 0, x->id, x->rank, x->dims);
    return hwt_status_ok;
  }
  return unary(c, hwt_layer_identity, 0, 0, NULL);
}

static hwt_status op_constant(imp *c) {
  const Onnx__AttributeProto *a = c->node->n_attribute == 1 ? c->node->attribute[0] : NULL;
  if (a == NULL || a->name == NULL)
    return node_err(c, hwt_status_schema_error, "needs exactly one attribute (value, value_float, ...)");
  hwt_tensor *t = own_tensor(c);
  if (t == NULL) return node_err(c, hwt_status_out_of_memory, "out of memory");
  hwt_status st;
  if (strcmp(a->name, "value") == 0 && a->t != NULL) {
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s: node %zu '%.64s' (Constant): value", c->file, c->ni,
             c->node->name ? c->node->name : "");
    if ((st = hwt_onnx_tensor_convert(a->t, prefix, t, c->err, c->errlen)) != hwt_status_ok) return st;
  } else if (strcmp(a->name, "value_float") == 0 || strcmp(a->name, "value_int") == 0 ||
             strcmp(a->name, "value_floats") == 0 || strcmp(a->name, "value_ints") == 0) {
    bool flt = a->name[6] == 'f', list = a->name[strlen(a->name) - 1] == 's';
    size_t n = list ? (flt ? a->n_floats : a->n_ints) : 1;
    t->dtype = flt ? hwt_dtype_f32 : hwt_dtype_i64;
    t->rank = list ? 1 : 0;
    t->dims[0] = (int64_t) n;
    t->count = n;
    t->data = hwt_rt_alloc(n * 8 + 1);
    if (t->data == NULL) return node_err(c, hwt_status_out_of_memory, "out of memory");
    if (flt)
      memcpy(t->data, list ? a->floats : &a->f, n * sizeof(float));
    else
      memcpy(t->data, list ? a->ints : &a->i, n * sizeof(int64_t));
  } else {
    return node_err(c, hwt_status_unsupported, "attribute '%.32s' not supported (value, value_float(s), "
                    "value_int(s) are)", a->name);
  }
  if ((st = count_weights(c, t->count * hwt_dtype_size(t->dtype) / 4)) != hwt_status_ok) return st;
  define_const(c, 0, t);
  return hwt_status_ok;
}

/* ---------------- QDQ ---------------- */

/* Scale (input ks) and zero point (input kz, optional) of a QuantizeLinear / DequantizeLinear: n values (1 per
 * tensor). *zt is the zero point's type (`def` when absent). Arrays malloc'ed (free()). */
static hwt_status q_inputs(imp *c, hwt_dtype def, size_t *n, float **scale, int32_t **zp, hwt_dtype *zt) {
  const hwt_tensor *st = NULL, *zt_ = NULL;
  hwt_status r = need_const(c, 1, &st);
  if (r != hwt_status_ok) return r;
  if (st->dtype != hwt_dtype_f32 || st->count < 1 || st->rank > 1)
    return node_err(c, hwt_status_unsupported, "scale must be a float scalar or 1-D tensor");
  if (in_name(c, 2) && (r = need_const(c, 2, &zt_)) != hwt_status_ok) return r;
  if (zt_ && zt_->count != st->count)
    return node_err(c, hwt_status_schema_error, "zero point has %zu values, scale %zu", zt_->count, st->count);
  if (zt_ && zt_->dtype != hwt_dtype_i8 && zt_->dtype != hwt_dtype_u8 && zt_->dtype != hwt_dtype_i32)
    return node_err(c, hwt_status_unsupported, "zero point of type %s", hwt_dtype_name(zt_->dtype));
  *n = st->count;
  *scale = malloc(st->count * sizeof(float));
  *zp = calloc(st->count, sizeof(int32_t));
  if (*scale == NULL || *zp == NULL) {
    free(*scale), free(*zp);
    return node_err(c, hwt_status_out_of_memory, "out of memory");
  }
  hwt_tensor_to_f32(st, *scale);
  for (size_t i = 0; i < st->count; i++) {
    float v = (*scale)[i];
    if (!(isfinite(v) && v > 0)) {
      free(*scale), free(*zp);
      *scale = NULL, *zp = NULL;
      return node_err(c, hwt_status_unsupported, "scale %g: must be finite and > 0", (double) v);
    }
    if (zt_)
      (*zp)[i] = zt_->dtype == hwt_dtype_i8 ? ((const int8_t *) zt_->data)[i]
               : zt_->dtype == hwt_dtype_u8 ? ((const uint8_t *) zt_->data)[i] : ((const int32_t *) zt_->data)[i];
  }
  *zt = zt_ ? zt_->dtype : def;
  return hwt_status_ok;
}

/* The int8 parameters of a per-tensor QuantizeLinear / DequantizeLinear (uint8 shifted by -128). */
static hwt_qparams q_internal(float scale, int32_t zp, hwt_dtype zt) {
  return (hwt_qparams){scale, zt == hwt_dtype_u8 ? zp - 128 : zp};
}

static bool same_q(hwt_qparams a, hwt_qparams b) {
  return a.zero_point == b.zero_point && fabsf(a.scale - b.scale) <= 1e-6f * b.scale;
}

static hwt_status op_quantize(imp *c) {
  entry *x = lookup(c, in_name(c, 0));
  if (x == NULL) return node_err(c, hwt_status_schema_error, "input 0 is missing");
  size_t n;
  float *scale;
  int32_t *zp;
  hwt_dtype zt;
  hwt_status st = q_inputs(c, hwt_dtype_u8, &n, &scale, &zp, &zt);
  if (st != hwt_status_ok) return st;
  hwt_qparams q = q_internal(scale[0], zp[0], zt);
  free(scale), free(zp);
  if (n != 1) return node_err(c, hwt_status_unsupported, "per-axis QuantizeLinear of a value not supported");
  if (zt == hwt_dtype_i32) return node_err(c, hwt_status_unsupported, "int32 output not supported");
  if (x->kind == V_CONST) return node_err(c, hwt_status_unsupported, "QuantizeLinear of a constant not supported");
  for (size_t i = 0; zt == hwt_dtype_u8 && i < c->g->n_output; i++)
    if (c->g->output[i]->name && strcmp(c->g->output[i]->name, c->node->output[0]) == 0)
      return node_err(c, hwt_status_unsupported, "a uint8 graph output is not supported (int8 values inside)");
  /* Q(DQ(v)) with v's own parameters, or the output of an int8 node planned with these parameters: alias */
  if (x->kind == V_DQ && same_q(x->dq, q)) {
    define_value(c, 0, x->id, x->rank, x->dims);
    return hwt_status_ok;
  }
  if (x->kind == V_VALUE && x->id >= 0 && c->layers[x->id].q8 && same_q(c->layers[x->id].oq, q)) {
    c->id_uses[x->id] -= 1;
    define_value(c, 0, x->id, x->rank, x->dims);
    return hwt_status_ok;
  }
  int id;
  if ((st = unary(c, hwt_layer_quantize, 0, 0, &id)) != hwt_status_ok) return st;
  c->layers[id].q8 = true;
  c->layers[id].oq = q;
  return hwt_status_ok;
}

static hwt_status op_dequantize(imp *c) {
  entry *x = lookup(c, in_name(c, 0));
  if (x == NULL) return node_err(c, hwt_status_schema_error, "input 0 is missing");
  int64_t axis = 1;
  hwt_status st = attr_int(c, "axis", 1, &axis);
  if (st != hwt_status_ok) return st;
  if (x->kind == V_CONST) { /* folded: float constant, integers kept for the int8 pattern */
    const hwt_tensor *t = x->t;
    if (t->dtype != hwt_dtype_i8 && t->dtype != hwt_dtype_u8 && t->dtype != hwt_dtype_i32)
      return node_err(c, hwt_status_schema_error, "input of type %s (int8, uint8 or int32)", hwt_dtype_name(t->dtype));
    size_t n;
    float *scale;
    int32_t *zp;
    hwt_dtype zt;
    if ((st = q_inputs(c, t->dtype, &n, &scale, &zp, &zt)) != hwt_status_ok) return st;
    int a = 0;
    size_t inner = 1;
    if (n > 1) {
      st = norm_axis(c, axis, (int) t->rank, "axis", &a);
      if (st == hwt_status_ok && (size_t) t->dims[a] != n)
        st = node_err(c, hwt_status_schema_error, "%zu scales for axis %d of size %lld", n, a, (long long) t->dims[a]);
      for (unsigned i = (unsigned) a + 1; i < t->rank; i++) inner *= (size_t) t->dims[i];
    }
    qconst *qc = st == hwt_status_ok ? calloc(1, sizeof *qc) : NULL;
    hwt_tensor *o = st == hwt_status_ok ? own_tensor(c) : NULL;
    if (st == hwt_status_ok && (qc == NULL || o == NULL)) st = node_err(c, hwt_status_out_of_memory, "out of memory");
    if (st == hwt_status_ok && c->nqcs == c->capqcs) {
      size_t cap = c->capqcs ? 2 * c->capqcs : 16;
      qconst **p = realloc(c->qcs, cap * sizeof *p);
      if (p == NULL) st = node_err(c, hwt_status_out_of_memory, "out of memory");
      else c->qcs = p, c->capqcs = cap;
    }
    if (st != hwt_status_ok) {
      free(scale), free(zp), free(qc);
      return st;
    }
    c->qcs[c->nqcs++] = qc;
    qc->q = t, qc->n = n, qc->axis = a, qc->scale = scale, qc->zp = zp;
    if ((st = count_weights(c, t->count)) != hwt_status_ok) return st;
    o->data = hwt_rt_alloc(t->count * sizeof(float) + 1);
    if (o->data == NULL) return node_err(c, hwt_status_out_of_memory, "out of memory");
    float *f = o->data;
    hwt_tensor_to_f32(t, f);
    for (size_t i = 0; i < t->count; i++) {
      size_t ch = n > 1 ? (i / inner) % n : 0;
      f[i] = (f[i] - (float) zp[ch]) * scale[ch];
    }
    o->dtype = hwt_dtype_f32, o->rank = t->rank, o->count = t->count;
    memcpy(o->dims, t->dims, sizeof o->dims);
    define_const(c, 0, o);
    lookup(c, c->node->output[0])->qc = qc;
    return hwt_status_ok;
  }
  if (x->kind != V_VALUE || x->id < 0 || !c->layers[x->id].q8)
    return node_err(c, hwt_status_unsupported, "input '%.64s' is not int8 (a QuantizeLinear output or an integer "
                    "constant)", x->name);
  size_t n;
  float *scale;
  int32_t *zp;
  hwt_dtype zt;
  hwt_qparams have = c->layers[x->id].oq;
  if ((st = q_inputs(c, have.zero_point < 0 && !in_name(c, 2) ? hwt_dtype_u8 : hwt_dtype_i8, &n, &scale, &zp, &zt)) !=
      hwt_status_ok)
    return st;
  hwt_qparams q = q_internal(scale[0], zp[0], zt);
  free(scale), free(zp);
  if (n != 1) return node_err(c, hwt_status_unsupported, "per-axis DequantizeLinear of a value not supported");
  if (!in_name(c, 2)) q.zero_point = have.zero_point;
  if (!same_q(q, have))
    return node_err(c, hwt_status_unsupported, "scale %g / zero point %d differ from the ones '%.64s' was quantized "
                    "with (%g / %d)", (double) q.scale, (int) q.zero_point, x->name, (double) have.scale,
                    (int) have.zero_point);
  entry *out = lookup(c, c->node->output[0]);
  out->kind = V_DQ;
  out->id = x->id;
  out->rank = x->rank;
  memcpy(out->dims, x->dims, sizeof out->dims);
  out->dq = q;
  return hwt_status_ok;
}

/* The QDQ int8 pattern around a Conv / Gemm / MatMul: DQ(int8 value) -> op(DQ(int8 weights, zero point 0, per
 * tensor or per output channel `waxis`), bias) -> [Relu | Clip] -> Q(per tensor). */
static const Onnx__NodeProto *node_at(imp *c, int j) { return j >= 0 ? c->g->node[j] : NULL; }

static bool is_op(const Onnx__NodeProto *n, const char *op) {
  return n && n->op_type && strcmp(n->op_type, op) == 0 && (!n->domain || !n->domain[0] || !strcmp(n->domain, "ai.onnx"));
}

/* The per-tensor parameters of QuantizeLinear node n (false when not constant per-tensor int8 / uint8). */
static bool q_node_params(imp *c, const Onnx__NodeProto *n, hwt_qparams *q) {
  entry *s = n->n_input > 1 ? lookup(c, n->input[1]) : NULL;
  entry *z = n->n_input > 2 && n->input[2][0] ? lookup(c, n->input[2]) : NULL;
  if (s == NULL || s->kind != V_CONST || s->t->dtype != hwt_dtype_f32 || s->t->count != 1) return false;
  if (z && (z->kind != V_CONST || z->t->count != 1 || (z->t->dtype != hwt_dtype_i8 && z->t->dtype != hwt_dtype_u8)))
    return false;
  float sc = ((const float *) s->t->data)[0];
  if (!(isfinite(sc) && sc > 0)) return false;
  int32_t zp = !z ? 0 : z->t->dtype == hwt_dtype_i8 ? ((const int8_t *) z->t->data)[0] : ((const uint8_t *) z->t->data)[0];
  *q = q_internal(sc, zp, z ? z->t->dtype : hwt_dtype_u8);
  return true;
}

/* The output chain of the op being imported: [Relu | Clip] -> QuantizeLinear (per tensor). */
static bool q8_chain(imp *c, q8plan *p) {
  entry *y = lookup(c, c->node->output[0]);
  if (y->uses != 1) return false;
  const Onnx__NodeProto *n = node_at(c, y->consumer);
  if (is_op(n, "Relu") || is_op(n, "Clip")) {
    if (is_op(n, "Clip")) {
      if (c->opset < 11) return false; /* attribute bounds: keep it simple, fall back */
      for (size_t k = 1; k < n->n_input && k < 3; k++) {
        entry *b = n->input[k][0] ? lookup(c, n->input[k]) : NULL;
        if (b && (b->kind != V_CONST || b->t->count != 1)) return false;
      }
    }
    entry *z = lookup(c, n->output[0]);
    if (z == NULL || z->uses != 1) return false;
    p->act_node = z->producer;
    n = node_at(c, z->consumer);
  }
  return is_op(n, "QuantizeLinear") && q_node_params(c, n, &p->out);
}

/* fc: a Gemm / MatMul whose output is not quantized is the int8 classifier with float logits (int8 input and
 * weights, int32 accumulator x input scale x weight scale), as ONNX Runtime runs it too. */
static bool plan_q8(imp *c, const entry *x, const entry *w, size_t cout, int waxis, bool fc, q8plan *p) {
  memset(p, 0, sizeof *p);
  p->act_node = -1;
  if (x == NULL || x->kind != V_DQ || w == NULL || w->kind != V_CONST || w->qc == NULL) return false;
  const qconst *qc = w->qc;
  if (qc->q->dtype != hwt_dtype_i8 || (qc->n != 1 && (qc->n != cout || qc->axis != waxis))) return false;
  for (size_t i = 0; i < qc->n; i++)
    if (qc->zp[i] != 0) return false;
  if (!q8_chain(c, p)) {
    if (!fc) return false;
    p->act_node = -1;
    p->float_out = true;
  }
  /* an int32 bias with zero points 0 is taken as its integers (apply_q8 checks its scale) */
  entry *be = in_name(c, 2) ? lookup(c, in_name(c, 2)) : NULL;
  if (be && be->kind == V_CONST && be->qc && be->qc->q->dtype == hwt_dtype_i32 && be->qc->q->count == cout &&
      (be->qc->n == 1 || be->qc->n == cout)) {
    p->bias = be->qc;
    for (size_t i = 0; i < be->qc->n; i++)
      if (be->qc->zp[i] != 0) p->bias = NULL;
  }
  p->in = x->dq;
  p->wscale = hwt_rt_alloc(cout * sizeof(float) + 1);
  if (p->wscale == NULL) return false;
  for (size_t o = 0; o < cout; o++) p->wscale[o] = qc->scale[qc->n == 1 ? 0 : o];
  return true;
}

/* Turns the float conv / dwconv / fc just built from the dequantized constants into its int8 form. */
static hwt_status apply_q8(imp *c, int id, q8plan *p) {
  hwt_layer *l = &c->layers[id];
  size_t nw = hwt_layer_weight_count(l), cout = hwt_layer_bias_count(l);
  l->wq = hwt_rt_alloc(nw + 1);
  l->bq = hwt_rt_alloc(cout * sizeof(int32_t) + 1);
  if (l->wq == NULL || l->bq == NULL) return node_err(c, hwt_status_out_of_memory, "out of memory");
  size_t per = cout ? nw / cout : 0;
  for (size_t k = 0; k < nw; k++) {
    size_t o = l->type == hwt_layer_dwconv ? k % cout : k / per;
    float q = roundf(l->w[k] / p->wscale[o]);
    l->wq[k] = (int8_t) (q < -128 ? -128 : q > 127 ? 127 : q);
  }
  for (size_t o = 0; o < cout; o++) {
    float want = p->in.scale * p->wscale[o], have = p->bias ? p->bias->scale[p->bias->n == 1 ? 0 : o] : 0;
    if (p->bias && fabsf(have - want) <= 1e-6f * want) { /* the file's integers, exactly */
      l->bq[o] = ((const int32_t *) p->bias->q->data)[o];
      continue;
    }
    double q = round((double) l->b[o] / ((double) p->in.scale * p->wscale[o]));
    if (q < INT32_MIN || q > INT32_MAX) return node_err(c, hwt_status_unsupported, "bias %zu does not fit int32", o);
    l->bq[o] = (int32_t) q;
  }
  hwt_rt_free(l->w), hwt_rt_free(l->b);
  l->w = l->b = NULL;
  l->wscale = p->wscale;
  p->wscale = NULL;
  l->q8 = !p->float_out;
  l->oq = p->float_out ? (hwt_qparams){0, 0} : p->out;
  c->planned[id] = p->act_node;
  return hwt_status_ok;
}

/* ---------------- elementwise functions, Max / Min, PRelu, Pow ---------------- */

/* ONNX operators that map to one hwt_unary_fn. Their float semantics are the same in every opset (opset 1's
 * consumed_inputs is a legacy optimisation hint and is ignored; later versions only add types). */
static const struct {
  const char *op;
  hwt_unary_fn fn;
} unary_ops[] = {{"Neg", hwt_unary_neg},   {"Abs", hwt_unary_abs},     {"Exp", hwt_unary_exp},
                 {"Log", hwt_unary_log},   {"Sqrt", hwt_unary_sqrt},   {"Reciprocal", hwt_unary_reciprocal},
                 {"Floor", hwt_unary_floor}, {"Ceil", hwt_unary_ceil}, {"Elu", hwt_unary_elu},
                 {"Selu", hwt_unary_selu}, {"Softplus", hwt_unary_softplus}, {"Softsign", hwt_unary_softsign},
                 {"Erf", hwt_unary_erf}};

static bool elementwise_known(const char *op) {
  for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++)
    if (strcmp(op, unary_ops[i].op) == 0) return true;
  return strcmp(op, "Max") == 0 || strcmp(op, "Min") == 0 || strcmp(op, "PRelu") == 0 || strcmp(op, "Pow") == 0 ||
         strcmp(op, "LogSoftmax") == 0;
}

/* Max / Min of three or more runtime values of equal dims: a chain of two-input nodes. */
static hwt_status minmax_chain(imp *c, hwt_layer_type type) {
  entry *x0 = NULL;
  hwt_status st = need_value(c, 0, &x0);
  if (st != hwt_status_ok) return st;
  int prev = x0->id;
  for (size_t k = 1; k < c->node->n_input; k++) {
    entry *x = NULL;
    if ((st = need_value(c, k, &x)) != hwt_status_ok) return st;
    if (x->rank != x0->rank || memcmp(x->dims, x0->dims, x0->rank * sizeof x0->dims[0]) != 0) {
      char as[96], bs[96];
      dims_string(x0->rank, x0->dims, as, sizeof as);
      dims_string(x->rank, x->dims, bs, sizeof bs);
      return node_err(c, hwt_status_unsupported, "inputs %s and %s: with more than 2 inputs only equal shapes", as,
                      bs);
    }
    char suffix[24] = "";
    if (k + 1 < c->node->n_input) snprintf(suffix, sizeof suffix, "_%zu", k);
    int id = new_layer(c, type, suffix);
    if (id < 0) return hwt_status_out_of_memory;
    hwt_layer *l = &c->layers[id];
    l->nin = 2;
    l->inputs[0] = prev;
    l->inputs[1] = x->id;
    set_layer_out(c, id, x0->rank, x0->dims);
    prev = id;
  }
  define_value(c, 0, prev, x0->rank, x0->dims);
  return hwt_status_ok;
}

/* PRelu before opset 7: a slope of one value is shared, a 1-D slope of C values is per channel (axis 1). */
static hwt_status prelu_legacy(imp *c, entry *x, const hwt_tensor *t) {
  int id = new_layer(c, hwt_layer_prelu, "");
  if (id < 0) return hwt_status_out_of_memory;
  float *src = const_f32(c, t);
  if (src == NULL) return hwt_status_out_of_memory;
  float *w = alloc_params(c, t->count);
  if (w == NULL) {
    free(src);
    return hwt_status_out_of_memory;
  }
  memcpy(w, src, t->count * sizeof(float));
  free(src);
  hwt_layer *l = &c->layers[id];
  l->nin = 1;
  l->inputs[0] = x->id;
  l->w = w;
  l->wshape = (hwt_shape){1, 1, (uint32_t) t->count};
  set_layer_out(c, id, x->rank, x->dims);
  define_value(c, 0, id, x->rank, x->dims);
  return hwt_status_ok;
}

/* A node of an operator elementwise_known accepts. */
static hwt_status op_elementwise(imp *c, const char *op) {
  hwt_status st = hwt_status_ok;
  for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++) {
    if (strcmp(op, unary_ops[i].op) != 0) continue;
    hwt_unary_fn fn = unary_ops[i].fn;
    float alpha = 0, beta = 0;
    if (fn == hwt_unary_elu) st = attr_float(c, "alpha", 1.0f, &alpha);
    if (fn == hwt_unary_selu) {
      st = attr_float(c, "alpha", 1.67326319217681884765625f, &alpha);
      if (st == hwt_status_ok) st = attr_float(c, "gamma", 1.05070102214813232421875f, &beta);
    }
    if (st == hwt_status_ok && (!isfinite(alpha) || !isfinite(beta)))
      return node_err(c, hwt_status_unsupported, "alpha %g / gamma %g must be finite", (double) alpha, (double) beta);
    int id;
    if (st == hwt_status_ok) st = unary(c, hwt_layer_unary, alpha, beta, &id);
    if (st == hwt_status_ok) c->layers[id].fn = fn;
    return st;
  }
  if (strcmp(op, "Pow") == 0) { /* Pow(X, Y) with Y a constant scalar (any numeric type since opset 12) */
    float e = 0;
    if ((st = const_scalar(c, 1, "exponent Y", &e)) != hwt_status_ok) return st;
    if (!isfinite(e)) return node_err(c, hwt_status_unsupported, "exponent %g must be finite", (double) e);
    int id;
    if ((st = unary(c, hwt_layer_unary, e, 0, &id)) == hwt_status_ok) c->layers[id].fn = hwt_unary_pow;
    return st;
  }
  if (strcmp(op, "PRelu") == 0) { /* slope broadcasts into X (unidirectional, opset 7+; size 1 or equal before) */
    entry *x = input(c, 0);
    if (x != NULL && x->kind == V_CONST)
      return node_err(c, hwt_status_unsupported, "X is a constant (constant folding is not supported)");
    entry *sl = input(c, 1);
    if (c->opset < 7 && x != NULL && sl != NULL && sl->kind == V_CONST && x->rank >= 2 &&
        (sl->t->count == 1 || (sl->t->rank == 1 && sl->t->dims[0] == x->dims[1])))
      return prelu_legacy(c, x, sl->t);
    return op_binary(c, hwt_layer_prelu);
  }
  if (strcmp(op, "Max") == 0 || strcmp(op, "Min") == 0) { /* variadic */
    size_t n = c->node->n_input;
    hwt_layer_type type = op[1] == 'a' ? hwt_layer_max : hwt_layer_min;
    if (n == 1) return op_identity(c, false);
    if (n == 2) return op_binary(c, type);
    return minmax_chain(c, type);
  }
  return op_softmax(c); /* LogSoftmax */
}

/* ---------------- Transpose ---------------- */

/* Transpose of a runtime value of rank 2 to 4 whose perm keeps the batch first (the engine's batch is never part
 * of a shape). perm defaults to the reversed dims, which moves the batch: refused like any perm[0] != 0. */
static hwt_status op_transpose(imp *c) {
  entry *x = NULL;
  hwt_status st = need_value(c, 0, &x);
  if (st != hwt_status_ok) return st;
  int64_t p[4];
  int np;
  if ((st = attr_ints(c, "perm", p, 4, &np)) != hwt_status_ok) return st;
  char ds[96];
  dims_string(x->rank, x->dims, ds, sizeof ds);
  if (x->rank < 2 || x->rank > 4)
    return node_err(c, hwt_status_unsupported, "input %s has rank %u (Transpose supports ranks 2 to 4)", ds,
                    x->rank);
  if (np < 0) {
    np = x->rank;
    for (int d = 0; d < np; d++) p[d] = np - 1 - d;
  }
  if (np != x->rank)
    return node_err(c, hwt_status_schema_error, "perm has %d entries, the input %s has rank %u", np, ds, x->rank);
  unsigned seen = 0;
  for (int d = 0; d < np; d++) {
    if (p[d] < 0 || p[d] >= np || (seen >> p[d] & 1u))
      return node_err(c, hwt_status_schema_error, "perm is not a permutation of 0 to %d", np - 1);
    seen |= 1u << p[d];
  }
  if (p[0] != 0)
    return node_err(c, hwt_status_unsupported, "perm[0] = %lld moves the batch dimension of %s%s (only perms that "
                    "keep dim 0 first are supported)", (long long) p[0], ds,
                    attr(c, "perm") == NULL ? " (perm absent: the default reverses all dims)" : "");
  int id = new_layer(c, hwt_layer_transpose, "");
  if (id < 0) return hwt_status_out_of_memory;
  hwt_layer *l = &c->layers[id];
  l->nin = 1;
  l->inputs[0] = x->id;
  int64_t od[4];
  for (int d = 0; d < np; d++) {
    l->perm[d] = (uint8_t) p[d];
    od[d] = x->dims[p[d]];
  }
  set_layer_out(c, id, x->rank, od);
  define_value(c, 0, id, x->rank, od);
  return hwt_status_ok;
}

static hwt_status import_node(imp *c) {
  const char *op = c->node->op_type ? c->node->op_type : "";
  const char *dom = c->node->domain ? c->node->domain : "";
  if (dom[0] != '\0' && strcmp(dom, "ai.onnx") != 0)
    return node_err(c, hwt_status_unsupported, "operator domain '%.64s' not supported (only ai.onnx)", dom);
  static const char *const known[] = {"Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Constant",
                                      "Conv", "DequantizeLinear", "Div", "Dropout", "Flatten", "Gemm",
                                      "GlobalAveragePool", "HardSigmoid", "HardSwish", "Identity", "LeakyRelu",
                                      "MatMul", "MaxPool", "Mul", "QuantizeLinear", "ReduceMean", "Relu", "Reshape",
                                      "Sigmoid", "Softmax", "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze"};
  bool ok = false;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) ok |= strcmp(op, known[i]) == 0;
  ok |= elementwise_known(op);
  if (!ok) return node_err(c, hwt_status_unsupported, "operator not supported");
  hwt_status st = node_since(c, op);
  if (st != hwt_status_ok) return st;
  if (c->node->n_output < 1 || c->node->output[0] == NULL || c->node->output[0][0] == '\0')
    return node_err(c, hwt_status_schema_error, "no output");
  if (strcmp(op, "Constant") == 0) return op_constant(c);
  if (strcmp(op, "Conv") == 0) return op_conv(c);
  if (strcmp(op, "Gemm") == 0) return op_gemm(c, false);
  if (strcmp(op, "MatMul") == 0) return op_gemm(c, true);
  if (strcmp(op, "BatchNormalization") == 0) return op_batchnorm(c);
  if (strcmp(op, "Relu") == 0) return op_clamp(c, true);
  if (strcmp(op, "Clip") == 0) return op_clamp(c, false);
  if (strcmp(op, "Add") == 0) return op_binary(c, hwt_layer_add);
  if (strcmp(op, "Sub") == 0) return op_binary(c, hwt_layer_sub);
  if (strcmp(op, "Mul") == 0) return op_binary(c, hwt_layer_mul);
  if (strcmp(op, "Div") == 0) return op_binary(c, hwt_layer_div);
  if (strcmp(op, "MaxPool") == 0) return op_pool(c, hwt_layer_maxpool);
  if (strcmp(op, "AveragePool") == 0) return op_pool(c, hwt_layer_avgpool);
  if (strcmp(op, "GlobalAveragePool") == 0) return op_pool(c, hwt_layer_gavgpool);
  if (strcmp(op, "ReduceMean") == 0) return op_reducemean(c);
  if (strcmp(op, "Flatten") == 0) return op_reshape(c, RS_FLATTEN);
  if (strcmp(op, "Reshape") == 0) return op_reshape(c, RS_RESHAPE);
  if (strcmp(op, "Squeeze") == 0) return op_reshape(c, RS_SQUEEZE);
  if (strcmp(op, "Unsqueeze") == 0) return op_reshape(c, RS_UNSQUEEZE);
  if (strcmp(op, "Concat") == 0) return op_concat(c);
  if (strcmp(op, "Softmax") == 0) return op_softmax(c);
  if (strcmp(op, "Identity") == 0) return op_identity(c, false);
  if (strcmp(op, "Dropout") == 0) return op_identity(c, true);
  if (strcmp(op, "Sigmoid") == 0) return unary(c, hwt_layer_sigmoid, 0, 0, NULL);
  if (strcmp(op, "Tanh") == 0) return unary(c, hwt_layer_tanh, 0, 0, NULL);
  if (strcmp(op, "HardSwish") == 0) return unary(c, hwt_layer_hard_swish, 0, 0, NULL);
  if (strcmp(op, "LeakyRelu") == 0) {
    float alpha;
    st = attr_float(c, "alpha", 0.01f, &alpha);
    return st != hwt_status_ok ? st : unary(c, hwt_layer_leaky_relu, alpha, 0, NULL);
  }
  if (strcmp(op, "HardSigmoid") == 0) {
    float alpha, beta;
    st = attr_float(c, "alpha", 0.2f, &alpha);
    if (st == hwt_status_ok) st = attr_float(c, "beta", 0.5f, &beta);
    return st != hwt_status_ok ? st : unary(c, hwt_layer_hard_sigmoid, alpha, beta, NULL);
  }
  if (elementwise_known(op)) return op_elementwise(c, op);
  if (strcmp(op, "Transpose") == 0) return op_transpose(c);
  if (strcmp(op, "QuantizeLinear") == 0) return op_quantize(c);
  if (strcmp(op, "DequantizeLinear") == 0) return op_dequantize(c);
  return node_err(c, hwt_status_unsupported, "operator not supported");
}

/* ---------------- the graph ---------------- */

static hwt_status check_opset(imp *c, const Onnx__ModelProto *mp) {
  c->opset = -1;
  for (size_t i = 0; i < mp->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
    const char *d = o->domain ? o->domain : "";
    if (d[0] == '\0' || strcmp(d, "ai.onnx") == 0) c->opset = o->has_version ? o->version : 0;
  }
  if (c->opset < 0) return file_err(c, hwt_status_unsupported, "no opset of the ai.onnx domain in opset_import");
  if (c->opset < OPSET_MIN || c->opset > OPSET_MAX)
    return file_err(c, hwt_status_unsupported, "opset %lld of ai.onnx not supported (%d to %d are)",
                    (long long) c->opset, OPSET_MIN, OPSET_MAX);
  return hwt_status_ok;
}

/* A graph input that is not a constant: float32, rank 1 to 4, the first dim the batch. */
static hwt_status add_graph_input(imp *c, const Onnx__ValueInfoProto *vi, entry *e, hwt_model *m, uint32_t *fixed,
                                  bool *symbolic) {
  const char *name = vi->name;
  const Onnx__TypeProto *tp = vi->type;
  if (tp == NULL || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || tp->tensor_type == NULL)
    return file_err(c, hwt_status_unsupported, "graph input '%.64s' is not a tensor", name);
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  if (!tt->has_elem_type || tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
    char b[24];
    return file_err(c, hwt_status_unsupported, "graph input '%.64s' is %s (only FLOAT inputs are supported)", name,
                    hwt_onnx_type_name(tt->has_elem_type ? tt->elem_type : 0, b, sizeof b));
  }
  if (tt->shape == NULL) return file_err(c, hwt_status_unsupported, "graph input '%.64s' has no shape", name);
  size_t r = tt->shape->n_dim;
  if (r < 1 || r > 4)
    return file_err(c, hwt_status_unsupported, "graph input '%.64s' has rank %zu (1 to 4 supported)", name, r);
  if (m->ninputs >= HWT_GRAPH_MAX_IO)
    return file_err(c, hwt_status_unsupported, "more than %d graph inputs", HWT_GRAPH_MAX_IO);
  e->rank = (uint8_t) r;
  for (size_t i = 0; i < r; i++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
    bool has = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    if (i == 0) {
      if (!has) {
        *symbolic = true;
        e->dims[0] = 0; /* set once the batch is known */
        continue;
      }
      if (d->dim_value < 1 || d->dim_value > 65536)
        return file_err(c, hwt_status_unsupported, "graph input '%.64s': batch dimension %lld not supported", name,
                        (long long) d->dim_value);
      if (*fixed != 0 && *fixed != (uint32_t) d->dim_value)
        return file_err(c, hwt_status_unsupported, "graph inputs fix different batch sizes (%u and %lld)", *fixed,
                        (long long) d->dim_value);
      *fixed = (uint32_t) d->dim_value;
      e->dims[0] = d->dim_value;
      continue;
    }
    if (!has)
      return file_err(c, hwt_status_unsupported, "graph input '%.64s': dimension %zu is symbolic ('%.32s'); only "
                      "the first (the batch) may be", name, i,
                      d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param
                          ? d->dim_param : "");
    if (d->dim_value < 1 || d->dim_value > (int64_t) HWT_ONNX_MAX_ELEMENTS)
      return file_err(c, hwt_status_unsupported, "graph input '%.64s': dimension %zu = %lld not supported", name, i,
                      (long long) d->dim_value);
    e->dims[i] = d->dim_value;
  }
  uint64_t n = 1;
  for (size_t i = 1; i < r; i++) {
    n *= (uint64_t) e->dims[i];
    if (n > HWT_ONNX_MAX_ELEMENTS)
      return file_err(c, hwt_status_unsupported, "graph input '%.64s' has more than 2^31 elements per sample", name);
  }
  size_t k = m->ninputs++;
  hwt_graph_io *io = &m->inputs[k];
  snprintf(io->name, sizeof io->name, "%s", name);
  io->value = HWT_INPUT_ID(k);
  io->rank = (uint8_t) r;
  io->shape = internal_shape(e->rank, e->dims);
  e->kind = V_VALUE;
  e->id = HWT_INPUT_ID(k);
  return hwt_status_ok;
}

/* Kahn's algorithm over the producer edges; order[] gets node indices, file order among the ready ones. */
static hwt_status topo_sort(imp *c, size_t *order) {
  const Onnx__GraphProto *g = c->g;
  size_t nn = g->n_node, nedges = 0;
  for (size_t j = 0; j < nn; j++) nedges += g->node[j]->n_input;
  size_t *indeg = calloc(nn + 1, sizeof *indeg), *start = calloc(nn + 2, sizeof *start);
  size_t *adj = malloc((nedges + 1) * sizeof *adj), *fill = calloc(nn + 1, sizeof *fill);
  hwt_status st = hwt_status_ok;
  if (!indeg || !start || !adj || !fill) {
    st = file_err(c, hwt_status_out_of_memory, "out of memory sorting %zu nodes", nn);
    goto done;
  }
  for (size_t j = 0; j < nn; j++)
    for (size_t k = 0; k < g->node[j]->n_input; k++) {
      const char *nm = g->node[j]->input[k];
      entry *e = nm && nm[0] ? lookup(c, nm) : NULL;
      if (e && e->producer >= 0) {
        start[e->producer + 1]++;
        indeg[j]++;
      }
    }
  for (size_t j = 0; j < nn; j++) start[j + 1] += start[j];
  for (size_t j = 0; j < nn; j++)
    for (size_t k = 0; k < g->node[j]->n_input; k++) {
      const char *nm = g->node[j]->input[k];
      entry *e = nm && nm[0] ? lookup(c, nm) : NULL;
      if (e && e->producer >= 0) adj[start[e->producer] + fill[e->producer]++] = j;
    }
  size_t head = 0, tail = 0;
  for (size_t j = 0; j < nn; j++)
    if (indeg[j] == 0) order[tail++] = j;
  while (head < tail) {
    size_t p = order[head++];
    for (size_t q = start[p]; q < start[p + 1]; q++)
      if (--indeg[adj[q]] == 0) order[tail++] = adj[q];
  }
  if (tail < nn) {
    for (size_t j = 0; j < nn; j++)
      if (indeg[j] > 0) {
        c->ni = j;
        c->node = g->node[j];
        st = node_err(c, hwt_status_schema_error, "is part of a cycle (%zu nodes cannot be ordered)", nn - tail);
        break;
      }
  }
done:
  free(indeg);
  free(start);
  free(adj);
  free(fill);
  return st;
}

static bool is_graph_input(const Onnx__GraphProto *g, const char *name) {
  for (size_t i = 0; i < g->n_input; i++)
    if (g->input[i]->name && strcmp(g->input[i]->name, name) == 0) return true;
  return false;
}

/* QDQ around the int8 node types without weights: dequantize node(s) -> float op -> quantize node becomes the op
 * as an int8 node with the QuantizeLinear's parameters (what hwt_model_quantize builds and onnx/export.c writes, and
 * what ONNX Runtime runs as QLinearAdd, QLinearConcat, ...), when the op keeps the rank (a Flatten folded into
 * the quantize node keeps it); a quantize node of a dequantize node with the same parameters and rank is the int8
 * value itself. Removes the nodes this leaves unused and renumbers the values. */
/* The node a value id stands for after folding (aliases resolved to a kept node). */
static int fold_resolve(const int *alias, int id) {
  while (id >= 0 && alias[id] >= 0 && alias[id] != id) id = alias[id];
  return id;
}

static hwt_status fold_q8_ops(imp *c) {
  hwt_model *m = c->m;
  size_t n = c->nlayers;
  if (n == 0) return hwt_status_ok;
  int *uses = calloc(n, sizeof(int)), *alias = malloc(n * sizeof(int)), *renum = malloc(n * sizeof(int));
  if (uses == NULL || alias == NULL || renum == NULL) {
    free(uses), free(alias), free(renum);
    return file_err(c, hwt_status_out_of_memory, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    alias[i] = (int) i;
    for (int k = 0; k < c->layers[i].nin; k++) {
      int id = c->layers[i].inputs[k];
      if (id >= 0) uses[id]++;
    }
  }
  for (size_t k = 0; k < m->noutputs; k++) {
    int id = m->outputs[k].value;
    if (id >= 0) uses[id]++;
  }
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    hwt_layer *q = &c->layers[i];
    if (q->type != hwt_layer_quantize || q->nin != 1 || alias[i] != (int) i) continue;
    int pid = q->inputs[0];
    if (pid < 0) continue; /* a float graph input: its quantize node stays */
    hwt_layer *p = &c->layers[pid];
    hwt_layer_type t = p->type;
    if (t == hwt_layer_dequantize && p->nin == 1 && alias[pid] == pid) { /* Q(DQ(v)) with v's parameters: v */
      int src = fold_resolve(alias, p->inputs[0]);
      if (src < 0 || !c->layers[src].q8 || !same_q(c->layers[src].oq, q->oq) || c->layers[src].rank != q->rank)
        continue; /* (a rank change, a Flatten folded away, stays with the quantize node) */
      bool out = false;
      for (size_t j = 0; j < m->noutputs; j++) out |= m->outputs[j].value == (int) i;
      if (out) continue;
      if (--uses[pid] == 0) alias[pid] = -1 - (int) HWT_GRAPH_MAX_IO;
      uses[src]++;
      alias[i] = src;
      any = true;
      continue;
    }
    if (p->q8 || p->wq != NULL || p->act != hwt_act_none || uses[pid] != 1 || !hwt_layer_type_q8_capable(t) ||
        p->rank != q->rank ||
        t == hwt_layer_fc || t == hwt_layer_conv || t == hwt_layer_dwconv || t == hwt_layer_quantize)
      continue;
    bool ok = p->nin >= 1;
    for (int k = 0; k < p->nin && ok; k++) {
      int d = p->inputs[k];
      ok = d >= 0 && alias[d] == d && c->layers[d].type == hwt_layer_dequantize && c->layers[d].nin == 1;
      int src = ok ? fold_resolve(alias, c->layers[d].inputs[0]) : -1;
      ok = ok && src >= 0 && c->layers[src].q8; /* the op then reads that int8 value */
    }
    if (!ok) continue;
    for (int k = 0; k < p->nin; k++) {
      int d = p->inputs[k], src = fold_resolve(alias, c->layers[d].inputs[0]);
      p->inputs[k] = src;
      if (--uses[d] == 0) alias[d] = -1 - (int) HWT_GRAPH_MAX_IO; /* unused: dropped */
      if (src >= 0) uses[src]++;
    }
    p->q8 = true;
    p->oq = q->oq;
    alias[i] = pid;
    any = true;
  }
  if (any) {
    /* compact: new indices for the nodes kept; a dropped quantize node's readers read what it aliases */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) renum[i] = alias[i] == (int) i ? (int) w++ : -1;
    for (size_t i = 0; i < n; i++) {
      if (alias[i] != (int) i) continue;
      hwt_layer *l = &c->layers[i];
      for (int k = 0; k < l->nin; k++) {
        int id = fold_resolve(alias, l->inputs[k]);
        l->inputs[k] = id >= 0 ? renum[id] : id;
      }
      if ((size_t) renum[i] != i) c->layers[renum[i]] = *l;
    }
    for (size_t k = 0; k < m->noutputs; k++) {
      int id = fold_resolve(alias, m->outputs[k].value);
      m->outputs[k].value = id >= 0 ? renum[id] : id;
    }
    c->nlayers = w;
  }
  free(uses), free(alias), free(renum);
  return hwt_status_ok;
}

static hwt_status import_graph(imp *c, const Onnx__ModelProto *mp) {
  hwt_status st = check_opset(c, mp);
  if (st != hwt_status_ok) return st;
  const Onnx__GraphProto *g = mp->graph;
  if (g == NULL) return file_err(c, hwt_status_schema_error, "no graph");
  c->g = g;
  if (g->n_sparse_initializer > 0) return file_err(c, hwt_status_unsupported, "sparse initializers not supported");
  if (g->n_node == 0) return file_err(c, hwt_status_schema_error, "the graph has no nodes");
  if (g->n_output == 0) return file_err(c, hwt_status_schema_error, "the graph has no outputs");
  if (g->n_output > HWT_GRAPH_MAX_IO)
    return file_err(c, hwt_status_unsupported, "%zu graph outputs (at most %d)", g->n_output, HWT_GRAPH_MAX_IO);
  size_t cap = g->n_initializer + g->n_input;
  for (size_t j = 0; j < g->n_node; j++) cap += g->node[j]->n_output;
  c->cape = cap + 1;
  c->e = calloc(c->cape, sizeof *c->e);
  c->hcap = 16;
  while (c->hcap < 2 * c->cape) c->hcap *= 2;
  c->hash = calloc(c->hcap, sizeof *c->hash);
  if (c->e == NULL || c->hash == NULL) return file_err(c, hwt_status_out_of_memory, "out of memory (%zu names)", cap);

  /* constants: initializers, then bound inputs */
  for (size_t i = 0; i < g->n_initializer; i++) {
    const Onnx__TensorProto *tp = g->initializer[i];
    if (tp->name == NULL || tp->name[0] == '\0') return file_err(c, hwt_status_schema_error, "initializer %zu has no name", i);
    if (lookup(c, tp->name)) return file_err(c, hwt_status_schema_error, "initializer '%.64s' is defined twice", tp->name);
    hwt_tensor *t = own_tensor(c);
    if (t == NULL) return file_err(c, hwt_status_out_of_memory, "out of memory");
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s: initializer '%.64s'", c->file, tp->name);
    if ((st = hwt_onnx_tensor_convert(tp, prefix, t, c->err, c->errlen)) != hwt_status_ok) return st;
    c->weight_bytes += (uint64_t) t->count * hwt_dtype_size(t->dtype);
    if (c->weight_bytes > HWT_ONNX_MAX_WEIGHT_BYTES)
      return file_err(c, hwt_status_unsupported, "initializers exceed 2 GiB");
    entry *e = add_entry(c, tp->name);
    e->kind = V_CONST;
    e->t = t;
  }
  const hwt_onnx_options *opt = c->opt;
  for (size_t i = 0; opt && i < opt->nbind; i++) {
    const hwt_onnx_binding *b = &opt->bind[i];
    if (b->name == NULL || b->tensor == NULL) return file_err(c, hwt_status_invalid_argument, "binding %zu is empty", i);
    if (!is_graph_input(g, b->name))
      return file_err(c, hwt_status_invalid_argument, "bound name '%.64s' is not a graph input", b->name);
    entry *e = lookup(c, b->name);
    if (e == NULL) {
      const char *nm = NULL;
      for (size_t k = 0; k < g->n_input; k++)
        if (strcmp(g->input[k]->name, b->name) == 0) nm = g->input[k]->name;
      e = add_entry(c, nm);
    }
    e->kind = V_CONST;
    e->t = b->tensor;
  }
  /* runtime inputs */
  hwt_model *m = c->m;
  uint32_t fixed = 0;
  bool symbolic = false;
  for (size_t i = 0; i < g->n_input; i++) {
    const Onnx__ValueInfoProto *vi = g->input[i];
    if (vi->name == NULL || vi->name[0] == '\0') return file_err(c, hwt_status_schema_error, "graph input %zu has no name", i);
    entry *e = lookup(c, vi->name);
    if (e != NULL && e->kind == V_CONST) continue; /* an initializer listed as an input (older exporters), or bound */
    if (e != NULL) return file_err(c, hwt_status_schema_error, "graph input '%.64s' is listed twice", vi->name);
    e = add_entry(c, vi->name);
    if ((st = add_graph_input(c, vi, e, m, &fixed, &symbolic)) != hwt_status_ok) return st;
  }
  if (m->ninputs == 0) return file_err(c, hwt_status_unsupported, "the graph has no non-constant input");
  c->batch = fixed ? fixed : (opt && opt->batch ? opt->batch : 1);
  m->fixed_batch = fixed;
  for (size_t i = 0; i < c->ne; i++)
    if (c->e[i].kind == V_VALUE) c->e[i].dims[0] = c->batch;

  /* node outputs, then uses */
  for (size_t j = 0; j < g->n_node; j++) {
    const Onnx__NodeProto *n = g->node[j];
    c->ni = j;
    c->node = n;
    for (size_t k = 0; k < n->n_output; k++) {
      const char *nm = n->output[k];
      if (nm == NULL || nm[0] == '\0') continue;
      entry *e = lookup(c, nm);
      if (e != NULL)
        return node_err(c, hwt_status_schema_error, "output '%.64s' is already defined by %s", nm,
                        e->producer >= 0 ? "another node" : "an initializer or graph input");
      e = add_entry(c, nm);
      e->producer = (int) j;
    }
  }
  for (size_t j = 0; j < g->n_node; j++) {
    const Onnx__NodeProto *n = g->node[j];
    c->ni = j;
    c->node = n;
    for (size_t k = 0; k < n->n_input; k++) {
      const char *nm = n->input[k];
      if (nm == NULL || nm[0] == '\0') continue;
      entry *e = lookup(c, nm);
      if (e == NULL)
        return node_err(c, hwt_status_schema_error, "input '%.64s' is not produced by any node, initializer or graph "
                        "input", nm);
      e->uses++;
      e->consumer = (int) j;
    }
  }
  for (size_t i = 0; i < g->n_output; i++) {
    const char *nm = g->output[i]->name;
    entry *e = nm ? lookup(c, nm) : NULL;
    if (e == NULL) return file_err(c, hwt_status_schema_error, "graph output '%.64s' is not produced by any node", nm ? nm : "");
    e->uses++;
  }

  size_t *order = malloc(g->n_node * sizeof *order);
  if (order == NULL) return file_err(c, hwt_status_out_of_memory, "out of memory");
  st = topo_sort(c, order);
  for (size_t j = 0; j < g->n_node && st == hwt_status_ok; j++) {
    c->ni = order[j];
    c->node = g->node[order[j]];
    /* a node whose inputs were never defined (an unused output of an earlier node) */
    for (size_t k = 0; k < c->node->n_input && st == hwt_status_ok; k++) {
      entry *e = lookup(c, in_name(c, k));
      if (e != NULL && e->kind == V_UNDEF)
        st = node_err(c, hwt_status_schema_error, "input '%.64s' is not available (an output the producer does not "
                      "compute)", e->name);
    }
    if (st == hwt_status_ok) st = import_node(c);
  }
  free(order);
  if (st != hwt_status_ok) return st;

  /* graph outputs */
  c->node = NULL;
  for (size_t i = 0; i < g->n_output; i++) {
    entry *e = lookup(c, g->output[i]->name);
    if (e->kind == V_DQ) { /* a DequantizeLinear output: a dequantize node */
      static Onnx__NodeProto dq;
      onnx__node_proto__init(&dq);
      dq.name = g->output[i]->name;
      dq.op_type = "DequantizeLinear";
      dq.input = &dq.name;
      dq.n_input = 1;
      c->node = &dq;
      c->ni = g->n_node + i;
      e = input(c, 0);
      c->node = NULL;
      if (e == NULL) return hwt_status_out_of_memory;
    }
    if (e->kind != V_VALUE)
      return file_err(c, hwt_status_unsupported, "graph output '%.64s' is a constant", e->name);
    int id = e->id;
    if (id < 0) { /* a graph input passed through: give it a node */
      static Onnx__NodeProto pass;
      onnx__node_proto__init(&pass);
      pass.name = g->output[i]->name;
      pass.op_type = "Identity";
      c->node = &pass;
      c->ni = g->n_node + i;
      id = new_layer(c, hwt_layer_identity, "");
      c->node = NULL;
      if (id < 0) return hwt_status_out_of_memory;
      c->layers[id].nin = 1;
      c->layers[id].inputs[0] = e->id;
      set_layer_out(c, id, e->rank, e->dims);
    }
    hwt_graph_io *io = &m->outputs[m->noutputs++];
    snprintf(io->name, sizeof io->name, "%s", e->name);
    io->value = id;
    io->rank = e->rank;
    io->shape = internal_shape(e->rank, e->dims);
  }
  return fold_q8_ops(c);
}

static void append_supported(char *err, size_t errlen) {
  if (err == NULL || errlen == 0) return;
  size_t n = strnlen(err, errlen);
  if (n + 1 < errlen) snprintf(err + n, errlen - n, "\nsupported operators: %s", supported_ops);
}

hwt_status hwt_onnx_import_buffer(const void *data, size_t len, const char *name, const hwt_onnx_options *opt,
                                  hwt_model **out, char *err, size_t errlen) {
  if (name == NULL) name = "<memory>";
  if (out == NULL || (data == NULL && len > 0)) {
    hwt_errf(err, errlen, "%s: no model data or no output", name);
    return hwt_status_invalid_argument;
  }
  imp ctx;
  imp *c = &ctx;
  memset(c, 0, sizeof *c);
  c->file = name;
  c->err = err;
  c->errlen = errlen;
  c->opt = opt;
  hwt_status st;
  hwt_pb_budget budget;
  hwt_pb_budget_init(&budget, len);
  static const uint8_t empty[1] = {0};
  Onnx__ModelProto *mp = onnx__model_proto__unpack(&budget.base, len, len > 0 ? data : empty);
  if (mp == NULL) {
    if (budget.exceeded) {
      st = file_err(c, hwt_status_out_of_memory, "decoding needs more than %zu MiB (a hostile file?)", budget.limit >> 20);
    } else {
      st = file_err(c, hwt_status_parse_error, "not a valid ONNX model (truncated or malformed protobuf)");
    }
    append_supported(err, errlen);
    return st;
  }
  c->m = hwt_rt_calloc(1, sizeof *c->m);
  if (c->m == NULL) {
    st = file_err(c, hwt_status_out_of_memory, "out of memory");
    goto done;
  }
  st = import_graph(c, mp);
  if (st != hwt_status_ok) goto done;
  hwt_model *m = c->m;
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  snprintf(m->name, sizeof m->name, "%s", mp->graph->name && mp->graph->name[0] ? mp->graph->name : base);
  snprintf(m->source, sizeof m->source, "onnx (opset %lld%s%.24s%s%.12s)", (long long) c->opset,
           mp->producer_name && mp->producer_name[0] ? ", " : "", mp->producer_name ? mp->producer_name : "",
           mp->producer_version && mp->producer_version[0] ? " " : "",
           mp->producer_version ? mp->producer_version : "");
  m->layers = c->layers;
  m->nlayers = c->nlayers;
  c->layers = NULL;
  c->nlayers = 0;
  m->input = m->inputs[0].shape;
  m->precision = hwt_prec_fp32;
  for (size_t i = 0; i < m->nlayers; i++)
    if (m->layers[i].wq != NULL) m->precision = hwt_prec_int8;
  st = hwt_model_finalize(m, name, err, errlen);
done:
  if (st != hwt_status_ok) {
    append_supported(err, errlen);
    hwt_model_free(c->m);
  } else {
    *out = c->m;
  }
  for (size_t i = 0; i < c->nlayers; i++) {
    hwt_layer *l = &c->layers[i];
    hwt_rt_free(l->w);
    hwt_rt_free(l->b);
    hwt_rt_free(l->wq);
    hwt_rt_free(l->bq);
    hwt_rt_free(l->wscale);
  }
  hwt_rt_free(c->layers);
  free(c->id_uses);
  free(c->planned);
  for (size_t i = 0; i < c->nqcs; i++) {
    free(c->qcs[i]->scale);
    free(c->qcs[i]->zp);
    free(c->qcs[i]);
  }
  free(c->qcs);
  for (size_t i = 0; i < c->nowned; i++) {
    hwt_tensor_free(c->owned[i]);
    free(c->owned[i]);
  }
  free(c->owned);
  free(c->e);
  free(c->hash);
  onnx__model_proto__free_unpacked(mp, &budget.base);
  return st;
}

hwt_status hwt_onnx_import(const char *path, const hwt_onnx_options *opt, hwt_model **out, char *err,
                           size_t errlen) {
  if (path == NULL) {
    hwt_errf(err, errlen, "no model file given");
    return hwt_status_invalid_argument;
  }
  void *data = NULL;
  size_t len = 0;
  hwt_status st = hwt_onnx_read_file(path, HWT_ONNX_MAX_FILE, &data, &len, err, errlen);
  if (st != hwt_status_ok) return st;
  st = hwt_onnx_import_buffer(data, len, path, opt, out, err, errlen);
  free(data);
  return st;
}
