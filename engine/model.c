/* SPDX-License-Identifier: Apache-2.0 */
/* Model description: shapes, parameter sizes, the JSON + weights file format (load with validation, save),
 * the built-in example models and deterministic example inputs. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_internal.h"
#include "hwt_common.h"

static const char *const type_names[hwt_layer_type_count] = {
    "fully_connected", "conv2d", "depthwise_conv2d", "relu", "relu6", "max_pool2d", "avg_pool2d",
    "global_avg_pool", "softmax", "add", "sub", "mul", "div", "clip", "leaky_relu", "sigmoid",
    "hard_sigmoid", "hard_swish", "tanh", "affine", "concat", "reshape", "identity", "quantize", "dequantize", "unary", "max",
    "min", "prelu", "log_softmax", "transpose"};
_Static_assert(sizeof(type_names) / sizeof(type_names[0]) == hwt_layer_type_count, "a name per layer type");
static const char *const act_names[] = {"none", "relu", "relu6", "clip"};
static const char *const fn_names[hwt_unary_fn_count] = {
    "neg", "abs", "exp", "log", "sqrt", "reciprocal", "floor", "ceil", "elu", "selu", "softplus", "softsign", "erf",
    "pow"};
_Static_assert(sizeof(fn_names) / sizeof(fn_names[0]) == hwt_unary_fn_count, "a name per unary function");

const char *hwt_unary_fn_name(hwt_unary_fn fn) {
  return (unsigned) fn < hwt_unary_fn_count ? fn_names[fn] : "unknown";
}

const char *hwt_layer_type_name(hwt_layer_type type) {
  return (unsigned) type < hwt_layer_type_count ? type_names[type] : "unknown";
}

/* Limits of a loadable model (engine/README.md, "Limits"). Every tensor (the input, each layer's output,
 * each weight tensor) holds at most MAX_ELEMENTS elements, so that the sizes the engine derives from a loaded
 * model (elements x batch x 4 bytes) cannot overflow; the model JSON is capped like a profile (64 MiB), the
 * weights file at 4 GiB. */
#define MAX_ELEMENTS ((uint64_t) 1 << 31)
#define MAX_JSON_BYTES ((uint64_t) 64 << 20)
#define MAX_WEIGHTS_BYTES ((uint64_t) 4 << 30)

/* a * b, or SIZE_MAX when the product does not fit (sizes saturate; the loader rejects them long before). */
static size_t mul_sat(size_t a, size_t b) {
  size_t r;
  return __builtin_mul_overflow(a, b, &r) ? SIZE_MAX : r;
}
static size_t add_sat(size_t a, size_t b) {
  size_t r;
  return __builtin_add_overflow(a, b, &r) ? SIZE_MAX : r;
}

size_t hwt_shape_size(hwt_shape s) { return mul_sat(mul_sat(s.h, s.w), s.c); }

static bool has_params(hwt_layer_type t) { return t == hwt_layer_fc || t == hwt_layer_conv || t == hwt_layer_dwconv; }
static bool has_window(hwt_layer_type t) {
  return t == hwt_layer_conv || t == hwt_layer_dwconv || t == hwt_layer_maxpool || t == hwt_layer_avgpool;
}

static uint32_t conv_groups(const hwt_layer *l) { return l->groups ? l->groups : 1; }

size_t hwt_layer_weight_count(const hwt_layer *l) {
  switch (l->type) {
    case hwt_layer_fc: return mul_sat(l->outputs, hwt_shape_size(l->in));
    case hwt_layer_conv: return mul_sat(mul_sat(mul_sat(l->outputs, l->kh), l->kw), l->in.c / conv_groups(l));
    case hwt_layer_dwconv: return mul_sat(mul_sat(l->kh, l->kw), l->in.c);
    case hwt_layer_affine: return l->in.c;
    case hwt_layer_add:
    case hwt_layer_sub:
    case hwt_layer_mul:
    case hwt_layer_div:
    case hwt_layer_max:
    case hwt_layer_min:
    case hwt_layer_prelu: return l->nin == 1 ? hwt_shape_size(l->wshape) : 0;
    default: return 0;
  }
}

size_t hwt_layer_bias_count(const hwt_layer *l) {
  switch (l->type) {
    case hwt_layer_fc:
    case hwt_layer_conv: return l->outputs;
    case hwt_layer_dwconv:
    case hwt_layer_affine: return l->in.c;
    default: return 0;
  }
}

/* fp32: weights then bias (floats). int8 (fc, conv, dwconv of an int8 model): weights (padded to 4 bytes), int32
 * bias, float per-channel scales. Affine and constant operands are float in every model. */
size_t hwt_layer_param_bytes(const hwt_layer *l, hwt_precision p) {
  size_t nw = hwt_layer_weight_count(l), nb = hwt_layer_bias_count(l);
  if (p == hwt_prec_fp32 || !has_params(l->type)) return mul_sat(add_sat(nw, nb), 4);
  size_t wb = add_sat(nw, 3);
  return wb == SIZE_MAX ? SIZE_MAX : add_sat(wb & ~(size_t) 3, mul_sat(nb, 8));
}

double hwt_layer_flops(const hwt_layer *l) {
  double out = (double) hwt_shape_size(l->out);
  switch (l->type) {
    case hwt_layer_fc: return 2.0 * l->outputs * (double) hwt_shape_size(l->in);
    case hwt_layer_conv: return 2.0 * out * l->kh * l->kw * (double) (l->in.c / conv_groups(l));
    case hwt_layer_dwconv: return 2.0 * out * l->kh * l->kw;
    case hwt_layer_maxpool:
    case hwt_layer_avgpool: return out * l->kh * l->kw;
    case hwt_layer_gavgpool: return (double) hwt_shape_size(l->in);
    case hwt_layer_softmax:
    case hwt_layer_log_softmax: return 3.0 * out;
    case hwt_layer_affine: return 2.0 * out;
    case hwt_layer_reshape:
    case hwt_layer_transpose:
    case hwt_layer_identity: return 0;
    default: return out;
  }
}

static void layer_free(hwt_layer *l) {
  hwt_rt_free(l->w);
  hwt_rt_free(l->b);
  hwt_rt_free(l->wq);
  hwt_rt_free(l->bq);
  hwt_rt_free(l->wscale);
  l->w = l->b = l->wscale = NULL;
  l->wq = NULL;
  l->bq = NULL;
}

void hwt_model_free(hwt_model *m) {
  if (m == NULL) return;
  for (size_t i = 0; i < m->nlayers; i++) layer_free(&m->layers[i]);
  hwt_rt_free(m->layers);
  hwt_rt_free(m);
}

static hwt_model *model_new(const char *name, size_t nlayers) {
  hwt_model *m = hwt_rt_calloc(1, sizeof(*m));
  if (m == NULL) return NULL;
  m->layers = hwt_rt_calloc(nlayers ? nlayers : 1, sizeof(hwt_layer));
  if (m->layers == NULL) {
    hwt_rt_free(m);
    return NULL;
  }
  m->nlayers = nlayers;
  snprintf(m->name, sizeof(m->name), "%s", name);
  return m;
}

/* The sequential defaults (as hwt_model_finalize fills them) for code that needs shapes before finalizing:
 * every node reads the previous one (the first: the input). */
static void sequential_inputs(hwt_model *m) {
  for (size_t i = 0; i < m->nlayers; i++) {
    hwt_layer *l = &m->layers[i];
    if (l->nin != 0) continue;
    l->inputs[0] = i > 0 ? (int) i - 1 : HWT_INPUT_ID(0);
    l->nin = 1;
  }
}

/* The classifier rule of int8 models (hwt_layer_float_logits): an fc that is last, or only followed by the
 * final softmax, keeps float logits. */
static bool classifier_at(const hwt_model *m, size_t i) {
  if (m->layers[i].type != hwt_layer_fc) return false;
  return i + 1 == m->nlayers || (i + 2 == m->nlayers && m->layers[i + 1].type == hwt_layer_softmax);
}

/* The default int8-ness of a node's output: quantize always; in an int8 model every type with an int8
 * implementation but the classifier (float logits). */
static bool default_q8(const hwt_model *m, size_t i) {
  const hwt_layer *l = &m->layers[i];
  if (l->type == hwt_layer_quantize) return true;
  return m->precision == hwt_prec_int8 && hwt_layer_type_q8_capable(l->type) && !classifier_at(m, i);
}

/* ---------------- loading ---------------- */

typedef struct ctx {
  const char *path;
  char *err;
  size_t errlen;
  size_t index;
  const char *lname, *ltype;
  bool *i8;          /* per layer: int8 parameters in the weights file */
  signed char *q8;   /* per layer: "output_int8" (-1 absent) */
} ctx;

#define LERR(c, ...)                                                                                   \
  do {                                                                                                 \
    char msg_[4096];                                                                                    \
    snprintf(msg_, sizeof(msg_), __VA_ARGS__);                                                         \
    hwt_errf((c)->err, (c)->errlen, "%s: layer %zu '%s' (%s): %s", (c)->path, (c)->index, (c)->lname, \
             (c)->ltype, msg_);                                                                        \
  } while (0)

#define LPREC(c, i) ((c)->i8[i] ? hwt_prec_int8 : hwt_prec_fp32)

/* Makes layer i the one the next LERR names. */
static void at_layer(ctx *c, size_t i, const hwt_layer *l) {
  c->index = i;
  c->lname = l->name;
  c->ltype = type_names[l->type];
}

/* Reads an unsigned field: absent -> def (or a "missing field" error when required). */
static bool get_u32(ctx *c, json_t *o, const char *key, bool required, uint32_t def, uint32_t *out) {
  json_t *v = json_object_get(o, key);
  if (v == NULL) {
    if (required) {
      LERR(c, "missing field '%s'", key);
      return false;
    }
    *out = def;
    return true;
  }
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1 << 24) {
    LERR(c, "field '%s' must be an integer in [0, 16777216]", key);
    return false;
  }
  *out = (uint32_t) json_integer_value(v);
  return true;
}

/* int or [a, b] (or [t, r, b, l] when n == 4). */
static bool get_ints(ctx *c, json_t *o, const char *key, bool required, uint32_t def, size_t n, uint32_t *out) {
  json_t *v = json_object_get(o, key);
  if (v == NULL || json_is_integer(v)) {
    uint32_t x;
    if (!get_u32(c, o, key, required, def, &x)) return false;
    for (size_t i = 0; i < n; i++) out[i] = x;
    return true;
  }
  if (!json_is_array(v) || json_array_size(v) != n) {
    LERR(c, "field '%s' must be an integer or an array of %zu integers", key, n);
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(v, i);
    if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > 1 << 24) {
      LERR(c, "field '%s' must be an integer or an array of %zu integers", key, n);
      return false;
    }
    out[i] = (uint32_t) json_integer_value(e);
  }
  return true;
}

