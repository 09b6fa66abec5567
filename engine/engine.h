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
 * docs in engine/README.md. */
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
#define HWT_IO_NAME_MAX 128
#define HWT_NODE_MAX_INPUTS 16   /* data inputs of one node (concat); importers chain longer concats */
#define HWT_GRAPH_MAX_IO 16      /* graph inputs, graph outputs */

/* ---- the graph ----
 * A model is a DAG of nodes ("layers") in topological order. Node i produces one value, value id i; graph input
 * k is value id -1 - k (HWT_INPUT_ID(k)). A node reads values by id in inputs[0..nin): ids of earlier nodes or
 * graph inputs only. Every value has a per-sample shape (h, w, c) in hwtune's internal layout, channels last
 * (NHWC without the N); the batch is the engine's, never part of a shape.
 *
 * Logical (ONNX) rank: `rank` of a value is its rank in the file including the batch dimension; 0 means a
 * hwtune-native value (no external layout). External layout is channels-first as in ONNX:
 *   rank 4 [N, C, H, W]  <-> internal (h = H, w = W, c = C)
 *   rank 3 [N, C, L]     <-> internal (h = 1, w = L, c = C)
 *   rank 2 [N, K]        <-> internal (1, 1, K)
 *   rank 1 [N]           <-> internal (1, 1, 1)
 * Conversions between layouts happen once at the graph's inputs and outputs (hwt_engine_run*) and inside
 * hwt_layer_reshape and hwt_layer_transpose nodes; nowhere else.
 *
 * Element types: a value is float32, or int8 when its node has q8 set (graph inputs: io.q8), with affine
 * parameters oq (io.q). int8 nodes (q8) read int8 inputs; float nodes read float inputs. Where a producer's
 * type differs from what its consumer reads, the engine and the reference convert (quantize with the
 * producer's oq, which must then be set: scale > 0; dequantize with the producer's oq). Explicit quantize /
 * dequantize nodes (from ONNX QDQ) are ordinary nodes.
 *
 * Parameter layouts (fp32 w / b, or int8 wq / int32 bq / float wscale per output channel when q8 weights):
 *   fc        w [outputs][K] (K = h * w * c of the input, in the internal order), b [outputs]
 *   conv      w [Cout][kh][kw][Cin / groups] (group-major output channels), b [Cout]
 *   dwconv    w [kh][kw][C] (groups = C, multiplier 1), b [C]
 *   affine    w = scale [C], b = shift [C]                 (y = x * w[c] + b[c])
 *   add/sub/mul/div/max/min/prelu with a constant operand: w [wshape.h][wshape.w][wshape.c], each dim 1 or equal to out's
 *             (broadcast); nin == 1 then. With two value inputs they have equal shapes, or inputs[1]'s dims are 1
 *             where they differ (per-channel (1,1,C) and scalar (1,1,1) broadcasts: SE blocks).
 * All parameter arrays are allocated with hwt_rt_alloc and owned by the node (hwt_model_free frees them). */
#define HWT_INPUT_ID(k) (-1 - (int) (k))

