/* SPDX-License-Identifier: Apache-2.0 */
/* spmm_f32's side-by-side summary under the console and Markdown tables: per layer, the four impls at each
 * sparsity, the speed-ups, and the break-even sparsity (interpolated) where the sparse kernel starts to win. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporters.h"

double hwt_bench_spmm_break_even(const double *sparsity, const double *ratio, size_t n, int *where) {
  *where = 0;
  size_t first = n;
  for (size_t i = 0; i < n; i++)
    if (ratio[i] > 0 && isfinite(ratio[i])) {
      first = i;
      break;
    }
  if (first == n) {
    *where = 2;
    return NAN;
  }
  if (ratio[first] <= 1) {
    *where = -1; /* already faster at the lowest sparsity measured */
    return sparsity[first];
  }
  size_t prev = first;
  for (size_t i = first + 1; i < n; i++) {
    if (!(ratio[i] > 0 && isfinite(ratio[i]))) continue;
    if (ratio[i] <= 1) {
      /* Linear between the last point above 1 and the first at or below it. */
      const double t = (ratio[prev] - 1) / (ratio[prev] - ratio[i]);
      return sparsity[prev] + t * (sparsity[i] - sparsity[prev]);
    }
    prev = i;
  }
  *where = 1; /* slower at every sparsity measured */
  return sparsity[prev];
}

enum { I_OWN, I_OWN_DENSE, I_XNN, I_XNN_DENSE, I_COUNT };

static int slot(hwt_bench_impl impl) {
  switch (impl) {
    case hwt_bench_own: return I_OWN;
    case hwt_bench_own_dense: return I_OWN_DENSE;
    case hwt_bench_xnnpack: return I_XNN;
    case hwt_bench_xnnpack_dense: return I_XNN_DENSE;
    default: return -1;
  }
}

static bool same_layer(const hwt_bench_config *a, const hwt_bench_config *b) {
  return strcmp(a->shape.text, b->shape.text) == 0 && a->batch == b->batch && a->threads == b->threads &&
         a->cold == b->cold && a->block == b->block;
}

#define MAX_POINTS 32

static void time_cell(double ns, char *buf, size_t len) {
  if (ns > 0) hwt_report_human_time(ns, buf, len);
  else snprintf(buf, len, "-");
}

static void ratio_cell(double num, double den, char *buf, size_t len) {
  if (num > 0 && den > 0) snprintf(buf, len, "%.2fx", num / den);
  else snprintf(buf, len, "-");
}

static void break_even_text(const double *s, const double (*t)[I_COUNT], size_t n, int sparse, int dense,
                            char *buf, size_t len) {
  double ratio[MAX_POINTS];
  for (size_t i = 0; i < n; i++) {
    double d;
    if (dense == I_COUNT) { /* best dense: the faster of ours and XNNPACK's */
      double a = t[i][I_OWN_DENSE], b = t[i][I_XNN_DENSE];
      d = a > 0 && b > 0 ? fmin(a, b) : a > 0 ? a : b;
    } else {
      d = t[i][dense];
    }
    ratio[i] = t[i][sparse] > 0 && d > 0 ? t[i][sparse] / d : NAN;
  }
  int where;
  double be = hwt_bench_spmm_break_even(s, ratio, n, &where);
  if (where == 2) snprintf(buf, len, "-");
  else if (where < 0) snprintf(buf, len, "<= %.4g%%", 100 * be);
  else if (where > 0) snprintf(buf, len, "> %.4g%%", 100 * be);
  else snprintf(buf, len, "%.1f%%", 100 * be);
}

void hwt_report_spmm_summary(const hwt_bench_doc *doc, hwt_buf *out) {
  bool *done = calloc(doc->count ? doc->count : 1, sizeof(bool));
  if (done == NULL) return;
  bool any = false;
  for (size_t i = 0; i < doc->count; i++) {
    const hwt_bench_config *c = &doc->results[i].config;
    if (done[i] || !hwt_bench_op_is_sparse(c->op)) continue;
    /* One layer: its sparsities ascending, each with the four impls' medians. */
    double s[MAX_POINTS], t[MAX_POINTS][I_COUNT];
    size_t n = 0;
    for (size_t j = i; j < doc->count; j++) {
      const hwt_bench_result *r = &doc->results[j];
      if (!hwt_bench_op_is_sparse(r->config.op) || !same_layer(c, &r->config)) continue;
      done[j] = true;
      const int k = slot(r->config.impl);
      if (k < 0) continue;
      size_t at = 0;
      while (at < n && s[at] < r->config.sparsity) at++;
      if (at == n || s[at] != r->config.sparsity) {
        if (n == MAX_POINTS) continue;
        memmove(&s[at + 1], &s[at], (n - at) * sizeof(s[0]));
        memmove(&t[at + 1], &t[at], (n - at) * sizeof(t[0]));
        s[at] = r->config.sparsity;
        for (int q = 0; q < I_COUNT; q++) t[at][q] = -1;
        n++;
      }
      t[at][k] = r->median_ns;
    }
    if (n == 0) continue;
    if (!any)
      hwt_buf_puts(out, "\nspmm_f32 side by side (times are medians; speed-up = other's time / own sparse time; "
                        "break-even = sparsity where the sparse kernel's time equals the dense one's, linear between "
                        "measured points)\n");
    any = true;
    hwt_buf_printf(out, "\n%s, batch %zu, %u thread%s, %s, %s zeros\n\n", c->shape.text, c->batch, c->threads,
                   c->threads == 1 ? "" : "s", c->cold ? "cold" : "warm", c->block ? "block" : "unstructured");
    hwt_buf_puts(out, "| sparsity | own sparse | own dense | xnnpack sparse | xnnpack dense | own sparse vs own dense "
                      "| own sparse vs xnnpack sparse | own sparse vs best dense |\n"
                      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (size_t z = 0; z < n; z++) {
      char c0[32], c1[32], c2[32], c3[32], r0[16], r1[16], r2[16];
      time_cell(t[z][I_OWN], c0, sizeof c0);
      time_cell(t[z][I_OWN_DENSE], c1, sizeof c1);
      time_cell(t[z][I_XNN], c2, sizeof c2);
      time_cell(t[z][I_XNN_DENSE], c3, sizeof c3);
      ratio_cell(t[z][I_OWN_DENSE], t[z][I_OWN], r0, sizeof r0);
      ratio_cell(t[z][I_XNN], t[z][I_OWN], r1, sizeof r1);
      double a = t[z][I_OWN_DENSE], b = t[z][I_XNN_DENSE];
      ratio_cell(a > 0 && b > 0 ? fmin(a, b) : a > 0 ? a : b, t[z][I_OWN], r2, sizeof r2);
      hwt_buf_printf(out, "| %.4g%% | %s | %s | %s | %s | %s | %s | %s |\n", 100 * s[z], c0, c1, c2, c3, r0, r1, r2);
    }
    char b0[32], b1[32], b2[32];
    break_even_text(s, (const double(*)[I_COUNT])t, n, I_OWN, I_OWN_DENSE, b0, sizeof b0);
    break_even_text(s, (const double(*)[I_COUNT])t, n, I_OWN, I_COUNT, b1, sizeof b1);
    break_even_text(s, (const double(*)[I_COUNT])t, n, I_XNN, I_XNN_DENSE, b2, sizeof b2);
    hwt_buf_printf(out, "\nbreak-even: own sparse vs own dense %s; own sparse vs best dense %s; xnnpack sparse vs "
                        "xnnpack dense %s\n", b0, b1, b2);
  }
  free(done);
}
