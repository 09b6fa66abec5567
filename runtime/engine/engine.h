/* SPDX-License-Identifier: Apache-2.0 */
/* The small inference runtime: sequential fp32/int8 models (format, loader, generators, quantization,
 * reference) and an engine that runs each layer through XNNPACK or hwtune's GEMM kernels.
 *
 * Conventions are those of hwtune/status.h: functions that can fail return hwt_status and write a message
 * naming the file and the layer to err; nothing here exits or aborts the caller; free functions accept NULL.
 *
 * Tensors are NHWC float32 (or int8 for int8 models). A fully-connected layer flattens its input (h, w, c).
 *
 * Model file format (schema "hwtune.model/1"): a JSON description plus a binary weights file, see
 * docs in runtime/engine/README.md. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hwtune/kernels.h"
#include "hwtune/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HWT_MODEL_SCHEMA "hwtune.model/1"
#define HWT_LAYER_NAME_MAX 64

typedef enum hwt_layer_type {
  hwt_layer_fc = 0,         /* "fully_connected" */
  hwt_layer_conv,           /* "conv2d" */
  hwt_layer_dwconv,         /* "depthwise_conv2d" (channel multiplier 1) */
  hwt_layer_relu,           /* "relu" */
  hwt_layer_relu6,          /* "relu6" */
  hwt_layer_maxpool,        /* "max_pool2d" */
  hwt_layer_avgpool,        /* "avg_pool2d" (padding counted as absent: divides by the valid taps) */
  hwt_layer_gavgpool,       /* "global_avg_pool" -> 1 x 1 x C */
  hwt_layer_softmax,        /* "softmax" over channels; must be the last layer */
  hwt_layer_add,            /* "add": current + output of layer `from` (residual) */
  hwt_layer_type_count
} hwt_layer_type;

typedef enum hwt_act { hwt_act_none = 0, hwt_act_relu, hwt_act_relu6 } hwt_act;
typedef enum hwt_precision { hwt_prec_fp32 = 0, hwt_prec_int8 } hwt_precision;

typedef struct hwt_shape {
  uint32_t h, w, c;
} hwt_shape;

/* Affine int8 quantization: real = scale * (q - zero_point). */
typedef struct hwt_qparams {
  float scale;
  int32_t zero_point;
} hwt_qparams;

typedef struct hwt_layer {
  char name[HWT_LAYER_NAME_MAX];
  hwt_layer_type type;
  hwt_act act;                 /* fused activation (fc, conv, dwconv) */
  uint32_t kh, kw, sh, sw;     /* kernel and stride (conv, dwconv, pools) */
  uint32_t pad_t, pad_r, pad_b, pad_l;
  uint32_t outputs;            /* fc: N, conv: output channels */
  int from;                    /* add: layer index, -1 = the model input */
  hwt_shape in, out;
  /* fp32 parameters (fp32 models). fc: w [N][K]; conv: w [Cout][kh][kw][Cin]; dwconv: w [kh][kw][C]. */
  float *w, *b;
  /* int8 parameters (int8 models): symmetric per-channel weights, int32 bias in units of in_scale * wscale[n]. */
  int8_t *wq;
  int32_t *bq;
  float *wscale;
  hwt_qparams oq;              /* output quantization (int8 models) */
  uint64_t offset;             /* byte offset of this layer's parameters in the weights file */
} hwt_layer;

typedef struct hwt_model {
  char name[HWT_LAYER_NAME_MAX];
  hwt_precision precision;
  hwt_shape input;
  hwt_qparams iq;              /* input quantization (int8 models) */
  size_t nlayers;
  hwt_layer *layers;
} hwt_model;

/* ---- model: format, validation, generators ---- */
const char *hwt_layer_type_name(hwt_layer_type type);
size_t hwt_shape_size(hwt_shape s);
/* Parameter counts of a layer (weights, bias) and bytes it occupies in the weights file for `precision`. */
size_t hwt_layer_weight_count(const hwt_layer *l);
size_t hwt_layer_bias_count(const hwt_layer *l);
size_t hwt_layer_param_bytes(const hwt_layer *l, hwt_precision precision);
/* Multiply-adds x 2 for one sample. */
double hwt_layer_flops(const hwt_layer *l);

