/* SPDX-License-Identifier: Apache-2.0 */
/* Depthwise convolution plans (hwtune/dwconv.h): pack weights, bias and scales at create, pick the row kernel of
 * the best registered ISA (dwconv.inc) the requested level allows, and run rows, on the pool when it pays.
 *
 * qs8 has two packings. The template's: weights widened to int16 [taps][channels], bias and scales as given.
 * The quads' (HWT_DWCONV_QS8_PACKED rows, 3x3 and 5x5): per block of 64 channels, per kernel column kx, per group
 * g of four kernel rows, per q in 0..3, 64 bytes where byte 16L + 4i + j is w[4g + j][kx][16L + 4q + i] (0 past
 * the kernel or the channels); bias and scales in the same channel order per block (entry 16q + 4L + i), the bias
 * with -(input_zero_point + 128) * sum(w) folded in (the kernel multiplies inputs flipped to unsigned), the scales
 * finite (pack_quads). */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dwconv/dwconv_ukernel.h"
#include "hwtune/conv.h"
#include "hwtune/dwconv.h"

typedef struct dw_row_info {
  hwt_isa isa;
  hwt_dwconv_row_fn f32, qs8;
} dw_row_info;

#define HWT_DWCONV_UKERNEL(isa_) {hwt_isa_##isa_, hwt_dwconv_f32_row__##isa_, hwt_dwconv_qs8_row__##isa_},
#define HWT_DWCONV_QS8_PACKED(isa_)
static const dw_row_info dw_rows[] = {
#include "dwconv/dwconv.inc"
};
#undef HWT_DWCONV_QS8_PACKED
#undef HWT_DWCONV_UKERNEL

typedef struct dw_packed_info {
  hwt_isa isa;
  hwt_dwconv_row_fn qs8;
} dw_packed_info;

#define HWT_DWCONV_UKERNEL(isa_)
#define HWT_DWCONV_QS8_PACKED(isa_) {hwt_isa_##isa_, hwt_dwconv_qs8_packed_row__##isa_},
static const dw_packed_info dw_packed[] = {
#include "dwconv/dwconv.inc"
    {hwt_isa_count, NULL}, /* keeps the array non-empty where no packed row is registered */
};
#undef HWT_DWCONV_UKERNEL
#undef HWT_DWCONV_QS8_PACKED

enum { DW_QUAD_CB = 64 }; /* channels per block of the quads packing */

/* A second thread costs a few microseconds to wake: split only past this many multiply-adds per thread. */
enum { DW_MACS_PER_THREAD = 1 << 18 };

typedef struct dw_common {
  hwt_dwconv_shape s;
  hwt_isa isa;
  hwt_dwconv_row_fn row;
  size_t bytes;
  void *mem; /* one allocation: weights, bias, scales */
} dw_common;

struct hwt_dwconv_f32_plan {
  dw_common c;
  const float *w, *bias;
  float min, max;
};

struct hwt_dwconv_qs8_plan {
  dw_common c;
  const int16_t *w;  /* widened at create: the template's kernels multiply in int16 */
  const int8_t *wq;  /* or the quads packing (packed rows) */
  const int32_t *bias;
  const float *scale;
  int32_t izp;
  float ozp, qmin, qmax;
};

static const dw_row_info *pick_row(hwt_isa isa) {
  if (isa >= hwt_isa_count || !hwt_isa_available(isa)) return NULL;
  uint32_t allowed = hwt_isa_required_features(isa);
  const dw_row_info *best = NULL;
  for (size_t i = 0; i < sizeof(dw_rows) / sizeof(dw_rows[0]); i++) {
    uint32_t need = hwt_isa_required_features(dw_rows[i].isa);
    if ((need & ~allowed) != 0) continue;
    if (best == NULL || hwt_isa_vector_bits(dw_rows[i].isa) > hwt_isa_vector_bits(best->isa)) best = &dw_rows[i];
  }
  return best;
}

/* The packed qs8 row the requested level allows, if the shape is one it computes. */
static const dw_packed_info *pick_packed(hwt_isa isa, const hwt_dwconv_shape *s) {
  if (!(s->kh == s->kw && (s->kh == 3 || s->kh == 5))) return NULL;
  if (isa >= hwt_isa_count || !hwt_isa_available(isa)) return NULL;
  uint32_t allowed = hwt_isa_required_features(isa);
  for (size_t i = 0; dw_packed[i].qs8 != NULL; i++)
    if ((hwt_isa_required_features(dw_packed[i].isa) & ~allowed) == 0) return &dw_packed[i];
  return NULL;
}

