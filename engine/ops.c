/* SPDX-License-Identifier: Apache-2.0 */
/* The engine's native node loops: every node type that is not a GEMM or a convolution, in float and (where
 * the graph runs it in int8) in int8, over a batch of contiguous samples. No allocation: small tables live on
 * the stack. The reference (reference.c) implements the same semantics independently. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "engine_internal.h"
#include "hwtune/elementwise.h"

bool hwt_op_has_q8(hwt_layer_type t) {
  switch (t) {
    case hwt_layer_relu:
    case hwt_layer_relu6:
    case hwt_layer_maxpool:
    case hwt_layer_avgpool:
    case hwt_layer_gavgpool:
    case hwt_layer_add:
    case hwt_layer_softmax:
    case hwt_layer_concat:
    case hwt_layer_reshape:
    case hwt_layer_identity:
    case hwt_layer_quantize: return true;
    default: return false;
  }
}

bool hwt_node_reads_q8(const hwt_layer *l) {
  switch (l->type) {
    case hwt_layer_quantize: return false;
    case hwt_layer_dequantize: return true;
    case hwt_layer_fc:
    case hwt_layer_conv:
    case hwt_layer_dwconv: return l->wq != NULL;
    default: return l->q8 && hwt_op_has_q8(l->type);
  }
}

bool hwt_node_q8_via_float(const hwt_layer *l) {
  if (!l->q8) return false;
  switch (l->type) {
    case hwt_layer_fc:
    case hwt_layer_conv:
    case hwt_layer_dwconv: return l->wq == NULL;
    default: return !hwt_op_has_q8(l->type);
  }
}

/* ---- shared pieces ---- */

/* A pooling window of output (oy, ox), clipped to the input; `div` is the divisor of an average. */
typedef struct window {
  uint32_t y0, y1, x0, x1;
  uint32_t div;
} window;

static window pool_window(const hwt_layer *l, hwt_shape is, uint32_t oy, uint32_t ox) {
  long hs = (long) oy * l->sh - l->pad_t, ws = (long) ox * l->sw - l->pad_l;
  long he = hs + l->kh, we = ws + l->kw;
  window w;
  w.y0 = (uint32_t) (hs < 0 ? 0 : hs);
  w.x0 = (uint32_t) (ws < 0 ? 0 : ws);
  w.y1 = (uint32_t) (he > (long) is.h ? (long) is.h : he);
  w.x1 = (uint32_t) (we > (long) is.w ? (long) is.w : we);
  if (w.y1 < w.y0) w.y1 = w.y0;
  if (w.x1 < w.x0) w.x1 = w.x0;
  if (l->count_include_pad) { /* the window clipped to the padded input (ceil_mode windows may hang past it) */
    long ph = he > (long) is.h + l->pad_b ? (long) is.h + l->pad_b : he;
    long pw = we > (long) is.w + l->pad_r ? (long) is.w + l->pad_r : we;
    w.div = (uint32_t) ((ph - hs) * (pw - ws));
  } else {
    w.div = (w.y1 - w.y0) * (w.x1 - w.x0);
  }
  return w;
}

/* Dims of one sample and which of them softmax normalises jointly. */
typedef struct axes_split {
  size_t nout, nin;                 /* products of the kept / normalised dims */
  size_t od[3], os[3], id[3], is[3]; /* dims and strides */
  int no, ni;
} axes_split;

static axes_split split_axes(hwt_shape s, uint8_t axes) {
  if (axes == 0) axes = HWT_AXIS_C;
  size_t dims[3] = {s.h, s.w, s.c}, st[3] = {(size_t) s.w * s.c, s.c, 1};
  axes_split a = {1, 1, {0}, {0}, {0}, {0}, 0, 0};
  for (int d = 0; d < 3; d++) {
    if (axes & (1u << d)) {
      a.id[a.ni] = dims[d];
      a.is[a.ni++] = st[d];
      a.nin *= dims[d];
    } else {
      a.od[a.no] = dims[d];
      a.os[a.no++] = st[d];
      a.nout *= dims[d];
    }
  }
  return a;
}

