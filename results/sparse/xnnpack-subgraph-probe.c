/* SPDX-License-Identifier: Apache-2.0 */
/* Does Debian's XNNPACK run a hinted subgraph sparse on this CPU? The smallest graph its NCHW rewrite accepts
 * (3x3 s2 stem with 3 input channels, a 1x1 convolution, global average pool) is timed with and without
 * XNN_FLAG_HINT_SPARSE_INFERENCE, with the 1x1 weights 0% and 95% zero, in turns (ABAB), medians.
 * Build: cc -O2 xnnpack-subgraph-probe.c -lXNNPACK -lpthreadpool -lm -o probe (results/sparse/measure.sh runs it) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <xnnpack.h>

#define H 224
#define C1 32
#define C2 512

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static xnn_runtime_t build(const float *w1, const float *b1, const float *w2, const float *b2, uint32_t flags) {
  xnn_subgraph_t g;
  if (xnn_create_subgraph(2, 0, &g) != xnn_status_success) abort();
  uint32_t in, t1, t2, out, vw1, vb1, vw2, vb2;
  size_t din[4] = {1, H, H, 3}, d1[4] = {1, H / 2, H / 2, C1}, d2[4] = {1, H / 2, H / 2, C2}, dout[4] = {1, 1, 1, C2};
  size_t dw1[4] = {C1, 3, 3, 3}, db1[1] = {C1}, dw2[4] = {C2, 1, 1, C1}, db2[1] = {C2};
  xnn_define_tensor_value(g, xnn_datatype_fp32, 4, din, NULL, 0, XNN_VALUE_FLAG_EXTERNAL_INPUT, &in);
  xnn_define_tensor_value(g, xnn_datatype_fp32, 4, d1, NULL, XNN_INVALID_VALUE_ID, 0, &t1);
  xnn_define_tensor_value(g, xnn_datatype_fp32, 4, d2, NULL, XNN_INVALID_VALUE_ID, 0, &t2);
  xnn_define_tensor_value(g, xnn_datatype_fp32, 4, dout, NULL, 1, XNN_VALUE_FLAG_EXTERNAL_OUTPUT, &out);
  xnn_define_tensor_value(g, xnn_datatype_fp32, 4, dw1, w1, XNN_INVALID_VALUE_ID, 0, &vw1);
  xnn_define_tensor_value(g, xnn_datatype_fp32, 1, db1, b1, XNN_INVALID_VALUE_ID, 0, &vb1);
  xnn_define_tensor_value(g, xnn_datatype_fp32, 4, dw2, w2, XNN_INVALID_VALUE_ID, 0, &vw2);
  xnn_define_tensor_value(g, xnn_datatype_fp32, 1, db2, b2, XNN_INVALID_VALUE_ID, 0, &vb2);
  if (xnn_define_convolution_2d(g, 1, 1, 1, 1, 3, 3, 2, 2, 1, 1, 1, 3, C1, 0.0f, 6.0f, in, vw1, vb1, t1, 0) ||
      xnn_define_convolution_2d(g, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, C1, C2, 0.0f, 6.0f, t1, vw2, vb2, t2, 0) ||
      xnn_define_global_average_pooling_2d(g, -INFINITY, INFINITY, t2, out, 0))
    abort();
  xnn_runtime_t rt;
  if (xnn_create_runtime_v2(g, NULL, flags, &rt) != xnn_status_success) abort();
  xnn_delete_subgraph(g);
  return rt;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(void) {
  if (xnn_initialize(NULL) != xnn_status_success) return 1;
  float *x = malloc((H * H * 3 + 16) * sizeof(float)), *y = malloc(C2 * sizeof(float));
  float *w1 = malloc(C1 * 27 * sizeof(float)), *b1 = calloc(C1, sizeof(float)), *b2 = calloc(C2, sizeof(float));
  float *dense = malloc(C2 * C1 * sizeof(float)), *sparse = malloc(C2 * C1 * sizeof(float));
  srand(1);
  for (int i = 0; i < H * H * 3 + 16; i++) x[i] = (float)rand() / RAND_MAX;
  for (int i = 0; i < C1 * 27; i++) w1[i] = (float)rand() / RAND_MAX - 0.5f;
  for (int i = 0; i < C2 * C1; i++) {
    dense[i] = (float)rand() / RAND_MAX - 0.5f;
    sparse[i] = i % 20 == 0 ? dense[i] : 0.0f; /* 95% zeros */
  }
  const char *names[4] = {"dense weights, no hint", "dense weights, HINT_SPARSE", "95% zero weights, no hint",
                          "95% zero weights, HINT_SPARSE"};
  xnn_runtime_t rt[4];
  for (int v = 0; v < 4; v++) {
    rt[v] = build(w1, b1, v < 2 ? dense : sparse, b2, v % 2 ? XNN_FLAG_HINT_SPARSE_INFERENCE : 0);
    struct xnn_external_value ext[2] = {{0, x}, {1, y}};
    if (xnn_setup_runtime(rt[v], 2, ext) != xnn_status_success) abort();
  }
  enum { ROUNDS = 15, ITERS = 10 };
  double t[4][ROUNDS];
  for (int r = 0; r < ROUNDS; r++)
    for (int v = 0; v < 4; v++) {
      xnn_invoke_runtime(rt[v]);
      double t0 = now();
      for (int i = 0; i < ITERS; i++) xnn_invoke_runtime(rt[v]);
      t[v][r] = (now() - t0) / ITERS;
    }
  for (int v = 0; v < 4; v++) {
    qsort(t[v], ROUNDS, sizeof(double), cmp);
    printf("%-32s median %8.1f us (min %8.1f)\n", names[v], 1e6 * t[v][ROUNDS / 2], 1e6 * t[v][0]);
  }
  return 0;
}
