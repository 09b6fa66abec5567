/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the ONNX importer, exporter and TensorProto reader (engine/onnx/): bounded file reads, a
 * protobuf-c allocator with a byte budget, and TensorProto -> hwt_tensor conversion. Not a public API. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "onnx.h"
#include "onnx.pb-c.h"

/* Files the importer and the tensor reader accept: regular files of at most 2 GiB. */
#define HWT_ONNX_MAX_FILE ((size_t) 2 << 30)
/* Elements in one tensor (2^31) and bytes of all weights in one model (2 GiB). */
#define HWT_ONNX_MAX_ELEMENTS ((uint64_t) 1 << 31)
#define HWT_ONNX_MAX_WEIGHT_BYTES ((uint64_t) 2 << 30)

/* Reads a regular file of at most `max` bytes into a malloc'ed buffer (free()). err: "cannot open 'p': ...",
 * "'p' is not a regular file", "'p' is larger than 2 GiB". */
hwt_status hwt_onnx_read_file(const char *path, size_t max, void **data, size_t *len, char *err, size_t errlen);

/* A protobuf-c allocator that refuses to hand out more than `limit` live bytes, so a hostile file cannot make
 * the decoder allocate without bound (protobuf-c builds a struct per nested message: an empty message costs two
 * bytes of input and ~100 bytes of memory). `exceeded` tells a refused allocation from a malformed input. */
typedef struct hwt_pb_budget {
  ProtobufCAllocator base;
  size_t used, limit;
  bool exceeded;
} hwt_pb_budget;
/* The budget for decoding `len` bytes: generous for real models (whose bytes are mostly raw tensor data),
 * bounded for hostile ones. */
void hwt_pb_budget_init(hwt_pb_budget *b, size_t len);

/* Converts a decoded TensorProto. `prefix` starts every message ("model.onnx: initializer 'w'"). Refuses
 * external data, segments, strings and other types hwt_dtype lacks, more than HWT_TENSOR_MAX_RANK dims,
 * negative dims, more than HWT_ONNX_MAX_ELEMENTS elements, data whose size does not match the dims, data in
 * two fields or in the field the type does not use, and integers out of their type's range. On success *out
 * owns data from hwt_rt_alloc (at least one byte even for an empty tensor). */
hwt_status hwt_onnx_tensor_convert(const Onnx__TensorProto *tp, const char *prefix, hwt_tensor *out, char *err,
                                   size_t errlen);
/* The ONNX data type's name ("FLOAT", "FLOAT16", ...; "type 99" beyond the list): buf of 16+ bytes. */
const char *hwt_onnx_type_name(int32_t type, char *buf, size_t len);
