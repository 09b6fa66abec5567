/* SPDX-License-Identifier: Apache-2.0 */
/* ONNX TensorProto (onnx.h): a serialized tensor (a test's input_0.pb) or an initializer, converted to a dense
 * hwt_tensor. raw_data is little-endian per the ONNX spec; the typed fields are float_data (FLOAT), int32_data
 * (INT32 and, widened, INT8 / UINT8 / BOOL), int64_data (INT64) and double_data (DOUBLE). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwt_common.h"
#include "onnx_internal.h"

static const char *const type_names[] = {"UNDEFINED", "FLOAT",  "UINT8",     "INT8",       "UINT16",  "INT16",
                                         "INT32",     "INT64",  "STRING",    "BOOL",       "FLOAT16", "DOUBLE",
                                         "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};

const char *hwt_onnx_type_name(int32_t type, char *buf, size_t len) {
  if (type >= 0 && (size_t) type < sizeof type_names / sizeof type_names[0]) return type_names[type];
  snprintf(buf, len, "type %d", (int) type);
  return buf;
}

/* The hwt_dtype of an ONNX data type, false when hwt_dtype has none. */
static bool dtype_of(int32_t type, hwt_dtype *dt) {
  switch (type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: *dt = hwt_dtype_f32; return true;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: *dt = hwt_dtype_u8; return true;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: *dt = hwt_dtype_i8; return true;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: *dt = hwt_dtype_i32; return true;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: *dt = hwt_dtype_i64; return true;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: *dt = hwt_dtype_f64; return true;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: *dt = hwt_dtype_bool; return true;
    default: return false;
  }
}

/* The typed fields, in the order they are reported. */
enum { F_FLOAT, F_INT32, F_STRING, F_INT64, F_DOUBLE, F_UINT64, F_COUNT };
static const char *const field_names[F_COUNT] = {"float_data", "int32_data", "string_data",
                                                 "int64_data", "double_data", "uint64_data"};

static int typed_field_of(hwt_dtype dt) {
  switch (dt) {
    case hwt_dtype_f32: return F_FLOAT;
    case hwt_dtype_i64: return F_INT64;
    case hwt_dtype_f64: return F_DOUBLE;
    default: return F_INT32;  /* INT32, INT8, UINT8, BOOL */
  }
}

/* Little-endian bytes to host order, element by element (a no-op on little-endian hosts). */
static void from_little_endian(unsigned char *p, size_t count, size_t size) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  for (size_t i = 0; i < count; i++, p += size)
    for (size_t a = 0, b = size - 1; a < b; a++, b--) {
      unsigned char t = p[a];
      p[a] = p[b];
      p[b] = t;
    }
#else
  (void) p, (void) count, (void) size;
#endif
}

