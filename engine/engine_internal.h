/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helpers shared by the reference, the quantizer and the engine: int8 arithmetic and the
 * one-sample loops of the layers the engine runs natively (pooling, softmax, relu, add). */
#pragma once
#include <math.h>
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

/* Quantized clamp bounds of a fused activation for output params q. */
void hwt_act_bounds_q8(hwt_act act, hwt_qparams q, int8_t *lo, int8_t *hi);
/* Float clamp bounds of a fused activation. */
void hwt_act_bounds_f32(hwt_act act, float *lo, float *hi);

/* One sample of a parameter-free layer. `from` is the add operand (NULL otherwise). */
void hwt_native_f32(const hwt_layer *l, const float *in, const float *from, float *out);
/* int8 version: in/from quantized with iq/fq; output quantized with l->oq (softmax: float output in outf). */
void hwt_native_q8(const hwt_layer *l, const int8_t *in, hwt_qparams iq, const int8_t *from, hwt_qparams fq,
                   int8_t *out, float *outf);

/* Quantization params of a layer's input / of layer i's output (i = -1: the model input). */
hwt_qparams hwt_model_out_q(const hwt_model *m, int i);

/* One sample of any fp32 layer through the reference loops. */
void hwt_reference_layer_f32(const hwt_layer *l, const float *in, const float *from, float *out);
/* The int8 classifier with float logits (see hwt_layer_float_logits), one sample. */
void hwt_fc_q8_float(const hwt_layer *l, const int8_t *in, hwt_qparams iq, float *out);
