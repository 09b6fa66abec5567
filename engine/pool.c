/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime's process-wide thread pool (contract in pool.h), and the pthreadpool entry points that send the
 * jobs of its handles to it.
 *
 * How XNNPACK's jobs reach it: XNNPACK operators call pthreadpool_parallelize_*(). This file defines those
 * functions; an executable that links it exports them, and the dynamic linker binds libXNNPACK's calls to the
 * executable's definitions first (ELF symbol interposition). A call with one of our handles runs here; any other
 * pool (the bench's, made by Debian's pthreadpool_create) and NULL go on to Debian's libpthreadpool unchanged,
 * found with dlsym(RTLD_NEXT). The bench's measurements therefore use Debian's pool exactly as before.
 *
 * Protocol (one job at a time, guarded by job_lock, taken with trylock):
 *   epoch     even = a job is published (or none yet), odd = the caller is writing the next job. Workers wait
 *             on it (bounded spin, then futex).
 *   slot      jobs alternate between two slots, (epoch / 2) % 2; a worker announces itself in in_job[slot]
 *             before it reads the job and re-checks the epoch after, so the caller never rewrites a slot a
 *             worker is reading. A late worker of the previous job holds the other slot: no waiting on it.
 *   items     claimed from next[slot] in guided chunks (remaining / participants, at least 1: the first claims
 *             take contiguous halves as a static split would, the last ones single items); the caller returns
 *             when done[slot] == total, so a worker that is not scheduled delays nothing it did not take.
 *             (remaining / (4 x participants) was measured too: its extra claims on one shared counter cost
 *             MobileNet 0.25 at 2 threads ~25% of p50, 0.214-0.217 ms against 0.166-0.168 ms.) */
#define _GNU_SOURCE 1
#include "pool.h"

#include <dlfcn.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define cpu_relax() ((void) 0)
#endif

#define MAX_DIMS 6

typedef struct job {
  void *fn;
  void *ctx;
  bool uarch;                  /* fn takes a uint32_t uarch index after ctx */
  uint32_t uarch_index;
  unsigned nd, ntiled;         /* dimensions; the last ntiled of them are tiled */
  size_t range[MAX_DIMS], tile[MAX_DIMS], count[MAX_DIMS];
  size_t total;                /* items = product of count */
  uint32_t flags;
  unsigned participants;       /* caller + workers that may take items */
} job;

typedef struct slot {
  job j;
  _Atomic size_t next, done;
  _Atomic uint32_t seats;      /* workers that took a seat in this job */
  _Atomic uint32_t done_flag;  /* futex word: 1 once done == total */
  _Atomic uint32_t waiting;    /* the caller sleeps on done_flag */
  _Atomic uint32_t in_job;     /* workers reading or running this slot */
} slot;

typedef struct view {
  unsigned threads;
} view;

static struct {
  pthread_mutex_t create_lock;
  pthread_mutex_t job_lock;
  unsigned nworkers;
  _Atomic uint32_t epoch;
  _Atomic uint32_t sleepers;
  _Atomic uint32_t hold;
  _Atomic unsigned spin_us;
  slot slots[2];
  _Atomic uint32_t preempt_us;
  _Atomic uint64_t jobs, items_by_workers, items_total, inline_jobs, stalls, backoff_jobs;
  uint64_t backoff_until_ns, backoff_ns, last_stall_ns, backoff_min_ns; /* under job_lock */
  uint64_t win_start_ns;
  double win_given, win_waited;
} P = {.create_lock = PTHREAD_MUTEX_INITIALIZER, .job_lock = PTHREAD_MUTEX_INITIALIZER};

static view views[HWT_POOL_MAX_THREADS + 1];

