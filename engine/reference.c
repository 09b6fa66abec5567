/* SPDX-License-Identifier: Apache-2.0 */
/* Reference implementation: straightforward loops (double accumulation for float nodes, exact integer
 * arithmetic for int8 nodes) that the engine's output is checked against. It shares no loop with the engine's
 * ops.c: only the element-type rules (engine_internal.h) and the int8 rounding (hwt_q8). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

void hwt_act_bounds_f32(hwt_act act, float *lo, float *hi) {
  *lo = act == hwt_act_none ? -INFINITY : 0.0f;
  *hi = act == hwt_act_relu6 ? 6.0f : INFINITY;
}

void hwt_layer_act_bounds_f32(const hwt_layer *l, float *lo, float *hi) {
  if (l->act == hwt_act_clip) {
    *lo = l->act_lo;
    *hi = l->act_hi;
  } else {
    hwt_act_bounds_f32(l->act, lo, hi);
  }
}

static void bounds_q8(float flo, float fhi, bool has_lo, hwt_qparams q, int8_t *lo, int8_t *hi) {
  int l = -128, h = 127;
  if (has_lo) {
    float t = flo == 0 ? (float) q.zero_point : nearbyintf(flo / q.scale) + (float) q.zero_point;
    if (t > (float) l) l = t > 127.0f ? 127 : (int) t;
  }
  if (isfinite(fhi)) {
    float t = nearbyintf(fhi / q.scale) + (float) q.zero_point;
    if (t < (float) h) h = t < -128.0f ? -128 : (int) t;
  }
  if (h < l) h = l;
  *lo = (int8_t) l;
  *hi = (int8_t) h;
}

void hwt_act_bounds_q8(hwt_act act, hwt_qparams q, int8_t *lo, int8_t *hi) {
  bounds_q8(0.0f, act == hwt_act_relu6 ? 6.0f : INFINITY, act != hwt_act_none, q, lo, hi);
}

void hwt_layer_act_bounds_q8(const hwt_layer *l, hwt_qparams q, int8_t *lo, int8_t *hi) {
  if (l->act == hwt_act_clip)
    bounds_q8(l->act_lo, l->act_hi, isfinite(l->act_lo), q, lo, hi);
  else
    hwt_act_bounds_q8(l->act, q, lo, hi);
}

hwt_qparams hwt_model_out_q(const hwt_model *m, int i) {
  if (i >= 0) return m->layers[i].oq;
  return m->ninputs > (size_t) (-1 - i) ? m->inputs[-1 - i].q : m->iq;
}

bool hwt_layer_float_logits(const hwt_model *m, size_t i) {
  const hwt_layer *l = &m->layers[i];
  return l->type == hwt_layer_fc && l->wq != NULL && !l->q8;
}

/* ---- values of the graph ---- */

static hwt_shape vshape(const hwt_model *m, int id) { return hwt_model_value_shape(m, id); }
static uint8_t vrank(const hwt_model *m, int id) { return hwt_model_value_rank(m, id); }
static bool vq8(const hwt_model *m, int id) { return hwt_model_value_q8(m, id); }

/* Logical (channels-first) position j -> internal position, by coordinates (independent of the engine's). */
static size_t ref_internal(hwt_shape s, uint8_t rank, size_t j) {
  if (rank == 4 || rank == 3) {
    size_t x = j % s.w, y = (j / s.w) % s.h, c = j / ((size_t) s.w * s.h);
    return ((size_t) y * s.w + x) * s.c + c;
  }
  return j;
}

static inline float clamp_keep_nan(double v, float lo, float hi) {
  float r = (float) v;
  return isnan(r) ? r : r < lo ? lo : r > hi ? hi : r;
}

/* ---- float nodes, one sample ---- */

static void conv_f32(const hwt_layer *l, const float *in, hwt_shape is, float *out) {
  hwt_shape os = l->out;
  bool dw = l->type == hwt_layer_dwconv;
  uint32_t g = dw ? os.c : (l->groups ? l->groups : 1), cig = dw ? 1 : is.c / g, cog = os.c / g;
  uint32_t dh = l->dh ? l->dh : 1, dwd = l->dw ? l->dw : 1;
  float lo, hi;
  hwt_layer_act_bounds_f32(l, &lo, &hi);
  for (uint32_t oy = 0; oy < os.h; oy++)
    for (uint32_t ox = 0; ox < os.w; ox++)
      for (uint32_t oc = 0; oc < os.c; oc++) {
        double acc = l->b != NULL ? l->b[oc] : 0.0;
        uint32_t grp = oc / cog;
        for (uint32_t ky = 0; ky < l->kh; ky++)
          for (uint32_t kx = 0; kx < l->kw; kx++) {
            long iy = (long) oy * l->sh + (long) ky * dh - l->pad_t, ix = (long) ox * l->sw + (long) kx * dwd - l->pad_l;
            if (iy < 0 || ix < 0 || iy >= is.h || ix >= is.w) continue;
            const float *x = in + ((size_t) iy * is.w + ix) * is.c;
            if (dw) {
              acc += (double) x[oc] * l->w[((size_t) ky * l->kw + kx) * os.c + oc];
            } else {
              const float *w = l->w + (((size_t) oc * l->kh + ky) * l->kw + kx) * cig;
              for (uint32_t ic = 0; ic < cig; ic++) acc += (double) x[grp * cig + ic] * w[ic];
            }
          }
        out[((size_t) oy * os.w + ox) * os.c + oc] = clamp_keep_nan(acc, lo, hi);
      }
}

