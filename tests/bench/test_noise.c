/* SPDX-License-Identifier: Apache-2.0 */
/* Bench's load findings from recorded /proc/stat readings: load on any usable CPU, used by the run or not. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "noise.h"

/* One /proc/stat reading of a 2-CPU machine (busy and idle ticks per CPU) with this process's ticks `self`. */
static hwt_cpu_times *reading(unsigned long long busy0, unsigned long long idle0, unsigned long long busy1,
                              unsigned long long idle1, unsigned long long self) {
  char path[] = "/tmp/hwt_noise_XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  FILE *f = fdopen(fd, "w");
  cr_assert_not_null(f);
  /* user nice system idle iowait irq softirq steal: busy split over user and system, 1 tick of iowait */
  fprintf(f, "cpu  %llu 0 %llu %llu 2 0 0 0 0 0\n", busy0 / 2 + busy1 / 2, busy0 - busy0 / 2 + busy1 - busy1 / 2,
          idle0 + idle1);
  fprintf(f, "cpu0 %llu 0 %llu %llu 1 0 0 0 0 0\n", busy0 / 2, busy0 - busy0 / 2, idle0);
  fprintf(f, "cpu1 %llu 0 %llu %llu 1 0 0 0 0 0\nintr 12345\nctxt 67890\n", busy1 / 2, busy1 - busy1 / 2, idle1);
  cr_assert_eq(fclose(f), 0);
  hwt_cpu_times *t = malloc(sizeof *t);
  cr_assert_not_null(t);
  cr_assert(hwt_cpu_times_read(t, path));
  unlink(path);
  cr_assert_eq(t->busy[0], busy0);
  cr_assert_eq(t->busy[1], busy1);
  t->self_ticks = self; /* the reading took this test's own ticks from /proc/self/stat */
  return t;
}

static const int usable[2] = {0, 1};

/* The case: `bench --threads 1` pinned to cpu0, which it keeps 100% busy itself, while another process
 * takes 30% of cpu1 (same L3, same memory bandwidth). The result must say so. */
Test(noise, single_thread_run_reports_load_on_another_usable_cpu) {
  hwt_cpu_times *r0 = reading(1000, 5000, 2000, 4000, 500);
  hwt_cpu_times *r1 = reading(1100, 5000, 2030, 4070, 600); /* 1 s: cpu0 100 ticks ours, cpu1 30 foreign */
  const int used[1] = {0};
  char out[2][HWT_LOAD_FINDING_LEN];
  size_t n = hwt_load_findings(NULL, NULL, r0, r1, usable, 2, used, 1, out, 2);
  cr_assert_eq(n, 1);
  cr_assert_not_null(strstr(out[0], "load on cpu1 during run: 30%"), "%s", out[0]);
  cr_assert_not_null(strstr(out[0], "not used by this run"), "%s", out[0]);
  hwt_load_report l = hwt_cpu_load_all(r0, r1, usable, 2, used, 1);
  cr_assert_eq(l.worst_cpu, 1);
  cr_assert(!l.worst_used);
  cr_assert_float_eq(l.worst, 0.30, 1e-9);
  cr_assert_float_eq(l.all, 0.15, 1e-9);
  /* what bench looked at before: the used CPU alone, where all the ticks are ours */
  double share;
  cr_assert_float_eq(hwt_cpu_foreign_load(r0, r1, used, 1, true, &share, NULL), 0.0, 1e-9);
  /* and the other CPU only from 50% on */
  cr_assert_lt(hwt_cpu_foreign_load(r0, r1, &usable[1], 1, false, NULL, NULL), 0.5);
  free(r0);
  free(r1);
}

