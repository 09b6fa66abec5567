/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of hwtune_report: statistics against scipy's values, compare verdicts and exit codes on synthetic result
 * files, report determinism and parseability of every format, and the HTML as Chromium sees it. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hwt_common.h"
#include "hwt_report.h"
#include "hwt_stats.h"

int hwt_cmd_compare(int argc, char **argv);
int hwt_cmd_report(int argc, char **argv);

#define FIX HWTUNE_FIXTURES "/report/"

static char tmpdir[64];

static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/hwt_report_XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  cr_assert_eq(system(cmd), 0);
}

static char *slurp(const char *path, size_t *len) {
  char *data = NULL;
  size_t n = 0;
  char err[256];
  cr_assert_eq(hwt_read_file(path, &data, &n, err, sizeof err), hwt_status_ok, "%s", err);
  if (len) *len = n;
  return data;
}

static void load(const char *name, hwt_results_file *f) {
  char err[512];
  char path[512];
  snprintf(path, sizeof path, FIX "%s", name);
  cr_assert_eq(hwt_results_load(path, f, err, sizeof err), hwt_status_ok, "%s", err);
}

/* Runs `hwtune compare BASE NEW [extra...] --out tmp/out` through the verb function; returns its exit code. */
static int run_compare(const char *base, const char *cand, const char *fmt, const char *threshold) {
  char b[512], n[512], out[256];
  snprintf(b, sizeof b, FIX "%s", base);
  snprintf(n, sizeof n, FIX "%s", cand);
  snprintf(out, sizeof out, "%s/compare.out", tmpdir);
  char *argv[12] = {"compare", b, n, "--out", out};
  int argc = 5;
  if (fmt) {
    argv[argc++] = "--format";
    argv[argc++] = (char *)fmt;
  }
  if (threshold) {
    argv[argc++] = "--threshold";
    argv[argc++] = (char *)threshold;
  }
  argv[argc] = NULL;
  return hwt_cmd_compare(argc, argv);
}

static json_t *compare_json(const char *base, const char *cand, int *rc) {
  *rc = run_compare(base, cand, "json", NULL);
  char out[256];
  snprintf(out, sizeof out, "%s/compare.out", tmpdir);
  json_error_t je;
  json_t *j = json_load_file(out, 0, &je);
  cr_assert_not_null(j, "compare --format json does not parse: %s line %d", je.text, je.line);
  return j;
}

static const char *verdict_of(json_t *j, size_t i) {
  return json_string_value(json_object_get(json_array_get(json_object_get(j, "pairs"), i), "verdict"));
}

/* ---- statistics ------------------------------------------------------------------------------------------- */
static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

Test(stats, median_matches_sorting) {
  uint64_t s = 12345;
  for (size_t n = 1; n <= 300; n += 7) {
    double v[300], w[300];
    for (size_t i = 0; i < n; i++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      v[i] = (double)(s >> 40) / 16.0;
      if (i % 5 == 0 && i) v[i] = v[i - 1]; /* ties */
    }
    memcpy(w, v, n * sizeof *v);
    qsort(w, n, sizeof *w, cmp_d);
    double want = n % 2 ? w[n / 2] : 0.5 * (w[n / 2 - 1] + w[n / 2]);
    cr_assert_float_eq(hwt_stats_median(v, n), want, 1e-12, "n=%zu", n);
  }
}

Test(stats, mann_whitney_matches_scipy) {
  /* reference p-values: scipy 1.10 mannwhitneyu(a, b, alternative='two-sided') */
  double a1[] = {1, 2, 3, 4, 5}, b1[] = {6, 7, 8, 9, 10};
  hwt_mwu r = hwt_rstat_mann_whitney(a1, 5, b1, 5);
  cr_assert(r.exact);
  cr_assert_float_eq(r.u, 0.0, 1e-12);
  cr_assert_float_eq(r.p, 0.007936507936507936, 1e-12);

  double a2[] = {1, 2, 2, 3, 7}, b2[] = {2, 3, 4, 5, 5, 9}; /* ties: normal approximation with tie correction */
  r = hwt_rstat_mann_whitney(a2, 5, b2, 6);
  cr_assert_not(r.exact);
  cr_assert_float_eq(r.u, 7.5, 1e-12);
  cr_assert_float_eq(r.p, 0.19504039754870217, 1e-9);

  double a3[] = {3.1, 1.2, 5.5}, b3[] = {2.2, 4.4, 6.6, 8.8};
  r = hwt_rstat_mann_whitney(a3, 3, b3, 4);
  cr_assert_float_eq(r.p, 0.4, 1e-12);

  double a4[11], b4[13];
  for (int i = 0; i < 11; i++) a4[i] = 10.0 * (i + 1);
  for (int i = 0; i < 13; i++) b4[i] = 5.0 + 10.0 * i;
  r = hwt_rstat_mann_whitney(a4, 11, b4, 13);
  cr_assert_not(r.exact);
  cr_assert_float_eq(r.u, 66.0, 1e-12);
  cr_assert_float_eq(r.p, 0.7720589697507347, 1e-9);
}

