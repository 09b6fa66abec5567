/* SPDX-License-Identifier: Apache-2.0 */
/* Sparse-weight plans (hwtune/spmm.h): compress W into rows of nonzeros (CSR, uint16 input indices where K
 * allows) at create, pick the kernel of the best registered ISA (spmm.inc) the requested level allows, and run
 * tiles of rows or ranges of output channels, on the pool when the work pays. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/family.h"
#include "hwtune/spmm.h"
#include "spmm/spmm_ukernel.h"

typedef struct sp_kernel {
  hwt_isa isa;
  hwt_spmm_rows_fn rows;
} sp_kernel;

#define HWT_SPMM_UKERNEL(isa_) {hwt_isa_##isa_, hwt_spmm_f32_rows__##isa_},
static const sp_kernel sp_kernels[] = {
#include "spmm/spmm.inc"
};
#undef HWT_SPMM_UKERNEL

/* A sparse multiply-add streams an index and a value besides the input vector: a thread pays for itself from
 * about a quarter of the dense kernel's minimum of useful flops. */
#define HWT_SPMM_MIN_FLOPS_PER_THREAD 2.5e5
/* Workspaces (K x HWT_SPMM_MR floats each) allocated per plan: at most this many tasks run at once. */
enum { SP_MAX_SLOTS = 8 };
/* The 4x1 block format is used when its values (4 per block, zeros included) are at most this many times the
 * nonzeros CSR stores: a block costs about a CSR entry per channel in multiply-adds but a quarter of the loads. */
#define SP_BLOCK_FILL_MAX 1.1

struct hwt_spmm_f32_plan {
  hwt_spmm_args base; /* weights, bias, clamp; a/c filled per run */
  size_t nnz, bytes, slots;
  hwt_isa isa;
  hwt_spmm_rows_fn rows;
  void *mem;  /* row_start, indices, values, bias */
  uint32_t *idx32; /* K > 65536 only (then idx16 is NULL) */
  float *ws;  /* slots x K x HWT_SPMM_MR */
  hwt_spmm_ell ell; /* M = 1 on AVX-512, unstructured weights (groups 0 = none) */
  void *ell_mem;
};

static const sp_kernel *pick_kernel(hwt_isa isa) {
  if (isa >= hwt_isa_count || !hwt_isa_available(isa)) return NULL;
  uint32_t allowed = hwt_isa_required_features(isa);
  const sp_kernel *best = NULL;
  for (size_t i = 0; i < sizeof(sp_kernels) / sizeof(sp_kernels[0]); i++) {
    uint32_t need = hwt_isa_required_features(sp_kernels[i].isa);
    if ((need & ~allowed) != 0) continue;
    if (best == NULL || hwt_isa_vector_bits(sp_kernels[i].isa) > hwt_isa_vector_bits(best->isa)) best = &sp_kernels[i];
  }
  return best;
}

double hwt_sparsity_f32(const float *w, size_t count) {
  if (count == 0 || w == NULL) return 0.0;
  size_t zeros = 0;
  for (size_t i = 0; i < count; i++) zeros += w[i] == 0.0f;
  return (double) zeros / (double) count;
}

void hwt_spmm_block_shape(hwt_isa isa, uint32_t *bn, uint32_t *bk) {
  (void) isa; /* every level's kernels take 4 output channels x 1 input (docs/kernels-sparse.md) */
  if (bn != NULL) *bn = 4;
  if (bk != NULL) *bk = 1;
}

hwt_isa hwt_spmm_best_isa(void) {
  const sp_kernel *k = pick_kernel(hwt_cpu_isa_get()->level);
  return k ? k->isa : hwt_isa_scalar;
}

/* Output channels 4g .. 4g + 3 (those below n) have a nonzero weight on input c. */
static bool block_nonzero(const float *w, size_t n, size_t k, size_t g, size_t c) {
  for (size_t q = 0; q < 4 && 4 * g + q < n; q++)
    if (w[(4 * g + q) * k + c] != 0.0f) return true;
  return false;
}

static size_t slot_count(void) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1) return 1;
  return cpus > SP_MAX_SLOTS ? SP_MAX_SLOTS : (size_t) cpus;
}

#if defined(__x86_64__)
/* The sliced copy of W that one row of A runs on at AVX-512 (hwt_spmm_ell, spmm_ukernel.h). Returns its bytes,
 * 0 when it could not be allocated (the CSR row kernel then serves M = 1). */