bool hwt_pool_owns(pthreadpool_t pool) {
  const view *v = (const view *) (void *) pool;
  return v >= &views[0] && v <= &views[HWT_POOL_MAX_THREADS];
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val) {
  return syscall(SYS_futex, (uint32_t *) addr, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* HWTUNE_POOL_SPIN_US and HWTUNE_POOL_YIELD_US, read once (an invalid value keeps the default). */
static pthread_once_t settings_once = PTHREAD_ONCE_INIT;
static _Atomic unsigned yield_us;

static unsigned env_us(const char *name, unsigned dflt) {
  const char *s = getenv(name);
  if (s == NULL || *s == '\0') return dflt;
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  return *end == '\0' && v <= 1000000 ? (unsigned) v : dflt;
}

static void read_settings(void) {
  atomic_store(&P.spin_us, env_us("HWTUNE_POOL_SPIN_US", HWT_POOL_SPIN_US));
  atomic_store(&yield_us, env_us("HWTUNE_POOL_YIELD_US", HWT_POOL_YIELD_AFTER_US));
}

static unsigned spin_us(void) {
  pthread_once(&settings_once, read_settings);
  return atomic_load_explicit(&P.spin_us, memory_order_relaxed);
}

unsigned hwt_pool_set_spin_us(unsigned us) {
  (void) spin_us();
  return atomic_exchange(&P.spin_us, us);
}

void hwt_pool_test_hold_workers(bool hold) { atomic_store(&P.hold, hold ? 1u : 0u); }
void hwt_pool_test_preempt_workers_us(unsigned us) { atomic_store(&P.preempt_us, us); }
void hwt_pool_test_end_backoff(void) {
  pthread_mutex_lock(&P.job_lock);
  P.backoff_until_ns = 0;
  P.backoff_ns = 0;
  pthread_mutex_unlock(&P.job_lock);
}
void hwt_pool_test_min_backoff_ms(unsigned ms) {
  pthread_mutex_lock(&P.job_lock);
  P.backoff_min_ns = (uint64_t) ms * 1000000u;
  pthread_mutex_unlock(&P.job_lock);
}

hwt_pool_stats hwt_pool_get_stats(void) {
  hwt_pool_stats s;
  pthread_mutex_lock(&P.create_lock);
  s.workers = P.nworkers;
  pthread_mutex_unlock(&P.create_lock);
  s.sleeping = atomic_load(&P.sleepers);
  s.jobs = atomic_load(&P.jobs);
  s.items_by_workers = atomic_load(&P.items_by_workers);
  s.items_total = atomic_load(&P.items_total);
  s.inline_jobs = atomic_load(&P.inline_jobs);
  s.stalls = atomic_load(&P.stalls);
  s.backoff_jobs = atomic_load(&P.backoff_jobs);
  return s;
}

/* ---- denormals: pthreadpool's PTHREADPOOL_FLAG_DISABLE_DENORMALS, on every participant for the job ---- */
typedef struct fpstate {
  unsigned long v;
  bool set;
} fpstate;

static fpstate denormals_off(uint32_t flags) {
  fpstate s = {0, false};
  if (!(flags & PTHREADPOOL_FLAG_DISABLE_DENORMALS)) return s;
#if defined(__x86_64__) || defined(__i386__)
  s.v = _mm_getcsr();
  _mm_setcsr((unsigned) s.v | 0x8040u); /* FTZ | DAZ */
  s.set = true;
#elif defined(__aarch64__)
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(s.v));
  __asm__ __volatile__("msr fpcr, %0" ::"r"(s.v | (1ul << 24))); /* FZ */
  s.set = true;
#endif
  return s;
}

static void denormals_restore(fpstate s) {
  if (!s.set) return;
#if defined(__x86_64__) || defined(__i386__)
  _mm_setcsr((unsigned) s.v);
#elif defined(__aarch64__)
  __asm__ __volatile__("msr fpcr, %0" ::"r"(s.v));
#endif
}

/* ---- items ---- */
typedef void (*fn1)(void *, size_t);
typedef void (*fn2)(void *, size_t, size_t);
typedef void (*fn3)(void *, size_t, size_t, size_t);
typedef void (*fn4)(void *, size_t, size_t, size_t, size_t);
typedef void (*fn5)(void *, size_t, size_t, size_t, size_t, size_t);
typedef void (*fn6)(void *, size_t, size_t, size_t, size_t, size_t, size_t);
typedef void (*fn7)(void *, size_t, size_t, size_t, size_t, size_t, size_t, size_t);
typedef void (*fn8)(void *, size_t, size_t, size_t, size_t, size_t, size_t, size_t, size_t);
typedef void (*ufn1)(void *, uint32_t, size_t);
typedef void (*ufn4)(void *, uint32_t, size_t, size_t, size_t, size_t);
typedef void (*ufn5)(void *, uint32_t, size_t, size_t, size_t, size_t, size_t);
typedef void (*ufn6)(void *, uint32_t, size_t, size_t, size_t, size_t, size_t, size_t);

/* Item idx (last dimension fastest): the start of its tile in every dimension, then the tile sizes of the
 * tiled dimensions, as pthreadpool passes them. */
static void run_item(const job *j, size_t idx) {
  size_t a[MAX_DIMS + 2];
  size_t n = j->nd + j->ntiled;
  for (unsigned d = j->nd; d-- > 0;) {
    size_t q = idx / j->count[d], r = idx - q * j->count[d];
    idx = q;
    size_t start = r * j->tile[d], left = j->range[d] - start;
    a[d] = start;
    if (d >= j->nd - j->ntiled) a[d + j->ntiled] = left < j->tile[d] ? left : j->tile[d];
  }
  void *c = j->ctx;
  if (j->uarch) {
    uint32_t u = j->uarch_index;
    switch (n) {
      case 1: ((ufn1) j->fn)(c, u, a[0]); return;
      case 4: ((ufn4) j->fn)(c, u, a[0], a[1], a[2], a[3]); return;
      case 5: ((ufn5) j->fn)(c, u, a[0], a[1], a[2], a[3], a[4]); return;
      case 6: ((ufn6) j->fn)(c, u, a[0], a[1], a[2], a[3], a[4], a[5]); return;
      default: abort(); /* no such entry point: the wrappers below build only these */
    }
  }
  switch (n) {
    case 1: ((fn1) j->fn)(c, a[0]); return;
    case 2: ((fn2) j->fn)(c, a[0], a[1]); return;
    case 3: ((fn3) j->fn)(c, a[0], a[1], a[2]); return;
    case 4: ((fn4) j->fn)(c, a[0], a[1], a[2], a[3]); return;
    case 5: ((fn5) j->fn)(c, a[0], a[1], a[2], a[3], a[4]); return;
    case 6: ((fn6) j->fn)(c, a[0], a[1], a[2], a[3], a[4], a[5]); return;
    case 7: ((fn7) j->fn)(c, a[0], a[1], a[2], a[3], a[4], a[5], a[6]); return;
    case 8: ((fn8) j->fn)(c, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]); return;
    default: abort();
  }
}