typedef enum hwt_layer_type {
  hwt_layer_fc = 0,         /* "fully_connected" */
  hwt_layer_conv,           /* "conv2d" (groups, dilation) */
  hwt_layer_dwconv,         /* "depthwise_conv2d" (channel multiplier 1, dilation) */
  hwt_layer_relu,           /* "relu" */
  hwt_layer_relu6,          /* "relu6" */
  hwt_layer_maxpool,        /* "max_pool2d" (padding never wins: -inf) */
  hwt_layer_avgpool,        /* "avg_pool2d" (count_include_pad false: divides by the valid taps) */
  hwt_layer_gavgpool,       /* "global_avg_pool" -> 1 x 1 x C (also ReduceMean over H, W) */
  hwt_layer_softmax,        /* "softmax" over the dims in `axes` (default: channels) */
  hwt_layer_add,            /* "add": inputs[0] + (inputs[1] | constant w) */
  /* graph runtime */
  hwt_layer_sub,            /* "sub": inputs[0] - other (const_first: w - inputs[0]) */
  hwt_layer_mul,            /* "mul" */
  hwt_layer_div,            /* "div" (const_first: w / inputs[0]) */
  hwt_layer_clip,           /* "clip": min(max(x, alpha), beta) */
  hwt_layer_leaky_relu,     /* "leaky_relu": x >= 0 ? x : alpha * x */
  hwt_layer_sigmoid,        /* "sigmoid" */
  hwt_layer_hard_sigmoid,   /* "hard_sigmoid": max(0, min(1, alpha * x + beta)) */
  hwt_layer_hard_swish,     /* "hard_swish": x * max(0, min(1, x / 6 + 0.5)) */
  hwt_layer_tanh,           /* "tanh" */
  hwt_layer_affine,         /* "affine": standalone BatchNormalization, x * w[c] + b[c] */
  hwt_layer_concat,         /* "concat" along channels of inputs[0..nin) (equal h, w) */
  hwt_layer_reshape,        /* "reshape": same elements in the logical (channels-first) order, new shape/rank */
  hwt_layer_identity,       /* "identity": a copy (Identity, Dropout at inference) */
  hwt_layer_quantize,       /* "quantize": float -> int8 with oq (QuantizeLinear); q8 set */
  hwt_layer_dequantize,     /* "dequantize": int8 -> float with the input's params (DequantizeLinear) */
  /* elementwise functions (float only) */
  hwt_layer_unary,          /* "unary": fn(x) per element (`fn`, parameters alpha / beta: see hwt_unary_fn) */
  hwt_layer_max,            /* "max": max(inputs[0], other), binary like add (NaN when either is NaN) */
  hwt_layer_min,            /* "min" */
  hwt_layer_prelu,          /* "prelu": x >= 0 ? x : slope * x, slope = the other operand (constant w or inputs[1]) */
  hwt_layer_log_softmax,    /* "log_softmax": log(softmax(x)) over the dims in `axes` (as softmax) */
  hwt_layer_transpose,      /* "transpose": logical dims permuted by `perm` (perm[0] == 0: the batch stays first) */
  hwt_layer_type_count
} hwt_layer_type;

/* The function of a hwt_layer_unary node (float; NaN in -> NaN out; IEEE results at the edges as C's libm:
 * log(0) = -inf, log(x < 0) = NaN, sqrt(x < 0) = NaN, 1 / 0 = inf). */
typedef enum hwt_unary_fn {
  hwt_unary_neg = 0,        /* "neg": -x */
  hwt_unary_abs,            /* "abs": |x| */
  hwt_unary_exp,            /* "exp" */
  hwt_unary_log,            /* "log": natural logarithm */
  hwt_unary_sqrt,           /* "sqrt" */
  hwt_unary_reciprocal,     /* "reciprocal": 1 / x */
  hwt_unary_floor,          /* "floor" */
  hwt_unary_ceil,           /* "ceil" */
  hwt_unary_elu,            /* "elu": x > 0 ? x : alpha * (exp(x) - 1) */
  hwt_unary_selu,           /* "selu": beta * (x > 0 ? x : alpha * (exp(x) - 1)) (ONNX's gamma is beta) */
  hwt_unary_softplus,       /* "softplus": log(1 + exp(x)), computed without overflow for large x */
  hwt_unary_softsign,       /* "softsign": x / (1 + |x|), +-1 at +-inf */
  hwt_unary_erf,            /* "erf" */
  hwt_unary_pow,            /* "pow": x ^ alpha (a constant exponent; C's pow rules) */
  hwt_unary_fn_count
} hwt_unary_fn;

/* Fused activations of fc / conv / dwconv: a clamp. relu = [0, inf), relu6 = [0, 6], clip = [act_lo, act_hi]. */
typedef enum hwt_act { hwt_act_none = 0, hwt_act_relu, hwt_act_relu6, hwt_act_clip } hwt_act;
typedef enum hwt_precision { hwt_prec_fp32 = 0, hwt_prec_int8 } hwt_precision;

