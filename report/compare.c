/* SPDX-License-Identifier: Apache-2.0 */
/* Pairs two result files by configuration, tests each pair for a significant change and renders the table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwt_common.h"
#include "hwt_report.h"
#include "hwt_stats.h"

const char *hwt_verdict_name(hwt_verdict v) {
  switch (v) {
    case hwt_verdict_faster: return "faster";
    case hwt_verdict_slower: return "slower";
    default: return "same";
  }
}

void hwt_compare_options_default(hwt_compare_options *o) {
  o->threshold_pct = 5;
  o->alpha = 0.05;
  o->rounds = 1000;
  o->pairing = hwt_pair_auto;
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 0x100000001b3ull;
  }
  return h;
}

static void add_warning(hwt_compare *c, const char *text) {
  char **w = realloc(c->warnings, (c->nwarnings + 1) * sizeof *w);
  if (w == NULL) return;
  c->warnings = w;
  char *copy = strdup(text);
  if (copy == NULL) return;
  c->warnings[c->nwarnings++] = copy;
}

/* Relative standard error of a result's median in log space from its summary: stored 95% CI, else the
 * large-sample standard error of a median (1.2533 * stddev / sqrt(n)). NaN when neither is stored. */
static double log_se(const hwt_result *r) {
  if (r->ci_low_ns > 0 && r->ci_high_ns > r->ci_low_ns && isfinite(r->ci_high_ns))
    return (log(r->ci_high_ns) - log(r->ci_low_ns)) / (2 * 1.959963984540054);
  if (r->ci_low_ns > 0 && r->ci_high_ns == r->ci_low_ns) return 0;
  if (r->stddev_ns >= 0 && r->samples >= 2) return 1.2533 * r->stddev_ns / sqrt((double)r->samples) / r->median_ns;
  return NAN;
}

static void judge(hwt_compare_row *row, const hwt_compare_options *o) {
  row->change_pct = 100 * (row->ratio - 1);
  row->verdict = hwt_verdict_same;
  if (!(row->p < o->alpha)) return;
  if (row->ratio > 1 + o->threshold_pct / 100) row->verdict = hwt_verdict_slower;
  if (row->ratio < 1 - o->threshold_pct / 100) row->verdict = hwt_verdict_faster;
}

static void compare_pair(hwt_compare_row *row, const hwt_compare_options *o) {
  const hwt_result *a = row->base, *b = row->cand;
  if (a->nsamples >= 2 && b->nsamples >= 2) {
    row->method = "samples";
    row->ratio = hwt_stats_median(b->samples_ns, b->nsamples) / hwt_stats_median(a->samples_ns, a->nsamples);
    hwt_mwu u = hwt_rstat_mann_whitney(a->samples_ns, a->nsamples, b->samples_ns, b->nsamples);
    row->p = u.p;
    /* Bounded cost: about 4 million resampled values per pair (a 2 s bench run can hold 10^4-10^5 samples);
     * never fewer than 200 resamples. */
    size_t total = a->nsamples + b->nsamples;
    unsigned rounds = o->rounds;
    if ((double)rounds * (double)total > 4e6) rounds = (unsigned)(4e6 / (double)total);
    if (rounds < 200) rounds = 200;
    hwt_rstat_bootstrap_ratio(a->samples_ns, a->nsamples, b->samples_ns, b->nsamples,
                             fnv1a(row->key) ^ 0x68777475ull /* "hwtu" */, rounds, 0.95, &row->ci_low,
                             &row->ci_high);
  } else {
    row->ratio = b->median_ns / a->median_ns;
    double sa = log_se(a), sb = log_se(b);
    if (isfinite(sa) && isfinite(sb)) {
      row->method = "summary";
      double se = sqrt(sa * sa + sb * sb);
      double lr = log(row->ratio);
      if (se > 0) {
        row->p = 2 * (1 - hwt_rstat_norm_cdf(fabs(lr) / se));
      } else {
        row->p = lr == 0 ? 1 : 0;
      }
      row->ci_low = row->ratio * exp(-1.959963984540054 * se);
      row->ci_high = row->ratio * exp(1.959963984540054 * se);
    } else {
      row->method = "none";
      row->p = NAN;
      row->ci_low = row->ci_high = NAN;
    }
  }
  judge(row, o);
}