/* Claims and runs chunks of slot s until none is left; returns the items run. A worker (not the caller) may be
 * made to pause after each claim by the test hook. */
static size_t work(slot *s, bool worker) {
  const job *j = &s->j;
  size_t ran = 0, per = j->participants;
  for (;;) {
    size_t at = atomic_load_explicit(&s->next, memory_order_relaxed);
    if (at >= j->total) break;
    size_t chunk = (j->total - at) / per;
    if (chunk == 0) chunk = 1;
    at = atomic_fetch_add_explicit(&s->next, chunk, memory_order_relaxed);
    if (at >= j->total) break;
    size_t end = at + chunk < j->total ? at + chunk : j->total;
    if (worker) {
      unsigned us = atomic_load_explicit(&P.preempt_us, memory_order_relaxed);
      if (us != 0) nanosleep(&(struct timespec){us / 1000000u, (long) (us % 1000000u) * 1000}, NULL);
    }
    for (size_t i = at; i < end; i++) run_item(j, i);
    ran += end - at;
    /* counted before `done` lets the caller return, so its stats are complete when the job is */
    if (worker) atomic_fetch_add_explicit(&P.items_by_workers, end - at, memory_order_relaxed);
    size_t done = atomic_fetch_add(&s->done, end - at) + (end - at);
    if (done == j->total) {
      atomic_store(&s->done_flag, 1);
      if (atomic_load(&s->waiting)) futex(&s->done_flag, FUTEX_WAKE, 1);
    }
  }
  return ran;
}

/* ---- bounded waits ---- */
/* A wait spins (pause) for at most the spin time, checking the clock every 64 pauses. After the first
 * HWT_POOL_YIELD_AFTER_US it also yields the CPU at each check: when the scheduler put the caller and a worker on
 * one CPU (its neighbour holds the other), a pure spin would hold the CPU the other thread needs to finish or
 * to publish; a yield costs a system call, so the short waits between a model's layers do not pay it. */
