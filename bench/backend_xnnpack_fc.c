/* SPDX-License-Identifier: Apache-2.0 */
/* Backend: XNNPACK fully-connected (xnn_create_fully_connected_nc_f32 / _qs8), weights packed once at create. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <xnnpack.h>

#include "backend.h"
#include "hwt_common.h"

static pthread_once_t g_xnn_once = PTHREAD_ONCE_INIT;
static enum xnn_status g_xnn_init_status = xnn_status_uninitialized;

/* A counting allocator: XNNPACK's bytes in use, so the harness can report what an operator allocated (packed
 * weights, indirection buffers, workspace) exactly, whatever malloc implementation or sanitizer is underneath.
 * Each block carries its size in a header of HDR bytes (a multiple of every alignment XNNPACK asks for). */
#define HDR 64
static _Atomic size_t g_xnn_bytes;

static void *count_aligned_allocate(void *ctx, size_t alignment, size_t size) {
  (void)ctx;
  if (alignment < 16) alignment = 16;
  if (alignment > HDR) return NULL;
  /* Large blocks (packed weights) on huge pages, as hwtune's own kernels' (hwt_alloc_big): both sides of a
   * comparison get the same kind of memory, and set-up does not fault 4 KiB at a time. */
  char *base = hwt_alloc_big(((size + HDR + HDR - 1) / HDR) * HDR);
  if (base == NULL) return NULL;
  *(size_t *)base = size;
  g_xnn_bytes += size;
  return base + HDR;
}

static void *count_allocate(void *ctx, size_t size) { return count_aligned_allocate(ctx, 16, size); }

static void count_deallocate(void *ctx, void *p) {
  (void)ctx;
  if (p == NULL) return;
  char *base = (char *)p - HDR;
  g_xnn_bytes -= *(size_t *)base;
  free(base);
}

static void *count_reallocate(void *ctx, void *p, size_t size) {
  if (p == NULL) return count_allocate(ctx, size);
  size_t old = *(size_t *)((char *)p - HDR);
  void *q = count_allocate(ctx, size);
  if (q == NULL) return NULL;
  memcpy(q, p, old < size ? old : size);
  count_deallocate(ctx, p);
  return q;
}

static const struct xnn_allocator g_counting_allocator = {
    .context = NULL,
    .allocate = count_allocate,
    .reallocate = count_reallocate,
    .deallocate = count_deallocate,
    .aligned_allocate = count_aligned_allocate,
    .aligned_deallocate = count_deallocate,
};

static void xnn_init_once(void) { g_xnn_init_status = xnn_initialize(&g_counting_allocator); }

size_t hwt_bench_xnnpack_bytes_in_use(void) { return g_xnn_bytes; }

hwt_status hwt_bench_xnnpack_init(char *err, size_t errlen) {
  pthread_once(&g_xnn_once, xnn_init_once);
  if (g_xnn_init_status != xnn_status_success) {
    hwt_errf(err, errlen, "xnn_initialize failed (status %d): XNNPACK does not support this CPU",
             (int)g_xnn_init_status);
    return hwt_status_unsupported;
  }
  return hwt_status_ok;
}

const char *hwt_bench_xnnpack_version(void) {
#ifdef HWTUNE_XNNPACK_VERSION
  return HWTUNE_XNNPACK_VERSION;
#else
  return "unknown";
#endif
}

typedef struct fc_inst {
  xnn_operator_t op;
  hwt_bench_problem p;
  size_t bytes;  /* XNNPACK's allocations during create */
} fc_inst;

static bool fc_supports(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, char *why, size_t whylen) {
  (void)isa;
  if (p->conv) {
    hwt_errf(why, whylen, "xnnpack fully-connected: not a gemm op");
    return false;
  }
  if (!isa_auto) {
    hwt_errf(why, whylen, "xnnpack picks its own kernels: isa must be auto");
    return false;
  }
  return hwt_bench_xnnpack_init(why, whylen) == hwt_status_ok;
}

static const char *fc_isa_name(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa) {
  (void)p, (void)isa_auto, (void)isa;
  return "auto";
}

static hwt_status fc_create(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, const hwt_gemm_blocking *blk,
                            const void *weights, const void *bias, void **inst, char *err, size_t errlen) {
  (void)isa_auto, (void)isa, (void)blk;
  hwt_status st = hwt_bench_xnnpack_init(err, errlen);
  if (st != hwt_status_ok) return st;
  fc_inst *f = calloc(1, sizeof(*f));
  if (f == NULL) return hwt_status_out_of_memory;
  f->p = *p;
  const size_t before = hwt_bench_xnnpack_bytes_in_use();
  enum xnn_status xs;
  if (!p->qs8)
    xs = xnn_create_fully_connected_nc_f32(p->k, p->n, p->k, p->n, weights, bias, -INFINITY, INFINITY, 0, &f->op);
  else
    xs = xnn_create_fully_connected_nc_qs8(p->k, p->n, p->k, p->n, p->q.input_zero_point, p->q.input_scale,
                                           p->q.kernel_scale, weights, bias, p->q.output_zero_point,
                                           p->q.output_scale, p->q.output_min, p->q.output_max, 0, &f->op);
  if (xs != xnn_status_success) {
    hwt_errf(err, errlen, "xnn_create_fully_connected_nc_%s(K=%zu, N=%zu) failed: status %d",
             p->qs8 ? "qs8" : "f32", p->k, p->n, (int)xs);
    free(f);
    return xs == xnn_status_unsupported_hardware ? hwt_status_unsupported : hwt_status_internal;
  }
  f->bytes = hwt_bench_xnnpack_bytes_in_use() - before;
  *inst = f;
  return hwt_status_ok;
}

static hwt_status fc_bind(void *inst, const void *input, void *output, pthreadpool_t pool, char *err,
                          size_t errlen) {
  fc_inst *f = inst;
  enum xnn_status xs = f->p.qs8 ? xnn_setup_fully_connected_nc_qs8(f->op, f->p.batch, input, output, pool)
                                : xnn_setup_fully_connected_nc_f32(f->op, f->p.batch, input, output, pool);
  if (xs != xnn_status_success) {
    hwt_errf(err, errlen, "xnn_setup_fully_connected_nc failed: status %d", (int)xs);
    return hwt_status_internal;
  }
  return hwt_status_ok;
}

static void fc_run(void *inst, pthreadpool_t pool) {
  fc_inst *f = inst;
  xnn_run_operator(f->op, pool);
}

static size_t fc_op_bytes(const void *inst) { return ((const fc_inst *)inst)->bytes; }

static bool fc_blocking(const void *inst, hwt_gemm_blocking *out) {
  (void)inst, (void)out;
  return false;
}

static void fc_destroy(void *inst) {
  fc_inst *f = inst;
  if (f == NULL) return;
  if (f->op) xnn_delete_operator(f->op);
  free(f);
}

const hwt_bench_backend hwt_bench_backend_xnnpack_fc = {
    hwt_bench_xnnpack, fc_supports, fc_isa_name, fc_create, fc_bind, fc_run, fc_op_bytes, fc_blocking, fc_destroy,
    NULL, NULL};