/* The implementation every result of f shares, or NULL (no results, or several implementations). */
static const char *single_impl(const hwt_results_file *f) {
  if (f->nresults == 0) return NULL;
  const char *impl = f->results[0].impl;
  for (size_t i = 1; i < f->nresults; i++)
    if (strcmp(f->results[i].impl, impl) != 0) return NULL;
  return impl;
}

/* A result under its config key (op/shape/m/t/cache), for pairing across implementations. */
typedef struct cfg_entry {
  char key[256];
  const hwt_result *r;
} cfg_entry;

static int cmp_cfg_entry(const void *x, const void *y) {
  const cfg_entry *a = x, *b = y;
  int c = strcmp(a->key, b->key);
  if (c) return c;
  return (a->r->index > b->r->index) - (a->r->index < b->r->index);
}

static int cfg_key_cmp(const void *elem, const void *key) { return strcmp(((const cfg_entry *)elem)->key, key); }

/* Config keys of f's results, sorted (file order among equal keys); *dups = results whose key an earlier one has. */
static cfg_entry *cfg_entries(const hwt_results_file *f, size_t *dups) {
  cfg_entry *e = malloc((f->nresults ? f->nresults : 1) * sizeof *e);
  if (e == NULL) return NULL;
  for (size_t i = 0; i < f->nresults; i++) {
    hwt_result_config_key(&f->results[i], e[i].key, sizeof e[i].key);
    e[i].r = &f->results[i];
  }
  if (f->nresults > 1) qsort(e, f->nresults, sizeof *e, cmp_cfg_entry);
  *dups = 0;
  for (size_t i = 1; i < f->nresults; i++)
    if (strcmp(e[i - 1].key, e[i].key) == 0) (*dups)++;
  return e;
}

/* Pairs base with cand into c (rows, only_base, only_new and the verdict counts, all reset first) by the full key
 * or, across_impl, by the config key. *nodata counts pairs without spread information. */
static hwt_status pair_results(const hwt_results_file *base, const hwt_results_file *cand, bool across_impl,
                               hwt_compare *c, size_t *nodata, size_t *dups_base, size_t *dups_new) {
  size_t nb = base->nresults, nn = cand->nresults;
  c->nrows = c->nonly_base = c->nonly_new = c->nslower = c->nfaster = c->nsame = 0;
  *nodata = *dups_base = *dups_new = 0;
  const hwt_result **sorted = NULL;
  cfg_entry *cfg_new = NULL, *cfg_base = NULL;
  bool *used = calloc(nn ? nn : 1, sizeof *used);
  if (across_impl) {
    cfg_new = cfg_entries(cand, dups_new);
    cfg_base = cfg_entries(base, dups_base);
  } else {
    sorted = malloc((nn ? nn : 1) * sizeof *sorted);
  }
  if (used == NULL || (across_impl ? (cfg_new == NULL || cfg_base == NULL) : sorted == NULL)) {
    free(used);
    free(sorted);
    free(cfg_new);
    free(cfg_base);
    return hwt_status_out_of_memory;
  }
  if (!across_impl) {
    for (size_t j = 0; j < nn; j++) sorted[j] = &cand->results[j];
    hwt_result_sort_by_key(sorted, nn);
  }
  for (size_t i = 0; i < nb; i++) {
    const hwt_result *a = &base->results[i], *b = NULL;
    char key[256];
    if (across_impl) {
      hwt_result_config_key(a, key, sizeof key);
      size_t at = hwt_lower_bound(cfg_new, nn, sizeof *cfg_new, key, cfg_key_cmp);
      if (at < nn && strcmp(cfg_new[at].key, key) == 0) b = cfg_new[at].r;
    } else {
      snprintf(key, sizeof key, "%s", a->key);
      b = hwt_result_find(sorted, nn, a->key);
    }
    if (b == NULL) {
      c->only_base[c->nonly_base++] = a;
      continue;
    }
    used[b->index] = true;
    hwt_compare_row *row = &c->rows[c->nrows++];
    memset(row, 0, sizeof *row);
    snprintf(row->key, sizeof row->key, "%s", key);
    row->base = a;
    row->cand = b;
    compare_pair(row, &c->options);
    if (strcmp(row->method, "none") == 0) (*nodata)++;
    if (row->verdict == hwt_verdict_slower) c->nslower++;
    else if (row->verdict == hwt_verdict_faster) c->nfaster++;
    else c->nsame++;
  }
  for (size_t j = 0; j < nn; j++)
    if (!used[j]) c->only_new[c->nonly_new++] = &cand->results[j];
  free(used);
  free(sorted);
  free(cfg_new);
  free(cfg_base);
  return hwt_status_ok;
}

