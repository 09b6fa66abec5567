/* SPDX-License-Identifier: Apache-2.0 */
/* Pure statistics of the audit (line fits, soak drift, noise findings), the soak loop, --fail-on rules, and
 * process readings (memory, run-queue waits). */
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "hwt_stats.h"
#include "hwt_common.h"

void hwt_audit_linfit(const double *x, const double *y, size_t n, double *a, double *b, double *se) {
  *a = *b = *se = 0;
  if (n == 0) return;
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < n; i++) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
  }
  *b = sxx > 0 ? sxy / sxx : 0;
  *a = my - *b * mx;
  if (n >= 3 && sxx > 0) {
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
      double r = y[i] - (*a + *b * x[i]);
      ss += r * r;
    }
    *se = sqrt(ss / (double) (n - 2) / sxx);
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double median_sorted(const double *v, size_t n) { return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2; }

bool hwt_audit_theil_sen(const double *x, const double *y, size_t n, double *slope, double *intercept, double *lo,
                         double *hi) {
  *slope = *intercept = *lo = *hi = 0;
  if (n < 3 || n > 100000) return false;
  size_t npairs = n * (n - 1) / 2, k = 0;
  double *sl = malloc((npairs > n ? npairs : n) * sizeof(double));
  if (sl == NULL) return false;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (x[j] != x[i]) sl[k++] = (y[j] - y[i]) / (x[j] - x[i]);
  if (k == 0) {
    free(sl);
    return false;
  }
  qsort(sl, k, sizeof(double), cmp_double);
  double b = median_sorted(sl, k);
  /* Sen (1968): the slopes ranked (N -+ z sigma) / 2, sigma^2 = n (n-1) (2n+5) / 18 the variance of Kendall's
   * S without ties; z = 1.96 for 95% (the indices as scipy.stats.theilslopes computes them). */
  double sigma = sqrt((double) n * (double) (n - 1) * (2.0 * (double) n + 5.0) / 18.0);
  double rl = round(((double) k - 1.96 * sigma) / 2.0) - 1, ru = round(((double) k + 1.96 * sigma) / 2.0);
  *lo = sl[rl < 0 ? 0 : (size_t) rl];
  *hi = sl[ru > (double) (k - 1) ? k - 1 : (size_t) ru];
  for (size_t i = 0; i < n; i++) sl[i] = y[i] - b * x[i];
  qsort(sl, n, sizeof(double), cmp_double);
  *intercept = median_sorted(sl, n);
  *slope = b;
  free(sl);
  return true;
}

void hwt_audit_drift(const double *t_s, const double *med_ns, size_t n, double duration_s, hwt_drift *d) {
  memset(d, 0, sizeof(*d));
  double *x = malloc((n ? n : 1) * sizeof(double)), *y = malloc((n ? n : 1) * sizeof(double));
  size_t m = 0;
  for (size_t i = 0; x != NULL && y != NULL && i < n; i++)
    if (med_ns[i] > 0 && isfinite(med_ns[i]) && isfinite(t_s[i])) {
      x[m] = t_s[i];
      y[m++] = med_ns[i];
    }
  d->windows = m;
  d->span_s = m ? x[m - 1] - x[0] : 0;
  if (x == NULL || y == NULL) {
    snprintf(d->why, sizeof(d->why), "not enough memory to fit the drift");
  } else if (duration_s < HWT_SOAK_MIN_SECONDS || m < HWT_SOAK_MIN_WINDOWS) {
    snprintf(d->why, sizeof(d->why),
             "not enough data: %.1f s in %zu window%s (a drift figure needs >= %.0f s and >= %d windows)", duration_s,
             m, m == 1 ? "" : "s", HWT_SOAK_MIN_SECONDS, HWT_SOAK_MIN_WINDOWS);
  } else {
    double b, a, lo, hi;
    double level = 0;
    if (hwt_audit_theil_sen(x, y, m, &b, &a, &lo, &hi)) level = a + b * x[0];
    if (level <= 0 || d->span_s <= 0) {
      snprintf(d->why, sizeof(d->why), "no drift figure: the window medians do not give a positive level");
    } else {
      d->enough = true;
      d->change_pct = 100.0 * b * d->span_s / level;
      d->ci_lo_pct = 100.0 * lo * d->span_s / level;
      d->ci_hi_pct = 100.0 * hi * d->span_s / level;
      d->significant = d->ci_lo_pct > 0 || d->ci_hi_pct < 0;
      d->flag = d->significant && fabs(d->change_pct) > HWT_SOAK_FLAG_PCT;
    }
  }
  if (!d->enough) d->span_s = 0;
  free(x);
  free(y);
}

