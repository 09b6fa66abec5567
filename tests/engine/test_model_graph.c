/* SPDX-License-Identifier: Apache-2.0 */
/* The graph: shape inference per node type, hwt_model_finalize's defaults and its rules (each refusal with its
 * message), value accessors and the layout conversions at the graph's boundary. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"

/* A model of n parameter-free nodes (relu), input [h, w, c]; tests change the nodes they need. */
static hwt_model *mk(size_t n, uint32_t h, uint32_t w, uint32_t c) {
  hwt_model *m = hwt_rt_calloc(1, sizeof(*m));
  cr_assert_not_null(m);
  m->layers = hwt_rt_calloc(n, sizeof(hwt_layer));
  cr_assert_not_null(m->layers);
  m->nlayers = n;
  snprintf(m->name, sizeof(m->name), "t");
  m->input = (hwt_shape){h, w, c};
  for (size_t i = 0; i < n; i++) {
    snprintf(m->layers[i].name, HWT_LAYER_NAME_MAX, "n%zu", i);
    m->layers[i].type = hwt_layer_relu;
  }
  return m;
}

static float *params(size_t n) {
  float *p = hwt_rt_calloc(n ? n : 1, sizeof(float));
  cr_assert_not_null(p);
  return p;
}

static void conv(hwt_layer *l, uint32_t outputs, uint32_t k, uint32_t s, uint32_t pad, uint32_t groups,
                 uint32_t dil, size_t cin) {
  l->type = hwt_layer_conv;
  l->outputs = outputs;
  l->kh = l->kw = k;
  l->sh = l->sw = s;
  l->pad_t = l->pad_r = l->pad_b = l->pad_l = pad;
  l->groups = groups;
  l->dh = l->dw = dil;
  l->w = params((size_t) outputs * k * k * cin / (groups ? groups : 1));
  l->b = params(outputs);
}

static void expect_err(hwt_model *m, const char *needle) {
  char err[1024] = "";
  hwt_status st = hwt_model_finalize(m, "g.json", err, sizeof(err));
  cr_assert_eq(st, hwt_status_schema_error, "status %s (%s), want a schema error with '%s'", hwt_status_string(st),
               err, needle);
  cr_assert(strncmp(err, "g.json: ", 8) == 0, "message names the file: %s", err);
  cr_assert(strstr(err, needle) != NULL, "message has '%s': %s", needle, err);
  hwt_model_free(m);
}

static void expect_ok(hwt_model *m) {
  char err[1024] = "";
  cr_assert_eq(hwt_model_finalize(m, "g.json", err, sizeof(err)), hwt_status_ok, "%s", err);
}

Test(graph, defaults_sequential) {
  hwt_model *m = mk(3, 4, 4, 2);
  expect_ok(m);
  cr_assert_eq(m->ninputs, 1);
  cr_assert_eq(m->noutputs, 1);
  cr_assert_eq(m->outputs[0].value, 2);
  cr_assert_str_eq(m->outputs[0].name, "n2");
  cr_assert_str_eq(m->inputs[0].name, "input");
  cr_assert_eq(m->layers[0].inputs[0], HWT_INPUT_ID(0));
  cr_assert_eq(m->layers[2].inputs[0], 1);
  cr_assert_eq(m->layers[2].nin, 1);
  cr_assert_eq(hwt_model_input_size(m, 0), 32);
  cr_assert_eq(hwt_model_output_size(m, 0), 32);
  cr_assert_eq(hwt_model_input_size(m, 1), 0);
  hwt_model_free(m);
}

Test(graph, add_without_second_input_refused) {
  /* nin == 0 defaults to the previous node only: an add built without its second input (the old `from`
   * field is gone) is refused, not silently read as x + x. */
  hwt_model *m = mk(3, 2, 2, 3);
  m->layers[2].type = hwt_layer_add;
  char err[512] = "";
  cr_assert_neq(hwt_model_finalize(m, "g", err, sizeof(err)), hwt_status_ok);
  cr_assert(strstr(err, "node 2") != NULL && strstr(err, "needs 2") != NULL, "%s", err);
  hwt_model_free(m);
}

