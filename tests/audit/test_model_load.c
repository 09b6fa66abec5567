/* SPDX-License-Identifier: Apache-2.0 */
/* Model loading: the valid fixture loads; every malformed fixture (files in tests/fixtures/models, or written to a
 * temporary folder by the test) fails with its specific status and message, promptly and without a crash. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"

#define FIX HWTUNE_FIXTURES "/models/"

static void expect_fail(const char *file, hwt_status want, const char *needle1, const char *needle2) {
  char err[1024] = "";
  hwt_model *m = NULL;
  hwt_status st = hwt_model_load(file, &m, err, sizeof(err));
  cr_assert_eq(st, want, "%s: status %s, want %s (%s)", file, hwt_status_string(st), hwt_status_string(want), err);
  cr_assert_null(m);
  cr_assert(strstr(err, file) != NULL, "message names the file: %s", err);
  cr_assert(strstr(err, needle1) != NULL, "message has '%s': %s", needle1, err);
  if (needle2) cr_assert(strstr(err, needle2) != NULL, "message has '%s': %s", needle2, err);
}

Test(model_load, valid_tiny_model) {
  char err[512] = "";
  hwt_model *m = NULL;
  cr_assert_eq(hwt_model_load(FIX "tiny.json", &m, err, sizeof(err)), hwt_status_ok, "%s", err);
  cr_assert_eq(m->nlayers, 11);
  cr_assert_eq(m->layers[1].out.h, 4);
  cr_assert_eq(m->layers[3].inputs[1], 1);
  cr_assert_eq(m->layers[10].out.c, 5);
  cr_assert_eq(m->layers[9].type, hwt_layer_fc);
  hwt_model_free(m);
}

Test(model_load, valid_tiny_int8_model) {
  char err[512] = "";
  hwt_model *m = NULL;
  cr_assert_eq(hwt_model_load(FIX "tiny_int8.json", &m, err, sizeof(err)), hwt_status_ok, "%s", err);
  cr_assert_eq(m->precision, hwt_prec_int8);
  float in[8 * 8 * 3], out[5];
  hwt_model_gen_inputs(m, 1, 1, in);
  cr_assert_eq(hwt_model_reference(m, 1, in, out, NULL), hwt_status_ok);
  hwt_model_free(m);
}

Test(model_load, missing_file) { expect_fail(FIX "nope.json", hwt_status_io_error, "cannot open model file", NULL); }
Test(model_load, not_json) { expect_fail(FIX "bad_json.json", hwt_status_parse_error, "bad_json.json:3:", "not valid JSON"); }
Test(model_load, unknown_schema) { expect_fail(FIX "bad_schema.json", hwt_status_schema_error, "hwtune.model/9", NULL); }
Test(model_load, no_layers) { expect_fail(FIX "no_layers.json", hwt_status_schema_error, "'layers' must be a non-empty", NULL); }
Test(model_load, no_weights_field) { expect_fail(FIX "no_weights_field.json", hwt_status_schema_error, "missing field 'weights'", NULL); }
Test(model_load, missing_weights_file) {
  expect_fail(FIX "missing_weights_file.json", hwt_status_io_error, "cannot read weights file", "does_not_exist.bin");
}
Test(model_load, truncated_weights) {
  expect_fail(FIX "truncated.json", hwt_status_schema_error, "layer 1 'd1' (depthwise_conv2d)", "is truncated");
}
Test(model_load, weights_file_too_long) {
  expect_fail(FIX "toolong.json", hwt_status_schema_error, "has 796 bytes but the layers need 788", "wrong size");
}
Test(model_load, nan_weight) { expect_fail(FIX "nan_weight.json", hwt_status_schema_error, "layer 0 'c1'", "weight 10 is not finite"); }
Test(model_load, missing_outputs) {
  expect_fail(FIX "missing_outputs.json", hwt_status_schema_error, "layer 2 'p1' (conv2d)", "missing field 'outputs'");
}
Test(model_load, missing_kernel) {
  expect_fail(FIX "missing_kernel.json", hwt_status_schema_error, "layer 1 'd1' (depthwise_conv2d)", "missing field 'kernel'");
}
Test(model_load, missing_name) { expect_fail(FIX "missing_name.json", hwt_status_schema_error, "layer 3", "missing field 'name'"); }
Test(model_load, missing_offset) {
  expect_fail(FIX "missing_offset.json", hwt_status_schema_error, "layer 9 'fc'", "missing field 'offset'");
}
Test(model_load, unknown_type) { expect_fail(FIX "unknown_type.json", hwt_status_schema_error, "layer 4 'r'", "unknown layer type 'gelu'"); }
Test(model_load, wrong_field_type) {
  expect_fail(FIX "wrong_type.json", hwt_status_schema_error, "layer 0 'c1'", "field 'outputs' must be an integer");
}
Test(model_load, wrong_output_shape) {
  expect_fail(FIX "wrong_shape.json", hwt_status_schema_error, "layer 1 'd1'",
              "output_shape [5, 5, 4] does not match the computed shape [4, 4, 4] (wrong size)");
}
Test(model_load, add_shape_mismatch) { expect_fail(FIX "add_mismatch.json", hwt_status_schema_error, "node 3 'res' (add): shapes differ", NULL); }
Test(model_load, add_from_later_layer) {
  expect_fail(FIX "add_forward.json", hwt_status_schema_error, "layer 3 'res'", "not an earlier layer");
}
/* Softmax in the middle of a sequence is an ordinary node now: the fixture (softmax and fc swapped with their
 * output_shape fields) fails only on the swapped output_shape. */
