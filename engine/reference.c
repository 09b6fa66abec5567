/* SPDX-License-Identifier: Apache-2.0 */
/* Reference implementation: straightforward loops (double accumulation for fp32, exact integer arithmetic for
 * int8) that the engine's output is checked against, plus the native layers the engine shares. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

void hwt_act_bounds_f32(hwt_act act, float *lo, float *hi) {
  *lo = act == hwt_act_none ? -INFINITY : 0.0f;
  *hi = act == hwt_act_relu6 ? 6.0f : INFINITY;
}

void hwt_act_bounds_q8(hwt_act act, hwt_qparams q, int8_t *lo, int8_t *hi) {
  int l = -128, h = 127;
  if (act != hwt_act_none && q.zero_point > l) l = q.zero_point;
  if (act == hwt_act_relu6) {
    float t = nearbyintf(6.0f / q.scale) + (float) q.zero_point;
    if (t < (float) h) h = (int) t;
  }
  if (h < l) h = l;
  *lo = (int8_t) l;
  *hi = (int8_t) h;
}

hwt_qparams hwt_model_out_q(const hwt_model *m, int i) { return i < 0 ? m->iq : m->layers[i].oq; }

bool hwt_layer_float_logits(const hwt_model *m, size_t i) {
  if (m->precision != hwt_prec_int8 || m->layers[i].type != hwt_layer_fc) return false;
  return i + 1 == m->nlayers || (i + 2 == m->nlayers && m->layers[i + 1].type == hwt_layer_softmax);
}

void hwt_fc_q8_float(const hwt_layer *l, const int8_t *in, hwt_qparams iq, float *out) {
  size_t k = hwt_shape_size(l->in);
  float lo, hi;
  hwt_act_bounds_f32(l->act, &lo, &hi);
  for (uint32_t n = 0; n < l->outputs; n++) {
    const int8_t *w = l->wq + (size_t) n * k;
    int32_t acc = l->bq[n];
    for (size_t i = 0; i < k; i++) acc += (in[i] - iq.zero_point) * w[i];
    float r = (float) acc * (iq.scale * l->wscale[n]);
    out[n] = r < lo ? lo : r > hi ? hi : r;
  }
}

/* ---- parameter-free layers, one sample ---- */

static void pool_f32(const hwt_layer *l, const float *in, float *out, bool max) {
  hwt_shape is = l->in, os = l->out;
  for (uint32_t oy = 0; oy < os.h; oy++)
    for (uint32_t ox = 0; ox < os.w; ox++)
      for (uint32_t c = 0; c < os.c; c++) {
        double acc = max ? -INFINITY : 0;
        int taps = 0;
        bool nan = false;
        for (uint32_t ky = 0; ky < l->kh; ky++)
          for (uint32_t kx = 0; kx < l->kw; kx++) {
            long iy = (long) (oy * l->sh + ky) - l->pad_t, ix = (long) (ox * l->sw + kx) - l->pad_l;
            if (iy < 0 || ix < 0 || iy >= is.h || ix >= is.w) continue;
            float v = in[((size_t) iy * is.w + ix) * is.c + c];
            if (isnan(v)) nan = true;
            if (max)
              acc = v > acc ? v : acc;
            else
              acc += v;
            taps++;
          }
        float r = max ? (float) acc : (float) (acc / (taps ? taps : 1));
        out[((size_t) oy * os.w + ox) * os.c + c] = nan ? NAN : r;
      }
}

