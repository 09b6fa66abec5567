/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON format over the graph: a model with every node type, several graph inputs and outputs survives save
 * and load field for field and byte for byte; the sequential fixtures load as before and save identically. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "onnx.h"
#include "onnx.pb-c.h"

#define FIX HWTUNE_FIXTURES "/models/"

static float *fparams(size_t n, float base) {
  float *p = hwt_rt_alloc(n * sizeof(float));
  cr_assert_not_null(p);
  for (size_t k = 0; k < n; k++) p[k] = base + 0.01f * (float) k;
  return p;
}

static hwt_layer *add_node(hwt_model *m, const char *name, hwt_layer_type t, int nin, const int *inputs) {
  hwt_layer *l = &m->layers[m->nlayers++];
  snprintf(l->name, sizeof(l->name), "%s", name);
  l->type = t;
  l->nin = nin;
  for (int k = 0; k < nin; k++) l->inputs[k] = inputs[k];
  return l;
}

#define IN(...) (sizeof((int[]){__VA_ARGS__}) / sizeof(int)), ((int[]){__VA_ARGS__})

/* Every node type; two graph inputs, two graph outputs. */
static hwt_model *every_type(void) {
  hwt_model *m = hwt_rt_calloc(1, sizeof(*m));
  cr_assert_not_null(m);
  m->layers = hwt_rt_calloc(32, sizeof(hwt_layer));
  cr_assert_not_null(m->layers);
  snprintf(m->name, sizeof(m->name), "every");
  snprintf(m->source, sizeof(m->source), "test");
  m->fixed_batch = 3;
  m->ninputs = 2;
  m->inputs[0] = (hwt_graph_io){.name = "x", .shape = {6, 6, 4}, .rank = 4};
  m->inputs[1] = (hwt_graph_io){.name = "extra", .shape = {1, 1, 5}, .rank = 2};
  hwt_layer *l = add_node(m, "c0", hwt_layer_conv, IN(HWT_INPUT_ID(0)));
  l->outputs = 8, l->kh = l->kw = 3, l->sh = l->sw = 1, l->pad_t = l->pad_r = l->pad_b = l->pad_l = 1;
  l->groups = 2, l->act = hwt_act_clip, l->act_lo = -1.5f, l->act_hi = INFINITY, l->rank = 4;
  l->w = fparams(8 * 3 * 3 * 2, -0.3f), l->b = fparams(8, 0.1f);
  snprintf(l->fused, sizeof(l->fused), "BatchNormalization 'bn0'");
  l = add_node(m, "dw", hwt_layer_dwconv, IN(0));
  l->kh = l->kw = 3, l->sh = 1, l->sw = 1, l->pad_t = l->pad_r = l->pad_b = l->pad_l = 2, l->dh = l->dw = 2;
  l->act = hwt_act_relu6, l->w = fparams(9 * 8, 0.2f), l->b = fparams(8, 0);
  add_node(m, "r", hwt_layer_relu, IN(1));
  add_node(m, "r6", hwt_layer_relu6, IN(2));
  l = add_node(m, "mp", hwt_layer_maxpool, IN(3));
  l->kh = l->kw = 2, l->sh = l->sw = 2, l->ceil_mode = true;
  l = add_node(m, "ap", hwt_layer_avgpool, IN(4));
  l->kh = l->kw = 2, l->sh = l->sw = 1, l->pad_t = l->pad_r = l->pad_b = l->pad_l = 1, l->count_include_pad = true;
  l->ceil_mode = true;
  add_node(m, "g", hwt_layer_gavgpool, IN(5));
  l = add_node(m, "sm", hwt_layer_softmax, IN(6));
  l->axes = HWT_AXIS_C | HWT_AXIS_H, l->rank = 2;
  add_node(m, "a1", hwt_layer_add, IN(2, 3));                                  /* 8 */
  l = add_node(m, "s1", hwt_layer_sub, IN(8));
  l->wshape = (hwt_shape){1, 1, 8}, l->w = fparams(8, 1), l->const_first = true;
  add_node(m, "mu", hwt_layer_mul, IN(9, 6));                                  /* 10: per-channel broadcast */
  l = add_node(m, "dv", hwt_layer_div, IN(10));
  l->wshape = (hwt_shape){1, 1, 1}, l->w = fparams(1, 2);
  l = add_node(m, "cl", hwt_layer_clip, IN(11));
  l->alpha = 0, l->beta = INFINITY;
  l = add_node(m, "lr", hwt_layer_leaky_relu, IN(12));
  l->alpha = 0.1f;
  add_node(m, "sg", hwt_layer_sigmoid, IN(13));
  l = add_node(m, "hs", hwt_layer_hard_sigmoid, IN(14));
  l->alpha = 0.25f, l->beta = 0.4f;
  add_node(m, "hw", hwt_layer_hard_swish, IN(15));
  add_node(m, "th", hwt_layer_tanh, IN(16));                                   /* 17 */
  l = add_node(m, "af", hwt_layer_affine, IN(17));
  l->w = fparams(8, 0.5f), l->b = fparams(8, -0.5f);
  add_node(m, "cc", hwt_layer_concat, IN(18, 17, HWT_INPUT_ID(0)));            /* 19: 20 channels */
  l = add_node(m, "rs", hwt_layer_reshape, IN(19));
  l->out = (hwt_shape){1, 1, 720}, l->rank = 2;
  add_node(m, "id", hwt_layer_identity, IN(20));
  l = add_node(m, "fc", hwt_layer_fc, IN(21));
  l->outputs = 5, l->w = fparams(5 * 720, -1), l->b = fparams(5, 0.3f), l->rank = 2;
  l = add_node(m, "q", hwt_layer_quantize, IN(22));
  l->q8 = true, l->oq = (hwt_qparams){0.0625f, -7}, l->rank = 2;
  l = add_node(m, "dq", hwt_layer_dequantize, IN(23));
  l->rank = 2;
  l = add_node(m, "a2", hwt_layer_add, IN(24, HWT_INPUT_ID(1)));
  l->rank = 2, l->oq = (hwt_qparams){0.5f, 3}; /* calibrated float node */
  m->noutputs = 2;
  m->outputs[0] = (hwt_graph_io){.name = "logits", .value = 25};
  m->outputs[1] = (hwt_graph_io){.name = "probs", .value = 7};
  char err[1024] = "";
  cr_assert_eq(hwt_model_finalize(m, "every", err, sizeof err), hwt_status_ok, "%s", err);
  return m;
}