hwt_status hwt_compare_run(const hwt_results_file *base, const hwt_results_file *cand,
                           const hwt_compare_options *opt, hwt_compare *out) {
  hwt_compare c;
  memset(&c, 0, sizeof c);
  if (opt)
    c.options = *opt;
  else
    hwt_compare_options_default(&c.options);
  size_t nb = base->nresults, nn = cand->nresults;
  c.rows = calloc(nb ? nb : 1, sizeof *c.rows);
  c.only_base = calloc(nb ? nb : 1, sizeof *c.only_base);
  c.only_new = calloc(nn ? nn : 1, sizeof *c.only_new);
  if (c.rows == NULL || c.only_base == NULL || c.only_new == NULL) {
    hwt_compare_free(&c);
    return hwt_status_out_of_memory;
  }
  size_t nodata, dups_base, dups_new;
  const char *ib = single_impl(base), *in = single_impl(cand);
  c.across_impl = c.options.pairing == hwt_pair_across_impl;
  hwt_status st = pair_results(base, cand, c.across_impl, &c, &nodata, &dups_base, &dups_new);
  if (st == hwt_status_ok && c.options.pairing == hwt_pair_auto && c.nrows == 0 && ib != NULL && in != NULL &&
      strcmp(ib, in) != 0) {
    c.across_impl = true;
    st = pair_results(base, cand, true, &c, &nodata, &dups_base, &dups_new);
  }
  if (st != hwt_status_ok) {
    hwt_compare_free(&c);
    return st;
  }
  c.base_impl = ib ? ib : "";
  c.new_impl = in ? in : "";

  char msg[1024];
  hwt_compare_context_diff(base, cand, &c);
  if (base->partial || cand->partial) {
    snprintf(msg, sizeof msg, "%s is partial (the run was interrupted): only the configurations it holds are compared",
             base->partial ? base->path : cand->path);
    add_warning(&c, msg);
  }
  if (nodata) {
    snprintf(msg, sizeof msg, "%zu pair(s) have neither samples_ns nor a confidence interval: they cannot be "
             "significant and are reported as same", nodata);
    add_warning(&c, msg);
  }
  if (c.nonly_base || c.nonly_new) {
    snprintf(msg, sizeof msg, "%zu configuration(s) only in %s, %zu only in %s: not compared", c.nonly_base,
             base->path, c.nonly_new, cand->path);
    add_warning(&c, msg);
  }
  if (c.nrows == 0) add_warning(&c, "no configuration is in both files: nothing to compare");
  for (int side = 0; c.across_impl && side < 2; side++) {
    size_t d = side ? dups_new : dups_base;
    if (d == 0) continue;
    snprintf(msg, sizeof msg, "%s: %zu result(s) share (op, shape, batch, threads, cache) with an earlier one under "
             "another implementation or ISA: across implementations only the first in the file is paired",
             side ? cand->path : base->path, d);
    add_warning(&c, msg);
  }
  for (int side = 0; side < 2; side++) {
    const hwt_results_file *f = side ? cand : base;
    size_t nw = 0;
    for (size_t i = 0; i < f->nresults; i++)
      if (f->results[i].warnings && json_array_size(f->results[i].warnings) > 0) nw++;
    if (nw) {
      snprintf(msg, sizeof msg, "%s: %zu of %zu results carry bench warnings (noise, load, cv): read those pairs "
               "with care", f->path, nw, f->nresults);
      add_warning(&c, msg);
    }
  }
  *out = c;
  return hwt_status_ok;
}

