/* SPDX-License-Identifier: Apache-2.0 */
/* Dense KxK convolution as im2col tiles fed to the GEMM plans (hwtune/conv.h): each thread copies a tile of
 * output pixels' receptive fields into its own workspace slice, then runs the GEMM on it, pool-less.
 * fp32 interior pixels (the whole receptive field inside the image) skip the copy: for one kernel row ky, the
 * kw x cin inputs of consecutive output pixels are rows of a matrix read in place, sw x cin floats apart, so
 * the gemm_f32 micro-kernels run on it directly, one pass per ky accumulating in C (still in L1). */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "driver/gemm_f32_ukernel.h"
#include "hwt_common.h"
#include "hwtune/conv.h"

/* Tile rows are a multiple of this: a multiple of every MR we register (4, 6, 8, 16...), so the GEMM's row
 * groups never straddle a tile edge more than at the end of the image. */
enum { TILE_ALIGN = 48 };

static size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }
static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

size_t hwt_conv_out_size(size_t in, uint32_t k, uint32_t stride, uint32_t pad_before, uint32_t pad_after) {
  size_t padded = in + pad_before + pad_after;
  if (stride == 0 || k == 0 || padded < k) return 0;
  return (padded - k) / stride + 1;
}

/* What fp32 and qs8 share: the shape, the workspace and its tiling. */
typedef struct conv_common {
  hwt_conv_shape s;
  size_t k;            /* kh * kw * cin: the GEMM's K and the workspace row length */
  size_t es;           /* element bytes */
  int pad_byte;        /* what a pixel outside the image reads, as a byte: 0, or the input zero point */
  size_t tile;         /* pixels per tile (workspace rows per slice) */
  size_t slices;
  unsigned char *ws;   /* slices x tile x k elements */
  size_t bytes;
} conv_common;

static bool common_init(conv_common *c, const hwt_conv_shape *s, size_t es, int pad_byte, size_t max_threads) {
  if (s == NULL || s->kh == 0 || s->kw == 0 || s->sh == 0 || s->sw == 0 || s->cin == 0 || s->cout == 0) {
    hwt_log_verbose("conv_create: invalid shape");
    return false;
  }
  if (s->cin > ((size_t) 1 << 24) || s->cout > ((size_t) 1 << 24) || s->kh > 1024 || s->kw > 1024) {
    hwt_log_verbose("conv_create: shape too large (cin=%zu cout=%zu kh=%u kw=%u)", s->cin, s->cout, s->kh, s->kw);
    return false;
  }
  c->s = *s;
  c->k = (size_t) s->kh * s->kw * s->cin;
  c->es = es;
  c->pad_byte = pad_byte;
  c->slices = max_threads ? max_threads : 1;
  /* A tile of A of about an eighth of L2: written by im2col, then read once per NR panel of the GEMM while it
   * is still in L2 (and mostly in L1 for small K). */
  size_t row_b = c->k * es, budget = (size_t) hwt_kernels_cache_budget().l2 / 8;
  size_t tile = budget / row_b;
  tile = tile < TILE_ALIGN ? TILE_ALIGN : tile - tile % TILE_ALIGN;
  c->tile = tile;
  c->ws = hwt_alloc_big(c->slices * tile * row_b + 64) /* + kernels reading a vector past a row */;
  c->bytes = c->slices * tile * row_b;
  return true;
}

