/* SPDX-License-Identifier: Apache-2.0 */
/* compare across implementations: hwtune's and ONNX Runtime's results of the same model pair by (op, shape, batch,
 * threads, cache), automatically when each file holds one implementation, never when the files already pair by
 * configuration; the ratio, its interval and the verdict are computed as for any pair; `hwtune report` shows the two
 * side by side. Fixtures: tests/fixtures/report/peer/ (a real `hwtune run --results` and a real run.js file). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hwt_report.h"
#include "hwt_stats.h"

#define PEER HWTUNE_FIXTURES "/report/peer"

static char dir[256];
static void make_dir(void) {
  snprintf(dir, sizeof dir, "/tmp/hwt_peercmp_XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}
static void remove_dir(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}
TestSuite(peer_compare, .init = make_dir, .fini = remove_dir, .timeout = 60);

static void load(const char *path, hwt_results_file *f) {
  char err[1024];
  cr_assert_eq(hwt_results_load(path, f, err, sizeof err), hwt_status_ok, "%s", err);
}

/* A copy of a fixture's text with every occurrence of `from` replaced by `to`, parsed under `label`. */
static void parse_edited(const char *path, const char *from, const char *to, const char *label,
                         hwt_results_file *f) {
  FILE *in = fopen(path, "rb");
  cr_assert_not_null(in);
  static char text[1 << 17], out[1 << 17];
  size_t n = fread(text, 1, sizeof text - 1, in);
  fclose(in);
  text[n] = '\0';
  size_t o = 0, lf = strlen(from), lt = strlen(to);
  for (const char *p = text; *p;) {
    if (strncmp(p, from, lf) == 0) {
      cr_assert_lt(o + lt, sizeof out);
      memcpy(out + o, to, lt);
      o += lt;
      p += lf;
    } else {
      cr_assert_lt(o + 1, sizeof out);
      out[o++] = *p++;
    }
  }
  out[o] = '\0';
  char err[1024];
  cr_assert_eq(hwt_results_parse(out, o, label, f, err, sizeof err), hwt_status_ok, "%s", err);
}

Test(peer_compare, one_impl_each_pairs_across_implementations) {
  hwt_results_file a, b;
  load(PEER "/hwtune_digits_mlp.json", &a);
  load(PEER "/ort_digits_mlp.json", &b);
  hwt_compare c;
  cr_assert_eq(hwt_compare_run(&a, &b, NULL, &c), hwt_status_ok);
  cr_assert(c.across_impl);
  cr_assert_str_eq(c.base_impl, "hwtune");
  cr_assert_str_eq(c.new_impl, "onnxruntime");
  cr_assert_eq(c.nrows, 1);
  cr_assert_eq(c.nonly_base + c.nonly_new, 0);
  const hwt_compare_row *r = &c.rows[0];
  cr_assert_str_eq(r->key, "model_f32/digits_mlp/m1/t1/warm");
  cr_assert_str_eq(r->base->impl, "hwtune");
  cr_assert_str_eq(r->cand->impl, "onnxruntime");
  cr_assert_str_eq(r->method, "samples");
  double want = hwt_stats_median(b.results[0].samples_ns, b.results[0].nsamples) /
                hwt_stats_median(a.results[0].samples_ns, a.results[0].nsamples);
  cr_assert_float_eq(r->ratio, want, 1e-12);
  cr_assert(r->ci_low <= r->ratio && r->ratio <= r->ci_high, "[%g, %g] %g", r->ci_low, r->ci_high, r->ratio);
  /* ONNX Runtime's per-call cost alone (~15 us) is far above hwtune's digits MLP at batch 1 (~1 us) */
  cr_assert_eq(r->verdict, hwt_verdict_slower);
  cr_assert_eq(hwt_compare_check_usable(&c, &a, &b, NULL, 0), hwt_status_ok);
  hwt_sb md = {0};
  hwt_compare_render(&c, &a, &b, hwt_cmpfmt_md, false, &md);
  cr_assert(strstr(md.buf, "paired across implementations by (op, shape, batch, threads, cache): base 'hwtune', new "
                           "'onnxruntime'") != NULL, "%s", md.buf);
  cr_assert(strstr(md.buf, "| `model_f32/digits_mlp/m1/t1/warm` |") != NULL, "%s", md.buf);
  hwt_sb_free(&md);
  hwt_compare_free(&c);

  /* reversed, the ratio inverts */
  cr_assert_eq(hwt_compare_run(&b, &a, NULL, &c), hwt_status_ok);
  cr_assert(c.across_impl);
  cr_assert_eq(c.nrows, 1);
  cr_assert_float_eq(c.rows[0].ratio, 1 / want, 1e-12);
  cr_assert_eq(c.rows[0].verdict, hwt_verdict_faster);
  hwt_compare_free(&c);
  hwt_results_free(&a);
  hwt_results_free(&b);
}