static void same_floats(const float *a, const float *b, size_t n, const char *what, size_t i) {
  cr_assert((a == NULL) == (b == NULL) || n == 0, "node %zu: %s present in one model only", i, what);
  if (n && a) cr_assert(memcmp(a, b, n * sizeof(float)) == 0, "node %zu: %s differ", i, what);
}

static void same_model(const hwt_model *a, const hwt_model *b) {
  cr_assert_str_eq(a->name, b->name);
  cr_assert_eq(a->precision, b->precision);
  cr_assert_eq(a->fixed_batch, b->fixed_batch);
  cr_assert_eq(a->ninputs, b->ninputs);
  cr_assert_eq(a->noutputs, b->noutputs);
  for (size_t k = 0; k < a->ninputs; k++) {
    const hwt_graph_io *x = &a->inputs[k], *y = &b->inputs[k];
    cr_assert_str_eq(x->name, y->name);
    cr_assert(x->value == y->value && x->rank == y->rank && x->q8 == y->q8, "input %zu", k);
    cr_assert(x->shape.h == y->shape.h && x->shape.w == y->shape.w && x->shape.c == y->shape.c, "input %zu", k);
    if (x->q8) cr_assert(x->q.scale == y->q.scale && x->q.zero_point == y->q.zero_point, "input %zu quant", k);
  }
  for (size_t k = 0; k < a->noutputs; k++) {
    cr_assert_str_eq(a->outputs[k].name, b->outputs[k].name);
    cr_assert_eq(a->outputs[k].value, b->outputs[k].value);
    cr_assert_eq(a->outputs[k].rank, b->outputs[k].rank);
  }
  cr_assert_eq(a->nlayers, b->nlayers);
  for (size_t i = 0; i < a->nlayers; i++) {
    const hwt_layer *x = &a->layers[i], *y = &b->layers[i];
    cr_assert_str_eq(x->name, y->name);
    cr_assert_eq(x->type, y->type, "node %zu type", i);
    cr_assert_eq(x->act, y->act, "node %zu act", i);
    if (x->act == hwt_act_clip)
      cr_assert(x->act_lo == y->act_lo && x->act_hi == y->act_hi, "node %zu act bounds", i);
    cr_assert(x->kh == y->kh && x->kw == y->kw && x->sh == y->sh && x->sw == y->sw, "node %zu window", i);
    cr_assert((x->dh > 1 ? x->dh : 1) == (y->dh > 1 ? y->dh : 1) && (x->dw > 1 ? x->dw : 1) == (y->dw > 1 ? y->dw : 1),
              "node %zu dilation", i);
    cr_assert((x->groups > 1 ? x->groups : 1) == (y->groups > 1 ? y->groups : 1), "node %zu groups", i);
    cr_assert(x->pad_t == y->pad_t && x->pad_r == y->pad_r && x->pad_b == y->pad_b && x->pad_l == y->pad_l,
              "node %zu padding", i);
    cr_assert(x->ceil_mode == y->ceil_mode && x->count_include_pad == y->count_include_pad, "node %zu pool flags", i);
    cr_assert_eq(x->const_first, y->const_first, "node %zu const_first", i);
    cr_assert_eq(x->axes, y->axes, "node %zu axes", i);
    cr_assert_eq(x->rank, y->rank, "node %zu rank", i);
    if (x->type == hwt_layer_clip || x->type == hwt_layer_leaky_relu || x->type == hwt_layer_hard_sigmoid)
      cr_assert(x->alpha == y->alpha && (x->type == hwt_layer_leaky_relu || x->beta == y->beta), "node %zu alpha, beta",
                i);
    cr_assert_eq(x->outputs, y->outputs, "node %zu outputs", i);
    cr_assert_eq(x->nin, y->nin, "node %zu nin", i);
    for (int k = 0; k < x->nin; k++) cr_assert_eq(x->inputs[k], y->inputs[k], "node %zu input %d", i, k);
    cr_assert(x->in.h == y->in.h && x->in.w == y->in.w && x->in.c == y->in.c, "node %zu in", i);
    cr_assert(x->out.h == y->out.h && x->out.w == y->out.w && x->out.c == y->out.c, "node %zu out", i);
    cr_assert(x->wshape.h == y->wshape.h && x->wshape.w == y->wshape.w && x->wshape.c == y->wshape.c, "node %zu", i);
    cr_assert_eq(x->q8, y->q8, "node %zu q8", i);
    cr_assert(x->oq.scale == y->oq.scale && x->oq.zero_point == y->oq.zero_point, "node %zu oq", i);
    cr_assert_str_eq(x->fused, y->fused);
    size_t nw = hwt_layer_weight_count(x), nb = hwt_layer_bias_count(x);
    cr_assert_eq(nw, hwt_layer_weight_count(y));
    same_floats(x->w, y->w, nw, "weights", i);
    same_floats(x->b, y->b, nb, "biases", i);
    cr_assert((x->wq == NULL) == (y->wq == NULL), "node %zu int8 weights", i);
    if (x->wq) {
      cr_assert(memcmp(x->wq, y->wq, nw) == 0 && memcmp(x->bq, y->bq, nb * 4) == 0, "node %zu int8 params", i);
      same_floats(x->wscale, y->wscale, nb, "weight scales", i);
    }
  }
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t) n + 1);
  cr_assert_not_null(b);
  cr_assert_eq(fread(b, 1, (size_t) n, f), (size_t) n);
  b[n] = '\0';
  fclose(f);
  *len = (size_t) n;
  return b;
}