Test(stats, bootstrap_is_deterministic_and_covers_the_ratio) {
  double a[40], b[40];
  for (int i = 0; i < 40; i++) {
    a[i] = 100 + (i * 37 % 11);
    b[i] = 125 + (i * 53 % 13);
  }
  double lo1, hi1, lo2, hi2;
  hwt_rstat_bootstrap_ratio(a, 40, b, 40, 99, 2000, 0.95, &lo1, &hi1);
  hwt_rstat_bootstrap_ratio(a, 40, b, 40, 99, 2000, 0.95, &lo2, &hi2);
  cr_assert_eq(lo1, lo2);
  cr_assert_eq(hi1, hi2);
  double ratio = hwt_stats_median(b, 40) / hwt_stats_median(a, 40);
  cr_assert(lo1 <= ratio && ratio <= hi1, "CI [%g, %g] misses %g", lo1, hi1, ratio);
  cr_assert(lo1 > 1.15 && hi1 < 1.35, "CI [%g, %g]", lo1, hi1);
}

/* ---- loading ---------------------------------------------------------------------------------------------- */
Test(load, reads_every_field) {
  hwt_results_file f;
  load("cmp_base.json", &f);
  cr_assert_eq(f.nresults, 3);
  cr_assert_str_eq(f.fingerprint, "a1b2c3d4e5f60718293a4b5c6d7e8f90");
  cr_assert_str_eq(f.results[0].op, "gemm_f32");
  cr_assert_eq(f.results[0].m, 64);
  cr_assert_eq(f.results[0].nsamples, 30);
  cr_assert(f.results[0].median_ns > 1e6);
  char k[256];
  hwt_result_key(&f.results[0], k, sizeof k);
  cr_assert_str_eq(k, "gemm_f32/own/avx512f/1024x1024/m64/t1/warm");
  cr_assert_float_eq(hwt_ctx_peak(f.context, false, "avx512f", false), 224.0, 1e-9);
  cr_assert_float_eq(hwt_ctx_peak(f.context, true, "avx512vnni", true), 1792.0, 1e-9);
  cr_assert_float_eq(hwt_ctx_bandwidth(f.context, "l2", false), 95.0, 1e-9);
  cr_assert(isnan(hwt_ctx_peak(f.context, false, "neon", false)));
  hwt_results_free(&f);
}

Test(load, bad_input_names_the_file_and_the_place) {
  struct {
    const char *file, *expect;
    hwt_status status;
  } cases[] = {
      {"bad_not_json.json", "not valid JSON", hwt_status_parse_error},
      {"bad_schema_v2.json", "\"hwtune.results/2\" is a version", hwt_status_schema_error},
      {"bad_missing_median.json", "results[1].median_ns: missing", hwt_status_schema_error},
      {"bad_gbench.json", "Google Benchmark", hwt_status_schema_error},
      {"no_such_file.json", "no_such_file.json", hwt_status_io_error},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char path[512], err[512] = "";
    snprintf(path, sizeof path, FIX "%s", cases[i].file);
    hwt_results_file f;
    cr_assert_eq(hwt_results_load(path, &f, err, sizeof err), cases[i].status, "%s: %s", cases[i].file, err);
    cr_assert_not_null(strstr(err, cases[i].file), "message '%s' does not name the file", err);
    cr_assert_not_null(strstr(err, cases[i].expect), "message '%s' lacks '%s'", err, cases[i].expect);
  }
}

/* ---- compare ---------------------------------------------------------------------------------------------- */
TestSuite(compare, .init = make_tmpdir, .fini = remove_tmpdir);

Test(compare, identical_files_are_same_exit_0) {
  int rc;
  json_t *j = compare_json("cmp_base.json", "cmp_base.json", &rc);
  cr_assert_eq(rc, 0);
  cr_assert_eq(json_array_size(json_object_get(j, "pairs")), 3);
  for (size_t i = 0; i < 3; i++) cr_assert_str_eq(verdict_of(j, i), "same");
  cr_assert_eq(json_array_size(json_object_get(j, "warnings")), 0);
  json_decref(j);
}

Test(compare, rerun_of_the_same_distribution_is_same) {
  int rc;
  json_t *j = compare_json("cmp_base.json", "cmp_rerun.json", &rc);
  cr_assert_eq(rc, 0);
  for (size_t i = 0; i < 3; i++) cr_assert_str_eq(verdict_of(j, i), "same");
  json_decref(j);
}

Test(compare, slowdown_of_25pct_with_tight_samples_is_slower_exit_1) {
  int rc;
  json_t *j = compare_json("cmp_base.json", "cmp_slow25.json", &rc);
  cr_assert_eq(rc, 1);
  cr_assert_str_eq(verdict_of(j, 0), "slower");
  cr_assert_str_eq(verdict_of(j, 1), "same");
  cr_assert_str_eq(verdict_of(j, 2), "same");
  json_t *p0 = json_array_get(json_object_get(j, "pairs"), 0);
  double ratio = json_real_value(json_object_get(p0, "ratio"));
  double lo = json_real_value(json_object_get(p0, "ci_low")), hi = json_real_value(json_object_get(p0, "ci_high"));
  cr_assert(ratio > 1.2 && ratio < 1.3, "ratio %g", ratio);
  cr_assert(lo > 1.2 && hi < 1.3 && lo <= ratio && ratio <= hi, "CI [%g, %g]", lo, hi);
  cr_assert(json_real_value(json_object_get(p0, "p_value")) < 1e-6);
  cr_assert_str_eq(json_string_value(json_object_get(p0, "method")), "samples");
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "summary"), "slower")), 1);
  json_decref(j);
}

Test(compare, speedup_of_25pct_is_faster_exit_0) {
  int rc;
  json_t *j = compare_json("cmp_base.json", "cmp_fast25.json", &rc);
  cr_assert_eq(rc, 0);
  cr_assert_str_eq(verdict_of(j, 0), "faster");
  json_decref(j);
}

