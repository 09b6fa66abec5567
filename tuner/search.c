/* SPDX-License-Identifier: Apache-2.0 */
/* The tuner's search: racing with CI-based elimination, blocking refinement, exhaustive mode, decision rule. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwt_stats.h"
#include "tuner.h"

/* Per precision level: the longest a measurement may take (before the budget scale) and the CI it aims at. */
static const double level_max_s[3] = {0.05, 0.15, 0.4};
/* Elimination margin after the start rounds: what one round's CI may not see (the turns of a race are short). */
static const double level_margin[2] = {0.03, 0.01};

size_t hwt_tune_choose(const hwt_tune_scored *v, size_t n, size_t *runner_up) {
  size_t choice = SIZE_MAX;
  /* Walk from simplest to most complex without sorting the caller's array: repeatedly take the simplest
   * candidate not yet visited (n is small). */
  bool *seen = calloc(n ? n : 1, sizeof *seen);
  if (!seen) return SIZE_MAX;
  for (size_t step = 0; step < n; step++) {
    /* The next class (same simplicity), represented by its fastest median: ISA and blocking are not simpler one
     * than another, so among equals the measurement decides. */
    size_t next = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
      if (seen[i] || !v[i].measured) continue;
      int c = next == SIZE_MAX ? -1 : hwt_tune_simpler(&v[i].cand, &v[next].cand);
      if (c < 0 || (c == 0 && v[i].meas.median_ns < v[next].meas.median_ns)) next = i;
    }
    if (next == SIZE_MAX) break;
    for (size_t i = 0; i < n; i++)
      if (v[i].measured && hwt_tune_simpler(&v[i].cand, &v[next].cand) == 0) seen[i] = true;
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

#define NEAR_MISS 1.03

typedef struct search {
  const hwt_tune_problem *p;
  const hwt_tune_measurer *mm;
  hwt_tune_outcome *out;
  size_t cap;
  double scale;             /* time scale of the precision levels (budget share / planned time) */
  char *err;
  size_t errlen;
  hwt_status fatal;
  unsigned race_id;         /* the last race started */
  unsigned last_race;       /* the last race that measured something */
  unsigned final_race;      /* the final race (0 = not reached) */
  /* Each ISA's refinement's closest near miss: the step that lost its race by the least, if by less than NEAR_MISS
   * (its entry, and its ratio to the winner; 0 = none). */
  size_t near_miss[hwt_isa_count];
  double near_ratio[hwt_isa_count];
} search;

static hwt_tune_scored *find(search *s, const hwt_tune_candidate *c) {
  for (size_t i = 0; i < s->out->nall; i++)
    if (hwt_tune_same(&s->out->all[i].cand, c)) return &s->out->all[i];
  return NULL;
}

/* The entry of c (added when new). Index-stable: callers keep indices, not pointers. SIZE_MAX on out of memory. */
static size_t add(search *s, const hwt_tune_candidate *c) {
  hwt_tune_scored *e = find(s, c);
  if (e) return (size_t)(e - s->out->all);
  if (s->out->nall == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 32;
    hwt_tune_scored *v = realloc(s->out->all, cap * sizeof *v);
    if (!v) {
      s->fatal = hwt_status_out_of_memory;
      return SIZE_MAX;
    }
    s->out->all = v;
    s->cap = cap;
  }
  e = &s->out->all[s->out->nall++];
  memset(e, 0, sizeof *e);
  e->cand = *c;
  e->precision = -1;
  return (size_t)(e - s->out->all);
}

static double remaining(search *s) {
  return s->mm->remaining_s ? s->mm->remaining_s(s->mm->ctx) : 1e30;
}

/* The time scale of the next measurement: the pace the measurer keeps, else the one given at the start. */
static double scale_now(search *s) {
  double v = s->mm->scale_now ? s->mm->scale_now(s->mm->ctx) : 0;
  return v > 0 ? v : s->scale;
}

/* Hard budget: the time a measurement planned to take `want` s may take, shrunk to what is left (plus ~setup);
 * false (and budget_exhausted) when nothing useful is left. */
static bool budget_for(search *s, double want, double *max_s) {
  if (want < 0.01) want = 0.01;
  double left = remaining(s);
  if (left < want * 1.25 + 0.02) {
    want = (left - 0.02) / 1.25;
    if (left <= 0.06 || want < 0.01) {
      s->out->budget_exhausted = true;
      return false;
    }
  }
  *max_s = want;
  return true;
}

static void record(search *s, size_t idx, const hwt_tune_measurement *m, int level, unsigned race) {
  hwt_tune_scored *e = &s->out->all[idx];
  if (!e->measured) s->out->configs_measured++;
  e->meas = *m;
  e->measured = true;
  e->precision = level;
  e->race = race;
}

static void fail(search *s, hwt_status st, const char *msg) {
  s->fatal = st;
  if (s->err && s->errlen) snprintf(s->err, s->errlen, "%s", msg && msg[0] ? msg : hwt_status_string(st));
}

/* Measures entry idx alone (part of race `race`, 0 = none). */
static bool measure_one(search *s, size_t idx, int level, unsigned race) {
  hwt_tune_scored *e = &s->out->all[idx];
  if (e->unsupported || s->fatal != hwt_status_ok) return false;
  double max_s;
  if (!budget_for(s, level_max_s[level] * scale_now(s), &max_s)) return false;
  if (s->mm->progress) s->mm->progress(s->mm->ctx, s->p, &e->cand, level);
  hwt_tune_measurement m;
  char err[256] = "";
  hwt_status st = s->mm->measure(s->mm->ctx, s->p, &e->cand, level, max_s, &m, err, sizeof err);
  s->out->measurements++;
  if (st == hwt_status_unsupported) {
    s->out->all[idx].unsupported = true;
    return false;
  }
  if (st != hwt_status_ok) {
    fail(s, st, err);
    return false;
  }
  record(s, idx, &m, level, race);
  return true;
}

/* Measures c[0..n) side by side at `level` (the measurer's race, else one after the other). idx[i] = entry of c[i],
 * ok[i] = measured in this race. Returns how many were; when any, s->last_race is this race's id. */
static size_t race_set(search *s, const hwt_tune_candidate *c, size_t n, int level, size_t *idx, bool *ok) {
  size_t *todo = malloc((n ? n : 1) * sizeof *todo);
  hwt_tune_candidate *cands = malloc((n ? n : 1) * sizeof *cands);
  hwt_tune_measurement *meas = malloc((n ? n : 1) * sizeof *meas);
  hwt_status *st = malloc((n ? n : 1) * sizeof *st);
  size_t m = 0, done = 0;
  if (!todo || !cands || !meas || !st) s->fatal = hwt_status_out_of_memory;
  for (size_t i = 0; i < n && s->fatal == hwt_status_ok; i++) {
    ok[i] = false;
    idx[i] = add(s, &c[i]);
    if (idx[i] == SIZE_MAX || s->out->all[idx[i]].unsupported) continue;
    bool dup = false;
    for (size_t j = 0; j < m; j++) dup |= todo[j] == idx[i];
    if (!dup) {
      todo[m] = idx[i];
      cands[m++] = s->out->all[idx[i]].cand;
    }
  }
  unsigned id = ++s->race_id;
  bool sequential = s->mm->race == NULL || m == 1;
  if (s->fatal == hwt_status_ok && m > 0 && !sequential) {
    double max_s;
    if (budget_for(s, level_max_s[level] * scale_now(s) * (double)m, &max_s)) {
      if (s->mm->progress) s->mm->progress(s->mm->ctx, s->p, &cands[0], level);
      char err[256] = "";
      hwt_status rs = s->mm->race(s->mm->ctx, s->p, cands, m, level, max_s, meas, st, err, sizeof err);
      s->out->measurements += m;
      if (rs == hwt_status_ok) {
        for (size_t j = 0; j < m; j++) {
          if (st[j] == hwt_status_ok) record(s, todo[j], &meas[j], level, id);
          else if (st[j] == hwt_status_unsupported) s->out->all[todo[j]].unsupported = true;
          else fail(s, st[j], err);
        }
      } else if (rs == hwt_status_unsupported) {
        sequential = true;  /* cannot run side by side (memory): one by one */
      } else {
        fail(s, rs, err);
      }
    }
  }
  if (s->fatal == hwt_status_ok && sequential)
    for (size_t j = 0; j < m && !s->out->budget_exhausted; j++) measure_one(s, todo[j], level, id);
  for (size_t i = 0; i < n && s->fatal == hwt_status_ok; i++) {
    const hwt_tune_scored *e = &s->out->all[idx[i]];
    ok[i] = e->measured && e->race == id;
  }
  for (size_t j = 0; j < m; j++) done += s->out->all[todo[j]].measured && s->out->all[todo[j]].race == id;
  if (done) s->last_race = id;
  free(todo);
  free(cands);
  free(meas);
  free(st);
  return done;
}

/* The decision: among the entries of the final race (else the last race that measured anything). */
static hwt_status finish(search *s) {
  hwt_tune_outcome *o = s->out;
  if (s->fatal != hwt_status_ok) return s->fatal;
  unsigned race = s->final_race ? s->final_race : s->last_race;
  hwt_tune_scored *pool = malloc((o->nall ? o->nall : 1) * sizeof *pool);
  if (!pool) return hwt_status_out_of_memory;
  size_t n = 0;
  for (size_t i = 0; i < o->nall; i++)
    if (o->all[i].measured && o->all[i].race == race) pool[n++] = o->all[i];
  size_t ru;
  size_t c = race ? hwt_tune_choose(pool, n, &ru) : SIZE_MAX;
  o->ok = c != SIZE_MAX;
  o->final_race = race;
  o->has_runner_up = false;
  o->margin = 0;
  if (o->ok) {
    o->choice = pool[c];
    o->has_runner_up = ru != SIZE_MAX;
    if (o->has_runner_up) o->runner_up = pool[ru];
    if (o->has_runner_up)
      o->margin = (o->runner_up.meas.median_ns - pool[c].meas.median_ns) / pool[c].meas.median_ns;
  }
  free(pool);
  return hwt_status_ok;
}

/* A search over `out` as it is (hwt_tune_confirm continues a finished one). */
static void search_bind(search *s, const hwt_tune_problem *p, const hwt_tune_measurer *mm, hwt_tune_outcome *out,
                        char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  s->p = p;
  s->mm = mm;
  s->out = out;
  s->cap = out->nall;
  s->scale = mm->scale > 0 ? mm->scale : 1.0;
  s->err = err;
  s->errlen = errlen;
  s->fatal = hwt_status_ok;
  for (size_t i = 0; i < out->nall; i++)
    if (out->all[i].race > s->race_id) s->race_id = out->all[i].race;
}

static void init(search *s, const hwt_tune_problem *p, const hwt_tune_machine *m, const hwt_tune_measurer *mm,
                 hwt_tune_outcome *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  search_bind(s, p, mm, out, err, errlen);
  hwt_tune_candidate *space = NULL;
  if (hwt_tune_space(p, m, &space, &out->space_size) == hwt_status_ok) free(space);
}

/* Appends c to v unless it is there; returns the new count. */
static size_t put_unique(hwt_tune_candidate *v, size_t n, size_t cap, const hwt_tune_candidate *c) {
  for (size_t i = 0; i < n; i++)
    if (hwt_tune_same(&v[i], c)) return n;
  if (n < cap) v[n++] = *c;
  return n;
}

/* Indices of the measured entries of race `race`, fastest first (at most cap). */
static size_t fastest_of_race(const search *s, unsigned race, size_t *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < s->out->nall; i++) {
    const hwt_tune_scored *e = &s->out->all[i];
    if (!e->measured || e->race != race) continue;
    /* insertion into the sorted prefix */
    size_t at = n < cap ? n : cap;
    while (at > 0 && s->out->all[out[at - 1]].meas.median_ns > e->meas.median_ns) at--;
    if (at >= cap) continue;
    size_t end = n < cap ? n : cap - 1;
    for (size_t j = end; j > at; j--) out[j] = out[j - 1];
    out[at] = i;
    if (n < cap) n++;
  }
  return n;
}

