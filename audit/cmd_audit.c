/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune audit`: option parsing and output for the audit of a model on this CPU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/verbs.h"
#include "audit.h"
#include "hwt_common.h"

#define HWT_AUDIT_MAX_SECONDS (7.0 * 86400) /* --duration, --soak-window: at most 7 days */

static void usage(FILE *out) {
  fprintf(out,
          "usage: hwtune audit --model M.onnx|FILE|mlp|mobilenet [--profile P|none] [--precision fp32,int8] [--batch LIST]\n"
          "                    [--duration S] [--threads N] [--mem-limit MB] [--fail-on RULES]\n"
          "                    [--format console|md|json] [--out FILE] [--bench-seconds S]\n"
          "                    [--inputs N|X.npy [--labels Y.npy] [--calibration C.npy]]\n"
          "                    [--soak-window S] [--no-peaks] [--no-abnormal]\n"
          "                    [--prune LIST [--prune-pattern unstructured|block] [--prune-scope per-layer|global]]\n"
          "       hwtune audit --render R.json [--format console|md]\n\n"
          "Audits a model on this CPU with hwtune's inference runtime: latency p50/p90/p99/max and throughput per\n"
          "precision and batch (tuned by the profile vs the default, side by side), the cold start a deployed\n"
          "service pays (import, engine create, first inference), the slowest layers with GFLOP/s, %% of peak and\n"
          "compute/memory bound, memory (peak RSS, runtime allocations, largest step up, the activation arena's\n"
          "plan), int8 vs fp32 accuracy (per layer and end to end; an int8 ONNX model runs as it is, with no fp32\n"
          "twin), abnormal inputs (zero, huge, NaN, Inf, denormal), a single-thread run, a run under --mem-limit,\n"
          "and with --duration a soak (latency change, memory growth).\n"
          "With --inputs FILE everything runs on your samples, and with --labels it reports top-1 (and top-5 with\n"
          "more than 5 classes) accuracy of fp32 and int8, the drop, and their 95%% confidence intervals.\n"
          "It looks for noise as bench does: load from other processes on each usable CPU before and during each\n"
          "measurement (/proc/stat) and this process's run-queue waits (schedstat), each a finding above its\n"
          "threshold; and a finding whenever the multi-threaded p50 is slower than the single-thread p50.\n"
          "Failures (a model, engine or run that does not work) exit 1 with no report.\n\n"
          "  --model M         an ONNX file (.onnx; a symbolic batch dimension takes each --batch), mlp\n"
          "                    (784-256-128-10), mobilenet (v1, width 0.25, 96x96x3) or a model JSON file\n"
          "  --profile P       tuning profile (default: libhwtune's default path when it exists; 'none': defaults only)\n"
          "                    Without a profile every layer runs on XNNPACK with all usable CPUs.\n"
          "  --precision LIST  fp32, int8 or both (default fp32,int8; int8 = post-training quantization)\n"
          "  --batch LIST      batch sizes, 1 to 16 of them, each in [1, 4096] (default 1, or the batch the model's\n"
          "                    file fixes)\n"
          "  --duration S      soak for S seconds, S in [0, 604800] (7 days; 0 = no soak): windowed medians,\n"
          "                    latency change over the soak with a 95%% CI (from 30 s and 6 windows on),\n"
          "                    memory growth\n"
          "  --soak-window S   soak window, S in (0, 604800] (default duration/12, at least 0.5 s)\n"
          "  --threads N       cap threads per layer, N in [1, 256] (default: all usable CPUs); above the usable CPUs\n"
          "                    (affinity mask, cgroup quota) it is clamped to them, with a note\n"
          "  --mem-limit MB    also build and run the model in a child limited to MB of address space, MB in\n"
          "                    [1, 10000000]\n"
          "  --fail-on RULES   e.g. \"p99_ms>5,top1_agreement<0.98,rss_mb>200\": exit 1 when a rule is broken.\n"
          "                    Metrics: p50_ms p90_ms p99_ms max_ms throughput top1_agreement cosine max_abs_err\n"
          "                    rss_mb alloc_mb drift_pct rss_growth_mb_h abnormal_failures single_thread_p99_ms\n"
          "                    top1_fp32 top1_int8 top1_drop top5_fp32 top5_int8 top5_drop (with --labels;\n"
          "                    with --prune: prune_top1_drop prune_top1_agreement prune_speedup;\n"
          "                    accuracies as fractions, drop = fp32 - int8, e.g. \"top1_drop>0.02\")\n"
          "                    (drift_pct: the latency change over the soak in %%; no figure below 30 s or 6 windows,\n"
          "                    and a rule on a metric the run did not measure counts as broken)\n"
          "  --format F        console (default), md or json (schema " HWT_AUDIT_SCHEMA ")\n"
          "  --out FILE        write the report to FILE atomically (format from .json/.md unless --format)\n"
          "  --bench-seconds S time per latency configuration, S in (0, 3600] (default 1)\n"
          "  --inputs N        generated inputs for int8 vs fp32, N in [0, 100000] (default 100; 0 = no comparison)\n"
          "  --inputs X.npy    your samples instead (anything but a plain number is a file; ./100 names a file '100'):\n"
          "                    .npy or ONNX .pb, float32/float64/uint8/int8, N samples along dim 0, the other dims\n"
          "                    the model input's in the file's layout (ONNX: [N, C, H, W]). They are scored (int8 vs\n"
          "                    fp32, accuracy with --labels), and every timed run uses the first B of them for batch B.\n"
          "  --labels Y.npy    class index of each --inputs sample: int64/int32/uint8/int8, shape [N] or [N, 1], each\n"
          "                    in [0, classes), classes = the size of output 0 per sample\n"
          "  --calibration C.npy  int8 calibration samples (same sample shape as --inputs). Default with --inputs FILE:\n"
          "                    the first max(1, min(100, N/10)) samples of it calibrate and are not scored; without an\n"
          "                    --inputs file: 32 generated inputs\n"
          "  --prune LIST      sparsities in [0, 1], e.g. 0.5,0.75,0.9 (at most 16): a pruning section. Each prunes\n"
          "                    the fp32 model by weight magnitude (first layer and classifier kept dense; no\n"
          "                    fine-tuning) and reports, next to the dense model (0): top-1 accuracy on --labels and\n"
          "                    its drop, top-1 agreement and max |logit difference| with the dense model, p50 with\n"
          "                    dense kernels, sparse kernels and the runtime's own choice, sizes, per-layer times\n"
          "                    and a verdict. Scored on the same samples as the accuracy section; timed at the\n"
          "                    first --batch. An int8 model file is not pruned (a finding says so).\n"
          "                    --fail-on metrics: prune_top1_drop (largest), prune_top1_agreement (lowest),\n"
          "                    prune_speedup (best)\n"
          "  --prune-pattern P unstructured (default) or block (the sparse kernels' block shape)\n"
          "  --prune-scope S   per-layer (default: each layer reaches the sparsity) or global (one threshold)\n"
          "  --render R.json   print a stored report (JSON written by --out) as console text or --format md;\n"
          "                    nothing is measured\n"
          "  --no-peaks        skip detect's ~2 s peak measurement (no %% of peak)\n"
          "  --no-abnormal     skip the abnormal-input checks\n\n"
          "On your data (file formats, which samples calibrate and which are scored, the intervals): docs/audit.md.\n\n"
          "Exit codes: 0 ok, 1 runtime failure, a broken --fail-on rule, or an --inputs, --labels or --calibration\n"
          "file refused (named, with the shape, count or index at fault), 2 usage error (an --out whose\n"
          "directory does not exist included: refused before measuring, never created).\n");
}

static int bad(const char *msg, const char *arg) {
  fprintf(stderr, "hwtune audit: %s%s%s%s\n\n", msg, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
  usage(stderr);
  return 2;
}

int hwt_cmd_audit(int argc, char **argv) {
  hwt_audit_opts o;
  hwt_audit_opts_default(&o);
  const char *fail_on = NULL, *format = NULL, *out_path = NULL, *prune_opts = NULL, *render = NULL;
  hwt_rule rules[HWT_AUDIT_MAX_RULES];
  size_t nrules = 0;
  char cmdline[2048] = "hwtune";
  for (int i = 0; i < argc; i++)
    snprintf(cmdline + strlen(cmdline), sizeof(cmdline) - strlen(cmdline), " %s", argv[i]);
  o.command_line = cmdline;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (strcmp(a, "--no-peaks") == 0) {
      o.measure_peaks = false;
      continue;
    }
    if (strcmp(a, "--no-abnormal") == 0) {
      o.abnormal = false;
      continue;
    }
    if (strncmp(a, "--", 2) != 0) return bad("unexpected argument", a);
    if (i + 1 >= argc) return bad("option needs a value:", a);
    const char *v = argv[++i];
    uint64_t u;
    double d;
    if (strcmp(a, "--model") == 0) {
      o.model = v;
    } else if (strcmp(a, "--profile") == 0) {
      o.profile = v;
    } else if (strcmp(a, "--precision") == 0) {
      hwt_list l;
      if (hwt_list_split(v, &l) != hwt_status_ok) {
        fprintf(stderr, "hwtune audit: out of memory reading %s\n", a);
        return 1;
      }
      o.fp32 = o.int8 = false;
      for (size_t k = 0; k < l.count; k++) {
        if (strcmp(l.items[k], "fp32") == 0)
          o.fp32 = true;
        else if (strcmp(l.items[k], "int8") == 0)
          o.int8 = true;
        else {
          hwt_list_free(&l);
          return bad("--precision takes fp32 and/or int8, not", v);
        }
      }
      hwt_list_free(&l);
      if (!o.fp32 && !o.int8) return bad("--precision is empty", NULL);
    } else if (strcmp(a, "--batch") == 0) {
      hwt_list l;
      if (hwt_list_split(v, &l) != hwt_status_ok) {
        fprintf(stderr, "hwtune audit: out of memory reading %s\n", a);
        return 1;
      }
      o.nbatches = 0;
      o.batches_given = true;
      for (size_t k = 0; k < l.count; k++) {
        if (o.nbatches >= HWT_AUDIT_MAX_BATCH || !hwt_parse_u64(l.items[k], 1, 4096, &u)) {
          hwt_list_free(&l);
          return bad("--batch takes 1 to 16 sizes, each an integer in [1, 4096], not", v);
        }
        o.batches[o.nbatches++] = (size_t) u;
      }
      hwt_list_free(&l);
      if (o.nbatches == 0) return bad("--batch is empty", NULL);
    } else if (strcmp(a, "--duration") == 0) {
      if (!hwt_parse_double(v, &d) || !(d >= 0 && d <= HWT_AUDIT_MAX_SECONDS))
        return bad("--duration takes seconds in [0, 604800] (0 = no soak, at most 7 days), not", v);
      o.duration_s = d;
    } else if (strcmp(a, "--soak-window") == 0) {
      if (!hwt_parse_double(v, &d) || !(d > 0 && d <= HWT_AUDIT_MAX_SECONDS))
        return bad("--soak-window takes seconds in (0, 604800], not", v);
      o.soak_window_s = d;
    } else if (strcmp(a, "--threads") == 0) {
      if (!hwt_parse_u64(v, 1, 256, &u))
        return bad("--threads takes an integer in [1, 256] (above the usable CPUs: clamped), not", v);
      o.threads = (unsigned) u;
    } else if (strcmp(a, "--mem-limit") == 0) {
      if (!hwt_parse_double(v, &d) || !(d >= 1 && d <= 1e7))
        return bad("--mem-limit takes megabytes in [1, 10000000], not", v);
      o.mem_limit_mb = d;
    } else if (strcmp(a, "--fail-on") == 0) {
      fail_on = v;
    } else if (strcmp(a, "--format") == 0) {
      if (strcmp(v, "md") != 0 && strcmp(v, "json") != 0 && strcmp(v, "console") != 0)
        return bad("--format takes console, md or json, not", v);
      format = v;
    } else if (strcmp(a, "--out") == 0) {
      if (*v == '\0') return bad("--out needs a file name", NULL);
      out_path = v;
    } else if (strcmp(a, "--bench-seconds") == 0) {
      if (!hwt_parse_double(v, &d) || !(d > 0 && d <= 3600))
        return bad("--bench-seconds takes seconds in (0, 3600], not", v);
      o.bench_s = d;
    } else if (strcmp(a, "--inputs") == 0) {
      /* a plain number is the count of generated inputs (as before files were accepted); anything else a file */
      if (*v != '\0' && strspn(v, "0123456789") == strlen(v)) {
        if (!hwt_parse_u64(v, 0, 100000, &u))
          return bad("--inputs takes a count in [0, 100000] or a file (./NAME for a file named by digits), not", v);
        o.accuracy_inputs = (size_t) u;
        o.inputs_file = NULL;
      } else {
        if (*v == '\0') return bad("--inputs needs a count or a file", NULL);
        o.inputs_file = v;
      }
    } else if (strcmp(a, "--render") == 0) {
      render = v;
    } else if (strcmp(a, "--prune") == 0) {
      char perr[512];
      if (hwt_audit_prune_list_parse(v, o.prune, &o.nprune, perr, sizeof(perr)) != hwt_status_ok) {
        fprintf(stderr, "hwtune audit: %s\n\n", perr);
        usage(stderr);
        return 2;
      }
    } else if (strcmp(a, "--prune-pattern") == 0) {
      if (strcmp(v, "unstructured") == 0)
        o.prune_pattern = hwt_prune_unstructured;
      else if (strcmp(v, "block") == 0)
        o.prune_pattern = hwt_prune_block;
      else
        return bad("--prune-pattern takes unstructured or block, not", v);
      prune_opts = a;
    } else if (strcmp(a, "--prune-scope") == 0) {
      if (strcmp(v, "per-layer") == 0)
        o.prune_scope = hwt_prune_per_layer;
      else if (strcmp(v, "global") == 0)
        o.prune_scope = hwt_prune_global;
      else
        return bad("--prune-scope takes per-layer or global, not", v);
      prune_opts = a;
    } else if (strcmp(a, "--labels") == 0) {
      if (*v == '\0') return bad("--labels needs a file", NULL);
      o.labels_file = v;
    } else if (strcmp(a, "--calibration") == 0) {
      if (*v == '\0') return bad("--calibration needs a file", NULL);
      o.calibration_file = v;
    } else {
      return bad("unknown option", a);
    }
  }
  if (render != NULL) { /* a stored document, rendered again: nothing measured */
    if (o.model != NULL) return bad("--render takes a stored report, not a --model as well", NULL);
    json_error_t je;
    json_t *doc = json_load_file(render, 0, &je);
    const char *schema = json_string_value(json_object_get(doc, "schema"));
    if (doc == NULL || schema == NULL || strcmp(schema, HWT_AUDIT_SCHEMA) != 0) {
      fprintf(stderr, "hwtune audit: --render %s: %s\n", render,
              doc == NULL ? je.text : "not an " HWT_AUDIT_SCHEMA " document");
      json_decref(doc);
      return 1;
    }
    char *text = hwt_audit_render(doc, format != NULL && strcmp(format, "md") == 0);
    json_decref(doc);
    if (text == NULL) {
      fprintf(stderr, "hwtune audit: out of memory rendering the report\n");
      return 1;
    }
    fputs(text, stdout);
    free(text);
    return 0;
  }
  if (o.model == NULL) return bad("--model is required (an .onnx file, mlp, mobilenet or a model JSON file)", NULL);
  if (prune_opts != NULL && o.nprune == 0) return bad("this option needs --prune LIST:", prune_opts);
  if (o.labels_file != NULL && o.inputs_file == NULL)
    return bad("--labels needs --inputs FILE (the samples the labels belong to), not a count", NULL);
  char err[1024] = "";
  if (fail_on != NULL && hwt_audit_rules_parse(fail_on, rules, &nrules, err, sizeof(err)) != hwt_status_ok) {
    fprintf(stderr, "hwtune audit: %s\n", err);
    return 2;
  }
  if (out_path != NULL && hwt_check_out_dir(out_path, err, sizeof(err)) != hwt_status_ok) {
    fprintf(stderr, "hwtune audit: --out: %s\n", err); /* before minutes of measuring, not after */
    return 2;
  }
  if (format == NULL) {
    size_t n = out_path ? strlen(out_path) : 0;
    format = n > 5 && strcmp(out_path + n - 5, ".json") == 0 ? "json" : n > 3 && strcmp(out_path + n - 3, ".md") == 0 ? "md" : "console";
  }
  if (o.duration_s > 0) hwt_log("audit: soak of %.0f s included", o.duration_s);
  json_t *doc = NULL;
  hwt_status st = hwt_audit_run(&o, &doc, err, sizeof(err));
  if (st != hwt_status_ok) {
    fprintf(stderr, "hwtune audit: %s\n", err);
    return 1;
  }
  size_t broken = hwt_audit_rules_apply(doc, rules, nrules);
  char *text = strcmp(format, "json") == 0 ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER)
                                           : hwt_audit_render(doc, strcmp(format, "md") == 0);
  int rc = broken ? 1 : 0;
  if (text == NULL) {
    fprintf(stderr, "hwtune audit: out of memory rendering the report\n");
    rc = 1;
  } else if (out_path != NULL) {
    size_t n = strlen(text);
    char *t2 = realloc(text, n + 2);
    if (t2 != NULL) {
      text = t2;
      if (n == 0 || text[n - 1] != '\n') text[n++] = '\n';
    }
    if (hwt_write_file_atomic(out_path, text, n, err, sizeof(err)) != hwt_status_ok) {
      fprintf(stderr, "hwtune audit: %s\n", err);
      rc = 1;
    } else {
      hwt_log("audit: wrote %s (%s)", out_path, format);
    }
  } else {
    fputs(text, stdout);
    if (strcmp(format, "json") == 0) fputc('\n', stdout);
  }
  if (broken) fprintf(stderr, "hwtune audit: %zu --fail-on rule%s broken\n", broken, broken == 1 ? "" : "s");
  free(text);
  json_decref(doc);
  return rc;
}
