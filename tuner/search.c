/* SPDX-License-Identifier: Apache-2.0 */
/* The tuner's search: racing with CI-based elimination, blocking refinement, exhaustive mode, decision rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tuner.h"

/* Per precision level: the longest a measurement may take (before the budget scale) and the CI it aims at. */
static const double level_max_s[3] = {0.05, 0.15, 0.4};
static const double level_drift[3] = {0.10, 0.05, 0.0};

size_t hwt_tune_choose(const hwt_tune_scored *v, size_t n, size_t *runner_up) {
  size_t choice = SIZE_MAX;
  /* Walk from simplest to most complex without sorting the caller's array: repeatedly take the simplest
   * candidate not yet visited (n is small). */
  bool *seen = calloc(n ? n : 1, sizeof *seen);
  if (!seen) return SIZE_MAX;
  for (size_t step = 0; step < n; step++) {
    size_t next = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
      if (seen[i] || !v[i].measured) continue;
      if (next == SIZE_MAX || hwt_tune_simpler(&v[i].cand, &v[next].cand) < 0) next = i;
    }
    if (next == SIZE_MAX) break;
    seen[next] = true;
    if (choice == SIZE_MAX || v[next].meas.ci_high_ns < v[choice].meas.ci_low_ns) choice = next;
  }
  free(seen);
  if (runner_up) {
    *runner_up = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
      if (i == choice || !v[i].measured) continue;
      if (*runner_up == SIZE_MAX || v[i].meas.median_ns < v[*runner_up].meas.median_ns) *runner_up = i;
    }
  }
  return choice;
}

void hwt_tune_outcome_free(hwt_tune_outcome *o) {
  if (!o) return;
  free(o->all);
  o->all = NULL;
  o->nall = 0;
}

typedef struct search {
  const hwt_tune_problem *p;
  const hwt_tune_measurer *mm;
  hwt_tune_outcome *out;
  size_t cap;
  double scale;             /* time scale of the precision levels (budget share / planned time) */
  char *err;
  size_t errlen;
  hwt_status fatal;
} search;

static hwt_tune_scored *find(search *s, const hwt_tune_candidate *c) {
  for (size_t i = 0; i < s->out->nall; i++)
    if (hwt_tune_same(&s->out->all[i].cand, c)) return &s->out->all[i];
  return NULL;
}

static hwt_tune_scored *add(search *s, const hwt_tune_candidate *c) {
  hwt_tune_scored *e = find(s, c);
  if (e) return e;
  if (s->out->nall == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 32;
    hwt_tune_scored *v = realloc(s->out->all, cap * sizeof *v);
    if (!v) {
      s->fatal = hwt_status_out_of_memory;
      return NULL;
    }
    s->out->all = v;
    s->cap = cap;
  }
  e = &s->out->all[s->out->nall++];
  memset(e, 0, sizeof *e);
  e->cand = *c;
  e->precision = -1;
  return e;
}

static double remaining(search *s) {
  return s->mm->remaining_s ? s->mm->remaining_s(s->mm->ctx) : 1e30;
}

/* Measures c at `level` unless it already has that precision. Returns the entry (NULL: skipped because the
 * budget is spent, or it cannot run here, or a fatal error). Index-stable: callers keep indices, not pointers. */