#define FINALISTS 9

/* Adds the entries measured in race `race` to their final-race histories (the oldest drops out when full). */
static void note_final(search *s, unsigned race) {
  for (size_t i = 0; i < s->out->nall; i++) {
    hwt_tune_scored *e = &s->out->all[i];
    if (!e->measured || e->race != race) continue;
    if (e->nfinals == HWT_TUNE_FINALS) {
      memmove(e->finals, e->finals + 1, (HWT_TUNE_FINALS - 1) * sizeof e->finals[0]);
      memmove(e->final_ids, e->final_ids + 1, (HWT_TUNE_FINALS - 1) * sizeof e->final_ids[0]);
      e->nfinals--;
    }
    e->finals[e->nfinals] = e->meas;
    e->final_ids[e->nfinals++] = race;
  }
}

#define MAX_FINAL_RACES (FINALISTS * HWT_TUNE_FINALS)

/* The decision figures of the finalists `fin` after final race `newest`, from every final race each ran in.
 * Two things make one race mislead on this VM, and they look different:
 *  - a moment of the machine (a neighbour on the other core's host thread, its memory traffic) slows every entry
 *    on 2 threads, up to 2x, and shifts the ranking: on 4096x4096 ours and XNNPACK tied at ~1 ms in such a moment
 *    and ran 550 and 800 us outside it;
 *  - set-up luck slows or speeds one entry for the life of its set-up, +-5% even with 16 MiB of weights (eight
 *    set-ups of 1024x4096 avx2 ran 217-241 us); once a confirmation race ran avx512f on 4096x1024 at 95 us, 7%
 *    ahead of avx2 against 6% behind it in the two races before, and it was 8% behind in five checks after.
 * So each race's level is the median, over its entries, of how far the entry ran from its own median over the
 * races (one lucky entry does not move it); races more than 8% above the quietest level are a slow moment and
 * drop out (the quiet state is the one the machine is in most of the time, and ours is never slower in the other).
 * Each entry's figure is then its median over the races kept (two: their geometric mean, medians and CI bounds),
 * so one lucky set-up among three races does not decide. Entries not in race `newest` drop out of the decision;
 * the others are marked as of race `newest`, which the decision then uses. */
