/* SPDX-License-Identifier: Apache-2.0 */
/* The ONNX importer (onnx/import.c) on the models tests/fixtures/onnx/make_fixtures.py writes: node mapping per
 * operator and attribute, NCHW -> NHWC weight re-lay, folding, opset variants, and every refusal's message. The
 * fixtures' weights follow w(i) = ((i * 7) % 11 - 5) / 8 over the flat NCHW index (offset per tensor). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.h"

#define FIX HWTUNE_FIXTURES "/onnx/"

static char err[4096];

static float formula(long i, long offset) { return (float) (((i + offset) * 7 % 11) - 5) / 8.0f; }

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
  hwt_status st = hwt_onnx_import(name, NULL, &m, err, sizeof err);
  cr_assert_neq(st, hwt_status_ok, "%s was accepted", name);
  cr_assert_null(m);
  cr_assert(strstr(err, what) != NULL, "message '%s' lacks '%s'", err, what);
  cr_assert(strncmp(err, name, strlen(name)) == 0, "message '%s' does not start with the file", err);
  cr_assert(strstr(err, "\nsupported operators: Add, AveragePool,") != NULL, "no supported list in '%s'", err);
}

/* BatchNormalization's folded factors as make_fixtures.py's bn_params defines them. */
static void bn_factors(size_t c, double eps, double *s, double *t) {
  for (size_t i = 0; i < c; i++) {
    double scale = formula((long) i, 1) + 1.0, b = formula((long) i, 2), mean = formula((long) i, 3);
    double var = fabs(formula((long) i, 4)) + 0.5;
    s[i] = scale / sqrt(var + eps);
    t[i] = b - mean * s[i];
  }
}

Test(onnx_import, conv_bn_relu_folded) {
  hwt_model *m = load(FIX "conv_bn_relu.onnx");
  cr_assert_eq(m->nlayers, 1);
  const hwt_layer *l = &m->layers[0];
  cr_assert_eq(l->type, hwt_layer_conv);
  cr_assert_eq(l->act, hwt_act_relu);
  cr_assert_str_eq(l->fused, "BatchNormalization 'bn' + Relu 'relu'");
  cr_assert_eq(l->pad_t, 1);
  cr_assert_eq(l->pad_r, 1);
  cr_assert_eq(m->fixed_batch, 0);
  cr_assert_eq(m->ninputs, 1);
  cr_assert_eq(m->inputs[0].rank, 4);
  cr_assert_eq(m->inputs[0].shape.h, 8);
  cr_assert_eq(m->inputs[0].shape.c, 3);
  cr_assert(strstr(m->source, "onnx (opset 13") == m->source, "%s", m->source);
  double s[4], t[4];
  bn_factors(4, 1e-3, s, t);
  for (int o = 0; o < 4; o++) {
    for (int i = 0; i < 3; i++)
      for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++) {
          float want = (float) (formula(((o * 3 + i) * 3 + y) * 3 + x, 0) * s[o]);
          cr_assert_float_eq(l->w[((o * 3 + y) * 3 + x) * 3 + i], want, 1e-6, "w[%d][%d][%d][%d]", o, y, x, i);
        }
    cr_assert_float_eq(l->b[o], (float) (formula(o, 5) * s[o] + t[o]), 1e-6);
  }
  hwt_model_free(m);
}

Test(onnx_import, depthwise_relayout_and_clip_relu6) {
  hwt_model *m = load(FIX "dwconv_clip.onnx");
  cr_assert_eq(m->nlayers, 1);
  const hwt_layer *l = &m->layers[0];
  cr_assert_eq(l->type, hwt_layer_dwconv);
  cr_assert_eq(l->act, hwt_act_relu6);
  cr_assert_str_eq(l->fused, "Clip 'clip'");
  cr_assert_eq(l->sh, 2);
  cr_assert_eq(l->pad_t, 0);
  cr_assert_eq(l->pad_l, 1);
  cr_assert_eq(l->pad_b, 1);
  cr_assert_eq(l->pad_r, 0);
  cr_assert_eq(l->out.h, 3);
  cr_assert_eq(l->out.w, 3);
  for (int c = 0; c < 4; c++)
    for (int y = 0; y < 3; y++)
      for (int x = 0; x < 3; x++) cr_assert_eq(l->w[(y * 3 + x) * 4 + c], formula((c * 3 + y) * 3 + x, 0));
  for (int c = 0; c < 4; c++) cr_assert_eq(l->b[c], 0.0f);
  hwt_model_free(m);
}

