/* SPDX-License-Identifier: Apache-2.0 */
/* ONNX TensorProto files (onnx/tensor_pb.c): every data field, every refusal with its message, and ONNX's own
 * test data files. Messages are built with the generated protobuf-c types and packed here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnx.h"
#include "onnx.pb-c.h"

#define TESTDATA "/usr/share/libonnx-testdata/data"

static char err[1024];

/* Packs tp into a malloc'ed buffer. */
static void *pack(const Onnx__TensorProto *tp, size_t *len) {
  *len = onnx__tensor_proto__get_packed_size(tp);
  void *buf = malloc(*len + 1);
  cr_assert_not_null(buf);
  cr_assert_eq(onnx__tensor_proto__pack(tp, buf), *len);
  return buf;
}

/* Decodes tp after packing it; returns the status, *out filled on success. */
static hwt_status roundtrip(const Onnx__TensorProto *tp, hwt_tensor *out) {
  size_t len;
  void *buf = pack(tp, &len);
  err[0] = '\0';
  hwt_status st = hwt_tensor_from_pb(buf, len, "t.pb", out, err, sizeof err);
  free(buf);
  return st;
}

static void expect_refused(const Onnx__TensorProto *tp, const char *what) {
  hwt_tensor t;
  memset(&t, 0, sizeof t);
  hwt_status st = roundtrip(tp, &t);
  cr_assert_neq(st, hwt_status_ok, "accepted a tensor that should fail with '%s'", what);
  cr_assert_null(t.data);
  cr_assert(strstr(err, what) != NULL, "message '%s' lacks '%s'", err, what);
  cr_assert(strncmp(err, "t.pb", 4) == 0, "message '%s' does not name the file", err);
}

static int64_t dims23[] = {2, 3};

static void init_tp(Onnx__TensorProto *tp, int32_t type, int64_t *dims, size_t ndims) {
  onnx__tensor_proto__init(tp);
  tp->has_data_type = 1;
  tp->data_type = type;
  tp->dims = dims;
  tp->n_dims = ndims;
  tp->name = "x";
}

Test(onnx_tensor, raw_float_little_endian) {
  float v[6] = {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f};
  unsigned char raw[24];
  for (int i = 0; i < 6; i++) {  /* write little-endian explicitly */
    uint32_t u;
    memcpy(&u, &v[i], 4);
    for (int b = 0; b < 4; b++) raw[4 * i + b] = (unsigned char) (u >> (8 * b));
  }
  Onnx__TensorProto tp;
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims23, 2);
  tp.has_raw_data = 1;
  tp.raw_data.data = raw;
  tp.raw_data.len = sizeof raw;
  hwt_tensor t;
  cr_assert_eq(roundtrip(&tp, &t), hwt_status_ok, "%s", err);
  cr_assert_str_eq(t.name, "x");
  cr_assert_eq(t.dtype, hwt_dtype_f32);
  cr_assert_eq(t.rank, 2);
  cr_assert_eq(t.dims[0], 2);
  cr_assert_eq(t.dims[1], 3);
  cr_assert_eq(t.count, 6);
  cr_assert_eq(memcmp(t.data, v, sizeof v), 0);
  hwt_tensor_free(&t);
  hwt_tensor_free(&t);  /* idempotent */
  hwt_tensor_free(NULL);
}

Test(onnx_tensor, float_data) {
  float v[6] = {1, 2, 3, 4, 5, 6};
  Onnx__TensorProto tp;
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims23, 2);
  tp.float_data = v;
  tp.n_float_data = 6;
  hwt_tensor t;
  cr_assert_eq(roundtrip(&tp, &t), hwt_status_ok, "%s", err);
  cr_assert_eq(memcmp(t.data, v, sizeof v), 0);
  float f[6];
  hwt_tensor_to_f32(&t, f);
  cr_assert_float_eq(f[5], 6.0f, 0);
  hwt_tensor_free(&t);
}

Test(onnx_tensor, int32_data_widened_types) {
  int32_t v[6] = {-128, -1, 0, 1, 100, 127};
  Onnx__TensorProto tp;
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__INT8, dims23, 2);
  tp.int32_data = v;
  tp.n_int32_data = 6;
  hwt_tensor t;
  cr_assert_eq(roundtrip(&tp, &t), hwt_status_ok, "%s", err);
  cr_assert_eq(t.dtype, hwt_dtype_i8);
  const int8_t *q = t.data;
  for (int i = 0; i < 6; i++) cr_assert_eq(q[i], v[i]);
  hwt_tensor_free(&t);

  int32_t u[6] = {0, 1, 128, 200, 254, 255};
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, dims23, 2);
  tp.int32_data = u;
  tp.n_int32_data = 6;
  cr_assert_eq(roundtrip(&tp, &t), hwt_status_ok, "%s", err);
  cr_assert_eq(t.dtype, hwt_dtype_u8);
  for (int i = 0; i < 6; i++) cr_assert_eq(((const uint8_t *) t.data)[i], u[i]);
  hwt_tensor_free(&t);

  int32_t b[6] = {0, 1, 1, 0, 0, 1};
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, dims23, 2);
  tp.int32_data = b;
  tp.n_int32_data = 6;
  cr_assert_eq(roundtrip(&tp, &t), hwt_status_ok, "%s", err);
  cr_assert_eq(t.dtype, hwt_dtype_bool);
  for (int i = 0; i < 6; i++) cr_assert_eq(((const uint8_t *) t.data)[i], b[i]);
  hwt_tensor_free(&t);

  int32_t w[6] = {INT32_MIN, -7, 0, 7, 1 << 20, INT32_MAX};
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__INT32, dims23, 2);
  tp.int32_data = w;
  tp.n_int32_data = 6;
  cr_assert_eq(roundtrip(&tp, &t), hwt_status_ok, "%s", err);
  cr_assert_eq(t.dtype, hwt_dtype_i32);
  cr_assert_eq(memcmp(t.data, w, sizeof w), 0);
  hwt_tensor_free(&t);
}