void hwt_soak_analyze(const hwt_soak_window *w, size_t n, double duration_s, hwt_soak_verdict *v) {
  memset(v, 0, sizeof(*v));
  double *x = malloc((n ? n : 1) * sizeof(double)), *y = malloc((n ? n : 1) * sizeof(double));
  if (x == NULL || y == NULL) {
    free(x);
    free(y);
    return;
  }
  for (int p = 0; p < 2; p++) {
    for (size_t i = 0; i < n; i++) {
      x[i] = w[i].t_s;
      y[i] = w[i].median_ns[p];
    }
    hwt_audit_drift(x, y, n, duration_s, &v->drift[p]);
  }
  if (n < 2) {
    free(x);
    free(y);
    return;
  }
  size_t ups = 0;
  for (size_t i = 0; i < n; i++) {
    x[i] = w[i].t_s / 3600.0;
    y[i] = w[i].rss_bytes / 1048576.0;
    if (i > 0 && w[i].rss_bytes > w[i - 1].rss_bytes) ups++;
  }
  double a, b, se;
  hwt_audit_linfit(x, y, n, &a, &b, &se);
  v->rss_growth_mb_h = b;
  v->rss_growth_bytes = w[n - 1].rss_bytes - w[0].rss_bytes;
  v->rss_flag = v->rss_growth_bytes > 1048576.0 && 3 * ups >= 2 * (n - 1);
  v->live_growth_bytes = w[n - 1].live_bytes - w[0].live_bytes;
  v->live_flag = v->live_growth_bytes > 0;
  free(x);
  free(y);
}


size_t hwt_audit_soak(hwt_engine *e[2], const float *in, double duration_s, double window_s, size_t windows,
                      size_t iters, hwt_soak_window *out, size_t max_windows) {
  bool by_iter = windows > 0 && iters > 0;
  if (!by_iter) {
    if (window_s <= 0) window_s = duration_s / 12.0 < 0.5 ? 0.5 : duration_s / 12.0;
    windows = (size_t) ceil(duration_s / window_s);
  }
  if (windows > max_windows) windows = max_windows;
  size_t cap = by_iter ? iters : 1u << 20;
  double *lat[2] = {malloc(cap * sizeof(double)), malloc(cap * sizeof(double))};
  float *o[2] = {NULL, NULL};
  for (int p = 0; p < 2; p++)
    if (e[p] != NULL) {
      const hwt_model *m = hwt_engine_model(e[p]);
      o[p] = malloc(hwt_engine_batch(e[p]) * hwt_model_output_size(m, 0) * sizeof(float));
    }
  size_t used = 0;
  if (lat[0] == NULL || lat[1] == NULL) goto done;
  uint64_t t0 = hwt_now_ns();
  for (size_t w = 0; w < windows; w++) {
    uint64_t ws = hwt_now_ns(), wend = ws + (uint64_t) (window_s * 1e9);
    size_t cnt[2] = {0, 0};
    for (size_t it = 0;; it++) {
      if (by_iter ? it >= iters : (hwt_now_ns() >= wend || cnt[0] >= cap || cnt[1] >= cap)) break;
      for (int p = 0; p < 2; p++) {
        if (e[p] == NULL || o[p] == NULL) continue;
        uint64_t a = hwt_now_ns();
        hwt_engine_run(e[p], in, o[p], NULL);
        lat[p][cnt[p]++] = (double) (hwt_now_ns() - a);
      }
    }
    hwt_soak_window *sw = &out[used++];
    sw->t_s = ((double) (ws - t0) + (double) (hwt_now_ns() - ws) / 2) / 1e9;
    for (int p = 0; p < 2; p++) sw->median_ns[p] = cnt[p] ? hwt_stats_median(lat[p], cnt[p]) : 0;
    sw->rss_bytes = hwt_audit_rss_bytes();
    sw->live_bytes = (double) hwt_engine_mem_stats().live_bytes;
  }
done:
  for (int p = 0; p < 2; p++) {
    free(lat[p]);
    free(o[p]);
  }
  return used;
}

