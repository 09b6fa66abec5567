/* SPDX-License-Identifier: Apache-2.0 */
/* Sparse-weight plans (hwtune/spmm.h). First version: compressed rows (CSR) and a portable scalar kernel;
 * the ISA kernels replace the inner loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hwtune/spmm.h"

struct hwt_spmm_f32_plan {
  size_t n, k, nnz, bytes;
  hwt_isa isa;
  float min, max;
  uint32_t *row_start; /* n + 1 */
  uint32_t *col;       /* nnz */
  float *val;          /* nnz */
  float *bias;         /* n */
};

double hwt_sparsity_f32(const float *w, size_t count) {
  if (count == 0 || w == NULL) return 0.0;
  size_t zeros = 0;
  for (size_t i = 0; i < count; i++) zeros += w[i] == 0.0f;
  return (double) zeros / (double) count;
}

void hwt_spmm_block_shape(hwt_isa isa, uint32_t *bn, uint32_t *bk) {
  (void) isa;
  if (bn != NULL) *bn = 1;
  if (bk != NULL) *bk = 1;
}

hwt_isa hwt_spmm_best_isa(void) { return hwt_isa_scalar; }

hwt_status hwt_spmm_f32_create(size_t n, size_t k, const float *w, const float *bias, float min, float max,
                               hwt_isa isa, hwt_spmm_f32_plan **out) {
  if (out == NULL) return hwt_status_invalid_argument;
  *out = NULL;
  if (n == 0 || k == 0 || w == NULL || isnan(min) || isnan(max) || min > max) return hwt_status_invalid_argument;
  if (n > UINT32_MAX / 2 || k > UINT32_MAX / 2 || n * k / n != k) return hwt_status_invalid_argument;
  if (isa >= hwt_isa_count || !hwt_isa_available(isa)) return hwt_status_unsupported;
  size_t nnz = 0;
  for (size_t i = 0; i < n * k; i++) nnz += w[i] != 0.0f;
  if (nnz > UINT32_MAX) return hwt_status_invalid_argument;
  hwt_spmm_f32_plan *p = calloc(1, sizeof(*p));
  if (p == NULL) return hwt_status_out_of_memory;
  p->n = n;
  p->k = k;
  p->nnz = nnz;
  p->isa = hwt_isa_scalar;
  p->min = min;
  p->max = max;
  p->row_start = malloc((n + 1) * sizeof(uint32_t));
  p->col = malloc((nnz ? nnz : 1) * sizeof(uint32_t));
  p->val = malloc((nnz ? nnz : 1) * sizeof(float));
  p->bias = calloc(n, sizeof(float));
  if (p->row_start == NULL || p->col == NULL || p->val == NULL || p->bias == NULL) {
    hwt_spmm_f32_destroy(p);
    return hwt_status_out_of_memory;
  }
  p->bytes = (n + 1) * sizeof(uint32_t) + nnz * (sizeof(uint32_t) + sizeof(float)) + n * sizeof(float);
  size_t z = 0;
  for (size_t r = 0; r < n; r++) {
    p->row_start[r] = (uint32_t) z;
    for (size_t c = 0; c < k; c++) {
      float v = w[r * k + c];
      if (v != 0.0f) {
        p->col[z] = (uint32_t) c;
        p->val[z] = v;
        z++;
      }
    }
    if (bias != NULL) p->bias[r] = bias[r];
  }
  p->row_start[n] = (uint32_t) z;
  *out = p;
  return hwt_status_ok;
}

void hwt_spmm_f32_run(const hwt_spmm_f32_plan *p, size_t m, const float *a, size_t a_stride, float *c,
                      size_t c_stride, pthreadpool_t pool) {
  (void) pool;
  for (size_t i = 0; i < m; i++) {
    const float *ai = a + i * a_stride;
    float *ci = c + i * c_stride;
    for (size_t r = 0; r < p->n; r++) {
      float acc = p->bias[r];
      for (uint32_t z = p->row_start[r]; z < p->row_start[r + 1]; z++) acc += ai[p->col[z]] * p->val[z];
      ci[r] = fminf(fmaxf(acc, p->min), p->max);
    }
  }
}

void hwt_spmm_f32_destroy(hwt_spmm_f32_plan *p) {
  if (p == NULL) return;
  free(p->row_start);
  free(p->col);
  free(p->val);
  free(p->bias);
  free(p);
}

size_t hwt_spmm_f32_plan_bytes(const hwt_spmm_f32_plan *p) { return p ? p->bytes : 0; }
size_t hwt_spmm_f32_plan_nnz(const hwt_spmm_f32_plan *p) { return p ? p->nnz : 0; }
hwt_isa hwt_spmm_f32_plan_isa(const hwt_spmm_f32_plan *p) { return p ? p->isa : hwt_isa_scalar; }
const char *hwt_spmm_f32_plan_format(const hwt_spmm_f32_plan *p) { return p ? "csr" : "none"; }
