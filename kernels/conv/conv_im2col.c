/* SPDX-License-Identifier: Apache-2.0 */
/* Dense KxK convolution as im2col tiles fed to the GEMM plans (hwtune/conv.h): each thread copies a tile of
 * output pixels' receptive fields into its own workspace slice, then runs the GEMM on it, pool-less. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

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

static void common_run(const conv_common *c, void *plan, tile_gemm_fn gemm, size_t batch, size_t h, size_t w,
                       const void *in, void *out, pthreadpool_t pool) {
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
    run_task(&x, 0);
  else
    pthreadpool_parallelize_1d(pool, run_task, &x, tasks, 0);
}

/* ---- fp32 ---- */
struct hwt_conv_f32_plan {
  conv_common c;
  hwt_gemm_f32_plan *gemm; /* read-only at run: one for all threads */
};

static void gemm_f32(void *plan, size_t slice, size_t rows, const void *a, size_t k, void *c, size_t n) {
  (void) slice;
  hwt_gemm_f32_run(((hwt_conv_f32_plan *) plan)->gemm, rows, a, k, c, n, NULL);
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
  common_run(&plan->c, plan, gemm_f32, batch, h, w, in, out, pool);
}

void hwt_conv_f32_destroy(hwt_conv_f32_plan *plan) {
  if (plan == NULL) return;
  hwt_gemm_f32_destroy(plan->gemm);
  free(plan->c.ws);
  free(plan);
}

size_t hwt_conv_f32_plan_bytes(const hwt_conv_f32_plan *plan) {
  return plan ? sizeof(*plan) + plan->c.bytes + hwt_gemm_f32_plan_bytes(plan->gemm) : 0;
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
  common_run(&plan->c, plan, gemm_qs8, batch, h, w, in, out, pool);
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