static void same_file(const char *a, const char *b) {
  size_t la, lb;
  char *x = slurp(a, &la), *y = slurp(b, &lb);
  cr_assert(la == lb && memcmp(x, y, la) == 0, "%s and %s differ", a, b);
  free(x);
  free(y);
}

typedef struct tmpdir {
  char dir[64], a[96], b[96], abin[96], bbin[96];
} tmpdir;

static tmpdir tmp_make(void) {
  tmpdir t;
  snprintf(t.dir, sizeof t.dir, "/tmp/hwt_json_XXXXXX");
  cr_assert_not_null(mkdtemp(t.dir));
  snprintf(t.a, sizeof t.a, "%s/a.json", t.dir);
  snprintf(t.b, sizeof t.b, "%s/b.json", t.dir);
  snprintf(t.abin, sizeof t.abin, "%s/a.bin", t.dir);
  snprintf(t.bbin, sizeof t.bbin, "%s/b.bin", t.dir);
  return t;
}

static void tmp_remove(tmpdir *t) {
  unlink(t->a);
  unlink(t->b);
  unlink(t->abin);
  unlink(t->bbin);
  rmdir(t->dir);
}

/* save(m) -> load -> equal to m; save again -> the same bytes (but the weights file name). */
static void round_trip(hwt_model *m) {
  tmpdir t = tmp_make();
  char err[1024] = "";
  cr_assert_eq(hwt_model_save(m, t.a, err, sizeof err), hwt_status_ok, "%s", err);
  hwt_model *r = NULL;
  cr_assert_eq(hwt_model_load(t.a, &r, err, sizeof err), hwt_status_ok, "%s", err);
  same_model(m, r);
  cr_assert_eq(hwt_model_save(r, t.b, err, sizeof err), hwt_status_ok, "%s", err);
  same_file(t.abin, t.bbin);
  size_t la, lb;
  char *x = slurp(t.a, &la), *y = slurp(t.b, &lb);
  char *wa = strstr(x, "\"a.bin\""), *wb = strstr(y, "\"b.bin\"");
  cr_assert(wa && wb && wa - x == wb - y, "weights file named at the same place");
  wb[1] = 'a';
  cr_assert(la == lb && memcmp(x, y, la) == 0, "the JSON saved from the reloaded model differs:\n%s\n---\n%s", x, y);
  free(x);
  free(y);
  hwt_model_free(r);
  tmp_remove(&t);
}

