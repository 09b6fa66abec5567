/* SPDX-License-Identifier: Apache-2.0 */
/* bench's spmm_f32 op (issue 21): the pruned weights have the requested sparsity (unstructured: exactly; block:
 * whole blocks), every impl (our sparse and dense kernels, XNNPACK's sparse and dense operators) matches the
 * reference on small edge shapes, shape labels and JSON fields, and the break-even interpolation. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "bench.h"
#include "hwtune/spmm.h"

static size_t zeros(const float *w, size_t count) {
  size_t z = 0;
  for (size_t i = 0; i < count; i++) z += w[i] == 0.0f;
  return z;
}

static float *ones(size_t count) {
  float *w = malloc(count * sizeof(float));
  cr_assert_not_null(w);
  for (size_t i = 0; i < count; i++) w[i] = 1.0f + (float)(i % 7);
  return w;
}

Test(spmm_weights, unstructured_has_exactly_the_requested_zeros) {
  const size_t shapes[][2] = {{1, 1}, {1, 17}, {37, 53}, {256, 784}};
  const double sparsities[] = {0, 0.5, 0.75, 0.9, 0.95, 0.999};
  for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
    for (size_t q = 0; q < sizeof(sparsities) / sizeof(sparsities[0]); q++) {
      const size_t n = shapes[s][0], k = shapes[s][1];
      float *w = ones(n * k);
      cr_assert(hwt_bench_sparsify_f32(w, n, k, sparsities[q], 1, 1, 5));
      size_t want = (size_t)((double)(n * k) * sparsities[q] + 0.5);
      cr_assert_eq(zeros(w, n * k), want, "%zux%zu at %g: %zu zeros, want %zu", n, k, sparsities[q],
                   zeros(w, n * k), want);
      cr_assert_float_eq(hwt_sparsity_f32(w, n * k), (double)want / (double)(n * k), 1e-12);
      free(w);
    }
}

Test(spmm_weights, same_seed_same_zeros_other_seed_other_zeros) {
  float *a = ones(64 * 64), *b = ones(64 * 64), *c = ones(64 * 64);
  hwt_bench_sparsify_f32(a, 64, 64, 0.75, 1, 1, 5);
  hwt_bench_sparsify_f32(b, 64, 64, 0.75, 1, 1, 5);
  hwt_bench_sparsify_f32(c, 64, 64, 0.75, 1, 1, 6);
  cr_assert_eq(memcmp(a, b, 64 * 64 * sizeof(float)), 0);
  cr_assert_neq(memcmp(a, c, 64 * 64 * sizeof(float)), 0);
  free(a), free(b), free(c);
}

Test(spmm_weights, block_pattern_zeros_whole_blocks) {
  const uint32_t blocks[][2] = {{4, 1}, {1, 4}, {8, 1}, {2, 2}};
  for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++) {
    const uint32_t bn = blocks[b][0], bk = blocks[b][1];
    const size_t n = 30, k = 19; /* neither divisible: edge blocks are smaller */
    float *w = ones(n * k);
    cr_assert(hwt_bench_sparsify_f32(w, n, k, 0.9, bn, bk, 5));
    size_t nb = 0, zb = 0;
    for (size_t r0 = 0; r0 < n; r0 += bn)
      for (size_t c0 = 0; c0 < k; c0 += bk) {
        size_t z = 0, cnt = 0;
        for (size_t r = r0; r < r0 + bn && r < n; r++)
          for (size_t c = c0; c < c0 + bk && c < k; c++) z += w[r * k + c] == 0.0f, cnt++;
        cr_assert(z == 0 || z == cnt, "block %ux%u at (%zu, %zu) partly zero: %zu of %zu", bn, bk, r0, c0, z, cnt);
        nb++;
        zb += z == cnt;
      }
    cr_assert_eq(zb, (size_t)((double)nb * 0.9 + 0.5), "%ux%u: %zu of %zu blocks zero", bn, bk, zb, nb);
    free(w);
  }
}

