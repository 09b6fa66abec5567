/* SPDX-License-Identifier: Apache-2.0 */
/* hwt_model_prune: exact zero counts, the smallest magnitudes are the ones zeroed, the first layer and the
 * classifier kept, whole blocks, 0% and 100%, global against per-layer thresholds, deterministic ties, int8
 * refused, the input model untouched. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hwtune/spmm.h"

static hwt_model *gen(const char *which) {
  hwt_model *m = NULL;
  hwt_status st = strcmp(which, "mlp") == 0 ? hwt_model_gen_mlp(7, &m) : hwt_model_gen_mobilenet(7, &m);
  cr_assert_eq(st, hwt_status_ok);
  return m;
}

static hwt_model *prune(const hwt_model *m, hwt_prune_options o, hwt_prune_layer_report *rep) {
  hwt_model *p = NULL;
  char err[512] = "";
  cr_assert_eq(hwt_model_prune(m, &o, &p, rep, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_not_null(p);
  return p;
}

static size_t zeros(const float *w, size_t n) {
  size_t z = 0;
  for (size_t i = 0; i < n; i++) z += w[i] == 0.0f;
  return z;
}

static size_t rnd(double s, size_t n) { return (size_t) floor(s * (double) n + 0.5); }

static bool weighted(const hwt_layer *l) {
  return (l->type == hwt_layer_fc || l->type == hwt_layer_conv || l->type == hwt_layer_dwconv) && l->w != NULL;
}

static bool same_weights(const hwt_layer *a, const hwt_layer *b) {
  size_t n = hwt_layer_weight_count(a);
  return n == hwt_layer_weight_count(b) && memcmp(a->w, b->w, n * sizeof(float)) == 0;
}

/* Every weight of the pruned layer is either its original value or zero, and every zeroed one is no larger in
 * magnitude than any kept one (ties allowed at the threshold). */
static void check_magnitudes(const float *orig, const float *pr, size_t n) {
  float max_pruned = 0.0f, min_kept = INFINITY;
  for (size_t i = 0; i < n; i++) {
    if (pr[i] == 0.0f) {
      max_pruned = fmaxf(max_pruned, fabsf(orig[i]));
    } else {
      cr_assert_eq(pr[i], orig[i], "weight %zu changed from %g to %g", i, orig[i], pr[i]);
      min_kept = fminf(min_kept, fabsf(orig[i]));
    }
  }
  cr_assert(max_pruned <= min_kept, "a pruned |w| %g exceeds a kept |w| %g", max_pruned, min_kept);
}

Test(prune, mlp_per_layer_exact_counts_and_smallest_magnitudes) {
  hwt_model *m = gen("mlp");
  cr_assert_eq(m->nlayers, 4); /* fc 784->256, fc 256->128, fc 128->10, softmax */
  const double sp[] = {0.5, 0.75, 0.9, 1.0 / 3.0, 0.95, 0.99};
  for (size_t t = 0; t < sizeof sp / sizeof sp[0]; t++) {
    hwt_prune_layer_report rep[4];
    hwt_model *p = prune(m, (hwt_prune_options) {.sparsity = sp[t]}, rep);
    size_t n = hwt_layer_weight_count(&m->layers[1]);
    cr_assert_eq(n, 128u * 256u);
    size_t z = zeros(p->layers[1].w, n);
    cr_assert_eq(z, rnd(sp[t], n), "sparsity %g: %zu zeros, want %zu", sp[t], z, rnd(sp[t], n));
    cr_assert(rep[1].pruned && rep[1].weights == n && rep[1].zeros_after == z && rep[1].zeros_before == 0);
    check_magnitudes(m->layers[1].w, p->layers[1].w, n);
    /* first and classifier kept dense, reported as such */
    cr_assert(same_weights(&m->layers[0], &p->layers[0]) && same_weights(&m->layers[2], &p->layers[2]));
    cr_assert(!rep[0].pruned && !rep[2].pruned && !rep[3].pruned);
    cr_assert_eq(rep[0].weights, 784u * 256u);
    cr_assert_eq(rep[0].zeros_after, rep[0].zeros_before);
    cr_assert_eq(rep[3].weights, 0);
    /* biases untouched, the graph the same */
    for (size_t i = 0; i < 3; i++)
      cr_assert(memcmp(m->layers[i].b, p->layers[i].b, m->layers[i].outputs * sizeof(float)) == 0);
    cr_assert_eq(p->nlayers, m->nlayers);
    cr_assert_eq(hwt_model_output_size(p, 0), 10);
    hwt_model_free(p);
  }
  hwt_model_free(m);
}

