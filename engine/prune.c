/* SPDX-License-Identifier: Apache-2.0 */
/* Magnitude pruning of fp32 fc and dense conv weights (hwt_model_prune, engine/engine.h): per-layer or global
 * threshold, unstructured or in blocks of the internal weight layout, deterministic; no fine-tuning. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hwt_common.h"
#include "hwtune/spmm.h"

/* A unit pruning keeps or zeroes whole: one weight (unstructured) or one block. Sorted by score (the largest
 * |w| in the unit; NaN counts as +inf, never pruned before a number), then layer, then position: so ties go to
 * the lowest index, and under the global scope to the earliest layer. */
typedef struct unit {
  float score;
  uint32_t layer;   /* index into the pruned-layer list */
  uint32_t row, col; /* top-left weight of the unit (row = output channel, col = input in the internal layout) */
} unit;

static int cmp_unit(const void *pa, const void *pb) {
  const unit *a = pa, *b = pb;
  if (a->score != b->score) return a->score < b->score ? -1 : 1;
  if (a->layer != b->layer) return a->layer < b->layer ? -1 : 1;
  if (a->row != b->row) return a->row < b->row ? -1 : 1;
  return a->col < b->col ? -1 : a->col > b->col;
}

static float mag(float v) { return isnan(v) ? INFINITY : fabsf(v); }

/* Rows (output channels) and columns (inputs per output channel, kh * kw * Cin for conv) of a weighted node. */
static void layer_dims(const hwt_layer *l, size_t *rows, size_t *cols) {
  *rows = l->outputs;
  *cols = l->outputs ? hwt_layer_weight_count(l) / l->outputs : 0;
}

static bool is_prunable(const hwt_layer *l) {
  return (l->type == hwt_layer_fc || (l->type == hwt_layer_conv && l->groups <= 1)) && l->w != NULL &&
         l->wq == NULL && l->outputs > 0 && hwt_layer_weight_count(l) > 0;
}

/* The classifier: hwt_layer_float_logits' fc, else the last fc of the graph; SIZE_MAX when there is none. */
static size_t classifier_index(const hwt_model *m) {
  for (size_t i = 0; i < m->nlayers; i++)
    if (hwt_layer_float_logits(m, i)) return i;
  for (size_t i = m->nlayers; i-- > 0;)
    if (m->layers[i].type == hwt_layer_fc) return i;
  return SIZE_MAX;
}

static size_t count_zeros(const float *w, size_t n) {
  size_t z = 0;
  for (size_t i = 0; i < n; i++) z += w[i] == 0.0f;
  return z;
}

static float *dup_floats(const float *src, size_t n) {
  if (src == NULL || n == 0) return NULL;
  float *d = hwt_rt_alloc(n * sizeof(float));
  if (d != NULL) memcpy(d, src, n * sizeof(float));
  return d;
}

/* A deep copy of the fp32 parameters (no int8 arrays: the caller refuses int8 nodes). */
static hwt_status copy_model(const hwt_model *m, hwt_model **out) {
  hwt_model *c = hwt_rt_calloc(1, sizeof(*c));
  if (c == NULL) return hwt_status_out_of_memory;
  *c = *m;
  c->layers = hwt_rt_calloc(m->nlayers ? m->nlayers : 1, sizeof(hwt_layer));
  if (c->layers == NULL) {
    hwt_rt_free(c);
    return hwt_status_out_of_memory;
  }
  for (size_t i = 0; i < m->nlayers; i++) {
    const hwt_layer *s = &m->layers[i];
    hwt_layer *d = &c->layers[i];
    *d = *s;
    d->w = d->b = d->wscale = NULL;
    d->wq = NULL;
    d->bq = NULL;
    size_t nw = hwt_layer_weight_count(s), nb = hwt_layer_bias_count(s);
    d->w = dup_floats(s->w, nw);
    d->b = dup_floats(s->b, nb);
    if ((s->w != NULL && nw && d->w == NULL) || (s->b != NULL && nb && d->b == NULL)) {
      hwt_model_free(c);
      return hwt_status_out_of_memory;
    }
  }
  *out = c;
  return hwt_status_ok;
}

/* Appends the units of one layer (blocks of bn x bk, clipped at the edges) with their scores. */
static size_t add_units(const hwt_layer *l, uint32_t li, uint32_t bn, uint32_t bk, unit *u) {
  size_t rows, cols, n = 0;
  layer_dims(l, &rows, &cols);
  for (size_t r = 0; r < rows; r += bn)
    for (size_t c = 0; c < cols; c += bk) {
      float s = 0.0f;
      for (size_t i = r; i < rows && i < r + bn; i++)
        for (size_t j = c; j < cols && j < c + bk; j++) {
          float v = mag(l->w[i * cols + j]);
          if (v > s) s = v;
        }
      u[n++] = (unit) {.score = s, .layer = li, .row = (uint32_t) r, .col = (uint32_t) c};
    }
  return n;
}

static size_t units_of(const hwt_layer *l, uint32_t bn, uint32_t bk) {
  size_t rows, cols;
  layer_dims(l, &rows, &cols);
  return ((rows + bn - 1) / bn) * ((cols + bk - 1) / bk);
}

static void zero_unit(hwt_layer *l, const unit *u, uint32_t bn, uint32_t bk) {
  size_t rows, cols;
  layer_dims(l, &rows, &cols);
  for (size_t i = u->row; i < rows && i < (size_t) u->row + bn; i++)
    for (size_t j = u->col; j < cols && j < (size_t) u->col + bk; j++)
      if (l->w[i * cols + j] != 0.0f) l->w[i * cols + j] = 0.0f; /* an existing -0.0 keeps its bits */
}

