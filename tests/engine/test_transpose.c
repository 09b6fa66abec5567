/* SPDX-License-Identifier: Apache-2.0 */
/* The transpose node: the engine and the reference against a closed form for every rank-2, 3 and 4 perm that
 * keeps the batch first (batch 1 and 3), the graph's refusals, the JSON form and its round trip, the ONNX
 * importer's mapping and refusals on tests/fixtures/onnx/make_transpose_fixtures.py's models, and the exporter's
 * form imported back. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnx.h"

#define FIX HWTUNE_FIXTURES "/onnx/transpose_"

static char err[4096];

/* Internal shape of logical dims after the batch (rank 4 [C, H, W], 3 [C, L], 2 [K]). */
static hwt_shape internal(unsigned rank, const uint32_t *d) {
  return rank == 4 ? (hwt_shape){d[1], d[2], d[0]} : rank == 3 ? (hwt_shape){1, d[1], d[0]} : (hwt_shape){1, 1, d[0]};
}

/* One transpose node reading graph input 0 of logical rank `rank` and dims d (after the batch). */
static hwt_model *mk(unsigned rank, const uint32_t *d, const uint8_t *perm) {
  hwt_model *m = hwt_rt_calloc(1, sizeof(*m));
  cr_assert_not_null(m);
  m->layers = hwt_rt_calloc(1, sizeof(hwt_layer));
  cr_assert_not_null(m->layers);
  m->nlayers = 1;
  snprintf(m->name, sizeof(m->name), "t");
  m->input = internal(rank, d);
  m->ninputs = 1;
  m->inputs[0].shape = m->input;
  m->inputs[0].rank = (uint8_t) rank;
  snprintf(m->inputs[0].name, sizeof(m->inputs[0].name), "x");
  hwt_layer *l = &m->layers[0];
  snprintf(l->name, sizeof(l->name), "tr");
  l->type = hwt_layer_transpose;
  l->nin = 1;
  l->inputs[0] = HWT_INPUT_ID(0);
  l->rank = (uint8_t) rank;
  memcpy(l->perm, perm, rank);
  return m;
}

/* Runs one perm through the engine and the reference at batch 1 and 3; the input holds the sample and its
 * logical coordinates (s * 1000 + c0 * 100 + c1 * 10 + c2) and the output must hold, at output coordinates o,
 * the input's value at i with i[perm[d] - 1] = o[d - 1]. */
