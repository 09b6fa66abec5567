/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime's thread pool: every pthreadpool entry point covers its range exactly once with the right tiles,
 * a job completes when its workers never run, idle workers go to sleep, engines share one pool, foreign pools
 * and NULL still reach Debian's pthreadpool, and the engine never uses more threads than usable CPUs. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>
#include <dirent.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "engine.h"
#include "pool.h"

#define MAXN 4096

/* Coverage of an up to 6-d index space: hits[flat index] counts the calls that covered it. */
typedef struct cover {
  size_t range[6];
  unsigned nd;
  atomic_int hits[MAXN];
  atomic_int bad_tile;
  atomic_int calls;
} cover;

static void mark(cover *c, const size_t *start, const size_t *size) {
  atomic_fetch_add(&c->calls, 1);
  size_t idx[6] = {0};
  for (unsigned d = 0; d < c->nd; d++) {
    if (size[d] == 0 || start[d] + size[d] > c->range[d]) {
      atomic_fetch_add(&c->bad_tile, 1);
      return;
    }
    idx[d] = start[d];
  }
  for (;;) {
    size_t flat = 0;
    for (unsigned d = 0; d < c->nd; d++) flat = flat * c->range[d] + idx[d];
    atomic_fetch_add(&c->hits[flat], 1);
    unsigned d = c->nd;
    while (d-- > 0) {
      if (++idx[d] < start[d] + size[d]) break;
      idx[d] = start[d];
    }
    if (d == (unsigned) -1) return;
  }
}

static void t1(void *p, size_t i) { mark(p, (size_t[]){i}, (size_t[]){1}); }
static void t1t(void *p, size_t i, size_t ti) { mark(p, (size_t[]){i}, (size_t[]){ti}); }
static void u1(void *p, uint32_t u, size_t i) {
  cr_assert_eq(u, 3);
  mark(p, (size_t[]){i}, (size_t[]){1});
}
static void t2(void *p, size_t i, size_t j) { mark(p, (size_t[]){i, j}, (size_t[]){1, 1}); }
static void t2t1(void *p, size_t i, size_t j, size_t tj) { mark(p, (size_t[]){i, j}, (size_t[]){1, tj}); }
static void t2t2(void *p, size_t i, size_t j, size_t ti, size_t tj) { mark(p, (size_t[]){i, j}, (size_t[]){ti, tj}); }
static void u2t2(void *p, uint32_t u, size_t i, size_t j, size_t ti, size_t tj) {
  cr_assert_eq(u, 3);
  mark(p, (size_t[]){i, j}, (size_t[]){ti, tj});
}
static void t3(void *p, size_t i, size_t j, size_t k) { mark(p, (size_t[]){i, j, k}, (size_t[]){1, 1, 1}); }
static void t3t1(void *p, size_t i, size_t j, size_t k, size_t tk) {
  mark(p, (size_t[]){i, j, k}, (size_t[]){1, 1, tk});
}
static void t3t2(void *p, size_t i, size_t j, size_t k, size_t tj, size_t tk) {
  mark(p, (size_t[]){i, j, k}, (size_t[]){1, tj, tk});
}
static void u3t2(void *p, uint32_t u, size_t i, size_t j, size_t k, size_t tj, size_t tk) {
  cr_assert_eq(u, 3);
  mark(p, (size_t[]){i, j, k}, (size_t[]){1, tj, tk});
}
static void t4(void *p, size_t i, size_t j, size_t k, size_t l) {
  mark(p, (size_t[]){i, j, k, l}, (size_t[]){1, 1, 1, 1});
}
static void t4t1(void *p, size_t i, size_t j, size_t k, size_t l, size_t tl) {
  mark(p, (size_t[]){i, j, k, l}, (size_t[]){1, 1, 1, tl});
}
static void t4t2(void *p, size_t i, size_t j, size_t k, size_t l, size_t tk, size_t tl) {
  mark(p, (size_t[]){i, j, k, l}, (size_t[]){1, 1, tk, tl});
}
static void u4t2(void *p, uint32_t u, size_t i, size_t j, size_t k, size_t l, size_t tk, size_t tl) {
  cr_assert_eq(u, 3);
  mark(p, (size_t[]){i, j, k, l}, (size_t[]){1, 1, tk, tl});
}
static void t5(void *p, size_t i, size_t j, size_t k, size_t l, size_t m) {
  mark(p, (size_t[]){i, j, k, l, m}, (size_t[]){1, 1, 1, 1, 1});
}
static void t5t1(void *p, size_t i, size_t j, size_t k, size_t l, size_t m, size_t tm) {
  mark(p, (size_t[]){i, j, k, l, m}, (size_t[]){1, 1, 1, 1, tm});
}
static void t5t2(void *p, size_t i, size_t j, size_t k, size_t l, size_t m, size_t tl, size_t tm) {
  mark(p, (size_t[]){i, j, k, l, m}, (size_t[]){1, 1, 1, tl, tm});
}
static void t6(void *p, size_t i, size_t j, size_t k, size_t l, size_t m, size_t n) {
  mark(p, (size_t[]){i, j, k, l, m, n}, (size_t[]){1, 1, 1, 1, 1, 1});
}
static void t6t1(void *p, size_t i, size_t j, size_t k, size_t l, size_t m, size_t n, size_t tn) {
  mark(p, (size_t[]){i, j, k, l, m, n}, (size_t[]){1, 1, 1, 1, 1, tn});
}
static void t6t2(void *p, size_t i, size_t j, size_t k, size_t l, size_t m, size_t n, size_t tm, size_t tn) {
  mark(p, (size_t[]){i, j, k, l, m, n}, (size_t[]){1, 1, 1, 1, tm, tn});
}

