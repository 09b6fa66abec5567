/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune prune`: magnitude pruning of fp32 fc and dense conv weights (hwt_model_prune), one ONNX file per
 * sparsity with the zeros in place, so that any runtime loads it. No fine-tuning (that is training). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/verbs.h"
#include "cmd_io.h"
#include "hwt_common.h"
#include "hwtune/spmm.h"
#include "onnx.h"

#define MAX_SPARSITIES 32

static void usage(FILE *out) {
  fprintf(out,
          "usage: hwtune prune --model M --sparsity S[,S...] --out P.onnx [--pattern unstructured|block]\n"
          "                    [--block NxK] [--scope layer|global] [--prune-first] [--prune-classifier] [--batch B]\n\n"
          "Magnitude pruning WITHOUT fine-tuning: the smallest |w| of the fp32 fully-connected and dense convolution\n"
          "layers become exact zeros, written as an ONNX model (opset 13) that any runtime loads. Retraining the\n"
          "kept weights to recover accuracy is training, out of scope here: check the accuracy of every file on your\n"
          "labelled data with `hwtune audit --model M --prune S[,S...] --inputs x.npy --labels y.npy` before\n"
          "using it. Depthwise and grouped convolutions, biases and other nodes are left alone. See docs/prune.md.\n\n"
          "  --model M           an fp32 ONNX file (.onnx), a hwtune model JSON, mlp or mobilenet (int8 refused)\n"
          "  --sparsity S,...    fractions of zero weights in [0, 1], comma-separated, no duplicates: 0.5,0.75,0.9\n"
          "  --out P.onnx        the file to write (atomically). With several sparsities, one file each, named\n"
          "                      P-s<100 S>.onnx: --out m.onnx --sparsity 0.5,0.9 writes m-s50.onnx, m-s90.onnx\n"
          "  --pattern P         unstructured (default): single weights; block: blocks of N output channels by K\n"
          "                      consecutive inputs zeroed or kept whole (scored by their largest |w|)\n"
          "  --block NxK         the block (with --pattern block; default: the shape hwtune's sparse kernels run\n"
          "                      best at on this CPU's best ISA)\n"
          "  --scope S           layer (default): every pruned layer reaches S itself; global: one magnitude\n"
          "                      threshold over all pruned layers, which then end at different sparsities\n"
          "  --prune-first       also prune the first fc / conv layer (kept dense by default: it sees raw input)\n"
          "  --prune-classifier  also prune the classifier (the last fc; kept dense by default)\n"
          "  --batch B           the batch an ONNX model with a symbolic batch is imported at (default 1); the\n"
          "                      written file keeps the dimension symbolic\n\n"
          "Each pruned layer gets exactly round(S x units) zero units (weights, or blocks), halves up. Prints one\n"
          "table per file: layer, op, weights, sparsity before and after, and the totals.\n\n"
          "Exit codes: 0 written, 1 the model refused (int8, unreadable) or writing failed, 2 usage error (a bad\n"
          "sparsity list or an --out that cannot be written included, refused before anything runs).\n");
}

static int bad(const char *msg, const char *arg) {
  fprintf(stderr, "hwtune prune: %s%s%s%s\n\n", msg, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
  usage(stderr);
  return 2;
}

/* "0.5,0.75,0.9": every item a finite number in [0, 1], none empty, no duplicates. Returns the count, or 0 with
 * *why set. */
static size_t parse_sparsities(const char *text, double *out, const char **why) {
  size_t n = 0;
  const char *p = text;
  for (;;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t) (end - p) : strlen(p);
    char item[64];
    if (len == 0) {
      *why = "--sparsity has an empty item in";
      return 0;
    }
    if (len >= sizeof item || n == MAX_SPARSITIES) {
      *why = "--sparsity takes at most 32 items of at most 63 characters, not";
      return 0;
    }
    memcpy(item, p, len);
    item[len] = '\0';
    double v;
    if (!hwt_parse_double(item, &v) || v < 0.0 || v > 1.0) {
      *why = "--sparsity takes fractions in [0, 1] (0.9 = 90% zeros), comma-separated, not";
      return 0;
    }
    for (size_t k = 0; k < n; k++)
      if (out[k] == v) {
        *why = "--sparsity lists a value twice in";
        return 0;
      }
    out[n++] = v;
    if (end == NULL) return n;
    p = end + 1;
  }
}

/* "pruned.onnx" + 0.5 -> "pruned-s50.onnx" (100 S with up to 6 significant digits: 0.955 -> s95.5). */
static void file_for(const char *out, double s, size_t count, char *buf, size_t len) {
  if (count == 1) {
    snprintf(buf, len, "%s", out);
    return;
  }
  size_t stem = strlen(out) - strlen(".onnx");
  snprintf(buf, len, "%.*s-s%.6g.onnx", (int) stem, out, s * 100.0);
}

/* Why a weighted node was left dense (the rules of hwt_model_prune, engine/engine.h). */
static const char *kept_why(const hwt_model *m, size_t i, size_t first, size_t cls) {
  const hwt_layer *l = &m->layers[i];
  if (l->type == hwt_layer_dwconv) return "dense: depthwise";
  if (l->type == hwt_layer_conv && l->groups > 1) return "dense: grouped";
  if (i == first) return "dense: first layer";
  if (i == cls) return "dense: classifier";
  return "dense";
}

static void print_table(const hwt_model *m, const hwt_prune_layer_report *rep, const char *file, double s,
                        const hwt_prune_options *o, uint32_t bn, uint32_t bk) {
  size_t first = SIZE_MAX, cls = SIZE_MAX;
  for (size_t i = 0; i < m->nlayers; i++) {
    const hwt_layer *l = &m->layers[i];
    if (first == SIZE_MAX && (l->type == hwt_layer_fc || (l->type == hwt_layer_conv && l->groups <= 1))) first = i;
    if (l->type == hwt_layer_fc) cls = i;
  }
  char pattern[64] = "unstructured";
  if (o->pattern == hwt_prune_block) snprintf(pattern, sizeof pattern, "blocks %ux%u", bn, bk);
  printf("%s: sparsity %.4g, %s, %s threshold%s\n", file, s, pattern,
         o->scope == hwt_prune_global ? "one global" : "per-layer", o->scope == hwt_prune_global ? "" : "s");
  size_t wn = 5;
  for (size_t i = 0; i < m->nlayers; i++)
    if (rep[i].weights && strlen(m->layers[i].name) > wn) wn = strlen(m->layers[i].name);
  if (wn > 40) wn = 40;
  printf("  %-*s  %-10s %10s %8s %8s\n", (int) wn, "layer", "op", "weights", "before", "sparsity");
  size_t tot = 0, nz = 0, pw = 0, pz_before = 0, pz_after = 0;
  for (size_t i = 0; i < m->nlayers; i++) {
    const hwt_prune_layer_report *r = &rep[i];
    if (r->weights == 0) continue;
    const hwt_layer *l = &m->layers[i];
    char op[24];
    if (l->type == hwt_layer_conv || l->type == hwt_layer_dwconv)
      snprintf(op, sizeof op, "%s %ux%u", l->type == hwt_layer_conv ? "conv" : "dwconv", l->kh, l->kw);
    else
      snprintf(op, sizeof op, "fc");
    printf("  %-*.*s  %-10s %10zu %7.2f%% %7.2f%%  %s\n", (int) wn, (int) wn, l->name, op, r->weights,
           100.0 * (double) r->zeros_before / (double) r->weights,
           100.0 * (double) r->zeros_after / (double) r->weights, r->pruned ? "pruned" : kept_why(m, i, first, cls));
    tot += r->weights;
    nz += r->weights - r->zeros_after;
    if (r->pruned) pw += r->weights, pz_before += r->zeros_before, pz_after += r->zeros_after;
  }
  printf("  total: %zu of %zu weights newly zeroed; pruned layers %.2f%% zero (%zu weights); model nonzero "
         "fraction %.2f%% (%zu of %zu fc / conv weights)\n",
         pz_after - pz_before, tot, pw ? 100.0 * (double) pz_after / (double) pw : 0.0, pw,
         tot ? 100.0 * (double) nz / (double) tot : 100.0, nz, tot);
}

int hwt_cmd_prune(int argc, char **argv) {
  const char *model_arg = NULL, *out_path = NULL;
  double sp[MAX_SPARSITIES];
  size_t nsp = 0, batch_arg = 0;
  bool have_block = false;
  hwt_prune_options o = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (strncmp(a, "--", 2) != 0) return bad("unexpected argument", a);
    if (strcmp(a, "--prune-first") == 0) {
      o.prune_first = true;
      continue;
    }
    if (strcmp(a, "--prune-classifier") == 0) {
      o.prune_classifier = true;
      continue;
    }
    if (i + 1 >= argc) return bad("option needs a value:", a);
    const char *v = argv[++i];
    uint64_t u;
    if (strcmp(a, "--model") == 0) {
      model_arg = v;
    } else if (strcmp(a, "--sparsity") == 0) {
      const char *why = NULL;
      if ((nsp = parse_sparsities(v, sp, &why)) == 0) return bad(why, v);
    } else if (strcmp(a, "--out") == 0) {
      if (*v == '\0') return bad("--out needs a file name", NULL);
      out_path = v;
    } else if (strcmp(a, "--pattern") == 0) {
      if (strcmp(v, "unstructured") == 0)
        o.pattern = hwt_prune_unstructured;
      else if (strcmp(v, "block") == 0)
        o.pattern = hwt_prune_block;
      else
        return bad("--pattern is unstructured or block, not", v);
    } else if (strcmp(a, "--block") == 0) {
      const char *x = strchr(v, 'x');
      char nb[32];
      uint64_t bn = 0, bk = 0;
      if (x == NULL || (size_t) (x - v) >= sizeof nb)
        return bad("--block takes NxK, two integers in [1, 65536] (4x1, 1x8), not", v);
      memcpy(nb, v, (size_t) (x - v));
      nb[x - v] = '\0';
      if (!hwt_parse_u64(nb, 1, 65536, &bn) || !hwt_parse_u64(x + 1, 1, 65536, &bk))
        return bad("--block takes NxK, two integers in [1, 65536] (4x1, 1x8), not", v);
      o.block_n = (uint32_t) bn;
      o.block_k = (uint32_t) bk;
      have_block = true;
    } else if (strcmp(a, "--scope") == 0) {
      if (strcmp(v, "layer") == 0)
        o.scope = hwt_prune_per_layer;
      else if (strcmp(v, "global") == 0)
        o.scope = hwt_prune_global;
      else
        return bad("--scope is layer or global, not", v);
    } else if (strcmp(a, "--batch") == 0) {
      if (!hwt_parse_u64(v, 1, 65536, &u)) return bad("--batch takes an integer in [1, 65536], not", v);
      batch_arg = (size_t) u;
    } else {
      return bad("unknown option", a);
    }
  }
  if (model_arg == NULL) return bad("--model is required (an fp32 .onnx file, a model JSON, mlp or mobilenet)", NULL);
  if (nsp == 0) return bad("--sparsity is required: fractions of zero weights, e.g. 0.5,0.75,0.9", NULL);
  if (out_path == NULL) return bad("--out is required (the .onnx file to write)", NULL);
  if (!hwt_cli_ends_with(out_path, ".onnx") || strlen(out_path) == strlen(".onnx"))
    return bad("--out writes ONNX: the name must end in .onnx, not", out_path);
  if (have_block && o.pattern != hwt_prune_block) return bad("--block needs --pattern block", NULL);
  /* every file's name, distinct and writable, before anything runs */
  char (*files)[4096] = calloc(nsp, sizeof *files);
  if (files == NULL) {
    fprintf(stderr, "hwtune prune: out of memory\n");
    return 1;
  }
  char err[2048] = "";
  for (size_t k = 0; k < nsp; k++) {
    file_for(out_path, sp[k], nsp, files[k], sizeof files[k]);
    for (size_t j = 0; j < k; j++)
      if (strcmp(files[j], files[k]) == 0) {
        int rc = bad("--sparsity values too close to name their files apart:", files[k]);
        free(files);
        return rc;
      }
    if (hwt_check_out_dir(files[k], err, sizeof err) != hwt_status_ok) {
      fprintf(stderr, "hwtune prune: --out: %s\n", err);
      free(files);
      return 2;
    }
  }

  int rc = 1;
  hwt_model *m = NULL, *p = NULL;
  hwt_prune_layer_report *rep = NULL;
  if (hwt_cli_open_model(model_arg, (uint32_t) (batch_arg ? batch_arg : 1), &m, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune prune: %s\n", err);
    goto done;
  }
  if (batch_arg != 0 && m->fixed_batch != 0 && m->fixed_batch != batch_arg) {
    fprintf(stderr, "hwtune prune: --batch %zu, but %s fixes the batch at %u\n", batch_arg, model_arg,
            m->fixed_batch);
    goto done;
  }
  if (m->precision != hwt_prec_fp32) {
    fprintf(stderr, "hwtune prune: %s: an int8 model; prune the fp32 model, then quantize it\n", model_arg);
    goto done;
  }
  rep = calloc(m->nlayers ? m->nlayers : 1, sizeof *rep);
  if (rep == NULL) {
    fprintf(stderr, "hwtune prune: out of memory\n");
    goto done;
  }
  uint32_t bn = o.block_n, bk = o.block_k;
  if (o.pattern == hwt_prune_block && (bn == 0 || bk == 0)) hwt_spmm_block_shape(hwt_spmm_best_isa(), &bn, &bk);
  for (size_t k = 0; k < nsp; k++) {
    o.sparsity = sp[k];
    if (hwt_model_prune(m, &o, &p, rep, err, sizeof err) != hwt_status_ok) {
      fprintf(stderr, "hwtune prune: %s: %s\n", model_arg, err);
      goto done;
    }
    size_t npruned = 0;
    for (size_t i = 0; i < m->nlayers; i++) npruned += rep[i].pruned;
    if (hwt_onnx_export(p, files[k], err, sizeof err) != hwt_status_ok) {
      fprintf(stderr, "hwtune prune: %s\n", err);
      goto done;
    }
    if (k) printf("\n");
    print_table(m, rep, files[k], sp[k], &o, bn, bk);
    fflush(stdout);
    if (npruned == 0)
      fprintf(stderr, "hwtune prune: %s: no layer was pruned (the first fc / conv and the classifier are kept "
              "unless --prune-first / --prune-classifier; depthwise and grouped convolutions always): %s has the "
              "model's weights\n", model_arg, files[k]);
    fprintf(stderr, "hwtune prune: wrote %s\n", files[k]);
    hwt_model_free(p);
    p = NULL;
  }
  rc = 0;
done:
  free(files);
  free(rep);
  hwt_model_free(p);
  hwt_model_free(m);
  return rc;
}