Test(compare, change_of_25pct_inside_very_noisy_samples_is_same) {
  int rc;
  json_t *j = compare_json("cmp_noisy_base.json", "cmp_noisy_slow25.json", &rc);
  cr_assert_eq(rc, 0);
  for (size_t i = 0; i < 3; i++) {
    json_t *p = json_array_get(json_object_get(j, "pairs"), i);
    cr_assert_str_eq(verdict_of(j, i), "same");
    cr_assert(json_real_value(json_object_get(p, "p_value")) > 0.05);
  }
  json_decref(j);
}

Test(compare, significant_change_under_the_threshold_is_same_until_the_threshold_drops) {
  int rc;
  json_t *j = compare_json("cmp_base.json", "cmp_slow3.json", &rc);
  cr_assert_eq(rc, 0);
  json_t *p0 = json_array_get(json_object_get(j, "pairs"), 0);
  cr_assert(json_real_value(json_object_get(p0, "p_value")) < 0.001);
  cr_assert_str_eq(verdict_of(j, 0), "same");
  json_decref(j);
  cr_assert_eq(run_compare("cmp_base.json", "cmp_slow3.json", "json", "2"), 1);
}

Test(compare, without_samples_the_stored_intervals_decide) {
  int rc;
  json_t *j = compare_json("cmp_summary_base.json", "cmp_summary_slow25.json", &rc);
  cr_assert_eq(rc, 1);
  json_t *p0 = json_array_get(json_object_get(j, "pairs"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(p0, "method")), "summary");
  cr_assert_str_eq(verdict_of(j, 0), "slower");
  cr_assert_str_eq(verdict_of(j, 1), "same");
  json_decref(j);
}

Test(compare, different_machine_and_build_warn_naming_the_fields) {
  int rc;
  json_t *j = compare_json("cmp_base.json", "cmp_other_machine.json", &rc);
  cr_assert_eq(rc, 0);
  json_t *w = json_object_get(j, "warnings");
  cr_assert_geq(json_array_size(w), 2);
  const char *m = json_string_value(json_array_get(w, 0)), *b = json_string_value(json_array_get(w, 1));
  cr_assert_not_null(strstr(m, "different machines"), "%s", m);
  cr_assert_not_null(strstr(m, "cpu.brand"), "%s", m);
  cr_assert_not_null(strstr(m, "usable.cpus (2 vs 4)"), "%s", m);
  cr_assert_not_null(strstr(b, "build.compiler"), "%s", b);
  cr_assert_null(strstr(m, "peak"), "measured figures are not identity: %s", m);
  json_decref(j);
}

Test(compare, partial_file_compares_what_it_holds_and_says_so) {
  int rc;
  json_t *j = compare_json("cmp_base.json", "cmp_partial.json", &rc);
  cr_assert_eq(rc, 0);
  cr_assert_eq(json_array_size(json_object_get(j, "pairs")), 1);
  cr_assert_eq(json_array_size(json_object_get(j, "only_in_base")), 2);
  char *w = json_dumps(json_object_get(j, "warnings"), 0);
  cr_assert_not_null(strstr(w, "is partial"), "%s", w);
  cr_assert_not_null(strstr(w, "2 configuration(s) only in"), "%s", w);
  free(w);
  json_decref(j);
  const char *names[] = {"cmp_partial.json"};
  hwt_results_file f;
  load(names[0], &f);
  cr_assert(f.partial);
  hwt_sb sb = {0};
  cr_assert_eq(hwt_rpt_render(&f, 1, hwt_repfmt_md, &sb), hwt_status_ok);
  cr_assert_not_null(strstr(sb.buf, "(PARTIAL: interrupted)"));
  hwt_sb_free(&sb);
  hwt_results_free(&f);
}

Test(compare, bad_input_exits_2) {
  cr_assert_eq(run_compare("cmp_base.json", "bad_not_json.json", NULL, NULL), 2);
  cr_assert_eq(run_compare("bad_schema_v2.json", "cmp_base.json", NULL, NULL), 2);
  cr_assert_eq(run_compare("cmp_base.json", "bad_missing_median.json", NULL, NULL), 2);
  cr_assert_eq(run_compare("cmp_base.json", "no_such_file.json", NULL, NULL), 2);
  char *argv1[] = {"compare", FIX "cmp_base.json", NULL};
  cr_assert_eq(hwt_cmd_compare(2, argv1), 2);
  char *argv2[] = {"compare", FIX "cmp_base.json", FIX "cmp_base.json", "--alpha", "2", NULL};
  cr_assert_eq(hwt_cmd_compare(5, argv2), 2);
  char *argv3[] = {"compare", FIX "cmp_base.json", FIX "cmp_base.json", "--format", "xml", NULL};
  cr_assert_eq(hwt_cmd_compare(5, argv3), 2);
}

/* A gate comparing against a run that measured nothing, or nothing in common, must fail: exit 2, a message naming
 * the file(s), and no output file. */