static cover *new_cover(unsigned nd, const size_t *range) {
  cover *c = calloc(1, sizeof(*c));
  c->nd = nd;
  size_t n = 1;
  for (unsigned d = 0; d < nd; d++) n *= (c->range[d] = range[d]);
  cr_assert_leq(n, MAXN);
  return c;
}

static void expect_once(cover *c, const char *what) {
  size_t n = 1;
  for (unsigned d = 0; d < c->nd; d++) n *= c->range[d];
  cr_expect_eq(atomic_load(&c->bad_tile), 0, "%s: a tile outside the range or empty", what);
  for (size_t k = 0; k < n; k++)
    cr_assert_eq(atomic_load(&c->hits[k]), 1, "%s: element %zu covered %d times", what, k, atomic_load(&c->hits[k]));
  free(c);
}

/* Odd ranges and tiles that do not divide them, on pool p (ours, Debian's or NULL). */
static void all_entry_points(pthreadpool_t p) {
  const uint32_t f = PTHREADPOOL_FLAG_DISABLE_DENORMALS;
  cover *c;
  c = new_cover(1, (size_t[]){1001});
  pthreadpool_parallelize_1d(p, t1, c, 1001, f);
  expect_once(c, "1d");
  c = new_cover(1, (size_t[]){1001});
  pthreadpool_parallelize_1d_tile_1d(p, t1t, c, 1001, 17, f);
  expect_once(c, "1d_tile_1d");
  c = new_cover(1, (size_t[]){37});
  pthreadpool_parallelize_1d_with_uarch(p, u1, c, 3, 5, 37, 0);
  expect_once(c, "1d_with_uarch");
  c = new_cover(2, (size_t[]){7, 13});
  pthreadpool_parallelize_2d(p, t2, c, 7, 13, f);
  expect_once(c, "2d");
  c = new_cover(2, (size_t[]){7, 13});
  pthreadpool_parallelize_2d_tile_1d(p, t2t1, c, 7, 13, 4, f);
  expect_once(c, "2d_tile_1d");
  c = new_cover(2, (size_t[]){29, 31});
  pthreadpool_parallelize_2d_tile_2d(p, t2t2, c, 29, 31, 6, 8, f);
  expect_once(c, "2d_tile_2d");
  c = new_cover(2, (size_t[]){29, 31});
  pthreadpool_parallelize_2d_tile_2d_with_uarch(p, u2t2, c, 3, 5, 29, 31, 6, 8, f);
  expect_once(c, "2d_tile_2d_with_uarch");
  c = new_cover(3, (size_t[]){3, 5, 7});
  pthreadpool_parallelize_3d(p, t3, c, 3, 5, 7, f);
  expect_once(c, "3d");
  c = new_cover(3, (size_t[]){3, 5, 7});
  pthreadpool_parallelize_3d_tile_1d(p, t3t1, c, 3, 5, 7, 3, f);
  expect_once(c, "3d_tile_1d");
  c = new_cover(3, (size_t[]){3, 5, 7});
  pthreadpool_parallelize_3d_tile_2d(p, t3t2, c, 3, 5, 7, 2, 3, f);
  expect_once(c, "3d_tile_2d");
  c = new_cover(3, (size_t[]){3, 5, 7});
  pthreadpool_parallelize_3d_tile_2d_with_uarch(p, u3t2, c, 3, 5, 3, 5, 7, 2, 3, f);
  expect_once(c, "3d_tile_2d_with_uarch");
  c = new_cover(4, (size_t[]){2, 3, 5, 7});
  pthreadpool_parallelize_4d(p, t4, c, 2, 3, 5, 7, f);
  expect_once(c, "4d");
  c = new_cover(4, (size_t[]){2, 3, 5, 7});
  pthreadpool_parallelize_4d_tile_1d(p, t4t1, c, 2, 3, 5, 7, 4, f);
  expect_once(c, "4d_tile_1d");
  c = new_cover(4, (size_t[]){2, 3, 5, 7});
  pthreadpool_parallelize_4d_tile_2d(p, t4t2, c, 2, 3, 5, 7, 2, 4, f);
  expect_once(c, "4d_tile_2d");
  c = new_cover(4, (size_t[]){2, 3, 5, 7});
  pthreadpool_parallelize_4d_tile_2d_with_uarch(p, u4t2, c, 3, 5, 2, 3, 5, 7, 2, 4, f);
  expect_once(c, "4d_tile_2d_with_uarch");
  c = new_cover(5, (size_t[]){2, 3, 2, 5, 7});
  pthreadpool_parallelize_5d(p, t5, c, 2, 3, 2, 5, 7, f);
  expect_once(c, "5d");
  c = new_cover(5, (size_t[]){2, 3, 2, 5, 7});
  pthreadpool_parallelize_5d_tile_1d(p, t5t1, c, 2, 3, 2, 5, 7, 3, f);
  expect_once(c, "5d_tile_1d");
  c = new_cover(5, (size_t[]){2, 3, 2, 5, 7});
  pthreadpool_parallelize_5d_tile_2d(p, t5t2, c, 2, 3, 2, 5, 7, 2, 3, f);
  expect_once(c, "5d_tile_2d");
  c = new_cover(6, (size_t[]){2, 2, 3, 2, 5, 7});
  pthreadpool_parallelize_6d(p, t6, c, 2, 2, 3, 2, 5, 7, f);
  expect_once(c, "6d");
  c = new_cover(6, (size_t[]){2, 2, 3, 2, 5, 7});
  pthreadpool_parallelize_6d_tile_1d(p, t6t1, c, 2, 2, 3, 2, 5, 7, 4, f);
  expect_once(c, "6d_tile_1d");
  c = new_cover(6, (size_t[]){2, 2, 3, 2, 5, 7});
  pthreadpool_parallelize_6d_tile_2d(p, t6t2, c, 2, 2, 3, 2, 5, 7, 2, 4, f);
  expect_once(c, "6d_tile_2d");
}