static void fc_f32(const hwt_layer *l, const float *in, hwt_shape is, float *out) {
  size_t k = hwt_shape_size(is);
  float lo, hi;
  hwt_layer_act_bounds_f32(l, &lo, &hi);
  for (uint32_t n = 0; n < l->outputs; n++) {
    double acc = l->b != NULL ? l->b[n] : 0.0;
    for (size_t i = 0; i < k; i++) acc += (double) in[i] * l->w[(size_t) n * k + i];
    out[n] = clamp_keep_nan(acc, lo, hi);
  }
}

/* Taps of a pooling window at (oy, ox): valid ones and, for count_include_pad, those inside the padded input. */
static void pool_ref(const hwt_layer *l, const float *in, hwt_shape is, float *out) {
  bool max = l->type == hwt_layer_maxpool;
  hwt_shape os = l->out;
  for (uint32_t oy = 0; oy < os.h; oy++)
    for (uint32_t ox = 0; ox < os.w; ox++)
      for (uint32_t c = 0; c < os.c; c++) {
        double acc = max ? -INFINITY : 0;
        long taps = 0, padded = 0;
        bool nan = false;
        for (uint32_t ky = 0; ky < l->kh; ky++)
          for (uint32_t kx = 0; kx < l->kw; kx++) {
            long iy = (long) oy * l->sh + ky - l->pad_t, ix = (long) ox * l->sw + kx - l->pad_l;
            if (iy < (long) is.h + l->pad_b && ix < (long) is.w + l->pad_r) padded++;
            if (iy < 0 || ix < 0 || iy >= is.h || ix >= is.w) continue;
            float v = in[((size_t) iy * is.w + ix) * is.c + c];
            if (isnan(v)) nan = true;
            acc = max ? (v > acc ? v : acc) : acc + v;
            taps++;
          }
        long div = l->count_include_pad ? padded : taps;
        float r = max ? (float) acc : (float) (div ? acc / (double) div : 0.0);
        out[((size_t) oy * os.w + ox) * os.c + c] = nan ? NAN : r;
      }
}

/* Softmax: groups are the elements that share the coordinates of the dims not in `axes`. */
static void softmax_ref(const hwt_layer *l, const float *in, float *out) {
  bool lg = l->type == hwt_layer_log_softmax;
  hwt_shape s = l->out;
  uint8_t ax = l->axes ? l->axes : HWT_AXIS_C;
  uint32_t dims[3] = {s.h, s.w, s.c};
  uint32_t span[3];
  for (int d = 0; d < 3; d++) span[d] = (ax & (1u << d)) ? 1 : dims[d];
  for (uint32_t y0 = 0; y0 < span[0]; y0++)
    for (uint32_t x0 = 0; x0 < span[1]; x0++)
      for (uint32_t c0 = 0; c0 < span[2]; c0++) {
        uint32_t ylo = ax & HWT_AXIS_H ? 0 : y0, yhi = ax & HWT_AXIS_H ? s.h : y0 + 1;
        uint32_t xlo = ax & HWT_AXIS_W ? 0 : x0, xhi = ax & HWT_AXIS_W ? s.w : x0 + 1;
        uint32_t clo = ax & HWT_AXIS_C ? 0 : c0, chi = ax & HWT_AXIS_C ? s.c : c0 + 1;
#define EACH                                 \
  for (uint32_t y = ylo; y < yhi; y++)       \
    for (uint32_t x = xlo; x < xhi; x++)     \
      for (uint32_t c = clo; c < chi; c++)
#define AT(p) p[((size_t) y * s.w + x) * s.c + c]
        double mx = -INFINITY;
        bool nan = false;
        EACH {
          if (isnan(AT(in))) nan = true;
          if (AT(in) > mx) mx = AT(in);
        }
        if (nan || isinf(mx)) {
          if (lg)
            EACH AT(out) = nan || mx < 0 ? NAN : (isinf(AT(in)) ? 0.0f : -INFINITY);
          else
            EACH AT(out) = nan || mx < 0 ? NAN : (isinf(AT(in)) ? 1.0f : 0.0f);
          continue;
        }
        double sum = 0;
        EACH sum += exp((double) AT(in) - mx);
        if (lg) /* log(e^(x - mx) / sum) */
          EACH AT(out) = (float) ((double) AT(in) - mx - log(sum));
        else
          EACH AT(out) = (float) (exp((double) AT(in) - mx) / sum);
#undef AT
#undef EACH
      }
}

