/* SPDX-License-Identifier: Apache-2.0 */
/* The ONNX exporter (onnx/export.c): the built-in models and the importer's fixtures, exported, imported back and
 * run through the engine, give bit-identical outputs to the original graph on the same input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnx.h"

#define FIX HWTUNE_FIXTURES "/onnx/"

static char err[4096];

static void tmp_path(char *buf, size_t len, const char *tag) {
  snprintf(buf, len, "/tmp/hwtune_export_%s_%ld.onnx", tag, (long) getpid());
}

/* Runs `m` on `batch` samples of every graph input (external layouts); returns output k (malloc'ed). */
static float *run(const hwt_model *m, size_t batch, float *const *ins, size_t k) {
  hwt_engine *e = NULL;
  cr_assert_eq(hwt_engine_create(m, batch, NULL, &e, err, sizeof err), hwt_status_ok, "%s", err);
  float *outs[HWT_GRAPH_MAX_IO];
  for (size_t j = 0; j < m->noutputs; j++) outs[j] = calloc(batch * hwt_model_output_size(m, j) + 1, sizeof(float));
  cr_assert_eq(hwt_engine_run_io(e, (const float *const *) ins, outs, NULL), hwt_status_ok);
  hwt_engine_destroy(e);
  for (size_t j = 0; j < m->noutputs; j++)
    if (j != k) free(outs[j]);
  return outs[k];
}

/* NHWC samples (a native rank-0 input) to NCHW. */
static void to_nchw(hwt_shape s, size_t batch, const float *src, float *dst) {
  size_t hw = (size_t) s.h * s.w;
  for (size_t b = 0; b < batch; b++)
    for (size_t p = 0; p < hw; p++)
      for (size_t c = 0; c < s.c; c++) dst[b * hw * s.c + c * hw + p] = src[b * hw * s.c + p * s.c + c];
}

static void roundtrip_builtin(hwt_model *orig, const char *tag) {
  cr_assert_eq(hwt_engine_global_init(err, sizeof err), hwt_status_ok, "%s", err);
  char path[256];
  tmp_path(path, sizeof path, tag);
  cr_assert_eq(hwt_onnx_export(orig, path, err, sizeof err), hwt_status_ok, "%s", err);
  hwt_onnx_options opt = {.batch = 2};
  hwt_model *back = NULL;
  cr_assert_eq(hwt_onnx_import(path, &opt, &back, err, sizeof err), hwt_status_ok, "%s", err);
  unlink(path);
  size_t batch = 2, n = hwt_model_input_size(orig, 0);
  float *x = malloc(batch * n * sizeof(float)), *xt = malloc(batch * n * sizeof(float));
  hwt_model_gen_inputs(orig, 7, batch, x);
  if (back->inputs[0].rank == 4)
    to_nchw(orig->input, batch, x, xt);
  else
    memcpy(xt, x, batch * n * sizeof(float));
  float *a = run(orig, batch, &x, 0), *b = run(back, batch, &xt, 0);
  size_t on = batch * hwt_model_output_size(orig, 0);
  cr_assert_eq(on, batch * hwt_model_output_size(back, 0));
  cr_assert_eq(memcmp(a, b, on * sizeof(float)), 0, "%s: outputs differ after the round trip", tag);
  free(a), free(b), free(x), free(xt);
  hwt_model_free(back);
}

Test(onnx_export, mobilenet_round_trip_bit_identical) {
  hwt_model *m = NULL;
  cr_assert_eq(hwt_model_gen_mobilenet(42, &m), hwt_status_ok);
  roundtrip_builtin(m, "mobilenet");
  hwt_model_free(m);
}

Test(onnx_export, mlp_round_trip_bit_identical) {
  hwt_model *m = NULL;
  cr_assert_eq(hwt_model_gen_mlp(42, &m), hwt_status_ok);
  roundtrip_builtin(m, "mlp");
  hwt_model_free(m);
}

/* Imported fixtures exported and imported again: the same nodes, the same outputs. */
Test(onnx_export, fixtures_round_trip) {
  cr_assert_eq(hwt_engine_global_init(err, sizeof err), hwt_status_ok, "%s", err);
  const char *names[] = {"conv_bn_relu", "dwconv_clip", "conv_groups", "flatten_gemm", "gap_flatten_gemm",
                         "matmul_add_softmax", "softmax_opset13", "pools", "residual_se_concat", "const_binary",
                         "bn_standalone_opset7", "unsorted_identity", "activations", "conv1d", "clip_general",
                         "reducemean", "squeeze_opset13"};
  for (size_t f = 0; f < sizeof names / sizeof names[0]; f++) {
    char src[512], path[256];
    snprintf(src, sizeof src, FIX "%s.onnx", names[f]);
    tmp_path(path, sizeof path, names[f]);
    hwt_model *a = NULL, *b = NULL;
    cr_assert_eq(hwt_onnx_import(src, NULL, &a, err, sizeof err), hwt_status_ok, "%s", err);
    cr_assert_eq(hwt_onnx_export(a, path, err, sizeof err), hwt_status_ok, "%s: %s", names[f], err);
    cr_assert_eq(hwt_onnx_import(path, NULL, &b, err, sizeof err), hwt_status_ok, "%s: %s", names[f], err);
    unlink(path);
    cr_assert_eq(a->nlayers, b->nlayers, "%s", names[f]);
    size_t batch = a->fixed_batch ? a->fixed_batch : 1;
    float *ins[HWT_GRAPH_MAX_IO];
    for (size_t k = 0; k < a->ninputs; k++) {
      size_t n = batch * hwt_model_input_size(a, k);
      ins[k] = malloc(n * sizeof(float));
      for (size_t i = 0; i < n; i++) ins[k][i] = (float) ((i * 37 + k * 11) % 23) / 7.0f - 1.5f;
    }
    for (size_t k = 0; k < a->noutputs; k++) {
      float *ya = run(a, batch, ins, k), *yb = run(b, batch, ins, k);
      size_t on = batch * hwt_model_output_size(a, k);
      cr_assert_eq(memcmp(ya, yb, on * sizeof(float)), 0, "%s: output %zu differs", names[f], k);
      free(ya), free(yb);
    }
    for (size_t k = 0; k < a->ninputs; k++) free(ins[k]);
    hwt_model_free(a), hwt_model_free(b);
  }
}

Test(onnx_export, refusals) {
  cr_assert_eq(hwt_onnx_export(NULL, "/tmp/x.onnx", err, sizeof err), hwt_status_invalid_argument);
  hwt_model *m = NULL;
  cr_assert_eq(hwt_onnx_import(FIX "conv_bn_relu.onnx", NULL, &m, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_neq(hwt_onnx_export(m, "/nonexistent/dir/x.onnx", err, sizeof err), hwt_status_ok);
  cr_assert(strstr(err, "/nonexistent/dir/x.onnx") != NULL, "%s", err);
  m->layers[0].type = hwt_layer_dequantize; /* int8 graphs are written as QDQ (test_quantize_export.c) */
  cr_assert_eq(hwt_onnx_export(m, "/tmp/x.onnx", err, sizeof err), hwt_status_unsupported);
  cr_assert(strstr(err, "quantize / dequantize nodes are not exported") != NULL, "%s", err);
  hwt_model_free(m);
}