Test(pool, every_entry_point_covers_its_range_once) {
  for (unsigned t = 2; t <= 4; t++) {
    pthreadpool_t p = hwt_pool_get(t);
    cr_assert_not_null(p);
    cr_assert(hwt_pool_owns(p));
    cr_assert_eq(pthreadpool_get_threads_count(p), t);
    all_entry_points(p);
  }
  cr_assert_gt(hwt_pool_get_stats().jobs, 0);
}

Test(pool, foreign_pools_and_null_still_reach_pthreadpool) {
  pthreadpool_t real = pthreadpool_create(2);
  cr_assert_not_null(real);
  cr_assert_not(hwt_pool_owns(real));
  cr_assert_eq(pthreadpool_get_threads_count(real), 2);
  cr_assert_eq(pthreadpool_get_threads_count(NULL), 1);
  hwt_pool_stats before = hwt_pool_get_stats();
  all_entry_points(real);
  all_entry_points(NULL);
  hwt_pool_stats after = hwt_pool_get_stats();
  cr_expect_eq(after.jobs, before.jobs, "a foreign or NULL pool's job ran on hwtune's pool");
  pthreadpool_destroy(real);
  cr_assert_null(hwt_pool_get(1));
}

/* A worker the OS does not schedule must not hold the caller: the held workers take nothing, the call still
 * returns with every item done, all by the caller. (Debian's pthreadpool waits for every worker to check in.) */
Test(pool, a_job_completes_when_its_workers_never_run) {
  pthreadpool_t p = hwt_pool_get(2);
  cr_assert_not_null(p);
  hwt_pool_stats before = hwt_pool_get_stats();
  hwt_pool_test_hold_workers(true);
  for (int rep = 0; rep < 50; rep++) {
    cover *c = new_cover(2, (size_t[]){29, 31});
    pthreadpool_parallelize_2d_tile_2d(p, t2t2, c, 29, 31, 3, 4, 0);
    expect_once(c, "held");
  }
  hwt_pool_test_hold_workers(false);
  hwt_pool_stats after = hwt_pool_get_stats();
  cr_assert_eq(after.items_by_workers, before.items_by_workers, "a held worker ran items");
  cr_assert_eq(after.jobs - before.jobs, 50);
}