typedef struct spinner {
  uint64_t yield_at, deadline;
  unsigned n;
} spinner;

static unsigned yield_after_us(void) {
  pthread_once(&settings_once, read_settings);
  return atomic_load_explicit(&yield_us, memory_order_relaxed);
}

static spinner spin_begin(void) {
  uint64_t t = now_ns();
  return (spinner){t + (uint64_t) yield_after_us() * 1000u, t + (uint64_t) spin_us() * 1000u, 0};
}

/* One step of the wait; false once the spin time is over (then sleep). */
static bool spin_step(spinner *sp) {
  cpu_relax();
  if ((++sp->n & 63u) != 0) return true;
  uint64_t t = now_ns();
  if (t >= sp->deadline) return false;
  if (t >= sp->yield_at) sched_yield();
  return true;
}

/* ---- workers ---- */
static bool new_job(uint32_t e, uint32_t seen) { return !(e & 1u) && e != seen; }

static uint32_t wait_job(uint32_t seen, bool spin) {
  if (spin) {
    spinner sp = spin_begin();
    do {
      uint32_t e = atomic_load_explicit(&P.epoch, memory_order_acquire);
      if (new_job(e, seen)) return e;
    } while (spin_step(&sp));
  }
  for (;;) {
    atomic_fetch_add(&P.sleepers, 1);
    uint32_t e = atomic_load(&P.epoch);
    if (!new_job(e, seen)) futex(&P.epoch, FUTEX_WAIT, e);
    atomic_fetch_sub(&P.sleepers, 1);
    e = atomic_load(&P.epoch);
    if (new_job(e, seen)) return e;
  }
}

static void *worker_main(void *arg) {
  uint32_t seen = (uint32_t) (uintptr_t) arg;
  bool spin = true;
  for (;;) {
    uint32_t e = wait_job(seen, spin);
    slot *s = &P.slots[(e >> 1) & 1u];
    atomic_fetch_add(&s->in_job, 1);
    if (atomic_load(&P.epoch) != e) { /* the caller moved on (or is writing): look again */
      atomic_fetch_sub(&s->in_job, 1);
      continue;
    }
    seen = e;
    spin = !(s->j.flags & PTHREADPOOL_FLAG_YIELD_WORKERS);
    if (!atomic_load(&P.hold) && atomic_fetch_add(&s->seats, 1) + 1 < s->j.participants) {
      fpstate fp = denormals_off(s->j.flags);
      work(s, true);
      denormals_restore(fp);
    }
    atomic_fetch_sub(&s->in_job, 1);
  }
  return NULL;
}

static void print_stats(void) {
  hwt_pool_stats s = hwt_pool_get_stats();
  fprintf(stderr,
          "hwtune pool: %u workers, %llu jobs, %llu items (%llu by workers), %llu stalls, %llu jobs in back-off, "
          "%llu inline (busy)\n",
          s.workers, (unsigned long long) s.jobs, (unsigned long long) s.items_total,
          (unsigned long long) s.items_by_workers, (unsigned long long) s.stalls, (unsigned long long) s.backoff_jobs,
          (unsigned long long) s.inline_jobs);
}

/* A child of fork() has the caller's thread only: it starts with no workers, no job and fresh locks (engines it
 * inherited still work: their jobs run on the caller until hwt_pool_get starts workers again). */
static void after_fork_in_child(void) {
  pthread_mutex_init(&P.create_lock, NULL);
  pthread_mutex_init(&P.job_lock, NULL);
  P.nworkers = 0;
  atomic_store(&P.sleepers, 0);
  for (int k = 0; k < 2; k++) atomic_store(&P.slots[k].in_job, 0);
  atomic_store(&P.epoch, atomic_load(&P.epoch) & ~1u);
}

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static void setup(void) {
  for (unsigned t = 0; t <= HWT_POOL_MAX_THREADS; t++) views[t].threads = t;
  pthread_atfork(NULL, NULL, after_fork_in_child);
  if (getenv("HWTUNE_POOL_STATS") != NULL) atexit(print_stats);
}

