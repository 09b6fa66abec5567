/* SPDX-License-Identifier: Apache-2.0 */
/* Creates the pthreadpool shared by XNNPACK and our kernels and pins each of its threads to its own CPU. */
#define _GNU_SOURCE
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hwt_common.h"

/* pthreadpool does not pin its threads. Each worker pins itself inside a task; because every task spins until
 * all `threads` tasks have started, a thread can never finish its task and steal another one, so each of the
 * n threads (caller included) runs exactly one task and gets exactly one CPU. */
typedef struct pin_ctx {
  const int *cpus;
  unsigned threads;
  atomic_uint arrived;
  atomic_uint failed;
  atomic_uint timed_out;
  int *cpu_out;
  pid_t *tid_out;
} pin_ctx;

static void pin_task(void *arg, size_t i) {
  pin_ctx *c = arg;
  pid_t tid = (pid_t)syscall(SYS_gettid);
  c->tid_out[i] = tid;
  if (c->cpus != NULL) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(c->cpus[i], &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0)
      c->cpu_out[i] = c->cpus[i];
    else
      atomic_fetch_add(&c->failed, 1);
  }
  atomic_fetch_add(&c->arrived, 1);
  const uint64_t deadline = hwt_now_ns() + 2000000000ull;
  while (atomic_load(&c->arrived) < c->threads) {
    if (hwt_now_ns() > deadline) {
      atomic_fetch_add(&c->timed_out, 1);
      break;
    }
    sched_yield();
  }
}

static cpu_set_t g_saved_affinity;
static bool g_saved_valid;

int hwt_pool_create(unsigned threads, const int *cpus, size_t ncpus, hwt_pool *out, char *err, size_t errlen) {
  memset(out, 0, sizeof(*out));
  if (threads == 0) threads = 1;
  if (threads > HWT_POOL_MAX_THREADS) threads = HWT_POOL_MAX_THREADS;
  out->threads = threads;
  for (unsigned i = 0; i < HWT_POOL_MAX_THREADS; i++) out->cpu[i] = -1;
  if (threads > 1) {
    out->pool = pthreadpool_create(threads);
    if (out->pool == NULL) {
      hwt_errf(err, errlen, "pthreadpool_create(%u) failed", threads);
      return -1;
    }
  }
  if (!g_saved_valid && sched_getaffinity(0, sizeof(g_saved_affinity), &g_saved_affinity) == 0) g_saved_valid = true;
  if (cpus != NULL && ncpus < threads) {
    hwt_errf(err, errlen, "cannot pin %u threads to %zu usable CPUs", threads, ncpus);
    cpus = NULL;
  }
  pin_ctx c = {.cpus = cpus, .threads = threads, .cpu_out = out->cpu, .tid_out = out->tid};
  atomic_init(&c.arrived, 0);
  atomic_init(&c.failed, 0);
  atomic_init(&c.timed_out, 0);
  if (out->pool != NULL)
    pthreadpool_parallelize_1d(out->pool, pin_task, &c, threads, 0);
  else
    pin_task(&c, 0);
  if (cpus != NULL) {
    out->pinned = atomic_load(&c.failed) == 0 && atomic_load(&c.timed_out) == 0;
    if (!out->pinned)
      hwt_errf(err, errlen, "pinning %u pool threads failed (%u setaffinity errors, %u timeouts)", threads,
               atomic_load(&c.failed), atomic_load(&c.timed_out));
  }
  return 0;
}

void hwt_pool_destroy(hwt_pool *p) {
  if (p == NULL) return;
  if (p->pool != NULL) pthreadpool_destroy(p->pool);
  p->pool = NULL;
  /* The caller ran task 0 and was pinned with the pool: give it back its whole mask. */
  if (g_saved_valid) sched_setaffinity(0, sizeof(g_saved_affinity), &g_saved_affinity);
}

unsigned long long hwt_pool_runqueue_wait_ns(const hwt_pool *p) {
  unsigned long long total = 0;
  for (unsigned i = 0; i < p->threads; i++) {
    if (p->tid[i] <= 0) continue;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)p->tid[i]);
    FILE *f = fopen(path, "r");
    if (f == NULL) continue;
    unsigned long long run = 0, wait = 0;
    if (fscanf(f, "%llu %llu", &run, &wait) == 2) total += wait;
    fclose(f);
  }
  return total;
}
