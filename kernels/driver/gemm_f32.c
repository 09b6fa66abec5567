/* SPDX-License-Identifier: Apache-2.0 */
/* fp32 GEMM driver: plan validation, weight packing, BLIS-style NC/KC/MC loops around the family's micro-kernels,
 * per-MR kernel choice and threading over (M, N) tiles with pthreadpool. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "driver/family.h"
#include "driver/gemm_f32_ukernel.h"
#include "hwt_common.h"
#include "hwtune/kernels.h"

#define HWT_GEMM_F32_UKERNEL(isa_, mr_, nr_, fn_) {hwt_isa_##isa_, mr_, nr_, fn_, #fn_},
const hwt_gemm_f32_ukernel_info hwt_gemm_f32_ukernels[] = {
#include "gemm-f32/gemm_f32.inc"
};
#undef HWT_GEMM_F32_UKERNEL
const size_t hwt_gemm_f32_ukernel_count = sizeof(hwt_gemm_f32_ukernels) / sizeof(hwt_gemm_f32_ukernels[0]);

/* Largest MR any registered kernel has; bounds the per-row-count dispatch table. */
enum { F32_MAX_MR = 32 };

bool hwt_gemm_f32_family_tile(hwt_isa isa, size_t *mr, size_t *nr, size_t *kr) {
  const hwt_gemm_f32_ukernel_info *best = NULL;
  for (size_t i = 0; i < hwt_gemm_f32_ukernel_count; i++) {
    const hwt_gemm_f32_ukernel_info *u = &hwt_gemm_f32_ukernels[i];
    if (u->isa == isa && (best == NULL || u->mr > best->mr)) best = u;
  }
  if (best == NULL) return false;
  if (mr) *mr = best->mr;
  if (nr) *nr = best->nr;
  if (kr) *kr = 1;
  return true;
}

static size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }
static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

size_t hwt_gemm_f32_packed_floats(size_t n, size_t k, size_t nr) { return round_up(n, nr) * k; }

void hwt_gemm_f32_pack(size_t n, size_t k, size_t kc, size_t nr, const float *w, float *packed) {
  const size_t n_padded = round_up(n, nr);
  /* Panel by panel, 16 k at a time: each of the panel's rows of W is read one cache line at a time, and the
   * 16 x nr block written stays in L1. (Rows of W are often 4 KiB multiples apart, so reading all nr rows at one
   * k would keep evicting each other from the same L1 set.) */
  enum { KB = 16 };
  for (size_t p = 0; p < n_padded; p += nr) {
    const size_t cols = min_size(nr, n - p);
    for (size_t k0 = 0; k0 < k; k0 += kc) {
      const size_t kb = min_size(kc, k - k0);
      float *panel = packed + k0 * n_padded + p * kb;
      for (size_t kk0 = 0; kk0 < kb; kk0 += KB) {
        const size_t kn = min_size(KB, kb - kk0);
        for (size_t j = 0; j < cols; j++) {
          const float *src = w + (p + j) * k + k0 + kk0;
          for (size_t t = 0; t < kn; t++) panel[(kk0 + t) * nr + j] = src[t];
        }
        for (size_t j = cols; j < nr; j++)
          for (size_t t = 0; t < kn; t++) panel[(kk0 + t) * nr + j] = 0.0f;
      }
    }
  }
}

struct hwt_gemm_f32_plan {
  size_t n, k, n_padded;
  hwt_isa isa;
  size_t mr, nr;
  hwt_gemm_blocking blocking;  /* mc % mr == 0, nc % nr == 0, 1 <= kc <= k */
  hwt_gemm_f32_minmax minmax;
  bool clamp;                  /* min > -inf or max < +inf */
  hwt_gemm_f32_ukernel_fn by_rows[F32_MAX_MR + 1];  /* [r] = kernel for r rows (smallest mr >= r) */
  float *packed;               /* hwt_gemm_f32_packed_floats(n, k, nr) */
  float *bias;                 /* n_padded floats, zeros where none */
  size_t c_l2_floats;          /* half of L2 (cache budget at create), in floats: the bound on a tile's C block */
  size_t bytes;
};


