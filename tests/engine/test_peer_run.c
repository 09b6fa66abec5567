/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune run`'s timing mode (--runs, --warmup, --results) through the executable: the results document reads
 * back as hwtune.results/1 with the fields the ONNX Runtime peer runner writes, its statistics agree with its
 * samples, the outputs equal a plain run's, and every refusal has its exit code and message. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hwt_common.h"
#include "hwt_report.h"
#include "hwt_stats.h"
#include "onnx.h"

static char dir[256];
static char err_text[1 << 14];

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/hwt_peerrun_XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}
static void teardown(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}
TestSuite(peer_run, .init = setup, .fini = teardown, .timeout = 120);

static const char *path(const char *name) {
  static char p[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

/* Runs `hwtune <args>`; stderr lands in err_text (stdout in dir/stdout); returns the exit code. */
static int hwtune(const char *fmt, ...) {
  char args[2048], cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "%s %s >'%s/stdout' 2>'%s/stderr'", HWTUNE_BINARY, args, dir, dir);
  int rc = system(cmd);
  err_text[0] = '\0';
  FILE *f = fopen(path("stderr"), "rb");
  if (f != NULL) {
    size_t n = fread(err_text, 1, sizeof err_text - 1, f);
    err_text[n] = '\0';
    fclose(f);
  }
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The first `count` samples of a fixture .npy, written to dir/name. */
static void first_samples(const char *fixture, size_t count, const char *name) {
  char err[512];
  hwt_tensor t;
  cr_assert_eq(hwt_tensor_read_npy(fixture, &t, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_geq(t.dims[0], (int64_t) count);
  size_t per = t.count / (size_t) t.dims[0];
  t.dims[0] = (int64_t) count;
  t.count = per * count;
  cr_assert_eq(hwt_tensor_write_npy(path(name), &t, err, sizeof err), hwt_status_ok, "%s", err);
  hwt_tensor_free(&t);
}

static size_t file_size(const char *p) {
  FILE *f = fopen(p, "rb");
  if (f == NULL) return 0;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fclose(f);
  return n > 0 ? (size_t) n : 0;
}

#define DIGITS HWTUNE_FIXTURES "/digits"

Test(peer_run, digits_mlp_results_read_back_as_a_results_file) {
  first_samples(DIGITS "/test_x_flat.npy", 8, "x8.npy");
  int rc = hwtune("run --model " DIGITS "/digits_mlp.onnx --input '%s' --threads 1 --profile none --runs 40 "
                  "--warmup 3 --results '%s' --out '%s'", path("x8.npy"), path("a.json"), path("a.npy"));
  cr_assert_eq(rc, 0, "%s", err_text);
  cr_assert(strstr(err_text, "model_f32/hwtune/auto/digits_mlp/m8/t1/warm: p50") != NULL, "%s", err_text);
  /* nothing on stdout in the timing mode */
  cr_assert_eq(file_size(path("stdout")), 0);

  hwt_results_file f;
  char err[1024];
  cr_assert_eq(hwt_results_load(path("a.json"), &f, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(f.nresults, 1);
  const hwt_result *r = &f.results[0];
  cr_assert_str_eq(r->op, "model_f32");
  cr_assert_str_eq(r->dtype, "f32");
  cr_assert_str_eq(r->impl, "hwtune");
  cr_assert_str_eq(r->isa, "auto");
  cr_assert_str_eq(r->shape, "digits_mlp");
  cr_assert_str_eq(r->cache, "warm");
  cr_assert_eq(r->m, 8);
  cr_assert_eq(r->threads, 1);
  cr_assert_eq(r->samples, 40);
  cr_assert_eq(r->iterations, 1);
  cr_assert_eq(r->nsamples, 40);
  cr_assert_str_eq(r->key, "model_f32/hwtune/auto/digits_mlp/m8/t1/warm");
  /* the statistics are those of the samples */
  cr_assert_float_eq(r->median_ns, hwt_stats_median(r->samples_ns, r->nsamples), 1e-6);
  cr_assert(r->min_ns > 0 && r->min_ns <= r->median_ns && r->median_ns <= r->p90_ns && r->p90_ns <= r->p99_ns);
  cr_assert(r->ci_low_ns <= r->median_ns && r->median_ns <= r->ci_high_ns);
  /* the fewer-than-2000 flag, the profile, the machine context */
  char *w = json_dumps(r->warnings, JSON_COMPACT);
  cr_assert(w != NULL && strstr(w, "fewer than the 2000") != NULL, "%s", w ? w : "null");
  free(w);
  cr_assert(f.fingerprint[0] != '\0');
  cr_assert_str_eq(hwt_ctx_str(f.context, "peer.runtime"), "hwtune");
  cr_assert_str_eq(hwt_ctx_str(f.context, "peer.profile"), "no profile (--profile none)");
  cr_assert_eq(hwt_ctx_num(f.context, "peer.warmup_runs"), 3);
  cr_assert_eq(hwt_ctx_num(f.context, "peer.threads"), 1);
  cr_assert(hwt_ctx_str(f.context, "build.git_commit") != NULL);
  hwt_results_free(&f);

  /* the outputs written are a plain run's */
  cr_assert_eq(hwtune("run --model " DIGITS "/digits_mlp.onnx --input '%s' --threads 1 --profile none --out '%s'",
                      path("x8.npy"), path("b.npy")), 0, "%s", err_text);
  hwt_tensor a, b;
  cr_assert_eq(hwt_tensor_read_npy(path("a.npy"), &a, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_tensor_read_npy(path("b.npy"), &b, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(a.count, 80);
  cr_assert_eq(b.count, 80);
  cr_assert_eq(memcmp(a.data, b.data, 80 * sizeof(float)), 0);
  hwt_tensor_free(&a);
  hwt_tensor_free(&b);
}

Test(peer_run, qdq_model_is_model_qs8) {
  /* qdq_conv_gemm.onnx: QDQ around Conv and Gemm, input x [1, 3, 6, 6] */
  hwt_tensor t = {.dtype = hwt_dtype_f32, .rank = 4, .dims = {1, 3, 6, 6}, .count = 108};
  float x[108];
  for (int i = 0; i < 108; i++) x[i] = (float) ((i * 37) % 101) / 101.0f;
  t.data = x;
  char err[512];
  cr_assert_eq(hwt_tensor_write_npy(path("x.npy"), &t, err, sizeof err), hwt_status_ok, "%s", err);
  int rc = hwtune("run --model " HWTUNE_FIXTURES "/onnx/qdq_conv_gemm.onnx --input '%s' --threads 1 --profile none "
                  "--runs 10 --results '%s'", path("x.npy"), path("q.json"));
  cr_assert_eq(rc, 0, "%s", err_text);
  hwt_results_file f;
  cr_assert_eq(hwt_results_load(path("q.json"), &f, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_str_eq(f.results[0].op, "model_qs8");
  cr_assert_str_eq(f.results[0].dtype, "qs8");
  cr_assert_str_eq(f.results[0].shape, "qdq_conv_gemm");
  cr_assert_eq(f.results[0].m, 1);
  cr_assert_str_eq(f.results[0].key, "model_qs8/hwtune/auto/qdq_conv_gemm/m1/t1/warm");
  cr_assert_str_eq(hwt_ctx_str(f.context, "peer.precision"), "int8");
  hwt_results_free(&f);
}

Test(peer_run, refusals) {
  first_samples(DIGITS "/test_x_flat.npy", 8, "x8.npy");
  /* one inference of the whole input: 8 samples at batch 4 is two */
  cr_assert_eq(hwtune("run --model " DIGITS "/digits_mlp.onnx --input '%s' --batch 4 --runs 10 --profile none "
                      "--results '%s'", path("x8.npy"), path("r.json")), 1);
  cr_assert(strstr(err_text, "x8.npy: 8 samples, but the timing mode times one inference of the whole input") != NULL,
            "%s", err_text);
  cr_assert_eq(access(path("r.json"), F_OK), -1);
  cr_assert_eq(hwtune("run --model " DIGITS "/digits_mlp.onnx --input '%s' --runs 5", path("x8.npy")), 2);
  cr_assert(strstr(err_text, "--runs takes an integer in [10, 10000000], not '5'") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model " DIGITS "/digits_mlp.onnx --input '%s' --runs 10 --warmup 0", path("x8.npy")), 2);
  cr_assert(strstr(err_text, "--warmup takes an integer in [1, 1000000], not '0'") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model " DIGITS "/digits_mlp.onnx --input '%s' --results '%s/no/such/dir/r.json'",
                      path("x8.npy"), dir), 2);
  cr_assert(strstr(err_text, "--results: cannot write") != NULL, "%s", err_text);
  /* --results alone is the timing mode with 2000 runs */
  cr_assert_eq(hwtune("run --model " DIGITS "/digits_mlp.onnx --input '%s' --profile none --warmup 1 --results '%s'",
                      path("x8.npy"), path("r.json")), 0, "%s", err_text);
  hwt_results_file f;
  char err[512];
  cr_assert_eq(hwt_results_load(path("r.json"), &f, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(f.results[0].samples, 2000);
  cr_assert_eq(json_array_size(f.results[0].warnings) > 0 &&
                   strstr(json_string_value(json_array_get(f.results[0].warnings, 0)), "fewer") != NULL,
               false);
  hwt_results_free(&f);
}

static void read_npy(const char *p, hwt_tensor *t) {
  char err[512];
  cr_assert_eq(hwt_tensor_read_npy(p, t, err, sizeof err), hwt_status_ok, "%s", err);
}

Test(peer_run, model_export_gives_the_builtin_mlp_as_onnx_with_a_symbolic_batch) {
  cr_assert_eq(hwtune("model --model mlp --export '%s'", path("mlp.onnx")), 0, "%s", err_text);
  cr_assert(strstr(err_text, "as ONNX (opset 13, fp32, 4 nodes), input 'input' [N, 784]") != NULL, "%s", err_text);
  /* 8 samples through the built-in and through the file: the same answers */
  static float x[8 * 784];
  for (size_t i = 0; i < 8 * 784; i++) x[i] = (float) ((i * 7919) % 1000) / 1000.0f;
  hwt_tensor t = {.dtype = hwt_dtype_f32, .rank = 2, .dims = {8, 784}, .count = 8 * 784, .data = x};
  char err[512];
  cr_assert_eq(hwt_tensor_write_npy(path("x.npy"), &t, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwtune("run --model mlp --input '%s' --profile none --threads 1 --out '%s'", path("x.npy"),
                      path("builtin.npy")), 0, "%s", err_text);
  cr_assert_eq(hwtune("run --model '%s' --input '%s' --profile none --threads 1 --out '%s'", path("mlp.onnx"),
                      path("x.npy"), path("file.npy")), 0, "%s", err_text);
  hwt_tensor a, b;
  read_npy(path("builtin.npy"), &a);
  read_npy(path("file.npy"), &b);
  cr_assert_eq(a.count, 80);
  cr_assert_eq(b.count, 80);
  cr_assert_eq(b.dims[0], 8);
  for (size_t i = 0; i < 80; i++)
    cr_assert_float_eq(((float *) a.data)[i], ((float *) b.data)[i], 1e-5, "output %zu", i);
  hwt_tensor_free(&a);
  hwt_tensor_free(&b);

  cr_assert_eq(hwtune("model --model mobilenet --export '%s'", path("mbv1.onnx")), 0, "%s", err_text);
  cr_assert(strstr(err_text, "input 'input' [N, 3, 96, 96]") != NULL, "%s", err_text);
}

Test(peer_run, model_export_refusals) {
  cr_assert_eq(hwtune("model --model " HWTUNE_FIXTURES "/onnx/qdq_conv_gemm.onnx --export '%s'", path("q.onnx")), 1);
  cr_assert(strstr(err_text, "node 0 'q_in' (quantize)") != NULL && strstr(err_text, "not exported") != NULL, "%s",
            err_text);
  cr_assert_eq(access(path("q.onnx"), F_OK), -1);
  cr_assert_eq(hwtune("model --model mlp --export '%s'", path("mlp.json")), 2);
  cr_assert(strstr(err_text, "--export writes ONNX: the name must end in .onnx, not") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("model --model mlp --export '%s/no/such/m.onnx'", dir), 2);
  cr_assert(strstr(err_text, "--export: cannot write") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("model --model mlp --json --export '%s'", path("m.onnx")), 2);
}
