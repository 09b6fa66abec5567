/* SPDX-License-Identifier: Apache-2.0 */
/* The importer's mapping of ONNX's elementwise operators (Neg ... Erf, Elu / Selu attributes and defaults, Pow
 * by a constant scalar, PRelu / Max / Min with values and constants, LogSoftmax per opset) on the models
 * tests/fixtures/onnx/make_unary_fixtures.py writes, their refusals, and an imported graph run through the
 * engine against closed-form values; the exporter's forms of the new node types, imported back. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnx.h"

#define FIX HWTUNE_FIXTURES "/onnx/unary_"

static char err[4096];

static hwt_model *load(const char *name) {
  hwt_model *m = NULL;
  err[0] = '\0';
  hwt_status st = hwt_onnx_import(name, NULL, &m, err, sizeof err);
  cr_assert_eq(st, hwt_status_ok, "%s: %s", name, err);
  cr_assert_not_null(m);
  return m;
}

static void refused(const char *name, const char *what) {
  hwt_model *m = NULL;
  err[0] = '\0';
  cr_assert_neq(hwt_onnx_import(name, NULL, &m, err, sizeof err), hwt_status_ok, "%s was accepted", name);
  cr_assert_null(m);
  cr_assert(strstr(err, what) != NULL, "message '%s' lacks '%s'", err, what);
}

Test(unary_import, every_function_and_attribute) {
  hwt_model *m = load(FIX "chain.onnx");
  hwt_unary_fn want[] = {hwt_unary_neg,  hwt_unary_abs,  hwt_unary_exp,      hwt_unary_log,      hwt_unary_sqrt,
                         hwt_unary_reciprocal, hwt_unary_floor, hwt_unary_ceil, hwt_unary_elu, hwt_unary_selu,
                         hwt_unary_softplus, hwt_unary_softsign, hwt_unary_erf, hwt_unary_elu, hwt_unary_selu,
                         hwt_unary_pow};
  size_t n = sizeof(want) / sizeof(want[0]);
  cr_assert_eq(m->nlayers, n + 1);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(m->layers[i].type, hwt_layer_unary, "node %zu", i);
    cr_assert_eq(m->layers[i].fn, want[i], "node %zu: %s", i, hwt_unary_fn_name(m->layers[i].fn));
    cr_assert_eq(m->layers[i].inputs[0], i == 0 ? HWT_INPUT_ID(0) : (int) i - 1);
    cr_assert_eq(m->layers[i].rank, 4);
  }
  cr_assert_eq(m->layers[8].alpha, 0.5f);
  cr_assert_eq(m->layers[9].alpha, 1.5f);
  cr_assert_eq(m->layers[9].beta, 2.0f);
  cr_assert_eq(m->layers[13].alpha, 1.0f, "Elu's default alpha");
  cr_assert_eq(m->layers[14].alpha, 1.67326319217681884765625f, "Selu's default alpha");
  cr_assert_eq(m->layers[14].beta, 1.05070102214813232421875f, "Selu's default gamma");
  cr_assert_eq(m->layers[15].alpha, 3.0f, "Pow's exponent");
  cr_assert_eq(m->layers[16].type, hwt_layer_log_softmax);
  cr_assert_eq(m->layers[16].axes, HWT_AXIS_W, "opset 13: axis -1 = W of [N, C, H, W]");
  hwt_model_free(m);
}

Test(unary_import, prelu_max_min_constants_and_values) {
  hwt_model *m = load(FIX "binary.onnx");
  cr_assert_eq(m->nlayers, 3);
  hwt_layer *p = &m->layers[0], *mx = &m->layers[1], *mn = &m->layers[2];
  cr_assert_eq(p->type, hwt_layer_prelu);
  cr_assert_eq(p->nin, 1);
  cr_assert(p->wshape.h == 1 && p->wshape.w == 1 && p->wshape.c == 3, "slope [3, 1, 1] is per channel");
  cr_assert(p->w[0] == 0.1f && p->w[1] == 0.2f && p->w[2] == 0.3f);
  cr_assert(!p->const_first);
  cr_assert_eq(mx->type, hwt_layer_max);
  cr_assert_eq(mx->nin, 2);
  cr_assert(mx->inputs[0] == 0 && mx->inputs[1] == HWT_INPUT_ID(0));
  cr_assert_eq(mn->type, hwt_layer_min);
  cr_assert_eq(mn->nin, 1);
  cr_assert_eq(mn->w[0], 0.5f);
  cr_assert(!mn->const_first, "Min is commutative: the constant first needs no flag");

  /* the imported graph on the engine: min(0.5, max(prelu(x), x)) in NCHW */
  enum { B = 2, N = 12 };
  float x[B * N], y[B * N];
  for (int j = 0; j < B * N; j++) x[j] = (float) (j % N - 6) * 0.25f + (j >= N ? 0.125f : 0);
  hwt_engine *e = NULL;
  hwt_engine_options opt = {0};
  opt.threads = 1;
  cr_assert_eq(hwt_engine_create(m, B, &opt, &e, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_engine_run(e, x, y, NULL), hwt_status_ok);
  for (int j = 0; j < B * N; j++) {
    double v = x[j], s = 0.1 * (1 + (j % N) / 4), pr = v < 0 ? s * v : v, want = fmin(0.5, fmax(pr, v));
    cr_assert(fabs(y[j] - want) <= 1e-6, "[%d]: %g, want %g", j, (double) y[j], want);
  }
  hwt_engine_destroy(e);
  hwt_model_free(m);
}

