/* SPDX-License-Identifier: Apache-2.0 */
/* The portable reference for every op (double accumulation for f32, exact integers for qs8), the problem
 * set-up, and the reference/wrong backends built on it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "hwt_common.h"

void hwt_bench_problem_init(hwt_bench_problem *p, hwt_bench_op op, const hwt_bench_shape *s, size_t batch) {
  memset(p, 0, sizeof(*p));
  p->op = op;
  p->qs8 = hwt_bench_op_is_qs8(op);
  p->conv = hwt_bench_op_is_conv(op) || (hwt_bench_op_is_sparse(op) && s->conv);
  p->batch = batch;
  if (!p->conv) {
    p->n = s->n;
    p->k = s->k;
    p->in_elems = batch * s->k;
    p->out_elems = batch * s->n;
    p->w_elems = s->n * s->k;
    p->bias_elems = s->n;
  } else {
    p->h = s->h;
    p->w = s->w;
    p->c = s->c;
    p->out_c = hwt_bench_op_is_dwconv(op) ? s->c : s->out_c;
    p->kh = s->kh;
    p->kw = s->kw;
    p->stride = s->stride;
    p->pad = s->pad;
    p->groups = hwt_bench_op_is_dwconv(op) ? s->c : 1;
    p->out_h = (s->h + 2 * s->pad - s->kh) / s->stride + 1;
    p->out_w = (s->w + 2 * s->pad - s->kw) / s->stride + 1;
    p->n = p->out_c;
    p->k = s->kh * s->kw * (s->c / p->groups);
    p->in_elems = batch * s->h * s->w * s->c;
    p->out_elems = batch * p->out_h * p->out_w * p->out_c;
    p->w_elems = p->out_c * p->k;
    p->bias_elems = p->out_c;
  }
  /* qs8: inputs and weights are uniform in [-127, 127] (std ~73); pick the output scale so outputs spread over
   * about +-40 levels without saturating often. */
  p->q.input_zero_point = -3;
  p->q.input_scale = 0.5f;
  p->q.kernel_scale = 0.02f;
  p->q.kernel_scales = NULL;
  p->q.output_zero_point = 5;
  double acc_std = sqrt((double)(p->k ? p->k : 1)) * 73.0 * 73.0;
  p->q.output_scale = (float)((double)p->q.input_scale * (double)p->q.kernel_scale * acc_std / 40.0);
  p->q.output_min = -127;
  p->q.output_max = 127;
}

bool hwt_bench_per_channel(const hwt_bench_problem *p) { return p->qs8 && p->conv; }

float hwt_bench_channel_scale(const hwt_bench_problem *p, size_t o) {
  if (!hwt_bench_per_channel(p)) return p->q.kernel_scale;
  return p->q.kernel_scale * (0.8f + 0.05f * (float)(o % 9));
}

float *hwt_bench_channel_scales_new(const hwt_bench_problem *p, bool *oom) {
  *oom = false;
  if (!hwt_bench_per_channel(p)) return NULL;
  float *v = malloc((p->n ? p->n : 1) * sizeof *v);
  if (v == NULL) {
    *oom = true;
    return NULL;
  }
  for (size_t o = 0; o < p->n; o++) v[o] = hwt_bench_channel_scale(p, o);
  return v;
}

size_t hwt_bench_problem_rows(const hwt_bench_problem *p) {
  return p->conv ? p->batch * p->out_h * p->out_w : p->batch;
}

int8_t hwt_bench_requantize(int64_t acc, float scale, int8_t zero_point, int8_t qmin, int8_t qmax) {
  float x = (float)(int32_t)acc * scale;
  long r = lrintf(x);
  r += zero_point;
  if (r < qmin) r = qmin;
  if (r > qmax) r = qmax;
  return (int8_t)r;
}

/* Visits one output element's receptive field: calls acc(k index into weights row, input index) for each
 * in-bounds tap. Padding taps contribute nothing (f32: 0; qs8: the zero point, i.e. (zp - zp) = 0). */
