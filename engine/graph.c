/* SPDX-License-Identifier: Apache-2.0 */
/* The graph: values and their shapes, layout conversion at the graph's boundary, shape inference for every node
 * type, and hwt_model_finalize (defaults, then validation) that every model goes through. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "hwt_common.h"

/* The limit of one tensor (engine/README.md, "Limits"): elements x batch x 4 bytes stays far from overflow. */
#define MAX_ELEMENTS ((uint64_t) 1 << 31)

/* ---- values ---- */

/* Graph input k's descriptor; a model that names no graph inputs yet (before finalize) has `input` / `iq`. */
static bool input_desc(const hwt_model *m, size_t k, hwt_graph_io *io) {
  if (k < m->ninputs && k < HWT_GRAPH_MAX_IO) {
    *io = m->inputs[k];
    return true;
  }
  if (m->ninputs == 0 && k == 0) {
    memset(io, 0, sizeof(*io));
    io->shape = m->input;
    io->q = m->iq;
    io->q8 = m->precision == hwt_prec_int8;
    io->value = HWT_INPUT_ID(0);
    return true;
  }
  return false;
}

hwt_shape hwt_model_value_shape(const hwt_model *m, int id) {
  hwt_graph_io io;
  if (id >= 0) return (size_t) id < m->nlayers ? m->layers[id].out : (hwt_shape){0, 0, 0};
  return input_desc(m, (size_t) (-1 - (long) id), &io) ? io.shape : (hwt_shape){0, 0, 0};
}

uint8_t hwt_model_value_rank(const hwt_model *m, int id) {
  hwt_graph_io io;
  if (id >= 0) return (size_t) id < m->nlayers ? m->layers[id].rank : 0;
  return input_desc(m, (size_t) (-1 - (long) id), &io) ? io.rank : 0;
}

bool hwt_model_value_q8(const hwt_model *m, int id) {
  hwt_graph_io io;
  if (id >= 0) return (size_t) id < m->nlayers && m->layers[id].q8;
  return input_desc(m, (size_t) (-1 - (long) id), &io) && io.q8;
}

hwt_qparams hwt_model_value_q(const hwt_model *m, int id) {
  hwt_graph_io io;
  if (id >= 0) return (size_t) id < m->nlayers ? m->layers[id].oq : (hwt_qparams){0, 0};
  return input_desc(m, (size_t) (-1 - (long) id), &io) ? io.q : (hwt_qparams){0, 0};
}

size_t hwt_model_input_size(const hwt_model *m, size_t k) {
  hwt_graph_io io;
  return input_desc(m, k, &io) ? hwt_shape_size(io.shape) : 0;
}

size_t hwt_model_output_size(const hwt_model *m, size_t k) {
  if (k < m->noutputs && k < HWT_GRAPH_MAX_IO) return hwt_shape_size(hwt_model_value_shape(m, m->outputs[k].value));
  if (m->noutputs == 0 && k == 0 && m->nlayers > 0) return hwt_shape_size(m->layers[m->nlayers - 1].out);
  return 0;
}

void hwt_model_value_dims_string(const hwt_model *m, int id, char *buf, size_t len) {
  if (buf == NULL || len == 0) return;
  hwt_shape s = hwt_model_value_shape(m, id);
  char n[24];
  if (m->fixed_batch)
    snprintf(n, sizeof(n), "%u", m->fixed_batch);
  else
    snprintf(n, sizeof(n), "N");
  switch (hwt_model_value_rank(m, id)) {
    case 1: snprintf(buf, len, "[%s]", n); break;
    case 2: snprintf(buf, len, "[%s, %u]", n, s.c); break;
    case 3: snprintf(buf, len, "[%s, %u, %u]", n, s.c, s.w); break;
    case 4: snprintf(buf, len, "[%s, %u, %u, %u]", n, s.c, s.h, s.w); break;
    default: /* native: the internal NHWC order, h and w left out when both are 1 */
      if (s.h == 1 && s.w == 1)
        snprintf(buf, len, "[%s, %u]", n, s.c);
      else
        snprintf(buf, len, "[%s, %u, %u, %u]", n, s.h, s.w, s.c);
      break;
  }
}

/* ---- layouts ---- */

static bool layout_is_copy(hwt_shape s, uint8_t rank) { return rank <= 2 || (size_t) s.h * s.w == 1; }

