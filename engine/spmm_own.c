/* SPDX-License-Identifier: Apache-2.0 */
/* Engine nodes for pruned fc / 1x1 conv layers on hwtune/spmm.h's sparse plans: eligibility, the
 * HWTUNE_ENGINE_SPARSE switch, the built-in break-even sparsity, the sparse-or-dense decision and its note. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "hwtune/spmm.h"

bool hwt_spmm_own_eligible(const hwt_layer *l) {
  if (l->w == NULL || l->wq != NULL || l->q8) return false;
  if (l->type == hwt_layer_fc) return true;
  return l->type == hwt_layer_conv && l->kh == 1 && l->kw == 1 && l->sh == 1 && l->sw == 1 && l->pad_t == 0 &&
         l->pad_r == 0 && l->pad_b == 0 && l->pad_l == 0 && hwt_conv_groups(l) == 1 && hwt_dil(l->dh) == 1 &&
         hwt_dil(l->dw) == 1;
}

bool hwt_sparse_mode_parse(const char *s, hwt_sparse_mode *out) {
  static const char *const names[] = {"auto", "off", "force", "pruned"};
  for (int i = 0; i < 4; i++) {
    if (s != NULL && strcmp(s, names[i]) == 0) {
      *out = (hwt_sparse_mode) i;
      return true;
    }
  }
  return false;
}

const char *hwt_sparse_mode_name(hwt_sparse_mode m) {
  switch (m) {
    case hwt_sparse_auto: return "auto";
    case hwt_sparse_off: return "off";
    case hwt_sparse_force: return "force";
    case hwt_sparse_pruned: return "pruned";
  }
  return "unknown";
}

hwt_sparse_mode hwt_spmm_own_mode(hwt_sparse_mode opt) {
  hwt_sparse_mode m;
  return hwt_sparse_mode_parse(getenv("HWTUNE_ENGINE_SPARSE"), &m) ? m : opt;
}

double hwt_spmm_own_default_break_even(size_t k) {
  return k >= 32 ? HWT_SPARSE_DEFAULT_BREAK_EVEN_WIDE : HWT_SPARSE_DEFAULT_BREAK_EVEN;
}

void hwt_spmm_own_prepare(const hwt_layer *l, size_t n, size_t k, hwt_layer_choice *c) {
  c->sparsity = hwt_sparsity_f32(l->w, n * k);
  c->break_even = hwt_spmm_own_default_break_even(k);
  c->break_even_profile = false;
  c->sparse = c->sparsity > 0.0 && c->sparsity >= c->break_even;
}

bool hwt_spmm_own_decide(hwt_sparse_mode mode, hwt_layer_choice *c) {
  if (mode == hwt_sparse_off) c->sparse = false;
  else if (mode == hwt_sparse_force) c->sparse = true;
  else if (mode == hwt_sparse_pruned) c->sparse = c->sparsity > 0.0;
  else c->sparse = c->sparsity > 0.0 && c->break_even <= 1.0 && c->sparsity >= c->break_even;
  return c->sparse;
}

void hwt_spmm_own_note(hwt_sparse_mode mode, const hwt_layer_choice *c, char *buf, size_t len) {
  const char *from = c->break_even_profile ? "profile" : "default";
  char be[48];
  if (c->break_even > 1.0)
    snprintf(be, sizeof be, "%s break-even: never", from);
  else
    snprintf(be, sizeof be, "%s break-even %.0f%%", from, 100.0 * c->break_even);
  if (mode == hwt_sparse_pruned)
    snprintf(buf, len, "%s %.0f%% (every pruned layer)", c->sparse ? "sparse" : "dense", 100.0 * c->sparsity);
  else if (mode == hwt_sparse_force)
    snprintf(buf, len, "%s %.0f%% (forced)", c->sparse ? "sparse" : "dense", 100.0 * c->sparsity);
  else if (mode == hwt_sparse_off)
    snprintf(buf, len, "dense %.0f%% (sparse off)", 100.0 * c->sparsity);
  else
    snprintf(buf, len, "%s %.0f%% (%s)", c->sparse ? "sparse" : "dense", 100.0 * c->sparsity, be);
}

hwt_status hwt_spmm_own_create(const hwt_layer *l, hwt_shape is, hwt_isa isa, hwt_spmm_f32_plan **out) {
  bool fc = l->type == hwt_layer_fc;
  size_t n = fc ? l->outputs : l->out.c, k = fc ? hwt_shape_size(is) : is.c;
  float lo, hi;
  hwt_layer_act_bounds_f32(l, &lo, &hi);
  return hwt_spmm_f32_create(n, k, l->w, l->b, lo, hi, isa, out);
}