/* ---- accuracy on labelled data ---- */

void hwt_audit_wilson(size_t k, size_t n, double z, double *lo, double *hi) {
  *lo = 0;
  *hi = 1;
  if (n == 0 || k > n) return;
  double nn = (double) n, p = (double) k / nn, z2 = z * z;
  double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  double half = z / (1 + z2 / nn) * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  /* exact at the ends: k = 0 has the lower limit 0, k = n the upper limit 1 (no rounding past them) */
  *lo = k == 0 ? 0.0 : fmax(0.0, centre - half);
  *hi = k == n ? 1.0 : fmin(1.0, centre + half);
}

void hwt_audit_paired_diff_ci(size_t b, size_t c, size_t n, double z, double *lo, double *hi) {
  *lo = -1;
  *hi = 1;
  if (n == 0 || b > n || c > n - b) return;
  double n2 = (double) n + 2, d = ((double) b - (double) c) / n2;
  double v = (double) (b + c) + 1 - ((double) b - (double) c) * ((double) b - (double) c) / n2;
  double sd = sqrt(v > 0 ? v : 0) / n2;
  *lo = fmax(-1.0, d - z * sd);
  *hi = fmin(1.0, d + z * sd);
}

bool hwt_audit_in_topk(const float *scores, size_t classes, size_t label, size_t k) {
  if (label >= classes || k == 0) return false;
  float s = scores[label];
  if (isnan(s)) return false;
  size_t ahead = 0; /* classes ranked before the label: higher scores, and equal ones at a lower index */
  for (size_t i = 0; i < classes && ahead < k; i++)
    if (scores[i] > s || (scores[i] == s && i < label)) ahead++;
  return ahead < k;
}

/* ---- rules ---- */
const char *const hwt_audit_metrics[] = {
    "p50_ms", "p90_ms", "p99_ms", "max_ms", "throughput", "top1_agreement", "cosine", "max_abs_err", "rss_mb",
    "alloc_mb", "drift_pct", "rss_growth_mb_h", "abnormal_failures", "single_thread_p99_ms", "top1_fp32",
    "top1_int8", "top1_drop", "top5_fp32", "top5_int8", "top5_drop", "prune_top1_drop", "prune_top1_agreement",
    "prune_speedup", NULL};