static bool get_qparams(json_t *q, hwt_qparams *out) {
  json_t *s = json_object_get(q, "scale"), *z = json_object_get(q, "zero_point");
  if (!json_is_number(s) || !json_is_integer(z)) return false;
  double sv = json_number_value(s);
  json_int_t zv = json_integer_value(z);
  if (!((float) sv > 0) || !isfinite(sv) || sv > 1e30 || zv < -128 || zv > 127) return false; /* > 0 as a float */
  out->scale = (float) sv;
  out->zero_point = (int32_t) zv;
  return true;
}

static bool parse_shape(json_t *v, hwt_shape *s) {
  if (!json_is_array(v)) return false;
  size_t n = json_array_size(v);
  if (n != 1 && n != 3) return false;
  uint32_t d[3] = {1, 1, 1};
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(v, i);
    if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > 1 << 20) return false;
    d[3 - n + i] = (uint32_t) json_integer_value(e);
  }
  *s = (hwt_shape){d[0], d[1], d[2]};
  return true;
}

/* "a number", "an array", ... for messages about a field of the wrong type. */
static const char *json_kind(const json_t *v) {
  switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
  }
}

/* An optional boolean field. */
static bool get_bool(ctx *c, json_t *o, const char *key, bool def, bool *out) {
  json_t *v = json_object_get(o, key);
  if (v == NULL) {
    *out = def;
    return true;
  }
  if (!json_is_boolean(v)) {
    LERR(c, "field '%s' must be true or false, got %s", key, json_kind(v));
    return false;
  }
  *out = json_is_true(v);
  return true;
}

/* An optional finite number (absent: def, which may be infinite). */
static bool get_float(ctx *c, json_t *o, const char *key, float def, float *out) {
  json_t *v = json_object_get(o, key);
  if (v == NULL) {
    *out = def;
    return true;
  }
  double d = json_is_number(v) ? json_number_value(v) : NAN;
  if (!isfinite(d) || fabs(d) > 3.0e38) {
    LERR(c, "field '%s' must be a finite number (leave it out for no bound)", key);
    return false;
  }
  *out = (float) d;
  return true;
}

/* Fields a type does not use are refused, so that a misplaced attribute is not silently ignored. */
static bool field_allowed(ctx *c, json_t *jl, const char *key, bool allowed) {
  if (allowed || json_object_get(jl, key) == NULL) return true;
  LERR(c, "field '%s' does not apply to %s", key, c->ltype);
  return false;
}

/* A value named in "inputs" or "from": a graph input's or an earlier layer's name. */
static bool resolve_value(ctx *c, json_t *names, json_t *v, size_t i, const char *what, int *id) {
  if (!json_is_string(v)) {
    LERR(c, "%s must be a string naming an earlier layer or a graph input, got %s", what, json_kind(v));
    return false;
  }
  json_t *idx = json_object_get(names, json_string_value(v));
  if (idx == NULL || json_integer_value(idx) >= (json_int_t) i) {
    LERR(c, "%s names '%s', which is not an earlier layer or a graph input", what, json_string_value(v));
    return false;
  }
  *id = (int) json_integer_value(idx);
  return true;
}

static bool is_binary_type(hwt_layer_type t) {
  return t == hwt_layer_add || t == hwt_layer_sub || t == hwt_layer_mul || t == hwt_layer_div ||
         t == hwt_layer_max || t == hwt_layer_min || t == hwt_layer_prelu;
}

/* Does the layer keep parameters in the weights file? (fc, conv, dwconv, affine, binary with a constant) */
static bool stores_params(const hwt_layer *l) {
  return has_params(l->type) || l->type == hwt_layer_affine || (is_binary_type(l->type) && l->nin == 1);
}

