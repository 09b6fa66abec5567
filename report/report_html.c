/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune report --format html`: one self-contained page with tables and inline SVG charts (thread scaling,
 * batch scaling, roofline). No script, no external resource, no clock: the same input gives the same bytes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwt_report.h"

/* Okabe-Ito colours (distinguishable with colour-blindness), then a few more; series beyond them get dashes. */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                                      "#56B4E9", "#882255", "#999933", "#000000"};
#define NPALETTE (sizeof palette / sizeof palette[0])
static const char *const dashes[] = {"", "6 3", "2 3", "8 3 2 3"};

#define MAX_SERIES_SHOWN 8  /* more series than this are summarised as geometric means over shapes */
#define MAX_POINTS 64

/* ---- chart primitives --------------------------------------------------------------------------------------- */
typedef enum tick_kind { tick_number = 0, tick_time_ns, tick_integer } tick_kind;

typedef struct axis {
  double lo, hi;
  bool log;
  const char *label;
  tick_kind kind;
  const double *fixed;  /* tick positions given by the data (batch sizes), else computed */
  size_t nfixed;
} axis;

typedef struct chart {
  hwt_sb *out;
  double w, h;
  double x0, x1, y0, y1;  /* plot area in pixels */
  axis x, y;
  int id;
  size_t nlegend, legend_cols;
  double legend_top, legend_colw;
} chart;

static double axis_t(const axis *a, double v) {
  if (a->log) return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
  return (v - a->lo) / (a->hi - a->lo);
}
static double px(const chart *c, double v) { return c->x0 + axis_t(&c->x, v) * (c->x1 - c->x0); }
static double py(const chart *c, double v) { return c->y1 - axis_t(&c->y, v) * (c->y1 - c->y0); }

static void tick_text(const axis *a, double v, char *buf, size_t len) {
  if (a->kind == tick_time_ns) {
    const char *unit = "ns";
    double s = v;
    if (v >= 1e9) s = v / 1e9, unit = "s";
    else if (v >= 1e6) s = v / 1e6, unit = "ms";
    else if (v >= 1e3) s = v / 1e3, unit = "\xC2\xB5s";
    snprintf(buf, len, "%g %s", s, unit);
  } else if (a->kind == tick_integer) {
    snprintf(buf, len, "%.0f", v);
  } else {
    snprintf(buf, len, "%g", v);
  }
}

static size_t make_ticks(const axis *a, double *t, size_t cap) {
  size_t n = 0;
  if (a->nfixed) {
    for (size_t i = 0; i < a->nfixed && n < cap; i++)
      if (a->fixed[i] >= a->lo * (1 - 1e-9) && a->fixed[i] <= a->hi * (1 + 1e-9)) t[n++] = a->fixed[i];
    return n;
  }
  if (a->log) {
    double d = log10(a->hi) - log10(a->lo);
    static const double m125[] = {1, 2, 5}, m1[] = {1};
    const double *mult = d <= 2.5 ? m125 : m1;
    size_t nm = d <= 2.5 ? 3 : 1;
    int step = d > 8 ? 2 : 1;
    for (int e = (int)floor(log10(a->lo)); e <= (int)ceil(log10(a->hi)); e += step)
      for (size_t k = 0; k < nm && n < cap; k++) {
        double v = mult[k] * pow(10, e);
        if (v >= a->lo * (1 - 1e-9) && v <= a->hi * (1 + 1e-9)) t[n++] = v;
      }
    return n;
  }
  double raw = (a->hi - a->lo) / 6, mag = pow(10, floor(log10(raw))), step = mag;
  if (raw / mag > 5) step = 10 * mag;
  else if (raw / mag > 2) step = 5 * mag;
  else if (raw / mag > 1) step = 2 * mag;
  if (a->kind == tick_integer && step < 1) step = 1;
  for (double v = ceil(a->lo / step) * step; v <= a->hi + step * 1e-9 && n < cap; v += step)
    t[n++] = fabs(v) < step * 1e-9 ? 0 : v;
  return n;
}

/* Opens an <svg> with title, grid, ticks, axis labels and a clip path for the plot area; nlegend entries are laid
 * out below the x axis in two columns. */
static void chart_open(chart *c, hwt_sb *out, int id, double w, const char *title, const char *subtitle,
                       size_t nlegend, size_t maxchars) {
  c->out = out;
  c->id = id;
  c->w = w;
  c->x0 = 78;
  c->x1 = w - 18;
  c->y0 = subtitle ? 50 : 36;
  c->y1 = c->y0 + 290;
  c->nlegend = nlegend;
  /* as many legend columns as the longest label allows (about 6.3 px per character at 11 px) */
  if (maxchars > 60) maxchars = 60;
  double colw = (double)maxchars * 6.3 + 44;
  c->legend_cols = (size_t)floor((c->x1 - c->x0 + 60) / colw);
  if (c->legend_cols < 1) c->legend_cols = 1;
  if (c->legend_cols > 4) c->legend_cols = 4;
  c->legend_colw = (c->x1 - c->x0 + 60) / (double)c->legend_cols;
  c->legend_top = c->y1 + 62;
  c->h = c->legend_top + (double)((nlegend + c->legend_cols - 1) / c->legend_cols) * 18 + 8;
  hwt_sb_printf(out, "<svg class=\"chart\" width=\"%.0f\" height=\"%.0f\" "
                     "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-labelledby=\"chart%d-title\">\n",
                c->w, c->h, c->w, c->h, id);
  hwt_sb_printf(out, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", c->w, c->h);
  hwt_sb_printf(out, "<text id=\"chart%d-title\" x=\"%.1f\" y=\"20\" class=\"title\">", id, c->x0 - 60);
  hwt_sb_html(out, title);
  hwt_sb_puts(out, "</text>\n");
  if (subtitle) {
    hwt_sb_printf(out, "<text x=\"%.1f\" y=\"37\" class=\"subtitle\">", c->x0 - 60);
    hwt_sb_html(out, subtitle);
    hwt_sb_puts(out, "</text>\n");
  }
  hwt_sb_printf(out, "<defs><clipPath id=\"clip%d\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
                     "</clipPath></defs>\n",
                id, c->x0, c->y0, c->x1 - c->x0, c->y1 - c->y0);
  double t[64];
  char lab[48];
  size_t n = make_ticks(&c->x, t, 64);
  hwt_sb_puts(out, "<g class=\"grid\">\n");
  for (size_t i = 0; i < n; i++) {
    double x = px(c, t[i]);
    hwt_sb_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, c->y0, x, c->y1);
  }
  size_t ny;
  double ty[64];
  ny = make_ticks(&c->y, ty, 64);
  for (size_t i = 0; i < ny; i++) {
    double y = py(c, ty[i]);
    hwt_sb_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", c->x0, y, c->x1, y);
  }
  hwt_sb_puts(out, "</g>\n<g class=\"axis\">\n");
  hwt_sb_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\"/>\n", c->x0, c->y0,
                c->x1 - c->x0, c->y1 - c->y0);
  for (size_t i = 0; i < n; i++) {
    double x = px(c, t[i]);
    tick_text(&c->x, t[i], lab, sizeof lab);
    hwt_sb_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, c->y1, x, c->y1 + 5);
    hwt_sb_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, c->y1 + 18, lab);
  }
  for (size_t i = 0; i < ny; i++) {
    double y = py(c, ty[i]);
    tick_text(&c->y, ty[i], lab, sizeof lab);
    hwt_sb_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", c->x0 - 5, y, c->x0, y);
    hwt_sb_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", c->x0 - 8, y + 4, lab);
  }
  hwt_sb_printf(out, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (c->x0 + c->x1) / 2,
                c->y1 + 40);
  hwt_sb_html(out, c->x.label);
  hwt_sb_printf(out, "</text>\n<text class=\"label\" transform=\"translate(16 %.1f) rotate(-90)\" "
                     "text-anchor=\"middle\">",
                (c->y0 + c->y1) / 2);
  hwt_sb_html(out, c->y.label);
  hwt_sb_puts(out, "</text>\n</g>\n");
}

static void chart_close(chart *c) { hwt_sb_puts(c->out, "</svg>\n"); }

typedef enum marker { marker_none = 0, marker_dot, marker_ring, marker_square } marker;

static void draw_marker(hwt_sb *out, marker mk, double x, double y, const char *color) {
  switch (mk) {
    case marker_dot: hwt_sb_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>", x, y, color); break;
    case marker_ring:
      hwt_sb_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#fff\" stroke=\"%s\" stroke-width=\"2\"/>",
                    x, y, color);
      break;
    case marker_square:
      hwt_sb_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\" fill=\"%s\"/>", x - 4, y - 4, color);
      break;
    default: break;
  }
}

/* Legend entry i: a line sample (when dash != NULL) and/or a marker, then the label. */
static void chart_legend(chart *c, size_t i, const char *label, const char *color, const char *dash, marker mk) {
  double x = c->x0 - 60 + (double)(i % c->legend_cols) * c->legend_colw;
  double y = c->legend_top + (double)(i / c->legend_cols) * 18;
  hwt_sb *out = c->out;
  hwt_sb_puts(out, "<g class=\"legend\">");
  if (dash)
    hwt_sb_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s%s%s/>",
                  x, y - 4, x + 24, y - 4, color, *dash ? " stroke-dasharray=\"" : "", dash, *dash ? "\"" : "");
  draw_marker(out, mk, x + 12, y - 4, color);
  char shown[64];
  snprintf(shown, sizeof shown, "%s", label);
  if (strlen(label) >= sizeof shown) strcpy(shown + sizeof shown - 4, "...");
  hwt_sb_printf(out, "<text x=\"%.1f\" y=\"%.1f\">", x + 30, y);
  hwt_sb_html(out, shown);
  hwt_sb_puts(out, "</text></g>\n");
}

/* ---- series ------------------------------------------------------------------------------------------------- */
typedef struct series {
  char key[256];     /* grouping key */
  char label[160];
  double x[MAX_POINTS], y[MAX_POINTS], y2[MAX_POINTS];
  size_t n;
  size_t nshapes;    /* > 1 when a geometric mean over shapes */
} series;

typedef struct series_set {
  series *s;
  size_t n, cap;
  size_t *slots;  /* open-addressing hash of the keys: index + 1, 0 = empty; nslots is a power of two */
  size_t nslots;
} series_set;

static uint64_t key_hash(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 0x100000001b3ull;
  }
  return h;
}

/* Rebuilds the hash for set->n series in at least `want` slots; false when out of memory. */
static bool set_rehash(series_set *set, size_t want) {
  size_t nslots = 64;
  while (nslots < want) nslots *= 2;
  size_t *slots = calloc(nslots, sizeof *slots);
  if (slots == NULL) return false;
  for (size_t i = 0; i < set->n; i++) {
    size_t h = (size_t)key_hash(set->s[i].key) & (nslots - 1);
    while (slots[h]) h = (h + 1) & (nslots - 1);
    slots[h] = i + 1;
  }
  free(set->slots);
  set->slots = slots;
  set->nslots = nslots;
  return true;
}

/* The series with this key, added (empty) when new; series stay in order of first appearance. */
static series *set_find(series_set *set, const char *key) {
  if (set->nslots < 2 * (set->n + 1) && !set_rehash(set, 4 * (set->n + 1))) return NULL;
  size_t h = (size_t)key_hash(key) & (set->nslots - 1);
  for (; set->slots[h]; h = (h + 1) & (set->nslots - 1))
    if (strcmp(set->s[set->slots[h] - 1].key, key) == 0) return &set->s[set->slots[h] - 1];
  if (set->n == set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 16;
    series *p = realloc(set->s, cap * sizeof *p);
    if (p == NULL) return NULL;
    set->s = p;
    set->cap = cap;
  }
  series *s = &set->s[set->n++];
  memset(s, 0, sizeof *s);
  snprintf(s->key, sizeof s->key, "%s", key);
  s->nshapes = 1;
  set->slots[h] = set->n;
  return s;
}

static void series_add(series *s, double x, double y, double y2) {
  if (s == NULL || s->n == MAX_POINTS) return;
  size_t i = s->n++;
  while (i > 0 && s->x[i - 1] > x) {
    s->x[i] = s->x[i - 1];
    s->y[i] = s->y[i - 1];
    s->y2[i] = s->y2[i - 1];
    i--;
  }
  s->x[i] = x;
  s->y[i] = y;
  s->y2[i] = y2;
}

static void set_free(series_set *set) {
  free(set->s);
  free(set->slots);
  memset(set, 0, sizeof *set);
}

/* Drops series with fewer than two points (the hash is dropped too: no lookups follow). */
static void set_keep_lines(series_set *set) {
  size_t k = 0;
  for (size_t i = 0; i < set->n; i++)
    if (set->s[i].n >= 2) set->s[k++] = set->s[i];
  set->n = k;
  free(set->slots);
  set->slots = NULL;
  set->nslots = 0;
}

/* Keeps series with at least two points; when more than MAX_SERIES_SHOWN remain, replaces them by geometric means
 * over shapes (group key = key with the shape removed, given by agg_key()). */
static void set_finish(series_set *set, void (*agg_key)(const series *, char *, size_t, char *, size_t)) {
  set_keep_lines(set);
  if (set->n <= MAX_SERIES_SHOWN || agg_key == NULL) return;
  series_set agg = {0};
  for (size_t i = 0; i < set->n; i++) {
    char key[256], label[160];
    agg_key(&set->s[i], key, sizeof key, label, sizeof label);
    series *a = set_find(&agg, key);
    if (a == NULL) break;
    if (a->n == 0 && a->nshapes == 1 && a->label[0] == '\0') {
      /* first member: copy its points in log space */
      snprintf(a->label, sizeof a->label, "%s", label);
      a->n = set->s[i].n;
      for (size_t p = 0; p < a->n; p++) {
        a->x[p] = set->s[i].x[p];
        a->y[p] = log(set->s[i].y[p]);
        a->y2[p] = log(set->s[i].y2[p]);
      }
      continue;
    }
    /* keep only x values every member has */
    size_t q = 0;
    for (size_t p = 0; p < a->n; p++) {
      size_t j = 0;
      while (j < set->s[i].n && set->s[i].x[j] != a->x[p]) j++;
      if (j == set->s[i].n) continue;
      a->x[q] = a->x[p];
      a->y[q] = a->y[p] + log(set->s[i].y[j]);
      a->y2[q] = a->y2[p] + log(set->s[i].y2[j]);
      q++;
    }
    a->n = q;
    a->nshapes++;
  }
  for (size_t i = 0; i < agg.n; i++) {
    series *a = &agg.s[i];
    for (size_t p = 0; p < a->n; p++) {
      a->y[p] = exp(a->y[p] / (double)a->nshapes);
      a->y2[p] = exp(a->y2[p] / (double)a->nshapes);
    }
    size_t len = strlen(a->label);
    if (a->nshapes > 1) snprintf(a->label + len, sizeof a->label - len, ", geomean of %zu shapes", a->nshapes);
  }
  set_free(set);
  *set = agg;
  set_keep_lines(set);
}

static void draw_series(chart *c, const series *s, size_t idx, bool second, const char *tip_unit) {
  const char *color = palette[idx % NPALETTE];
  const char *dash = dashes[(idx / NPALETTE) % 4];
  hwt_sb *out = c->out;
  hwt_sb_printf(out, "<g class=\"series\" clip-path=\"url(#clip%d)\"><polyline fill=\"none\" stroke=\"%s\" "
                     "stroke-width=\"2\"%s%s%s points=\"",
                c->id, color, *dash ? " stroke-dasharray=\"" : "", dash, *dash ? "\"" : "");
  for (size_t p = 0; p < s->n; p++)
    hwt_sb_printf(out, "%s%.1f,%.1f", p ? " " : "", px(c, s->x[p]), py(c, second ? s->y2[p] : s->y[p]));
  hwt_sb_puts(out, "\"/>");
  for (size_t p = 0; p < s->n; p++) {
    double y = second ? s->y2[p] : s->y[p];
    hwt_sb_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>", px(c, s->x[p]), py(c, y),
                  color);
    hwt_sb_html(out, s->label);
    hwt_sb_printf(out, ": x=%g, %.4g %s</title></circle>", s->x[p], y, tip_unit);
  }
  hwt_sb_puts(out, "</g>\n");
  chart_legend(c, idx, s->label, color, dash, marker_dot);
}

static size_t max_label(const series_set *set, size_t at_least) {
  size_t m = at_least;
  for (size_t i = 0; i < set->n; i++)
    if (strlen(set->s[i].label) > m) m = strlen(set->s[i].label);
  return m;
}

static void range_of(const series_set *set, bool xaxis, bool second, double *lo, double *hi) {
  *lo = INFINITY;
  *hi = -INFINITY;
  for (size_t i = 0; i < set->n; i++)
    for (size_t p = 0; p < set->s[i].n; p++) {
      double v = xaxis ? set->s[i].x[p] : (second ? set->s[i].y2[p] : set->s[i].y[p]);
      if (!isfinite(v)) continue;
      if (v < *lo) *lo = v;
      if (v > *hi) *hi = v;
    }
}

/* Widens [lo, hi] to whole decades' 1-2-5 steps on a log axis, with a margin. */
static void log_pad(double *lo, double *hi) {
  if (!(*lo > 0)) *lo = *hi > 0 ? *hi / 10 : 1;
  if (!(*hi > *lo)) *hi = *lo * 10;
  *lo /= 1.5;
  *hi *= 1.5;
}

/* ---- thread scaling ----------------------------------------------------------------------------------------- */
static void agg_without_shape_threads(const series *s, char *key, size_t klen, char *label, size_t llen) {
  /* key: impl/isa/shape/m/cache -> impl/isa/m/cache */
  char impl[64] = "", isa[64] = "", m[32] = "", cache[32] = "";
  sscanf(s->key, "%63[^|]|%63[^|]|%*[^|]|%31[^|]|%31s", impl, isa, m, cache);
  snprintf(key, klen, "%s|%s|%s|%s", impl, isa, m, cache);
  snprintf(label, llen, "%s %s batch %s %s", impl, isa, m, cache);
}

static void agg_without_shape_batch(const series *s, char *key, size_t klen, char *label, size_t llen) {
  char impl[64] = "", isa[64] = "", t[32] = "", cache[32] = "";
  sscanf(s->key, "%63[^|]|%63[^|]|%*[^|]|%31[^|]|%31s", impl, isa, t, cache);
  snprintf(key, klen, "%s|%s|%s|%s", impl, isa, t, cache);
  snprintf(label, llen, "%s %s %s thread(s) %s", impl, isa, t, cache);
}

/* What a result and its 1-thread counterpart share (op, impl, isa, shape, batch, cache). */
static int cmp_series_fields(const hwt_result *p, const hwt_result *q) {
  int c;
  if ((c = strcmp(p->op, q->op)) != 0) return c;
  if ((c = strcmp(p->impl, q->impl)) != 0) return c;
  if ((c = strcmp(p->isa, q->isa)) != 0) return c;
  if ((c = strcmp(p->shape, q->shape)) != 0) return c;
  if (p->m != q->m) return p->m < q->m ? -1 : 1;
  return strcmp(p->cache, q->cache);
}

typedef struct one_entry {
  const hwt_result *r;
  size_t pos;
} one_entry;

static int one_key_cmp(const void *elem, const void *key) {
  return cmp_series_fields(((const one_entry *) elem)->r, key);
}

static int cmp_one_entry(const void *x, const void *y) {
  const one_entry *a = x, *b = y;
  int c = cmp_series_fields(a->r, b->r);
  if (c) return c;
  return a->pos < b->pos ? -1 : (a->pos > b->pos);
}

static int thread_chart(const hwt_machine *m, const char *op, int id, hwt_sb *out) {
  series_set set = {0};
  /* the 1-thread results of this op by (fields, position): the first in the report's order is the reference */
  one_entry *ones = malloc((m->nresults ? m->nresults : 1) * sizeof *ones);
  size_t nones = 0;
  if (ones == NULL) {
    out->oom = true;
    return 0;
  }
  for (size_t j = 0; j < m->nresults; j++)
    if (m->results[j]->threads == 1 && strcmp(m->results[j]->op, op) == 0) ones[nones++] = (one_entry){m->results[j], j};
  if (nones > 1) qsort(ones, nones, sizeof *ones, cmp_one_entry);
  /* series per (impl, isa, shape, batch, cache); speed-up against the same series at 1 thread */
  for (size_t i = 0; i < m->nresults; i++) {
    const hwt_result *r = m->results[i];
    if (strcmp(r->op, op) != 0) continue;
    char key[256];
    snprintf(key, sizeof key, "%s|%s|%s|%lld|%s", r->impl, r->isa, r->shape, r->m, r->cache);
    size_t lo = hwt_lower_bound(ones, nones, sizeof *ones, r, one_key_cmp);
    const hwt_result *one = lo < nones && cmp_series_fields(ones[lo].r, r) == 0 ? ones[lo].r : NULL;
    if (one == NULL) continue;
    series *s = set_find(&set, key);
    if (s == NULL) break;
    if (s->label[0] == '\0')
      snprintf(s->label, sizeof s->label, "%s %s %s batch %lld %s", r->impl, r->isa, r->shape, r->m, r->cache);
    series_add(s, (double)r->threads, one->median_ns / r->median_ns, r->median_ns);
  }
  free(ones);
  set_finish(&set, agg_without_shape_threads);
  if (set.n == 0) {
    set_free(&set);
    return 0;
  }
  double xlo, xhi, ylo, yhi;
  range_of(&set, true, false, &xlo, &xhi);
  range_of(&set, false, false, &ylo, &yhi);
  chart c;
  double ints[16];
  c.x = (axis){1, xhi, false, "threads (pool size, including the caller)", tick_integer, NULL, 0};
  if (xhi <= 16) {
    for (int i = 0; i < 16; i++) ints[i] = i + 1;
    c.x.fixed = ints;
    c.x.nfixed = (size_t)xhi;
  }
  double top = fmax(xhi, yhi) * 1.08;
  c.y = (axis){0, top, false, "speed-up vs 1 thread (\xC3\x97)", tick_number, NULL, 0};
  char title[128];
  snprintf(title, sizeof title, "%s: thread scaling", op);
  chart_open(&c, out, id, 560, title, "median time at 1 thread / median time at t threads; dashed: ideal",
             set.n + 1, max_label(&set, 22));
  hwt_sb_printf(out, "<g clip-path=\"url(#clip%d)\"><line class=\"ideal\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                     "y2=\"%.1f\"/></g>\n",
                id, px(&c, 1), py(&c, 1), px(&c, xhi), py(&c, xhi));
  chart_legend(&c, 0, "ideal (linear) scaling", "#777", "5 4", marker_none);
  for (size_t i = 0; i < set.n; i++) {
    /* legend slot 0 is the ideal line */
    series tmp = set.s[i];
    const char *color = palette[i % NPALETTE];
    const char *dash = dashes[(i / NPALETTE) % 4];
    hwt_sb_printf(out, "<g class=\"series\" clip-path=\"url(#clip%d)\"><polyline fill=\"none\" stroke=\"%s\" "
                       "stroke-width=\"2\"%s%s%s points=\"",
                  id, color, *dash ? " stroke-dasharray=\"" : "", dash, *dash ? "\"" : "");
    for (size_t p = 0; p < tmp.n; p++)
      hwt_sb_printf(out, "%s%.1f,%.1f", p ? " " : "", px(&c, tmp.x[p]), py(&c, tmp.y[p]));
    hwt_sb_puts(out, "\"/>");
    for (size_t p = 0; p < tmp.n; p++) {
      hwt_sb_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>", px(&c, tmp.x[p]),
                    py(&c, tmp.y[p]), color);
      hwt_sb_html(out, tmp.label);
      char t[32];
      hwt_fmt_time(tmp.y2[p], t, sizeof t);
      hwt_sb_printf(out, ": %g threads, speed-up %.2fx, median %s</title></circle>", tmp.x[p], tmp.y[p], t);
    }
    hwt_sb_puts(out, "</g>\n");
    chart_legend(&c, i + 1, tmp.label, color, dash, marker_dot);
  }
  chart_close(&c);
  set_free(&set);
  return 1;
}

/* ---- batch scaling ------------------------------------------------------------------------------------------ */
static int batch_charts(const hwt_machine *m, const char *op, int id, hwt_sb *out) {
  series_set set = {0};
  for (size_t i = 0; i < m->nresults; i++) {
    const hwt_result *r = m->results[i];
    if (strcmp(r->op, op) != 0 || !(r->gflops > 0)) continue;
    char key[256];
    snprintf(key, sizeof key, "%s|%s|%s|%lld|%s", r->impl, r->isa, r->shape, r->threads, r->cache);
    series *s = set_find(&set, key);
    if (s == NULL) break;
    if (s->label[0] == '\0')
      snprintf(s->label, sizeof s->label, "%s %s %s %lld thread(s) %s", r->impl, r->isa, r->shape, r->threads,
               r->cache);
    series_add(s, (double)r->m, r->median_ns, r->gflops);
  }
  set_finish(&set, agg_without_shape_batch);
  if (set.n == 0) {
    set_free(&set);
    return 0;
  }
  double batches[MAX_POINTS];
  size_t nb = 0;
  for (size_t i = 0; i < set.n; i++)
    for (size_t p = 0; p < set.s[i].n; p++) {
      size_t j = 0;
      while (j < nb && batches[j] != set.s[i].x[p]) j++;
      if (j == nb && nb < MAX_POINTS) {
        size_t k = nb++;
        while (k > 0 && batches[k - 1] > set.s[i].x[p]) {
          batches[k] = batches[k - 1];
          k--;
        }
        batches[k] = set.s[i].x[p];
      }
    }
  double xlo, xhi, ylo, yhi, glo, ghi;
  range_of(&set, true, false, &xlo, &xhi);
  range_of(&set, false, false, &ylo, &yhi);
  range_of(&set, false, true, &glo, &ghi);
  const char *unit = strstr(op, "qs8") ? "GOP/s" : "GFLOP/s";
  for (int which = 0; which < 2; which++) {
    chart c;
    c.x = (axis){xlo / 1.25, xhi * 1.25, true, "batch (rows of A / images), log scale", tick_integer, batches, nb};
    char title[128], ylabel[64];
    if (which == 0) {
      double lo = ylo, hi = yhi;
      log_pad(&lo, &hi);
      c.y = (axis){lo, hi, true, "latency per call (median), log scale", tick_time_ns, NULL, 0};
      snprintf(title, sizeof title, "%s: batch scaling, latency", op);
    } else {
      snprintf(ylabel, sizeof ylabel, "throughput (%s)", unit);
      c.y = (axis){0, ghi * 1.1, false, ylabel, tick_number, NULL, 0};
      snprintf(title, sizeof title, "%s: batch scaling, throughput", op);
    }
    chart_open(&c, out, id + which, 560, title, which == 0 ? "lower is better" : "higher is better", set.n,
               max_label(&set, 10));
    for (size_t i = 0; i < set.n; i++) draw_series(&c, &set.s[i], i, which == 1, which == 0 ? "ns" : unit);
    chart_close(&c);
  }
  set_free(&set);
  return 2;
}

/* ---- roofline ----------------------------------------------------------------------------------------------- */
static int roofline_chart(const hwt_machine *m, long long threads, bool all, int id, hwt_sb *out) {
  const json_t *ctx = m->file->context;
  double usable = hwt_ctx_num(ctx, "usable.cpus");
  double scale = 1;
  if (all && isfinite(usable) && usable > 0 && threads < usable) scale = (double)threads / usable;
  /* ceilings */
  typedef struct ceiling {
    char label[64];
    double v;
    bool int8;
  } ceiling;
  ceiling ceil_c[24];
  size_t nc = 0;
  json_t *peak = hwt_ctx_get(ctx, "peak");
  for (int int8 = 0; int8 < 2 && json_is_object(peak); int8++) {
    json_t *g = json_object_get(peak, int8 ? "int8" : "fp32");
    if (!json_is_object(g)) continue;
    const char *key;
    json_t *v;
    json_object_foreach(g, key, v) {
      double p = hwt_ctx_peak(ctx, int8, key, all) * scale;
      if (!(p > 0) || nc == 24) continue;
      ceiling *c = &ceil_c[nc++];
      snprintf(c->label, sizeof c->label, "%s %s peak %.0f %s", int8 ? "int8" : "fp32", key, p,
               int8 ? "GOP/s" : "GFLOP/s");
      c->v = p;
      c->int8 = int8;
    }
  }
  static const char *const levels[] = {"l1", "l2", "l3", "dram"};
  static const char *const level_names[] = {"L1", "L2", "L3", "DRAM"};
  double bw[4];
  for (int i = 0; i < 4; i++) {
    bw[i] = hwt_ctx_bandwidth(ctx, levels[i], all);
    if (all && !(bw[i] > 0)) bw[i] = NAN;
  }
  /* points */
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  size_t npts = 0;
  const char *ops[8];
  size_t nops = 0;
  bool impls[3] = {false, false, false};
  for (size_t i = 0; i < m->nresults; i++) {
    const hwt_result *r = m->results[i];
    if (r->threads != threads || !(r->ai > 0) || !(r->gflops > 0)) continue;
    npts++;
    xlo = fmin(xlo, r->ai);
    xhi = fmax(xhi, r->ai);
    ylo = fmin(ylo, r->gflops);
    yhi = fmax(yhi, r->gflops);
    size_t j = 0;
    while (j < nops && strcmp(ops[j], r->op) != 0) j++;
    if (j == nops && nops < 8) ops[nops++] = r->op;
    impls[strcmp(r->impl, "xnnpack") == 0 ? 0 : strcmp(r->impl, "own") == 0 ? 1 : 2] = true;
  }
  if (npts == 0) return 0;
  double pmax = 0;
  for (size_t i = 0; i < nc; i++) pmax = fmax(pmax, ceil_c[i].v);
  for (size_t i = 0; i < nc; i++) yhi = fmax(yhi, ceil_c[i].v);
  /* show each bandwidth roof up to where it meets the highest compute roof */
  for (int i = 0; i < 4; i++)
    if (bw[i] > 0 && pmax > 0) {
      xlo = fmin(xlo, pmax / bw[i] / 20);
      xhi = fmax(xhi, pmax / bw[i] * 2);
    }
  log_pad(&xlo, &xhi);
  for (int i = 0; i < 4; i++)
    if (bw[i] > 0) ylo = fmin(ylo, bw[i] * xlo);
  log_pad(&ylo, &yhi);
  ylo = fmax(ylo, yhi / 1e6);
  size_t nlegend = nops + (impls[0] + impls[1] + impls[2]) + nc + 4;
  chart c;
  c.x = (axis){xlo, xhi, true, "arithmetic intensity (FLOP/byte; OP/byte for int8), log scale", tick_number, NULL, 0};
  c.y = (axis){ylo, yhi, true, "GFLOP/s (GOP/s for int8), log scale", tick_number, NULL, 0};
  char title[128], sub[160];
  snprintf(title, sizeof title, "Roofline, %lld thread(s)", threads);
  snprintf(sub, sizeof sub, "ceilings: detect's measured peaks (%s) and read bandwidth per level; points: results",
           all ? (scale < 1 ? "all-CPU figure scaled to these threads" : "all usable CPUs") : "one core");
  chart_open(&c, out, id, 1120, title, sub, nlegend, 42);
  size_t li = 0;
  hwt_sb_printf(out, "<g clip-path=\"url(#clip%d)\">\n", id);
  /* Labels of ceilings drawn highest first; a label that would overlap the one above moves down a line. */
  for (size_t i = 1; i < nc; i++)
    for (size_t j = i; j > 0 && ceil_c[j].v > ceil_c[j - 1].v; j--) {
      ceiling t = ceil_c[j];
      ceil_c[j] = ceil_c[j - 1];
      ceil_c[j - 1] = t;
    }
  /* Each label sits on its own line at the right end; when it would overlap the label above (lines closer than
   * a text line), it moves left of that label instead (text width estimated at 5.8 px per character). */
  double last_y = -1e9, last_left = c.x1;
  for (size_t i = 0; i < nc; i++) {
    double y = py(&c, ceil_c[i].v);
    hwt_sb_printf(out, "<line class=\"ceiling\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"%s/>", c.x0, y, c.x1, y,
                  ceil_c[i].int8 ? " stroke-dasharray=\"6 3\"" : "");
    double right = c.x1 - 4;
    if (y - last_y < 15) right = last_left - 14;
    if (right < c.x0 + 200) right = c.x1 - 4; /* no room left: back to the right end */
    last_y = y;
    last_left = right - 5.8 * (double)strlen(ceil_c[i].label);
    hwt_sb_printf(out, "<text class=\"ceiling-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", right, y - 4);
    hwt_sb_html(out, ceil_c[i].label);
    hwt_sb_puts(out, "</text>\n");
  }
  for (int i = 0; i < 4; i++) {
    if (!(bw[i] > 0)) continue;
    double xa = xlo, xb = pmax > 0 ? pmax / bw[i] : xhi;
    if (xb > xhi) xb = xhi;
    hwt_sb_printf(out, "<line class=\"bw bw%d\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", i, px(&c, xa),
                  py(&c, bw[i] * xa), px(&c, xb), py(&c, bw[i] * xb));
    /* label a little right of the left edge, on the line */
    double xl = xa * pow(xb / xa, 0.08 + 0.06 * i);
    hwt_sb_printf(out, "<text class=\"ceiling-label\" x=\"%.1f\" y=\"%.1f\">%s %.0f GB/s</text>\n", px(&c, xl) + 4,
                  py(&c, bw[i] * xl) - 4, level_names[i], bw[i]);
  }
  for (size_t i = 0; i < m->nresults; i++) {
    const hwt_result *r = m->results[i];
    if (r->threads != threads || !(r->ai > 0) || !(r->gflops > 0)) continue;
    size_t oi = 0;
    while (oi < nops && strcmp(ops[oi], r->op) != 0) oi++;
    marker mk = strcmp(r->impl, "xnnpack") == 0 ? marker_ring : strcmp(r->impl, "own") == 0 ? marker_dot : marker_square;
    hwt_sb_puts(out, "<g class=\"point\">");
    draw_marker(out, mk, px(&c, r->ai), py(&c, r->gflops), palette[oi % NPALETTE]);
    char k[256], t[32], pp[32];
    hwt_result_key(r, k, sizeof k);
    hwt_fmt_time(r->median_ns, t, sizeof t);
    hwt_fmt_num(r->pct_peak, 3, pp, sizeof pp);
    hwt_sb_puts(out, "<title>");
    hwt_sb_html(out, k);
    hwt_sb_printf(out, ": %.3g GFLOP/s, %.3g FLOP/B, median %s, %s%% of peak, %s-bound", r->gflops, r->ai, t, pp,
                  r->bound[0] ? r->bound : "?");
    if (r->warnings && json_array_size(r->warnings) > 0) {
      size_t wi;
      json_t *e;
      hwt_sb_puts(out, "; bench warnings:");
      json_array_foreach(r->warnings, wi, e) {
        if (!json_is_string(e)) continue;
        hwt_sb_puts(out, " ");
        hwt_sb_html(out, json_string_value(e));
      }
    }
    hwt_sb_puts(out, "</title></g>\n");
  }
  hwt_sb_puts(out, "</g>\n");
  for (size_t i = 0; i < nops; i++) chart_legend(&c, li++, ops[i], palette[i % NPALETTE], NULL, marker_dot);
  if (impls[0]) chart_legend(&c, li++, "xnnpack (ring)", "#444", NULL, marker_ring);
  if (impls[1]) chart_legend(&c, li++, "own kernels (dot)", "#444", NULL, marker_dot);
  if (impls[2]) chart_legend(&c, li++, "reference (square)", "#444", NULL, marker_square);
  if (nc) chart_legend(&c, li++, "compute ceiling: fp32 solid, int8 dashed", "#333", "", marker_none);
  for (int i = 0; i < 4; i++)
    if (bw[i] > 0) {
      char lab[64];
      snprintf(lab, sizeof lab, "%s bandwidth roof", level_names[i]);
      static const char *const bwc[] = {"#8c6d31", "#bd9e39", "#7b4173", "#843c39"};
      chart_legend(&c, li++, lab, bwc[i], "", marker_none);
    }
  if (nc == 0 && !(bw[0] > 0 || bw[1] > 0 || bw[2] > 0 || bw[3] > 0))
    chart_legend(&c, li++, "no measured peak or bandwidth in the file (bench --no-peaks?)", "#999", NULL, marker_none);
  chart_close(&c);
  return 1;
}

/* ---- page --------------------------------------------------------------------------------------------------- */
static const char css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:24px auto;"
    "max-width:1160px;color:#222;padding:0 12px}\n"
    "h1{font-size:26px}h2{font-size:21px;margin-top:36px;border-bottom:1px solid #ccc}h3{font-size:17px;"
    "margin-top:26px}\n"
    "table{border-collapse:collapse;font-size:13px;margin:8px 0 16px}th,td{border:1px solid #ddd;padding:3px 8px}"
    "th{background:#f3f3f3;text-align:left;white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "table.env td:first-child{font-weight:600;white-space:nowrap;vertical-align:top}table.env td{max-width:900px}\n"
    "td.fast{color:#006d2c;font-weight:600}td.slow{color:#b2182b;font-weight:600}\n"
    "code{font-size:12px;background:#f6f6f6;padding:1px 3px;word-break:break-all}\n"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}svg.chart{border:1px solid #e3e3e3;background:#fff}\n"
    "svg text{font-family:inherit;font-size:11px;fill:#333}svg text.title{font-size:14px;font-weight:600}"
    "svg text.subtitle{fill:#666}\n"
    "svg text.label{font-size:12px;fill:#222}svg .grid line{stroke:#eee}svg .axis line,svg .axis rect{stroke:#555}\n"
    "svg line.ideal{stroke:#777;stroke-width:1.5;stroke-dasharray:5 4}svg line.ceiling{stroke:#333;stroke-width:1.5}\n"
    "svg .bw{stroke-width:1.5}svg .bw0{stroke:#8c6d31}svg .bw1{stroke:#bd9e39}svg .bw2{stroke:#7b4173}"
    "svg .bw3{stroke:#843c39}\n"
    "svg text.ceiling-label{font-size:10.5px;fill:#333;paint-order:stroke;stroke:#fff;stroke-width:3px}p.note{color:#555;font-size:13px}\n";

static void html_env_row(hwt_sb *out, const char *label, const char *value, void *ud) {
  (void)ud;
  hwt_sb_puts(out, "<tr><td>");
  hwt_sb_html(out, label);
  hwt_sb_puts(out, "</td><td>");
  bool code = strncmp(label, "Command", 7) == 0;
  if (code) hwt_sb_puts(out, "<code>");
  hwt_sb_html(out, value);
  if (code) hwt_sb_puts(out, "</code>");
  hwt_sb_puts(out, "</td></tr>\n");
}

static void html_results_table(const hwt_machine *m, size_t from, size_t to, hwt_sb *out) {
  const hwt_result *r0 = m->results[from];
  hwt_sb_printf(out, "<table class=\"results\"><tr><th>shape</th><th>batch</th><th>threads</th><th>cache</th>"
                     "<th>impl</th><th>isa</th><th>median</th><th>p99</th><th>%s</th><th>%% peak</th><th>bound</th>"
                     "<th>vs XNNPACK</th><th>warnings</th></tr>\n",
                strcmp(r0->dtype, "qs8") == 0 ? "GOP/s" : "GFLOP/s");
  for (size_t i = from; i < to; i++) {
    const hwt_result *r = m->results[i];
    char med[32], p99[32], gf[32], pp[32];
    hwt_fmt_time(r->median_ns, med, sizeof med);
    hwt_fmt_time(r->p99_ns, p99, sizeof p99);
    hwt_fmt_num(r->gflops, 3, gf, sizeof gf);
    snprintf(pp, sizeof pp, isfinite(r->pct_peak) ? "%.1f" : "-", r->pct_peak);
    hwt_sb_puts(out, "<tr><td>");
    hwt_sb_html(out, r->shape);
    hwt_sb_printf(out, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td>", r->m, r->threads);
    hwt_sb_html(out, r->cache);
    hwt_sb_puts(out, "</td><td>");
    hwt_sb_html(out, r->impl);
    hwt_sb_puts(out, "</td><td>");
    hwt_sb_html(out, r->isa);
    hwt_sb_printf(out, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
                       "<td class=\"n\">%s</td><td>",
                  med, p99, gf, pp);
    hwt_sb_html(out, r->bound[0] ? r->bound : "-");
    const hwt_result *x = strcmp(r->impl, "xnnpack") == 0 ? NULL : hwt_machine_xnnpack_peer(m, r);
    if (x) {
      double sp = x->median_ns / r->median_ns;
      hwt_sb_printf(out, "</td><td class=\"n %s\">%.2fx</td><td>", sp >= 1.0 ? "fast" : "slow", sp);
    } else {
      hwt_sb_puts(out, "</td><td class=\"n\">-</td><td>");
    }
    if (r->warnings) {
      size_t wi;
      json_t *e;
      json_array_foreach(r->warnings, wi, e) {
        if (!json_is_string(e)) continue;
        if (wi) hwt_sb_puts(out, "; ");
        hwt_sb_html(out, json_string_value(e));
      }
    }
    hwt_sb_puts(out, "</td></tr>\n");
  }
  hwt_sb_puts(out, "</table>\n");
}

static void html_cross(const hwt_machines *ms, hwt_sb *out) {
  hwt_sb_puts(out, "<h2>Across machines</h2>\n<table><tr><th>machine</th><th>fingerprint</th><th>CPU</th>"
                   "<th>ISA level</th><th>usable CPUs</th><th>compiler</th><th>commit</th></tr>\n");
  for (size_t i = 0; i < ms->count; i++) {
    const json_t *c = ms->m[i].file->context;
    double u = hwt_ctx_num(c, "usable.cpus");
    const char *brand = hwt_ctx_str(c, "cpu.brand"), *lvl = hwt_ctx_str(c, "isa_level");
    const char *cc = hwt_ctx_str(c, "build.compiler"), *gc = hwt_ctx_str(c, "build.git_commit");
    hwt_sb_printf(out, "<tr><td>M%zu</td><td><code>%.12s</code></td><td>", i + 1,
                  ms->m[i].fingerprint[0] ? ms->m[i].fingerprint : "unknown");
    hwt_sb_html(out, brand ? brand : "?");
    hwt_sb_puts(out, "</td><td>");
    hwt_sb_html(out, lvl ? lvl : "?");
    if (isfinite(u))
      hwt_sb_printf(out, "</td><td class=\"n\">%.0f</td><td>", u);
    else
      hwt_sb_puts(out, "</td><td class=\"n\">?</td><td>");
    hwt_sb_html(out, cc ? cc : "?");
    hwt_sb_puts(out, "</td><td>");
    hwt_sb_html(out, gc ? gc : "?");
    hwt_sb_puts(out, "</td></tr>\n");
  }
  hwt_sb_puts(out, "</table>\n<p class=\"note\">GFLOP/s (GOP/s for int8) and median latency per configuration; "
                   "- = not measured on that machine.</p>\n<table><tr><th>configuration</th>");
  for (size_t i = 0; i < ms->count; i++) hwt_sb_printf(out, "<th>M%zu</th>", i + 1);
  hwt_sb_puts(out, "</tr>\n");
  hwt_fleet_rows rows;
  if (hwt_fleet_rows_build(ms, &rows) != hwt_status_ok) {
    out->oom = true;
    return;
  }
  for (size_t ri = 0; ri < rows.count; ri++) {
    hwt_sb_puts(out, "<tr><td><code>");
    hwt_sb_html(out, rows.keys[ri]);
    hwt_sb_puts(out, "</code></td>");
    for (size_t cm = 0; cm < ms->count; cm++) {
      const hwt_result *x = hwt_fleet_cell(&ms->m[cm], rows.keys[ri]);
      if (x == NULL) {
        hwt_sb_puts(out, "<td class=\"n\">-</td>");
        continue;
      }
      char gf[32], t[32];
      hwt_fmt_num(x->gflops, 3, gf, sizeof gf);
      hwt_fmt_time(x->median_ns, t, sizeof t);
      hwt_sb_printf(out, "<td class=\"n\">%s (%s", gf, t);
      if (strcmp(x->isa, "auto") != 0) {
        hwt_sb_puts(out, ", ");
        hwt_sb_html(out, x->isa);
      }
      hwt_sb_puts(out, ")</td>");
    }
    hwt_sb_puts(out, "</tr>\n");
  }
  hwt_fleet_rows_free(&rows);
  hwt_sb_puts(out, "</table>\n");
}

void hwt_rpt_html(const hwt_machines *ms, hwt_sb *out) {
  int id = 0;
  hwt_sb_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<title>hwtune results</title>\n<style>\n");
  hwt_sb_puts(out, css);
  hwt_sb_puts(out, "</style>\n</head>\n<body>\n<h1>hwtune results</h1>\n<p class=\"note\">Made by <code>hwtune "
                   "report</code> from");
  for (size_t i = 0; i < ms->count; i++)
    for (size_t f = 0; f < ms->m[i].nfiles; f++) {
      hwt_sb_puts(out, " <code>");
      hwt_sb_html(out, ms->m[i].files[f]->path);
      hwt_sb_puts(out, "</code>");
    }
  hwt_sb_printf(out, " (%zu machine(s)). Times are per operator call; GFLOP/s = 2&middot;m&middot;n&middot;k / "
                     "median (GOP/s for int8); %% peak against detect's measured peak for the same ISA and thread "
                     "count; vs XNNPACK = XNNPACK median / this median (&gt; 1: faster than XNNPACK). Hover a point "
                     "for its figures.</p>\n",
                ms->count);
  if (ms->count > 1) html_cross(ms, out);
  for (size_t mi = 0; mi < ms->count; mi++) {
    const hwt_machine *m = &ms->m[mi];
    const char *brand = hwt_ctx_str(m->file->context, "cpu.brand");
    hwt_sb_printf(out, "<section id=\"machine-%zu\">\n<h2>", mi + 1);
    if (ms->count > 1) hwt_sb_printf(out, "M%zu: ", mi + 1);
    hwt_sb_html(out, brand ? brand : "unknown CPU");
    hwt_sb_printf(out, " <small>(fingerprint <code>%.12s</code>)</small></h2>\n<table class=\"env\">\n",
                  m->fingerprint[0] ? m->fingerprint : "unknown");
    hwt_rpt_env_rows(m, html_env_row, out, NULL);
    hwt_sb_puts(out, "</table>\n");
    const char *ops[16];
    size_t counts[16];
    double geo[16], mn[16], mx[16];
    size_t ns = hwt_rpt_op_summary(m, ops, counts, geo, mn, mx, 16);
    if (ns) {
      hwt_sb_puts(out, "<h3>Ours vs XNNPACK</h3>\n<table><tr><th>op</th><th>configurations</th><th>geomean speed-up"
                       "</th><th>min</th><th>max</th></tr>\n");
      for (size_t i = 0; i < ns; i++)
        hwt_sb_printf(out, "<tr><td>%s</td><td class=\"n\">%zu</td><td class=\"n %s\">%.2fx</td><td class=\"n\">"
                           "%.2fx</td><td class=\"n\">%.2fx</td></tr>\n",
                      ops[i], counts[i], geo[i] >= 1 ? "fast" : "slow", geo[i], mn[i], mx[i]);
      hwt_sb_puts(out, "</table>\n");
    }
    /* roofline: one thread, and the largest thread count measured */
    long long tmax = 1;
    for (size_t i = 0; i < m->nresults; i++)
      if (m->results[i]->threads > tmax) tmax = m->results[i]->threads;
    hwt_sb_puts(out, "<h3>Roofline</h3>\n<div class=\"charts\">\n");
    id += roofline_chart(m, 1, false, id, out) ? 1 : 0;
    if (tmax > 1) id += roofline_chart(m, tmax, true, id, out) ? 1 : 0;
    hwt_sb_puts(out, "</div>\n");
    for (size_t i = 0; i < m->nresults;) {
      size_t j = i;
      const char *op = m->results[i]->op;
      while (j < m->nresults && strcmp(m->results[j]->op, op) == 0) j++;
      hwt_sb_printf(out, "<h3 id=\"m%zu-%s\">%s</h3>\n<div class=\"charts\">\n", mi + 1, op, op);
      id += thread_chart(m, op, id, out);
      id += batch_charts(m, op, id, out);
      hwt_sb_puts(out, "</div>\n");
      html_results_table(m, i, j, out);
      i = j;
    }
    hwt_sb_puts(out, "</section>\n");
  }
  hwt_sb_puts(out, "</body>\n</html>\n");
}