hwt_status hwt_gemm_f32_create(size_t n, size_t k, const float *w, const float *bias, float min, float max,
                               hwt_isa isa, const hwt_gemm_blocking *blocking, hwt_gemm_f32_plan **out) {
  hwt_status status = hwt_status_invalid_argument;
  hwt_gemm_f32_plan *plan = NULL;
  if (out == NULL || w == NULL || n == 0 || k == 0) {
    hwt_log_verbose("gemm_f32_create: invalid shape or NULL pointer (n=%zu k=%zu w=%p out=%p)", n, k,
                    (const void *)w, (void *)out);
    goto error;
  }
  if (isnan(min) || isnan(max) || min > max) {
    hwt_log_verbose("gemm_f32_create: invalid clamp [%g, %g]", (double)min, (double)max);
    goto error;
  }
  /* Guard the packed size (n_padded * k floats) against size_t overflow. */
  if (n > (SIZE_MAX / sizeof(float)) / k / 2) {
    hwt_log_verbose("gemm_f32_create: n=%zu x k=%zu too large", n, k);
    goto error;
  }
  if ((unsigned)isa >= hwt_isa_count || !hwt_gemm_isa_supported(hwt_gemm_f32, isa)) {
    status = hwt_status_unsupported;
    hwt_log_verbose("gemm_f32_create: isa %s has no f32 kernels here or is not available",
                    hwt_isa_name(isa) ? hwt_isa_name(isa) : "?");
    goto error;
  }

  plan = calloc(1, sizeof(*plan));
  if (plan == NULL) {
    status = hwt_status_out_of_memory;
    goto error;
  }
  plan->n = n;
  plan->k = k;
  plan->isa = isa;
  hwt_gemm_f32_family_tile(isa, &plan->mr, &plan->nr, NULL);
  if (plan->mr < 1 || plan->mr > F32_MAX_MR || plan->nr < 1) {
    status = hwt_status_internal;
    hwt_log("gemm_f32: isa %s registers a %zu x %zu tile; MR must be 1..%d (F32_MAX_MR in gemm_f32.c)",
            hwt_isa_name(isa), plan->mr, plan->nr, F32_MAX_MR);
    goto error;
  }
  plan->n_padded = round_up(n, plan->nr);
  plan->minmax.min = min;
  plan->minmax.max = max;
  plan->clamp = min > -INFINITY || max < INFINITY;

  for (size_t r = 1; r <= plan->mr; r++) {
    const hwt_gemm_f32_ukernel_info *pick = NULL;
    for (size_t i = 0; i < hwt_gemm_f32_ukernel_count; i++) {
      const hwt_gemm_f32_ukernel_info *u = &hwt_gemm_f32_ukernels[i];
      if (u->isa != isa || u->mr < r) continue;
      if (u->nr != plan->nr) {
        status = hwt_status_internal;
        hwt_log("gemm_f32: %s has nr=%zu, others of its isa %zu (one packing per isa)", u->name, u->nr, plan->nr);
        goto error;
      }
      if (pick == NULL || u->mr < pick->mr) pick = u;
    }
    plan->by_rows[r] = pick->fn;
  }

  /* Blocking: the analytical default, each nonzero field of `blocking` overriding; then made legal. */
  hwt_gemm_blocking blk = hwt_gemm_default_blocking(hwt_gemm_f32, isa, NULL);
  if (blocking != NULL) {
    if (blocking->mc) blk.mc = blocking->mc;
    if (blocking->kc) blk.kc = blocking->kc;
    if (blocking->nc) blk.nc = blocking->nc;
  }
  blk.mc = round_up(blk.mc ? blk.mc : plan->mr, plan->mr);
  blk.nc = min_size(round_up(blk.nc ? blk.nc : plan->nr, plan->nr), plan->n_padded);
  blk.kc = min_size(blk.kc ? blk.kc : k, k);
  plan->blocking = blk;
  plan->c_l2_floats = (size_t)(hwt_kernels_cache_budget().l2 / 2 / sizeof(float));

  const size_t packed_floats = hwt_gemm_f32_packed_floats(n, k, plan->nr);
  plan->packed = hwt_alloc_big(packed_floats * sizeof(float));
  plan->bias = hwt_alloc_big(plan->n_padded * sizeof(float));
  if (plan->packed == NULL || plan->bias == NULL) {
    status = hwt_status_out_of_memory;
    hwt_log_verbose("gemm_f32_create: cannot allocate %zu packed floats", packed_floats);
    goto error;
  }
  hwt_gemm_f32_pack(n, k, blk.kc, plan->nr, w, plan->packed);
  memset(plan->bias, 0, plan->n_padded * sizeof(float));
  if (bias != NULL) memcpy(plan->bias, bias, n * sizeof(float));
  plan->bytes = sizeof(*plan) + round_up(packed_floats * sizeof(float), 64) +
                round_up(plan->n_padded * sizeof(float), 64);
  *out = plan;
  return hwt_status_ok;

error:
  hwt_gemm_f32_destroy(plan);
  return status;
}