hwt_status hwt_audit_rules_parse(const char *text, hwt_rule *rules, size_t *n, char *err, size_t errlen) {
  hwt_list list;
  *n = 0;
  if (hwt_list_split(text, &list) != hwt_status_ok) {
    hwt_errf(err, errlen, "--fail-on: out of memory");
    return hwt_status_out_of_memory;
  }
  hwt_status st = hwt_status_ok;
  for (size_t i = 0; i < list.count && st == hwt_status_ok; i++) {
    const char *r = list.items[i];
    size_t k = strcspn(r, "<>");
    if (r[k] == '\0' || k == 0 || k >= sizeof(rules[0].metric) || *n >= HWT_AUDIT_MAX_RULES) {
      hwt_errf(err, errlen, "--fail-on: rule '%s' is not METRIC>VALUE or METRIC<VALUE (>=, <= too)", r);
      st = hwt_status_parse_error;
      break;
    }
    hwt_rule *ru = &rules[*n];
    memset(ru, 0, sizeof(*ru));
    memcpy(ru->metric, r, k);
    while (k > 0 && ru->metric[k - 1] == ' ') ru->metric[--k] = '\0';
    const char *op = r + strcspn(r, "<>");
    bool eq = op[1] == '=';
    ru->op = op[0] == '>' ? (eq ? hwt_rule_ge : hwt_rule_gt) : (eq ? hwt_rule_le : hwt_rule_lt);
    const char *val = op + (eq ? 2 : 1);
    while (*val == ' ') val++;
    bool known = false;
    for (size_t m = 0; hwt_audit_metrics[m]; m++) known |= strcmp(hwt_audit_metrics[m], ru->metric) == 0;
    if (!known) {
      char names[512] = "";
      for (size_t m = 0; hwt_audit_metrics[m]; m++)
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", m ? " " : "", hwt_audit_metrics[m]);
      hwt_errf(err, errlen, "--fail-on: unknown metric '%s' (known: %s)%s", ru->metric, names,
               strcmp(ru->metric, "drift_pct_h") == 0
                   ? "; drift_pct_h (%/h, extrapolated) was replaced by drift_pct: the latency change over the soak, %"
                   : "");
      st = hwt_status_parse_error;
      break;
    }
    if (!hwt_parse_double(val, &ru->value)) {
      hwt_errf(err, errlen, "--fail-on: rule '%s': '%s' is not a number", r, val);
      st = hwt_status_parse_error;
      break;
    }
    snprintf(ru->text, sizeof(ru->text), "%s", r);
    (*n)++;
  }
  hwt_list_free(&list);
  return st;
}

size_t hwt_audit_rules_apply(json_t *doc, const hwt_rule *rules, size_t n) {
  json_t *summary = json_object_get(doc, "summary"), *arr = json_array();
  size_t broken = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *v = json_object_get(summary, rules[i].metric);
    bool have = json_is_number(v);
    double x = have ? json_number_value(v) : NAN;
    bool bad = !have;
    if (have) {
      switch (rules[i].op) {
        case hwt_rule_gt: bad = x > rules[i].value; break;
        case hwt_rule_lt: bad = x < rules[i].value; break;
        case hwt_rule_ge: bad = x >= rules[i].value; break;
        case hwt_rule_le: bad = x <= rules[i].value; break;
      }
    }
    broken += bad;
    json_t *r = json_pack("{s:s,s:b}", "rule", rules[i].text, "broken", bad);
    json_object_set_new(r, "value", have ? json_real(x) : json_null());
    if (!have) json_object_set_new(r, "note", json_string("not measured in this run (counts as broken)"));
    json_array_append_new(arr, r);
  }
  json_object_set_new(doc, "rules", arr);
  return broken;
}

double hwt_audit_rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL) return 0;
  unsigned long size = 0, res = 0;
  int ok = fscanf(f, "%lu %lu", &size, &res);
  fclose(f);
  return ok == 2 ? (double) res * (double) sysconf(_SC_PAGESIZE) : 0;
}

static double status_kb(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) return 0;
  char line[256];
  double v = 0;
  size_t kl = strlen(key);
  while (fgets(line, sizeof(line), f))
    if (strncmp(line, key, kl) == 0) v = atof(line + kl);
  fclose(f);
  return v * 1024.0;
}

double hwt_audit_peak_rss_bytes(void) { return status_kb("VmHWM:"); }

/* ---- noise ---- */
void hwt_audit_phase_load(const hwt_cpu_times *t0, const hwt_cpu_times *t1, const int *cpus, size_t ncpus,
                          hwt_audit_phase_noise *p) {
  hwt_load_report r = hwt_cpu_load_all(t0, t1, cpus, ncpus, NULL, 0);
  p->load = r.all;
  p->busiest_load = r.worst;
  p->busiest_cpu = r.worst_cpu;
}