Test(peer_compare, config_pairing_pairs_nothing_and_is_unusable) {
  hwt_results_file a, b;
  load(PEER "/hwtune_digits_mlp.json", &a);
  load(PEER "/ort_digits_mlp.json", &b);
  hwt_compare_options o;
  hwt_compare_options_default(&o);
  cr_assert_eq(o.pairing, hwt_pair_auto);
  o.pairing = hwt_pair_config;
  hwt_compare c;
  cr_assert_eq(hwt_compare_run(&a, &b, &o, &c), hwt_status_ok);
  cr_assert_not(c.across_impl);
  cr_assert_eq(c.nrows, 0);
  cr_assert_eq(c.nonly_base, 1);
  cr_assert_eq(c.nonly_new, 1);
  char err[1024];
  cr_assert_eq(hwt_compare_check_usable(&c, &a, &b, err, sizeof err), hwt_status_not_found);
  cr_assert(strstr(err, "no configuration is in both") != NULL, "%s", err);
  hwt_compare_free(&c);
  hwt_results_free(&a);
  hwt_results_free(&b);
}

Test(peer_compare, same_impl_files_keep_config_pairing) {
  /* two hwtune runs: they pair by configuration, as before */
  hwt_results_file a, b;
  load(PEER "/hwtune_digits_mlp.json", &a);
  load(PEER "/hwtune_digits_mlp.json", &b);
  hwt_compare c;
  cr_assert_eq(hwt_compare_run(&a, &b, NULL, &c), hwt_status_ok);
  cr_assert_not(c.across_impl);
  cr_assert_eq(c.nrows, 1);
  cr_assert_str_eq(c.rows[0].key, "model_f32/hwtune/auto/digits_mlp/m1/t1/warm");
  cr_assert_eq(c.rows[0].verdict, hwt_verdict_same);
  hwt_compare_free(&c);
  hwt_results_free(&b);

  /* other threads: nothing pairs, and auto does not pair across configurations */
  parse_edited(PEER "/ort_digits_mlp.json", "\"threads\": 1", "\"threads\": 2", "ort_t2", &b);
  cr_assert_eq(hwt_compare_run(&a, &b, NULL, &c), hwt_status_ok);
  cr_assert(c.across_impl);
  cr_assert_eq(c.nrows, 0);
  cr_assert_eq(c.nonly_base, 1);
  cr_assert_eq(c.nonly_new, 1);
  hwt_compare_free(&c);
  hwt_results_free(&a);
  hwt_results_free(&b);
}

