/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune detect` as a user runs it: exit codes, usage on stderr, --out errors naming the path, JSON on stdout,
 * and taskset reducing usable.cpus. Runs the built binary (HWTUNE_BINARY). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hwt_common.h"

typedef struct run_result {
  int status;
  char *out, *err;
} run_result;

/* Runs `env HWTUNE_BINARY args` through the shell, capturing stdout and stderr into temporary files. */
static run_result run(const char *env, const char *args) {
  char dir[] = "/tmp/hwt_cli_XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char cmd[2048], outp[300], errp[300];
  snprintf(outp, sizeof outp, "%s/out", dir);
  snprintf(errp, sizeof errp, "%s/err", dir);
  snprintf(cmd, sizeof cmd, "%s '%s' %s >'%s' 2>'%s'", env ? env : "", HWTUNE_BINARY, args, outp, errp);
  int st = system(cmd);
  run_result r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, NULL, NULL};
  size_t len;
  cr_assert_eq(hwt_read_file(outp, &r.out, &len, NULL, 0), hwt_status_ok);
  cr_assert_eq(hwt_read_file(errp, &r.err, &len, NULL, 0), hwt_status_ok);
  unlink(outp);
  unlink(errp);
  rmdir(dir);
  return r;
}

static void done(run_result *r) {
  free(r->out);
  free(r->err);
}

Test(cli, unknown_verb_is_usage_error) {
  run_result r = run(NULL, "frobnicate");
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, "usage:") != NULL, "stderr: %s", r.err);
  cr_assert(strstr(r.err, "frobnicate") != NULL);
  cr_assert_str_empty(r.out);
  done(&r);
}

Test(cli, unknown_option_is_usage_error) {
  run_result r = run(NULL, "detect --bogus");
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, "usage: hwtune detect") != NULL, "stderr: %s", r.err);
  cr_assert(strstr(r.err, "--bogus") != NULL);
  cr_assert_str_empty(r.out);
  done(&r);
  r = run(NULL, "detect --out");
  cr_assert_eq(r.status, 2);
  done(&r);
}

Test(cli, help_goes_to_stdout) {
  run_result r = run(NULL, "detect --help");
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.out, "--no-measure") != NULL);
  done(&r);
}

Test(cli, out_into_missing_directory_names_the_path) {
  run_result r = run(NULL, "detect --no-measure --out /nonexistent-hwt-dir/sub/hw.json");
  cr_assert_eq(r.status, 1);
  cr_assert(strstr(r.err, "/nonexistent-hwt-dir/sub/hw.json") != NULL, "stderr: %s", r.err);
  done(&r);
}

Test(cli, out_writes_parsable_json) {
  char dir[] = "/tmp/hwt_out_XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char args[400], path[300];
  snprintf(path, sizeof path, "%s/hw.json", dir);
  snprintf(args, sizeof args, "detect --no-measure --out '%s'", path);
  run_result r = run(NULL, args);
  cr_assert_eq(r.status, 0, "stderr: %s", r.err);
  json_error_t jerr;
  json_t *doc = json_load_file(path, 0, &jerr);
  cr_assert_not_null(doc, "%s: %s", path, jerr.text);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "schema")), "hwtune.hw/1");
  json_decref(doc);
  done(&r);
  unlink(path);
  rmdir(dir);
}

static json_t *detect_json(const char *env, const char *prefix) {
  char args[256];
  snprintf(args, sizeof args, "detect --json --no-measure");
  char envs[256];
  snprintf(envs, sizeof envs, "%s %s", env ? env : "", prefix ? prefix : "");
  run_result r = run(envs, args);
  cr_assert_eq(r.status, 0, "stderr: %s", r.err);
  json_error_t jerr;
  json_t *doc = json_loads(r.out, 0, &jerr);
  cr_assert_not_null(doc, "stdout is not JSON (%s): %.200s", jerr.text, r.out);
  done(&r);
  return doc;
}

Test(cli, taskset_one_cpu_gives_one_usable_cpu) {
  if (system("command -v taskset >/dev/null 2>&1") != 0) cr_skip_test("taskset not installed");
  cpu_set_t set;
  CPU_ZERO(&set);
  cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
  int first = -1;
  for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
    if (CPU_ISSET(c, &set)) first = c;
  char prefix[64];
  snprintf(prefix, sizeof prefix, "taskset -c %d", first);
  json_t *doc = detect_json(NULL, prefix);
  json_t *usable = json_object_get(doc, "usable");
  cr_assert_eq(json_integer_value(json_object_get(usable, "cpus")), 1);
  cr_assert_eq(json_array_size(json_object_get(usable, "affinity")), 1);
  json_decref(doc);
}

Test(cli, isa_cap_is_reported) {
  json_t *doc = detect_json("HWTUNE_ISA=scalar", NULL);
  json_t *cap = json_object_get(doc, "isa_cap");
  cr_assert(json_is_true(json_object_get(cap, "capped")));
  cr_assert_str_eq(json_string_value(json_object_get(doc, "isa_level")), "scalar");
  json_decref(doc);
  doc = detect_json("HWTUNE_ISA=avx9000", NULL);
  cap = json_object_get(doc, "isa_cap");
  cr_assert(json_is_false(json_object_get(cap, "capped")));
  cr_assert(json_is_string(json_object_get(cap, "error")), "an unknown cap must be reported");
  json_decref(doc);
}

Test(cli, quick_measurement_fills_every_figure, .timeout = 120) {
  run_result r = run(NULL, "detect --json --quick");
  cr_assert_eq(r.status, 0, "stderr: %s", r.err);
  json_error_t jerr;
  json_t *doc = json_loads(r.out, 0, &jerr);
  cr_assert_not_null(doc, "stdout is not JSON (%s)", jerr.text);
  done(&r);
  cr_assert(json_is_true(json_object_get(json_object_get(doc, "measurement"), "measured")));
  /* every present ISA has positive figures (not a speed assertion: only that each probe ran and was timed) */
  const char *dtype;
  json_t *isas;
  json_object_foreach(json_object_get(doc, "peak"), dtype, isas) {
    const char *isa;
    json_t *fig;
    json_object_foreach(isas, isa, fig) {
      const char *k1 = strcmp(dtype, "int8") == 0 ? "gops_1t" : "gflops_1t";
      const char *ka = strcmp(dtype, "int8") == 0 ? "gops_all" : "gflops_all";
      cr_assert_gt(json_number_value(json_object_get(fig, k1)), 0, "peak.%s.%s.%s", dtype, isa, k1);
      cr_assert_gt(json_number_value(json_object_get(fig, ka)), 0, "peak.%s.%s.%s", dtype, isa, ka);
    }
  }
  cr_assert_not_null(json_object_get(json_object_get(json_object_get(doc, "peak"), "fp32"), "scalar"));
  static const char *levels[] = {"l1", "l2", "l3", "dram"};
  for (int l = 0; l < 4; l++) {
    json_t *bw = json_object_get(json_object_get(doc, "bandwidth"), levels[l]);
    cr_assert_gt(json_integer_value(json_object_get(bw, "buffer_bytes")), 0, "%s", levels[l]);
    cr_assert_gt(json_number_value(json_object_get(json_object_get(bw, "read"), "gbps_1t")), 0, "%s", levels[l]);
    cr_assert_gt(json_number_value(json_object_get(json_object_get(bw, "triad"), "gbps_all")), 0, "%s", levels[l]);
  }
  json_decref(doc);
}