static void check_perm(unsigned rank, const uint32_t *d, const uint8_t *perm) {
  hwt_model *m = mk(rank, d, perm);
  err[0] = '\0';
  cr_assert_eq(hwt_model_finalize(m, "t", err, sizeof(err)), hwt_status_ok, "%s", err);
  unsigned k = rank - 1;
  uint32_t od[3] = {1, 1, 1};
  for (unsigned j = 0; j < k; j++) od[j] = d[perm[j + 1] - 1];
  hwt_shape want = internal(rank, od);
  cr_assert(m->layers[0].out.h == want.h && m->layers[0].out.w == want.w && m->layers[0].out.c == want.c,
            "rank %u perm %u%u%u%u: out [%u, %u, %u], want [%u, %u, %u]", rank, perm[0], perm[1], perm[2], perm[3],
            m->layers[0].out.h, m->layers[0].out.w, m->layers[0].out.c, want.h, want.w, want.c);
  cr_assert_eq(m->layers[0].rank, rank);
  size_t n = hwt_shape_size(m->input);
  static const size_t batches[2] = {1, 3};
  for (size_t bi = 0; bi < 2; bi++) {
    size_t batch = batches[bi];
    float *x = calloc(batch * n, sizeof(float)), *y1 = calloc(batch * n, sizeof(float));
    float *y2 = calloc(batch * n, sizeof(float));
    cr_assert(x && y1 && y2);
    for (size_t s = 0; s < batch; s++)
      for (size_t j = 0; j < n; j++) {
        size_t c[3] = {0, 0, 0}, r = j;
        for (unsigned q = k; q-- > 0;) c[q] = r % d[q], r /= d[q];
        x[s * n + j] = (float) (s * 1000 + c[0] * 100 + c[1] * 10 + c[2]);
      }
    hwt_engine *e = NULL;
    hwt_engine_options opt = {0};
    opt.threads = 1;
    cr_assert_eq(hwt_engine_create(m, batch, &opt, &e, err, sizeof(err)), hwt_status_ok, "%s", err);
    const float *ins[1] = {x};
    float *o1[1] = {y1}, *o2[1] = {y2};
    cr_assert_eq(hwt_engine_run_io(e, ins, o1, NULL), hwt_status_ok);
    cr_assert_eq(hwt_model_reference_io(m, batch, ins, o2), hwt_status_ok);
    for (size_t s = 0; s < batch; s++)
      for (size_t j = 0; j < n; j++) {
        size_t o[3] = {0, 0, 0}, i[3] = {0, 0, 0}, r = j;
        for (unsigned q = k; q-- > 0;) o[q] = r % od[q], r /= od[q];
        for (unsigned q = 0; q < k; q++) i[perm[q + 1] - 1] = o[q];
        float want_v = (float) (s * 1000 + i[0] * 100 + i[1] * 10 + i[2]);
        cr_assert_eq(y1[s * n + j], want_v, "engine rank %u perm %u%u%u%u batch %zu [%zu]: %g, want %g", rank,
                     perm[0], perm[1], perm[2], perm[3], batch, j, (double) y1[s * n + j], (double) want_v);
        cr_assert_eq(y2[s * n + j], want_v, "reference rank %u perm %u%u%u%u batch %zu [%zu]: %g, want %g", rank,
                     perm[0], perm[1], perm[2], perm[3], batch, j, (double) y2[s * n + j], (double) want_v);
      }
    hwt_engine_destroy(e);
    free(x), free(y1), free(y2);
  }
  hwt_model_free(m);
}

Test(transpose_engine, every_perm_keeping_the_batch) {
  static const uint8_t p4[6][4] = {{0, 1, 2, 3}, {0, 1, 3, 2}, {0, 2, 1, 3}, {0, 2, 3, 1}, {0, 3, 1, 2}, {0, 3, 2, 1}};
  static const uint32_t d4[3] = {2, 3, 4}, d4b[3] = {5, 1, 3}, d3[2] = {3, 5}, d2[1] = {7};
  for (int i = 0; i < 6; i++) {
    check_perm(4, d4, p4[i]);
    check_perm(4, d4b, p4[i]); /* h = 1: also a case the layout treats as a copy */
  }
  static const uint8_t p3[2][4] = {{0, 1, 2, 0}, {0, 2, 1, 0}};
  for (int i = 0; i < 2; i++) check_perm(3, d3, p3[i]);
  static const uint8_t p2[4] = {0, 1, 0, 0};
  check_perm(2, d2, p2);
}

static void graph_refuses(hwt_model *m, const char *what) {
  err[0] = '\0';
  cr_assert_neq(hwt_model_finalize(m, "t", err, sizeof(err)), hwt_status_ok, "accepted (wanted '%s')", what);
  cr_assert(strstr(err, what) != NULL, "message '%s' lacks '%s'", err, what);
  cr_assert(strstr(err, "'tr'") != NULL, "message '%s' does not name the node", err);
  hwt_model_free(m);
}

Test(transpose_graph, refusals) {
  static const uint32_t d[3] = {2, 3, 4};
  graph_refuses(mk(4, d, (const uint8_t[4]){1, 0, 2, 3}), "perm[0] = 1 moves the batch dimension");
  graph_refuses(mk(4, d, (const uint8_t[4]){0, 1, 1, 3}), "is not a permutation of 0 to 3");
  graph_refuses(mk(3, d, (const uint8_t[4]){0, 2, 3, 0}), "is not a permutation of 0 to 2");
  hwt_model *m = mk(4, d, (const uint8_t[4]){0, 2, 1, 0});
  m->layers[0].rank = 3;
  graph_refuses(m, "perm has 3 entries, the input's rank is 4");
  m = mk(4, d, (const uint8_t[4]){0, 1, 2, 3});
  m->inputs[0].rank = 0;
  graph_refuses(m, "logical rank 0 (transpose reads rank 2 to 4)");
}