Test(model_load, softmax_not_last) {
  expect_fail(FIX "softmax_not_last.json", hwt_status_schema_error, "layer 8 'sm' (softmax): output_shape [1, 1, 5]",
              "does not match the computed shape [2, 2, 4]");
}
Test(model_load, kernel_too_big) {
  expect_fail(FIX "kernel_too_big.json", hwt_status_schema_error, "node 6 'mp' (max_pool2d)", "larger than the padded input");
}
Test(model_load, duplicate_name) { expect_fail(FIX "duplicate_name.json", hwt_status_schema_error, "layer 2 'c1'", "duplicate layer name"); }
Test(model_load, bad_activation) { expect_fail(FIX "bad_activation.json", hwt_status_schema_error, "layer 0 'c1'", "'activation' must be"); }
Test(model_load, int8_without_quant) { expect_fail(FIX "int8_no_quant.json", hwt_status_schema_error, "'input' needs 'quant'", NULL); }
Test(model_load, zero_input_dimension) { expect_fail(FIX "bad_input.json", hwt_status_schema_error, "'input' must be an object", NULL); }

/* Generated models survive a save/load round trip bit for bit, fp32 and int8. */
Test(model_load, save_load_round_trip) {
  char dir[] = "/tmp/hwt_model_XXXXXX", path[128], err[512] = "";
  cr_assert_not_null(mkdtemp(dir));
  hwt_model *m = NULL, *q = NULL, *back = NULL;
  cr_assert_eq(hwt_model_gen_mlp(3, &m), hwt_status_ok);
  float cal[4 * 784];
  hwt_model_gen_inputs(m, 1, 4, cal);
  cr_assert_eq(hwt_model_quantize(m, cal, 4, &q, err, sizeof(err)), hwt_status_ok, "%s", err);
  const hwt_model *models[2] = {m, q};
  for (int v = 0; v < 2; v++) {
    snprintf(path, sizeof(path), "%s/m%d.json", dir, v);
    cr_assert_eq(hwt_model_save(models[v], path, err, sizeof(err)), hwt_status_ok, "%s", err);
    cr_assert_eq(hwt_model_load(path, &back, err, sizeof(err)), hwt_status_ok, "%s", err);
    float o1[10], o2[10];
    cr_assert_eq(hwt_model_reference(models[v], 1, cal, o1, NULL), hwt_status_ok);
    cr_assert_eq(hwt_model_reference(back, 1, cal, o2, NULL), hwt_status_ok);
    cr_assert(memcmp(o1, o2, sizeof(o1)) == 0, "round trip %d changed the outputs", v);
    hwt_model_free(back);
    remove(path);
    snprintf(path, sizeof(path), "%s/m%d.bin", dir, v);
    remove(path);
  }
  rmdir(dir);
  hwt_model_free(m);
  hwt_model_free(q);
}

