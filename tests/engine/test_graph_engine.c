/* SPDX-License-Identifier: Apache-2.0 */
/* The graph engine against the reference, node type by node type and attribute by attribute, on small graphs
 * built in C: fp32 within 1e-5 relative (of the element, or of the output's largest magnitude for elements
 * near zero), int8 within one quantization step where XNNPACK rounds (exact for the native int8 loops).
 * Also: residuals, concats, SE-style products, implicit int8 <-> float conversions, multi-input / multi-output
 * graphs, the NCHW boundary, the memory plan and no allocation per run. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_internal.h"

#define RTOL 1e-5

static uint64_t rng = 88172645463325252ull;
static float frand(float lo, float hi) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return lo + (hi - lo) * (float) ((rng >> 11) * (1.0 / 9007199254740992.0));
}

static float *rnd(size_t n, float lo, float hi) {
  float *p = hwt_rt_alloc((n ? n : 1) * sizeof(float));
  cr_assert_not_null(p);
  for (size_t i = 0; i < n; i++) p[i] = frand(lo, hi);
  return p;
}

/* A model of n nodes (identity until a test sets them) with one input [h, w, c] of logical rank `rank`. */
static hwt_model *mk(size_t n, uint32_t h, uint32_t w, uint32_t c, uint8_t rank) {
  hwt_model *m = hwt_rt_calloc(1, sizeof(*m));
  cr_assert_not_null(m);
  m->layers = hwt_rt_calloc(n, sizeof(hwt_layer));
  cr_assert_not_null(m->layers);
  m->nlayers = n;
  snprintf(m->name, sizeof(m->name), "g");
  m->input = (hwt_shape){h, w, c};
  m->ninputs = 1;
  m->inputs[0].shape = m->input;
  m->inputs[0].rank = rank;
  for (size_t i = 0; i < n; i++) {
    snprintf(m->layers[i].name, HWT_LAYER_NAME_MAX, "n%zu", i);
    m->layers[i].type = hwt_layer_identity;
    m->layers[i].rank = rank;
  }
  return m;
}

static hwt_layer *node(hwt_model *m, size_t i, hwt_layer_type t, int nin, const int *inputs) {
  hwt_layer *l = &m->layers[i];
  l->type = t;
  l->nin = nin;
  for (int j = 0; j < nin; j++) l->inputs[j] = inputs[j];
  return l;
}
#define IN(...) ((const int[]){__VA_ARGS__})

static void conv_params(hwt_layer *l, hwt_layer_type t, uint32_t cout, uint32_t cin, uint32_t k, uint32_t s,
                        uint32_t pad, uint32_t groups, uint32_t dil) {
  l->type = t;
  l->outputs = cout;
  l->kh = l->kw = k;
  l->sh = l->sw = s;
  l->pad_t = l->pad_l = pad;
  l->pad_b = l->pad_r = pad ? pad - 1 + (k > 2) : 0; /* asymmetric when padded */
  l->groups = groups;
  l->dh = l->dw = dil;
  size_t nw = t == hwt_layer_dwconv ? (size_t) k * k * cin : (size_t) cout * k * k * cin / (groups ? groups : 1);
  l->w = rnd(nw, -0.5f, 0.5f);
  l->b = rnd(t == hwt_layer_dwconv ? cin : cout, -0.2f, 0.2f);
}

static void finalize(hwt_model *m) {
  char err[1024] = "";
  cr_assert_eq(hwt_model_finalize(m, "g", err, sizeof(err)), hwt_status_ok, "%s", err);
}

/* Engine (batch `batch`, `threads`) vs reference on every graph output; `steps` > 0: int8 outputs may differ
 * by that many quantization steps of the output value. Also: the plan is consistent, a second run allocates
 * nothing and gives the same outputs. Returns the largest relative difference seen. */
