/* SPDX-License-Identifier: Apache-2.0 */
/* Engine nodes for depthwise convolutions on hwtune's own depthwise plans (hwtune/dwconv.h): eligibility, the
 * HWTUNE_ENGINE_OWN_DW switch, and plan create / run / destroy for fp32 and int8 (int8 in, int8 out) layers. */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "hwt_common.h"
#include "hwtune/dwconv.h"

struct hwt_dwconv_own {
  hwt_dwconv_f32_plan *f32;
  hwt_dwconv_qs8_plan *qs8;
  size_t h, w;
};

bool hwt_dwconv_own_eligible(const hwt_layer *l, hwt_shape is) {
  return l->type == hwt_layer_dwconv && hwt_dil(l->dh) == 1 && hwt_dil(l->dw) == 1 && is.c == l->out.c &&
         l->kh >= 1 && l->kw >= 1 && l->sh >= 1 && l->sw >= 1 && (l->wq == NULL || l->q8);
}

bool hwt_dwconv_own_forced(void) {
  const char *v = getenv("HWTUNE_ENGINE_OWN_DW");
  return v != NULL && strcmp(v, "1") == 0;
}

hwt_status hwt_dwconv_own_create(const hwt_layer *l, hwt_shape is, hwt_qparams iq, bool q, hwt_isa isa,
                                 hwt_dwconv_own **out) {
  *out = NULL;
  hwt_dwconv_own *c = hwt_rt_calloc(1, sizeof(*c));
  if (c == NULL) return hwt_status_out_of_memory;
  c->h = is.h;
  c->w = is.w;
  hwt_dwconv_shape s = {l->kh, l->kw, l->sh, l->sw, l->pad_t, l->pad_l, l->pad_b, l->pad_r, is.c};
  hwt_status st;
  if (!q) {
    float lo, hi;
    hwt_layer_act_bounds_f32(l, &lo, &hi);
    st = hwt_dwconv_f32_create(&s, l->w, l->b, lo, hi, isa, &c->f32);
  } else {
    hwt_qs8_params p = {0};
    p.input_zero_point = (int8_t) iq.zero_point;
    p.input_scale = iq.scale;
    p.kernel_scale = l->wscale[0];
    p.kernel_scales = l->wscale;
    p.output_zero_point = (int8_t) l->oq.zero_point;
    p.output_scale = l->oq.scale;
    hwt_layer_act_bounds_q8(l, l->oq, &p.output_min, &p.output_max);
    st = hwt_dwconv_qs8_create(&s, l->wq, l->bq, &p, isa, &c->qs8);
  }
  if (st != hwt_status_ok) {
    hwt_dwconv_own_destroy(c);
    return st;
  }
  *out = c;
  return hwt_status_ok;
}

void hwt_dwconv_own_run(const hwt_dwconv_own *c, size_t batch, const void *in, void *out, pthreadpool_t pool) {
  if (c->f32 != NULL)
    hwt_dwconv_f32_run(c->f32, batch, c->h, c->w, in, out, pool);
  else
    hwt_dwconv_qs8_run(c->qs8, batch, c->h, c->w, in, out, pool);
}

size_t hwt_dwconv_own_bytes(const hwt_dwconv_own *c) {
  return c == NULL ? 0 : hwt_dwconv_f32_plan_bytes(c->f32) + hwt_dwconv_qs8_plan_bytes(c->qs8);
}

void hwt_dwconv_own_destroy(hwt_dwconv_own *c) {
  if (c == NULL) return;
  hwt_dwconv_f32_destroy(c->f32);
  hwt_dwconv_qs8_destroy(c->qs8);
  hwt_rt_free(c);
}