Test(prune, zero_is_identity_and_one_zeroes_every_pruned_layer) {
  hwt_model *m = gen("mobilenet");
  hwt_model *p0 = prune(m, (hwt_prune_options) {.sparsity = 0.0}, NULL);
  hwt_model *p1 = prune(m, (hwt_prune_options) {.sparsity = 1.0, .scope = hwt_prune_global}, NULL);
  size_t n1 = 0;
  for (size_t i = 0; i < m->nlayers; i++) {
    const hwt_layer *l = &m->layers[i];
    size_t n = hwt_layer_weight_count(l);
    if (l->w != NULL) cr_assert(same_weights(l, &p0->layers[i]), "layer %zu changed at 0%%", i);
    if (!weighted(l)) continue;
    bool pruned = l->type == hwt_layer_conv && i != 0; /* first conv kept, dwconv and the fc classifier too */
    if (pruned) {
      cr_assert_eq(zeros(p1->layers[i].w, n), n, "layer %zu '%s' not all zero at 100%%", i, l->name);
      n1++;
    } else {
      cr_assert(same_weights(l, &p1->layers[i]), "layer %zu '%s' (%s) changed", i, l->name,
                hwt_layer_type_name(l->type));
    }
  }
  cr_assert(n1 >= 10, "the 1x1 convolutions are pruned (%zu layers)", n1);
  hwt_model_free(p0);
  hwt_model_free(p1);
  hwt_model_free(m);
}

Test(prune, prune_first_and_classifier_on_request) {
  hwt_model *m = gen("mlp");
  hwt_prune_layer_report rep[4];
  hwt_model *p = prune(m, (hwt_prune_options) {.sparsity = 0.75, .prune_first = true}, rep);
  cr_assert(rep[0].pruned && rep[1].pruned && !rep[2].pruned);
  cr_assert_eq(zeros(p->layers[0].w, 784 * 256), rnd(0.75, 784 * 256));
  cr_assert(same_weights(&m->layers[2], &p->layers[2]));
  hwt_model_free(p);
  p = prune(m, (hwt_prune_options) {.sparsity = 0.75, .prune_classifier = true}, rep);
  cr_assert(!rep[0].pruned && rep[1].pruned && rep[2].pruned);
  cr_assert_eq(zeros(p->layers[2].w, 1280), rnd(0.75, 1280));
  check_magnitudes(m->layers[2].w, p->layers[2].w, 1280);
  cr_assert(same_weights(&m->layers[0], &p->layers[0]));
  hwt_model_free(p);
  hwt_model_free(m);
}

/* Blocks of bn x bk over the layer's N x K weights (edge blocks clipped): each is all zero or all original;
 * round(s x blocks) are zero, and every zeroed block's largest |w| is no larger than any kept block's. */
static void check_blocks(const float *orig, const float *pr, size_t rows, size_t cols, uint32_t bn, uint32_t bk,
                         double s) {
  size_t nb = 0, nz = 0;
  float max_pruned = 0.0f, min_kept = INFINITY;
  for (size_t r = 0; r < rows; r += bn)
    for (size_t c = 0; c < cols; c += bk) {
      size_t z = 0, cnt = 0;
      float score = 0.0f;
      for (size_t i = r; i < rows && i < r + bn; i++)
        for (size_t j = c; j < cols && j < c + bk; j++) {
          float v = pr[i * cols + j], o = orig[i * cols + j];
          cnt++;
          z += v == 0.0f;
          cr_assert(v == 0.0f || v == o, "weight (%zu, %zu) changed", i, j);
          score = fmaxf(score, fabsf(o));
        }
      nb++;
      if (z == cnt) {
        nz++;
        max_pruned = fmaxf(max_pruned, score);
      } else {
        cr_assert_eq(z, 0, "block at (%zu, %zu) partly zero: %zu of %zu", r, c, z, cnt);
        min_kept = fminf(min_kept, score);
      }
    }
  cr_assert_eq(nz, rnd(s, nb), "%zu of %zu blocks zero, want %zu", nz, nb, rnd(s, nb));
  cr_assert(max_pruned <= min_kept, "a pruned block scores %g, a kept one %g", max_pruned, min_kept);
}