static double check(const hwt_model *m, size_t batch, unsigned threads, double steps) {
  char err[1024] = "";
  hwt_engine_options opt = {0};
  opt.threads = threads;
  hwt_engine *e = NULL;
  cr_assert_eq(hwt_engine_create(m, batch, &opt, &e, err, sizeof(err)), hwt_status_ok, "%s", err);
  size_t np;
  const hwt_plan_buf *plan = hwt_engine_plan(e, &np);
  cr_assert(hwt_plan_check(plan, np, hwt_engine_arena_bytes(e)), "overlapping live buffers in the plan");
  float *ins[HWT_GRAPH_MAX_IO] = {0}, *o1[HWT_GRAPH_MAX_IO] = {0}, *o2[HWT_GRAPH_MAX_IO] = {0};
  for (size_t k = 0; k < m->ninputs; k++) ins[k] = rnd(batch * hwt_model_input_size(m, k), -2.0f, 2.0f);
  for (size_t k = 0; k < m->noutputs; k++) {
    o1[k] = calloc(batch * hwt_model_output_size(m, k) + 1, sizeof(float));
    o2[k] = calloc(batch * hwt_model_output_size(m, k) + 1, sizeof(float));
  }
  cr_assert_eq(hwt_engine_run_io(e, (const float *const *) ins, o1, NULL), hwt_status_ok);
  hwt_mem_stats s0 = hwt_engine_mem_stats();
  cr_assert_eq(hwt_engine_run_io(e, (const float *const *) ins, o1, NULL), hwt_status_ok);
  hwt_mem_stats s1 = hwt_engine_mem_stats();
  cr_assert_eq(s1.allocations, s0.allocations, "a run allocated %zu times", s1.allocations - s0.allocations);
  cr_assert_eq(hwt_model_reference_io(m, batch, (const float *const *) ins, o2), hwt_status_ok);
  double worst = 0;
  for (size_t k = 0; k < m->noutputs; k++) {
    size_t n = batch * hwt_model_output_size(m, k);
    double mx = 0;
    for (size_t j = 0; j < n; j++) mx = fmax(mx, fabs(o2[k][j]));
    bool q8 = hwt_model_value_q8(m, m->outputs[k].value);
    double qs = hwt_model_value_q(m, m->outputs[k].value).scale;
    for (size_t j = 0; j < n; j++) {
      double a = o1[k][j], b = o2[k][j], d = fabs(a - b);
      if (isnan(a) || isnan(b)) {
        cr_assert(isnan(a) && isnan(b), "output %zu [%zu]: engine %g, reference %g", k, j, a, b);
        continue;
      }
      if (q8 && steps > 0) {
        cr_assert(d <= steps * qs * 1.0001, "output %zu [%zu]: engine %g, reference %g (> %g steps)", k, j, a, b,
                  steps);
      } else {
        cr_assert(d <= RTOL * (fabs(b) + mx) + 1e-30, "output %zu [%zu]: engine %.9g, reference %.9g", k, j, a, b);
      }
      worst = fmax(worst, d / (fabs(b) + mx + 1e-30));
    }
  }
  for (size_t k = 0; k < HWT_GRAPH_MAX_IO; k++) {
    hwt_rt_free(ins[k]);
    free(o1[k]);
    free(o2[k]);
  }
  hwt_engine_destroy(e);
  return worst;
}

static void check_all(hwt_model *m, double steps) {
  finalize(m);
  check(m, 1, 1, steps);
  check(m, 3, 2, steps);
  hwt_engine_native_ops = true; /* the same through ops.c's loops */
  check(m, 2, 1, steps);
  hwt_engine_native_ops = false;
  hwt_model_free(m);
}

/* ---- float nodes ---- */

Test(graph_engine, conv_dense_groups_dilation_strides_pads) {
  struct {
    uint32_t cin, cout, k, s, pad, groups, dil;
    hwt_act act;
  } cases[] = {
      {3, 8, 3, 1, 1, 1, 1, hwt_act_none}, {4, 6, 3, 2, 1, 2, 1, hwt_act_relu},  {8, 8, 3, 1, 2, 4, 2, hwt_act_relu6},
      {6, 9, 1, 1, 0, 3, 1, hwt_act_clip}, {5, 7, 5, 2, 3, 1, 2, hwt_act_none}, {4, 4, 3, 1, 1, 4, 3, hwt_act_clip},
      {16, 24, 1, 1, 0, 1, 1, hwt_act_relu},
  };
  for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
    hwt_model *m = mk(1, 11, 9, cases[t].cin, 4);
    hwt_layer *l = node(m, 0, hwt_layer_conv, 1, IN(HWT_INPUT_ID(0)));
    conv_params(l, hwt_layer_conv, cases[t].cout, cases[t].cin, cases[t].k, cases[t].s, cases[t].pad,
                cases[t].groups, cases[t].dil);
    l->act = cases[t].act;
    l->act_lo = -0.25f;
    l->act_hi = 0.3f;
    check_all(m, 0);
  }
}

