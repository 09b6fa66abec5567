/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune detect`: describes this machine (human summary, or JSON with --json / --out). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cli/verbs.h"
#include "hwt_common.h"
#include "hwtune/hw.h"
#include "hwtune/hw_json.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: hwtune detect [--json] [--out FILE] [--quick | --no-measure] [--verbose]\n\n"
          "Describes this machine: CPU identity, ISA (and the HWTUNE_ISA cap), caches cross-checked between hwloc,\n"
          "CPUID and sysfs (implausible entries flagged and not used for blocking), topology, the CPUs this process\n"
          "may use (affinity and cgroup quota), memory, and measured peak GFLOP/s / GOP/s and bandwidth.\n\n"
          "  --json        print one JSON document (schema " HWT_HW_SCHEMA ") instead of the summary\n"
          "  --out FILE    write the JSON to FILE (atomically: temporary name, then rename); summary still printed\n"
          "  --quick       measure for about 2 s instead of about 15 s\n"
          "  --no-measure  skip peak and bandwidth probes (figures are null in JSON)\n"
          "  --verbose     log each probe to stderr\n"
          "  --help        this text\n\n"
          "Exit codes: 0 ok, 1 runtime failure, 2 usage error.\n");
}

int hwt_cmd_detect(int argc, char **argv) {
  bool json = false, quick = false, measure = true;
  const char *out_path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--json") == 0) {
      json = true;
    } else if (strcmp(a, "--quick") == 0) {
      quick = true;
    } else if (strcmp(a, "--no-measure") == 0) {
      measure = false;
    } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
      hwt_verbose = 1;
    } else if (strcmp(a, "--out") == 0 || strncmp(a, "--out=", 6) == 0) {
      if (a[5] == '=') {
        out_path = a + 6;
      } else if (i + 1 < argc) {
        out_path = argv[++i];
      } else {
        fprintf(stderr, "hwtune detect: --out needs a file name\n\n");
        usage(stderr);
        return 2;
      }
      if (*out_path == '\0') {
        fprintf(stderr, "hwtune detect: --out needs a non-empty file name\n\n");
        usage(stderr);
        return 2;
      }
    } else {
      fprintf(stderr, "hwtune detect: unknown option '%s'\n\n", a);
      usage(stderr);
      return 2;
    }
  }

  hwt_hw *hw = calloc(1, sizeof(*hw));
  if (hw == NULL) {
    fprintf(stderr, "hwtune detect: out of memory\n");
    return 1;
  }
  hwt_detect_inputs in = {.measure = measure, .quick = quick};
  char err[512] = "";
  if (measure) hwt_log("detect: measuring peaks and bandwidth (%s)...", quick ? "--quick, ~2 s" : "~15 s");
  /* Detection libraries may chatter on stdout (cpu_features prints "Parsing /proc/self/auxv ..." on AArch64 CPUs
   * without HWCAP2, e.g. Cortex-A53), which would corrupt --json: send fd 1 to stderr while detecting. */
  fflush(stdout);
  int saved_stdout = dup(STDOUT_FILENO);
  if (saved_stdout >= 0) dup2(STDERR_FILENO, STDOUT_FILENO);
  (void)hwt_cpu_isa_get();
  hwt_status st = hwt_detect(&in, hw, err, sizeof(err));
  fflush(stdout);
  if (saved_stdout >= 0) {
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdout);
  }
  if (st != hwt_status_ok) {
    fprintf(stderr, "hwtune detect: %s (%s)\n", err, hwt_status_string(st));
    free(hw);
    return 1;
  }
  hwt_hw_set_kernel_budget(hw);

  int rc = 0;
  char *text = NULL;
  if (json || out_path) {
    json_t *doc = hwt_hw_to_json(hw);
    text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(doc);
    if (text == NULL) {
      fprintf(stderr, "hwtune detect: out of memory while building the JSON\n");
      free(hw);
      return 1;
    }
  }
  if (out_path) {
    size_t len = strlen(text);
    text[len] = '\0';
    char *with_nl = malloc(len + 2);
    if (with_nl == NULL) {
      rc = 1;
    } else {
      memcpy(with_nl, text, len);
      with_nl[len] = '\n';
      st = hwt_write_file_atomic(out_path, with_nl, len + 1, err, sizeof(err));
      free(with_nl);
      if (st != hwt_status_ok) {
        fprintf(stderr, "hwtune detect: %s\n", err); /* err names the path */
        rc = 1;
      } else {
        hwt_log("detect: wrote %s", out_path);
      }
    }
  }
  if (rc == 0) {
    if (json)
      printf("%s\n", text);
    else
      hwt_hw_print(hw, stdout);
  }
  free(text);
  free(hw);
  return rc;
}