static void decide_finals(search *s, const hwt_tune_candidate *fin, size_t nf, unsigned newest) {
  size_t ent[FINALISTS];
  double center[FINALISTS];
  size_t ne = 0;
  for (size_t i = 0; i < nf; i++) {
    const hwt_tune_scored *e = find(s, &fin[i]);
    if (!e || !e->measured || e->race != newest) continue;  /* note_final put race `newest` in its history */
    double lv[HWT_TUNE_FINALS];
    for (unsigned k = 0; k < e->nfinals; k++) lv[k] = log(e->finals[k].median_ns);
    center[ne] = hwt_stats_median(lv, e->nfinals);
    ent[ne++] = (size_t)(e - s->out->all);
  }
  unsigned ids[MAX_FINAL_RACES];
  double level[MAX_FINAL_RACES];
  size_t nr = 0;
  for (size_t j = 0; j < ne; j++) {
    const hwt_tune_scored *e = &s->out->all[ent[j]];
    for (unsigned k = 0; k < e->nfinals; k++) {
      size_t r = 0;
      while (r < nr && ids[r] != e->final_ids[k]) r++;
      if (r == nr && nr < MAX_FINAL_RACES) ids[nr++] = e->final_ids[k];
    }
  }
  double lowest = INFINITY;
  for (size_t r = 0; r < nr; r++) {
    double d[FINALISTS];
    size_t nd = 0;
    for (size_t j = 0; j < ne; j++) {
      const hwt_tune_scored *e = &s->out->all[ent[j]];
      for (unsigned k = 0; k < e->nfinals; k++)
        if (e->final_ids[k] == ids[r]) d[nd++] = log(e->finals[k].median_ns) - center[j];
    }
    level[r] = nd ? hwt_stats_median(d, nd) : INFINITY;
    if (level[r] < lowest) lowest = level[r];
  }
  for (size_t j = 0; j < ne; j++) {
    hwt_tune_scored *e = &s->out->all[ent[j]];
    hwt_tune_measurement kept[HWT_TUNE_FINALS];
    size_t nk = 0;
    for (unsigned k = 0; k < e->nfinals; k++) {
      size_t r = 0;
      while (r < nr && ids[r] != e->final_ids[k]) r++;
      if (r < nr && level[r] - lowest < log(1.08)) kept[nk++] = e->finals[k];
    }
    if (nk == 0) {
      e->race = 0;
      continue;
    }
    /* sorted by median: the middle one (two middle ones: their geometric mean) */
    for (size_t a = 1; a < nk; a++)
      for (size_t b = a; b > 0 && kept[b - 1].median_ns > kept[b].median_ns; b--) {
        hwt_tune_measurement t = kept[b];
        kept[b] = kept[b - 1];
        kept[b - 1] = t;
      }
    hwt_tune_measurement m = kept[(nk - 1) / 2];
    if (nk % 2 == 0) {
      const hwt_tune_measurement *x = &kept[nk / 2 - 1], *y = &kept[nk / 2];
      m.median_ns = sqrt(x->median_ns * y->median_ns);
      m.ci_low_ns = sqrt(x->ci_low_ns * y->ci_low_ns);
      m.ci_high_ns = sqrt(x->ci_high_ns * y->ci_high_ns);
    }
    m.samples = 0;
    m.elapsed_s = 0;
    for (size_t k = 0; k < nk; k++) {
      if (kept[k].p99_ns > m.p99_ns) m.p99_ns = kept[k].p99_ns;
      m.samples += kept[k].samples;
      m.elapsed_s += kept[k].elapsed_s;
    }
    e->meas = m;
    e->race = newest;
  }
}

