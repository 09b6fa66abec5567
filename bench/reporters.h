/* SPDX-License-Identifier: Apache-2.0 */
/* Reporters: each format is one file rendering a whole document into a growable text buffer. Internal. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "bench.h"

typedef struct hwt_buf {
  char *data;
  size_t len, cap;
  bool failed;  /* out of memory at some point */
} hwt_buf;

void hwt_buf_printf(hwt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hwt_buf_puts(hwt_buf *b, const char *s);

typedef hwt_status (*hwt_reporter_fn)(const hwt_bench_doc *doc, hwt_buf *out, char *err, size_t errlen);

hwt_status hwt_report_console(const hwt_bench_doc *doc, hwt_buf *out, char *err, size_t errlen);
hwt_status hwt_report_json(const hwt_bench_doc *doc, hwt_buf *out, char *err, size_t errlen);
hwt_status hwt_report_csv(const hwt_bench_doc *doc, hwt_buf *out, char *err, size_t errlen);
hwt_status hwt_report_md(const hwt_bench_doc *doc, hwt_buf *out, char *err, size_t errlen);
hwt_status hwt_report_gbench(const hwt_bench_doc *doc, hwt_buf *out, char *err, size_t errlen);

/* spmm_f32 results side by side per layer with break-even sparsities (console and md); nothing without them. */
void hwt_report_spmm_summary(const hwt_bench_doc *doc, hwt_buf *out);

/* A compact shape/config label for tables: "1024x1024 m64 t1". */
void hwt_report_human_time(double ns, char *buf, size_t len);
