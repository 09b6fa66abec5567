/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helpers shared by the reference, the quantizer, the memory planner and the engine: int8 arithmetic,
 * element types of node inputs, the engine's native node loops (ops.c) and the memory plan (plan.c). */
#pragma once
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

/* real -> int8 with round-to-nearest-even; NaN maps to the zero point, +-Inf and huge values saturate. */
static inline int8_t hwt_q8(float real, hwt_qparams q, int lo, int hi) {
  float v = real / q.scale;
  if (isnan(v)) v = 0;
  v = nearbyintf(v) + (float) q.zero_point;
  if (v < (float) lo) v = (float) lo;
  if (v > (float) hi) v = (float) hi;
  return (int8_t) v;
}
static inline float hwt_dq8(int8_t v, hwt_qparams q) { return q.scale * (float) ((int32_t) v - q.zero_point); }

/* Quantized clamp bounds of a fused activation for output params q (clip uses l's act_lo / act_hi). */
void hwt_act_bounds_q8(hwt_act act, hwt_qparams q, int8_t *lo, int8_t *hi);
void hwt_layer_act_bounds_q8(const hwt_layer *l, hwt_qparams q, int8_t *lo, int8_t *hi);
/* Float clamp bounds of a fused activation (hwt_act_clip: use hwt_layer_act_bounds_f32). */
void hwt_act_bounds_f32(hwt_act act, float *lo, float *hi);
void hwt_layer_act_bounds_f32(const hwt_layer *l, float *lo, float *hi);

/* Quantization params of value id i (i >= 0: node i's oq; i < 0: graph input -1 - i's q). */
hwt_qparams hwt_model_out_q(const hwt_model *m, int i);

/* ---- element types (engine.h "Element types") ----
 * What a node reads from its data inputs: int8 (true) or float. int8 nodes with an int8 implementation read
 * int8; nodes with int8 weights read int8 (fc/conv/dwconv, also with a float output: the classifier); dequantize
 * reads int8; quantize reads float; every other node reads float. */
bool hwt_node_reads_q8(const hwt_layer *l);
/* A q8 node whose type has no int8 implementation (sigmoid, mul, ...) or an fc/conv without int8 weights:
 * computed in float on dequantized inputs, its float result quantized with oq. */
bool hwt_node_q8_via_float(const hwt_layer *l);
/* Conv of any kind: groups (0 = 1), dilations (0 = 1). */
static inline uint32_t hwt_conv_groups(const hwt_layer *l) {
  return l->type == hwt_layer_dwconv ? l->in.c : l->groups ? l->groups : 1;
}
static inline uint32_t hwt_dil(uint32_t d) { return d ? d : 1; }
/* Position in one sample's internal (channels-last) order of the element at logical (channels-first) position j
 * of a value of shape s and logical rank `rank` (rank 0 = native: the internal order is the logical one). */
static inline size_t hwt_logical_to_internal(hwt_shape s, uint8_t rank, size_t j) {
  size_t hw = (size_t) s.h * s.w;
  if (rank <= 2 || hw == 1 || s.c == 1) return j;
  return (j % hw) * s.c + j / hw;
}
static inline bool hwt_layout_is_copy(hwt_shape s, uint8_t rank) {
  return rank <= 2 || (size_t) s.h * s.w == 1 || s.c == 1;
}

/* ---- the engine's native node loops (ops.c): `batch` samples, inputs and output contiguous per sample ----
 * ish[j] / irank[j]: shape and logical rank of input j (irank used by reshape); iq[j]: params of int8 input j.
 * Float version: every float node type and the float compute of q8-via-float nodes (dequantize: int8 input). */
void hwt_op_f32(const hwt_layer *l, size_t batch, const void *const *in, const hwt_shape *ish, const uint8_t *irank,
                const hwt_qparams *iq, float *out);
/* int8 version (relu, relu6, pools, gavgpool, add, softmax, concat, reshape, identity; quantize reads float). */
void hwt_op_q8(const hwt_layer *l, size_t batch, const void *const *in, const hwt_shape *ish, const uint8_t *irank,
               const hwt_qparams *iq, int8_t *out);
/* Node types hwt_op_q8 runs. */
bool hwt_op_has_q8(hwt_layer_type t);

/* ---- the memory plan (plan.c) ----
 * Buffers live over steps [first, last] (step 0: graph inputs converted; node i runs at step i + 1; step
 * nlayers + 1: graph outputs written). Buffers whose step intervals intersect never share bytes. Offsets are
 * 64-byte aligned; every buffer has HWT_PLAN_PAD readable bytes past its end (XNNPACK reads past inputs). */
#define HWT_PLAN_PAD 64
typedef struct hwt_plan_buf {
  size_t bytes;                /* requested */
  uint32_t first, last;        /* live steps, inclusive */
  size_t offset;               /* assigned */
} hwt_plan_buf;
/* Assigns offsets (largest first, first fit among the buffers live at the same time); *arena = bytes needed.
 * Fails (false) when the sizes overflow. */
bool hwt_plan_assign(hwt_plan_buf *b, size_t n, size_t *arena);
/* True when no two buffers that are live at the same step overlap in memory and all fit in `arena`. */
bool hwt_plan_check(const hwt_plan_buf *b, size_t n, size_t arena);
/* Tests: engines created while this is true run every non-GEMM float node with ops.c's loops (else XNNPACK
 * runs global average pooling, binary ops, sigmoid and hardswish). */