Test(model_json, every_node_type_round_trip) {
  hwt_model *m = every_type();
  cr_assert_eq(m->layers[19].out.c, 20);
  cr_assert_eq(m->layers[5].out.h, 4);
  cr_assert_eq(m->layers[4].out.h, 3);
  round_trip(m);
  hwt_model_free(m);
}

Test(model_json, int8_weights_in_float_model) {
  hwt_model *m = every_type();
  hwt_layer *fc = &m->layers[22];
  size_t nw = hwt_layer_weight_count(fc);
  hwt_rt_free(fc->w);
  hwt_rt_free(fc->b);
  fc->w = fc->b = NULL;
  fc->wq = hwt_rt_alloc(nw);
  fc->bq = hwt_rt_alloc(5 * 4);
  fc->wscale = hwt_rt_alloc(5 * 4);
  for (size_t k = 0; k < nw; k++) fc->wq[k] = (int8_t) (k % 7 - 3);
  for (size_t k = 0; k < 5; k++) fc->bq[k] = (int32_t) k * 100 - 200, fc->wscale[k] = 0.01f * (float) (k + 1);
  char err[512] = "";
  cr_assert_eq(hwt_model_finalize(m, "every", err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(m->precision, hwt_prec_int8);
  round_trip(m);
  hwt_model_free(m);
}

static void fixture_round_trip(const char *name) {
  char path[512], err[1024] = "";
  snprintf(path, sizeof path, FIX "%s", name);
  hwt_model *m = NULL;
  cr_assert_eq(hwt_model_load(path, &m, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(m->ninputs, 1);
  cr_assert_str_eq(m->inputs[0].name, "input");
  cr_assert_eq(m->noutputs, 1);
  cr_assert_eq(m->outputs[0].value, (int) m->nlayers - 1);
  round_trip(m);
  /* The sequential form is kept: no graph-only fields appear. */
  tmpdir t = tmp_make();
  cr_assert_eq(hwt_model_save(m, t.a, err, sizeof err), hwt_status_ok, "%s", err);
  size_t n;
  char *x = slurp(t.a, &n);
  cr_assert(strstr(x, "\"inputs\"") == NULL && strstr(x, "\"outputs\": [") == NULL && strstr(x, "\"rank\"") == NULL &&
                strstr(x, "output_int8") == NULL && strstr(x, "\"input\": {") != NULL,
            "%s", x);
  free(x);
  tmp_remove(&t);
  hwt_model_free(m);
}

Test(model_json, tiny_fixture_round_trip) { fixture_round_trip("tiny.json"); }
Test(model_json, tiny_int8_fixture_round_trip) { fixture_round_trip("tiny_int8.json"); }

Test(model_json, tiny_int8_q8_defaults) {
  hwt_model *m = NULL;
  char err[512] = "";
  cr_assert_eq(hwt_model_load(FIX "tiny_int8.json", &m, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert(m->inputs[0].q8);
  for (size_t i = 0; i < m->nlayers; i++) {
    bool want = m->layers[i].type != hwt_layer_softmax && !hwt_layer_float_logits(m, i);
    cr_assert_eq(m->layers[i].q8, want, "node %zu '%s'", i, m->layers[i].name);
  }
  hwt_model_free(m);
}

Test(model_json, generators_round_trip) {
  hwt_model *m = NULL;
  cr_assert_eq(hwt_model_gen_mlp(7, &m), hwt_status_ok);
  round_trip(m);
  hwt_model_free(m);
}

Test(model_json, graph_fixture) {
  hwt_model *m = NULL;
  char err[1024] = "";
  cr_assert_eq(hwt_model_load(FIX "graph.json", &m, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(m->ninputs, 2);
  cr_assert_str_eq(m->inputs[1].name, "s");
  cr_assert_eq(m->inputs[0].rank, 4);
  cr_assert_eq(m->noutputs, 2);
  cr_assert_eq(m->outputs[1].value, 10);
  cr_assert_str_eq(m->outputs[0].name, "probs");
  cr_assert_eq(m->layers[3].inputs[1], 2);
  cr_assert_eq(m->layers[4].inputs[1], HWT_INPUT_ID(0));
  cr_assert_eq(m->layers[13].inputs[1], HWT_INPUT_ID(1));
  cr_assert_eq(m->layers[0].groups, 3);
  cr_assert_eq(m->layers[0].act, hwt_act_clip);
  cr_assert_float_eq(m->layers[0].act_hi, 4.0f, 0);
  cr_assert_eq(m->layers[1].dh, 2);
  cr_assert_eq(m->layers[6].nin, 1);
  cr_assert_eq(m->layers[6].wshape.c, 9);
  cr_assert_eq(m->layers[7].out.h, 2);
  cr_assert_eq(m->layers[8].out.h, 3);
  cr_assert(m->layers[8].count_include_pad);
  cr_assert_eq(m->layers[11].out.c, 81);
  cr_assert_float_eq(m->layers[14].alpha, -1.0f, 0);
  cr_assert_float_eq(m->layers[15].alpha, 0.2f, 0); /* hard_sigmoid defaults */
  cr_assert_float_eq(m->layers[15].beta, 0.5f, 0);
  cr_assert_eq(m->layers[18].axes, HWT_AXIS_C);
  char d[64];
  hwt_model_value_dims_string(m, 10, d, sizeof d);
  cr_assert_str_eq(d, "[N, 9, 3, 3]");
  round_trip(m);
  hwt_model_free(m);
}

#define HEAD "{\"schema\": \"hwtune.model/1\", \"name\": \"t\", \"precision\": \"fp32\", \"weights\": \"t.bin\", "

static void load_fails(const char *json, const void *weights, size_t wlen, const char *needle) {
  hwt_model *m = NULL;
  char err[1024] = "";
  hwt_status st = hwt_model_load_buffers(json, strlen(json), weights, wlen, "t.json", &m, err, sizeof err);
  cr_assert_neq(st, hwt_status_ok, "loaded; want '%s'", needle);
  cr_assert_null(m);
  cr_assert(strncmp(err, "t.json: ", 8) == 0, "%s", err);
  cr_assert(strstr(err, needle) != NULL, "message has '%s': %s", needle, err);
}

static void load_ok(const char *json, const void *weights, size_t wlen) {
  hwt_model *m = NULL;
  char err[1024] = "";
  cr_assert_eq(hwt_model_load_buffers(json, strlen(json), weights, wlen, "t.json", &m, err, sizeof err), hwt_status_ok,
               "%s", err);
  hwt_model_free(m);
}

#define IN1 "\"input\": {\"shape\": [2, 2, 3]}, "
#define INS "\"inputs\": [{\"name\": \"x\", \"shape\": [2, 2, 3]}, {\"name\": \"y\", \"shape\": [3]}], "

Test(model_json, inputs_must_be_earlier) {
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"relu\"}, {\"name\": \"b\", \"type\": \"relu\", "
             "\"inputs\": [\"c\"]}, {\"name\": \"c\", \"type\": \"relu\"}]}", NULL, 0,
             "layer 1 'b' (relu): 'inputs' entry 0 names 'c', which is not an earlier layer or a graph input");
}

Test(model_json, inputs_name_graph_inputs) {
  load_ok(HEAD INS "\"layers\": [{\"name\": \"a\", \"type\": \"mul\", \"inputs\": [\"x\", \"y\"]}]}", NULL, 0);
  load_ok(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"relu\"}, {\"name\": \"b\", \"type\": \"add\", "
          "\"inputs\": [\"a\", \"input\"]}]}", NULL, 0);
}

Test(model_json, inputs_and_from_exclusive) {
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"relu\"}, {\"name\": \"b\", \"type\": \"add\", "
             "\"from\": \"a\", \"inputs\": [\"a\", \"a\"]}]}", NULL, 0,
             "layer 1 'b' (add): fields 'inputs' and 'from' exclude each other");
}

Test(model_json, field_does_not_apply) {
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"relu\", \"groups\": 2}]}", NULL, 0,
             "layer 0 'a' (relu): field 'groups' does not apply to relu");
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"relu\", \"offset\": 0}]}", NULL, 0,
             "layer 0 'a' (relu): field 'offset' does not apply to relu");
}

Test(model_json, binary_arity) {
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"mul\"}]}", NULL, 0,
             "layer 0 'a' (mul): 1 inputs: a binary layer reads 2 (or 1 with 'const_shape')");
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"sub\", \"const_shape\": [3], \"inputs\": "
             "[\"input\", \"input\"], \"offset\": 0}]}", NULL, 0,
             "layer 0 'a' (sub): 2 inputs: a binary layer reads 1 with 'const_shape' (the constant operand)");
}

Test(model_json, constant_operand) {
  static const float w[3] = {1, 2, 3};
  load_ok(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"div\", \"const_shape\": [3], \"const_first\": true, "
          "\"offset\": 0}]}", w, sizeof w);
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"div\", \"const_shape\": [3], \"offset\": 0}]}", w,
             8, "layer 0 'a' (div): weights file 't.bin' is truncated: the layer needs 12 bytes");
  static const float nan[3] = {1, NAN, 3};
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"add\", \"const_shape\": [3], \"offset\": 0}]}", nan,
             sizeof nan, "layer 0 'a' (add): weight 1 is not finite");
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"add\", \"const_shape\": [2], \"offset\": 0}]}", w,
             8, "node 0 'a' (add): constant of shape [1, 1, 2] does not broadcast to [2, 2, 3]");
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"relu\"}, {\"name\": \"b\", \"type\": \"sub\", "
             "\"const_first\": true, \"inputs\": [\"a\", \"input\"]}]}", NULL, 0,
             "layer 1 'b' (sub): 'const_first' needs a constant operand ('const_shape')");
}