hwt_status hwt_compare_check_usable(const hwt_compare *c, const hwt_results_file *base, const hwt_results_file *cand,
                                    char *err, size_t errlen) {
  if (base->nresults == 0 && cand->nresults == 0) {
    hwt_errf(err, errlen, "%s and %s hold no results: nothing to compare", base->path, cand->path);
    return hwt_status_not_found;
  }
  if (base->nresults == 0 || cand->nresults == 0) {
    const hwt_results_file *empty = base->nresults == 0 ? base : cand;
    hwt_errf(err, errlen, "%s holds no results%s: nothing to compare it with", empty->path,
             empty->partial ? " (partial: the run was interrupted before its first configuration)" : "");
    return hwt_status_not_found;
  }
  if (c->nrows == 0) {
    hwt_errf(err, errlen, "no configuration is in both %s (%zu results, e.g. %s) and %s (%zu results, e.g. %s): "
             "nothing to compare", base->path, base->nresults, base->results[0].key, cand->path, cand->nresults,
             cand->results[0].key);
    return hwt_status_not_found;
  }
  return hwt_status_ok;
}

void hwt_compare_free(hwt_compare *c) {
  if (c == NULL) return;
  for (size_t i = 0; i < c->nwarnings; i++) free(c->warnings[i]);
  free(c->warnings);
  free(c->rows);
  free(c->only_base);
  free(c->only_new);
  memset(c, 0, sizeof *c);
}

/* ---- context differences ------------------------------------------------------------------------------------ */
static void value_text(const json_t *v, char *buf, size_t len) {
  if (v == NULL) {
    snprintf(buf, len, "absent");
  } else if (json_is_string(v)) {
    snprintf(buf, len, "'%s'", json_string_value(v));
  } else if (json_is_integer(v)) {
    snprintf(buf, len, "%lld", (long long)json_integer_value(v));
  } else if (json_is_real(v)) {
    snprintf(buf, len, "%g", json_real_value(v));
  } else if (json_is_boolean(v)) {
    snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
  } else if (json_is_null(v)) {
    snprintf(buf, len, "null");
  } else {
    char *d = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(buf, len, "%s", d ? d : "?");
    if (strlen(buf) > 60) strcpy(buf + 56, "...");
    free(d);
  }
}

/* Appends "path (A vs B)" for every differing leaf under the two values. */
static void diff_values(const char *path, const json_t *a, const json_t *b, hwt_sb *out, size_t *count) {
  if (a != NULL && b != NULL && json_equal((json_t *)a, (json_t *)b)) return;
  if (json_is_object(a) && json_is_object(b)) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)a, key, v) {
      char sub[256];
      if (snprintf(sub, sizeof sub, "%s.%s", path, key) >= (int)sizeof sub) continue;
      diff_values(sub, v, json_object_get(b, key), out, count);
    }
    json_object_foreach((json_t *)b, key, v) {
      if (json_object_get(a, key) != NULL) continue;
      char sub[256];
      if (snprintf(sub, sizeof sub, "%s.%s", path, key) >= (int)sizeof sub) continue;
      diff_values(sub, NULL, v, out, count);
    }
    return;
  }
  char ta[128], tb[128];
  value_text(a, ta, sizeof ta);
  value_text(b, tb, sizeof tb);
  hwt_sb_printf(out, "%s%s (%s vs %s)", *count ? ", " : "", path, ta, tb);
  (*count)++;
}

