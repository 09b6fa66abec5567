/* SPDX-License-Identifier: Apache-2.0 */
/* Profile lookups: exact match by binary search, else the nearest tuned shape, else the documented default. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "profile_internal.h"

static void copy_token(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

void hwt_profile_fill_choice(const hwt_profile *p, size_t i, hwt_profile_choice *out) {
  const hwt_profile_entry_rec *e = &p->entries[i];
  memset(out, 0, sizeof *out);
  out->match = hwt_profile_match_exact;
  out->distance = 0.0;
  copy_token(out->impl, sizeof out->impl, e->impl);
  copy_token(out->isa, sizeof out->isa, e->isa);
  out->threads = e->threads;
  out->mc = e->mc;
  out->kc = e->kc;
  out->nc = e->nc;
  out->batch = e->choice_batch;
  out->op = e->op;
  out->dtype = e->dtype;
  out->shape = e->shape;
  out->entry_n = e->n;
  out->entry_k = e->k;
  out->entry_batch = e->batch;
  out->median_ns = e->median_ns;
  out->ci_low_ns = e->ci_low_ns;
  out->ci_high_ns = e->ci_high_ns;
  out->entry = i;
}

static hwt_profile_match fill_default(const hwt_profile_query *q, hwt_profile_choice *out) {
  memset(out, 0, sizeof *out);
  out->match = hwt_profile_match_default;
  out->distance = HUGE_VAL;
  copy_token(out->impl, sizeof out->impl, "xnnpack");
  copy_token(out->isa, sizeof out->isa, "auto");
  out->threads = 1;
  out->batch = q && q->batch ? q->batch : 1;
  out->entry = SIZE_MAX;
  return out->match;
}

/* First index in [lo, hi) whose (n, k, batch) is >= the key. */
static size_t lower_bound(const hwt_profile_entry_rec *v, size_t lo, size_t hi, uint64_t n, uint64_t k, uint64_t b) {
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const hwt_profile_entry_rec *e = &v[mid];
    bool less = e->n < n || (e->n == n && (e->k < k || (e->k == k && e->batch < b)));
    if (less) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static bool group_matches(const hwt_profile_group *g, const hwt_profile_query *q) {
  return strcmp(g->op, q->op) == 0 && (q->dtype == NULL || strcmp(g->dtype, q->dtype) == 0);
}

/* Nearest candidates inside one run of equal n (sorted by k, then batch): walk outward from the query's k. */
static void scan_run(const hwt_profile *p, size_t lo, size_t hi, double dn, double lk, double lb, uint64_t k,
                     uint64_t b, size_t *best, double *best_d) {
  size_t a = lo, z = hi;
  while (a < z) {
    size_t mid = a + (z - a) / 2;
    const hwt_profile_entry_rec *e = &p->entries[mid];
    if (e->k < k || (e->k == k && e->batch < b)) a = mid + 1;
    else z = mid;
  }
  for (size_t i = a; i < hi; i++) {
    const hwt_profile_entry_rec *e = &p->entries[i];
    double dk = fabs(e->log2_k - lk);
    if (dn + dk > *best_d) break;
    double d = dn + dk + fabs(e->log2_batch - lb);
    if (d < *best_d || (d == *best_d && i < *best)) {
      *best_d = d;
      *best = i;
    }
  }
  for (size_t i = a; i-- > lo;) {
    const hwt_profile_entry_rec *e = &p->entries[i];
    double dk = fabs(lk - e->log2_k);
    if (dn + dk > *best_d) break;
    double d = dn + dk + fabs(e->log2_batch - lb);
    if (d < *best_d || (d == *best_d && i < *best)) {
      *best_d = d;
      *best = i;
    }
  }
}

hwt_profile_match hwt_profile_lookup(const hwt_profile *p, const hwt_profile_query *q, hwt_profile_choice *out) {
  if (out == NULL) return hwt_profile_match_default;
  if (p == NULL || q == NULL || q->op == NULL || q->op[0] == '\0') return fill_default(q, out);
  uint64_t batch = q->batch ? q->batch : 1;
  size_t best = SIZE_MAX;
  double best_d = HUGE_VAL;
  bool nearest = false;

  /* Exact: same op (and dtype), n, k, batch, and shape when the query names one. */
  for (size_t gi = 0; gi < p->ngroups && best == SIZE_MAX; gi++) {
    const hwt_profile_group *g = &p->groups[gi];
    if (!group_matches(g, q)) continue;
    for (size_t i = lower_bound(p->entries, g->lo, g->hi, q->n, q->k, batch); i < g->hi; i++) {
      const hwt_profile_entry_rec *e = &p->entries[i];
      if (e->n != q->n || e->k != q->k || e->batch != batch) break;
      if (q->shape == NULL || strcmp(q->shape, e->shape) == 0) {
        best = i;
        best_d = 0.0;
        break;
      }
    }
  }

  /* Nearest: smallest sum of |log2 ratio| over n, k, batch; ties keep the earlier (smaller) entry in sort order. */
  if (best == SIZE_MAX && q->n > 0 && q->k > 0) {
    nearest = true;
    double ln = log2((double)q->n), lk = log2((double)q->k), lb = log2((double)batch);
    for (size_t gi = 0; gi < p->ngroups; gi++) {
      const hwt_profile_group *g = &p->groups[gi];
      if (!group_matches(g, q)) continue;
      /* Entries are sorted by n, then k, then batch. |log2 n - log2 n'| grows walking outward over the runs of
       * equal n from the query's position, and inside a run |log2 k - log2 k'| grows walking outward from the
       * query's k: each is a lower bound of d, so a walk stops once its bound exceeds the best distance. Ties go
       * to the smaller index, so bounds equal to the best are still visited. */
      size_t start = lower_bound(p->entries, g->lo, g->hi, q->n, q->k, batch);
      size_t first_run = start < g->hi ? p->entries[start].run_lo : g->hi;
      for (size_t i = first_run; i < g->hi;) {
        const hwt_profile_entry_rec *e = &p->entries[i];
        double dn = fabs(e->log2_n - ln);
        if (dn > best_d) break;
        scan_run(p, e->run_lo, e->run_hi, dn, lk, lb, q->k, batch, &best, &best_d);
        i = e->run_hi;
      }
      for (size_t i = first_run; i > g->lo;) {
        const hwt_profile_entry_rec *e = &p->entries[i - 1];
        double dn = fabs(ln - e->log2_n);
        if (dn > best_d) break;
        scan_run(p, e->run_lo, e->run_hi, dn, lk, lb, q->k, batch, &best, &best_d);
        i = e->run_lo;
      }
    }
    if (best != SIZE_MAX && q->max_distance > 0 && best_d > q->max_distance) best = SIZE_MAX;
  }

  if (best == SIZE_MAX) return fill_default(q, out);
  hwt_profile_fill_choice(p, best, out);
  if (nearest) {
    out->match = hwt_profile_match_nearest;
    out->distance = best_d;
  }
  /* A latency entry's batch is the batch it was measured at; run with the caller's. */
  if (p->objective == NULL || strcmp(p->objective, "throughput") != 0) out->batch = batch;
  /* A profile tuned on more CPUs than this thread may use (taskset, a narrower cpuset) must not oversubscribe
   * them: the affinity mask bounds the threads like max_threads does. Only asked when it can matter. */
  unsigned limit = q->max_threads;
  if (out->threads > 1 && (limit == 0 || limit > 1)) {
    unsigned cpus = hwt_profile_usable_cpus();
    if (cpus > 0 && (limit == 0 || cpus < limit)) limit = cpus;
  }
  if (limit > 0 && out->threads > limit) {
    out->threads = limit;
    out->threads_clamped = true;
  }
  return out->match;
}

size_t hwt_profile_count(const hwt_profile *profile) { return profile ? profile->nentries : 0; }

bool hwt_profile_entry(const hwt_profile *profile, size_t i, hwt_profile_choice *out) {
  if (profile == NULL || out == NULL || i >= profile->nentries) return false;
  hwt_profile_fill_choice(profile, i, out);
  return true;
}

static void fill_sparse(const hwt_profile *p, size_t i, hwt_profile_sparse *out) {
  const hwt_profile_entry_rec *e = &p->entries[i];
  memset(out, 0, sizeof *out);
  out->match = hwt_profile_match_exact;
  out->never = e->sparse_never;
  out->break_even = e->sparse_never ? HUGE_VAL : e->break_even;
  out->npoints = e->sparse_npoints;
  for (size_t j = 0; j < out->npoints; j++) {
    out->sparsity[j] = e->sparse_points[j][0];
    out->speedup[j] = e->sparse_points[j][1];
  }
  out->op = e->op;
  out->dtype = e->dtype;
  out->shape = e->shape;
  out->entry_n = e->n;
  out->entry_k = e->k;
  out->entry_batch = e->batch;
  out->entry = i;
}

bool hwt_profile_entry_sparse(const hwt_profile *profile, size_t i, hwt_profile_sparse *out) {
  if (profile == NULL || out == NULL || i >= profile->nentries || !profile->entries[i].has_sparse) return false;
  fill_sparse(profile, i, out);
  return true;
}

/* Entries with "sparse" are few (fc and 1x1 conv fp32 problems): a linear scan over the op's groups. */
hwt_profile_match hwt_profile_lookup_sparse(const hwt_profile *p, const hwt_profile_query *q, hwt_profile_sparse *out) {
  if (out == NULL) return hwt_profile_match_default;
  memset(out, 0, sizeof *out);
  out->match = hwt_profile_match_default;
  out->distance = HUGE_VAL;
  out->break_even = NAN;
  out->entry = SIZE_MAX;
  if (p == NULL || q == NULL || q->op == NULL || q->op[0] == '\0' || q->n == 0 || q->k == 0) return out->match;
  uint64_t batch = q->batch ? q->batch : 1;
  double ln = log2((double)q->n), lk = log2((double)q->k), lb = log2((double)batch);
  size_t best = SIZE_MAX;
  double best_d = HUGE_VAL;
  for (size_t gi = 0; gi < p->ngroups; gi++) {
    const hwt_profile_group *g = &p->groups[gi];
    if (!group_matches(g, q)) continue;
    for (size_t i = g->lo; i < g->hi; i++) {
      const hwt_profile_entry_rec *e = &p->entries[i];
      if (!e->has_sparse) continue;
      bool same = e->n == q->n && e->k == q->k && e->batch == batch;
      if (same && q->shape != NULL && strcmp(q->shape, e->shape) != 0) same = false;
      double d = same ? 0.0 : fabs(e->log2_n - ln) + fabs(e->log2_k - lk) + fabs(e->log2_batch - lb);
      if (!same && d == 0.0) d = 0x1p-20; /* same dimensions, another shape string: nearest, not exact */
      if (d < best_d) {
        best_d = d;
        best = i;
      }
    }
  }
  if (best == SIZE_MAX || (best_d > 0 && q->max_distance > 0 && best_d > q->max_distance)) return out->match;
  fill_sparse(p, best, out);
  if (best_d > 0) {
    out->match = hwt_profile_match_nearest;
    out->distance = best_d;
  }
  return out->match;
}