Test(onnx_import, clip_opset_variants) {
  hwt_model *m = load(FIX "clip_attr_opset10.onnx");
  cr_assert_eq(m->nlayers, 1);
  cr_assert_eq(m->layers[0].act, hwt_act_relu6);
  hwt_model_free(m);
  m = load(FIX "clip_general.onnx");
  cr_assert_eq(m->nlayers, 1);
  cr_assert_eq(m->layers[0].act, hwt_act_clip);
  cr_assert_eq(m->layers[0].act_lo, -1.0f);
  cr_assert_eq(m->layers[0].act_hi, 1.0f);
  hwt_model_free(m);
}

Test(onnx_import, grouped_dilated_same_upper) {
  hwt_model *m = load(FIX "conv_groups.onnx");
  const hwt_layer *l = &m->layers[0];
  cr_assert_eq(l->type, hwt_layer_conv);
  cr_assert_eq(l->groups, 2);
  cr_assert_eq(l->dh, 2);
  cr_assert_eq(l->dw, 2);
  cr_assert_eq(l->pad_t, 2);
  cr_assert_eq(l->pad_b, 2);
  cr_assert_eq(l->out.h, 6);
  cr_assert_eq(l->out.c, 6);
  for (int o = 0; o < 6; o++)
    for (int i = 0; i < 2; i++)
      for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++)
          cr_assert_eq(l->w[((o * 3 + y) * 3 + x) * 2 + i], formula(((o * 2 + i) * 3 + y) * 3 + x, 0));
  hwt_model_free(m);
}

Test(onnx_import, no_fold_with_two_consumers) {
  hwt_model *m = load(FIX "conv_two_consumers.onnx");
  cr_assert_eq(m->nlayers, 2);
  cr_assert_eq(m->layers[0].act, hwt_act_none);
  cr_assert_eq(m->layers[1].type, hwt_layer_relu);
  cr_assert_eq(m->noutputs, 2);
  cr_assert_eq(m->outputs[0].value, 1);
  cr_assert_eq(m->outputs[1].value, 0);
  cr_assert_str_eq(m->outputs[1].name, "c");
  hwt_model_free(m);
}

Test(onnx_import, flatten_keeps_reshape_gemm_transb_alpha_beta) {
  hwt_model *m = load(FIX "flatten_gemm.onnx");
  cr_assert_eq(m->nlayers, 2);
  cr_assert_eq(m->layers[0].type, hwt_layer_reshape);
  cr_assert_eq(m->layers[0].rank, 2);
  cr_assert_eq(m->layers[0].out.c, 18);
  const hwt_layer *l = &m->layers[1];
  cr_assert_eq(l->type, hwt_layer_fc);
  cr_assert_eq(l->outputs, 5);
  for (int n = 0; n < 5; n++) {
    for (int k = 0; k < 18; k++) cr_assert_eq(l->w[n * 18 + k], 2.0f * formula(n * 18 + k, 0));
    cr_assert_eq(l->b[n], 0.5f * formula(n, 3));
  }
  cr_assert_eq(m->outputs[0].rank, 2);
  hwt_model_free(m);
}