static size_t offset_of(size_t idx, const size_t *dims, const size_t *strides, int n) {
  size_t off = 0;
  for (int d = n - 1; d >= 0; d--) {
    off += (idx % dims[d]) * strides[d];
    idx /= dims[d];
  }
  return off;
}

/* True when the normalised dims are the innermost ones, in order: element i of a group is at base + i. */
static bool group_contiguous(const axes_split *a) {
  if (a->ni == 0 || a->is[a->ni - 1] != 1) return a->ni == 0;
  for (int d = 0; d + 1 < a->ni; d++)
    if (a->is[d] != a->is[d + 1] * a->id[d + 1]) return false;
  return true;
}

/* Softmax (or log-softmax) of one group given as values v[0..n) at offsets; float out. Contiguous groups skip
 * the offset arithmetic, and up to `cached` exponentials are kept from the sum for the output (the same values). */
static void softmax_group(const float *x, float *o, size_t base, const axes_split *a, bool lg) {
  enum { cached = 1024 };
  bool contig = group_contiguous(a);
#define GRP_OFF(i) (base + (contig ? (i) : offset_of((i), a->id, a->is, a->ni)))
  float mx = -INFINITY;
  bool nan = false;
  for (size_t i = 0; i < a->nin; i++) {
    float v = x[GRP_OFF(i)];
    if (isnan(v)) nan = true;
    if (v > mx) mx = v;
  }
  if (nan || isinf(mx)) {
    /* Undefined input: NaN out (the caller flags it) rather than a silent guess. +Inf alone -> one-hot. */
    for (size_t i = 0; i < a->nin; i++) {
      size_t k = GRP_OFF(i);
      o[k] = nan || mx < 0 ? NAN : isinf(x[k]) ? (lg ? 0.0f : 1.0f) : (lg ? -INFINITY : 0.0f);
    }
    return;
  }
  double sum = 0, ex[cached];
  bool keep = !lg && a->nin <= cached;
  for (size_t i = 0; i < a->nin; i++) {
    double e = exp((double) x[GRP_OFF(i)] - mx);
    if (keep) ex[i] = e;
    sum += e;
  }
  double lsum = log(sum);
  for (size_t i = 0; i < a->nin; i++) {
    size_t k = GRP_OFF(i);
    o[k] = lg ? (float) ((double) x[k] - mx - lsum) : (float) ((keep ? ex[i] : exp((double) x[k] - mx)) / sum);
  }
#undef GRP_OFF
}

static void softmax_f32(const float *x, hwt_shape s, uint8_t axes, float *o, bool lg) {
  axes_split a = split_axes(s, axes);
  for (size_t g = 0; g < a.nout; g++) softmax_group(x, o, offset_of(g, a.od, a.os, a.no), &a, lg);
}

/* Where the second operand of a binary node comes from, per sample. */
typedef struct operand {
  const float *f;   /* float operand (constant w or a float input) */
  const int8_t *q;  /* int8 input */
  hwt_qparams qp;
  hwt_shape s;
  size_t stride;    /* elements per sample (0 for a constant) */
} operand;

static inline float bin_apply(hwt_layer_type t, float a, float b) {
  switch (t) {
    case hwt_layer_add: return a + b;
    case hwt_layer_sub: return a - b;
    case hwt_layer_mul: return a * b;
    case hwt_layer_max: return isnan(a) || isnan(b) ? NAN : a > b ? a : b;
    case hwt_layer_min: return isnan(a) || isnan(b) ? NAN : a < b ? a : b;
    case hwt_layer_prelu: return a < 0 ? b * a : a;
    default: return a / b;
  }
}

/* Index of output element (y, x, c) in a broadcast operand of shape b. */
static inline size_t bcast_index(hwt_shape b, uint32_t y, uint32_t x, uint32_t c) {
  return ((size_t) (b.h == 1 ? 0 : y) * b.w + (b.w == 1 ? 0 : x)) * b.c + (b.c == 1 ? 0 : c);
}

