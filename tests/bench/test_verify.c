/* SPDX-License-Identifier: Apache-2.0 */
/* --verify through the library: the deliberately wrong backend is caught (shape and worst element named);
 * the reference, XNNPACK and our kernels match on small gemm, conv and depthwise shapes. */
#include <criterion/criterion.h>
#include <string.h>

#include "backend.h"
#include "bench.h"

static hwt_bench_session *session;

static void setup(void) {
  hwt_bench_session_options o = {.measure_peaks = false, .pin_threads = true};
  char err[512] = "";
  cr_assert_eq(hwt_bench_session_create(&o, &session, err, sizeof(err)), hwt_status_ok, "%s", err);
}

static void teardown(void) { hwt_bench_session_destroy(session); }

TestSuite(verify, .init = setup, .fini = teardown);

static hwt_bench_config cfg_for(hwt_bench_op op, hwt_bench_impl impl, const char *shape, size_t batch) {
  hwt_bench_config c;
  hwt_bench_config_init(&c);
  c.op = op;
  c.impl = impl;
  c.batch = batch;
  cr_assert_eq(hwt_bench_parse_shape(shape, &c.shape, NULL, 0), hwt_status_ok);
  return c;
}

Test(verify, wrong_backend_is_caught_f32_and_qs8) {
  const hwt_bench_op ops[] = {hwt_bench_gemm_f32, hwt_bench_gemm_qs8};
  for (int i = 0; i < 2; i++) {
    hwt_bench_config c = cfg_for(ops[i], hwt_bench_wrong, "48x40", 3);
    char err[1024] = "";
    cr_assert_eq(hwt_bench_verify(session, &c, err, sizeof(err)), hwt_status_mismatch);
    cr_assert(strstr(err, "48x40") != NULL, "names the shape: %s", err);
    cr_assert(strstr(err, "worst element") != NULL, "names the worst element: %s", err);
    cr_assert(strstr(err, "1 of 144") != NULL, "exactly one element is wrong: %s", err);
  }
  hwt_bench_config c = cfg_for(hwt_bench_dwconv_f32, hwt_bench_wrong, "6x6x8::k3s1p1", 1);
  char err[1024] = "";
  cr_assert_eq(hwt_bench_verify(session, &c, err, sizeof(err)), hwt_status_mismatch);
  cr_assert(strstr(err, "channel") != NULL, "conv positions are named: %s", err);
}

Test(verify, implementations_match_the_reference) {
  const struct {
    hwt_bench_op op;
    const char *shape;
  } cases[] = {
      {hwt_bench_gemm_f32, "33x70"},           {hwt_bench_gemm_qs8, "33x70"},
      {hwt_bench_conv_f32, "9x7x5:6:k3s2p1"},  {hwt_bench_conv_qs8, "9x7x5:6:k3s2p1"},
      {hwt_bench_conv_f32, "5x5x16:24:k1"},    {hwt_bench_conv_qs8, "5x5x16:24:k1"},
      {hwt_bench_dwconv_f32, "8x8x12::k3s1p1"}, {hwt_bench_dwconv_qs8, "8x8x12::k3s2p1"},
  };
  const hwt_bench_impl impls[] = {hwt_bench_reference, hwt_bench_xnnpack, hwt_bench_own};
  size_t checked = 0;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    for (size_t j = 0; j < 3; j++)
      for (unsigned t = 1; t <= 2; t++) {
        hwt_bench_config c = cfg_for(cases[i].op, impls[j], cases[i].shape, 3);
        c.threads = t;
        char err[1024] = "";
        hwt_status st = hwt_bench_verify(session, &c, err, sizeof(err));
        if (st == hwt_status_unsupported) continue; /* e.g. own kernels on a 3x3 conv */
        cr_assert_eq(st, hwt_status_ok, "%s %s %s t%u: %s", hwt_bench_op_name(cases[i].op),
                     hwt_bench_impl_name(impls[j]), cases[i].shape, t, err);
        checked++;
      }
  cr_assert(checked >= 8 * 2 * 2, "reference and xnnpack run everything (%zu checked)", checked);
}