/* A unary function in double. */
static double unary_ref(const hwt_layer *l, double v) {
  double a = l->alpha, g = l->beta;
  switch (l->fn) {
    case hwt_unary_neg: return -v;
    case hwt_unary_abs: return fabs(v);
    case hwt_unary_exp: return exp(v);
    case hwt_unary_log: return log(v);
    case hwt_unary_sqrt: return sqrt(v);
    case hwt_unary_reciprocal: return 1.0 / v;
    case hwt_unary_floor: return floor(v);
    case hwt_unary_ceil: return ceil(v);
    case hwt_unary_elu: return v > 0 ? v : a * (exp(v) - 1.0);
    case hwt_unary_selu: return v > 0 ? g * v : g * (a * exp(v) - a);
    case hwt_unary_softplus: return v > 30 ? v + exp(-v) : log1p(exp(v)); /* no overflow of exp(v) */
    case hwt_unary_softsign: return isinf(v) ? copysign(1.0, v) : v / (1.0 + fabs(v));
    case hwt_unary_erf: return erf(v);
    case hwt_unary_pow: return pow(v, a);
    default: return NAN;
  }
}

/* Logical dims after the batch of a value of shape s and rank r (4: [C, H, W], 3: [C, L], 2: [K]); returns r - 1. */
static unsigned logical_dims(hwt_shape s, uint8_t r, size_t *d) {
  d[0] = s.c, d[1] = r == 4 ? s.h : s.w, d[2] = s.w;
  return r > 1 ? r - 1u : 1u;
}

/* Transpose: each output element in the logical order, its logical coordinates mapped back through perm. */
static void transpose_ref(const hwt_layer *l, const float *in, hwt_shape is, float *out) {
  size_t od[3], idim[3], n = hwt_shape_size(l->out);
  unsigned k = logical_dims(l->out, l->rank, od);
  logical_dims(is, l->rank, idim);
  for (size_t j = 0; j < n; j++) {
    size_t oc[3] = {0, 0, 0}, ic[3] = {0, 0, 0}, rem = j;
    for (unsigned d = k; d-- > 0;) oc[d] = rem % od[d], rem /= od[d];
    for (unsigned d = 0; d < k; d++) ic[l->perm[d + 1] - 1] = oc[d];
    size_t ij = 0;
    for (unsigned d = 0; d < k; d++) ij = ij * idim[d] + ic[d];
    out[ref_internal(l->out, l->rank, j)] = in[ref_internal(is, l->rank, ij)];
  }
}

/* The second operand of a binary node at output (y, x, c). */
static double operand_at(const hwt_layer *l, const float *b, hwt_shape bs, uint32_t y, uint32_t x, uint32_t c) {
  uint32_t by = bs.h == 1 ? 0 : y, bx = bs.w == 1 ? 0 : x, bc = bs.c == 1 ? 0 : c;
  (void) l;
  return b[((size_t) by * bs.w + bx) * bs.c + bc];
}