/* im2col of output pixels [p0, p0 + rows) (flat over batch x oh x ow) into dst (rows x k elements). */
static void im2col(const conv_common *c, const unsigned char *in, size_t h, size_t w, size_t oh, size_t ow,
                   size_t p0, size_t rows, unsigned char *dst) {
  const hwt_conv_shape *s = &c->s;
  const size_t cb = s->cin * c->es, rb = s->kw * cb, row_b = c->k * c->es;
  size_t img_px = oh * ow, b = p0 / img_px, rem = p0 % img_px, oy = rem / ow, ox = rem % ow;
  for (size_t r = 0; r < rows; r++) {
    unsigned char *d = dst + r * row_b;
    const unsigned char *img = in + b * h * w * cb;
    const long iy0 = (long) (oy * s->sh) - s->pad_t, ix0 = (long) (ox * s->sw) - s->pad_l;
    const bool x_inside = ix0 >= 0 && ix0 + (long) s->kw <= (long) w;
    for (uint32_t ky = 0; ky < s->kh; ky++, d += rb) {
      const long iy = iy0 + ky;
      if (iy < 0 || iy >= (long) h) {
        memset(d, c->pad_byte, rb);
        continue;
      }
      const unsigned char *src = img + (size_t) iy * w * cb;
      if (x_inside) {
        memcpy(d, src + (size_t) ix0 * cb, rb);
        continue;
      }
      for (uint32_t kx = 0; kx < s->kw; kx++) {
        const long ix = ix0 + kx;
        if (ix < 0 || ix >= (long) w)
          memset(d + kx * cb, c->pad_byte, cb);
        else
          memcpy(d + kx * cb, src + (size_t) ix * cb, cb);
      }
    }
    if (++ox == ow) {
      ox = 0;
      if (++oy == oh) {
        oy = 0;
        b++;
      }
    }
  }
}

typedef void (*tile_gemm_fn)(void *plan, size_t slice, size_t rows, const void *a, size_t k, void *c, size_t n);

typedef struct run_ctx {
  const conv_common *c;
  void *plan;
  tile_gemm_fn gemm;
  const unsigned char *in;
  unsigned char *out;
  size_t h, w, oh, ow, pixels, tasks, chunk;
} run_ctx;

/* Task t = workspace slice t: pixels [t * chunk, (t + 1) * chunk), a tile at a time. */
static void run_task(void *context, size_t t) {
  const run_ctx *x = context;
  const conv_common *c = x->c;
  unsigned char *ws = c->ws + t * c->tile * c->k * c->es;
  size_t p_end = min_size(x->pixels, (t + 1) * x->chunk);
  for (size_t p = t * x->chunk; p < p_end; p += c->tile) {
    size_t rows = min_size(c->tile, p_end - p);
    im2col(c, x->in, x->h, x->w, x->oh, x->ow, p, rows, ws);
    x->gemm(x->plan, t, rows, ws, c->k, x->out + p * c->s.cout * c->es, c->s.cout);
  }
}

static void common_run(const conv_common *c, void *plan, tile_gemm_fn gemm, void (*task)(void *, size_t),
                       size_t batch, size_t h, size_t w, const void *in, void *out, pthreadpool_t pool) {
  const hwt_conv_shape *s = &c->s;
  size_t oh = hwt_conv_out_size(h, s->kh, s->sh, s->pad_t, s->pad_b);
  size_t ow = hwt_conv_out_size(w, s->kw, s->sw, s->pad_l, s->pad_r);
  size_t pixels = batch * oh * ow;
  if (pixels == 0) return;
  assert(in != NULL && out != NULL);
  size_t threads = pool ? pthreadpool_get_threads_count(pool) : 1;
  size_t tasks = min_size(threads, c->slices);
  size_t chunk = round_up((pixels + tasks - 1) / tasks, TILE_ALIGN);
  tasks = (pixels + chunk - 1) / chunk;
  run_ctx x = {c, plan, gemm, in, out, h, w, oh, ow, pixels, tasks, chunk};
  if (tasks <= 1)
    task(&x, 0);
  else
    pthreadpool_parallelize_1d(pool, task, &x, tasks, 0);
}

/* ---- fp32 ---- */
enum { DIRECT_MAX_MR = 32 };

struct hwt_conv_f32_plan {
  conv_common c;
  hwt_gemm_f32_plan *gemm;   /* im2col rows (border pixels); read-only at run: one for all threads */
  /* the direct path (interior pixels) */
  size_t mr, nr, n_padded;
  hwt_gemm_f32_ukernel_fn by_rows[DIRECT_MAX_MR + 1];
  float *packed;             /* kh slabs: kernel row ky's cout x (kw cin) weights, packed for the micro-kernels */
  float *bias;               /* n_padded */
  hwt_gemm_f32_minmax minmax;
  bool clamp;
  size_t direct_bytes;
};

