/* SPDX-License-Identifier: Apache-2.0 */
/* Reporters for people: the console table (aligned, optional colour) and the Markdown table; same columns. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporters.h"

enum { COLS = 13 };
static const char *const headers[COLS] = {"op",      "impl",   "isa",    "shape", "batch", "threads", "cache",
                                          "median",  "95% CI", "GFLOP/s", "% peak", "bound", "notes"};
static const bool right_align[COLS] = {false, false, false, false, true, true, false,
                                       true,  true,  true,  true,  false, false};

static void cells(const hwt_bench_result *r, size_t footnote, char out[COLS][72]) {
  const hwt_bench_config *c = &r->config;
  snprintf(out[0], 72, "%s", hwt_bench_op_name(c->op));
  snprintf(out[1], 72, "%s", hwt_bench_impl_name(c->impl));
  snprintf(out[2], 72, "%s", r->isa);
  hwt_bench_config_shape(c, out[3], 72);
  snprintf(out[4], 72, "%zu", c->batch);
  snprintf(out[5], 72, "%u", c->threads);
  snprintf(out[6], 72, "%s", c->cold ? "cold" : "warm");
  hwt_report_human_time(r->median_ns, out[7], 72);
  if (r->median_ns > 0 && isfinite(r->ci_low_ns))
    snprintf(out[8], 72, "+-%.1f%%", 100.0 * (r->ci_high_ns - r->ci_low_ns) / 2.0 / r->median_ns);
  else
    snprintf(out[8], 72, "-");
  snprintf(out[9], 72, "%.1f", r->gflops);
  if (r->pct_peak >= 0)
    snprintf(out[10], 72, "%.0f%%", r->pct_peak);
  else
    snprintf(out[10], 72, "-");
  snprintf(out[11], 72, "%s", r->bound);
  if (r->nwarnings)
    snprintf(out[12], 72, "[%zu] %zu warning%s", footnote, r->nwarnings, r->nwarnings == 1 ? "" : "s");
  else
    out[12][0] = '\0';
}

static void warnings_list(const hwt_bench_doc *doc, hwt_buf *out, bool md, const char *on, const char *off) {
  size_t fn = 0;
  json_t *cw = doc->context ? json_object_get(doc->context, "warnings") : NULL;
  for (size_t i = 0; i < doc->count; i++) {
    const hwt_bench_result *r = &doc->results[i];
    if (r->nwarnings == 0) continue;
    fn++;
    for (size_t j = 0; j < r->nwarnings; j++)
      hwt_buf_printf(out, "%s%s[%zu] %s%s%s: %s%s\n", md ? "- " : "", on, fn, md ? "`" : "", r->name, md ? "`" : "",
                     r->warnings[j], off);
  }
  if (json_is_array(cw) && json_array_size(cw) > 0) {
    size_t j;
    json_t *v;
    json_array_foreach(cw, j, v) if (json_is_string(v))
        hwt_buf_printf(out, "%s%srun: %s%s\n", md ? "- " : "", on, json_string_value(v), off);
  }
}

hwt_status hwt_report_md(const hwt_bench_doc *doc, hwt_buf *out, char *err, size_t errlen) {
  (void)err, (void)errlen;
  const char *brand = NULL, *commit = NULL;
  json_t *usable = NULL;
  if (doc->context) {
    json_t *cpu = json_object_get(doc->context, "cpu");
    brand = json_string_value(json_object_get(cpu, "brand"));
    if (brand == NULL) brand = json_string_value(json_object_get(doc->context, "brand"));
    commit = json_string_value(json_object_get(json_object_get(doc->context, "build"), "git_commit"));
    usable = json_object_get(json_object_get(doc->context, "usable"), "cpus");
  }
  hwt_buf_printf(out, "hwtune bench on %s", brand ? brand : "this machine");
  if (json_is_integer(usable)) hwt_buf_printf(out, ", %lld usable CPUs", (long long)json_integer_value(usable));
  if (commit) hwt_buf_printf(out, ", commit %s", commit);
  hwt_buf_printf(out, "%s\n\n", doc->partial ? " (**partial**: interrupted)" : "");
  hwt_buf_puts(out, "|");
  for (int c = 0; c < COLS; c++) hwt_buf_printf(out, " %s |", headers[c]);
  hwt_buf_puts(out, "\n|");
  for (int c = 0; c < COLS; c++) hwt_buf_puts(out, right_align[c] ? " ---: |" : " --- |");
  hwt_buf_puts(out, "\n");
  size_t fn = 0;
  for (size_t i = 0; i < doc->count; i++) {
    char cell[COLS][72];
    if (doc->results[i].nwarnings) fn++;
    cells(&doc->results[i], fn, cell);
    hwt_buf_puts(out, "|");
    for (int c = 0; c < COLS; c++) {
      hwt_buf_puts(out, " ");
      for (const char *p = cell[c]; *p; p++) {
        if (*p == '|')
          hwt_buf_puts(out, "\\|");
        else
          hwt_buf_printf(out, "%c", *p);
      }
      hwt_buf_puts(out, " |");
    }
    hwt_buf_puts(out, "\n");
  }
  hwt_report_spmm_summary(doc, out);
  hwt_buf w = {0};
  warnings_list(doc, &w, true, "", "");
  if (w.len) {
    hwt_buf_puts(out, "\nWarnings:\n\n");
    hwt_buf_puts(out, w.data);
  }
  free(w.data);
  return hwt_status_ok;
}

hwt_status hwt_report_console(const hwt_bench_doc *doc, hwt_buf *out, char *err, size_t errlen) {
  (void)err, (void)errlen;
  const char *bold = doc->color ? "\033[1m" : "", *yellow = doc->color ? "\033[33m" : "",
             *reset = doc->color ? "\033[0m" : "";
  size_t width[COLS];
  for (int c = 0; c < COLS; c++) width[c] = strlen(headers[c]);
  size_t fn = 0;
  for (size_t i = 0; i < doc->count; i++) {
    char cell[COLS][72];
    if (doc->results[i].nwarnings) fn++;
    cells(&doc->results[i], fn, cell);
    for (int c = 0; c < COLS; c++)
      if (strlen(cell[c]) > width[c]) width[c] = strlen(cell[c]);
  }
  if (doc->partial) hwt_buf_printf(out, "%sPARTIAL: interrupted, results below are what was measured%s\n", yellow, reset);
  hwt_buf_puts(out, bold);
  for (int c = 0; c < COLS; c++)
    hwt_buf_printf(out, right_align[c] ? "%*s%s" : "%-*s%s", (int)width[c], headers[c], c + 1 < COLS ? "  " : "");
  hwt_buf_printf(out, "%s\n", reset);
  fn = 0;
  for (size_t i = 0; i < doc->count; i++) {
    char cell[COLS][72];
    if (doc->results[i].nwarnings) fn++;
    cells(&doc->results[i], fn, cell);
    for (int c = 0; c < COLS; c++) {
      bool warn = c == COLS - 1 && cell[c][0];
      hwt_buf_printf(out, "%s", warn ? yellow : "");
      hwt_buf_printf(out, right_align[c] ? "%*s" : "%-*s", c + 1 < COLS ? (int)width[c] : 0, cell[c]);
      hwt_buf_printf(out, "%s%s", warn ? reset : "", c + 1 < COLS ? "  " : "");
    }
    hwt_buf_puts(out, "\n");
  }
  hwt_report_spmm_summary(doc, out);
  hwt_buf w = {0};
  warnings_list(doc, &w, false, yellow, reset);
  if (w.len) {
    hwt_buf_puts(out, "\n");
    hwt_buf_puts(out, w.data);
  }
  free(w.data);
  return hwt_status_ok;
}