Test(graph_engine, dwconv_dilation) {
  for (uint32_t dil = 1; dil <= 3; dil++) {
    hwt_model *m = mk(1, 10, 12, 5, 4);
    conv_params(node(m, 0, hwt_layer_dwconv, 1, IN(HWT_INPUT_ID(0))), hwt_layer_dwconv, 5, 5, 3, dil == 2 ? 2 : 1,
                dil, 0, dil);
    m->layers[0].act = dil == 3 ? hwt_act_relu6 : hwt_act_none;
    check_all(m, 0);
  }
}

Test(graph_engine, fc_on_flattened_input) {
  hwt_model *m = mk(2, 3, 4, 5, 0);
  hwt_layer *l = node(m, 0, hwt_layer_fc, 1, IN(HWT_INPUT_ID(0)));
  l->outputs = 7;
  l->w = rnd(7 * 60, -0.3f, 0.3f);
  l->b = rnd(7, -0.1f, 0.1f);
  l->act = hwt_act_clip;
  l->act_lo = -0.5f;
  l->act_hi = 0.5f;
  node(m, 1, hwt_layer_softmax, 1, IN(0));
  check_all(m, 0);
}

Test(graph_engine, pools_ceil_mode_count_include_pad) {
  for (int v = 0; v < 16; v++) {
    hwt_model *m = mk(1, 9, 8, 3, 4);
    hwt_layer *l = node(m, 0, v & 1 ? hwt_layer_avgpool : hwt_layer_maxpool, 1, IN(HWT_INPUT_ID(0)));
    l->kh = 3;
    l->kw = 2 + (v & 2) / 2;
    l->sh = 2;
    l->sw = v & 4 ? 3 : 2;
    l->pad_t = l->pad_l = v & 8 ? 1 : 0;
    l->pad_b = v & 8 ? 1 : 0;
    l->ceil_mode = (v & 4) != 0 || v == 2;
    l->count_include_pad = (v & 8) != 0 && (v & 1);
    check_all(m, 0);
  }
  hwt_model *m = mk(1, 7, 5, 6, 4);
  node(m, 0, hwt_layer_gavgpool, 1, IN(HWT_INPUT_ID(0)));
  check_all(m, 0);
}

Test(graph_engine, elementwise_nodes) {
  hwt_layer_type ts[] = {hwt_layer_relu,         hwt_layer_relu6,       hwt_layer_clip,  hwt_layer_leaky_relu,
                         hwt_layer_sigmoid,      hwt_layer_hard_sigmoid, hwt_layer_hard_swish, hwt_layer_tanh,
                         hwt_layer_affine,       hwt_layer_identity};
  for (size_t t = 0; t < sizeof(ts) / sizeof(ts[0]); t++) {
    hwt_model *m = mk(1, 4, 5, 6, 4);
    hwt_layer *l = node(m, 0, ts[t], 1, IN(HWT_INPUT_ID(0)));
    l->alpha = ts[t] == hwt_layer_clip ? -0.5f : 0.2f;
    l->beta = ts[t] == hwt_layer_clip ? 1.5f : 0.5f;
    if (ts[t] == hwt_layer_affine) {
      l->w = rnd(6, -2, 2);
      l->b = rnd(6, -1, 1);
    }
    check_all(m, 0);
  }
}

Test(graph_engine, binary_with_constants_broadcast_and_const_first) {
  hwt_layer_type ts[] = {hwt_layer_add, hwt_layer_sub, hwt_layer_mul, hwt_layer_div};
  hwt_shape ws[] = {{4, 5, 6}, {1, 1, 6}, {1, 1, 1}, {4, 1, 6}, {1, 5, 1}};
  for (size_t t = 0; t < 4; t++)
    for (size_t s = 0; s < 5; s++)
      for (int first = 0; first < 2; first++) {
        hwt_model *m = mk(1, 4, 5, 6, 4);
        hwt_layer *l = node(m, 0, ts[t], 1, IN(HWT_INPUT_ID(0)));
        l->wshape = ws[s];
        l->w = rnd(hwt_shape_size(ws[s]), 0.5f, 2.0f);
        l->const_first = first && (ts[t] == hwt_layer_sub || ts[t] == hwt_layer_div);
        check_all(m, 0);
      }
}

