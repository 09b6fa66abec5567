/* SPDX-License-Identifier: Apache-2.0 */
/* The sparse break-even of one fc / 1x1 conv fp32 problem: our sparse kernel (hwtune/spmm.h) against the tuned
 * dense choice on the same random weights at rising unstructured sparsities, side by side, and the sparsity from
 * which it wins (the profile entry's "sparse" record, docs/profile-schema.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <xnnpack.h>

#include "engine.h"
#include "hwt_common.h"
#include "hwtune/spmm.h"
#include "tuner.h"

const double hwt_tune_sparse_levels[HWT_TUNE_SPARSE_LEVELS] = {0.5, 0.6, 0.7, 0.8, 0.9, 0.95};

bool hwt_tune_sparse_eligible(const hwt_tune_problem *p) {
  if (p->op == hwt_bench_gemm_f32) return !p->shape.conv;
  if (p->op != hwt_bench_conv_f32 || !p->shape.conv) return false;
  return p->shape.kh == 1 && p->shape.kw == 1 && p->shape.stride <= 1 && p->shape.pad == 0;
}

double hwt_tune_sparse_break_even(const double *s, const double *speedup, size_t n, bool *never) {
  *never = false;
  if (n == 0 || !(speedup[n - 1] >= 1.0)) {
    *never = true;
    return HUGE_VAL;
  }
  size_t j = n - 1; /* first point from which the sparse kernel wins at every measured sparsity */
  while (j > 0 && speedup[j - 1] >= 1.0) j--;
  if (j == 0) return s[0];
  double r0 = speedup[j - 1], r1 = speedup[j];
  double be = s[j - 1] + (1.0 - r0) * (s[j] - s[j - 1]) / (r1 - r0);
  return be < s[j - 1] ? s[j - 1] : be > s[j] ? s[j] : be;
}

/* One dense configuration over rows x k -> rows x n: our GEMM plan or XNNPACK's fully-connected operator (a 1x1
 * conv is the same product over batch * h * w rows). */
typedef struct dense_op {
  hwt_gemm_f32_plan *own;
  xnn_operator_t xnn;
} dense_op;

static uint64_t time_burst(int which, const dense_op *d, const hwt_spmm_f32_plan *sp, const hwt_tune_problem *p,
                           const float *a, float *c, pthreadpool_t pool, unsigned reps) {
  uint64_t t0 = hwt_now_ns();
  for (unsigned r = 0; r < reps; r++) {
    if (which == 1) hwt_spmm_f32_run(sp, p->rows, a, p->k, c, p->n, pool);
    else if (d->own != NULL) hwt_gemm_f32_run(d->own, p->rows, a, p->k, c, p->n, pool);
    else xnn_run_operator(d->xnn, pool);
  }
  return (hwt_now_ns() - t0) / reps;
}

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

static uint64_t median_u64(uint64_t *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_u64);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