Test(onnx_tensor, int32_data_out_of_range) {
  int32_t v[6] = {0, 1, 2, 3, 256, 5};
  Onnx__TensorProto tp;
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, dims23, 2);
  tp.int32_data = v;
  tp.n_int32_data = 6;
  expect_refused(&tp, "int32_data[4] = 256 is out of range for uint8");
  int32_t s[6] = {0, -129, 2, 3, 4, 5};
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__INT8, dims23, 2);
  tp.int32_data = s;
  tp.n_int32_data = 6;
  expect_refused(&tp, "int32_data[1] = -129 is out of range for int8");
}

Test(onnx_tensor, int64_double_and_scalar) {
  int64_t v[6] = {INT64_MIN, -1, 0, 1, (int64_t) 1 << 40, INT64_MAX};
  Onnx__TensorProto tp;
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, dims23, 2);
  tp.int64_data = v;
  tp.n_int64_data = 6;
  hwt_tensor t;
  cr_assert_eq(roundtrip(&tp, &t), hwt_status_ok, "%s", err);
  cr_assert_eq(t.dtype, hwt_dtype_i64);
  cr_assert_eq(memcmp(t.data, v, sizeof v), 0);
  hwt_tensor_free(&t);

  double d = -2.5;
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, NULL, 0);
  tp.double_data = &d;
  tp.n_double_data = 1;
  cr_assert_eq(roundtrip(&tp, &t), hwt_status_ok, "%s", err);
  cr_assert_eq(t.dtype, hwt_dtype_f64);
  cr_assert_eq(t.rank, 0);
  cr_assert_eq(t.count, 1);
  cr_assert_eq(*(const double *) t.data, -2.5);
  hwt_tensor_free(&t);
}

Test(onnx_tensor, empty_tensor) {
  int64_t dims[] = {3, 0};
  Onnx__TensorProto tp;
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims, 2);
  hwt_tensor t;
  cr_assert_eq(roundtrip(&tp, &t), hwt_status_ok, "%s", err);
  cr_assert_eq(t.count, 0);
  cr_assert_not_null(t.data);
  hwt_tensor_free(&t);
}

Test(onnx_tensor, size_mismatch_refused) {
  unsigned char raw[20] = {0};
  Onnx__TensorProto tp;
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims23, 2);
  tp.has_raw_data = 1;
  tp.raw_data.data = raw;
  tp.raw_data.len = sizeof raw;
  expect_refused(&tp, "raw_data holds 20 bytes, dims need 24");
  float v[5] = {0};
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims23, 2);
  tp.float_data = v;
  tp.n_float_data = 5;
  expect_refused(&tp, "float_data holds 5 elements, dims need 6");
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims23, 2);
  expect_refused(&tp, "no data for 6 elements");
}

Test(onnx_tensor, wrong_or_double_fields_refused) {
  int64_t v[6] = {0};
  float f[6] = {0};
  Onnx__TensorProto tp;
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims23, 2);
  tp.int64_data = v;
  tp.n_int64_data = 6;
  expect_refused(&tp, "FLOAT data in int64_data (expected raw_data or float_data)");
  unsigned char raw[24] = {0};
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims23, 2);
  tp.has_raw_data = 1;
  tp.raw_data.data = raw;
  tp.raw_data.len = sizeof raw;
  tp.float_data = f;
  tp.n_float_data = 6;
  expect_refused(&tp, "data in both raw_data and float_data");
}

Test(onnx_tensor, unsupported_types_and_external_refused) {
  Onnx__TensorProto tp;
  unsigned char raw[12] = {0};
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, dims23, 2);
  tp.has_raw_data = 1;
  tp.raw_data.data = raw;
  tp.raw_data.len = sizeof raw;
  expect_refused(&tp, "data type FLOAT16 not supported");

  ProtobufCBinaryData s[6] = {{1, (uint8_t *) "a"}, {1, (uint8_t *) "b"}, {1, (uint8_t *) "c"},
                              {1, (uint8_t *) "d"}, {1, (uint8_t *) "e"}, {1, (uint8_t *) "f"}};
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__STRING, dims23, 2);
  tp.string_data = s;
  tp.n_string_data = 6;
  expect_refused(&tp, "data type STRING not supported");

  init_tp(&tp, 99, dims23, 2);
  expect_refused(&tp, "data type type 99 not supported");

  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims23, 2);
  tp.has_data_location = 1;
  tp.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  expect_refused(&tp, "external data");

  Onnx__StringStringEntryProto e;
  onnx__string_string_entry_proto__init(&e);
  e.key = "location";
  e.value = "weights.bin";
  Onnx__StringStringEntryProto *ep = &e;
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims23, 2);
  tp.external_data = &ep;
  tp.n_external_data = 1;
  expect_refused(&tp, "external data");

  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims23, 2);
  tp.has_data_type = 0;
  expect_refused(&tp, "no data_type");
}