Test(onnx_import, gap_flatten_aliased_gemm_bn_folded) {
  hwt_model *m = load(FIX "gap_flatten_gemm.onnx");
  cr_assert_eq(m->nlayers, 2, "Flatten of [N, 6, 1, 1] needs no node");
  cr_assert_eq(m->layers[0].type, hwt_layer_gavgpool);
  const hwt_layer *l = &m->layers[1];
  cr_assert_eq(l->type, hwt_layer_fc);
  cr_assert_eq(l->inputs[0], 0);
  cr_assert_str_eq(l->fused, "BatchNormalization 'bn'");
  double s[4], t[4];
  bn_factors(4, 1e-5, s, t);
  for (int n = 0; n < 4; n++) {
    for (int k = 0; k < 6; k++) cr_assert_float_eq(l->w[n * 6 + k], (float) (formula(k * 4 + n, 0) * s[n]), 1e-6);
    cr_assert_float_eq(l->b[n], (float) t[n], 1e-6);
  }
  hwt_model_free(m);
}

Test(onnx_import, matmul_bias_add_softmax) {
  hwt_model *m = load(FIX "matmul_add_softmax.onnx");
  cr_assert_eq(m->nlayers, 3);
  const hwt_layer *fc = &m->layers[0], *add = &m->layers[1], *sm = &m->layers[2];
  cr_assert_eq(fc->type, hwt_layer_fc);
  for (int n = 0; n < 3; n++)
    for (int k = 0; k < 6; k++) cr_assert_eq(fc->w[n * 6 + k], formula(k * 3 + n, 0));
  cr_assert_eq(add->type, hwt_layer_add);
  cr_assert_eq(add->nin, 1);
  cr_assert_eq(add->wshape.c, 3);
  cr_assert_eq(add->w[2], formula(2, 2));
  cr_assert_eq(sm->type, hwt_layer_softmax);
  cr_assert_eq(sm->axes, HWT_AXIS_C);
  hwt_model_free(m);
}

Test(onnx_import, softmax_axis_per_opset) {
  hwt_model *m = load(FIX "softmax_opset11.onnx");
  cr_assert_eq(m->layers[0].axes, HWT_AXIS_C | HWT_AXIS_H | HWT_AXIS_W, "opset < 13 coerces to 2-D from axis");
  hwt_model_free(m);
  m = load(FIX "softmax_opset13.onnx");
  cr_assert_eq(m->layers[0].axes, HWT_AXIS_C, "opset 13: the one axis");
  hwt_model_free(m);
}

Test(onnx_import, squeeze_unsqueeze_per_opset) {
  const char *files[] = {FIX "squeeze_opset11.onnx", FIX "squeeze_opset13.onnx"};
  for (int f = 0; f < 2; f++) {
    hwt_model *m = load(files[f]);
    cr_assert_eq(m->outputs[0].rank, 3, "%s", files[f]);
    char d[64];
    hwt_model_value_dims_string(m, m->outputs[0].value, d, sizeof d);
    cr_assert_str_eq(d, "[N, 5, 1]");
    hwt_model_free(m);
  }
}

Test(onnx_import, reducemean_spatial) {
  hwt_model *m = load(FIX "reducemean.onnx");
  cr_assert_eq(m->nlayers, 1);
  cr_assert_eq(m->layers[0].type, hwt_layer_gavgpool);
  cr_assert_eq(m->layers[0].rank, 2);
  hwt_model_free(m);
}

Test(onnx_import, pool_attributes) {
  hwt_model *m = load(FIX "pools.onnx");
  cr_assert_eq(m->nlayers, 3);
  const hwt_layer *a = &m->layers[0], *p = &m->layers[1], *q = &m->layers[2];
  cr_assert_eq(a->type, hwt_layer_avgpool);
  cr_assert(a->count_include_pad);
  cr_assert(a->ceil_mode);
  cr_assert_eq(a->out.h, 5);
  cr_assert_eq(p->type, hwt_layer_maxpool);
  cr_assert_eq(p->pad_t, 1);
  cr_assert_eq(p->pad_b, 1);
  cr_assert_eq(p->out.h, 3);
  cr_assert_eq(q->pad_t, 1, "SAME_LOWER puts the odd pad first");
  cr_assert_eq(q->pad_b, 0);
  cr_assert_eq(q->out.h, 3);
  hwt_model_free(m);
}