Test(transpose_json, round_trip_and_refusals) {
  static const uint32_t d[3] = {2, 3, 4};
  hwt_model *m = mk(4, d, (const uint8_t[4]){0, 3, 1, 2});
  err[0] = '\0';
  cr_assert_eq(hwt_model_finalize(m, "t", err, sizeof(err)), hwt_status_ok, "%s", err);
  char path[] = "/tmp/hwt_transpose_XXXXXX";
  cr_assert_not_null(mkdtemp(path));
  char jp[128], bp[128];
  snprintf(jp, sizeof(jp), "%s/t.json", path);
  snprintf(bp, sizeof(bp), "%s/t.bin", path);
  cr_assert_eq(hwt_model_save(m, jp, err, sizeof(err)), hwt_status_ok, "%s", err);
  FILE *f = fopen(jp, "r");
  cr_assert_not_null(f);
  char text[8192];
  size_t len = fread(text, 1, sizeof(text) - 1, f);
  text[len] = '\0';
  fclose(f);
  char *at = strstr(text, "\"perm\": [");
  cr_assert(strstr(text, "\"transpose\"") && at != NULL, "JSON lacks the perm: %s", text);
  char *end = strchr(at, ']');
  cr_assert_not_null(end);
  size_t pre = (size_t) (at - text), plen = (size_t) (end + 1 - at);
  hwt_model *r = NULL;
  cr_assert_eq(hwt_model_load(jp, &r, err, sizeof(err)), hwt_status_ok, "%s", err);
  cr_assert_eq(r->layers[0].type, hwt_layer_transpose);
  cr_assert_eq(r->layers[0].rank, 4);
  cr_assert_eq(memcmp(r->layers[0].perm, m->layers[0].perm, 4), 0);
  cr_assert(r->layers[0].out.h == 2 && r->layers[0].out.w == 3 && r->layers[0].out.c == 4);
  hwt_model_free(r);
  /* refusals: the saved file with its perm array replaced */
  static const struct {
    const char *perm, *what;
  } bad[] = {{"\"perm\": [0, 3, 1, 4]", "field 'perm' must be an array of 2 to 4 dims"},
             {"\"perm\": [0]", "field 'perm' must be an array of 2 to 4 dims"},
             {"\"perm\": 3", "field 'perm' must be an array of 2 to 4 dims"},
             {"\"perm\": [1, 0, 2, 3]", "perm[0] = 1 moves the batch dimension"}};
  for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
    char mod[8192];
    snprintf(mod, sizeof(mod), "%.*s%s%s", (int) pre, text, bad[b].perm, at + plen);
    f = fopen(jp, "w");
    cr_assert_not_null(f);
    fputs(mod, f);
    fclose(f);
    r = NULL;
    err[0] = '\0';
    cr_assert_neq(hwt_model_load(jp, &r, err, sizeof(err)), hwt_status_ok, "%s accepted", bad[b].perm);
    cr_assert(strstr(err, bad[b].what) != NULL, "%s: message '%s' lacks '%s'", bad[b].perm, err, bad[b].what);
    hwt_model_free(r);
  }
  hwt_model_free(m);
  remove(jp), remove(bp), remove(path);
}

static hwt_model *import(const char *name) {
  hwt_model *m = NULL;
  err[0] = '\0';
  cr_assert_eq(hwt_onnx_import(name, NULL, &m, err, sizeof err), hwt_status_ok, "%s: %s", name, err);
  cr_assert_not_null(m);
  return m;
}

