/* SPDX-License-Identifier: Apache-2.0 */
/* The tuner's sparse break-even (tuner/sparse.c): the interpolation rule on given points, which problems are
 * measured, and a measured record that libhwtune loads back (its speeds are not asserted: tests never time). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tuner.h"

static const double S[6] = {0.5, 0.6, 0.7, 0.8, 0.9, 0.95};

Test(tune_sparse, break_even_interpolates_the_crossing) {
  bool never;
  double r1[6] = {0.5, 0.7, 0.9, 1.1, 2.0, 3.0}; /* crosses 1 halfway between 0.7 and 0.8 */
  cr_assert_float_eq(hwt_tune_sparse_break_even(S, r1, 6, &never), 0.75, 1e-12);
  cr_assert(!never);
  double r2[6] = {1.2, 1.5, 1.9, 2.5, 4.0, 6.0}; /* wins everywhere: the first point */
  cr_assert_float_eq(hwt_tune_sparse_break_even(S, r2, 6, &never), 0.5, 1e-12);
  double r3[6] = {0.1, 0.2, 0.3, 0.5, 0.8, 0.99}; /* never */
  cr_assert(isinf(hwt_tune_sparse_break_even(S, r3, 6, &never)));
  cr_assert(never);
  double r4[6] = {0.5, 1.2, 0.8, 0.9, 1.0, 2.0}; /* a noisy win at 0.6 does not count: wins from 0.9 on */
  cr_assert_float_eq(hwt_tune_sparse_break_even(S, r4, 6, &never), 0.9, 1e-12);
  cr_assert(!never);
  cr_assert(isinf(hwt_tune_sparse_break_even(S, r1, 0, &never)) && never);
}

static hwt_tune_problem problem(hwt_bench_op op, const char *text) {
  hwt_bench_shape sh;
  char err[256];
  cr_assert_eq(hwt_bench_parse_shape(text, &sh, err, sizeof err), hwt_status_ok, "%s", err);
  hwt_tune_problem p;
  hwt_tune_problem_init(&p, op, &sh, 1);
  return p;
}

Test(tune_sparse, eligible_problems) {
  hwt_tune_problem p = problem(hwt_bench_gemm_f32, "256x784");
  cr_assert(hwt_tune_sparse_eligible(&p));
  p = problem(hwt_bench_conv_f32, "7x7x960:160:k1s1p0");
  cr_assert(hwt_tune_sparse_eligible(&p));
  p = problem(hwt_bench_conv_f32, "56x56x64:128:k3s1p1");
  cr_assert(!hwt_tune_sparse_eligible(&p));
  p = problem(hwt_bench_conv_f32, "56x56x64:128:k1s2p0");
  cr_assert(!hwt_tune_sparse_eligible(&p));
  p = problem(hwt_bench_gemm_qs8, "256x784");
  cr_assert(!hwt_tune_sparse_eligible(&p));
}

Test(tune_sparse, measured_record_loads_back) {
  hwt_tune_problem p = problem(hwt_bench_gemm_f32, "24x40");
  hwt_tune_candidate dense[2] = {{.impl = hwt_bench_xnnpack, .threads = 1},
                                 {.impl = hwt_bench_own, .isa = hwt_isa_scalar, .threads = 1}};
  for (int d = 0; d < 2; d++) {
    hwt_tune_sparse_result r;
    char err[256];
    cr_assert_eq(hwt_tune_sparse_measure(&p, &dense[d], 0.01, &r, err, sizeof err), hwt_status_ok, "%s", err);
    cr_assert_eq(r.npoints, HWT_TUNE_SPARSE_LEVELS);
    for (size_t i = 0; i < r.npoints; i++) cr_assert(r.speedup[i] > 0 && isfinite(r.speedup[i]));
    json_t *rec = hwt_tune_sparse_json(&r);
    cr_assert_not_null(rec);
    char *txt = json_dumps(rec, JSON_COMPACT);
    char doc[2048];
    int n = snprintf(doc, sizeof doc,
                     "{\"schema\":\"hwtune.profile/1\",\"machine\":{\"fingerprint\":\"\",\"fields\":{\"arch\":\"x86_64\","
                     "\"brand\":\"T\"}},\"objective\":\"latency\",\"entries\":[{\"op\":\"gemm_f32\",\"dtype\":\"f32\","
                     "\"shape\":\"24x40\",\"batch\":1,\"n\":24,\"k\":40,\"choice\":{\"impl\":\"xnnpack\",\"isa\":\"auto\","
                     "\"threads\":1},\"median_ns\":100,\"sparse\":%s}]}",
                     txt);
    cr_assert(n > 0 && (size_t)n < sizeof doc);
    hwt_profile *prof = NULL;
    char msg[256];
    cr_assert_eq(hwt_profile_load_buffer(doc, (size_t)n, "t", &prof, msg, sizeof msg), hwt_status_ok, "%s: %s", msg,
                 txt);
    hwt_profile_sparse s;
    cr_assert(hwt_profile_entry_sparse(prof, 0, &s));
    cr_assert_eq(s.npoints, r.npoints);
    cr_assert_eq(s.never, r.never);
    if (!r.never) cr_assert_float_eq(s.break_even, r.break_even, 1e-3);
    hwt_profile_free(prof);
    free(txt);
    json_decref(rec);
  }
}