static hwt_status parse_layer(ctx *c, json_t *jl, hwt_model *m, size_t i, json_t *names) {
  hwt_layer *l = &m->layers[i];
  c->index = i;
  c->lname = "?";
  c->ltype = "?";
  if (!json_is_object(jl)) {
    LERR(c, "a layer must be a JSON object");
    return hwt_status_schema_error;
  }
  json_t *name = json_object_get(jl, "name"), *type = json_object_get(jl, "type");
  if (name == NULL) {
    LERR(c, "missing field 'name'");
    return hwt_status_schema_error;
  }
  if (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) >= HWT_LAYER_NAME_MAX) {
    LERR(c, "field 'name' must be a non-empty string shorter than %d characters", HWT_LAYER_NAME_MAX);
    return hwt_status_schema_error;
  }
  snprintf(l->name, sizeof(l->name), "%s", json_string_value(name));
  c->lname = l->name;
  if (type == NULL) {
    LERR(c, "missing field 'type'");
    return hwt_status_schema_error;
  }
  const char *ts = json_is_string(type) ? json_string_value(type) : "";
  int t = -1;
  for (int k = 0; k < hwt_layer_type_count; k++)
    if (strcmp(ts, type_names[k]) == 0) t = k;
  if (t < 0) {
    LERR(c, "unknown layer type '%s' (known: fully_connected, conv2d, depthwise_conv2d, relu, relu6, max_pool2d, "
            "avg_pool2d, global_avg_pool, softmax, add, sub, mul, div, clip, leaky_relu, sigmoid, hard_sigmoid, "
            "hard_swish, tanh, affine, concat, reshape, identity, quantize, dequantize, unary, max, min, prelu, "
            "log_softmax, transpose)", ts);
    return hwt_status_schema_error;
  }
  l->type = (hwt_layer_type) t;
  c->ltype = type_names[t];
  json_t *prev = json_object_get(names, l->name);
  if (prev != NULL) {
    LERR(c, json_integer_value(prev) < 0 ? "layer name is also a graph input's" : "duplicate layer name");
    return hwt_status_schema_error;
  }
  json_object_set_new(names, l->name, json_integer((json_int_t) i));
  bool binary = is_binary_type(l->type), pool = l->type == hwt_layer_maxpool || l->type == hwt_layer_avgpool;
  bool conv = l->type == hwt_layer_conv || l->type == hwt_layer_dwconv;
  bool ab = l->type == hwt_layer_clip || l->type == hwt_layer_leaky_relu || l->type == hwt_layer_hard_sigmoid;
  bool softmax = l->type == hwt_layer_softmax || l->type == hwt_layer_log_softmax, un = l->type == hwt_layer_unary;
  if (!field_allowed(c, jl, "fn", un)) return hwt_status_schema_error;
  if (un) {
    json_t *fn = json_object_get(jl, "fn");
    const char *fs = json_is_string(fn) ? json_string_value(fn) : "";
    int f = -1;
    for (int k = 0; k < hwt_unary_fn_count; k++)
      if (strcmp(fs, fn_names[k]) == 0) f = k;
    if (f < 0) {
      LERR(c, "field 'fn' must name the function: neg, abs, exp, log, sqrt, reciprocal, floor, ceil, elu, selu, "
              "softplus, softsign, erf or pow");
      return hwt_status_schema_error;
    }
    l->fn = (hwt_unary_fn) f;
  }
  bool un_alpha = un && (l->fn == hwt_unary_elu || l->fn == hwt_unary_selu);
  if (!field_allowed(c, jl, "gamma", un && l->fn == hwt_unary_selu) ||
      !field_allowed(c, jl, "exponent", un && l->fn == hwt_unary_pow))
    return hwt_status_schema_error;
  if (un && l->fn == hwt_unary_elu && !get_float(c, jl, "alpha", 1.0f, &l->alpha)) return hwt_status_schema_error;
  if (un && l->fn == hwt_unary_selu &&
      (!get_float(c, jl, "alpha", 1.67326319217681884765625f, &l->alpha) ||
       !get_float(c, jl, "gamma", 1.05070102214813232421875f, &l->beta)))
    return hwt_status_schema_error;
  if (un && l->fn == hwt_unary_pow) {
    if (json_object_get(jl, "exponent") == NULL) {
      LERR(c, "missing field 'exponent' (pow)");
      return hwt_status_schema_error;
    }
    if (!get_float(c, jl, "exponent", 1.0f, &l->alpha)) return hwt_status_schema_error;
  }
  if (!field_allowed(c, jl, "groups", l->type == hwt_layer_conv) || !field_allowed(c, jl, "dilation", conv) ||
      !field_allowed(c, jl, "ceil_mode", pool) ||
      !field_allowed(c, jl, "count_include_pad", l->type == hwt_layer_avgpool) ||
      !field_allowed(c, jl, "alpha", ab || un_alpha) ||
      !field_allowed(c, jl, "beta", l->type == hwt_layer_clip || l->type == hwt_layer_hard_sigmoid) ||
      !field_allowed(c, jl, "axes", softmax) || !field_allowed(c, jl, "const_shape", binary) ||
      !field_allowed(c, jl, "const_first", binary) || !field_allowed(c, jl, "from", l->type == hwt_layer_add) ||
      !field_allowed(c, jl, "param_precision", has_params(l->type)))
    return hwt_status_schema_error;

  json_t *act = json_object_get(jl, "activation");
  l->act = hwt_act_none;
  if (act != NULL) {
    if (!has_params(l->type)) {
      LERR(c, "'activation' applies to fully_connected, conv2d and depthwise_conv2d only");
      return hwt_status_schema_error;
    }
    const char *as = json_is_string(act) ? json_string_value(act) : "";
    int a = -1;
    for (int k = 0; k < 4; k++)
      if (strcmp(as, act_names[k]) == 0) a = k;
    if (a < 0) {
      LERR(c, "field 'activation' must be \"none\", \"relu\", \"relu6\" or \"clip\"");
      return hwt_status_schema_error;
    }
    l->act = (hwt_act) a;
  }
  if (!field_allowed(c, jl, "act_min", l->act == hwt_act_clip) ||
      !field_allowed(c, jl, "act_max", l->act == hwt_act_clip))
    return hwt_status_schema_error;
  if (l->act == hwt_act_clip &&
      (!get_float(c, jl, "act_min", -INFINITY, &l->act_lo) || !get_float(c, jl, "act_max", INFINITY, &l->act_hi)))
    return hwt_status_schema_error;
  if (l->type == hwt_layer_fc || l->type == hwt_layer_conv) {
    if (!get_u32(c, jl, "outputs", true, 0, &l->outputs)) return hwt_status_schema_error;
  }
  if (has_window(l->type)) {
    uint32_t k[2], s[2], p[4];
    if (!get_ints(c, jl, "kernel", true, 0, 2, k) || !get_ints(c, jl, "stride", false, 1, 2, s) ||
        !get_ints(c, jl, "padding", false, 0, 4, p))
      return hwt_status_schema_error;
    l->kh = k[0];
    l->kw = k[1];
    l->sh = s[0];
    l->sw = s[1];
    l->pad_t = p[0];
    l->pad_r = p[1];
    l->pad_b = p[2];
    l->pad_l = p[3];
  }
  if (conv) {
    uint32_t d[2];
    if (!get_ints(c, jl, "dilation", false, 1, 2, d)) return hwt_status_schema_error;
    if (d[0] == 0 || d[1] == 0) {
      LERR(c, "field 'dilation' must be >= 1");
      return hwt_status_schema_error;
    }
    l->dh = d[0];
    l->dw = d[1];
  }
  if (l->type == hwt_layer_conv) {
    if (!get_u32(c, jl, "groups", false, 1, &l->groups)) return hwt_status_schema_error;
    if (l->groups == 0) {
      LERR(c, "field 'groups' must be >= 1");
      return hwt_status_schema_error;
    }
  }
  if (!get_bool(c, jl, "ceil_mode", false, &l->ceil_mode) ||
      !get_bool(c, jl, "count_include_pad", false, &l->count_include_pad) ||
      !get_bool(c, jl, "const_first", false, &l->const_first))
    return hwt_status_schema_error;
  if (l->type == hwt_layer_clip &&
      (!get_float(c, jl, "alpha", -INFINITY, &l->alpha) || !get_float(c, jl, "beta", INFINITY, &l->beta)))
    return hwt_status_schema_error;
  if (l->type == hwt_layer_leaky_relu && !get_float(c, jl, "alpha", 0.01f, &l->alpha)) return hwt_status_schema_error;
  if (l->type == hwt_layer_hard_sigmoid &&
      (!get_float(c, jl, "alpha", 0.2f, &l->alpha) || !get_float(c, jl, "beta", 0.5f, &l->beta)))
    return hwt_status_schema_error;
  json_t *axes = json_object_get(jl, "axes");
  if (axes != NULL) {
    bool ok = json_is_array(axes) && json_array_size(axes) >= 1 && json_array_size(axes) <= 3;
    for (size_t k = 0; ok && k < json_array_size(axes); k++) {
      const char *a = json_string_value(json_array_get(axes, k));
      uint8_t bit = a == NULL ? 0 : !strcmp(a, "h") ? HWT_AXIS_H : !strcmp(a, "w") ? HWT_AXIS_W
                                                  : !strcmp(a, "c") ? HWT_AXIS_C : 0;
      ok = bit != 0 && !(l->axes & bit);
      l->axes |= bit;
    }
    if (!ok) {
      LERR(c, "field 'axes' must list distinct dims out of \"h\", \"w\", \"c\"");
      return hwt_status_schema_error;
    }
  }
  json_t *rank = json_object_get(jl, "rank");
  if (rank != NULL) {
    if (!json_is_integer(rank) || json_integer_value(rank) < 0 || json_integer_value(rank) > 4) {
      LERR(c, "field 'rank' must be an integer in [0, 4]");
      return hwt_status_schema_error;
    }
    l->rank = (uint8_t) json_integer_value(rank);
  }
  if (!field_allowed(c, jl, "perm", l->type == hwt_layer_transpose)) return hwt_status_schema_error;
  if (l->type == hwt_layer_transpose) {
    json_t *p = json_object_get(jl, "perm");
    size_t np = json_is_array(p) ? json_array_size(p) : 0;
    bool ok = np >= 2 && np <= 4 && (rank == NULL || (size_t) l->rank == np);
    for (size_t d = 0; ok && d < np; d++) {
      json_t *e = json_array_get(p, d);
      ok = json_is_integer(e) && json_integer_value(e) >= 0 && json_integer_value(e) < (json_int_t) np;
      if (ok) l->perm[d] = (uint8_t) json_integer_value(e);
    }
    if (!ok) {
      LERR(c, "field 'perm' must be an array of 2 to 4 dims (0 to rank - 1, as many as 'rank'), e.g. [0, 2, 3, 1]");
      return hwt_status_schema_error;
    }
    l->rank = (uint8_t) np;
  }
  json_t *fused = json_object_get(jl, "fused");
  if (fused != NULL) {
    if (!json_is_string(fused) || json_string_length(fused) >= sizeof(l->fused)) {
      LERR(c, "field 'fused' must be a string shorter than %zu characters", sizeof(l->fused));
      return hwt_status_schema_error;
    }
    snprintf(l->fused, sizeof(l->fused), "%s", json_string_value(fused));
  }

  /* Data inputs: "inputs" (names), else the previous layer (add: and "from"). */
  json_t *jin = json_object_get(jl, "inputs"), *from = json_object_get(jl, "from"),
         *cshape = json_object_get(jl, "const_shape");
  if (cshape != NULL && !parse_shape(cshape, &l->wshape)) {
    LERR(c, "field 'const_shape' must be [n] or [h, w, c] with positive integers");
    return hwt_status_schema_error;
  }
  if (jin != NULL) {
    if (from != NULL) {
      LERR(c, "fields 'inputs' and 'from' exclude each other");
      return hwt_status_schema_error;
    }
    if (!json_is_array(jin) || json_array_size(jin) < 1 || json_array_size(jin) > HWT_NODE_MAX_INPUTS) {
      LERR(c, "field 'inputs' must be an array of 1 to %d names", HWT_NODE_MAX_INPUTS);
      return hwt_status_schema_error;
    }
    l->nin = (int) json_array_size(jin);
    for (int k = 0; k < l->nin; k++) {
      char what[48];
      snprintf(what, sizeof(what), "'inputs' entry %d", k);
      if (!resolve_value(c, names, json_array_get(jin, (size_t) k), i, what, &l->inputs[k]))
        return hwt_status_schema_error;
    }
  } else {
    l->inputs[0] = i > 0 ? (int) i - 1 : HWT_INPUT_ID(0);
    l->nin = 1;
    if (l->type == hwt_layer_add && cshape == NULL) {
      if (from == NULL) {
        LERR(c, "missing field 'from' (or 'inputs', or 'const_shape')");
        return hwt_status_schema_error;
      }
      if (!json_is_string(from)) {
        LERR(c, "'from' must be a string naming an earlier layer or \"input\", got %s", json_kind(from));
        return hwt_status_schema_error;
      }
      if (strcmp(json_string_value(from), "input") == 0 && json_object_get(names, "input") == NULL)
        l->inputs[1] = HWT_INPUT_ID(0);
      else if (!resolve_value(c, names, from, i, "'from'", &l->inputs[1]))
        return hwt_status_schema_error;
      l->nin = 2;
    }
  }
  if (binary) {
    int want = cshape != NULL ? 1 : 2;
    if (l->nin != want) {
      LERR(c, "%d inputs: a binary layer reads %s", l->nin,
           want == 1 ? "1 with 'const_shape' (the constant operand)" : "2 (or 1 with 'const_shape')");
      return hwt_status_schema_error;
    }
  }
  if (l->const_first && cshape == NULL) {
    LERR(c, "'const_first' needs a constant operand ('const_shape')");
    return hwt_status_schema_error;
  }
  if (l->type == hwt_layer_reshape) {
    json_t *os = json_object_get(jl, "output_shape");
    if (os == NULL) {
      LERR(c, "missing field 'output_shape' (the shape a reshape produces)");
      return hwt_status_schema_error;
    }
    if (!parse_shape(os, &l->out)) {
      LERR(c, "field 'output_shape' must be [n] or [h, w, c] with positive integers");
      return hwt_status_schema_error;
    }
  }
  if (stores_params(l)) {
    json_t *off = json_object_get(jl, "offset");
    if (off == NULL) {
      LERR(c, "missing field 'offset' (byte offset of the layer's parameters in the weights file)");
      return hwt_status_schema_error;
    }
    if (!json_is_integer(off) || json_integer_value(off) < 0) {
      LERR(c, "field 'offset' must be a non-negative integer");
      return hwt_status_schema_error;
    }
    l->offset = (uint64_t) json_integer_value(off);
  } else if (!field_allowed(c, jl, "offset", false)) {
    return hwt_status_schema_error;
  }
  c->i8[i] = has_params(l->type) && m->precision == hwt_prec_int8;
  json_t *pp = json_object_get(jl, "param_precision");
  if (pp != NULL) {
    const char *ps = json_is_string(pp) ? json_string_value(pp) : "";
    if (strcmp(ps, "fp32") != 0 && strcmp(ps, "int8") != 0) {
      LERR(c, "field 'param_precision' must be \"fp32\" or \"int8\"");
      return hwt_status_schema_error;
    }
    c->i8[i] = strcmp(ps, "int8") == 0;
  }
  c->q8[i] = -1;
  json_t *oi = json_object_get(jl, "output_int8");
  if (oi != NULL) {
    if (!json_is_boolean(oi)) {
      LERR(c, "field 'output_int8' must be true or false, got %s", json_kind(oi));
      return hwt_status_schema_error;
    }
    c->q8[i] = json_is_true(oi);
  }
  json_t *q = json_object_get(jl, "output_quant");
  if (q != NULL && !get_qparams(q, &l->oq)) {
    LERR(c, "'output_quant' needs a finite 'scale' > 0 and an integer 'zero_point' in [-128, 127]");
    return hwt_status_schema_error;
  }
  return hwt_status_ok;
}

/* q8 of every layer ("output_int8", else the default: in an int8 model every type with an int8 implementation
 * but the classifier; quantize always) and the 'output_quant' an int8 output needs. */
static hwt_status settle_q8(ctx *c, json_t *jlayers, hwt_model *m) {
  for (size_t i = 0; i < m->nlayers; i++) {
    hwt_layer *l = &m->layers[i];
    l->q8 = c->q8[i] >= 0 ? c->q8[i] == 1 : default_q8(m, i);
    at_layer(c, i, l);
    if (l->q8 && json_object_get(json_array_get(jlayers, i), "output_quant") == NULL) {
      LERR(c, "missing field 'output_quant' (%s)", m->precision == hwt_prec_int8 ? "int8 model" : "int8 output");
      return hwt_status_schema_error;
    }
  }
  return hwt_status_ok;
}

