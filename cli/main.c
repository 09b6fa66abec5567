/* SPDX-License-Identifier: Apache-2.0 */
/* hwtune: one executable, one verb per task (detect, bench, tune, ...). */
#include <stdio.h>
#include <string.h>

#include "hwt_common.h"
#include "hwtune_build_info.h"
#include "verbs.h"

/* The one list of verbs. A verb is added here and nowhere else. */
static const hwt_verb verbs[] = {
#include "verbs.inc"
};
static const size_t nverbs = sizeof(verbs) / sizeof(verbs[0]);

static void usage(FILE *out) {
  fprintf(out,
          "usage: hwtune <verb> [options]\n"
          "       hwtune <verb> --help\n"
          "       hwtune --version\n\n"
          "Measures this CPU, benchmarks small-model kernels (XNNPACK and hwtune's own), tunes them and writes a\n"
          "per-machine profile.\n\nverbs:\n");
  for (size_t i = 0; i < nverbs; i++) fprintf(out, "  %-9s %s\n", verbs[i].name, verbs[i].summary);
  fprintf(out,
          "\nExit codes: 0 ok, 1 runtime failure, 2 usage error. Logs go to stderr, data to stdout or --out FILE.\n"
          "Environment: HWTUNE_ISA=<scalar|avx2|avx512f|avxvnni|avx512vnni|neon|neondot|neoni8mm> caps the ISA.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *verb = argv[1];
  if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(verb, "--version") == 0) {
    printf("hwtune %s (commit %s, %s, %s)\n", HWTUNE_VERSION_STRING, HWTUNE_GIT_COMMIT, HWTUNE_C_COMPILER,
           HWTUNE_BUILD_TYPE);
    return 0;
  }
  for (size_t i = 0; i < nverbs; i++) {
    if (strcmp(verb, verbs[i].name) == 0) return verbs[i].run(argc - 1, argv + 1);
  }
  fprintf(stderr, "hwtune: unknown verb '%s'\n\n", verb);
  usage(stderr);
  return 2;
}