/* The quads packing (top of this file) into w (blocks x kw x groups x 256 bytes), bias and scales (blocks x 64). */
static void pack_quads(const hwt_dwconv_shape *s, const int8_t *w, const int32_t *bias, const float *scale,
                       int32_t izp, int8_t *pw, int32_t *pb, float *ps) {
  const size_t nc = s->channels, kh = s->kh, kw = s->kw, groups = (kh + 3) / 4;
  const size_t blocks = (nc + DW_QUAD_CB - 1) / DW_QUAD_CB;
  memset(pw, 0, blocks * kw * groups * 4 * DW_QUAD_CB);
  memset(pb, 0, blocks * DW_QUAD_CB * sizeof *pb);
  memset(ps, 0, blocks * DW_QUAD_CB * sizeof *ps);
  for (size_t ch = 0; ch < nc; ch++) {
    size_t blk = ch / DW_QUAD_CB, c = ch % DW_QUAD_CB, lane = c / 16, q = (c % 16) / 4, i = c % 4;
    uint32_t sum = 0;
    for (size_t ky = 0; ky < kh; ky++)
      for (size_t kx = 0; kx < kw; kx++) {
        int8_t v = w[(ky * kw + kx) * nc + ch];
        sum += (uint32_t) (int32_t) v;
        size_t g = ky / 4, j = ky % 4;
        pw[(((blk * kw + kx) * groups + g) * 4 + q) * DW_QUAD_CB + lane * 16 + i * 4 + j] = v;
      }
    size_t at = blk * DW_QUAD_CB + q * 16 + lane * 4 + i;
    /* int32 arithmetic modulo 2^32, as the accumulator's */
    pb[at] = (int32_t) ((uint32_t) (bias ? bias[ch] : 0) - (uint32_t) (izp + 128) * sum);
    /* acc * scale is NaN only for a NaN scale (every output is then the zero point: as with scale 0) or for 0 x inf
     * (0, and any other acc saturates: as with FLT_MAX), so the kernel never sees a NaN */
    ps[at] = isnan(scale[ch]) ? 0.0f : isinf(scale[ch]) ? FLT_MAX : scale[ch];
  }
}

static bool shape_ok(const hwt_dwconv_shape *s) {
  return s != NULL && s->kh >= 1 && s->kw >= 1 && s->sh >= 1 && s->sw >= 1 && s->channels >= 1 &&
         s->channels <= ((size_t) 1 << 28) && s->kh <= 1024 && s->kw <= 1024;
}

static hwt_status common_init(dw_common *c, const hwt_dwconv_shape *s, hwt_isa isa, size_t bytes) {
  const dw_row_info *r = pick_row(isa);
  if (r == NULL) return hwt_status_unsupported;
  c->s = *s;
  c->isa = r->isa;
  c->bytes = bytes;
  c->mem = aligned_alloc(64, (bytes + 63) / 64 * 64);
  return c->mem == NULL ? hwt_status_out_of_memory : hwt_status_ok;
}

hwt_status hwt_dwconv_f32_create(const hwt_dwconv_shape *shape, const float *w, const float *bias, float min,
                                 float max, hwt_isa isa, hwt_dwconv_f32_plan **out) {
  if (out == NULL) return hwt_status_invalid_argument;
  *out = NULL;
  if (!shape_ok(shape) || w == NULL || isnan(min) || isnan(max) || min > max) return hwt_status_invalid_argument;
  hwt_dwconv_f32_plan *p = calloc(1, sizeof *p);
  if (p == NULL) return hwt_status_out_of_memory;
  size_t nc = shape->channels, taps = (size_t) shape->kh * shape->kw;
  hwt_status st = common_init(&p->c, shape, isa, (taps + 1) * nc * sizeof(float));
  if (st != hwt_status_ok) {
    free(p);
    return st;
  }
  p->c.row = pick_row(isa)->f32;
  float *pw = p->c.mem, *pb = pw + taps * nc;
  memcpy(pw, w, taps * nc * sizeof(float));
  for (size_t i = 0; i < nc; i++) pb[i] = bias ? bias[i] : 0.0f;
  p->w = pw;
  p->bias = pb;
  p->min = min;
  p->max = max;
  *out = p;
  return hwt_status_ok;
}