static void gemm_f32(void *plan, size_t slice, size_t rows, const void *a, size_t k, void *c, size_t n) {
  (void) slice;
  hwt_gemm_f32_run(((hwt_conv_f32_plan *) plan)->gemm, rows, a, k, c, n, NULL);
}

/* The micro-kernels of `isa` by row count, as gemm_f32.c chooses them; false when there are none. */
static bool direct_init(hwt_conv_f32_plan *p, hwt_isa isa, const float *w, const float *bias, float min,
                        float max) {
  const hwt_conv_shape *s = &p->c.s;
  size_t mr = 0, nr = 0;
  for (size_t i = 0; i < hwt_gemm_f32_ukernel_count; i++)
    if (hwt_gemm_f32_ukernels[i].isa == isa && hwt_gemm_f32_ukernels[i].mr > mr) {
      mr = hwt_gemm_f32_ukernels[i].mr;
      nr = hwt_gemm_f32_ukernels[i].nr;
    }
  if (mr == 0 || mr > DIRECT_MAX_MR) return false;
  for (size_t r = 1; r <= mr; r++) {
    const hwt_gemm_f32_ukernel_info *pick = NULL;
    for (size_t i = 0; i < hwt_gemm_f32_ukernel_count; i++) {
      const hwt_gemm_f32_ukernel_info *u = &hwt_gemm_f32_ukernels[i];
      if (u->isa == isa && u->mr >= r && u->nr == nr && (pick == NULL || u->mr < pick->mr)) pick = u;
    }
    if (pick == NULL) return false;
    p->by_rows[r] = pick->fn;
  }
  p->mr = mr;
  p->nr = nr;
  p->n_padded = round_up(s->cout, nr);
  const size_t kr = (size_t) s->kw * s->cin, slab = hwt_gemm_f32_packed_floats(s->cout, kr, nr);
  p->packed = hwt_alloc_big(s->kh * slab * sizeof(float));
  p->bias = hwt_alloc_big(p->n_padded * sizeof(float));
  float *wky = malloc(s->cout * kr * sizeof(float));
  if (p->packed == NULL || p->bias == NULL || wky == NULL) {
    free(wky);
    return false;
  }
  for (uint32_t ky = 0; ky < s->kh; ky++) {
    for (size_t co = 0; co < s->cout; co++) memcpy(wky + co * kr, w + (co * s->kh + ky) * kr, kr * sizeof(float));
    hwt_gemm_f32_pack(s->cout, kr, kr, nr, wky, p->packed + ky * slab);
  }
  free(wky);
  memset(p->bias, 0, p->n_padded * sizeof(float));
  if (bias != NULL) memcpy(p->bias, bias, s->cout * sizeof(float));
  p->minmax.min = min;
  p->minmax.max = max;
  p->clamp = min > -INFINITY || max < INFINITY;
  p->direct_bytes = (s->kh * slab + p->n_padded) * sizeof(float);
  return true;
}

/* Output pixels [ox0, ox1) of row oy of image b, all interior: kh passes of the micro-kernels per MR pixels. */
static void direct_row(const hwt_conv_f32_plan *p, const float *in, size_t h, size_t w, size_t b, size_t oy,
                       size_t ox0, size_t ox1, float *out_row) {
  const hwt_conv_shape *s = &p->c.s;
  const size_t cin = s->cin, cout = s->cout, kr = (size_t) s->kw * cin, a_stride = (size_t) s->sw * cin;
  const size_t slab = round_up(cout, p->nr) * kr;
  const size_t iy0 = oy * s->sh - s->pad_t;
  for (size_t ox = ox0; ox < ox1; ox += p->mr) {
    const size_t rows = min_size(p->mr, ox1 - ox);
    const float *a = in + ((b * h + iy0) * w + (ox * s->sw - s->pad_l)) * cin;
    float *c = out_row + ox * cout;
    for (uint32_t ky = 0; ky < s->kh; ky++, a += w * cin) {
      uint32_t flags = ky ? HWT_GEMM_F32_ACCUMULATE : 0;
      if (p->clamp && ky + 1 == s->kh) flags |= HWT_GEMM_F32_CLAMP;
      p->by_rows[rows](rows, cout, kr, a, a_stride, p->packed + ky * slab, p->bias, c, cout, flags, &p->minmax);
    }
  }
}

