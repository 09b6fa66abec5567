/* SPDX-License-Identifier: Apache-2.0 */
/* The shared pool pins each of its threads (the caller included) to its own CPU, and gives the caller its
 * affinity back when destroyed. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "pool.h"

/* The CPU list a thread may run on, from /proc/self/task/<tid>/status ("Cpus_allowed_list:\t1"). */
static void allowed_list(pid_t tid, char *buf, size_t len) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "%s", path);
  buf[0] = '\0';
  while (fgets(line, sizeof(line), f))
    if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
      snprintf(buf, len, "%s", line + 18 + strspn(line + 18, " \t"));
      buf[strcspn(buf, "\n")] = '\0';
    }
  fclose(f);
}

Test(pool, threads_are_pinned_to_distinct_cpus) {
  cpu_set_t set;
  cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
  int cpus[8];
  size_t n = 0;
  for (int c = 0; c < CPU_SETSIZE && n < 8; c++)
    if (CPU_ISSET(c, &set)) cpus[n++] = c;
  if (n < 2) cr_skip_test("needs 2 usable CPUs, have %zu", n);
  hwt_pool p;
  char err[256] = "";
  cr_assert_eq(hwt_pool_create(2, cpus, n, &p, err, sizeof(err)), 0, "%s", err);
  cr_assert(p.pinned, "%s", err);
  cr_assert_neq(p.tid[0], p.tid[1], "two different threads ran the two pin tasks");
  for (int i = 0; i < 2; i++) {
    char list[64], want[16];
    allowed_list(p.tid[i], list, sizeof(list));
    snprintf(want, sizeof(want), "%d", cpus[i]);
    cr_assert_str_eq(list, want, "thread %d (tid %d) allowed on '%s', want '%s'", i, (int)p.tid[i], list, want);
  }
  hwt_pool_destroy(&p);
  cpu_set_t after;
  cr_assert_eq(sched_getaffinity(0, sizeof(after), &after), 0);
  cr_assert(CPU_EQUAL(&set, &after), "the caller's affinity is restored");
}

Test(pool, one_thread_runs_on_the_caller) {
  hwt_pool p;
  char err[256] = "";
  int cpu0;
  cpu_set_t set;
  sched_getaffinity(0, sizeof(set), &set);
  for (cpu0 = 0; !CPU_ISSET(cpu0, &set); cpu0++) {
  }
  cr_assert_eq(hwt_pool_create(1, &cpu0, 1, &p, err, sizeof(err)), 0);
  cr_assert_null(p.pool);
  cr_assert(p.pinned);
  cr_assert_eq(sched_getcpu(), cpu0);
  hwt_pool_destroy(&p);
}