Test(verify, bad_config_is_an_error_not_a_crash) {
  hwt_bench_config c = cfg_for(hwt_bench_gemm_f32, hwt_bench_xnnpack, "16x16", 1);
  c.batch = 0;
  char err[256] = "";
  cr_assert_eq(hwt_bench_verify(session, &c, err, sizeof(err)), hwt_status_invalid_argument);
  c = cfg_for(hwt_bench_conv_f32, hwt_bench_xnnpack, "16x16", 1);
  cr_assert_eq(hwt_bench_verify(session, &c, err, sizeof(err)), hwt_status_invalid_argument);
  cr_assert(strstr(err, "16x16") != NULL);
}

Test(verify, measure_returns_a_full_record) {
  hwt_bench_config c = cfg_for(hwt_bench_gemm_f32, hwt_bench_xnnpack, "64x64", 4);
  c.max_time_s = 0.05;
  hwt_bench_result r;
  char err[256] = "";
  cr_assert_eq(hwt_bench_measure(session, &c, &r, err, sizeof(err)), hwt_status_ok, "%s", err);
  cr_assert(r.samples >= 3);
  cr_assert(r.min_ns <= r.median_ns && r.median_ns <= r.p99_ns);
  cr_assert(r.ci_low_ns <= r.median_ns && r.median_ns <= r.ci_high_ns);
  cr_assert_float_eq(r.flops, 2.0 * 4 * 64 * 64, 0);
  cr_assert(r.gflops > 0);
  cr_assert_str_eq(r.name, "gemm_f32/xnnpack/auto/64x64/m4/t1/warm");
  cr_assert(r.op_bytes > 0, "XNNPACK's packed weights are counted");
  hwt_bench_result_free(&r);
  /* cold: more than one copy rotates */
  c.cold = true;
  cr_assert_eq(hwt_bench_measure(session, &c, &r, err, sizeof(err)), hwt_status_ok, "%s", err);
  cr_assert(r.cold_copies > 1);
  hwt_bench_result_free(&r);
}

/* Racing: configurations side by side, the inactive one untouched, an impossible one marked unsupported, the
 * statistics consistent; two thread counts at once (each its own pool). */
Test(verify, race_measures_side_by_side) {
  hwt_bench_config c[4];
  c[0] = cfg_for(hwt_bench_gemm_f32, hwt_bench_xnnpack, "64x64", 4);
  c[1] = cfg_for(hwt_bench_gemm_f32, hwt_bench_own, "64x64", 4);
  c[1].threads = 2;
  c[2] = cfg_for(hwt_bench_gemm_f32, hwt_bench_reference, "64x64", 4);
  c[3] = cfg_for(hwt_bench_conv_f32, hwt_bench_own, "8x8x8:8:k3s1p1", 1);  /* own kernels at the other arch's ISA */
  c[3].isa_auto = false;
#if defined(__aarch64__)
  c[3].isa = hwt_isa_avx2;
#else
  c[3].isa = hwt_isa_neon;
#endif
  hwt_bench_race *r = NULL;
  char err[256] = "";
  cr_assert_eq(hwt_bench_race_create(session, c, 4, &r, err, sizeof(err)), hwt_status_ok, "%s", err);
  bool active[4] = {true, true, false, true};
  hwt_bench_race_params p = {.max_s = 0.1, .burst_s = 0.002, .target_ci = 0.01, .min_rounds = 6, .active = active};
  cr_assert_eq(hwt_bench_race_run(r, &p, err, sizeof(err)), hwt_status_ok, "%s", err);
  hwt_stats_summary m;
  const char *why;
  for (size_t i = 0; i < 2; i++) {
    cr_assert_eq(hwt_bench_race_entry(r, i, &m, &why), hwt_status_ok, "%s", why);
    /* min_rounds only delays the CI-based stop; at max_s the race ends once every active entry has 3 samples
     * (hwt_bench_race_run). Asking for 6 here made the test depend on the machine's speed: under ASan with a
     * parallel ctest, 0.1 s held 3 turns of the 2-thread entry. */
    cr_assert(m.n >= 3, "entry %zu: %zu samples, at least 3 before max_s may end the race", i, m.n);
    cr_assert(m.ci_low <= m.median && m.median <= m.ci_high && m.min <= m.median);
    cr_assert(m.median > 0);
  }
  cr_assert_eq(hwt_bench_race_entry(r, 2, &m, &why), hwt_status_ok);
  cr_assert_eq(m.n, 0, "inactive: never run");
  cr_assert_eq(hwt_bench_race_entry(r, 3, &m, &why), hwt_status_unsupported);
  cr_assert(why[0], "the reason is given");
  hwt_bench_race_destroy(r);
}