void hwt_layout_to_internal(hwt_shape s, uint8_t rank, size_t batch, const float *src, float *dst) {
  size_t hw = (size_t) s.h * s.w, c = s.c, n = hw * c;
  if (layout_is_copy(s, rank)) {
    if (n != 0 && batch != 0) memcpy(dst, src, n * batch * sizeof(float));
    return;
  }
  for (size_t b = 0; b < batch; b++) {
    const float *x = src + b * n;
    float *y = dst + b * n;
    if (c == 3) { /* images: three planes interleaved, a loop the compiler vectorizes */
      for (size_t p = 0; p < hw; p++) {
        y[3 * p] = x[p];
        y[3 * p + 1] = x[hw + p];
        y[3 * p + 2] = x[2 * hw + p];
      }
      continue;
    }
    /* 64 x 64 tiles: the written rows stay in L1 (a plain channel-major loop costs a partial-line write each) */
    for (size_t p0 = 0; p0 < hw; p0 += 64)
      for (size_t c0 = 0; c0 < c; c0 += 64) {
        size_t pe = hw - p0 < 64 ? hw : p0 + 64, ce = c - c0 < 64 ? c : c0 + 64;
        for (size_t p = p0; p < pe; p++)
          for (size_t ch = c0; ch < ce; ch++) y[p * c + ch] = x[ch * hw + p];
      }
  }
}

void hwt_layout_to_external(hwt_shape s, uint8_t rank, size_t batch, const float *src, float *dst) {
  size_t hw = (size_t) s.h * s.w, c = s.c, n = hw * c;
  if (layout_is_copy(s, rank)) {
    if (n != 0 && batch != 0) memcpy(dst, src, n * batch * sizeof(float));
    return;
  }
  for (size_t b = 0; b < batch; b++) {
    const float *x = src + b * n;
    float *y = dst + b * n;
    for (size_t p = 0; p < hw; p++)
      for (size_t ch = 0; ch < c; ch++) y[ch * hw + p] = x[p * c + ch];
  }
}

/* ---- shape inference ---- */

/* "node 3 'conv1' (conv2d): <what>" (prefixed "<file>: " by hwt_model_finalize). */
__attribute__((format(printf, 5, 6))) static hwt_status node_err(char *err, size_t errlen, size_t i,
                                                               const hwt_layer *l, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  hwt_errf(err, errlen, "node %zu '%s' (%s): %s", i, l->name, hwt_layer_type_name(l->type), msg);
  return hwt_status_schema_error;
}

static bool is_binary(hwt_layer_type t) {
  return t == hwt_layer_add || t == hwt_layer_sub || t == hwt_layer_mul || t == hwt_layer_div ||
         t == hwt_layer_max || t == hwt_layer_min || t == hwt_layer_prelu;
}
static bool is_window(hwt_layer_type t) {
  return t == hwt_layer_conv || t == hwt_layer_dwconv || t == hwt_layer_maxpool || t == hwt_layer_avgpool;
}

/* "value 4 'conv2'", "graph input 0 'x'" for messages. */
static void value_name(const hwt_model *m, int id, char *buf, size_t len) {
  hwt_graph_io io;
  if (id >= 0 && (size_t) id < m->nlayers)
    snprintf(buf, len, "node %d '%s'", id, m->layers[id].name);
  else if (id < 0 && input_desc(m, (size_t) (-1 - (long) id), &io))
    snprintf(buf, len, "graph input %ld '%s'", -1 - (long) id, io.name[0] ? io.name : "input");
  else
    snprintf(buf, len, "value %d", id);
}

/* One spatial dim of a window op: conv (floor) or pool (ceil_mode: the ONNX rule, the last window starting
 * inside the input or the left padding). 0 when the window does not fit. */
static uint32_t window_out(uint32_t in, uint32_t pa, uint32_t pb, uint32_t k, uint32_t dil, uint32_t s, bool ceil) {
  uint64_t span = (uint64_t) in + pa + pb, ek = (uint64_t) dil * (k - 1) + 1;
  if (span < ek) return 0;
  uint64_t o = (span - ek) / s + 1;
  if (ceil && (span - ek) % s != 0) {
    o++;
    if ((o - 1) * s >= (uint64_t) in + pa) o--;
  }
  return o > UINT32_MAX ? 0 : (uint32_t) o;
}