static bool measure(search *s, const hwt_tune_candidate *c, int level, size_t *index) {
  if (s->fatal != hwt_status_ok) return false;
  hwt_tune_scored *e = add(s, c);
  if (!e) return false;
  size_t idx = (size_t)(e - s->out->all);
  if (index) *index = idx;
  if (e->unsupported) return false;
  if (e->measured && e->precision >= level) return true;
  double max_s = level_max_s[level] * s->scale;
  if (max_s < 0.01) max_s = 0.01;
  double left = remaining(s);
  /* Hard budget: start only what can finish (the measurement bound plus ~setup) inside what is left. */
  if (left < max_s * 1.25 + 0.02) {
    if (left > 0.06) max_s = (left - 0.02) / 1.25;
    else {
      s->out->budget_exhausted = true;
      return false;
    }
    if (max_s < 0.01) {
      s->out->budget_exhausted = true;
      return false;
    }
  }
  if (s->mm->progress) s->mm->progress(s->mm->ctx, s->p, c, level);
  hwt_tune_measurement m;
  char err[256] = "";
  hwt_status st = s->mm->measure(s->mm->ctx, s->p, c, level, max_s, &m, err, sizeof err);
  e = &s->out->all[idx];
  s->out->measurements++;
  if (st == hwt_status_unsupported) {
    e->unsupported = true;
    return false;
  }
  if (st != hwt_status_ok) {
    s->fatal = st;
    if (s->err && s->errlen) snprintf(s->err, s->errlen, "%s", err[0] ? err : hwt_status_string(st));
    return false;
  }
  if (!e->measured) s->out->configs_measured++;
  e->meas = m;
  e->measured = true;
  e->precision = level;
  return true;
}

static hwt_status finish(search *s, int level) {
  hwt_tune_outcome *o = s->out;
  if (s->fatal != hwt_status_ok) return s->fatal;
  /* The decision pool: candidates measured at the final level reached (mixing precisions would be unfair). */
  int top = -1;
  for (size_t i = 0; i < o->nall; i++)
    if (o->all[i].measured && o->all[i].precision > top) top = o->all[i].precision;
  (void)level;
  if (top < 0) {
    o->ok = false;
    return hwt_status_ok;
  }
  hwt_tune_scored *pool = malloc(o->nall * sizeof *pool);
  if (!pool) return hwt_status_out_of_memory;
  size_t n = 0;
  for (size_t i = 0; i < o->nall; i++)
    if (o->all[i].measured && o->all[i].precision == top) pool[n++] = o->all[i];
  size_t ru;
  size_t c = hwt_tune_choose(pool, n, &ru);
  o->ok = c != SIZE_MAX;
  if (o->ok) {
    o->choice = pool[c];
    o->has_runner_up = ru != SIZE_MAX;
    if (o->has_runner_up) {
      o->runner_up = pool[ru];
    } else {
      /* Everything else dropped out at a rougher precision: report the best of those. */
      for (size_t i = 0; i < o->nall; i++) {
        if (!o->all[i].measured || hwt_tune_same(&o->all[i].cand, &pool[c].cand)) continue;
        if (!o->has_runner_up || o->all[i].meas.median_ns < o->runner_up.meas.median_ns) o->runner_up = o->all[i];
        o->has_runner_up = true;
      }
    }
    if (o->has_runner_up)
      o->margin = (o->runner_up.meas.median_ns - pool[c].meas.median_ns) / pool[c].meas.median_ns;
  }
  free(pool);
  return hwt_status_ok;
}

static void init(search *s, const hwt_tune_problem *p, const hwt_tune_machine *m, const hwt_tune_measurer *mm,
                 hwt_tune_outcome *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  memset(s, 0, sizeof *s);
  s->p = p;
  s->mm = mm;
  s->out = out;
  s->scale = 1.0;
  s->err = err;
  s->errlen = errlen;
  s->fatal = hwt_status_ok;
  hwt_tune_candidate *space = NULL;
  if (hwt_tune_space(p, m, &space, &out->space_size) == hwt_status_ok) free(space);
}

hwt_status hwt_tune_exhaustive(const hwt_tune_problem *p, const hwt_tune_machine *m, const hwt_tune_measurer *mm,
                               hwt_tune_outcome *out, char *err, size_t errlen) {
  search s;
  init(&s, p, m, mm, out, err, errlen);
  hwt_tune_candidate *space = NULL;
  size_t n = 0;
  hwt_status st = hwt_tune_space(p, m, &space, &n);
  if (st != hwt_status_ok) return st;
  out->space_size = n;
  s.scale = mm->scale > 0 ? mm->scale : 1.0;
  for (size_t i = 0; i < n && s.fatal == hwt_status_ok && !out->budget_exhausted; i++)
    measure(&s, &space[i], 2, NULL);
  free(space);
  return finish(&s, 2);
}

