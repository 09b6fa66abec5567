/* SPDX-License-Identifier: Apache-2.0 */
/* The memory planner: places every buffer the engine needs during a run (intermediate values, conversion
 * scratch) at an offset of one arena, so that buffers live at the same time never overlap: largest first, each
 * at the lowest 64-byte aligned offset that fits between the buffers already placed that it meets in time. */
#include <stdlib.h>

#include "engine_internal.h"

#define ALIGN 64

static bool meet(const hwt_plan_buf *a, const hwt_plan_buf *b) { return a->first <= b->last && b->first <= a->last; }

/* Bytes a buffer occupies: requested + read-past pad, rounded up to the alignment; false on overflow. */
static bool span(const hwt_plan_buf *b, size_t *out) {
  size_t n;
  if (__builtin_add_overflow(b->bytes, (size_t) HWT_PLAN_PAD + ALIGN - 1, &n)) return false;
  *out = n / ALIGN * ALIGN;
  return true;
}

typedef struct placed {
  size_t lo, hi;
} placed;

static int cmp_placed(const void *a, const void *b) {
  const placed *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

bool hwt_plan_assign(hwt_plan_buf *b, size_t n, size_t *arena) {
  *arena = 0;
  if (n == 0) return true;
  size_t *order = malloc(n * sizeof(size_t));
  placed *busy = malloc(n * sizeof(placed));
  bool ok = order != NULL && busy != NULL;
  for (size_t i = 0; ok && i < n; i++) {
    size_t s;
    ok = span(&b[i], &s);
    order[i] = i;
  }
  /* Largest first (insertion sort: plans are small; ties keep the earlier buffer first: deterministic). */
  for (size_t i = 1; ok && i < n; i++) {
    size_t k = order[i], j = i;
    while (j > 0 && b[order[j - 1]].bytes < b[k].bytes) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = k;
  }
  for (size_t r = 0; ok && r < n; r++) {
    hwt_plan_buf *x = &b[order[r]];
    size_t need = 0, nb = 0;
    span(x, &need);
    for (size_t q = 0; q < r; q++) {
      const hwt_plan_buf *y = &b[order[q]];
      if (!meet(x, y)) continue;
      size_t ys = 0;
      span(y, &ys);
      busy[nb++] = (placed){y->offset, y->offset + ys};
    }
    qsort(busy, nb, sizeof(placed), cmp_placed);
    size_t off = 0;
    for (size_t q = 0; q < nb; q++) {
      if (busy[q].lo >= off && busy[q].lo - off >= need) break; /* fits in the gap before busy[q] */
      if (busy[q].hi > off) off = busy[q].hi;
    }
    size_t end;
    if (__builtin_add_overflow(off, need, &end)) {
      ok = false;
      break;
    }
    x->offset = off;
    if (end > *arena) *arena = end;
  }
  free(order);
  free(busy);
  return ok;
}

bool hwt_plan_check(const hwt_plan_buf *b, size_t n, size_t arena) {
  for (size_t i = 0; i < n; i++) {
    size_t si;
    if (!span(&b[i], &si) || b[i].offset % ALIGN != 0 || b[i].offset > arena || arena - b[i].offset < si) return false;
    for (size_t j = i + 1; j < n; j++) {
      size_t sj = 0;
      span(&b[j], &sj);
      if (meet(&b[i], &b[j]) && b[i].offset < b[j].offset + sj && b[j].offset < b[i].offset + si) return false;
    }
  }
  return true;
}
