/* SPDX-License-Identifier: Apache-2.0 */
/* The elementwise nodes (unary functions, max / min / prelu, log_softmax): the engine and the reference against
 * closed-form values, including the NaN / infinity / zero edges ONNX defines, at batch 1 and 3; their JSON form
 * (names, attributes, refusals) and a save / load round trip. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static char err[2048];

/* A model of one node of type t reading graph input 0 (and input 1 when two), shape [1, 1, n], native rank. */
static hwt_model *mk(hwt_layer_type t, size_t n, int nin) {
  hwt_model *m = hwt_rt_calloc(1, sizeof(*m));
  cr_assert_not_null(m);
  m->layers = hwt_rt_calloc(1, sizeof(hwt_layer));
  cr_assert_not_null(m->layers);
  m->nlayers = 1;
  snprintf(m->name, sizeof(m->name), "u");
  m->input = (hwt_shape){1, 1, (uint32_t) n};
  m->ninputs = (size_t) nin;
  for (int k = 0; k < nin; k++) {
    m->inputs[k].shape = m->input;
    snprintf(m->inputs[k].name, sizeof(m->inputs[k].name), "x%d", k);
  }
  hwt_layer *l = &m->layers[0];
  snprintf(l->name, sizeof(l->name), "n");
  l->type = t;
  l->nin = nin;
  for (int k = 0; k < nin; k++) l->inputs[k] = HWT_INPUT_ID(k);
  return m;
}

static void finalize(hwt_model *m) {
  err[0] = '\0';
  cr_assert_eq(hwt_model_finalize(m, "u", err, sizeof(err)), hwt_status_ok, "%s", err);
}

/* got matches want: NaN only NaN, an infinity only the same one, else within rtol 2e-6 (+ 1e-37 absolute). */
static void expect(const char *what, size_t j, double got, double want) {
  if (isnan(want)) {
    cr_assert(isnan(got), "%s [%zu]: %.9g, want NaN", what, j, got);
  } else if (isinf(want)) {
    cr_assert(got == want, "%s [%zu]: %.9g, want %g", what, j, got, want);
  } else {
    cr_assert(fabs(got - want) <= 2e-6 * fabs(want) + 1e-37, "%s [%zu]: %.9g, want %.9g", what, j, got, want);
  }
}

/* Runs m (inputs x0 [, x1] of n floats per sample) through the engine at batch 1 and 3 and the reference, and
 * compares both with want[n]. */
static void run_expect(hwt_model *m, const char *what, const float *x0, const float *x1, const double *want,
                       size_t n) {
  finalize(m);
  static const size_t batches[2] = {1, 3};
  for (size_t bi = 0; bi < 2; bi++) {
    size_t batch = batches[bi];
    float *in0 = calloc(batch * n, sizeof(float)), *in1 = calloc(batch * n, sizeof(float));
    float *o1 = calloc(batch * n, sizeof(float)), *o2 = calloc(batch * n, sizeof(float));
    cr_assert(in0 && in1 && o1 && o2);
    for (size_t s = 0; s < batch; s++) {
      memcpy(in0 + s * n, x0, n * sizeof(float));
      if (x1) memcpy(in1 + s * n, x1, n * sizeof(float));
    }
    hwt_engine *e = NULL;
    hwt_engine_options opt = {0};
    opt.threads = 1;
    err[0] = '\0';
    cr_assert_eq(hwt_engine_create(m, batch, &opt, &e, err, sizeof(err)), hwt_status_ok, "%s", err);
    const float *ins[2] = {in0, in1};
    float *outs[1] = {o1}, *routs[1] = {o2};
    cr_assert_eq(hwt_engine_run_io(e, ins, outs, NULL), hwt_status_ok);
    cr_assert_eq(hwt_model_reference_io(m, batch, ins, routs), hwt_status_ok);
    char w[96];
    for (size_t s = 0; s < batch; s++)
      for (size_t j = 0; j < n; j++) {
        snprintf(w, sizeof(w), "%s engine (batch %zu)", what, batch);
        expect(w, j, o1[s * n + j], want[j]);
        snprintf(w, sizeof(w), "%s reference (batch %zu)", what, batch);
        expect(w, j, o2[s * n + j], want[j]);
      }
    hwt_engine_destroy(e);
    free(in0), free(in1), free(o1), free(o2);
  }
  hwt_model_free(m);
}

