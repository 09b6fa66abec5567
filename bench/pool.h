/* SPDX-License-Identifier: Apache-2.0 */
/* The shared pthreadpool with its threads pinned to distinct usable CPUs, and per-thread accounting handles. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <pthreadpool.h>

#define HWT_POOL_MAX_THREADS 256

typedef struct hwt_pool {
  pthreadpool_t pool;            /* NULL for one thread (runs on the caller) */
  unsigned threads;
  int cpu[HWT_POOL_MAX_THREADS];     /* CPU each thread was pinned to (-1: not pinned) */
  pid_t tid[HWT_POOL_MAX_THREADS];   /* kernel thread ids (for /proc/self/task/<tid>/schedstat) */
  bool pinned;
} hwt_pool;

/* Creates a pool of `threads` (including the caller) and, when cpus != NULL, pins thread i to cpus[i] by
 * running exactly one task per thread: each task waits until all have arrived, so no thread can take two.
 * The caller's affinity is restored by hwt_pool_destroy. err explains a failure to pin (the pool is still
 * usable: *out is filled and the status is ok; check out->pinned). */
int hwt_pool_create(unsigned threads, const int *cpus, size_t ncpus, hwt_pool *out, char *err, size_t errlen);
void hwt_pool_destroy(hwt_pool *p);

/* Sum over the pool's threads of the time spent waiting on a run queue (schedstat field 2), ns; 0 if unknown. */
unsigned long long hwt_pool_runqueue_wait_ns(const hwt_pool *p);