static void assert_unusable(const char *base, const char *cand, const char *want1, const char *want2) {
  char out[256];
  snprintf(out, sizeof out, "%s/compare.out", tmpdir);
  unlink(out);
  cr_assert_eq(run_compare(base, cand, NULL, NULL), 2, "compare %s %s", base, cand);
  cr_assert_eq(access(out, F_OK), -1, "compare %s %s wrote an output on nothing", base, cand);
  cr_assert_eq(run_compare(base, cand, "json", NULL), 2, "compare %s %s --format json", base, cand);
  hwt_results_file b, n;
  load(base, &b);
  load(cand, &n);
  hwt_compare c;
  cr_assert_eq(hwt_compare_run(&b, &n, NULL, &c), hwt_status_ok);
  char err[1024] = "";
  cr_assert_neq(hwt_compare_check_usable(&c, &b, &n, err, sizeof err), hwt_status_ok, "%s %s", base, cand);
  cr_assert_not_null(strstr(err, want1), "message '%s' lacks '%s'", err, want1);
  if (want2) cr_assert_not_null(strstr(err, want2), "message '%s' lacks '%s'", err, want2);
  hwt_compare_free(&c);
  hwt_results_free(&b);
  hwt_results_free(&n);
}

Test(compare, a_file_without_results_or_nothing_in_common_exits_2) {
  assert_unusable("cmp_base.json", "cmp_empty.json", "cmp_empty.json holds no results", NULL);
  assert_unusable("cmp_empty.json", "cmp_base.json", "cmp_empty.json holds no results", NULL);
  assert_unusable("cmp_empty.json", "cmp_empty.json", "hold no results", NULL);
  assert_unusable("cmp_base.json", "cmp_disjoint.json", "no configuration is in both", "cmp_disjoint.json");
  /* one configuration in common is a comparison (and the partial file's warning says the rest is missing) */
  cr_assert_eq(run_compare("cmp_base.json", "cmp_partial.json", NULL, NULL), 0);
}

Test(compare, help_documents_the_exit_codes) {
  char path[256];
  snprintf(path, sizeof path, "%s/help.txt", tmpdir);
  fflush(stdout);
  int saved = dup(STDOUT_FILENO);
  FILE *f = freopen(path, "w", stdout);
  cr_assert_not_null(f);
  char *argv[] = {"compare", "--help", NULL};
  int rc = hwt_cmd_compare(2, argv);
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  cr_assert_eq(rc, 0);
  char *text = slurp(path, NULL);
  cr_assert_not_null(strstr(text, "a file without results"), "%s", text);
  cr_assert_not_null(strstr(text, "no\nconfiguration in both files"), "%s", text);
  free(text);
}

Test(compare, console_and_markdown_tables_list_every_pair) {
  char out[256];
  snprintf(out, sizeof out, "%s/compare.out", tmpdir);
  cr_assert_eq(run_compare("cmp_base.json", "cmp_slow25.json", "md", NULL), 1);
  char *md = slurp(out, NULL);
  cr_assert_not_null(strstr(md, "| benchmark | base | new | ratio | 95% CI | change | p | verdict |"));
  cr_assert_not_null(strstr(md, "| `gemm_f32/own/avx512f/1024x1024/m64/t1/warm` |"));
  cr_assert_not_null(strstr(md, "**slower**"));
  free(md);
  cr_assert_eq(run_compare("cmp_base.json", "cmp_slow25.json", "console", NULL), 1);
  char *con = slurp(out, NULL);
  cr_assert_not_null(strstr(con, "SLOWER"));
  cr_assert_null(strstr(con, "\033["), "no colour codes when not writing to a terminal");
  free(con);
}

/* ---- report ----------------------------------------------------------------------------------------------- */
TestSuite(report, .init = make_tmpdir, .fini = remove_tmpdir);

static char *render(const char *const *names, size_t n, hwt_report_format fmt, size_t *len) {
  hwt_results_file files[4];
  for (size_t i = 0; i < n; i++) load(names[i], &files[i]);
  hwt_sb sb = {0};
  cr_assert_eq(hwt_rpt_render(files, n, fmt, &sb), hwt_status_ok);
  for (size_t i = 0; i < n; i++) hwt_results_free(&files[i]);
  if (len) *len = sb.len;
  return sb.buf;
}

Test(report, byte_identical_across_runs_in_every_format) {
  const char *names[] = {"machine_a.json", "machine_b.json", "machine_a_run2.json"};
  for (int fmt = hwt_repfmt_md; fmt <= hwt_repfmt_html; fmt++) {
    size_t l1, l2;
    char *a = render(names, 3, (hwt_report_format)fmt, &l1);
    char *b = render(names, 3, (hwt_report_format)fmt, &l2);
    cr_assert_eq(l1, l2, "format %d", fmt);
    cr_assert_eq(memcmp(a, b, l1), 0, "format %d differs between two runs", fmt);
    free(a);
    free(b);
  }
  /* and through the verb, into files */
  char o1[256], o2[256];
  snprintf(o1, sizeof o1, "%s/r1.html", tmpdir);
  snprintf(o2, sizeof o2, "%s/r2.html", tmpdir);
  char *argv1[] = {"report", FIX "machine_a.json", "--out", o1, NULL};
  char *argv2[] = {"report", FIX "machine_a.json", "--format", "html", "--out", o2, NULL};
  cr_assert_eq(hwt_cmd_report(4, argv1), 0);
  cr_assert_eq(hwt_cmd_report(6, argv2), 0);
  size_t n1, n2;
  char *d1 = slurp(o1, &n1), *d2 = slurp(o2, &n2);
  cr_assert_eq(n1, n2);
  cr_assert_eq(memcmp(d1, d2, n1), 0);
  cr_assert_eq(strncmp(d1, "<!DOCTYPE html>", 15), 0, "--out x.html picks html");
  free(d1);
  free(d2);
}