Test(model_json, reshape_needs_output_shape) {
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"reshape\"}]}", NULL, 0,
             "layer 0 'a' (reshape): missing field 'output_shape' (the shape a reshape produces)");
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"reshape\", \"output_shape\": [13]}]}", NULL, 0,
             "node 0 'a' (reshape): output [1, 1, 13] holds 13 elements, the input [2, 2, 3] 12");
}

Test(model_json, attribute_values) {
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"softmax\", \"axes\": [\"c\", \"c\"]}]}", NULL, 0,
             "layer 0 'a' (softmax): field 'axes' must list distinct dims out of \"h\", \"w\", \"c\"");
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"relu\", \"rank\": 5}]}", NULL, 0,
             "layer 0 'a' (relu): field 'rank' must be an integer in [0, 4]");
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"relu\", \"rank\": 2}]}", NULL, 0,
             "node 0 'a' (relu): output [2, 2, 3] does not fit rank 2");
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"clip\", \"alpha\": 2, \"beta\": 1}]}", NULL, 0,
             "node 0 'a' (clip): bounds [2, 1] must be ordered numbers");
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"leaky_relu\", \"alpha\": \"x\"}]}", NULL, 0,
             "layer 0 'a' (leaky_relu): field 'alpha' must be a finite number");
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"max_pool2d\", \"kernel\": 2, \"ceil_mode\": 1}]}",
             NULL, 0, "layer 0 'a' (max_pool2d): field 'ceil_mode' must be true or false, got a number");
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"depthwise_conv2d\", \"kernel\": 1, \"dilation\": 0, "
             "\"offset\": 0}]}", NULL, 0, "layer 0 'a' (depthwise_conv2d): field 'dilation' must be >= 1");
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"conv2d\", \"outputs\": 2, \"kernel\": 1, "
             "\"activation\": \"clip\", \"act_min\": 1e39, \"offset\": 0}]}", NULL, 0,
             "layer 0 'a' (conv2d): field 'act_min' must be a finite number");
}