Test(graph, conv_groups_dilation) {
  hwt_model *m = mk(1, 10, 9, 4);
  conv(&m->layers[0], 6, 3, 2, 1, 2, 2, 4); /* (10 + 2 - 2*2 - 1) / 2 + 1 = 4; (9 + 2 - 5) / 2 + 1 = 4 */
  expect_ok(m);
  cr_assert_eq(m->layers[0].out.h, 4);
  cr_assert_eq(m->layers[0].out.w, 4);
  cr_assert_eq(m->layers[0].out.c, 6);
  cr_assert_eq(hwt_layer_weight_count(&m->layers[0]), 6 * 3 * 3 * 2);
  cr_assert_float_eq(hwt_layer_flops(&m->layers[0]), 2.0 * 16 * 6 * 9 * 2, 1e-9);
  hwt_model_free(m);
}

Test(graph, conv_groups_must_divide) {
  hwt_model *m = mk(1, 4, 4, 4);
  conv(&m->layers[0], 6, 1, 1, 0, 4, 1, 4);
  expect_err(m, "node 0 'n0' (conv2d): groups 4 must divide the input channels 4 and the outputs 6");
}

Test(graph, pool_ceil_mode) {
  /* 6 wide, kernel 3, stride 2: floor 2, ceil 3 (last window starts at 4 < 6). */
  hwt_model *m = mk(2, 6, 6, 1);
  hwt_layer *p = &m->layers[0];
  p->type = hwt_layer_maxpool;
  p->kh = p->kw = 3;
  p->sh = p->sw = 2;
  p->ceil_mode = true;
  m->layers[1] = *p;
  m->layers[1].ceil_mode = false;
  snprintf(m->layers[1].name, HWT_LAYER_NAME_MAX, "n1");
  expect_ok(m);
  cr_assert_eq(m->layers[0].out.w, 3);
  cr_assert_eq(m->layers[1].out.w, 1); /* 3 -> floor((3 - 3) / 2) + 1 */
  hwt_model_free(m);
}

Test(graph, pool_ceil_mode_last_window_inside) {
  /* 5 wide, pad 1+1, kernel 2, stride 2: (7 - 2) / 2 = 2.5 -> ceil 4 windows would start at 6 >= 5 + 1: 3. */
  hwt_model *m = mk(1, 5, 5, 1);
  hwt_layer *p = &m->layers[0];
  p->type = hwt_layer_avgpool;
  p->kh = p->kw = 2;
  p->sh = p->sw = 2;
  p->pad_t = p->pad_l = p->pad_b = p->pad_r = 1;
  p->ceil_mode = true;
  expect_ok(m);
  cr_assert_eq(m->layers[0].out.h, 3);
  hwt_model_free(m);
}

Test(graph, concat_channels) {
  hwt_model *m = mk(3, 2, 2, 3);
  m->layers[1].nin = 1;
  m->layers[1].inputs[0] = HWT_INPUT_ID(0);
  hwt_layer *c = &m->layers[2];
  c->type = hwt_layer_concat;
  c->nin = 3;
  c->inputs[0] = 0;
  c->inputs[1] = 1;
  c->inputs[2] = HWT_INPUT_ID(0);
  expect_ok(m);
  cr_assert_eq(c->out.c, 9);
  cr_assert_eq(c->out.h, 2);
  hwt_model_free(m);
}

Test(graph, concat_spatial_mismatch) {
  hwt_model *m = mk(3, 4, 4, 3);
  hwt_layer *p = &m->layers[0];
  p->type = hwt_layer_maxpool;
  p->kh = p->kw = p->sh = p->sw = 2;
  hwt_layer *c = &m->layers[2];
  c->type = hwt_layer_concat;
  c->nin = 2;
  c->inputs[0] = 1;
  c->inputs[1] = HWT_INPUT_ID(0);
  expect_err(m, "node 2 'n2' (concat): input 1 (graph input 0 'input') is 4x4, input 0 is 2x2");
}

Test(graph, binary_broadcast) {
  hwt_model *m = mk(3, 4, 4, 8);
  m->layers[0].type = hwt_layer_gavgpool;
  hwt_layer *b = &m->layers[2];
  b->type = hwt_layer_mul;
  b->nin = 2;
  b->inputs[0] = HWT_INPUT_ID(0);
  b->inputs[1] = 1; /* (1, 1, 8) per channel */
  expect_ok(m);
  cr_assert_eq(b->out.h, 4);
  cr_assert_eq(b->out.c, 8);
  hwt_model_free(m);
}

