/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime's thread pool: one per process, shared by every engine, with dynamic work claiming and a bounded
 * idle spin. XNNPACK operators and hwtune's GEMM plans take a pthreadpool_t; the handles returned here are
 * pthreadpool_t values that this pool serves (see pool.c for how pthreadpool's calls reach it).
 *
 * Why not Debian's pthreadpool as is (0.0~git20210507):
 *   - its idle workers spin about a million pause instructions (~16 ms on Zen 5) before sleeping, so two pools in
 *     one process (the audit's default and tuned engines) starve each other on 2 cores;
 *   - the caller waits for every worker to check in, even a worker that has not been scheduled yet: under a CPU
 *     hog or `taskset -c 0` a 2-thread run waited for the OS to schedule a thread that had no work left to do.
 * Here a job's items are claimed from one shared counter (a guided schedule: remaining / participants per
 * claim, so halves first and single items last), the caller takes part, and the call returns as soon as every item is done: a worker that never wakes
 * costs nothing, one preempted mid-chunk costs that chunk. Idle workers spin for a bounded time (default
 * HWT_POOL_SPIN_US, or HWTUNE_POOL_SPIN_US=<us> in the environment), then sleep on a futex. Nothing is pinned.
 *
 * A core taken by another process: a worker the OS preempts after it claimed a chunk still holds the caller
 * until its next time slice (milliseconds under CFS beside a busy loop). The pool weighs, over windows of
 * HWT_POOL_WINDOW_MS, the caller's waits for its workers against the work they took off it; when the waits
 * are larger it runs the next jobs on the caller alone for a back-off (HWT_POOL_BACKOFF_MIN_MS, doubling while
 * it recurs, at most HWT_POOL_BACKOFF_MAX_MS), then tries its workers again: a 2-thread run degrades to about
 * the 1-thread speed instead of waiting out a neighbour's time slices.
 *
 * Thread safety: one job at a time; a second caller (another thread, or a task calling back into the pool)
 * runs its job on its own thread instead of waiting. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthreadpool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HWT_POOL_MAX_THREADS 256
#define HWT_POOL_SPIN_US 50
#define HWT_POOL_YIELD_AFTER_US 5
#define HWT_POOL_WINDOW_MS 10
#define HWT_POOL_SLOT_WAIT_US 20
#define HWT_POOL_BACKOFF_MIN_MS 5
#define HWT_POOL_BACKOFF_MAX_MS 1000

/* A handle that runs jobs on `threads` participants (the caller and threads - 1 workers) of the process-wide
 * pool, creating workers on first use. threads <= 1 returns NULL (pthreadpool's "run on the caller"). Returns
 * NULL with threads > 1 only if no worker thread could be created. Handles live until the process exits. */
pthreadpool_t hwt_pool_get(unsigned threads);
/* True if `pool` is a handle of this pool. */
bool hwt_pool_owns(pthreadpool_t pool);

typedef struct hwt_pool_stats {
  unsigned workers;            /* worker threads created (the process-wide pool; the caller is not counted) */
  unsigned sleeping;           /* workers asleep on the futex right now */
  uint64_t jobs;               /* jobs run with at least one worker */
  uint64_t items_by_workers;   /* items (tiles) run by workers; the rest ran on the callers */
  uint64_t items_total;
  uint64_t inline_jobs;        /* jobs run on the caller because the pool was busy */
  uint64_t stalls;             /* windows whose waits for workers exceeded the work they took (back-offs) */
  uint64_t backoff_jobs;       /* jobs run on the caller alone during a back-off after a stall */
} hwt_pool_stats;
hwt_pool_stats hwt_pool_get_stats(void);

/* Idle spin before a worker sleeps, in microseconds (0 = sleep at once). Returns the previous value. */
unsigned hwt_pool_set_spin_us(unsigned us);

/* Test hook: while held, workers take no items (as if the OS never scheduled them); jobs must still complete. */
void hwt_pool_test_hold_workers(bool hold);
/* Test hook: a worker sleeps `us` microseconds after it claims each chunk (as if the OS preempted it there);
 * 0 = off. */
void hwt_pool_test_preempt_workers_us(unsigned us);
/* Tests: ends a back-off now; sets the first back-off's length (0 = HWT_POOL_BACKOFF_MIN_MS). */
void hwt_pool_test_end_backoff(void);
void hwt_pool_test_min_backoff_ms(unsigned ms);

#ifdef __cplusplus
}
#endif