Test(model_json, graph_io_errors) {
  load_fails(HEAD IN1 "\"inputs\": [{\"name\": \"x\", \"shape\": [3]}], \"layers\": [{\"name\": \"a\", \"type\": "
             "\"relu\"}]}", NULL, 0, "t.json: fields 'input' and 'inputs' exclude each other");
  load_fails(HEAD "\"inputs\": [{\"name\": \"x\", \"shape\": [3]}, {\"name\": \"x\", \"shape\": [3]}], \"layers\": "
             "[{\"name\": \"a\", \"type\": \"relu\"}]}", NULL, 0, "t.json: graph input 1: duplicate name 'x'");
  load_fails(HEAD INS "\"layers\": [{\"name\": \"x\", \"type\": \"relu\"}]}", NULL, 0,
             "layer 0 'x' (relu): layer name is also a graph input's");
  load_fails(HEAD INS "\"layers\": [{\"name\": \"a\", \"type\": \"relu\"}], \"outputs\": [\"b\"]}", NULL, 0,
             "t.json: graph output 0 must name a layer or a graph input ('value' or a string), not b");
  load_fails(HEAD "\"inputs\": [], \"layers\": [{\"name\": \"a\", \"type\": \"relu\"}]}", NULL, 0,
             "t.json: field 'inputs' must be an array of 1 to 16 graph inputs");
  load_fails(HEAD "\"inputs\": [{\"name\": \"x\", \"shape\": [2, 2, 3], \"rank\": 2}], \"layers\": [{\"name\": \"a\", "
             "\"type\": \"relu\"}]}", NULL, 0, "t.json: graph input 0 'x': shape [2, 2, 3] does not fit rank 2");
}