Test(graph, binary_shapes_differ) {
  hwt_model *m = mk(2, 4, 4, 8);
  m->layers[0].type = hwt_layer_gavgpool;
  hwt_layer *b = &m->layers[1];
  b->type = hwt_layer_sub;
  b->nin = 2;
  b->inputs[0] = 0;
  b->inputs[1] = HWT_INPUT_ID(0);
  expect_err(m, "node 1 'n1' (sub): shapes differ: [1,1,8] and [4,4,8] from graph input 0 'input'");
}

Test(graph, binary_constant) {
  hwt_model *m = mk(1, 4, 4, 8);
  hwt_layer *b = &m->layers[0];
  b->type = hwt_layer_div;
  b->const_first = true;
  b->wshape = (hwt_shape){1, 1, 8};
  b->w = params(8);
  expect_ok(m);
  cr_assert_eq(hwt_layer_weight_count(b), 8);
  cr_assert_eq(hwt_layer_param_bytes(b, hwt_prec_fp32), 32);
  hwt_model_free(m);
}

Test(graph, binary_constant_bad_broadcast) {
  hwt_model *m = mk(1, 4, 4, 8);
  hwt_layer *b = &m->layers[0];
  b->type = hwt_layer_add;
  b->wshape = (hwt_shape){1, 1, 3};
  b->w = params(3);
  expect_err(m, "node 0 'n0' (add): constant of shape [1, 1, 3] does not broadcast to [4, 4, 8]");
}

Test(graph, binary_arity) {
  hwt_model *m = mk(2, 4, 4, 8);
  hwt_layer *b = &m->layers[1];
  b->type = hwt_layer_mul;
  b->nin = 1;
  b->inputs[0] = 0;
  expect_err(m, "node 1 'n1' (mul): 1 inputs and no constant operand (needs 2)");
}

Test(graph, input_not_earlier) {
  hwt_model *m = mk(3, 4, 4, 8);
  m->layers[1].nin = 1;
  m->layers[1].inputs[0] = 2;
  expect_err(m, "node 1 'n1' (relu): input 0 is value 2, not an earlier node");
}

Test(graph, input_unknown_graph_input) {
  hwt_model *m = mk(1, 4, 4, 8);
  m->layers[0].nin = 1;
  m->layers[0].inputs[0] = HWT_INPUT_ID(1);
  expect_err(m, "node 0 'n0' (relu): input 0 is graph input 1, but the graph has 1");
}

Test(graph, too_many_inputs) {
  hwt_model *m = mk(1, 4, 4, 8);
  m->layers[0].nin = HWT_NODE_MAX_INPUTS + 1;
  expect_err(m, "node 0 'n0' (relu): 17 data inputs (1 to 16)");
}

Test(graph, unary_reads_one) {
  hwt_model *m = mk(2, 4, 4, 8);
  m->layers[1].nin = 2;
  m->layers[1].inputs[0] = 0;
  m->layers[1].inputs[1] = 0;
  expect_err(m, "node 1 'n1' (relu): 2 inputs (this type reads 1)");
}

Test(graph, params_missing) {
  hwt_model *m = mk(1, 4, 4, 8);
  m->layers[0].type = hwt_layer_fc;
  m->layers[0].outputs = 3;
  expect_err(m, "node 0 'n0' (fully_connected): parameters missing");
}

Test(graph, affine_params_missing) {
  hwt_model *m = mk(1, 4, 4, 8);
  m->layers[0].type = hwt_layer_affine;
  m->layers[0].w = params(8);
  expect_err(m, "node 0 'n0' (affine): parameters missing (scale and shift per channel)");
}

Test(graph, q8_needs_scale) {
  hwt_model *m = mk(1, 4, 4, 8);
  m->layers[0].q8 = true;
  expect_err(m, "node 0 'n0' (relu): int8 output needs a finite scale > 0");
}

Test(graph, q8_not_for_sigmoid) {
  hwt_model *m = mk(1, 4, 4, 8);
  m->layers[0].type = hwt_layer_sigmoid;
  m->layers[0].q8 = true;
  m->layers[0].oq = (hwt_qparams){0.1f, 0};
  expect_err(m, "node 0 'n0' (sigmoid): int8 output is not supported for this type");
}