Test(prune, block_pattern_zeroes_whole_blocks) {
  hwt_model *m = gen("mlp");
  const uint32_t shapes[][2] = {{4, 8}, {8, 1}, {1, 4}, {3, 5}, {128, 256}, {200, 300}};
  for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
    hwt_prune_options o = {.sparsity = 0.8, .pattern = hwt_prune_block, .block_n = shapes[t][0],
                           .block_k = shapes[t][1]};
    hwt_model *p = prune(m, o, NULL);
    check_blocks(m->layers[1].w, p->layers[1].w, 128, 256, shapes[t][0], shapes[t][1], 0.8);
    hwt_model_free(p);
  }
  /* block 0 x 0: the shape our sparse kernels prefer at the best ISA */
  uint32_t bn = 0, bk = 0;
  hwt_spmm_block_shape(hwt_spmm_best_isa(), &bn, &bk);
  cr_assert(bn >= 1 && bk >= 1);
  hwt_model *p = prune(m, (hwt_prune_options) {.sparsity = 0.9, .pattern = hwt_prune_block}, NULL);
  check_blocks(m->layers[1].w, p->layers[1].w, 128, 256, bn, bk, 0.9);
  hwt_model_free(p);
  hwt_model_free(m);
}

Test(prune, block_pattern_on_conv_uses_cout_by_kh_kw_cin) {
  hwt_model *m = gen("mobilenet");
  hwt_model *p = prune(m, (hwt_prune_options) {.sparsity = 0.5, .pattern = hwt_prune_block, .block_n = 4,
                                               .block_k = 4, .prune_first = true}, NULL);
  /* conv0: 3x3 over 3 channels, 8 outputs: rows 8, columns 27 (a clipped edge block of 3) */
  const hwt_layer *l = &m->layers[0];
  cr_assert_eq(l->type, hwt_layer_conv);
  check_blocks(l->w, p->layers[0].w, l->outputs, hwt_layer_weight_count(l) / l->outputs, 4, 4, 0.5);
  for (size_t i = 1; i < m->nlayers; i++)
    if (m->layers[i].type == hwt_layer_conv) {
      l = &m->layers[i];
      check_blocks(l->w, p->layers[i].w, l->outputs, hwt_layer_weight_count(l) / l->outputs, 4, 4, 0.5);
    }
  hwt_model_free(p);
  hwt_model_free(m);
}