Test(model_json, output_int8_rules) {
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"relu\", \"output_int8\": true}]}", NULL, 0,
             "layer 0 'a' (relu): missing field 'output_quant' (int8 output)");
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"sigmoid\", \"output_int8\": true, \"output_quant\": "
             "{\"scale\": 0.1, \"zero_point\": 0}}]}", NULL, 0,
             "node 0 'a' (sigmoid): int8 output is not supported for this type (it stays float)");
  load_fails(HEAD IN1 "\"layers\": [{\"name\": \"a\", \"type\": \"dequantize\"}]}", NULL, 0,
             "node 0 'a' (dequantize): its input graph input 0 'input' is not int8");
  load_ok(HEAD IN1 "\"layers\": [{\"name\": \"q\", \"type\": \"quantize\", \"output_quant\": {\"scale\": 0.1, "
          "\"zero_point\": 0}}, {\"name\": \"d\", \"type\": \"dequantize\"}]}", NULL, 0);
}

/* The graph example of engine/README.md loads as documented. */
Test(model_json, readme_example) {
  const char *j =
      "{\"schema\": \"hwtune.model/1\", \"name\": \"g\", \"precision\": \"fp32\", \"weights\": \"g.bin\",\n"
      " \"inputs\": [{\"name\": \"x\", \"shape\": [4, 4, 3], \"rank\": 4}, {\"name\": \"s\", \"shape\": [8], \"rank\": 2}],\n"
      " \"layers\": [\n"
      "  {\"name\": \"c1\", \"type\": \"conv2d\", \"outputs\": 8, \"kernel\": 3, \"padding\": 1, \"groups\": 1, \"rank\": 4, "
      "\"offset\": 0},\n"
      "  {\"name\": \"sg\", \"type\": \"sigmoid\", \"rank\": 4},\n"
      "  {\"name\": \"m\", \"type\": \"mul\", \"inputs\": [\"c1\", \"sg\"], \"rank\": 4},\n"
      "  {\"name\": \"cc\", \"type\": \"concat\", \"inputs\": [\"m\", \"x\"], \"rank\": 4},\n"
      "  {\"name\": \"g\", \"type\": \"global_avg_pool\", \"rank\": 4},\n"
      "  {\"name\": \"fc\", \"type\": \"fully_connected\", \"outputs\": 8, \"rank\": 2, \"offset\": 896},\n"
      "  {\"name\": \"sum\", \"type\": \"add\", \"inputs\": [\"fc\", \"s\"], \"rank\": 2},\n"
      "  {\"name\": \"sm\", \"type\": \"softmax\", \"rank\": 2}],\n"
      " \"outputs\": [{\"name\": \"probs\", \"value\": \"sm\"}, {\"name\": \"features\", \"value\": \"g\"}]}\n";
  static const float w[(896 + 8 * 11 * 4 + 8 * 4) / 4];
  hwt_model *m = NULL;
  char err[1024] = "";
  cr_assert_eq(hwt_model_load_buffers(j, strlen(j), w, sizeof w, "g.json", &m, err, sizeof err), hwt_status_ok, "%s",
               err);
  cr_assert_eq(m->layers[3].out.c, 11);
  cr_assert_eq(m->outputs[1].value, 4);
  cr_assert_eq(m->outputs[1].rank, 4);
  char d[64];
  hwt_model_value_dims_string(m, 4, d, sizeof d);
  cr_assert_str_eq(d, "[N, 11, 1, 1]");
  hwt_model_free(m);
}