/* Pixels [p0, p0 + n) on im2col tiles (the workspace slice ws). */
static void border_run(const hwt_conv_f32_plan *p, size_t t, const run_ctx *x, size_t p0, size_t n) {
  const conv_common *c = &p->c;
  unsigned char *ws = c->ws + t * c->tile * c->k * c->es;
  for (size_t q = p0; q < p0 + n; q += c->tile) {
    size_t rows = min_size(c->tile, p0 + n - q);
    im2col(c, x->in, x->h, x->w, x->oh, x->ow, q, rows, ws);
    hwt_gemm_f32_run(p->gemm, rows, (const float *) ws, c->k, (float *) x->out + q * c->s.cout, c->s.cout, NULL);
  }
}

/* Task t of the fp32 plan: its pixels row by row; interior stretches direct, the rest on im2col tiles. */
static void run_task_f32(void *context, size_t t) {
  const run_ctx *x = context;
  const hwt_conv_f32_plan *p = x->plan;
  const hwt_conv_shape *s = &p->c.s;
  const size_t h = x->h, w = x->w, oh = x->oh, ow = x->ow;
  /* interior output columns [xl, xh) and rows [yl, yh) */
  size_t xl = (s->pad_l + s->sw - 1) / s->sw, yl = (s->pad_t + s->sh - 1) / s->sh;
  size_t xh = w + s->pad_l >= s->kw ? (w + s->pad_l - s->kw) / s->sw + 1 : 0;
  size_t yh = h + s->pad_t >= s->kh ? (h + s->pad_t - s->kh) / s->sh + 1 : 0;
  xh = min_size(xh, ow), yh = min_size(yh, oh);
  const size_t p_end = min_size(x->pixels, (t + 1) * x->chunk);
  size_t pend_start = 0, pend_n = 0; /* a pending run of border pixels, flushed when an interior stretch starts */
  for (size_t q = t * x->chunk; q < p_end;) {
    const size_t row = q / ow, ox = q % ow, b = row / oh, oy = row % oh;
    const size_t seg_end = min_size(ow, ox + (p_end - q));
    size_t lo = ox, hi = ox;
    if (oy >= yl && oy < yh && xl < xh) {
      lo = ox < xl ? xl : ox;
      hi = seg_end < xh ? seg_end : xh;
      if (hi < lo) hi = lo;
    }
    if (lo == hi) { /* no interior stretch: the whole segment is border */
      if (pend_n == 0) pend_start = q;
      pend_n += seg_end - ox;
    } else {
      if (lo > ox) {
        if (pend_n == 0) pend_start = q;
        pend_n += lo - ox;
      }
      if (pend_n) border_run(p, t, x, pend_start, pend_n);
      pend_n = 0;
      direct_row(p, (const float *) x->in, h, w, b, oy, lo, hi, (float *) x->out + row * ow * s->cout);
      if (seg_end > hi) {
        pend_start = row * ow + hi;
        pend_n = seg_end - hi;
      }
    }
    q += seg_end - ox;
  }
  if (pend_n) border_run(p, t, x, pend_start, pend_n);
}

hwt_status hwt_conv_f32_create(const hwt_conv_shape *shape, const float *w, const float *bias, float min, float max,
                               hwt_isa isa, const hwt_gemm_blocking *blocking, size_t max_threads,
                               hwt_conv_f32_plan **out) {
  if (out == NULL || w == NULL) return hwt_status_invalid_argument;
  *out = NULL;
  hwt_conv_f32_plan *p = calloc(1, sizeof(*p));
  if (p == NULL) return hwt_status_out_of_memory;
  if (!common_init(&p->c, shape, sizeof(float), 0, max_threads)) {
    free(p);
    return hwt_status_invalid_argument;
  }
  hwt_status st = p->c.ws ? hwt_status_ok : hwt_status_out_of_memory;
  if (st == hwt_status_ok) st = hwt_gemm_f32_create(shape->cout, p->c.k, w, bias, min, max, isa, blocking, &p->gemm);
  if (st == hwt_status_ok && !direct_init(p, isa, w, bias, min, max)) st = hwt_status_out_of_memory;
  if (st != hwt_status_ok) {
    hwt_conv_f32_destroy(p);
    return st;
  }
  *out = p;
  return hwt_status_ok;
}

