/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune compare BASE.json NEW.json`: which configurations got slower, with significance; exit 1 on a regression. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hwt_common.h"
#include "hwt_report.h"

static void compare_usage(FILE *out) {
  fprintf(out,
          "usage: hwtune compare BASE.json NEW.json [--threshold PCT] [--alpha A] [--format console|md|json]\n"
          "                      [--out FILE] [--pair auto|config|across-impl]\n\n"
          "Pairs the results of two `hwtune bench` files by (op, impl, isa, shape, batch, threads, cache) and, for\n"
          "each pair, prints the ratio of medians new/base with a 95%% bootstrap confidence interval (fixed seed,\n"
          "from samples_ns; from the stored confidence intervals when samples are absent), the Mann-Whitney U\n"
          "p-value and a verdict. A pair is 'slower' only when p < alpha AND the median grew by more than the\n"
          "threshold; 'faster' symmetrically; else 'same'. Warns when the files come from different machines or\n"
          "builds and names the fields that differ.\n\n"
          "  --threshold PCT   smallest change that counts, in percent (default 5)\n"
          "  --alpha A         significance level of the test (default 0.05)\n"
          "  --format F        console (default), md (Markdown table) or json (schema hwtune.compare/1)\n"
          "  --out FILE        write there (atomically) instead of stdout\n"
          "  --pair P          config: the full key above (the same implementation twice); across-impl: by (op,\n"
          "                    shape, batch, threads, cache) alone, one runtime against another on the same model\n"
          "                    (hwtune run --runs against bench/peers/onnxruntime/run.js; ratio = new / base);\n"
          "                    auto (default): config, or across-impl when that pairs nothing and each file holds\n"
          "                    one implementation, a different one in each\n\n"
          "Exit: 0 no pair slower; 1 at least one pair slower (or the output could not be written); 2 usage error\n"
          "or unusable input: a missing file, not JSON, a wrong schema, a file without results, or no\n"
          "configuration in both files (a gate never passes on nothing to compare).\n");
}

static const char *opt_value(int argc, char **argv, int *i, const char *name) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=') return argv[*i] + n + 1;
  if (strcmp(argv[*i], name) == 0) {
    if (*i + 1 >= argc) return NULL;
    return argv[++*i];
  }
  return NULL;
}

int hwt_cmd_compare(int argc, char **argv) {
  hwt_compare_options opt;
  hwt_compare_options_default(&opt);
  hwt_compare_format fmt = hwt_cmpfmt_console;
  const char *files[2] = {NULL, NULL};
  const char *out_path = NULL;
  int nfiles = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      compare_usage(stdout);
      return 0;
    } else if (strncmp(a, "--threshold", 11) == 0 && (a[11] == '\0' || a[11] == '=')) {
      v = opt_value(argc, argv, &i, "--threshold");
      if (v == NULL || !hwt_parse_double(v, &opt.threshold_pct) || opt.threshold_pct < 0 || opt.threshold_pct >= 100) {
        fprintf(stderr, "hwtune compare: --threshold needs a percentage in [0, 100), got '%s'\n", v ? v : "");
        return 2;
      }
    } else if (strncmp(a, "--alpha", 7) == 0 && (a[7] == '\0' || a[7] == '=')) {
      v = opt_value(argc, argv, &i, "--alpha");
      if (v == NULL || !hwt_parse_double(v, &opt.alpha) || !(opt.alpha > 0 && opt.alpha < 1)) {
        fprintf(stderr, "hwtune compare: --alpha needs a number in (0, 1), got '%s'\n", v ? v : "");
        return 2;
      }
    } else if (strncmp(a, "--format", 8) == 0 && (a[8] == '\0' || a[8] == '=')) {
      v = opt_value(argc, argv, &i, "--format");
      if (v && strcmp(v, "console") == 0) fmt = hwt_cmpfmt_console;
      else if (v && strcmp(v, "md") == 0) fmt = hwt_cmpfmt_md;
      else if (v && strcmp(v, "json") == 0) fmt = hwt_cmpfmt_json;
      else {
        fprintf(stderr, "hwtune compare: --format must be console, md or json, got '%s'\n", v ? v : "");
        return 2;
      }
    } else if (strncmp(a, "--pair", 6) == 0 && (a[6] == '\0' || a[6] == '=')) {
      v = opt_value(argc, argv, &i, "--pair");
      if (v && strcmp(v, "auto") == 0) opt.pairing = hwt_pair_auto;
      else if (v && strcmp(v, "config") == 0) opt.pairing = hwt_pair_config;
      else if (v && strcmp(v, "across-impl") == 0) opt.pairing = hwt_pair_across_impl;
      else {
        fprintf(stderr, "hwtune compare: --pair must be auto, config or across-impl, got '%s'\n", v ? v : "");
        return 2;
      }
    } else if (strncmp(a, "--out", 5) == 0 && (a[5] == '\0' || a[5] == '=')) {
      out_path = opt_value(argc, argv, &i, "--out");
      if (out_path == NULL || *out_path == '\0') {
        fprintf(stderr, "hwtune compare: --out needs a file name\n");
        return 2;
      }
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "hwtune compare: unknown option '%s'\n\n", a);
      compare_usage(stderr);
      return 2;
    } else if (nfiles < 2) {
      files[nfiles++] = a;
    } else {
      fprintf(stderr, "hwtune compare: takes exactly two files, got a third: '%s'\n", a);
      return 2;
    }
  }
  if (nfiles != 2) {
    fprintf(stderr, "hwtune compare: needs BASE.json and NEW.json\n\n");
    compare_usage(stderr);
    return 2;
  }
  hwt_results_file base = {0}, cand = {0};
  char err[1024];
  if (out_path != NULL && hwt_check_out_dir(out_path, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune compare: --out: %s\n", err);
    return 2;
  }
  if (hwt_results_load(files[0], &base, err, sizeof err) != hwt_status_ok ||
      hwt_results_load(files[1], &cand, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune compare: %s\n", err);
    hwt_results_free(&base);
    return 2;
  }
  hwt_compare c;
  int rc = 1;
  hwt_sb out = {0};
  if (hwt_compare_run(&base, &cand, &opt, &c) != hwt_status_ok) {
    fprintf(stderr, "hwtune compare: out of memory\n");
    goto done;
  }
  if (hwt_compare_check_usable(&c, &base, &cand, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune compare: %s\n", err);
    hwt_compare_free(&c);
    rc = 2;
    goto done;
  }
  bool to_tty = out_path == NULL && isatty(STDOUT_FILENO);
  bool color = to_tty && getenv("NO_COLOR") == NULL;
  /* The console table shows its warnings itself; elsewhere they also go to stderr so CI logs show them. */
  if (fmt != hwt_cmpfmt_console || out_path != NULL)
    for (size_t i = 0; i < c.nwarnings; i++) fprintf(stderr, "hwtune compare: warning: %s\n", c.warnings[i]);
  hwt_compare_render(&c, &base, &cand, fmt, color, &out);
  if (out.oom) {
    fprintf(stderr, "hwtune compare: out of memory\n");
  } else if (out_path) {
    if (hwt_write_file_atomic(out_path, out.buf, out.len, err, sizeof err) != hwt_status_ok)
      fprintf(stderr, "hwtune compare: %s\n", err);
    else
      rc = c.nslower ? 1 : 0;
  } else {
    fwrite(out.buf, 1, out.len, stdout);
    rc = fflush(stdout) == 0 ? (c.nslower ? 1 : 0) : 1;
  }
  if (c.nslower) fprintf(stderr, "hwtune compare: %zu configuration(s) slower\n", c.nslower);
  hwt_compare_free(&c);
done:
  hwt_sb_free(&out);
  hwt_results_free(&base);
  hwt_results_free(&cand);
  return rc;
}