pthreadpool_t hwt_pool_get(unsigned threads) {
  if (threads <= 1) return NULL;
  if (threads > HWT_POOL_MAX_THREADS) threads = HWT_POOL_MAX_THREADS;
  pthread_once(&setup_once, setup);
  pthread_mutex_lock(&P.create_lock);
  while (P.nworkers + 1 < threads) {
    pthread_t t;
    uint32_t seen = atomic_load(&P.epoch) & ~1u;
    if (pthread_create(&t, NULL, worker_main, (void *) (uintptr_t) seen) != 0) break;
    pthread_detach(t);
    P.nworkers++;
  }
  unsigned have = P.nworkers + 1;
  if (threads > have) threads = have;
  pthread_mutex_unlock(&P.create_lock);
  if (threads < 2) return NULL;
  return (pthreadpool_t) (void *) &views[threads];
}

/* ---- running a job ---- */
/* What the workers gave and cost in one job, summed over a window of HWT_POOL_WINDOW_MS. Given: the items they
 * ran at the caller's own pace per item. Cost: the caller's wait for them after its last item, plus `overhead`
 * (publishing the job, waking sleepers, waiting for a worker to leave the slot). When a window's
 * waits exceed what the workers gave (a worker preempted on a chunk waits out a neighbour's time slice), the
 * next jobs run on the caller alone for a back-off that doubles while it keeps happening (a window that pays
 * again within 100 ms + twice the back-off), from HWT_POOL_BACKOFF_MIN_MS to HWT_POOL_BACKOFF_MAX_MS. Under
 * job_lock. */
static void account(uint64_t t0, uint64_t t1, uint64_t t2, size_t mine, size_t total, double overhead) {
  uint64_t busy = t1 - t0, stall = t2 - t1;
  double per_item = mine != 0 ? (double) busy / (double) mine : (double) (t2 - t0) / (double) total;
  P.win_given += per_item * (double) (total - mine);
  P.win_waited += (double) stall + overhead;
  if (P.win_start_ns == 0) P.win_start_ns = t0;
  if (t2 - P.win_start_ns < HWT_POOL_WINDOW_MS * 1000000ull) return;
  if (P.win_waited > P.win_given) {
    uint64_t lo = P.backoff_min_ns ? P.backoff_min_ns : HWT_POOL_BACKOFF_MIN_MS * 1000000ull;
    uint64_t hi = HWT_POOL_BACKOFF_MAX_MS * 1000000ull;
    if (hi < lo) hi = lo;
    bool recurs = P.backoff_ns != 0 && t2 - P.last_stall_ns <= 2 * P.backoff_ns + 100000000ull;
    P.backoff_ns = !recurs ? lo : P.backoff_ns * 2 > hi ? hi : P.backoff_ns * 2;
    P.backoff_until_ns = t2 + P.backoff_ns;
    P.last_stall_ns = t2;
    atomic_fetch_add_explicit(&P.stalls, 1, memory_order_relaxed);
  }
  P.win_start_ns = 0;
  P.win_given = P.win_waited = 0;
}

static void run_inline(const job *j) {
  fpstate fp = denormals_off(j->flags);
  for (size_t i = 0; i < j->total; i++) run_item(j, i);
  denormals_restore(fp);
}

