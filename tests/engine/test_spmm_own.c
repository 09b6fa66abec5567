/* SPDX-License-Identifier: Apache-2.0 */
/* Pruned fc / 1x1 conv layers on our sparse plans (engine/spmm_own.c): whole pruned models (the built-in MLP and
 * MobileNet v1, whose pointwise convolutions are 1x1) give the reference's outputs sparse and dense; the mode
 * (option and HWTUNE_ENGINE_SPARSE) and the break-even decide choice.sparse; unpruned layers never go sparse in
 * auto. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_internal.h"
#include "hwtune/profile.h"

/* Zeros all but every `keep`-th weight of every eligible layer but the first and the last (a hand-made
 * unstructured pruning; hwt_model_prune is the real one): sparsity 1 - 1/keep, exactly for whole multiples. */
static size_t prune(hwt_model *m, unsigned keep) {
  size_t first = SIZE_MAX, last = 0, pruned = 0;
  for (size_t i = 0; i < m->nlayers; i++) {
    if (!hwt_spmm_own_eligible(&m->layers[i])) continue;
    if (first == SIZE_MAX) first = i;
    last = i;
  }
  for (size_t i = 0; i < m->nlayers; i++) {
    hwt_layer *l = &m->layers[i];
    if (!hwt_spmm_own_eligible(l) || i == first || i == last) continue;
    size_t nw = hwt_layer_weight_count(l);
    for (size_t j = 0; j < nw; j++)
      if ((j * 7919u + i) % keep != 0) l->w[j] = 0.0f;
    pruned++;
  }
  return pruned;
}

typedef struct outcome {
  size_t sparse, eligible;
  float *out;
} outcome;

static outcome run(const hwt_model *m, size_t batch, unsigned threads, hwt_sparse_mode mode, const char *env,
                   const float *in, const hwt_profile *prof) {
  char err[1024];
  if (env != NULL)
    setenv("HWTUNE_ENGINE_SPARSE", env, 1);
  else
    unsetenv("HWTUNE_ENGINE_SPARSE");
  hwt_engine_options o = {0};
  o.threads = threads;
  o.sparse = mode;
  if (prof != NULL) {
    o.chooser = hwt_engine_profile_chooser;
    o.chooser_ctx = (void *) prof;
  }
  hwt_engine *e = NULL;
  cr_assert_eq(hwt_engine_create(m, batch, &o, &e, err, sizeof err), hwt_status_ok, "%s: %s", m->name, err);
  unsetenv("HWTUNE_ENGINE_SPARSE");
  outcome r = {0, 0, malloc(hwt_model_output_size(m, 0) * batch * sizeof(float))};
  cr_assert_not_null(r.out);
  for (size_t i = 0; i < m->nlayers; i++) {
    const hwt_layer_choice *c = hwt_engine_layer_choice(e, i);
    if (hwt_spmm_own_eligible(&m->layers[i])) r.eligible++;
    else cr_assert(!c->sparse, "layer %zu '%s' is not eligible but ran sparse", i, m->layers[i].name);
    if (c->sparse) {
      r.sparse++;
      cr_assert(strstr(c->source, "sparse") != NULL, "layer %zu source '%s'", i, c->source);
      cr_assert_eq(c->impl, hwt_impl_own);
    }
  }
  cr_assert_eq(hwt_engine_run(e, in, r.out, NULL), hwt_status_ok);
  hwt_engine_destroy(e);
  return r;
}

static void close_to(const float *want, const float *got, size_t n, const char *what) {
  for (size_t i = 0; i < n; i++)
    cr_assert(fabsf(want[i] - got[i]) <= 1e-4f * (1 + fabsf(want[i])), "%s: out[%zu] %.9g, want %.9g", what, i,
              (double) got[i], (double) want[i]);
}

/* Off, force, pruned and auto against the reference, on 1 and 2 threads; pruned runs exactly the `pruned` layers
 * sparse; returns how many layers auto ran sparse. */