hwt_status hwt_tune_sparse_measure(const hwt_tune_problem *p, const hwt_tune_candidate *dense, double max_s,
                                   hwt_tune_sparse_result *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  size_t n = p->n, k = p->k, rows = p->rows ? p->rows : 1;
  hwt_status st = hwt_engine_global_init(err, errlen);
  if (st != hwt_status_ok) return st;
  float *w = malloc(n * k * sizeof(float)), *ws = malloc(n * k * sizeof(float)), *b = malloc(n * sizeof(float));
  float *a = malloc((rows * k + 16) * sizeof(float)), *c = malloc((rows * n + 16) * sizeof(float));
  uint32_t *order = malloc(n * k * sizeof(uint32_t));
  dense_op d = {0};
  pthreadpool_t pool = NULL;
  if (!w || !ws || !b || !a || !c || !order || n * k > UINT32_MAX) {
    hwt_errf(err, errlen, "sparse break-even %s: out of memory", p->shape.text);
    st = hwt_status_out_of_memory;
    goto done;
  }
  uint64_t rng = 0x9e3779b97f4a7c15ull ^ (n * 131 + k);
  for (size_t i = 0; i < n * k; i++) {
    w[i] = (float)((int32_t)((splitmix64(&rng) >> 40) & 0xffff) - 32768) / 32768.0f;
    if (w[i] == 0.0f) w[i] = 0.5f;
    order[i] = (uint32_t)i;
  }
  for (size_t i = n * k; i > 1; i--) { /* a random order of the weights to zero */
    size_t j = splitmix64(&rng) % i;
    uint32_t t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
  for (size_t i = 0; i < n; i++) b[i] = 0.01f * (float)(i % 7);
  for (size_t i = 0; i < rows * k + 16; i++) a[i] = (float)(i % 13) / 13.0f;
  unsigned threads = dense->threads ? dense->threads : 1;
  if (threads > 1) pool = pthreadpool_create(threads);
  if (dense->impl == hwt_bench_own) {
    st = hwt_gemm_f32_create(n, k, w, b, -INFINITY, INFINITY, dense->isa, &dense->blocking, &d.own);
  } else {
    enum xnn_status xs = xnn_create_fully_connected_nc_f32(k, n, k, n, w, b, -INFINITY, INFINITY, 0, &d.xnn);
    if (xs == xnn_status_success) xs = xnn_setup_fully_connected_nc_f32(d.xnn, rows, a, c, pool);
    st = xs == xnn_status_success ? hwt_status_ok : hwt_status_internal;
  }
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "sparse break-even %s: the dense plan failed: %s", p->shape.text, hwt_status_string(st));
    goto done;
  }
  memcpy(ws, w, n * k * sizeof(float));
  size_t zeroed = 0;
  double per_point = max_s / HWT_TUNE_SPARSE_LEVELS;
  out->isa = hwt_spmm_best_isa();
  for (size_t L = 0; L < HWT_TUNE_SPARSE_LEVELS; L++) {
    double s = hwt_tune_sparse_levels[L];
    size_t target = (size_t)llround(s * (double)(n * k));
    for (; zeroed < target; zeroed++) ws[order[zeroed]] = 0.0f;
    hwt_spmm_f32_plan *sp = NULL;
    st = hwt_spmm_f32_create(n, k, ws, b, -INFINITY, INFINITY, out->isa, &sp);
    if (st != hwt_status_ok) {
      hwt_errf(err, errlen, "sparse break-even %s: the sparse plan failed: %s", p->shape.text,
               hwt_status_string(st));
      goto done;
    }
    snprintf(out->format, sizeof out->format, "%s", hwt_spmm_f32_plan_format(sp));
    /* Bursts of ~1/8 of the point's time share each, alternating dense, sparse (ABAB); medians of the bursts. */
    uint64_t t1 = time_burst(0, &d, sp, p, a, c, pool, 1) + time_burst(1, &d, sp, p, a, c, pool, 1);
    double burst_s = per_point / 16.0;
    unsigned reps = (unsigned)fmin(1000.0, fmax(1.0, burst_s * 1e9 / (double)(t1 ? t1 : 1)));
    uint64_t td[8], tsp[8];
    size_t nb = 0;
    uint64_t start = hwt_now_ns();
    for (; nb < 8; nb++) {
      td[nb] = time_burst(0, &d, sp, p, a, c, pool, reps);
      tsp[nb] = time_burst(1, &d, sp, p, a, c, pool, reps);
      if (nb >= 2 && (double)(hwt_now_ns() - start) * 1e-9 > per_point) {
        nb++;
        break;
      }
    }
    hwt_spmm_f32_destroy(sp);
    double md = (double)median_u64(td, nb), ms = (double)median_u64(tsp, nb);
    out->sparsity[L] = s;
    out->speedup[L] = ms > 0 ? md / ms : 1.0;
    out->dense_ns[L] = md;
    out->sparse_ns[L] = ms;
    out->npoints = L + 1;
  }
  out->break_even = hwt_tune_sparse_break_even(out->sparsity, out->speedup, out->npoints, &out->never);
  st = hwt_status_ok;
done:
  hwt_gemm_f32_destroy(d.own);
  if (d.xnn != NULL) xnn_delete_operator(d.xnn);
  if (pool != NULL) pthreadpool_destroy(pool);
  free(w), free(ws), free(b), free(a), free(c), free(order);
  return st;
}

json_t *hwt_tune_sparse_json(const hwt_tune_sparse_result *r) {
  json_t *o = json_object(), *pts = json_array();
  if (o == NULL || pts == NULL) {
    json_decref(o);
    json_decref(pts);
    return NULL;
  }
  json_object_set_new(o, "break_even", r->never ? json_null() : json_real(round(r->break_even * 1000) / 1000));
  for (size_t i = 0; i < r->npoints; i++)
    json_array_append_new(pts, json_pack("[f, f]", r->sparsity[i], round(r->speedup[i] * 1000) / 1000));
  json_object_set_new(o, "points", pts);
  json_object_set_new(o, "kernel", json_sprintf("%s %s", r->format, hwt_isa_name(r->isa)));
  return o;
}