/* Races `fin` at the final precision (fresh set-ups) and re-decides from all their final races; the id of the race
 * the decision uses (prev when this race measured nothing). */
static unsigned final_race_once(search *s, const hwt_tune_candidate *fin, size_t nf, unsigned prev) {
  size_t idx[FINALISTS];
  bool ok[FINALISTS];
  if (race_set(s, fin, nf, 2, idx, ok) == 0) return prev;
  note_final(s, s->last_race);
  decide_finals(s, fin, nf, s->last_race);
  return s->last_race;
}

/* The final race, twice when the budget allows. */
static void final_races(search *s, const hwt_tune_candidate *fin, size_t nf) {
  s->final_race = final_race_once(s, fin, nf, 0);
  if (s->final_race == 0 || s->out->budget_exhausted || s->fatal != hwt_status_ok) return;
  s->final_race = final_race_once(s, fin, nf, s->final_race);
}

#define EXHAUSTIVE_GROUP 16

hwt_status hwt_tune_exhaustive(const hwt_tune_problem *p, const hwt_tune_machine *m, const hwt_tune_measurer *mm,
                               hwt_tune_outcome *out, char *err, size_t errlen) {
  search s;
  init(&s, p, m, mm, out, err, errlen);
  hwt_tune_candidate *space = NULL;
  size_t n = 0;
  hwt_status st = hwt_tune_space(p, m, &space, &n);
  if (st != hwt_status_ok) return st;
  out->space_size = n;
  /* Each group races with the same anchor (XNNPACK, 1 thread): speeds relative to it compare across groups, which
   * each had their own moment of the machine. rel[entry] = median / the anchor's median in its group. */
  const hwt_tune_candidate anchor = {.impl = hwt_bench_xnnpack, .threads = 1, .default_blocking = true};
  double *rel = malloc((n + 1) * sizeof *rel);
  hwt_tune_candidate group[EXHAUSTIVE_GROUP + 1];
  size_t idx[EXHAUSTIVE_GROUP + 1];
  bool ok[EXHAUSTIVE_GROUP + 1];
  if (!rel) {
    free(space);
    return hwt_status_out_of_memory;
  }
  for (size_t i = 0; i < n && s.fatal == hwt_status_ok && !out->budget_exhausted; i += EXHAUSTIVE_GROUP) {
    size_t k = n - i < EXHAUSTIVE_GROUP ? n - i : EXHAUSTIVE_GROUP;
    memcpy(group, &space[i], k * sizeof *group);
    group[k++] = anchor;
    race_set(&s, group, k, 2, idx, ok);
    double a = ok[k - 1] ? out->all[idx[k - 1]].meas.median_ns : 0;
    for (size_t j = 0; j < k; j++)
      if (ok[j] && idx[j] <= n) rel[idx[j]] = a > 0 ? out->all[idx[j]].meas.median_ns / a : out->all[idx[j]].meas.median_ns;
  }
  /* The eight fastest relative to the anchor, and the simplest, side by side. */
  if (s.fatal == hwt_status_ok && !out->budget_exhausted) {
    size_t order[FINALISTS];
    size_t no = 0;
    for (size_t i = 0; i < out->nall && i <= n; i++) {
      if (!out->all[i].measured) continue;
      size_t at = no < FINALISTS - 1 ? no : FINALISTS - 1;
      while (at > 0 && rel[order[at - 1]] > rel[i]) at--;
      if (at >= FINALISTS - 1) continue;
      size_t end = no < FINALISTS - 1 ? no : FINALISTS - 2;
      for (size_t j = end; j > at; j--) order[j] = order[j - 1];
      order[at] = i;
      if (no < FINALISTS - 1) no++;
    }
    hwt_tune_candidate fin[FINALISTS];
    size_t nf = 0;
    for (size_t i = 0; i < no; i++) nf = put_unique(fin, nf, FINALISTS, &out->all[order[i]].cand);
    nf = put_unique(fin, nf, FINALISTS, &anchor);
    final_races(&s, fin, nf);
  }
  free(rel);
  free(space);
  return finish(&s);
}

/* Whether our GEMM plans (with a blocking to refine) run p, and their family. */
static bool own_gemm(const hwt_tune_problem *p, const hwt_tune_machine *m, hwt_gemm_family *fam) {
  hwt_bench_own_caps_t caps;
  bool g = hwt_tune_own_caps(p, m, &caps) && caps.gemm;
  if (fam) *fam = g ? caps.family : (hwt_bench_op_is_qs8(p->op) ? hwt_gemm_qs8 : hwt_gemm_f32);
  return g;
}

/* The structural candidates: at the analytical thread count XNNPACK and each own ISA (analytical blocking); at the
 * other thread counts of {1, analytical, all} XNNPACK alone, as the probe of whether that count pays (the best own
 * ISA joins it at more threads when it does; the refined choice runs at fewer threads in the final race). */