static hwt_gemm_family family_of(hwt_bench_op op) { return op == hwt_bench_gemm_qs8 ? hwt_gemm_qs8 : hwt_gemm_f32; }

/* The structural candidates: impl x ISA x {1, analytical, all} threads, analytical blocking. */
static size_t start_set(const hwt_tune_problem *p, const hwt_tune_machine *m, hwt_tune_candidate *start) {
  unsigned usable = m->usable_cpus ? m->usable_cpus : 1;
  bool gemm = p->op == hwt_bench_gemm_f32 || p->op == hwt_bench_gemm_qs8;
  hwt_gemm_family fam = family_of(p->op);
  unsigned threads[3];
  size_t nthreads = 0;
  unsigned ta = hwt_tune_analytical_threads(p, usable);
  threads[nthreads++] = 1;
  if (ta > 1) threads[nthreads++] = ta;
  if (usable > 1 && usable != ta) threads[nthreads++] = usable;
  size_t nstart = 0;
  bool simd = false;
  for (int i = 1; gemm && i < hwt_isa_count; i++) simd = simd || m->own_isa[fam][i];
  for (size_t t = 0; t < nthreads; t++) {
    start[nstart++] = (hwt_tune_candidate){.impl = hwt_bench_xnnpack, .threads = threads[t], .default_blocking = true};
    for (int i = 0; gemm && i < hwt_isa_count; i++) {
      if (!m->own_isa[fam][i] || (i == hwt_isa_scalar && simd)) continue;
      hwt_gemm_blocking a = hwt_gemm_default_blocking(fam, (hwt_isa)i, &m->cache);
      start[nstart++] = (hwt_tune_candidate){.impl = hwt_bench_own, .isa = (hwt_isa)i, .threads = threads[t],
                                             .blocking = hwt_tune_clamp_blocking(p, p->op, (hwt_isa)i, a),
                                             .default_blocking = true};
    }
  }
  return nstart;
}

#define MAX_START (3 * (1 + hwt_isa_count))

double hwt_tune_planned_s(const hwt_tune_problem *p, const hwt_tune_machine *m) {
  hwt_tune_candidate start[MAX_START];
  size_t n = start_set(p, m, start);
  bool gemm = p->op == hwt_bench_gemm_f32 || p->op == hwt_bench_gemm_qs8;
  return (double)n * (level_max_s[0] + level_max_s[1] + level_max_s[2]) + (gemm ? 7.0 * level_max_s[2] : 0.0);
}