Test(graph, int8_weights_need_scales) {
  hwt_model *m = mk(1, 1, 1, 4);
  hwt_layer *l = &m->layers[0];
  l->type = hwt_layer_fc;
  l->outputs = 2;
  l->wq = hwt_rt_calloc(8, 1);
  l->bq = hwt_rt_calloc(2, 4);
  expect_err(m, "node 0 'n0' (fully_connected): int8 weights need int32 biases and per-channel weight scales");
}

Test(graph, dequantize_needs_int8_input) {
  hwt_model *m = mk(1, 4, 4, 8);
  m->layers[0].type = hwt_layer_dequantize;
  expect_err(m, "node 0 'n0' (dequantize): its input graph input 0 'input' is not int8");
}

Test(graph, quantize_is_q8) {
  hwt_model *m = mk(2, 4, 4, 8);
  m->layers[0].type = hwt_layer_quantize;
  m->layers[0].q8 = true;
  m->layers[0].oq = (hwt_qparams){0.05f, -3};
  m->layers[1].type = hwt_layer_dequantize;
  expect_ok(m);
  cr_assert(hwt_model_value_q8(m, 0));
  cr_assert(!hwt_model_value_q8(m, 1));
  cr_assert_eq(hwt_model_value_q(m, 0).zero_point, -3);
  hwt_model_free(m);
  m = mk(1, 4, 4, 8);
  m->layers[0].type = hwt_layer_quantize;
  expect_err(m, "node 0 'n0' (quantize): a quantize node outputs int8");
}

Test(graph, reshape_counts) {
  hwt_model *m = mk(1, 4, 4, 8);
  m->layers[0].type = hwt_layer_reshape;
  m->layers[0].out = (hwt_shape){1, 1, 128};
  m->layers[0].rank = 2;
  expect_ok(m);
  cr_assert_eq(m->outputs[0].rank, 2);
  char dims[64];
  hwt_model_value_dims_string(m, 0, dims, sizeof dims);
  cr_assert_str_eq(dims, "[N, 128]");
  hwt_model_free(m);
  m = mk(1, 4, 4, 8);
  m->layers[0].type = hwt_layer_reshape;
  m->layers[0].out = (hwt_shape){1, 1, 100};
  expect_err(m, "node 0 'n0' (reshape): output [1, 1, 100] holds 100 elements, the input [4, 4, 8] 128");
}

Test(graph, rank_must_fit) {
  hwt_model *m = mk(1, 4, 4, 8);
  m->layers[0].rank = 2;
  expect_err(m, "node 0 'n0' (relu): output [4, 4, 8] does not fit rank 2");
  m = mk(1, 4, 4, 8);
  m->layers[0].rank = 5;
  expect_err(m, "node 0 'n0' (relu): rank 5 (0 to 4)");
}

Test(graph, outputs_must_exist) {
  hwt_model *m = mk(2, 4, 4, 8);
  m->noutputs = 1;
  m->outputs[0].value = 2;
  snprintf(m->outputs[0].name, HWT_IO_NAME_MAX, "y");
  expect_err(m, "graph output 0 'y': value 2 does not exist");
}

Test(graph, multi_io) {
  hwt_model *m = mk(3, 2, 3, 4);
  m->ninputs = 2;
  m->inputs[0].shape = (hwt_shape){2, 3, 4};
  m->inputs[0].rank = 4;
  m->inputs[1].shape = (hwt_shape){1, 1, 4};
  m->inputs[1].rank = 2;
  snprintf(m->inputs[1].name, HWT_IO_NAME_MAX, "bias");
  hwt_layer *a = &m->layers[1];
  a->type = hwt_layer_add;
  a->nin = 2;
  a->inputs[0] = 0;
  a->inputs[1] = HWT_INPUT_ID(1);
  m->layers[0].rank = m->layers[1].rank = m->layers[2].rank = 4;
  m->noutputs = 2;
  m->outputs[0].value = 2;
  m->outputs[1].value = 0;
  expect_ok(m);
  cr_assert_eq(m->layers[1].out.w, 3);
  cr_assert_eq(hwt_model_input_size(m, 1), 4);
  cr_assert_eq(hwt_model_output_size(m, 1), 24);
  cr_assert_eq(m->outputs[1].rank, 4);
  cr_assert_str_eq(m->outputs[1].name, "n0");
  char dims[64];
  m->fixed_batch = 5;
  hwt_model_value_dims_string(m, 2, dims, sizeof dims);
  cr_assert_str_eq(dims, "[5, 4, 2, 3]");
  hwt_model_value_dims_string(m, HWT_INPUT_ID(1), dims, sizeof dims);
  cr_assert_str_eq(dims, "[5, 4]");
  hwt_model_free(m);
}

