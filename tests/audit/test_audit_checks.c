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

static void windows(hwt_soak_window *w, size_t n, double drift_per_h, double rss_step, double noise) {
  for (size_t i = 0; i < n; i++) {
    w[i].t_s = 600.0 * (double) i; /* 10-minute windows */
    double jitter = noise * ((i * 7919) % 13 / 6.0 - 1.0);
    w[i].median_ns[0] = 1e6 * (1.0 + drift_per_h * w[i].t_s / 3600.0) + jitter;
    w[i].median_ns[1] = 0;
    w[i].rss_bytes = 50e6 + rss_step * (double) i;
    w[i].live_bytes = 1e6;
  }
}

Test(audit_stats, soak_verdicts_on_synthetic_windows) {
  hwt_soak_window w[12];
  hwt_soak_verdict v;
  windows(w, 12, 0.0, 0.0, 1e4);
  hwt_soak_analyze(w, 12, &v);
  cr_assert(!v.drift_flag[0] && !v.rss_flag && !v.live_flag, "flat: drift %.2f", v.drift_pct_h[0]);
  windows(w, 12, 0.10, 0.0, 1e4); /* +10 %/h */
  hwt_soak_analyze(w, 12, &v);
  cr_assert(v.drift_flag[0], "10%%/h not flagged: %.2f", v.drift_pct_h[0]);
  cr_assert_float_eq(v.drift_pct_h[0], 10.0, 0.5);
  windows(w, 12, 0.02, 0.0, 1e3); /* +2 %/h: significant but under the 5 %/h bar */
  hwt_soak_analyze(w, 12, &v);
  cr_assert(!v.drift_flag[0] && v.drift_significant[0]);
  windows(w, 12, 0.0, 2e6, 1e4); /* +2 MB per window */
  hwt_soak_analyze(w, 12, &v);
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
  hwt_soak_analyze(w, n, &v);
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
}