/* b broadcasts to a: each dim of b equals a's or is 1. */
static bool broadcasts(hwt_shape a, hwt_shape b) {
  return (b.h == a.h || b.h == 1) && (b.w == a.w || b.w == 1) && (b.c == a.c || b.c == 1);
}

hwt_status hwt_model_infer_shapes(hwt_model *m, char *err, size_t errlen) {
  if (m->nlayers == 0) {
    hwt_errf(err, errlen, "the model has no layers");
    return hwt_status_schema_error;
  }
  size_t nin_graph = m->ninputs ? m->ninputs : 1;
  if (nin_graph > HWT_GRAPH_MAX_IO) {
    hwt_errf(err, errlen, "%zu graph inputs (at most %d)", m->ninputs, HWT_GRAPH_MAX_IO);
    return hwt_status_schema_error;
  }
  for (size_t k = 0; k < nin_graph; k++) {
    hwt_shape s = hwt_model_value_shape(m, HWT_INPUT_ID(k));
    if (hwt_shape_size(s) == 0) {
      hwt_errf(err, errlen, "graph input %zu: shape [%u, %u, %u] has a zero dimension", k, s.h, s.w, s.c);
      return hwt_status_schema_error;
    }
    if (hwt_shape_size(s) > MAX_ELEMENTS) {
      hwt_errf(err, errlen, "graph input %zu: shape [%u, %u, %u] has more than 2^31 elements (the limit of a tensor)",
               k, s.h, s.w, s.c);
      return hwt_status_schema_error;
    }
  }
  for (size_t i = 0; i < m->nlayers; i++) {
    hwt_layer *l = &m->layers[i];
    if ((unsigned) l->type >= hwt_layer_type_count) return node_err(err, errlen, i, l, "unknown node type");
    if (l->nin < 1 || l->nin > HWT_NODE_MAX_INPUTS)
      return node_err(err, errlen, i, l, "%d data inputs (1 to %d)", l->nin, HWT_NODE_MAX_INPUTS);
    hwt_shape is[HWT_NODE_MAX_INPUTS];
    for (int k = 0; k < l->nin; k++) {
      int id = l->inputs[k];
      if (id >= (int) i || id < HWT_INPUT_ID(nin_graph - 1))
        return node_err(err, errlen, i, l, "input %d is value %d, which is not an earlier node or a graph input", k,
                        id);
      is[k] = hwt_model_value_shape(m, id);
    }
    hwt_shape cur = is[0], o = cur;
    l->in = cur;
    if (is_window(l->type)) {
      uint32_t dh = l->dh ? l->dh : 1, dw = l->dw ? l->dw : 1;
      bool pool = l->type == hwt_layer_maxpool || l->type == hwt_layer_avgpool;
      if (l->kh == 0 || l->kw == 0 || l->sh == 0 || l->sw == 0)
        return node_err(err, errlen, i, l, "kernel and stride must be >= 1");
      if (pool) dh = dw = 1;
      uint64_t ekh = (uint64_t) dh * (l->kh - 1) + 1, ekw = (uint64_t) dw * (l->kw - 1) + 1;
      uint64_t ph = (uint64_t) cur.h + l->pad_t + l->pad_b, pw = (uint64_t) cur.w + l->pad_l + l->pad_r;
      if (ph < ekh || pw < ekw)
        return node_err(err, errlen, i, l, "kernel %llux%llu is larger than the padded input %llux%llu",
                        (unsigned long long) ekh, (unsigned long long) ekw, (unsigned long long) ph,
                        (unsigned long long) pw);
      if (l->pad_t >= ekh || l->pad_b >= ekh || l->pad_l >= ekw || l->pad_r >= ekw)
        return node_err(err, errlen, i, l, "padding must be smaller than the kernel");
      bool ceil = pool && l->ceil_mode;
      o.h = window_out(cur.h, l->pad_t, l->pad_b, l->kh, dh, l->sh, ceil);
      o.w = window_out(cur.w, l->pad_l, l->pad_r, l->kw, dw, l->sw, ceil);
      if (o.h == 0 || o.w == 0) return node_err(err, errlen, i, l, "no output positions");
    }
    char vn[192];
    switch (l->type) {
      case hwt_layer_fc:
        if (l->outputs == 0) return node_err(err, errlen, i, l, "'outputs' must be >= 1");
        o = (hwt_shape){1, 1, l->outputs};
        break;
      case hwt_layer_conv: {
        uint32_t g = l->groups ? l->groups : 1;
        if (l->outputs == 0) return node_err(err, errlen, i, l, "'outputs' must be >= 1");
        if (cur.c % g != 0 || l->outputs % g != 0)
          return node_err(err, errlen, i, l, "groups %u must divide the input channels %u and the outputs %u", g,
                          cur.c, l->outputs);
        o.c = l->outputs;
        break;
      }
      case hwt_layer_gavgpool: o = (hwt_shape){1, 1, cur.c}; break;
      case hwt_layer_softmax:
      case hwt_layer_log_softmax:
        if (l->axes & ~(HWT_AXIS_H | HWT_AXIS_W | HWT_AXIS_C))
          return node_err(err, errlen, i, l, "axes 0x%x: only H (1), W (2) and C (4) exist", l->axes);
        break;
      case hwt_layer_add:
      case hwt_layer_sub:
      case hwt_layer_mul:
      case hwt_layer_div:
      case hwt_layer_max:
      case hwt_layer_min:
      case hwt_layer_prelu:
        if (l->nin == 1) {
          if (hwt_shape_size(l->wshape) == 0)
            return node_err(err, errlen, i, l, "a constant operand needs a shape without zero dimensions");
          if (!broadcasts(cur, l->wshape))
            return node_err(err, errlen, i, l, "constant of shape [%u, %u, %u] does not broadcast to [%u, %u, %u]",
                            l->wshape.h, l->wshape.w, l->wshape.c, cur.h, cur.w, cur.c);
        } else if (l->nin == 2) {
          if (!broadcasts(cur, is[1])) {
            value_name(m, l->inputs[1], vn, sizeof(vn));
            return node_err(err, errlen, i, l, "shapes differ: [%u,%u,%u] and [%u,%u,%u] from %s (the second may "
                            "only have 1 where they differ)", cur.h, cur.w, cur.c, is[1].h, is[1].w, is[1].c, vn);
          }
        } else {
          return node_err(err, errlen, i, l, "%d inputs (1 with a constant operand, else 2)", l->nin);
        }
        break;
      case hwt_layer_clip:
        if (isnan(l->alpha) || isnan(l->beta) || l->alpha > l->beta)
          return node_err(err, errlen, i, l, "bounds [%g, %g] must be ordered numbers", (double) l->alpha,
                          (double) l->beta);
        break;
      case hwt_layer_unary:
        if ((unsigned) l->fn >= hwt_unary_fn_count)
          return node_err(err, errlen, i, l, "unknown function %d", (int) l->fn);
        if ((l->fn == hwt_unary_elu || l->fn == hwt_unary_selu || l->fn == hwt_unary_pow) && !isfinite(l->alpha))
          return node_err(err, errlen, i, l, "%s: alpha %g must be finite", hwt_unary_fn_name(l->fn),
                          (double) l->alpha);
        if (l->fn == hwt_unary_selu && !isfinite(l->beta))
          return node_err(err, errlen, i, l, "selu: gamma %g must be finite", (double) l->beta);
        break;
      case hwt_layer_leaky_relu:
        if (!isfinite(l->alpha)) return node_err(err, errlen, i, l, "alpha %g must be finite", (double) l->alpha);
        break;
      case hwt_layer_hard_sigmoid:
        if (!isfinite(l->alpha) || !isfinite(l->beta))
          return node_err(err, errlen, i, l, "alpha %g and beta %g must be finite", (double) l->alpha,
                          (double) l->beta);
        break;
      case hwt_layer_concat: {
        uint64_t c = 0;
        for (int k = 0; k < l->nin; k++) {
          if (is[k].h != cur.h || is[k].w != cur.w) {
            value_name(m, l->inputs[k], vn, sizeof(vn));
            return node_err(err, errlen, i, l, "input %d (%s) is %ux%u, input 0 is %ux%u (concat joins channels of "
                            "equal height and width)", k, vn, is[k].h, is[k].w, cur.h, cur.w);
          }
          c += is[k].c;
        }
        if (c > UINT32_MAX) return node_err(err, errlen, i, l, "too many channels (%llu)", (unsigned long long) c);
        o.c = (uint32_t) c;
        break;
      }
      case hwt_layer_reshape:
        o = l->out;
        if (hwt_shape_size(o) != hwt_shape_size(cur))
          return node_err(err, errlen, i, l, "output [%u, %u, %u] holds %zu elements, the input [%u, %u, %u] %zu",
                          o.h, o.w, o.c, hwt_shape_size(o), cur.h, cur.w, cur.c, hwt_shape_size(cur));
        break;
      case hwt_layer_transpose: {
        uint8_t r = hwt_model_value_rank(m, l->inputs[0]);
        if (r < 2 || r > 4) {
          value_name(m, l->inputs[0], vn, sizeof(vn));
          return node_err(err, errlen, i, l, "input %s has logical rank %u (transpose reads rank 2 to 4)", vn, r);
        }
        if (l->rank != r)
          return node_err(err, errlen, i, l, "perm has %u entries, the input's rank is %u", l->rank, r);
        unsigned seen = 0;
        for (unsigned d = 0; d < 4; d++) {
          if (d >= r ? l->perm[d] != 0 : l->perm[d] >= r || (seen >> l->perm[d] & 1u))
            return node_err(err, errlen, i, l, "perm [%u, %u, %u, %u] is not a permutation of 0 to %u", l->perm[0],
                            l->perm[1], l->perm[2], l->perm[3], r - 1u);
          if (d < r) seen |= 1u << l->perm[d];
        }
        if (l->perm[0] != 0)
          return node_err(err, errlen, i, l, "perm[0] = %u moves the batch dimension (only perm[0] = 0 is supported)",
                          l->perm[0]);
        /* logical dims after the batch: rank 4 [C, H, W], rank 3 [C, L], rank 2 [K] */
        uint32_t id[4] = {1, cur.c, r == 4 ? cur.h : cur.w, cur.w}, od[4];
        for (unsigned d = 0; d < r; d++) od[d] = id[l->perm[d]];
        o = r == 4 ? (hwt_shape){od[2], od[3], od[1]} : r == 3 ? (hwt_shape){1, od[2], od[1]} : cur;
        break;
      }
      default: break; /* elementwise: the input's shape */
    }
    if (l->type != hwt_layer_concat && !is_binary(l->type) && l->nin != 1)
      return node_err(err, errlen, i, l, "%d inputs (this type reads 1)", l->nin);
    if (hwt_shape_size(o) > MAX_ELEMENTS)
      return node_err(err, errlen, i, l, "output [%u, %u, %u] has more than 2^31 elements (the limit of a tensor)",
                      o.h, o.w, o.c);
    if (hwt_shape_size(o) == 0)
      return node_err(err, errlen, i, l, "output [%u, %u, %u] has a zero dimension", o.h, o.w, o.c);
    l->out = o;
    if (hwt_layer_weight_count(l) > MAX_ELEMENTS)
      return node_err(err, errlen, i, l, "more than 2^31 weights (the limit of a tensor)");
  }
  return hwt_status_ok;
}

