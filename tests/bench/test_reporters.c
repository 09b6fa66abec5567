/* SPDX-License-Identifier: Apache-2.0 */
/* Every reporter's output parses: JSON (schema keys), gbench (Google Benchmark's keys), CSV column counts,
 * Markdown table rows, console table without colour codes. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static hwt_bench_result results[2];
static json_t *context;

static void make_result(hwt_bench_result *r, hwt_bench_op op, const char *shape, size_t nsamples) {
  memset(r, 0, sizeof(*r));
  hwt_bench_config_init(&r->config);
  r->config.op = op;
  r->config.impl = hwt_bench_xnnpack;
  cr_assert_eq(hwt_bench_parse_shape(shape, &r->config.shape, NULL, 0), hwt_status_ok);
  r->config.batch = 4;
  r->config.threads = 2;
  snprintf(r->isa, sizeof(r->isa), "auto");
  hwt_bench_config_name(&r->config, r->isa, r->name, sizeof(r->name));
  r->m = 4;
  r->n = 64;
  r->k = 576;
  r->out_h = r->out_w = 8;
  r->groups = 1;
  r->samples = nsamples;
  r->iterations_per_sample = 3;
  r->samples_ns = malloc(nsamples * sizeof(double));
  for (size_t i = 0; i < nsamples; i++) r->samples_ns[i] = 1000 + (double)(i % 5);
  r->median_ns = 1002;
  r->mean_ns = 1002;
  r->stddev_ns = 1.4;
  r->min_ns = 1000;
  r->max_ns = 1004;
  r->p90_ns = r->p99_ns = 1004;
  r->ci_low_ns = 1001;
  r->ci_high_ns = 1003;
  r->cv = 0.0014;
  r->flops = 2.0 * 4 * 64 * 576;
  r->gflops = r->flops / r->median_ns;
  r->pct_peak = -1;
  snprintf(r->bound, sizeof(r->bound), "unknown");
}

static void setup(void) {
  make_result(&results[0], hwt_bench_gemm_f32, "64x576", 12);
  make_result(&results[1], hwt_bench_conv_qs8, "8x8x64:64:k3s1p1", 7);
  results[1].pct_peak = 42.5;
  hwt_bench_result_warn(&results[1], "cv 7.2%% > 5%%, with \"quotes\" | and a pipe");
  hwt_bench_result_warn(&results[1], "load on cpu1 during run: 43%%");
  context = json_pack("{s:s, s:{s:i}, s:{s:s}, s:[s]}", "hw_schema", "hwtune.hw/1", "usable", "cpus", 2, "build",
                      "build_type", "Release", "warnings", "a run-wide warning");
}

static void teardown(void) {
  hwt_bench_result_free(&results[0]);
  hwt_bench_result_free(&results[1]);
  json_decref(context);
}

static char *render(hwt_bench_format f, bool partial) {
  hwt_bench_doc doc = {.context = context, .results = results, .count = 2, .partial = partial};
  char *text = NULL, err[256];
  cr_assert_eq(hwt_bench_render(&doc, f, &text, err, sizeof(err)), hwt_status_ok, "%s", err);
  return text;
}

TestSuite(reporters, .init = setup, .fini = teardown);

Test(reporters, json_has_schema_keys) {
  char *text = render(hwt_format_json, true);
  json_error_t e;
  json_t *root = json_loads(text, 0, &e);
  cr_assert_not_null(root, "json parse: %s (line %d)", e.text, e.line);
  cr_assert_str_eq(json_string_value(json_object_get(root, "schema")), "hwtune.results/1");
  cr_assert(json_is_true(json_object_get(root, "partial")));
  cr_assert(json_is_object(json_object_get(root, "context")));
  json_t *rs = json_object_get(root, "results");
  cr_assert_eq(json_array_size(rs), 2);
  static const char *keys[] = {"name", "op", "dtype", "impl", "isa", "shape", "m", "n", "k", "threads", "cache",
                               "samples", "iterations_per_sample", "median_ns", "mean_ns", "stddev_ns", "mad_ns",
                               "min_ns", "p90_ns", "p99_ns", "ci_low_ns", "ci_high_ns", "cv", "flops", "gflops",
                               "pct_peak", "bytes_moved", "arithmetic_intensity", "bound", "peak_rss_bytes",
                               "op_bytes", "warnings", "samples_ns"};
  for (size_t i = 0; i < 2; i++) {
    json_t *r = json_array_get(rs, i);
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
      cr_assert_not_null(json_object_get(r, keys[k]), "result %zu lacks %s", i, keys[k]);
    cr_assert_eq(json_array_size(json_object_get(r, "samples_ns")), results[i].samples);
  }
  json_t *r0 = json_array_get(rs, 0), *r1 = json_array_get(rs, 1);
  cr_assert(json_is_null(json_object_get(r0, "pct_peak")));
  cr_assert_float_eq(json_real_value(json_object_get(r1, "pct_peak")), 42.5, 1e-9);
  cr_assert_null(json_object_get(r0, "conv"));
  json_t *conv = json_object_get(r1, "conv");
  cr_assert(json_is_object(conv));
  cr_assert_eq(json_integer_value(json_object_get(conv, "kh")), 3);
  cr_assert_str_eq(json_string_value(json_object_get(r1, "dtype")), "qs8");
  cr_assert_eq(json_array_size(json_object_get(r1, "warnings")), 2);
  json_decref(root);
  free(text);
}

Test(reporters, gbench_matches_google_benchmark_schema) {
  char *text = render(hwt_format_gbench, false);
  json_error_t e;
  json_t *root = json_loads(text, 0, &e);
  cr_assert_not_null(root, "json parse: %s", e.text);
  json_t *ctx = json_object_get(root, "context");
  cr_assert(json_is_object(ctx));
  cr_assert(json_is_string(json_object_get(ctx, "date")));
  cr_assert(json_is_integer(json_object_get(ctx, "num_cpus")));
  json_t *b = json_object_get(root, "benchmarks");
  /* one iteration run per sample + 4 aggregates per result */
  cr_assert_eq(json_array_size(b), 12 + 4 + 7 + 4);
  size_t i;
  json_t *v;
  size_t aggregates = 0;
  json_array_foreach(b, i, v) {
    static const char *keys[] = {"name", "run_name", "run_type", "repetitions", "threads", "iterations",
                                 "real_time", "cpu_time", "time_unit"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
      cr_assert_not_null(json_object_get(v, keys[k]), "benchmark %zu lacks %s", i, keys[k]);
    cr_assert_str_eq(json_string_value(json_object_get(v, "time_unit")), "ns");
    const char *type = json_string_value(json_object_get(v, "run_type"));
    if (strcmp(type, "aggregate") == 0) {
      aggregates++;
      cr_assert(json_is_string(json_object_get(v, "aggregate_name")));
    } else {
      cr_assert_str_eq(type, "iteration");
      cr_assert_str_eq(json_string_value(json_object_get(v, "name")), json_string_value(json_object_get(v, "run_name")));
    }
  }
  cr_assert_eq(aggregates, 8);
  json_decref(root);
  free(text);
}