static size_t build_ell(hwt_spmm_f32_plan *p, const float *w, size_t n, size_t k) {
  size_t groups = (n + 15) / 16, windows = (k + 31) / 32, cells = groups * windows;
  uint32_t *start = malloc((cells + 1) * sizeof(uint32_t));
  if (start == NULL) return 0;
  size_t steps = 0;
  for (size_t g = 0; g < groups; g++)
    for (size_t j = 0; j < windows; j++) {
      size_t most = 0;
      for (size_t q = 0; q < 16 && 16 * g + q < n; q++) {
        size_t cnt = 0;
        for (size_t c = 32 * j; c < 32 * j + 32 && c < k; c++) cnt += w[(16 * g + q) * k + c] != 0.0f;
        most = cnt > most ? cnt : most;
      }
      start[g * windows + j] = (uint32_t) steps;
      steps += most;
    }
  start[cells] = (uint32_t) steps;
  size_t o_idx = (steps * 16 * sizeof(float) + 63) / 64 * 64, total = o_idx + (steps * 16 + 63) / 64 * 64;
  char *mem = aligned_alloc(64, total > 0 ? total : 64);
  if (mem == NULL || steps > UINT32_MAX / 16) {
    free(start);
    free(mem);
    return 0;
  }
  memset(mem, 0, total > 0 ? total : 64);
  float *val = (float *) (void *) mem;
  uint8_t *idx = (uint8_t *) (mem + o_idx);
  for (size_t g = 0; g < groups; g++)
    for (size_t j = 0; j < windows; j++) {
      size_t s0 = start[g * windows + j];
      for (size_t q = 0; q < 16 && 16 * g + q < n; q++) {
        size_t s = s0;
        uint8_t last = 0;
        for (size_t c = 32 * j; c < 32 * j + 32 && c < k; c++) {
          float v = w[(16 * g + q) * k + c];
          if (v == 0.0f) continue;
          val[16 * s + q] = v;
          idx[16 * s + q] = last = (uint8_t) (c - 32 * j);
          s++;
        }
        /* padding: a zero value on an input this channel already reads (no new 0 x Inf) */
        for (; s < start[g * windows + j + 1]; s++) idx[16 * s + q] = last;
      }
    }
  p->ell = (hwt_spmm_ell){.groups = groups, .windows = windows, .step_start = start, .idx = idx, .val = val};
  p->ell_mem = mem;
  return (cells + 1) * sizeof(uint32_t) + total;
}
#endif

