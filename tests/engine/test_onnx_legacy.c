/* SPDX-License-Identifier: Apache-2.0 */
/* The ONNX importer on opsets 1 to 6 (tests/fixtures/onnx/make_legacy_fixtures.py): legacy attributes mapped
 * (is_test, epsilon, spatial, broadcast / axis, Gemm's broadcast on C, Reshape's shape attribute, Concat's
 * default axis, AveragePool without count_include_pad, Clip's min / max), per node refusals naming node, op and
 * opset, and numeric checks (the engine against numpy's result) of legacy broadcasts and a 1-D Conv -> BN ->
 * MaxPool chain. Weights follow w(i) = ((i * 7) % 11 - 5) / 8 over the flat index (offset per tensor). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.h"

#define LEG HWTUNE_FIXTURES "/onnx/legacy/"

static char err[4096];

static float formula(long i, long offset) { return (float) (((i + offset) * 7 % 11) - 5) / 8.0f; }

static hwt_model *load_opt(const char *name, const hwt_onnx_options *opt) {
  hwt_model *m = NULL;
  err[0] = '\0';
  hwt_status st = hwt_onnx_import(name, opt, &m, err, sizeof err);
  cr_assert_eq(st, hwt_status_ok, "%s: %s", name, err);
  cr_assert_not_null(m);
  return m;
}

static hwt_model *load(const char *name) { return load_opt(name, NULL); }

static void refused(const char *name, const char *what) {
  hwt_model *m = NULL;
  err[0] = '\0';
  hwt_status st = hwt_onnx_import(name, NULL, &m, err, sizeof err);
  cr_assert_neq(st, hwt_status_ok, "%s was accepted", name);
  cr_assert_null(m);
  cr_assert(strstr(err, what) != NULL, "message '%s' lacks '%s'", err, what);
  cr_assert(strncmp(err, name, strlen(name)) == 0, "message '%s' does not start with the file", err);
}

/* Runs the engine on <name>.in.npy (batch = its dim 0) and compares graph output 0 with <name>.out.npy. */
static void run_matches(const hwt_model *m, const char *name) {
  char path[512];
  hwt_tensor in, want;
  memset(&in, 0, sizeof in);
  memset(&want, 0, sizeof want);
  snprintf(path, sizeof path, LEG "%s.in.npy", name);
  cr_assert_eq(hwt_tensor_read_npy(path, &in, err, sizeof err), hwt_status_ok, "%s", err);
  snprintf(path, sizeof path, LEG "%s.out.npy", name);
  cr_assert_eq(hwt_tensor_read_npy(path, &want, err, sizeof err), hwt_status_ok, "%s", err);
  size_t batch = (size_t) in.dims[0];
  cr_assert_eq(in.count, batch * hwt_model_input_size(m, 0));
  cr_assert_eq(want.count, batch * hwt_model_output_size(m, 0));
  cr_assert_eq(hwt_engine_global_init(err, sizeof err), hwt_status_ok, "%s", err);
  hwt_engine *e = NULL;
  cr_assert_eq(hwt_engine_create(m, batch, NULL, &e, err, sizeof err), hwt_status_ok, "%s", err);
  float *got = calloc(want.count, sizeof(float));
  cr_assert_not_null(got);
  const float *ins[1] = {in.data};
  float *outs[1] = {got};
  cr_assert_eq(hwt_engine_run_io(e, ins, outs, NULL), hwt_status_ok);
  const float *w = want.data;
  for (size_t i = 0; i < want.count; i++)
    cr_assert(fabsf(got[i] - w[i]) <= 1e-5f + 1e-4f * fabsf(w[i]), "%s: [%zu] %g, want %g", name, i,
              (double) got[i], (double) w[i]);
  free(got);
  hwt_engine_destroy(e);
  hwt_tensor_free(&in);
  hwt_tensor_free(&want);
}

Test(onnx_legacy, opset_range) {
  hwt_model *m = load(LEG "add_values.onnx");
  cr_assert(strstr(m->source, "onnx (opset 1") == m->source, "%s", m->source);
  hwt_model_free(m);
  refused(LEG "opset0.onnx", "opset 0 of ai.onnx not supported (1 to 17 are)");
}

Test(onnx_legacy, batchnorm_is_test_epsilon) {
  hwt_model *m = load(LEG "bn_is_test.onnx");
  cr_assert_eq(m->nlayers, 2);
  const hwt_layer *l = &m->layers[1];
  cr_assert_eq(l->type, hwt_layer_affine);
  for (int ch = 0; ch < 3; ch++) {
    double gamma = formula(ch, 1) + 1.0, beta = formula(ch, 2), mean = formula(ch, 3);
    double var = fabs(formula(ch, 4)) + 0.5, s = gamma / sqrt(var + 0.01);
    cr_assert_float_eq(l->w[ch], (float) s, 1e-6, "scale[%d]", ch);
    cr_assert_float_eq(l->b[ch], (float) (beta - mean * s), 1e-6, "shift[%d]", ch);
  }
  hwt_model_free(m);
  refused(LEG "bn_training.onnx", ": node 0 'bn' (BatchNormalization): opset 6: is_test = 0 (training mode) not "
          "supported");
  refused(LEG "bn_spatial0.onnx", ": node 0 'bn' (BatchNormalization): spatial = 0 not supported");
}

