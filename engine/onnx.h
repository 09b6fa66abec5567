/* SPDX-License-Identifier: Apache-2.0 */
/* ONNX import (and export, for tests and round trips) into the engine's graph (engine.h), and tensors in files:
 * ONNX TensorProto (.pb) and NumPy (.npy).
 *
 * Parsing is protobuf-c's, with C code generated at build time from Debian's onnx.proto (libonnx-dev). The
 * importer maps opsets 1 to 17 of the operators listed by hwt_onnx_supported_ops() onto graph nodes, re-lays
 * weights from NCHW to the engine's NHWC once, folds BatchNormalization and clamp activations into the
 * producing Conv / Gemm, and turns QDQ (QuantizeLinear / DequantizeLinear around Conv, Gemm, MatMul) into int8
 * nodes with the file's own scales and zero points. Anything it cannot run is refused at load with the node:
 *   "model.onnx: node 17 'Conv_17' (Conv): dilations [2, 2] not supported"
 * followed by the supported list; malformed files likewise; never a crash. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tensors in files ---- */
typedef enum hwt_dtype {
  hwt_dtype_f32 = 0,
  hwt_dtype_u8,
  hwt_dtype_i8,
  hwt_dtype_i32,
  hwt_dtype_i64,
  hwt_dtype_f64,
  hwt_dtype_bool,
  hwt_dtype_count
} hwt_dtype;
const char *hwt_dtype_name(hwt_dtype t);
size_t hwt_dtype_size(hwt_dtype t);

#define HWT_TENSOR_MAX_RANK 8
/* A dense row-major tensor; data allocated with hwt_rt_alloc (hwt_tensor_free). */
typedef struct hwt_tensor {
  char name[HWT_IO_NAME_MAX];
  hwt_dtype dtype;
  unsigned rank;
  int64_t dims[HWT_TENSOR_MAX_RANK];
  size_t count;                /* elements (product of dims; 1 for rank 0) */
  void *data;
} hwt_tensor;
void hwt_tensor_free(hwt_tensor *t);
/* The elements as float32 (copied; integer types converted). dst holds t->count floats. */
void hwt_tensor_to_f32(const hwt_tensor *t, float *dst);

/* A serialized ONNX TensorProto (a test's input_0.pb) from memory / a file. raw_data and the typed fields
 * (float_data, int32_data, int64_data, double_data) are accepted; external data is refused. */
hwt_status hwt_tensor_from_pb(const void *data, size_t len, const char *file, hwt_tensor *out, char *err,
                              size_t errlen);
hwt_status hwt_tensor_read_pb(const char *path, hwt_tensor *out, char *err, size_t errlen);
/* NumPy .npy (format 1.0 / 2.0 / 3.0, little-endian float32, float64, uint8, int8, int32, int64, bool;
 * C order). Writing goes through a temporary file renamed into place. */
hwt_status hwt_tensor_read_npy(const char *path, hwt_tensor *out, char *err, size_t errlen);
hwt_status hwt_tensor_write_npy(const char *path, const hwt_tensor *t, char *err, size_t errlen);
/* .npy or .pb by the file's name ("x.npy", "input_0.pb"). */
hwt_status hwt_tensor_read(const char *path, hwt_tensor *out, char *err, size_t errlen);

/* ---- import ---- */
/* A graph input taken as a constant (ONNX's node tests pass weights as graph inputs): `tensor` is its value. */
typedef struct hwt_onnx_binding {
  const char *name;
  const hwt_tensor *tensor;
} hwt_onnx_binding;

typedef struct hwt_onnx_options {
  uint32_t batch;                  /* the value of a symbolic first dimension; 0 = 1 */
  const hwt_onnx_binding *bind;    /* graph inputs to bind as constants (may be NULL) */
  size_t nbind;
} hwt_onnx_options;

/* Imports an ONNX model file (at most 2 GiB; a regular file) into a finalized graph (hwt_model_finalize).
 * opt may be NULL. err: "<file>: node <i> '<name>' (<op>): <what>" then the supported operators. */
hwt_status hwt_onnx_import(const char *path, const hwt_onnx_options *opt, hwt_model **out, char *err,
                           size_t errlen);
/* The same from memory (tests, fuzzing); `name` stands for the file in messages. */
hwt_status hwt_onnx_import_buffer(const void *data, size_t len, const char *name, const hwt_onnx_options *opt,
                                  hwt_model **out, char *err, size_t errlen);
/* "Add, AveragePool, BatchNormalization, ..." */
const char *hwt_onnx_supported_ops(void);

/* ---- export ---- */
/* Writes a graph as an ONNX model (opset 13; NCHW in the file, weights re-laid back), atomically. Nodes map one
 * to one where ONNX has the op; fused activations become their own Relu / Clip nodes. Used to round-trip the
 * built-in models and to feed ONNX Runtime the same weights.
 * int8 graphs (hwt_model_quantize's) are written in QDQ form: int8 weights as INT8 initializers with per-channel
 * float scales (DequantizeLinear axis 0, the output channel of Conv's OIHW and of Gemm's transB [N, K]), int32
 * biases with scale in_scale * wscale[c] and zero point 0, every int8 value as QuantizeLinear / DequantizeLinear
 * with its scale and int8 zero point (after the fused Relu / Clip, inside the op's QDQ group), float values read by
 * int8 nodes likewise with their calibrated parameters, float nodes as float. The classifier with float logits is
 * a Gemm on dequantized int8 input and weights with no QuantizeLinear after it. The model's metadata_props carry
 * "hwtune.output_step": the calibrated scale of graph output 0 (docs/quantize.md). Graphs with explicit
 * quantize / dequantize nodes are refused. */
hwt_status hwt_onnx_export(const hwt_model *m, const char *path, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