/* Softmax axes (bits over the internal dims; the product of the chosen dims is normalised jointly). */
enum { HWT_AXIS_H = 1, HWT_AXIS_W = 2, HWT_AXIS_C = 4 };

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
  float act_lo, act_hi;        /* hwt_act_clip bounds */
  uint32_t kh, kw, sh, sw;     /* kernel and stride (conv, dwconv, pools) */
  uint32_t dh, dw;             /* dilation (conv, dwconv); 0 means 1 */
  uint32_t groups;             /* conv: 0 or 1 = dense; dwconv: ignored (= C) */
  uint32_t pad_t, pad_r, pad_b, pad_l;
  bool ceil_mode;              /* pools: output size rounds up (windows may hang past the padded edge) */
  bool count_include_pad;      /* avgpool: divide by kh * kw (pads count as zeros) instead of the valid taps */
  bool const_first;            /* sub / div with a constant: the constant is the left operand */
  uint8_t axes;                /* softmax, log_softmax: HWT_AXIS_* bits; 0 means HWT_AXIS_C */
  hwt_unary_fn fn;             /* unary: the function */
  uint8_t rank;                /* logical rank of the output (see above); 0 = native */
  float alpha, beta;           /* clip (lo, hi), leaky_relu (alpha), hard_sigmoid (alpha, beta), unary (see fn) */
  uint32_t outputs;            /* fc: N, conv: output channels */
  int nin;                     /* data inputs used */
  int inputs[HWT_NODE_MAX_INPUTS]; /* value ids: node index (earlier) or HWT_INPUT_ID(k) */
  hwt_shape in, out;           /* in = the shape of inputs[0] */
  hwt_shape wshape;            /* binary ops with a constant operand: its broadcast shape */
  /* fp32 parameters. fc: w [N][K]; conv: w [Cout][kh][kw][Cin/groups]; dwconv: w [kh][kw][C]; see above. */
  float *w, *b;
  /* int8 parameters: symmetric per-channel weights, int32 bias in units of in_scale * wscale[n]. */
  int8_t *wq;
  int32_t *bq;
  float *wscale;
  bool q8;                     /* the output value is int8 with oq (else float32) */
  hwt_qparams oq;              /* output quantization: set for q8 nodes; on float nodes when calibrated */
  uint64_t offset;             /* byte offset of this layer's parameters in the weights file */
  char fused[96];              /* what an importer folded into this node: "BatchNormalization 'bn1' + Relu 'r1'" */
  /* transpose (float): output logical dim d is input logical dim perm[d], d < rank (2 to 4, equal to the input's
   * rank), perm[0] == 0; the output's shape follows from the input's (rank 4: [N, C, H, W], rank 3: [N, C, L]).
   * Layout conversions happen inside the node. Entries from rank on are 0. */
  uint8_t perm[4];
} hwt_layer;

/* A graph input or output. */
typedef struct hwt_graph_io {
  char name[HWT_IO_NAME_MAX];
  int value;                   /* outputs: the value id; inputs: HWT_INPUT_ID(k) */
  hwt_shape shape;             /* per sample, internal layout */
  uint8_t rank;                /* logical rank incl. batch (0 = native NHWC, no conversion at the boundary) */
  bool q8;                     /* inputs: the engine quantizes the float input with q (hwtune int8 models) */
  hwt_qparams q;
} hwt_graph_io;

typedef struct hwt_model {
  char name[HWT_LAYER_NAME_MAX];
  char source[192];            /* "hwtune.model/1", "generator", "onnx (opset 13, pytorch 2.1)" */
  hwt_precision precision;     /* int8 when any node carries int8 weights */
  hwt_shape input;             /* = inputs[0].shape */
  hwt_qparams iq;              /* = inputs[0].q (hwtune int8 models) */
  uint32_t fixed_batch;        /* the batch the file fixes (ONNX: a numeric first dim), 0 = any */
  size_t ninputs, noutputs;    /* >= 1 each; a model built without them means one input and the last node */
  hwt_graph_io inputs[HWT_GRAPH_MAX_IO], outputs[HWT_GRAPH_MAX_IO];
  size_t nlayers;
  hwt_layer *layers;
} hwt_model;

/* ---- model: format, validation, generators ---- */
const char *hwt_layer_type_name(hwt_layer_type type);
/* "exp", "elu", ... (the JSON "fn" of a unary node); "unknown" out of range. */
const char *hwt_unary_fn_name(hwt_unary_fn fn);
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
/* Completes a model built by a generator, a loader or an importer: fills the defaults of a model that names no
 * graph I/O (one input = `input` / `iq`, q8 when precision is int8; one output = the last node), of nodes with
 * nin == 0 (inputs[0] = the previous node or the input), then recomputes every
 * shape (hwt_model_infer_shapes) and validates the graph: inputs name earlier values only, shapes and
 * broadcasts agree, parameters present, q8 rules. `file` names the model in messages. */
hwt_status hwt_model_finalize(hwt_model *m, const char *file, char *err, size_t errlen);
/* Recomputes shapes from the inputs and node parameters; fails with a message naming the node. Nodes whose
 * output shape the parameters alone do not give (reshape) keep the `out` they were built with, checked for
 * the element count. */
