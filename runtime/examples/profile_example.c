/* SPDX-License-Identifier: Apache-2.0 */
/* The three calls an inference runtime makes: open this machine's profile, look up a layer, free.
 *
 *   hwtune_profile_example [--profile PATH] [--accept-mismatch] [OP N K BATCH]
 *
 * Without --profile the default path is used ($HWTUNE_PROFILE, else ~/.local/share/hwtune/profile.json).
 * A profile tuned on another machine is refused unless --accept-mismatch; lookups then give the default. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hwtune/profile.h>

static const char *match_name(hwt_profile_match m) {
  return m == hwt_profile_match_exact ? "exact" : m == hwt_profile_match_nearest ? "nearest" : "default";
}

int main(int argc, char **argv) {
  const char *path = NULL;
  unsigned flags = 0;
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) path = argv[++i];
    else if (strcmp(argv[i], "--accept-mismatch") == 0) flags |= HWT_PROFILE_ACCEPT_MISMATCH;
    else {
      fprintf(stderr, "usage: %s [--profile PATH] [--accept-mismatch] [OP N K BATCH]\n", argv[0]);
      return 2;
    }
  }
  hwt_profile_query q = {.op = "gemm_f32", .dtype = NULL, .n = 512, .k = 784, .batch = 1};
  if (argc - i == 4) {
    q.op = argv[i];
    q.n = strtoull(argv[i + 1], NULL, 10);
    q.k = strtoull(argv[i + 2], NULL, 10);
    q.batch = strtoull(argv[i + 3], NULL, 10);
  } else if (argc - i != 0) {
    fprintf(stderr, "usage: %s [--profile PATH] [--accept-mismatch] [OP N K BATCH]\n", argv[0]);
    return 2;
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  q.max_threads = cpus > 0 ? (unsigned)cpus : 1;  /* a real runtime uses its usable CPUs (affinity, cgroup) */

  /* 1. At start-up: load and check against this machine. On failure keep going with the defaults. */
  hwt_profile *profile = NULL;
  char msg[1024];
  hwt_status st = hwt_profile_open(path, NULL, flags, &profile, msg, sizeof msg);
  if (st != hwt_status_ok) fprintf(stderr, "hwtune profile not used (%s): %s\n", hwt_status_string(st), msg);
  else if (msg[0]) fprintf(stderr, "warning: %s\n", msg);
  else printf("profile %s: %zu entries\n", hwt_profile_meta(profile, "path"), hwt_profile_count(profile));

  /* 2. Per layer, when building the model: look up the choice (thread-safe, allocation-free). */
  hwt_profile_choice c;
  hwt_profile_lookup(profile, &q, &c);
  printf("%s n=%llu k=%llu batch=%llu -> %s: impl=%s isa=%s threads=%u mc=%llu kc=%llu nc=%llu batch=%llu",
         q.op, (unsigned long long)q.n, (unsigned long long)q.k, (unsigned long long)q.batch, match_name(c.match),
         c.impl, c.isa, c.threads, (unsigned long long)c.mc, (unsigned long long)c.kc, (unsigned long long)c.nc,
         (unsigned long long)c.batch);
  if (c.match != hwt_profile_match_default)
    printf(" (tuned %s %s batch %llu, distance %.2f, median %.0f ns)", c.shape, c.dtype,
           (unsigned long long)c.entry_batch, c.distance, c.median_ns);
  printf("\n");

  /* 3. At shut-down. */
  hwt_profile_free(profile);
  return 0;
}