void hwt_conv_f32_run(hwt_conv_f32_plan *plan, size_t batch, size_t h, size_t w, const float *in, float *out,
                      pthreadpool_t pool) {
  assert(plan != NULL);
  common_run(&plan->c, plan, gemm_f32, run_task_f32, batch, h, w, in, out, pool);
}

void hwt_conv_f32_destroy(hwt_conv_f32_plan *plan) {
  if (plan == NULL) return;
  hwt_gemm_f32_destroy(plan->gemm);
  free(plan->packed);
  free(plan->bias);
  free(plan->c.ws);
  free(plan);
}

size_t hwt_conv_f32_plan_bytes(const hwt_conv_f32_plan *plan) {
  return plan ? sizeof(*plan) + plan->c.bytes + plan->direct_bytes + hwt_gemm_f32_plan_bytes(plan->gemm) : 0;
}

/* ---- qs8 ---- */
struct hwt_conv_qs8_plan {
  conv_common c;
  hwt_gemm_qs8_plan **gemm; /* one per slice: a qs8 plan packs A into its own workspace at run */
};

static void gemm_qs8(void *plan, size_t slice, size_t rows, const void *a, size_t k, void *c, size_t n) {
  hwt_gemm_qs8_run(((hwt_conv_qs8_plan *) plan)->gemm[slice], rows, a, k, c, n, NULL);
}

hwt_status hwt_conv_qs8_create(const hwt_conv_shape *shape, const int8_t *w, const int32_t *bias,
                               const hwt_qs8_params *params, hwt_isa isa, const hwt_gemm_blocking *blocking,
                               size_t max_threads, hwt_conv_qs8_plan **out) {
  if (out == NULL || w == NULL || params == NULL) return hwt_status_invalid_argument;
  *out = NULL;
  hwt_conv_qs8_plan *p = calloc(1, sizeof(*p));
  if (p == NULL) return hwt_status_out_of_memory;
  if (!common_init(&p->c, shape, 1, (int) (uint8_t) params->input_zero_point, max_threads)) {
    free(p);
    return hwt_status_invalid_argument;
  }
  p->gemm = calloc(p->c.slices, sizeof(*p->gemm));
  hwt_status st = p->c.ws && p->gemm ? hwt_status_ok : hwt_status_out_of_memory;
  for (size_t t = 0; t < p->c.slices && st == hwt_status_ok; t++)
    st = hwt_gemm_qs8_create(shape->cout, p->c.k, w, bias, params, isa, blocking, &p->gemm[t]);
  if (st != hwt_status_ok) {
    hwt_conv_qs8_destroy(p);
    return st;
  }
  *out = p;
  return hwt_status_ok;
}

void hwt_conv_qs8_run(hwt_conv_qs8_plan *plan, size_t batch, size_t h, size_t w, const int8_t *in, int8_t *out,
                      pthreadpool_t pool) {
  assert(plan != NULL);
  common_run(&plan->c, plan, gemm_qs8, run_task, batch, h, w, in, out, pool);
}

void hwt_conv_qs8_destroy(hwt_conv_qs8_plan *plan) {
  if (plan == NULL) return;
  if (plan->gemm != NULL)
    for (size_t t = 0; t < plan->c.slices; t++) hwt_gemm_qs8_destroy(plan->gemm[t]);
  free(plan->gemm);
  free(plan->c.ws);
  free(plan);
}

size_t hwt_conv_qs8_plan_bytes(const hwt_conv_qs8_plan *plan) {
  if (plan == NULL) return 0;
  size_t b = sizeof(*plan) + plan->c.bytes;
  for (size_t t = 0; t < plan->c.slices; t++) b += hwt_gemm_qs8_plan_bytes(plan->gemm[t]);
  return b;
}
