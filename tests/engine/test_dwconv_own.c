/* SPDX-License-Identifier: Apache-2.0 */
/* HWTUNE_ENGINE_OWN_DW=1 runs every depthwise conv on hwtune/dwconv.h's plans: MobileNet v1 (built-in), fp32 and
 * int8 (hwt_model_quantize), gives the same outputs as with XNNPACK's depthwise convolutions: int8 bit-exact, fp32
 * within a tolerance; on 1 and 2 threads. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static size_t own_dws(const hwt_engine *e, const hwt_model *m) {
  size_t n = 0;
  for (size_t i = 0; i < m->nlayers; i++) {
    const hwt_layer *l = &m->layers[i];
    if (l->type == hwt_layer_dwconv && hwt_engine_layer_choice(e, i)->impl == hwt_impl_own)
      n++;
  }
  return n;
}

static void run(const hwt_model *m, size_t batch, unsigned threads, bool own, const float *in, float *out) {
  char err[1024];
  if (own)
    setenv("HWTUNE_ENGINE_OWN_DW", "1", 1);
  else
    unsetenv("HWTUNE_ENGINE_OWN_DW");
  hwt_engine *e = NULL;
  hwt_engine_options o = {0};
  o.threads = threads;
  cr_assert_eq(hwt_engine_create(m, batch, &o, &e, err, sizeof err), hwt_status_ok, "%s: %s", m->name, err);
  if (own)
    cr_assert_gt(own_dws(e, m), 0, "%s: no depthwise conv ran on our plans", m->name);
  else
    cr_assert_eq(own_dws(e, m), 0);
  cr_assert_eq(hwt_engine_run(e, in, out, NULL), hwt_status_ok);
  unsetenv("HWTUNE_ENGINE_OWN_DW");
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

Test(dwconv_own, mobilenet_v1_f32_and_int8) { both("mobilenet"); }