static const float X[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1.0f, -1.0f, 2.5f, -2.5f, 0.3f, -0.7f, 4.0f,
                          1e-3f, -1e-3f, 10.0f, -10.0f, 100.0f, -100.0f, 0.5f, -1.5f};
#define NX (sizeof(X) / sizeof(X[0]))

static const double SELU_A = 1.67326319217681884765625, SELU_G = 1.05070102214813232421875;

/* The closed form of each function in double (the ONNX definitions), for x. */
static double closed(hwt_unary_fn fn, double x, double a, double g) {
  switch (fn) {
    case hwt_unary_neg: return -x;
    case hwt_unary_abs: return fabs(x);
    case hwt_unary_exp: return exp(x);
    case hwt_unary_log: return log(x);
    case hwt_unary_sqrt: return sqrt(x);
    case hwt_unary_reciprocal: return 1.0 / x;
    case hwt_unary_floor: return floor(x);
    case hwt_unary_ceil: return ceil(x);
    case hwt_unary_elu: return x < 0 ? a * (exp(x) - 1) : x;
    case hwt_unary_selu: return x <= 0 ? g * (a * exp(x) - a) : g * x;
    case hwt_unary_softplus: return isinf(x) && x > 0 ? x : x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    case hwt_unary_softsign: return isinf(x) ? copysign(1.0, x) : x / (1 + fabs(x));
    case hwt_unary_erf: return erf(x);
    case hwt_unary_pow: return pow(x, a);
    default: return NAN;
  }
}

/* Each function on the edge values, against the closed form (in float: the closed form rounded to float). */
Test(unary_engine, every_function_with_edges) {
  struct {
    hwt_unary_fn fn;
    float a, g;
  } cases[] = {{hwt_unary_neg, 0, 0},       {hwt_unary_abs, 0, 0},      {hwt_unary_exp, 0, 0},
               {hwt_unary_log, 0, 0},       {hwt_unary_sqrt, 0, 0},     {hwt_unary_reciprocal, 0, 0},
               {hwt_unary_floor, 0, 0},     {hwt_unary_ceil, 0, 0},     {hwt_unary_elu, 0.5f, 0},
               {hwt_unary_elu, 1.0f, 0},    {hwt_unary_selu, (float) SELU_A, (float) SELU_G},
               {hwt_unary_selu, 2.0f, 3.0f}, {hwt_unary_softplus, 0, 0}, {hwt_unary_softsign, 0, 0},
               {hwt_unary_erf, 0, 0},       {hwt_unary_pow, 2.0f, 0},   {hwt_unary_pow, 3.0f, 0},
               {hwt_unary_pow, 0.5f, 0},    {hwt_unary_pow, -1.0f, 0},  {hwt_unary_pow, 0.0f, 0}};
  for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
    hwt_model *m = mk(hwt_layer_unary, NX, 1);
    m->layers[0].fn = cases[t].fn;
    m->layers[0].alpha = cases[t].a;
    m->layers[0].beta = cases[t].g;
    double want[NX];
    for (size_t j = 0; j < NX; j++) want[j] = (float) closed(cases[t].fn, X[j], cases[t].a, cases[t].g);
    char what[64];
    snprintf(what, sizeof(what), "%s(%g, %g)", hwt_unary_fn_name(cases[t].fn), (double) cases[t].a,
             (double) cases[t].g);
    run_expect(m, what, X, NULL, want, NX);
  }
}

