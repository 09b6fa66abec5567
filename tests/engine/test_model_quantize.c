/* SPDX-License-Identifier: Apache-2.0 */
/* hwt_model_quantize over graphs: which nodes become int8, the parameters they get, the classifier rule, and
 * that the int8 graph computes what the float graph does (through the reference). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"

#define FIX HWTUNE_FIXTURES "/models/"

static hwt_model *quantized(const hwt_model *fp, size_t ncal) {
  size_t n = hwt_model_input_size(fp, 0);
  float *cal = malloc(ncal * n * sizeof(float));
  cr_assert_not_null(cal);
  hwt_model_gen_inputs(fp, 3, ncal, cal);
  hwt_model *q = NULL;
  char err[512] = "";
  cr_assert_eq(hwt_model_quantize(fp, cal, ncal, &q, err, sizeof err), hwt_status_ok, "%s", err);
  free(cal);
  return q;
}

Test(model_quantize, graph_nodes) {
  hwt_model *fp = NULL, *q;
  char err[512] = "";
  cr_assert_eq(hwt_model_load(FIX "graph.json", &fp, err, sizeof err), hwt_status_ok, "%s", err);
  q = quantized(fp, 8);
  cr_assert_eq(q->precision, hwt_prec_int8);
  cr_assert(q->inputs[0].q8);
  cr_assert(!q->inputs[1].q8);
  cr_assert_eq(q->ninputs, 2);
  cr_assert_eq(q->noutputs, 2);
  for (size_t i = 0; i < q->nlayers; i++) {
    const hwt_layer *l = &q->layers[i];
    bool want = hwt_layer_type_q8_capable(l->type);
    cr_assert_eq(l->q8, want, "node %zu '%s' (%s)", i, l->name, hwt_layer_type_name(l->type));
    cr_assert(l->oq.scale > 0, "node %zu '%s' has calibrated params", i, l->name);
    bool weighted = l->type == hwt_layer_fc || l->type == hwt_layer_conv || l->type == hwt_layer_dwconv;
    cr_assert_eq(l->wq != NULL, weighted, "node %zu '%s'", i, l->name);
    if (weighted) cr_assert(l->bq != NULL && l->wscale != NULL && l->w == NULL && l->b == NULL);
  }
  /* affine and the constant operand keep their floats */
  cr_assert(memcmp(q->layers[5].w, fp->layers[5].w, 9 * sizeof(float)) == 0);
  cr_assert(memcmp(q->layers[6].w, fp->layers[6].w, 9 * sizeof(float)) == 0);
  /* max pool keeps its input's params (the constant add's, an int8 node); a float node's input (the sigmoid's) has
   * calibrated params too */
  cr_assert(q->layers[6].q8);
  cr_assert(!q->layers[2].q8 && q->layers[2].oq.scale > 0);
  cr_assert_eq(q->layers[7].oq.scale, q->layers[6].oq.scale);
  cr_assert_eq(q->layers[7].oq.zero_point, q->layers[6].oq.zero_point);
  /* the fc feeds an add, not only softmax outputs: not the classifier */
  cr_assert(q->layers[12].q8);
  /* the fc's int32 biases are in units of its input's scale (the reshape's) x its weight scales */
  const hwt_layer *fc = &q->layers[12];
  for (int c = 0; c < 3; c++) {
    double b = (double) fc->bq[c] * q->layers[11].oq.scale * fc->wscale[c];
    cr_assert(fabs(b - fp->layers[12].b[c]) <= 0.5 * q->layers[11].oq.scale * fc->wscale[c] + 1e-7, "bias %d", c);
  }
  /* the int8 graph agrees with the float graph on both outputs */
  size_t n0 = hwt_model_input_size(fp, 0), o0 = hwt_model_output_size(fp, 0), o1 = hwt_model_output_size(fp, 1);
  float *x = malloc(n0 * sizeof(float)), y[3] = {0}, *f0 = malloc(o0 * 4), *f1 = malloc(o1 * 4), *g0 = malloc(o0 * 4),
        *g1 = malloc(o1 * 4);
  hwt_model_gen_inputs(fp, 11, 1, x);
  const float *ins[2] = {x, y};
  float *fo[2] = {f0, f1}, *go[2] = {g0, g1};
  cr_assert_eq(hwt_model_reference_io(fp, 1, ins, fo), hwt_status_ok);
  cr_assert_eq(hwt_model_reference_io(q, 1, ins, go), hwt_status_ok);
  double e0 = 0, e1 = 0, r1 = 0;
  for (size_t k = 0; k < o0; k++) e0 = fmax(e0, fabs(f0[k] - g0[k]));
  for (size_t k = 0; k < o1; k++) e1 = fmax(e1, fabs(f1[k] - g1[k])), r1 = fmax(r1, fabs(f1[k]));
  cr_assert(e0 < 0.05, "softmax outputs differ by %g", e0);
  cr_assert(e1 < 0.1 * r1, "features differ by %g (range %g)", e1, r1);
  free(x);
  free(f0);
  free(f1);
  free(g0);
  free(g1);
  hwt_model_free(q);
  hwt_model_free(fp);
}