/* ---- finalize ---- */

bool hwt_layer_type_q8_capable(hwt_layer_type t) {
  switch (t) {
    case hwt_layer_fc:
    case hwt_layer_conv:
    case hwt_layer_dwconv:
    case hwt_layer_relu:
    case hwt_layer_relu6:
    case hwt_layer_maxpool:
    case hwt_layer_avgpool:
    case hwt_layer_gavgpool:
    case hwt_layer_add:
    case hwt_layer_concat:
    case hwt_layer_reshape:
    case hwt_layer_identity:
    case hwt_layer_quantize: return true;
    default: return false;
  }
}

static bool q_valid(hwt_qparams q) {
  return q.scale > 0 && isfinite(q.scale) && q.zero_point >= -128 && q.zero_point <= 127;
}

/* Does shape s fit logical rank r (rank 3: h == 1; rank 2: h == w == 1; rank 1: one element)? */
static bool rank_fits(hwt_shape s, uint8_t r) {
  switch (r) {
    case 0:
    case 4: return true;
    case 3: return s.h == 1;
    case 2: return s.h == 1 && s.w == 1;
    case 1: return s.h == 1 && s.w == 1 && s.c == 1;
    default: return false;
  }
}

#define FAIL(...)                                      \
  do {                                                 \
    char m_[600];                                      \
    snprintf(m_, sizeof(m_), __VA_ARGS__);             \
    hwt_errf(err, errlen, "%s: %s", file, m_);         \
    return hwt_status_schema_error;                    \
  } while (0)
