/* SPDX-License-Identifier: Apache-2.0 */
/* Counting allocator of the runtime: every byte the runtime and XNNPACK (through xnn_allocator) allocate is
 * counted, so the audit can report live, peak and per-step allocation and spot leaks exactly. */
#define _GNU_SOURCE 1
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "hwtune/profile.h"

static atomic_size_t g_live, g_peak, g_count;

/* Each block carries a 32-byte header {raw pointer, size} just before the returned pointer. */
#define HDR 32u

static void account(size_t size) {
  size_t live = atomic_fetch_add(&g_live, size) + size;
  atomic_fetch_add(&g_count, 1);
  size_t peak = atomic_load(&g_peak);
  while (live > peak && !atomic_compare_exchange_weak(&g_peak, &peak, live)) {
  }
}

static void *alloc_aligned(size_t alignment, size_t size) {
  if (alignment < 16) alignment = 16;
  if (size > SIZE_MAX / 2) return NULL;
  unsigned char *raw = malloc(size + alignment + HDR);
  if (raw == NULL) return NULL;
  uintptr_t p = ((uintptr_t) raw + HDR + alignment - 1) & ~(uintptr_t) (alignment - 1);
  void **hdr = (void **) (p - HDR);
  hdr[0] = raw;
  hdr[1] = (void *) (uintptr_t) size;
  account(size);
  return (void *) p;
}

static size_t block_size(const void *p) { return (size_t) (uintptr_t) ((void *const *) ((uintptr_t) p - HDR))[1]; }

void *hwt_rt_alloc(size_t size) { return alloc_aligned(64, size); }

void *hwt_rt_calloc(size_t n, size_t size) {
  if (size != 0 && n > SIZE_MAX / 4 / size) return NULL;
  void *p = alloc_aligned(64, n * size);
  if (p != NULL) memset(p, 0, n * size);
  return p;
}

void hwt_rt_free(void *p) {
  if (p == NULL) return;
  void **hdr = (void **) ((uintptr_t) p - HDR);
  atomic_fetch_sub(&g_live, (size_t) (uintptr_t) hdr[1]);
  free(hdr[0]);
}

hwt_mem_stats hwt_engine_mem_stats(void) {
  hwt_mem_stats s = {atomic_load(&g_live), atomic_load(&g_peak), atomic_load(&g_count)};
  return s;
}

void hwt_engine_mem_reset_peak(void) { atomic_store(&g_peak, atomic_load(&g_live)); }

/* ---- xnn_allocator callbacks (engine.c registers them) ---- */
void *hwt_rt_xnn_allocate(void *ctx, size_t size);
void *hwt_rt_xnn_reallocate(void *ctx, void *p, size_t size);
void hwt_rt_xnn_deallocate(void *ctx, void *p);
void *hwt_rt_xnn_aligned_allocate(void *ctx, size_t alignment, size_t size);
void hwt_rt_xnn_aligned_deallocate(void *ctx, void *p);

void *hwt_rt_xnn_allocate(void *ctx, size_t size) {
  (void) ctx;
  return alloc_aligned(16, size);
}

void *hwt_rt_xnn_reallocate(void *ctx, void *p, size_t size) {
  (void) ctx;
  if (p == NULL) return alloc_aligned(16, size);
  void *q = alloc_aligned(16, size);
  if (q == NULL) return NULL;
  size_t old = block_size(p);
  memcpy(q, p, old < size ? old : size);
  hwt_rt_free(p);
  return q;
}

void hwt_rt_xnn_deallocate(void *ctx, void *p) {
  (void) ctx;
  hwt_rt_free(p);
}

void *hwt_rt_xnn_aligned_allocate(void *ctx, size_t alignment, size_t size) {
  (void) ctx;
  return alloc_aligned(alignment, size);
}

void hwt_rt_xnn_aligned_deallocate(void *ctx, void *p) {
  (void) ctx;
  hwt_rt_free(p);
}

unsigned hwt_engine_usable_cpus(void) {
  /* libhwtune's count (it clamps profile choices the same way); "unknown" (more CPUs than a cpu_set_t holds)
   * falls back to the online CPUs rather than to one thread. */
  unsigned n = hwt_profile_usable_cpus();
  if (n == 0) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    n = online > 0 ? (unsigned) online : 1u;
  }
  return n;
}