static hwt_status check_output_shapes(ctx *c, json_t *jlayers, hwt_model *m) {
  for (size_t i = 0; i < m->nlayers; i++) {
    json_t *os = json_object_get(json_array_get(jlayers, i), "output_shape");
    if (os == NULL) continue;
    hwt_layer *l = &m->layers[i];
    at_layer(c, i, l);
    hwt_shape s;
    if (!parse_shape(os, &s)) {
      LERR(c, "field 'output_shape' must be [n] or [h, w, c] with positive integers");
      return hwt_status_schema_error;
    }
    if (s.h != l->out.h || s.w != l->out.w || s.c != l->out.c) {
      LERR(c, "output_shape [%u, %u, %u] does not match the computed shape [%u, %u, %u] (wrong size)", s.h, s.w, s.c,
           l->out.h, l->out.w, l->out.c);
      return hwt_status_schema_error;
    }
  }
  return hwt_status_ok;
}

/* Where the parameters come from: an open weights file (read with pread) or a memory buffer. */
typedef struct source {
  int fd;                    /* -1: read from buf */
  const unsigned char *buf;
  uint64_t len;              /* the file's size when it was checked / the buffer's length */
} source;

/* 0, or the errno of a failed read, or -1 when the data ends early (a file that shrank since it was checked). */
static int source_read(const source *s, uint64_t off, void *dst, size_t n) {
  if (s->fd < 0) {
    if (off > s->len || n > s->len - off) return -1;
    if (n) memcpy(dst, s->buf + off, n);
    return 0;
  }
  unsigned char *p = dst;
  while (n > 0) {
    ssize_t got = pread(s->fd, p, n, (off_t) off);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno ? errno : -1;
    if (got == 0) return -1;
    p += got;
    off += (uint64_t) got;
    n -= (size_t) got;
  }
  return 0;
}

static const char *file_kind(mode_t mode) {
  return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode) ? "a character device"
         : S_ISBLK(mode) ? "a block device" : S_ISSOCK(mode) ? "a socket" : "not a regular file";
}

/* Opens `path` for reading and requires a regular file of at most `max` bytes. O_NONBLOCK: opening a FIFO
 * returns at once (and is then refused) instead of waiting for a writer. On failure `why` says what is wrong:
 * the open error (*opened = false, "No such file or directory"), or what the file is (*opened = true, "is a
 * directory, not a regular file", "is larger than 64 MiB (...)"). */
static hwt_status open_regular(const char *path, uint64_t max, int *fd_out, uint64_t *size_out, bool *opened,
                               char *why, size_t whylen) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat sb;
  *opened = false;
  if (fd < 0 || fstat(fd, &sb) != 0) {
    hwt_errf(why, whylen, "%s", strerror(errno));
    if (fd >= 0) close(fd);
    return hwt_status_io_error;
  }
  *opened = true;
  if (!S_ISREG(sb.st_mode)) {
    hwt_errf(why, whylen, "is %s, not a regular file", file_kind(sb.st_mode));
    close(fd);
    return hwt_status_io_error;
  }
  if (sb.st_size < 0 || (uint64_t) sb.st_size > max) {
    hwt_errf(why, whylen, "is larger than %llu MiB (%lld bytes)", (unsigned long long) (max >> 20),
             (long long) sb.st_size);
    close(fd);
    return hwt_status_io_error;
  }
  *fd_out = fd;
  *size_out = (uint64_t) sb.st_size;
  return hwt_status_ok;
}

/* Checks every layer's parameter range against the weights' size before anything is allocated: aligned, inside
 * the file, disjoint from every other layer's range, and together ending exactly at the end of the file. */
static hwt_status plan_params(ctx *c, const char *bin_path, uint64_t len, hwt_model *m) {
  uint64_t need_total = 0;
  size_t nparam = 0;
  for (size_t i = 0; i < m->nlayers; i++) {
    hwt_layer *l = &m->layers[i];
    if (!stores_params(l)) continue;
    at_layer(c, i, l);
    uint64_t bytes = hwt_layer_param_bytes(l, LPREC(c, i)), end;
    if (l->offset % 4 != 0) {
      LERR(c, "offset %llu is not a multiple of 4", (unsigned long long) l->offset);
      return hwt_status_schema_error;
    }
    if (__builtin_add_overflow(l->offset, bytes, &end) || end > len) {
      LERR(c, "weights file '%s' is truncated: the layer needs %llu bytes from offset %llu but the file has %llu "
              "bytes", bin_path, (unsigned long long) bytes, (unsigned long long) l->offset, (unsigned long long) len);
      return hwt_status_schema_error;
    }
    if (end > need_total) need_total = end;
    nparam++;
  }
  /* Disjoint ranges: sort the layers with parameters by offset (insertion sort of indices: few layers, and
   * mostly in order already), then each range must end before the next one starts. */
  size_t *order = malloc((nparam ? nparam : 1) * sizeof(size_t)), n = 0;
  if (order == NULL) {
    hwt_errf(c->err, c->errlen, "%s: out of memory", c->path);
    return hwt_status_out_of_memory;
  }
  for (size_t i = 0; i < m->nlayers; i++) {
    if (!stores_params(&m->layers[i])) continue;
    size_t k = n++;
    while (k > 0 && m->layers[order[k - 1]].offset > m->layers[i].offset) {
      order[k] = order[k - 1];
      k--;
    }
    order[k] = i;
  }
  for (size_t k = 1; k < n; k++) {
    const hwt_layer *a = &m->layers[order[k - 1]], *b = &m->layers[order[k]];
    uint64_t a_end = a->offset + hwt_layer_param_bytes(a, LPREC(c, order[k - 1]));
    if (a_end > b->offset) {
      size_t ia = order[k - 1] < order[k] ? order[k - 1] : order[k], ib = order[k - 1] ^ order[k] ^ ia;
      const hwt_layer *la = &m->layers[ia], *lb = &m->layers[ib];
      uint64_t la_end = la->offset + hwt_layer_param_bytes(la, LPREC(c, ia)),
               lb_end = lb->offset + hwt_layer_param_bytes(lb, LPREC(c, ib));
      at_layer(c, ia, la);
      LERR(c, "parameter bytes [%llu, %llu) overlap those of layer %zu '%s' (%s) [%llu, %llu) in '%s' (each layer "
              "needs its own range: do the shapes match the weights file?)", (unsigned long long) la->offset,
           (unsigned long long) la_end, ib, lb->name, type_names[lb->type], (unsigned long long) lb->offset,
           (unsigned long long) lb_end, bin_path);
      free(order);
      return hwt_status_schema_error;
    }
  }
  free(order);
  if (need_total != len) {
    hwt_errf(c->err, c->errlen, "%s: weights file '%s' has %llu bytes but the layers need %llu (wrong size)", c->path,
             bin_path, (unsigned long long) len, (unsigned long long) need_total);
    return hwt_status_schema_error;
  }
  return hwt_status_ok;
}

/* int8: the largest |accumulator| an output channel can reach is |bias| + 256 * sum |w| over its weights (an
 * input minus its zero point lies in [-255, 255]; 256 also covers kernels that fold the zero point into the
 * bias first). It must fit in int32, the accumulator of the reference and of the engine's int8 kernels. */
static bool check_q8_accumulators(ctx *c, const char *bin_path, const hwt_layer *l) {
  size_t nw = hwt_layer_weight_count(l), nb = hwt_layer_bias_count(l), per = nw / nb;
  for (size_t ch = 0; ch < nb; ch++) {
    int64_t sum = 0;
    if (l->type == hwt_layer_dwconv) {
      for (size_t k = ch; k < nw; k += nb) sum += l->wq[k] < 0 ? -l->wq[k] : l->wq[k];
    } else {
      for (size_t k = ch * per; k < (ch + 1) * per; k++) sum += l->wq[k] < 0 ? -l->wq[k] : l->wq[k];
    }
    int64_t b = l->bq[ch], bound = (b < 0 ? -b : b) + 256 * sum;
    if (bound > INT32_MAX) {
      LERR(c, "int8 bias %zu (%lld) with these weights can overflow the int32 accumulator: |bias| + 256 x sum|w| "
              "= %lld > 2147483647 in '%s'", ch, (long long) b, (long long) bound, bin_path);
      return false;
    }
  }
  return true;
}

/* Allocates and reads every layer's parameters (ranges checked by plan_params) and validates their values. */
static hwt_status read_params(ctx *c, const char *bin_path, const source *src, hwt_model *m) {
  for (size_t i = 0; i < m->nlayers; i++) {
    hwt_layer *l = &m->layers[i];
    if (!stores_params(l)) continue;
    at_layer(c, i, l);
    size_t nw = hwt_layer_weight_count(l), nb = hwt_layer_bias_count(l);
    uint64_t off = l->offset;
    int rerr;
    if (!c->i8[i]) {
      l->w = hwt_rt_alloc(nw * 4);
      l->b = nb ? hwt_rt_alloc(nb * 4) : NULL;
      if (l->w == NULL || (nb && l->b == NULL)) {
        LERR(c, "out of memory for %zu parameters", nw + nb);
        return hwt_status_out_of_memory;
      }
      if ((rerr = source_read(src, off, l->w, nw * 4)) == 0) rerr = source_read(src, off + nw * 4, l->b, nb * 4);
    } else {
      size_t wb = (nw + 3) & ~(size_t) 3;
      l->wq = hwt_rt_alloc(nw);
      l->bq = hwt_rt_alloc(nb * 4);
      l->wscale = hwt_rt_alloc(nb * 4);
      if (l->wq == NULL || l->bq == NULL || l->wscale == NULL) {
        LERR(c, "out of memory for %zu parameters", nw + nb);
        return hwt_status_out_of_memory;
      }
      if ((rerr = source_read(src, off, l->wq, nw)) == 0 && (rerr = source_read(src, off + wb, l->bq, nb * 4)) == 0)
        rerr = source_read(src, off + wb + nb * 4, l->wscale, nb * 4);
    }
    if (rerr != 0) {
      LERR(c, "cannot read bytes [%llu, %llu) of weights file '%s': %s", (unsigned long long) off,
           (unsigned long long) (off + hwt_layer_param_bytes(l, LPREC(c, i))), bin_path,
           rerr > 0 ? strerror(rerr) : "the file changed while it was read");
      return hwt_status_io_error;
    }
    if (!c->i8[i]) {
      for (size_t k = 0; k < nw + nb; k++) {
        float v = k < nw ? l->w[k] : l->b[k - nw];
        if (!isfinite(v)) {
          LERR(c, "%s %zu is not finite (%g) in '%s'", k < nw ? "weight" : "bias", k < nw ? k : k - nw, (double) v,
               bin_path);
          return hwt_status_schema_error;
        }
      }
    } else {
      for (size_t k = 0; k < nb; k++) {
        if (!(l->wscale[k] > 0) || !isfinite(l->wscale[k])) {
          LERR(c, "weight scale %zu is not a finite positive number (%g) in '%s'", k, (double) l->wscale[k], bin_path);
          return hwt_status_schema_error;
        }
      }
      for (size_t k = 0; k < nw; k++) {
        if (l->wq[k] == -128) {
          LERR(c, "int8 weight %zu is -128 (symmetric weights use [-127, 127]) in '%s'", k, bin_path);
          return hwt_status_schema_error;
        }
      }
      if (!check_q8_accumulators(c, bin_path, l)) return hwt_status_schema_error;
    }
  }
  return hwt_status_ok;
}