static size_t modes(const hwt_model *m, size_t pruned) {
  size_t batch = 3, ni = hwt_model_input_size(m, 0) * batch, no = hwt_model_output_size(m, 0) * batch, auto_sparse = 0;
  float *in = malloc(ni * sizeof(float)), *ref = malloc(no * sizeof(float));
  cr_assert(in && ref);
  hwt_model_gen_inputs(m, 17, batch, in);
  cr_assert_eq(hwt_model_reference(m, batch, in, ref, NULL), hwt_status_ok);
  for (unsigned t = 1; t <= 2; t++) {
    outcome off = run(m, batch, t, hwt_sparse_off, NULL, in, NULL);
    outcome force = run(m, batch, t, hwt_sparse_force, NULL, in, NULL);
    outcome au = run(m, batch, t, hwt_sparse_auto, NULL, in, NULL);
    outcome pr = run(m, batch, t, hwt_sparse_pruned, NULL, in, NULL);
    cr_assert_eq(pr.sparse, pruned, "pruned: %zu layers sparse, %zu pruned", pr.sparse, pruned);
    close_to(off.out, pr.out, no, "pruned vs off");
    free(pr.out);
    cr_assert_eq(off.sparse, 0);
    cr_assert_eq(force.sparse, force.eligible, "force: %zu of %zu eligible layers sparse", force.sparse, force.eligible);
    cr_assert_gt(force.eligible, pruned);
    close_to(ref, off.out, no, "off");
    close_to(ref, force.out, no, "force");
    close_to(ref, au.out, no, "auto");
    close_to(off.out, force.out, no, "force vs off");
    auto_sparse = au.sparse;
    free(off.out), free(force.out), free(au.out);
  }
  free(in), free(ref);
  return auto_sparse;
}

static hwt_model *open_model(const char *spec) {
  char err[1024];
  hwt_model *m = NULL;
  cr_assert_eq(hwt_model_open(spec, &m, err, sizeof err), hwt_status_ok, "%s: %s", spec, err);
  return m;
}

Test(spmm_own, unpruned_models_stay_dense_in_auto) {
  const char *specs[] = {"mlp", "mobilenet"};
  for (size_t s = 0; s < 2; s++) {
    hwt_model *m = open_model(specs[s]);
    cr_assert_eq(modes(m, 0), 0, "%s: unpruned layers ran sparse in auto", specs[s]);
    hwt_model_free(m);
  }
}

Test(spmm_own, mlp_pruned_below_default_break_even_stays_dense) {
  hwt_model *m = open_model("mlp");
  size_t pruned = prune(m, 4); /* 75% < the default break-even of its 256-input layer */
  cr_assert_eq(pruned, 1);
  cr_assert_lt(0.75, hwt_spmm_own_default_break_even(256));
  cr_assert_eq(modes(m, pruned), 0);
  hwt_model_free(m);
}

Test(spmm_own, pruned_past_default_break_even_runs_sparse_in_auto) {
  const char *specs[] = {"mlp", "mobilenet"};
  for (size_t s = 0; s < 2; s++) {
    hwt_model *m = open_model(specs[s]);
    size_t pruned = prune(m, 50); /* 98% */
    cr_assert_geq(0.98, HWT_SPARSE_DEFAULT_BREAK_EVEN); /* above both defaults */
    cr_assert_geq(0.98, HWT_SPARSE_DEFAULT_BREAK_EVEN_WIDE);
    cr_assert_gt(pruned, 0);
    cr_assert_eq(modes(m, pruned), pruned, "%s: auto ran a different number of layers sparse than pruned",
                 specs[s]);
    hwt_model_free(m);
  }
}