static void node_f32(const hwt_layer *l, const float *const *in, const hwt_shape *ish, const uint8_t *irank,
                     float *out) {
  hwt_shape os = l->out;
  size_t n = hwt_shape_size(os);
  const float *x = in[0];
  switch (l->type) {
    case hwt_layer_fc: fc_f32(l, x, ish[0], out); return;
    case hwt_layer_conv:
    case hwt_layer_dwconv: conv_f32(l, x, ish[0], out); return;
    case hwt_layer_maxpool:
    case hwt_layer_avgpool: pool_ref(l, x, ish[0], out); return;
    case hwt_layer_softmax:
    case hwt_layer_log_softmax: softmax_ref(l, x, out); return;
    case hwt_layer_gavgpool:
      for (uint32_t c = 0; c < os.c; c++) {
        double acc = 0;
        for (uint32_t y = 0; y < ish[0].h; y++)
          for (uint32_t xx = 0; xx < ish[0].w; xx++) acc += x[((size_t) y * ish[0].w + xx) * ish[0].c + c];
        out[c] = (float) (acc / ((double) ish[0].h * ish[0].w));
      }
      return;
    case hwt_layer_add:
    case hwt_layer_sub:
    case hwt_layer_mul:
    case hwt_layer_div:
    case hwt_layer_max:
    case hwt_layer_min:
    case hwt_layer_prelu: {
      const float *b = l->nin >= 2 ? in[1] : l->w;
      hwt_shape bs = l->nin >= 2 ? ish[1] : l->wshape;
      bool swap = l->nin == 1 && l->const_first;
      for (uint32_t y = 0; y < os.h; y++)
        for (uint32_t xx = 0; xx < os.w; xx++)
          for (uint32_t c = 0; c < os.c; c++) {
            size_t i = ((size_t) y * os.w + xx) * os.c + c;
            double p = x[i], q = operand_at(l, b, bs, y, xx, c), r;
            if (swap) {
              double t = p;
              p = q;
              q = t;
            }
            switch (l->type) {
              case hwt_layer_add: r = p + q; break;
              case hwt_layer_sub: r = p - q; break;
              case hwt_layer_mul: r = p * q; break;
              case hwt_layer_max: r = isnan(p) || isnan(q) ? NAN : fmax(p, q); break;
              case hwt_layer_min: r = isnan(p) || isnan(q) ? NAN : fmin(p, q); break;
              case hwt_layer_prelu: r = p < 0 ? q * p : p; break;
              default: r = p / q; break;
            }
            out[i] = (float) r;
          }
      return;
    }
    case hwt_layer_concat: {
      uint32_t off = 0;
      for (int j = 0; j < l->nin; j++) {
        for (uint32_t y = 0; y < os.h; y++)
          for (uint32_t xx = 0; xx < os.w; xx++)
            for (uint32_t c = 0; c < ish[j].c; c++)
              out[((size_t) y * os.w + xx) * os.c + off + c] = in[j][((size_t) y * os.w + xx) * ish[j].c + c];
        off += ish[j].c;
      }
      return;
    }
    case hwt_layer_reshape:
      for (size_t j = 0; j < n; j++) out[ref_internal(os, l->rank, j)] = x[ref_internal(ish[0], irank[0], j)];
      return;
    case hwt_layer_transpose: transpose_ref(l, x, ish[0], out); return;
    default: break;
  }
  for (size_t i = 0; i < n; i++) {
    double v = x[i], r = v;
    switch (l->type) {
      case hwt_layer_relu: r = v > 0 || isnan(v) ? v : 0.0; break;
      case hwt_layer_relu6: r = isnan(v) ? v : v < 0 ? 0.0 : v > 6 ? 6.0 : v; break;
      case hwt_layer_clip: r = isnan(v) ? v : v < l->alpha ? l->alpha : v > l->beta ? l->beta : v; break;
      case hwt_layer_leaky_relu: r = v >= 0 ? v : (double) l->alpha * v; break;
      case hwt_layer_sigmoid: r = 1.0 / (1.0 + exp(-v)); break;
      case hwt_layer_hard_sigmoid: r = fmax(0.0, fmin(1.0, (double) l->alpha * v + l->beta)); break;
      case hwt_layer_hard_swish: r = v * fmax(0.0, fmin(1.0, v / 6.0 + 0.5)); break;
      case hwt_layer_tanh: r = tanh(v); break;
      case hwt_layer_unary: r = unary_ref(l, v); break;
      case hwt_layer_affine: r = v * l->w[i % os.c] + l->b[i % os.c]; break;
      default: break; /* identity */
    }
    out[i] = (float) r;
  }
}

/* ---- int8 nodes, one sample ---- */

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

