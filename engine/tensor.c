/* SPDX-License-Identifier: Apache-2.0 */
/* Tensors read from files (onnx.h): element types, conversion to float, and the reader that picks the format
 * by the file's name. The formats: NumPy .npy (tensor_npy.c) and ONNX TensorProto .pb (onnx/tensor_pb.c). */
#include <stdio.h>
#include <string.h>

#include "hwt_common.h"
#include "onnx.h"

static const char *const dtype_names[hwt_dtype_count] = {"float32", "uint8", "int8", "int32", "int64", "float64",
                                                         "bool"};
static const size_t dtype_sizes[hwt_dtype_count] = {4, 1, 1, 4, 8, 8, 1};

const char *hwt_dtype_name(hwt_dtype t) { return (unsigned) t < hwt_dtype_count ? dtype_names[t] : "unknown"; }
size_t hwt_dtype_size(hwt_dtype t) { return (unsigned) t < hwt_dtype_count ? dtype_sizes[t] : 0; }

void hwt_tensor_free(hwt_tensor *t) {
  if (t == NULL) return;
  hwt_rt_free(t->data);
  t->data = NULL;
  t->count = 0;
}

/* One loop per element type (the type switch outside the loop, so each loop vectorizes). */
void hwt_tensor_to_f32(const hwt_tensor *t, float *dst) {
  size_t n = t->count;
  switch (t->dtype) {
    case hwt_dtype_f32:
      if (n != 0) memcpy(dst, t->data, n * sizeof(float));
      break;
#define CONVERT(type) for (size_t i = 0; i < n; i++) dst[i] = (float) ((const type *) t->data)[i]
    case hwt_dtype_u8: CONVERT(uint8_t); break;
    case hwt_dtype_i8: CONVERT(int8_t); break;
    case hwt_dtype_i32: CONVERT(int32_t); break;
    case hwt_dtype_i64: CONVERT(int64_t); break;
    case hwt_dtype_f64: CONVERT(double); break;
#undef CONVERT
    case hwt_dtype_bool:
      for (size_t i = 0; i < n; i++) dst[i] = ((const uint8_t *) t->data)[i] ? 1.0f : 0.0f;
      break;
    default:
      for (size_t i = 0; i < n; i++) dst[i] = 0;
      break;
  }
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

hwt_status hwt_tensor_read(const char *path, hwt_tensor *out, char *err, size_t errlen) {
  if (ends_with(path, ".npy")) return hwt_tensor_read_npy(path, out, err, errlen);
  if (ends_with(path, ".pb")) return hwt_tensor_read_pb(path, out, err, errlen);
  hwt_errf(err, errlen, "%s: unknown tensor file type (expected a NumPy .npy or an ONNX TensorProto .pb)", path);
  return hwt_status_invalid_argument;
}