/* A few values written out, so that the closed forms above are themselves checked. */
Test(unary_engine, literal_values) {
  struct {
    hwt_unary_fn fn;
    float a, x;
    double want;
  } v[] = {
      {hwt_unary_log, 0, 0.0f, -INFINITY},     {hwt_unary_log, 0, -1.0f, NAN},       {hwt_unary_log, 0, 1.0f, 0.0},
      {hwt_unary_sqrt, 0, -4.0f, NAN},         {hwt_unary_sqrt, 0, 4.0f, 2.0},       {hwt_unary_reciprocal, 0, 0.0f, INFINITY},
      {hwt_unary_reciprocal, 0, -0.0f, -INFINITY}, {hwt_unary_reciprocal, 0, 4.0f, 0.25},
      {hwt_unary_floor, 0, -1.5f, -2.0},       {hwt_unary_ceil, 0, -1.5f, -1.0},     {hwt_unary_exp, 0, -INFINITY, 0.0},
      {hwt_unary_elu, 2.0f, -INFINITY, -2.0},  {hwt_unary_softplus, 0, 0.0f, 0.69314718055994531},
      {hwt_unary_softplus, 0, 100.0f, 100.0},  {hwt_unary_softplus, 0, -INFINITY, 0.0},
      {hwt_unary_softsign, 0, 3.0f, 0.75},     {hwt_unary_softsign, 0, -INFINITY, -1.0},
      {hwt_unary_erf, 0, INFINITY, 1.0},       {hwt_unary_erf, 0, -INFINITY, -1.0},  {hwt_unary_pow, 2.0f, -3.0f, 9.0},
      {hwt_unary_pow, 0.5f, -1.0f, NAN},       {hwt_unary_pow, 0.0f, NAN, 1.0},      {hwt_unary_neg, 0, NAN, NAN},
      {hwt_unary_abs, 0, -INFINITY, INFINITY},
  };
  for (size_t t = 0; t < sizeof(v) / sizeof(v[0]); t++) {
    hwt_model *m = mk(hwt_layer_unary, 1, 1);
    m->layers[0].fn = v[t].fn;
    m->layers[0].alpha = v[t].a;
    double want = v[t].want;
    run_expect(m, hwt_unary_fn_name(v[t].fn), &v[t].x, NULL, &want, 1);
  }
}

static double maxd(double a, double b) { return isnan(a) || isnan(b) ? NAN : a > b ? a : b; }
static double mind(double a, double b) { return isnan(a) || isnan(b) ? NAN : a < b ? a : b; }

/* max / min / prelu with two equal-shape values: NaN in either operand gives NaN (max / min). */
Test(unary_engine, max_min_prelu_two_values) {
  float y[NX];
  for (size_t j = 0; j < NX; j++) y[j] = X[(j * 7 + 3) % NX];
  hwt_layer_type types[] = {hwt_layer_max, hwt_layer_min, hwt_layer_prelu};
  for (size_t t = 0; t < 3; t++) {
    double want[NX];
    for (size_t j = 0; j < NX; j++) {
      double a = X[j], b = y[j];
      want[j] = (float) (t == 0 ? maxd(a, b) : t == 1 ? mind(a, b) : a < 0 ? b * a : a);
    }
    run_expect(mk(types[t], NX, 2), hwt_layer_type_name(types[t]), X, y, want, NX);
  }
}

/* prelu / max / min with a constant operand broadcast per channel, as a scalar and in full; rank-4 input
 * [N, 3, 2, 2] so that the NCHW order is checked. */