hwt_status hwt_tune_search(const hwt_tune_problem *p, const hwt_tune_machine *m, const hwt_tune_measurer *mm,
                           hwt_tune_outcome *out, char *err, size_t errlen) {
  search s;
  init(&s, p, m, mm, out, err, errlen);
  bool gemm = p->op == hwt_bench_gemm_f32 || p->op == hwt_bench_gemm_qs8;
  hwt_gemm_family fam = family_of(p->op);
  hwt_tune_candidate start[MAX_START];
  size_t nstart = start_set(p, m, start);
  s.scale = mm->scale > 0 ? mm->scale : 1.0;

  bool alive[MAX_START];
  size_t idx[MAX_START];
  for (size_t i = 0; i < nstart; i++) alive[i] = true;
  int level = 0;
  for (level = 0; level < 3; level++) {
    size_t nalive = 0;
    for (size_t i = 0; i < nstart; i++) {
      if (!alive[i]) continue;
      if (!measure(&s, &start[i], level, &idx[i])) alive[i] = false;
      else nalive++;
    }
    if (s.fatal != hwt_status_ok) return s.fatal;
    if (nalive == 0 || out->budget_exhausted) break;
    /* Drop every candidate whose CI shows it cannot win: its ci_low is above the best one's ci_high, widened by
     * the drift between separate measurements that a short round's CI does not see (10%, then 5%: measured on
     * memory-bound shapes, whose medians move that much from one measurement to the next). */
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < nstart; i++)
      if (alive[i] && (best == SIZE_MAX || out->all[idx[i]].meas.median_ns < out->all[idx[best]].meas.median_ns))
        best = i;
    nalive = 0;
    for (size_t i = 0; i < nstart; i++) {
      if (!alive[i]) continue;
      if (out->all[idx[i]].meas.ci_low_ns > out->all[idx[best]].meas.ci_high_ns * (1.0 + level_drift[level]))
        alive[i] = false;
      else nalive++;
    }
    if (nalive == 1 && level >= 1) break;
  }

  /* ---- blocking refinement of the best own configuration still in the race ---- */
  if (gemm && !out->budget_exhausted) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < nstart; i++)
      if (alive[i] && start[i].impl == hwt_bench_own &&
          (best == SIZE_MAX || out->all[idx[i]].meas.median_ns < out->all[idx[best]].meas.median_ns))
        best = i;
    if (best != SIZE_MAX) {
      hwt_tune_candidate cur = start[best];
      size_t cur_idx;
      if (measure(&s, &cur, 2, &cur_idx)) {
        hwt_gemm_blocking a = hwt_gemm_default_blocking(fam, cur.isa, &m->cache);
        double fx[3] = {1.0, 1.0, 1.0};   /* current factor of kc, mc, nc relative to the analytical value */
        for (int param = 0; param < 3 && !out->budget_exhausted; param++) {
          static const double steps[2] = {2.0, 0.5};
          for (int d = 0; d < 2; d++) {
            bool moved = false;
            /* Walk one direction while it improves, up to the grid's edge (x4 or /4 of the analytical value);
             * steps the problem's size clamps away change nothing and are walked through without measuring. */
            double fcur = fx[param];
            for (;;) {
              double f[3] = {fx[0], fx[1], fx[2]};
              f[param] = fcur * steps[d];
              if (f[param] > 4.0 || f[param] < 0.25) break;
              fcur = f[param];
              hwt_gemm_blocking b = {(size_t)((double)a.mc * f[1]), (size_t)((double)a.kc * f[0]),
                                     (size_t)((double)a.nc * f[2])};
              hwt_tune_candidate c = cur;
              c.blocking = hwt_tune_clamp_blocking(p, p->op, cur.isa, b);
              c.default_blocking = false;
              if (hwt_tune_same(&c, &cur)) continue;
              size_t ci;
              if (!measure(&s, &c, 2, &ci)) break;
              if (!(out->all[ci].meas.median_ns < out->all[cur_idx].meas.median_ns)) break;
              cur = out->all[ci].cand;
              cur_idx = ci;
              fx[param] = f[param];
              moved = true;
            }
            if (moved) break;  /* no need to try the other direction */
          }
        }
      }
    }
    if (s.fatal != hwt_status_ok) return s.fatal;
  }

  /* ---- the simpler choice gets a fair chance: the refined configuration on fewer threads ---- */
  if (gemm && !out->budget_exhausted) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < out->nall; i++)
      if (out->all[i].measured && out->all[i].precision == 2 && out->all[i].cand.impl == hwt_bench_own &&
          (best == SIZE_MAX || out->all[i].meas.median_ns < out->all[best].meas.median_ns))
        best = i;
    if (best != SIZE_MAX && out->all[best].cand.threads > 1) {
      hwt_tune_candidate c = out->all[best].cand;
      for (size_t t = 0; t < nstart; t++) {
        if (start[t].impl != hwt_bench_xnnpack || start[t].threads >= c.threads) continue;
        c.threads = start[t].threads;   /* the start set's smaller thread counts (1, analytical) */
        measure(&s, &c, 2, NULL);
      }
    }
    if (s.fatal != hwt_status_ok) return s.fatal;
  }

  /* ---- the simplest choice (XNNPACK, 1 thread) is always in the final comparison, at the final precision:
   * a noisy early round must not have dropped it for good ---- */
  int top = -1;
  for (size_t i = 0; i < out->nall; i++)
    if (out->all[i].measured && out->all[i].precision > top) top = out->all[i].precision;
  if (top >= 0 && !out->budget_exhausted) measure(&s, &start[0], top, NULL);
  if (s.fatal != hwt_status_ok) return s.fatal;
  return finish(&s, level);
}