/* fc / conv / dwconv with int8 weights: int8 output (q8) or float (the classifier: acc x scales, clamped). */
static void weights_q8(const hwt_layer *l, const int8_t *in, hwt_shape is, hwt_qparams iq, void *out) {
  hwt_shape os = l->out;
  bool fc = l->type == hwt_layer_fc, dw = l->type == hwt_layer_dwconv;
  uint32_t g = dw ? os.c : (l->groups ? l->groups : 1), cig = fc ? 0 : dw ? 1 : is.c / g, cog = os.c / g;
  uint32_t dh = l->dh ? l->dh : 1, dwd = l->dw ? l->dw : 1;
  size_t k = hwt_shape_size(is);
  int8_t lo = -128, hi = 127;
  float flo, fhi;
  if (l->q8)
    hwt_layer_act_bounds_q8(l, l->oq, &lo, &hi);
  else
    hwt_layer_act_bounds_f32(l, &flo, &fhi);
  uint32_t oh = fc ? 1 : os.h, ow = fc ? 1 : os.w, oc_n = fc ? l->outputs : os.c;
  for (uint32_t oy = 0; oy < oh; oy++)
    for (uint32_t ox = 0; ox < ow; ox++)
      for (uint32_t oc = 0; oc < oc_n; oc++) {
        int32_t acc = l->bq != NULL ? l->bq[oc] : 0;
        if (fc) {
          for (size_t i = 0; i < k; i++) acc += (in[i] - iq.zero_point) * l->wq[(size_t) oc * k + i];
        } else {
          uint32_t grp = oc / cog;
          for (uint32_t ky = 0; ky < l->kh; ky++)
            for (uint32_t kx = 0; kx < l->kw; kx++) {
              long iy = (long) oy * l->sh + (long) ky * dh - l->pad_t;
              long ix = (long) ox * l->sw + (long) kx * dwd - l->pad_l;
              if (iy < 0 || ix < 0 || iy >= is.h || ix >= is.w) continue; /* padding = the zero point */
              const int8_t *x = in + ((size_t) iy * is.w + ix) * is.c;
              if (dw) {
                acc += (x[oc] - iq.zero_point) * l->wq[((size_t) ky * l->kw + kx) * os.c + oc];
              } else {
                const int8_t *w = l->wq + (((size_t) oc * l->kh + ky) * l->kw + kx) * cig;
                for (uint32_t ic = 0; ic < cig; ic++) acc += (x[grp * cig + ic] - iq.zero_point) * w[ic];
              }
            }
        }
        size_t o = ((size_t) oy * ow + ox) * oc_n + oc;
        if (l->q8) {
          ((int8_t *) out)[o] = requant(acc, iq.scale, l->wscale[oc], l->oq, lo, hi);
        } else {
          float r = (float) acc * (iq.scale * l->wscale[oc]);
          ((float *) out)[o] = r < flo ? flo : r > fhi ? fhi : r;
        }
      }
}

void hwt_fc_q8_float(const hwt_layer *l, const int8_t *in, hwt_qparams iq, float *out) {
  hwt_layer t = *l;
  t.q8 = false;
  weights_q8(&t, in, l->in, iq, out);
}

static int8_t rq(int8_t v, hwt_qparams iq, hwt_qparams oq) { return hwt_q8(hwt_dq8(v, iq), oq, -128, 127); }