/* Graph inputs: "inputs": [{"name", "shape", "rank", "quant"}, ...] or the sequential "input": {"shape", "quant"}
 * (named "input"; an int8 model's needs "quant"). Their names enter `names` as value ids. */
static bool parse_graph_inputs(const char *path, json_t *root, hwt_model *m, json_t *names, char *err, size_t errlen) {
  json_t *jin = json_object_get(root, "input"), *jins = json_object_get(root, "inputs");
  if (jin != NULL && jins != NULL) {
    hwt_errf(err, errlen, "%s: fields 'input' and 'inputs' exclude each other", path);
    return false;
  }
  if (jins == NULL) {
    if (!json_is_object(jin) || !parse_shape(json_object_get(jin, "shape"), &m->inputs[0].shape)) {
      hwt_errf(err, errlen, "%s: field 'input' must be an object with 'shape': [n] or [h, w, c] (positive integers)",
               path);
      return false;
    }
    if (m->precision == hwt_prec_int8 && !get_qparams(json_object_get(jin, "quant"), &m->inputs[0].q)) {
      hwt_errf(err, errlen,
               "%s: int8 model: 'input' needs 'quant' with a finite 'scale' > 0 and 'zero_point' in [-128, 127]", path);
      return false;
    }
    snprintf(m->inputs[0].name, sizeof(m->inputs[0].name), "input");
    m->inputs[0].q8 = m->precision == hwt_prec_int8;
    m->ninputs = 1;
    json_object_set_new(names, "input", json_integer((json_int_t) HWT_INPUT_ID(0)));
  } else {
    if (!json_is_array(jins) || json_array_size(jins) < 1 || json_array_size(jins) > HWT_GRAPH_MAX_IO) {
      hwt_errf(err, errlen, "%s: field 'inputs' must be an array of 1 to %d graph inputs", path, HWT_GRAPH_MAX_IO);
      return false;
    }
    m->ninputs = json_array_size(jins);
    for (size_t k = 0; k < m->ninputs; k++) {
      json_t *e = json_array_get(jins, k), *n = json_object_get(e, "name"), *r = json_object_get(e, "rank"),
             *q = json_object_get(e, "quant");
      hwt_graph_io *io = &m->inputs[k];
      if (!json_is_object(e) || !json_is_string(n) || json_string_length(n) == 0 ||
          json_string_length(n) >= HWT_IO_NAME_MAX || !parse_shape(json_object_get(e, "shape"), &io->shape)) {
        hwt_errf(err, errlen, "%s: graph input %zu must be an object with 'name' (1 to %d characters) and 'shape': "
                 "[n] or [h, w, c] (positive integers)", path, k, HWT_IO_NAME_MAX - 1);
        return false;
      }
      snprintf(io->name, sizeof(io->name), "%s", json_string_value(n));
      if (r != NULL && (!json_is_integer(r) || json_integer_value(r) < 0 || json_integer_value(r) > 4)) {
        hwt_errf(err, errlen, "%s: graph input %zu '%s': 'rank' must be an integer in [0, 4]", path, k, io->name);
        return false;
      }
      io->rank = r ? (uint8_t) json_integer_value(r) : 0;
      if (q != NULL && !get_qparams(q, &io->q)) {
        hwt_errf(err, errlen, "%s: graph input %zu '%s': 'quant' needs a finite 'scale' > 0 and 'zero_point' in "
                 "[-128, 127]", path, k, io->name);
        return false;
      }
      io->q8 = q != NULL;
      if (json_object_get(names, io->name) != NULL) {
        hwt_errf(err, errlen, "%s: graph input %zu: duplicate name '%s'", path, k, io->name);
        return false;
      }
      json_object_set_new(names, io->name, json_integer((json_int_t) HWT_INPUT_ID(k)));
    }
  }
  for (size_t k = 0; k < m->ninputs; k++) m->inputs[k].value = HWT_INPUT_ID(k);
  m->input = m->inputs[0].shape;
  m->iq = m->inputs[0].q;
  return true;
}

/* Graph outputs: "outputs": ["<value name>" | {"value": "<name>", "name": "<output name>", "rank": r}, ...];
 * absent: the last layer. */
static bool parse_graph_outputs(const char *path, json_t *root, hwt_model *m, json_t *names, char *err,
                                size_t errlen) {
  json_t *jo = json_object_get(root, "outputs");
  if (jo == NULL) return true;
  if (!json_is_array(jo) || json_array_size(jo) < 1 || json_array_size(jo) > HWT_GRAPH_MAX_IO) {
    hwt_errf(err, errlen, "%s: field 'outputs' must be an array of 1 to %d graph outputs", path, HWT_GRAPH_MAX_IO);
    return false;
  }
  m->noutputs = json_array_size(jo);
  for (size_t k = 0; k < m->noutputs; k++) {
    json_t *e = json_array_get(jo, k), *v = json_is_object(e) ? json_object_get(e, "value") : e,
           *n = json_is_object(e) ? json_object_get(e, "name") : NULL, *r = json_is_object(e) ? json_object_get(e, "rank") : NULL;
    hwt_graph_io *io = &m->outputs[k];
    json_t *id = json_is_string(v) ? json_object_get(names, json_string_value(v)) : NULL;
    if (id == NULL) {
      hwt_errf(err, errlen, "%s: graph output %zu must name a layer or a graph input ('value' or a string)%s%s", path,
               k, json_is_string(v) ? ", not " : "", json_is_string(v) ? json_string_value(v) : "");
      return false;
    }
    io->value = (int) json_integer_value(id);
    if (n != NULL && (!json_is_string(n) || json_string_length(n) == 0 || json_string_length(n) >= HWT_IO_NAME_MAX)) {
      hwt_errf(err, errlen, "%s: graph output %zu: 'name' must be a string of 1 to %d characters", path, k,
               HWT_IO_NAME_MAX - 1);
      return false;
    }
    snprintf(io->name, sizeof(io->name), "%s", n ? json_string_value(n) : json_string_value(v));
    if (r != NULL && (!json_is_integer(r) || json_integer_value(r) < 0 || json_integer_value(r) > 4)) {
      hwt_errf(err, errlen, "%s: graph output %zu '%s': 'rank' must be an integer in [0, 4]", path, k, io->name);
      return false;
    }
    io->rank = r ? (uint8_t) json_integer_value(r) : 0;
  }
  return true;
}

/* Parses and validates a model JSON (text of `len` bytes; `path` names it in messages), then its parameters:
 * from `weights` (weights_len bytes) when not NULL, else from the file the JSON names, relative to `dir`. */
static hwt_status load_model(const char *path, const char *dir, const char *text, size_t len, const void *weights,
                             size_t weights_len, hwt_model **out, char *err, size_t errlen) {
  hwt_status st = hwt_status_ok;
  hwt_model *m = NULL;
  char *bin_path = NULL;
  source src = {-1, weights, weights_len};
  json_t *names = json_object();
  json_error_t jerr;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  ctx c = {path, err, errlen, 0, "?", "?", NULL, NULL};
  if (names == NULL) {
    st = hwt_status_out_of_memory;
    hwt_errf(err, errlen, "%s: out of memory", path);
    goto error;
  }
  if (root == NULL) {
    hwt_errf(err, errlen, "%s:%d:%d: not valid JSON: %s", path, jerr.line, jerr.column, jerr.text);
    st = hwt_status_parse_error;
    goto error;
  }
  st = hwt_status_schema_error;
  if (!json_is_object(root)) {
    hwt_errf(err, errlen, "%s: the model must be a JSON object", path);
    goto error;
  }
  json_t *schema = json_object_get(root, "schema");
  if (!json_is_string(schema) || strcmp(json_string_value(schema), HWT_MODEL_SCHEMA) != 0) {
    hwt_errf(err, errlen, "%s: field 'schema' must be \"%s\" (found %s)", path, HWT_MODEL_SCHEMA,
             json_is_string(schema) ? json_string_value(schema) : schema ? "a non-string" : "nothing");
    goto error;
  }
  json_t *jlayers = json_object_get(root, "layers"), *jw = json_object_get(root, "weights"), *jp = json_object_get(root, "precision"),
         *jn = json_object_get(root, "name");
  if (!json_is_array(jlayers) || json_array_size(jlayers) == 0) {
    hwt_errf(err, errlen, "%s: field 'layers' must be a non-empty array", path);
    goto error;
  }
  if (json_array_size(jlayers) > 100000) {
    hwt_errf(err, errlen, "%s: too many layers (%zu)", path, json_array_size(jlayers));
    goto error;
  }
  if (!json_is_string(jw) || json_string_length(jw) == 0) {
    hwt_errf(err, errlen, "%s: missing field 'weights' (the weights file, relative to the model file)", path);
    goto error;
  }
  const char *ps = json_is_string(jp) ? json_string_value(jp) : "";
  if (strcmp(ps, "fp32") != 0 && strcmp(ps, "int8") != 0) {
    hwt_errf(err, errlen, "%s: field 'precision' must be \"fp32\" or \"int8\"", path);
    goto error;
  }
  m = model_new(json_is_string(jn) ? json_string_value(jn) : "model", json_array_size(jlayers));
  if (m == NULL) {
    st = hwt_status_out_of_memory;
    hwt_errf(err, errlen, "%s: out of memory", path);
    goto error;
  }
  m->precision = strcmp(ps, "int8") == 0 ? hwt_prec_int8 : hwt_prec_fp32;
  json_t *js = json_object_get(root, "source"), *jb = json_object_get(root, "fixed_batch");
  if (js != NULL && (!json_is_string(js) || json_string_length(js) >= sizeof(m->source))) {
    hwt_errf(err, errlen, "%s: field 'source' must be a string shorter than %zu characters", path, sizeof(m->source));
    goto error;
  }
  snprintf(m->source, sizeof(m->source), "%s", js ? json_string_value(js) : HWT_MODEL_SCHEMA);
  if (jb != NULL && (!json_is_integer(jb) || json_integer_value(jb) < 0 || json_integer_value(jb) > 1 << 20)) {
    hwt_errf(err, errlen, "%s: field 'fixed_batch' must be an integer in [0, 1048576]", path);
    goto error;
  }
  m->fixed_batch = jb ? (uint32_t) json_integer_value(jb) : 0;
  if (!parse_graph_inputs(path, root, m, names, err, errlen)) goto error;
  c.i8 = calloc(m->nlayers, sizeof(bool));
  c.q8 = calloc(m->nlayers, 1);
  if (c.i8 == NULL || c.q8 == NULL) {
    st = hwt_status_out_of_memory;
    hwt_errf(err, errlen, "%s: out of memory", path);
    goto error;
  }
  for (size_t i = 0; i < m->nlayers; i++) {
    st = parse_layer(&c, json_array_get(jlayers, i), m, i, names);
    if (st != hwt_status_ok) goto error;
  }
  st = settle_q8(&c, jlayers, m);
  if (st != hwt_status_ok) goto error;
  char msg[700];
  st = hwt_model_infer_shapes(m, msg, sizeof(msg));
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "%s: %s", path, msg);
    goto error;
  }
  st = check_output_shapes(&c, jlayers, m);
  if (st != hwt_status_ok) goto error;

  const char *wname = json_string_value(jw);
  size_t bl = strlen(dir ? dir : "") + strlen(wname) + 2;
  bin_path = malloc(bl);
  if (bin_path == NULL) {
    st = hwt_status_out_of_memory;
    hwt_errf(err, errlen, "%s: out of memory", path);
    goto error;
  }
  if (dir == NULL || wname[0] == '/')
    snprintf(bin_path, bl, "%s", wname);
  else
    snprintf(bin_path, bl, "%s/%s", dir, wname);
  if (weights == NULL) {
    bool opened;
    st = open_regular(bin_path, MAX_WEIGHTS_BYTES, &src.fd, &src.len, &opened, msg, sizeof(msg));
    if (st != hwt_status_ok) {
      hwt_errf(err, errlen, opened ? "%s: weights file '%s' %s" : "%s: cannot read weights file '%s': %s", path,
               bin_path, msg);
      goto error;
    }
  }
  st = plan_params(&c, bin_path, src.len, m);
  if (st != hwt_status_ok) goto error;
  st = read_params(&c, bin_path, &src, m);
  if (st != hwt_status_ok) goto error;
  st = hwt_status_schema_error;
  if (!parse_graph_outputs(path, root, m, names, err, errlen)) goto error;
  st = hwt_model_finalize(m, path, err, errlen);
  if (st != hwt_status_ok) goto error;
  *out = m;
  m = NULL;
