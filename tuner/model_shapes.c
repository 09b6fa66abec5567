/* SPDX-License-Identifier: Apache-2.0 */
/* `tune --model`: the layer problems of a model, as the engine asks the profile about them (engine.h's
 * hwt_layer_query: op, n, k, batch), written as the bench shapes the tuner measures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hwt_common.h"
#include "tuner.h"

/* Appends "; " + text to notes unless it is there (truncating; notes stays terminated). */
static void note(char *notes, size_t len, const char *text) {
  if (notes == NULL || len == 0) return;
  size_t n = strlen(notes);
  if (n + 1 >= len || strstr(notes, text) != NULL) return; /* once per layer, though both passes meet it */
  snprintf(notes + n, len - n, "%s%s", n ? "; " : "", text);
}

/* op when ops holds it, else -1. */
static int find_op(const hwt_bench_op *ops, size_t nops, hwt_bench_op op) {
  for (size_t i = 0; i < nops; i++)
    if (ops[i] == op) return (int) op;
  return -1;
}

static hwt_status add(hwt_tune_layer_shape **v, size_t *n, size_t *cap, hwt_bench_op op, const hwt_bench_shape *s,
                      const char *layer) {
  /* one problem per profile key (op, n, k): the engine's lookup does not see the spatial size */
  hwt_tune_problem a, b;
  hwt_tune_problem_init(&a, op, s, 1);
  for (size_t i = 0; i < *n; i++)
    if ((*v)[i].op == op && (hwt_tune_problem_init(&b, op, &(*v)[i].shape, 1), b.n == a.n && b.k == a.k)) {
      (*v)[i].layers++;
      return hwt_status_ok;
    }
  if (*n == *cap) {
    size_t nc = *cap ? 2 * *cap : 16;
    hwt_tune_layer_shape *nv = realloc(*v, nc * sizeof **v);
    if (nv == NULL) return hwt_status_out_of_memory;
    *v = nv;
    *cap = nc;
  }
  hwt_tune_layer_shape *e = &(*v)[(*n)++];
  memset(e, 0, sizeof *e);
  e->op = op;
  e->shape = *s;
  e->layers = 1;
  snprintf(e->first, sizeof e->first, "%s", layer);
  return hwt_status_ok;
}

hwt_status hwt_tune_model_shapes(const struct hwt_model *m, const hwt_bench_op *ops, size_t nops,
                                 hwt_tune_layer_shape **out, size_t *count, char *notes, size_t noteslen, char *err,
                                 size_t errlen) {
  *out = NULL;
  *count = 0;
  if (notes && noteslen) notes[0] = '\0';
  hwt_tune_layer_shape *v = NULL;
  size_t n = 0, cap = 0;
  bool int8_model = m->precision == hwt_prec_int8;
  /* pass 0: the model as it is (fp32, or int8 when the file is); pass 1 (an fp32 model and qs8 ops asked): its
   * int8 twin, as the audit's post-training quantization makes it, with the same nodes */
  for (int pass = 0; pass < 2; pass++) {
    bool q = pass == 1 || int8_model;
    if (pass == 1 && int8_model) break;
    for (size_t i = 0; i < m->nlayers; i++) {
      const hwt_layer *l = &m->layers[i];
      if (l->type != hwt_layer_fc && l->type != hwt_layer_conv && l->type != hwt_layer_dwconv) continue;
      char msg[256], text[64];
      hwt_bench_shape s;
      int op;
      if (l->type == hwt_layer_fc) {
        /* the int8 classifier with float logits runs as a float GEMM (hwt_layer_float_logits): the last node, or
         * the one before a final softmax */
        bool logits = i + 1 == m->nlayers || (i + 2 == m->nlayers && m->layers[i + 1].type == hwt_layer_softmax);
        op = !q || logits ? find_op(ops, nops, hwt_bench_gemm_f32) : find_op(ops, nops, hwt_bench_gemm_qs8);
        if (op < 0 || (pass == 1 && op == hwt_bench_gemm_f32 && find_op(ops, nops, hwt_bench_gemm_qs8) < 0)) continue;
        snprintf(text, sizeof text, "%ux%zu", l->outputs, hwt_shape_size(l->in));
      } else {
        bool dw = l->type == hwt_layer_dwconv;
        op = find_op(ops, nops, dw ? (q ? hwt_bench_dwconv_qs8 : hwt_bench_dwconv_f32)
                                   : (q ? hwt_bench_conv_qs8 : hwt_bench_conv_f32));
        if (op < 0) continue;
        if (!dw && l->groups > 1) {
          snprintf(msg, sizeof msg, "layer %zu '%s': a grouped convolution (groups %u) is not a problem the bench "
                   "measures: not tuned", i, l->name, l->groups);
          note(notes, noteslen, msg);
          continue;
        }
        if (l->dh > 1 || l->dw > 1 || l->sh != l->sw) {
          snprintf(msg, sizeof msg, "layer %zu '%s': %s is not a problem the bench measures: not tuned", i, l->name,
                   l->sh != l->sw ? "unequal strides" : "a dilated convolution");
          note(notes, noteslen, msg);
          continue;
        }
        uint32_t pad = l->pad_t;
        if (l->pad_b > pad) pad = l->pad_b;
        if (l->pad_l > pad) pad = l->pad_l;
        if (l->pad_r > pad) pad = l->pad_r;
        if ((l->pad_t != pad || l->pad_b != pad || l->pad_l != pad || l->pad_r != pad)) {
          /* the profile's key (op, n, k, batch) does not see padding; the rows measured differ by an edge */
          snprintf(msg, sizeof msg, "layer %zu '%s': asymmetric padding measured as %u on every side", i, l->name,
                   pad);
          note(notes, noteslen, msg);
        }
        snprintf(text, sizeof text, "%ux%ux%u:%u:k%ux%us%up%u", l->in.h, l->in.w, l->in.c,
                 dw ? l->in.c : l->outputs, l->kh, l->kw, l->sh ? l->sh : 1, pad);
      }
      if (hwt_bench_parse_shape(text, &s, msg, sizeof msg) != hwt_status_ok) {
        char m2[400];
        snprintf(m2, sizeof m2, "layer %zu '%.64s': %.255s: not tuned", i, l->name, msg);
        note(notes, noteslen, m2);
        continue;
      }
      if (add(&v, &n, &cap, (hwt_bench_op) op, &s, l->name) != hwt_status_ok) {
        free(v);
        hwt_errf(err, errlen, "out of memory listing the layer problems");
        return hwt_status_out_of_memory;
      }
    }
  }
  *out = v;
  *count = n;
  return hwt_status_ok;
}