void hwt_native_f32(const hwt_layer *l, const float *in, const float *from, float *out) {
  size_t n = hwt_shape_size(l->out);
  switch (l->type) {
    case hwt_layer_relu:
      for (size_t i = 0; i < n; i++) out[i] = isnan(in[i]) ? in[i] : in[i] > 0 ? in[i] : 0.0f;
      break;
    case hwt_layer_relu6:
      for (size_t i = 0; i < n; i++) out[i] = isnan(in[i]) ? in[i] : in[i] < 0 ? 0.0f : in[i] > 6 ? 6.0f : in[i];
      break;
    case hwt_layer_maxpool: pool_f32(l, in, out, true); break;
    case hwt_layer_avgpool: pool_f32(l, in, out, false); break;
    case hwt_layer_gavgpool: {
      size_t hw = (size_t) l->in.h * l->in.w;
      for (uint32_t c = 0; c < l->in.c; c++) {
        double acc = 0;
        for (size_t p = 0; p < hw; p++) acc += in[p * l->in.c + c];
        out[c] = (float) (acc / (double) hw);
      }
      break;
    }
    case hwt_layer_softmax: {
      float mx = -INFINITY;
      bool nan = false;
      for (size_t i = 0; i < n; i++) {
        if (isnan(in[i])) nan = true;
        if (in[i] > mx) mx = in[i];
      }
      if (nan || isinf(mx)) {
        /* Undefined input: NaN out (the caller flags it) rather than a silent guess. +Inf alone -> one-hot. */
        for (size_t i = 0; i < n; i++) out[i] = nan || mx < 0 ? NAN : (isinf(in[i]) ? 1.0f : 0.0f);
        break;
      }
      double sum = 0;
      for (size_t i = 0; i < n; i++) sum += exp((double) in[i] - mx);
      for (size_t i = 0; i < n; i++) out[i] = (float) (exp((double) in[i] - mx) / sum);
      break;
    }
    case hwt_layer_add:
      for (size_t i = 0; i < n; i++) out[i] = in[i] + from[i];
      break;
    default: break;
  }
}

void hwt_native_q8(const hwt_layer *l, const int8_t *in, hwt_qparams iq, const int8_t *from, hwt_qparams fq,
                   int8_t *out, float *outf) {
  size_t n = hwt_shape_size(l->out);
  hwt_qparams oq = l->oq;
  switch (l->type) {
    case hwt_layer_relu:
    case hwt_layer_relu6: {
      int8_t lo, hi;
      hwt_act_bounds_q8(l->type == hwt_layer_relu ? hwt_act_relu : hwt_act_relu6, oq, &lo, &hi);
      for (size_t i = 0; i < n; i++) out[i] = hwt_q8(hwt_dq8(in[i], iq), oq, lo, hi);
      break;
    }
    case hwt_layer_maxpool:
    case hwt_layer_avgpool: {
      bool max = l->type == hwt_layer_maxpool;
      hwt_shape is = l->in, os = l->out;
      for (uint32_t oy = 0; oy < os.h; oy++)
        for (uint32_t ox = 0; ox < os.w; ox++)
          for (uint32_t c = 0; c < os.c; c++) {
            int32_t acc = max ? -128 : 0;
            int taps = 0;
            for (uint32_t ky = 0; ky < l->kh; ky++)
              for (uint32_t kx = 0; kx < l->kw; kx++) {
                long iy = (long) (oy * l->sh + ky) - l->pad_t, ix = (long) (ox * l->sw + kx) - l->pad_l;
                if (iy < 0 || ix < 0 || iy >= is.h || ix >= is.w) continue;
                int32_t v = in[((size_t) iy * is.w + ix) * is.c + c];
                acc = max ? (v > acc ? v : acc) : acc + v;
                taps++;
              }
            float real = max ? hwt_dq8((int8_t) acc, iq)
                             : iq.scale * ((float) acc / (float) (taps ? taps : 1) - (float) iq.zero_point);
            out[((size_t) oy * os.w + ox) * os.c + c] = hwt_q8(real, oq, -128, 127);
          }
      break;
    }
    case hwt_layer_gavgpool: {
      size_t hw = (size_t) l->in.h * l->in.w;
      for (uint32_t c = 0; c < l->in.c; c++) {
        int64_t acc = 0;
        for (size_t p = 0; p < hw; p++) acc += in[p * l->in.c + c];
        float real = iq.scale * ((float) ((double) acc / (double) hw) - (float) iq.zero_point);
        out[c] = hwt_q8(real, oq, -128, 127);
      }
      break;
    }
    case hwt_layer_softmax: {
      int32_t mx = -128;
      for (size_t i = 0; i < n; i++)
        if (in[i] > mx) mx = in[i];
      double sum = 0;
      for (size_t i = 0; i < n; i++) sum += exp((double) iq.scale * (in[i] - mx));
      for (size_t i = 0; i < n; i++) outf[i] = (float) (exp((double) iq.scale * (in[i] - mx)) / sum);
      break;
    }
    case hwt_layer_add:
      for (size_t i = 0; i < n; i++) out[i] = hwt_q8(hwt_dq8(in[i], iq) + hwt_dq8(from[i], fq), oq, -128, 127);
      break;
    default: break;
  }
}