Test(graph, layouts) {
  /* rank 4, 2 samples of C=2, H=2, W=3: internal [H][W][C]. */
  hwt_shape s = {2, 3, 2};
  float ext[24], in[24], back[24];
  for (int i = 0; i < 24; i++) ext[i] = (float) i;
  hwt_layout_to_internal(s, 4, 2, ext, in);
  /* sample 1, h 1, w 2, c 1: external index 12 + 1*6 + 1*3 + 2 = 23 */
  cr_assert_float_eq(in[12 + (1 * 3 + 2) * 2 + 1], 23.0f, 0);
  cr_assert_float_eq(in[1], 6.0f, 0); /* h 0, w 0, c 1 */
  hwt_layout_to_external(s, 4, 2, in, back);
  cr_assert_arr_eq(back, ext, sizeof ext);
  /* rank 3 [C][L] */
  hwt_shape r3 = {1, 3, 2};
  hwt_layout_to_internal(r3, 3, 1, ext, in);
  cr_assert_float_eq(in[1], 3.0f, 0);
  /* a copy for rank 2 and for h * w == 1 */
  hwt_layout_to_internal(s, 2, 1, ext, in);
  cr_assert_arr_eq(in, ext, 12 * sizeof(float));
  hwt_layout_to_internal((hwt_shape){1, 1, 12}, 4, 1, ext, in);
  cr_assert_arr_eq(in, ext, 12 * sizeof(float));
}

Test(graph, clip_bounds) {
  hwt_model *m = mk(1, 4, 4, 8);
  m->layers[0].type = hwt_layer_clip;
  m->layers[0].alpha = 6;
  m->layers[0].beta = 0;
  expect_err(m, "node 0 'n0' (clip): bounds [6, 0] must be ordered numbers");
}

Test(graph, window_checks) {
  hwt_model *m = mk(1, 4, 4, 8);
  conv(&m->layers[0], 2, 3, 1, 0, 1, 3, 8); /* effective kernel 7 > 4 */
  expect_err(m, "node 0 'n0' (conv2d): kernel 7x7 is larger than the padded input 4x4");
  m = mk(1, 4, 4, 8);
  m->layers[0].type = hwt_layer_maxpool;
  m->layers[0].kh = m->layers[0].kw = 2;
  expect_err(m, "node 0 'n0' (max_pool2d): kernel and stride must be >= 1");
}

Test(graph, generators_finalized) {
  hwt_model *m = NULL;
  cr_assert_eq(hwt_model_gen_mobilenet(1, &m), hwt_status_ok);
  cr_assert_eq(m->ninputs, 1);
  cr_assert_eq(m->noutputs, 1);
  cr_assert_eq(m->outputs[0].value, (int) m->nlayers - 1);
  cr_assert_eq(m->layers[5].inputs[0], 4);
  cr_assert_eq(m->layers[5].nin, 1);
  hwt_model_free(m);
}