static void binary_f32(const hwt_layer *l, size_t batch, const float *a, operand b, float *out) {
  hwt_shape os = l->out;
  size_t n = hwt_shape_size(os), bn = hwt_shape_size(b.s), hw = (size_t) os.h * os.w;
  bool swap = l->nin == 1 && l->const_first;
  hwt_layer_type t = l->type;
  for (size_t s = 0; s < batch; s++) {
    const float *x = a + s * n, *y = b.f + s * b.stride;
    float *o = out + s * n;
    if (bn == n) {
      if (swap)
        for (size_t i = 0; i < n; i++) o[i] = bin_apply(t, y[i], x[i]);
      else if (t == hwt_layer_add)
        for (size_t i = 0; i < n; i++) o[i] = x[i] + y[i];
      else
        for (size_t i = 0; i < n; i++) o[i] = bin_apply(t, x[i], y[i]);
    } else if (bn == 1) {
      float v = y[0];
      for (size_t i = 0; i < n; i++) o[i] = swap ? bin_apply(t, v, x[i]) : bin_apply(t, x[i], v);
    } else if (b.s.h == 1 && b.s.w == 1 && b.s.c == os.c) {
      for (size_t p = 0; p < hw; p++)
        for (uint32_t c = 0; c < os.c; c++) {
          size_t i = p * os.c + c;
          o[i] = swap ? bin_apply(t, y[c], x[i]) : bin_apply(t, x[i], y[c]);
        }
    } else {
      for (uint32_t yy = 0; yy < os.h; yy++)
        for (uint32_t xx = 0; xx < os.w; xx++)
          for (uint32_t c = 0; c < os.c; c++) {
            size_t i = ((size_t) yy * os.w + xx) * os.c + c;
            float v = y[bcast_index(b.s, yy, xx, c)];
            o[i] = swap ? bin_apply(t, v, x[i]) : bin_apply(t, x[i], v);
          }
    }
  }
}

static void pool_f32(const hwt_layer *l, const float *in, hwt_shape is, float *out, bool max) {
  hwt_shape os = l->out;
  for (uint32_t oy = 0; oy < os.h; oy++)
    for (uint32_t ox = 0; ox < os.w; ox++) {
      window w = pool_window(l, is, oy, ox);
      float *o = out + ((size_t) oy * os.w + ox) * os.c;
      for (uint32_t c = 0; c < os.c; c++) o[c] = max ? -INFINITY : 0.0f;
      for (uint32_t y = w.y0; y < w.y1; y++)
        for (uint32_t x = w.x0; x < w.x1; x++) {
          const float *v = in + ((size_t) y * is.w + x) * is.c;
          if (max)
            for (uint32_t c = 0; c < os.c; c++) o[c] = v[c] > o[c] || isnan(v[c]) ? v[c] : o[c];
          else
            for (uint32_t c = 0; c < os.c; c++) o[c] += v[c];
        }
      if (!max) {
        float inv = w.div ? 1.0f / (float) w.div : 0.0f;
        for (uint32_t c = 0; c < os.c; c++) o[c] *= inv;
      }
    }
}

static void gavgpool_f32(const float *in, hwt_shape is, float *out) {
  size_t hw = (size_t) is.h * is.w;
  double acc[256];
  for (uint32_t c0 = 0; c0 < is.c; c0 += 256) {
    uint32_t nc = is.c - c0 < 256 ? is.c - c0 : 256;
    for (uint32_t c = 0; c < nc; c++) acc[c] = 0;
    for (size_t p = 0; p < hw; p++) {
      const float *v = in + p * is.c + c0;
      for (uint32_t c = 0; c < nc; c++) acc[c] += v[c];
    }
    for (uint32_t c = 0; c < nc; c++) out[c0 + c] = (float) (acc[c] / (double) hw);
  }
}

