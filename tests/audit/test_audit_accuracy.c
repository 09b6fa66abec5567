/* SPDX-License-Identifier: Apache-2.0 */
/* The audit's accuracy figures on labelled data (pure): the Wilson interval of an accuracy, the paired interval of
 * the fp32 - int8 difference from the discordant pairs, and top-k membership. Expected values computed
 * independently (Python, the formulas in audit.h); 81/263 is Newcombe's (1998) worked example. */
#include <criterion/criterion.h>
#include <math.h>

#include "audit.h"

static void interval(double lo, double hi, double want_lo, double want_hi) {
  cr_assert_float_eq(lo, want_lo, 1e-9, "lower %.10f, expected %.10f", lo, want_lo);
  cr_assert_float_eq(hi, want_hi, 1e-9, "upper %.10f, expected %.10f", hi, want_hi);
}

Test(audit_accuracy, wilson_known_values) {
  double lo, hi;
  hwt_audit_wilson(0, 10, HWT_AUDIT_Z95, &lo, &hi);
  interval(lo, hi, 0.0, 0.2775327999);
  hwt_audit_wilson(5, 10, HWT_AUDIT_Z95, &lo, &hi);
  interval(lo, hi, 0.2365930905, 0.7634069095);
  hwt_audit_wilson(10, 10, HWT_AUDIT_Z95, &lo, &hi);
  interval(lo, hi, 0.7224672001, 1.0);
  hwt_audit_wilson(81, 263, HWT_AUDIT_Z95, &lo, &hi);
  interval(lo, hi, 0.2552885199, 0.3662095770);
  hwt_audit_wilson(349, 360, HWT_AUDIT_Z95, &lo, &hi); /* the digits MLP's fp32 top-1 */
  interval(lo, hi, 0.9461218599, 0.9828541867);
  /* nothing to estimate from: the whole range */
  hwt_audit_wilson(0, 0, HWT_AUDIT_Z95, &lo, &hi);
  interval(lo, hi, 0.0, 1.0);
  hwt_audit_wilson(3, 2, HWT_AUDIT_Z95, &lo, &hi);
  interval(lo, hi, 0.0, 1.0);
}

Test(audit_accuracy, paired_difference_known_values) {
  double lo, hi;
  /* no discordant pair: still an interval around 0, not [0, 0] */
  hwt_audit_paired_diff_ci(0, 0, 100, HWT_AUDIT_Z95, &lo, &hi);
  interval(lo, hi, -0.0192153332, 0.0192153332);
  hwt_audit_paired_diff_ci(0, 0, 360, HWT_AUDIT_Z95, &lo, &hi);
  interval(lo, hi, -0.0054142652, 0.0054142652);
  hwt_audit_paired_diff_ci(5, 1, 100, HWT_AUDIT_Z95, &lo, &hi);
  interval(lo, hi, -0.0110504547, 0.0894818272);
  hwt_audit_paired_diff_ci(1, 5, 100, HWT_AUDIT_Z95, &lo, &hi); /* the mirror image */
  interval(lo, hi, -0.0894818272, 0.0110504547);
  hwt_audit_paired_diff_ci(3, 2, 50, HWT_AUDIT_Z95, &lo, &hi);
  interval(lo, hi, -0.0729463795, 0.1114079179);
  hwt_audit_paired_diff_ci(10, 0, 10, HWT_AUDIT_Z95, &lo, &hi); /* truncated at 1 */
  interval(lo, hi, 0.5666160180, 1.0);
  /* impossible counts: the whole range */
  hwt_audit_paired_diff_ci(0, 0, 0, HWT_AUDIT_Z95, &lo, &hi);
  interval(lo, hi, -1.0, 1.0);
  hwt_audit_paired_diff_ci(6, 5, 10, HWT_AUDIT_Z95, &lo, &hi);
  interval(lo, hi, -1.0, 1.0);
}

Test(audit_accuracy, top_k_membership) {
  const float s[6] = {0.1f, 0.9f, 0.3f, 0.9f, -1.0f, 0.5f};
  cr_assert(hwt_audit_in_topk(s, 6, 1, 1));       /* ties go to the lower index: 1 before 3 */
  cr_assert(!hwt_audit_in_topk(s, 6, 3, 1));
  cr_assert(hwt_audit_in_topk(s, 6, 3, 2));
  cr_assert(hwt_audit_in_topk(s, 6, 5, 3));
  cr_assert(!hwt_audit_in_topk(s, 6, 2, 3));
  cr_assert(hwt_audit_in_topk(s, 6, 2, 4));
  cr_assert(!hwt_audit_in_topk(s, 6, 4, 5));
  cr_assert(hwt_audit_in_topk(s, 6, 4, 6));
  cr_assert(!hwt_audit_in_topk(s, 6, 6, 6));       /* a label past the classes */
  cr_assert(!hwt_audit_in_topk(s, 6, 0, 0));
  const float n[3] = {NAN, 0.2f, NAN};
  cr_assert(!hwt_audit_in_topk(n, 3, 0, 3));        /* a NaN score is never right */
  cr_assert(hwt_audit_in_topk(n, 3, 1, 1));         /* NaN neighbours do not outrank */
}