extern bool hwt_engine_native_ops;
/* The plan of an engine (tests). */
const hwt_plan_buf *hwt_engine_plan(const hwt_engine *e, size_t *n);

/* ---- dense KxK convolutions on hwtune/conv.h (conv_own.c) ---- */
typedef struct hwt_conv_own hwt_conv_own;
/* A conv our KxK plans run: groups 1, dilation 1, not a plain 1x1 (that one is a GEMM). */
bool hwt_conv_own_eligible(const hwt_layer *l);
/* HWTUNE_ENGINE_OWN_CONV=1: every eligible conv runs on our plans whatever the chooser says (tests, measuring). */
bool hwt_conv_own_forced(void);
/* q: int8 in / out (l->wq, input params iq); else float (l->w). threads: workspace slices. */
hwt_status hwt_conv_own_create(const hwt_layer *l, hwt_shape is, hwt_qparams iq, bool q, hwt_isa isa,
                               const hwt_gemm_blocking *blk, unsigned threads, hwt_conv_own **out);
void hwt_conv_own_run(hwt_conv_own *c, size_t batch, const void *in, void *out, pthreadpool_t pool);
size_t hwt_conv_own_bytes(const hwt_conv_own *c);
void hwt_conv_own_destroy(hwt_conv_own *c);

/* ---- depthwise convolutions on hwtune/dwconv.h (dwconv_own.c) ---- */
typedef struct hwt_dwconv_own hwt_dwconv_own;
/* A dwconv layer (multiplier 1, dilation 1) with fp32 or int8-in/int8-out weights. */
bool hwt_dwconv_own_eligible(const hwt_layer *l, hwt_shape is);
/* HWTUNE_ENGINE_OWN_DW=1: every eligible depthwise layer runs on our plans whatever the chooser says. */
bool hwt_dwconv_own_forced(void);
hwt_status hwt_dwconv_own_create(const hwt_layer *l, hwt_shape is, hwt_qparams iq, bool q, hwt_isa isa,
                                 hwt_dwconv_own **out);
void hwt_dwconv_own_run(const hwt_dwconv_own *c, size_t batch, const void *in, void *out, pthreadpool_t pool);
size_t hwt_dwconv_own_bytes(const hwt_dwconv_own *c);
void hwt_dwconv_own_destroy(hwt_dwconv_own *c);

/* ---- pruned fc / 1x1 conv layers on hwtune/spmm.h (spmm_own.c) ---- */
/* The break-even sparsity the engine assumes without a profile entry: conservative, so that a layer run sparse
 * by default is faster on the machines measured (docs/profile-schema.md, "sparse"; tuned profiles replace it):
 * HWT_SPARSE_DEFAULT_BREAK_EVEN_WIDE for layers with at least 32 inputs per output (K), whose measured break-even
 * against the best dense kernel was at most 75%; HWT_SPARSE_DEFAULT_BREAK_EVEN for narrower K, where the kernel's
 * per-channel overhead weighs most (112x112x16:96 never won at 1 thread). hwt_spmm_own_default_break_even. */
#define HWT_SPARSE_DEFAULT_BREAK_EVEN 0.95
#define HWT_SPARSE_DEFAULT_BREAK_EVEN_WIDE 0.80
double hwt_spmm_own_default_break_even(size_t k);
/* An fc or a 1x1 stride-1 unpadded dense conv with fp32 weights (a GEMM over n x k weights). */
bool hwt_spmm_own_eligible(const hwt_layer *l);
/* The mode after HWTUNE_ENGINE_SPARSE=auto|off|force|pruned (which overrides opt when set to one of those). */
hwt_sparse_mode hwt_spmm_own_mode(hwt_sparse_mode opt);
/* Before the chooser: c->sparsity of the n x k weights, the built-in break-even, and the default decision. */
void hwt_spmm_own_prepare(const hwt_layer *l, size_t n, size_t k, hwt_layer_choice *c);
/* After the chooser: sets and returns c->sparse from the mode, the sparsity and the break-even. */
bool hwt_spmm_own_decide(hwt_sparse_mode mode, hwt_layer_choice *c);
/* "sparse 90% (profile break-even 62%)", "dense 12% (default break-even 95%)", "sparse 0% (forced)". */
void hwt_spmm_own_note(hwt_sparse_mode mode, const hwt_layer_choice *c, char *buf, size_t len);
/* The sparse plan of an eligible layer whose input has shape `is` (GEMM rows: batch, or batch * h * w). */
struct hwt_spmm_f32_plan;
hwt_status hwt_spmm_own_create(const hwt_layer *l, hwt_shape is, hwt_isa isa, struct hwt_spmm_f32_plan **out);

/* ---- reference (reference.c) ---- */
/* One sample of an fp32 layer with one data input (and add's second operand `from`, shaped like the output):
 * the generator's helper. */
void hwt_reference_layer_f32(const hwt_layer *l, const float *in, const float *from, float *out);
/* The int8 classifier with float logits (see hwt_layer_float_logits), one sample. */
void hwt_fc_q8_float(const hwt_layer *l, const int8_t *in, hwt_qparams iq, float *out);