Test(model_load, add_from_number) {
  expect_fail(FIX "add_from_number.json", hwt_status_schema_error, "layer 3 'res' (add)",
              "'from' must be a string naming an earlier layer or \"input\", got a number");
}

/* The input edited from 3 to 4 channels: c1's parameters [0, 592) run over d1's [448, 608) in the same file. */
Test(model_load, overlapping_parameter_ranges) {
  expect_fail(FIX "overlap.json", hwt_status_schema_error, "layer 0 'c1' (conv2d): parameter bytes [0, 592)",
              "overlap those of layer 1 'd1' (depthwise_conv2d) [448, 608)");
}

/* ---- models written to a temporary folder ---- */

typedef struct tmp_model {
  char dir[64], json[128], bin[128];
} tmp_model;

static void write_bytes(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "cannot write %s", path);
  if (len) cr_assert_eq(fwrite(data, 1, len, f), len);
  cr_assert_eq(fclose(f), 0);
}

/* Writes <tmp>/m.json (json_text) and, when bin != NULL, <tmp>/m.bin. */
static tmp_model tmp_model_write(const char *json_text, const void *bin, size_t binlen) {
  tmp_model t;
  snprintf(t.dir, sizeof(t.dir), "/tmp/hwt_model_XXXXXX");
  cr_assert_not_null(mkdtemp(t.dir));
  snprintf(t.json, sizeof(t.json), "%s/m.json", t.dir);
  snprintf(t.bin, sizeof(t.bin), "%s/m.bin", t.dir);
  write_bytes(t.json, json_text, strlen(json_text));
  if (bin != NULL) write_bytes(t.bin, bin, binlen);
  return t;
}

static void tmp_model_remove(const tmp_model *t) {
  remove(t->json);
  remove(t->bin);
  rmdir(t->dir);
}

#define HEAD "{\"schema\": \"hwtune.model/1\", \"name\": \"t\", \"precision\": \"fp32\", \"weights\": \"m.bin\", "

/* Sizes near the per-field limits used to wrap (nw + nb) * 4: conv weights 4 * 2^60 = 2^62, so (2^62 + 4) * 4
 * bytes is 16 mod 2^64 and a 16-byte weights file passed the size check; the loader then read 2^62 weights from a
 * 0-byte buffer (heap-buffer-overflow, SIGSEGV). */
Test(model_load, huge_conv_does_not_wrap) {
  static const unsigned char zeros[16];
  tmp_model t = tmp_model_write(HEAD "\"input\": {\"shape\": [1048576, 1048576, 1048576]}, \"layers\": ["
                                "{\"name\": \"c\", \"type\": \"conv2d\", \"outputs\": 4, \"kernel\": 1048576, "
                                "\"offset\": 0}]}", zeros, sizeof zeros);
  expect_fail(t.json, hwt_status_schema_error, "graph input 0: shape [1048576, 1048576, 1048576]",
              "more than 2^31 elements");
  tmp_model_remove(&t);
}

Test(model_load, huge_fc_weights_rejected) {
  static const unsigned char zeros[16];
  /* 2^26 inputs x 64 outputs = 2^32 weights: each tensor fits the limit but the weights do not. */
  tmp_model t = tmp_model_write(HEAD "\"input\": {\"shape\": [65536, 1024, 1]}, \"layers\": ["
                                "{\"name\": \"fc\", \"type\": \"fully_connected\", \"outputs\": 64, \"offset\": 0}]}",
                                zeros, sizeof zeros);
  expect_fail(t.json, hwt_status_schema_error, "node 0 'fc' (fully_connected)", "more than 2^31 weights");
  tmp_model_remove(&t);
}

Test(model_load, huge_activation_rejected) {
  static const unsigned char zeros[16];
  /* 1024^3 inputs are within the limit; a 1x1 conv to 4096 channels makes a 2^32-element output. */
  tmp_model t = tmp_model_write(HEAD "\"input\": {\"shape\": [1024, 1024, 1024]}, \"layers\": ["
                                "{\"name\": \"pw\", \"type\": \"conv2d\", \"outputs\": 4096, \"kernel\": 1, "
                                "\"offset\": 0}]}", zeros, sizeof zeros);
  expect_fail(t.json, hwt_status_schema_error, "node 0 'pw' (conv2d): output [1024, 1024, 4096]",
              "more than 2^31 elements");
  tmp_model_remove(&t);
}