void hwt_compare_context_diff(const hwt_results_file *base, const hwt_results_file *cand, hwt_compare *c) {
  /* Identifying hardware fields (what the fingerprint is made of) and the toolchain; measured figures and
   * times are expected to differ and are left out. */
  static const char *const machine_keys[] = {"cpu", "isa", "isa_level", "caches", "topology", "usable.cpus",
                                             "usable.cgroup_quota_cpus", "memory.total_bytes", NULL};
  static const char *const build_keys[] = {"build.compiler", "build.c_flags", "build.build_type",
                                           "build.xnnpack_version", NULL};
  const json_t *ca = base->context, *cb = cand->context;
  hwt_sb sb = {0};
  size_t n = 0;
  for (size_t i = 0; machine_keys[i]; i++)
    diff_values(machine_keys[i], hwt_ctx_get(ca, machine_keys[i]), hwt_ctx_get(cb, machine_keys[i]), &sb, &n);
  bool fp_differs = strcmp(base->fingerprint, cand->fingerprint) != 0;
  if (fp_differs || n > 0) {
    hwt_sb msg = {0};
    if (fp_differs)
      hwt_sb_printf(&msg, "different machines: fingerprint %s vs %s", base->fingerprint[0] ? base->fingerprint : "(none)",
                    cand->fingerprint[0] ? cand->fingerprint : "(none)");
    else
      hwt_sb_printf(&msg, "same fingerprint %s but the machine description differs", base->fingerprint);
    if (n) hwt_sb_printf(&msg, "; differing fields: %s", sb.buf);
    else hwt_sb_puts(&msg, "; no identifying field differs (fingerprints from different hwtune versions?)");
    if (msg.buf) add_warning(c, msg.buf);
    hwt_sb_free(&msg);
  }
  hwt_sb_free(&sb);
  n = 0;
  for (size_t i = 0; build_keys[i]; i++)
    diff_values(build_keys[i], hwt_ctx_get(ca, build_keys[i]), hwt_ctx_get(cb, build_keys[i]), &sb, &n);
  if (n) {
    hwt_sb msg = {0};
    hwt_sb_printf(&msg, "different builds: %s", sb.buf);
    if (msg.buf) add_warning(c, msg.buf);
    hwt_sb_free(&msg);
  }
  hwt_sb_free(&sb);
}

/* ---- rendering ---------------------------------------------------------------------------------------------- */
static void fmt_p(double p, char *buf, size_t len) {
  if (!isfinite(p))
    snprintf(buf, len, "-");
  else if (p < 0.0001)
    snprintf(buf, len, "<0.0001");
  else
    snprintf(buf, len, "%.4f", p);
}

static void fmt_ci(const hwt_compare_row *r, char *buf, size_t len) {
  if (isfinite(r->ci_low) && isfinite(r->ci_high))
    snprintf(buf, len, "[%.3f, %.3f]", r->ci_low, r->ci_high);
  else
    snprintf(buf, len, "-");
}

/* "paired across implementations: base 'hwtune', new 'onnxruntime' (ratio = new / base)", or nothing. */
static void pairing_line(const hwt_compare *c, const char *prefix, hwt_sb *out) {
  if (!c->across_impl) return;
  hwt_sb_printf(out, "%spaired across implementations by (op, shape, batch, threads, cache): base '%s', new '%s'; "
                "ratio = new / base (> 1: base is faster)\n", prefix, c->base_impl[0] ? c->base_impl : "several",
                c->new_impl[0] ? c->new_impl : "several");
}