Test(prune, global_threshold_against_per_layer) {
  hwt_model *m = gen("mobilenet");
  hwt_prune_layer_report rl[64], rg[64];
  cr_assert(m->nlayers <= 64);
  hwt_model *pl = prune(m, (hwt_prune_options) {.sparsity = 0.75}, rl);
  hwt_model *pg = prune(m, (hwt_prune_options) {.sparsity = 0.75, .scope = hwt_prune_global}, rg);
  size_t total = 0, zg = 0;
  float max_pruned = 0.0f, min_kept = INFINITY;
  double lo = 1.0, hi = 0.0;
  for (size_t i = 0; i < m->nlayers; i++) {
    cr_assert_eq(rl[i].pruned, rg[i].pruned);
    if (!rg[i].pruned) continue;
    size_t n = hwt_layer_weight_count(&m->layers[i]);
    /* per layer: each layer at round(0.75 x n) */
    cr_assert_eq(zeros(pl->layers[i].w, n), rnd(0.75, n), "layer %zu", i);
    cr_assert_eq(rl[i].zeros_after, rnd(0.75, n));
    /* global: one threshold over all of them */
    size_t z = zeros(pg->layers[i].w, n);
    cr_assert_eq(rg[i].zeros_after, z);
    total += n;
    zg += z;
    double s = (double) z / (double) n;
    lo = fmin(lo, s);
    hi = fmax(hi, s);
    for (size_t k = 0; k < n; k++) {
      float o = fabsf(m->layers[i].w[k]);
      if (pg->layers[i].w[k] == 0.0f)
        max_pruned = fmaxf(max_pruned, o);
      else
        min_kept = fminf(min_kept, o);
    }
  }
  cr_assert_eq(zg, rnd(0.75, total), "global: %zu zeros of %zu", zg, total);
  cr_assert(max_pruned <= min_kept, "global: pruned %g > kept %g", max_pruned, min_kept);
  /* He-initialised layers have different scales: one threshold gives them different sparsities */
  cr_assert(hi - lo > 0.05, "global sparsities %g..%g are all alike", lo, hi);
  hwt_model_free(pl);
  hwt_model_free(pg);
  hwt_model_free(m);
}

Test(prune, ties_go_to_the_lowest_index_then_the_earlier_layer) {
  hwt_model *m = gen("mlp");
  /* every prunable weight (layers 0 and 1 with prune_first) has magnitude 0.5, signs alternating */
  for (size_t i = 0; i < 2; i++) {
    size_t n = hwt_layer_weight_count(&m->layers[i]);
    for (size_t k = 0; k < n; k++) m->layers[i].w[k] = k % 2 ? -0.5f : 0.5f;
  }
  size_t n0 = 784 * 256, n1 = 256 * 128;
  hwt_model *p = prune(m, (hwt_prune_options) {.sparsity = 0.3, .prune_first = true}, NULL);
  for (size_t i = 0; i < 2; i++) {
    size_t n = i ? n1 : n0, k = rnd(0.3, n);
    for (size_t j = 0; j < n; j++) cr_assert_eq(p->layers[i].w[j] == 0.0f, j < k, "layer %zu weight %zu", i, j);
  }
  hwt_model_free(p);
  /* global: the earlier layer's weights go first */
  double s = (double) (n0 + 100) / (double) (n0 + n1);
  p = prune(m, (hwt_prune_options) {.sparsity = s, .prune_first = true, .scope = hwt_prune_global}, NULL);
  size_t k = rnd(s, n0 + n1);
  cr_assert_eq(zeros(p->layers[0].w, n0), n0);
  cr_assert_eq(zeros(p->layers[1].w, n1), k - n0);
  for (size_t j = 0; j < n1; j++) cr_assert_eq(p->layers[1].w[j] == 0.0f, j < k - n0);
  /* and the same options give the same bits */
  hwt_model *q = prune(m, (hwt_prune_options) {.sparsity = s, .prune_first = true, .scope = hwt_prune_global},
                       NULL);
  cr_assert(same_weights(&p->layers[1], &q->layers[1]));
  hwt_model_free(q);
  hwt_model_free(p);
  hwt_model_free(m);
}

Test(prune, existing_zeros_count_and_go_first) {
  hwt_model *m = gen("mlp");
  size_t n = 256 * 128;
  for (size_t k = 0; k < n; k += 4) m->layers[1].w[k] = k % 8 ? 0.0f : -0.0f; /* a quarter zero, some -0.0 */
  hwt_prune_layer_report rep[4];
  hwt_model *p = prune(m, (hwt_prune_options) {.sparsity = 0.1}, rep);
  cr_assert_eq(rep[1].zeros_before, n / 4);
  cr_assert_eq(rep[1].zeros_after, n / 4, "0.1 is below the zeros it had: nothing more zeroed");
  cr_assert(same_weights(&m->layers[1], &p->layers[1]), "existing zeros (and -0.0) keep their bits");
  hwt_model_free(p);
  p = prune(m, (hwt_prune_options) {.sparsity = 0.6}, rep);
  cr_assert_eq(rep[1].zeros_after, rnd(0.6, n));
  check_magnitudes(m->layers[1].w, p->layers[1].w, n);
  hwt_model_free(p);
  hwt_model_free(m);
}

