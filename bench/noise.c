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