void hwt_bench_reference_compute(const hwt_bench_problem *p, const void *weights, const void *bias,
                                 const void *input, void *output) {
  const float req_scale = p->q.input_scale * p->q.kernel_scale / p->q.output_scale;
  if (!p->conv) {
    for (size_t m = 0; m < p->batch; m++) {
      for (size_t n = 0; n < p->n; n++) {
        if (!p->qs8) {
          const float *a = (const float *)input + m * p->k, *w = (const float *)weights + n * p->k;
          double s = bias ? ((const float *)bias)[n] : 0.0;
          for (size_t k = 0; k < p->k; k++) s += (double)a[k] * (double)w[k];
          ((float *)output)[m * p->n + n] = (float)s;
        } else {
          const int8_t *a = (const int8_t *)input + m * p->k, *w = (const int8_t *)weights + n * p->k;
          int64_t s = bias ? ((const int32_t *)bias)[n] : 0;
          for (size_t k = 0; k < p->k; k++) s += (int64_t)(a[k] - p->q.input_zero_point) * w[k];
          ((int8_t *)output)[m * p->n + n] =
              hwt_bench_requantize(s, req_scale, p->q.output_zero_point, p->q.output_min, p->q.output_max);
        }
      }
    }
    return;
  }
  const size_t gic = p->c / p->groups, goc = p->out_c / p->groups;
  for (size_t b = 0; b < p->batch; b++)
    for (size_t oy = 0; oy < p->out_h; oy++)
      for (size_t ox = 0; ox < p->out_w; ox++)
        for (size_t g = 0; g < p->groups; g++)
          for (size_t o = 0; o < goc; o++) {
            const size_t oc = g * goc + o;
            double sf = (!p->qs8 && bias) ? ((const float *)bias)[oc] : 0.0;
            int64_t si = (p->qs8 && bias) ? ((const int32_t *)bias)[oc] : 0;
            for (size_t ky = 0; ky < p->kh; ky++) {
              const ptrdiff_t iy = (ptrdiff_t)(oy * p->stride + ky) - (ptrdiff_t)p->pad;
              if (iy < 0 || iy >= (ptrdiff_t)p->h) continue;
              for (size_t kx = 0; kx < p->kw; kx++) {
                const ptrdiff_t ix = (ptrdiff_t)(ox * p->stride + kx) - (ptrdiff_t)p->pad;
                if (ix < 0 || ix >= (ptrdiff_t)p->w) continue;
                const size_t in_base = ((b * p->h + (size_t)iy) * p->w + (size_t)ix) * p->c + g * gic;
                const size_t w_base = ((oc * p->kh + ky) * p->kw + kx) * gic;
                for (size_t i = 0; i < gic; i++) {
                  if (!p->qs8)
                    sf += (double)((const float *)input)[in_base + i] * (double)((const float *)weights)[w_base + i];
                  else
                    si += (int64_t)(((const int8_t *)input)[in_base + i] - p->q.input_zero_point) *
                          ((const int8_t *)weights)[w_base + i];
                }
              }
            }
            const size_t out_idx = ((b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc;
            if (!p->qs8)
              ((float *)output)[out_idx] = (float)sf;
            else
              ((int8_t *)output)[out_idx] = hwt_bench_requantize(
                  si, p->q.input_scale * hwt_bench_channel_scale(p, oc) / p->q.output_scale, p->q.output_zero_point,
                  p->q.output_min, p->q.output_max);
          }
}

/* ---- the reference as a backend (and the deliberately wrong variant for tests) ---- */

typedef struct ref_inst {
  hwt_bench_problem p;
  void *w, *bias;
  const void *in;
  void *out;
  bool wrong;
} ref_inst;

static bool ref_supports(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, char *why, size_t whylen) {
  (void)p;
  if (!isa_auto && isa != hwt_isa_scalar) {
    hwt_errf(why, whylen, "reference: only isa scalar");
    return false;
  }
  return true;
}

static const char *ref_isa_name(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa) {
  (void)p, (void)isa_auto, (void)isa;
  return "scalar";
}

static hwt_status ref_create_common(const hwt_bench_problem *p, const void *weights, const void *bias, bool wrong,
                                    void **inst, char *err, size_t errlen) {
  ref_inst *r = calloc(1, sizeof(*r));
  size_t esz = p->qs8 ? 1 : sizeof(float);
  if (r == NULL) goto oom;
  r->p = *p;
  r->wrong = wrong;
  r->w = malloc(p->w_elems * esz);
  r->bias = malloc(p->bias_elems * 4);
  if (r->w == NULL || r->bias == NULL) goto oom;
  memcpy(r->w, weights, p->w_elems * esz);
  if (bias)
    memcpy(r->bias, bias, p->bias_elems * 4);
  else
    memset(r->bias, 0, p->bias_elems * 4);
  *inst = r;
  return hwt_status_ok;
oom:
  if (r) {
    free(r->w);
    free(r->bias);
  }
  free(r);
  hwt_errf(err, errlen, "reference: out of memory");
  return hwt_status_out_of_memory;
}

static hwt_status ref_create(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa, const hwt_gemm_blocking *blk,
                             const void *weights, const void *bias, void **inst, char *err, size_t errlen) {
  (void)isa_auto, (void)isa, (void)blk;
  return ref_create_common(p, weights, bias, false, inst, err, errlen);
}

static hwt_status wrong_create(const hwt_bench_problem *p, bool isa_auto, hwt_isa isa,
                               const hwt_gemm_blocking *blk, const void *weights, const void *bias, void **inst,
                               char *err, size_t errlen) {
  (void)isa_auto, (void)isa, (void)blk;
  return ref_create_common(p, weights, bias, true, inst, err, errlen);
}

static hwt_status ref_bind(void *inst, const void *input, void *output, pthreadpool_t pool, char *err,
                           size_t errlen) {
  (void)pool, (void)err, (void)errlen;
  ref_inst *r = inst;
  r->in = input;
  r->out = output;
  return hwt_status_ok;
}

static void ref_run(void *inst, pthreadpool_t pool) {
  (void)pool;
  ref_inst *r = inst;
  hwt_bench_reference_compute(&r->p, r->w, r->bias, r->in, r->out);
  if (r->wrong && r->p.out_elems > 0) {
    /* Deliberately wrong: one element (the middle one) off by one. */
    size_t i = r->p.out_elems / 2;
    if (r->p.qs8)
      ((int8_t *)r->out)[i] = (int8_t)(((int8_t *)r->out)[i] == 127 ? 126 : ((int8_t *)r->out)[i] + 1);
    else
      ((float *)r->out)[i] += 1.0f;
  }
}

static size_t ref_op_bytes(const void *inst) {
  const ref_inst *r = inst;
  return r->p.w_elems * (r->p.qs8 ? 1 : sizeof(float)) + r->p.bias_elems * 4;
}

static bool ref_blocking(const void *inst, hwt_gemm_blocking *out) {
  (void)inst, (void)out;
  return false;
}

static void ref_destroy(void *inst) {
  ref_inst *r = inst;
  if (r == NULL) return;
  free(r->w);
  free(r->bias);
  free(r);
}

const hwt_bench_backend hwt_bench_backend_reference = {
    hwt_bench_reference, ref_supports, ref_isa_name, ref_create, ref_bind, ref_run, ref_op_bytes, ref_blocking,
    ref_destroy, NULL, NULL};

const hwt_bench_backend hwt_bench_backend_wrong = {
    hwt_bench_wrong, ref_supports, ref_isa_name, wrong_create, ref_bind, ref_run, ref_op_bytes, ref_blocking,
    ref_destroy, NULL, NULL};