/* Reshape one sample: the logical order is kept; elements of `es` bytes. */
static void reshape_sample(const void *in, hwt_shape is, uint8_t irank, void *out, hwt_shape os, uint8_t orank,
                           size_t es) {
  size_t n = hwt_shape_size(os);
  if (hwt_layout_is_copy(is, irank) && hwt_layout_is_copy(os, orank)) {
    memcpy(out, in, n * es);
    return;
  }
  if (es == 4) {
    const float *x = in;
    float *o = out;
    for (size_t j = 0; j < n; j++) o[hwt_logical_to_internal(os, orank, j)] = x[hwt_logical_to_internal(is, irank, j)];
  } else {
    const int8_t *x = in;
    int8_t *o = out;
    for (size_t j = 0; j < n; j++) o[hwt_logical_to_internal(os, orank, j)] = x[hwt_logical_to_internal(is, irank, j)];
  }
}

/* Transpose one sample (graph.c checked perm against the rank): walks the output in its internal order, stepping
 * through the input with the internal stride of the logical dim each output dim reads. */
static void transpose_sample(const float *in, hwt_shape is, const hwt_layer *l, float *out) {
  hwt_shape os = l->out;
  /* internal strides of the input's logical dims after the batch: rank 4 [C, H, W], rank 3 [C, L], rank 2 [K] */
  size_t st[4] = {0, 1, l->rank == 4 ? (size_t) is.w * is.c : is.c, is.c};
  size_t sc = st[l->perm[1]], sh = l->rank == 4 ? st[l->perm[2]] : 0;
  size_t sw = l->rank == 4 ? st[l->perm[3]] : l->rank == 3 ? st[l->perm[2]] : 0;
  for (uint32_t y = 0; y < os.h; y++)
    for (uint32_t x = 0; x < os.w; x++) {
      const float *src = in + y * sh + x * sw;
      for (uint32_t c = 0; c < os.c; c++) *out++ = src[c * sc];
    }
}

static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

/* softplus without overflow: log(1 + e^x) = max(x, 0) + log1p(e^-|x|). */
static inline float softplusf(float x) { return (x > 0 ? x : 0.0f) + log1pf(expf(-fabsf(x))); }

static void unary_f32(const hwt_layer *l, const float *x, size_t n, float *o) {
  float a = l->alpha, g = l->beta;
  switch (l->fn) {
    case hwt_unary_neg: for (size_t i = 0; i < n; i++) o[i] = -x[i]; break;
    case hwt_unary_abs: for (size_t i = 0; i < n; i++) o[i] = fabsf(x[i]); break;
    case hwt_unary_exp: for (size_t i = 0; i < n; i++) o[i] = expf(x[i]); break;
    case hwt_unary_log: for (size_t i = 0; i < n; i++) o[i] = logf(x[i]); break;
    case hwt_unary_sqrt: for (size_t i = 0; i < n; i++) o[i] = sqrtf(x[i]); break;
    case hwt_unary_reciprocal: for (size_t i = 0; i < n; i++) o[i] = 1.0f / x[i]; break;
    case hwt_unary_floor: for (size_t i = 0; i < n; i++) o[i] = floorf(x[i]); break;
    case hwt_unary_ceil: for (size_t i = 0; i < n; i++) o[i] = ceilf(x[i]); break;
    case hwt_unary_elu: for (size_t i = 0; i < n; i++) o[i] = x[i] > 0 ? x[i] : a * expm1f(x[i]); break;
    case hwt_unary_selu: for (size_t i = 0; i < n; i++) o[i] = g * (x[i] > 0 ? x[i] : a * expm1f(x[i])); break;
    case hwt_unary_softplus: for (size_t i = 0; i < n; i++) o[i] = softplusf(x[i]); break;
    case hwt_unary_softsign: /* the limit +-1 at +-inf (x / (1 + |x|) would be inf / inf) */
      for (size_t i = 0; i < n; i++) o[i] = isinf(x[i]) ? copysignf(1.0f, x[i]) : x[i] / (1.0f + fabsf(x[i]));
      break;
    case hwt_unary_erf: for (size_t i = 0; i < n; i++) o[i] = erff(x[i]); break;
    case hwt_unary_pow:
      if (a == 2.0f)
        for (size_t i = 0; i < n; i++) o[i] = x[i] * x[i];
      else
        for (size_t i = 0; i < n; i++) o[i] = powf(x[i], a);
      break;
    default: break; /* hwt_model_finalize refuses other values */
  }
}

