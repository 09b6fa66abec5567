/* SPDX-License-Identifier: Apache-2.0 */
/* Reporter dispatch, the text buffer, the canonical result record as JSON, and atomic writing. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwt_common.h"
#include "reporters.h"

void hwt_buf_printf(hwt_buf *b, const char *fmt, ...) {
  if (b->failed) return;
  va_list ap;
  for (;;) {
    size_t room = b->cap - b->len;
    va_start(ap, fmt);
    int n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? room : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->failed = true;
      return;
    }
    if (b->data && (size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + (size_t)n + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (d == NULL) {
      b->failed = true;
      return;
    }
    b->data = d;
    b->cap = cap;
  }
}

void hwt_buf_puts(hwt_buf *b, const char *s) { hwt_buf_printf(b, "%s", s); }

void hwt_report_human_time(double ns, char *buf, size_t len) {
  if (!(ns >= 0)) snprintf(buf, len, "-");
  else if (ns < 1e3) snprintf(buf, len, "%.1f ns", ns);
  else if (ns < 1e6) snprintf(buf, len, "%.2f us", ns / 1e3);
  else if (ns < 1e9) snprintf(buf, len, "%.2f ms", ns / 1e6);
  else snprintf(buf, len, "%.3f s", ns / 1e9);
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *hwt_bench_result_to_json(const hwt_bench_result *r) {
  const hwt_bench_config *c = &r->config;
  json_t *o = json_object();
  if (o == NULL) return NULL;
  json_object_set_new(o, "name", json_string(r->name));
  json_object_set_new(o, "op", json_string(hwt_bench_op_name(c->op)));
  json_object_set_new(o, "dtype", json_string(hwt_bench_op_is_qs8(c->op) ? "qs8" : "f32"));
  json_object_set_new(o, "impl", json_string(hwt_bench_impl_name(c->impl)));
  json_object_set_new(o, "isa", json_string(r->isa));
  char shape[96];
  hwt_bench_config_shape(c, shape, sizeof(shape));
  json_object_set_new(o, "shape", json_string(shape));
  if (hwt_bench_op_is_sparse(c->op)) {
    json_object_set_new(o, "layer", json_string(c->shape.text));
    json_object_set_new(o, "sparsity", json_real(c->sparsity));
    json_object_set_new(o, "pattern", json_string(c->block ? "block" : "unstructured"));
    json_object_set_new(o, "weight_sparsity", num_or_null(r->weight_sparsity));
    if (r->weight_format[0]) json_object_set_new(o, "weight_format", json_string(r->weight_format));
  }
  json_object_set_new(o, "m", json_integer((json_int_t)r->m));
  json_object_set_new(o, "n", json_integer((json_int_t)r->n));
  json_object_set_new(o, "k", json_integer((json_int_t)r->k));
  if (c->shape.conv) {
    json_t *cv = json_object();
    json_object_set_new(cv, "h", json_integer((json_int_t)c->shape.h));
    json_object_set_new(cv, "w", json_integer((json_int_t)c->shape.w));
    json_object_set_new(cv, "c", json_integer((json_int_t)c->shape.c));
    json_object_set_new(cv, "out_c", json_integer((json_int_t)r->n));
    json_object_set_new(cv, "kh", json_integer((json_int_t)c->shape.kh));
    json_object_set_new(cv, "kw", json_integer((json_int_t)c->shape.kw));
    json_object_set_new(cv, "stride", json_integer((json_int_t)c->shape.stride));
    json_object_set_new(cv, "pad", json_integer((json_int_t)c->shape.pad));
    json_object_set_new(cv, "groups", json_integer((json_int_t)r->groups));
    json_object_set_new(cv, "out_h", json_integer((json_int_t)r->out_h));
    json_object_set_new(cv, "out_w", json_integer((json_int_t)r->out_w));
    json_object_set_new(o, "conv", cv);
  }
  json_object_set_new(o, "threads", json_integer(c->threads));
  json_object_set_new(o, "cache", json_string(c->cold ? "cold" : "warm"));
  if (r->has_blocking) {
    json_t *b = json_object();
    json_object_set_new(b, "mc", json_integer((json_int_t)r->blocking_used.mc));
    json_object_set_new(b, "kc", json_integer((json_int_t)r->blocking_used.kc));
    json_object_set_new(b, "nc", json_integer((json_int_t)r->blocking_used.nc));
    json_object_set_new(o, "blocking", b);
  }
  json_object_set_new(o, "samples", json_integer((json_int_t)r->samples));
  json_object_set_new(o, "iterations_per_sample", json_integer((json_int_t)r->iterations_per_sample));
  json_object_set_new(o, "preempted_dropped", json_integer((json_int_t)r->preempted_dropped));
  json_object_set_new(o, "median_ns", num_or_null(r->median_ns));
  json_object_set_new(o, "mean_ns", num_or_null(r->mean_ns));
  json_object_set_new(o, "stddev_ns", num_or_null(r->stddev_ns));
  json_object_set_new(o, "mad_ns", num_or_null(r->mad_ns));
  json_object_set_new(o, "min_ns", num_or_null(r->min_ns));
  json_object_set_new(o, "max_ns", num_or_null(r->max_ns));
  json_object_set_new(o, "p90_ns", num_or_null(r->p90_ns));
  json_object_set_new(o, "p99_ns", num_or_null(r->p99_ns));
  json_object_set_new(o, "ci_low_ns", num_or_null(r->ci_low_ns));
  json_object_set_new(o, "ci_high_ns", num_or_null(r->ci_high_ns));
  json_object_set_new(o, "cv", num_or_null(r->cv));
  json_object_set_new(o, "flops", json_real(r->flops));
  json_object_set_new(o, "gflops", num_or_null(r->gflops));
  json_object_set_new(o, "pct_peak", r->pct_peak >= 0 ? json_real(r->pct_peak) : json_null());
  json_object_set_new(o, "bytes_moved", json_real(r->bytes_moved));
  json_object_set_new(o, "arithmetic_intensity", num_or_null(r->arithmetic_intensity));
  json_object_set_new(o, "bound", json_string(r->bound[0] ? r->bound : "unknown"));
  json_object_set_new(o, "peak_rss_bytes", json_integer((json_int_t)r->peak_rss_bytes));
  json_object_set_new(o, "op_bytes", json_integer((json_int_t)r->op_bytes));
  json_object_set_new(o, "cold_copies", json_integer(r->cold_copies));
  json_object_set_new(o, "elapsed_s", json_real(r->elapsed_s));
  json_t *w = json_array();
  for (size_t i = 0; i < r->nwarnings; i++) json_array_append_new(w, json_string(r->warnings[i]));
  json_object_set_new(o, "warnings", w);
  json_t *sa = json_array();
  for (size_t i = 0; i < r->samples; i++) json_array_append_new(sa, json_real(r->samples_ns[i]));
  json_object_set_new(o, "samples_ns", sa);
  return o;
}

hwt_status hwt_bench_render(const hwt_bench_doc *doc, hwt_bench_format f, char **text, char *err, size_t errlen) {
  static const hwt_reporter_fn fns[hwt_format_count] = {hwt_report_console, hwt_report_json, hwt_report_csv,
                                                        hwt_report_md, hwt_report_gbench};
  if ((unsigned)f >= hwt_format_count) {
    hwt_errf(err, errlen, "unknown format %d", (int)f);
    return hwt_status_invalid_argument;
  }
  hwt_buf b = {0};
  hwt_buf_puts(&b, "");
  hwt_status st = fns[f](doc, &b, err, errlen);
  if (st == hwt_status_ok && b.failed) {
    hwt_errf(err, errlen, "out of memory rendering %s", hwt_bench_format_name(f));
    st = hwt_status_out_of_memory;
  }
  if (st != hwt_status_ok) {
    free(b.data);
    return st;
  }
  *text = b.data;
  return hwt_status_ok;
}

hwt_status hwt_bench_write(const hwt_bench_doc *doc, hwt_bench_format f, const char *path, char *err,
                           size_t errlen) {
  char *text = NULL;
  hwt_status st = hwt_bench_render(doc, f, &text, err, errlen);
  if (st != hwt_status_ok) return st;
  st = hwt_write_file_atomic(path, text, strlen(text), err, errlen);
  free(text);
  return st;
}