Test(unary_import, opset11_prelu_scalar_max_one_input_logsoftmax_coerced) {
  hwt_model *m = load(FIX "opset11.onnx");
  cr_assert_eq(m->layers[0].type, hwt_layer_prelu);
  cr_assert(m->layers[0].wshape.h == 1 && m->layers[0].wshape.w == 1 && m->layers[0].wshape.c == 1);
  cr_assert_eq(m->layers[0].w[0], 0.25f);
  hwt_layer *ls = &m->layers[m->nlayers - 1];
  cr_assert_eq(ls->type, hwt_layer_log_softmax);
  cr_assert_eq(ls->axes, HWT_AXIS_C | HWT_AXIS_H | HWT_AXIS_W, "opset < 13: every axis from 1");
  cr_assert_eq(ls->inputs[0], 0, "Max of one input is the value itself");
  hwt_model_free(m);
  m = load(FIX "prelu_opset6.onnx");
  cr_assert_eq(m->layers[0].type, hwt_layer_prelu);
  cr_assert(m->layers[0].wshape.h == 1 && m->layers[0].wshape.w == 1 && m->layers[0].wshape.c == 3,
            "opset 6: a slope [C] is per channel");
  cr_assert_eq(m->layers[0].w[2], 0.3f);
  hwt_model_free(m);
  m = load(FIX "pow_int_exponent.onnx");
  cr_assert_eq(m->layers[0].type, hwt_layer_unary);
  cr_assert_eq(m->layers[0].fn, hwt_unary_pow);
  cr_assert_eq(m->layers[0].alpha, 2.0f, "an int64 exponent");
  hwt_model_free(m);
}

