/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the tests of the engine's forced-own switches (HWTUNE_ENGINE_OWN_CONV, HWTUNE_ENGINE_OWN_DW): a model
 * run with the switch gives the same outputs as without it (int8 bit-exact, fp32 within 1e-4 relative), on 1 and
 * 2 threads, fp32 and its int8 twin (hwt_model_quantize), and with the switch at least one layer that `counts`
 * selects ran on our plans (none without it). The including test defines ENV_VAR and counts(l). */
#pragma once
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static bool counts(const hwt_layer *l);

static size_t own_layers(const hwt_engine *e, const hwt_model *m) {
  size_t n = 0;
  for (size_t i = 0; i < m->nlayers; i++)
    if (counts(&m->layers[i]) && hwt_engine_layer_choice(e, i)->impl == hwt_impl_own) n++;
  return n;
}

static void run(const hwt_model *m, size_t batch, unsigned threads, bool own, const float *in, float *out) {
  char err[1024];
  if (own)
    setenv(ENV_VAR, "1", 1);
  else
    unsetenv(ENV_VAR);
  hwt_engine *e = NULL;
  hwt_engine_options o = {0};
  o.threads = threads;
  cr_assert_eq(hwt_engine_create(m, batch, &o, &e, err, sizeof err), hwt_status_ok, "%s: %s", m->name, err);
  if (own)
    cr_assert_gt(own_layers(e, m), 0, "%s: no layer ran on our plans with " ENV_VAR "=1", m->name);
  else
    cr_assert_eq(own_layers(e, m), 0);
  cr_assert_eq(hwt_engine_run(e, in, out, NULL), hwt_status_ok);
  unsetenv(ENV_VAR);
  hwt_engine_destroy(e);
}

static void check(const hwt_model *m, bool exact) {
  size_t batch = 2, ni = hwt_model_input_size(m, 0) * batch, no = hwt_model_output_size(m, 0) * batch;
  float *in = malloc(ni * sizeof(float)), *a = malloc(no * sizeof(float)), *b = malloc(no * sizeof(float));
  cr_assert(in && a && b);
  hwt_model_gen_inputs(m, 11, batch, in);
  for (unsigned t = 1; t <= 2; t++) {
    run(m, batch, t, false, in, a);
    run(m, batch, t, true, in, b);
    for (size_t i = 0; i < no; i++) {
      if (exact)
        cr_assert_eq(memcmp(&a[i], &b[i], sizeof(float)), 0, "%s, %u threads: out[%zu] %.9g with ours, %.9g without",
                     m->name, t, i, (double) b[i], (double) a[i]);
      else
        cr_assert(fabsf(a[i] - b[i]) <= 1e-4f * (1 + fabsf(a[i])), "%s, %u threads: out[%zu] %g with ours, %g without",
                  m->name, t, i, (double) b[i], (double) a[i]);
    }
  }
  free(in), free(a), free(b);
}

/* The model at `spec`, then its int8 twin. */
static void both(const char *spec) {
  char err[1024];
  hwt_model *m = NULL, *q = NULL;
  cr_assert_eq(hwt_model_open(spec, &m, err, sizeof err), hwt_status_ok, "%s: %s", spec, err);
  check(m, false);
  size_t ncal = 8;
  float *cal = malloc(ncal * hwt_model_input_size(m, 0) * sizeof(float));
  cr_assert_not_null(cal);
  hwt_model_gen_inputs(m, 5, ncal, cal);
  cr_assert_eq(hwt_model_quantize(m, cal, ncal, &q, err, sizeof err), hwt_status_ok, "%s", err);
  check(q, true);
  hwt_model_free(q);
  hwt_model_free(m);
  free(cal);
}