/* Loads `json_path` and the weights file it names (relative to the JSON's folder). Validates everything:
 * schema, fields, shapes (output_shape when given must match), sizes, finite weights, quantization params.
 * err gets "<file>: layer 3 'conv1' (conv2d): <what>". */
hwt_status hwt_model_load(const char *json_path, hwt_model **out, char *err, size_t errlen);
/* The same from memory (tests, fuzzing): `name` stands for the file in messages; `weights` for the weights file. */
hwt_status hwt_model_load_buffers(const char *json, size_t json_len, const void *weights, size_t weights_len,
                                  const char *name, hwt_model **out, char *err, size_t errlen);
/* Writes `json_path` and `<json_path without .json>.bin` atomically. */
hwt_status hwt_model_save(const hwt_model *m, const char *json_path, char *err, size_t errlen);
void hwt_model_free(hwt_model *m);
/* Recomputes shapes from the input and layer parameters; fails with a message naming the layer. */
hwt_status hwt_model_infer_shapes(hwt_model *m, char *err, size_t errlen);

/* Built-in example models with seeded random weights (He initialisation, small random biases):
 *   mlp:        784 -> 256 (relu) -> 128 (relu) -> 10 -> softmax
 *   mobilenet:  MobileNet-v1, width 0.25, 96x96x3 input, relu6, 1000 classes, softmax */
hwt_status hwt_model_gen_mlp(uint64_t seed, hwt_model **out);
hwt_status hwt_model_gen_mobilenet(uint64_t seed, hwt_model **out);
/* "mlp", "mobilenet" or a path to a model JSON. */
hwt_status hwt_model_open(const char *spec, hwt_model **out, char *err, size_t errlen);

/* Deterministic inputs for a model: `count` samples of the model input (uniform [0,1) image-like values). */
void hwt_model_gen_inputs(const hwt_model *m, uint64_t seed, size_t count, float *dst);

/* int8 models: the classifier (a fully-connected layer that is last, or only followed by the final softmax)
 * keeps int8 inputs and weights but outputs float logits (int32 accumulator x input scale x weight scale),
 * as deployments do: 8-bit logits tie often among many classes and would flip the top-1. */
bool hwt_layer_float_logits(const hwt_model *m, size_t i);

/* ---- post-training quantization ---- */
/* Calibrates per-tensor activation ranges on `ncal` fp32 inputs (min/max of every layer output through the
 * fp32 reference) and returns an int8 model: per-channel symmetric weights, int32 biases, affine activations. */
hwt_status hwt_model_quantize(const hwt_model *fp32, const float *calib, size_t ncal, hwt_model **out, char *err,
                              size_t errlen);

/* ---- reference implementation (tests, accuracy) ---- */
/* Straightforward loops with double accumulation (fp32 models), or the exact integer arithmetic of the int8
 * model. Runs `batch` samples; writes the model output (float) to out. layer_out, when not NULL, receives a
 * float copy of every layer's output for sample 0 (layer_out[i] sized hwt_shape_size(layers[i].out)). */
hwt_status hwt_model_reference(const hwt_model *m, size_t batch, const float *in, float *out, float **layer_out);

/* ---- engine ---- */
typedef enum hwt_impl { hwt_impl_xnnpack = 0, hwt_impl_own, hwt_impl_native } hwt_impl;
const char *hwt_impl_name(hwt_impl impl);

/* How one layer runs. */
typedef struct hwt_layer_choice {
  hwt_impl impl;
  hwt_isa isa;                 /* own kernels */
  unsigned threads;
  hwt_gemm_blocking blocking;  /* own kernels; zeros = defaults */
  char source[48];             /* "default", "profile", "profile (nearest)", "forced", fallback notes */
} hwt_layer_choice;

