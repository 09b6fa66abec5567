/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune bench` end to end: bad input exits 2 (usage) or 1 with a clear message, --verify catches the wrong
 * backend, a tiny real run writes a valid results file, and SIGINT keeps what was measured, marked partial. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hwt_common.h"

extern char **environ;

typedef struct run_out {
  int code;
  char *out, *err;
} run_out;

/* Runs `hwtune bench <args...>` with extra environment entries; captures stdout and stderr. */
static run_out run_bench(const char *const *env_extra, const char *const *args) {
  char out_path[] = "/tmp/hwtune-cli-out-XXXXXX", err_path[] = "/tmp/hwtune-cli-err-XXXXXX";
  int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
  cr_assert(out_fd >= 0 && err_fd >= 0);
  const char *argv[64];
  size_t n = 0;
  argv[n++] = HWTUNE_BINARY;
  argv[n++] = "bench";
  for (size_t i = 0; args[i]; i++) argv[n++] = args[i];
  argv[n] = NULL;
  const char *envp[256];
  size_t e = 0;
  for (char **p = environ; *p && e < 200; p++)
    if (strncmp(*p, "HWTUNE_BENCH_TEST", 17) != 0) envp[e++] = *p;
  for (size_t i = 0; env_extra && env_extra[i]; i++) envp[e++] = env_extra[i];
  envp[e] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  pid_t pid;
  cr_assert_eq(posix_spawn(&pid, HWTUNE_BINARY, &fa, NULL, (char **)argv, (char **)envp), 0);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  waitpid(pid, &status, 0);
  close(out_fd);
  close(err_fd);
  run_out r = {.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
  size_t len;
  cr_assert_eq(hwt_read_file(out_path, &r.out, &len, NULL, 0), hwt_status_ok);
  cr_assert_eq(hwt_read_file(err_path, &r.err, &len, NULL, 0), hwt_status_ok);
  unlink(out_path);
  unlink(err_path);
  return r;
}

static void run_free(run_out *r) {
  free(r->out);
  free(r->err);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void expect(const char *const *args, int code, const char *in_stderr) {
  run_out r = run_bench(NULL, args);
  cr_assert_eq(r.code, code, "exit %d, want %d; stderr: %s", r.code, code, r.err);
  if (in_stderr) cr_assert(strstr(r.err, in_stderr) != NULL, "stderr lacks '%s': %s", in_stderr, r.err);
  run_free(&r);
}

Test(cli, help) {
  run_out r = run_bench(NULL, ARGS("--help"));
  cr_assert_eq(r.code, 0);
  cr_assert(strstr(r.out, "56x56x64:128:k3s1p1") != NULL, "help documents the conv syntax");
  run_free(&r);
}

Test(cli, bad_input_is_usage_error) {
  expect(ARGS("--op", "gemm_f64", "--no-peaks"), 2, "unknown op 'gemm_f64'");
  expect(ARGS("--shape", "1024x", "--no-peaks"), 2, "malformed shape '1024x'");
  expect(ARGS("--op", "conv_f32", "--shape", "56x56x64:128:k3s0", "--no-peaks"), 2, "56x56x64:128:k3s0");
  expect(ARGS("--batch", "0", "--no-peaks"), 2, "--batch: '0'");
  expect(ARGS("--batch", "1,x", "--no-peaks"), 2, "'x'");
  expect(ARGS("--threads", "0", "--no-peaks"), 2, "--threads");
  expect(ARGS("--impl", "mkl", "--no-peaks"), 2, "unknown impl 'mkl'");
  expect(ARGS("--impl", "wrong", "--no-peaks"), 2, "unknown impl 'wrong'"); /* test-only backend is hidden */
  expect(ARGS("--impl", "own:avx9", "--no-peaks"), 2, "own:avx9");
  expect(ARGS("--cache", "lukewarm", "--no-peaks"), 2, "lukewarm");
  expect(ARGS("--max-time", "-1", "--no-peaks"), 2, "--max-time");
  expect(ARGS("--format", "xml", "--no-peaks"), 2, "unknown format 'xml'");
  expect(ARGS("--bogus"), 2, "--bogus");
  expect(ARGS("--op", "dwconv_f32", "--shape", "56x56x64:128:k3s1p1", "--no-peaks"), 2, "fits none");
  expect(ARGS("--op", "gemm_f32", "--shapes", "/nonexistent/shapes.txt", "--no-peaks"), 2, "/nonexistent/shapes.txt");
  expect(ARGS("--out", "results.xyz", "--no-peaks"), 2, "--format");
}

Test(cli, unwritable_out_is_runtime_error) {
  expect(ARGS("--shape", "64x64", "--out", "/nonexistent-dir/r.json", "--no-peaks", "-q"), 2, "/nonexistent-dir");
}

Test(cli, verify_catches_wrong_backend) {
  const char *const env[] = {"HWTUNE_BENCH_TEST_BACKENDS=1", NULL};
  run_out r = run_bench(env, ARGS("--op", "gemm_f32", "--shape", "64x32", "--batch", "2", "--impl", "xnnpack,wrong",
                                  "--verify", "--no-peaks", "-q"));
  cr_assert_eq(r.code, 1, "stderr: %s", r.err);
  cr_assert(strstr(r.err, "verify FAILED for gemm_f32/wrong") != NULL, "%s", r.err);
  cr_assert(strstr(r.err, "shape 64x32") != NULL && strstr(r.err, "worst element") != NULL, "%s", r.err);
  cr_assert(strstr(r.err, "xnnpack/auto/64x32") == NULL, "xnnpack itself matches: %s", r.err);
  run_free(&r);
}

static json_t *load_results(const char *path) {
  json_error_t e;
  json_t *root = json_load_file(path, 0, &e);
  cr_assert_not_null(root, "%s: %s", path, e.text);
  cr_assert_str_eq(json_string_value(json_object_get(root, "schema")), "hwtune.results/1");
  json_t *ctx = json_object_get(root, "context");
  cr_assert(json_is_object(ctx));
  cr_assert_null(json_object_get(ctx, "schema"), "the hw document's schema moved to hw_schema");
  cr_assert(json_is_string(json_object_get(ctx, "hw_schema")));
  cr_assert(json_is_object(json_object_get(ctx, "build")));
  cr_assert(json_is_string(json_object_get(ctx, "command_line")));
  cr_assert(json_is_string(json_object_get(ctx, "end_time")));
  cr_assert(json_is_number(json_object_get(ctx, "timer_overhead_ns")));
  return root;
}

Test(cli, tiny_end_to_end_run_writes_valid_results) {
  char dir[] = "/tmp/hwtune-cli-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof(path), "%s/r.json", dir);
  run_out r = run_bench(NULL, ARGS("--op", "gemm_f32,gemm_qs8,dwconv_f32", "--shape", "64x64,8x8x16::k3s1p1",
                                   "--impl", "xnnpack,own", "--threads", "1,999", "--max-time", "0.02", "--verify",
                                   "--no-peaks", "-q", "--out", path));
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  cr_assert(strstr(r.err, "clamped") != NULL, "threads above usable are clamped with a warning: %s", r.err);
  cr_assert(strstr(r.out, "gemm_qs8") != NULL, "console table on stdout");
  json_t *root = load_results(path);
  cr_assert(json_is_false(json_object_get(root, "partial")));
  json_t *rs = json_object_get(root, "results");
  cr_assert(json_array_size(rs) >= 3, "xnnpack x 3 ops at least");
  size_t i;
  json_t *v;
  json_array_foreach(rs, i, v) {
    cr_assert(json_integer_value(json_object_get(v, "samples")) >= 1);
    cr_assert(json_number_value(json_object_get(v, "median_ns")) > 0);
    cr_assert_eq(json_array_size(json_object_get(v, "samples_ns")),
                 (size_t)json_integer_value(json_object_get(v, "samples")));
  }
  json_decref(root);
  unlink(path);
  rmdir(dir);
  run_free(&r);
}

Test(cli, formats_to_stdout) {
  run_out r = run_bench(NULL, ARGS("--shape", "32x32", "--impl", "xnnpack", "--max-time", "0.01", "--no-peaks", "-q",
                                   "--format", "md"));
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_assert(strstr(r.out, "| op | impl |") != NULL, "%s", r.out);
  run_free(&r);
  r = run_bench(NULL, ARGS("--shape", "32x32", "--impl", "xnnpack", "--max-time", "0.01", "--no-peaks", "-q",
                           "--format", "gbench"));
  cr_assert_eq(r.code, 0, "%s", r.err);
  json_t *root = json_loads(r.out, 0, NULL);
  cr_assert_not_null(root);
  cr_assert(json_array_size(json_object_get(root, "benchmarks")) > 4);
  json_decref(root);
  run_free(&r);
}

Test(cli, sigint_writes_partial_results) {
  char dir[] = "/tmp/hwtune-cli-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof(path), "%s/partial.json", dir);
  const char *const env[] = {"HWTUNE_BENCH_TEST_SIGINT_AFTER=2", NULL};
  run_out r = run_bench(env, ARGS("--shape", "16x16,32x32,48x48,64x64", "--impl", "xnnpack", "--max-time", "0.01",
                                  "--no-peaks", "-q", "--out", path));
  cr_assert_eq(r.code, 130, "stderr: %s", r.err);
  json_t *root = load_results(path);
  cr_assert(json_is_true(json_object_get(root, "partial")));
  cr_assert_eq(json_array_size(json_object_get(root, "results")), 2, "the two configurations measured before");
  json_decref(root);
  unlink(path);
  rmdir(dir);
  run_free(&r);
}

/* ---- spmm_f32 (issue 21): --sparsity / --pattern refusals, and a tiny side-by-side run with its JSON fields. */

Test(cli, spmm_bad_sparsity_is_usage_error) {
  expect(ARGS("--op", "spmm_f32", "--sparsity", "90", "--no-peaks"), 2, "write 90% as 0.9");
  expect(ARGS("--op", "spmm_f32", "--sparsity", "0.5,abc", "--no-peaks"), 2, "'abc' is not a fraction");
  expect(ARGS("--op", "spmm_f32", "--sparsity", "-0.1", "--no-peaks"), 2, "'-0.1' is not a fraction");
  expect(ARGS("--op", "spmm_f32", "--sparsity", "1", "--no-peaks"), 2, "'1' is not a fraction");
  expect(ARGS("--op", "spmm_f32", "--sparsity", "nan", "--no-peaks"), 2, "'nan'");
  expect(ARGS("--op", "spmm_f32", "--sparsity", "", "--no-peaks"), 2, "--sparsity: empty list");
  expect(ARGS("--op", "gemm_f32", "--sparsity", "0.5", "--no-peaks"), 2, "--sparsity applies to --op spmm_f32 only");
  expect(ARGS("--op", "gemm_f32", "--pattern", "block", "--no-peaks"), 2, "--pattern applies to --op spmm_f32 only");
  expect(ARGS("--op", "spmm_f32", "--pattern", "diagonal", "--no-peaks"), 2, "'diagonal' is not unstructured or block");
  expect(ARGS("--op", "spmm_f32", "--shape", "56x56x64:64:k3s1p1", "--no-peaks"), 2, "fits none");
  expect(ARGS("--op", "spmm_f32", "--impl", "xnnpack-dense:avx2", "--no-peaks"), 2, "xnnpack-dense:avx2");
  expect(ARGS("--rounds", "0", "--no-peaks"), 2, "--rounds: '0'");
}

Test(cli, spmm_side_by_side_writes_sparsity_fields) {
  char dir[] = "/tmp/hwtune-cli-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof(path), "%s/r.json", dir);
  run_out r = run_bench(NULL, ARGS("--op", "spmm_f32", "--shape", "24x40,3x3x8:16:k1", "--batch", "3", "--sparsity",
                                   "0.9,0.5", "--max-time", "0.02", "--verify", "--no-peaks", "-q", "--out", path));
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  cr_assert(strstr(r.out, "break-even") != NULL, "the side-by-side summary follows the table: %s", r.out);
  cr_assert(strstr(r.out, "24x40@sp90") != NULL, "shape labels carry the sparsity: %s", r.out);
  json_t *root = load_results(path);
  json_t *rs = json_object_get(root, "results");
  /* 2 layers x 2 sparsities x 4 impls (own, own-dense, xnnpack, xnnpack-dense: the default for spmm_f32). */
  cr_assert_eq(json_array_size(rs), 16, "got %zu results; stderr: %s", json_array_size(rs), r.err);
  size_t i, per_impl[4] = {0};
  json_t *v;
  json_array_foreach(rs, i, v) {
    const char *impl = json_string_value(json_object_get(v, "impl"));
    const char *shape = json_string_value(json_object_get(v, "shape"));
    const char *layer = json_string_value(json_object_get(v, "layer"));
    double sp = json_number_value(json_object_get(v, "sparsity"));
    double measured = json_number_value(json_object_get(v, "weight_sparsity"));
    cr_assert_str_eq(json_string_value(json_object_get(v, "op")), "spmm_f32");
    cr_assert(sp == 0.5 || sp == 0.9, "sparsity %g", sp);
    cr_assert_str_eq(json_string_value(json_object_get(v, "pattern")), "unstructured");
    cr_assert(fabs(measured - sp) < 0.01, "weight_sparsity %g for requested %g", measured, sp);
    char want[64];
    snprintf(want, sizeof(want), "%s@sp%g", layer, 100 * sp);
    cr_assert_str_eq(shape, want);
    if (strcmp(layer, "3x3x8:16:k1") == 0) cr_assert(json_is_object(json_object_get(v, "conv")));
    const char *names[4] = {"own", "own-dense", "xnnpack", "xnnpack-dense"};
    for (int k = 0; k < 4; k++) per_impl[k] += strcmp(impl, names[k]) == 0;
  }
  for (int k = 0; k < 4; k++) cr_assert_eq(per_impl[k], 4, "impl %d: %zu results", k, per_impl[k]);
  json_decref(root);
  unlink(path);
  rmdir(dir);
  run_free(&r);
}