/* nchw_nhwc.onnx: x [1, 2, 3, 4] -> t = Transpose(0, 2, 3, 1) -> Relu -> y = Transpose(0, 3, 1, 2); outputs y, t. */
static void check_nchw_nhwc(hwt_model *m) {
  cr_assert_eq(m->nlayers, 3);
  cr_assert_eq(m->layers[0].type, hwt_layer_transpose);
  cr_assert_eq(memcmp(m->layers[0].perm, ((const uint8_t[4]){0, 2, 3, 1}), 4), 0);
  cr_assert_eq(m->layers[1].type, hwt_layer_relu);
  cr_assert_eq(m->layers[2].type, hwt_layer_transpose);
  cr_assert_eq(memcmp(m->layers[2].perm, ((const uint8_t[4]){0, 3, 1, 2}), 4), 0);
  cr_assert_eq(m->noutputs, 2);
  float x[24], y[24], t[24];
  for (int j = 0; j < 24; j++) x[j] = (float) (j % 2 ? j : -j);
  const float *ins[1] = {x};
  float *outs[2] = {y, t};
  hwt_engine *e = NULL;
  hwt_engine_options opt = {0};
  cr_assert_eq(hwt_engine_create(m, 1, &opt, &e, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_engine_run_io(e, ins, outs, NULL), hwt_status_ok);
  for (int c = 0; c < 2; c++)
    for (int h = 0; h < 3; h++)
      for (int w = 0; w < 4; w++) {
        int j = (c * 3 + h) * 4 + w;
        float v = x[j];
        cr_assert_eq(y[j], v > 0 ? v : 0.0f, "y [%d]", j);
        cr_assert_eq(t[(h * 4 + w) * 2 + c], v, "t [%d %d %d]", h, w, c); /* t is [1, 3, 4, 2] */
      }
  hwt_engine_destroy(e);
}

Test(transpose_import, mapping_and_engine) {
  hwt_model *m = import(FIX "nchw_nhwc.onnx");
  check_nchw_nhwc(m);
  hwt_model_free(m);
  m = import(FIX "rank3.onnx"); /* x [2, 3, 5] perm (0, 2, 1) at opset 1 */
  cr_assert_eq(m->nlayers, 1);
  cr_assert_eq(m->layers[0].rank, 3);
  cr_assert(m->layers[0].out.h == 1 && m->layers[0].out.w == 3 && m->layers[0].out.c == 5);
  float x[30], y[30];
  for (int j = 0; j < 30; j++) x[j] = (float) j;
  hwt_engine *e = NULL;
  hwt_engine_options opt = {0};
  cr_assert_eq(hwt_engine_create(m, 2, &opt, &e, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_engine_run(e, x, y, NULL), hwt_status_ok);
  for (int s = 0; s < 2; s++)
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 5; b++) cr_assert_eq(y[s * 15 + b * 3 + a], x[s * 15 + a * 5 + b], "[%d %d %d]", s, a, b);
  hwt_engine_destroy(e);
  hwt_model_free(m);
  cr_assert(strstr(hwt_onnx_supported_ops(), "Transpose") != NULL);
}

static void refused(const char *name, const char *what) {
  hwt_model *m = NULL;
  err[0] = '\0';
  cr_assert_neq(hwt_onnx_import(name, NULL, &m, err, sizeof err), hwt_status_ok, "%s was accepted", name);
  cr_assert_null(m);
  cr_assert(strstr(err, what) != NULL, "message '%s' lacks '%s'", err, what);
}

Test(transpose_import, refusals) {
  refused(FIX "bad_batch.onnx", "node 0 'moves_batch' (Transpose): perm[0] = 1 moves the batch dimension");
  refused(FIX "bad_default.onnx", "'reverse' (Transpose): perm[0] = 2 moves the batch dimension of [2, 3, 4] (perm "
                                  "absent: the default reverses all dims)");
}

Test(transpose_export, round_trip) {
  hwt_model *m = import(FIX "nchw_nhwc.onnx");
  char path[] = "/tmp/hwt_transpose_export_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  err[0] = '\0';
  cr_assert_eq(hwt_onnx_export(m, path, err, sizeof err), hwt_status_ok, "%s", err);
  hwt_model_free(m);
  m = import(path);
  remove(path);
  check_nchw_nhwc(m);
  hwt_model_free(m);
}
