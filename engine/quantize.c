/* SPDX-License-Identifier: Apache-2.0 */
/* Post-training quantization of a graph: activation ranges calibrated through the fp32 reference (99.99th
 * percentiles of the sampled values of every node's output), per-channel symmetric int8 weights, int32 biases,
 * affine per-tensor int8 activations on the node types with an int8 implementation; the others stay float with
 * calibrated params (the engine converts around them). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "hwt_common.h"

#define SAMPLE_CAP 65536

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *) a, y = *(const float *) b;
  return x < y ? -1 : x > y;
}

static hwt_qparams range_to_q(double lo, double hi) {
  if (lo > 0) lo = 0; /* the range must hold real 0 exactly (padding, relu) */
  if (hi < 0) hi = 0;
  if (hi - lo < 1e-6) hi = lo + 1e-6;
  hwt_qparams q;
  q.scale = (float) ((hi - lo) / 255.0);
  double zp = nearbyint(-128.0 - lo / q.scale);
  q.zero_point = (int32_t) (zp < -128 ? -128 : zp > 127 ? 127 : zp);
  return q;
}

/* Channel of weight k for a layer's weight layout. */
static size_t channel_of(const hwt_layer *l, size_t k, size_t per_channel) {
  return l->type == hwt_layer_dwconv ? k % l->in.c : k / per_channel;
}

static hwt_status quantize_params(hwt_layer *dst, const hwt_layer *src, float in_scale, char *err, size_t errlen) {
  size_t nw = hwt_layer_weight_count(src), nb = hwt_layer_bias_count(src);
  size_t per_channel = nw / nb;
  dst->wq = hwt_rt_alloc(nw);
  dst->bq = hwt_rt_alloc(nb * 4);
  dst->wscale = hwt_rt_alloc(nb * 4);
  if (dst->wq == NULL || dst->bq == NULL || dst->wscale == NULL) return hwt_status_out_of_memory;
  float *amax = calloc(nb, sizeof(float));
  if (amax == NULL) return hwt_status_out_of_memory;
  for (size_t k = 0; k < nw; k++) {
    size_t c = channel_of(src, k, per_channel);
    float a = fabsf(src->w[k]);
    if (a > amax[c]) amax[c] = a;
  }
  for (size_t c = 0; c < nb; c++) dst->wscale[c] = amax[c] > 0 ? amax[c] / 127.0f : 1e-8f;
  for (size_t k = 0; k < nw; k++) {
    float v = nearbyintf(src->w[k] / dst->wscale[channel_of(src, k, per_channel)]);
    dst->wq[k] = (int8_t) (v < -127 ? -127 : v > 127 ? 127 : v);
  }
  /* The int32 accumulator must not overflow for any input: |bias| + 256 * sum|w| <= INT32_MAX per channel (the
   * loader checks the same bound), so the bias is clamped to what the channel's weights leave. */
  int64_t *wsum = calloc(nb, sizeof(int64_t));
  if (wsum == NULL) {
    free(amax);
    return hwt_status_out_of_memory;
  }
  for (size_t k = 0; k < nw; k++) wsum[channel_of(src, k, per_channel)] += abs(dst->wq[k]);
  hwt_status st = hwt_status_ok;
  for (size_t c = 0; c < nb; c++) {
    double lim = 2147483647.0 - 256.0 * (double) wsum[c];
    if (lim < 0) {
      hwt_errf(err, errlen, "quantize: layer '%s': the int8 weights of channel %zu alone can overflow the int32 "
               "accumulator (sum |w| = %lld)", src->name, c, (long long) wsum[c]);
      st = hwt_status_invalid_argument;
      break;
    }
    double b = nearbyint((double) src->b[c] / ((double) in_scale * dst->wscale[c]));
    dst->bq[c] = (int32_t) (b < -lim ? -lim : b > lim ? lim : b);
  }
  free(wsum);
  free(amax);
  return st;
}