Test(onnx_legacy, dropout_is_test) {
  hwt_model *m = load(LEG "dropout_is_test.onnx");
  cr_assert_eq(m->nlayers, 2); /* a copy of the graph input (no scaling at inference), then the Relu */
  cr_assert_eq(m->layers[0].type, hwt_layer_identity);
  cr_assert_eq(m->layers[1].type, hwt_layer_relu);
  cr_assert_eq(m->layers[1].inputs[0], 0);
  hwt_model_free(m);
  refused(LEG "dropout_training.onnx", ": node 0 'drop' (Dropout): opset 6: is_test = 0 (training mode)");
}

Test(onnx_legacy, broadcast_constant_axis) {
  hwt_model *m = load(LEG "add_bcast_axis1.onnx");
  cr_assert_eq(m->nlayers, 1);
  const hwt_layer *l = &m->layers[0];
  cr_assert_eq(l->type, hwt_layer_add);
  cr_assert_eq(l->nin, 1);
  cr_assert(l->wshape.h == 1 && l->wshape.w == 1 && l->wshape.c == 3, "wshape %u %u %u", l->wshape.h, l->wshape.w,
            l->wshape.c);
  for (int ch = 0; ch < 3; ch++) cr_assert_float_eq(l->w[ch], formula(ch, 7), 1e-7);
  run_matches(m, "add_bcast_axis1");
  hwt_model_free(m);

  m = load(LEG "sub_bcast_strip.onnx"); /* [1, 3, 1] at axis 0: its leading and trailing 1s broadcast */
  l = &m->layers[0];
  cr_assert_eq(l->type, hwt_layer_sub);
  cr_assert(!l->const_first);
  cr_assert(l->wshape.h == 1 && l->wshape.w == 1 && l->wshape.c == 3);
  run_matches(m, "sub_bcast_strip");
  hwt_model_free(m);

  m = load(LEG "mul_bcast_rows.onnx"); /* [2] at axis 2: one value per row (H) */
  l = &m->layers[0];
  cr_assert(l->wshape.h == 2 && l->wshape.w == 1 && l->wshape.c == 1);
  run_matches(m, "mul_bcast_rows");
  hwt_model_free(m);

  m = load(LEG "div_bcast_suffix.onnx"); /* no axis: [2, 2] is the suffix of [1, 3, 2, 2] */
  l = &m->layers[0];
  cr_assert(l->wshape.h == 2 && l->wshape.w == 2 && l->wshape.c == 1);
  run_matches(m, "div_bcast_suffix");
  hwt_model_free(m);
}

Test(onnx_legacy, broadcast_refusals) {
  refused(LEG "add_no_bcast.onnx", ": node 0 'add' (Add): opset 6 without broadcast = 1: [1, 3, 2, 2] and [3] must "
          "have equal shapes (no implicit broadcasting before opset 7)");
  refused(LEG "add_bcast_batch.onnx", ": node 0 'add' (Add): opset 6: constant [2] varies along the batch dimension");
  refused(LEG "add_bcast_mismatch.onnx", ": node 0 'add' (Add): opset 6 broadcast: B [4] at axis 1 does not match "
          "[1, 3, 2, 2]");
  refused(LEG "mul_values_no_bcast.onnx", ": node 0 'mul' (Mul): opset 6 without broadcast = 1: [1, 3, 2, 2] and "
          "[1, 3, 1, 1] must have equal shapes");
}

Test(onnx_legacy, broadcast_two_values) {
  hwt_model *m = load(LEG "add_values.onnx");
  cr_assert_eq(m->nlayers, 1);
  cr_assert_eq(m->layers[0].nin, 2);
  cr_assert_eq(m->layers[0].inputs[1], HWT_INPUT_ID(1));
  hwt_model_free(m);
  m = load(LEG "mul_values_bcast.onnx");
  cr_assert_eq(m->layers[0].type, hwt_layer_mul);
  cr_assert_eq(m->layers[0].inputs[0], HWT_INPUT_ID(0));
  cr_assert_eq(m->layers[0].inputs[1], HWT_INPUT_ID(1));
  hwt_model_free(m);
}