void hwt_gemm_f32_destroy(hwt_gemm_f32_plan *plan) {
  if (plan == NULL) return;
  free(plan->packed);
  free(plan->bias);
  free(plan);
}

size_t hwt_gemm_f32_plan_bytes(const hwt_gemm_f32_plan *plan) { return plan ? plan->bytes : 0; }

hwt_gemm_blocking hwt_gemm_f32_plan_blocking(const hwt_gemm_f32_plan *plan) {
  hwt_gemm_blocking none = {0, 0, 0};
  return plan ? plan->blocking : none;
}

typedef struct run_context {
  const hwt_gemm_f32_plan *plan;
  const float *a;
  size_t a_stride;
  float *c;
  size_t c_stride;
} run_context;

/* One (M, N) tile: the whole K loop, so a thread owns its C tile and no barrier separates K blocks.
 * Loop order inside (BLIS): K block -> NR panel -> MR rows. The MC x KC block of A stays in L2 while the
 * KC x NR panel of W stays in L1 across the rows; the KC x NC block of W stays in the L3 share across M tiles. */
static void run_tile(void *context, size_t m0, size_t n0, size_t tm, size_t tn) {
  const run_context *ctx = context;
  const hwt_gemm_f32_plan *plan = ctx->plan;
  const size_t k = plan->k, kc = plan->blocking.kc, nr = plan->nr, mr = plan->mr;
  for (size_t k0 = 0; k0 < k; k0 += kc) {
    const size_t kb = min_size(kc, k - k0);
    uint32_t flags = k0 ? HWT_GEMM_F32_ACCUMULATE : 0;
    if (plan->clamp && k0 + kb == k) flags |= HWT_GEMM_F32_CLAMP;
    const float *slab = plan->packed + k0 * plan->n_padded;
    const float *a = ctx->a + m0 * ctx->a_stride + k0;
    float *c = ctx->c + m0 * ctx->c_stride;
    if (tm <= mr) {
      /* One row group: stream the whole N tile in one call (the GEMV path at batch 1). */
      plan->by_rows[tm](tm, tn, kb, a, ctx->a_stride, slab + n0 * kb, plan->bias + n0, c + n0, ctx->c_stride,
                        flags, &plan->minmax);
      continue;
    }
    for (size_t j = n0; j < n0 + tn; j += nr) {
      const size_t nc = min_size(nr, n0 + tn - j);
      const float *w = slab + j * kb;
      for (size_t i = 0; i < tm; i += mr) {
        const size_t rows = min_size(mr, tm - i);
        plan->by_rows[rows](rows, nc, kb, a + i * ctx->a_stride, ctx->a_stride, w, plan->bias + j,
                            c + i * ctx->c_stride + j, ctx->c_stride, flags, &plan->minmax);
      }
    }
  }
}