/* Residual add, SE block (gavgpool -> fc -> sigmoid -> per-channel mul), scalar mul of two values, div. */
Test(graph_engine, residual_and_se_block) {
  hwt_model *m = mk(8, 6, 6, 8, 4);
  conv_params(node(m, 0, hwt_layer_conv, 1, IN(HWT_INPUT_ID(0))), hwt_layer_conv, 8, 8, 3, 1, 1, 1, 1);
  m->layers[0].pad_b = m->layers[0].pad_r = 1;
  node(m, 1, hwt_layer_add, 2, IN(0, HWT_INPUT_ID(0)));
  node(m, 2, hwt_layer_gavgpool, 1, IN(1));
  hwt_layer *fc = node(m, 3, hwt_layer_fc, 1, IN(2));
  fc->outputs = 8;
  fc->w = rnd(64, -0.5f, 0.5f);
  fc->b = rnd(8, -0.1f, 0.1f);
  node(m, 4, hwt_layer_sigmoid, 1, IN(3));
  node(m, 5, hwt_layer_mul, 2, IN(1, 4));           /* per-channel (1, 1, C) */
  hwt_layer *r = node(m, 6, hwt_layer_reshape, 1, IN(3)); /* [N, 8] -> value (1, 1, 1)? no: keep 8 */
  r->type = hwt_layer_gavgpool;                      /* (1, 1, 8) -> (1, 1, 8) */
  node(m, 7, hwt_layer_sub, 2, IN(5, 6));
  check_all(m, 0);
}

Test(graph_engine, concat_of_three_branches) {
  hwt_model *m = mk(5, 7, 6, 4, 4);
  conv_params(node(m, 0, hwt_layer_conv, 1, IN(HWT_INPUT_ID(0))), hwt_layer_conv, 3, 4, 1, 1, 0, 1, 1);
  conv_params(node(m, 1, hwt_layer_conv, 1, IN(HWT_INPUT_ID(0))), hwt_layer_conv, 5, 4, 3, 1, 1, 1, 1);
  m->layers[1].pad_b = m->layers[1].pad_r = 1;
  hwt_layer *p = node(m, 2, hwt_layer_maxpool, 1, IN(HWT_INPUT_ID(0)));
  p->kh = p->kw = 3;
  p->sh = p->sw = 1;
  p->pad_t = p->pad_l = p->pad_b = p->pad_r = 1;
  node(m, 3, hwt_layer_concat, 3, IN(0, 1, 2));
  node(m, 4, hwt_layer_relu, 1, IN(3));
  check_all(m, 0);
}

Test(graph_engine, softmax_axes) {
  uint8_t axes[] = {0, HWT_AXIS_C, HWT_AXIS_H | HWT_AXIS_W, HWT_AXIS_W, HWT_AXIS_H | HWT_AXIS_W | HWT_AXIS_C};
  for (size_t a = 0; a < sizeof(axes); a++) {
    hwt_model *m = mk(1, 3, 4, 5, 4);
    node(m, 0, hwt_layer_softmax, 1, IN(HWT_INPUT_ID(0)))->axes = axes[a];
    check_all(m, 0);
  }
}

/* NCHW in and out: identity keeps the external layout; reshape to rank 2 is the NCHW flattening. */
Test(graph_engine, external_layout_and_reshape) {
  hwt_model *m = mk(3, 2, 3, 4, 4);
  node(m, 0, hwt_layer_identity, 1, IN(HWT_INPUT_ID(0)));
  hwt_layer *r = node(m, 1, hwt_layer_reshape, 1, IN(0));
  r->rank = 2;
  r->out = (hwt_shape){1, 1, 24};
  hwt_layer *r2 = node(m, 2, hwt_layer_reshape, 1, IN(1));
  r2->rank = 4;
  r2->out = (hwt_shape){4, 3, 2}; /* [N, 2, 4, 3] */
  m->noutputs = 3;
  for (int k = 0; k < 3; k++) m->outputs[k].value = k;
  finalize(m);
  char err[512];
  hwt_engine *e = NULL;
  cr_assert_eq(hwt_engine_create(m, 2, NULL, &e, err, sizeof(err)), hwt_status_ok, "%s", err);
  float x[48], o0[48], o1[48], o2[48];
  for (int i = 0; i < 48; i++) x[i] = (float) i;
  const float *ins[] = {x};
  float *outs[] = {o0, o1, o2};
  cr_assert_eq(hwt_engine_run_io(e, ins, outs, NULL), hwt_status_ok);
  for (int i = 0; i < 48; i++) {
    cr_assert_eq(o0[i], x[i], "identity [%d]: %g", i, o0[i]);
    cr_assert_eq(o1[i], x[i], "flatten [%d]: %g", i, o1[i]);
    cr_assert_eq(o2[i], x[i], "reshape back [%d]: %g", i, o2[i]);
  }
  hwt_engine_destroy(e);
  check(m, 2, 1, 0);
  hwt_model_free(m);
}