Test(unary_engine, constant_operand_broadcasts) {
  hwt_shape shapes[] = {{1, 1, 3}, {1, 1, 1}, {2, 2, 3}};
  hwt_layer_type types[] = {hwt_layer_prelu, hwt_layer_max, hwt_layer_min};
  float x[12];
  for (int j = 0; j < 12; j++) x[j] = (float) (j - 6) * 0.5f; /* NCHW: channel j / 4 */
  for (size_t t = 0; t < 3; t++)
    for (size_t s = 0; s < 3; s++) {
      hwt_model *m = mk(types[t], 12, 1);
      m->input = m->inputs[0].shape = (hwt_shape){2, 2, 3};
      m->inputs[0].rank = 4;
      m->layers[0].rank = 4;
      m->layers[0].wshape = shapes[s];
      size_t nw = hwt_shape_size(shapes[s]);
      m->layers[0].w = hwt_rt_alloc(nw * sizeof(float));
      cr_assert_not_null(m->layers[0].w);
      for (size_t k = 0; k < nw; k++) m->layers[0].w[k] = 0.25f * (float) (k + 1) - 1.0f; /* internal [h][w][c] */
      double want[12];
      for (int j = 0; j < 12; j++) {
        int c = j / 4, hw = j % 4; /* logical [c][h][w] */
        size_t k = nw == 1 ? 0 : nw == 3 ? (size_t) c : (size_t) hw * 3 + (size_t) c;
        double a = x[j], b = m->layers[0].w[k];
        want[j] = (float) (t == 0 ? (a < 0 ? b * a : a) : t == 1 ? maxd(a, b) : mind(a, b));
      }
      run_expect(m, hwt_layer_type_name(types[t]), x, NULL, want, 12);
    }
}

/* log_softmax over channels and over (h, w, c) jointly; NaN and infinities as softmax treats them. */
Test(unary_engine, log_softmax_axes_and_edges) {
  float x[12];
  for (int j = 0; j < 12; j++) x[j] = (float) ((j * 5) % 7) - 3.0f;
  for (int joint = 0; joint < 2; joint++) {
    hwt_model *m = mk(hwt_layer_log_softmax, 12, 1);
    m->input = m->inputs[0].shape = (hwt_shape){1, 4, 3};
    m->layers[0].axes = joint ? (HWT_AXIS_H | HWT_AXIS_W | HWT_AXIS_C) : 0;
    double want[12];
    for (int g = 0; g < (joint ? 1 : 4); g++) {
      int lo = joint ? 0 : g * 3, hi = joint ? 12 : g * 3 + 3;
      double sum = 0;
      for (int j = lo; j < hi; j++) sum += exp(x[j]);
      for (int j = lo; j < hi; j++) want[j] = (float) (x[j] - log(sum));
    }
    run_expect(m, joint ? "log_softmax hwc" : "log_softmax c", x, NULL, want, 12);
  }
  /* groups of 3 channels: a NaN, a +inf, all -inf, a large-number group (no overflow) */
  float e[12] = {1, NAN, 2, 0, INFINITY, 5, -INFINITY, -INFINITY, -INFINITY, 1000, 1001, 1002};
  double l3 = log(1 + exp(1.0) + exp(2.0));
  double w[12] = {NAN, NAN, NAN, -INFINITY, 0, -INFINITY, NAN, NAN, NAN, (float) (-2 - l3 + 2), (float) (-1 - l3 + 2),
                  (float) (-l3 + 2)};
  /* the large group: x - max - log(sum e^(x - max)) = (x - 1002) - log(e^-2 + e^-1 + 1) */
  double ls = log(exp(-2.0) + exp(-1.0) + 1);
  w[9] = (float) (-2 - ls), w[10] = (float) (-1 - ls), w[11] = (float) (-ls);
  hwt_model *m = mk(hwt_layer_log_softmax, 12, 1);
  m->input = m->inputs[0].shape = (hwt_shape){1, 4, 3};
  run_expect(m, "log_softmax edges", e, NULL, w, 12);
}

/* ---- JSON ---- */

static hwt_status load_json(const char *json, const void *bin, size_t binlen, hwt_model **m) {
  err[0] = '\0';
  return hwt_model_load_buffers(json, strlen(json), bin, binlen, "u.json", m, err, sizeof(err));
}

