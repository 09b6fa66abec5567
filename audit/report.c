/* SPDX-License-Identifier: Apache-2.0 */
/* Renders an hwtune.audit/1 document for people: console text or Markdown (the same tables; Markdown adds
 * headings), from the JSON document only, so what is printed is exactly what is stored. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

static double num(const json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}
static const char *str(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static void heading(FILE *f, bool md, const char *t) {
  if (md)
    fprintf(f, "\n## %s\n\n", t);
  else
    fprintf(f, "\n== %s\n", t);
}

/* "[360, 1, 8, 8]" from a JSON array of integers. */
static void dims_text(const json_t *arr, char *buf, size_t len) {
  size_t i, used = 0;
  json_t *v;
  int w = snprintf(buf, len, "[");
  used = w > 0 ? (size_t) w : 0;
  json_array_foreach(arr, i, v) {
    if (used >= len) break;
    w = snprintf(buf + used, len - used, "%s%lld", i ? ", " : "", (long long) json_integer_value(v));
    used += w > 0 ? (size_t) w : 0;
  }
  if (used < len) snprintf(buf + used, len - used, "]");
}

/* The data section: which files fed the audit, which samples calibrated int8 and which were scored. */
static void data_lines(FILE *f, bool md, const json_t *data) {
  const json_t *in = json_object_get(data, "inputs"), *lab = json_object_get(data, "labels");
  const json_t *cal = json_object_get(data, "calibration"), *sc = json_object_get(data, "scored");
  char dims[128];
  const char *pre = md ? "\n" : "";
  if (json_object_get(in, "file")) {
    dims_text(json_object_get(in, "shape"), dims, sizeof(dims));
    fprintf(f, "%sdata: %s %s %s (%lld samples)", pre, str(in, "file"), dims, str(in, "dtype"),
            (long long) json_integer_value(json_object_get(in, "samples")));
    if (lab != NULL) {
      dims_text(json_object_get(lab, "shape"), dims, sizeof(dims));
      fprintf(f, "; labels %s %s %s, %lld classes", str(lab, "file"), dims, str(lab, "dtype"),
              (long long) json_integer_value(json_object_get(lab, "classes")));
    }
    fprintf(f, "\n");
  } else if (in != NULL) {
    fprintf(f, "%sdata: %lld generated inputs (no --inputs file)\n", pre,
            (long long) json_integer_value(json_object_get(in, "samples")));
  }
  if (cal != NULL) {
    const char *src = str(cal, "source");
    long long nc = (long long) json_integer_value(json_object_get(cal, "samples"));
    if (strcmp(src, "file") == 0)
      fprintf(f, "%sint8 calibration: %lld samples of %s\n", pre, nc, str(cal, "file"));
    else if (strcmp(src, "split") == 0)
      fprintf(f, "%sint8 calibration: samples %lld-%lld of %s (the first max(1, min(100, N/10)); not scored)\n", pre,
              (long long) json_integer_value(json_object_get(cal, "first")),
              (long long) json_integer_value(json_object_get(cal, "last")), str(cal, "file"));
    else if (strcmp(src, "generated") == 0)
      fprintf(f, "%sint8 calibration: %lld generated inputs\n", pre, nc);
    else
      fprintf(f, "%sint8 calibration: none (%s)\n", pre, str(cal, "note"));
  }
  if (sc != NULL)
    fprintf(f, "%sscored: samples %lld-%lld of %s (%lld); timed runs use the first B samples for batch B\n", pre,
            (long long) json_integer_value(json_object_get(sc, "first")),
            (long long) json_integer_value(json_object_get(sc, "last")), str(sc, "file"),
            (long long) json_integer_value(json_object_get(sc, "count")));
}