/* Two inputs (one rank 4, one rank 2), two outputs. */
Test(graph_engine, multi_input_multi_output) {
  hwt_model *m = mk(4, 5, 5, 3, 4);
  m->ninputs = 2;
  m->inputs[1].shape = (hwt_shape){1, 1, 3};
  m->inputs[1].rank = 2;
  conv_params(node(m, 0, hwt_layer_conv, 1, IN(HWT_INPUT_ID(0))), hwt_layer_conv, 3, 3, 3, 1, 1, 1, 1);
  m->layers[0].pad_b = m->layers[0].pad_r = 1;
  node(m, 1, hwt_layer_mul, 2, IN(0, HWT_INPUT_ID(1)));
  node(m, 2, hwt_layer_gavgpool, 1, IN(1));
  m->layers[2].rank = 2;
  node(m, 3, hwt_layer_add, 2, IN(2, HWT_INPUT_ID(1)));
  m->layers[3].rank = 2;
  m->noutputs = 2;
  m->outputs[0].value = 1;
  m->outputs[1].value = 3;
  check_all(m, 0);
}

/* ---- int8 ---- */

static void q8_weights(hwt_layer *l, size_t nw, size_t nb) {
  l->wq = hwt_rt_alloc(nw);
  l->bq = hwt_rt_alloc(nb * sizeof(int32_t));
  l->wscale = hwt_rt_alloc(nb * sizeof(float));
  for (size_t i = 0; i < nw; i++) l->wq[i] = (int8_t) (int) frand(-127.0f, 127.0f);
  for (size_t i = 0; i < nb; i++) {
    l->bq[i] = (int32_t) frand(-500.0f, 500.0f);
    l->wscale[i] = frand(0.002f, 0.006f);
  }
}

static void q8(hwt_layer *l, float scale, int zp) {
  l->q8 = true;
  l->oq = (hwt_qparams){scale, zp};
}

/* quantize -> int8 conv (groups, dilation) -> int8 relu / pools / add / concat / reshape -> dequantize, plus the
 * int8 classifier (float logits) and a q8 softmax. */
Test(graph_engine, int8_nodes) {
  hwt_model *m = mk(13, 8, 8, 4, 4);
  q8(node(m, 0, hwt_layer_quantize, 1, IN(HWT_INPUT_ID(0))), 0.02f, 3);
  hwt_layer *c = node(m, 1, hwt_layer_conv, 1, IN(0));
  c->outputs = 8;
  c->kh = c->kw = 3;
  c->sh = c->sw = 1;
  c->pad_t = c->pad_l = c->pad_b = c->pad_r = 2;
  c->dh = c->dw = 2;
  c->groups = 2;
  c->act = hwt_act_relu;
  q8_weights(c, 8 * 9 * 2, 8);
  q8(c, 0.05f, -20);
  q8(node(m, 2, hwt_layer_relu6, 1, IN(1)), 0.03f, -128);
  hwt_layer *mp = node(m, 3, hwt_layer_maxpool, 1, IN(2));
  mp->kh = mp->kw = 2;
  mp->sh = mp->sw = 2;
  mp->ceil_mode = true;
  q8(mp, 0.03f, -128);
  hwt_layer *ap = node(m, 4, hwt_layer_avgpool, 1, IN(2));
  ap->kh = ap->kw = 3;
  ap->sh = ap->sw = 2;
  ap->pad_t = ap->pad_l = 1;
  ap->count_include_pad = true;
  q8(ap, 0.025f, -100);
  q8(node(m, 5, hwt_layer_add, 2, IN(3, 4)), 0.04f, -5);
  q8(node(m, 6, hwt_layer_concat, 3, IN(3, 4, 5)), 0.04f, 0);
  q8(node(m, 7, hwt_layer_gavgpool, 1, IN(6)), 0.02f, -50);
  hwt_layer *r = node(m, 8, hwt_layer_reshape, 1, IN(7));
  r->rank = 2;
  r->out = (hwt_shape){1, 1, 24};
  q8(r, 0.02f, -50);
  hwt_layer *fc = node(m, 9, hwt_layer_fc, 1, IN(8));
  fc->outputs = 10;
  q8_weights(fc, 240, 10);
  fc->rank = 2;
  node(m, 10, hwt_layer_softmax, 1, IN(9))->rank = 2;
  node(m, 11, hwt_layer_softmax, 1, IN(6)); /* float softmax of an int8 value: dequantized first */
  node(m, 12, hwt_layer_dequantize, 1, IN(5));
  m->noutputs = 4;
  m->outputs[0].value = 10;
  m->outputs[1].value = 9;
  m->outputs[2].value = 11;
  m->outputs[3].value = 12;
  finalize(m);
  /* XNNPACK's requantization may round the conv one step apart; the steps then propagate (a few). */
  check(m, 1, 1, 3);
  check(m, 2, 2, 3);
  hwt_model_free(m);
}