hwt_status hwt_onnx_tensor_convert(const Onnx__TensorProto *tp, const char *prefix, hwt_tensor *out, char *err,
                                   size_t errlen) {
  char tbuf[24];
  if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    hwt_errf(err, errlen, "%s: external data (data_location EXTERNAL) not supported", prefix);
    return hwt_status_unsupported;
  }
  if (tp->n_external_data > 0) {
    hwt_errf(err, errlen, "%s: external data (external_data entries) not supported", prefix);
    return hwt_status_unsupported;
  }
  if (tp->segment != NULL) {
    hwt_errf(err, errlen, "%s: segmented tensors not supported", prefix);
    return hwt_status_unsupported;
  }
  if (!tp->has_data_type || tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED) {
    hwt_errf(err, errlen, "%s: no data_type", prefix);
    return hwt_status_schema_error;
  }
  hwt_dtype dt;
  if (!dtype_of(tp->data_type, &dt)) {
    hwt_errf(err, errlen,
             "%s: data type %s not supported (FLOAT, UINT8, INT8, INT32, INT64, DOUBLE, BOOL are)", prefix,
             hwt_onnx_type_name(tp->data_type, tbuf, sizeof tbuf));
    return hwt_status_unsupported;
  }
  if (tp->n_dims > HWT_TENSOR_MAX_RANK) {
    hwt_errf(err, errlen, "%s: rank %zu exceeds %d", prefix, tp->n_dims, HWT_TENSOR_MAX_RANK);
    return hwt_status_unsupported;
  }
  uint64_t count = 1;
  for (size_t i = 0; i < tp->n_dims; i++) {
    int64_t d = tp->dims[i];
    if (d < 0) {
      hwt_errf(err, errlen, "%s: dims[%zu] = %lld is negative", prefix, i, (long long) d);
      return hwt_status_schema_error;
    }
    if (d > 0 && count > HWT_ONNX_MAX_ELEMENTS / (uint64_t) d) {
      hwt_errf(err, errlen, "%s: more than 2^31 elements (dims[%zu] = %lld)", prefix, i, (long long) d);
      return hwt_status_unsupported;
    }
    count *= (uint64_t) d;
  }
  if (count > HWT_ONNX_MAX_ELEMENTS) {
    hwt_errf(err, errlen, "%s: more than 2^31 elements", prefix);
    return hwt_status_unsupported;
  }
  size_t esize = hwt_dtype_size(dt);
  if ((uint64_t) count > SIZE_MAX / esize) {
    hwt_errf(err, errlen, "%s: too large for this machine", prefix);
    return hwt_status_unsupported;
  }
  size_t bytes = (size_t) count * esize;

  size_t n_typed[F_COUNT] = {tp->n_float_data, tp->n_int32_data, tp->n_string_data,
                             tp->n_int64_data, tp->n_double_data, tp->n_uint64_data};
  int source = -1;  /* -1 none, F_COUNT raw_data, else a typed field */
  if (tp->has_raw_data) source = F_COUNT;
  for (int f = 0; f < F_COUNT; f++) {
    if (n_typed[f] == 0) continue;
    if (source != -1) {
      hwt_errf(err, errlen, "%s: data in both %s and %s", prefix,
               source == F_COUNT ? "raw_data" : field_names[source], field_names[f]);
      return hwt_status_schema_error;
    }
    source = f;
  }
  int want = typed_field_of(dt);
  if (source >= 0 && source < F_COUNT && source != want) {
    hwt_errf(err, errlen, "%s: %s data in %s (expected raw_data or %s)", prefix,
             hwt_onnx_type_name(tp->data_type, tbuf, sizeof tbuf), field_names[source], field_names[want]);
    return hwt_status_schema_error;
  }
  if (source == -1 && count > 0) {
    hwt_errf(err, errlen, "%s: no data for %llu elements (raw_data and %s are empty)", prefix,
             (unsigned long long) count, field_names[want]);
    return hwt_status_schema_error;
  }
  if (source == F_COUNT && tp->raw_data.len != bytes) {
    hwt_errf(err, errlen, "%s: raw_data holds %zu bytes, dims need %zu (%llu x %zu)", prefix, tp->raw_data.len,
             bytes, (unsigned long long) count, esize);
    return hwt_status_schema_error;
  }
  if (source >= 0 && source < F_COUNT && n_typed[source] != count) {
    hwt_errf(err, errlen, "%s: %s holds %zu elements, dims need %llu", prefix, field_names[source],
             n_typed[source], (unsigned long long) count);
    return hwt_status_schema_error;
  }

  unsigned char *data = hwt_rt_alloc(bytes > 0 ? bytes : 1);
  if (data == NULL) {
    hwt_errf(err, errlen, "%s: out of memory (%zu bytes)", prefix, bytes);
    return hwt_status_out_of_memory;
  }
  size_t n = (size_t) count;
  if (source == F_COUNT) {
    if (bytes > 0) memcpy(data, tp->raw_data.data, bytes);
    from_little_endian(data, n, esize);
    if (dt == hwt_dtype_bool)
      for (size_t i = 0; i < n; i++) data[i] = data[i] != 0;
  } else if (source == F_FLOAT) {
    memcpy(data, tp->float_data, bytes);
  } else if (source == F_INT64) {
    memcpy(data, tp->int64_data, bytes);
  } else if (source == F_DOUBLE) {
    memcpy(data, tp->double_data, bytes);
  } else if (source == F_INT32) {
    int32_t lo = INT32_MIN, hi = INT32_MAX;
    if (dt == hwt_dtype_u8) lo = 0, hi = 255;
    if (dt == hwt_dtype_i8) lo = -128, hi = 127;
    if (dt == hwt_dtype_bool) lo = 0, hi = 1;
    for (size_t i = 0; i < n; i++) {
      int32_t v = tp->int32_data[i];
      if (v < lo || v > hi) {
        hwt_errf(err, errlen, "%s: int32_data[%zu] = %d is out of range for %s", prefix, i, (int) v,
                 hwt_dtype_name(dt));
        hwt_rt_free(data);
        return hwt_status_schema_error;
      }
      if (dt == hwt_dtype_i32)
        ((int32_t *) (void *) data)[i] = v;
      else if (dt == hwt_dtype_i8)
        ((int8_t *) data)[i] = (int8_t) v;
      else
        data[i] = (unsigned char) v;
    }
  }

  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", tp->name != NULL ? tp->name : "");
  out->dtype = dt;
  out->rank = (unsigned) tp->n_dims;
  for (size_t i = 0; i < tp->n_dims; i++) out->dims[i] = tp->dims[i];
  out->count = n;
  out->data = data;
  return hwt_status_ok;
}

hwt_status hwt_tensor_from_pb(const void *data, size_t len, const char *file, hwt_tensor *out, char *err,
                              size_t errlen) {
  if (file == NULL) file = "<memory>";
  if (out == NULL || (data == NULL && len > 0)) {
    hwt_errf(err, errlen, "%s: no tensor data or no output", file);
    return hwt_status_invalid_argument;
  }
  hwt_pb_budget budget;
  hwt_pb_budget_init(&budget, len);
  static const uint8_t empty[1] = {0};
  Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&budget.base, len, len > 0 ? data : empty);
  if (tp == NULL) {
    if (budget.exceeded)
      hwt_errf(err, errlen, "%s: decoding the TensorProto needs more than %zu MiB (a hostile file?)", file,
               budget.limit >> 20);
    else
      hwt_errf(err, errlen, "%s: not a valid ONNX TensorProto (truncated or malformed protobuf)", file);
    return budget.exceeded ? hwt_status_out_of_memory : hwt_status_parse_error;
  }
  char prefix[HWT_IO_NAME_MAX + 512];
  if (tp->name != NULL && tp->name[0] != '\0')
    snprintf(prefix, sizeof prefix, "%s: tensor '%.*s'", file, HWT_IO_NAME_MAX, tp->name);
  else
    snprintf(prefix, sizeof prefix, "%s", file);
  hwt_status st = hwt_onnx_tensor_convert(tp, prefix, out, err, errlen);
  onnx__tensor_proto__free_unpacked(tp, &budget.base);
  return st;
}

hwt_status hwt_tensor_read_pb(const char *path, hwt_tensor *out, char *err, size_t errlen) {
  if (path == NULL) {
    hwt_errf(err, errlen, "no tensor file given");
    return hwt_status_invalid_argument;
  }
  void *data = NULL;
  size_t len = 0;
  hwt_status st = hwt_onnx_read_file(path, HWT_ONNX_MAX_FILE, &data, &len, err, errlen);
  if (st != hwt_status_ok) return st;
  st = hwt_tensor_from_pb(data, len, path, out, err, errlen);
  free(data);
  return st;
}