/* round(s x n), halves up: the count of units zeroed. */
static size_t target_units(double s, size_t n) {
  double t = floor(s * (double) n + 0.5);
  return t <= 0.0 ? 0 : t >= (double) n ? n : (size_t) t;
}

hwt_status hwt_model_prune(const hwt_model *m, const hwt_prune_options *opt, hwt_model **out,
                           hwt_prune_layer_report *report, char *err, size_t errlen) {
  if (out != NULL) *out = NULL;
  if (m == NULL || opt == NULL || out == NULL) {
    hwt_errf(err, errlen, "prune: needs a model, options and an output");
    return hwt_status_invalid_argument;
  }
  if (!(opt->sparsity >= 0.0 && opt->sparsity <= 1.0)) {
    hwt_errf(err, errlen, "prune: sparsity %g is outside [0, 1]", opt->sparsity);
    return hwt_status_invalid_argument;
  }
  if ((opt->pattern != hwt_prune_unstructured && opt->pattern != hwt_prune_block) ||
      (opt->scope != hwt_prune_per_layer && opt->scope != hwt_prune_global)) {
    hwt_errf(err, errlen, "prune: unknown pattern %d or scope %d", (int) opt->pattern, (int) opt->scope);
    return hwt_status_invalid_argument;
  }
  for (size_t i = 0; i < m->nlayers; i++)
    if (m->precision != hwt_prec_fp32 || m->layers[i].wq != NULL) {
      hwt_errf(err, errlen, "prune: '%s' is an int8 model (layer %zu '%s' has int8 weights): prune the fp32 model, "
               "then quantize it", m->name, i, m->layers[i].name);
      return hwt_status_invalid_argument;
    }
  uint32_t bn = 1, bk = 1;
  if (opt->pattern == hwt_prune_block) {
    uint32_t dn = 1, dk = 1;
    hwt_spmm_block_shape(hwt_spmm_best_isa(), &dn, &dk);
    bn = opt->block_n ? opt->block_n : dn;
    bk = opt->block_k ? opt->block_k : dk;
    if (bn == 0) bn = 1;
    if (bk == 0) bk = 1;
    if (bn > 65536 || bk > 65536) {
      hwt_errf(err, errlen, "prune: block %ux%u is too large (at most 65536 each)", bn, bk);
      return hwt_status_invalid_argument;
    }
  }

  hwt_status st = hwt_status_out_of_memory;
  hwt_model *c = NULL;
  size_t *sel = NULL;     /* indices of the layers pruned */
  size_t *ucount = NULL;  /* units per selected layer */
  unit *u = NULL;
  size_t nsel = 0, nunits = 0;
  if (copy_model(m, &c) != hwt_status_ok) goto done;
  sel = calloc(m->nlayers + 1, sizeof(size_t));
  ucount = calloc(m->nlayers + 1, sizeof(size_t));
  if (sel == NULL || ucount == NULL) goto done;

  size_t first = SIZE_MAX, cls = classifier_index(m);
  for (size_t i = 0; i < m->nlayers; i++)
    if (is_prunable(&m->layers[i])) {
      first = i;
      break;
    }
  for (size_t i = 0; i < m->nlayers; i++) {
    if (!is_prunable(&m->layers[i])) continue;
    if (i == first && !opt->prune_first) continue;
    if (i == cls && !opt->prune_classifier) continue;
    if (units_of(&m->layers[i], bn, bk) > UINT32_MAX || nsel >= UINT32_MAX) {
      hwt_errf(err, errlen, "prune: layer %zu '%s' is too large", i, m->layers[i].name);
      st = hwt_status_invalid_argument;
      goto done;
    }
    ucount[nsel] = units_of(&m->layers[i], bn, bk);
    nunits += ucount[nsel];
    sel[nsel++] = i;
  }

  if (opt->sparsity > 0.0 && nunits > 0) {
    u = malloc(nunits * sizeof(unit));
    if (u == NULL) goto done;
    size_t at = 0;
    for (size_t s = 0; s < nsel; s++) at += add_units(&c->layers[sel[s]], (uint32_t) s, bn, bk, u + at);
    if (opt->scope == hwt_prune_global) {
      qsort(u, nunits, sizeof(unit), cmp_unit);
      size_t k = target_units(opt->sparsity, nunits);
      for (size_t j = 0; j < k; j++) zero_unit(&c->layers[sel[u[j].layer]], &u[j], bn, bk);
    } else {
      unit *p = u;
      for (size_t s = 0; s < nsel; p += ucount[s], s++) {
        qsort(p, ucount[s], sizeof(unit), cmp_unit);
        size_t k = target_units(opt->sparsity, ucount[s]);
        for (size_t j = 0; j < k; j++) zero_unit(&c->layers[sel[s]], &p[j], bn, bk);
      }
    }
  }

  if (report != NULL) {
    memset(report, 0, m->nlayers * sizeof(*report));
    for (size_t i = 0; i < m->nlayers; i++) {
      const hwt_layer *l = &m->layers[i];
      bool weighted = l->type == hwt_layer_fc || l->type == hwt_layer_conv || l->type == hwt_layer_dwconv;
      if (!weighted || l->w == NULL) continue;
      size_t n = hwt_layer_weight_count(l);
      report[i].weights = n;
      report[i].zeros_before = count_zeros(l->w, n);
      report[i].zeros_after = count_zeros(c->layers[i].w, n);
    }
    for (size_t s = 0; s < nsel; s++) report[sel[s]].pruned = true;
  }
  st = hwt_model_finalize(c, "prune", err, errlen);
  if (st != hwt_status_ok) goto done;
  *out = c;
  c = NULL;
done:
  if (st == hwt_status_out_of_memory) hwt_errf(err, errlen, "prune: out of memory");
  hwt_model_free(c);
  free(u);
  free(sel);
  free(ucount);
  return st;
}