Test(unary_import, variadic_max_min_chained) {
  hwt_model *m = load(FIX "variadic.onnx");
  cr_assert_eq(m->nlayers, 5);
  hwt_layer_type t[] = {hwt_layer_max, hwt_layer_max, hwt_layer_min, hwt_layer_min, hwt_layer_min};
  int in0[] = {HWT_INPUT_ID(0), 0, 1, 2, 3}, in1[] = {HWT_INPUT_ID(1), HWT_INPUT_ID(2), HWT_INPUT_ID(0),
                                                      HWT_INPUT_ID(1), HWT_INPUT_ID(2)};
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(m->layers[i].type, t[i], "node %d", i);
    cr_assert_eq(m->layers[i].nin, 2);
    cr_assert(m->layers[i].inputs[0] == in0[i] && m->layers[i].inputs[1] == in1[i], "node %d inputs", i);
  }
  cr_assert_eq(m->outputs[0].value, 4);
  /* min(max(x, a, b), x, a, b) = min(x, a, b) */
  float x[6] = {1, -2, NAN, 4, 0.5f, -1}, a[6] = {0, 3, 1, -4, 0.25f, -1.5f}, b[6] = {2, 2, 2, 2, 2, 2}, y[6];
  const float *ins[3] = {x, a, b};
  float *outs[1] = {y};
  hwt_engine *e = NULL;
  hwt_engine_options opt = {0};
  cr_assert_eq(hwt_engine_create(m, 2, &opt, &e, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_engine_run_io(e, ins, outs, NULL), hwt_status_ok);
  for (int j = 0; j < 6; j++) {
    if (j == 2) {
      cr_assert(isnan(y[j]), "NaN propagates through max and min");
      continue;
    }
    float want = fminf(x[j], fminf(a[j], b[j]));
    cr_assert_eq(y[j], want, "[%d]: %g, want %g", j, (double) y[j], (double) want);
  }
  hwt_engine_destroy(e);
  hwt_model_free(m);
}

Test(unary_import, refusals) {
  refused(FIX "bad_pow_tensor.onnx", "exponent Y must be a scalar (has 3 values)");
  refused(FIX "bad_min3_const.onnx", "(Min): input 2 'c' is a constant");
  refused(FIX "bad_logsoftmax_axis0.onnx", "(LogSoftmax): axis 0 includes the batch dimension");
}

Test(unary_import, supported_list) {
  const char *s = hwt_onnx_supported_ops();
  const char *ops[] = {"Abs", "Ceil", "Elu", "Erf", "Exp", "Floor", "Log", "LogSoftmax", "Max", "Min", "Neg",
                       "Pow", "PRelu", "Reciprocal", "Selu", "Softplus", "Softsign", "Sqrt"};
  for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
    char needle[32];
    snprintf(needle, sizeof needle, " %s,", ops[i]);
    bool last = strlen(s) >= strlen(ops[i]) && strcmp(s + strlen(s) - strlen(ops[i]), ops[i]) == 0;
    cr_assert(strstr(s, needle) != NULL || last, "%s missing from '%s'", ops[i], s);
  }
}

/* ---- export: every new node type writes an ONNX form that imports back to the same node ---- */

static hwt_model *mk_model(size_t n) {
  hwt_model *m = hwt_rt_calloc(1, sizeof(*m));
  cr_assert_not_null(m);
  m->layers = hwt_rt_calloc(n, sizeof(hwt_layer));
  cr_assert_not_null(m->layers);
  m->nlayers = n;
  snprintf(m->name, sizeof(m->name), "x");
  m->input = (hwt_shape){2, 2, 3};
  m->ninputs = 1;
  m->inputs[0].shape = m->input;
  m->inputs[0].rank = 4;
  snprintf(m->inputs[0].name, sizeof(m->inputs[0].name), "x");
  for (size_t i = 0; i < n; i++) {
    snprintf(m->layers[i].name, sizeof(m->layers[i].name), "n%zu", i);
    m->layers[i].rank = 4;
    m->layers[i].nin = 1;
    m->layers[i].inputs[0] = i ? (int) i - 1 : HWT_INPUT_ID(0);
  }
  return m;
}