Test(unary_json, names_attributes_round_trip) {
  static const char json[] =
      "{\"schema\": \"hwtune.model/1\", \"name\": \"u\", \"precision\": \"fp32\", \"weights\": \"u.bin\","
      " \"input\": {\"shape\": [2, 2, 3]}, \"layers\": ["
      " {\"name\": \"e\", \"type\": \"unary\", \"fn\": \"elu\", \"alpha\": 0.5},"
      " {\"name\": \"s\", \"type\": \"unary\", \"fn\": \"selu\", \"alpha\": 1.5, \"gamma\": 2},"
      " {\"name\": \"p\", \"type\": \"unary\", \"fn\": \"pow\", \"exponent\": 3},"
      " {\"name\": \"q\", \"type\": \"unary\", \"fn\": \"erf\"},"
      " {\"name\": \"r\", \"type\": \"prelu\", \"const_shape\": [1, 1, 3], \"offset\": 0},"
      " {\"name\": \"mx\", \"type\": \"max\", \"inputs\": [\"r\", \"e\"]},"
      " {\"name\": \"mn\", \"type\": \"min\", \"const_shape\": [1], \"offset\": 12},"
      " {\"name\": \"ls\", \"type\": \"log_softmax\", \"axes\": [\"w\", \"c\"]}]}";
  float bin[4] = {0.1f, 0.2f, 0.3f, 0.75f};
  hwt_model *m = NULL;
  cr_assert_eq(load_json(json, bin, sizeof(bin), &m), hwt_status_ok, "%s", err);
  cr_assert_eq(m->layers[0].type, hwt_layer_unary);
  cr_assert_eq(m->layers[0].fn, hwt_unary_elu);
  cr_assert_eq(m->layers[0].alpha, 0.5f);
  cr_assert_eq(m->layers[1].fn, hwt_unary_selu);
  cr_assert_eq(m->layers[1].alpha, 1.5f);
  cr_assert_eq(m->layers[1].beta, 2.0f);
  cr_assert_eq(m->layers[2].fn, hwt_unary_pow);
  cr_assert_eq(m->layers[2].alpha, 3.0f);
  cr_assert_eq(m->layers[3].fn, hwt_unary_erf);
  cr_assert_eq(m->layers[4].type, hwt_layer_prelu);
  cr_assert_eq(m->layers[4].w[2], 0.3f);
  cr_assert_eq(m->layers[5].type, hwt_layer_max);
  cr_assert_eq(m->layers[5].inputs[1], 0);
  cr_assert_eq(m->layers[6].type, hwt_layer_min);
  cr_assert_eq(m->layers[6].w[0], 0.75f);
  cr_assert_eq(m->layers[7].type, hwt_layer_log_softmax);
  cr_assert_eq(m->layers[7].axes, HWT_AXIS_W | HWT_AXIS_C);
  char path[] = "/tmp/hwt_unary_XXXXXX";
  cr_assert_not_null(mkdtemp(path));
  char jp[128];
  snprintf(jp, sizeof(jp), "%s/u.json", path);
  cr_assert_eq(hwt_model_save(m, jp, err, sizeof(err)), hwt_status_ok, "%s", err);
  hwt_model *r = NULL;
  cr_assert_eq(hwt_model_load(jp, &r, err, sizeof(err)), hwt_status_ok, "%s", err);
  cr_assert_eq(r->nlayers, m->nlayers);
  for (size_t i = 0; i < m->nlayers; i++) {
    cr_assert_eq(r->layers[i].type, m->layers[i].type, "layer %zu", i);
    cr_assert_eq(r->layers[i].fn, m->layers[i].fn, "layer %zu", i);
    cr_assert_eq(r->layers[i].alpha, m->layers[i].alpha, "layer %zu", i);
    cr_assert_eq(r->layers[i].beta, m->layers[i].beta, "layer %zu", i);
    cr_assert_eq(r->layers[i].axes, m->layers[i].axes, "layer %zu", i);
    cr_assert_eq(r->layers[i].nin, m->layers[i].nin, "layer %zu", i);
  }
  cr_assert_eq(r->layers[6].w[0], 0.75f);
  hwt_model_free(r);
  hwt_model_free(m);
  char bp[128];
  snprintf(bp, sizeof(bp), "%s/u.bin", path);
  remove(jp), remove(bp), remove(path);
}