hwt_status hwt_model_infer_shapes(hwt_model *m, char *err, size_t errlen);
/* Node types with an int8 implementation: q8 may be set (fc, conv, dwconv, relu, relu6, pools, gavgpool, add,
 * concat, reshape, identity, quantize); hwt_model_finalize refuses q8 on the others, which stay float. */
bool hwt_layer_type_q8_capable(hwt_layer_type type);

/* Values: id >= 0 a node's output, id < 0 graph input -1 - id. */
hwt_shape hwt_model_value_shape(const hwt_model *m, int id);
uint8_t hwt_model_value_rank(const hwt_model *m, int id);
bool hwt_model_value_q8(const hwt_model *m, int id);
hwt_qparams hwt_model_value_q(const hwt_model *m, int id);
/* Floats per sample of graph input / output k. */
size_t hwt_model_input_size(const hwt_model *m, size_t k);
size_t hwt_model_output_size(const hwt_model *m, size_t k);
/* Layout conversion of `batch` samples between the external (channels-first, `rank`) and internal orders;
 * a plain copy for rank 0, 1, 2 or when h * w == 1. src and dst must not overlap. */
void hwt_layout_to_internal(hwt_shape s, uint8_t rank, size_t batch, const float *src, float *dst);
void hwt_layout_to_external(hwt_shape s, uint8_t rank, size_t batch, const float *src, float *dst);
/* "[N, 32, 112, 112]"-style logical shape of a value (batch shown as N, or the fixed batch); a native (rank 0)
 * value shows its internal order "[N, h, w, c]", or "[N, c]" when h = w = 1. */
void hwt_model_value_dims_string(const hwt_model *m, int id, char *buf, size_t len);

/* Built-in example models with seeded random weights (He initialisation, small random biases):
 *   mlp:        784 -> 256 (relu) -> 128 (relu) -> 10 -> softmax
 *   mobilenet:  MobileNet-v1, width 0.25, 96x96x3 input, relu6, 1000 classes, softmax */
hwt_status hwt_model_gen_mlp(uint64_t seed, hwt_model **out);
hwt_status hwt_model_gen_mobilenet(uint64_t seed, hwt_model **out);
/* "mlp", "mobilenet", a path to a model JSON, or a path ending in ".onnx" (hwt_onnx_import with the default
 * options, batch 1 for a symbolic batch dimension). */
hwt_status hwt_model_open(const char *spec, hwt_model **out, char *err, size_t errlen);

/* Deterministic inputs for a model: `count` samples of graph input 0 in its external layout (uniform [0,1)
 * image-like values). */
void hwt_model_gen_inputs(const hwt_model *m, uint64_t seed, size_t count, float *dst);

/* int8 models: the classifier (a fully-connected layer that is last, or only followed by the final softmax)
 * keeps int8 inputs and weights but outputs float logits (int32 accumulator x input scale x weight scale),
 * as deployments do: 8-bit logits tie often among many classes and would flip the top-1. In the graph: an fc
 * node with int8 weights (wq) whose output is float (q8 false). */
bool hwt_layer_float_logits(const hwt_model *m, size_t i);

/* ---- post-training quantization ---- */
/* Calibrates per-tensor activation ranges on `ncal` fp32 inputs (external layout of input 0; min/max of every
 * node output through the fp32 reference) and returns an int8 model with the same nodes in the same order:
 * per-channel symmetric weights, int32 biases, affine activations; nodes without an int8 implementation
 * (sigmoid, tanh, softmax, ...) stay float (q8 false, oq still calibrated) and the engine converts around them. */
hwt_status hwt_model_quantize(const hwt_model *fp32, const float *calib, size_t ncal, hwt_model **out, char *err,
                              size_t errlen);

/* ---- magnitude pruning ----
 * Zeros the smallest-magnitude fp32 weights of the prunable layers and returns a copy of the model with the
 * zeros in place (same nodes, same order; biases untouched). Prunable: fc and dense conv (groups 1) nodes with
 * fp32 weights, except, unless asked, the first such layer of the graph (it sees raw input) and the classifier
 * (hwt_layer_float_logits' fc, or the last fc); depthwise convolutions are not pruned (few weights, little gain).
 * Thresholds: per layer (each prunable layer reaches `sparsity` on its own) or global (one magnitude threshold
 * over all prunable weights, so layers end up with different sparsities). Pattern block: blocks of block_n
 * consecutive output channels by block_k consecutive inputs (in the layer's internal weight layout) are kept
 * or zeroed whole, scored by their largest |w| (hwt_spmm_block_shape gives the shape our kernels like).
 * Ties at the threshold are broken by position (lowest index pruned first), so results are deterministic.
 * Counts: the units are weights (unstructured) or blocks (edge blocks clipped to the matrix, N x K = Cout x
 * kh * kw * Cin for conv); exactly round(sparsity x units) of them (halves up) are zeroed, the lowest-scoring
 * ones of each layer (per layer) or of all pruned layers together (global: ties go to the earlier layer).
 * Unstructured per layer, a layer thus ends with max(zeros it had, round(sparsity x weights)) zeros; weights
 * already zero score 0 and go first. NaN scores as +inf (kept). sparsity 0 leaves every weight bit for bit.
 * An int8 model is refused (prune fp32, then quantize). No fine-tuning: that is training. */