void hwt_op_f32(const hwt_layer *l, size_t batch, const void *const *in, const hwt_shape *ish, const uint8_t *irank,
                const hwt_qparams *iq, float *out) {
  size_t n = hwt_shape_size(l->out), isz = hwt_shape_size(ish[0]), tot = n * batch;
  const float *x = in[0];
  switch (l->type) {
    case hwt_layer_relu:
      for (size_t i = 0; i < tot; i++) out[i] = x[i] > 0 || isnan(x[i]) ? x[i] : 0.0f;
      break;
    case hwt_layer_relu6:
      for (size_t i = 0; i < tot; i++) out[i] = clampf(x[i], 0.0f, 6.0f);
      break;
    case hwt_layer_clip:
      for (size_t i = 0; i < tot; i++) out[i] = clampf(x[i], l->alpha, l->beta);
      break;
    case hwt_layer_leaky_relu:
      for (size_t i = 0; i < tot; i++) out[i] = x[i] >= 0 ? x[i] : l->alpha * x[i];
      break;
    case hwt_layer_sigmoid:
      for (size_t i = 0; i < tot; i++) out[i] = 1.0f / (1.0f + expf(-x[i]));
      break;
    case hwt_layer_hard_sigmoid:
      for (size_t i = 0; i < tot; i++) out[i] = clampf(l->alpha * x[i] + l->beta, 0.0f, 1.0f);
      break;
    case hwt_layer_hard_swish:
      for (size_t i = 0; i < tot; i++) out[i] = x[i] * clampf(x[i] / 6.0f + 0.5f, 0.0f, 1.0f);
      break;
    case hwt_layer_tanh:
      for (size_t i = 0; i < tot; i++) out[i] = tanhf(x[i]);
      break;
    case hwt_layer_identity: memcpy(out, x, tot * sizeof(float)); break;
    case hwt_layer_unary: unary_f32(l, x, tot, out); break;
    case hwt_layer_affine:
      for (size_t i = 0; i < tot; i++) {
        size_t c = i % l->out.c;
        out[i] = x[i] * l->w[c] + l->b[c];
      }
      break;
    case hwt_layer_dequantize: hwt_q8_vec_best()->dequantize(in[0], tot, iq[0].scale, iq[0].zero_point, out); break;
    case hwt_layer_add:
    case hwt_layer_sub:
    case hwt_layer_mul:
    case hwt_layer_div:
    case hwt_layer_max:
    case hwt_layer_min:
    case hwt_layer_prelu: {
      operand b = {0};
      if (l->nin >= 2) {
        b.f = in[1];
        b.s = ish[1];
        b.stride = hwt_shape_size(ish[1]);
      } else {
        b.f = l->w;
        b.s = l->wshape;
      }
      binary_f32(l, batch, x, b, out);
      break;
    }
    case hwt_layer_maxpool:
    case hwt_layer_avgpool:
      for (size_t s = 0; s < batch; s++) pool_f32(l, x + s * isz, ish[0], out + s * n, l->type == hwt_layer_maxpool);
      break;
    case hwt_layer_gavgpool:
      for (size_t s = 0; s < batch; s++) gavgpool_f32(x + s * isz, ish[0], out + s * n);
      break;
    case hwt_layer_softmax:
    case hwt_layer_log_softmax:
      for (size_t s = 0; s < batch; s++)
        softmax_f32(x + s * n, l->out, l->axes, out + s * n, l->type == hwt_layer_log_softmax);
      break;
    case hwt_layer_concat: {
      size_t hw = (size_t) l->out.h * l->out.w;
      for (size_t s = 0; s < batch; s++) {
        size_t off = 0;
        for (int j = 0; j < l->nin; j++) {
          size_t cj = ish[j].c;
          const float *src = (const float *) in[j] + s * hwt_shape_size(ish[j]);
          float *dst = out + s * n + off;
          for (size_t p = 0; p < hw; p++) memcpy(dst + p * l->out.c, src + p * cj, cj * sizeof(float));
          off += cj;
        }
      }
      break;
    }
    case hwt_layer_reshape:
      for (size_t s = 0; s < batch; s++)
        reshape_sample(x + s * isz, ish[0], irank[0], out + s * n, l->out, l->rank, sizeof(float));
      break;
    case hwt_layer_transpose:
      for (size_t s = 0; s < batch; s++) transpose_sample(x + s * isz, ish[0], l, out + s * n);
      break;
    default: break; /* fc / conv / dwconv / quantize never come here */
  }
}