Test(unary_json, refusals) {
  struct {
    const char *layer, *what;
  } bad[] = {
      {"{\"name\": \"a\", \"type\": \"unary\"}", "field 'fn' must name the function"},
      {"{\"name\": \"a\", \"type\": \"unary\", \"fn\": \"cosh\"}", "field 'fn' must name the function"},
      {"{\"name\": \"a\", \"type\": \"relu\", \"fn\": \"exp\"}", "'fn'"},
      {"{\"name\": \"a\", \"type\": \"unary\", \"fn\": \"exp\", \"alpha\": 1}", "'alpha'"},
      {"{\"name\": \"a\", \"type\": \"unary\", \"fn\": \"elu\", \"gamma\": 1}", "'gamma'"},
      {"{\"name\": \"a\", \"type\": \"unary\", \"fn\": \"pow\"}", "missing field 'exponent'"},
      {"{\"name\": \"a\", \"type\": \"max\"}", "a binary layer reads"},
      {"{\"name\": \"a\", \"type\": \"prelu\", \"const_shape\": [5], \"offset\": 0}", "does not broadcast"},
      {"{\"name\": \"a\", \"type\": \"log_softmax\", \"axes\": [\"n\"]}", "field 'axes'"},
  };
  float bin[5] = {0};
  for (size_t t = 0; t < sizeof(bad) / sizeof(bad[0]); t++) {
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"schema\": \"hwtune.model/1\", \"name\": \"u\", \"precision\": \"fp32\", \"weights\": \"u.bin\","
             " \"input\": {\"shape\": [2, 2, 3]}, \"layers\": [%s]}", bad[t].layer);
    hwt_model *m = NULL;
    size_t blen = strstr(bad[t].layer, "offset") ? sizeof(bin) : 0;
    cr_assert_neq(load_json(json, bin, blen, &m), hwt_status_ok, "accepted: %s", bad[t].layer);
    cr_assert_null(m);
    cr_assert(strstr(err, bad[t].what) != NULL, "'%s' lacks '%s'", err, bad[t].what);
  }
}

Test(unary_json, type_and_function_names) {
  cr_assert_str_eq(hwt_layer_type_name(hwt_layer_unary), "unary");
  cr_assert_str_eq(hwt_layer_type_name(hwt_layer_log_softmax), "log_softmax");
  cr_assert_str_eq(hwt_unary_fn_name(hwt_unary_reciprocal), "reciprocal");
  cr_assert_str_eq(hwt_unary_fn_name(hwt_unary_pow), "pow");
  cr_assert_str_eq(hwt_unary_fn_name(hwt_unary_fn_count), "unknown");
  cr_assert(!hwt_layer_type_q8_capable(hwt_layer_unary));
  cr_assert(!hwt_layer_type_q8_capable(hwt_layer_max));
}

/* ---- int8 models: the new nodes stay float between int8 convolutions ---- */

