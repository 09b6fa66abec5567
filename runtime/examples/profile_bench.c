/* SPDX-License-Identifier: Apache-2.0 */
/* Loader micro-benchmark: load time of a generated N-entry profile and the cost of exact/nearest lookups.
 *
 *   hwtune_profile_bench [ENTRIES=1000] [REPEATS=50]
 *
 * Entries are written one per line, as `hwtune tune` writes them (with runner-up and margin). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hwtune/profile.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  size_t entries = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
  size_t repeats = argc > 2 ? strtoul(argv[2], NULL, 10) : 50;
  if (entries == 0 || repeats == 0) return 2;
  char path[] = "/tmp/hwtune-profile-bench-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  FILE *f = fdopen(fd, "w");
  fprintf(f, "{\"schema\": \"hwtune.profile/1\",\n \"machine\": {\"fingerprint\": \"0123456789abcdef0123456789abcdef\", "
             "\"fields\": {\"arch\": \"x86_64\", \"vendor\": \"AuthenticAMD\", \"brand\": \"AMD EPYC\"}},\n"
             " \"hwtune_version\": \"0.1.0\", \"xnnpack_version\": \"0.0\", \"created\": \"2026-11-22T00:00:00Z\",\n"
             " \"objective\": \"latency\", \"budget_s\": 60,\n \"entries\": [\n");
  for (size_t i = 0; i < entries; i++) {
    unsigned n = 16u << (i % 8), k = 16u << ((i / 8) % 8), b = 1u << ((i / 64) % 16);
    fprintf(f,
            "  {\"op\": \"gemm_f32\", \"dtype\": \"f32\", \"shape\": \"%ux%u\", \"batch\": %u, \"n\": %u, \"k\": %u, "
            "\"choice\": {\"impl\": \"own\", \"isa\": \"avx2\", \"threads\": 2, \"mc\": 72, \"kc\": 256, \"nc\": 1024, "
            "\"batch\": %u}, \"median_ns\": 12345.6, \"ci_low_ns\": 12000.1, \"ci_high_ns\": 12500.2, "
            "\"runner_up\": {\"impl\": \"xnnpack\", \"isa\": \"auto\", \"threads\": 1, \"median_ns\": 13000.5}, "
            "\"margin\": 0.053, \"measured\": 12}%s\n",
            n, k + (unsigned)(i / 1024), b, n, k + (unsigned)(i / 1024), b, i + 1 < entries ? "," : "");
  }
  fprintf(f, " ]}\n");
  long bytes = ftell(f);
  fclose(f);

  double *t = malloc(repeats * sizeof *t);
  char msg[512];
  for (size_t r = 0; r < repeats; r++) {
    hwt_profile *p = NULL;
    double t0 = now_ns();
    hwt_status st = hwt_profile_load(path, &p, msg, sizeof msg);
    t[r] = now_ns() - t0;
    if (st != hwt_status_ok) {
      fprintf(stderr, "load failed: %s\n", msg);
      unlink(path);
      return 1;
    }
    hwt_profile_free(p);
  }
  qsort(t, repeats, sizeof *t, cmp_double);
  printf("load: %zu entries, %ld bytes: median %.3f ms, min %.3f ms (%zu loads)\n", entries, bytes,
         t[repeats / 2] / 1e6, t[0] / 1e6, repeats);

  /* The same from memory: parse + validate + index only, without the read(2) of the file. */
  FILE *in = fopen(path, "rb");
  char *doc = malloc((size_t)bytes);
  if (!in || !doc || fread(doc, 1, (size_t)bytes, in) != (size_t)bytes) return 1;
  fclose(in);
  for (size_t r = 0; r < repeats; r++) {
    hwt_profile *p = NULL;
    double t0 = now_ns();
    hwt_profile_load_buffer(doc, (size_t)bytes, "bench", &p, msg, sizeof msg);
    t[r] = now_ns() - t0;
    hwt_profile_free(p);
  }
  free(doc);
  qsort(t, repeats, sizeof *t, cmp_double);
  printf("load_buffer (no file I/O): median %.3f ms, min %.3f ms\n", t[repeats / 2] / 1e6, t[0] / 1e6);

  hwt_profile *p = NULL;
  hwt_profile_load(path, &p, msg, sizeof msg);
  unlink(path);
  const size_t lookups = 200000;
  volatile unsigned sink = 0;
  for (int kind = 0; kind < 2; kind++) {
    double best = HUGE_VAL;
    for (int rep = 0; rep < 5; rep++) {
      double t0 = now_ns();
      for (size_t i = 0; i < lookups; i++) {
        size_t e = (i * 7919) % entries;
        unsigned n = 16u << (e % 8), k = (16u << ((e / 8) % 8)) + (unsigned)(e / 1024), b = 1u << ((e / 64) % 16);
        hwt_profile_query q = {.op = "gemm_f32", .dtype = "f32", .n = kind ? n + 3 : n, .k = k, .batch = b};
        hwt_profile_choice c;
        hwt_profile_lookup(p, &q, &c);
        sink += c.threads + (unsigned)c.match;
      }
      double dt = (now_ns() - t0) / (double)lookups;
      if (dt < best) best = dt;
    }
    printf("lookup %s: %.1f ns per lookup (best of 5 x %zu)\n", kind ? "nearest" : "exact", best, lookups);
  }
  hwt_profile_free(p);
  free(t);
  return sink == 0xFFFFFFFFu;
}