hwt_status hwt_dwconv_qs8_create(const hwt_dwconv_shape *shape, const int8_t *w, const int32_t *bias,
                                 const hwt_qs8_params *params, hwt_isa isa, hwt_dwconv_qs8_plan **out) {
  if (out == NULL) return hwt_status_invalid_argument;
  *out = NULL;
  if (!shape_ok(shape) || w == NULL || params == NULL || !(params->input_scale > 0) || !(params->output_scale > 0) ||
      params->output_min > params->output_max)
    return hwt_status_invalid_argument;
  size_t nc = shape->channels, taps = (size_t) shape->kh * shape->kw;
  for (size_t i = 0; i < nc; i++) {
    float ks = params->kernel_scales ? params->kernel_scales[i] : params->kernel_scale;
    if (!(ks >= 0) || isinf(ks)) return hwt_status_invalid_argument;
  }
  hwt_dwconv_qs8_plan *p = calloc(1, sizeof *p);
  if (p == NULL) return hwt_status_out_of_memory;
  const dw_packed_info *pk = pick_packed(isa, shape);
  size_t blocks = (nc + DW_QUAD_CB - 1) / DW_QUAD_CB, groups = (shape->kh + 3) / 4;
  size_t wbytes = pk ? blocks * shape->kw * groups * 4 * DW_QUAD_CB : (taps * nc * sizeof(int16_t) + 3) / 4 * 4;
  size_t nb = pk ? blocks * DW_QUAD_CB : nc; /* bias and scale entries */
  hwt_status st = common_init(&p->c, shape, isa, wbytes + 2 * nb * sizeof(int32_t));
  if (st != hwt_status_ok) {
    free(p);
    return st;
  }
  p->c.row = pick_row(isa)->qs8;
  if (pk != NULL) {
    int8_t *pw = p->c.mem;
    int32_t *pb = (int32_t *) (void *) ((char *) p->c.mem + wbytes);
    float *ps = (float *) (void *) (pb + nb);
    float *scale = malloc(nc * sizeof *scale);
    if (scale == NULL) {
      hwt_dwconv_qs8_destroy(p);
      return hwt_status_out_of_memory;
    }
    for (size_t i = 0; i < nc; i++) {
      float ks = params->kernel_scales ? params->kernel_scales[i] : params->kernel_scale;
      scale[i] = params->input_scale * ks / params->output_scale; /* the runtime's order, as below */
    }
    pack_quads(shape, w, bias, scale, params->input_zero_point, pw, pb, ps);
    free(scale);
    p->c.row = pk->qs8;
    p->c.isa = pk->isa;
    p->w = NULL;
    p->wq = pw;
    p->bias = pb;
    p->scale = ps;
    p->izp = params->input_zero_point;
    p->ozp = (float) params->output_zero_point;
    p->qmin = (float) params->output_min;
    p->qmax = (float) params->output_max;
    *out = p;
    return hwt_status_ok;
  }
  int16_t *pw = p->c.mem;
  int32_t *pb = (int32_t *) (void *) ((char *) p->c.mem + wbytes);
  float *ps = (float *) (void *) (pb + nc);
  for (size_t i = 0; i < taps * nc; i++) pw[i] = w[i];
  for (size_t i = 0; i < nc; i++) {
    pb[i] = bias ? bias[i] : 0;
    float ks = params->kernel_scales ? params->kernel_scales[i] : params->kernel_scale;
    float s = params->input_scale * ks; /* the runtime's order: (input_scale * kernel_scale) / output_scale */
    ps[i] = s / params->output_scale;
  }
  p->w = pw;
  p->bias = pb;
  p->scale = ps;
  p->izp = params->input_zero_point;
  p->ozp = (float) params->output_zero_point;
  p->qmin = (float) params->output_min;
  p->qmax = (float) params->output_max;
  *out = p;
  return hwt_status_ok;
}

typedef struct dw_task {
  hwt_dwconv_row_args base;
  hwt_dwconv_row_fn row;
  size_t oh, elem, in_image, out_image, out_row;
  const char *in;
  char *out;
} dw_task;

