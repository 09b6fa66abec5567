/* SPDX-License-Identifier: Apache-2.0 */
/* qs8 GEMM driver: validates and packs a plan (XNNPACK fully_connected_nc_qs8 semantics), then runs BLIS-style
 * loops (MC row blocks of packed A; per (N tile, MR rows) task: KC blocks, NR panels) over pthreadpool tasks.
 *
 * Loop nest of one run:
 *   for each MC block of rows:            pack A (a ^ 0x80, K padded to KR) into the plan's workspace
 *     parallel over (N tile of nt <= NC columns) x (MR rows):
 *       for each KC block:                 the MR x KC sliver of A stays in L1 while ...
 *         for each NR panel of the tile:   ... the tile's panels stream; int32 tiles live on the task's stack
 *           micro-kernel (bias in on the first K block, requantize on the last)
 * Tasks are linearized with the M index fastest, so a thread keeps one K x nt weight tile hot (the default NC keeps
 * it in half of L2) while it walks down the rows, and two threads start on disjoint weight columns. A run with a
 * single row tile (batch <= MR, e.g. a GEMV) has nothing to reuse and takes wider N tiles for longer weight streams. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "driver/family.h"
#include "driver/gemm_qs8_ukernel.h"
#include "hwt_common.h"
#include "hwtune/kernels.h"

enum {
  HWT_QS8_MAX_MR = 16,
  /* int32 accumulator tiles a task keeps between K blocks (on its stack): bounds the N tile to ACC_CAP / MR. */
  HWT_QS8_ACC_CAP = 4096,
  HWT_QS8_ALIGN = 64,
};