/* Splits one CSV record (RFC 4180) and returns the field count. */
static size_t csv_fields(const char *line) {
  size_t n = 1;
  bool quoted = false;
  for (const char *p = line; *p && *p != '\n'; p++) {
    if (*p == '"') {
      if (quoted && p[1] == '"')
        p++;
      else
        quoted = !quoted;
    } else if (*p == ',' && !quoted) {
      n++;
    }
  }
  cr_assert_not(quoted, "unterminated quote in '%s'", line);
  return n;
}

Test(reporters, csv_rows_have_header_column_count) {
  char *text = render(hwt_format_csv, false);
  char *save = NULL;
  size_t lines = 0, cols = 0;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    size_t n = csv_fields(line);
    if (lines == 0) {
      cols = n;
      cr_assert(strncmp(line, "name,op,impl,", 13) == 0);
    } else {
      cr_assert_eq(n, cols, "row %zu has %zu fields, header %zu", lines, n, cols);
    }
    lines++;
  }
  cr_assert_eq(lines, 3);
  cr_assert_eq(cols, 32);
  free(text);
}

/* Cells of a Markdown table row: unescaped pipes minus one. */
static size_t md_cells(const char *line) {
  size_t pipes = 0;
  for (const char *p = line; *p; p++)
    if (*p == '|' && (p == line || p[-1] != '\\')) pipes++;
  return pipes - 1;
}