static void node_q8(const hwt_layer *l, const int8_t *const *in, const hwt_shape *ish, const uint8_t *irank,
                    const hwt_qparams *iq, int8_t *out) {
  hwt_shape os = l->out;
  size_t n = hwt_shape_size(os);
  hwt_qparams oq = l->oq;
  const int8_t *x = in[0];
  switch (l->type) {
    case hwt_layer_relu:
    case hwt_layer_relu6: {
      int8_t lo, hi;
      hwt_act_bounds_q8(l->type == hwt_layer_relu ? hwt_act_relu : hwt_act_relu6, oq, &lo, &hi);
      for (size_t i = 0; i < n; i++) out[i] = hwt_q8(hwt_dq8(x[i], iq[0]), oq, lo, hi);
      return;
    }
    case hwt_layer_identity:
      for (size_t i = 0; i < n; i++) out[i] = rq(x[i], iq[0], oq);
      return;
    case hwt_layer_reshape:
      for (size_t j = 0; j < n; j++) out[ref_internal(os, l->rank, j)] = rq(x[ref_internal(ish[0], irank[0], j)], iq[0], oq);
      return;
    case hwt_layer_concat: {
      uint32_t off = 0;
      for (int j = 0; j < l->nin; j++) {
        for (size_t p = 0; p < (size_t) os.h * os.w; p++)
          for (uint32_t c = 0; c < ish[j].c; c++) out[p * os.c + off + c] = rq(in[j][p * ish[j].c + c], iq[j], oq);
        off += ish[j].c;
      }
      return;
    }
    case hwt_layer_add: {
      hwt_shape bs = l->nin >= 2 ? ish[1] : l->wshape;
      for (uint32_t y = 0; y < os.h; y++)
        for (uint32_t xx = 0; xx < os.w; xx++)
          for (uint32_t c = 0; c < os.c; c++) {
            size_t i = ((size_t) y * os.w + xx) * os.c + c;
            size_t k = ((size_t) (bs.h == 1 ? 0 : y) * bs.w + (bs.w == 1 ? 0 : xx)) * bs.c + (bs.c == 1 ? 0 : c);
            float b = l->nin >= 2 ? hwt_dq8(in[1][k], iq[1]) : l->w[k];
            out[i] = hwt_q8(hwt_dq8(x[i], iq[0]) + b, oq, -128, 127);
          }
      return;
    }
    case hwt_layer_gavgpool: {
      size_t hw = (size_t) ish[0].h * ish[0].w;
      for (uint32_t c = 0; c < os.c; c++) {
        int64_t acc = 0;
        for (size_t p = 0; p < hw; p++) acc += x[p * ish[0].c + c];
        float real = iq[0].scale * ((float) ((double) acc / (double) hw) - (float) iq[0].zero_point);
        out[c] = hwt_q8(real, oq, -128, 127);
      }
      return;
    }
    case hwt_layer_maxpool:
    case hwt_layer_avgpool: {
      bool max = l->type == hwt_layer_maxpool;
      hwt_shape is = ish[0];
      for (uint32_t oy = 0; oy < os.h; oy++)
        for (uint32_t ox = 0; ox < os.w; ox++)
          for (uint32_t c = 0; c < os.c; c++) {
            int32_t acc = max ? -128 : 0, taps = 0, padded = 0;
            for (uint32_t ky = 0; ky < l->kh; ky++)
              for (uint32_t kx = 0; kx < l->kw; kx++) {
                long iy = (long) oy * l->sh + ky - l->pad_t, ix = (long) ox * l->sw + kx - l->pad_l;
                if (iy < (long) is.h + l->pad_b && ix < (long) is.w + l->pad_r) padded++;
                if (iy < 0 || ix < 0 || iy >= is.h || ix >= is.w) continue;
                int32_t v = x[((size_t) iy * is.w + ix) * is.c + c];
                acc = max ? (v > acc ? v : acc) : acc + v;
                taps++;
              }
            float real;
            if (max)
              real = hwt_dq8((int8_t) acc, iq[0]);
            else if (l->count_include_pad)
              real = padded ? iq[0].scale * ((float) (acc - taps * iq[0].zero_point) / (float) padded) : 0.0f;
            else
              real = iq[0].scale * ((float) acc / (float) (taps ? taps : 1) - (float) iq[0].zero_point);
            out[((size_t) oy * os.w + ox) * os.c + c] = hwt_q8(real, oq, -128, 127);
          }
      return;
    }
    case hwt_layer_softmax: {
      /* exp(scale * (q - max)) in double per group, as exact as float output allows; quantized with oq. */
      hwt_shape s = os;
      uint8_t a = l->axes ? l->axes : HWT_AXIS_C;
      uint32_t dims[3] = {s.h, s.w, s.c}, span[3];
      for (int d = 0; d < 3; d++) span[d] = (a & (1u << d)) ? 1 : dims[d];
      for (uint32_t y0 = 0; y0 < span[0]; y0++)
        for (uint32_t x0 = 0; x0 < span[1]; x0++)
          for (uint32_t c0 = 0; c0 < span[2]; c0++) {
            uint32_t ylo = a & HWT_AXIS_H ? 0 : y0, yhi = a & HWT_AXIS_H ? s.h : y0 + 1;
            uint32_t xlo = a & HWT_AXIS_W ? 0 : x0, xhi = a & HWT_AXIS_W ? s.w : x0 + 1;
            uint32_t clo = a & HWT_AXIS_C ? 0 : c0, chi = a & HWT_AXIS_C ? s.c : c0 + 1;
            int32_t mx = -128;
            double sum = 0;
            for (uint32_t y = ylo; y < yhi; y++)
              for (uint32_t xx = xlo; xx < xhi; xx++)
                for (uint32_t c = clo; c < chi; c++) {
                  int32_t v = x[((size_t) y * s.w + xx) * s.c + c];
                  if (v > mx) mx = v;
                }
            for (uint32_t y = ylo; y < yhi; y++)
              for (uint32_t xx = xlo; xx < xhi; xx++)
                for (uint32_t c = clo; c < chi; c++)
                  sum += exp((double) iq[0].scale * (x[((size_t) y * s.w + xx) * s.c + c] - mx));
            for (uint32_t y = ylo; y < yhi; y++)
              for (uint32_t xx = xlo; xx < xhi; xx++)
                for (uint32_t c = clo; c < chi; c++) {
                  size_t k = ((size_t) y * s.w + xx) * s.c + c;
                  out[k] = hwt_q8((float) (exp((double) iq[0].scale * (x[k] - mx)) / sum), oq, -128, 127);
                }
          }
      return;
    }
    default: return;
  }
}

/* ---- the graph ---- */

