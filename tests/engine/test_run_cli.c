/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune run` and `hwtune model` through the executable: outputs against the engine in-process, input types
 * and batching, every refusal with its exit code and message. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hwt_common.h"
#include "onnx.h"
#include "../common/cli_run.h"

static char dir[256];
static char out_text[1 << 16], err_text[1 << 14];

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/hwt_runcli_XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}
static void teardown(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}
TestSuite(run_cli, .init = setup, .fini = teardown, .timeout = 120);

static const char *path(const char *name) {
  static char p[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

/* Runs `hwtune <args>`; stdout and stderr land in out_text and err_text; returns the exit code. */
static int hwtune(const char *fmt, ...) {
  char args[2048], cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "%s %s", HWTUNE_BINARY, args);
  return hwt_test_run(cmd, out_text, sizeof out_text, err_text, sizeof err_text);
}

static void write_npy(const char *name, hwt_dtype dt, unsigned rank, const int64_t *dims, const void *data) {
  hwt_tensor t = {.dtype = dt, .rank = rank, .count = 1, .data = (void *) data};
  for (unsigned i = 0; i < rank; i++) t.dims[i] = dims[i], t.count *= (size_t) dims[i];
  char err[256];
  cr_assert_eq(hwt_tensor_write_npy(path(name), &t, err, sizeof err), hwt_status_ok, "%s", err);
}

static hwt_tensor read_npy(const char *name) {
  hwt_tensor t;
  char err[256];
  cr_assert_eq(hwt_tensor_read_npy(path(name), &t, err, sizeof err), hwt_status_ok, "%s", err);
  return t;
}

/* mlp inputs: 3 samples of 784 values, float and as uint8 (the same values). */
static float xin[3 * 784];
static uint8_t xu8[3 * 784];
static void mlp_inputs(void) {
  for (size_t i = 0; i < 3 * 784; i++) {
    xu8[i] = (uint8_t) ((i * 7919) % 256);
    xin[i] = (float) xu8[i] / 255.0f;
  }
  int64_t d[2] = {3, 784};
  write_npy("x.npy", hwt_dtype_f32, 2, d, xin);
}

/* The same model, inputs and threads in-process. */
static void engine_reference(const char *spec, const float *in, size_t batch, float *out) {
  hwt_model *m;
  hwt_engine *e;
  char err[512];
  cr_assert_eq(hwt_model_open(spec, &m, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_engine_global_init(err, sizeof err), hwt_status_ok, "%s", err);
  hwt_engine_options o = {.threads = 1};
  cr_assert_eq(hwt_engine_create(m, batch, &o, &e, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_engine_run(e, in, out, NULL), hwt_status_ok);
  hwt_engine_destroy(e);
  hwt_model_free(m);
}

Test(run_cli, mlp_output_matches_the_engine) {
  mlp_inputs();
  cr_assert_eq(hwtune("run --model mlp --input %s --out %s --threads 1 --profile none", path("x.npy"), path("y.npy")),
               0, "%s", err_text);
  hwt_tensor y = read_npy("y.npy");
  cr_assert_eq(y.dtype, hwt_dtype_f32);
  cr_assert_eq(y.rank, 2);
  cr_assert_eq(y.dims[0], 3);
  cr_assert_eq(y.dims[1], 10);
  float want[30];
  engine_reference("mlp", xin, 3, want);
  for (int i = 0; i < 30; i++) cr_assert_eq(((float *) y.data)[i], want[i], "element %d", i);
  hwt_tensor_free(&y);
  /* The summary names the model, the batch and the output shape. */
  cr_assert(strstr(err_text, "mlp: 3 samples (batch 3), output 'softmax' [3, 10]") != NULL, "%s", err_text);
}

Test(run_cli, uint8_and_batching_give_the_same_answers) {
  mlp_inputs();
  int64_t d[3] = {3, 28, 28};
  write_npy("x8.npy", hwt_dtype_u8, 3, d, xu8);
  cr_assert_eq(hwtune("run --model mlp --input %s --out %s --threads 1 --profile none", path("x8.npy"),
                      path("y8.npy")),
               0, "%s", err_text);
  cr_assert_eq(hwtune("run --model mlp --input %s --out %s --threads 1 --profile none --batch 1", path("x.npy"),
                      path("y1.npy")),
               0, "%s", err_text);
  cr_assert(strstr(err_text, "3 samples (batch 1)") != NULL, "%s", err_text);
  hwt_tensor y8 = read_npy("y8.npy"), y1 = read_npy("y1.npy");
  /* uint8 values are converted as they are (0..255), not scaled: the run on xin * 255 is the reference. */
  float scaled[3 * 784], want[30];
  for (size_t i = 0; i < 3 * 784; i++) scaled[i] = (float) xu8[i];
  engine_reference("mlp", scaled, 3, want);
  for (int i = 0; i < 30; i++) cr_assert_eq(((float *) y8.data)[i], want[i], "uint8 element %d", i);
  engine_reference("mlp", xin, 3, want);
  for (int i = 0; i < 30; i++)
    cr_assert_float_eq(((float *) y1.data)[i], want[i], 1e-6, "batch-1 element %d", i);
  hwt_tensor_free(&y8);
  hwt_tensor_free(&y1);
}

Test(run_cli, stdout_and_out_dir) {
  mlp_inputs();
  cr_assert_eq(hwtune("run --model mlp --input %s --profile none", path("x.npy")), 0, "%s", err_text);
  int lines = 0, numbers = 0;
  for (char *p = out_text; *p; p++) lines += *p == '\n';
  char *save = NULL;
  for (char *tok = strtok_r(out_text, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) numbers++;
  cr_assert_eq(lines, 3);
  cr_assert_eq(numbers, 30);
  cr_assert_eq(hwtune("run --model mlp --input %s --out-dir %s --profile none", path("x.npy"), dir), 0, "%s",
               err_text);
  hwt_tensor y = read_npy("softmax.npy");
  cr_assert_eq(y.count, 30);
  float sum = 0;
  for (int i = 0; i < 10; i++) sum += ((float *) y.data)[i];
  cr_assert_float_eq(sum, 1.0f, 1e-5);
  hwt_tensor_free(&y);
}

Test(run_cli, mobilenet_nhwc_and_wrong_layout) {
  static float x[2 * 96 * 96 * 3];
  for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = (float) (i % 97) / 97.0f;
  int64_t good[4] = {2, 96, 96, 3}, bad[4] = {2, 3, 96, 96};
  write_npy("img.npy", hwt_dtype_f32, 4, good, x);
  write_npy("nchw.npy", hwt_dtype_f32, 4, bad, x);
  cr_assert_eq(hwtune("run --model mobilenet --input %s --out %s --threads 1 --profile none", path("img.npy"),
                      path("p.npy")),
               0, "%s", err_text);
  hwt_tensor y = read_npy("p.npy");
  cr_assert_eq(y.dims[0], 2);
  cr_assert_eq(y.dims[1], 1000);
  static float want[2000];
  engine_reference("mobilenet", x, 2, want);
  for (int i = 0; i < 2000; i++) cr_assert_eq(((float *) y.data)[i], want[i], "element %d", i);
  hwt_tensor_free(&y);
  cr_assert_eq(hwtune("run --model mobilenet --input %s", path("nchw.npy")), 1);
  cr_assert(strstr(err_text, "nchw.npy: shape [2, 3, 96, 96] does not fit the model's input 'input': expected "
                             "[N, 96, 96, 3]") != NULL,
            "%s", err_text);
}

Test(run_cli, refused_inputs_exit_1) {
  mlp_inputs();
  int64_t d[2] = {3, 783};
  write_npy("short.npy", hwt_dtype_f32, 2, d, xin);
  cr_assert_eq(hwtune("run --model mlp --input %s", path("short.npy")), 1);
  cr_assert(strstr(err_text, "short.npy: shape [3, 783]") && strstr(err_text, "expected [N, 784]"), "%s", err_text);
  int64_t d64[2] = {1, 784};
  static int64_t big[784];
  write_npy("i64.npy", hwt_dtype_i64, 2, d64, big);
  cr_assert_eq(hwtune("run --model mlp --input %s", path("i64.npy")), 1);
  cr_assert(strstr(err_text, "i64.npy: element type int64 not supported") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model mlp --input %s", path("missing.npy")), 1);
  cr_assert(strstr(err_text, "missing.npy") && strstr(err_text, "No such file"), "%s", err_text);
  FILE *f = fopen(path("junk.npy"), "wb");
  fputs("not numpy at all", f);
  fclose(f);
  cr_assert_eq(hwtune("run --model mlp --input %s", path("junk.npy")), 1);
  cr_assert(strstr(err_text, "junk.npy: not a NumPy .npy file") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model mlp --input %s --input %s", path("x.npy"), path("x.npy")), 1);
  cr_assert(strstr(err_text, "all already given") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model mlp --input nosuch=%s", path("x.npy")), 1);
  cr_assert(strstr(err_text, "the model has no graph input named 'nosuch'") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model mlp --input input=%s --out %s", path("x.npy"), path("named.npy")), 0, "%s",
               err_text);
  cr_assert_eq(hwtune("run --model mlp --input %s --batch 2", path("x.npy")), 1);
  cr_assert(strstr(err_text, "3 samples are not a multiple of --batch 2") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model %s --input %s", path("nomodel.json"), path("x.npy")), 1);
  cr_assert(strstr(err_text, "nomodel.json") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model mlp --input %s --profile %s", path("x.npy"), path("noprofile.json")), 1);
  cr_assert(strstr(err_text, "--profile") && strstr(err_text, "noprofile.json"), "%s", err_text);
}

Test(run_cli, usage_errors_exit_2) {
  mlp_inputs();
  cr_assert_eq(hwtune("run --input %s", path("x.npy")), 2);
  cr_assert(strstr(err_text, "--model is required") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model mlp"), 2);
  cr_assert(strstr(err_text, "--input is required") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model mlp --input %s --threads 0", path("x.npy")), 2);
  cr_assert(strstr(err_text, "--threads takes an integer in [1, 256]") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model mlp --input %s --batch x", path("x.npy")), 2);
  cr_assert_eq(hwtune("run --model mlp --input %s --out %s/no/such/y.npy", path("x.npy"), dir), 2);
  cr_assert(strstr(err_text, "--out: cannot write") && strstr(err_text, "it is not created"), "%s", err_text);
  cr_assert_eq(hwtune("run --model mlp --input %s --out %s", path("x.npy"), path("y.txt")), 2);
  cr_assert(strstr(err_text, "the name must end in .npy") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model mlp --input %s --out %s --out-dir %s", path("x.npy"), path("y.npy"), dir), 2);
  cr_assert(strstr(err_text, "exclude each other") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model mlp --input %s --out-dir %s/none", path("x.npy"), dir), 2);
  cr_assert(strstr(err_text, "--out-dir: cannot write into") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model mlp --input %s --bogus 1", path("x.npy")), 2);
  cr_assert(strstr(err_text, "unknown option '--bogus'") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --help"), 0);
  cr_assert(strstr(out_text, "usage: hwtune run") != NULL);
  /* Nothing was written by any refused run. */
  cr_assert_eq(access(path("y.npy"), F_OK), -1);
}

Test(run_cli, model_table_and_json) {
  cr_assert_eq(hwtune("model mlp --profile none --threads 1"), 0, "%s", err_text);
  cr_assert(strstr(out_text, "model mlp:") != NULL, "%s", out_text);
  cr_assert(strstr(out_text, "fc1") && strstr(out_text, "fully_connected") && strstr(out_text, "[1, 256]"), "%s",
            out_text);
  cr_assert(strstr(out_text, "xnnpack x1") != NULL, "%s", out_text);
  cr_assert(strstr(out_text, "total: 4 nodes") && strstr(out_text, "235146 parameters"), "%s", out_text);
  cr_assert_eq(hwtune("model --model mobilenet --batch 4 --profile none --json"), 0, "%s", err_text);
  json_error_t je;
  json_t *doc = json_loads(out_text, 0, &je);
  cr_assert_not_null(doc, "not JSON: %s", je.text);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "schema")), "hwtune.graph/1");
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(doc, "model"), "batch")), 4);
  json_t *nodes = json_object_get(doc, "nodes");
  cr_assert_eq(json_array_size(nodes), 30);
  json_t *n0 = json_array_get(nodes, 0);
  cr_assert_str_eq(json_string_value(json_object_get(n0, "op")), "conv2d");
  cr_assert_eq(json_integer_value(json_array_get(json_object_get(n0, "dims"), 0)), 4);
  cr_assert_str_eq(json_string_value(json_object_get(n0, "activation")), "relu6");
  double mflop = 0;
  for (size_t i = 0; i < json_array_size(nodes); i++)
    mflop += json_real_value(json_object_get(json_array_get(nodes, i), "mflop"));
  cr_assert_float_eq(json_real_value(json_object_get(json_object_get(doc, "totals"), "mflop_per_sample")), mflop,
                     1e-6);
  json_decref(doc);
  cr_assert_eq(hwtune("model"), 2);
  cr_assert(strstr(err_text, "which model?") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("model mlp mobilenet"), 2);
  cr_assert_eq(hwtune("model mlp --batch 0"), 2);
  cr_assert_eq(hwtune("model %s", path("nothing.json")), 1);
  cr_assert(strstr(err_text, "nothing.json") != NULL, "%s", err_text);
}

/* An ONNX model from ONNX's own test data (node/test_averagepool_2d_pads: AveragePool over [1, 3, 28, 28] NCHW, the
 * batch fixed at 1 by the file), its input as an ONNX .pb and as .npy: the outputs match ONNX's expected output;
 * two samples run as two batches of the file's fixed 1. */
#define POOL_DIR "/usr/share/libonnx-testdata/data/node/test_averagepool_2d_pads"
Test(run_cli, onnx_model_with_pb_and_npy_inputs) {
  if (access(POOL_DIR "/model.onnx", R_OK) != 0) cr_skip_test("libonnx-testdata is not installed");
  hwt_tensor x, want;
  char err[512];
  cr_assert_eq(hwt_tensor_read_pb(POOL_DIR "/test_data_set_0/input_0.pb", &x, err, sizeof err), hwt_status_ok, "%s",
               err);
  cr_assert_eq(hwt_tensor_read_pb(POOL_DIR "/test_data_set_0/output_0.pb", &want, err, sizeof err), hwt_status_ok,
               "%s", err);
  cr_assert_eq(x.count, 3 * 28 * 28);
  cr_assert_eq(want.count, 3 * 30 * 30);
  static float two[2 * 3 * 28 * 28];
  memcpy(two, x.data, sizeof two / 2);
  memcpy(two + 3 * 28 * 28, x.data, sizeof two / 2);
  int64_t d2[4] = {2, 3, 28, 28};
  write_npy("two.npy", hwt_dtype_f32, 4, d2, two);
  cr_assert_eq(hwtune("run --model " POOL_DIR "/model.onnx --input " POOL_DIR
                      "/test_data_set_0/input_0.pb --out %s --profile none",
                      path("from_pb.npy")),
               0, "%s", err_text);
  cr_assert(strstr(err_text, "1 sample (batch 1), output 'y' [1, 3, 30, 30]") != NULL, "%s", err_text);
  cr_assert_eq(hwtune("run --model " POOL_DIR "/model.onnx --input %s --out %s --profile none --threads 1",
                      path("two.npy"), path("from_npy.npy")),
               0, "%s", err_text);
  cr_assert(strstr(err_text, "2 samples (batch 1), output 'y' [2, 3, 30, 30]") != NULL, "%s", err_text);
  hwt_tensor a = read_npy("from_pb.npy"), b = read_npy("from_npy.npy");
  cr_assert_eq(a.rank, 4);
  int64_t dims[4] = {1, 3, 30, 30};
  for (int d = 0; d < 4; d++) cr_assert_eq(a.dims[d], dims[d]);
  cr_assert_eq(b.dims[0], 2);
  cr_assert_eq(a.count, want.count);
  cr_assert_eq(b.count, 2 * want.count);
  for (size_t i = 0; i < want.count; i++) {
    float w = ((float *) want.data)[i];
    cr_assert_float_eq(((float *) a.data)[i], w, 1e-5 + 1e-4 * fabsf(w), "element %zu", i);
    cr_assert_float_eq(((float *) b.data)[i], w, 1e-5 + 1e-4 * fabsf(w), "element %zu", i);
    cr_assert_float_eq(((float *) b.data)[want.count + i], w, 1e-5 + 1e-4 * fabsf(w), "element %zu", i);
  }
  hwt_tensor_free(&a);
  hwt_tensor_free(&b);
  hwt_tensor_free(&x);
  hwt_tensor_free(&want);
  /* NHWC data given to the NCHW model is refused with both shapes; --batch against the file's batch too. */
  int64_t nhwc[4] = {1, 28, 28, 3};
  write_npy("nhwc.npy", hwt_dtype_f32, 4, nhwc, two);
  cr_assert_eq(hwtune("run --model " POOL_DIR "/model.onnx --input %s", path("nhwc.npy")), 1);
  cr_assert(strstr(err_text, "nhwc.npy: shape [1, 28, 28, 3] does not fit the model's input 'x': expected [N, 3, 28, 28]"),
            "%s", err_text);
  cr_assert_eq(hwtune("run --model " POOL_DIR "/model.onnx --input %s --batch 2", path("two.npy")), 1);
  cr_assert(strstr(err_text, "--batch 2, but") && strstr(err_text, "fixes the batch at 1"), "%s", err_text);
  /* The graph table of the same file. */
  cr_assert_eq(hwtune("model " POOL_DIR "/model.onnx --profile none"), 0, "%s", err_text);
  cr_assert(strstr(out_text, "avg_pool2d") && strstr(out_text, "[1, 3, 30, 30]"), "%s", out_text);
}

/* Two named inputs and two outputs (an ONNX file built here with Debian's python3-onnx): inputs bound by name in
 * any order, every output in --out-dir as <name>.npy, output 0 alone with --out. */
Test(run_cli, onnx_two_inputs_two_outputs) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"import onnx,sys; from onnx import helper as h, TensorProto as T; "
           "vi=lambda n: h.make_tensor_value_info(n, T.FLOAT, ['N', 4]); "
           "g=h.make_graph([h.make_node('Sub', ['a', 'b'], ['diff/out:0']), h.make_node('Relu', ['a'], ['r'])], 'g', "
           "[vi('a'), vi('b')], [vi('diff/out:0'), vi('r')]); "
           "onnx.save(h.make_model(g, opset_imports=[h.make_opsetid('', 13)]), sys.argv[1])\" %s 2>/dev/null",
           path("two.onnx"));
  if (system(cmd) != 0) cr_skip_test("python3-onnx is not available");
  float a[3 * 4], b[3 * 4];
  for (int i = 0; i < 12; i++) a[i] = (float) i - 5.5f, b[i] = 0.25f * (float) i;
  int64_t d[2] = {3, 4};
  write_npy("a.npy", hwt_dtype_f32, 2, d, a);
  write_npy("b.npy", hwt_dtype_f32, 2, d, b);
  cr_assert_eq(hwtune("run --model %s --input b=%s --input a=%s --out-dir %s --profile none", path("two.onnx"),
                      path("b.npy"), path("a.npy"), dir),
               0, "%s", err_text);
  cr_assert(strstr(err_text, "output 'diff/out:0' [3, 4] and more (--out-dir)") != NULL, "%s", err_text);
  hwt_tensor diff = read_npy("diff_out_0.npy"), r = read_npy("r.npy");
  cr_assert_eq(diff.count, 12);
  cr_assert_eq(r.count, 12);
  for (int i = 0; i < 12; i++) {
    cr_assert_eq(((float *) diff.data)[i], a[i] - b[i], "diff %d", i);
    cr_assert_eq(((float *) r.data)[i], a[i] > 0 ? a[i] : 0, "relu %d", i);
  }
  hwt_tensor_free(&diff);
  hwt_tensor_free(&r);
  /* Positional inputs go in the graph's order; --out takes output 0 and says there is more. */
  cr_assert_eq(hwtune("run --model %s --input %s --input %s --out %s --profile none", path("two.onnx"), path("b.npy"),
                      path("a.npy"), path("first.npy")),
               0, "%s", err_text);
  cr_assert(strstr(err_text, "(more outputs: --out-dir)") != NULL, "%s", err_text);
  hwt_tensor f = read_npy("first.npy");
  for (int i = 0; i < 12; i++) cr_assert_eq(((float *) f.data)[i], b[i] - a[i], "swapped diff %d", i);
  hwt_tensor_free(&f);
  /* A missing input is named; so are files whose batches differ. */
  cr_assert_eq(hwtune("run --model %s --input a=%s", path("two.onnx"), path("a.npy")), 1);
  cr_assert(strstr(err_text, "the model's input 1 'b' has no --input (give b=FILE)") != NULL, "%s", err_text);
  int64_t d2[2] = {2, 4};
  write_npy("b2.npy", hwt_dtype_f32, 2, d2, b);
  cr_assert_eq(hwtune("run --model %s --input %s --input %s", path("two.onnx"), path("a.npy"), path("b2.npy")), 1);
  cr_assert(strstr(err_text, "b2.npy: batch (dim 0) 2, but") != NULL, "%s", err_text);
}