hwt_status hwt_spmm_f32_create(size_t n, size_t k, const float *w, const float *bias, float min, float max,
                               hwt_isa isa, hwt_spmm_f32_plan **out) {
  if (out == NULL) return hwt_status_invalid_argument;
  *out = NULL;
  if (n == 0 || k == 0 || w == NULL || isnan(min) || isnan(max) || min > max) return hwt_status_invalid_argument;
  if (n > UINT32_MAX / 2 || k > UINT32_MAX / 2 || n * k / n != k) return hwt_status_invalid_argument;
  if (isa >= hwt_isa_count || !hwt_isa_available(isa)) return hwt_status_unsupported;
  const sp_kernel *kern = pick_kernel(isa);
  if (kern == NULL) return hwt_status_unsupported;
  size_t nnz = 0, stored = 0, blocks = 0, block_vals = 0, groups = (n + 3) / 4;
  for (size_t r = 0; r < n; r++) {
    size_t row = 0;
    for (size_t c = 0; c < k; c++) row += w[r * k + c] != 0.0f;
    nnz += row;
    stored += (row + 3) & ~(size_t) 3;
  }
  for (size_t g = 0; g < groups; g++)
    for (size_t c = 0; c < k; c++)
      if (block_nonzero(w, n, k, g, c)) {
        blocks++;
        block_vals += n - 4 * g < 4 ? n - 4 * g : 4; /* the last group may have fewer than 4 channels */
      }
  bool wide = k > 65536; /* past uint16 indices: the portable loop over uint32 indices */
  /* 4x1 blocks when they store few explicit zeros (weights pruned in such blocks); else CSR */
  bool block4 = !wide && (double) block_vals <= SP_BLOCK_FILL_MAX * (double) stored;
  size_t entries = block4 ? blocks : stored, nvals = block4 ? 4 * blocks : stored, rows = block4 ? groups : n;
  if (nvals > UINT32_MAX) return hwt_status_invalid_argument;
  size_t isz = wide ? sizeof(uint32_t) : sizeof(uint16_t);
  /* one block: row_start (rows + 1), values, bias (n rounded up to 4), indices, each 64-byte aligned */
  size_t o_val = ((rows + 1) * sizeof(uint32_t) + 63) / 64 * 64;
  size_t o_bias = o_val + (nvals * sizeof(float) + 63) / 64 * 64;
  size_t o_idx = o_bias + (4 * groups * sizeof(float) + 63) / 64 * 64;
  size_t total = o_idx + (entries * isz + 63) / 64 * 64;
  size_t slots = wide ? 0 : slot_count();
  size_t ws_bytes = slots * k * HWT_SPMM_MR * sizeof(float);
  hwt_spmm_f32_plan *p = calloc(1, sizeof(*p));
  if (p == NULL) return hwt_status_out_of_memory;
  p->mem = aligned_alloc(64, total);
  p->ws = slots ? aligned_alloc(64, ws_bytes) : NULL;
  if (p->mem == NULL || (slots && p->ws == NULL)) {
    hwt_spmm_f32_destroy(p);
    return hwt_status_out_of_memory;
  }
  memset(p->mem, 0, total);
  char *base = p->mem;
  uint32_t *row_start = (uint32_t *) (void *) base;
  float *val = (float *) (void *) (base + o_val);
  float *pb = (float *) (void *) (base + o_bias);
  uint16_t *i16 = wide ? NULL : (uint16_t *) (void *) (base + o_idx);
  p->idx32 = wide ? (uint32_t *) (void *) (base + o_idx) : NULL;
  for (size_t r = 0; r < n; r++) pb[r] = bias != NULL ? bias[r] : 0.0f;
  size_t z = 0;
  if (block4) {
    for (size_t g = 0; g < groups; g++) {
      row_start[g] = (uint32_t) z;
      for (size_t c = 0; c < k; c++) {
        if (!block_nonzero(w, n, k, g, c)) continue;
        i16[z] = (uint16_t) c;
        for (size_t q = 0; q < 4 && 4 * g + q < n; q++) val[4 * z + q] = w[(4 * g + q) * k + c];
        z++;
      }
    }
    row_start[groups] = (uint32_t) z;
  } else {
    for (size_t r = 0; r < n; r++) {
      row_start[r] = (uint32_t) z;
      size_t last = 0;
      for (size_t c = 0; c < k; c++) {
        float v = w[r * k + c];
        if (v == 0.0f) continue;
        if (wide)
          p->idx32[z] = (uint32_t) c;
        else
          i16[z] = (uint16_t) c;
        val[z++] = v;
        last = c;
      }
      while ((z - row_start[r]) % 4 != 0) { /* padding: a zero weight on an input the channel already reads */
        if (wide)
          p->idx32[z] = (uint32_t) last;
        else
          i16[z] = (uint16_t) last;
        val[z++] = 0.0f;
      }
    }
    row_start[n] = (uint32_t) z;
  }
  p->base = (hwt_spmm_args){.n = n, .k = k, .row_start = row_start, .idx16 = i16, .block4 = block4, .val = val,
                            .bias = pb, .min = min, .max = max};
  p->nnz = nnz;
  p->slots = slots;
  p->isa = wide ? hwt_isa_scalar : kern->isa;
  p->rows = kern->rows;
  p->bytes = sizeof(*p) + total + ws_bytes;
#if defined(__x86_64__)
  if (p->isa == hwt_isa_avx512f && !block4) p->bytes += build_ell(p, w, n, k);
#endif
  *out = p;
  return hwt_status_ok;
}

/* K > 65536: rows of A one at a time over uint32 indices (correct, not tuned: no such layer in the models here). */
static void run_wide(const hwt_spmm_f32_plan *p, size_t m, const float *a, size_t lda, float *c, size_t ldc) {
  const hwt_spmm_args *s = &p->base;
  for (size_t i = 0; i < m; i++)
    for (size_t n = 0; n < s->n; n++) {
      float acc = s->bias[n];
      for (uint32_t z = s->row_start[n]; z < s->row_start[n + 1]; z++) acc += s->val[z] * a[i * lda + p->idx32[z]];
      acc = acc < s->min ? s->min : acc;
      c[i * ldc + n] = acc > s->max ? s->max : acc;
    }
}

typedef struct sp_task {
  const hwt_spmm_f32_plan *plan;
  const hwt_spmm_args *args;
  size_t m, tasks;
  bool split_m;
} sp_task;

