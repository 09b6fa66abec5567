/* SPDX-License-Identifier: Apache-2.0 */
/* The int8 classifier with float logits (engine.h, hwt_layer_float_logits) fed by an int8 global average pool,
 * whether the pool keeps ONNX's rank 4 ([N, C, 1, 1]) or flattens to rank 2: the engine builds and runs it and
 * matches the reference. A rank-4 pool in front of the float-output fc once crashed hwt_engine_create. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float *rnd(size_t n) {
  float *p = hwt_rt_alloc((n ? n : 1) * sizeof(float));
  cr_assert_not_null(p);
  for (size_t i = 0; i < n; i++) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    p[i] = (float) ((rng >> 11) * (1.0 / 9007199254740992.0)) - 0.5f;
  }
  return p;
}

/* conv 3x3 (relu) -> global average pool (rank gap_rank) -> fc 10 (rank 2) */
static hwt_model *gap_fc(uint8_t gap_rank) {
  char err[1024];
  hwt_model *m = hwt_rt_calloc(1, sizeof *m);
  cr_assert_not_null(m);
  m->layers = hwt_rt_calloc(3, sizeof(hwt_layer));
  m->nlayers = 3;
  snprintf(m->name, sizeof m->name, "gap_fc");
  m->input = (hwt_shape){8, 8, 4};
  m->ninputs = 1;
  m->inputs[0].shape = m->input;
  m->inputs[0].rank = 4;
  snprintf(m->inputs[0].name, HWT_IO_NAME_MAX, "x");
  hwt_layer *l = &m->layers[0];
  snprintf(l->name, HWT_LAYER_NAME_MAX, "conv");
  l->type = hwt_layer_conv, l->rank = 4, l->nin = 1, l->inputs[0] = HWT_INPUT_ID(0);
  l->outputs = 8, l->kh = l->kw = 3, l->sh = l->sw = 1, l->pad_t = l->pad_l = l->pad_b = l->pad_r = 1;
  l->act = hwt_act_relu, l->w = rnd(8 * 9 * 4), l->b = rnd(8);
  l = &m->layers[1];
  snprintf(l->name, HWT_LAYER_NAME_MAX, "gap");
  l->type = hwt_layer_gavgpool, l->rank = gap_rank, l->nin = 1, l->inputs[0] = 0;
  l = &m->layers[2];
  snprintf(l->name, HWT_LAYER_NAME_MAX, "fc");
  l->type = hwt_layer_fc, l->rank = 2, l->nin = 1, l->inputs[0] = 1, l->outputs = 10, l->w = rnd(80), l->b = rnd(10);
  cr_assert_eq(hwt_model_finalize(m, "gap_fc", err, sizeof err), hwt_status_ok, "%s", err);
  return m;
}

static void check(uint8_t gap_rank) {
  char err[1024];
  hwt_model *m = gap_fc(gap_rank), *q = NULL;
  size_t in = hwt_model_input_size(m, 0), batch = 3;
  float *cal = malloc(8 * in * sizeof(float)), out[30], ref[30];
  cr_assert_not_null(cal);
  hwt_model_gen_inputs(m, 5, 8, cal);
  cr_assert_eq(hwt_model_quantize(m, cal, 8, &q, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert(q->layers[1].q8, "the pool is int8");
  cr_assert(hwt_layer_float_logits(q, 2), "the classifier outputs float logits");
  hwt_engine *e = NULL;
  hwt_engine_options o = {0};
  cr_assert_eq(hwt_engine_create(q, batch, &o, &e, err, sizeof err), hwt_status_ok, "rank %u: %s", gap_rank, err);
  cr_assert_eq(hwt_engine_run(e, cal, out, NULL), hwt_status_ok);
  cr_assert_eq(hwt_model_reference(q, batch, cal, ref, NULL), hwt_status_ok);
  for (size_t i = 0; i < batch * 10; i++)
    cr_assert(fabsf(out[i] - ref[i]) <= 1e-4f * (1 + fabsf(ref[i])), "rank %u: out[%zu] %g, reference %g", gap_rank,
              i, out[i], ref[i]);
  hwt_engine_destroy(e);
  hwt_model_free(q);
  hwt_model_free(m);
  free(cal);
}

Test(logits_rank, int8_pool_rank_2_into_float_logits) { check(2); }
Test(logits_rank, int8_pool_rank_4_into_float_logits) { check(4); }
