/* SPDX-License-Identifier: Apache-2.0 */
/* Noise probes: per-CPU busy time from /proc/stat, this process's CPU time, and a frequency probe loop. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HWT_NOISE_MAX_CPUS 1024

typedef struct hwt_cpu_times {
  bool valid;
  uint64_t wall_ns;
  unsigned long long busy[HWT_NOISE_MAX_CPUS];    /* USER_HZ ticks, all but idle + iowait */
  unsigned long long total[HWT_NOISE_MAX_CPUS];
  unsigned long long self_ticks;                  /* this process: utime + stime (USER_HZ ticks) */
} hwt_cpu_times;

/* Reads /proc/stat (or `stat_path`) and /proc/self/stat. */
bool hwt_cpu_times_read(hwt_cpu_times *t, const char *stat_path);

/* Load from other processes (and, in a VM, steal) on `cpus` between two readings, as a fraction of those CPUs'
 * time (0..1): (busy ticks on the CPUs - this process's ticks when subtract_self) / total ticks.
 * *per_cpu_max gets the busiest CPU's foreign share, this process's ticks spread evenly over `cpus` (our threads
 * are pinned one per CPU). Returns -1 when the interval is too short to judge (< 10 ticks per CPU). */
double hwt_cpu_foreign_load(const hwt_cpu_times *a, const hwt_cpu_times *b, const int *cpus, size_t ncpus,
                            bool subtract_self, double *per_cpu_max, int *busiest_cpu);

/* A fixed dependent-add chain (a frequency probe): ns for `rounds` rounds; the minimum of `repeats` runs. */
double hwt_freq_probe_ns(unsigned rounds, unsigned repeats);

/* Load from other processes on every usable CPU between two readings (a pure function of the readings). */
typedef struct hwt_load_report {
  double all;       /* foreign share of all the usable CPUs' time, 0..1; -1: too short to judge (< 10 ticks/CPU) */
  double worst;     /* the busiest usable CPU's foreign share, 0..1 */
  int worst_cpu;    /* that CPU; -1 when none */
  bool worst_used;  /* it is one of `used` */
} hwt_load_report;

/* A run shares the last-level cache and memory bandwidth with every core, so a single-thread run is disturbed by
 * load on the CPUs it does not use as much as by load on its own. This process's ticks are attributed first to
 * `used` (the CPUs our threads are pinned to, evenly, at most each CPU's busy ticks), the rest to the busiest CPUs
 * first (unpinned threads, set-up): our own work never reads as a neighbour's. `used` may be NULL (not pinned). */
hwt_load_report hwt_cpu_load_all(const hwt_cpu_times *a, const hwt_cpu_times *b, const int *usable, size_t nusable,
                                 const int *used, size_t nused);

/* Bench's rule for a result: load worth a warning when any usable CPU is >= 15% busy with other work or all of them
 * together >= 10%. Writes "load on cpu1 during run: 30% (...)" into buf (`when`: "during run", "before the run") and
 * returns true; false (buf "") when there is nothing to report or the interval was too short. */
#define HWT_LOAD_WARN_CPU 0.15
#define HWT_LOAD_WARN_ALL 0.10
bool hwt_load_warning(const hwt_load_report *l, const char *when, char *buf, size_t len);

/* The load findings of one measured configuration: the window before the run (end of the previous configuration,
 * or the session's start, to the start of the set-up's last reading) and the run itself, both over all usable CPUs.
 * Returns how many warnings were written to out[0..cap). A window whose readings are NULL or invalid is skipped. */
#define HWT_LOAD_FINDING_LEN 200
size_t hwt_load_findings(const hwt_cpu_times *before0, const hwt_cpu_times *before1, const hwt_cpu_times *run0,
                         const hwt_cpu_times *run1, const int *usable, size_t nusable, const int *used, size_t nused,
                         char (*out)[HWT_LOAD_FINDING_LEN], size_t cap);
