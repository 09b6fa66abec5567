/* SPDX-License-Identifier: Apache-2.0 */
/* The audit's pure parts (percentiles, line fit, soak verdict, --fail-on rules) and the soak check against a
 * deliberately leaking engine and a constant one (iteration-based windows: no clock in the verdict). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "hwt_stats.h"

Test(audit_stats, percentiles_and_fit) {
  double v[5] = {5, 1, 4, 2, 3};
  cr_assert_float_eq(hwt_stats_quantile(v, 5, 0.5), 3.0, 1e-12);
  cr_assert_float_eq(hwt_stats_quantile(v, 5, 1.0), 5.0, 1e-12);
  cr_assert_float_eq(hwt_stats_quantile(v, 5, 0.25), 2.0, 1e-12);
  double x[4] = {0, 1, 2, 3}, y[4] = {1, 3, 5, 7}, a, b, se;
  hwt_audit_linfit(x, y, 4, &a, &b, &se);
  cr_assert_float_eq(a, 1.0, 1e-12);
  cr_assert_float_eq(b, 2.0, 1e-12);
  cr_assert_float_eq(se, 0.0, 1e-12);
}

/* n windows every `step` s; median = 1 ms x (1 + ramp x t / span) + deterministic noise of +-noise ns. */
static void windows(hwt_soak_window *w, size_t n, double step, double ramp, double rss_step, double noise) {
  double span = step * (double) (n - 1);
  for (size_t i = 0; i < n; i++) {
    w[i].t_s = step * (double) i + step / 2;
    double jitter = noise * ((double) ((i * 7919) % 13) / 6.0 - 1.0);
    w[i].median_ns[0] = 1e6 * (1.0 + ramp * step * (double) i / span) + jitter;
    w[i].median_ns[1] = 0;
    w[i].rss_bytes = 50e6 + rss_step * (double) i;
    w[i].live_bytes = 1e6;
  }
}

Test(audit_stats, theil_sen_line_and_interval) {
  double x[8] = {0, 1, 2, 3, 4, 5, 6, 7}, y[8], b, a, lo, hi;
  for (int i = 0; i < 8; i++) y[i] = 3 + 2 * x[i];
  y[5] = 1000; /* one outlier does not move a Theil-Sen line */
  cr_assert(hwt_audit_theil_sen(x, y, 8, &b, &a, &lo, &hi));
  cr_assert_float_eq(b, 2.0, 1e-12);
  cr_assert_float_eq(a, 3.0, 1e-12);
  cr_assert(lo <= 2.0 && hi >= 2.0, "CI [%g, %g]", lo, hi);
  cr_assert(!hwt_audit_theil_sen(x, y, 2, &b, &a, &lo, &hi), "2 points: no line");
  double same[4] = {1, 1, 1, 1};
  cr_assert(!hwt_audit_theil_sen(same, y, 4, &b, &a, &lo, &hi), "one distinct x: no line");
}

/* Issue 17: a 4 s soak reported "-47552 %/h (significant)". Drift is the change over what was observed, with a
 * CI, and no figure at all below the minimum duration and windows. */
Test(audit_stats, soak_drift_on_synthetic_windows) {
  hwt_soak_window w[12];
  hwt_soak_verdict v;
  windows(w, 12, 5.0, 0.0, 0.0, 1e4); /* 60 s, flat + 1% noise */
  hwt_soak_analyze(w, 12, 60.0, &v);
  cr_assert(v.drift[0].enough, "%s", v.drift[0].why);
  cr_assert(!v.drift[0].significant && !v.drift[0].flag, "flat: %+.2f%% [%+.2f, %+.2f]", v.drift[0].change_pct,
            v.drift[0].ci_lo_pct, v.drift[0].ci_hi_pct);
  cr_assert(v.drift[0].ci_lo_pct < 0 && v.drift[0].ci_hi_pct > 0);
  cr_assert(!v.rss_flag && !v.live_flag);
  cr_assert(!v.drift[1].enough, "int8 was not soaked: no figure");

  windows(w, 12, 5.0, 0.10, 0.0, 1e4); /* +10% over the 55 s between the first and last window centre */
  hwt_soak_analyze(w, 12, 60.0, &v);
  cr_assert(v.drift[0].enough && v.drift[0].significant && v.drift[0].flag, "ramp: %+.2f%% [%+.2f, %+.2f]",
            v.drift[0].change_pct, v.drift[0].ci_lo_pct, v.drift[0].ci_hi_pct);
  cr_assert_float_eq(v.drift[0].change_pct, 10.0, 2.0, /* noise of +-1% per window */ "%+.2f%%", v.drift[0].change_pct);
  cr_assert_float_eq(v.drift[0].span_s, 55.0, 1e-9);
  cr_assert(v.drift[0].ci_lo_pct < 10.0 && v.drift[0].ci_hi_pct > 10.0);

  windows(w, 12, 5.0, 0.02, 0.0, 1e3); /* +2%: significant but under the 5% bar */
  hwt_soak_analyze(w, 12, 60.0, &v);
  cr_assert(v.drift[0].significant && !v.drift[0].flag, "%+.2f%%", v.drift[0].change_pct);

  windows(w, 8, 0.5, -0.5, 0.0, 1e4); /* 4 s: a steep fall, but too short to say anything */
  hwt_soak_analyze(w, 8, 4.0, &v);
  cr_assert(!v.drift[0].enough && !v.drift[0].flag && v.drift[0].change_pct == 0);
  cr_assert(strstr(v.drift[0].why, "not enough data") != NULL, "%s", v.drift[0].why);
  windows(w, 4, 15.0, 0.5, 0.0, 1e4); /* 60 s but 4 windows */
  hwt_soak_analyze(w, 4, 60.0, &v);
  cr_assert(!v.drift[0].enough, "4 windows gave a figure");

  windows(w, 12, 600.0, 0.0, 2e6, 1e4); /* +2 MB per 10-minute window */
  hwt_soak_analyze(w, 12, 7200.0, &v);
  cr_assert(v.rss_flag, "steady RSS growth not flagged");
  cr_assert_float_eq(v.rss_growth_mb_h, 2e6 / 1048576.0 * 6, 1e-6);
}

