/* SPDX-License-Identifier: Apache-2.0 */
/* libhwtune: an entry's optional "sparse" record (break-even sparsity of the sparse kernel, measured points):
 * parsed, handed out by hwt_profile_lookup_sparse (exact, nearest entry that has one, default), and refused when
 * out of range with the file:line:col messages of the loader; profiles without it load as before. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hwtune/profile.h"

#define ENTRY(shape, n, k, sparse)                                                                   \
  "{\"op\":\"gemm_f32\",\"dtype\":\"f32\",\"shape\":\"" shape "\",\"batch\":1,\"n\":" #n ",\"k\":" #k \
  ",\"choice\":{\"impl\":\"own\",\"isa\":\"avx512f\",\"threads\":1},\"median_ns\":1000" sparse "}"

static hwt_status load(const char *entries, hwt_profile **out, char *msg, size_t msglen) {
  char doc[4096];
  int n = snprintf(doc, sizeof doc,
                   "{\"schema\":\"hwtune.profile/1\",\"machine\":{\"fingerprint\":\"\",\"fields\":"
                   "{\"arch\":\"x86_64\",\"brand\":\"Test CPU\"}},\n\"objective\":\"latency\",\"entries\":[\n%s]}",
                   entries);
  cr_assert(n > 0 && (size_t)n < sizeof doc);
  *out = NULL;
  return hwt_profile_load_buffer(doc, (size_t)n, "p.json", out, msg, msglen);
}

Test(profile_sparse, parsed_and_looked_up) {
  char msg[512];
  hwt_profile *p;
  const char *entries =
      ENTRY("256x784", 256, 784, ",\"sparse\":{\"break_even\":0.62,\"points\":[[0.5,0.8],[0.7,1.3],[0.9,3.1]]}") ",\n"
      ENTRY("128x256", 128, 256, ",\"sparse\":{\"break_even\":null,\"points\":[[0.5,0.2],[0.95,0.9]]}") ",\n"
      ENTRY("1024x1024", 1024, 1024, "");
  cr_assert_eq(load(entries, &p, msg, sizeof msg), hwt_status_ok, "%s", msg);
  hwt_profile_sparse s;
  hwt_profile_query q = {.op = "gemm_f32", .dtype = "f32", .n = 256, .k = 784, .batch = 1};
  cr_assert_eq(hwt_profile_lookup_sparse(p, &q, &s), hwt_profile_match_exact);
  cr_assert_float_eq(s.break_even, 0.62, 1e-12);
  cr_assert(!s.never);
  cr_assert_eq(s.npoints, 3);
  cr_assert_float_eq(s.sparsity[2], 0.9, 1e-12);
  cr_assert_float_eq(s.speedup[2], 3.1, 1e-12);
  cr_assert_str_eq(s.shape, "256x784");
  /* 1024x1024 has no record: the nearest entry with one answers (256x784: d = 2 + log2(1024/784)) */
  q.n = 1024, q.k = 1024;
  cr_assert_eq(hwt_profile_lookup_sparse(p, &q, &s), hwt_profile_match_nearest);
  cr_assert_str_eq(s.shape, "256x784");
  cr_assert_float_eq(s.distance, 2 + log2(1024.0 / 784.0), 1e-9);
  q.max_distance = 2.0;
  cr_assert_eq(hwt_profile_lookup_sparse(p, &q, &s), hwt_profile_match_default);
  cr_assert(isnan(s.break_even));
  cr_assert_eq(s.entry, SIZE_MAX);
  /* never */
  q = (hwt_profile_query){.op = "gemm_f32", .n = 128, .k = 256, .batch = 1};
  cr_assert_eq(hwt_profile_lookup_sparse(p, &q, &s), hwt_profile_match_exact);
  cr_assert(s.never);
  cr_assert(isinf(s.break_even));
  /* another op, no profile, no query */
  q.op = "conv_f32";
  cr_assert_eq(hwt_profile_lookup_sparse(p, &q, &s), hwt_profile_match_default);
  cr_assert_eq(hwt_profile_lookup_sparse(NULL, &q, &s), hwt_profile_match_default);
  cr_assert_eq(hwt_profile_lookup_sparse(p, NULL, &s), hwt_profile_match_default);
  /* by entry index */
  size_t with = 0;
  for (size_t i = 0; i < hwt_profile_count(p); i++) with += hwt_profile_entry_sparse(p, i, &s);
  cr_assert_eq(with, 2);
  cr_assert(!hwt_profile_entry_sparse(p, 99, &s));
  /* the dense lookup is unchanged */
  hwt_profile_choice c;
  q = (hwt_profile_query){.op = "gemm_f32", .n = 256, .k = 784, .batch = 1};
  cr_assert_eq(hwt_profile_lookup(p, &q, &c), hwt_profile_match_exact);
  cr_assert_str_eq(c.impl, "own");
  hwt_profile_free(p);
}