static uint64_t ns_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* Waits (bounded) until every worker sleeps on the futex; false if they still spin after `limit_ms`. */
static bool all_asleep(unsigned limit_ms) {
  uint64_t end = ns_now() + (uint64_t) limit_ms * 1000000u;
  while (ns_now() < end) {
    hwt_pool_stats s = hwt_pool_get_stats();
    if (s.sleeping >= s.workers) return true;
    sched_yield();
  }
  return false;
}

/* Idle workers sleep after their bounded spin instead of burning a CPU another engine or process needs. */
Test(pool, idle_workers_go_to_sleep) {
  pthreadpool_t p = hwt_pool_get(3);
  cr_assert_not_null(p);
  cover *c = new_cover(1, (size_t[]){1001});
  pthreadpool_parallelize_1d(p, t1, c, 1001, 0);
  expect_once(c, "warm");
  cr_assert(all_asleep(10000), "workers still awake 10 s after a job (spin %u us)", HWT_POOL_SPIN_US);
  /* With no spin they sleep as soon as a job ends, and the next job wakes them. */
  unsigned old = hwt_pool_set_spin_us(0);
  for (int rep = 0; rep < 20; rep++) {
    c = new_cover(1, (size_t[]){1001});
    pthreadpool_parallelize_1d(p, t1, c, 1001, PTHREADPOOL_FLAG_YIELD_WORKERS);
    expect_once(c, "no spin");
  }
  cr_assert(all_asleep(10000));
  hwt_pool_set_spin_us(old);
  cr_assert_eq(hwt_pool_get_stats().workers, 2);
}

/* A task that calls back into the pool (or a second thread while a job runs) runs inline instead of deadlocking. */
typedef struct nest {
  pthreadpool_t p;
  atomic_int inner;
} nest;
static void inner_task(void *p, size_t i) {
  (void) i;
  atomic_fetch_add(&((nest *) p)->inner, 1);
}
static void outer_task(void *p, size_t i) {
  (void) i;
  nest *n = p;
  pthreadpool_parallelize_1d(n->p, inner_task, n, 10, 0);
}
Test(pool, a_nested_job_runs_inline) {
  nest n = {hwt_pool_get(2), 0};
  hwt_pool_stats before = hwt_pool_get_stats();
  pthreadpool_parallelize_1d(n.p, outer_task, &n, 8, 0);
  cr_assert_eq(atomic_load(&n.inner), 80);
  cr_assert_geq(hwt_pool_get_stats().inline_jobs - before.inline_jobs, 8);
}

#if defined(__x86_64__)
static atomic_int no_ftz;
static void check_ftz(void *p, size_t i) {
  (void) p;
  (void) i;
  if ((_mm_getcsr() & 0x8040u) != 0x8040u) atomic_fetch_add(&no_ftz, 1);
}
Test(pool, the_denormals_flag_reaches_every_participant) {
  pthreadpool_t p = hwt_pool_get(2);
  unsigned before = _mm_getcsr();
  pthreadpool_parallelize_1d(p, check_ftz, NULL, 4000, PTHREADPOOL_FLAG_DISABLE_DENORMALS);
  cr_assert_eq(atomic_load(&no_ftz), 0, "%d items ran with denormals on", atomic_load(&no_ftz));
  cr_assert_eq(_mm_getcsr() & ~0x3fu, before & ~0x3fu, "the caller's MXCSR controls were not restored");
}
#endif