/* The query a chooser answers: op "gemm_f32|gemm_qs8|conv_f32|conv_qs8|dwconv_f32|dwconv_qs8", the layer,
 * batch. FC: m = batch, n, k; conv: the layer's input shape, kernel, stride, padding, output channels. */
typedef struct hwt_layer_query {
  const char *op;
  const hwt_layer *layer;
  size_t batch;
  size_t m, n, k;              /* GEMM view of the layer (1x1 conv and fc) */
} hwt_layer_query;

/* Fills *choice (pre-filled with the default) for a layer; returns false to keep the default. */
typedef bool (*hwt_chooser_fn)(void *ctx, const hwt_layer_query *q, hwt_layer_choice *choice);

typedef struct hwt_engine_options {
  unsigned threads;            /* cap on threads per layer; 0 or more than the usable CPUs = all usable CPUs */
  hwt_chooser_fn chooser;      /* NULL = defaults: XNNPACK, `threads` threads for fc/conv/dwconv */
  void *chooser_ctx;
  bool layer_timing;           /* record per-layer ns for the last run */
  size_t test_leak_bytes;      /* test hook: leak this many bytes per run (soak-check tests); also
                                  HWTUNE_ENGINE_TEST_LEAK=<bytes> in the environment */
} hwt_engine_options;

typedef struct hwt_engine hwt_engine;

typedef struct hwt_run_info {
  size_t input_nonfinite;      /* NaN/Inf count in the input (flagged; int8 maps NaN to the zero point) */
  size_t output_nonfinite;     /* NaN/Inf count in the output */
} hwt_run_info;

/* Initialises XNNPACK once with a counting allocator (thread-safe, idempotent). */
hwt_status hwt_engine_global_init(char *err, size_t errlen);
/* Builds every layer's operator for `batch` samples. */
hwt_status hwt_engine_create(const hwt_model *m, size_t batch, const hwt_engine_options *opt, hwt_engine **out,
                             char *err, size_t errlen);
/* in: batch * input size floats; out: batch * output size floats. info may be NULL. */
hwt_status hwt_engine_run(hwt_engine *e, const float *in, float *out, hwt_run_info *info);
void hwt_engine_destroy(hwt_engine *e);

size_t hwt_engine_batch(const hwt_engine *e);
const hwt_model *hwt_engine_model(const hwt_engine *e);
const hwt_layer_choice *hwt_engine_layer_choice(const hwt_engine *e, size_t layer);
uint64_t hwt_engine_layer_ns(const hwt_engine *e, size_t layer);
/* Float copy of a layer's output for sample `sample` of the last run (dequantized for int8). */
void hwt_engine_layer_output(const hwt_engine *e, size_t layer, size_t sample, float *dst);
/* Bytes this engine holds (activations, packed weights, operators). */
size_t hwt_engine_bytes(const hwt_engine *e);

/* Process-wide accounting of memory the runtime (and XNNPACK through its allocator) allocated. */
typedef struct hwt_mem_stats {
  size_t live_bytes, peak_bytes, allocations;
} hwt_mem_stats;
hwt_mem_stats hwt_engine_mem_stats(void);
/* Starts a new peak measurement: peak_bytes = live_bytes (for per-phase peaks). */
void hwt_engine_mem_reset_peak(void);
/* Counting allocator the runtime uses (exposed for the tests). */
void *hwt_rt_alloc(size_t size);
void *hwt_rt_calloc(size_t n, size_t size);
void hwt_rt_free(void *p);

/* Chooser backed by a libhwtune profile (ctx = const hwt_profile *, NULL = defaults). Layers the profile does
 * not cover (no entry of that op within distance 6) keep the engine default: XNNPACK on all usable CPUs. */
bool hwt_engine_profile_chooser(void *ctx, const hwt_layer_query *q, hwt_layer_choice *choice);

/* All CPUs this thread may run on (sched_getaffinity, as libhwtune counts them), at least 1. */
unsigned hwt_engine_usable_cpus(void);

#ifdef __cplusplus
}
#endif