/* ---- int8 ---- */

/* out = requantized in (iq -> oq) through a 256-entry table, clamped to [lo, hi] after an optional relu6-like
 * clamp in the real domain (the table is exactly the per-element formula). */
static void build_requant(hwt_qparams iq, hwt_qparams oq, int lo, int hi, int8_t tab[256]) {
  for (int v = -128; v < 128; v++) tab[v + 128] = hwt_q8(hwt_dq8((int8_t) v, iq), oq, lo, hi);
}

/* o[i] = tab[x[i]]. A table that is a clamp of the identity (relu / relu6 / clip with equal input and output
 * params) runs as a min / max the compiler vectorizes; the table itself decides, so the result is the same. */
static void apply_tab(const int8_t tab[256], const int8_t *x, size_t n, int8_t *o) {
  int8_t lo = tab[0], hi = tab[255];
  bool clamp = lo <= hi;
  for (int v = -128; v < 128 && clamp; v++) clamp = tab[v + 128] == (v < lo ? lo : v > hi ? hi : v);
  if (clamp) {
    for (size_t i = 0; i < n; i++) {
      int8_t v = x[i] < lo ? lo : x[i];
      o[i] = v > hi ? hi : v;
    }
  } else {
    for (size_t i = 0; i < n; i++) o[i] = tab[x[i] + 128];
  }
}

static void requant_copy(const int8_t *x, hwt_qparams iq, hwt_qparams oq, size_t n, int8_t *o) {
  if (iq.scale == oq.scale && iq.zero_point == oq.zero_point) {
    memcpy(o, x, n);
    return;
  }
  int8_t tab[256];
  build_requant(iq, oq, -128, 127, tab);
  apply_tab(tab, x, n, o);
}

/* Max / average pool on int8. Per output pixel the window is reduced along channels (contiguous, vectorizable) in
 * blocks of channels on the stack; then per channel the same float formula as before. A max maps through the
 * requantization table (exactly hwt_q8(hwt_dq8(max))). */
static void pool_q8(const hwt_layer *l, const int8_t *in, hwt_shape is, hwt_qparams iq, int8_t *out, bool max) {
  enum { block = 256 };
  hwt_shape os = l->out;
  int8_t tab[256];
  if (max) build_requant(iq, l->oq, -128, 127, tab);
  int32_t acc[block];
  for (uint32_t oy = 0; oy < os.h; oy++)
    for (uint32_t ox = 0; ox < os.w; ox++) {
      window w = pool_window(l, is, oy, ox);
      int32_t taps = (int32_t) ((w.y1 - w.y0) * (w.x1 - w.x0));
      int8_t *o = out + ((size_t) oy * os.w + ox) * os.c;
      for (uint32_t c0 = 0; c0 < os.c; c0 += block) {
        uint32_t cb = os.c - c0 < block ? os.c - c0 : block;
        for (uint32_t k = 0; k < cb; k++) acc[k] = max ? -128 : 0;
        for (uint32_t y = w.y0; y < w.y1; y++)
          for (uint32_t x = w.x0; x < w.x1; x++) {
            const int8_t *r = in + ((size_t) y * is.w + x) * is.c + c0;
            if (max)
              for (uint32_t k = 0; k < cb; k++) acc[k] = r[k] > acc[k] ? r[k] : acc[k];
            else
              for (uint32_t k = 0; k < cb; k++) acc[k] += r[k];
          }
        for (uint32_t k = 0; k < cb; k++) {
          if (max) {
            o[c0 + k] = tab[acc[k] + 128];
            continue;
          }
          float real;
          if (l->count_include_pad)
            real = w.div ? iq.scale * ((float) (acc[k] - taps * iq.zero_point) / (float) w.div) : 0.0f;
          else
            real = iq.scale * ((float) acc[k] / (float) (taps ? taps : 1) - (float) iq.zero_point);
          o[c0 + k] = hwt_q8(real, l->oq, -128, 127);
        }
      }
    }
}