/* float -> int8 reader and int8 -> float reader without explicit nodes: the engine converts with the
 * producer's params (here the conv's calibrated oq and the int8 relu's). */
Test(graph_engine, implicit_conversions) {
  hwt_model *m = mk(4, 6, 6, 3, 4);
  conv_params(node(m, 0, hwt_layer_conv, 1, IN(HWT_INPUT_ID(0))), hwt_layer_conv, 4, 3, 3, 1, 1, 1, 1);
  m->layers[0].pad_b = m->layers[0].pad_r = 1;
  m->layers[0].oq = (hwt_qparams){0.02f, 0}; /* calibrated, float output */
  q8(node(m, 1, hwt_layer_relu, 1, IN(0)), 0.02f, -128);
  node(m, 2, hwt_layer_sigmoid, 1, IN(1));
  hwt_layer *c = node(m, 3, hwt_layer_conv, 1, IN(1)); /* int8 conv reading the int8 relu */
  c->outputs = 2;
  c->kh = c->kw = 1;
  c->sh = c->sw = 1;
  q8_weights(c, 8, 2);
  q8(c, 0.01f, 0);
  m->noutputs = 2;
  m->outputs[0].value = 2;
  m->outputs[1].value = 3;
  finalize(m);
  check(m, 2, 1, 1);
  hwt_model_free(m);
}

/* An int8 input (hwtune's own int8 models): the float input is quantized once (NaN -> zero point). */
Test(graph_engine, int8_graph_input) {
  hwt_model *m = mk(2, 5, 5, 2, 4);
  m->inputs[0].q8 = true;
  m->inputs[0].q = (hwt_qparams){0.02f, 1};
  q8(node(m, 0, hwt_layer_relu, 1, IN(HWT_INPUT_ID(0))), 0.02f, -128);
  node(m, 1, hwt_layer_hard_swish, 1, IN(0));
  finalize(m);
  check(m, 3, 1, 0);
  hwt_model_free(m);
}

/* ---- the memory plan ---- */

Test(graph_engine, plan_reuses_memory_on_a_chain) {
  hwt_model *m = mk(12, 16, 16, 8, 4);
  for (size_t i = 0; i < 12; i++) node(m, i, i % 2 ? hwt_layer_relu : hwt_layer_tanh, 1, IN((int) i - 1))->nin = 1;
  m->layers[0].inputs[0] = HWT_INPUT_ID(0);
  finalize(m);
  char err[512];
  hwt_engine *e = NULL;
  cr_assert_eq(hwt_engine_create(m, 4, NULL, &e, err, sizeof(err)), hwt_status_ok, "%s", err);
  size_t value = 16 * 16 * 8 * 4 * 4;
  cr_assert_geq(hwt_engine_values_bytes(e), 13 * value);
  /* input, two live intermediates at a time, and the output (never reused) */
  cr_assert_leq(hwt_engine_arena_bytes(e), 4 * (value + 128), "arena %zu for a chain of 12 values of %zu",
                hwt_engine_arena_bytes(e), value);
  size_t np;
  const hwt_plan_buf *p = hwt_engine_plan(e, &np);
  cr_assert(hwt_plan_check(p, np, hwt_engine_arena_bytes(e)));
  for (size_t b = 0; b < np; b++) cr_assert_eq(p[b].offset % 64, 0);
  hwt_engine_destroy(e);
  hwt_engine_options opt = {0};
  opt.keep_values = true;
  cr_assert_eq(hwt_engine_create(m, 4, &opt, &e, err, sizeof(err)), hwt_status_ok, "%s", err);
  cr_assert_geq(hwt_engine_arena_bytes(e), hwt_engine_values_bytes(e), "keep_values: every value its own bytes");
  hwt_engine_destroy(e);
  check(m, 2, 1, 0);
  hwt_model_free(m);
}