Test(peer_compare, forced_across_impl_with_two_impls_in_a_file_warns_and_pairs_the_first) {
  hwt_results_file a, b;
  load(PEER "/hwtune_digits_mlp.json", &a);
  /* a file with the ONNX Runtime result twice: as onnxruntime and as a second implementation */
  FILE *in = fopen(PEER "/ort_digits_mlp.json", "rb");
  cr_assert_not_null(in);
  static char text[1 << 17];
  size_t n = fread(text, 1, sizeof text - 1, in);
  fclose(in);
  text[n] = '\0';
  char *results = strstr(text, "\"results\": [");
  cr_assert_not_null(results);
  char *obj = strchr(results, '{');
  char *end = strrchr(text, ']');
  cr_assert(obj != NULL && end != NULL && end > obj);
  size_t objlen = (size_t)(end - obj);
  while (objlen > 0 && obj[objlen - 1] != '}') objlen--;
  static char doc[1 << 18];
  char *second = malloc(objlen + 1);
  cr_assert_not_null(second);
  memcpy(second, obj, objlen);
  second[objlen] = '\0';
  char *impl = strstr(second, "\"impl\": \"onnxruntime\"");
  char *name = strstr(second, "\"name\": \"model_f32/onnxruntime");
  cr_assert(impl != NULL && name != NULL);
  memcpy(impl, "\"impl\": \"other_rt___\"", 21);
  memcpy(name, "\"name\": \"model_f32/other_rt___", 30);
  int len = snprintf(doc, sizeof doc, "%.*s, %s%s", (int)(obj - text + objlen), text, second, obj + objlen);
  free(second);
  cr_assert_lt((size_t)len, sizeof doc);
  char err[1024];
  cr_assert_eq(hwt_results_parse(doc, (size_t)len, "two_impls", &b, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(b.nresults, 2);

  hwt_compare c;
  cr_assert_eq(hwt_compare_run(&a, &b, NULL, &c), hwt_status_ok);
  cr_assert_not(c.across_impl, "auto never pairs across when a file holds several implementations");
  cr_assert_eq(c.nrows, 0);
  hwt_compare_free(&c);

  hwt_compare_options o;
  hwt_compare_options_default(&o);
  o.pairing = hwt_pair_across_impl;
  cr_assert_eq(hwt_compare_run(&a, &b, &o, &c), hwt_status_ok);
  cr_assert(c.across_impl);
  cr_assert_str_eq(c.new_impl, "");
  cr_assert_eq(c.nrows, 1);
  cr_assert_str_eq(c.rows[0].cand->impl, "onnxruntime");
  cr_assert_eq(c.nonly_new, 1);
  bool warned = false;
  for (size_t i = 0; i < c.nwarnings; i++)
    if (strstr(c.warnings[i], "two_impls: 1 result(s) share (op, shape, batch, threads, cache)") != NULL) warned = true;
  cr_assert(warned);
  hwt_compare_free(&c);
  hwt_results_free(&a);
  hwt_results_free(&b);
}

static int run(const char *cmd) {
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void slurp(const char *file, char *buf, size_t cap) {
  buf[0] = '\0';
  FILE *f = fopen(file, "rb");
  if (f == NULL) return;
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  fclose(f);
}

Test(peer_compare, cli_json_and_report_side_by_side) {
  char cmd[2048];
  static char text[1 << 16];
  snprintf(cmd, sizeof cmd, "%s compare %s/hwtune_digits_mlp.json %s/ort_digits_mlp.json --format json --out %s/c.json "
           "2>/dev/null", HWTUNE_BINARY, PEER, PEER, dir);
  cr_assert_eq(run(cmd), 1, "ONNX Runtime is the slower one here: exit 1 as for any slower pair");
  snprintf(cmd, sizeof cmd, "%s/c.json", dir);
  slurp(cmd, text, sizeof text);
  cr_assert(strstr(text, "\"pairing\": \"across-impl\"") != NULL, "%s", text);
  cr_assert(strstr(text, "\"new_impl\": \"onnxruntime\"") != NULL, "%s", text);
  cr_assert(strstr(text, "\"name\": \"model_f32/digits_mlp/m1/t1/warm\"") != NULL, "%s", text);

  snprintf(cmd, sizeof cmd, "%s compare %s/hwtune_digits_mlp.json %s/ort_digits_mlp.json --pair config 2>%s/err",
           HWTUNE_BINARY, PEER, PEER, dir);
  cr_assert_eq(run(cmd), 2);
  snprintf(cmd, sizeof cmd, "%s compare a.json b.json --pair sideways 2>%s/err", HWTUNE_BINARY, dir);
  cr_assert_eq(run(cmd), 2);
  snprintf(cmd, sizeof cmd, "%s/err", dir);
  slurp(cmd, text, sizeof text);
  cr_assert(strstr(text, "--pair must be auto, config or across-impl, got 'sideways'") != NULL, "%s", text);

  snprintf(cmd, sizeof cmd, "%s report %s/hwtune_digits_mlp.json %s/ort_digits_mlp.json --out %s/r.md 2>/dev/null",
           HWTUNE_BINARY, PEER, PEER, dir);
  cr_assert_eq(run(cmd), 0);
  snprintf(cmd, sizeof cmd, "%s/r.md", dir);
  slurp(cmd, text, sizeof text);
  const char *h = strstr(text, "| digits_mlp | 1 | 1 | warm | hwtune | auto |");
  const char *o = strstr(text, "| digits_mlp | 1 | 1 | warm | onnxruntime | auto |");
  cr_assert(h != NULL && o != NULL && h < o, "%s", text);
  /* adjacent rows: nothing between the end of hwtune's row and onnxruntime's */
  cr_assert_eq(strchr(h, '\n') + 1, o, "%s", text);
  /* whole models are measured against ONNX Runtime: ORT median / hwtune median in hwtune's row */
  cr_assert(strstr(text, "| bound | vs ONNX Runtime |") != NULL, "%s", text);
  hwt_results_file a, b;
  load(PEER "/hwtune_digits_mlp.json", &a);
  load(PEER "/ort_digits_mlp.json", &b);
  char cell[64];
  snprintf(cell, sizeof cell, "| %.2fx |\n", b.results[0].median_ns / a.results[0].median_ns);
  const char *eol = strchr(h, '\n');
  cr_assert(eol != NULL && (size_t)(eol - h) > strlen(cell) && strncmp(eol + 1 - strlen(cell), cell, strlen(cell)) == 0,
            "%.*s does not end in %s", (int)(eol - h), h, cell);
  cr_assert(strncmp(strchr(o, '\n') - 5, "| - |", 5) == 0, "%s", o);
  hwt_results_free(&a);
  hwt_results_free(&b);
}