/* Per channel: the int8 sum over all pixels (exact: int16 partial sums over at most 256 pixels, then int64), then
 * the average's float formula. Channels go in blocks so the sums stay on the stack and the inner loops run along
 * memory, which the compiler vectorizes. */
static void gavgpool_q8(const int8_t *x, hwt_shape is, hwt_qparams iq, hwt_qparams oq, int8_t *out) {
  enum { block = 256, span = 256 }; /* 256 * [-128, 127] stays in int16 */
  size_t hw = (size_t) is.h * is.w, nc = is.c;
  int64_t acc[block];
  int16_t part[block];
  for (size_t c0 = 0; c0 < nc; c0 += block) {
    size_t cb = nc - c0 < block ? nc - c0 : block;
    memset(acc, 0, sizeof(acc));
    for (size_t p0 = 0; p0 < hw; p0 += span) {
      size_t pe = hw - p0 < span ? hw : p0 + span;
      memset(part, 0, sizeof(part));
      for (size_t p = p0; p < pe; p++) {
        const int8_t *r = x + p * nc + c0;
        for (size_t k = 0; k < cb; k++) part[k] = (int16_t) (part[k] + r[k]);
      }
      for (size_t k = 0; k < cb; k++) acc[k] += part[k];
    }
    for (size_t k = 0; k < cb; k++) {
      float real = iq.scale * ((float) ((double) acc[k] / (double) hw) - (float) iq.zero_point);
      out[c0 + k] = hwt_q8(real, oq, -128, 127);
    }
  }
}