static void summary_line(const hwt_compare *c, hwt_sb *out) {
  hwt_sb_printf(out, "%zu pair(s): %zu slower, %zu faster, %zu same (slower = Mann-Whitney p < %g and change > +%g%%)\n",
                c->nrows, c->nslower, c->nfaster, c->nsame, c->options.alpha, c->options.threshold_pct);
}

static void render_console(const hwt_compare *c, const hwt_results_file *base, const hwt_results_file *cand,
                           bool color, hwt_sb *out) {
  int w = 9;
  for (size_t i = 0; i < c->nrows; i++) {
    int l = (int)strlen(c->rows[i].key);
    if (l > w) w = l;
  }
  hwt_sb_printf(out, "base: %s\nnew:  %s\n", base->path, cand->path);
  pairing_line(c, "", out);
  for (size_t i = 0; i < c->nwarnings; i++) hwt_sb_printf(out, "warning: %s\n", c->warnings[i]);
  hwt_sb_printf(out, "%-*s  %10s  %10s  %7s  %-16s  %8s  %8s  %s\n", w, "benchmark", "base", "new", "ratio",
                "95% CI", "change", "p", "verdict");
  for (size_t i = 0; i < c->nrows; i++) {
    const hwt_compare_row *r = &c->rows[i];
    char tb[32], tn[32], ci[48], p[16];
    hwt_fmt_time(r->base->median_ns, tb, sizeof tb);
    hwt_fmt_time(r->cand->median_ns, tn, sizeof tn);
    fmt_ci(r, ci, sizeof ci);
    fmt_p(r->p, p, sizeof p);
    const char *on = "", *off = "";
    if (color && r->verdict == hwt_verdict_slower) on = "\033[31m", off = "\033[0m";
    if (color && r->verdict == hwt_verdict_faster) on = "\033[32m", off = "\033[0m";
    hwt_sb_printf(out, "%-*s  %10s  %10s  %7.3f  %-16s  %+7.1f%%  %8s  %s%s%s\n", w, r->key, tb, tn, r->ratio, ci,
                  r->change_pct, p, on, r->verdict == hwt_verdict_slower ? "SLOWER" : hwt_verdict_name(r->verdict),
                  off);
  }
  summary_line(c, out);
}