/* Without a profile: 80% for layers of >= 32 inputs, 95% below (docs/profile-schema.md "sparse"). */
Test(spmm_own, default_break_even_depends_on_the_inputs) {
  cr_assert_float_eq(hwt_spmm_own_default_break_even(16), HWT_SPARSE_DEFAULT_BREAK_EVEN, 1e-12);
  cr_assert_float_eq(hwt_spmm_own_default_break_even(31), HWT_SPARSE_DEFAULT_BREAK_EVEN, 1e-12);
  cr_assert_float_eq(hwt_spmm_own_default_break_even(32), HWT_SPARSE_DEFAULT_BREAK_EVEN_WIDE, 1e-12);
  cr_assert_lt(HWT_SPARSE_DEFAULT_BREAK_EVEN_WIDE, HWT_SPARSE_DEFAULT_BREAK_EVEN);
  hwt_model *m = open_model("mlp");
  size_t pruned = prune(m, 7); /* 6 of 7 zero: 85.7%, past the 256-input layer's default */
  cr_assert_eq(pruned, 1);
  cr_assert_eq(modes(m, pruned), pruned);
  hwt_model_free(m);
}

Test(spmm_own, environment_overrides_the_option) {
  hwt_model *m = open_model("mlp");
  prune(m, 50);
  size_t ni = hwt_model_input_size(m, 0);
  float *in = malloc(ni * sizeof(float));
  cr_assert_not_null(in);
  hwt_model_gen_inputs(m, 3, 1, in);
  outcome a = run(m, 1, 1, hwt_sparse_force, "off", in, NULL);
  outcome b = run(m, 1, 1, hwt_sparse_off, "force", in, NULL);
  outcome c = run(m, 1, 1, hwt_sparse_off, "bogus", in, NULL); /* not a mode: the option stands */
  cr_assert_eq(a.sparse, 0);
  cr_assert_eq(b.sparse, b.eligible);
  cr_assert_eq(c.sparse, 0);
  free(a.out), free(b.out), free(c.out), free(in);
  hwt_model_free(m);
}

Test(spmm_own, sparse_mode_names) {
  hwt_sparse_mode md;
  cr_assert(hwt_sparse_mode_parse("auto", &md) && md == hwt_sparse_auto);
  cr_assert(hwt_sparse_mode_parse("off", &md) && md == hwt_sparse_off);
  cr_assert(hwt_sparse_mode_parse("force", &md) && md == hwt_sparse_force);
  cr_assert(hwt_sparse_mode_parse("pruned", &md) && md == hwt_sparse_pruned);
  cr_assert_str_eq(hwt_sparse_mode_name(hwt_sparse_pruned), "pruned");
  cr_assert(!hwt_sparse_mode_parse("Force", &md));
  cr_assert(!hwt_sparse_mode_parse(NULL, &md));
  cr_assert_str_eq(hwt_sparse_mode_name(hwt_sparse_force), "force");
}

Test(spmm_own, note_names_the_break_even) {
  hwt_layer_choice c = {0};
  char buf[96];
  c.sparsity = 0.9;
  c.break_even = 0.62;
  c.break_even_profile = true;
  cr_assert(hwt_spmm_own_decide(hwt_sparse_auto, &c));
  hwt_spmm_own_note(hwt_sparse_auto, &c, buf, sizeof buf);
  cr_assert_str_eq(buf, "sparse 90% (profile break-even 62%)");
  c.break_even = 2.0; /* never */
  cr_assert(!hwt_spmm_own_decide(hwt_sparse_auto, &c));
  hwt_spmm_own_note(hwt_sparse_auto, &c, buf, sizeof buf);
  cr_assert_str_eq(buf, "dense 90% (profile break-even: never)");
  c.sparsity = 0.0;
  c.break_even = 0.0; /* a break-even of 0 still never runs a layer without zeros sparse in auto */
  cr_assert(!hwt_spmm_own_decide(hwt_sparse_auto, &c));
  cr_assert(hwt_spmm_own_decide(hwt_sparse_force, &c));
  cr_assert(!hwt_spmm_own_decide(hwt_sparse_pruned, &c)); /* pruned: only layers with zeros */
  c.sparsity = 0.01;
  c.break_even = 2.0;
  cr_assert(hwt_spmm_own_decide(hwt_sparse_pruned, &c));
  hwt_spmm_own_note(hwt_sparse_pruned, &c, buf, sizeof buf);
  cr_assert_str_eq(buf, "sparse 1% (every pruned layer)");
}
