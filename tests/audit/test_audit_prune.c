/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune audit --prune`: the pruning section end to end (one row per sparsity, 0% equal to the dense run, 100%
 * of the pruned layers changing the outputs, sizes, JSON fields, --fail-on), refusals, and the verdict lines.
 * Correctness only: nothing here asserts a speed. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/cli_run.h"

#include "audit.h"

#define DIG HWTUNE_FIXTURES "/digits/"
#define QUICK " --bench-seconds 0.02 --no-peaks --no-abnormal --profile none --threads 1 --precision fp32"

/* Runs `hwtune audit <args>`, stderr into err; returns the exit code. */
static int audit(const char *args, char *err, size_t errlen) {
  char cmd[4096];
  int n = snprintf(cmd, sizeof(cmd), "%s audit %s", HWTUNE_BINARY, args);
  cr_assert(n > 0 && (size_t) n < sizeof(cmd), "command too long: %s", args);
  return hwt_test_run(cmd, NULL, 0, err, errlen);
}

/* Runs an audit writing JSON; returns the document (asserts exit code `rc`). */
static json_t *audit_json(const char *args, int rc) {
  char err[8192], out[] = "/tmp/hwt_audit_prune_XXXXXX.json", full[4096];
  int fd = mkstemps(out, 5);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(full, sizeof(full), "%s --out %s", args, out);
  cr_assert_eq(audit(full, err, sizeof(err)), rc, "%s", err);
  json_error_t je;
  json_t *doc = json_load_file(out, 0, &je);
  unlink(out);
  cr_assert_not_null(doc, "%s", je.text);
  return doc;
}

static double num(const json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  cr_assert(json_is_number(v), "missing number '%s'", k);
  return json_number_value(v);
}

Test(audit_prune, digits_mlp_rows_accuracy_sizes) {
  json_t *doc = audit_json("--model " DIG "digits_mlp.onnx --inputs " DIG "test_x_flat.npy --labels " DIG
                           "test_y.npy --prune 1,0.5 --fail-on 'prune_top1_agreement<0'" QUICK, 0);
  json_t *pr = json_object_get(doc, "prune"), *rows = json_object_get(pr, "rows");
  cr_assert_eq(json_array_size(rows), 3); /* 0 (dense), 0.5, 1 in ascending order */
  double want[3] = {0, 0.5, 1};
  for (size_t i = 0; i < 3; i++) cr_assert_float_eq(num(json_array_get(rows, i), "sparsity"), want[i], 1e-12);
  cr_assert_eq(json_array_size(json_object_get(pr, "verdicts")), 2);
  cr_assert(json_is_true(json_object_get(json_object_get(pr, "data"), "labels")));
  /* 0% is the dense run: the same top-1 count as the accuracy section's fp32, outputs identical */
  json_t *r0 = json_array_get(rows, 0), *a0 = json_object_get(r0, "accuracy");
  json_t *lab = json_object_get(json_object_get(doc, "accuracy"), "labelled");
  json_int_t dense_correct = json_integer_value(json_object_get(json_object_get(json_object_get(lab, "fp32"), "top1"), "correct"));
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(a0, "top1"), "correct")), dense_correct);
  cr_assert_eq(dense_correct, 349); /* the training script's figure (tests/fixtures/digits/README.md) */
  cr_assert_float_eq(num(a0, "top1_agreement"), 1.0, 1e-12);
  cr_assert_float_eq(num(a0, "max_abs_logit_diff"), 0.0, 1e-12);
  cr_assert_float_eq(num(json_object_get(a0, "drop"), "value"), 0.0, 1e-12);
  /* 100% of the pruned layers: they output their bias only, the logits change */
  json_t *r2 = json_array_get(rows, 2), *a2 = json_object_get(r2, "accuracy");
  cr_assert_float_eq(num(r2, "pruned_layers_sparsity"), 1.0, 1e-12);
  cr_assert_gt(num(a2, "max_abs_logit_diff"), 0.0);
  cr_assert_lt(num(a2, "top1_agreement"), 1.0);
  /* sparse and dense kernels compute the same product on the same pruned weights */
  for (size_t i = 0; i < 3; i++) {
    json_t *a = json_object_get(json_array_get(rows, i), "accuracy");
    cr_assert_leq(num(a, "sparse_vs_dense_kernels_max_abs_diff"), 1e-3, "row %zu", i);
  }
  /* weights: the same count, fewer nonzeros as the sparsity grows; sizes follow */
  double w0 = num(r0, "weights"), nz[3], disk[3], plans[3];
  for (size_t i = 0; i < 3; i++) {
    json_t *r = json_array_get(rows, i), *sz = json_object_get(r, "size");
    cr_assert_float_eq(num(r, "weights"), w0, 0);
    nz[i] = num(r, "nonzero_weights");
    disk[i] = num(sz, "on_disk_csr_bytes");
    plans[i] = num(sz, "sparse_plans_bytes");
    cr_assert_float_eq(num(sz, "dense_fp32_bytes"), num(json_object_get(r0, "size"), "dense_fp32_bytes"), 0);
    cr_assert_gt(num(sz, "engine_bytes_dense_kernels"), 0);
    cr_assert_gt(plans[i], 0);
    cr_assert_leq(disk[i], num(sz, "dense_fp32_bytes"));
  }
  cr_assert(nz[0] > nz[1] && nz[1] > nz[2], "%g %g %g", nz[0], nz[1], nz[2]);
  cr_assert(disk[0] > disk[2] && plans[0] > plans[2]);
  /* per pruned layer: fc1 only (the first layer and the classifier stay dense); its sparsity, times, choice */
  for (size_t i = 0; i < 3; i++) {
    json_t *ls = json_object_get(json_array_get(rows, i), "layers");
    cr_assert_eq(json_array_size(ls), 1);
    json_t *l = json_array_get(ls, 0);
    cr_assert_str_eq(json_string_value(json_object_get(l, "type")), "fully_connected");
    cr_assert_float_eq(num(l, "sparsity"), want[i], 0.01);
    cr_assert_gt(num(l, "dense_us"), 0);
    cr_assert_gt(num(l, "sparse_us"), 0);
    cr_assert(json_is_true(json_object_get(l, "sparse_kernel")));
    cr_assert_not_null(json_string_value(json_object_get(l, "runtime_choice")));
    json_t *lat = json_object_get(json_array_get(rows, i), "latency");
    cr_assert_gt(num(json_object_get(lat, "dense_kernels"), "p50_ms"), 0);
    cr_assert_gt(num(json_object_get(lat, "sparse_kernels"), "p50_ms"), 0);
    cr_assert_gt(num(json_object_get(lat, "runtime_choice"), "p50_ms"), 0);
  }
  /* summary figures --fail-on reads, and the rule on one of them */
  json_t *s = json_object_get(doc, "summary");
  cr_assert_float_eq(num(s, "prune_top1_drop"),
                     num(json_object_get(json_object_get(r2, "accuracy"), "drop"), "value"), 1e-12);
  cr_assert_float_eq(num(s, "prune_top1_agreement"), num(a2, "top1_agreement"), 1e-12);
  cr_assert_gt(num(s, "prune_speedup"), 0);
  cr_assert(json_is_false(json_object_get(json_array_get(json_object_get(doc, "rules"), 0), "broken")));
  json_decref(doc);
}

Test(audit_prune, fail_on_prune_drop_and_markdown) {
  char err[8192];
  /* 100% pruning of fc1 loses far more than 50 points: the gate breaks, exit 1 */
  cr_assert_eq(audit("--model " DIG "digits_mlp.onnx --inputs " DIG "test_x_flat.npy --labels " DIG
                     "test_y.npy --prune 1 --fail-on 'prune_top1_drop>0.5'" QUICK, err, sizeof(err)), 1, "%s", err);
  cr_assert(strstr(err, "1 --fail-on rule broken") != NULL, "%s", err);
  /* the Markdown report has the section with one row per sparsity and the verdicts */
  char cmd[2048], path[] = "/tmp/hwt_audit_prune_md_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(cmd, sizeof(cmd), "%s audit --model mlp --inputs 6 --prune 0.9 --format md" QUICK " >%s 2>/dev/null",
           HWTUNE_BINARY, path);
  cr_assert_eq(system(cmd), 0);
  FILE *f = fopen(path, "r");
  static char md[1 << 20];
  size_t n = fread(md, 1, sizeof(md) - 1, f);
  md[n] = '\0';
  fclose(f);
  unlink(path);
  cr_assert(strstr(md, "## Pruning: accuracy, speed and size per sparsity") != NULL);
  cr_assert(strstr(md, "|       0% |") != NULL && strstr(md, "|      90% |") != NULL, "%s", md);
  cr_assert(strstr(md, "no labels: agreement with the dense model only") != NULL);
  cr_assert(strstr(md, "- 90%: no labels: top-1 agrees with the dense model on") != NULL, "%s", md);
  /* --render prints a stored document again, nothing measured */
  char json[] = "/tmp/hwt_audit_prune_XXXXXX.json";
  fd = mkstemps(json, 5);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(cmd, sizeof(cmd), "%s audit --model mlp --inputs 6 --prune 0.9 --out %s" QUICK " 2>/dev/null",
           HWTUNE_BINARY, json);
  cr_assert_eq(system(cmd), 0);
  snprintf(cmd, sizeof(cmd), "%s audit --render %s --format md >%s", HWTUNE_BINARY, json, path);
  cr_assert_eq(system(cmd), 0);
  f = fopen(path, "r");
  n = fread(md, 1, sizeof(md) - 1, f);
  md[n] = '\0';
  fclose(f);
  unlink(path);
  cr_assert(strstr(md, "## Pruning: accuracy, speed and size per sparsity") != NULL, "%s", md);
  snprintf(cmd, sizeof(cmd), "%s audit --render %s.missing 2>/dev/null", HWTUNE_BINARY, json);
  int st = system(cmd);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
  unlink(json);
}

Test(audit_prune, no_labels_agreement_only) {
  json_t *doc = audit_json("--model mlp --inputs 12 --prune 0.75" QUICK, 0);
  json_t *rows = json_object_get(json_object_get(doc, "prune"), "rows");
  cr_assert_eq(json_array_size(rows), 2);
  json_t *a = json_object_get(json_array_get(rows, 1), "accuracy");
  cr_assert_null(json_object_get(a, "top1"));
  cr_assert_not_null(json_object_get(a, "note"));
  cr_assert(num(a, "top1_agreement") >= 0 && num(a, "top1_agreement") <= 1);
  /* mlp 784-256-128-10: fc2 (256 -> 128) is the one pruned layer */
  json_t *ls = json_object_get(json_array_get(rows, 1), "layers");
  cr_assert_eq(json_array_size(ls), 1);
  cr_assert_eq(json_integer_value(json_object_get(json_array_get(ls, 0), "n")), 128);
  cr_assert_eq(json_integer_value(json_object_get(json_array_get(ls, 0), "k")), 256);
  json_t *s = json_object_get(doc, "summary");
  cr_assert_null(json_object_get(s, "prune_top1_drop")); /* no labels: no drop figure, a rule on it would break */
  cr_assert_not_null(json_object_get(s, "prune_top1_agreement"));
  json_decref(doc);
}

Test(audit_prune, refusals_exit_2_naming_the_flag) {
  char err[8192];
  const char *bad[] = {"--prune 1.5", "--prune -0.1", "--prune abc", "--prune ''", "--prune 0.5,0.5",
                       "--prune 0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.91,0.92,0.93,0.94,0.95,0.96,0.97,0.98",
                       "--prune 0.5 --prune-pattern diagonal", "--prune 0.5 --prune-scope everywhere"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char args[512];
    snprintf(args, sizeof(args), "--model mlp %s" QUICK, bad[i]);
    cr_assert_eq(audit(args, err, sizeof(err)), 2, "%s: %s", bad[i], err);
    cr_assert(strstr(err, "--prune") != NULL, "%s: %s", bad[i], err);
  }
  cr_assert_eq(audit("--model mlp --prune-pattern block" QUICK, err, sizeof(err)), 2);
  cr_assert(strstr(err, "needs --prune LIST") != NULL && strstr(err, "--prune-pattern") != NULL, "%s", err);
}

Test(audit_prune, int8_model_is_a_finding_not_pruned) {
  json_t *doc = audit_json("--model " HWTUNE_FIXTURES "/models/tiny_int8.json --inputs 4 --prune 0.5 --bench-seconds "
                           "0.02 --no-peaks --no-abnormal --profile none --threads 1", 0);
  json_t *pr = json_object_get(doc, "prune");
  cr_assert_not_null(json_object_get(pr, "skipped"));
  bool found = false;
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(doc, "findings"), i, f) found |= strstr(json_string_value(f), "--prune skipped") != NULL;
  cr_assert(found);
  json_decref(doc);
}

Test(audit_prune, verdict_lines) {
  char v[512];
  hwt_audit_prune_figures f = {0.9, true, 0.031, true, 0.95, 1.8, 1.7, 0.75};
  hwt_audit_prune_verdict(&f, v, sizeof(v));
  cr_assert(strstr(v, "90%: top-1 -3.1 points (significant), 1.80x faster with sparse kernels") != NULL, "%s", v);
  cr_assert(strstr(v, "costs accuracy") != NULL, "%s", v);
  f.top1_drop = 0.002;
  f.drop_significant = false;
  hwt_audit_prune_verdict(&f, v, sizeof(v));
  cr_assert(strstr(v, ": worth it") != NULL, "%s", v);
  f = (hwt_audit_prune_figures){0.5, false, 0, false, 1.0, 0.6, 1.0, 0.75};
  hwt_audit_prune_verdict(&f, v, sizeof(v));
  cr_assert(strstr(v, "50%: no labels") != NULL && strstr(v, "below the measured break-even of 75%") != NULL, "%s", v);
  cr_assert(strstr(v, "not worth it here") != NULL, "%s", v);
  double l[HWT_AUDIT_MAX_PRUNE];
  size_t n;
  char err[256];
  cr_assert_eq(hwt_audit_prune_list_parse("0.5,0.75,0.9", l, &n, err, sizeof(err)), hwt_status_ok);
  cr_assert_eq(n, 3);
  cr_assert_float_eq(l[1], 0.75, 1e-15);
  cr_assert_neq(hwt_audit_prune_list_parse("0.5,x,0.9", l, &n, err, sizeof(err)), hwt_status_ok);
}