/* "96.94% (349/360) | [94.62, 98.30]" cells of one accuracy. */
static void acc_cells(FILE *f, const json_t *x, long long n) {
  const json_t *ci = json_object_get(x, "ci95");
  char a[48];
  snprintf(a, sizeof(a), "%6.2f%% (%lld/%lld)", 100 * num(x, "accuracy"),
           (long long) json_integer_value(json_object_get(x, "correct")), n);
  fprintf(f, " %-22s | [%6.2f, %6.2f] |", a, 100 * json_number_value(json_array_get(ci, 0)),
          100 * json_number_value(json_array_get(ci, 1)));
}

/* Accuracy on labelled data: per precision top-1 (top-5), then the drop with its paired interval. */
static void labelled_table(FILE *f, const json_t *l) {
  long long n = (long long) json_integer_value(json_object_get(l, "samples"));
  bool top5 = false;
  for (int p = 0; p < 2; p++) top5 |= json_object_get(json_object_get(l, p ? "int8" : "fp32"), "top5") != NULL;
  fprintf(f, "accuracy on %lld labelled samples (%s, %lld classes); 95%% confidence intervals\n\n", n,
          str(l, "file"), (long long) json_integer_value(json_object_get(l, "classes")));
  fprintf(f, "| precision   | top-1                  | 95%% CI           |%s\n", top5 ? " top-5                  | 95% CI           |" : "");
  fprintf(f, "|-------------|------------------------|------------------|%s\n", top5 ? "------------------------|------------------|" : "");
  for (int p = 0; p < 2; p++) {
    const json_t *pj = json_object_get(l, p ? "int8" : "fp32");
    if (pj == NULL) continue;
    fprintf(f, "| %-11s |", p ? "int8" : "fp32");
    acc_cells(f, json_object_get(pj, "top1"), n);
    if (top5) acc_cells(f, json_object_get(pj, "top5"), n);
    fprintf(f, "\n");
  }
  const json_t *d = json_object_get(l, "drop");
  if (d != NULL) {
    fprintf(f, "| fp32 - int8 |");
    for (int k = 0; k < (top5 ? 2 : 1); k++) {
      const json_t *x = json_object_get(d, k ? "top5" : "top1"), *ci = json_object_get(x, "ci95");
      char a[48];
      snprintf(a, sizeof(a), "%+6.2f pts (%lld vs %lld)", 100 * num(x, "value"),
               (long long) json_integer_value(json_object_get(x, "fp32_only_correct")),
               (long long) json_integer_value(json_object_get(x, "int8_only_correct")));
      fprintf(f, " %-22s | [%+6.2f, %+6.2f] |", a, 100 * json_number_value(json_array_get(ci, 0)),
              100 * json_number_value(json_array_get(ci, 1)));
    }
    fprintf(f, "\n\n(x vs y: samples right in fp32 only vs in int8 only; the drop is (x - y) / %lld%s)\n", n,
            json_is_true(json_object_get(json_object_get(d, "top1"), "significant"))
                ? "; the top-1 drop is significant: its interval excludes 0"
                : "; the top-1 interval includes 0: no significant difference");
  }
  fprintf(f, "\nmethod: %s\n", str(l, "method"));
}