/* hwt_plan_assign on hand-made intervals: overlapping lifetimes get disjoint bytes, disjoint ones share. */
Test(graph_engine, plan_assign_intervals) {
  hwt_plan_buf b[] = {{1000, 0, 2, 0}, {500, 1, 3, 0}, {1000, 3, 5, 0}, {200, 2, 2, 0}, {4000, 6, 6, 0}};
  size_t arena;
  cr_assert(hwt_plan_assign(b, 5, &arena));
  cr_assert(hwt_plan_check(b, 5, arena));
  cr_assert_eq(b[2].offset, b[0].offset, "buffer 2 reuses buffer 0's bytes (offsets %zu, %zu)", b[2].offset,
               b[0].offset);
  cr_assert_eq(arena, 4096, "arena %zu (4000 + the 64-byte pad, 64-aligned)", arena);
  b[1].offset = b[0].offset;
  cr_assert_not(hwt_plan_check(b, 5, arena), "the check finds two live buffers at one offset");
  hwt_plan_buf huge[] = {{SIZE_MAX - 10, 0, 0, 0}};
  cr_assert_not(hwt_plan_assign(huge, 1, &arena), "a size that overflows with its pad is refused");
}

/* The residual/concat graph with every value kept and with reuse give the same outputs. */
Test(graph_engine, keep_values_changes_nothing) {
  hwt_model *m = mk(6, 6, 6, 4, 4);
  conv_params(node(m, 0, hwt_layer_conv, 1, IN(HWT_INPUT_ID(0))), hwt_layer_conv, 4, 4, 1, 1, 0, 1, 1);
  node(m, 1, hwt_layer_relu, 1, IN(0));
  node(m, 2, hwt_layer_add, 2, IN(1, HWT_INPUT_ID(0)));
  node(m, 3, hwt_layer_tanh, 1, IN(2));
  node(m, 4, hwt_layer_concat, 3, IN(3, 1, 2));
  node(m, 5, hwt_layer_sigmoid, 1, IN(4));
  finalize(m);
  float x[144], a[432], b[432];
  for (int i = 0; i < 144; i++) x[i] = frand(-1, 1);
  char err[512];
  hwt_engine *e1 = NULL, *e2 = NULL;
  hwt_engine_options opt = {0};
  opt.keep_values = true;
  cr_assert_eq(hwt_engine_create(m, 1, NULL, &e1, err, sizeof(err)), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_engine_create(m, 1, &opt, &e2, err, sizeof(err)), hwt_status_ok, "%s", err);
  cr_assert_lt(hwt_engine_arena_bytes(e1), hwt_engine_arena_bytes(e2));
  cr_assert_eq(hwt_engine_run(e1, x, a, NULL), hwt_status_ok);
  cr_assert_eq(hwt_engine_run(e2, x, b, NULL), hwt_status_ok);
  cr_assert_eq(memcmp(a, b, sizeof(a)), 0);
  float l1[144], l2[432];
  hwt_engine_layer_output(e2, 2, 0, l1);
  hwt_engine_layer_output(e1, 5, 0, l2); /* graph output: valid without keep_values */
  for (int i = 0; i < 144; i++) cr_assert(isfinite(l1[i]));
  for (int i = 0; i < 432; i++) cr_assert(l2[i] > 0 && l2[i] < 1);
  hwt_engine_destroy(e1);
  hwt_engine_destroy(e2);
  hwt_model_free(m);
}

/* Which implementation runs each node: XNNPACK for conv and the elementwise ops it has, native otherwise
 * (and native everything with the test switch). */
Test(graph_engine, implementation_choices) {
  hwt_model *m = mk(5, 4, 4, 8, 4);
  conv_params(node(m, 0, hwt_layer_conv, 1, IN(HWT_INPUT_ID(0))), hwt_layer_conv, 8, 8, 1, 1, 0, 1, 1);
  node(m, 1, hwt_layer_add, 2, IN(0, HWT_INPUT_ID(0)));
  node(m, 2, hwt_layer_relu, 1, IN(1));
  node(m, 3, hwt_layer_gavgpool, 1, IN(2));
  node(m, 4, hwt_layer_sigmoid, 1, IN(3));
  finalize(m);
  hwt_impl want[2][5] = {{hwt_impl_xnnpack, hwt_impl_xnnpack, hwt_impl_native, hwt_impl_xnnpack, hwt_impl_xnnpack},
                         {hwt_impl_xnnpack, hwt_impl_native, hwt_impl_native, hwt_impl_native, hwt_impl_native}};
  for (int native = 0; native < 2; native++) {
    hwt_engine_native_ops = native;
    char err[512];
    hwt_engine *e = NULL;
    cr_assert_eq(hwt_engine_create(m, 1, NULL, &e, err, sizeof(err)), hwt_status_ok, "%s", err);
    for (size_t i = 0; i < 5; i++)
      cr_assert_eq(hwt_engine_layer_choice(e, i)->impl, want[native][i], "native=%d node %zu: %s", native, i,
                   hwt_impl_name(hwt_engine_layer_choice(e, i)->impl));
    hwt_engine_destroy(e);
  }
  hwt_engine_native_ops = false;
  hwt_model_free(m);
}