/* ---- layers with parameters, one sample ---- */

static void conv_f32(const hwt_layer *l, const float *in, float *out) {
  hwt_shape is = l->in, os = l->out;
  bool dw = l->type == hwt_layer_dwconv;
  float lo, hi;
  hwt_act_bounds_f32(l->act, &lo, &hi);
  for (uint32_t oy = 0; oy < os.h; oy++)
    for (uint32_t ox = 0; ox < os.w; ox++)
      for (uint32_t oc = 0; oc < os.c; oc++) {
        double acc = l->b[oc];
        for (uint32_t ky = 0; ky < l->kh; ky++)
          for (uint32_t kx = 0; kx < l->kw; kx++) {
            long iy = (long) (oy * l->sh + ky) - l->pad_t, ix = (long) (ox * l->sw + kx) - l->pad_l;
            if (iy < 0 || ix < 0 || iy >= is.h || ix >= is.w) continue;
            const float *x = in + ((size_t) iy * is.w + ix) * is.c;
            if (dw) {
              acc += (double) x[oc] * l->w[((size_t) ky * l->kw + kx) * os.c + oc];
            } else {
              const float *w = l->w + (((size_t) oc * l->kh + ky) * l->kw + kx) * is.c;
              for (uint32_t ic = 0; ic < is.c; ic++) acc += (double) x[ic] * w[ic];
            }
          }
        float r = (float) acc;
        out[((size_t) oy * os.w + ox) * os.c + oc] = isnan(r) ? r : r < lo ? lo : r > hi ? hi : r;
      }
}

static void fc_f32(const hwt_layer *l, const float *in, float *out) {
  size_t k = hwt_shape_size(l->in);
  float lo, hi;
  hwt_act_bounds_f32(l->act, &lo, &hi);
  for (uint32_t n = 0; n < l->outputs; n++) {
    double acc = l->b[n];
    for (size_t i = 0; i < k; i++) acc += (double) in[i] * l->w[(size_t) n * k + i];
    float r = (float) acc;
    out[n] = isnan(r) ? r : r < lo ? lo : r > hi ? hi : r;
  }
}

static int8_t requant(int32_t acc, float iscale, float wscale, hwt_qparams oq, int8_t lo, int8_t hi) {
  float scale = iscale * wscale / oq.scale, r = (float) acc * scale;
  /* Extreme (valid) scales can make the product inf, and then 0 x inf is NaN: the real value is 0, the zero
   * point (a NaN converted to int8 would be undefined behaviour). */
  if (isnan(r)) r = 0;
  float v = nearbyintf(r) + (float) oq.zero_point;
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  return (int8_t) v;
}

static void conv_q8(const hwt_layer *l, const int8_t *in, hwt_qparams iq, int8_t *out) {
  hwt_shape is = l->in, os = l->out;
  bool dw = l->type == hwt_layer_dwconv;
  int8_t lo, hi;
  hwt_act_bounds_q8(l->act, l->oq, &lo, &hi);
  for (uint32_t oy = 0; oy < os.h; oy++)
    for (uint32_t ox = 0; ox < os.w; ox++)
      for (uint32_t oc = 0; oc < os.c; oc++) {
        int32_t acc = l->bq[oc];
        for (uint32_t ky = 0; ky < l->kh; ky++)
          for (uint32_t kx = 0; kx < l->kw; kx++) {
            long iy = (long) (oy * l->sh + ky) - l->pad_t, ix = (long) (ox * l->sw + kx) - l->pad_l;
            if (iy < 0 || ix < 0 || iy >= is.h || ix >= is.w) continue; /* padding = the zero point */
            const int8_t *x = in + ((size_t) iy * is.w + ix) * is.c;
            if (dw) {
              acc += (x[oc] - iq.zero_point) * l->wq[((size_t) ky * l->kw + kx) * os.c + oc];
            } else {
              const int8_t *w = l->wq + (((size_t) oc * l->kh + ky) * l->kw + kx) * is.c;
              for (uint32_t ic = 0; ic < is.c; ic++) acc += (x[ic] - iq.zero_point) * w[ic];
            }
          }
        out[((size_t) oy * os.w + ox) * os.c + oc] = requant(acc, iq.scale, l->wscale[oc], l->oq, lo, hi);
      }
}