typedef enum hwt_prune_pattern { hwt_prune_unstructured = 0, hwt_prune_block } hwt_prune_pattern;
typedef enum hwt_prune_scope { hwt_prune_per_layer = 0, hwt_prune_global } hwt_prune_scope;
typedef struct hwt_prune_options {
  double sparsity;             /* target fraction of zero weights in [0, 1] over the pruned layers */
  hwt_prune_pattern pattern;
  uint32_t block_n, block_k;   /* block pattern; 0 = hwt_spmm_block_shape's for the best ISA */
  hwt_prune_scope scope;
  bool prune_first;            /* also prune the first prunable layer */
  bool prune_classifier;       /* also prune the classifier */
} hwt_prune_options;
/* What pruning did to one layer (hwt_model_prune's optional report, one entry per node): pruned marks the
 * layers pruning selected; weights and zeros are filled for every fc / conv / dwconv node with fp32 weights,
 * those kept dense too (pruned false, zeros_after = zeros_before); other nodes are all zeros. */
typedef struct hwt_prune_layer_report {
  bool pruned;
  size_t weights;              /* fp32 weights of the node */
  size_t zeros_before, zeros_after;
} hwt_prune_layer_report;
/* report: NULL, or m->nlayers entries. */
hwt_status hwt_model_prune(const hwt_model *m, const hwt_prune_options *opt, hwt_model **out,
                           hwt_prune_layer_report *report, char *err, size_t errlen);

/* ---- reference implementation (tests, accuracy) ---- */
/* Straightforward loops with double accumulation (float nodes), or the exact integer arithmetic of int8 nodes.
 * Runs `batch` samples of graph input 0 (external layout); writes graph output 0 (float, external layout) to
 * out. layer_out, when not NULL, receives a float copy of every node's output for sample 0 (internal layout,
 * layer_out[i] sized hwt_shape_size(layers[i].out)). */
hwt_status hwt_model_reference(const hwt_model *m, size_t batch, const float *in, float *out, float **layer_out);
/* Every graph input and output (ins[k] sized batch x hwt_model_input_size(m, k), external layouts). */
hwt_status hwt_model_reference_io(const hwt_model *m, size_t batch, const float *const *ins, float *const *outs);

/* ---- engine ---- */
typedef enum hwt_impl { hwt_impl_xnnpack = 0, hwt_impl_own, hwt_impl_native } hwt_impl;
const char *hwt_impl_name(hwt_impl impl);

/* How one layer runs. */
typedef struct hwt_layer_choice {
  hwt_impl impl;
  hwt_isa isa;                 /* own kernels */
  unsigned threads;
  hwt_gemm_blocking blocking;  /* own kernels; zeros = defaults */
  char source[96];             /* "default", "profile", "profile (nearest)", "forced", fallback notes; fc / 1x1
                                  conv with fp32 weights then "; sparse 90% (profile break-even 62%)" */
  bool sparse;                 /* fc / 1x1 conv with pruned fp32 weights: run our sparse kernel (hwtune/spmm.h) */
  /* fc / 1x1 conv with fp32 weights (else zeros): what the sparse decision saw. A chooser that knows the layer's
   * break-even (the profile) sets break_even and break_even_profile; the engine then decides `sparse` from the
   * mode (hwt_engine_options.sparse): auto = sparsity > 0 and sparsity >= break_even. */
  double sparsity;             /* fraction of exact zeros in the weights (hwt_sparsity_f32) */
  double break_even;           /* sparsity from which the sparse kernel is faster; > 1 = never */
  bool break_even_profile;     /* break_even is the profile's (else the built-in default) */
} hwt_layer_choice;

