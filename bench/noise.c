/* SPDX-License-Identifier: Apache-2.0 */
/* Noise probes: /proc/stat per-CPU load, this process's CPU ticks, and a short fixed-work frequency probe. */
#include "noise.h"

#include <stdio.h>
#include <string.h>

#include "hwt_common.h"

bool hwt_cpu_times_read(hwt_cpu_times *t, const char *stat_path) {
  memset(t, 0, sizeof(*t));
  FILE *f = fopen(stat_path ? stat_path : "/proc/stat", "r");
  if (f == NULL) return false;
  char line[512];
  while (fgets(line, sizeof(line), f)) {
    int cpu;
    unsigned long long v[8] = {0};
    if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9') continue;
    int got = sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2], &v[3],
                     &v[4], &v[5], &v[6], &v[7]);
    if (got < 5 || cpu < 0 || cpu >= HWT_NOISE_MAX_CPUS) continue;
    unsigned long long total = 0;
    for (int i = 0; i < 8; i++) total += v[i];
    t->total[cpu] = total;
    t->busy[cpu] = total - v[3] - v[4];
  }
  fclose(f);
  f = fopen("/proc/self/stat", "r");
  if (f != NULL) {
    char buf[1024];
    size_t len = fread(buf, 1, sizeof(buf) - 1, f);
    buf[len] = '\0';
    fclose(f);
    /* Fields after the ")" of comm: state(3) ... utime(14) stime(15). */
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (p != NULL &&
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
      t->self_ticks = ut + st;
  }
  t->wall_ns = hwt_now_ns();
  t->valid = true;
  return true;
}

double hwt_cpu_foreign_load(const hwt_cpu_times *a, const hwt_cpu_times *b, const int *cpus, size_t ncpus,
                            bool subtract_self, double *per_cpu_max, int *busiest_cpu) {
  if (per_cpu_max) *per_cpu_max = 0;
  if (busiest_cpu) *busiest_cpu = -1;
  if (!a->valid || !b->valid || ncpus == 0) return -1;
  unsigned long long busy = 0, total = 0;
  double worst = 0;
  int worst_cpu = -1;
  const double ours = subtract_self ? (double)(b->self_ticks - a->self_ticks) : 0.0;
  /* Our ticks, spread over the CPUs we ran on: attributed to the busiest CPUs first would be kinder; spreading
   * evenly is the conservative choice for "is someone else here". */
  const double ours_per_cpu = ours / (double)ncpus;
  for (size_t i = 0; i < ncpus; i++) {
    int c = cpus[i];
    if (c < 0 || c >= HWT_NOISE_MAX_CPUS) continue;
    unsigned long long db = b->busy[c] - a->busy[c], dt = b->total[c] - a->total[c];
    busy += db;
    total += dt;
    if (dt > 0) {
      double share = ((double)db - ours_per_cpu) / (double)dt;
      if (share > worst) {
        worst = share;
        worst_cpu = c;
      }
    }
  }
  if (total < 10 * ncpus) return -1;
  double foreign = ((double)busy - ours) / (double)total;
  if (foreign < 0) foreign = 0;
  if (foreign > 1) foreign = 1;
  if (worst > 1) worst = 1;
  if (per_cpu_max) *per_cpu_max = worst;
  if (busiest_cpu) *busiest_cpu = worst_cpu;
  return foreign;
}

double hwt_freq_probe_ns(unsigned rounds, unsigned repeats) {
  double best = 1e300;
  for (unsigned r = 0; r < repeats; r++) {
    volatile uint64_t seed = 1;
    uint64_t x = seed;
    uint64_t t0 = hwt_now_ns();
    for (unsigned i = 0; i < rounds; i++) {
      /* A dependent chain the compiler cannot fold: one add + one multiply-ish step per round. */
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      __asm__ volatile("" : "+r"(x));
    }
    uint64_t dt = hwt_now_ns() - t0;
    seed = x;
    if ((double)dt < best) best = (double)dt;
  }
  return best;
}