#define NODE_FAIL(i, l, ...)                                     \
  do {                                                           \
    char n_[600];                                                \
    node_err(n_, sizeof(n_), (i), (l), __VA_ARGS__);             \
    hwt_errf(err, errlen, "%s: %s", file, n_);                   \
    return hwt_status_schema_error;                              \
  } while (0)

hwt_status hwt_model_finalize(hwt_model *m, const char *file, char *err, size_t errlen) {
  if (file == NULL) file = m->name[0] ? m->name : "model";
  if (m->nlayers == 0 || m->layers == NULL) FAIL("the model has no layers");
  /* Defaults. */
  if (m->ninputs == 0) {
    hwt_graph_io *in = &m->inputs[0];
    memset(in, 0, sizeof(*in));
    snprintf(in->name, sizeof(in->name), "input");
    in->value = HWT_INPUT_ID(0);
    in->shape = m->input;
    in->q8 = m->precision == hwt_prec_int8;
    in->q = m->iq;
    m->ninputs = 1;
  }
  if (m->ninputs > HWT_GRAPH_MAX_IO) FAIL("%zu graph inputs (at most %d)", m->ninputs, HWT_GRAPH_MAX_IO);
  if (m->noutputs > HWT_GRAPH_MAX_IO) FAIL("%zu graph outputs (at most %d)", m->noutputs, HWT_GRAPH_MAX_IO);
  for (size_t k = 0; k < m->ninputs; k++) {
    hwt_graph_io *in = &m->inputs[k];
    in->value = HWT_INPUT_ID(k);
    if (in->name[0] == '\0') snprintf(in->name, sizeof(in->name), k == 0 ? "input" : "input%zu", k);
    if (in->rank > 4) FAIL("graph input %zu '%s': rank %u (0 to 4)", k, in->name, in->rank);
    if (!rank_fits(in->shape, in->rank))
      FAIL("graph input %zu '%s': shape [%u, %u, %u] does not fit rank %u", k, in->name, in->shape.h, in->shape.w,
           in->shape.c, in->rank);
    if (in->q8 && !q_valid(in->q))
      FAIL("graph input %zu '%s': int8 input needs a finite scale > 0 and a zero point in [-128, 127]", k, in->name);
  }
  m->input = m->inputs[0].shape;
  m->iq = m->inputs[0].q;
  for (size_t i = 0; i < m->nlayers; i++) {
    hwt_layer *l = &m->layers[i];
    if ((unsigned) l->type >= hwt_layer_type_count) NODE_FAIL(i, l, "unknown node type %d", (int) l->type);
    if (l->nin == 0) {
      l->inputs[0] = i > 0 ? (int) i - 1 : HWT_INPUT_ID(0);
      l->nin = 1;
    }
  }
  /* Validation: inputs, arity, parameters, int8 rules. */
  bool any_wq = false;
  for (size_t i = 0; i < m->nlayers; i++) {
    hwt_layer *l = &m->layers[i];
    if (l->nin < 1 || l->nin > HWT_NODE_MAX_INPUTS)
      NODE_FAIL(i, l, "%d data inputs (1 to %d)", l->nin, HWT_NODE_MAX_INPUTS);
    for (int k = 0; k < l->nin; k++) {
      int id = l->inputs[k];
      if (id >= (int) i)
        NODE_FAIL(i, l, "input %d is value %d, not an earlier node (nodes are in topological order)", k, id);
      if (id < HWT_INPUT_ID(m->ninputs - 1))
        NODE_FAIL(i, l, "input %d is graph input %ld, but the graph has %zu", k, -1 - (long) id, m->ninputs);
    }
    bool binary = is_binary(l->type);
    if (binary) {
      bool konst = l->w != NULL;
      if (konst && l->nin != 1) NODE_FAIL(i, l, "%d inputs with a constant operand (needs 1)", l->nin);
      if (!konst && l->nin != 2) NODE_FAIL(i, l, "%d inputs and no constant operand (needs 2)", l->nin);
      if (l->const_first && !konst) NODE_FAIL(i, l, "'const_first' without a constant operand");
    } else if (l->type != hwt_layer_concat && l->nin != 1) {
      NODE_FAIL(i, l, "%d inputs (this type reads 1)", l->nin);
    }
    bool weighted = l->type == hwt_layer_fc || l->type == hwt_layer_conv || l->type == hwt_layer_dwconv;
    if (weighted) {
      bool f32 = l->w != NULL && l->b != NULL, i8 = l->wq != NULL && l->bq != NULL && l->wscale != NULL;
      if (l->wq != NULL && !i8) NODE_FAIL(i, l, "int8 weights need int32 biases and per-channel weight scales");
      if (!f32 && !i8) NODE_FAIL(i, l, "parameters missing (weights and biases)");
      any_wq |= l->wq != NULL;
    } else if (l->type == hwt_layer_affine) {
      if (l->w == NULL || l->b == NULL) NODE_FAIL(i, l, "parameters missing (scale and shift per channel)");
    } else if (l->wq != NULL || l->bq != NULL || l->wscale != NULL || l->b != NULL) {
      NODE_FAIL(i, l, "this type has no %s parameters", l->wq || l->bq || l->wscale ? "int8" : "bias");
    } else if (!binary && l->w != NULL) {
      NODE_FAIL(i, l, "this type has no weights");
    }
    if ((unsigned) l->act > hwt_act_clip) NODE_FAIL(i, l, "unknown activation %d", (int) l->act);
    if (l->act != hwt_act_none && !weighted)
      NODE_FAIL(i, l, "a fused activation applies to fully_connected, conv2d and depthwise_conv2d only");
    if (l->act == hwt_act_clip && (isnan(l->act_lo) || isnan(l->act_hi) || l->act_lo > l->act_hi))
      NODE_FAIL(i, l, "clip bounds [%g, %g] must be ordered numbers", (double) l->act_lo, (double) l->act_hi);
    if (l->rank > 4) NODE_FAIL(i, l, "rank %u (0 to 4)", l->rank);
    if (l->q8) {
      if (!hwt_layer_type_q8_capable(l->type)) NODE_FAIL(i, l, "int8 output is not supported for this type (it stays float)");
      if (!q_valid(l->oq))
        NODE_FAIL(i, l, "int8 output needs a finite scale > 0 and a zero point in [-128, 127] (scale %g, zero "
                  "point %d)", (double) l->oq.scale, (int) l->oq.zero_point);
    } else if (l->type == hwt_layer_quantize) {
      NODE_FAIL(i, l, "a quantize node outputs int8 (q8 with its scale and zero point)");
    }
    if (l->type == hwt_layer_dequantize && !hwt_model_value_q8(m, l->inputs[0])) {
      char vn[192];
      value_name(m, l->inputs[0], vn, sizeof(vn));
      NODE_FAIL(i, l, "its input %s is not int8", vn);
    }
    if (l->type == hwt_layer_dequantize && !q_valid(hwt_model_value_q(m, l->inputs[0])))
      NODE_FAIL(i, l, "its input has no valid int8 scale and zero point");
  }
  if (any_wq) m->precision = hwt_prec_int8;
  char msg[600];
  hwt_status st = hwt_model_infer_shapes(m, msg, sizeof(msg));
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "%s: %s", file, msg);
    return st;
  }
  for (size_t i = 0; i < m->nlayers; i++) {
    hwt_layer *l = &m->layers[i];
    if (!rank_fits(l->out, l->rank))
      NODE_FAIL(i, l, "output [%u, %u, %u] does not fit rank %u", l->out.h, l->out.w, l->out.c, l->rank);
  }
  if (m->noutputs == 0) {
    hwt_graph_io *o = &m->outputs[0];
    memset(o, 0, sizeof(*o));
    o->value = (int) m->nlayers - 1;
    m->noutputs = 1;
  }
  for (size_t k = 0; k < m->noutputs; k++) {
    hwt_graph_io *o = &m->outputs[k];
    if (o->value >= (int) m->nlayers || o->value < HWT_INPUT_ID(m->ninputs - 1))
      FAIL("graph output %zu '%s': value %d does not exist", k, o->name, o->value);
    if (o->name[0] == '\0') {
      if (o->value >= 0)
        snprintf(o->name, sizeof(o->name), "%s", m->layers[o->value].name);
      else
        snprintf(o->name, sizeof(o->name), "%s", m->inputs[-1 - o->value].name);
    }
    o->shape = hwt_model_value_shape(m, o->value);
    if (o->rank == 0) o->rank = hwt_model_value_rank(m, o->value);
    if (o->rank > 4 || !rank_fits(o->shape, o->rank))
      FAIL("graph output %zu '%s': shape [%u, %u, %u] does not fit rank %u", k, o->name, o->shape.h, o->shape.w,
           o->shape.c, o->rank);
    o->q8 = hwt_model_value_q8(m, o->value);
    o->q = hwt_model_value_q(m, o->value);
  }
  return hwt_status_ok;
}
