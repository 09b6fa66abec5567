/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune audit` end to end: clear errors for bad models, a JSON report with the schema, --fail-on exit codes,
 * --mem-limit too small for the model. Short runs (--bench-seconds 0.05, --no-peaks). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIX HWTUNE_FIXTURES "/models/"
#define QUICK " --bench-seconds 0.05 --inputs 20 --no-peaks --profile none --threads 1"

/* Runs `hwtune audit <args>`, stderr captured into err; returns the exit code. */
static int audit(const char *args, char *err, size_t errlen) {
  char cmd[2048], path[] = "/tmp/hwt_audit_err_XXXXXX";
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