Test(spmm_weights, out_of_range_sparsity_is_clamped) {
  float *w = ones(10 * 10);
  cr_assert(hwt_bench_sparsify_f32(w, 10, 10, -1, 1, 1, 5));
  cr_assert_eq(zeros(w, 100), 0);
  cr_assert(hwt_bench_sparsify_f32(w, 10, 10, 2, 1, 1, 5));
  cr_assert_eq(zeros(w, 100), 100);
  free(w);
}

Test(spmm_shapes, fc_and_1x1_conv_fit_other_convs_do_not) {
  const struct {
    const char *text;
    bool fits;
  } cases[] = {{"256x784", true},       {"14x14x96:576:k1", true}, {"7x7x320:1280:k1s1p0", true},
               {"56x56x64:64:k3s1p1", false}, {"28x28x32:64:k1s2", false}, {"28x28x32:64:k1p1", false}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    hwt_bench_shape s;
    cr_assert_eq(hwt_bench_parse_shape(cases[i].text, &s, NULL, 0), hwt_status_ok);
    char why[256] = "";
    cr_assert_eq(hwt_bench_shape_fits(hwt_bench_spmm_f32, &s, why, sizeof(why)), cases[i].fits, "%s", cases[i].text);
    if (!cases[i].fits) cr_assert(strstr(why, "1x1") != NULL, "the refusal says what fits: %s", why);
  }
  cr_assert_str_eq(hwt_bench_op_name(hwt_bench_spmm_f32), "spmm_f32");
  cr_assert(!hwt_bench_op_is_conv(hwt_bench_spmm_f32), "spmm_f32 is not one of the conv ops");
  hwt_bench_impl impl;
  cr_assert(hwt_bench_impl_from_name("own-dense", &impl) && impl == hwt_bench_own_dense);
  cr_assert(hwt_bench_impl_from_name("xnnpack-dense", &impl) && impl == hwt_bench_xnnpack_dense);
}

static hwt_bench_config spmm_cfg(hwt_bench_impl impl, const char *shape, size_t batch, double sparsity, bool block) {
  hwt_bench_config c;
  hwt_bench_config_init(&c);
  c.op = hwt_bench_spmm_f32;
  c.impl = impl;
  c.batch = batch;
  c.sparsity = sparsity;
  c.block = block;
  cr_assert_eq(hwt_bench_parse_shape(shape, &c.shape, NULL, 0), hwt_status_ok);
  return c;
}

Test(spmm_shapes, labels_and_names_carry_the_sparsity) {
  char buf[192];
  hwt_bench_config c = spmm_cfg(hwt_bench_own, "256x784", 8, 0.9, false);
  hwt_bench_config_shape(&c, buf, sizeof(buf));
  cr_assert_str_eq(buf, "256x784@sp90");
  c = spmm_cfg(hwt_bench_own_dense, "7x7x320:1280:k1", 1, 0.975, true);
  hwt_bench_config_shape(&c, buf, sizeof(buf));
  cr_assert_str_eq(buf, "7x7x320:1280:k1@sp97.5b");
  hwt_bench_config_name(&c, "avx512f", buf, sizeof(buf));
  cr_assert_str_eq(buf, "spmm_f32/own-dense/avx512f/7x7x320:1280:k1@sp97.5b/m1/t1/warm");
  hwt_bench_config g;
  hwt_bench_config_init(&g);
  cr_assert_eq(hwt_bench_parse_shape("64x64", &g.shape, NULL, 0), hwt_status_ok);
  hwt_bench_config_shape(&g, buf, sizeof(buf));
  cr_assert_str_eq(buf, "64x64", "other ops keep the plain shape");
}

static hwt_bench_session *session;

static void setup(void) {
  hwt_bench_session_options o = {.measure_peaks = false, .pin_threads = true};
  char err[512] = "";
  cr_assert_eq(hwt_bench_session_create(&o, &session, err, sizeof(err)), hwt_status_ok, "%s", err);
}

static void teardown(void) { hwt_bench_session_destroy(session); }

TestSuite(spmm_verify, .init = setup, .fini = teardown);