/* One node for one sample. `fin` / `qin`: the node's inputs in float and int8 (only the kind it reads is set). */
static void run_node(const hwt_model *m, size_t i, const float *const *fin, const int8_t *const *qin, void *out,
                     float *tmp) {
  const hwt_layer *l = &m->layers[i];
  hwt_shape ish[HWT_NODE_MAX_INPUTS];
  uint8_t irank[HWT_NODE_MAX_INPUTS];
  hwt_qparams iq[HWT_NODE_MAX_INPUTS];
  for (int j = 0; j < l->nin; j++) {
    ish[j] = vshape(m, l->inputs[j]);
    irank[j] = vrank(m, l->inputs[j]);
    iq[j] = hwt_model_out_q(m, l->inputs[j]);
  }
  size_t n = hwt_shape_size(l->out);
  bool wq = (l->type == hwt_layer_fc || l->type == hwt_layer_conv || l->type == hwt_layer_dwconv) && l->wq != NULL;
  if (wq) {
    weights_q8(l, qin[0], ish[0], iq[0], out);
  } else if (l->type == hwt_layer_quantize) {
    for (size_t k = 0; k < n; k++) ((int8_t *) out)[k] = hwt_q8(fin[0][k], l->oq, -128, 127);
  } else if (l->type == hwt_layer_dequantize) {
    float *o = l->q8 ? tmp : out;
    for (size_t k = 0; k < n; k++) o[k] = hwt_dq8(qin[0][k], iq[0]);
    if (l->q8)
      for (size_t k = 0; k < n; k++) ((int8_t *) out)[k] = hwt_q8(tmp[k], l->oq, -128, 127);
  } else if (hwt_node_reads_q8(l)) {
    node_q8(l, qin, ish, irank, iq, out);
  } else {
    float *o = l->q8 ? tmp : out;
    node_f32(l, fin, ish, irank, o);
    if (l->q8)
      for (size_t k = 0; k < n; k++) ((int8_t *) out)[k] = hwt_q8(tmp[k], l->oq, -128, 127);
  }
}

static hwt_status reference_run(const hwt_model *m, size_t batch, const float *const *ins, float *const *outs,
                                float **layer_out) {
  size_t nl = m->nlayers, ni = m->ninputs ? m->ninputs : 1, nv = ni + nl;
  void **val = calloc(nv, sizeof(void *));
  float **fin = calloc(HWT_NODE_MAX_INPUTS * 2, sizeof(float *));
  int8_t **qin = calloc(HWT_NODE_MAX_INPUTS * 2, sizeof(int8_t *));
  size_t maxn = 1;
  for (size_t k = 0; k < ni; k++) maxn = maxn > hwt_shape_size(vshape(m, HWT_INPUT_ID(k))) ? maxn : hwt_shape_size(vshape(m, HWT_INPUT_ID(k)));
  for (size_t i = 0; i < nl; i++) maxn = maxn > hwt_shape_size(m->layers[i].out) ? maxn : hwt_shape_size(m->layers[i].out);
  float *tmp = malloc(maxn * sizeof(float));
  hwt_status st = hwt_status_out_of_memory;
  if (val == NULL || fin == NULL || qin == NULL || tmp == NULL) goto done;
  for (size_t v = 0; v < nv; v++) { /* inputs first (value -1 - k at v = k), then nodes (node i at ni + i) */
    int id = v < ni ? HWT_INPUT_ID(v) : (int) (v - ni);
    if ((val[v] = malloc(hwt_shape_size(vshape(m, id)) * 4 + 1)) == NULL) goto done;
  }
  for (size_t i = 0; i < nl; i++) { /* a model that did not go through hwt_model_finalize */
    const hwt_layer *l = &m->layers[i];
    bool ok = l->nin >= 1 && l->nin <= HWT_NODE_MAX_INPUTS;
    for (int j = 0; ok && j < l->nin; j++) ok = l->inputs[j] < (int) i && l->inputs[j] >= HWT_INPUT_ID(ni - 1);
    if (!ok) {
      st = hwt_status_invalid_argument;
      goto done;
    }
  }
#define VAL(id) val[(id) < 0 ? (size_t) (-1 - (id)) : ni + (size_t) (id)]
  for (size_t s = 0; s < batch; s++) {
    for (size_t k = 0; k < ni; k++) {
      int id = HWT_INPUT_ID(k);
      hwt_shape sh = vshape(m, id);
      size_t n = hwt_shape_size(sh);
      const float *x = ins[k] + s * n;
      for (size_t j = 0; j < n; j++) tmp[ref_internal(sh, vrank(m, id), j)] = x[j];
      if (vq8(m, id))
        for (size_t j = 0; j < n; j++) ((int8_t *) VAL(id))[j] = hwt_q8(tmp[j], hwt_model_out_q(m, id), -128, 127);
      else
        memcpy(VAL(id), tmp, n * sizeof(float));
    }
    for (size_t i = 0; i < nl; i++) {
      const hwt_layer *l = &m->layers[i];
      bool rq8 = hwt_node_reads_q8(l);
      const float *fp[HWT_NODE_MAX_INPUTS] = {0};
      const int8_t *qp[HWT_NODE_MAX_INPUTS] = {0};
      for (int j = 0; j < l->nin; j++) {
        int id = l->inputs[j];
        size_t n = hwt_shape_size(vshape(m, id));
        hwt_qparams q = hwt_model_out_q(m, id);
        if (rq8 && vq8(m, id)) {
          qp[j] = VAL(id);
        } else if (rq8) { /* float producer, int8 reader: quantize with the producer's params */
          if (qin[j] == NULL && (qin[j] = malloc(maxn + 1)) == NULL) goto done;
          for (size_t k = 0; k < n; k++) qin[j][k] = hwt_q8(((float *) VAL(id))[k], q, -128, 127);
          qp[j] = qin[j];
        } else if (vq8(m, id)) { /* int8 producer, float reader */
          if (fin[j] == NULL && (fin[j] = malloc(maxn * sizeof(float))) == NULL) goto done;
          for (size_t k = 0; k < n; k++) fin[j][k] = hwt_dq8(((int8_t *) VAL(id))[k], q);
          fp[j] = fin[j];
        } else {
          fp[j] = VAL(id);
        }
      }
      run_node(m, i, fp, qp, VAL((int) i), tmp);
      if (layer_out != NULL && s == 0) {
        size_t n = hwt_shape_size(l->out);
        if (l->q8)
          for (size_t k = 0; k < n; k++) layer_out[i][k] = hwt_dq8(((int8_t *) VAL((int) i))[k], l->oq);
        else
          memcpy(layer_out[i], VAL((int) i), n * sizeof(float));
      }
    }
    size_t no = m->noutputs ? m->noutputs : 1;
    for (size_t k = 0; k < no; k++) {
      if (outs[k] == NULL) continue;
      int id = m->noutputs ? m->outputs[k].value : (int) nl - 1;
      hwt_shape sh = vshape(m, id);
      size_t n = hwt_shape_size(sh);
      if (vq8(m, id))
        for (size_t j = 0; j < n; j++) tmp[j] = hwt_dq8(((int8_t *) VAL(id))[j], hwt_model_out_q(m, id));
      else
        memcpy(tmp, VAL(id), n * sizeof(float));
      float *o = outs[k] + s * n;
      uint8_t rank = m->noutputs ? m->outputs[k].rank : vrank(m, id);
      for (size_t j = 0; j < n; j++) o[j] = tmp[ref_internal(sh, rank, j)];
    }
  }
#undef VAL
  st = hwt_status_ok;
done:
  for (size_t v = 0; val != NULL && v < nv; v++) free(val[v]);
  for (int j = 0; j < HWT_NODE_MAX_INPUTS; j++) {
    if (fin != NULL) free(fin[j]);
    if (qin != NULL) free(qin[j]);
  }
  free(val);
  free(fin);
  free(qin);
  free(tmp);
  return st;
}

