/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune audit` on the user's data (issue 19): --inputs FILE, --labels, --calibration. Bad files exit 1 naming the
 * file (sample shape, label count, label range, calibration shape); the labelled audit of the digits MLP scores
 * the fp32 top-1 the training script measured (349 of 360); the default calibration split is never scored; an
 * int8 model file reports int8 accuracy only, and `hwtune quantize`'s file scores as the audit's int8 twin; the
 * reports show the accuracy table. Short runs (--bench-seconds 0.05, --no-peaks). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "onnx.h"
#include "hwtune/profile.h"
#include "profile_model.h" /* hwt_model_identify: the key of a profile's model entry */

#define DIG HWTUNE_FIXTURES "/digits/"
#define MLP DIG "digits_mlp.onnx"
#define QUICK " --bench-seconds 0.05 --no-peaks --profile none --threads 1 --no-abnormal"

/* Runs `hwtune audit <args>`, stderr into err; returns the exit code. */
static int audit(const char *args, char *err, size_t errlen) {
  char cmd[4096], path[] = "/tmp/hwt_audit_data_err_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(cmd, sizeof(cmd), "%s audit %s >/dev/null 2>%s", HWTUNE_BINARY, args, path);
  int st = system(cmd);
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(err, 1, errlen - 1, f) : 0;
  err[n] = '\0';
  if (f) fclose(f);
  unlink(path);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs the audit into a temporary JSON file and loads it (exit 0 asserted). */
static json_t *audit_json(const char *args) {
  char out[] = "/tmp/hwt_audit_data_XXXXXX.json", full[4096], err[8192];
  int fd = mkstemps(out, 5);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(full, sizeof(full), "%s --out %s" QUICK, args, out);
  cr_assert_eq(audit(full, err, sizeof(err)), 0, "%s: %s", full, err);
  json_error_t je;
  json_t *doc = json_load_file(out, 0, &je);
  unlink(out);
  cr_assert_not_null(doc, "%s", je.text);
  return doc;
}

/* Writes an int64 label file of n labels: labels[i] = i % classes, except labels[bad_at] = bad. */
static void write_labels(const char *path, size_t n, int64_t classes, size_t bad_at, int64_t bad) {
  int64_t *v = malloc(n * sizeof(int64_t));
  cr_assert_not_null(v);
  for (size_t i = 0; i < n; i++) v[i] = (int64_t) i % classes;
  if (bad_at < n) v[bad_at] = bad;
  hwt_tensor t = {.dtype = hwt_dtype_i64, .rank = 1, .dims = {(int64_t) n}, .count = n, .data = v};
  char err[512];
  cr_assert_eq(hwt_tensor_write_npy(path, &t, err, sizeof(err)), hwt_status_ok, "%s", err);
  free(v);
}

static double num_at(const json_t *doc, const char *a, const char *b, const char *c, const char *d) {
  const json_t *x = json_object_get(doc, a);
  if (b) x = json_object_get(x, b);
  if (c) x = json_object_get(x, c);
  if (d) x = json_object_get(x, d);
  cr_assert(json_is_number(x), "%s.%s.%s.%s is not a number", a, b ? b : "", c ? c : "", d ? d : "");
  return json_number_value(x);
}

Test(audit_data, sample_shape_mismatch_exits_1_naming_the_file) {
  char err[8192];
  /* the CNN's images [360, 1, 8, 8] fed to the MLP, whose input is [N, 64] */
  cr_assert_eq(audit("--model " MLP " --inputs " DIG "test_x_img.npy" QUICK, err, sizeof(err)), 1, "%s", err);
  cr_assert(strstr(err, "test_x_img.npy: shape [360, 1, 8, 8] does not fit the model's input 'input': expected "
                        "[N, 64]") != NULL, "%s", err);
  /* labels given as samples: refused for their element type, with a hint */
  cr_assert_eq(audit("--model " MLP " --inputs " DIG "test_y.npy" QUICK, err, sizeof(err)), 1, "%s", err);
  cr_assert(strstr(err, "test_y.npy: element type int64") != NULL, "%s", err);
  cr_assert_eq(audit("--model " MLP " --inputs /nonexistent/x.npy" QUICK, err, sizeof(err)), 1, "%s", err);
  cr_assert(strstr(err, "/nonexistent/x.npy") != NULL, "%s", err);
}

Test(audit_data, label_count_mismatch_exits_1_naming_the_file) {
  char err[8192];
  /* 200 calibration samples against the 360 test labels */
  cr_assert_eq(audit("--model " MLP " --inputs " DIG "calib_x_flat.npy --labels " DIG "test_y.npy" QUICK, err,
                     sizeof(err)), 1, "%s", err);
  cr_assert(strstr(err, "--labels " DIG "test_y.npy: 360 labels, but --inputs " DIG "calib_x_flat.npy has 200 "
                        "samples") != NULL, "%s", err);
  /* float labels */
  cr_assert_eq(audit("--model " MLP " --inputs " DIG "test_x_flat.npy --labels " DIG "test_x_flat.npy" QUICK, err,
                     sizeof(err)), 1, "%s", err);
  cr_assert(strstr(err, "test_x_flat.npy: element type float32: labels are integer class indices") != NULL, "%s",
            err);
  /* labels without an inputs file: a usage error */
  cr_assert_eq(audit("--model " MLP " --inputs 20 --labels " DIG "test_y.npy" QUICK, err, sizeof(err)), 2, "%s", err);
}

Test(audit_data, label_out_of_range_exits_1_naming_the_file_and_index) {
  char dir[] = "/tmp/hwt_audit_labels_XXXXXX", path[256], args[1024], err[8192];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/bad_y.npy", dir);
  write_labels(path, 360, 10, 37, 10);
  snprintf(args, sizeof(args), "--model " MLP " --inputs " DIG "test_x_flat.npy --labels %s" QUICK, path);
  cr_assert_eq(audit(args, err, sizeof(err)), 1, "%s", err);
  char want[512];
  snprintf(want, sizeof(want), "--labels %s: label 10 at index 37 is outside [0, 10)", path);
  cr_assert(strstr(err, want) != NULL, "%s", err);
  write_labels(path, 360, 10, 359, -1);
  cr_assert_eq(audit(args, err, sizeof(err)), 1, "%s", err);
  cr_assert(strstr(err, "label -1 at index 359") != NULL, "%s", err);
  unlink(path);
  rmdir(dir);
}

Test(audit_data, calibration_shape_mismatch_exits_1_naming_the_file) {
  char err[8192];
  cr_assert_eq(audit("--model " MLP " --inputs " DIG "test_x_flat.npy --labels " DIG "test_y.npy --calibration " DIG
                     "calib_x_img.npy" QUICK, err, sizeof(err)), 1, "%s", err);
  cr_assert(strstr(err, "--calibration " DIG "calib_x_img.npy: shape [200, 1, 8, 8] does not fit the model's input "
                        "'input': expected [N, 64]") != NULL, "%s", err);
}

/* The known figure: ci/models/digits.py measured 96.94% (349 of 360) for the MLP in numpy. */
Test(audit_data, labelled_digits_mlp_scores_the_known_accuracy) {
  json_t *doc = audit_json("--model " MLP " --inputs " DIG "test_x_flat.npy --labels " DIG "test_y.npy "
                           "--calibration " DIG "calib_x_flat.npy --batch 1,8 --fail-on \"top1_drop>0.02\"");
  const json_t *l = json_object_get(json_object_get(doc, "accuracy"), "labelled");
  cr_assert_not_null(l);
  cr_assert_eq(json_integer_value(json_object_get(l, "samples")), 360);
  cr_assert_eq(json_integer_value(json_object_get(l, "classes")), 10);
  cr_assert_eq(num_at(l, "fp32", "top1", "correct", NULL), 349);
  cr_assert_float_eq(num_at(doc, "summary", "top1_fp32", NULL, NULL), 349.0 / 360, 1e-12);
  double lo = json_number_value(json_array_get(json_object_get(json_object_get(json_object_get(l, "fp32"), "top1"),
                                                               "ci95"), 0));
  cr_assert_float_eq(lo, 0.9461218599, 1e-6);
  /* int8 within 2 points; the drop is fp32 - int8 from the discordant pairs */
  double i8 = num_at(doc, "summary", "top1_int8", NULL, NULL), drop = num_at(doc, "summary", "top1_drop", NULL, NULL);
  cr_assert(i8 >= 349.0 / 360 - 0.02, "int8 top-1 %g", i8);
  cr_assert_float_eq(drop, 349.0 / 360 - i8, 1e-12);
  const json_t *d1 = json_object_get(json_object_get(l, "drop"), "top1");
  cr_assert_float_eq(num_at(d1, "fp32_only_correct", NULL, NULL, NULL) - num_at(d1, "int8_only_correct", NULL, NULL, NULL),
                     drop * 360, 1e-9);
  cr_assert(num_at(doc, "summary", "top5_fp32", NULL, NULL) >= num_at(doc, "summary", "top1_fp32", NULL, NULL));
  cr_assert_not_null(json_object_get(json_object_get(doc, "summary"), "top5_drop"));
  /* the data section: files, N, shapes, where calibration came from; all 360 scored */
  const json_t *data = json_object_get(doc, "data");
  cr_assert_eq(num_at(data, "inputs", "samples", NULL, NULL), 360);
  cr_assert_eq(json_integer_value(json_array_get(json_object_get(json_object_get(data, "inputs"), "shape"), 1)), 64);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(data, "calibration"), "source")), "file");
  cr_assert_eq(num_at(data, "calibration", "samples", NULL, NULL), 200);
  cr_assert_eq(num_at(data, "scored", "first", NULL, NULL), 0);
  cr_assert_eq(num_at(data, "scored", "count", NULL, NULL), 360);
  cr_assert(json_is_false(json_object_get(json_array_get(json_object_get(doc, "rules"), 0), "broken")));
  json_decref(doc);
}

/* Without --calibration the first max(1, min(100, N/10)) samples calibrate and are not scored: 36 of 360. */
Test(audit_data, default_split_never_scores_calibration_samples) {
  json_t *doc = audit_json("--model " MLP " --inputs " DIG "test_x_flat.npy --labels " DIG "test_y.npy");
  const json_t *data = json_object_get(doc, "data");
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(data, "calibration"), "source")), "split");
  cr_assert_eq(num_at(data, "calibration", "first", NULL, NULL), 0);
  cr_assert_eq(num_at(data, "calibration", "last", NULL, NULL), 35);
  cr_assert_eq(num_at(data, "scored", "first", NULL, NULL), 36);
  cr_assert_eq(num_at(data, "scored", "count", NULL, NULL), 324);
  cr_assert_eq(num_at(doc, "accuracy", "labelled", "samples", NULL), 324);
  cr_assert_eq(num_at(doc, "accuracy", "inputs", NULL, NULL), 324);
  cr_assert_eq(num_at(doc, "quantization", "calibration_inputs", NULL, NULL), 36);
  /* without labels: agreement only, on the same scored samples */
  json_decref(doc);
  doc = audit_json("--model " MLP " --inputs " DIG "test_x_flat.npy");
  cr_assert_null(json_object_get(json_object_get(doc, "accuracy"), "labelled"));
  cr_assert_null(json_object_get(json_object_get(doc, "summary"), "top1_fp32"));
  cr_assert_eq(num_at(doc, "accuracy", "inputs", NULL, NULL), 324);
  cr_assert(num_at(doc, "summary", "top1_agreement", NULL, NULL) >= 0.9);
  json_decref(doc);
}

/* An int8 model file (QDQ) has no fp32 twin: int8 accuracy only, said so; an fp32 gate on it breaks. */
Test(audit_data, int8_model_reports_int8_accuracy_only) {
  char dir[] = "/tmp/hwt_audit_qdq_XXXXXX", x[256], y[256], args[1024], err[8192];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(x, sizeof(x), "%s/x.npy", dir);
  snprintf(y, sizeof(y), "%s/y.npy", dir);
  float v[12 * 3 * 6 * 6];
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) v[i] = (float) ((i * 7919) % 101) / 100.0f;
  hwt_tensor t = {.dtype = hwt_dtype_f32, .rank = 4, .dims = {12, 3, 6, 6}, .count = sizeof(v) / sizeof(v[0]), .data = v};
  cr_assert_eq(hwt_tensor_write_npy(x, &t, err, sizeof(err)), hwt_status_ok, "%s", err);
  write_labels(y, 12, 5, 99, 0); /* the fixture has 5 outputs: no top-5 */
  snprintf(args, sizeof(args), "--model %s/onnx/qdq_conv_gemm.onnx --inputs %s --labels %s", HWTUNE_FIXTURES, x, y);
  json_t *doc = audit_json(args);
  const json_t *acc = json_object_get(doc, "accuracy"), *l = json_object_get(acc, "labelled");
  cr_assert(strstr(json_string_value(json_object_get(acc, "note")), "int8 accuracy only") != NULL);
  cr_assert_null(json_object_get(l, "fp32"));
  cr_assert_null(json_object_get(l, "drop"));
  cr_assert_not_null(json_object_get(json_object_get(l, "int8"), "top1"));
  cr_assert_null(json_object_get(json_object_get(l, "int8"), "top5"));
  cr_assert_eq(num_at(doc, "data", "scored", "count", NULL), 12); /* nothing calibrated here: all scored */
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(doc, "data"), "calibration"),
                                                     "source")), "none");
  const json_t *sum = json_object_get(doc, "summary");
  cr_assert_not_null(json_object_get(sum, "top1_int8"));
  cr_assert_null(json_object_get(sum, "top1_fp32"));
  json_decref(doc);
  snprintf(args, sizeof(args), "--model %s/onnx/qdq_conv_gemm.onnx --inputs %s --labels %s --fail-on top1_fp32\\<0.5"
           QUICK, HWTUNE_FIXTURES, x, y);
  cr_assert_eq(audit(args, err, sizeof(err)), 1, "a gate on a figure the run cannot measure breaks: %s", err);
  unlink(x);
  unlink(y);
  rmdir(dir);
}

/* `hwtune quantize` writes the quantization the audit measures: its QDQ file, audited on the same labelled samples
 * (int8 only, no fp32 twin), is right on exactly as many samples as the audit's own int8 twin calibrated on the
 * same file. */
Test(audit_data, quantized_file_scores_as_the_audits_int8_twin) {
  char dir[] = "/tmp/hwt_audit_q_XXXXXX", q[256], cmd[2048], args[1024];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(q, sizeof(q), "%s/mlp.int8.onnx", dir);
  snprintf(cmd, sizeof(cmd), "%s quantize --model " MLP " --calibration " DIG "calib_x_flat.npy --out %s 2>/dev/null",
           HWTUNE_BINARY, q);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
  json_t *twin = audit_json("--model " MLP " --inputs " DIG "test_x_flat.npy --labels " DIG "test_y.npy "
                            "--calibration " DIG "calib_x_flat.npy");
  snprintf(args, sizeof(args), "--model %s --inputs " DIG "test_x_flat.npy --labels " DIG "test_y.npy", q);
  json_t *file = audit_json(args);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(file, "model"), "precision")), "int8");
  const json_t *t1 = json_object_get(json_object_get(json_object_get(json_object_get(twin, "accuracy"), "labelled"),
                                                     "int8"), "top1");
  const json_t *f1 = json_object_get(json_object_get(json_object_get(json_object_get(file, "accuracy"), "labelled"),
                                                     "int8"), "top1");
  cr_assert_eq(json_integer_value(json_object_get(f1, "correct")), json_integer_value(json_object_get(t1, "correct")));
  cr_assert_null(json_object_get(json_object_get(json_object_get(file, "accuracy"), "labelled"), "fp32"));
  json_decref(twin);
  json_decref(file);
  unlink(q);
  rmdir(dir);
}

/* The table a team reads: the console and Markdown reports show the counts, accuracies and intervals. */
Test(audit_data, reports_show_the_accuracy_table) {
  char out[] = "/tmp/hwt_audit_data_XXXXXX.md", args[1024], err[8192];
  int fd = mkstemps(out, 3);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(args, sizeof(args), "--model " MLP " --inputs " DIG "test_x_flat.npy --labels " DIG "test_y.npy "
           "--calibration " DIG "calib_x_flat.npy --out %s" QUICK, out);
  cr_assert_eq(audit(args, err, sizeof(err)), 0, "%s", err);
  FILE *f = fopen(out, "r");
  cr_assert_not_null(f);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  unlink(out);
  cr_assert(strstr(buf, "## Accuracy on your labelled data") != NULL, "%s", buf);
  cr_assert(strstr(buf, "| fp32        |  96.94% (349/360)      | [ 94.61,  98.29] |") != NULL, "%s", buf);
  cr_assert(strstr(buf, "| fp32 - int8 |") != NULL, "%s", buf);
  cr_assert(strstr(buf, "int8 calibration: 200 samples of " DIG "calib_x_flat.npy") != NULL, "%s", buf);
  cr_assert(strstr(buf, "scored: samples 0-359 of " DIG "test_x_flat.npy (360)") != NULL, "%s", buf);
}

/* The audit's tuned engine runs what the profile gives the model: with a model entry whose end-to-end race the
 * single-thread plan won, the layers are marked "model race: 1 thread" (not the per-layer entries) and the
 * findings say so; without the entry neither appears. */
static void write_mlp_profile(const char *path, bool with_entry) {
  hwt_profile_machine pm;
  cr_assert_eq(hwt_profile_machine_probe(&pm), hwt_status_ok);
  json_t *fields = json_object();
  for (size_t i = 0; i < pm.nfields; i++) json_object_set_new(fields, pm.fields[i].name, json_string(pm.fields[i].value));
  json_t *doc = json_pack("{s:s,s:{s:s,s:o},s:s,s:[{s:s,s:s,s:s,s:i,s:i,s:i,s:{s:s,s:s,s:i},s:f}]}", "schema",
                          "hwtune.profile/1", "machine", "fingerprint", "", "fields", fields, "objective", "latency",
                          "entries", "op", "gemm_f32", "dtype", "f32", "shape", "256x784", "batch", 1, "n", 256, "k",
                          784, "choice", "impl", "xnnpack", "isa", "auto", "threads", 2, "median_ns", 1000.0);
  cr_assert_not_null(doc);
  if (with_entry) {
    hwt_model_id id;
    char err[256];
    cr_assert_eq(hwt_model_identify("mlp", &id, err, sizeof err), hwt_status_ok, "%s", err);
    json_object_set_new(doc, "models",
                        json_pack("[{s:s,s:s,s:s,s:i,s:s,s:s,s:{s:{s:f,s:f},s:{s:f,s:f},s:{s:f,s:f}}}]", "file", "mlp",
                                  "sha256", id.sha256, "precision", "fp32", "batch", 1, "winner", "single-thread",
                                  "objective", "latency", "plans", "single-thread", "p50_ns", 900.0, "p99_ns", 990.0,
                                  "default", "p50_ns", 950.0, "p99_ns", 999.0, "tuned", "p50_ns", 1000.0, "p99_ns",
                                  1100.0));
  }
  cr_assert_eq(json_dump_file(doc, path, 0), 0);
  json_decref(doc);
}

Test(audit_data, tuned_engine_applies_the_profiles_model_entry) {
  char prof[] = "/tmp/hwt_audit_prof_XXXXXX.json", args[1024];
  int fd = mkstemps(prof, 5);
  cr_assert(fd >= 0);
  close(fd);
  for (int with = 0; with < 2; with++) {
    write_mlp_profile(prof, with);
    snprintf(args, sizeof args,
             "--model mlp --precision fp32 --batch 1 --inputs 10 --bench-seconds 0.05 --no-peaks --no-abnormal "
             "--threads 2 --profile %s --out %s.out.json",
             prof, prof);
    char err[8192], out[1100];
    cr_assert_eq(audit(args, err, sizeof err), 0, "%s", err);
    snprintf(out, sizeof out, "%s.out.json", prof);
    json_error_t je;
    json_t *doc = json_load_file(out, 0, &je);
    unlink(out);
    cr_assert_not_null(doc, "%s", je.text);
    char *text = json_dumps(json_object_get(doc, "findings"), 0);
    cr_assert_eq(strstr(text, "single-thread won") != NULL, with == 1, "findings: %s", text);
    free(text);
    char *all = json_dumps(doc, 0);
    cr_assert_eq(strstr(all, "model race: 1 thread") != NULL, with == 1, "with %d", with);
    free(all);
    json_decref(doc);
  }
  unlink(prof);
}