static void render_md(const hwt_compare *c, const hwt_results_file *base, const hwt_results_file *cand, hwt_sb *out) {
  hwt_sb_printf(out, "### hwtune compare\n\nBase `%s`, new `%s`.\n\n", base->path, cand->path);
  if (c->across_impl) {
    pairing_line(c, "", out);
    hwt_sb_puts(out, "\n");
  }
  for (size_t i = 0; i < c->nwarnings; i++) hwt_sb_printf(out, "> **warning:** %s\n>\n", c->warnings[i]);
  if (c->nwarnings) hwt_sb_puts(out, "\n");
  hwt_sb_puts(out, "| benchmark | base | new | ratio | 95% CI | change | p | verdict |\n"
                   "|---|---:|---:|---:|---|---:|---:|---|\n");
  for (size_t i = 0; i < c->nrows; i++) {
    const hwt_compare_row *r = &c->rows[i];
    char tb[32], tn[32], ci[48], p[16];
    hwt_fmt_time(r->base->median_ns, tb, sizeof tb);
    hwt_fmt_time(r->cand->median_ns, tn, sizeof tn);
    fmt_ci(r, ci, sizeof ci);
    fmt_p(r->p, p, sizeof p);
    hwt_sb_printf(out, "| `%s` | %s | %s | %.3f | %s | %+.1f%% | %s | %s |\n", r->key, tb, tn, r->ratio, ci,
                  r->change_pct, p, r->verdict == hwt_verdict_slower ? "**slower**" : hwt_verdict_name(r->verdict));
  }
  hwt_sb_puts(out, "\n");
  summary_line(c, out);
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static void render_json(const hwt_compare *c, const hwt_results_file *base, const hwt_results_file *cand,
                        hwt_sb *out) {
  json_t *root = json_object();
  json_object_set_new(root, "schema", json_string("hwtune.compare/1"));
  json_object_set_new(root, "base", json_string(base->path));
  json_object_set_new(root, "new", json_string(cand->path));
  json_object_set_new(root, "base_fingerprint", json_string(base->fingerprint));
  json_object_set_new(root, "new_fingerprint", json_string(cand->fingerprint));
  json_object_set_new(root, "threshold_pct", json_real(c->options.threshold_pct));
  json_object_set_new(root, "alpha", json_real(c->options.alpha));
  json_object_set_new(root, "pairing", json_string(c->across_impl ? "across-impl" : "config"));
  json_t *w = json_array();
  for (size_t i = 0; i < c->nwarnings; i++) json_array_append_new(w, json_string(c->warnings[i]));
  json_object_set_new(root, "warnings", w);
  json_t *pairs = json_array();
  for (size_t i = 0; i < c->nrows; i++) {
    const hwt_compare_row *r = &c->rows[i];
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(r->key));
    json_object_set_new(o, "op", json_string(r->base->op));
    json_object_set_new(o, "impl", json_string(r->base->impl));
    json_object_set_new(o, "new_impl", json_string(r->cand->impl));
    json_object_set_new(o, "isa", json_string(r->base->isa));
    json_object_set_new(o, "shape", json_string(r->base->shape));
    json_object_set_new(o, "m", json_integer(r->base->m));
    json_object_set_new(o, "threads", json_integer(r->base->threads));
    json_object_set_new(o, "cache", json_string(r->base->cache));
    json_object_set_new(o, "base_median_ns", json_real(r->base->median_ns));
    json_object_set_new(o, "new_median_ns", json_real(r->cand->median_ns));
    json_object_set_new(o, "ratio", num_or_null(r->ratio));
    json_object_set_new(o, "ci_low", num_or_null(r->ci_low));
    json_object_set_new(o, "ci_high", num_or_null(r->ci_high));
    json_object_set_new(o, "change_pct", num_or_null(r->change_pct));
    json_object_set_new(o, "p_value", num_or_null(r->p));
    json_object_set_new(o, "method", json_string(r->method));
    json_object_set_new(o, "verdict", json_string(hwt_verdict_name(r->verdict)));
    json_array_append_new(pairs, o);
  }
  json_object_set_new(root, "pairs", pairs);
  json_t *ob = json_array(), *on = json_array();
  for (size_t i = 0; i < c->nonly_base; i++) {
    char k[256];
    hwt_result_key(c->only_base[i], k, sizeof k);
    json_array_append_new(ob, json_string(k));
  }
  for (size_t i = 0; i < c->nonly_new; i++) {
    char k[256];
    hwt_result_key(c->only_new[i], k, sizeof k);
    json_array_append_new(on, json_string(k));
  }
  json_object_set_new(root, "only_in_base", ob);
  json_object_set_new(root, "only_in_new", on);
  json_t *s = json_object();
  json_object_set_new(s, "slower", json_integer((json_int_t)c->nslower));
  json_object_set_new(s, "faster", json_integer((json_int_t)c->nfaster));
  json_object_set_new(s, "same", json_integer((json_int_t)c->nsame));
  json_object_set_new(root, "summary", s);
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  if (text) {
    hwt_sb_puts(out, text);
    hwt_sb_puts(out, "\n");
  } else {
    out->oom = true;
  }
  free(text);
  json_decref(root);
}

void hwt_compare_render(const hwt_compare *c, const hwt_results_file *base, const hwt_results_file *cand,
                        hwt_compare_format fmt, bool color, hwt_sb *out) {
  switch (fmt) {
    case hwt_cmpfmt_md: render_md(c, base, cand, out); break;
    case hwt_cmpfmt_json: render_json(c, base, cand, out); break;
    default: render_console(c, base, cand, color, out); break;
  }
}