/* The pruning section: one row per sparsity (0 = the dense model), the pruned layers, the verdicts. */
static void prune_section(FILE *f, bool md, const json_t *pr) {
  heading(f, md, "Pruning: accuracy, speed and size per sparsity on this CPU");
  if (json_object_get(pr, "skipped")) {
    fprintf(f, "skipped: %s\n", str(pr, "skipped"));
    return;
  }
  const json_t *opt = json_object_get(pr, "options"), *data = json_object_get(pr, "data");
  long long ns = (long long) json_integer_value(json_object_get(data, "samples"));
  bool labels = json_is_true(json_object_get(data, "labels"));
  fprintf(f, "pattern %s, thresholds %s, first layer %s, classifier %s; batch %lld, %lld thread%s; sparse kernels at "
          "%s; accuracy on %lld %s sample%s%s\n\n",
          str(opt, "pattern"), str(opt, "scope"), json_is_true(json_object_get(opt, "first_dense")) ? "dense" : "pruned",
          json_is_true(json_object_get(opt, "classifier_dense")) ? "dense" : "pruned",
          (long long) json_integer_value(json_object_get(pr, "batch")),
          (long long) json_integer_value(json_object_get(pr, "threads")),
          json_integer_value(json_object_get(pr, "threads")) == 1 ? "" : "s", str(pr, "sparse_isa"), ns,
          str(data, "source"), ns == 1 ? "" : "s", labels ? "" : " (no labels: agreement with the dense model only)");
  fprintf(f, "| sparsity | pruned layers | nonzero weights |%s  agree | max abs dlogit | p50 dense kern. us | p50 sparse "
             "kern. us | p50 runtime us | speed-up sparse | speed-up runtime | MB fp32 | MB sparse | MB CSR file |\n",
          labels ? " top-1 (95% CI)                 | drop pts (95% CI)        |" : "");
  fprintf(f, "|---------:|--------------:|----------------:|%s-------:|---------------:|-------------------:|"
             "--------------------:|---------------:|----------------:|-----------------:|--------:|----------:|"
             "------------:|\n", labels ? "--------------------------------|--------------------------|" : "");
  size_t i, j;
  json_t *r, *x;
  json_array_foreach(json_object_get(pr, "rows"), i, r) {
    const json_t *acc = json_object_get(r, "accuracy"), *lat = json_object_get(r, "latency");
    const json_t *sz = json_object_get(r, "size");
    fprintf(f, "| %7.0f%% | %12.1f%% | %15lld |", 100 * num(r, "sparsity"), 100 * num(r, "pruned_layers_sparsity"),
            (long long) json_integer_value(json_object_get(r, "nonzero_weights")));
    if (labels) {
      const json_t *t = json_object_get(acc, "top1"), *d = json_object_get(acc, "drop");
      const json_t *tc = json_object_get(t, "ci95"), *dc = json_object_get(d, "ci95");
      char a[64], b[64];
      snprintf(a, sizeof(a), "%6.2f%% [%6.2f, %6.2f]", 100 * num(t, "accuracy"),
               100 * json_number_value(json_array_get(tc, 0)), 100 * json_number_value(json_array_get(tc, 1)));
      snprintf(b, sizeof(b), "%+6.2f [%+6.2f, %+6.2f]", 100 * num(d, "value"),
               100 * json_number_value(json_array_get(dc, 0)), 100 * json_number_value(json_array_get(dc, 1)));
      fprintf(f, " %-30s | %-24s |", a, b);
    }
    if (acc != NULL)
      fprintf(f, " %5.1f%% | %14.4g |", 100 * num(acc, "top1_agreement"), num(acc, "max_abs_logit_diff"));
    else
      fprintf(f, "      - |              - |");
    fprintf(f, " %18.1f | %19.1f | %14.1f | %14.2fx | %15.2fx | %7.3f | %9.3f | %11.3f |\n",
            1e3 * num(json_object_get(lat, "dense_kernels"), "p50_ms"),
            1e3 * num(json_object_get(lat, "sparse_kernels"), "p50_ms"),
            1e3 * num(json_object_get(lat, "runtime_choice"), "p50_ms"), num(lat, "speedup_sparse_vs_dense_model"),
            num(lat, "speedup_runtime_vs_dense_model"), num(sz, "dense_fp32_bytes") / 1e6,
            num(sz, "model_sparse_bytes") / 1e6, num(sz, "on_disk_csr_bytes") / 1e6);
  }
  fprintf(f, "\n(speed-ups: the dense model on dense kernels, p50, over this row's p50; agree: top-1 agreement with the "
             "dense model; MB sparse: the pruned layers as sparse plans, the others dense)\n");
  fprintf(f, "\n| sparsity | layer            | type             |      N x K      | sparsity | dense us | sparse us | "
             "speed-up | runtime                  |\n"
             "|---------:|------------------|------------------|----------------:|---------:|---------:|----------:|"
             "---------:|--------------------------|\n");
  json_array_foreach(json_object_get(pr, "rows"), i, r) {
    if (i == 0 && json_array_size(json_object_get(pr, "rows")) > 1) continue; /* the dense row's: in the JSON */
    json_array_foreach(json_object_get(r, "layers"), j, x) {
      char shape[48];
      snprintf(shape, sizeof(shape), "%lld x %lld", (long long) json_integer_value(json_object_get(x, "n")),
               (long long) json_integer_value(json_object_get(x, "k")));
      char rt[48];
      snprintf(rt, sizeof(rt), "%s%s", str(x, "runtime_choice"),
               json_is_true(json_object_get(x, "sparse_kernel")) ? "" : " (no sparse kernel)");
      fprintf(f, "| %7.0f%% | %-16.16s | %-16s | %15s | %7.1f%% | %8.2f | %9.2f | %7.2fx | %-24s |\n",
              100 * num(r, "sparsity"), str(x, "name"), str(x, "type"), shape, 100 * num(x, "sparsity"),
              num(x, "dense_us"), num(x, "sparse_us"), num(x, "speedup"), rt);
    }
  }
  fprintf(f, "\nmeasured break-even (end to end, sparse kernels >= 1.05x from this sparsity up): ");
  if (json_is_number(json_object_get(pr, "measured_break_even")))
    fprintf(f, "%.0f%%\n", 100 * num(pr, "measured_break_even"));
  else
    fprintf(f, "none among the listed sparsities\n");
  fprintf(f, "\n");
  json_array_foreach(json_object_get(pr, "verdicts"), i, r) fprintf(f, "%s%s\n", md ? "- " : "", json_string_value(r));
}