/* Tiles per dimension so that every thread gets work: N is split first (each thread then streams its own
 * weights), then M. Tile edges stay multiples of MR / NR, so the rows each kernel sees, and hence the results,
 * do not depend on the thread count. */
static void choose_tiles(const hwt_gemm_f32_plan *plan, size_t m, size_t threads, size_t *tm, size_t *tn) {
  const size_t mr = plan->mr, nr = plan->nr, n = plan->n;
  const size_t m_groups = (m + mr - 1) / mr, n_panels = (n + nr - 1) / nr;
  size_t m_tiles = (m + plan->blocking.mc - 1) / plan->blocking.mc;
  /* NC bounds the W block (L3); the tile's C block, rewritten once per K block, must also stay in half of L2:
   * measured at 4096 x 4096, batch 256 (C rows 16 KiB apart), NC = 4096 ran at ~130 GFLOP/s, NC = 256 at ~160. */
  const size_t rows = min_size(plan->blocking.mc, round_up(m, mr));
  size_t nc = plan->c_l2_floats / rows;
  nc = nc < nr ? nr : nc - nc % nr;
  /* NC keeps a W block in L3 for the next M tile; with a single M tile (the GEMV) it is the task size. */
  nc = min_size(nc, plan->blocking.nc);
  size_t n_tiles = (n + nc - 1) / nc;
  if (threads > 1) {
    /* A tile count that leaves a thread idle at the end: more N tiles, up to a multiple of threads. Also for
     * many tiles: 9 tiles on 2 threads run as 5 + 4 (4096x1024 at batch 1, NC 480: 7% slower than NC 3840). */
    if ((m_tiles * n_tiles) % threads != 0) {
      size_t want = n_tiles;
      while ((m_tiles * want) % threads != 0 && want < n_panels) want++;
      n_tiles = min_size(want, n_panels);
    }
    /* Still fewer tiles than threads (narrow N): split M too. */
    if (m_tiles * n_tiles < threads) m_tiles = min_size((threads + n_tiles - 1) / n_tiles, m_groups);
  }
  /* Even sizes for those counts: 1000 rows with MC = 816 become 2 x 504, not 816 + 184. */
  *tm = round_up((m + m_tiles - 1) / m_tiles, mr);
  *tn = round_up((n + n_tiles - 1) / n_tiles, nr);
}

void hwt_gemm_f32_run(const hwt_gemm_f32_plan *plan, size_t m, const float *a, size_t a_stride, float *c,
                      size_t c_stride, pthreadpool_t pool) {
  assert(plan != NULL);
  assert(a_stride >= plan->k && c_stride >= plan->n);
  if (m == 0) return;
  assert(a != NULL && c != NULL);
  run_context ctx = {plan, a, a_stride, c, c_stride};
  const size_t threads = hwt_gemm_threads_for_work(pool, 2.0 * (double)m * (double)plan->n * (double)plan->k,
                                                   HWT_GEMM_F32_MIN_FLOPS_PER_THREAD);
  size_t tm, tn;
  choose_tiles(plan, m, threads, &tm, &tn);
  if (threads <= 1 || (m <= tm && plan->n <= tn)) {
    /* One thread: same tiles, no pool round trip. */
    for (size_t m0 = 0; m0 < m; m0 += tm)
      for (size_t n0 = 0; n0 < plan->n; n0 += tn)
        run_tile(&ctx, m0, n0, min_size(tm, m - m0), min_size(tn, plan->n - n0));
    return;
  }
  pthreadpool_parallelize_2d_tile_2d(pool, run_tile, &ctx, m, plan->n, tm, tn, 0);
}