/* A conv_qs8 problem has one kernel scale per output channel, as the runtime's int8 convolutions: our 1x1 plan
 * (the tuner's own candidate) and XNNPACK's qc8 convolution are built with them, and both match the per-channel
 * reference bit for bit, which differs from the per-tensor result of the same GEMM. */
Test(verify, conv_qs8_candidates_use_per_channel_scales) {
  hwt_bench_shape s, g;
  cr_assert_eq(hwt_bench_parse_shape("5x3x16:24:k1", &s, NULL, 0), hwt_status_ok);
  cr_assert_eq(hwt_bench_parse_shape("24x16", &g, NULL, 0), hwt_status_ok);
  hwt_bench_problem p, pg;
  hwt_bench_problem_init(&p, hwt_bench_conv_qs8, &s, 2);
  hwt_bench_problem_init(&pg, hwt_bench_gemm_qs8, &g, 2 * 5 * 3); /* the same GEMM, one scale */
  cr_assert(hwt_bench_per_channel(&p));
  cr_assert(!hwt_bench_per_channel(&pg));
  cr_assert(hwt_bench_channel_scale(&p, 0) != hwt_bench_channel_scale(&p, 1));
  int8_t w[24 * 16], in[2 * 5 * 3 * 16 + 256], want[2 * 5 * 3 * 24], flat[2 * 5 * 3 * 24], got[2 * 5 * 3 * 24 + 256];
  int32_t bias[24];
  for (size_t i = 0; i < sizeof w; i++) w[i] = (int8_t)((int)(i * 37 % 255) - 127);
  for (size_t i = 0; i < sizeof in; i++) in[i] = (int8_t)((int)(i * 91 % 255) - 127);
  for (size_t i = 0; i < 24; i++) bias[i] = (int32_t)(i * 1000) - 12000;
  hwt_bench_reference_compute(&p, w, bias, in, want);
  hwt_bench_reference_compute(&pg, w, bias, in, flat);
  cr_assert(memcmp(want, flat, sizeof want) != 0, "per-channel scales change the output");
  const hwt_bench_backend *be[] = {&hwt_bench_backend_own, &hwt_bench_backend_xnnpack_conv};
  for (int b = 0; b < 2; b++) {
    char err[256] = "";
    bool isa_auto = true;
    if (be[b] == &hwt_bench_backend_own)
      cr_assert(be[b]->supports(&p, false, hwt_gemm_best_isa(hwt_gemm_qs8), err, sizeof err), "%s", err);
    if (be[b] == &hwt_bench_backend_xnnpack_conv && !be[b]->supports(&p, true, hwt_isa_scalar, err, sizeof err))
      continue; /* no XNNPACK here */
    void *inst = NULL;
    cr_assert_eq(be[b]->create(&p, isa_auto, hwt_isa_scalar, NULL, w, bias, &inst, err, sizeof err), hwt_status_ok,
                 "%s", err);
    memset(got, 0, sizeof got);
    cr_assert_eq(be[b]->bind(inst, in, got, NULL, err, sizeof err), hwt_status_ok, "%s", err);
    be[b]->run(inst, NULL);
    cr_assert(memcmp(got, want, sizeof want) == 0, "backend %d differs from the per-channel reference", b);
    be[b]->destroy(inst);
  }
  /* the tuner's hook: a 1x1 conv_qs8 is a qs8 GEMM of ours with a blocking; a 3x3 one an im2col plan without */
  hwt_bench_own_caps_t caps;
  cr_assert(hwt_bench_own_caps(hwt_bench_conv_qs8, &s, 1, &caps));
  cr_assert(caps.gemm && caps.family == hwt_gemm_qs8);
  cr_assert(caps.isa[hwt_gemm_best_isa(hwt_gemm_qs8)]);
  cr_assert_eq(hwt_bench_parse_shape("5x3x16:24:k3s1p1", &s, NULL, 0), hwt_status_ok);
  cr_assert(hwt_bench_own_caps(hwt_bench_conv_qs8, &s, 1, &caps));
  cr_assert(!caps.gemm);
  cr_assert_eq(hwt_bench_parse_shape("5x3x16::k3s1p1", &s, NULL, 0), hwt_status_ok);
  cr_assert(hwt_bench_own_caps(hwt_bench_dwconv_qs8, &s, 1, &caps), "own depthwise plans (hwtune/dwconv.h)");
  cr_assert(!caps.gemm);
}