void hwt_op_q8(const hwt_layer *l, size_t batch, const void *const *in, const hwt_shape *ish, const uint8_t *irank,
               const hwt_qparams *iq, int8_t *out) {
  size_t n = hwt_shape_size(l->out), isz = hwt_shape_size(ish[0]), tot = n * batch;
  const int8_t *x = in[0];
  hwt_qparams oq = l->oq;
  switch (l->type) {
    case hwt_layer_relu:
    case hwt_layer_relu6: {
      int8_t lo, hi, tab[256];
      hwt_act_bounds_q8(l->type == hwt_layer_relu ? hwt_act_relu : hwt_act_relu6, oq, &lo, &hi);
      build_requant(iq[0], oq, lo, hi, tab);
      apply_tab(tab, x, tot, out);
      break;
    }
    case hwt_layer_identity: requant_copy(x, iq[0], oq, tot, out); break;
    case hwt_layer_quantize: {
      hwt_q8_vec_best()->quantize(in[0], tot, oq.scale, oq.zero_point, out);
      break;
    }
    case hwt_layer_maxpool:
    case hwt_layer_avgpool:
      for (size_t s = 0; s < batch; s++)
        pool_q8(l, x + s * isz, ish[0], iq[0], out + s * n, l->type == hwt_layer_maxpool);
      break;
    case hwt_layer_gavgpool:
      for (size_t s = 0; s < batch; s++) gavgpool_q8(x + s * isz, ish[0], iq[0], oq, out + s * n);
      break;
    case hwt_layer_softmax: {
      axes_split a = split_axes(l->out, l->axes);
      /* as softmax_group: direct offsets for contiguous groups, the sum's exponentials reused (same values) */
      enum { cached = 1024 };
      bool contig = group_contiguous(&a), keep = a.nin <= cached;
      double ex[cached];
#define GRP_OFF(i) (base + (contig ? (i) : offset_of((i), a.id, a.is, a.ni)))
      for (size_t s = 0; s < batch; s++)
        for (size_t g = 0; g < a.nout; g++) {
          size_t base = offset_of(g, a.od, a.os, a.no);
          const int8_t *xs = x + s * n;
          int32_t mx = -128;
          for (size_t i = 0; i < a.nin; i++) {
            int32_t v = xs[GRP_OFF(i)];
            if (v > mx) mx = v;
          }
          double sum = 0;
          for (size_t i = 0; i < a.nin; i++) {
            double e = exp((double) iq[0].scale * (xs[GRP_OFF(i)] - mx));
            if (keep) ex[i] = e;
            sum += e;
          }
          for (size_t i = 0; i < a.nin; i++) {
            size_t k = GRP_OFF(i);
            double e = keep ? ex[i] : exp((double) iq[0].scale * (xs[k] - mx));
            out[s * n + k] = hwt_q8((float) (e / sum), oq, -128, 127);
          }
        }
#undef GRP_OFF
      break;
    }
    case hwt_layer_add: {
      hwt_shape os = l->out;
      hwt_shape bs = l->nin >= 2 ? ish[1] : l->wshape;
      size_t bn = hwt_shape_size(bs);
      if (l->nin >= 2 && bn == n) { /* same shapes: the kernel computes the per-element formula below */
        hwt_q8_vec_best()->add(x, in[1], tot, iq[0].scale, iq[0].zero_point, iq[1].scale, iq[1].zero_point, oq.scale,
                               oq.zero_point, out);
        break;
      }
      /* Dequantization tables hold exactly hwt_dq8's values: the result is the per-element formula's. */
      float ta[256], tb[256];
      for (int v = -128; v < 128; v++) {
        ta[v + 128] = hwt_dq8((int8_t) v, iq[0]);
        tb[v + 128] = l->nin >= 2 ? hwt_dq8((int8_t) v, iq[1]) : 0.0f;
      }
      for (size_t s = 0; s < batch; s++)
        for (uint32_t yy = 0; yy < os.h; yy++)
          for (uint32_t xx = 0; xx < os.w; xx++)
            for (uint32_t c = 0; c < os.c; c++) {
              size_t i = ((size_t) yy * os.w + xx) * os.c + c, k = bcast_index(bs, yy, xx, c);
              float b = l->nin >= 2 ? tb[((const int8_t *) in[1])[s * bn + k] + 128] : l->w[k];
              out[s * n + i] = hwt_q8(ta[x[s * n + i] + 128] + b, oq, -128, 127);
            }
      break;
    }
    case hwt_layer_concat: {
      size_t hw = (size_t) l->out.h * l->out.w;
      for (int j = 0; j < l->nin; j++) {
        size_t cj = ish[j].c, off = 0;
        for (int k = 0; k < j; k++) off += ish[k].c;
        bool same = iq[j].scale == oq.scale && iq[j].zero_point == oq.zero_point;
        int8_t tab[256];
        if (!same) build_requant(iq[j], oq, -128, 127, tab);
        for (size_t s = 0; s < batch; s++) {
          const int8_t *src = (const int8_t *) in[j] + s * hwt_shape_size(ish[j]);
          int8_t *dst = out + s * n + off;
          for (size_t p = 0; p < hw; p++) {
            if (same)
              memcpy(dst + p * l->out.c, src + p * cj, cj);
            else
              for (size_t c = 0; c < cj; c++) dst[p * l->out.c + c] = tab[src[p * cj + c] + 128];
          }
        }
      }
      break;
    }
    case hwt_layer_reshape: {
      bool same = iq[0].scale == oq.scale && iq[0].zero_point == oq.zero_point;
      int8_t tab[256];
      if (!same) build_requant(iq[0], oq, -128, 127, tab);
      for (size_t s = 0; s < batch; s++) {
        reshape_sample(x + s * isz, ish[0], irank[0], out + s * n, l->out, l->rank, 1);
        if (!same)
          apply_tab(tab, out + s * n, n, out + s * n);
      }
      break;
    }
    default: break;
  }
}
