/* SPDX-License-Identifier: Apache-2.0 */
/* The engine's chooser backed by libhwtune: maps a layer query to a profile lookup and the profile's choice
 * (impl, ISA, threads, blocking) back to a layer choice. */
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "hwtune/profile.h"

void hwt_engine_profile_sparse(const hwt_profile *p, const hwt_layer_query *q, hwt_layer_choice *choice) {
  if (p == NULL || !(q->sparsity > 0.0) || (strcmp(q->op, "gemm_f32") != 0 && strcmp(q->op, "conv_f32") != 0)) return;
  /* A pruned fc / 1x1 conv: the break-even the tuner measured for the nearest shape that has one. */
  hwt_profile_query pq = {.op = q->op, .dtype = "f32", .n = q->n, .k = q->k, .batch = q->batch, .max_distance = 6.0};
  hwt_profile_sparse sp;
  if (hwt_profile_lookup_sparse(p, &pq, &sp) != hwt_profile_match_default) {
    choice->break_even = sp.break_even;
    choice->break_even_profile = true;
  }
}

bool hwt_engine_profile_chooser(void *ctx, const hwt_layer_query *q, hwt_layer_choice *choice) {
  const hwt_profile *p = ctx;
  if (p == NULL) return false;
  bool fc = q->layer->type == hwt_layer_fc;
  hwt_profile_query pq = {0};
  pq.op = q->op;
  pq.dtype = strstr(q->op, "qs8") ? "qs8" : "f32";
  pq.n = q->n;
  pq.k = q->k;
  pq.batch = fc ? q->batch : q->batch; /* gemm: rows = batch; conv: images */
  pq.max_threads = choice->threads;
  pq.max_distance = 6.0; /* farther than ~64x in total: the tuned shape says little about this one */
  hwt_engine_profile_sparse(p, q, choice);
  hwt_profile_choice c;
  hwt_profile_match mt = hwt_profile_lookup(p, &pq, &c);
  if (mt == hwt_profile_match_default) {
    snprintf(choice->source, sizeof(choice->source), "default (not in profile)");
    return false;
  }
  if (strcmp(c.impl, "own") == 0) {
    hwt_isa isa;
    choice->impl = hwt_impl_own;
    choice->isa = hwt_isa_from_name(c.isa, &isa) ? isa : hwt_gemm_best_isa(strstr(q->op, "qs8") ? hwt_gemm_qs8
                                                                                                 : hwt_gemm_f32);
  } else {
    choice->impl = hwt_impl_xnnpack;
  }
  choice->threads = c.threads ? c.threads : 1;
  choice->blocking = (hwt_gemm_blocking){(size_t) c.mc, (size_t) c.kc, (size_t) c.nc};
  if (mt == hwt_profile_match_exact)
    snprintf(choice->source, sizeof(choice->source), "profile");
  else
    snprintf(choice->source, sizeof(choice->source), "profile (nearest, d=%.1f)", c.distance);
  return true;
}