static void run_job(pthreadpool_t pool, job *j) {
  j->total = 1;
  for (unsigned d = 0; d < j->nd; d++) {
    if (j->tile[d] == 0) j->tile[d] = 1;
    j->count[d] = j->range[d] / j->tile[d] + (j->range[d] % j->tile[d] != 0);
    j->total *= j->count[d];
  }
  if (j->total == 0) return;
  unsigned threads = ((const view *) (void *) pool)->threads;
  if (threads < 2 || j->total == 1 || pthread_mutex_trylock(&P.job_lock) != 0) {
    if (threads >= 2 && j->total > 1) atomic_fetch_add_explicit(&P.inline_jobs, 1, memory_order_relaxed);
    run_inline(j);
    return;
  }
  uint64_t t0 = now_ns();
  if (t0 < P.backoff_until_ns) { /* the workers cost more than they gave: the caller alone for a while */
    atomic_fetch_add_explicit(&P.backoff_jobs, 1, memory_order_relaxed);
    run_inline(j);
    pthread_mutex_unlock(&P.job_lock);
    return;
  }
  uint32_t e = atomic_load(&P.epoch); /* even: only the lock holder changes it */
  atomic_store(&P.epoch, e + 1);
  slot *s = &P.slots[((e + 2) >> 1) & 1u];
  if (atomic_load(&s->in_job) != 0) {
    /* A worker of the job before the last is still leaving this slot: normally nanoseconds. If it was preempted
     * there, do not wait out its time slice: withdraw (workers ignore an epoch they have seen) and run alone;
     * the wait counts against the workers. */
    spinner sp = spin_begin();
    uint64_t limit = t0 + (uint64_t) HWT_POOL_SLOT_WAIT_US * 1000u;
    while (atomic_load(&s->in_job) != 0) {
      if (!spin_step(&sp) || ((sp.n & 63u) == 0 && now_ns() >= limit)) {
        atomic_store(&P.epoch, e);
        atomic_fetch_add_explicit(&P.inline_jobs, 1, memory_order_relaxed);
        uint64_t t1 = now_ns();
        run_inline(j);
        account(t1, t1, t1, 0, 1, (double) (t1 - t0));
        pthread_mutex_unlock(&P.job_lock);
        return;
      }
    }
  }
  s->j = *j;
  s->j.participants = threads;
  atomic_store_explicit(&s->next, 0, memory_order_relaxed);
  atomic_store_explicit(&s->done, 0, memory_order_relaxed);
  atomic_store_explicit(&s->seats, 0, memory_order_relaxed);
  atomic_store_explicit(&s->done_flag, 0, memory_order_relaxed);
  atomic_store_explicit(&s->waiting, 0, memory_order_relaxed);
  atomic_store(&P.epoch, e + 2);
  if (atomic_load(&P.sleepers) != 0) futex(&P.epoch, FUTEX_WAKE, (uint32_t) threads - 1);
  uint64_t slot_wait = now_ns() - t0; /* publishing, a wake-up call, a leaving worker: not the caller's items */
  t0 += slot_wait;

  fpstate fp = denormals_off(j->flags);
  size_t mine = work(s, false);
  denormals_restore(fp);
  uint64_t t1 = now_ns(), t2 = t1;
  if (atomic_load(&s->done) != j->total) {
    spinner sp = spin_begin();
    while (atomic_load(&s->done) != j->total) {
      if (!spin_step(&sp)) {
        atomic_store(&s->waiting, 1);
        while (atomic_load(&s->done) != j->total) futex(&s->done_flag, FUTEX_WAIT, 0);
        break;
      }
    }
    t2 = now_ns();
  }
  account(t0, t1, t2, mine, j->total, (double) slot_wait);
  atomic_fetch_add_explicit(&P.jobs, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&P.items_total, j->total, memory_order_relaxed);
  pthread_mutex_unlock(&P.job_lock);
}

/* ---- pthreadpool entry points: ours run here, others go to Debian's libpthreadpool ---- */
static void *real_fn(const char *name) {
  void *f = dlsym(RTLD_NEXT, name);
  if (f == NULL) abort(); /* a foreign pool can only come from libpthreadpool, which is then loaded */
  return f;
}