Test(spmm_verify, sparse_and_dense_paths_agree_with_the_reference) {
  const struct {
    const char *shape;
    size_t batch;
  } cases[] = {{"33x70", 3}, {"1x1", 1}, {"17x5", 1}, {"40x64", 37}, {"5x5x16:24:k1", 2}, {"3x7x9:33:k1", 1}};
  const double sparsities[] = {0, 0.5, 0.95, 0.99};
  const hwt_bench_impl impls[] = {hwt_bench_own, hwt_bench_own_dense, hwt_bench_xnnpack, hwt_bench_xnnpack_dense,
                                  hwt_bench_reference};
  size_t checked = 0, skipped = 0;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    for (size_t q = 0; q < sizeof(sparsities) / sizeof(sparsities[0]); q++)
      for (int block = 0; block < 2; block++)
        for (size_t m = 0; m < sizeof(impls) / sizeof(impls[0]); m++) {
          hwt_bench_config c = spmm_cfg(impls[m], cases[i].shape, cases[i].batch, sparsities[q], block);
          char err[1024] = "";
          hwt_status st = hwt_bench_verify(session, &c, err, sizeof(err));
          if (st == hwt_status_unsupported) {
            skipped++;
            continue;
          }
          cr_assert_eq(st, hwt_status_ok, "%s %s batch %zu at %g%s: %s", hwt_bench_impl_name(impls[m]),
                       cases[i].shape, cases[i].batch, sparsities[q], block ? " block" : "", err);
          checked++;
        }
  cr_assert_eq(skipped, 0, "every impl runs every case here (%zu skipped)", skipped);
  cr_assert_gt(checked, 0);
}

Test(spmm_verify, wrong_backend_is_caught_on_spmm) {
  hwt_bench_config c = spmm_cfg(hwt_bench_wrong, "48x40", 3, 0.9, false);
  char err[1024] = "";
  cr_assert_eq(hwt_bench_verify(session, &c, err, sizeof(err)), hwt_status_mismatch, "%s", err);
}

Test(spmm_verify, dense_baselines_refuse_other_ops) {
  hwt_bench_config c;
  hwt_bench_config_init(&c);
  c.impl = hwt_bench_own_dense;
  c.max_time_s = 0.01;
  cr_assert_eq(hwt_bench_parse_shape("32x32", &c.shape, NULL, 0), hwt_status_ok);
  hwt_bench_result r;
  char err[512] = "";
  cr_assert_eq(hwt_bench_measure(session, &c, &r, err, sizeof(err)), hwt_status_unsupported);
  cr_assert(strstr(err, "dense baselines") != NULL, "%s", err);
  c.impl = hwt_bench_own;
  c.sparsity = 0.5; /* a sparsity on a dense op is refused, not ignored */
  cr_assert_eq(hwt_bench_measure(session, &c, &r, err, sizeof(err)), hwt_status_invalid_argument);
}

Test(spmm_verify, result_json_has_the_sparsity_fields) {
  hwt_bench_config c = spmm_cfg(hwt_bench_own, "5x5x16:24:k1", 1, 0.75, true);
  c.max_time_s = 0.01;
  c.min_samples = 2;
  hwt_bench_result r;
  char err[512] = "";
  cr_assert_eq(hwt_bench_measure(session, &c, &r, err, sizeof(err)), hwt_status_ok, "%s", err);
  json_t *o = hwt_bench_result_to_json(&r);
  cr_assert_str_eq(json_string_value(json_object_get(o, "op")), "spmm_f32");
  cr_assert_str_eq(json_string_value(json_object_get(o, "layer")), "5x5x16:24:k1");
  cr_assert_str_eq(json_string_value(json_object_get(o, "shape")), "5x5x16:24:k1@sp75b");
  cr_assert_str_eq(json_string_value(json_object_get(o, "pattern")), "block");
  cr_assert_float_eq(json_number_value(json_object_get(o, "sparsity")), 0.75, 1e-12);
  double ws = json_number_value(json_object_get(o, "weight_sparsity"));
  cr_assert(ws > 0.6 && ws < 0.9, "weight_sparsity %g (whole blocks of %s)", ws, "hwt_spmm_block_shape");
  cr_assert(json_is_object(json_object_get(o, "conv")), "a 1x1 conv layer keeps its conv object");
  cr_assert_eq(json_integer_value(json_object_get(o, "n")), 24);
  cr_assert(json_is_string(json_object_get(o, "weight_format")), "our sparse plan names its format");
  cr_assert_eq(json_integer_value(json_object_get(o, "k")), 16);
  cr_assert(strncmp(r.name, "spmm_f32/own/", 13) == 0 && strstr(r.name, "/5x5x16:24:k1@sp75b/m1/t1/warm"), "%s",
            r.name);
  json_decref(o);
  hwt_bench_result_free(&r);
}