static const hwt_gemm_qs8_kernel_info g_kernels[] = {
#define HWT_QS8_UKERNEL(isa_, mr_, nr_, kr_, a_format_, fn_) \
  {.isa = isa_, .mr = mr_, .nr = nr_, .kr = kr_, .a_format = a_format_, .fn = fn_, .name = #fn_},
#include "gemm-qs8/gemm_qs8.inc"
#undef HWT_QS8_UKERNEL
};
enum { HWT_QS8_KERNEL_COUNT = sizeof(g_kernels) / sizeof(g_kernels[0]) };

const hwt_gemm_qs8_kernel_info *hwt_gemm_qs8_kernels(size_t *count) {
  if (count) *count = HWT_QS8_KERNEL_COUNT;
  return g_kernels;
}

/* The main (largest MR) kernel of an ISA's tile group of width nr (0: the widest group), or NULL. */
static const hwt_gemm_qs8_kernel_info *group_kernel(hwt_isa isa, size_t nr) {
  const hwt_gemm_qs8_kernel_info *best = NULL;
  for (size_t i = 0; i < HWT_QS8_KERNEL_COUNT; i++) {
    const hwt_gemm_qs8_kernel_info *ki = &g_kernels[i];
    if (ki->isa != isa || (nr != 0 && ki->nr != nr)) continue;
    if (best == NULL || ki->nr > best->nr || (ki->nr == best->nr && ki->mr > best->mr)) best = ki;
  }
  return best;
}
/* The ISA's main tile: its widest group's largest MR. */
static const hwt_gemm_qs8_kernel_info *main_kernel(hwt_isa isa) { return group_kernel(isa, 0); }

static size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

/* The tile group a plan of N channels takes: the main tile, or, when N is below its NR, the group that pads the
 * fewest channels (ties: the wider). 112x112x32->16 on AVX512-VNNI: 16x16 computes 16 channels where 8x32 computed
 * 32; N 24: 12x24. Wide layers always keep the main tile. */
static const hwt_gemm_qs8_kernel_info *plan_kernel(hwt_isa isa, size_t n) {
  const hwt_gemm_qs8_kernel_info *mk = main_kernel(isa);
  if (mk == NULL || n >= mk->nr) return mk;
  const hwt_gemm_qs8_kernel_info *best = mk;
  for (size_t i = 0; i < HWT_QS8_KERNEL_COUNT; i++) {
    const hwt_gemm_qs8_kernel_info *ki = &g_kernels[i];
    if (ki->isa != isa) continue;
    const size_t pad = round_up(n, ki->nr), best_pad = round_up(n, best->nr);
    if (pad < best_pad || (pad == best_pad && ki->nr > best->nr)) best = group_kernel(isa, ki->nr);
  }
  return best;
}

bool hwt_gemm_qs8_family_tile(hwt_isa isa, size_t *mr, size_t *nr, size_t *kr) {
  const hwt_gemm_qs8_kernel_info *k = main_kernel(isa);
  if (k == NULL) return false;
  if (mr) *mr = k->mr;
  if (nr) *nr = k->nr;
  if (kr) *kr = k->kr;
  return true;
}

struct hwt_gemm_qs8_plan {
  size_t n, k, kpad, npad;
  hwt_isa isa;
  bool a_in_place;                                     /* kernels read the caller's A rows (s8x, K % KR == 0) */
  size_t mr, nr, kr;
  hwt_qs8_a_format a_format;
  hwt_gemm_qs8_ukernel_fn by_rows[HWT_QS8_MAX_MR + 1]; /* kernel for a row tile of r rows */
  hwt_gemm_blocking blk;                               /* effective: kc multiple of kr, <= kpad */
  bool nc_given;                                       /* the caller chose NC: honoured at every M */
  int8_t *w;                                           /* packed weights, hwt_gemm_qs8_packed_w_bytes() */
  int32_t *bias;                                       /* npad folded biases */
  float *scale;                                        /* npad requantization scales */
  hwt_qs8_requant rq;
  float *bias_f;                                       /* float-output plans: npad float biases, else NULL */
  float min_f, max_f;                                  /* float-output plans: the clamp */
  void *a_ws;                                          /* blk.mc rows of packed A */
  size_t a_row_bytes;
  size_t bytes;
};

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

size_t hwt_gemm_qs8_packed_w_bytes(size_t n, size_t k, size_t nr, size_t kr) {
  return round_up(n, nr) * round_up(k, kr);
}

void hwt_gemm_qs8_pack_w(size_t n, size_t k, size_t nr, size_t kr, size_t kc, hwt_qs8_a_format a_format,
                         const int8_t *w, const int32_t *bias, int8_t input_zero_point, float input_scale,
                         float kernel_scale, const float *kernel_scales, float output_scale, int8_t *w_out,
                         int32_t *bias_out, float *scale_out) {
  assert(kc > 0 && kc % kr == 0);
  const size_t kpad = round_up(k, kr), npad = round_up(n, nr);
  for (size_t k0 = 0; k0 < kpad; k0 += kc) {
    const size_t kcb = min_size(kc, kpad - k0);
    for (size_t p = 0; p < npad / nr; p++) {
      int8_t *dst = w_out + k0 * npad + p * nr * kcb;
      for (size_t g = 0; g < kcb / kr; g++) {
        for (size_t j = 0; j < nr; j++) {
          const size_t col = p * nr + j;
          for (size_t q = 0; q < kr; q++) {
            const size_t kk = k0 + g * kr + q;
            *dst++ = (col < n && kk < k) ? w[col * k + kk] : 0;
          }
        }
      }
    }
  }
  /* acc = bias + sum (a - zp) w = bias + sum a' w - (offset + zp) sum w, with a' = a + offset. Mod 2^32. */
  const uint32_t offset = a_format == hwt_qs8_a_s8 ? 0u : 128u;
  const uint32_t fold = offset + (uint32_t)(int32_t)input_zero_point;
  for (size_t col = 0; col < npad; col++) {
    if (col >= n) {
      bias_out[col] = 0;
      scale_out[col] = 1.0f;
      continue;
    }
    int64_t sum = 0;
    for (size_t kk = 0; kk < k; kk++) sum += w[col * k + kk];
    const uint32_t b = bias ? (uint32_t)bias[col] : 0u;
    bias_out[col] = (int32_t)(b - fold * (uint32_t)sum);
    const float ks = kernel_scales ? kernel_scales[col] : kernel_scale;
    scale_out[col] = input_scale * ks / output_scale; /* XNNPACK's expression and order, in float */
  }
}

void hwt_gemm_qs8_pack_a(size_t m, size_t k, size_t kpad, hwt_qs8_a_format a_format, const int8_t *a,
                         size_t a_stride, void *dst) {
  for (size_t r = 0; r < m; r++) {
    const uint8_t *src = (const uint8_t *)(a + r * a_stride);
    switch (a_format) {
      case hwt_qs8_a_u8: {
        /* 8 bytes per step, and no memset call for an empty pad: per-row overheads dominated short K rows. */
        uint8_t *d = (uint8_t *)dst + r * kpad;
        size_t i = 0;
        for (; i + 8 <= k; i += 8) {
          uint64_t v;
          memcpy(&v, src + i, sizeof(v));
          v ^= UINT64_C(0x8080808080808080);
          memcpy(d + i, &v, sizeof(v));
        }
        for (; i < k; i++) d[i] = (uint8_t)(src[i] ^ 0x80u);
        if (kpad > k) memset(d + k, 0, kpad - k);
        break;
      }
      case hwt_qs8_a_u16: {
        uint16_t *d = (uint16_t *)dst + r * kpad;
        for (size_t i = 0; i < k; i++) d[i] = (uint16_t)(src[i] ^ 0x80u);
        for (size_t i = k; i < kpad; i++) d[i] = 0;
        break;
      }
      case hwt_qs8_a_s8:
      case hwt_qs8_a_s8x: {
        uint8_t *d = (uint8_t *)dst + r * kpad;
        memcpy(d, src, k);
        memset(d + k, 0, kpad - k);
        break;
      }
    }
  }
}

static bool scale_ok(float s) { return isnormal(s) && s > 0.0f; }

_Static_assert(HWT_QS8_ALIGN <= 64, "hwt_alloc_big aligns to 64 bytes (2 MiB when large)");

void hwt_gemm_qs8_destroy(hwt_gemm_qs8_plan *plan) {
  if (plan == NULL) return;
  free(plan->w);
  free(plan->bias);
  free(plan->scale);
  free(plan->bias_f);
  free(plan->a_ws);
  free(plan);
}

/* f32out: the float-output variant (hwt_gemm_qs8_f32out_create); params->output_* are then ignored, the scale
 * is input_scale * kernel_scale[n] (output_scale 1) and bias_f / [min_f, max_f] the float epilogue. */
static hwt_status create_plan(size_t n, size_t k, const int8_t *w, const int32_t *bias, const hwt_qs8_params *params,
                              bool f32out, const float *bias_f, float min_f, float max_f, hwt_isa isa,
                              const hwt_gemm_blocking *blocking, hwt_gemm_qs8_plan **out) {
  hwt_status status = hwt_status_invalid_argument;
  hwt_gemm_qs8_plan *plan = NULL;
  if (out == NULL || w == NULL || params == NULL) {
    hwt_log("gemm_qs8_create: out, w and params must not be NULL");
    goto error;
  }
  if (n == 0 || k == 0 || n > ((size_t)1 << 28) || k > ((size_t)1 << 28)) {
    hwt_log("gemm_qs8_create: shape N=%zu K=%zu out of range [1, 2^28]", n, k);
    goto error;
  }
  if (f32out && (isnan(min_f) || isnan(max_f) || min_f > max_f)) {
    hwt_log("gemm_qs8_f32out_create: invalid clamp [%g, %g]", (double)min_f, (double)max_f);
    goto error;
  }
  const float output_scale = f32out ? 1.0f : params->output_scale;
  if (!scale_ok(params->input_scale) || !scale_ok(output_scale)) {
    hwt_log("gemm_qs8_create: input_scale %g and output_scale %g must be positive normal floats",
            (double)params->input_scale, (double)params->output_scale);
    goto error;
  }
  if (!f32out && params->output_min >= params->output_max) {
    hwt_log("gemm_qs8_create: output range [%d, %d] is empty (min must be below max, as in XNNPACK)",
            params->output_min, params->output_max);
    goto error;
  }
  for (size_t i = 0; i < (params->kernel_scales ? n : 1); i++) {
    const float ks = params->kernel_scales ? params->kernel_scales[i] : params->kernel_scale;
    if (!scale_ok(ks)) {
      hwt_log("gemm_qs8_create: kernel scale %g (channel %zu) must be a positive normal float", (double)ks, i);
      goto error;
    }
    const float rs = params->input_scale * ks / output_scale;
    if (!f32out && (!(rs < 256.0f) || !scale_ok(rs))) {
      /* XNNPACK rejects requantization scales >= 256 too (its kernels' float path assumes it). */
      hwt_log("gemm_qs8_create: requantization scale %g (channel %zu) outside (0, 256)", (double)rs, i);
      status = hwt_status_unsupported;
      goto error;
    }
  }
  const hwt_gemm_qs8_kernel_info *mk = plan_kernel(isa, n);
  if (mk == NULL || !hwt_isa_available(isa)) {
    const char *name = hwt_isa_name(isa);
    hwt_log("gemm_qs8_create: no qs8 kernel for ISA '%s' in this build or process", name ? name : "?");
    status = hwt_status_unsupported;
    goto error;
  }
  assert(mk->mr <= HWT_QS8_MAX_MR);

  plan = calloc(1, sizeof(*plan));
  if (plan == NULL) {
    status = hwt_status_out_of_memory;
    goto error;
  }
  plan->n = n;
  plan->k = k;
  plan->isa = isa;
  plan->mr = mk->mr;
  plan->nr = mk->nr;
  plan->kr = mk->kr;
  plan->a_format = mk->a_format;
  plan->kpad = round_up(k, mk->kr);
  plan->npad = round_up(n, mk->nr);
  plan->a_in_place = mk->a_format == hwt_qs8_a_s8x && plan->kpad == k;
  /* Per-MR dispatch: a tile of r rows takes the kernel of this tile group with the fewest rows >= r. */
  for (size_t r = 1; r <= plan->mr; r++) {
    const hwt_gemm_qs8_kernel_info *best = NULL;
    for (size_t i = 0; i < HWT_QS8_KERNEL_COUNT; i++) {
      const hwt_gemm_qs8_kernel_info *ki = &g_kernels[i];
      if (ki->isa != isa || ki->nr != mk->nr || ki->mr < r) continue;
      assert(ki->nr == mk->nr && ki->kr == mk->kr && ki->a_format == mk->a_format);
      if (best == NULL || ki->mr < best->mr) best = ki;
    }
    plan->by_rows[r] = best->fn;
  }

  hwt_gemm_blocking blk = hwt_gemm_default_blocking(hwt_gemm_qs8, isa, NULL);
  if (blocking != NULL) {
    if (blocking->mc) blk.mc = blocking->mc;
    if (blocking->kc) blk.kc = blocking->kc;
    if (blocking->nc) blk.nc = blocking->nc;
  }
  blk.mc = round_up(blk.mc ? blk.mc : plan->mr, plan->mr);
  if (blocking == NULL || blocking->mc == 0) {
    /* The default MC assumes K >= KC. With a short K (MobileNet's 1x1 convolutions: K = 16..384 over up to
     * 12544 rows) the packed A block is only MC x K bytes: take as many rows as fill the same half of L2, so a run
     * has few MC blocks (each one a pack and a pool dispatch). 112x112x32->16 (M 12544, K 32): 1 block, not 15. */
    const size_t row = plan->kpad * hwt_qs8_a_bytes(mk->a_format);
    size_t rows = (size_t)(hwt_kernels_cache_budget().l2 / 2) / row;
    rows -= rows % plan->mr;
    if (rows > blk.mc) blk.mc = rows;
  }
  blk.kc = min_size(round_up(blk.kc ? blk.kc : plan->kr, plan->kr), plan->kpad);
  blk.nc = round_up(blk.nc ? blk.nc : plan->nr, plan->nr);
  if (blocking == NULL || blocking->nc == 0) {
    /* A task walks all of K over its nt columns for every MR rows: keep that K x nt weight tile in half of L2. */
    const size_t fit = (size_t)(hwt_kernels_cache_budget().l2 / 2) / plan->kpad;
    blk.nc = min_size(blk.nc, fit < plan->nr ? plan->nr : fit - fit % plan->nr);
  }
  if (blk.kc < plan->kpad) {
    /* K blocked: a task keeps nt/NR int32 tiles between K blocks on its stack. */
    const size_t cap = HWT_QS8_ACC_CAP / plan->mr;
    blk.nc = min_size(blk.nc, cap - cap % plan->nr);
  }
  plan->blk = blk;
  plan->nc_given = blocking != NULL && blocking->nc != 0;

  const hwt_qs8_a_format fmt = plan->a_format;
  plan->a_row_bytes = plan->kpad * hwt_qs8_a_bytes(fmt);
  const size_t w_bytes = hwt_gemm_qs8_packed_w_bytes(n, k, plan->nr, plan->kr);
  const size_t ws_bytes = (plan->a_in_place ? 1 : blk.mc) * plan->a_row_bytes; /* in place: never packed */
  plan->w = hwt_alloc_big(w_bytes);
  plan->bias = hwt_alloc_big(plan->npad * sizeof(int32_t));
  plan->scale = hwt_alloc_big(plan->npad * sizeof(float));
  plan->a_ws = hwt_alloc_big(ws_bytes);
  if (f32out) plan->bias_f = hwt_alloc_big(plan->npad * sizeof(float));
  if (!plan->w || !plan->bias || !plan->scale || !plan->a_ws || (f32out && !plan->bias_f)) {
    hwt_log("gemm_qs8_create: cannot allocate %zu bytes of packed weights + %zu of workspace", w_bytes, ws_bytes);
    status = hwt_status_out_of_memory;
    goto error;
  }
  plan->bytes = sizeof(*plan) + w_bytes + plan->npad * (sizeof(int32_t) + sizeof(float)) + ws_bytes +
                (f32out ? plan->npad * sizeof(float) : 0);
  hwt_gemm_qs8_pack_w(n, k, plan->nr, plan->kr, blk.kc, fmt, w, bias, params->input_zero_point, params->input_scale,
                      params->kernel_scale, params->kernel_scales, output_scale, plan->w, plan->bias, plan->scale);
  if (f32out) {
    for (size_t j = 0; j < plan->npad; j++) plan->bias_f[j] = (bias_f != NULL && j < n) ? bias_f[j] : 0.0f;
    plan->min_f = min_f;
    plan->max_f = max_f;
  }
  plan->rq.min_less_zp = (float)((int32_t)params->output_min - (int32_t)params->output_zero_point);
  plan->rq.max_less_zp = (float)((int32_t)params->output_max - (int32_t)params->output_zero_point);
  plan->rq.zp = params->output_zero_point;
  *out = plan;
  return hwt_status_ok;

error:
  hwt_gemm_qs8_destroy(plan);
  return status;
}

hwt_status hwt_gemm_qs8_create(size_t n, size_t k, const int8_t *w, const int32_t *bias, const hwt_qs8_params *params,
                               hwt_isa isa, const hwt_gemm_blocking *blocking, hwt_gemm_qs8_plan **out) {
  return create_plan(n, k, w, bias, params, false, NULL, 0.0f, 0.0f, isa, blocking, out);
}

hwt_status hwt_gemm_qs8_f32out_create(size_t n, size_t k, const int8_t *w, const float *bias,
                                      const hwt_qs8_params *params, float min, float max, hwt_isa isa,
                                      const hwt_gemm_blocking *blocking, hwt_gemm_qs8_plan **out) {
  return create_plan(n, k, w, NULL, params, true, bias, min, max, isa, blocking, out);
}

typedef struct run_ctx {
  const hwt_gemm_qs8_plan *plan;
  const uint8_t *a;  /* packed rows of this MC block (or the caller's, plan->a_in_place) */
  size_t a_stride;   /* bytes between rows of a */
  int8_t *c;         /* row 0 of this MC block */
  float *cf;         /* float-output plans: row 0 of this MC block (c unused) */
  size_t c_stride;   /* in elements of c or cf */
  /* A packing (parallel) */
  const int8_t *a_src;
  size_t a_src_stride;
} run_ctx;

static void pack_rows_task(void *arg, size_t r0, size_t rows) {
  const run_ctx *ctx = arg;
  const hwt_gemm_qs8_plan *p = ctx->plan;
  hwt_gemm_qs8_pack_a(rows, p->k, p->kpad, p->a_format, ctx->a_src + r0 * ctx->a_src_stride, ctx->a_src_stride,
                      (uint8_t *)p->a_ws + r0 * p->a_row_bytes);
}

/* One task: columns [n0, n0 + nn) x rows [m0, m0 + mm) of the MC block. */
static void tile_task(void *arg, size_t n0, size_t m0, size_t nn, size_t mm) {
  const run_ctx *ctx = arg;
  const hwt_gemm_qs8_plan *p = ctx->plan;
  const size_t nr = p->nr, mr = p->mr, kc = p->blk.kc, kpad = p->kpad, npad = p->npad;
  const size_t a_elem = hwt_qs8_a_bytes(p->a_format);
  const hwt_gemm_qs8_ukernel_fn fn = p->by_rows[mm];
  const size_t panels = (nn + nr - 1) / nr;
  const uint8_t *a = ctx->a + m0 * ctx->a_stride;
  int8_t *c = ctx->c ? ctx->c + m0 * ctx->c_stride : NULL;
  const bool f32out = p->bias_f != NULL;
  _Alignas(HWT_QS8_ALIGN) int32_t acc[HWT_QS8_ACC_CAP];
  assert(panels * mr * nr <= HWT_QS8_ACC_CAP || kc == kpad);

  for (size_t k0 = 0; k0 < kpad; k0 += kc) {
    const size_t kcb = min_size(kc, kpad - k0);
    const bool first = k0 == 0, last = k0 + kcb == kpad;
    const int8_t *wb = p->w + k0 * npad + n0 * kcb;
    for (size_t q = 0; q < panels; q++) {
      const size_t col = n0 + q * nr;
      /* K not blocked: one pass, so a float-output plan needs one tile only (the first slot). */
      int32_t *tile = kc == kpad ? acc : acc + q * mr * nr;
      const size_t nc = min_size(nr, p->n - col);
      fn(mm, nc, kcb, a + k0 * a_elem, ctx->a_stride, wb + q * nr * kcb, first ? p->bias + col : tile,
         first ? 0 : nr, last && !f32out ? NULL : tile, c ? c + col : NULL, ctx->c_stride, p->scale + col, &p->rq);
      if (last && f32out) {
        /* The float epilogue on the exact int32 sums (the header's definition; the kernels' acc_out path). */
        const float *sc = p->scale + col, *bf = p->bias_f + col;
        const float lo = p->min_f, hi = p->max_f;
        for (size_t r = 0; r < mm; r++) {
          float *dst = ctx->cf + (m0 + r) * ctx->c_stride + col;
          const int32_t *t = tile + r * nr;
          for (size_t j = 0; j < nc; j++) {
            float v = (float)t[j] * sc[j] + bf[j];
            v = v < lo ? lo : v;
            dst[j] = v > hi ? hi : v;
          }
        }
      }
    }
  }
}

static void run_plan(const hwt_gemm_qs8_plan *plan, size_t m, const int8_t *a, size_t a_stride, int8_t *c,
                     float *cf, size_t c_stride, pthreadpool_t pool) {
  const size_t threads = hwt_gemm_threads_for_work(pool, 2.0 * (double)m * (double)plan->n * (double)plan->k,
                                                   m <= plan->mr ? HWT_GEMM_QS8_GEMV_MIN_OPS_PER_THREAD
                                                                 : HWT_GEMM_QS8_MIN_OPS_PER_THREAD);
  if (threads <= 1) pool = NULL; /* run inline: no wake-up, no join */
  const size_t mr = plan->mr, nr = plan->nr;

  /* N tile: at most NC (create() bounded it by L2 and by the stack accumulators), split finer when threads would
   * otherwise idle (aim for >= 4 tasks per thread). */
  size_t nt = min_size(plan->blk.nc, plan->npad); /* a multiple of NR, or all of N */
  if (m <= mr && !plan->nc_given) {
    /* One row tile: no weight reuse to keep in L2, so by default stream longer contiguous runs of the packed
     * weights (bounded only by the stack accumulators when K is blocked). A chosen NC is the task size. */
    const size_t cap = HWT_QS8_ACC_CAP / mr;
    nt = plan->blk.kc < plan->kpad ? min_size(plan->npad, cap - cap % nr) : plan->npad;
  }

  run_ctx ctx = {.plan = plan, .c_stride = c_stride, .a = plan->a_ws, .a_stride = plan->a_row_bytes,
                 .a_src_stride = a_stride};
  if (plan->a_in_place) ctx.a_stride = a_stride;
  for (size_t m0 = 0; m0 < m; m0 += plan->blk.mc) {
    const size_t mb = min_size(plan->blk.mc, m - m0);
    size_t tile_n = nt;
    if (threads > 1) {
      const size_t m_tiles = (mb + mr - 1) / mr;
      while (tile_n > nr && m_tiles * ((plan->n + tile_n - 1) / tile_n) < 4 * threads)
        tile_n = round_up(tile_n / 2, nr);
    }
    ctx.a_src = a + m0 * a_stride;
    ctx.c = c ? c + m0 * c_stride : NULL;
    ctx.cf = cf ? cf + m0 * c_stride : NULL;
    /* Pack A on the threads from 256 KiB (~15 us on one core; a dispatch costs a few us). */
    if (plan->a_in_place) {
      ctx.a = (const uint8_t *)(a + m0 * a_stride);
    } else if (threads > 1 && mb * plan->k >= (1u << 18) && mb >= 2 * threads) {
      pthreadpool_parallelize_1d_tile_1d(pool, pack_rows_task, &ctx, mb, (mb + 2 * threads - 1) / (2 * threads), 0);
    } else {
      pack_rows_task(&ctx, 0, mb);
    }
    pthreadpool_parallelize_2d_tile_2d(pool, tile_task, &ctx, plan->n, mb, tile_n, mr, 0);
  }
}

void hwt_gemm_qs8_run(const hwt_gemm_qs8_plan *plan, size_t m, const int8_t *a, size_t a_stride, int8_t *c,
                      size_t c_stride, pthreadpool_t pool) {
  assert(plan != NULL && plan->bias_f == NULL);
  if (m == 0) return;
  assert(a != NULL && c != NULL && a_stride >= plan->k && c_stride >= plan->n);
  run_plan(plan, m, a, a_stride, c, NULL, c_stride, pool);
}

void hwt_gemm_qs8_f32out_run(const hwt_gemm_qs8_plan *plan, size_t m, const int8_t *a, size_t a_stride, float *c,
                             size_t c_stride, pthreadpool_t pool) {
  assert(plan != NULL && plan->bias_f != NULL);
  if (m == 0) return;
  assert(a != NULL && c != NULL && a_stride >= plan->k && c_stride >= plan->n);
  run_plan(plan, m, a, a_stride, NULL, c, c_stride, pool);
}

void hwt_gemm_qs8_plan_tile(const hwt_gemm_qs8_plan *plan, size_t *mr, size_t *nr, bool *a_in_place) {
  if (mr) *mr = plan ? plan->mr : 0;
  if (nr) *nr = plan ? plan->nr : 0;
  if (a_in_place) *a_in_place = plan ? plan->a_in_place : false;
}

size_t hwt_gemm_qs8_plan_bytes(const hwt_gemm_qs8_plan *plan) { return plan ? plan->bytes : 0; }

hwt_gemm_blocking hwt_gemm_qs8_plan_blocking(const hwt_gemm_qs8_plan *plan) {
  hwt_gemm_blocking none = {0, 0, 0};
  return plan ? plan->blk : none;
}
