/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune audit` end to end: clear errors for bad models, a JSON report with the schema, --fail-on exit codes,
 * --mem-limit too small for the model. Short runs (--bench-seconds 0.05, --no-peaks). */
#define _GNU_SOURCE 1 /* sched_setaffinity */
#include <criterion/criterion.h>
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/cli_run.h"
#include "hwtune/profile.h"

#define FIX HWTUNE_FIXTURES "/models/"
#define QUICK " --bench-seconds 0.05 --inputs 20 --no-peaks --profile none --threads 1"

/* Runs `hwtune audit <args>`, stderr captured into err; returns the exit code. */
static int audit(const char *args, char *err, size_t errlen) {
  char cmd[2048];
  snprintf(cmd, sizeof(cmd), "%s audit %s", HWTUNE_BINARY, args);
  return hwt_test_run(cmd, NULL, 0, err, errlen);
}

Test(audit_cli, bad_models_exit_1_with_the_file_and_layer) {
  char err[4096];
  cr_assert_eq(audit("--model " FIX "truncated.json" QUICK, err, sizeof(err)), 1);
  cr_assert(strstr(err, "truncated.json: layer 1 'd1' (depthwise_conv2d)") != NULL, "%s", err);
  cr_assert_eq(audit("--model " FIX "missing_outputs.json" QUICK, err, sizeof(err)), 1);
  cr_assert(strstr(err, "missing field 'outputs'") != NULL, "%s", err);
  cr_assert_eq(audit("--model /nonexistent/model.json" QUICK, err, sizeof(err)), 1);
  cr_assert(strstr(err, "cannot open model file") != NULL, "%s", err);
}

Test(audit_cli, usage_errors_exit_2) {
  char err[4096];
  cr_assert_eq(audit("--model mlp --fail-on 'bogus>1'" QUICK, err, sizeof(err)), 2);
  cr_assert(strstr(err, "unknown metric 'bogus'") != NULL, "%s", err);
  cr_assert_eq(audit("--model mlp --precision fp16" QUICK, err, sizeof(err)), 2);
  cr_assert_eq(audit("--batch 1" QUICK, err, sizeof(err)), 2);
  cr_assert(strstr(err, "--model is required") != NULL, "%s", err);
}

Test(audit_cli, json_report_and_fail_on) {
  char err[4096], out[] = "/tmp/hwt_audit_XXXXXX.json", args[1024];
  int fd = mkstemps(out, 5);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(args, sizeof(args),
           "--model mlp --batch 1,2 --out %s --fail-on \"top1_agreement<0.5,abnormal_failures>0\" --duration 0.5 "
           "--soak-window 0.1" QUICK, out);
  cr_assert_eq(audit(args, err, sizeof(err)), 0, "%s", err);
  json_error_t je;
  json_t *doc = json_load_file(out, 0, &je);
  cr_assert_not_null(doc, "%s", je.text);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "schema")), "hwtune.audit/1");
  cr_assert_eq(json_array_size(json_object_get(doc, "latency")), 4); /* fp32, int8 x batch 1, 2 */
  cr_assert_eq(json_array_size(json_object_get(doc, "abnormal")), 10);
  cr_assert_not_null(json_object_get(json_object_get(doc, "accuracy"), "end_to_end"));
  cr_assert_not_null(json_object_get(json_object_get(doc, "soak"), "fp32"));
  cr_assert(json_number_value(json_object_get(json_object_get(doc, "memory"), "peak_rss_mb")) > 0);
  /* noise readings: per usable CPU before, and per measured phase (4 pairs, 4 single-thread runs, the soak) */
  json_t *nz = json_object_get(doc, "noise");
  cr_assert_gt(json_array_size(json_object_get(nz, "cpus")), 0);
  cr_assert_eq(json_array_size(json_object_get(nz, "load_before")), json_array_size(json_object_get(nz, "cpus")));
  cr_assert_eq(json_array_size(json_object_get(nz, "phases")), 9);
  json_t *r0 = json_array_get(json_object_get(doc, "rules"), 0);
  cr_assert(json_is_false(json_object_get(r0, "broken")));
  /* NaN inputs are flagged, never a crash */
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(doc, "abnormal"), i, r) {
    cr_assert_str_eq(json_string_value(json_object_get(r, "run")), "ok");
    if (strcmp(json_string_value(json_object_get(r, "case")), "nan_1pct") == 0)
      cr_assert(strncmp(json_string_value(json_object_get(r, "verdict")), "flagged", 7) == 0);
  }
  json_decref(doc);
  unlink(out);
  cr_assert_eq(audit("--model mlp --precision fp32 --no-abnormal --fail-on 'p50_ms>0'" QUICK, err, sizeof(err)), 1);
  cr_assert(strstr(err, "1 --fail-on rule broken") != NULL, "%s", err);
}

Test(audit_cli, mem_limit_too_small_fails_clearly) {
  char err[4096], out[] = "/tmp/hwt_audit_XXXXXX.json", args[1024];
  int fd = mkstemps(out, 5);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(args, sizeof(args), "--model mobilenet --no-abnormal --inputs 0 --mem-limit 2 --out %s" QUICK,
           out);
  cr_assert_eq(audit(args, err, sizeof(err)), 0, "%s", err);
  json_t *doc = json_load_file(out, 0, NULL);
  cr_assert_not_null(doc);
  const char *msg = json_string_value(json_object_get(json_object_get(doc, "mem_limit"), "message"));
  cr_assert_not_null(msg);
  cr_assert(strstr(msg, "does not fit in 2 MB") != NULL || strstr(msg, "skipped: AddressSanitizer") != NULL, "%s", msg);
  json_decref(doc);
  unlink(out);
}

/* Issue 17: `--precision int8` on an fp32 model freed the fp32 model once quantized, then the report's model
 * section read it (invalid reads under valgrind/ASan; SIGSEGV with a long --out path). The ASan build of this
 * test catches the read; the model section must describe the model as loaded. */
Test(audit_cli, int8_only_reports_the_loaded_model) {
  char err[4096], out[512], args[1024];
  snprintf(out, sizeof(out), "/tmp/hwt_audit_int8_only_%0180d_XXXXXX.json", 0);
  int fd = mkstemps(out, 5);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(args, sizeof(args), "--model mlp --precision int8 --no-abnormal --out %s" QUICK, out);
  cr_assert_eq(audit(args, err, sizeof(err)), 0, "%s", err);
  json_error_t je;
  json_t *doc = json_load_file(out, 0, &je);
  cr_assert_not_null(doc, "%s", je.text);
  json_t *m = json_object_get(doc, "model");
  cr_assert_str_eq(json_string_value(json_object_get(m, "name")), "mlp");
  cr_assert_str_eq(json_string_value(json_object_get(m, "precision")), "fp32");
  cr_assert_eq(json_integer_value(json_object_get(m, "layers")), 4);
  cr_assert_float_eq(json_number_value(json_object_get(m, "parameters")), 784.0 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10, 0.5);
  cr_assert_eq(json_integer_value(json_array_get(json_object_get(m, "input"), 2)), 784);
  json_t *lat = json_object_get(doc, "latency");
  cr_assert_eq(json_array_size(lat), 1);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(lat, 0), "precision")), "int8");
  json_decref(doc);
  unlink(out);
}

/* Issue 17: `--duration 1e9` said "takes seconds >= 0" while the limit is 7 days. Each numeric option's message
 * states its real range, and the value at the edge of the range is accepted by the parser. */
Test(audit_cli, numeric_options_state_their_real_range) {
  static const struct {
    const char *args, *range;
  } cases[] = {
      {"--duration 1e9", "[0, 604800]"},   {"--duration -1", "[0, 604800]"},
      {"--soak-window 0", "(0, 604800]"},  {"--soak-window 1e9", "(0, 604800]"},
      {"--threads 0", "[1, 256]"},         {"--threads 257", "[1, 256]"},
      {"--mem-limit 0.5", "[1, 10000000]"}, {"--mem-limit 1e8", "[1, 10000000]"},
      {"--bench-seconds 0", "(0, 3600]"},  {"--bench-seconds 3601", "(0, 3600]"},
      {"--inputs 100001", "[0, 100000]"},  {"--batch 4097", "[1, 4096]"},
      {"--batch 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "1 to 16 sizes"},
  };
  char err[8192], args[512];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    snprintf(args, sizeof(args), "--model mlp %s", cases[i].args);
    cr_assert_eq(audit(args, err, sizeof(err)), 2, "%s: %s", cases[i].args, err);
    char *nl = strchr(err, '\n'); /* the message line, not the usage below it */
    if (nl) *nl = '\0';
    cr_assert(strstr(err, cases[i].range) != NULL, "%s: message '%s' does not state %s", cases[i].args, err,
              cases[i].range);
  }
}

/* Issue 17: when the engine could not be built the audit printed empty tables, "nan us per run" and a finding
 * "engine: out of memory", and exited 0. A model that loads but whose first layer XNNPACK refuses (an int8 conv
 * whose requantization scale, input x weight / output scale, is far above XNNPACK's limit of 256): exit 1 with
 * the message, and no report written. (A 2^60-value input, the first version of this test, is now refused by
 * the loader; it must exit 1 as well.) */
static void copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  cr_assert(in != NULL && out != NULL, "%s -> %s", from, to);
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), in)) > 0;) cr_assert_eq(fwrite(buf, 1, n, out), n);
  fclose(in);
  fclose(out);
}

Test(audit_cli, engine_that_cannot_be_built_exits_1) {
  char dir[] = "/tmp/hwt_audit_noengine_XXXXXX", path[256], out[300], args[1024], err[4096];
  cr_assert_not_null(mkdtemp(dir));
  json_error_t je;
  json_t *m = json_load_file(FIX "tiny_int8.json", 0, &je);
  cr_assert_not_null(m, "%s", je.text);
  json_t *oq = json_object_get(json_object_get(json_array_get(json_object_get(m, "layers"), 0), "output_quant"),
                               "scale");
  cr_assert_not_null(oq);
  json_real_set(oq, 1e-8);
  snprintf(path, sizeof(path), "%s/tiny_int8.json", dir);
  cr_assert_eq(json_dump_file(m, path, 0), 0);
  json_decref(m);
  snprintf(path, sizeof(path), "%s/tiny_int8.bin", dir);
  copy_file(FIX "tiny_int8.bin", path);
  snprintf(out, sizeof(out), "%s/report.json", dir);
  snprintf(args, sizeof(args), "--model %s/tiny_int8.json --out %s" QUICK, dir, out);
  cr_assert_eq(audit(args, err, sizeof(err)), 1, "%s", err);
  cr_assert(strstr(err, "tiny_int8.json: int8 batch 1: cannot build the engine: layer 0 'c1'") != NULL, "%s", err);
  cr_assert_neq(access(out, F_OK), 0, "a report was written for a run that measured nothing");

  snprintf(path, sizeof(path), "%s/huge.json", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("{\"schema\": \"hwtune.model/1\", \"name\": \"huge\", \"precision\": \"fp32\", \"weights\": \"huge.bin\",\n"
        " \"input\": {\"shape\": [1048576, 1048576, 1048576]},\n"
        " \"layers\": [{\"name\": \"r1\", \"type\": \"relu\"}]}\n", f);
  fclose(f);
  snprintf(path, sizeof(path), "%s/huge.bin", dir);
  f = fopen(path, "w");
  cr_assert_not_null(f);
  fclose(f);
  snprintf(args, sizeof(args), "--model %s/huge.json --out %s" QUICK, dir, out);
  cr_assert_eq(audit(args, err, sizeof(err)), 1, "%s", err);
  cr_assert_neq(access(out, F_OK), 0);
  const char *names[] = {"tiny_int8.json", "tiny_int8.bin", "huge.json", "huge.bin"};
  for (size_t i = 0; i < 4; i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

/* An --out into a missing directory is refused before the measuring starts (it was refused only when the report
 * was written, after all the measuring), with exit 2, and the directory is not created. */
Test(audit_cli, out_into_a_missing_directory_exits_2_before_measuring) {
  char err[4096];
  cr_assert_eq(audit("--model mobilenet --out /nonexistent-hwtune-dir/a.json --bench-seconds 30 --no-peaks "
                     "--profile none", err, sizeof(err)), 2, "%s", err);
  cr_assert(strstr(err, "/nonexistent-hwtune-dir") != NULL, "%s", err);
  cr_assert(strstr(err, "Latency") == NULL, "it measured before refusing: %s", err);
  cr_assert_neq(access("/nonexistent-hwtune-dir", F_OK), 0);
}

/* "N threads are slower than one" compares a configuration with the single-thread run. A profile that runs every
 * layer on 1 thread makes the tuned engine that run again: no comparison for it (it was made with --threads' 2
 * and flagged about half the time, by noise); the default engine (XNNPACK on 2 threads) is still compared. */
Test(audit_cli, a_one_thread_profile_is_not_compared_with_one_thread) {
  hwt_profile_machine pm;
  cr_assert_eq(hwt_profile_machine_probe(&pm), hwt_status_ok);
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) cr_skip_test("needs 2 CPUs");
  char dir[] = "/tmp/hwt_audit_prof_XXXXXX", prof[300], out[300], args[1024], err[4096];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(prof, sizeof(prof), "%s/one_thread.json", dir);
  json_t *fields = json_object();
  for (size_t i = 0; i < pm.nfields; i++) json_object_set_new(fields, pm.fields[i].name, json_string(pm.fields[i].value));
  json_t *entries = json_array();
  const int nk[3][2] = {{256, 784}, {128, 256}, {10, 128}}; /* the mlp's three layers */
  for (int i = 0; i < 3; i++) {
    char shape[32];
    snprintf(shape, sizeof(shape), "%dx%d", nk[i][0], nk[i][1]);
    json_array_append_new(entries, json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:{s:s,s:s,s:i},s:f}", "op", "gemm_f32", "dtype",
                                             "f32", "shape", shape, "batch", 1, "n", nk[i][0], "k", nk[i][1], "choice",
                                             "impl", "xnnpack", "isa", "auto", "threads", 1, "median_ns", 1000.0));
  }
  json_t *doc = json_pack("{s:s,s:{s:s,s:o},s:s,s:o}", "schema", "hwtune.profile/1", "machine", "fingerprint", "",
                          "fields", fields, "objective", "latency", "entries", entries);
  cr_assert_eq(json_dump_file(doc, prof, 0), 0);
  json_decref(doc);
  snprintf(out, sizeof(out), "%s/a.json", dir);
  snprintf(args, sizeof(args),
           "--model mlp --precision fp32 --threads 2 --bench-seconds 0.05 --inputs 20 --no-peaks --no-abnormal "
           "--profile %s --out %s", prof, out);
  cr_assert_eq(audit(args, err, sizeof(err)), 0, "%s", err);
  json_error_t je;
  json_t *r = json_load_file(out, 0, &je);
  cr_assert_not_null(r, "%s", je.text);
  json_t *checks = json_object_get(json_object_get(r, "noise"), "threads_vs_one");
  cr_assert(json_is_array(checks));
  size_t i;
  json_t *c;
  bool saw_default = false;
  json_array_foreach(checks, i, c) {
    const char *cfg = json_string_value(json_object_get(c, "config"));
    cr_assert(strstr(cfg, "tuned") == NULL, "the 1-thread tuned engine was compared with the 1-thread run: %s", cfg);
    saw_default |= strstr(cfg, "default") != NULL && json_integer_value(json_object_get(c, "threads")) == 2;
  }
  cr_assert(saw_default, "the 2-thread default engine was not compared");
  json_decref(r);
  unlink(out);
  unlink(prof);
  rmdir(dir);
}

/* Issue 17: under `taskset -c 0`, `audit --threads 2` ran 2 threads on one CPU (p50 40 ms against 0.015 ms on
 * one thread). The child inherits a one-CPU affinity mask: --threads is clamped to 1 with a note on stderr and
 * in the report, and every layer runs 1 thread. */
Test(audit_cli, threads_clamped_to_the_usable_cpus) {
  cpu_set_t saved, one;
  cr_assert_eq(sched_getaffinity(0, sizeof(saved), &saved), 0);
  int cpu = 0;
  while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &saved)) cpu++;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  char err[4096], out[] = "/tmp/hwt_audit_XXXXXX.json", args[1024];
  int fd = mkstemps(out, 5);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(args, sizeof(args),
           "--model mlp --precision fp32 --no-abnormal --bench-seconds 0.05 --no-peaks --profile none --threads 2 "
           "--out %s", out);
  cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
  int rc = audit(args, err, sizeof(err));
  cr_assert_eq(sched_setaffinity(0, sizeof(saved), &saved), 0);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert(strstr(err, "--threads 2 > 1 usable CPU: clamped to 1") != NULL, "%s", err);
  json_t *doc = json_load_file(out, 0, NULL);
  cr_assert_not_null(doc);
  json_t *ctx = json_object_get(doc, "context");
  cr_assert_eq(json_integer_value(json_object_get(ctx, "threads")), 1);
  cr_assert_eq(json_integer_value(json_object_get(ctx, "threads_requested")), 2);
  cr_assert(strstr(json_string_value(json_object_get(ctx, "threads_note")), "clamped to 1") != NULL);
  size_t i, j;
  json_t *r, *l;
  json_array_foreach(json_object_get(doc, "layers"), i, r) json_array_foreach(json_object_get(r, "layers"), j, l)
      cr_assert_eq(json_integer_value(json_object_get(l, "threads")), 1, "layer %s",
                   json_string_value(json_object_get(l, "name")));
  json_decref(doc);
  unlink(out);
}

/* Issue 17: a 4 s soak printed "-47552 %/h (significant)" and a precision that was not soaked printed "nan"
 * in its column. A short soak states that there is not enough data, and the table has no "nan". */
Test(audit_cli, short_soak_gives_no_drift_figure) {
  char err[4096], out[] = "/tmp/hwt_audit_XXXXXX.txt", args[1024];
  int fd = mkstemps(out, 4);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(args, sizeof(args),
           "--model mlp --precision int8 --no-abnormal --duration 1 --soak-window 0.1 --format console --out %s" QUICK,
           out);
  cr_assert_eq(audit(args, err, sizeof(err)), 0, "%s", err);
  FILE *f = fopen(out, "r");
  cr_assert_not_null(f);
  static char text[1 << 16];
  size_t n = fread(text, 1, sizeof(text) - 1, f);
  text[n] = '\0';
  fclose(f);
  unlink(out);
  const char *soak = strstr(text, "== Soak");
  cr_assert_not_null(soak, "%s", text);
  cr_assert(strstr(soak, "int8 latency drift: not enough data") != NULL, "%s", soak);
  cr_assert(strstr(soak, "%/h") == NULL && strstr(soak, "nan") == NULL, "%s", soak);
  cr_assert(strstr(soak, "fp32 median") == NULL, "a column for a precision that was not soaked: %s", soak);
}

/* Issue 18: the cold start a deployed service pays (import, engine create, first inference) beside the steady
 * state, per precision, at the first batch. */
Test(audit_cli, cold_start_section_is_sane) {
  char err[4096], out[] = "/tmp/hwt_audit_cold_XXXXXX.json", args[1024];
  int fd = mkstemps(out, 5);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(args, sizeof(args), "--model mlp --batch 2,1 --no-abnormal --out %s" QUICK, out);
  cr_assert_eq(audit(args, err, sizeof(err)), 0, "%s", err);
  json_error_t je;
  json_t *doc = json_load_file(out, 0, &je);
  cr_assert_not_null(doc, "%s", je.text);
  json_t *cold = json_object_get(doc, "cold_start");
  cr_assert_not_null(cold);
  cr_assert_eq(json_integer_value(json_object_get(cold, "batch")), 2, "the first --batch");
  json_t *im = json_object_get(cold, "import");
  double imp = json_number_value(json_object_get(im, "median_ms"));
  json_int_t reps = json_integer_value(json_object_get(im, "repetitions"));
  cr_assert(imp > 0 && json_number_value(json_object_get(im, "first_ms")) > 0);
  cr_assert(reps >= 1 && reps <= 5, "%lld", (long long) reps);
  json_t *ps = json_object_get(cold, "precisions");
  cr_assert_eq(json_array_size(ps), 2);
  for (size_t i = 0; i < 2; i++) {
    json_t *p = json_array_get(ps, i);
    cr_assert_str_eq(json_string_value(json_object_get(p, "precision")), i ? "int8" : "fp32");
    double c = json_number_value(json_object_get(json_object_get(p, "engine_create"), "median_ms"));
    double f = json_number_value(json_object_get(json_object_get(p, "first_inference"), "median_ms"));
    double total = json_number_value(json_object_get(p, "to_first_answer_ms"));
    double p50 = json_number_value(json_object_get(p, "steady_p50_ms"));
    cr_assert(c > 0 && f > 0 && p50 > 0, "create %g, first %g, p50 %g", c, f, p50);
    cr_assert_float_eq(total, imp + c + f, 1e-6 * total + 1e-9, "the sum of the medians");
    cr_assert_float_eq(json_number_value(json_object_get(p, "first_inference_vs_p50")), f / p50, 1e-6 * f / p50);
    /* the steady p50 is the latency table's at the same precision and batch */
    json_t *l = json_array_get(json_object_get(doc, "latency"), 2 * i); /* batch 2 comes first */
    cr_assert_eq(json_integer_value(json_object_get(l, "batch")), 2);
    cr_assert_float_eq(p50, json_number_value(json_object_get(json_object_get(l, "default"), "p50_ms")), 1e-12);
  }
  cr_assert_not_null(json_object_get(json_array_get(ps, 1), "note"), "the int8 twin was quantized by the audit");
  /* the memory plan of each (precision, batch): one arena, no larger than every value in its own buffer (an MLP's
   * four values: reuse makes it smaller) */
  json_t *plan = json_object_get(json_object_get(doc, "memory"), "plan");
  cr_assert_eq(json_array_size(plan), 4);
  for (size_t i = 0; i < 4; i++) {
    json_t *r = json_array_get(plan, i);
    json_int_t ar = json_integer_value(json_object_get(r, "arena_bytes"));
    json_int_t vb = json_integer_value(json_object_get(r, "values_bytes"));
    cr_assert(ar > 0 && ar < vb, "plan %zu: arena %lld, values %lld", i, (long long) ar, (long long) vb);
  }
  json_decref(doc);
  unlink(out);
  /* the console report has the section */
  char cmd[1024], txt[] = "/tmp/hwt_audit_cold_XXXXXX.txt";
  fd = mkstemps(txt, 4);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(cmd, sizeof(cmd), "%s audit --model mlp --precision fp32 --no-abnormal" QUICK " >%s 2>/dev/null",
           HWTUNE_BINARY, txt);
  cr_assert_eq(system(cmd), 0);
  FILE *f = fopen(txt, "r");
  char buf[1 << 15];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  unlink(txt);
  cr_assert(strstr(buf, "Cold start: what a deployed service pays before its first answer") != NULL, "%s", buf);
  cr_assert(strstr(buf, "fp32: ") != NULL && strstr(buf, "ms to the first answer") != NULL, "%s", buf);
}

/* A file that is not an ONNX model: exit 1 with the file named, never a crash. */
Test(audit_cli, bad_onnx_file_exits_1_with_the_file_named) {
  char err[4096], path[] = "/tmp/hwt_audit_bad_XXXXXX.onnx", args[1024];
  int fd = mkstemps(path, 5);
  cr_assert(fd >= 0);
  static const unsigned char junk[] = {0x08, 0x07, 0x12, 0xff, 0xff, 0xff, 0x0f, 0x3a, 0x05, 'g', 'r'};
  cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t) sizeof(junk));
  close(fd);
  snprintf(args, sizeof(args), "--model %s" QUICK, path);
  cr_assert_eq(audit(args, err, sizeof(err)), 1, "%s", err);
  cr_assert(strstr(err, path) != NULL, "the message names the file: %s", err);
  unlink(path);
}

/* Issue 18: an ONNX file is a model like any other: a small MobileNet v2 built by the repository's script (Debian's
 * python3-onnx), audited at two batches of its symbolic batch dimension, fp32 and its int8 twin. */
Test(audit_cli, onnx_model_is_audited_from_its_file) {
  char dir[] = "/tmp/hwt_audit_onnx_XXXXXX", cmd[2048], model[256], out[256], args[1024], err[4096];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(model, sizeof(model), "%s/mv2.onnx", dir);
  snprintf(out, sizeof(out), "%s/audit.json", dir);
  snprintf(cmd, sizeof(cmd), "%s/ci/models/mobilenet_v2.py --out %s --width 0.35 --resolution 64 --classes 10 "
           ">/dev/null", HWTUNE_SOURCE_DIR, model);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
  snprintf(args, sizeof(args), "--model %s --batch 1,2 --no-abnormal --out %s" QUICK, model, out);
  cr_assert_eq(audit(args, err, sizeof(err)), 0, "%s", err);
  json_error_t je;
  json_t *doc = json_load_file(out, 0, &je);
  cr_assert_not_null(doc, "%s", je.text);
  json_t *m = json_object_get(doc, "model");
  cr_assert(strncmp(json_string_value(json_object_get(m, "source")), "onnx", 4) == 0, "%s",
            json_string_value(json_object_get(m, "source")));
  cr_assert_str_eq(json_string_value(json_object_get(m, "input_dims")), "[N, 3, 64, 64]");
  cr_assert_eq(json_array_size(json_object_get(doc, "latency")), 4); /* fp32, int8 x batch 1, 2 */
  cr_assert_eq(json_array_size(json_object_get(json_object_get(doc, "cold_start"), "precisions")), 2);
  json_t *e2e = json_object_get(json_object_get(doc, "accuracy"), "end_to_end");
  cr_assert_not_null(e2e);
  double cosine = json_number_value(json_object_get(e2e, "cosine"));
  cr_assert(cosine > 0.9, "int8 twin of the ONNX model: cosine %g", cosine);
  json_decref(doc);
  unlink(out);
  unlink(model);
  rmdir(dir);
}

/* A file that fixes its batch (a numeric first dimension) is audited at that batch unless --batch says otherwise. */
Test(audit_cli, onnx_fixed_batch_is_the_default_batch) {
  char dir[] = "/tmp/hwt_audit_onnxb_XXXXXX", cmd[2048], model[256], out[256], args[1024], err[4096];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(model, sizeof(model), "%s/mv2b3.onnx", dir);
  snprintf(out, sizeof(out), "%s/audit.json", dir);
  snprintf(cmd, sizeof(cmd), "%s/ci/models/mobilenet_v2.py --out %s --width 0.35 --resolution 32 --classes 10 "
           "--batch 3 >/dev/null", HWTUNE_SOURCE_DIR, model);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
  snprintf(args, sizeof(args), "--model %s --precision fp32 --no-abnormal --out %s" QUICK, model, out);
  cr_assert_eq(audit(args, err, sizeof(err)), 0, "%s", err);
  json_t *doc = json_load_file(out, 0, NULL);
  cr_assert_not_null(doc);
  json_t *lat = json_object_get(doc, "latency");
  cr_assert_eq(json_array_size(lat), 1);
  cr_assert_eq(json_integer_value(json_object_get(json_array_get(lat, 0), "batch")), 3);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "model"), "input_dims")), "[3, 3, 32, 32]");
  json_decref(doc);
  snprintf(args, sizeof(args), "--model %s --precision fp32 --batch 1 --no-abnormal --out %s" QUICK, model, out);
  cr_assert_eq(audit(args, err, sizeof(err)), 0, "%s", err);
  doc = json_load_file(out, 0, NULL);
  cr_assert_not_null(doc);
  cr_assert_eq(json_integer_value(json_object_get(json_array_get(json_object_get(doc, "latency"), 0), "batch")), 1);
  json_decref(doc);
  unlink(out);
  unlink(model);
  rmdir(dir);
}