static bool is_graph_output(const hwt_model *m, int id) {
  for (size_t k = 0; k < m->noutputs; k++)
    if (m->outputs[k].value == id) return true;
  return false;
}

/* The classifier rule over the graph: an fc whose output is read only by graph outputs and by softmax nodes that
 * are graph outputs read by nothing else (the sequential "last fc, or fc before the final softmax"). */
static bool is_classifier(const hwt_model *m, size_t i) {
  if (m->layers[i].type != hwt_layer_fc) return false;
  bool any = is_graph_output(m, (int) i);
  for (size_t j = i + 1; j < m->nlayers; j++) {
    const hwt_layer *l = &m->layers[j];
    for (int k = 0; k < l->nin; k++) {
      if (l->inputs[k] != (int) i) continue;
      if (l->type != hwt_layer_softmax || !is_graph_output(m, (int) j)) return false;
      for (size_t r = j + 1; r < m->nlayers; r++)
        for (int t = 0; t < m->layers[r].nin; t++)
          if (m->layers[r].inputs[t] == (int) j) return false;
      any = true;
    }
  }
  return any;
}

/* Nodes whose int8 output keeps the input's parameters exactly (they only move, select or zero values). */
static bool keeps_input_q(hwt_layer_type t) {
  return t == hwt_layer_relu || t == hwt_layer_maxpool || t == hwt_layer_identity || t == hwt_layer_reshape;
}

static float *dup_floats(const float *src, size_t n) {
  if (src == NULL || n == 0) return NULL;
  float *d = hwt_rt_alloc(n * sizeof(float));
  if (d != NULL) memcpy(d, src, n * sizeof(float));
  return d;
}