Test(onnx_legacy, gemm_broadcast_c) {
  hwt_model *m = load(LEG "gemm_bcast.onnx");
  const hwt_layer *l = &m->layers[0];
  cr_assert_eq(l->type, hwt_layer_fc);
  cr_assert_eq(l->outputs, 4);
  for (int n = 0; n < 4; n++) {
    cr_assert_float_eq(l->b[n], 2.0f * formula(n, 2), 1e-7, "b[%d]", n);
    for (int k = 0; k < 5; k++) cr_assert_float_eq(l->w[n * 5 + k], 0.5f * formula(n * 5 + k, 1), 1e-7);
  }
  run_matches(m, "gemm_bcast");
  hwt_model_free(m);
  m = load(LEG "gemm_full_c.onnx"); /* C [M, N] = [1, 4] without broadcast */
  for (int n = 0; n < 4; n++) cr_assert_float_eq(m->layers[0].b[n], formula(n, 2), 1e-7);
  hwt_model_free(m);
  refused(LEG "gemm_no_bcast.onnx", ": node 0 'fc' (Gemm): opset 6 without broadcast = 1: C [4] must be [M, N] = "
          "[1, 4]");
}

Test(onnx_legacy, reshape_concat_squeeze_softmax_clip) {
  hwt_model *m = load(LEG "reshape_attr.onnx");
  cr_assert_eq(m->nlayers, 1);
  cr_assert_eq(m->layers[0].type, hwt_layer_reshape);
  cr_assert_eq(m->outputs[0].rank, 2);
  cr_assert_eq(m->outputs[0].shape.c, 12);
  hwt_model_free(m);
  refused(LEG "reshape_no_shape.onnx", ": node 0 'reshape' (Reshape): opset 4: attribute 'shape' missing");

  m = load(LEG "concat_default_axis.onnx");
  cr_assert_eq(m->layers[0].type, hwt_layer_concat);
  cr_assert_eq(m->layers[0].out.c, 5);
  hwt_model_free(m);

  hwt_onnx_options opt = {.batch = 2};
  m = load_opt(LEG "squeeze_unsqueeze.onnx", &opt);
  cr_assert_eq(m->outputs[0].rank, 3);
  cr_assert_eq(m->outputs[0].shape.c, 5);
  cr_assert_eq(m->outputs[0].shape.w, 1);
  hwt_model_free(m);

  m = load(LEG "softmax_v1.onnx"); /* axis 1 (default), coerced to 2-D: C, H and W together */
  cr_assert_eq(m->layers[0].type, hwt_layer_softmax);
  cr_assert_eq(m->layers[0].axes, HWT_AXIS_C | HWT_AXIS_H | HWT_AXIS_W);
  hwt_model_free(m);

  m = load(LEG "clip_attrs.onnx");
  cr_assert_eq(m->layers[0].type, hwt_layer_clip);
  cr_assert_float_eq(m->layers[0].alpha, -0.5f, 0);
  cr_assert_float_eq(m->layers[0].beta, 0.25f, 0);
  hwt_model_free(m);
}

Test(onnx_legacy, avgpool_without_count_include_pad) {
  hwt_model *m = load(LEG "avgpool_pads.onnx");
  const hwt_layer *l = &m->layers[0];
  cr_assert_eq(l->type, hwt_layer_avgpool);
  cr_assert(!l->count_include_pad, "count_include_pad does not exist before opset 7");
  cr_assert(l->pad_t == 1 && l->pad_l == 1 && l->pad_b == 0 && l->pad_r == 0);
  run_matches(m, "avgpool_pads");
  hwt_model_free(m);
}

Test(onnx_legacy, conv1d_bn_maxpool1d) {
  hwt_onnx_options opt = {.batch = 2};
  hwt_model *m = load_opt(LEG "conv1d_bn_pool.onnx", &opt);
  cr_assert_eq(m->nlayers, 2);
  const hwt_layer *c = &m->layers[0], *p = &m->layers[1];
  cr_assert_eq(c->type, hwt_layer_conv);
  cr_assert_str_eq(c->fused, "BatchNormalization 'bn'");
  cr_assert(c->kh == 1 && c->kw == 3 && c->sh == 1 && c->sw == 2, "k %ux%u s %ux%u", c->kh, c->kw, c->sh, c->sw);
  cr_assert(c->pad_t == 0 && c->pad_b == 0 && c->pad_l == 1 && c->pad_r == 1);
  cr_assert(c->out.h == 1 && c->out.w == 4 && c->out.c == 3);
  cr_assert_eq(p->type, hwt_layer_maxpool);
  cr_assert(p->kh == 1 && p->kw == 2 && p->out.w == 3);
  cr_assert_eq(m->outputs[0].rank, 3);
  run_matches(m, "conv1d_bn_pool");
  hwt_model_free(m);
}

Test(onnx_legacy, operator_not_yet_defined) {
  refused(LEG "hardswish_opset6.onnx", ": node 1 'hs' (HardSwish): HardSwish does not exist at opset 6 (defined "
          "since opset 14)");
}