error:
  if (src.fd >= 0) close(src.fd);
  free(bin_path);
  free(c.i8);
  free(c.q8);
  json_decref(root);
  json_decref(names);
  hwt_model_free(m);
  return st;
}

hwt_status hwt_model_load_buffers(const char *json, size_t json_len, const void *weights, size_t weights_len,
                                  const char *name, hwt_model **out, char *err, size_t errlen) {
  *out = NULL;
  if (name == NULL) name = "<buffer>";
  if (json_len > MAX_JSON_BYTES || weights_len > MAX_WEIGHTS_BYTES) {
    hwt_errf(err, errlen, "%s: the model %s is larger than %llu MiB", name,
             json_len > MAX_JSON_BYTES ? "description" : "weights",
             (unsigned long long) ((json_len > MAX_JSON_BYTES ? MAX_JSON_BYTES : MAX_WEIGHTS_BYTES) >> 20));
    return hwt_status_io_error;
  }
  static const unsigned char empty[1];
  return load_model(name, NULL, json, json_len, weights ? weights : empty, weights_len, out, err, errlen);
}

hwt_status hwt_model_load(const char *path, hwt_model **out, char *err, size_t errlen) {
  *out = NULL;
  int fd = -1;
  uint64_t size = 0;
  char why[256];
  bool opened;
  hwt_status st = open_regular(path, MAX_JSON_BYTES, &fd, &size, &opened, why, sizeof(why));
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, opened ? "%s: the model file %s" : "%s: cannot open model file: %s", path, why);
    return st;
  }
  /* Read exactly the size fstat reported; a file that changes meanwhile is refused. */
  char *text = malloc((size_t) size + 1), *dir = malloc(strlen(path) + 2);
  size_t got = 0;
  char extra;
  if (text == NULL || dir == NULL) {
    hwt_errf(err, errlen, "%s: out of memory", path);
    st = hwt_status_out_of_memory;
    goto done;
  }
  int rerr = 0;
  while (got < size) {
    ssize_t r = read(fd, text + got, (size_t) size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) rerr = errno;
    if (r <= 0) break;
    got += (size_t) r;
  }
  if (got != size || read(fd, &extra, 1) != 0) {
    hwt_errf(err, errlen, "%s: cannot read model file: %s", path,
             rerr ? strerror(rerr) : "the file changed while it was read");
    st = hwt_status_io_error;
    goto done;
  }
  const char *slash = strrchr(path, '/');
  if (slash == NULL)
    snprintf(dir, strlen(path) + 2, ".");
  else
    snprintf(dir, strlen(path) + 2, "%.*s", (int) (slash - path), path);
  if (slash == path) snprintf(dir, strlen(path) + 2, "/");
  st = load_model(path, dir, text, (size_t) size, NULL, 0, out, err, errlen);
done:
  close(fd);
  free(text);
  free(dir);
  return st;
}

/* ---------------- saving ---------------- */

static json_t *shape_json(hwt_shape s) {
  if (s.h == 1 && s.w == 1) return json_pack("[I]", (json_int_t) s.c);
  return json_pack("[I,I,I]", (json_int_t) s.h, (json_int_t) s.w, (json_int_t) s.c);
}

static json_t *q_json(hwt_qparams q) {
  return json_pack("{s:f,s:I}", "scale", (double) q.scale, "zero_point", (json_int_t) q.zero_point);
}

static const char *value_name(const hwt_model *m, int id) {
  if (id >= 0) return (size_t) id < m->nlayers ? m->layers[id].name : "?";
  size_t k = (size_t) (-1 - (long) id);
  return k < m->ninputs ? m->inputs[k].name : k == 0 ? "input" : "?";
}

static hwt_precision layer_prec(const hwt_layer *l) { return l->wq != NULL ? hwt_prec_int8 : hwt_prec_fp32; }

/* The layer's JSON object (parameters go to blob at *off). */
static json_t *layer_json(const hwt_model *m, size_t i, unsigned char *blob, size_t *off) {
  const hwt_layer *l = &m->layers[i];
  json_t *jl = json_pack("{s:s,s:s}", "name", l->name, "type", type_names[l->type]);
  if (jl == NULL) return NULL;
  int prev = i > 0 ? (int) i - 1 : HWT_INPUT_ID(0);
  bool binary = is_binary_type(l->type);
  if (l->type == hwt_layer_add && l->nin == 2 && l->inputs[0] == prev) {
    json_object_set_new(jl, "from", json_string(value_name(m, l->inputs[1])));
  } else if (!(l->nin == 1 && l->inputs[0] == prev)) {
    json_t *a = json_array();
    for (int k = 0; k < l->nin; k++) json_array_append_new(a, json_string(value_name(m, l->inputs[k])));
    json_object_set_new(jl, "inputs", a);
  }
  if (l->type == hwt_layer_fc || l->type == hwt_layer_conv)
    json_object_set_new(jl, "outputs", json_integer(l->outputs));
  if (has_window(l->type)) {
    json_object_set_new(jl, "kernel", json_pack("[i,i]", (int) l->kh, (int) l->kw));
    json_object_set_new(jl, "stride", json_pack("[i,i]", (int) l->sh, (int) l->sw));
    json_object_set_new(jl, "padding",
                        json_pack("[i,i,i,i]", (int) l->pad_t, (int) l->pad_r, (int) l->pad_b, (int) l->pad_l));
  }
  if ((l->type == hwt_layer_conv || l->type == hwt_layer_dwconv) && (l->dh > 1 || l->dw > 1))
    json_object_set_new(jl, "dilation", json_pack("[i,i]", (int) (l->dh ? l->dh : 1), (int) (l->dw ? l->dw : 1)));
  if (l->type == hwt_layer_conv && l->groups > 1) json_object_set_new(jl, "groups", json_integer(l->groups));
  if ((l->type == hwt_layer_maxpool || l->type == hwt_layer_avgpool) && l->ceil_mode)
    json_object_set_new(jl, "ceil_mode", json_true());
  if (l->type == hwt_layer_avgpool && l->count_include_pad) json_object_set_new(jl, "count_include_pad", json_true());
  if (has_params(l->type)) json_object_set_new(jl, "activation", json_string(act_names[l->act]));
  if (l->act == hwt_act_clip) {
    if (isfinite(l->act_lo)) json_object_set_new(jl, "act_min", json_real(l->act_lo));
    if (isfinite(l->act_hi)) json_object_set_new(jl, "act_max", json_real(l->act_hi));
  }
  if (l->type == hwt_layer_clip || l->type == hwt_layer_leaky_relu || l->type == hwt_layer_hard_sigmoid) {
    if (isfinite(l->alpha)) json_object_set_new(jl, "alpha", json_real(l->alpha));
    if (l->type != hwt_layer_leaky_relu && isfinite(l->beta)) json_object_set_new(jl, "beta", json_real(l->beta));
  }
  if (l->type == hwt_layer_unary) {
    json_object_set_new(jl, "fn", json_string(hwt_unary_fn_name(l->fn)));
    if (l->fn == hwt_unary_elu || l->fn == hwt_unary_selu) json_object_set_new(jl, "alpha", json_real(l->alpha));
    if (l->fn == hwt_unary_selu) json_object_set_new(jl, "gamma", json_real(l->beta));
    if (l->fn == hwt_unary_pow) json_object_set_new(jl, "exponent", json_real(l->alpha));
  }
  if ((l->type == hwt_layer_softmax || l->type == hwt_layer_log_softmax) && l->axes != 0) {
    json_t *a = json_array();
    if (l->axes & HWT_AXIS_H) json_array_append_new(a, json_string("h"));
    if (l->axes & HWT_AXIS_W) json_array_append_new(a, json_string("w"));
    if (l->axes & HWT_AXIS_C) json_array_append_new(a, json_string("c"));
    json_object_set_new(jl, "axes", a);
  }
  if (binary && l->nin == 1) {
    json_object_set_new(jl, "const_shape", json_pack("[I,I,I]", (json_int_t) l->wshape.h, (json_int_t) l->wshape.w,
                                                     (json_int_t) l->wshape.c));
    if (l->const_first) json_object_set_new(jl, "const_first", json_true());
  }
  if (l->rank != 0) json_object_set_new(jl, "rank", json_integer(l->rank));
  if (l->type == hwt_layer_transpose) {
    json_t *p = json_array();
    for (unsigned d = 0; d < l->rank && d < 4; d++) json_array_append_new(p, json_integer(l->perm[d]));
    json_object_set_new(jl, "perm", p);
  }
  if (l->fused[0] != '\0') json_object_set_new(jl, "fused", json_string(l->fused));
  if (stores_params(l)) {
    json_object_set_new(jl, "offset", json_integer((json_int_t) *off));
    if (has_params(l->type) && (l->wq != NULL) != (m->precision == hwt_prec_int8))
      json_object_set_new(jl, "param_precision", json_string(l->wq != NULL ? "int8" : "fp32"));
    size_t nw = hwt_layer_weight_count(l), nb = hwt_layer_bias_count(l);
    if (l->wq == NULL) {
      if (nw) memcpy(blob + *off, l->w, nw * 4);
      if (nb) memcpy(blob + *off + nw * 4, l->b, nb * 4);
    } else {
      size_t wb = (nw + 3) & ~(size_t) 3;
      memcpy(blob + *off, l->wq, nw);
      memcpy(blob + *off + wb, l->bq, nb * 4);
      memcpy(blob + *off + wb + nb * 4, l->wscale, nb * 4);
    }
    *off += hwt_layer_param_bytes(l, layer_prec(l));
  }
  json_object_set_new(jl, "output_shape", shape_json(l->out));
  if (l->q8 != default_q8(m, i)) json_object_set_new(jl, "output_int8", json_boolean(l->q8));
  if (l->q8 || l->oq.scale > 0) json_object_set_new(jl, "output_quant", q_json(l->oq));
  return jl;
}