static hwt_soak_verdict soak_engine(size_t leak) {
  char err[512];
  hwt_model *m = NULL;
  cr_assert_eq(hwt_model_gen_mlp(42, &m), hwt_status_ok);
  hwt_engine_options opt = {0};
  opt.threads = 1;
  opt.test_leak_bytes = leak;
  hwt_engine *e[2] = {NULL, NULL};
  cr_assert_eq(hwt_engine_create(m, 1, &opt, &e[0], err, sizeof(err)), hwt_status_ok, "%s", err);
  float x[784], o[10];
  hwt_model_gen_inputs(m, 1, 1, x);
  for (int i = 0; i < 3; i++) hwt_engine_run(e[0], x, o, NULL);
  hwt_soak_window w[8];
  size_t n = hwt_audit_soak(e, x, 0, 0, 8, 25, w, 8);
  cr_assert_eq(n, 8);
  hwt_soak_verdict v;
  hwt_soak_analyze(w, n, 0.0, &v);
  hwt_engine_destroy(e[0]);
  hwt_model_free(m);
  return v;
}

Test(audit_soak, leaking_engine_is_flagged) {
  hwt_soak_verdict v = soak_engine(64 * 1024); /* 64 KiB per inference: 1.6 MB per window */
  cr_assert(v.rss_flag, "RSS growth %.0f bytes not flagged", v.rss_growth_bytes);
  cr_assert(v.live_flag);
  cr_assert_float_eq(v.live_growth_bytes, 7.0 * 25 * 64 * 1024, 1.0);
}

Test(audit_soak, constant_engine_is_not_flagged) {
  hwt_soak_verdict v = soak_engine(0);
  cr_assert(!v.rss_flag, "RSS growth %.0f bytes flagged", v.rss_growth_bytes);
  cr_assert(!v.live_flag, "runtime bytes grew by %.0f", v.live_growth_bytes);
}

Test(audit_rules, parse_and_apply) {
  hwt_rule r[HWT_AUDIT_MAX_RULES];
  size_t n = 0;
  char err[512] = "";
  cr_assert_eq(hwt_audit_rules_parse("p99_ms>5, top1_agreement<0.98,rss_mb>=200", r, &n, err, sizeof(err)),
               hwt_status_ok, "%s", err);
  cr_assert_eq(n, 3);
  cr_assert_str_eq(r[1].metric, "top1_agreement");
  cr_assert_eq(r[2].op, hwt_rule_ge);
  json_t *doc = json_pack("{s:{s:f,s:f}}", "summary", "p99_ms", 7.5, "top1_agreement", 0.99);
  size_t broken = hwt_audit_rules_apply(doc, r, n); /* p99 broken, top1 ok, rss missing -> broken */
  cr_assert_eq(broken, 2);
  json_t *rules = json_object_get(doc, "rules");
  cr_assert(json_is_true(json_object_get(json_array_get(rules, 0), "broken")));
  cr_assert(json_is_false(json_object_get(json_array_get(rules, 1), "broken")));
  cr_assert_not_null(json_object_get(json_array_get(rules, 2), "note"));
  json_decref(doc);
  cr_assert_eq(hwt_audit_rules_parse("latency>5", r, &n, err, sizeof(err)), hwt_status_parse_error);
  cr_assert(strstr(err, "unknown metric 'latency'") != NULL, "%s", err);
  cr_assert_eq(hwt_audit_rules_parse("p99_ms>fast", r, &n, err, sizeof(err)), hwt_status_parse_error);
  cr_assert(strstr(err, "'fast' is not a number") != NULL, "%s", err);
  cr_assert_eq(hwt_audit_rules_parse("p99_ms", r, &n, err, sizeof(err)), hwt_status_parse_error);
  cr_assert_eq(hwt_audit_rules_parse("drift_pct_h>5", r, &n, err, sizeof(err)), hwt_status_parse_error);
  cr_assert(strstr(err, "replaced by drift_pct") != NULL, "%s", err);
  cr_assert_eq(hwt_audit_rules_parse("drift_pct>5", r, &n, err, sizeof(err)), hwt_status_ok, "%s", err);
}