static unsigned task_count(void) {
  DIR *d = opendir("/proc/self/task");
  cr_assert_not_null(d);
  unsigned n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* Two engines of one process (the audit's default and tuned ones) run on one pool: one worker for 2 threads,
 * not one per engine spinning against the other. */
Test(pool, engines_share_one_pool) {
  if (hwt_engine_usable_cpus() < 2) cr_skip_test("needs 2 usable CPUs");
  char err[512] = "";
  hwt_model *m = NULL;
  cr_assert_eq(hwt_model_open("mlp", &m, err, sizeof(err)), hwt_status_ok, "%s", err);
  unsigned tasks0 = task_count();
  hwt_engine_options opt = {0};
  opt.threads = 2;
  hwt_engine *a = NULL, *b = NULL;
  cr_assert_eq(hwt_engine_create(m, 8, &opt, &a, err, sizeof(err)), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_engine_create(m, 8, &opt, &b, err, sizeof(err)), hwt_status_ok, "%s", err);
  size_t in = hwt_shape_size(m->input) * 8, on = hwt_shape_size(m->layers[m->nlayers - 1].out) * 8;
  float *x = malloc(in * 4), *y = malloc(on * 4), *z = malloc(on * 4);
  hwt_model_gen_inputs(m, 3, 8, x);
  for (int r = 0; r < 3; r++) {
    cr_assert_eq(hwt_engine_run(a, x, y, NULL), hwt_status_ok);
    cr_assert_eq(hwt_engine_run(b, x, z, NULL), hwt_status_ok);
  }
  cr_assert_eq(memcmp(y, z, on * 4), 0, "two engines of one model disagree");
  cr_assert_eq(hwt_engine_layer_choice(a, 0)->threads, 2);
  cr_assert_leq(task_count(), tasks0 + 1, "%u threads for two 2-thread engines (was %u)", task_count(), tasks0);
  hwt_engine_destroy(a);
  hwt_engine_destroy(b);
  hwt_model_free(m);
  free(x);
  free(y);
  free(z);
}

/* Under `taskset -c 0` a 2-thread request runs one thread: two threads on one CPU only wait for each other. */
Test(pool, the_engine_clamps_threads_to_the_usable_cpus) {
  cpu_set_t all, one;
  cr_assert_eq(sched_getaffinity(0, sizeof(all), &all), 0);
  int first = -1;
  for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
    if (CPU_ISSET(c, &all)) first = c;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
  char err[512] = "";
  hwt_model *m = NULL;
  cr_assert_eq(hwt_model_open("mlp", &m, err, sizeof(err)), hwt_status_ok, "%s", err);
  hwt_engine_options opt = {0};
  opt.threads = 2;
  hwt_engine *e = NULL;
  cr_assert_eq(hwt_engine_create(m, 1, &opt, &e, err, sizeof(err)), hwt_status_ok, "%s", err);
  for (size_t i = 0; i < m->nlayers; i++)
    cr_expect_leq(hwt_engine_layer_choice(e, i)->threads, 1, "layer %zu: %u threads on one usable CPU", i,
                  hwt_engine_layer_choice(e, i)->threads);
  hwt_engine_destroy(e);
  hwt_model_free(m);
  sched_setaffinity(0, sizeof(all), &all);
}

/* Items that take about `us` microseconds each, so that workers wake and claim chunks while the job runs. */
static void busy_item(void *p, size_t i) {
  (void) i;
  unsigned us = *(const unsigned *) p;
  uint64_t end = ns_now() + (uint64_t) us * 1000u;
  while (ns_now() < end) {
  }
}

/* A worker preempted on its chunk (a busy neighbour on its CPU) holds the caller for the rest of its time slice.
 * When the caller's waits outweigh what the workers gave, the next jobs run on the caller alone for a back-off,
 * then the workers are tried again. The preempted worker is simulated: it sleeps 20 ms after each claim. */
Test(pool, workers_that_stall_the_caller_are_set_aside_for_a_while) {
  pthreadpool_t p = hwt_pool_get(2);
  cr_assert_not_null(p);
  unsigned item_us = 20;
  hwt_pool_test_preempt_workers_us(20000);
  hwt_pool_test_min_backoff_ms(60000); /* the back-off outlasts the checks below, however slow the machine */
  hwt_pool_stats s0 = hwt_pool_get_stats();
  int tries = 0;
  while (hwt_pool_get_stats().stalls == s0.stalls && tries++ < 200)
    pthreadpool_parallelize_1d(p, busy_item, &item_us, 100, 0);
  cr_assert_gt(hwt_pool_get_stats().stalls, s0.stalls, "no back-off after %d jobs held by a preempted worker", tries);
  hwt_pool_test_preempt_workers_us(0);
  hwt_pool_stats s1 = hwt_pool_get_stats();
  for (int r = 0; r < 5; r++) pthreadpool_parallelize_1d(p, busy_item, &item_us, 100, 0);
  hwt_pool_stats s2 = hwt_pool_get_stats();
  cr_assert_eq(s2.backoff_jobs - s1.backoff_jobs, 5, "jobs right after the stall were not run by the caller alone");
  cr_assert_eq(s2.items_by_workers, s1.items_by_workers, "a worker took items during the back-off");
  /* After the back-off the workers take part again. */
  hwt_pool_test_end_backoff();
  hwt_pool_test_min_backoff_ms(0);
  tries = 0;
  while (hwt_pool_get_stats().items_by_workers == s2.items_by_workers && tries++ < 200)
    pthreadpool_parallelize_1d(p, busy_item, &item_us, 100, 0);
  cr_assert_gt(hwt_pool_get_stats().items_by_workers, s2.items_by_workers, "workers never came back");
}