static void lat_cells(FILE *f, const json_t *l) {
  fprintf(f, "| %8.3f | %8.3f | %8.3f | %8.3f | %10.1f ", num(l, "p50_ms"), num(l, "p90_ms"), num(l, "p99_ms"),
          num(l, "max_ms"), num(l, "throughput_per_s"));
}

char *hwt_audit_render(const json_t *doc, bool md) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (f == NULL) return NULL;
  const json_t *ctx = json_object_get(doc, "context"), *model = json_object_get(doc, "model");
  const json_t *prof = json_object_get(ctx, "profile");
  long long nthr = (long long) json_integer_value(json_object_get(ctx, "threads"));
  fprintf(f, "%shwtune audit: model '%s' (%.2f MFLOP/sample, %.0f parameters) on %s, %lld thread%s\n",
          md ? "# " : "", str(model, "name"), num(model, "mflops_per_sample"), num(model, "parameters"),
          json_object_get(ctx, "cpu") ? str(ctx, "cpu") : "this CPU", nthr, nthr == 1 ? "" : "s");
  if (*str(model, "source") || *str(model, "input_dims"))
    fprintf(f, "%smodel: %s%sinput %s\n", md ? "\n" : "", str(model, "source"), *str(model, "source") ? ", " : "",
            *str(model, "input_dims") ? str(model, "input_dims") : "-");
  fprintf(f, "%sprofile: %s%s%s%s\n", md ? "\n" : "", str(prof, "status"), json_object_get(prof, "path") ? " (" : "",
          str(prof, "path"), json_object_get(prof, "path") ? ")" : "");
  if (json_object_get(prof, "message")) fprintf(f, "  %s\n", str(prof, "message"));
  if (json_object_get(ctx, "threads_note")) fprintf(f, "%snote: %s\n", md ? "\n" : "", str(ctx, "threads_note"));
  data_lines(f, md, json_object_get(doc, "data"));

  size_t i, j;
  json_t *r, *x;
  heading(f, md, "Latency (ms) and throughput (samples/s): tuned vs default");
  fprintf(f, "| precision | batch | config  |      p50 |      p90 |      p99 |      max | throughput | p50 speed-up |\n"
             "|-----------|------:|---------|---------:|---------:|---------:|---------:|-----------:|-------------:|\n");
  json_array_foreach(json_object_get(doc, "latency"), i, r) {
    fprintf(f, "| %-9s | %5lld | default ", str(r, "precision"), (long long) json_integer_value(json_object_get(r, "batch")));
    lat_cells(f, json_object_get(r, "default"));
    fprintf(f, "|              |\n");
    if (json_object_get(r, "tuned")) {
      fprintf(f, "| %-9s | %5lld | tuned   ", str(r, "precision"), (long long) json_integer_value(json_object_get(r, "batch")));
      lat_cells(f, json_object_get(r, "tuned"));
      fprintf(f, "| %11.2fx |\n", num(r, "speedup_p50"));
    }
  }
  heading(f, md, "Single-thread run (ms)");
  fprintf(f, "| precision | batch | single  |      p50 |      p90 |      p99 |      max | throughput |\n"
             "|-----------|------:|---------|---------:|---------:|---------:|---------:|-----------:|\n");
  json_array_foreach(json_object_get(doc, "single_thread"), i, r) {
    fprintf(f, "| %-9s | %5lld | 1 thr   ", str(r, "precision"), (long long) json_integer_value(json_object_get(r, "batch")));
    lat_cells(f, json_object_get(r, "single_thread"));
    fprintf(f, "|\n");
  }

  const json_t *cold = json_object_get(doc, "cold_start");
  if (cold != NULL) {
    heading(f, md, "Cold start: what a deployed service pays before its first answer (ms)");
    const json_t *im = json_object_get(cold, "import");
    fprintf(f, "| step                                          |    first |   median | reps |\n"
               "|-----------------------------------------------|---------:|---------:|-----:|\n");
    fprintf(f, "| import: parse the file, lay out the weights   | %8.3f | %8.3f | %4lld |\n", num(im, "first_ms"),
            num(im, "median_ms"), (long long) json_integer_value(json_object_get(im, "repetitions")));
    json_array_foreach(json_object_get(cold, "precisions"), i, r) {
      const json_t *c = json_object_get(r, "engine_create"), *fi = json_object_get(r, "first_inference");
      char label[96];
      snprintf(label, sizeof(label), "%s engine create: pack weights, plan memory", str(r, "precision"));
      fprintf(f, "| %-45s | %8.3f | %8.3f | %4lld |\n", label, num(c, "first_ms"), num(c, "median_ms"),
              (long long) json_integer_value(json_object_get(c, "repetitions")));
      snprintf(label, sizeof(label), "%s first inference, batch %lld", str(r, "precision"),
               (long long) json_integer_value(json_object_get(cold, "batch")));
      fprintf(f, "| %-45s | %8.3f | %8.3f | %4lld |\n", label, num(fi, "first_ms"), num(fi, "median_ms"),
              (long long) json_integer_value(json_object_get(fi, "repetitions")));
    }
    fprintf(f, "\n");
    json_array_foreach(json_object_get(cold, "precisions"), i, r) {
      fprintf(f, "%s: %.3f ms to the first answer (import + create + first inference, medians)", str(r, "precision"),
              num(r, "to_first_answer_ms"));
      if (!isnan(num(r, "steady_p50_ms")))
        fprintf(f, "; steady-state p50 %.3f ms, the first inference is %.1fx it", num(r, "steady_p50_ms"),
                num(r, "first_inference_vs_p50"));
      fprintf(f, "\n");
      if (json_object_get(r, "note")) fprintf(f, "  (%s)\n", str(r, "note"));
    }
  }

  json_array_foreach(json_object_get(doc, "layers"), i, r) {
    char t[160];
    snprintf(t, sizeof(t), "Top layers, %s batch %lld (%.1f us per run, %lld runs)", str(r, "precision"),
             (long long) json_integer_value(json_object_get(r, "batch")), num(r, "total_us"),
             (long long) json_integer_value(json_object_get(r, "iterations")));
    heading(f, md, t);
    fprintf(f, "| layer    | type             | impl/thr    | choice from               |      us | %%time | GFLOP/s | %%peak | FLOP/B | bound   |\n"
               "|----------|------------------|-------------|---------------------------|--------:|------:|--------:|------:|-------:|---------|\n");
    json_array_foreach(json_object_get(r, "layers"), j, x) {
      if (j >= 8) break;
      char impl[32], pk[16];
      snprintf(impl, sizeof(impl), "%s/%lld", str(x, "impl"), (long long) json_integer_value(json_object_get(x, "threads")));
      double pp = num(x, "pct_peak");
      if (isnan(pp))
        snprintf(pk, sizeof(pk), "    -");
      else
        snprintf(pk, sizeof(pk), "%5.1f", pp);
      fprintf(f, "| %-8s | %-16s | %-11s | %-25.25s | %7.1f | %5.1f | %7.2f | %s | %6.1f | %-7s |\n", str(x, "name"),
              str(x, "type"), impl, str(x, "source"), num(x, "median_us"), num(x, "pct_time"), num(x, "gflops"), pk,
              num(x, "intensity"), str(x, "bound"));
    }
  }

  const json_t *mem = json_object_get(doc, "memory");
  heading(f, md, "Memory");
  fprintf(f, "peak RSS %.1f MB; runtime allocations: peak %.2f MB, live at the end %.2f MB (%lld allocations)\n",
          num(mem, "peak_rss_mb"), num(mem, "runtime_peak_mb"), num(mem, "runtime_live_mb"),
          (long long) json_integer_value(json_object_get(mem, "runtime_allocations")));
  fprintf(f, "largest single step up: %+.2f MB at '%s'\n", num(json_object_get(mem, "largest_step"), "mb"),
          str(json_object_get(mem, "largest_step"), "phase"));
  json_array_foreach(json_object_get(mem, "plan"), i, r) {
    double ar = num(r, "arena_bytes"), vb = num(r, "values_bytes");
    fprintf(f, "%s memory plan, batch %lld: activation arena %.3f MB (every value in its own buffer: %.3f MB, %.1fx)\n",
            str(r, "precision"), (long long) json_integer_value(json_object_get(r, "batch")), ar / 1048576.0,
            vb / 1048576.0, ar > 0 ? vb / ar : 0.0);
  }
  fprintf(f, "\n| phase                          | RSS MB | runtime MB | runtime peak MB | step MB |\n"
             "|--------------------------------|-------:|-----------:|----------------:|--------:|\n");
  json_array_foreach(json_object_get(mem, "phases"), i, r)
    fprintf(f, "| %-30s | %6.1f | %10.2f | %15.2f | %+7.2f |\n", str(r, "phase"), num(r, "rss_mb"),
            num(r, "runtime_mb"), num(r, "runtime_peak_mb"), num(r, "step_mb"));

  const json_t *acc = json_object_get(doc, "accuracy");
  if (acc != NULL && json_object_get(acc, "labelled") != NULL) {
    heading(f, md, "Accuracy on your labelled data");
    if (json_object_get(acc, "note")) fprintf(f, "%s\n", str(acc, "note"));
    labelled_table(f, json_object_get(acc, "labelled"));
  }
  if (acc != NULL && (json_object_get(acc, "labelled") == NULL || json_object_get(acc, "end_to_end") != NULL)) {
    heading(f, md, "int8 vs fp32");
    if (json_object_get(acc, "error")) {
      fprintf(f, "error: %s\n", str(acc, "error"));
    } else if (json_object_get(acc, "skipped")) {
      fprintf(f, "not compared: %s\n", str(acc, "skipped"));
    } else if (json_object_get(acc, "end_to_end") == NULL) {
      fprintf(f, "not compared: %s\n", str(acc, "note"));
    } else {
      const json_t *e2e = json_object_get(acc, "end_to_end");
      fprintf(f, "end to end over %lld %s: top-1 agreement %.1f%% (%lld), cosine %.5f, max |error| %.3g\n",
              (long long) json_integer_value(json_object_get(acc, "inputs")),
              strcmp(str(acc, "source"), "file") == 0 ? "of your samples" : "generated inputs",
              100 * num(e2e, "top1_agreement"), (long long) json_integer_value(json_object_get(e2e, "top1_agree_count")),
              num(e2e, "cosine"), num(e2e, "max_abs_err"));
      fprintf(f, "\n| layer    | type             |  cosine  | max abs err |\n|----------|------------------|---------:|------------:|\n");
      json_array_foreach(json_object_get(acc, "layers"), i, r)
        fprintf(f, "| %-8s | %-16s | %.6f | %11.4g |\n", str(r, "name"), str(r, "type"), num(r, "cosine"),
                num(r, "max_abs_err"));
    }
  }

  const json_t *pr = json_object_get(doc, "prune");
  if (pr != NULL) prune_section(f, md, pr);

  const json_t *ab = json_object_get(doc, "abnormal");
  if (ab != NULL) {
    heading(f, md, "Abnormal inputs (each checked in a child process: a crash or hang cannot take the audit down)");
    if (!json_is_array(ab)) {
      fprintf(f, "error: %s\n", str(ab, "error"));
    } else {
      fprintf(f, "| precision | input          | run | NaN/Inf in | NaN/Inf out | time x normal | verdict |\n"
                 "|-----------|----------------|-----|-----------:|------------:|--------------:|---------|\n");
      json_array_foreach(ab, i, r)
        fprintf(f, "| %-9s | %-14s | %s | %10lld | %11lld | %13.2f | %s |\n", str(r, "precision"), str(r, "case"),
                str(r, "run"), (long long) json_integer_value(json_object_get(r, "input_nonfinite")),
                (long long) json_integer_value(json_object_get(r, "output_nonfinite")), num(r, "latency_ratio"),
                str(r, "verdict"));
    }
  }
  const json_t *ml = json_object_get(doc, "mem_limit");
  if (ml != NULL) {
    heading(f, md, "Run under --mem-limit");
    fprintf(f, "%s\n", str(ml, "message"));
  }
  const json_t *soak = json_object_get(doc, "soak");
  if (soak != NULL) {
    heading(f, md, "Soak");
    fprintf(f, "%lld windows over %.1f s at batch %lld\n", (long long) json_integer_value(json_object_get(soak, "windows")),
            num(soak, "duration_s"), (long long) json_integer_value(json_object_get(soak, "batch")));
    bool col[2] = {json_object_get(soak, "fp32") != NULL, json_object_get(soak, "int8") != NULL};
    fprintf(f, "\n|    t (s) |%s%s RSS MB | runtime MB |\n|---------:|%s%s-------:|-----------:|\n",
            col[0] ? " fp32 median ms |" : "", col[1] ? " int8 median ms |" : "", col[0] ? "---------------:|" : "",
            col[1] ? "---------------:|" : "");
    json_array_foreach(json_object_get(soak, "window_medians"), i, r) {
      fprintf(f, "| %8.1f |", num(r, "t_s"));
      for (int p = 0; p < 2; p++) {
        double v = num(r, p ? "int8_median_ms" : "fp32_median_ms");
        if (!col[p]) continue;
        if (isnan(v))
          fprintf(f, " %14s |", "-");
        else
          fprintf(f, " %14.4f |", v);
      }
      fprintf(f, " %6.1f | %10.2f |\n", num(r, "rss_mb"), num(r, "runtime_mb"));
    }
    fprintf(f, "\n");
    for (int p = 0; p < 2; p++) {
      const json_t *d = json_object_get(soak, p ? "int8" : "fp32");
      if (d == NULL) continue;
      if (!json_is_true(json_object_get(d, "enough_data"))) {
        fprintf(f, "%s latency drift: %s\n", p ? "int8" : "fp32", str(d, "note"));
        continue;
      }
      const json_t *ci = json_object_get(d, "ci95_pct");
      fprintf(f, "%s latency change: %+.1f%% over %.0f s, 95%% CI [%+.1f, %+.1f]%% (%s)%s\n", p ? "int8" : "fp32",
              num(d, "change_pct"), num(d, "over_s"), json_number_value(json_array_get(ci, 0)),
              json_number_value(json_array_get(ci, 1)),
              json_is_true(json_object_get(d, "significant")) ? "significant" : "not significant",
              json_is_true(json_object_get(d, "drift_flag")) ? "  ** FLAGGED: significant, > 5% **" : "");
    }
    fprintf(f, "RSS growth: %+.2f MB over the soak (%+.1f MB/h)%s; runtime allocations grew by %.0f bytes%s\n",
            num(soak, "rss_growth_mb"), num(soak, "rss_growth_mb_h"),
            json_is_true(json_object_get(soak, "rss_growth_flag")) ? "  ** FLAGGED: steady growth **" : "",
            num(soak, "runtime_growth_bytes"),
            json_is_true(json_object_get(soak, "runtime_growth_flag")) ? "  ** FLAGGED **" : "");
  }
  const json_t *nz = json_object_get(doc, "noise");
  if (nz != NULL) {
    heading(f, md, "Noise: other processes and run-queue waits");
    fprintf(f, "load from other processes before the measurements (200 ms):");
    json_array_foreach(json_object_get(nz, "load_before"), i, r) {
      double l = num(r, "load");
      if (isnan(l))
        fprintf(f, " cpu%lld -", (long long) json_integer_value(json_object_get(r, "cpu")));
      else
        fprintf(f, " cpu%lld %.0f%%", (long long) json_integer_value(json_object_get(r, "cpu")), 100 * l);
    }
    if (json_array_size(json_object_get(nz, "load_before")) == 0) fprintf(f, " not measured");
    fprintf(f, "\n\n| phase                               | thr |     s | other load | busiest CPU |     run-queue wait |\n"
               "|-------------------------------------|----:|------:|-----------:|------------:|-------------------:|\n");
    json_array_foreach(json_object_get(nz, "phases"), i, r) {
      char load[24] = "-", busy[32] = "-", wait[40] = "-";
      if (!isnan(num(r, "load"))) {
        snprintf(load, sizeof(load), "%.0f%%", 100 * num(r, "load"));
        long long cpu = json_integer_value(json_object_get(r, "busiest_cpu"));
        if (cpu >= 0) snprintf(busy, sizeof(busy), "cpu%lld %.0f%%", cpu, 100 * num(r, "busiest_load"));
        else snprintf(busy, sizeof(busy), "none");
      }
      if (!isnan(num(r, "runqueue_wait_ms")))
        snprintf(wait, sizeof(wait), "%.1f ms (%.1f%%)", num(r, "runqueue_wait_ms"), 100 * num(r, "runqueue_wait_share"));
      fprintf(f, "| %-35.35s | %3lld | %5.2f | %10s | %11s | %18s |\n", str(r, "phase"),
              (long long) json_integer_value(json_object_get(r, "threads")), num(r, "seconds"), load, busy, wait);
    }
  }
  const json_t *rules = json_object_get(doc, "rules");
  if (rules != NULL && json_array_size(rules) > 0) {
    heading(f, md, "--fail-on rules");
    json_array_foreach(rules, i, r) {
      fprintf(f, "- %s: %s (value %s%.4g)%s%s\n", str(r, "rule"), json_is_true(json_object_get(r, "broken")) ? "BROKEN" : "ok",
              "", num(r, "value"), json_object_get(r, "note") ? " " : "", str(r, "note"));
    }
  }
  heading(f, md, "Findings");
  const json_t *fi = json_object_get(doc, "findings");
  if (json_array_size(fi) == 0) fprintf(f, "none\n");
  json_array_foreach(fi, i, r) fprintf(f, "- %s\n", json_string_value(r));
  fclose(f);
  return buf;
}