static void dw_rows_run(const dw_task *t, size_t r0, size_t r1) {
  hwt_dwconv_row_args a = t->base;
  for (size_t r = r0; r < r1; r++) {
    size_t n = r / t->oh;
    a.oy = r % t->oh;
    a.in = t->in + n * t->in_image;
    a.out = t->out + (n * t->out_image + a.oy * t->out_row);
    t->row(&a);
  }
}

static void dw_task_fn(void *ctx, size_t i) {
  const dw_task *t = ctx;
  dw_rows_run(t, i, i + 1);
}

static void dw_run(const dw_common *c, dw_task *t, size_t batch, size_t h, size_t w, const void *in, void *out,
                   pthreadpool_t pool) {
  const hwt_dwconv_shape *s = &c->s;
  size_t oh = hwt_conv_out_size(h, s->kh, s->sh, s->pad_t, s->pad_b);
  size_t ow = hwt_conv_out_size(w, s->kw, s->sw, s->pad_l, s->pad_r);
  if (batch == 0 || oh == 0 || ow == 0) return;
  hwt_dwconv_row_args *a = &t->base;
  a->channels = s->channels;
  a->ih = h;
  a->iw = w;
  a->ow = ow;
  a->kh = s->kh;
  a->kw = s->kw;
  a->sh = s->sh;
  a->sw = s->sw;
  a->pad_t = s->pad_t;
  a->pad_l = s->pad_l;
  t->row = c->row;
  t->oh = oh;
  t->in = in;
  t->out = out;
  t->in_image = h * w * s->channels * t->elem;
  t->out_row = ow * s->channels * t->elem;
  t->out_image = oh * t->out_row;
  size_t rows = batch * oh;
  size_t threads = pool ? pthreadpool_get_threads_count(pool) : 1;
  double macs = (double) rows * ow * s->channels * s->kh * s->kw;
  if (threads > 1 && rows > 1 && macs >= 2.0 * DW_MACS_PER_THREAD)
    pthreadpool_parallelize_1d(pool, dw_task_fn, t, rows, 0);
  else
    dw_rows_run(t, 0, rows);
}

void hwt_dwconv_f32_run(const hwt_dwconv_f32_plan *p, size_t batch, size_t h, size_t w, const float *in, float *out,
                        pthreadpool_t pool) {
  dw_task t = {.elem = sizeof(float)};
  t.base.w = p->w;
  t.base.bias = p->bias;
  t.base.min = p->min;
  t.base.max = p->max;
  dw_run(&p->c, &t, batch, h, w, in, out, pool);
}

void hwt_dwconv_qs8_run(const hwt_dwconv_qs8_plan *p, size_t batch, size_t h, size_t w, const int8_t *in,
                        int8_t *out, pthreadpool_t pool) {
  dw_task t = {.elem = 1};
  t.base.w = p->wq ? (const void *) p->wq : (const void *) p->w;
  t.base.bias = p->bias;
  t.base.scale = p->scale;
  t.base.input_zero_point = p->izp;
  t.base.output_zero_point = p->ozp;
  t.base.qmin = p->qmin;
  t.base.qmax = p->qmax;
  dw_run(&p->c, &t, batch, h, w, in, out, pool);
}

void hwt_dwconv_f32_destroy(hwt_dwconv_f32_plan *p) {
  if (p == NULL) return;
  free(p->c.mem);
  free(p);
}
void hwt_dwconv_qs8_destroy(hwt_dwconv_qs8_plan *p) {
  if (p == NULL) return;
  free(p->c.mem);
  free(p);
}
size_t hwt_dwconv_f32_plan_bytes(const hwt_dwconv_f32_plan *p) { return p ? sizeof *p + p->c.bytes : 0; }
size_t hwt_dwconv_qs8_plan_bytes(const hwt_dwconv_qs8_plan *p) { return p ? sizeof *p + p->c.bytes : 0; }
hwt_isa hwt_dwconv_f32_plan_isa(const hwt_dwconv_f32_plan *p) { return p->c.isa; }
hwt_isa hwt_dwconv_qs8_plan_isa(const hwt_dwconv_qs8_plan *p) { return p->c.isa; }
