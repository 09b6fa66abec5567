/* SPDX-License-Identifier: Apache-2.0 */
/* The in-memory form of a loaded profile, shared by the loader's source files (not installed). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "hwtune/profile.h"

/* One tuned (op, dtype, shape, batch). Strings point into the profile's arena. */
typedef struct hwt_profile_entry_rec {
  const char *op, *dtype, *shape;
  uint32_t group;           /* index in hwt_profile.groups: entries of one (op, dtype) are contiguous */
  uint32_t src_index;       /* position in the file's "entries" array */
  uint32_t pos;             /* byte offset of the entry in the file (messages) */
  uint32_t run_lo, run_hi;  /* the entries of this group with the same n: [run_lo, run_hi) after sorting */
  uint64_t n, k, batch;
  double log2_n, log2_k, log2_batch;
  char impl[16], isa[16];
  unsigned threads;
  uint64_t mc, kc, nc, choice_batch;
  double median_ns, ci_low_ns, ci_high_ns;
  /* "sparse" (optional): the break-even sparsity of our sparse kernel against the tuned dense choice. */
  bool has_sparse, sparse_never;
  uint8_t sparse_npoints, sparse_fill;
  double break_even;
  double sparse_points[HWT_PROFILE_SPARSE_POINTS][2];  /* (sparsity, speedup) */
} hwt_profile_entry_rec;

/* One raced model (the "models" section). Strings point into the profile's arena. */
typedef struct hwt_profile_model_rec {
  const char *file, *sha256, *precision;
  uint64_t batch, choice_batch;
  hwt_profile_plan winner;
  double p50_ns[hwt_profile_plan_count], p99_ns[hwt_profile_plan_count];
} hwt_profile_model_rec;

typedef struct hwt_profile_group {
  const char *op, *dtype;
  size_t lo, hi;            /* entries[lo, hi) after sorting */
} hwt_profile_group;

typedef struct hwt_profile_kv {
  const char *name, *value;
} hwt_profile_kv;

struct hwt_profile {
  char *text;               /* the document (strings point into it) followed by the path; one allocation */
  char *escapes;            /* strings that had escapes, decoded; NULL when there were none */
  hwt_profile_entry_rec *entries;
  size_t nentries;
  hwt_profile_group *groups;
  size_t ngroups;
  hwt_profile_model_rec *models;
  size_t nmodels;
  hwt_profile_kv fields[HWT_PROFILE_MAX_FIELDS];
  size_t nfields;
  const char *path, *fingerprint, *created, *objective, *hwtune_version, *xnnpack_version;
};

/* Fills a choice from entry i (exact match, no clamp). */
void hwt_profile_fill_choice(const struct hwt_profile *p, size_t i, hwt_profile_choice *out);