static size_t start_set(const hwt_tune_problem *p, const hwt_tune_machine *m, hwt_tune_candidate *start,
                        unsigned *ta_out) {
  unsigned usable = m->usable_cpus ? m->usable_cpus : 1;
  hwt_bench_own_caps_t caps;
  bool own = hwt_tune_own_caps(p, m, &caps);
  unsigned ta = hwt_tune_analytical_threads(p, usable);
  unsigned threads[3];
  size_t nthreads = 0;
  threads[nthreads++] = ta;
  if (ta > 1) threads[nthreads++] = 1;
  if (usable > 1 && usable != ta && hwt_tune_threads_may_pay(p)) threads[nthreads++] = usable;
  size_t nstart = 0;
  for (size_t t = 0; t < nthreads; t++) {
    start[nstart++] = (hwt_tune_candidate){.impl = hwt_bench_xnnpack, .threads = threads[t], .default_blocking = true};
    for (int i = 0; own && t == 0 && i < hwt_isa_count; i++) {
      if (!caps.isa[i]) continue;
      hwt_tune_candidate c = {.impl = hwt_bench_own, .isa = (hwt_isa)i, .threads = threads[t],
                              .default_blocking = true};
      if (caps.gemm)
        c.blocking = hwt_tune_clamp_blocking(p, p->op, (hwt_isa)i,
                                             hwt_tune_analytical_blocking(p, caps.family, (hwt_isa)i, &m->cache));
      start[nstart++] = c;
    }
  }
  if (ta_out) *ta_out = ta;
  return nstart;
}

#define MAX_START (3 * (1 + hwt_isa_count))

/* The plan of a search over a start set of n, as counted in 60 s runs of the MLP shapes (n = 4): the first start
 * round holds all n, the second the ~60% left; gemm refines in ~4 races of ~2.3 entries (a second ISA's KC adds
 * one or two); the final race, run twice, holds the start set and one or two refined configurations. */
#define PLAN_SECOND_ROUND 0.6
#define PLAN_REFINE_RACES 4.0
#define PLAN_REFINE_ENTRIES 2.3

static double plan_finalists(size_t n) { return (double)(n + 1 < FINALISTS ? n + 1 : FINALISTS); }

double hwt_tune_planned_setups(const hwt_tune_problem *p, const hwt_tune_machine *m) {
  hwt_tune_candidate start[MAX_START];
  size_t n = start_set(p, m, start, NULL);
  bool gemm = own_gemm(p, m, NULL);
  return (1.0 + PLAN_SECOND_ROUND) * (double)n + (gemm ? PLAN_REFINE_RACES * PLAN_REFINE_ENTRIES : 0.0) +
         2.0 * plan_finalists(n);
}

double hwt_tune_planned_s(const hwt_tune_problem *p, const hwt_tune_machine *m) {
  hwt_tune_candidate start[MAX_START];
  size_t n = start_set(p, m, start, NULL);
  bool gemm = own_gemm(p, m, NULL);
  return (double)n * (level_max_s[0] + PLAN_SECOND_ROUND * level_max_s[1]) +
         (gemm ? PLAN_REFINE_RACES * PLAN_REFINE_ENTRIES * level_max_s[1] : 0.0) +
         2.0 * plan_finalists(n) * level_max_s[2];
}

/* The step of one blocking parameter from factor f in direction `step` (x2 or x0.5), walking through steps the
 * problem clamps away; false at the grid's edge (x4 or /4 of the analytical value). */
static bool next_blocking(const search *s, hwt_bench_op op, const hwt_tune_candidate *cur, hwt_gemm_blocking a,
                          const double *fx, int param, double step, hwt_tune_candidate *c, double *f_out) {
  double f[3] = {fx[0], fx[1], fx[2]};
  for (;;) {
    f[param] *= step;
    if (f[param] > 4.0 || f[param] < 0.25) return false;
    hwt_gemm_blocking b = {(size_t)((double)a.mc * f[1]), (size_t)((double)a.kc * f[0]), (size_t)((double)a.nc * f[2])};
    *c = *cur;
    c->blocking = hwt_tune_clamp_blocking(s->p, op, cur->isa, b);
    c->default_blocking = false;
    if (!hwt_tune_same(c, cur)) {
      *f_out = f[param];
      return true;
    }
  }
}

/* A refinement step is taken only when it ran at least this much faster than the current configuration in their
 * race: smaller gains are within the noise of one race (1024x1024 walked KC 1024 -> 512 -> 256 and NC 960 -> 480
 * on gains of 0.7-1.9%, and ended 6% slower than where it started, in both final races). Such a step is a near
 * miss instead, and so the closest of them still gets its final race; a gain this small is within the 3% the
 * tuner answers for. */
#define STEP_GAIN 0.02

/* Entry `lost` lost a refinement race to `won`: kept as a near miss when within NEAR_MISS of it. */
static void note_near_miss(search *s, size_t lost, size_t won) {
  double r = s->out->all[lost].meas.median_ns / s->out->all[won].meas.median_ns;
  hwt_isa isa = s->out->all[lost].cand.isa;
  if (r < NEAR_MISS && (s->near_ratio[isa] == 0 || r < s->near_ratio[isa])) {
    s->near_miss[isa] = lost;
    s->near_ratio[isa] = r;
  }
}

/* Coordinate descent over the blocking of entry `idx` (KC, then MC, then NC; the first `nparams` of them), each step
 * raced against the current configuration at level 1: the first step tries x2 and x0.5 of the analytical value,
 * then the walk goes on that way while each step wins. Returns the entry of the refined configuration. */