Test(prune, input_model_unchanged_and_pruned_model_runs) {
  hwt_model *m = gen("mobilenet");
  size_t nl = m->nlayers, total = 0;
  float **copy = calloc(nl, sizeof(float *));
  for (size_t i = 0; i < nl; i++) {
    size_t n = hwt_layer_weight_count(&m->layers[i]);
    if (m->layers[i].w == NULL || n == 0) continue;
    copy[i] = malloc(n * sizeof(float));
    memcpy(copy[i], m->layers[i].w, n * sizeof(float));
    total += n;
  }
  hwt_model *p = prune(m, (hwt_prune_options) {.sparsity = 0.9, .scope = hwt_prune_global}, NULL);
  for (size_t i = 0; i < nl; i++) {
    if (copy[i] == NULL) continue;
    cr_assert(memcmp(copy[i], m->layers[i].w, hwt_layer_weight_count(&m->layers[i]) * sizeof(float)) == 0,
              "input layer %zu modified", i);
    cr_assert_neq(p->layers[i].w, m->layers[i].w, "layer %zu shares its weights", i);
    free(copy[i]);
  }
  free(copy);
  cr_assert(total > 0);
  /* the pruned model is a valid graph the reference runs: probabilities that sum to 1 */
  size_t in = hwt_model_input_size(p, 0), on = hwt_model_output_size(p, 0);
  float *x = malloc(in * sizeof(float)), *y = malloc(on * sizeof(float));
  hwt_model_gen_inputs(p, 3, 1, x);
  cr_assert_eq(hwt_model_reference(p, 1, x, y, NULL), hwt_status_ok);
  double sum = 0;
  for (size_t k = 0; k < on; k++) sum += y[k];
  cr_assert(fabs(sum - 1.0) < 1e-3, "softmax sums to %g", sum);
  free(x);
  free(y);
  hwt_model_free(p);
  hwt_model_free(m);
}

Test(prune, int8_and_bad_options_refused) {
  hwt_model *m = gen("mlp"), *q = NULL, *p = (hwt_model *) 1;
  float cal[2 * 784];
  hwt_model_gen_inputs(m, 1, 2, cal);
  char err[512] = "";
  cr_assert_eq(hwt_model_quantize(m, cal, 2, &q, err, sizeof err), hwt_status_ok, "%s", err);
  hwt_prune_options o = {.sparsity = 0.5};
  cr_assert_eq(hwt_model_prune(q, &o, &p, NULL, err, sizeof err), hwt_status_invalid_argument);
  cr_assert_null(p);
  cr_assert(strstr(err, "int8") != NULL && strstr(err, "prune the fp32 model") != NULL, "%s", err);
  const double badv[] = {-0.1, 1.5, NAN, INFINITY};
  for (size_t t = 0; t < 4; t++) {
    o.sparsity = badv[t];
    err[0] = '\0';
    cr_assert_eq(hwt_model_prune(m, &o, &p, NULL, err, sizeof err), hwt_status_invalid_argument, "%g", badv[t]);
    cr_assert(strstr(err, "sparsity") != NULL, "%s", err);
  }
  o.sparsity = 0.5;
  cr_assert_eq(hwt_model_prune(NULL, &o, &p, NULL, err, sizeof err), hwt_status_invalid_argument);
  cr_assert_eq(hwt_model_prune(m, NULL, &p, NULL, err, sizeof err), hwt_status_invalid_argument);
  cr_assert_eq(hwt_model_prune(m, &o, NULL, NULL, err, sizeof err), hwt_status_invalid_argument);
  o.pattern = (hwt_prune_pattern) 7;
  cr_assert_eq(hwt_model_prune(m, &o, &p, NULL, err, sizeof err), hwt_status_invalid_argument);
  hwt_model_free(q);
  hwt_model_free(m);
}