hwt_load_report hwt_cpu_load_all(const hwt_cpu_times *a, const hwt_cpu_times *b, const int *usable, size_t nusable,
                                 const int *used, size_t nused) {
  hwt_load_report r = {-1, 0, -1, false};
  if (a == NULL || b == NULL || !a->valid || !b->valid || usable == NULL || nusable == 0) return r;
  if (nusable > HWT_NOISE_MAX_CPUS) nusable = HWT_NOISE_MAX_CPUS;
  double left[HWT_NOISE_MAX_CPUS], dt[HWT_NOISE_MAX_CPUS];
  double busy = 0, total = 0;
  for (size_t i = 0; i < nusable; i++) {
    int c = usable[i];
    left[i] = dt[i] = 0;
    if (c < 0 || c >= HWT_NOISE_MAX_CPUS) continue;
    /* counters never go back; a CPU that went offline and came back may: count nothing there */
    if (b->busy[c] >= a->busy[c] && b->total[c] >= a->total[c]) {
      left[i] = (double)(b->busy[c] - a->busy[c]);
      dt[i] = (double)(b->total[c] - a->total[c]);
    }
    busy += left[i];
    total += dt[i];
  }
  if (total < 10.0 * (double)nusable) return r;
  const double ours = b->self_ticks >= a->self_ticks ? (double)(b->self_ticks - a->self_ticks) : 0.0;
  double ours_left = ours;
  /* 1. our pinned threads' CPUs, evenly */
  if (used != NULL && nused > 0) {
    const double per = ours / (double)nused;
    for (size_t u = 0; u < nused; u++)
      for (size_t i = 0; i < nusable; i++)
        if (usable[i] == used[u]) {
          double take = per < left[i] ? per : left[i];
          if (take > ours_left) take = ours_left;
          left[i] -= take;
          ours_left -= take;
          break;
        }
  }
  /* 2. the rest to the busiest CPUs first (ties: the first in `usable`) */
  while (ours_left > 0) {
    size_t best = nusable;
    for (size_t i = 0; i < nusable; i++)
      if (left[i] > 0 && (best == nusable || left[i] > left[best])) best = i;
    if (best == nusable) break;
    double take = ours_left < left[best] ? ours_left : left[best];
    left[best] -= take;
    ours_left -= take;
  }
  for (size_t i = 0; i < nusable; i++) {
    if (!(dt[i] > 0)) continue;
    double share = left[i] / dt[i];
    if (share > r.worst) {
      r.worst = share > 1 ? 1 : share;
      r.worst_cpu = usable[i];
    }
  }
  if (r.worst_cpu >= 0 && used != NULL)
    for (size_t u = 0; u < nused; u++)
      if (used[u] == r.worst_cpu) r.worst_used = true;
  double all = (busy - ours) / total;
  r.all = all < 0 ? 0 : all > 1 ? 1 : all;
  return r;
}

bool hwt_load_warning(const hwt_load_report *l, const char *when, char *buf, size_t len) {
  if (len > 0) buf[0] = '\0';
  if (l->all < 0 || l->worst_cpu < 0) return false;
  if (!(l->worst >= HWT_LOAD_WARN_CPU || l->all >= HWT_LOAD_WARN_ALL)) return false;
  if (l->worst_used)
    snprintf(buf, len, "load on cpu%d %s: %.0f%% (all usable CPUs: %.0f%%)", l->worst_cpu, when, 100 * l->worst,
             100 * l->all);
  else
    snprintf(buf, len, "load on cpu%d %s: %.0f%% (not used by this run, but it shares the caches and memory "
             "bandwidth; all usable CPUs: %.0f%%)", l->worst_cpu, when, 100 * l->worst, 100 * l->all);
  return true;
}

size_t hwt_load_findings(const hwt_cpu_times *before0, const hwt_cpu_times *before1, const hwt_cpu_times *run0,
                         const hwt_cpu_times *run1, const int *usable, size_t nusable, const int *used, size_t nused,
                         char (*out)[HWT_LOAD_FINDING_LEN], size_t cap) {
  size_t n = 0;
  hwt_load_report before = hwt_cpu_load_all(before0, before1, usable, nusable, used, nused);
  if (n < cap && hwt_load_warning(&before, "before the run", out[n], sizeof out[n])) n++;
  hwt_load_report during = hwt_cpu_load_all(run0, run1, usable, nusable, used, nused);
  if (n < cap && hwt_load_warning(&during, "during run", out[n], sizeof out[n])) n++;
  return n;
}