static size_t refine(search *s, const hwt_tune_machine *m, size_t idx, int nparams) {
  hwt_tune_outcome *out = s->out;
  hwt_bench_op op = s->p->op;
  hwt_tune_candidate cur = out->all[idx].cand;
  size_t at[3];
  bool ok[3];
  hwt_gemm_family fam;
  own_gemm(s->p, m, &fam);
  hwt_gemm_blocking a = hwt_tune_analytical_blocking(s->p, fam, cur.isa, &m->cache);
  double fx[3] = {1.0, 1.0, 1.0}; /* current factor of kc, mc, nc relative to the analytical value */
  for (int param = 0; param < nparams && !out->budget_exhausted && s->fatal == hwt_status_ok; param++) {
    hwt_tune_candidate c[3];
    double fnew[3] = {0, 0, 0};
    size_t k = 0;
    c[k++] = cur;
    double f;
    if (next_blocking(s, op, &cur, a, fx, param, 2.0, &c[k], &f)) fnew[k++] = f;
    if (next_blocking(s, op, &cur, a, fx, param, 0.5, &c[k], &f)) fnew[k++] = f;
    if (k == 1) continue;
    if (race_set(s, c, k, 1, at, ok) == 0) break;
    size_t best = 0;
    for (size_t j = 1; j < k; j++)
      if (ok[j] && (!ok[best] || out->all[at[j]].meas.median_ns < out->all[at[best]].meas.median_ns)) best = j;
    if (best != 0 && ok[0] && ok[best] &&
        out->all[at[best]].meas.median_ns > (1.0 - STEP_GAIN) * out->all[at[0]].meas.median_ns)
      best = 0;  /* not by enough: the step below becomes a near miss */
    for (size_t j = 0; j < k; j++)
      if (j != best && ok[j] && ok[best]) note_near_miss(s, at[j], at[best]);
    if (best == 0 || !ok[0]) continue;
    double step = fnew[best] > fx[param] ? 2.0 : 0.5;
    cur = c[best];
    idx = at[best];
    fx[param] = fnew[best];
    /* Keep walking that way while each step beats the current one side by side. */
    for (;;) {
      hwt_tune_candidate pair[2] = {cur};
      if (!next_blocking(s, op, &cur, a, fx, param, step, &pair[1], &f)) break;
      if (race_set(s, pair, 2, 1, at, ok) < 2) break;
      if (!(out->all[at[1]].meas.median_ns < (1.0 - STEP_GAIN) * out->all[at[0]].meas.median_ns)) {
        note_near_miss(s, at[1], at[0]);
        break;
      }
      note_near_miss(s, at[0], at[1]);
      cur = pair[1];
      idx = at[1];
      fx[param] = f;
    }
  }
  return idx;
}

/* The fastest start-set measurement of an own ISA (its index in *at when not NULL); 0 when it has none. */
static double start_median_of_isa(const search *s, const hwt_tune_candidate *start, size_t nstart, const size_t *sidx,
                                  hwt_isa isa, size_t *at) {
  size_t b = SIZE_MAX;
  for (size_t i = 0; i < nstart; i++)
    if (start[i].impl == hwt_bench_own && start[i].isa == isa && sidx[i] != SIZE_MAX &&
        s->out->all[sidx[i]].measured &&
        (b == SIZE_MAX || s->out->all[sidx[i]].meas.median_ns < s->out->all[b].meas.median_ns))
      b = sidx[i];
  if (at) *at = b;
  return b == SIZE_MAX ? 0 : s->out->all[b].meas.median_ns;
}

/* The measured start-set XNNPACK entry on `threads` threads (its index in out->all), SIZE_MAX when none. */
static size_t xnn_start(const search *s, const hwt_tune_candidate *start, size_t nstart, const size_t *sidx,
                        unsigned threads) {
  for (size_t i = 0; i < nstart; i++)
    if (start[i].impl == hwt_bench_xnnpack && start[i].threads == threads && sidx[i] != SIZE_MAX &&
        s->out->all[sidx[i]].measured)
      return sidx[i];
  return SIZE_MAX;
}

/* After the first start round: at each thread count above the analytical one where XNNPACK ran at least 3% faster
 * than at the analytical count (more threads pay), the fastest own start configuration joins the start set on
 * that count. Returns how many joined. */
static size_t add_probed_threads(search *s, hwt_tune_candidate *start, size_t *nstart, bool *alive, size_t *sidx,
                                 unsigned ta) {
  const hwt_tune_scored *all = s->out->all;
  size_t own = SIZE_MAX, n0 = *nstart, added = 0;
  for (size_t i = 0; i < n0; i++)
    if (start[i].impl == hwt_bench_own && start[i].threads == ta && sidx[i] != SIZE_MAX && all[sidx[i]].measured &&
        (own == SIZE_MAX || all[sidx[i]].meas.median_ns < all[sidx[own]].meas.median_ns))
      own = i;
  size_t xa = xnn_start(s, start, n0, sidx, ta);
  if (xa == SIZE_MAX || own == SIZE_MAX) return 0;
  for (size_t i = 0; i < n0 && *nstart < MAX_START; i++) {
    if (start[i].impl != hwt_bench_xnnpack || start[i].threads <= ta) continue;
    size_t xt = xnn_start(s, start, n0, sidx, start[i].threads);
    if (xt == SIZE_MAX || all[xt].meas.median_ns > all[xa].meas.median_ns * 0.97) continue;
    hwt_tune_candidate c = start[own];
    c.threads = start[i].threads;
    start[*nstart] = c;
    alive[*nstart] = true;
    sidx[*nstart] = SIZE_MAX;
    (*nstart)++;
    added++;
  }
  return added;
}

