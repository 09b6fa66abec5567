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