Test(unary_engine, quantized_model_converts_around_float_nodes) {
  hwt_model *m = hwt_rt_calloc(1, sizeof(*m));
  cr_assert_not_null(m);
  m->nlayers = 6;
  m->layers = hwt_rt_calloc(m->nlayers, sizeof(hwt_layer));
  cr_assert_not_null(m->layers);
  snprintf(m->name, sizeof(m->name), "q");
  m->input = (hwt_shape){4, 4, 3};
  hwt_layer *L = m->layers;
  const char *names[6] = {"c1", "pr", "ss", "mx", "c2", "ls"};
  for (int i = 0; i < 6; i++) snprintf(L[i].name, sizeof(L[i].name), "%s", names[i]);
  L[0].type = hwt_layer_conv, L[0].outputs = 4, L[0].kh = L[0].kw = 3, L[0].sh = L[0].sw = 1;
  L[0].pad_t = L[0].pad_b = L[0].pad_l = L[0].pad_r = 1;
  L[0].w = hwt_rt_alloc(4 * 9 * 3 * sizeof(float));
  L[0].b = hwt_rt_alloc(4 * sizeof(float));
  cr_assert(L[0].w && L[0].b);
  for (int k = 0; k < 108; k++) L[0].w[k] = (float) ((k * 7) % 11 - 5) / 16.0f;
  for (int k = 0; k < 4; k++) L[0].b[k] = 0.1f * (float) k - 0.15f;
  L[1].type = hwt_layer_prelu, L[1].nin = 1, L[1].inputs[0] = 0, L[1].wshape = (hwt_shape){1, 1, 4};
  L[1].w = hwt_rt_alloc(4 * sizeof(float));
  cr_assert_not_null(L[1].w);
  for (int k = 0; k < 4; k++) L[1].w[k] = 0.1f * (float) (k + 1);
  L[2].type = hwt_layer_unary, L[2].fn = hwt_unary_softsign, L[2].nin = 1, L[2].inputs[0] = 1;
  L[3].type = hwt_layer_max, L[3].nin = 2, L[3].inputs[0] = 1, L[3].inputs[1] = 2;
  L[4].type = hwt_layer_conv, L[4].outputs = 5, L[4].kh = L[4].kw = 1, L[4].sh = L[4].sw = 1, L[4].nin = 1;
  L[4].inputs[0] = 3;
  L[4].w = hwt_rt_alloc(5 * 4 * sizeof(float));
  L[4].b = hwt_rt_alloc(5 * sizeof(float));
  cr_assert(L[4].w && L[4].b);
  for (int k = 0; k < 20; k++) L[4].w[k] = (float) ((k * 5) % 9 - 4) / 4.0f;
  for (int k = 0; k < 5; k++) L[4].b[k] = 0.05f * (float) k;
  L[5].type = hwt_layer_log_softmax, L[5].nin = 1, L[5].inputs[0] = 4;
  finalize(m);
  size_t n = hwt_shape_size(m->input), no = hwt_shape_size(L[5].out);
  float cal[8 * 48];
  for (size_t j = 0; j < 8 * n; j++) cal[j] = (float) ((j * 13) % 17) / 17.0f;
  hwt_model *q = NULL;
  err[0] = '\0';
  cr_assert_eq(hwt_model_quantize(m, cal, 8, &q, err, sizeof(err)), hwt_status_ok, "%s", err);
  cr_assert(q->layers[0].q8 && q->layers[4].q8, "the convolutions are int8");
  for (int i = 1; i <= 3; i++) cr_assert(!q->layers[i].q8, "node %d stays float", i);
  cr_assert(!q->layers[5].q8);
  cr_assert_eq(q->layers[1].w[3], 0.4f, "the constant slope is kept");
  float want[80], got[80];
  cr_assert_eq(hwt_model_reference(m, 1, cal, want, NULL), hwt_status_ok);
  hwt_engine *e = NULL;
  hwt_engine_options opt = {0};
  cr_assert_eq(hwt_engine_create(q, 1, &opt, &e, err, sizeof(err)), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_engine_run(e, cal, got, NULL), hwt_status_ok);
  for (size_t j = 0; j < no; j++)
    cr_assert(fabsf(got[j] - want[j]) < 0.1f, "[%zu]: int8 %g, float %g", j, (double) got[j], (double) want[j]);
  hwt_engine_destroy(e);
  hwt_model_free(q);
  hwt_model_free(m);
}
