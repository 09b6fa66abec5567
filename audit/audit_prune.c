/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune audit --prune LIST`: per sparsity, the model pruned by hwt_model_prune, its accuracy against the dense
 * model (and the labels), its latency with dense kernels, sparse kernels and the runtime's own choice, its size,
 * per pruned layer and end to end, and a verdict line: the table a team reads to decide whether pruning pays. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "hwt_common.h"
#include "hwt_stats.h"
#include "hwtune/profile.h"
#include "hwtune/spmm.h"

#define PRUNE_CHUNK 8        /* samples per accuracy run (as the int8 comparison) */
#define PRUNE_MAX_ITERS 5000 /* timed iterations per configuration at most */
#define PRUNE_FASTER 1.05    /* "faster": at least 5% lower p50 (below, timing noise on a shared machine) */
#define PRUNE_OK_DROP 0.01   /* accuracy kept: top-1 drop at most 1 point ... */
#define PRUNE_OK_AGREE 0.99  /* ... or, without labels, 99% top-1 agreement with the dense model */

/* count x per floats, or NULL (sizes come from the model's file: checked). */
static float *alloc_floats_checked(size_t count, size_t per) {
  if (count == 0 || per == 0 || per > SIZE_MAX / 4 / sizeof(float) / count) return NULL;
  return malloc(count * per * sizeof(float));
}

static const char *const mode_name[3] = {"dense_kernels", "sparse_kernels", "runtime_choice"};
/* "sparse kernels": every pruned layer on the sparse kernel, the unpruned ones (first layer, classifier) dense */
static const hwt_sparse_mode mode_val[3] = {hwt_sparse_off, hwt_sparse_pruned, hwt_sparse_auto};

const char *hwt_audit_prune_pattern_name(hwt_prune_pattern p) { return p == hwt_prune_block ? "block" : "unstructured"; }
const char *hwt_audit_prune_scope_name(hwt_prune_scope s) { return s == hwt_prune_global ? "global" : "per-layer"; }

hwt_status hwt_audit_prune_list_parse(const char *text, double *out, size_t *n, char *err, size_t errlen) {
  hwt_list l;
  *n = 0;
  if (hwt_list_split(text, &l) != hwt_status_ok) {
    hwt_errf(err, errlen, "--prune: out of memory");
    return hwt_status_out_of_memory;
  }
  hwt_status st = hwt_status_ok;
  for (size_t k = 0; k < l.count && st == hwt_status_ok; k++) {
    double d;
    if (!hwt_parse_double(l.items[k], &d) || !(d >= 0 && d <= 1)) {
      hwt_errf(err, errlen, "--prune takes sparsities in [0, 1] (fractions of zero weights, e.g. 0.5,0.75,0.9), "
               "not '%s'", l.items[k]);
      st = hwt_status_invalid_argument;
    } else if (*n >= HWT_AUDIT_MAX_PRUNE) {
      hwt_errf(err, errlen, "--prune takes at most %d sparsities, not '%s'", HWT_AUDIT_MAX_PRUNE, text);
      st = hwt_status_invalid_argument;
    } else {
      for (size_t j = 0; j < *n && st == hwt_status_ok; j++)
        if (out[j] == d) {
          hwt_errf(err, errlen, "--prune lists sparsity %s twice in '%s'", l.items[k], text);
          st = hwt_status_invalid_argument;
        }
      if (st == hwt_status_ok) out[(*n)++] = d;
    }
  }
  if (st == hwt_status_ok && *n == 0) {
    hwt_errf(err, errlen, "--prune is empty: give sparsities in [0, 1], e.g. 0.5,0.75,0.9");
    st = hwt_status_invalid_argument;
  }
  hwt_list_free(&l);
  return st;
}

void hwt_audit_prune_verdict(const hwt_audit_prune_figures *f, char *buf, size_t len) {
  char acc[160], speed[200];
  bool acc_ok;
  if (f->labelled) {
    acc_ok = f->top1_drop <= PRUNE_OK_DROP;
    snprintf(acc, sizeof(acc), "top-1 %+.1f points%s", -100 * f->top1_drop,
             f->drop_significant ? " (significant)" : "");
  } else if (f->agreement >= 0) {
    acc_ok = f->agreement >= PRUNE_OK_AGREE;
    snprintf(acc, sizeof(acc), "no labels: top-1 agrees with the dense model on %.1f%%", 100 * f->agreement);
  } else {
    acc_ok = true;
    snprintf(acc, sizeof(acc), "accuracy not measured");
  }
  double best = fmax(f->speedup_sparse, f->speedup_auto);
  bool faster = best >= PRUNE_FASTER;
  const char *how = f->speedup_sparse >= f->speedup_auto ? "with sparse kernels" : "with the runtime's choice";
  if (faster)
    snprintf(speed, sizeof(speed), "%.2fx faster %s", best, how);
  else if (f->crossover > 0)
    snprintf(speed, sizeof(speed), "not faster on this CPU (sparse kernels %.2fx) below the measured break-even of "
             "%.0f%%", f->speedup_sparse, 100 * f->crossover);
  else
    snprintf(speed, sizeof(speed), "not faster on this CPU (sparse kernels %.2fx, runtime's choice %.2fx)",
             f->speedup_sparse, f->speedup_auto);
  const char *word = faster && acc_ok ? "worth it"
                     : faster         ? "faster, but it costs accuracy (fine-tuning, out of scope here, may win it back)"
                     : acc_ok         ? "not worth it here"
                                      : "not worth it: slower or equal, and less accurate";
  snprintf(buf, len, "%.0f%%: %s, %s: %s", 100 * f->sparsity, acc, speed, word);
}

/* Latency samples of one configuration, and per pruned layer. */
typedef struct timing {
  double *tot;           /* iterations */
  double *layer;         /* nprunable x iterations */
} timing;

typedef struct row {
  double sparsity;
  hwt_model *m;          /* pruned (NULL for the dense row: the input model) */
  hwt_prune_layer_report *rep;
  float *out_off, *out_force; /* nsamples x out_size */
  hwt_engine *e[3];
  timing t[3];
  size_t iters;
  double p50[3];
  bool auto_sparse_any;
} row;

static json_t *lat_json(const double *ns, size_t n, size_t batch) {
  double mean = 0;
  for (size_t i = 0; i < n; i++) mean += ns[i];
  mean /= n ? (double) n : 1;
  return json_pack("{s:f,s:f,s:f,s:f,s:f,s:I}", "p50_ms", hwt_stats_quantile(ns, n, 0.5) / 1e6, "p90_ms",
                   hwt_stats_quantile(ns, n, 0.9) / 1e6, "p99_ms", hwt_stats_quantile(ns, n, 0.99) / 1e6, "mean_ms",
                   mean / 1e6, "throughput_per_s", mean > 0 ? (double) batch / (mean / 1e9) : 0.0, "samples",
                   (json_int_t) n);
}

static hwt_engine *engine(const hwt_audit_prune_in *in, const hwt_model *m, size_t batch, hwt_sparse_mode mode,
                          bool timing, char *err, size_t errlen) {
  hwt_engine_options opt = {0};
  opt.threads = in->threads;
  opt.sparse = mode;
  opt.layer_timing = timing;
  if (in->profile != NULL) { /* the profile's per-layer choices and its break-even points (auto) */
    opt.chooser = hwt_engine_profile_chooser;
    opt.chooser_ctx = (void *) in->profile;
  }
  hwt_engine *e = NULL;
  return hwt_engine_create(m, batch, &opt, &e, err, errlen) == hwt_status_ok ? e : NULL;
}

/* Runs the scored samples through m with the sparse mode `mode`, in chunks; out: nsamples x out_size. */
static hwt_status run_all(const hwt_audit_prune_in *in, const hwt_model *m, hwt_sparse_mode mode, size_t out_size,
                          float *out, char *err, size_t errlen) {
  size_t n = in->nsamples, chunk = n < PRUNE_CHUNK ? n : PRUNE_CHUNK, isz = hwt_model_input_size(m, 0);
  hwt_engine *e = engine(in, m, chunk, mode, false, err, errlen);
  if (e == NULL) return hwt_status_internal;
  float *x = malloc(chunk * isz * sizeof(float)), *y = malloc(chunk * out_size * sizeof(float));
  hwt_status st = x && y ? hwt_status_ok : hwt_status_out_of_memory;
  if (st != hwt_status_ok) hwt_errf(err, errlen, "out of memory for %zu samples", chunk);
  for (size_t s0 = 0; s0 < n && st == hwt_status_ok; s0 += chunk) {
    size_t cnt = n - s0 < chunk ? n - s0 : chunk;
    for (size_t s = 0; s < chunk; s++) /* a partial last chunk repeats its last sample */
      memcpy(x + s * isz, in->samples + (s0 + (s < cnt ? s : cnt - 1)) * isz, isz * sizeof(float));
    st = hwt_engine_run(e, x, y, NULL);
    if (st != hwt_status_ok)
      hwt_errf(err, errlen, "the engine failed to run: %s", hwt_status_string(st));
    else
      memcpy(out + s0 * out_size, y, cnt * out_size * sizeof(float));
  }
  free(x);
  free(y);
  hwt_engine_destroy(e);
  return st;
}

static size_t argmax(const float *v, size_t n) {
  size_t b = 0;
  for (size_t k = 1; k < n; k++)
    if (v[k] > v[b]) b = k;
  return b;
}

/* Bytes of a CSR file of an n x k matrix with nnz nonzeros: fp32 values, uint16 column indices (uint32 when
 * k > 65536), uint32 row starts, fp32 bias. */
static double csr_file_bytes(size_t n, size_t k, size_t nnz) {
  return (double) nnz * (4.0 + (k > 65536 ? 4.0 : 2.0)) + 4.0 * (double) (n + 1) + 4.0 * (double) n;
}

static bool sparse_capable(const hwt_layer *l) {
  return l->type == hwt_layer_fc || (l->type == hwt_layer_conv && l->groups <= 1 && l->kh == 1 && l->kw == 1 &&
                                     l->sh <= 1 && l->sw <= 1 && l->pad_t == 0 && l->pad_l == 0 &&
                                     l->pad_b == 0 && l->pad_r == 0);
}

json_t *hwt_audit_prune(const hwt_audit_prune_in *in, json_t *findings, json_t *metrics, hwt_status *stp, char *err,
                        size_t errlen) {
  const hwt_model *dense = in->dense;
  size_t nl = dense->nlayers, out_size = hwt_model_output_size(dense, 0), n = in->nsamples;
  size_t nrows = 0, classes = out_size;
  row rows[HWT_AUDIT_MAX_PRUNE + 1];
  memset(rows, 0, sizeof(rows));
  json_t *res = NULL;
  size_t *prunable = NULL, np = 0;
  float *dense_out = NULL, *y = NULL;
  hwt_status st = hwt_status_out_of_memory;
  *stp = hwt_status_ok;
  /* rows: 0 (the dense model) first, then the list in ascending order */
  double sp[HWT_AUDIT_MAX_PRUNE + 1];
  sp[nrows++] = 0;
  for (size_t i = 0; i < in->n; i++)
    if (in->sparsities[i] > 0) sp[nrows++] = in->sparsities[i];
  for (size_t i = 1; i < nrows; i++)
    for (size_t j = i + 1; j < nrows; j++)
      if (sp[j] < sp[i]) {
        double t = sp[i];
        sp[i] = sp[j];
        sp[j] = t;
      }
  /* prune every row (sparsity 0 too: its report names the layers pruning touches) */
  for (size_t r = 0; r < nrows; r++) {
    row *w = &rows[r];
    w->sparsity = sp[r];
    w->rep = calloc(nl, sizeof(*w->rep));
    if (w->rep == NULL) {
      hwt_errf(err, errlen, "pruning: out of memory");
      goto fail;
    }
    hwt_prune_options po = in->options;
    po.sparsity = sp[r];
    char e2[512] = "";
    st = hwt_model_prune(dense, &po, &w->m, w->rep, e2, sizeof(e2));
    if (st != hwt_status_ok) {
      hwt_errf(err, errlen, "pruning to %.0f%%: %s", 100 * sp[r], e2);
      goto fail;
    }
    if (r == 0) { /* the dense row runs the input model itself */
      hwt_model_free(w->m);
      w->m = NULL;
    }
  }
  st = hwt_status_out_of_memory;
  prunable = calloc(nl + 1, sizeof(size_t));
  if (prunable == NULL) goto oom;
  /* the layers pruning touches at any listed sparsity (whether a 0 target counts as pruned is the pruner's) */
  for (size_t i = 0; i < nl; i++) {
    bool any = false;
    for (size_t r = 0; r < nrows; r++) any = any || rows[r].rep[i].pruned;
    if (any) prunable[np++] = i;
  }

  /* accuracy: every row's outputs with dense kernels (the weights' own answer) and with sparse kernels */
  if (n > 0) {
    if ((dense_out = alloc_floats_checked(n, out_size)) == NULL) goto oom;
    for (size_t r = 0; r < nrows; r++) {
      row *w = &rows[r];
      const hwt_model *m = w->m ? w->m : dense;
      if ((w->out_off = alloc_floats_checked(n, out_size)) == NULL ||
          (w->out_force = alloc_floats_checked(n, out_size)) == NULL)
        goto oom;
      char e2[512] = "";
      st = run_all(in, m, hwt_sparse_off, out_size, w->out_off, e2, sizeof(e2));
      if (st == hwt_status_ok) st = run_all(in, m, hwt_sparse_pruned, out_size, w->out_force, e2, sizeof(e2));
      if (st != hwt_status_ok) {
        hwt_errf(err, errlen, "pruning %.0f%%, accuracy run: %s", 100 * w->sparsity, e2);
        goto fail;
      }
    }
    memcpy(dense_out, rows[0].out_off, n * out_size * sizeof(float));
  }

  /* latency: every row's three sparse modes in one interleaved loop (row 0 off, force, auto, row 1 off, ...), so
   * the speed-ups across rows are measured side by side; per-layer times come from the same runs */
  size_t batch = in->batch, cap = PRUNE_MAX_ITERS;
  if ((y = alloc_floats_checked(batch, out_size)) == NULL) goto oom;
  for (size_t r = 0; r < nrows; r++) {
    row *w = &rows[r];
    const hwt_model *m = w->m ? w->m : dense;
    for (int k = 0; k < 3; k++) {
      char e2[512] = "";
      w->e[k] = engine(in, m, batch, mode_val[k], true, e2, sizeof(e2));
      if (w->e[k] == NULL) {
        st = hwt_status_internal;
        hwt_errf(err, errlen, "pruning %.0f%%: cannot build the %s engine: %s", 100 * w->sparsity, mode_name[k], e2);
        goto fail;
      }
      w->t[k].tot = malloc(cap * sizeof(double));
      w->t[k].layer = malloc((np ? np : 1) * cap * sizeof(double));
      if (w->t[k].tot == NULL || w->t[k].layer == NULL) goto oom;
      for (int rep = 0; rep < 3; rep++) { /* warm-up; a failure here is the engine's, reported */
        st = hwt_engine_run(w->e[k], in->timed, y, NULL);
        if (st != hwt_status_ok) {
          hwt_errf(err, errlen, "pruning %.0f%%: the %s engine failed to run: %s", 100 * w->sparsity, mode_name[k],
                   hwt_status_string(st));
          goto fail;
        }
      }
    }
    for (size_t i = 0; i < nl; i++)
      if (hwt_engine_layer_choice(w->e[2], i)->sparse) w->auto_sparse_any = true;
  }
  uint64_t end = hwt_now_ns() + (uint64_t) (in->bench_s * (double) nrows * 1e9);
  size_t it = 0;
  while (it < cap && (it < 10 || hwt_now_ns() < end)) {
    for (size_t r = 0; r < nrows; r++) {
      row *w = &rows[r];
      for (int k = 0; k < 3; k++) {
        uint64_t t0 = hwt_now_ns();
        hwt_engine_run(w->e[k], in->timed, y, NULL);
        w->t[k].tot[it] = (double) (hwt_now_ns() - t0);
        for (size_t j = 0; j < np; j++) w->t[k].layer[j * cap + it] = (double) hwt_engine_layer_ns(w->e[k], prunable[j]);
      }
    }
    it++;
  }
  for (size_t r = 0; r < nrows; r++) {
    rows[r].iters = it;
    for (int k = 0; k < 3; k++) rows[r].p50[k] = hwt_stats_quantile(rows[r].t[k].tot, it, 0.5);
  }

  /* the document */
  st = hwt_status_out_of_memory;
  double base = rows[0].p50[0]; /* the dense model on dense kernels: what runs today */
  /* measured break-even end to end: the lowest sparsity from which every higher one runs faster on sparse kernels */
  double crossover = 0;
  for (size_t r = nrows; r-- > 1;) {
    if (!(rows[r].p50[1] > 0 && base / rows[r].p50[1] >= PRUNE_FASTER)) break;
    crossover = rows[r].sparsity;
  }
  json_t *jrows = json_array(), *verdicts = json_array();
  res = json_pack("{s:o,s:{s:s,s:s,s:b,s:b},s:I,s:I,s:o,s:o}", "sparsities", json_array(), "options", "pattern",
                  hwt_audit_prune_pattern_name(in->options.pattern), "scope",
                  hwt_audit_prune_scope_name(in->options.scope), "first_dense", !in->options.prune_first,
                  "classifier_dense", !in->options.prune_classifier, "batch", (json_int_t) batch, "threads",
                  (json_int_t) in->threads, "rows", jrows, "verdicts", verdicts);
  if (res == NULL) goto oom;
  json_object_set_new(res, "data", json_pack("{s:s,s:I,s:b}", "source", in->samples_source ? in->samples_source : "none",
                                            "samples", (json_int_t) n, "labels", in->labels != NULL));
  json_object_set_new(res, "sparse_isa", json_string(hwt_isa_name(hwt_spmm_best_isa())));
  double worst_drop = -INFINITY, worst_agree = INFINITY, best_speed = 0;
  for (size_t r = 0; r < nrows; r++) {
    row *w = &rows[r];
    const hwt_model *m = w->m ? w->m : dense;
    json_array_append_new(json_object_get(res, "sparsities"), json_real(w->sparsity));
    /* weights and sizes */
    size_t weights = 0, nonzero = 0, pw = 0, pz = 0;
    double dense_bytes = 0, sparse_bytes = 0, disk_bytes = 0, plan_bytes = 0;
    json_t *layers = json_array();
    for (size_t i = 0; i < nl; i++) {
      const hwt_layer *l = &m->layers[i];
      double lb = (double) hwt_layer_param_bytes(l, hwt_prec_fp32);
      dense_bytes += lb;
      bool weighted = l->w != NULL && (l->type == hwt_layer_fc || l->type == hwt_layer_conv || l->type == hwt_layer_dwconv);
      size_t nw = weighted ? hwt_layer_weight_count(l) : 0, nz = 0;
      for (size_t k = 0; k < nw; k++) nz += l->w[k] != 0;
      weights += nw;
      nonzero += nz;
      size_t j = 0;
      while (j < np && prunable[j] != i) j++;
      if (j == np) {
        sparse_bytes += lb;
        disk_bytes += lb;
        continue;
      }
      pw += nw;
      pz += nw - nz;
      size_t N = l->outputs, K = N ? nw / N : 0;
      hwt_spmm_f32_plan *plan = NULL;
      double pb = 0;
      if (hwt_spmm_f32_create(N, K, l->w, l->b, -INFINITY, INFINITY, hwt_spmm_best_isa(), &plan) == hwt_status_ok)
        pb = (double) hwt_spmm_f32_plan_bytes(plan);
      const char *fmt = plan ? hwt_spmm_f32_plan_format(plan) : "";
      json_t *lj = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:f,s:b,s:f,s:s}", "index", (json_int_t) i, "name", l->name,
                             "type", hwt_layer_type_name(l->type), "n", (json_int_t) N, "k", (json_int_t) K,
                             "weights", (json_int_t) nw, "sparsity", nw ? (double) (nw - nz) / (double) nw : 0.0,
                             "sparse_kernel", sparse_capable(l), "plan_bytes", pb, "plan_format", fmt);
      hwt_spmm_f32_destroy(plan);
      plan_bytes += pb;
      sparse_bytes += pb > 0 ? pb : lb;
      disk_bytes += fmin(lb, csr_file_bytes(N, K, nz));
      double du = hwt_stats_quantile(w->t[0].layer + j * cap, w->iters, 0.5) / 1e3;
      double su = hwt_stats_quantile(w->t[1].layer + j * cap, w->iters, 0.5) / 1e3;
      json_object_set_new(lj, "dense_us", json_real(du));
      json_object_set_new(lj, "sparse_us", json_real(su));
      json_object_set_new(lj, "speedup", json_real(su > 0 ? du / su : 0));
      json_object_set_new(lj, "runtime_choice", json_string(hwt_engine_layer_choice(w->e[2], i)->sparse ? "sparse" : "dense"));
      json_array_append_new(layers, lj);
    }
    json_t *rj = json_pack("{s:f,s:f,s:f,s:I,s:I}", "sparsity", w->sparsity, "pruned_layers_sparsity",
                           pw ? (double) pz / (double) pw : 0.0, "model_sparsity",
                           weights ? 1.0 - (double) nonzero / (double) weights : 0.0, "weights", (json_int_t) weights,
                           "nonzero_weights", (json_int_t) nonzero);
    json_object_set_new(rj, "size", json_pack("{s:f,s:f,s:f,s:f,s:I,s:I}", "dense_fp32_bytes", dense_bytes,
                                              "sparse_plans_bytes", plan_bytes, "model_sparse_bytes", sparse_bytes,
                                              "on_disk_csr_bytes", disk_bytes, "engine_bytes_dense_kernels",
                                              (json_int_t) hwt_engine_bytes(w->e[0]), "engine_bytes_sparse_kernels",
                                              (json_int_t) hwt_engine_bytes(w->e[1])));
    /* accuracy */
    hwt_audit_prune_figures fg = {w->sparsity, false, 0, false, -1, 0, 0, crossover};
    if (n > 0) {
      size_t agree = 0, correct = 0, b = 0, c = 0;
      double maxd = 0, maxk = 0;
      for (size_t s = 0; s < n; s++) {
        const float *po = w->out_off + s * out_size, *pd = dense_out + s * out_size, *pf = w->out_force + s * out_size;
        agree += argmax(po, out_size) == argmax(pd, out_size);
        for (size_t k = 0; k < out_size; k++) {
          maxd = fmax(maxd, fabs((double) po[k] - pd[k]));
          maxk = fmax(maxk, fabs((double) po[k] - pf[k]));
        }
        if (in->labels != NULL) {
          bool okp = hwt_audit_in_topk(po, classes, in->labels[s], 1), okd = hwt_audit_in_topk(pd, classes, in->labels[s], 1);
          correct += okp;
          b += okd && !okp;
          c += okp && !okd;
        }
      }
      fg.agreement = (double) agree / (double) n;
      json_t *aj = json_pack("{s:f,s:I,s:f,s:f}", "top1_agreement", fg.agreement, "agree_count", (json_int_t) agree,
                             "max_abs_logit_diff", maxd, "sparse_vs_dense_kernels_max_abs_diff", maxk);
      if (in->labels != NULL) {
        double lo, hi, dlo, dhi;
        hwt_audit_wilson(correct, n, HWT_AUDIT_Z95, &lo, &hi);
        hwt_audit_paired_diff_ci(b, c, n, HWT_AUDIT_Z95, &dlo, &dhi);
        fg.labelled = true;
        fg.top1_drop = ((double) b - (double) c) / (double) n;
        fg.drop_significant = dlo > 0;
        json_object_set_new(aj, "top1", json_pack("{s:I,s:f,s:[f,f]}", "correct", (json_int_t) correct, "accuracy",
                                                  (double) correct / (double) n, "ci95", lo, hi));
        json_object_set_new(aj, "drop", json_pack("{s:f,s:I,s:I,s:[f,f],s:b}", "value", fg.top1_drop,
                                                  "dense_only_correct", (json_int_t) b, "pruned_only_correct",
                                                  (json_int_t) c, "ci95", dlo, dhi, "significant", dlo > 0 || dhi < 0));
        if (r > 0) worst_drop = fmax(worst_drop, fg.top1_drop);
      } else {
        json_object_set_new(aj, "note", json_string("no labels: agreement with the dense model only"));
      }
      if (r > 0) worst_agree = fmin(worst_agree, fg.agreement);
      json_object_set_new(rj, "accuracy", aj);
    }
    /* latency */
    json_t *lj = json_object();
    for (int k = 0; k < 3; k++) json_object_set_new(lj, mode_name[k], lat_json(w->t[k].tot, w->iters, batch));
    fg.speedup_sparse = w->p50[1] > 0 ? base / w->p50[1] : 0;
    fg.speedup_auto = w->p50[2] > 0 ? base / w->p50[2] : 0;
    json_object_set_new(lj, "speedup_sparse_vs_dense_model", json_real(fg.speedup_sparse));
    json_object_set_new(lj, "speedup_runtime_vs_dense_model", json_real(fg.speedup_auto));
    json_object_set_new(lj, "speedup_sparse_vs_dense_kernels", json_real(w->p50[1] > 0 ? w->p50[0] / w->p50[1] : 0));
    json_object_set_new(lj, "runtime_runs_sparse_layers", json_boolean(w->auto_sparse_any));
    json_object_set_new(rj, "latency", lj);
    json_object_set_new(rj, "layers", layers);
    if (r > 0) {
      best_speed = fmax(best_speed, fmax(fg.speedup_sparse, fg.speedup_auto));
      char v[512];
      hwt_audit_prune_verdict(&fg, v, sizeof(v));
      json_object_set_new(rj, "verdict", json_string(v));
      json_array_append_new(verdicts, json_string(v));
    }
    json_array_append_new(jrows, rj);
  }
  if (crossover > 0) json_object_set_new(res, "measured_break_even", json_real(crossover));
  else json_object_set_new(res, "measured_break_even", json_null());
  json_object_set_new(res, "method",
                      json_string("each sparsity: hwt_model_prune of the fp32 model (0 = the model itself); accuracy "
                                  "with dense kernels on the scored samples (top-1 against the labels, Wilson 95% "
                                  "interval; drop = dense - pruned, paired, Agresti-Min; agreement and max |logit "
                                  "difference| against the dense model); latency: the three sparse modes of every "
                                  "sparsity interleaved in one loop (bench seconds x sparsities), p50 of each, per-layer times from the same runs "
                                  "(layer_timing); speed-ups against the dense model on dense kernels; measured "
                                  "break-even: the lowest listed sparsity from which every higher one is >= 1.05x "
                                  "faster on sparse kernels; sizes: fp32 parameters, the sparse plans "
                                  "(hwt_spmm_f32_plan_bytes) of the pruned layers, a CSR file estimate (fp32 values, "
                                  "uint16 column indices, uint32 row starts, fp32 bias)"));
  if (nrows > 1) {
    if (isfinite(worst_drop)) json_object_set_new(metrics, "prune_top1_drop", json_real(worst_drop));
    if (isfinite(worst_agree)) json_object_set_new(metrics, "prune_top1_agreement", json_real(worst_agree));
    json_object_set_new(metrics, "prune_speedup", json_real(best_speed));
  }
  if (np == 0)
    hwt_audit_add_finding(findings, "pruning: no layer of this model is prunable with these options (fc and dense "
                          "conv layers; the first and the classifier stay dense unless asked)");
  size_t i;
  json_t *v;
  json_array_foreach(verdicts, i, v) hwt_audit_add_finding(findings, "pruning %s", json_string_value(v));
  st = hwt_status_ok;
  goto done;
oom:
  st = hwt_status_out_of_memory;
  hwt_errf(err, errlen, "pruning: out of memory");
fail:
  json_decref(res);
  res = NULL;
done:
  for (size_t r = 0; r <= HWT_AUDIT_MAX_PRUNE; r++) /* engines first: they read their model until destroyed */
    for (int k = 0; k < 3; k++) {
      hwt_engine_destroy(rows[r].e[k]);
      rows[r].e[k] = NULL;
    }
  for (size_t r = 0; r <= HWT_AUDIT_MAX_PRUNE; r++) {
    hwt_model_free(rows[r].m);
    free(rows[r].rep);
    free(rows[r].out_off);
    free(rows[r].out_force);
    for (int k = 0; k < 3; k++) {
      free(rows[r].t[k].tot);
      free(rows[r].t[k].layer);
    }
  }
  free(prunable);
  free(dense_out);
  free(y);
  *stp = st;
  return res;
}
