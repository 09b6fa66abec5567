/* SPDX-License-Identifier: Apache-2.0 */
/* What each GEMM family driver tells the shared config (kernels/config/gemm_config.c). Internal. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "hwtune/isa.h"

/* The widest micro-kernel tile the family registers for `isa` (from its .inc list), in elements:
 * mr rows of A, nr columns of W, kr = k elements consumed per step (1 for f32, 4 for VNNI-style int8, ...).
 * Returns false when the family has no kernel for `isa` in this build. */
bool hwt_gemm_f32_family_tile(hwt_isa isa, size_t *mr, size_t *nr, size_t *kr);
bool hwt_gemm_qs8_family_tile(hwt_isa isa, size_t *mr, size_t *nr, size_t *kr);

/* ---- Threads a run pays for ----
 * A run on the pool costs a wake-up of the workers and a join on top of the work. On the engine's pool
 * (engine/pool.c: workers spin 50 us, then sleep on a futex) that round trip, measured as the 2-thread minus half
 * the 1-thread time of a GEMM too small to split, is ~4 us when the workers sleep (tuner's race on the runtime pool,
 * 256x784 batch 1 f32, 0.40 MFLOP: 1 thread 8.08 us, 2 threads 8.14 us) and ~1-2 us when they spin. A second
 * thread pays when half the work is clearly above that, so each thread must get at least:
 *   f32: 1 MFLOP (~10 us at the 90-110 GFLOP/s one AVX-512 core reaches on such shapes);
 *   qs8: 4 MOP   (~10 us at the 300-440 GOP/s one VNNI core reaches once weights are reused; 256x784 batch 8 =
 *        3.2 MOP ran at 298 GOP/s on 1 thread and 116 GOP/s on 2);
 *   qs8 with a single row tile (batch <= MR, a GEMV streaming its weights): 1 MOP, as it runs ~3x slower per op
 *        (bench, pinned pool, one VNNI core: 1024x1024 batch 1 2.1 MOP in 13.9 us = 150 GOP/s, worth 2 threads;
 *        256x784 batch 1 0.4 MOP in 1.85 us, not).
 * Below that a run uses fewer threads (one: no pool at all). The figures are per thread, so a pool of T threads
 * uses all T only from T times the minimum. */
#include <pthreadpool.h>
#define HWT_GEMM_F32_MIN_FLOPS_PER_THREAD 1.0e6
#define HWT_GEMM_QS8_MIN_OPS_PER_THREAD 4.0e6
#define HWT_GEMM_QS8_GEMV_MIN_OPS_PER_THREAD 1.0e6

static inline size_t hwt_gemm_threads_for_work(pthreadpool_t pool, double work, double min_per_thread) {
  const size_t threads = pool ? pthreadpool_get_threads_count(pool) : 1;
  const double pays = work / min_per_thread;
  if (pays < 2.0) return 1;
  return pays < (double)threads ? (size_t)pays : threads;
}