Test(onnx_import, residual_se_concat_graph) {
  hwt_model *m = load(FIX "residual_se_concat.onnx");
  cr_assert_eq(m->nlayers, 6);
  cr_assert_eq(m->layers[0].act, hwt_act_relu);
  const hwt_layer *add = &m->layers[1], *mul = &m->layers[4], *cat = &m->layers[5];
  cr_assert_eq(add->nin, 2);
  cr_assert_eq(add->inputs[0], 0);
  cr_assert_eq(add->inputs[1], HWT_INPUT_ID(0));
  cr_assert_eq(mul->type, hwt_layer_mul);
  cr_assert_eq(mul->inputs[0], 1, "the full-size value first");
  cr_assert_eq(mul->inputs[1], 3);
  cr_assert_eq(cat->nin, 2);
  cr_assert_eq(cat->out.c, 6);
  hwt_model_free(m);
}

Test(onnx_import, constant_operands_relaid) {
  hwt_model *m = load(FIX "const_binary.onnx");
  const hwt_layer *sub = &m->layers[0], *div = &m->layers[1];
  cr_assert_eq(sub->type, hwt_layer_sub);
  cr_assert(sub->const_first);
  cr_assert_eq(sub->wshape.h, 2);
  cr_assert_eq(sub->wshape.w, 2);
  cr_assert_eq(sub->wshape.c, 1);
  for (int i = 0; i < 4; i++) cr_assert_eq(sub->w[i], formula(i, 0));
  cr_assert_eq(div->type, hwt_layer_div);
  cr_assert(!div->const_first);
  cr_assert_eq(div->wshape.h, 1);
  cr_assert_eq(div->wshape.c, 3);
  for (int c = 0; c < 3; c++) cr_assert_eq(div->w[c], formula(c, 1) + 2.0f);
  hwt_model_free(m);
}

Test(onnx_import, standalone_batchnorm_opset7_affine) {
  hwt_model *m = load(FIX "bn_standalone_opset7.onnx");
  cr_assert_eq(m->nlayers, 2);
  const hwt_layer *l = &m->layers[1];
  cr_assert_eq(l->type, hwt_layer_affine);
  double s[3], t[3];
  bn_factors(3, 1e-5, s, t);
  for (int c = 0; c < 3; c++) {
    cr_assert_float_eq(l->w[c], (float) s[c], 1e-6);
    cr_assert_float_eq(l->b[c], (float) t[c], 1e-6);
  }
  hwt_model_free(m);
}

Test(onnx_import, unsorted_nodes_identity_dropout_constant) {
  hwt_model *m = load(FIX "unsorted_identity.onnx");
  /* relu, then Identity / Dropout aliased; the graph output y2 gets its own identity node */
  cr_assert_eq(m->nlayers, 3);
  cr_assert_eq(m->layers[0].type, hwt_layer_relu);
  cr_assert_eq(m->noutputs, 2);
  const hwt_layer *add = &m->layers[m->outputs[0].value];
  cr_assert_eq(add->type, hwt_layer_add);
  cr_assert_eq(add->inputs[0], 0);
  cr_assert_eq(add->w[3], formula(3, 0));
  const hwt_layer *id = &m->layers[m->outputs[1].value];
  cr_assert_eq(id->type, hwt_layer_identity);
  cr_assert_eq(id->inputs[0], 0);
  hwt_model_free(m);
}

Test(onnx_import, activation_attributes) {
  hwt_model *m = load(FIX "activations.onnx");
  cr_assert_eq(m->nlayers, 4);
  cr_assert_eq(m->layers[0].type, hwt_layer_leaky_relu);
  cr_assert_eq(m->layers[0].alpha, 0.25f);
  cr_assert_eq(m->layers[1].type, hwt_layer_hard_sigmoid);
  cr_assert_eq(m->layers[1].alpha, 0.3f);
  cr_assert_eq(m->layers[1].beta, 0.4f);
  cr_assert_eq(m->layers[2].type, hwt_layer_hard_swish);
  cr_assert_eq(m->layers[3].type, hwt_layer_tanh);
  hwt_model_free(m);
}