/* int8 weights with a float output (the classifier's path) for conv and dwconv too; an int8 fc with float
 * weights (computed in float, quantized after); identity and reshape that requantize. */
Test(graph_engine, int8_weight_float_output_and_requantize) {
  hwt_model *m = mk(7, 6, 6, 4, 4);
  m->inputs[0].q8 = true;
  m->inputs[0].q = (hwt_qparams){0.02f, -3};
  hwt_layer *c = node(m, 0, hwt_layer_conv, 1, IN(HWT_INPUT_ID(0)));
  c->outputs = 6;
  c->kh = c->kw = 3;
  c->sh = c->sw = 2;
  c->pad_t = c->pad_l = 1;
  c->act = hwt_act_clip;
  c->act_lo = -0.2f;
  c->act_hi = 0.4f;
  q8_weights(c, 6 * 9 * 4, 6); /* q8 false: float output */
  hwt_layer *d = node(m, 1, hwt_layer_dwconv, 1, IN(HWT_INPUT_ID(0)));
  d->kh = d->kw = 3;
  d->sh = d->sw = 1;
  d->pad_t = d->pad_l = d->pad_b = d->pad_r = 1;
  d->dh = d->dw = 1;
  q8_weights(d, 9 * 4, 4);
  hwt_layer *fc = node(m, 2, hwt_layer_fc, 1, IN(1)); /* reads the float dwconv output */
  fc->outputs = 5;
  fc->w = rnd(5 * 144, -0.2f, 0.2f);
  fc->b = rnd(5, -0.1f, 0.1f);
  fc->rank = 2;
  q8(fc, 0.01f, 2);
  q8(node(m, 3, hwt_layer_identity, 1, IN(2)), 0.013f, -7);
  hwt_layer *r = node(m, 4, hwt_layer_reshape, 1, IN(3));
  r->rank = 4;
  r->out = (hwt_shape){1, 1, 5};
  q8(r, 0.02f, 0);
  node(m, 5, hwt_layer_tanh, 1, IN(0));
  q8(node(m, 6, hwt_layer_relu, 1, IN(5)), 0.01f, -128); /* float tanh -> int8 relu: quantized with tanh's oq */
  m->layers[5].oq = (hwt_qparams){0.008f, 0};
  m->noutputs = 3;
  m->outputs[0].value = 4;
  m->outputs[1].value = 0;
  m->outputs[2].value = 6;
  finalize(m);
  check(m, 1, 1, 1);
  check(m, 3, 2, 1);
  hwt_model_free(m);
}

/* A model whose nodes name no inputs (never finalized) is refused by the engine and the reference, not run. */
Test(graph_engine, unfinalized_model_is_refused) {
  hwt_model *m = mk(2, 2, 2, 2, 0);
  m->layers[1].nin = 1;
  m->layers[1].inputs[0] = 0;
  m->layers[0].out = m->layers[1].out = m->input; /* nin stays 0 on node 0 */
  char err[512] = "";
  hwt_engine *e = NULL;
  cr_assert_eq(hwt_engine_create(m, 1, NULL, &e, err, sizeof(err)), hwt_status_invalid_argument);
  cr_assert_null(e);
  cr_assert(strstr(err, "layer 0 'n0'") != NULL, "%s", err);
  float x[8] = {0}, y[8];
  cr_assert_eq(hwt_model_reference(m, 1, x, y, NULL), hwt_status_invalid_argument);
  hwt_model_free(m);
}

/* An int8 node reading a float value that has no quantization params cannot be converted: refused at create. */
Test(graph_engine, int8_reader_of_unquantized_float_is_refused) {
  hwt_model *m = mk(2, 3, 3, 2, 4);
  node(m, 0, hwt_layer_tanh, 1, IN(HWT_INPUT_ID(0))); /* float, oq unset */
  q8(node(m, 1, hwt_layer_relu, 1, IN(0)), 0.01f, 0);
  finalize(m);
  char err[512] = "";
  hwt_engine *e = NULL;
  cr_assert_eq(hwt_engine_create(m, 1, NULL, &e, err, sizeof(err)), hwt_status_invalid_argument, "%s", err);
  cr_assert_null(e);
  cr_assert(strstr(err, "layer 1 'n1' (relu): reads int8, but its input 0 is float without quantization params") !=
                NULL,
            "%s", err);
  hwt_model_free(m);
}