Test(spmm_break_even, interpolates_between_the_measured_points) {
  const double s[] = {0.5, 0.75, 0.9, 0.95};
  int where;
  const double r1[] = {2.0, 1.5, 0.5, 0.25}; /* crosses 1 halfway between 0.75 and 0.9 */
  cr_assert_float_eq(hwt_bench_spmm_break_even(s, r1, 4, &where), 0.825, 1e-12);
  cr_assert_eq(where, 0);
  const double r2[] = {0.9, 0.5, 0.3, 0.2};
  cr_assert_float_eq(hwt_bench_spmm_break_even(s, r2, 4, &where), 0.5, 1e-12);
  cr_assert_eq(where, -1, "faster already at the lowest sparsity");
  const double r3[] = {5, 4, 3, 2};
  cr_assert_float_eq(hwt_bench_spmm_break_even(s, r3, 4, &where), 0.95, 1e-12);
  cr_assert_eq(where, 1, "slower everywhere");
  const double r4[] = {NAN, 3, -1, 0.5}; /* missing points are skipped */
  cr_assert_float_eq(hwt_bench_spmm_break_even(s, r4, 4, &where), 0.75 + 0.2 * (2.0 / 2.5), 1e-12);
  cr_assert_eq(where, 0);
  const double r5[] = {NAN, NAN, NAN, NAN};
  cr_assert(isnan(hwt_bench_spmm_break_even(s, r5, 4, &where)));
  cr_assert_eq(where, 2);
}

Test(spmm_rounds, merge_pools_the_samples_of_two_rounds) {
  hwt_bench_result a, b;
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  const double xa[] = {10, 11, 12}, xb[] = {20, 21};
  a.samples = 3, b.samples = 2;
  a.samples_ns = malloc(sizeof(xa));
  b.samples_ns = malloc(sizeof(xb));
  memcpy(a.samples_ns, xa, sizeof(xa));
  memcpy(b.samples_ns, xb, sizeof(xb));
  a.flops = 1000, a.median_ns = 11, a.gflops = 1000.0 / 11, a.pct_peak = 50;
  a.elapsed_s = 1, b.elapsed_s = 2;
  hwt_bench_result_warn(&b, "cv 9%% > 5%%");
  cr_assert_eq(hwt_bench_result_merge(&a, &b, 2), hwt_status_ok);
  cr_assert_eq(a.samples, 5);
  cr_assert_float_eq(a.median_ns, 12, 1e-12, "median of 10 11 12 20 21");
  cr_assert_float_eq(a.min_ns, 10, 1e-12);
  cr_assert_float_eq(a.max_ns, 21, 1e-12);
  cr_assert_float_eq(a.gflops, 1000.0 / 12, 1e-9);
  cr_assert_float_eq(a.pct_peak, 50.0 * 11 / 12, 1e-9);
  cr_assert_float_eq(a.elapsed_s, 3, 1e-12);
  cr_assert_eq(a.nwarnings, 1);
  cr_assert_str_eq(a.warnings[0], "round 2: cv 9% > 5%");
  cr_assert_eq(b.samples, 0);
  cr_assert_null(b.samples_ns);
  hwt_bench_result_free(&a);
}