/* The graph's inputs and outputs: the sequential form ("input", no "outputs") when it says everything. */
static void io_json(const hwt_model *m, json_t *root) {
  const hwt_graph_io *in0 = &m->inputs[0];
  bool int8 = m->precision == hwt_prec_int8;
  if (m->ninputs <= 1 && (m->ninputs == 0 || (strcmp(in0->name, "input") == 0 && in0->rank == 0 && in0->q8 == int8))) {
    json_t *input = json_pack("{s:o}", "shape", shape_json(m->input));
    if (int8) json_object_set_new(input, "quant", q_json(m->iq));
    json_object_set_new(root, "input", input);
  } else {
    json_t *a = json_array();
    for (size_t k = 0; k < m->ninputs; k++) {
      const hwt_graph_io *io = &m->inputs[k];
      json_t *e = json_pack("{s:s,s:o}", "name", io->name, "shape", shape_json(io->shape));
      if (io->rank) json_object_set_new(e, "rank", json_integer(io->rank));
      if (io->q8) json_object_set_new(e, "quant", q_json(io->q));
      json_array_append_new(a, e);
    }
    json_object_set_new(root, "inputs", a);
  }
}

static void outputs_json(const hwt_model *m, json_t *root) {
  const hwt_graph_io *o = &m->outputs[0];
  int last = (int) m->nlayers - 1;
  if (m->noutputs == 0 || (m->noutputs == 1 && o->value == last && strcmp(o->name, m->layers[last].name) == 0 &&
                           o->rank == m->layers[last].rank))
    return;
  json_t *a = json_array();
  for (size_t k = 0; k < m->noutputs; k++) {
    o = &m->outputs[k];
    json_t *e = json_pack("{s:s,s:s}", "name", o->name, "value", value_name(m, o->value));
    if (o->rank != hwt_model_value_rank(m, o->value)) json_object_set_new(e, "rank", json_integer(o->rank));
    json_array_append_new(a, e);
  }
  json_object_set_new(root, "outputs", a);
}

hwt_status hwt_model_save(const hwt_model *m, const char *json_path, char *err, size_t errlen) {
  size_t plen = strlen(json_path);
  char bin_path[2048];
  if (plen > 5 && strcmp(json_path + plen - 5, ".json") == 0)
    snprintf(bin_path, sizeof(bin_path), "%.*s.bin", (int) (plen - 5), json_path);
  else
    snprintf(bin_path, sizeof(bin_path), "%s.bin", json_path);
  const char *bin_base = strrchr(bin_path, '/') ? strrchr(bin_path, '/') + 1 : bin_path;

  size_t total = 0;
  for (size_t i = 0; i < m->nlayers; i++)
    if (stores_params(&m->layers[i]))
      total = add_sat(total, hwt_layer_param_bytes(&m->layers[i], layer_prec(&m->layers[i])));
  unsigned char *blob = total == SIZE_MAX ? NULL : calloc(total ? total : 1, 1);
  json_t *root = json_object(), *layers = json_array();
  hwt_status st = hwt_status_out_of_memory;
  char *text = NULL;
  if (blob == NULL || root == NULL || layers == NULL) goto error;
  json_object_set_new(root, "schema", json_string(HWT_MODEL_SCHEMA));
  json_object_set_new(root, "name", json_string(m->name));
  json_object_set_new(root, "precision", json_string(m->precision == hwt_prec_int8 ? "int8" : "fp32"));
  if (m->source[0] != '\0' && strcmp(m->source, HWT_MODEL_SCHEMA) != 0)
    json_object_set_new(root, "source", json_string(m->source));
  if (m->fixed_batch) json_object_set_new(root, "fixed_batch", json_integer(m->fixed_batch));
  json_object_set_new(root, "weights", json_string(bin_base));
  io_json(m, root);
  size_t off = 0;
  for (size_t i = 0; i < m->nlayers; i++) {
    json_t *jl = layer_json(m, i, blob, &off);
    if (jl == NULL) goto error;
    json_array_append_new(layers, jl);
  }
  json_object_set_new(root, "layers", layers);
  layers = NULL;
  outputs_json(m, root);
  text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
  if (text == NULL) goto error;
  st = hwt_write_file_atomic(bin_path, blob, total, err, errlen);
  if (st != hwt_status_ok) goto error;
  size_t tl = strlen(text);
  text[tl] = '\n';
  st = hwt_write_file_atomic(json_path, text, tl + 1, err, errlen);
  text[tl] = '\0';
error:
  if (st == hwt_status_out_of_memory) hwt_errf(err, errlen, "%s: out of memory", json_path);
  free(text);
  free(blob);
  json_decref(layers);
  json_decref(root);
  return st;
}

/* ---------------- generators ---------------- */

typedef struct rng {
  uint64_t s;
} rng;

