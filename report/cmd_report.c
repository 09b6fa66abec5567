/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune report RESULTS.json...`: Markdown, CSV or self-contained HTML from one or more machines' result files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwt_common.h"
#include "hwt_report.h"

static void report_usage(FILE *out) {
  fprintf(out,
          "usage: hwtune report RESULTS.json... [--format md|csv|html] [--out FILE]\n\n"
          "Turns `hwtune bench` result files into a report. The same input gives byte-identical output (the only\n"
          "times shown are those in the files).\n"
          "  md    environment block (CPU, ISA level, caches, usable CPUs, peaks, compiler, versions, command line)\n"
          "        and one table per op: latency median/p99, GFLOP/s, %% of peak, bound, speed-up vs XNNPACK\n"
          "  csv   one row per result, for spreadsheets and scripts\n"
          "  html  one self-contained page: the tables plus SVG charts (thread scaling with the ideal line, batch\n"
          "        scaling of latency and throughput, roofline with measured compute and bandwidth ceilings)\n"
          "Several files from different machines (fingerprints) add a cross-machine table; files from the same\n"
          "machine are merged (a configuration measured twice is taken from the later file).\n\n"
          "  --format F   md (default), csv or html; --out FILE.html/.csv picks the format when --format is absent\n"
          "  --out FILE   write there (atomically) instead of stdout\n\n"
          "Exit: 0 ok; 1 output could not be written; 2 usage error or unusable input: a missing file, not JSON,\n"
          "a wrong schema, no results in any file (a file without results among others is a warning), or an\n"
          "--out whose directory does not exist (refused before any work; never created).\n");
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

int hwt_cmd_report(int argc, char **argv) {
  const char *out_path = NULL, *fmt_name = NULL;
  const char **paths = calloc((size_t)argc, sizeof *paths);
  size_t npaths = 0;
  int rc = 2;
  hwt_results_file *files = NULL;
  size_t nloaded = 0;
  hwt_sb out = {0};
  if (paths == NULL) {
    fprintf(stderr, "hwtune report: out of memory\n");
    return 1;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      report_usage(stdout);
      rc = 0;
      goto done;
    } else if (strcmp(a, "--format") == 0 || strncmp(a, "--format=", 9) == 0) {
      fmt_name = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : "");
    } else if (strcmp(a, "--out") == 0 || strncmp(a, "--out=", 6) == 0) {
      out_path = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : "");
      if (*out_path == '\0') {
        fprintf(stderr, "hwtune report: --out needs a file name\n");
        goto done;
      }
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "hwtune report: unknown option '%s'\n\n", a);
      report_usage(stderr);
      goto done;
    } else {
      paths[npaths++] = a;
    }
  }
  hwt_report_format fmt = hwt_repfmt_md;
  if (fmt_name == NULL && out_path != NULL) {
    if (ends_with(out_path, ".html") || ends_with(out_path, ".htm")) fmt = hwt_repfmt_html;
    if (ends_with(out_path, ".csv")) fmt = hwt_repfmt_csv;
  } else if (fmt_name != NULL) {
    if (strcmp(fmt_name, "md") == 0) fmt = hwt_repfmt_md;
    else if (strcmp(fmt_name, "csv") == 0) fmt = hwt_repfmt_csv;
    else if (strcmp(fmt_name, "html") == 0) fmt = hwt_repfmt_html;
    else {
      fprintf(stderr, "hwtune report: --format must be md, csv or html, got '%s'\n", fmt_name);
      goto done;
    }
  }
  if (npaths == 0) {
    fprintf(stderr, "hwtune report: needs at least one results file\n\n");
    report_usage(stderr);
    goto done;
  }
  char err[1024];
  if (out_path != NULL && hwt_check_out_dir(out_path, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune report: --out: %s\n", err);
    goto done;
  }
  files = calloc(npaths, sizeof *files);
  if (files == NULL) {
    fprintf(stderr, "hwtune report: out of memory\n");
    rc = 1;
    goto done;
  }
  size_t total = 0;
  for (size_t i = 0; i < npaths; i++) {
    if (hwt_results_load(paths[i], &files[i], err, sizeof err) != hwt_status_ok) {
      fprintf(stderr, "hwtune report: %s\n", err);
      goto done;
    }
    nloaded++;
    if (files[i].partial) fprintf(stderr, "hwtune report: warning: %s is partial (interrupted run)\n", paths[i]);
    if (files[i].nresults == 0) fprintf(stderr, "hwtune report: warning: %s holds no results\n", paths[i]);
    total += files[i].nresults;
  }
  /* A report of nothing must not look like success (a CI step publishing it would pass on an empty run). */
  if (total == 0) {
    if (npaths == 1)
      fprintf(stderr, "hwtune report: %s holds no results: nothing to report\n", paths[0]);
    else
      fprintf(stderr, "hwtune report: none of the %zu files holds results (%s, ...): nothing to report\n", npaths,
              paths[0]);
    goto done;
  }
  if (hwt_rpt_render(files, npaths, fmt, &out) != hwt_status_ok) {
    fprintf(stderr, "hwtune report: out of memory\n");
    rc = 1;
    goto done;
  }
  if (out_path) {
    if (hwt_write_file_atomic(out_path, out.buf, out.len, err, sizeof err) != hwt_status_ok) {
      fprintf(stderr, "hwtune report: %s\n", err);
      rc = 1;
      goto done;
    }
  } else {
    fwrite(out.buf, 1, out.len, stdout);
    if (fflush(stdout) != 0) {
      fprintf(stderr, "hwtune report: cannot write to stdout\n");
      rc = 1;
      goto done;
    }
  }
  rc = 0;
done:
  for (size_t i = 0; i < nloaded; i++) hwt_results_free(&files[i]);
  free(files);
  free(paths);
  hwt_sb_free(&out);
  return rc;
}