Test(onnx_tensor, bad_dims_refused) {
  Onnx__TensorProto tp;
  int64_t neg[] = {2, -3};
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, neg, 2);
  expect_refused(&tp, "dims[1] = -3 is negative");
  int64_t huge[] = {1 << 16, 1 << 16};
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, huge, 2);
  expect_refused(&tp, "more than 2^31 elements");
  int64_t overflow[] = {INT64_MAX, INT64_MAX, 0};
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, overflow, 3);
  expect_refused(&tp, "more than 2^31 elements");
  int64_t many[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, many, 9);
  expect_refused(&tp, "rank 9 exceeds 8");
}

Test(onnx_tensor, truncated_and_garbage_refused) {
  float v[6] = {1, 2, 3, 4, 5, 6};
  Onnx__TensorProto tp;
  init_tp(&tp, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims23, 2);
  tp.float_data = v;
  tp.n_float_data = 6;
  size_t len;
  unsigned char *buf = pack(&tp, &len);
  hwt_tensor t;
  memset(&t, 0, sizeof t);
  /* A cut at a field boundary is a shorter valid message: only dropping the trailing name (field 8, 3 bytes)
   * leaves the data whole; every other cut is refused. */
  for (size_t cut = 1; cut < len; cut++) {
    hwt_status st = hwt_tensor_from_pb(buf, cut, "t.pb", &t, err, sizeof err);
    if (cut == len - 3) {
      cr_assert_eq(st, hwt_status_ok, "%s", err);
      cr_assert_eq(memcmp(t.data, v, sizeof v), 0);
      cr_assert_str_eq(t.name, "");
      hwt_tensor_free(&t);
      continue;
    }
    cr_assert_neq(st, hwt_status_ok, "accepted %zu of %zu bytes", cut, len);
    cr_assert_null(t.data);
  }
  cr_assert_eq(hwt_tensor_from_pb(buf, len - 1, "t.pb", &t, err, sizeof err), hwt_status_parse_error);
  cr_assert_str_eq(err, "t.pb: not a valid ONNX TensorProto (truncated or malformed protobuf)");
  free(buf);
  const unsigned char garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff};
  cr_assert_eq(hwt_tensor_from_pb(garbage, sizeof garbage, "g.pb", &t, err, sizeof err), hwt_status_parse_error);
  cr_assert_eq(hwt_tensor_from_pb(NULL, 0, "e.pb", &t, err, sizeof err), hwt_status_schema_error);
  cr_assert(strstr(err, "e.pb: no data_type") != NULL, "%s", err);
}

Test(onnx_tensor, read_testdata_file) {
  const char *path = TESTDATA "/node/test_abs/test_data_set_0/input_0.pb";
  if (access(path, R_OK) != 0) cr_skip_test("%s not installed (libonnx-testdata)", path);
  hwt_tensor t;
  cr_assert_eq(hwt_tensor_read_pb(path, &t, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_str_eq(t.name, "x");
  cr_assert_eq(t.dtype, hwt_dtype_f32);
  cr_assert_eq(t.rank, 3);
  cr_assert_eq(t.dims[0], 3);
  cr_assert_eq(t.dims[1], 4);
  cr_assert_eq(t.dims[2], 5);
  cr_assert_eq(t.count, 60);
  /* Values python3-onnx's numpy_helper reads from the same file. */
  cr_assert_float_eq(((const float *) t.data)[0], 1.764052391052246f, 0);
  cr_assert_float_eq(((const float *) t.data)[1], 0.40015721321105957f, 0);
  cr_assert_float_eq(((const float *) t.data)[2], 0.978738009929657f, 0);
  hwt_tensor_free(&t);
  /* The reader that picks the format by name. */
  cr_assert_eq(hwt_tensor_read(path, &t, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(t.count, 60);
  hwt_tensor_free(&t);
}

Test(onnx_tensor, file_errors) {
  hwt_tensor t;
  memset(&t, 0, sizeof t);
  cr_assert_eq(hwt_tensor_read_pb("/nonexistent/x.pb", &t, err, sizeof err), hwt_status_io_error);
  cr_assert(strstr(err, "cannot open '/nonexistent/x.pb'") != NULL, "%s", err);
  cr_assert_eq(hwt_tensor_read_pb("/tmp", &t, err, sizeof err), hwt_status_invalid_argument);
  cr_assert(strstr(err, "'/tmp' is not a regular file") != NULL, "%s", err);
  cr_assert_null(t.data);
}