hwt_status hwt_tune_search(const hwt_tune_problem *p, const hwt_tune_machine *m, const hwt_tune_measurer *mm,
                           hwt_tune_outcome *out, char *err, size_t errlen) {
  search s;
  init(&s, p, m, mm, out, err, errlen);
  hwt_gemm_family gfam;
  bool gemm = own_gemm(p, m, &gfam);
  hwt_tune_candidate start[MAX_START], cands[MAX_START];
  unsigned ta = 1;
  size_t nstart = start_set(p, m, start, &ta);
  bool alive[MAX_START], ok[MAX_START];
  size_t idx[MAX_START], map[MAX_START], sidx[MAX_START];
  for (size_t i = 0; i < nstart; i++) {
    alive[i] = true;
    sidx[i] = SIZE_MAX;
  }

  /* ---- the start set races in two rounds; what cannot win drops out ---- */
  unsigned start_race = 0;
  for (int level = 0; level < 2; level++) {
    size_t k = 0;
    for (size_t i = 0; i < nstart; i++)
      if (alive[i]) {
        map[k] = i;
        cands[k++] = start[i];
      }
    size_t done = race_set(&s, cands, k, level, idx, ok);
    if (s.fatal != hwt_status_ok) return s.fatal;
    if (done) start_race = s.last_race;
    for (size_t j = 0; j < k; j++) {
      sidx[map[j]] = idx[j];
      if (!ok[j]) alive[map[j]] = false;
    }
    if (out->budget_exhausted || done == 0) break;
    size_t best = SIZE_MAX, nalive = 0;
    for (size_t i = 0; i < nstart; i++)
      if (alive[i] && (best == SIZE_MAX || out->all[sidx[i]].meas.median_ns < out->all[sidx[best]].meas.median_ns))
        best = i;
    for (size_t i = 0; i < nstart; i++) {
      if (!alive[i]) continue;
      if (out->all[sidx[i]].meas.ci_low_ns > out->all[sidx[best]].meas.ci_high_ns * (1.0 + level_margin[level]))
        alive[i] = false;
      else nalive++;
    }
    if (level == 0) nalive += add_probed_threads(&s, start, &nstart, alive, sidx, ta);
    if (nalive == 1) break;
  }

  /* The two fastest of the last start round, noted now: the refinement races them again, and an entry keeps
   * only its last race (1024x4096: avx512f at KC = K, the exhaustive search's choice, lost its first refinement
   * step by 2.7% and so dropped out of the final race). */
  size_t top[2];
  size_t ntop = start_race ? fastest_of_race(&s, start_race, top, 2) : 0;

  /* ---- blocking refinement of the best own configuration still in the race, each step raced. A second ISA
   * within 5% of it in the last start round gets its KC refined too: the best KC differs by ISA (4096x1024 here:
   * avx512f ran best at KC = K, and 8-14% slower than avx2 at KC = K/4, where avx2 ran best), while NC (the task
   * size of a GEMV) and MC follow the problem and the caches more than the vector width. ---- */
  size_t cur_idx = SIZE_MAX, second_idx = SIZE_MAX;
  /* the weights stream from beyond L2 (the second ISA's refinement, and the refined blocking on other ISAs) */
  const bool streams = gemm && (double)p->n * (double)p->k * (hwt_bench_op_is_qs8(p->op) ? 1.0 : 4.0) >
                                   (double)m->cache.l2;
  if (gemm && !out->budget_exhausted) {
    for (size_t i = 0; i < nstart; i++)
      if (alive[i] && start[i].impl == hwt_bench_own && sidx[i] != SIZE_MAX &&
          (cur_idx == SIZE_MAX || out->all[sidx[i]].meas.median_ns < out->all[cur_idx].meas.median_ns))
        cur_idx = sidx[i];
    /* Only where the weights stream from beyond L2: in L2 the ISAs' compute rates decide (10x128: both within 5%
     * at 0.1 us, where KC changes nothing). The CI of a start round does not see set-up luck, so a second ISA the
     * elimination dropped still counts. */
    if (cur_idx != SIZE_MAX && streams) {
      for (size_t i = 0; i < nstart; i++)
        if (start[i].impl == hwt_bench_own && sidx[i] != SIZE_MAX && out->all[sidx[i]].measured &&
            start[i].isa != out->all[cur_idx].cand.isa &&
            out->all[sidx[i]].meas.median_ns <= 1.05 * out->all[cur_idx].meas.median_ns &&
            (second_idx == SIZE_MAX || out->all[sidx[i]].meas.median_ns < out->all[second_idx].meas.median_ns))
          second_idx = sidx[i];
    }
    if (cur_idx != SIZE_MAX) cur_idx = refine(&s, m, cur_idx, 3);
    if (second_idx != SIZE_MAX && !out->budget_exhausted && s.fatal == hwt_status_ok)
      second_idx = refine(&s, m, second_idx, 1);
    if (s.fatal != hwt_status_ok) return s.fatal;
  }

  /* ---- the final race: every finalist measured side by side at the final precision; the rule picks ---- */
  if (!out->budget_exhausted) {
    hwt_tune_candidate fin[FINALISTS];
    size_t nf = 0;
    hwt_tune_candidate simplest = {.impl = hwt_bench_xnnpack, .threads = 1, .default_blocking = true};
    /* first the simple choices, which the rule needs whatever else fits: XNNPACK on 1 thread and the fastest
     * XNNPACK of the last start round */
    nf = put_unique(fin, nf, FINALISTS, &simplest);
    size_t bx = SIZE_MAX;
    for (size_t i = 0; i < out->nall; i++)
      if (out->all[i].measured && out->all[i].race == start_race && out->all[i].cand.impl == hwt_bench_xnnpack &&
          (bx == SIZE_MAX || out->all[i].meas.median_ns < out->all[bx].meas.median_ns))
        bx = i;
    if (bx != SIZE_MAX) nf = put_unique(fin, nf, FINALISTS, &out->all[bx].cand);
    if (cur_idx != SIZE_MAX) {
      hwt_tune_candidate c = out->all[cur_idx].cand;
      nf = put_unique(fin, nf, FINALISTS, &c);
      /* the refined configuration on the start set's smaller thread counts: the simpler choice gets its chance,
       * unless XNNPACK ran 1.3x slower on that count than on the refined one's (threads plainly pay) */
      size_t xc = xnn_start(&s, start, nstart, sidx, c.threads);
      for (size_t t = 0; t < nstart; t++) {
        if (start[t].impl != hwt_bench_xnnpack || start[t].threads >= c.threads) continue;
        size_t xt = xnn_start(&s, start, nstart, sidx, start[t].threads);
        if (xc != SIZE_MAX && xt != SIZE_MAX && out->all[xt].meas.median_ns > 1.3 * out->all[xc].meas.median_ns)
          continue;
        hwt_tune_candidate fewer = c;
        fewer.threads = start[t].threads;
        nf = put_unique(fin, nf, FINALISTS, &fewer);
      }
    }
    /* the second ISA's refined configuration, and every other own ISA by its fastest start-set configuration if
     * within 15% of the refined one's start figure: a rough start round may have misjudged which ISA to refine,
     * and the final race, at full precision, gets to correct that */
    double own_start = cur_idx != SIZE_MAX ? start_median_of_isa(&s, start, nstart, sidx, out->all[cur_idx].cand.isa,
                                                                 NULL)
                                           : 0;
    if (second_idx != SIZE_MAX) nf = put_unique(fin, nf, FINALISTS, &out->all[second_idx].cand);
    /* each refined ISA's closest near miss: a step that lost by less than 3% at level 1 (+-3% per race at 16 MiB
     * here) gets its final race; 4096x1024 avx2: KC 512 is 3% faster than KC 1024 over eight races, and lost the
     * step 1.011 to 1 in one. One per ISA: with one place in all, avx2's KC 256 (lost 1.011 to KC 512; the
     * exhaustive best, 3% ahead of KC 512 in the checks) gave way to an avx512f NC step that lost 0.99 to 1. Near
     * misses were measured already: they cost the final race time, not configurations. */
    for (int isa = 0; isa < hwt_isa_count; isa++)
      if (s.near_ratio[isa] > 0) nf = put_unique(fin, nf, FINALISTS, &out->all[s.near_miss[isa]].cand);
    /* the refined blocking on every other SIMD ISA not refined itself, where the weights stream from beyond L2:
     * which ISA is faster changes with the blocking (4096x1024: avx512f ran 5-15% ahead of avx2 at the start's
     * KC = K, and 4-10% behind it at KC = K/4, the best of two exhaustive references; the 60 s runs that ended
     * on avx512f missed that best by 4.7-10%) */
    if (streams && cur_idx != SIZE_MAX && out->all[cur_idx].cand.impl == hwt_bench_own) {
      const hwt_gemm_family fam = gfam;
      for (int isa = hwt_isa_scalar + 1; isa < hwt_isa_count; isa++) {
        const hwt_tune_candidate *cur = &out->all[cur_idx].cand;
        if (!m->own_isa[fam][isa] || cur->isa == (hwt_isa)isa) continue;
        if (second_idx != SIZE_MAX && out->all[second_idx].cand.isa == (hwt_isa)isa) continue;
        hwt_tune_candidate t = *cur;
        t.isa = (hwt_isa)isa;
        t.blocking = hwt_tune_clamp_blocking(p, p->op, t.isa, cur->blocking);
        t.default_blocking = false;
        nf = put_unique(fin, nf, FINALISTS, &t);
      }
    }
    for (int isa = 0; gemm && cur_idx != SIZE_MAX && isa < hwt_isa_count; isa++) {
      if (out->all[cur_idx].cand.isa == (hwt_isa)isa) continue;
      if (second_idx != SIZE_MAX && out->all[second_idx].cand.isa == (hwt_isa)isa) continue;
      size_t b = SIZE_MAX;
      double med = start_median_of_isa(&s, start, nstart, sidx, (hwt_isa)isa, &b);
      if (b != SIZE_MAX && med <= 1.15 * own_start) nf = put_unique(fin, nf, FINALISTS, &out->all[b].cand);
    }
    /* the two fastest of the last start round */
    for (size_t i = 0; i < ntop; i++) nf = put_unique(fin, nf, FINALISTS, &out->all[top[i]].cand);
    final_races(&s, fin, nf);
    if (s.fatal != hwt_status_ok) return s.fatal;
  }
  return finish(&s);
}

hwt_status hwt_tune_confirm(const hwt_tune_problem *p, const hwt_tune_measurer *mm, hwt_tune_outcome *o, char *err,
                            size_t errlen) {
  if (!o->ok || o->final_race == 0) return hwt_status_ok;
  search s;
  search_bind(&s, p, mm, o, err, errlen);
  hwt_tune_candidate fin[FINALISTS];
  size_t nf = 0;
  for (size_t i = 0; i < o->nall && nf < FINALISTS; i++)
    if (o->all[i].measured && o->all[i].race == o->final_race) fin[nf++] = o->all[i].cand;
  bool exhausted = o->budget_exhausted;
  o->budget_exhausted = false;
  s.final_race = final_race_once(&s, fin, nf, o->final_race);
  o->budget_exhausted = exhausted || o->budget_exhausted;
  if (s.fatal != hwt_status_ok) return s.fatal;
  return finish(&s);
}