double hwt_audit_runq_share(const hwt_audit_phase_noise *p) {
  if (p->runq_wait_s < 0 || p->wall_s <= 0) return -1;
  double s = p->runq_wait_s / (p->wall_s * (double) (p->threads ? p->threads : 1));
  return s > 1 ? 1 : s;
}

size_t hwt_audit_add_finding(json_t *findings, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return json_array_append_new(findings, json_string(buf)) == 0 ? 1 : 0;
}

size_t hwt_audit_noise_findings(const hwt_audit_noise *n, json_t *findings) {
  size_t k = 0;
  for (size_t i = 0; n->load_before != NULL && i < n->ncpus; i++)
    if (n->load_before[i] >= HWT_AUDIT_LOAD_BEFORE)
      k += hwt_audit_add_finding(findings,
                       "noise: cpu%d (usable) was %.0f%% busy with other processes before the measurement (>= %.0f%%): "
                       "latencies are slower and noisier than on a quiet machine",
                       n->cpus ? n->cpus[i] : (int) i, 100 * n->load_before[i], 100 * HWT_AUDIT_LOAD_BEFORE);
  for (size_t i = 0; n->phases != NULL && i < n->nphases; i++) {
    const hwt_audit_phase_noise *p = &n->phases[i];
    if (p->load >= 0 && (p->load >= HWT_AUDIT_LOAD_DURING || p->busiest_load >= HWT_AUDIT_LOAD_BUSIEST))
      k += hwt_audit_add_finding(findings,
                       "noise: %s: other processes used %.0f%% of the usable CPUs during the measurement (cpu%d: "
                       "%.0f%%; thresholds %.0f%% / %.0f%% on one CPU)",
                       p->label, 100 * p->load, p->busiest_cpu, 100 * p->busiest_load, 100 * HWT_AUDIT_LOAD_DURING,
                       100 * HWT_AUDIT_LOAD_BUSIEST);
    double rq = hwt_audit_runq_share(p);
    if (rq >= HWT_AUDIT_RUNQ_WAIT)
      k += hwt_audit_add_finding(findings,
                       "noise: %s: this process's threads waited on a run queue %.1f%% of their time (%.1f ms over "
                       "%.2f s x %u thread%s; >= %.0f%%): another process had their CPU, or there are more threads "
                       "than free CPUs",
                       p->label, 100 * rq, 1e3 * p->runq_wait_s, p->wall_s, p->threads, p->threads == 1 ? "" : "s",
                       100 * HWT_AUDIT_RUNQ_WAIT);
  }
  for (size_t i = 0; n->checks != NULL && i < n->nchecks; i++) {
    const hwt_audit_thread_check *c = &n->checks[i];
    if (c->threads > 1 && c->single_p50_ms > 0 && c->p50_ms > c->single_p50_ms)
      k += hwt_audit_add_finding(findings,
                       "%s: %u threads are slower than one: p50 %.4g ms against %.4g ms single-threaded (%.2fx); "
                       "threads cost more than they give here (a busy or shared CPU, or too little work per layer): "
                       "run with --threads 1 or tune with `hwtune tune`",
                       c->label, c->threads, c->p50_ms, c->single_p50_ms, c->p50_ms / c->single_p50_ms);
  }
  return k;
}

unsigned long long hwt_audit_runq_wait_ns(void) {
  DIR *d = opendir("/proc/self/task");
  if (d == NULL) return 0;
  unsigned long long sum = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char path[300];
    snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", e->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL) continue; /* the thread ended meanwhile */
    unsigned long long run = 0, wait = 0;
    if (fscanf(f, "%llu %llu", &run, &wait) == 2) sum += wait;
    fclose(f);
  }
  closedir(d);
  return sum;
}