/* Exports m, imports it back, checks the node types / functions / parameters and the engine's outputs. */
static void round_trip(hwt_model *m) {
  err[0] = '\0';
  cr_assert_eq(hwt_model_finalize(m, "x", err, sizeof err), hwt_status_ok, "%s", err);
  char path[] = "/tmp/hwt_unary_export_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  cr_assert_eq(hwt_onnx_export(m, path, err, sizeof err), hwt_status_ok, "%s", err);
  hwt_model *r = load(path);
  remove(path);
  cr_assert_eq(r->nlayers, m->nlayers);
  for (size_t i = 0; i < m->nlayers; i++) {
    const hwt_layer *a = &m->layers[i], *b = &r->layers[i];
    cr_assert_eq(b->type, a->type, "node %zu: %s", i, hwt_layer_type_name(b->type));
    cr_assert_eq(b->fn, a->fn, "node %zu", i);
    cr_assert_eq(b->alpha, a->alpha, "node %zu", i);
    cr_assert_eq(b->beta, a->beta, "node %zu", i);
    cr_assert_eq(b->nin, a->nin, "node %zu", i);
    cr_assert_eq(b->axes ? b->axes : HWT_AXIS_C, a->axes ? a->axes : HWT_AXIS_C, "node %zu", i);
  }
  float x[24], y1[24], y2[24];
  for (int j = 0; j < 24; j++) x[j] = (float) (j % 12 - 5) * 0.375f;
  hwt_engine *e1 = NULL, *e2 = NULL;
  hwt_engine_options opt = {0};
  cr_assert_eq(hwt_engine_create(m, 2, &opt, &e1, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_engine_create(r, 2, &opt, &e2, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_engine_run(e1, x, y1, NULL), hwt_status_ok);
  cr_assert_eq(hwt_engine_run(e2, x, y2, NULL), hwt_status_ok);
  for (int j = 0; j < 24; j++)
    cr_assert((isnan(y1[j]) && isnan(y2[j])) || y1[j] == y2[j], "[%d]: %g vs %g", j, (double) y1[j], (double) y2[j]);
  hwt_engine_destroy(e1);
  hwt_engine_destroy(e2);
  hwt_model_free(r);
  hwt_model_free(m);
}

Test(unary_export, every_function_round_trips) {
  for (int f = 0; f < hwt_unary_fn_count; f++) {
    hwt_model *m = mk_model(1);
    m->layers[0].type = hwt_layer_unary;
    m->layers[0].fn = (hwt_unary_fn) f;
    if (f == hwt_unary_elu || f == hwt_unary_selu || f == hwt_unary_pow) m->layers[0].alpha = 1.5f;
    if (f == hwt_unary_selu) m->layers[0].beta = 2.5f;
    round_trip(m);
  }
}

Test(unary_export, prelu_max_min_log_softmax_round_trip) {
  hwt_model *m = mk_model(4);
  hwt_layer *L = m->layers;
  L[0].type = hwt_layer_prelu, L[0].wshape = (hwt_shape){1, 1, 3};
  L[0].w = hwt_rt_alloc(3 * sizeof(float));
  cr_assert_not_null(L[0].w);
  L[0].w[0] = 0.1f, L[0].w[1] = 0.2f, L[0].w[2] = 0.3f;
  L[1].type = hwt_layer_max, L[1].nin = 2, L[1].inputs[1] = HWT_INPUT_ID(0);
  L[2].type = hwt_layer_min, L[2].wshape = (hwt_shape){1, 1, 1};
  L[2].w = hwt_rt_alloc(sizeof(float));
  cr_assert_not_null(L[2].w);
  L[2].w[0] = 0.5f;
  L[3].type = hwt_layer_log_softmax;
  round_trip(m);
}

/* `hwtune model` names a unary node's function in its op column. */
Test(unary_import, model_command_shows_the_function) {
  FILE *p = popen(HWTUNE_BINARY " model " FIX "chain.onnx --profile none 2>&1", "r");
  cr_assert_not_null(p);
  char buf[16384];
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  buf[n] = '\0';
  cr_assert_eq(pclose(p), 0, "%s", buf);
  cr_assert(strstr(buf, "unary reciprocal") != NULL, "%s", buf);
  cr_assert(strstr(buf, "unary pow") != NULL, "%s", buf);
  cr_assert(strstr(buf, "log_softmax") != NULL, "%s", buf);
}