Test(model_quantize, classifier_rule) {
  hwt_model *fp = NULL;
  cr_assert_eq(hwt_model_gen_mlp(5, &fp), hwt_status_ok);
  hwt_model *q = quantized(fp, 4);
  cr_assert(q->layers[0].q8 && q->layers[1].q8);
  cr_assert(!q->layers[2].q8, "the fc before the final softmax keeps float logits");
  cr_assert(hwt_layer_float_logits(q, 2));
  cr_assert(!q->layers[3].q8);
  hwt_model_free(q);
  /* A classifier that is itself the output. */
  fp->nlayers = 3;
  fp->outputs[0].value = 2;
  snprintf(fp->outputs[0].name, HWT_IO_NAME_MAX, "fc3");
  q = quantized(fp, 2);
  cr_assert(!q->layers[2].q8);
  hwt_model_free(q);
  fp->nlayers = 4;
  hwt_model_free(fp);
}

Test(model_quantize, refuses) {
  hwt_model *fp = NULL, *q = NULL;
  char err[256] = "";
  cr_assert_eq(hwt_model_gen_mlp(5, &fp), hwt_status_ok);
  cr_assert_eq(hwt_model_quantize(fp, NULL, 1, &q, err, sizeof err), hwt_status_invalid_argument);
  cr_assert(strstr(err, "needs an fp32 model and at least one calibration input") != NULL, "%s", err);
  hwt_model *q8 = quantized(fp, 2);
  float x[784] = {0};
  cr_assert_eq(hwt_model_quantize(q8, x, 1, &q, err, sizeof err), hwt_status_invalid_argument);
  cr_assert_null(q);
  hwt_model_free(q8);
  hwt_model_free(fp);
}

Test(model_quantize, saved_int8_graph_reloads) {
  hwt_model *fp = NULL;
  char err[512] = "", dir[] = "/tmp/hwt_q_XXXXXX", path[64], bin[64];
  cr_assert_eq(hwt_model_load(FIX "graph.json", &fp, err, sizeof err), hwt_status_ok, "%s", err);
  hwt_model *q = quantized(fp, 4), *r = NULL;
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/q.json", dir);
  snprintf(bin, sizeof bin, "%s/q.bin", dir);
  cr_assert_eq(hwt_model_save(q, path, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_model_load(path, &r, err, sizeof err), hwt_status_ok, "%s", err);
  for (size_t i = 0; i < q->nlayers; i++) {
    cr_assert_eq(r->layers[i].q8, q->layers[i].q8, "node %zu", i);
    cr_assert_eq(r->layers[i].oq.scale, q->layers[i].oq.scale, "node %zu", i);
    cr_assert_eq(r->layers[i].wq != NULL, q->layers[i].wq != NULL, "node %zu", i);
  }
  cr_assert_eq(r->inputs[0].q.scale, q->inputs[0].q.scale);
  cr_assert(!r->inputs[1].q8);
  unlink(path);
  unlink(bin);
  rmdir(dir);
  hwt_model_free(r);
  hwt_model_free(q);
  hwt_model_free(fp);
}