static void sp_task_fn(void *ctx, size_t i) {
  const sp_task *t = ctx;
  const hwt_spmm_f32_plan *p = t->plan;
  float *ws = p->ws + i * p->base.k * HWT_SPMM_MR;
  if (t->split_m) {
    size_t tiles = (t->m + HWT_SPMM_MR - 1) / HWT_SPMM_MR;
    size_t t0 = i * tiles / t->tasks, t1 = (i + 1) * tiles / t->tasks;
    size_t m1 = t1 * HWT_SPMM_MR < t->m ? t1 * HWT_SPMM_MR : t->m;
    if (t0 * HWT_SPMM_MR < m1) p->rows(t->args, t0 * HWT_SPMM_MR, m1, 0, p->base.n, ws);
  } else {
    size_t groups = (p->base.n + 7) / 8; /* channel ranges in whole groups of 8 */
    size_t g0 = i * groups / t->tasks, g1 = (i + 1) * groups / t->tasks;
    size_t n1 = g1 * 8 < p->base.n ? g1 * 8 : p->base.n;
    if (g0 * 8 < n1) p->rows(t->args, 0, t->m, g0 * 8, n1, ws);
  }
}

#if defined(__x86_64__)
typedef struct sp_ell_task {
  const hwt_spmm_f32_plan *plan;
  const float *a;
  float *c;
  size_t tasks;
} sp_ell_task;

static void sp_ell_task_fn(void *ctx, size_t i) {
  const sp_ell_task *t = ctx;
  size_t groups = t->plan->ell.groups;
  hwt_spmm_f32_ell__avx512f(&t->plan->ell, &t->plan->base, t->a, t->c, i * groups / t->tasks,
                            (i + 1) * groups / t->tasks);
}
#endif

void hwt_spmm_f32_run(const hwt_spmm_f32_plan *p, size_t m, const float *a, size_t a_stride, float *c,
                      size_t c_stride, pthreadpool_t pool) {
  if (p == NULL || m == 0) return;
  if (p->idx32 != NULL) {
    run_wide(p, m, a, a_stride, c, c_stride);
    return;
  }
  hwt_spmm_args args = p->base;
  args.a = a;
  args.a_stride = a_stride;
  args.c = c;
  args.c_stride = c_stride;
  double work = 2.0 * (double) m * (double) (p->nnz + p->base.n);
  size_t tasks = hwt_gemm_threads_for_work(pool, work, HWT_SPMM_MIN_FLOPS_PER_THREAD);
#if defined(__x86_64__)
  if (m == 1 && p->ell.groups > 0) {
    if (tasks > p->ell.groups) tasks = p->ell.groups;
    if (tasks <= 1) {
      hwt_spmm_f32_ell__avx512f(&p->ell, &p->base, a, c, 0, p->ell.groups);
    } else {
      sp_ell_task t = {.plan = p, .a = a, .c = c, .tasks = tasks};
      pthreadpool_parallelize_1d(pool, sp_ell_task_fn, &t, tasks, 0);
    }
    return;
  }
#endif
  if (tasks > p->slots) tasks = p->slots;
  size_t tiles = (m + HWT_SPMM_MR - 1) / HWT_SPMM_MR, groups = (p->base.n + 7) / 8;
  bool split_m = tiles >= 2 * tasks;
  if (!split_m && groups < tasks) tasks = groups;
  if (tasks <= 1) {
    p->rows(&args, 0, m, 0, p->base.n, p->ws);
    return;
  }
  sp_task t = {.plan = p, .args = &args, .m = m, .tasks = tasks, .split_m = split_m};
  pthreadpool_parallelize_1d(pool, sp_task_fn, &t, tasks, 0);
}

void hwt_spmm_f32_destroy(hwt_spmm_f32_plan *p) {
  if (p == NULL) return;
  free(p->mem);
  free(p->ws);
  free((void *) p->ell.step_start);
  free(p->ell_mem);
  free(p);
}

size_t hwt_spmm_f32_plan_bytes(const hwt_spmm_f32_plan *p) { return p ? p->bytes : 0; }
size_t hwt_spmm_f32_plan_nnz(const hwt_spmm_f32_plan *p) { return p ? p->nnz : 0; }
hwt_isa hwt_spmm_f32_plan_isa(const hwt_spmm_f32_plan *p) { return p ? p->isa : hwt_isa_scalar; }
const char *hwt_spmm_f32_plan_format(const hwt_spmm_f32_plan *p) {
  if (p == NULL) return "none";
  return p->idx32 ? "csr32" : p->base.block4 ? "block 4x1" : "csr";
}