/* hwt_model_open: names of generators, ".onnx" paths to the importer (batch 1), anything else to the JSON loader. */
Test(graph, open_dispatch) {
  hwt_model *m = NULL;
  char err[1024] = "";
  const char *relu = "/usr/share/libonnx-testdata/data/node/test_relu/model.onnx";
  cr_assert_eq(hwt_model_open(relu, &m, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(m->nlayers, 1);
  cr_assert_eq(m->layers[0].type, hwt_layer_relu);
  cr_assert_eq(m->noutputs, 1);
  hwt_model_free(m);
  m = NULL;
  cr_assert_neq(hwt_model_open("/nonexistent/m.onnx", &m, err, sizeof err), hwt_status_ok);
  cr_assert_null(m);
  cr_assert(strstr(err, "/nonexistent/m.onnx") != NULL, "%s", err);
  cr_assert_neq(hwt_model_open(HWTUNE_FIXTURES "/models/tiny.bin", &m, err, sizeof err), hwt_status_ok);
  cr_assert(strstr(err, "not valid JSON") != NULL, "a non-.onnx path goes to the JSON loader: %s", err);
  cr_assert_eq(hwt_model_open("mlp", &m, err, sizeof err), hwt_status_ok, "%s", err);
  hwt_model_free(m);
}

/* Parameter counts, bytes and flops per type. */
Test(graph, counts_and_flops) {
  hwt_model *m = mk(6, 8, 8, 4);
  hwt_layer *dw = &m->layers[0], *af = &m->layers[1], *cst = &m->layers[2], *cc = &m->layers[3], *sg = &m->layers[4],
            *rs = &m->layers[5];
  dw->type = hwt_layer_dwconv;
  dw->kh = dw->kw = 3, dw->sh = dw->sw = 1, dw->dh = dw->dw = 2, dw->pad_t = dw->pad_l = dw->pad_b = dw->pad_r = 2;
  dw->w = params(36), dw->b = params(4);
  af->type = hwt_layer_affine, af->w = params(4), af->b = params(4);
  cst->type = hwt_layer_mul, cst->wshape = (hwt_shape){8, 1, 4}, cst->w = params(32);
  cc->type = hwt_layer_concat, cc->nin = 2, cc->inputs[0] = 2, cc->inputs[1] = 1;
  sg->type = hwt_layer_sigmoid;
  rs->type = hwt_layer_reshape, rs->out = (hwt_shape){1, 1, 512};
  expect_ok(m);
  cr_assert_eq(hwt_layer_weight_count(dw), 36);
  cr_assert_eq(hwt_layer_bias_count(dw), 4);
  cr_assert_eq(hwt_layer_param_bytes(dw, hwt_prec_int8), 36 + 4 * 8);
  cr_assert_float_eq(hwt_layer_flops(dw), 2.0 * 256 * 9, 1e-9);
  cr_assert_eq(hwt_layer_weight_count(af), 4);
  cr_assert_eq(hwt_layer_bias_count(af), 4);
  cr_assert_eq(hwt_layer_param_bytes(af, hwt_prec_int8), 32, "affine stays float in an int8 model");
  cr_assert_float_eq(hwt_layer_flops(af), 2.0 * 256, 1e-9);
  cr_assert_eq(hwt_layer_weight_count(cst), 32);
  cr_assert_eq(hwt_layer_bias_count(cst), 0);
  cr_assert_eq(hwt_layer_param_bytes(cst, hwt_prec_fp32), 128);
  cr_assert_float_eq(hwt_layer_flops(cst), 256, 1e-9);
  cr_assert_eq(cc->out.c, 8);
  cr_assert_eq(hwt_layer_weight_count(cc), 0);
  cr_assert_float_eq(hwt_layer_flops(sg), 512, 1e-9);
  cr_assert_float_eq(hwt_layer_flops(rs), 0, 1e-9);
  hwt_model_free(m);
}

Test(graph, bad_activation_value) {
  hwt_model *m = mk(1, 1, 1, 4);
  hwt_layer *l = &m->layers[0];
  l->type = hwt_layer_fc, l->outputs = 2, l->w = params(8), l->b = params(2);
  l->act = (hwt_act) 7;
  expect_err(m, "node 0 'n0' (fully_connected): unknown activation 7");
}

/* Generated inputs are in the external layout of input 0: the same values, channels first for rank 4. */
Test(graph, gen_inputs_external_layout) {
  hwt_model *m = mk(1, 3, 5, 2);
  expect_ok(m);
  float nhwc[30], nchw[30], back[30];
  hwt_model_gen_inputs(m, 4, 1, nhwc);
  m->inputs[0].rank = 4;
  hwt_model_gen_inputs(m, 4, 1, nchw);
  hwt_layout_to_internal(m->inputs[0].shape, 4, 1, nchw, back);
  cr_assert_arr_eq(back, nhwc, sizeof nhwc);
  cr_assert(memcmp(nchw, nhwc, sizeof nhwc) != 0);
  hwt_model_free(m);
}