/* The same sizes from memory: nothing may be allocated or read from the 16 bytes. */
Test(model_load, huge_conv_from_buffers) {
  static const unsigned char zeros[16];
  const char *j = HEAD "\"input\": {\"shape\": [1048576, 1048576, 1048576]}, \"layers\": [{\"name\": \"c\", "
                       "\"type\": \"conv2d\", \"outputs\": 4, \"kernel\": 1048576, \"offset\": 0}]}";
  hwt_model *m = NULL;
  char err[512] = "";
  cr_assert_eq(hwt_model_load_buffers(j, strlen(j), zeros, sizeof zeros, "buf.json", &m, err, sizeof err),
               hwt_status_schema_error, "%s", err);
  cr_assert_null(m);
  cr_assert(strstr(err, "buf.json: graph input 0: shape") != NULL, "%s", err);
}

/* The memory entry point loads what the file entry point loads. */
Test(model_load, buffers_match_files) {
  char *j = NULL, *b = NULL, err[512] = "";
  size_t jl = 0, bl = 0;
  FILE *f = fopen(FIX "tiny.json", "rb");
  cr_assert_not_null(f);
  cr_assert_eq(fseek(f, 0, SEEK_END), 0);
  jl = (size_t) ftell(f);
  rewind(f);
  j = malloc(jl);
  cr_assert_eq(fread(j, 1, jl, f), jl);
  fclose(f);
  f = fopen(FIX "tiny.bin", "rb");
  cr_assert_not_null(f);
  cr_assert_eq(fseek(f, 0, SEEK_END), 0);
  bl = (size_t) ftell(f);
  rewind(f);
  b = malloc(bl);
  cr_assert_eq(fread(b, 1, bl, f), bl);
  fclose(f);
  hwt_model *m1 = NULL, *m2 = NULL;
  cr_assert_eq(hwt_model_load(FIX "tiny.json", &m1, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_model_load_buffers(j, jl, b, bl, "tiny", &m2, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(m1->nlayers, m2->nlayers);
  for (size_t i = 0; i < m1->nlayers; i++) {
    size_t nw = hwt_layer_weight_count(&m1->layers[i]), nb = hwt_layer_bias_count(&m1->layers[i]);
    if (nw) cr_assert(memcmp(m1->layers[i].w, m2->layers[i].w, nw * 4) == 0);
    if (nb) cr_assert(memcmp(m1->layers[i].b, m2->layers[i].b, nb * 4) == 0);
  }
  /* One byte short: the buffer is checked like the file. */
  hwt_model_free(m2);
  m2 = NULL;
  cr_assert_eq(hwt_model_load_buffers(j, jl, b, bl - 4, "tiny", &m2, err, sizeof err), hwt_status_schema_error);
  cr_assert(strstr(err, "is truncated") != NULL, "%s", err);
  hwt_model_free(m1);
  free(j);
  free(b);
}

/* int8 fc 4 -> 2: weights (8 bytes), int32 biases, float scales; output scale `oscale` (JSON text). */
static tmp_model int8_model_q(int32_t bias0, int8_t w, const char *oscale) {
  unsigned char bin[24];
  int8_t wq[8];
  int32_t bq[2] = {bias0, 0};
  float sc[2] = {0.01f, 0.01f};
  for (int i = 0; i < 8; i++) wq[i] = w;
  memcpy(bin, wq, 8);
  memcpy(bin + 8, bq, 8);
  memcpy(bin + 16, sc, 8);
  char json[512];
  snprintf(json, sizeof json,
           "{\"schema\": \"hwtune.model/1\", \"name\": \"q\", \"precision\": \"int8\", \"weights\": \"m.bin\", "
           "\"input\": {\"shape\": [4], \"quant\": {\"scale\": 0.1, \"zero_point\": 127}}, \"layers\": [{\"name\": "
           "\"fc\", \"type\": \"fully_connected\", \"outputs\": 2, \"offset\": 0, \"output_quant\": {\"scale\": %s, "
           "\"zero_point\": 0}}]}", oscale);
  return tmp_model_write(json, bin, sizeof bin);
}

static tmp_model int8_model(int32_t bias0, int8_t w) { return int8_model_q(bias0, w, "0.5"); }

/* A bias near INT32_MIN overflowed the reference's int32 accumulator (UBSan: signed overflow). */
Test(model_load, int8_bias_can_overflow) {
  tmp_model t = int8_model(INT32_MIN, 127);
  expect_fail(t.json, hwt_status_schema_error, "layer 0 'fc' (fully_connected): int8 bias 0 (-2147483648)",
              "can overflow the int32 accumulator");
  tmp_model_remove(&t);
  t = int8_model(INT32_MAX - 256 * 4 * 127 + 1, 127);
  expect_fail(t.json, hwt_status_schema_error, "int8 bias 0 (2147353600)", "can overflow the int32 accumulator");
  tmp_model_remove(&t);
}

/* At the bound the model loads and the reference stays in range for the extreme input (checked by UBSan in the
 * sanitizer build): every input -128 against zero point 127 gives -255 per tap. */
Test(model_load, int8_bias_at_the_bound) {
  tmp_model t = int8_model(-(INT32_MAX - 256 * 4 * 127), 127);
  hwt_model *m = NULL;
  char err[512] = "";
  cr_assert_eq(hwt_model_load(t.json, &m, err, sizeof err), hwt_status_ok, "%s", err);
  float in[4] = {-1e9f, -1e9f, -1e9f, -1e9f}, out[2];
  cr_assert_eq(hwt_model_reference(m, 1, in, out, NULL), hwt_status_ok);
  hwt_model_free(m);
  tmp_model_remove(&t);
}

#define TINY_HEAD "{\"schema\": \"hwtune.model/1\", \"name\": \"t\", \"precision\": \"fp32\", \"input\": {\"shape\": [4]}, " \
                  "\"layers\": [{\"name\": \"fc\", \"type\": \"fully_connected\", \"outputs\": 1, \"offset\": 0}], "

/* The quantizer keeps its biases within the same bound, so what it makes can be saved and loaded again: an fp32
 * bias of 1e30 used to become INT32_MAX. */
Test(model_load, quantize_clamps_bias_to_the_bound) {
  float params[5] = {1, 1, 1, 1, 1e30f};
  tmp_model t = tmp_model_write(HEAD "\"input\": {\"shape\": [4]}, \"layers\": [{\"name\": \"fc\", \"type\": "
                                "\"fully_connected\", \"outputs\": 1, \"offset\": 0}]}", params, sizeof params);
  hwt_model *m = NULL, *q = NULL, *back = NULL;
  char err[512] = "", path[160];
  cr_assert_eq(hwt_model_load(t.json, &m, err, sizeof err), hwt_status_ok, "%s", err);
  float cal[8] = {0, 0.5f, 1, 0.25f, 1, 1, 0, 0};
  cr_assert_eq(hwt_model_quantize(m, cal, 2, &q, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(q->layers[0].bq[0], INT32_MAX - 256 * 4 * 127);
  snprintf(path, sizeof path, "%s/q.json", t.dir);
  cr_assert_eq(hwt_model_save(q, path, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_model_load(path, &back, err, sizeof err), hwt_status_ok, "%s", err);
  remove(path);
  snprintf(path, sizeof path, "%s/q.bin", t.dir);
  remove(path);
  hwt_model_free(back);
  hwt_model_free(q);
  hwt_model_free(m);
  tmp_model_remove(&t);
}

/* /dev/zero as weights was read until memory ran out. */
Test(model_load, weights_from_char_device, .timeout = 20) {
  tmp_model t = tmp_model_write(TINY_HEAD "\"weights\": \"/dev/zero\"}", NULL, 0);
  expect_fail(t.json, hwt_status_io_error, "weights file '/dev/zero'", "is a character device, not a regular file");
  tmp_model_remove(&t);
}

/* A FIFO as weights blocked forever in open() (no writer): it must be refused at once. */
Test(model_load, weights_from_fifo, .timeout = 20) {
  tmp_model t = tmp_model_write(TINY_HEAD "\"weights\": \"m.bin\"}", NULL, 0);
  cr_assert_eq(mkfifo(t.bin, 0600), 0);
  expect_fail(t.json, hwt_status_io_error, "m.bin' is a FIFO, not a regular file", NULL);
  tmp_model_remove(&t);
}

Test(model_load, model_file_is_fifo, .timeout = 20) {
  tmp_model t = tmp_model_write(TINY_HEAD "\"weights\": \"m.bin\"}", NULL, 0);
  cr_assert_eq(remove(t.json), 0);
  cr_assert_eq(mkfifo(t.json, 0600), 0);
  expect_fail(t.json, hwt_status_io_error, "the model file is a FIFO, not a regular file", NULL);
  tmp_model_remove(&t);
}

/* `audit --model DIR` said "not valid JSON: '[' or '{' expected". */
Test(model_load, model_file_is_directory) {
  expect_fail(FIX, hwt_status_io_error, "the model file is a directory, not a regular file", NULL);
}

/* Sizes are capped before anything is read (sparse files: nothing is written to disk). */
Test(model_load, weights_file_too_large, .timeout = 20) {
  tmp_model t = tmp_model_write(TINY_HEAD "\"weights\": \"m.bin\"}", "", 0);
  cr_assert_eq(truncate(t.bin, ((off_t) 4 << 30) + 1), 0);
  expect_fail(t.json, hwt_status_io_error, "m.bin' is larger than 4096 MiB", NULL);
  tmp_model_remove(&t);
}

Test(model_load, model_file_too_large, .timeout = 20) {
  tmp_model t = tmp_model_write(TINY_HEAD "\"weights\": \"m.bin\"}", NULL, 0);
  cr_assert_eq(truncate(t.json, ((off_t) 64 << 20) + 1), 0);
  expect_fail(t.json, hwt_status_io_error, "the model file is larger than 64 MiB", NULL);
  tmp_model_remove(&t);
}

/* Valid but extreme scales: input scale 1e30 x weight scale 3e38 / output scale 1e-30 is inf, and a zero
 * accumulator made 0 x inf = NaN, converted to int8 (undefined behaviour; on x86 it gave the wrong value 0). The
 * reference must give the output zero point (real 0). */
Test(model_load, int8_infinite_requant_scale) {
  unsigned char bin[24] = {0};
  float sc[2] = {3e38f, 3e38f};
  memcpy(bin + 16, sc, 8);
  tmp_model t = tmp_model_write("{\"schema\": \"hwtune.model/1\", \"name\": \"q\", \"precision\": \"int8\", "
                                "\"weights\": \"m.bin\", \"input\": {\"shape\": [4], \"quant\": {\"scale\": 1e30, "
                                "\"zero_point\": 0}}, \"layers\": [{\"name\": \"fc\", \"type\": \"fully_connected\", "
                                "\"outputs\": 2, \"offset\": 0, \"output_quant\": {\"scale\": 1e-30, \"zero_point\": 5}}, "
                                "{\"name\": \"r\", \"type\": \"relu\", \"output_quant\": {\"scale\": 1, "
                                "\"zero_point\": 0}}]}", bin, sizeof bin);
  hwt_model *m = NULL;
  char err[512] = "";
  cr_assert_eq(hwt_model_load(t.json, &m, err, sizeof err), hwt_status_ok, "%s", err);
  float in[4] = {0}, out[2], l0[2], l1[2], *layer_out[2] = {l0, l1};
  cr_assert_eq(hwt_model_reference(m, 1, in, out, layer_out), hwt_status_ok);
  cr_assert(l0[0] == 0.0f && l0[1] == 0.0f, "fc output %g %g, want the zero point (0)", (double) l0[0], (double) l0[1]);
  hwt_model_free(m);
  tmp_model_remove(&t);
}

/* An output scale > 0 that is 0 as a float (1e-300) divided by zero in the int8 arithmetic: refused. */
Test(model_load, int8_scale_zero_as_float) {
  tmp_model t = int8_model_q(0, 1, "1e-300");
  expect_fail(t.json, hwt_status_schema_error, "layer 0 'fc'", "'output_quant' needs a finite 'scale' > 0");
  tmp_model_remove(&t);
}