/* The graph inputs of an ONNX file that are not initializers (at most HWT_GRAPH_MAX_IO), by protobuf-c. */
static size_t live_inputs(const char *path, char names[][HWT_IO_NAME_MAX]) {
  size_t len = 0, n = 0;
  FILE *f = fopen(path, "rb");
  if (f == NULL) return 0;
  fseek(f, 0, SEEK_END);
  len = (size_t) ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(len ? len : 1);
  bool ok = buf != NULL && fread(buf, 1, len, f) == len;
  fclose(f);
  Onnx__ModelProto *mp = ok ? onnx__model_proto__unpack(NULL, len, buf) : NULL;
  free(buf);
  if (mp == NULL) return 0;
  const Onnx__GraphProto *g = mp->graph;
  for (size_t i = 0; g != NULL && i < g->n_input && n < HWT_GRAPH_MAX_IO; i++) {
    const char *name = g->input[i]->name ? g->input[i]->name : "";
    bool init = false;
    for (size_t k = 0; k < g->n_initializer && !init; k++)
      init = g->initializer[k]->name && strcmp(g->initializer[k]->name, name) == 0;
    if (!init) snprintf(names[n++], HWT_IO_NAME_MAX, "%s", name);
  }
  onnx__model_proto__free_unpacked(mp, NULL);
  return n;
}

/* Every ONNX model of Debian's copy of ONNX's backend tests that the importer takes (weights as graph inputs
 * stay inputs) saves to this format and reloads field for field, and its reload saves to the same bytes: the
 * format holds whatever the importer produces. */

Test(model_json, onnx_imports_round_trip, .timeout = 600) {
  static const char *const suites[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};
  size_t imported = 0, seen = 0;
  for (size_t s = 0; s < sizeof suites / sizeof suites[0]; s++) {
    char dir[256];
    snprintf(dir, sizeof dir, "/usr/share/libonnx-testdata/data/%s", suites[s]);
    DIR *d = opendir(dir);
    if (d == NULL) continue;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      char path[600], err[2048] = "";
      snprintf(path, sizeof path, "%s/%s/model.onnx", dir, e->d_name);
      if (access(path, R_OK) != 0) continue;
      seen++;
      /* As the conformance runner does: the graph inputs after the first (weights in the node tests) become
       * constants with the values of test_data_set_0, bound by the names the model gives them. */
      char live[HWT_GRAPH_MAX_IO][HWT_IO_NAME_MAX];
      size_t nlive = live_inputs(path, live);
      hwt_tensor t[HWT_GRAPH_MAX_IO];
      hwt_onnx_binding bind[HWT_GRAPH_MAX_IO];
      size_t nb = 0;
      memset(t, 0, sizeof t);
      uint32_t batch = 0;
      for (size_t k = 0; k < nlive; k++) {
        char pb[700];
        snprintf(pb, sizeof pb, "%s/%s/test_data_set_0/input_%zu.pb", dir, e->d_name, k);
        hwt_tensor x;
        if (access(pb, R_OK) != 0 || hwt_tensor_read_pb(pb, &x, err, sizeof err) != hwt_status_ok) break;
        if (k == 0) {
          batch = x.rank > 0 && x.dims[0] > 0 && x.dims[0] < 65536 ? (uint32_t) x.dims[0] : 0;
          hwt_tensor_free(&x);
          continue;
        }
        t[nb] = x;
        bind[nb] = (hwt_onnx_binding){live[k], &t[nb]};
        nb++;
      }
      hwt_onnx_options opt = {.batch = batch, .bind = bind, .nbind = nb};
      hwt_model *m = NULL;
      hwt_onnx_options live_opt = {.batch = batch};
      hwt_status st = hwt_onnx_import(path, &live_opt, &m, err, sizeof err);
      if (st != hwt_status_ok && nb > 0) st = hwt_onnx_import(path, &opt, &m, err, sizeof err);
      for (size_t k = 0; k < nb; k++) hwt_tensor_free(&t[k]);
      if (st != hwt_status_ok) continue;
      imported++;
      round_trip(m);
      hwt_model_free(m);
    }
    closedir(d);
  }
  if (seen == 0) cr_skip_test("libonnx-testdata is not installed");
  cr_assert(imported >= 90, "only %zu of %zu ONNX test models imported", imported, seen);
  cr_log_info("%zu of %zu ONNX test models imported and round-tripped", imported, seen);
}