hwt_status hwt_model_reference_io(const hwt_model *m, size_t batch, const float *const *ins, float *const *outs) {
  if (m == NULL || m->nlayers == 0 || ins == NULL || outs == NULL) return hwt_status_invalid_argument;
  return reference_run(m, batch, ins, outs, NULL);
}

hwt_status hwt_model_reference(const hwt_model *m, size_t batch, const float *in, float *out, float **layer_out) {
  if (m == NULL || m->nlayers == 0) return hwt_status_invalid_argument;
  const float *ins[HWT_GRAPH_MAX_IO] = {in};
  float *outs[HWT_GRAPH_MAX_IO] = {out};
  size_t ni = m->ninputs ? m->ninputs : 1;
  float *extra[HWT_GRAPH_MAX_IO] = {0};
  hwt_status st = hwt_status_ok;
  for (size_t k = 1; k < ni; k++) { /* other graph inputs: zeros */
    extra[k] = calloc(batch * hwt_model_input_size(m, k) + 1, sizeof(float));
    if (extra[k] == NULL) st = hwt_status_out_of_memory;
    ins[k] = extra[k];
  }
  if (st == hwt_status_ok) st = reference_run(m, batch, ins, outs, layer_out);
  for (size_t k = 1; k < ni; k++) free(extra[k]);
  return st;
}

/* ---- the generator's helper ---- */

void hwt_reference_layer_f32(const hwt_layer *l, const float *in, const float *from, float *out) {
  const float *fin[2] = {in, from};
  hwt_shape ish[2] = {l->in, l->out};
  uint8_t irank[2] = {0, 0};
  hwt_layer t = *l;
  if (t.type == hwt_layer_add && from != NULL && t.nin < 2) t.nin = 2;
  node_f32(&t, fin, ish, irank, out);
}