/* Issue 17: the audit printed "Findings: none" while 2 threads ran p50 40 ms against 0.015 ms on one thread,
 * and did not look for other processes. The verdicts are a pure function of the readings. */
static size_t count_with(const json_t *f, const char *needle) {
  size_t i, k = 0;
  json_t *s;
  json_array_foreach(f, i, s) k += strstr(json_string_value(s), needle) != NULL;
  return k;
}

Test(audit_noise, findings_from_synthetic_readings) {
  int cpus[2] = {0, 1};
  double quiet_before[2] = {0.01, 0.05}, busy_before[2] = {0.02, 0.95};
  hwt_audit_phase_noise ph[2] = {{"fp32 batch 1 (default)", 2, 1.0, 0.02, 0.03, 1, 0.004},
                                 {"fp32 batch 1 (single thread)", 1, 0.5, -1, 0, -1, -1}};
  hwt_audit_thread_check ck[1] = {{"fp32 batch 1 default", 2, 0.010, 0.015}};
  hwt_audit_noise n = {cpus, quiet_before, 2, ph, 2, ck, 1};
  json_t *f = json_array();
  cr_assert_eq(hwt_audit_noise_findings(&n, f), 0, "quiet machine, threads pay: %s",
               json_string_value(json_array_get(f, 0)));
  cr_assert_float_eq(hwt_audit_runq_share(&ph[0]), 0.002, 1e-12);
  cr_assert_lt(hwt_audit_runq_share(&ph[1]), 0, "unknown wait stays unknown");

  n.load_before = busy_before; /* a neighbour on cpu1 before the run */
  cr_assert_eq(hwt_audit_noise_findings(&n, f), 1);
  cr_assert_eq(count_with(f, "cpu1 (usable) was 95% busy"), 1, "%s", json_string_value(json_array_get(f, 0)));
  json_array_clear(f);

  n.load_before = quiet_before;
  ph[0].load = 0.06; /* under 10% overall, but one CPU at 40% */
  ph[0].busiest_load = 0.40;
  ph[0].runq_wait_s = 0.2; /* 10% of 1 s x 2 threads */
  ck[0].p50_ms = 40.0; /* the figures */
  cr_assert_eq(hwt_audit_noise_findings(&n, f), 3);
  cr_assert_eq(count_with(f, "other processes used 6% of the usable CPUs during the measurement (cpu1: 40%"), 1);
  cr_assert_eq(count_with(f, "waited on a run queue 10.0% of their time"), 1);
  cr_assert_eq(count_with(f, "2 threads are slower than one: p50 40 ms against 0.015 ms"), 1);
  json_array_clear(f);

  ck[0].threads = 1; /* one thread against one thread: nothing to say */
  ph[0].load = ph[0].busiest_load = 0;
  ph[0].runq_wait_s = 0;
  cr_assert_eq(hwt_audit_noise_findings(&n, f), 0);
  json_decref(f);
}

/* A single-thread phase on 2 unpinned CPUs: its own ticks fill one CPU, the other is idle. That is no load from
 * other processes (the audit spread its ticks over both CPUs and reported cpu0 50% busy with other work). A
 * neighbour on the idle CPU is still seen. */
Test(audit_noise, own_ticks_on_one_cpu_are_not_a_neighbour) {
  int cpus[2] = {0, 1};
  hwt_cpu_times t0 = {0}, t1 = {0};
  t0.valid = t1.valid = true;
  t1.wall_ns = 500000000;
  t1.total[0] = t1.total[1] = 50;
  t1.busy[0] = 50;
  t1.self_ticks = 50;
  hwt_audit_phase_noise p = {0};
  hwt_audit_phase_load(&t0, &t1, cpus, 2, &p);
  cr_assert_float_eq(p.load, 0.0, 1e-9, "load %f", p.load);
  cr_assert_lt(p.busiest_load, HWT_AUDIT_LOAD_BUSIEST, "busiest cpu%d %f", p.busiest_cpu, p.busiest_load);
  t1.busy[1] = 25; /* another process takes half of cpu1 */
  hwt_audit_phase_load(&t0, &t1, cpus, 2, &p);
  cr_assert_eq(p.busiest_cpu, 1);
  cr_assert_float_eq(p.busiest_load, 0.5, 1e-9);
}