Test(report, markdown_has_environment_and_per_op_tables) {
  const char *names[] = {"machine_a.json"};
  char *md = render(names, 1, hwt_repfmt_md, NULL);
  const char *want[] = {"| CPU | Intel(R) Xeon(R) Platinum 8480C", "| ISA level | avx512vnni", "| Caches | L1d 48 KiB",
                        "L3 508 MiB (implausible, not used)", "| Usable CPUs | 2", "| Compiler | GCC 12.2.0",
                        "| Versions | hwtune 0.1.0 (commit 0123456789ab), XNNPACK", "| Command | `hwtune bench",
                        "| Run | 2026-11-22T21:00:00Z to 2026-11-22T21:04:10Z", "### gemm_f32", "### gemm_qs8",
                        "| shape | batch | threads | cache | impl | isa | median | p99 | GFLOP/s | % peak | bound | vs XNNPACK |",
                        "| GOP/s |", "### Ours vs XNNPACK", "| gemm_f32 | 12 | 1.15x", "cv 6.1% > 5%"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    cr_assert_not_null(strstr(md, want[i]), "markdown lacks '%s'", want[i]);
  /* every table row has the header's column count */
  size_t rows = 0;
  for (char *line = strtok(md, "\n"); line; line = strtok(NULL, "\n")) {
    if (strncmp(line, "| 256x256 |", 11) != 0 && strncmp(line, "| 1024x1024 |", 13) != 0) continue;
    size_t bars = 0;
    for (char *p = line; *p; p++) bars += *p == '|';
    cr_assert_eq(bars, 13, "row '%s'", line);
    rows++;
  }
  cr_assert_eq(rows, 48);
  free(md);
}

/* Splits one CSV record (RFC 4180 quoting) and returns the number of fields. */
static size_t csv_fields(const char *line) {
  size_t n = 1;
  bool q = false;
  for (const char *p = line; *p; p++) {
    if (*p == '"') q = !q;
    else if (*p == ',' && !q) n++;
  }
  cr_assert_not(q, "unbalanced quotes in '%s'", line);
  return n;
}

Test(report, csv_parses_with_one_row_per_result) {
  const char *names[] = {"machine_a.json", "machine_b.json"};
  char *csv = render(names, 2, hwt_repfmt_csv, NULL);
  size_t lines = 0, header = 0;
  for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n")) {
    size_t n = csv_fields(line);
    if (lines == 0) {
      header = n;
      cr_assert_eq(strncmp(line, "fingerprint,cpu,file,name,op,", 29), 0);
    } else {
      cr_assert_eq(n, header, "line %zu: %zu fields, header has %zu", lines, n, header);
    }
    lines++;
  }
  cr_assert_eq(lines, 1 + 48 + 16);
  free(csv);
}