/* The query a chooser answers: op "gemm_f32|gemm_qs8|conv_f32|conv_qs8|dwconv_f32|dwconv_qs8", the layer,
 * batch. FC: m = batch, n, k; conv: the layer's input shape, kernel, stride, padding, output channels. */
typedef struct hwt_layer_query {
  const char *op;
  const hwt_layer *layer;
  size_t batch;
  size_t m, n, k;              /* GEMM view of the layer (1x1 conv and fc) */
  double sparsity;             /* fc / 1x1 conv with fp32 weights: fraction of zero weights; else 0 */
} hwt_layer_query;

/* Fills *choice (pre-filled with the default) for a layer; returns false to keep the default. */
typedef bool (*hwt_chooser_fn)(void *ctx, const hwt_layer_query *q, hwt_layer_choice *choice);

typedef enum hwt_sparse_mode {
  hwt_sparse_auto = 0,
  hwt_sparse_off,
  hwt_sparse_force,
  hwt_sparse_pruned
} hwt_sparse_mode;
/* "auto", "off", "force", "pruned" (hwtune run --sparse, HWTUNE_ENGINE_SPARSE); false for anything else. */
bool hwt_sparse_mode_parse(const char *s, hwt_sparse_mode *out);
const char *hwt_sparse_mode_name(hwt_sparse_mode mode);
typedef struct hwt_engine_options {
  unsigned threads;            /* cap on threads per layer; 0 or more than the usable CPUs = all usable CPUs */
  hwt_chooser_fn chooser;      /* NULL = defaults: XNNPACK, `threads` threads for fc/conv/dwconv */
  void *chooser_ctx;
  hwt_sparse_mode sparse;      /* pruned layers: auto = sparse where the profile's (else the built-in) break-even
                                  says it is faster; off = always dense; force = every fc / 1x1 conv sparse;
                                  pruned = every such layer with zero weights sparse, the others dense.
                                  HWTUNE_ENGINE_SPARSE=auto|off|force|pruned in the environment overrides it */
  bool layer_timing;           /* record per-layer ns for the last run */
  bool keep_values;            /* every value keeps its own buffer (no arena reuse): hwt_engine_layer_output
                                  works for every node (the audit's per-layer int8 comparison) */
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
/* in: batch * input size floats; out: batch * output size floats (graph input 0 and output 0, external
 * layouts). info may be NULL. Nothing is allocated per run. */
hwt_status hwt_engine_run(hwt_engine *e, const float *in, float *out, hwt_run_info *info);
/* Every graph input and output (ins[k]: batch x hwt_model_input_size(m, k) floats, external layout). */
hwt_status hwt_engine_run_io(hwt_engine *e, const float *const *ins, float *const *outs, hwt_run_info *info);
void hwt_engine_destroy(hwt_engine *e);

size_t hwt_engine_batch(const hwt_engine *e);
const hwt_model *hwt_engine_model(const hwt_engine *e);
const hwt_layer_choice *hwt_engine_layer_choice(const hwt_engine *e, size_t layer);
uint64_t hwt_engine_layer_ns(const hwt_engine *e, size_t layer);
/* Float copy of a layer's output for sample `sample` of the last run (dequantized for int8; internal layout).
 * Valid for graph outputs always, for every node with keep_values; otherwise the arena may have reused it. */
void hwt_engine_layer_output(const hwt_engine *e, size_t layer, size_t sample, float *dst);
/* Bytes this engine holds (activations, packed weights, operators). */
size_t hwt_engine_bytes(const hwt_engine *e);
/* The memory plan: bytes of the one activation arena (every intermediate value at its planned offset; sized
 * once at create), and the bytes all values would take without reuse. */
size_t hwt_engine_arena_bytes(const hwt_engine *e);
size_t hwt_engine_values_bytes(const hwt_engine *e);

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
/* The part of it for pruned layers (q->sparsity > 0, gemm_f32 / conv_f32): sets choice->break_even and
 * break_even_profile from the profile's nearest entry with a "sparse" record (hwt_profile_lookup_sparse, within
 * distance 6); leaves the choice alone otherwise. Plan choosers of whole-model entries call it too. */
struct hwt_profile;
void hwt_engine_profile_sparse(const struct hwt_profile *p, const hwt_layer_query *q, hwt_layer_choice *choice);

/* All CPUs this thread may run on (sched_getaffinity, as libhwtune counts them), at least 1. */
unsigned hwt_engine_usable_cpus(void);

#ifdef __cplusplus
}
#endif