Test(noise, load_just_before_the_run_is_reported_too) {
  hwt_cpu_times *b0 = reading(1000, 5000, 2000, 4000, 500);
  hwt_cpu_times *b1 = reading(1002, 5018, 2012, 4008, 502); /* 0.2 s: cpu1 60% busy with another process */
  hwt_cpu_times *r1 = reading(1102, 5018, 2014, 4106, 602); /* then a quiet run */
  const int used[1] = {0};
  char out[2][HWT_LOAD_FINDING_LEN];
  size_t n = hwt_load_findings(b0, b1, b1, r1, usable, 2, used, 1, out, 2);
  cr_assert_eq(n, 1);
  cr_assert_not_null(strstr(out[0], "load on cpu1 before the run: 60%"), "%s", out[0]);
  free(b0);
  free(b1);
  free(r1);
}

Test(noise, a_quiet_machine_gives_no_warning) {
  hwt_cpu_times *r0 = reading(1000, 5000, 2000, 4000, 500);
  hwt_cpu_times *r1 = reading(1100, 5000, 2003, 4097, 600); /* cpu1: 3% (kernel threads) */
  const int used[1] = {0};
  char out[2][HWT_LOAD_FINDING_LEN];
  cr_assert_eq(hwt_load_findings(r0, r1, r0, r1, usable, 2, used, 1, out, 2), 0, "%s", out[0]);
  /* two pinned threads, each 90% busy with our work */
  hwt_cpu_times *r2 = reading(1090, 5010, 2090, 4010, 680);
  const int both[2] = {0, 1};
  cr_assert_eq(hwt_load_findings(NULL, NULL, r0, r2, usable, 2, both, 2, out, 2), 0, "%s", out[0]);
  free(r0);
  free(r1);
  free(r2);
}

Test(noise, unpinned_thread_is_not_taken_for_a_neighbour) {
  /* our thread moved between the CPUs (60 + 40 ticks): no load from others */
  hwt_cpu_times *r0 = reading(1000, 5000, 2000, 4000, 500);
  hwt_cpu_times *r1 = reading(1060, 5040, 2040, 4060, 600);
  char out[2][HWT_LOAD_FINDING_LEN];
  cr_assert_eq(hwt_load_findings(NULL, NULL, r0, r1, usable, 2, NULL, 0, out, 2), 0, "%s", out[0]);
  /* the same with another process taking 30 ticks of cpu1 */
  hwt_cpu_times *r2 = reading(1060, 5040, 2070, 4030, 600);
  cr_assert_eq(hwt_load_findings(NULL, NULL, r0, r2, usable, 2, NULL, 0, out, 2), 1);
  cr_assert_not_null(strstr(out[0], "during run: 30% "), "%s", out[0]);
  free(r0);
  free(r1);
  free(r2);
}

Test(noise, multi_thread_run_names_its_own_busy_cpu) {
  hwt_cpu_times *r0 = reading(1000, 5000, 2000, 4000, 500);
  hwt_cpu_times *r1 = reading(1080, 5020, 2100, 4000, 660); /* ours 80 + 80; cpu1 20 more from another process */
  const int both[2] = {0, 1};
  char out[2][HWT_LOAD_FINDING_LEN];
  cr_assert_eq(hwt_load_findings(NULL, NULL, r0, r1, usable, 2, both, 2, out, 2), 1);
  cr_assert_str_eq(out[0], "load on cpu1 during run: 20% (all usable CPUs: 10%)");
  free(r0);
  free(r1);
}

Test(noise, too_short_or_missing_windows_are_not_judged) {
  hwt_cpu_times *r0 = reading(1000, 5000, 2000, 4000, 500);
  hwt_cpu_times *r1 = reading(1005, 5000, 2005, 4000, 505); /* 5 ticks per CPU */
  const int used[1] = {0};
  char out[2][HWT_LOAD_FINDING_LEN];
  cr_assert_eq(hwt_load_findings(r0, r1, r0, r1, usable, 2, used, 1, out, 2), 0);
  hwt_load_report l = hwt_cpu_load_all(r0, r1, usable, 2, used, 1);
  cr_assert_lt(l.all, 0);
  cr_assert_eq(hwt_load_findings(NULL, NULL, NULL, NULL, usable, 2, used, 1, out, 2), 0);
  free(r0);
  free(r1);
}
