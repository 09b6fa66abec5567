/* SPDX-License-Identifier: Apache-2.0 */
/* What this process may really use: CPU quota from cgroups (v2 cpu.max, v1 cfs quota), and memory from
 * /proc/meminfo. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_internal.h"
#include "hwt_common.h"

int hwt_parse_cpu_max(const char *text, double *cpus, char *note, size_t notelen) {
  char quota[64], period[64], extra[8];
  int fields = text ? sscanf(text, "%63s %63s %7s", quota, period, extra) : 0;
  if (fields == 1 && strcmp(quota, "max") == 0) {
    hwt_errf(note, notelen, "no quota (\"max\")");
    return 0; /* a bare "max" is what older kernels wrote */
  }
  if (fields != 2) {
    hwt_errf(note, notelen, "expected \"<quota|max> <period>\"");
    return -1;
  }
  uint64_t p;
  if (!hwt_parse_u64(period, 1, UINT64_MAX, &p)) {
    hwt_errf(note, notelen, "period '%s' is not a positive integer", period);
    return -1;
  }
  if (strcmp(quota, "max") == 0) {
    hwt_errf(note, notelen, "no quota (\"max %llu\")", (unsigned long long)p);
    return 0;
  }
  uint64_t q;
  if (!hwt_parse_u64(quota, 1, UINT64_MAX, &q)) {
    hwt_errf(note, notelen, "quota '%s' is neither \"max\" nor a positive integer", quota);
    return -1;
  }
  *cpus = (double)q / (double)p;
  hwt_errf(note, notelen, "quota %llu / period %llu = %.2f CPUs", (unsigned long long)q, (unsigned long long)p,
           *cpus);
  return 1;
}

/* Reads dir/cpu.max; returns the parse result (-2 when the file is missing). */
static int read_cpu_max(const char *dir, double *cpus, char *note, size_t notelen) {
  char path[600];
  snprintf(path, sizeof(path), "%s/cpu.max", dir);
  char *text = NULL;
  size_t len = 0;
  if (hwt_read_file(path, &text, &len, NULL, 0) != hwt_status_ok) return -2;
  char why[160];
  int r = hwt_parse_cpu_max(text, cpus, why, sizeof(why));
  free(text);
  if (r < 0)
    hwt_errf(note, notelen, "%s is malformed (%s); ignored", path, why);
  else
    hwt_errf(note, notelen, "%s: %s", path, why);
  return r;
}

void hwt_cgroup_quota(const char *root, double *cpus, char *note, size_t notelen) {
  *cpus = -1.0;
  if (root != NULL) {
    double q;
    int r = read_cpu_max(root, &q, note, notelen);
    if (r == -2) hwt_errf(note, notelen, "%s/cpu.max: missing; no quota", root);
    if (r == 1) *cpus = q;
    return;
  }
  /* cgroup v2: the "0::<path>" line of /proc/self/cgroup; the hierarchy is at /sys/fs/cgroup (unified) or
   * /sys/fs/cgroup/unified (hybrid). The effective quota is the smallest along the path up to the root. */
  char *self = NULL;
  size_t len = 0;
  hwt_errf(note, notelen, "no cgroup CPU quota found");
  if (hwt_read_file("/proc/self/cgroup", &self, &len, NULL, 0) == hwt_status_ok) {
    char *line = strstr(self, "0::");
    if (line == self || (line != NULL && line[-1] == '\n')) {
      char path[400];
      size_t i = 0;
      for (line += 3; *line && *line != '\n' && i + 1 < sizeof(path); line++) path[i++] = *line;
      path[i] = '\0';
      static const char *mounts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
      for (size_t m = 0; m < 2; m++) {
        char test[480];
        snprintf(test, sizeof(test), "%s/cgroup.controllers", mounts[m]);
        FILE *f = fopen(test, "r");
        if (f == NULL) continue;
        fclose(f);
        char rel[400];
        snprintf(rel, sizeof(rel), "%s", path);
        bool found_file = false;
        for (;;) {
          char dir[500], why[200];
          snprintf(dir, sizeof(dir), "%s%s", mounts[m], strcmp(rel, "/") == 0 ? "" : rel);
          double q;
          int r = read_cpu_max(dir, &q, why, sizeof(why));
          if (r == 1 && (*cpus < 0 || q < *cpus)) {
            *cpus = q;
            hwt_errf(note, notelen, "%s", why);
          } else if (r == -1) {
            hwt_errf(note, notelen, "%s", why);
          } else if (r == 0 && *cpus < 0 && !found_file) {
            hwt_errf(note, notelen, "%s", why);
          }
          if (r != -2) found_file = true;
          char *slash = strrchr(rel, '/');
          if (slash == NULL || strcmp(rel, "/") == 0) break;
          if (slash == rel) snprintf(rel, sizeof(rel), "%s", "/");
          else *slash = '\0';
        }
        if (found_file) break;
      }
    }
  }
  free(self);
  if (*cpus >= 0) return;
  /* cgroup v1 fallback: cpu.cfs_quota_us / cpu.cfs_period_us of the root-visible cpu controller. */
  char *q = NULL, *p = NULL;
  size_t ql = 0, pl = 0;
  if (hwt_read_file("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", &q, &ql, NULL, 0) == hwt_status_ok &&
      hwt_read_file("/sys/fs/cgroup/cpu/cpu.cfs_period_us", &p, &pl, NULL, 0) == hwt_status_ok) {
    long long quota = strtoll(q, NULL, 10), period = strtoll(p, NULL, 10);
    if (quota > 0 && period > 0) {
      *cpus = (double)quota / (double)period;
      hwt_errf(note, notelen, "cgroup v1 cpu.cfs_quota_us %lld / period %lld = %.2f CPUs", quota, period, *cpus);
    } else if (quota < 0) {
      hwt_errf(note, notelen, "%s", "no cgroup v2 cpu.max; cgroup v1 cpu.cfs_quota_us = -1 (no quota)");
    }
  }
  free(q);
  free(p);
}

unsigned hwt_usable_cpus(size_t naffinity, double quota_cpus) {
  double n = (double)(naffinity ? naffinity : 1);
  if (quota_cpus >= 0 && floor(quota_cpus) < n) n = floor(quota_cpus);
  return n < 1 ? 1u : (unsigned)n;
}

bool hwt_read_meminfo(const char *path, uint64_t *total, uint64_t *available) {
  FILE *f = fopen(path ? path : "/proc/meminfo", "r");
  if (f == NULL) return false;
  char line[256];
  bool got_total = false;
  *total = 0;
  *available = 0;
  while (fgets(line, sizeof(line), f)) {
    unsigned long long kb;
    if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) {
      *total = (uint64_t)kb << 10;
      got_total = true;
    } else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
      *available = (uint64_t)kb << 10;
    }
  }
  fclose(f);
  return got_total;
}