static uint64_t rng_next(rng *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double rng_uniform(rng *r) { return (double) (rng_next(r) >> 11) * 0x1.0p-53; }
static double rng_normal(rng *r) {
  double u = rng_uniform(r), v = rng_uniform(r);
  if (u < 1e-300) u = 1e-300;
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static hwt_status fill_params(hwt_model *m, uint64_t seed) {
  rng r = {seed};
  for (size_t i = 0; i < m->nlayers; i++) {
    hwt_layer *l = &m->layers[i];
    if (!has_params(l->type)) continue;
    size_t nw = hwt_layer_weight_count(l), nb = hwt_layer_bias_count(l);
    size_t fan_in = l->type == hwt_layer_fc ? hwt_shape_size(l->in)
                    : l->type == hwt_layer_conv ? (size_t) l->kh * l->kw * l->in.c
                                                : (size_t) l->kh * l->kw;
    l->w = hwt_rt_alloc(nw * 4);
    l->b = hwt_rt_alloc(nb * 4);
    if (l->w == NULL || l->b == NULL) return hwt_status_out_of_memory;
    double sd = sqrt(2.0 / (double) fan_in);
    /* Depthwise filters: positive mean (smoothing-like, as trained ones mostly are). Zero-mean random 3x3
     * filters pass white noise far more than image structure, which makes a deep random network chaotic. */
    bool dw = l->type == hwt_layer_dwconv;
    for (size_t k = 0; k < nw; k++)
      l->w[k] = (float) (dw ? (1.0 + 0.5 * rng_normal(&r)) / (double) fan_in : rng_normal(&r) * sd);
    for (size_t k = 0; k < nb; k++) l->b[k] = (float) (rng_normal(&r) * 0.1);
  }
  return hwt_status_ok;
}

/* Data-dependent initialisation, as a trained network's folded batch normalisation would leave it: every
 * fc/conv/dwconv output channel is rescaled so that over a few generated inputs its pre-activation has unit
 * standard deviation and a random mean in [-0.5, 1) (the logits layer: mean 0, std 2). Without it a deep
 * random network maps every input to the same class, and int8-vs-fp32 top-1 agreement would mean nothing. */
static hwt_status normalize_params(hwt_model *m, uint64_t seed) {
  enum { N = 16 };
  rng r = {seed ^ 0xABCDEF};
  size_t nl = m->nlayers, in_size = hwt_shape_size(m->input);
  hwt_status st = hwt_status_out_of_memory;
  float **act = calloc(nl + 1, sizeof(float *));
  double *sum = NULL, *sq = NULL;
  if (act == NULL) return st;
  act[0] = malloc(N * in_size * sizeof(float));
  if (act[0] == NULL) goto done;
  hwt_model_gen_inputs(m, seed + 99, N, act[0]);
  for (size_t i = 0; i < nl; i++) {
    hwt_layer *l = &m->layers[i];
    size_t isz = hwt_shape_size(l->in), osz = hwt_shape_size(l->out);
    act[i + 1] = malloc(N * osz * sizeof(float));
    if (act[i + 1] == NULL) goto done;
    /* the second operand of an add (generators' graphs are chains with one input: value id v is act[v + 1]) */
    const float *from = l->type == hwt_layer_add && l->nin == 2 ? act[l->inputs[1] < 0 ? 0 : l->inputs[1] + 1] : NULL;
    bool logits_layer = has_params(l->type) && i + 2 >= nl;
    if (logits_layer && l->type == hwt_layer_fc) {
      /* Classifier rows: random mixtures of the (centred) features of the N samples, like a trained classifier's
       * rows resemble class means. (Aligning with Cov as below would make all classes nearly collinear.) */
      double *mu = calloc(isz, sizeof(double));
      if (mu == NULL) goto done;
      for (size_t s2 = 0; s2 < N; s2++)
        for (size_t k = 0; k < isz; k++) mu[k] += act[i][s2 * isz + k] / (double) N;
      for (size_t o = 0; o < l->outputs; o++) {
        float *w = l->w + o * isz;
        for (size_t k = 0; k < isz; k++) w[k] = 0;
        for (size_t s2 = 0; s2 < N; s2++) {
          float g = (float) rng_normal(&r);
          for (size_t k = 0; k < isz; k++) w[k] += g * (float) (act[i][s2 * isz + k] - mu[k]);
        }
      }
      free(mu);
    } else if (l->type == hwt_layer_fc || (l->type == hwt_layer_conv && l->kh == 1 && l->kw == 1)) {
      /* Align the weights with the data, as training does: W <- W * Cov(input channels). Random weights
       * otherwise spend most of their gain on directions the (low-rank) data does not use, and quantization
       * noise, which is in every direction, grows layer after layer. */
      size_t k = l->type == hwt_layer_fc ? isz : l->in.c, rows = N * isz / k, nout = hwt_layer_bias_count(l);
      double *cov = calloc(k * k, sizeof(double)), *mu = calloc(k, sizeof(double));
      float *nw2 = malloc(nout * k * sizeof(float));
      if (cov == NULL || mu == NULL || nw2 == NULL) {
        free(cov);
        free(mu);
        free(nw2);
        goto done;
      }
      for (size_t rr = 0; rr < rows; rr++)
        for (size_t a = 0; a < k; a++) mu[a] += act[i][rr * k + a] / (double) rows;
      for (size_t rr = 0; rr < rows; rr++) {
        const float *x = act[i] + rr * k;
        for (size_t a = 0; a < k; a++) {
          double xa = x[a] - mu[a];
          if (xa == 0) continue;
          for (size_t b2 = 0; b2 < k; b2++) cov[a * k + b2] += xa * (x[b2] - mu[b2]);
        }
      }
      double tr = 0;
      for (size_t a = 0; a < k; a++) tr += cov[a * k + a];
      double ridge = 1.0; /* + mean eigenvalue on the diagonal: aligns without collapsing to one direction */
      for (size_t a = 0; a < k; a++) cov[a * k + a] += ridge * tr / (double) k;
      for (size_t o = 0; o < nout; o++)
        for (size_t b2 = 0; b2 < k; b2++) {
          double acc = 0;
          for (size_t a = 0; a < k; a++) acc += (double) l->w[o * k + a] * cov[a * k + b2];
          nw2[o * k + b2] = (float) acc;
        }
      memcpy(l->w, nw2, nout * k * sizeof(float));
      free(cov);
      free(mu);
      free(nw2);
    }
    if (has_params(l->type)) {
      size_t nc = hwt_layer_bias_count(l), nw = hwt_layer_weight_count(l);
      hwt_act keep = l->act;
      l->act = hwt_act_none;
      for (size_t s = 0; s < N; s++) hwt_reference_layer_f32(l, act[i] + s * isz, NULL, act[i + 1] + s * osz);
      l->act = keep;
      free(sum);
      free(sq);
      sum = calloc(nc, sizeof(double));
      sq = calloc(nc, sizeof(double));
      if (sum == NULL || sq == NULL) goto done;
      for (size_t k = 0; k < N * osz; k++) {
        double v = act[i + 1][k];
        sum[k % nc] += v;
        sq[k % nc] += v * v;
      }
      double cnt = (double) (N * osz / nc);
      bool logits = i + 2 >= nl;
      for (size_t c = 0; c < nc; c++) { /* sum[c] becomes the channel's gain */
        double mean = sum[c] / cnt, var = sq[c] / cnt - mean * mean;
        double g = (logits ? 2.0 : 1.0) / sqrt(var > 1e-12 ? var : 1e-12);
        double beta = logits ? 0.0 : 0.5 + 1.5 * rng_uniform(&r);
        l->b[c] = (float) ((l->b[c] - mean) * g + beta);
        sum[c] = g;
      }
      for (size_t k = 0; k < nw; k++)
        l->w[k] = (float) (l->w[k] * sum[l->type == hwt_layer_dwconv ? k % nc : k / (nw / nc)]);
    }
    for (size_t s = 0; s < N; s++)
      hwt_reference_layer_f32(l, act[i] + s * isz, from ? from + s * osz : NULL, act[i + 1] + s * osz);
  }
  st = hwt_status_ok;
done:
  for (size_t i = 0; i <= nl; i++) free(act[i]);
  free(act);
  free(sum);
  free(sq);
  return st;
}

static void set_layer(hwt_layer *l, const char *name, hwt_layer_type t, hwt_act act, uint32_t outputs, uint32_t k,
                      uint32_t s, uint32_t pad) {
  snprintf(l->name, sizeof(l->name), "%s", name);
  l->type = t;
  l->act = act;
  l->outputs = outputs;
  l->kh = l->kw = k;
  l->sh = l->sw = s;
  l->pad_t = l->pad_r = l->pad_b = l->pad_l = pad;
}

hwt_status hwt_model_gen_mlp(uint64_t seed, hwt_model **out) {
  hwt_model *m = model_new("mlp", 4);
  if (m == NULL) return hwt_status_out_of_memory;
  m->input = (hwt_shape){1, 1, 784};
  set_layer(&m->layers[0], "fc1", hwt_layer_fc, hwt_act_relu, 256, 0, 0, 0);
  set_layer(&m->layers[1], "fc2", hwt_layer_fc, hwt_act_relu, 128, 0, 0, 0);
  set_layer(&m->layers[2], "fc3", hwt_layer_fc, hwt_act_none, 10, 0, 0, 0);
  set_layer(&m->layers[3], "softmax", hwt_layer_softmax, hwt_act_none, 0, 0, 0, 0);
  sequential_inputs(m);
  hwt_status st = hwt_model_infer_shapes(m, NULL, 0);
  if (st == hwt_status_ok) st = fill_params(m, seed);
  if (st == hwt_status_ok) st = normalize_params(m, seed);
  if (st == hwt_status_ok) st = hwt_model_finalize(m, m->name, NULL, 0);
  if (st != hwt_status_ok) {
    hwt_model_free(m);
    return st;
  }
  *out = m;
  return hwt_status_ok;
}

hwt_status hwt_model_gen_mobilenet(uint64_t seed, hwt_model **out) {
  /* MobileNet-v1 (Howard et al. 2017) at width 0.25: channels and strides of its 13 dw/pw blocks. */
  static const struct { uint32_t ch, stride; } blocks[13] = {
      {16, 1}, {32, 2}, {32, 1}, {64, 2}, {64, 1}, {128, 2}, {128, 1},
      {128, 1}, {128, 1}, {128, 1}, {128, 1}, {256, 2}, {256, 1}};
  hwt_model *m = model_new("mobilenet", 1 + 26 + 3);
  if (m == NULL) return hwt_status_out_of_memory;
  m->input = (hwt_shape){96, 96, 3};
  size_t n = 0;
  set_layer(&m->layers[n++], "conv0", hwt_layer_conv, hwt_act_relu6, 8, 3, 2, 1);
  for (int b = 0; b < 13; b++) {
    char name[32];
    snprintf(name, sizeof(name), "dw%d", b + 1);
    set_layer(&m->layers[n++], name, hwt_layer_dwconv, hwt_act_relu6, 0, 3, blocks[b].stride, 1);
    snprintf(name, sizeof(name), "pw%d", b + 1);
    set_layer(&m->layers[n++], name, hwt_layer_conv, hwt_act_relu6, blocks[b].ch, 1, 1, 0);
  }
  set_layer(&m->layers[n++], "pool", hwt_layer_gavgpool, hwt_act_none, 0, 0, 0, 0);
  set_layer(&m->layers[n++], "fc", hwt_layer_fc, hwt_act_none, 1000, 0, 0, 0);
  set_layer(&m->layers[n++], "softmax", hwt_layer_softmax, hwt_act_none, 0, 0, 0, 0);
  sequential_inputs(m);
  hwt_status st = hwt_model_infer_shapes(m, NULL, 0);
  if (st == hwt_status_ok) st = fill_params(m, seed);
  if (st == hwt_status_ok) st = normalize_params(m, seed);
  if (st == hwt_status_ok) st = hwt_model_finalize(m, m->name, NULL, 0);
  if (st != hwt_status_ok) {
    hwt_model_free(m);
    return st;
  }
  *out = m;
  return hwt_status_ok;
}

/* Image-like inputs with structure (per-channel brightness, a gradient, a stripe pattern, noise) so that a
 * network's outputs differ between samples; values in [0, 1). */
void hwt_model_gen_inputs(const hwt_model *m, uint64_t seed, size_t count, float *dst) {
  rng r = {seed * 0x9E3779B97F4A7C15ull + 7};
  hwt_shape s = m->input;
  uint32_t h = s.h, w = s.w, c = s.c;
  if (h == 1 && w == 1 && c > 16) { /* flat input: view as a square image when possible */
    uint32_t side = (uint32_t) sqrt((double) c);
    if (side * side == c) {
      h = w = side;
      c = 1;
    }
  }
  /* The external layout of input 0: channels first for ranks 3 and 4 (as hwt_layout_to_external). */
  uint8_t rank = m->ninputs ? m->inputs[0].rank : 0;
  bool cfirst = rank >= 3 && (size_t) s.h * s.w != 1;
  for (size_t n = 0; n < count; n++) {
    float *x = dst + n * hwt_shape_size(s);
    /* Several independent components per sample (three oriented stripe patterns with random frequency and
     * phase, a gradient, a small per-channel tint, noise), so samples differ in many directions, not mostly
     * in brightness. */
    double fx[3], fy[3], ph[3], amp[3], gx = rng_normal(&r), gy = rng_normal(&r);
    for (int k = 0; k < 3; k++) {
      double ang = 6.283185307179586 * rng_uniform(&r), f = 0.1 + 0.6 * rng_uniform(&r);
      fx[k] = f * cos(ang);
      fy[k] = f * sin(ang);
      ph[k] = 6.283185307179586 * rng_uniform(&r);
      amp[k] = 0.05 + 0.1 * rng_uniform(&r);
    }
    double tint[64];
    for (uint32_t ch = 0; ch < c && ch < 64; ch++) tint[ch] = 0.1 * rng_uniform(&r);
    for (uint32_t y = 0; y < h; y++)
      for (uint32_t xx = 0; xx < w; xx++)
        for (uint32_t ch = 0; ch < c; ch++) {
          double v = 0.45 + tint[ch % 64] + 0.08 * (gx * xx / (double) w + gy * y / (double) h) +
                     0.05 * (rng_uniform(&r) - 0.5);
          for (int k = 0; k < 3; k++) v += amp[k] * sin(fx[k] * xx + fy[k] * y + ph[k] + 0.7 * ch);
          v = v < 0 ? 0 : v > 0.999 ? 0.999 : v;
          x[cfirst ? ((size_t) ch * h + y) * w + xx : ((size_t) y * w + xx) * c + ch] = (float) v;
        }
  }
}