static void fc_q8(const hwt_layer *l, const int8_t *in, hwt_qparams iq, int8_t *out) {
  size_t k = hwt_shape_size(l->in);
  int8_t lo, hi;
  hwt_act_bounds_q8(l->act, l->oq, &lo, &hi);
  for (uint32_t n = 0; n < l->outputs; n++) {
    int32_t acc = l->bq[n];
    for (size_t i = 0; i < k; i++) acc += (in[i] - iq.zero_point) * l->wq[(size_t) n * k + i];
    out[n] = requant(acc, iq.scale, l->wscale[n], l->oq, lo, hi);
  }
}

void hwt_reference_layer_f32(const hwt_layer *l, const float *in, const float *from, float *out) {
  if (l->type == hwt_layer_fc)
    fc_f32(l, in, out);
  else if (l->type == hwt_layer_conv || l->type == hwt_layer_dwconv)
    conv_f32(l, in, out);
  else
    hwt_native_f32(l, in, from, out);
}

hwt_status hwt_model_reference(const hwt_model *m, size_t batch, const float *in, float *out, float **layer_out) {
  size_t nl = m->nlayers, in_size = hwt_shape_size(m->input), out_size = hwt_shape_size(m->layers[nl - 1].out);
  bool q = m->precision == hwt_prec_int8;
  size_t es = q ? 1 : 4;
  void **act = calloc(nl + 1, sizeof(void *));
  if (act == NULL) return hwt_status_out_of_memory;
  hwt_status st = hwt_status_out_of_memory;
  act[0] = malloc(in_size * es);
  for (size_t i = 0; i < nl; i++) act[i + 1] = malloc(hwt_shape_size(m->layers[i].out) * 4);
  for (size_t i = 0; i <= nl; i++)
    if (act[i] == NULL) goto done;
  for (size_t s = 0; s < batch; s++) {
    const float *x = in + s * in_size;
    if (q) {
      for (size_t i = 0; i < in_size; i++) ((int8_t *) act[0])[i] = hwt_q8(x[i], m->iq, -128, 127);
    } else {
      memcpy(act[0], x, in_size * 4);
    }
    float *last_f = NULL;
    for (size_t i = 0; i < nl; i++) {
      const hwt_layer *l = &m->layers[i];
      void *src = act[i], *dst = act[i + 1];
      const void *from = l->type == hwt_layer_add ? act[l->from + 1] : NULL;
      if (!q) {
        if (l->type == hwt_layer_fc)
          fc_f32(l, src, dst);
        else if (l->type == hwt_layer_conv || l->type == hwt_layer_dwconv)
          conv_f32(l, src, dst);
        else
          hwt_native_f32(l, src, from, dst);
      } else {
        hwt_qparams iq = hwt_model_out_q(m, (int) i - 1);
        if (hwt_layer_float_logits(m, i))
          hwt_fc_q8_float(l, src, iq, dst);
        else if (l->type == hwt_layer_softmax && i > 0 && hwt_layer_float_logits(m, i - 1))
          hwt_native_f32(l, src, NULL, dst);
        else if (l->type == hwt_layer_fc)
          fc_q8(l, src, iq, dst);
        else if (l->type == hwt_layer_conv || l->type == hwt_layer_dwconv)
          conv_q8(l, src, iq, dst);
        else
          hwt_native_q8(l, src, iq, from, l->type == hwt_layer_add ? hwt_model_out_q(m, l->from) : iq, dst, dst);
      }
      if (layer_out != NULL && s == 0) {
        size_t n = hwt_shape_size(l->out);
        if (!q || l->type == hwt_layer_softmax || hwt_layer_float_logits(m, i))
          memcpy(layer_out[i], dst, n * 4);
        else
          for (size_t k = 0; k < n; k++) layer_out[i][k] = hwt_dq8(((int8_t *) dst)[k], l->oq);
      }
      last_f = dst;
    }
    const hwt_layer *last = &m->layers[nl - 1];
    float *o = out + s * out_size;
    if (!q || last->type == hwt_layer_softmax || hwt_layer_float_logits(m, nl - 1))
      memcpy(o, last_f, out_size * 4);
    else
      for (size_t k = 0; k < out_size; k++) o[k] = hwt_dq8(((int8_t *) last_f)[k], last->oq);
  }
  st = hwt_status_ok;
done:
  for (size_t i = 0; i <= nl; i++) free(act[i]);
  free(act);
  return st;
}