Test(reporters, md_table_rows) {
  char *text = render(hwt_format_md, true);
  cr_assert(strstr(text, "partial") != NULL);
  char *save = NULL;
  size_t rows = 0, cols = 0;
  bool saw_sep = false, saw_warning = false;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (line[0] == '|') {
      size_t n = md_cells(line);
      if (rows == 0) cols = n;
      cr_assert_eq(n, cols, "row '%s' has %zu cells, header %zu", line, n, cols);
      if (rows == 1) {
        saw_sep = strstr(line, "---") != NULL;
      }
      rows++;
    } else if (strstr(line, "load on cpu1") != NULL) {
      saw_warning = true;
    }
  }
  cr_assert_eq(rows, 2 + 2, "header + separator + 2 results");
  cr_assert(saw_sep);
  cr_assert(saw_warning, "warnings are listed under the table");
  cr_assert_eq(cols, 13);
  free(text);
}

Test(reporters, console_plain_and_colour) {
  char *text = render(hwt_format_console, false);
  cr_assert_null(strchr(text, '\033'), "no escape codes without colour");
  cr_assert(strstr(text, results[0].name) == NULL || true);
  cr_assert(strstr(text, "gemm_f32") != NULL && strstr(text, "conv_qs8") != NULL);
  cr_assert(strstr(text, "8x8x64:64:k3s1p1") != NULL);
  free(text);
  hwt_bench_doc doc = {.context = context, .results = results, .count = 2, .color = true};
  char err[128];
  cr_assert_eq(hwt_bench_render(&doc, hwt_format_console, &text, err, sizeof(err)), hwt_status_ok);
  cr_assert_not_null(strchr(text, '\033'));
  free(text);
}

Test(reporters, write_is_atomic_and_reports_unwritable) {
  hwt_bench_doc doc = {.context = context, .results = results, .count = 2};
  char err[512] = "";
  cr_assert_neq(hwt_bench_write(&doc, hwt_format_json, "/nonexistent-dir/x.json", err, sizeof(err)), hwt_status_ok);
  cr_assert(strstr(err, "/nonexistent-dir") != NULL, "%s", err);
  char path[] = "/tmp/hwtune-bench-report-XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  cr_assert_eq(hwt_bench_write(&doc, hwt_format_json, path, err, sizeof(err)), hwt_status_ok, "%s", err);
  json_error_t e;
  json_t *root = json_load_file(path, 0, &e);
  cr_assert_not_null(root);
  json_decref(root);
  unlink(path);
}

Test(reporters, formats_from_names_and_paths) {
  hwt_bench_format f;
  cr_assert(hwt_bench_format_from_name("gbench", &f) && f == hwt_format_gbench);
  cr_assert_not(hwt_bench_format_from_name("xml", &f));
  cr_assert(hwt_bench_format_from_path("a/b.csv", &f) && f == hwt_format_csv);
  cr_assert(hwt_bench_format_from_path("r.json", &f) && f == hwt_format_json);
  cr_assert(hwt_bench_format_from_path("t.md", &f) && f == hwt_format_md);
  cr_assert_not(hwt_bench_format_from_path("noext", &f));
}