Test(onnx_import, old_exporter_initializers_as_inputs) {
  hwt_model *m = load(FIX "old_exporter.onnx");
  cr_assert_eq(m->ninputs, 1, "W and shape are constants");
  cr_assert_eq(m->fixed_batch, 2);
  cr_assert_eq(m->nlayers, 2);
  cr_assert_eq(m->layers[0].type, hwt_layer_reshape);
  cr_assert_eq(m->layers[0].out.c, 12);
  cr_assert_eq(m->layers[1].type, hwt_layer_fc);
  hwt_model_free(m);
}

Test(onnx_import, conv1d) {
  hwt_model *m = load(FIX "conv1d.onnx");
  const hwt_layer *l = &m->layers[0];
  cr_assert_eq(l->kh, 1);
  cr_assert_eq(l->kw, 3);
  cr_assert_eq(l->pad_l, 1);
  cr_assert_eq(l->pad_r, 1);
  cr_assert_eq(l->out.w, 6);
  cr_assert_eq(l->rank, 3);
  for (int o = 0; o < 3; o++)
    for (int i = 0; i < 2; i++)
      for (int x = 0; x < 3; x++) cr_assert_eq(l->w[(o * 3 + x) * 2 + i], formula((o * 2 + i) * 3 + x, 0));
  hwt_model_free(m);
}