Test(profile_sparse, old_profiles_load_without_it) {
  char msg[512];
  hwt_profile *p;
  cr_assert_eq(load(ENTRY("256x784", 256, 784, ""), &p, msg, sizeof msg), hwt_status_ok, "%s", msg);
  hwt_profile_sparse s;
  hwt_profile_query q = {.op = "gemm_f32", .n = 256, .k = 784, .batch = 1};
  cr_assert_eq(hwt_profile_lookup_sparse(p, &q, &s), hwt_profile_match_default);
  cr_assert(!hwt_profile_entry_sparse(p, 0, &s));
  hwt_profile_free(p);
}

Test(profile_sparse, bad_values_refused_with_their_position) {
  static const struct { const char *sparse; hwt_status want; const char *msg; } cases[] = {
      {",\"sparse\":{\"break_even\":NaN}", hwt_status_parse_error, "p.json:3:"},
      {",\"sparse\":{\"break_even\":-0.1}", hwt_status_schema_error, "entries[0].sparse.break_even (3:"},
      {",\"sparse\":{\"break_even\":1.5}", hwt_status_schema_error, "above the maximum 1"},
      {",\"sparse\":{\"break_even\":1e999}", hwt_status_parse_error, "p.json:3:"},
      {",\"sparse\":{\"break_even\":\"0.5\"}", hwt_status_schema_error, "expected a number"},
      {",\"sparse\":{\"points\":[[0.5,1]]}", hwt_status_schema_error, "missing required field 'break_even'"},
      {",\"sparse\":{\"break_even\":0.5,\"break_even\":0.6}", hwt_status_schema_error, "duplicate key"},
      {",\"sparse\":{\"break_even\":0.5,\"points\":[[0.5]]}", hwt_status_schema_error, "[sparsity, speedup]"},
      {",\"sparse\":{\"break_even\":0.5,\"points\":[[0.5,1,2]]}", hwt_status_schema_error, "more than 2"},
      {",\"sparse\":{\"break_even\":0.5,\"points\":[[1.2,1]]}", hwt_status_schema_error,
       "entries[0].sparse.points[0][0] (3:"},
      {",\"sparse\":{\"break_even\":0.5,\"points\":[[0.5,0]]}", hwt_status_schema_error, "above 0"},
      {",\"sparse\":{\"break_even\":0.5,\"points\":[[0.5,-1]]}", hwt_status_schema_error, "points[0][1]"},
      {",\"sparse\":{\"break_even\":0.5,\"points\":[[0.7,1],[0.5,2]]}", hwt_status_schema_error, "ascending"},
      {",\"sparse\":0.5", hwt_status_schema_error, "entries[0].sparse"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char entry[1024], msg[512];
    snprintf(entry, sizeof entry,
             "{\"op\":\"gemm_f32\",\"dtype\":\"f32\",\"shape\":\"256x784\",\"batch\":1,\"n\":256,\"k\":784,"
             "\"choice\":{\"impl\":\"own\",\"isa\":\"avx512f\",\"threads\":1},\"median_ns\":1000%s}",
             cases[i].sparse);
    hwt_profile *p;
    hwt_status st = load(entry, &p, msg, sizeof msg);
    cr_assert_eq(st, cases[i].want, "%s: %s (%s)", cases[i].sparse, hwt_status_string(st), msg);
    cr_assert_null(p);
    cr_assert(strstr(msg, cases[i].msg) != NULL, "%s: message '%s' lacks '%s'", cases[i].sparse, msg, cases[i].msg);
  }
}