hwt_status hwt_model_quantize(const hwt_model *fp, const float *calib, size_t ncal, hwt_model **out, char *err,
                              size_t errlen) {
  if (fp == NULL || fp->precision != hwt_prec_fp32 || ncal == 0 || calib == NULL || fp->nlayers == 0) {
    hwt_errf(err, errlen, "quantize: needs an fp32 model and at least one calibration input");
    return hwt_status_invalid_argument;
  }
  size_t nl = fp->nlayers, in_size = hwt_model_input_size(fp, 0);
  hwt_status st = hwt_status_out_of_memory;
  double *lo = calloc(nl + 1, sizeof(double)), *hi = calloc(nl + 1, sizeof(double));
  float **lout = calloc(nl, sizeof(float *));
  float *o = malloc((hwt_model_output_size(fp, 0) + 1) * sizeof(float));
  hwt_model *q = NULL;
  float **samp = calloc(nl, sizeof(float *));
  size_t *nsamp = calloc(nl, sizeof(size_t));
  if (lo == NULL || hi == NULL || lout == NULL || o == NULL || samp == NULL || nsamp == NULL) goto done;
  for (size_t i = 0; i < nl; i++)
    if ((samp[i] = malloc(SAMPLE_CAP * sizeof(float))) == NULL) goto done;
  for (size_t i = 0; i < nl; i++)
    if ((lout[i] = malloc(hwt_shape_size(fp->layers[i].out) * sizeof(float))) == NULL) goto done;

  /* Calibration: min/max of the input and of every layer output over the calibration set. */
  for (size_t s = 0; s < ncal; s++) {
    const float *x = calib + s * in_size;
    for (size_t k = 0; k < in_size; k++) {
      if (!isfinite(x[k])) continue;
      if (x[k] < lo[0]) lo[0] = x[k];
      if (x[k] > hi[0]) hi[0] = x[k];
    }
    st = hwt_model_reference(fp, 1, x, o, lout);
    if (st != hwt_status_ok) goto done;
    for (size_t i = 0; i < nl; i++) {
      size_t n = hwt_shape_size(fp->layers[i].out), per = SAMPLE_CAP / ncal, step = n / (per ? per : 1);
      if (step == 0) step = 1;
      for (size_t k = 0; k < n; k++) {
        float v = lout[i][k];
        if (!isfinite(v)) continue;
        if (v < lo[i + 1]) lo[i + 1] = v;
        if (v > hi[i + 1]) hi[i + 1] = v;
        if (k % step == 0 && nsamp[i] < SAMPLE_CAP) samp[i][nsamp[i]++] = v;
      }
    }
  }
  /* Ranges: the PCT-th percentiles of the sampled values (clipping rare outliers gives every other value a
   * finer step), never wider than min/max. */
  const double pct = 99.99;
  for (size_t i = 0; i < nl && pct < 100.0; i++) {
    if (nsamp[i] < 100) continue;
    qsort(samp[i], nsamp[i], sizeof(float), cmp_float);
    size_t a = (size_t) ((100.0 - pct) / 100.0 * (double) (nsamp[i] - 1)), b = nsamp[i] - 1 - a;
    if (samp[i][a] > lo[i + 1]) lo[i + 1] = samp[i][a];
    if (samp[i][b] < hi[i + 1]) hi[i + 1] = samp[i][b];
  }
  st = hwt_status_out_of_memory;
  q = hwt_rt_calloc(1, sizeof(*q));
  if (q == NULL) goto done;
  *q = *fp;
  q->layers = hwt_rt_calloc(nl, sizeof(hwt_layer));
  if (q->layers == NULL) {
    hwt_rt_free(q);
    q = NULL;
    goto done;
  }
  q->precision = hwt_prec_int8;
  q->iq = range_to_q(lo[0], hi[0]);
  if (q->ninputs == 0) q->ninputs = 1; /* finalized models name their inputs; this only guards the copy below */
  q->inputs[0].q8 = true;
  q->inputs[0].q = q->iq;
  q->inputs[0].shape = fp->input;
  for (size_t i = 0; i < nl; i++) {
    const hwt_layer *src = &fp->layers[i];
    hwt_layer *dst = &q->layers[i];
    *dst = *src;
    dst->w = dst->b = dst->wscale = NULL;
    dst->wq = NULL;
    dst->bq = NULL;
    if (src->type == hwt_layer_quantize) continue; /* keeps its own parameters */
    dst->oq = range_to_q(lo[i + 1], hi[i + 1]);
    /* order-preserving: keep the input's params (q's values before i are final) */
    if (keeps_input_q(src->type)) dst->oq = hwt_model_value_q(q, src->inputs[0]);
    dst->q8 = hwt_layer_type_q8_capable(src->type) && !is_classifier(fp, i);
    bool weighted = src->type == hwt_layer_fc || src->type == hwt_layer_conv || src->type == hwt_layer_dwconv;
    if (weighted && src->w != NULL) {
      /* the engine feeds the node its input quantized with the producer's params (int8 or calibrated float) */
      st = quantize_params(dst, src, hwt_model_value_q(q, src->inputs[0]).scale, err, errlen);
      if (st != hwt_status_ok) goto done;
    } else if (src->w != NULL || src->b != NULL) { /* affine, constant operands: stay float */
      size_t nw = hwt_layer_weight_count(src), nb = hwt_layer_bias_count(src);
      dst->w = dup_floats(src->w, nw);
      dst->b = dup_floats(src->b, nb);
      if ((src->w != NULL && nw && dst->w == NULL) || (src->b != NULL && nb && dst->b == NULL)) goto done;
    }
  }
  st = hwt_model_finalize(q, "quantize", err, errlen);
  if (st != hwt_status_ok) goto done;
  *out = q;
  q = NULL;
done:
  if (st == hwt_status_out_of_memory) hwt_errf(err, errlen, "quantize: out of memory");
  hwt_model_free(q);
  if (lout != NULL)
    for (size_t i = 0; i < nl; i++) free(lout[i]);
  free(lout);
  if (samp != NULL)
    for (size_t i = 0; i < nl; i++) free(samp[i]);
  free(samp);
  free(nsamp);
  free(lo);
  free(hi);
  free(o);
  return st;
}