Test(onnx_import, bound_weight_input) {
  float w[6] = {1, 2, 3, 4, 5, 6};
  hwt_tensor t = {.name = "W", .dtype = hwt_dtype_f32, .rank = 4, .dims = {3, 2, 1, 1}, .count = 6, .data = w};
  hwt_onnx_binding b = {"W", &t};
  hwt_onnx_options opt = {.batch = 0, .bind = &b, .nbind = 1};
  hwt_model *m = NULL;
  cr_assert_eq(hwt_onnx_import(FIX "conv_weight_input.onnx", &opt, &m, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(m->ninputs, 1);
  cr_assert_eq(m->layers[0].w[5], 6.0f);
  hwt_model_free(m);
  /* unbound, the weight is a second input with another fixed batch */
  refused(FIX "conv_weight_input.onnx", "graph inputs fix different batch sizes (1 and 3)");
  hwt_onnx_binding bad = {"nope", &t};
  opt.bind = &bad;
  cr_assert_neq(hwt_onnx_import(FIX "conv_weight_input.onnx", &opt, &m, err, sizeof err), hwt_status_ok);
  cr_assert(strstr(err, "bound name 'nope' is not a graph input") != NULL, "%s", err);
}

Test(onnx_import, long_concat_chained) {
  hwt_model *m = load(FIX "concat20.onnx");
  cr_assert_eq(m->nlayers, 2);
  cr_assert_eq(m->layers[0].nin, 16);
  cr_assert_eq(m->layers[1].nin, 5);
  cr_assert_eq(m->layers[1].inputs[0], 0);
  cr_assert_eq(m->layers[1].out.c, 40);
  hwt_model_free(m);
}

Test(onnx_import, symbolic_batch_option) {
  hwt_onnx_options opt = {.batch = 7};
  hwt_model *m = NULL;
  cr_assert_eq(hwt_onnx_import(FIX "flatten_gemm.onnx", &opt, &m, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(m->fixed_batch, 0);
  hwt_model_free(m);
  cr_assert_eq(hwt_onnx_import(FIX "old_exporter.onnx", &opt, &m, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(m->fixed_batch, 2, "the file's fixed batch wins");
  hwt_model_free(m);
}

Test(onnx_import, malformed_and_unsupported_refused) {
  refused(FIX "bad_cycle.onnx", ": node 0 'r1' (Relu): is part of a cycle");
  refused(FIX "bad_unknown_tensor.onnx",
          ": node 1 'add' (Add): input 'ghost' is not produced by any node, initializer or graph input");
  refused(FIX "bad_missing_initializer.onnx", ": node 0 'conv' (Conv): input 'W' is not produced by any node");
  refused(FIX "bad_huge_dims.onnx", "graph input 'x' has more than 2^31 elements per sample");
  refused(FIX "bad_huge_initializer.onnx", "initializer 'W': more than 2^31 elements");
  refused(FIX "bad_unsupported_op.onnx", ": node 1 'Gather_7' (Gather): operator not supported\nsupported operators:");
  refused(FIX "bad_maxpool_dilations.onnx", ": node 0 'pool' (MaxPool): dilations [2, 2] not supported");
  refused(FIX "bad_conv_groups.onnx", ": node 0 'conv' (Conv): group 3 does not divide 4 input and 6 output channels");
  refused(FIX "bad_conv_weights_mismatch.onnx", "weight has 3 input channels per group, input 4 / group 1");
  refused(FIX "bad_dtype.onnx", "graph input 'x' is INT64 (only FLOAT inputs are supported)");
  refused(FIX "bad_opset18.onnx", "opset 18 of ai.onnx not supported (1 to 17 are)");
  refused(FIX "bad_domain.onnx", "(FusedGemm): operator domain 'com.microsoft' not supported (only ai.onnx)");
  refused(FIX "bad_symbolic_dim.onnx", "dimension 2 is symbolic ('H'); only the first (the batch) may be");
  refused(FIX "bad_reshape_batch.onnx", "(Reshape): [2, 6] to [3, 4] changes the batch dimension");
  refused(FIX "bad_raw_size.onnx", "initializer 'W': raw_data holds 12 bytes, dims need 16");
  refused(FIX "bad_dq_scale.onnx", ": node 0 'dq_w' (DequantizeLinear): scale -0.5: must be finite and > 0");
}

Test(onnx_import, truncated_and_garbage_refused) {
  FILE *f = fopen(FIX "conv_bn_relu.onnx", "rb");
  cr_assert_not_null(f);
  static unsigned char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  cr_assert_gt(n, 100);
  hwt_model *m = NULL;
  size_t refusedn = 0;
  for (size_t cut = 0; cut < n; cut += 7) {
    hwt_status st = hwt_onnx_import_buffer(buf, cut, "t.onnx", NULL, &m, err, sizeof err);
    if (st == hwt_status_ok) {
      hwt_model_free(m);
      m = NULL;
      continue;
    }
    refusedn++;
    cr_assert(strncmp(err, "t.onnx: ", 8) == 0, "%s", err);
  }
  cr_assert_gt(refusedn, n / 7 - 2);
  cr_assert_eq(hwt_onnx_import_buffer(buf, n / 2, "t.onnx", NULL, &m, err, sizeof err), hwt_status_parse_error);
  cr_assert(strstr(err, "t.onnx: not a valid ONNX model (truncated or malformed protobuf)") == err, "%s", err);
  const unsigned char garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
  cr_assert_neq(hwt_onnx_import_buffer(garbage, sizeof garbage, "g.onnx", NULL, &m, err, sizeof err), hwt_status_ok);
  cr_assert_neq(hwt_onnx_import_buffer(NULL, 0, "e.onnx", NULL, &m, err, sizeof err), hwt_status_ok);
  cr_assert(strstr(err, "e.onnx: no opset of the ai.onnx domain") == err, "%s", err);
  cr_assert_neq(hwt_onnx_import("/nonexistent.onnx", NULL, &m, err, sizeof err), hwt_status_ok);
  cr_assert(strstr(err, "cannot open '/nonexistent.onnx'") != NULL, "%s", err);
  cr_assert_null(m);
}

Test(onnx_import, supported_list) {
  const char *s = hwt_onnx_supported_ops();
  cr_assert(strstr(s, "Conv, ") != NULL);
  cr_assert(strstr(s, "BatchNormalization") != NULL);
  cr_assert(strstr(s, "Gather") == NULL);
}

/* QDQ int8: the int8 nodes carry the file's scales and zero points (uint8 shifted to int8), and the engine's
 * results stay within a few output quantization steps of the same graph in float (qdq_float.onnx). */
Test(onnx_import, qdq_int8_nodes) {
  hwt_model *m = load(FIX "qdq_conv_gemm.onnx");
  cr_assert_eq(m->nlayers, 7);
  const hwt_layer *q = &m->layers[0], *conv = &m->layers[1], *fc = &m->layers[5];
  cr_assert_eq(q->type, hwt_layer_quantize);
  cr_assert(q->q8);
  cr_assert_float_eq(q->oq.scale, 0.02f, 1e-9);
  cr_assert_eq(q->oq.zero_point, 0, "uint8 zero point 128 becomes int8 0");
  cr_assert_eq(conv->type, hwt_layer_conv);
  cr_assert(conv->q8);
  cr_assert_eq(conv->inputs[0], 0, "reads the int8 value");
  cr_assert_eq(conv->act, hwt_act_relu);
  cr_assert_null(conv->w);
  cr_assert_not_null(conv->wq);
  cr_assert_float_eq(conv->oq.scale, 0.05f, 1e-9);
  cr_assert_eq(conv->oq.zero_point, -128);
  static const float ws[4] = {0.01f, 0.02f, 0.015f, 0.012f};
  static const int32_t bq[4] = {10, -20, 30, -5};
  for (int o = 0; o < 4; o++) {
    cr_assert_eq(conv->wscale[o], ws[o]);
    cr_assert_eq(conv->bq[o], bq[o]);
    for (int i = 0; i < 3; i++)
      for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++) {
          int flat = ((o * 3 + i) * 3 + y) * 3 + x;
          cr_assert_eq(conv->wq[((o * 3 + y) * 3 + x) * 3 + i], (flat * 7) % 15 - 7);
        }
  }
  cr_assert_eq(m->layers[2].type, hwt_layer_dequantize);
  cr_assert_eq(fc->type, hwt_layer_fc);
  cr_assert(fc->q8);
  cr_assert_eq(fc->oq.zero_point, 100 - 128);
  cr_assert_eq(fc->bq[2], 5);
  cr_assert_eq(m->layers[6].type, hwt_layer_dequantize);
  cr_assert_eq(m->precision, hwt_prec_int8);

  cr_assert_eq(hwt_engine_global_init(err, sizeof err), hwt_status_ok, "%s", err);
  hwt_model *f = load(FIX "qdq_float.onnx");
  float x[3 * 36], y8[5], yf[5];
  for (int i = 0; i < 3 * 36; i++) x[i] = (float) ((i * 29) % 41) / 41.0f * 4.0f - 1.0f;
  const float *ins[1] = {x};
  float *o8[1] = {y8}, *of[1] = {yf};
  hwt_engine *e8 = NULL, *ef = NULL;
  cr_assert_eq(hwt_engine_create(m, 1, NULL, &e8, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_engine_create(f, 1, NULL, &ef, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_engine_run_io(e8, ins, o8, NULL), hwt_status_ok);
  cr_assert_eq(hwt_engine_run_io(ef, ins, of, NULL), hwt_status_ok);
  for (int i = 0; i < 5; i++) {
    cr_assert_float_eq(y8[i], yf[i], 0.12, "output %d: int8 %g, float %g", i, y8[i], yf[i]);
    float steps = y8[i] / 0.04f;
    cr_assert_float_eq(steps, roundf(steps), 1e-3, "output %d is on the output grid", i);
  }
  hwt_engine_destroy(e8);
  hwt_engine_destroy(ef);
  hwt_model_free(f);
  hwt_model_free(m);
}