Test(report, several_machines_give_a_cross_machine_table_and_merge_same_fingerprint) {
  hwt_results_file f[3];
  load("machine_a.json", &f[0]);
  load("machine_b.json", &f[1]);
  load("machine_a_run2.json", &f[2]);
  hwt_machines ms;
  cr_assert_eq(hwt_machines_group(f, 3, &ms), hwt_status_ok);
  cr_assert_eq(ms.count, 2);
  cr_assert_eq(ms.m[0].nfiles, 2);
  cr_assert_eq(ms.m[0].nresults, 48);
  cr_assert_eq(ms.m[0].nreplaced, 8);
  const hwt_result *own = NULL;
  for (size_t i = 0; i < ms.m[0].nresults && own == NULL; i++)
    if (strcmp(ms.m[0].results[i]->impl, "own") == 0 && strcmp(ms.m[0].results[i]->op, "gemm_f32") == 0)
      own = ms.m[0].results[i];
  cr_assert_not_null(own);
  const hwt_result *x = hwt_machine_xnnpack_peer(&ms.m[0], own);
  cr_assert_not_null(x);
  cr_assert_float_eq(x->median_ns / own->median_ns, 1.15, 0.03);
  hwt_machines_free(&ms);
  hwt_sb sb = {0};
  cr_assert_eq(hwt_rpt_render(f, 3, hwt_repfmt_md, &sb), hwt_status_ok);
  cr_assert_not_null(strstr(sb.buf, "## Across machines"));
  cr_assert_not_null(strstr(sb.buf, "| M2 | `f0e1d2c3b4a5` | Neoverse-N1 (qemu) | neondot | 4 |"));
  cr_assert_not_null(strstr(sb.buf, "| `gemm_f32/own/256x256/m1/t1/warm` |"), "own rows align across ISAs");
  cr_assert_not_null(strstr(sb.buf, "neon) |"));
  cr_assert_not_null(strstr(sb.buf, "measured in two files"));
  hwt_sb_free(&sb);
  for (int i = 0; i < 3; i++) hwt_results_free(&f[i]);
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

Test(report, html_is_self_contained) {
  const char *names[] = {"machine_a.json", "machine_b.json"};
  char *html = render(names, 2, hwt_repfmt_html, NULL);
  cr_assert_eq(strncmp(html, "<!DOCTYPE html>", 15), 0);
  cr_assert_not_null(strstr(html, "<meta charset=\"utf-8\">"));
  const char *forbidden[] = {"<script", " src=", "href=", "@import", "url(http", "<link", "<iframe"};
  for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
    cr_assert_null(strstr(html, forbidden[i]), "page loads something: '%s'", forbidden[i]);
  cr_assert_not_null(strstr(html, "</html>\n"));
  free(html);
}

Test(report, html_charts_have_axes_legends_and_ceilings) {
  const char *names[] = {"machine_a.json"};
  char *html = render(names, 1, hwt_repfmt_html, NULL);
  /* machine A: 2 rooflines + per op (thread + 2 batch) x 2 ops = 8 charts */
  cr_assert_eq(count(html, "<svg "), 8);
  cr_assert_eq(count(html, "</svg>"), 8);
  cr_assert_eq(count(html, "<g"), count(html, "</g>"));
  cr_assert_eq(count(html, "<text"), count(html, "</text>"));
  cr_assert_geq(count(html, "class=\"label\""), 16, "every chart labels both axes");
  cr_assert_not_null(strstr(html, "speed-up vs 1 thread"));
  cr_assert_not_null(strstr(html, "ideal (linear) scaling"));
  cr_assert_not_null(strstr(html, "latency per call (median), log scale"));
  cr_assert_not_null(strstr(html, "throughput (GFLOP/s)"));
  cr_assert_not_null(strstr(html, "fp32 avx512f peak 224 GFLOP/s"));
  cr_assert_not_null(strstr(html, "int8 avx512vnni peak 896 GOP/s"));
  cr_assert_not_null(strstr(html, "L1 180 GB/s"));
  cr_assert_not_null(strstr(html, "DRAM bandwidth roof"));
  cr_assert_geq(count(html, "class=\"point\""), 48, "each 1-thread and 2-thread result is a roofline point");
  cr_assert_geq(count(html, "class=\"legend\""), 20);
  free(html);
}

/* Chromium: the page loads without console errors and its DOM holds the SVG charts. A page with a deliberate
 * script error proves the check can fail. */
static const char *chromium_path(void) {
  static const char *const c[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser", NULL};
  for (int i = 0; c[i]; i++)
    if (access(c[i], X_OK) == 0) return c[i];
  return NULL;
}

static int chromium_dump(const char *html_path, const char *dom_path, const char *log_path) {
  static int run;
  char profile[256], cmd[2048];
  snprintf(profile, sizeof profile, "%s/chromium-profile-%d", tmpdir, run++); /* a new empty profile each time */
  snprintf(cmd, sizeof cmd,
           "timeout 120 %s --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
           "--disable-background-networking --disable-component-update --disable-sync --user-data-dir='%s' "
           "--enable-logging=stderr --v=0 --dump-dom 'file://%s' >'%s' 2>'%s'",
           chromium_path(), profile, html_path, dom_path, log_path);
  return system(cmd);
}

static bool has_console_error(const char *log) {
  return strstr(log, "Uncaught") != NULL || strstr(log, ":CONSOLE") != NULL;
}

/* These tests make their folder only after the skip checks (a skipped test does not run the suite's .fini). */
Test(browser, chromium_loads_the_page_without_errors, .timeout = 300) {
#ifdef __SANITIZE_ADDRESS__
  cr_skip_test("the Chromium check runs in the non-sanitizer build (Chromium is a separate process)");
#endif
  if (chromium_path() == NULL) cr_skip_test("chromium is not installed (apt-get install chromium)");
  make_tmpdir();
  const char *names[] = {"machine_a.json", "machine_b.json"};
  size_t len;
  char *html = render(names, 2, hwt_repfmt_html, &len);
  char page[256], dom[256], log[256];
  snprintf(page, sizeof page, "%s/report.html", tmpdir);
  snprintf(dom, sizeof dom, "%s/dom.html", tmpdir);
  snprintf(log, sizeof log, "%s/chromium.log", tmpdir);
  char err[256];
  cr_assert_eq(hwt_write_file_atomic(page, html, len, err, sizeof err), hwt_status_ok, "%s", err);
  free(html);
  cr_assert_eq(chromium_dump(page, dom, log), 0);
  char *d = slurp(dom, NULL), *l = slurp(log, NULL);
  cr_assert_geq(count(d, "<svg"), 10, "Chromium's DOM lacks the charts");
  cr_assert_geq(count(d, "<polyline"), 10);
  cr_assert_not_null(strstr(d, "Across machines"));
  cr_assert_not(has_console_error(l), "console errors:\n%s", l);
  free(d);
  free(l);
  remove_tmpdir();
}

/* The control: the same check sees a deliberate script error (a separate test so both Chromiums run at once). */
Test(browser, chromium_check_sees_a_script_error, .timeout = 300) {
#ifdef __SANITIZE_ADDRESS__
  cr_skip_test("the Chromium check runs in the non-sanitizer build (Chromium is a separate process)");
#endif
  if (chromium_path() == NULL) cr_skip_test("chromium is not installed (apt-get install chromium)");
  make_tmpdir();
  char bad[256], bad_dom[256], bad_log[256], err[256];
  snprintf(bad, sizeof bad, "%s/bad.html", tmpdir);
  snprintf(bad_dom, sizeof bad_dom, "%s/bad_dom.html", tmpdir);
  snprintf(bad_log, sizeof bad_log, "%s/bad.log", tmpdir);
  const char *page_bad = "<!DOCTYPE html><html><body><script>no_such_function();</script></body></html>\n";
  cr_assert_eq(hwt_write_file_atomic(bad, page_bad, strlen(page_bad), err, sizeof err), hwt_status_ok);
  cr_assert_eq(chromium_dump(bad, bad_dom, bad_log), 0);
  char *bl = slurp(bad_log, NULL);
  cr_assert(has_console_error(bl), "a deliberate script error was not detected; log:\n%s", bl);
  free(bl);
  remove_tmpdir();
}

Test(report, bad_input_and_usage_exit_2) {
  char *a1[] = {"report", FIX "bad_not_json.json", NULL};
  cr_assert_eq(hwt_cmd_report(2, a1), 2);
  char *a2[] = {"report", FIX "no_such_file.json", NULL};
  cr_assert_eq(hwt_cmd_report(2, a2), 2);
  char *a3[] = {"report", NULL};
  cr_assert_eq(hwt_cmd_report(1, a3), 2);
  char *a4[] = {"report", FIX "machine_a.json", "--format", "pdf", NULL};
  cr_assert_eq(hwt_cmd_report(4, a4), 2);
  char *a5[] = {"report", FIX "machine_a.json", "--out", "/no/such/dir/r.md", NULL};
  cr_assert_eq(hwt_cmd_report(4, a5), 2); /* an unusable --out, refused before the work like every verb's */
}

Test(report, nothing_to_report_exits_2) {
  char out[256];
  snprintf(out, sizeof out, "%s/empty.md", tmpdir);
  char *a1[] = {"report", FIX "cmp_empty.json", "--out", out, NULL};
  cr_assert_eq(hwt_cmd_report(4, a1), 2);
  cr_assert_eq(access(out, F_OK), -1, "a report of nothing was written");
  char *a2[] = {"report", FIX "cmp_empty.json", FIX "cmp_empty.json", "--format", "csv", NULL};
  cr_assert_eq(hwt_cmd_report(5, a2), 2);
  /* an empty file next to one with results is a warning: the report shows what there is */
  char *a3[] = {"report", FIX "cmp_empty.json", FIX "machine_a.json", "--out", out, NULL};
  cr_assert_eq(hwt_cmd_report(5, a3), 0);
  cr_assert_eq(access(out, F_OK), 0);
}

/* An --out into a directory that does not exist is refused before any work, with exit 2, and nothing is created
 * (tune did create it, the other verbs failed only when writing; every verb now refuses the same way). */
Test(report, out_into_a_missing_directory_exits_2) {
  char out[400], dir[128];
  snprintf(dir, sizeof dir, "%s/no/such", tmpdir);
  snprintf(out, sizeof out, "%s/r.md", dir);
  char *a1[] = {"report", FIX "machine_a.json", "--out", out, NULL};
  cr_assert_eq(hwt_cmd_report(4, a1), 2);
  char *a2[] = {"compare", FIX "cmp_base.json", FIX "cmp_rerun.json", "--out", out, NULL};
  cr_assert_eq(hwt_cmd_compare(5, a2), 2);
  cr_assert_eq(access(dir, F_OK), -1, "the missing directory was created");
  char err[512] = "";
  cr_assert_neq(hwt_check_out_dir(out, err, sizeof err), hwt_status_ok);
  cr_assert_not_null(strstr(err, "it is not created"), "%s", err);
  snprintf(out, sizeof out, "%s/r.md", FIX "cmp_base.json"); /* a file as the directory */
  cr_assert_neq(hwt_check_out_dir(out, err, sizeof err), hwt_status_ok);
  cr_assert_not_null(strstr(err, "is not a directory"), "%s", err);
  cr_assert_eq(hwt_check_out_dir("r.md", err, sizeof err), hwt_status_ok, "the current directory: %s", err);
}

/* ---- a fleet's merged results: 50k results, far below the quadratic time -------------------------------------- */
/* Writes a results file with `count` configurations (24 per shape) starting at shape number `first_shape`, under
 * the context of the fixture `ctx_from`. Medians follow the configuration so own and xnnpack differ. */
static void write_big(const char *path, const char *ctx_from, size_t first_shape, size_t count, const char *own_isa,
                      const char *own_isa8) {
  hwt_results_file src;
  load(ctx_from, &src);
  char *ctx = json_dumps(src.context, JSON_COMPACT);
  cr_assert_not_null(ctx);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s", path);
  fprintf(f, "{\"schema\": \"hwtune.results/1\", \"partial\": false, \"context\": %s, \"results\": [\n", ctx);
  size_t n = 0;
  static const long long batches[] = {1, 8, 64};
  for (size_t sh = first_shape; n < count; sh++) {
    long long nn = 64 + 16 * (long long)(sh % 97), kk = 64 + 32 * (long long)(sh / 97);
    for (int op = 0; op < 2 && n < count; op++)
      for (int b = 0; b < 3 && n < count; b++)
        for (long long t = 1; t <= 2 && n < count; t++)
          for (int own = 0; own < 2 && n < count; own++, n++) {
            double flops = 2.0 * (double)batches[b] * (double)nn * (double)kk;
            double med = flops / (40.0 * (t == 2 ? 1.8 : 1.0)) * (own ? 1.1 : 1.0) * (1 + 0.01 * (double)(n % 7));
            fprintf(f,
                    "%s{\"op\": \"%s\", \"impl\": \"%s\", \"isa\": \"%s\", \"shape\": \"%lldx%lld\", \"m\": %lld, "
                    "\"n\": %lld, \"k\": %lld, \"threads\": %lld, \"cache\": \"warm\", \"samples\": 5, "
                    "\"median_ns\": %.1f, \"p99_ns\": %.1f, \"ci_low_ns\": %.1f, \"ci_high_ns\": %.1f, "
                    "\"flops\": %.0f, \"gflops\": %.4f, \"pct_peak\": 30.0, \"arithmetic_intensity\": 12.5, "
                    "\"bound\": \"compute\", \"warnings\": [%s]}\n",
                    n ? "," : "", op ? "gemm_qs8" : "gemm_f32", own ? "own" : "xnnpack",
                    own ? (op ? own_isa8 : own_isa) : "auto", nn, kk, batches[b], nn, kk, t, med, med * 1.1,
                    med * 0.99, med * 1.01, flops, flops / med, n % 100 == 0 ? "\"cv 6.0% > 5%\"" : "");
          }
  }
  fprintf(f, "]}\n");
  cr_assert_eq(fclose(f), 0);
  free(ctx);
  hwt_results_free(&src);
}

/* At d550f0b, 10k results of three files (two machines) took 39 s (Markdown) and 44 s (HTML): the lookups of the
 * cross-machine table, the XNNPACK peers, the merge and the chart series were linear scans. 50k now take about 2-3 s
 * per format (Release); 60 s is far above that (sanitizers included) and far below the quadratic time. */
Test(report, fifty_thousand_results_of_a_fleet_in_well_under_a_minute, .timeout = 60) {
  char a1[256], a2[256], b[256], out[256];
  snprintf(a1, sizeof a1, "%s/a1.json", tmpdir);
  snprintf(a2, sizeof a2, "%s/a2.json", tmpdir);
  snprintf(b, sizeof b, "%s/b.json", tmpdir);
  write_big(a1, "machine_a.json", 0, 20000, "avx512f", "avx512vnni");
  /* the same machine again: 5000 configurations measured again, 5000 new ones */
  write_big(a2, "machine_a.json", 0, 5000, "avx512f", "avx512vnni");
  char a2b[256];
  snprintf(a2b, sizeof a2b, "%s/a2b.json", tmpdir);
  write_big(a2b, "machine_a.json", 20000 / 24 + 1, 5000, "avx512f", "avx512vnni");
  write_big(b, "machine_b.json", 0, 20000, "neon", "neondot");
  static const char *const fmts[] = {"md", "html", "csv"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(out, sizeof out, "%s/fleet.%s", tmpdir, fmts[i]);
    char *argv[] = {"report", a1, a2, a2b, b, "--format", (char *)fmts[i], "--out", out, NULL};
    cr_assert_eq(hwt_cmd_report(9, argv), 0, "format %s", fmts[i]);
  }
  snprintf(out, sizeof out, "%s/fleet.md", tmpdir);
  char *md = slurp(out, NULL);
  cr_assert_not_null(strstr(md, "## Across machines"));
  cr_assert_not_null(strstr(md, "5000 configuration(s) measured in two files"));
  /* every row of the cross-machine table: 25000 configurations of machine A and 20000 of B (same keys but isa) */
  const char *start = strstr(md, "| configuration |"), *end = strstr(md, "## Machine 1");
  cr_assert(start != NULL && end != NULL && start < end);
  size_t rows = 0; /* lines "| `key` | ..." (no strstr per line: under ASan each call measures the whole text) */
  for (const char *p = start; p + 4 < end; p++)
    if (p[0] == '\n' && p[1] == '|' && p[2] == ' ' && p[3] == '`') rows++;
  cr_assert_eq(rows, 25000, "cross-machine rows: %zu", rows);
  free(md);
}

/* ---- Google Benchmark's compare.py accepts `hwtune bench --format gbench` ---------------------------------- */

Test(gbench, compare_py_accepts_bench_output, .timeout = 300) {
#ifdef __SANITIZE_ADDRESS__
  cr_skip_test("runs in the non-sanitizer build (it times real kernels)");
#endif
  const char *compare_py = "/usr/share/benchmark/compare.py";
  if (access(compare_py, R_OK) != 0 || system("/usr/bin/python3 -c 'import scipy' 2>/dev/null") != 0)
    cr_skip_test("Google Benchmark's compare.py needs: apt-get install libbenchmark-tools python3-scipy");
  make_tmpdir(); /* after the skip checks: a skipped test does not run a suite's .fini */
  char cmd[2048];
  for (int run = 0; run < 2; run++) {
    snprintf(cmd, sizeof cmd,
             "'%s' bench --op gemm_f32 --shape 64x64 --batch 1 --threads 1 --impl xnnpack,own --max-time 0.1 "
             "--no-peaks --quiet --format gbench --out '%s/g%d.json' >/dev/null 2>&1",
             HWTUNE_BINARY, tmpdir, run);
    cr_assert_eq(system(cmd), 0, "hwtune bench --format gbench failed: %s", cmd);
  }
  /* Debian's compare.py runs with Debian's python3 (scipy is installed for it) */
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s -a benchmarks '%s/g0.json' '%s/g1.json' >'%s/cmp.txt' 2>&1",
           compare_py, tmpdir, tmpdir, tmpdir);
  int rc = system(cmd);
  char out[256];
  snprintf(out, sizeof out, "%s/cmp.txt", tmpdir);
  char *text = slurp(out, NULL);
  cr_assert_eq(rc, 0, "compare.py rejected our gbench files:\n%s", text);
  cr_assert_not_null(strstr(text, "gemm_f32/xnnpack/auto/64x64/m1/t1/warm"), "%s", text);
  cr_assert_not_null(strstr(text, "U Test"), "compare.py ran no U test:\n%s", text);
  free(text);
  remove_tmpdir();
}