/* Calls Debian's `name` (the next definition after this executable's) with ARGS, a parenthesized list. */
#define FORWARD(name, ARGS)                                                         \
  do {                                                                             \
    static _Atomic(void *) cached_;                                                \
    void *real_ = atomic_load_explicit(&cached_, memory_order_relaxed);            \
    if (real_ == NULL) {                                                           \
      real_ = real_fn(#name);                                                      \
      atomic_store_explicit(&cached_, real_, memory_order_relaxed);                \
    }                                                                              \
    ((__typeof__(&name)) real_) ARGS;                                              \
  } while (0)

size_t pthreadpool_get_threads_count(pthreadpool_t pool) {
  if (hwt_pool_owns(pool)) return ((const view *) (void *) pool)->threads;
  static _Atomic(void *) cached;
  void *f = atomic_load_explicit(&cached, memory_order_relaxed);
  if (f == NULL) {
    f = real_fn("pthreadpool_get_threads_count");
    atomic_store_explicit(&cached, f, memory_order_relaxed);
  }
  return ((size_t (*)(pthreadpool_t)) f)(pool);
}

void pthreadpool_destroy(pthreadpool_t pool) {
  if (hwt_pool_owns(pool) || pool == NULL) return; /* our handles live as long as the process */
  FORWARD(pthreadpool_destroy, (pool));
}

/* One entry point: PARAMS as pthreadpool.h declares them (pool p, task f, context c, flags fl), ARGS the same
 * names to forward, then the job's fields: dimensions, ranges R(...), tiles T(...) (1 = untiled). */
#define R(...) .range = {__VA_ARGS__}
#define T(...) .tile = {__VA_ARGS__}
#define ENTRY(suffix, PARAMS, ARGS, ...)                                              \
  void pthreadpool_parallelize_##suffix PARAMS {                                      \
    if (!hwt_pool_owns(p)) {                                                          \
      FORWARD(pthreadpool_parallelize_##suffix, ARGS);                                \
      return;                                                                         \
    }                                                                                 \
    job j = {.fn = (void *) f, .ctx = c, .flags = fl, __VA_ARGS__};                   \
    run_job(p, &j);                                                                   \
  }
#define P0 pthreadpool_t p
#define UARCH uint32_t du, uint32_t mu
#define UJOB .uarch = true, .uarch_index = du

/* clang-format off */
ENTRY(1d, (P0, pthreadpool_task_1d_t f, void *c, size_t i, uint32_t fl), (p, f, c, i, fl),
      .nd = 1, R(i), T(1))
ENTRY(1d_with_uarch, (P0, pthreadpool_task_1d_with_id_t f, void *c, UARCH, size_t i, uint32_t fl),
      (p, f, c, du, mu, i, fl), UJOB, .nd = 1, R(i), T(1))
ENTRY(1d_tile_1d, (P0, pthreadpool_task_1d_tile_1d_t f, void *c, size_t i, size_t ti, uint32_t fl),
      (p, f, c, i, ti, fl), .nd = 1, .ntiled = 1, R(i), T(ti))
ENTRY(2d, (P0, pthreadpool_task_2d_t f, void *c, size_t i, size_t j_, uint32_t fl), (p, f, c, i, j_, fl),
      .nd = 2, R(i, j_), T(1, 1))
ENTRY(2d_tile_1d, (P0, pthreadpool_task_2d_tile_1d_t f, void *c, size_t i, size_t j_, size_t tj, uint32_t fl),
      (p, f, c, i, j_, tj, fl), .nd = 2, .ntiled = 1, R(i, j_), T(1, tj))
ENTRY(2d_tile_2d, (P0, pthreadpool_task_2d_tile_2d_t f, void *c, size_t i, size_t j_, size_t ti, size_t tj,
                   uint32_t fl),
      (p, f, c, i, j_, ti, tj, fl), .nd = 2, .ntiled = 2, R(i, j_), T(ti, tj))
ENTRY(2d_tile_2d_with_uarch, (P0, pthreadpool_task_2d_tile_2d_with_id_t f, void *c, UARCH, size_t i, size_t j_,
                              size_t ti, size_t tj, uint32_t fl),
      (p, f, c, du, mu, i, j_, ti, tj, fl), UJOB, .nd = 2, .ntiled = 2, R(i, j_), T(ti, tj))
ENTRY(3d, (P0, pthreadpool_task_3d_t f, void *c, size_t i, size_t j_, size_t k, uint32_t fl),
      (p, f, c, i, j_, k, fl), .nd = 3, R(i, j_, k), T(1, 1, 1))
ENTRY(3d_tile_1d, (P0, pthreadpool_task_3d_tile_1d_t f, void *c, size_t i, size_t j_, size_t k, size_t tk,
                   uint32_t fl),
      (p, f, c, i, j_, k, tk, fl), .nd = 3, .ntiled = 1, R(i, j_, k), T(1, 1, tk))
ENTRY(3d_tile_2d, (P0, pthreadpool_task_3d_tile_2d_t f, void *c, size_t i, size_t j_, size_t k, size_t tj,
                   size_t tk, uint32_t fl),
      (p, f, c, i, j_, k, tj, tk, fl), .nd = 3, .ntiled = 2, R(i, j_, k), T(1, tj, tk))
ENTRY(3d_tile_2d_with_uarch, (P0, pthreadpool_task_3d_tile_2d_with_id_t f, void *c, UARCH, size_t i, size_t j_,
                              size_t k, size_t tj, size_t tk, uint32_t fl),
      (p, f, c, du, mu, i, j_, k, tj, tk, fl), UJOB, .nd = 3, .ntiled = 2, R(i, j_, k), T(1, tj, tk))
ENTRY(4d, (P0, pthreadpool_task_4d_t f, void *c, size_t i, size_t j_, size_t k, size_t l, uint32_t fl),
      (p, f, c, i, j_, k, l, fl), .nd = 4, R(i, j_, k, l), T(1, 1, 1, 1))
ENTRY(4d_tile_1d, (P0, pthreadpool_task_4d_tile_1d_t f, void *c, size_t i, size_t j_, size_t k, size_t l,
                   size_t tl, uint32_t fl),
      (p, f, c, i, j_, k, l, tl, fl), .nd = 4, .ntiled = 1, R(i, j_, k, l), T(1, 1, 1, tl))
ENTRY(4d_tile_2d, (P0, pthreadpool_task_4d_tile_2d_t f, void *c, size_t i, size_t j_, size_t k, size_t l,
                   size_t tk, size_t tl, uint32_t fl),
      (p, f, c, i, j_, k, l, tk, tl, fl), .nd = 4, .ntiled = 2, R(i, j_, k, l), T(1, 1, tk, tl))
ENTRY(4d_tile_2d_with_uarch, (P0, pthreadpool_task_4d_tile_2d_with_id_t f, void *c, UARCH, size_t i, size_t j_,
                              size_t k, size_t l, size_t tk, size_t tl, uint32_t fl),
      (p, f, c, du, mu, i, j_, k, l, tk, tl, fl), UJOB, .nd = 4, .ntiled = 2, R(i, j_, k, l), T(1, 1, tk, tl))
ENTRY(5d, (P0, pthreadpool_task_5d_t f, void *c, size_t i, size_t j_, size_t k, size_t l, size_t m, uint32_t fl),
      (p, f, c, i, j_, k, l, m, fl), .nd = 5, R(i, j_, k, l, m), T(1, 1, 1, 1, 1))
ENTRY(5d_tile_1d, (P0, pthreadpool_task_5d_tile_1d_t f, void *c, size_t i, size_t j_, size_t k, size_t l,
                   size_t m, size_t tm, uint32_t fl),
      (p, f, c, i, j_, k, l, m, tm, fl), .nd = 5, .ntiled = 1, R(i, j_, k, l, m), T(1, 1, 1, 1, tm))
ENTRY(5d_tile_2d, (P0, pthreadpool_task_5d_tile_2d_t f, void *c, size_t i, size_t j_, size_t k, size_t l,
                   size_t m, size_t tl, size_t tm, uint32_t fl),
      (p, f, c, i, j_, k, l, m, tl, tm, fl), .nd = 5, .ntiled = 2, R(i, j_, k, l, m), T(1, 1, 1, tl, tm))
ENTRY(6d, (P0, pthreadpool_task_6d_t f, void *c, size_t i, size_t j_, size_t k, size_t l, size_t m, size_t n,
           uint32_t fl),
      (p, f, c, i, j_, k, l, m, n, fl), .nd = 6, R(i, j_, k, l, m, n), T(1, 1, 1, 1, 1, 1))
ENTRY(6d_tile_1d, (P0, pthreadpool_task_6d_tile_1d_t f, void *c, size_t i, size_t j_, size_t k, size_t l,
                   size_t m, size_t n, size_t tn, uint32_t fl),
      (p, f, c, i, j_, k, l, m, n, tn, fl), .nd = 6, .ntiled = 1, R(i, j_, k, l, m, n), T(1, 1, 1, 1, 1, tn))
ENTRY(6d_tile_2d, (P0, pthreadpool_task_6d_tile_2d_t f, void *c, size_t i, size_t j_, size_t k, size_t l,
                   size_t m, size_t n, size_t tm, size_t tn, uint32_t fl),
      (p, f, c, i, j_, k, l, m, n, tm, tn, fl), .nd = 6, .ntiled = 2, R(i, j_, k, l, m, n), T(1, 1, 1, 1, tm, tn))
/* clang-format on */
