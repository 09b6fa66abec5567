/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune model`: the graph a model file becomes, as a table (or JSON): every node with its op, inputs, output
 * shape, MFLOP, parameters, and how the engine will run it (implementation, threads, what was fused into it). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/verbs.h"
#include "cmd_io.h"
#include "hwt_common.h"
#include "onnx.h"
#include "profile_model.h"

#define HWT_GRAPH_SCHEMA "hwtune.graph/1"

static void usage(FILE *out) {
  fprintf(out,
          "usage: hwtune model M [--batch N] [--profile P|none] [--threads N] [--json]\n"
          "       hwtune model M --export OUT.onnx\n\n"
          "Shows the graph hwtune makes of a model: per node its op, inputs, output shape (file layout: ONNX\n"
          "[N, C, H, W]), MFLOP per sample, parameters, and how it will run at batch N: the implementation\n"
          "(xnnpack, own = hwtune's GEMM kernels, native = a plain loop), its threads (from the profile or the\n"
          "default) and what the importer fused into it (BatchNormalization, activations); then totals and the\n"
          "activation arena the memory plan sizes once.\n\n"
          "  M             an ONNX file (.onnx), a hwtune model JSON, mlp or mobilenet\n"
          "  --batch N     the batch to plan for, N in [1, 65536] (default 1; an ONNX file's own fixed batch wins)\n"
          "  --profile P   tuning profile (default: libhwtune's default path when it exists; none: defaults)\n"
          "  --threads N   cap threads per layer, N in [1, 256] (default: all usable CPUs)\n"
          "  --json        JSON (schema " HWT_GRAPH_SCHEMA ") instead of the table\n"
          "  --export F    write the model as ONNX to F instead (atomically): opset 13, NCHW, the batch dimension\n"
          "                symbolic ('N') unless the model fixes one; int8 is `hwtune quantize`'s job (a graph\n"
          "                read from a QDQ file, with explicit quantize nodes, is refused).\n"
          "                `hwtune model --model mlp --export mlp.onnx` gives ONNX Runtime the built-in MLP\n\n"
          "Exit codes: 0 ok, 1 the model refused or the engine cannot be built, 2 usage error.\n");
}

static int bad(const char *msg, const char *arg) {
  fprintf(stderr, "hwtune model: %s%s%s%s\n\n", msg, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
  usage(stderr);
  return 2;
}

static const char *value_name(const hwt_model *m, int id) {
  if (id >= 0) return (size_t) id < m->nlayers ? m->layers[id].name : "?";
  size_t k = (size_t) (-1 - id);
  return k < m->ninputs ? m->inputs[k].name : "?";
}

/* "relu6", "clip [0, 6]" for a fused activation the importer did not describe in `fused`. */
static void act_text(const hwt_layer *l, char *buf, size_t len) {
  switch (l->act) {
    case hwt_act_relu: snprintf(buf, len, "relu"); break;
    case hwt_act_relu6: snprintf(buf, len, "relu6"); break;
    case hwt_act_clip: snprintf(buf, len, "clip [%g, %g]", (double) l->act_lo, (double) l->act_hi); break;
    default: buf[0] = '\0'; break;
  }
}

/* "conv2d int8", "unary exp" for the op column. */
static void op_text(const hwt_layer *l, char *buf, size_t len) {
  snprintf(buf, len, "%s%s%s%s", hwt_layer_type_name(l->type), l->type == hwt_layer_unary ? " " : "",
           l->type == hwt_layer_unary ? hwt_unary_fn_name(l->fn) : "", l->q8 ? " int8" : "");
}

static void fused_text(const hwt_layer *l, char *buf, size_t len) {
  if (l->fused[0] != '\0') {
    snprintf(buf, len, "%s", l->fused);
    return;
  }
  act_text(l, buf, len);
  if (buf[0] == '\0') snprintf(buf, len, "-");
}

static void engine_text(const hwt_layer_choice *c, char *buf, size_t len) {
  char isa[32] = "";
  if (c->impl == hwt_impl_own) snprintf(isa, sizeof isa, " %s", hwt_isa_name(c->isa));
  char sp[24] = ""; /* a pruned layer: its sparsity, and whether it ran on the sparse kernel */
  if (c->sparse || c->sparsity > 0.0)
    snprintf(sp, sizeof sp, " %s %.0f%%", c->sparse ? "sparse" : "dense", 100.0 * c->sparsity);
  snprintf(buf, len, "%s%s x%u%s%s", hwt_impl_name(c->impl), isa, c->threads, sp,
           strncmp(c->source, "profile", 7) == 0 ? " (profile)" : "");
}

static void inputs_text(const hwt_model *m, const hwt_layer *l, char *buf, size_t len) {
  size_t used = 0;
  buf[0] = '\0';
  for (int k = 0; k < l->nin && used + 1 < len; k++) {
    int w = snprintf(buf + used, len - used, "%s%s", k ? ", " : "", value_name(m, l->inputs[k]));
    used += w > 0 ? (size_t) w : 0;
  }
  if (l->w != NULL && l->nin == 1 &&
      (l->type == hwt_layer_add || l->type == hwt_layer_sub || l->type == hwt_layer_mul || l->type == hwt_layer_div ||
       l->type == hwt_layer_max || l->type == hwt_layer_min || l->type == hwt_layer_prelu) &&
      used + 1 < len)
    snprintf(buf + used, len - used, ", <constant>");
}

static json_t *dims_json(hwt_shape s, uint8_t rank, size_t batch) {
  int64_t d[3];
  unsigned n = hwt_cli_value_dims(s, rank, d);
  json_t *a = json_array();
  json_array_append_new(a, json_integer((json_int_t) batch));
  for (unsigned i = 0; i < n; i++) json_array_append_new(a, json_integer((json_int_t) d[i]));
  return a;
}

static void print_cut(const char *s, int width, bool last) {
  int n = (int) strlen(s);
  if (last) {
    printf("%s", s);
    return;
  }
  if (n > width) {
    printf("%.*s~", width - 1, s);
  } else {
    printf("%s%*s", s, width - n, "");
  }
  printf("  ");
}

int hwt_cmd_model(int argc, char **argv) {
  const char *model_arg = NULL, *profile_arg = NULL, *export_path = NULL;
  size_t batch = 1;
  unsigned threads = 0;
  bool json = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (strcmp(a, "--json") == 0) {
      json = true;
      continue;
    }
    if (strncmp(a, "--", 2) != 0) {
      if (model_arg != NULL) return bad("one model only; unexpected", a);
      model_arg = a;
      continue;
    }
    if (i + 1 >= argc) return bad("option needs a value:", a);
    const char *v = argv[++i];
    uint64_t u;
    if (strcmp(a, "--model") == 0) {
      if (model_arg != NULL) return bad("one model only; unexpected", v);
      model_arg = v;
    } else if (strcmp(a, "--batch") == 0) {
      if (!hwt_parse_u64(v, 1, 65536, &u)) return bad("--batch takes an integer in [1, 65536], not", v);
      batch = (size_t) u;
    } else if (strcmp(a, "--threads") == 0) {
      if (!hwt_parse_u64(v, 1, 256, &u)) return bad("--threads takes an integer in [1, 256], not", v);
      threads = (unsigned) u;
    } else if (strcmp(a, "--profile") == 0) {
      profile_arg = v;
    } else if (strcmp(a, "--export") == 0) {
      if (*v == '\0') return bad("--export needs a file name", NULL);
      export_path = v;
    } else {
      return bad("unknown option", a);
    }
  }
  if (model_arg == NULL) return bad("which model? (an .onnx file, a model JSON, mlp or mobilenet)", NULL);
  char err[2048] = "", note[1200] = "";
  if (export_path != NULL) {
    size_t n = strlen(export_path);
    if (n < 5 || strcmp(export_path + n - 5, ".onnx") != 0)
      return bad("--export writes ONNX: the name must end in .onnx, not", export_path);
    if (json) return bad("--export and --json exclude each other", NULL);
    if (hwt_check_out_dir(export_path, err, sizeof err) != hwt_status_ok) {
      fprintf(stderr, "hwtune model: --export: %s\n", err);
      return 2;
    }
  }

  int rc = 1;
  hwt_model *m = NULL;
  hwt_profile *profile = NULL;
  hwt_engine *e = NULL;
  json_t *doc = NULL;
  if (hwt_cli_open_model(model_arg, (uint32_t) batch, &m, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune model: %s\n", err);
    goto done;
  }
  if (m->fixed_batch != 0) batch = m->fixed_batch;
  if (export_path != NULL) {
    if (hwt_onnx_export(m, export_path, err, sizeof err) != hwt_status_ok) {
      fprintf(stderr, "hwtune model: %s: --export %s: %s\n", model_arg, export_path, err);
      goto done;
    }
    /* Read it back: the file must import, and its own input dims are the ones to tell. */
    hwt_model *back = NULL;
    if (hwt_onnx_import(export_path, NULL, &back, err, sizeof err) != hwt_status_ok) {
      fprintf(stderr, "hwtune model: %s: --export wrote %s but it does not import back: %s\n", model_arg,
              export_path, err);
      goto done;
    }
    char dims[96];
    hwt_cli_dims_string(back->inputs[0].shape, back->inputs[0].rank, back->fixed_batch, dims, sizeof dims);
    fprintf(stderr, "hwtune model: wrote %s: %s as ONNX (opset 13, %s, %zu nodes), input '%s' %s\n", export_path,
            model_arg, m->precision == hwt_prec_int8 ? "int8" : "fp32", m->nlayers, back->inputs[0].name, dims);
    hwt_model_free(back);
    rc = 0;
    goto done;
  }
  if (hwt_cli_open_profile(profile_arg, &profile, note, sizeof note, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune model: %s\n", err);
    goto done;
  }
  hwt_engine_options eo = {.threads = threads};
  hwt_profile_binding bind; /* the profile's model entry, when it has one for this model and batch */
  if (hwt_engine_profile_bind(profile, model_arg, m, batch, &bind, &eo, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune model: %s\n", err);
    goto done;
  }
  if (bind.note[0]) snprintf(note + strlen(note), sizeof note - strlen(note), "; %s", bind.note);
  if (hwt_engine_global_init(err, sizeof err) != hwt_status_ok ||
      hwt_engine_create(m, batch, &eo, &e, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune model: %s: %s\n", model_arg, err);
    goto done;
  }
  double total_flops = 0, total_params = 0;
  for (size_t i = 0; i < m->nlayers; i++) {
    total_flops += hwt_layer_flops(&m->layers[i]);
    total_params += (double) (hwt_layer_weight_count(&m->layers[i]) + hwt_layer_bias_count(&m->layers[i]));
  }
  char text[512], dims[96];
  if (json) {
    doc = json_object();
    json_t *jm = json_object(), *ji = json_array(), *jo = json_array(), *jn = json_array();
    json_object_set_new(doc, "schema", json_string(HWT_GRAPH_SCHEMA));
    json_object_set_new(jm, "file", json_string(model_arg));
    json_object_set_new(jm, "name", json_string(m->name));
    json_object_set_new(jm, "source", json_string(m->source));
    json_object_set_new(jm, "precision", json_string(m->precision == hwt_prec_int8 ? "int8" : "fp32"));
    json_object_set_new(jm, "batch", json_integer((json_int_t) batch));
    json_object_set_new(jm, "fixed_batch", json_integer((json_int_t) m->fixed_batch));
    json_object_set_new(jm, "profile", json_string(note));
    json_object_set_new(doc, "model", jm);
    for (size_t k = 0; k < m->ninputs; k++)
      json_array_append_new(ji, json_pack("{s:s,s:o,s:b}", "name", m->inputs[k].name, "dims",
                                          dims_json(m->inputs[k].shape, m->inputs[k].rank, batch), "int8",
                                          (int) m->inputs[k].q8));
    for (size_t k = 0; k < m->noutputs; k++)
      json_array_append_new(jo, json_pack("{s:s,s:s,s:o}", "name", m->outputs[k].name, "node",
                                          value_name(m, m->outputs[k].value), "dims",
                                          dims_json(m->outputs[k].shape, m->outputs[k].rank, batch)));
    json_object_set_new(doc, "inputs", ji);
    json_object_set_new(doc, "outputs", jo);
    for (size_t i = 0; i < m->nlayers; i++) {
      const hwt_layer *l = &m->layers[i];
      const hwt_layer_choice *c = hwt_engine_layer_choice(e, i);
      json_t *in = json_array();
      for (int k = 0; k < l->nin; k++) json_array_append_new(in, json_string(value_name(m, l->inputs[k])));
      char act[64];
      act_text(l, act, sizeof act);
      json_t *node = json_pack(
          "{s:I,s:s,s:s,s:o,s:o,s:f,s:I,s:b,s:{s:s,s:I,s:s,s:s},s:s,s:s}", "index", (json_int_t) i, "name", l->name,
          "op", hwt_layer_type_name(l->type), "inputs", in, "dims", dims_json(l->out, l->rank, batch), "mflop",
          hwt_layer_flops(l) / 1e6, "parameters",
          (json_int_t) (hwt_layer_weight_count(l) + hwt_layer_bias_count(l)), "int8", (int) l->q8, "engine", "impl",
          hwt_impl_name(c->impl), "threads", (json_int_t) c->threads, "isa",
          c->impl == hwt_impl_own ? hwt_isa_name(c->isa) : "", "source", c->source, "fused", l->fused, "activation",
          act);
      if (node == NULL) goto oom;
      if (c->sparse || c->sparsity > 0.0) { /* a pruned fc / 1x1 conv: the sparse decision (engine/spmm_own.c) */
        json_t *eng = json_object_get(node, "engine");
        json_object_set_new(eng, "sparse", json_boolean(c->sparse));
        json_object_set_new(eng, "sparsity", json_real(c->sparsity));
      }
      json_array_append_new(jn, node);
    }
    json_object_set_new(doc, "nodes", jn);
    json_object_set_new(doc, "totals",
                        json_pack("{s:I,s:f,s:f,s:I,s:I,s:I}", "nodes", (json_int_t) m->nlayers, "mflop_per_sample",
                                  total_flops / 1e6, "parameters", total_params, "arena_bytes",
                                  (json_int_t) hwt_engine_arena_bytes(e), "values_bytes",
                                  (json_int_t) hwt_engine_values_bytes(e), "engine_bytes",
                                  (json_int_t) hwt_engine_bytes(e)));
    char *s = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    if (s == NULL) goto oom;
    printf("%s\n", s);
    free(s);
  } else {
    printf("model %s: %s, %s, %zu nodes, batch %zu%s\n", model_arg, m->source[0] ? m->source : m->name,
           m->precision == hwt_prec_int8 ? "int8" : "fp32", m->nlayers, batch,
           m->fixed_batch ? " (fixed by the file)" : "");
    for (size_t k = 0; k < m->ninputs; k++) {
      hwt_cli_dims_string(m->inputs[k].shape, m->inputs[k].rank, batch, dims, sizeof dims);
      printf("  input  %zu '%s' %s%s\n", k, m->inputs[k].name, dims, m->inputs[k].q8 ? " (quantized to int8)" : "");
    }
    for (size_t k = 0; k < m->noutputs; k++) {
      hwt_cli_dims_string(m->outputs[k].shape, m->outputs[k].rank, batch, dims, sizeof dims);
      printf("  output %zu '%s' %s from node '%s'\n", k, m->outputs[k].name, dims, value_name(m, m->outputs[k].value));
    }
    printf("  %s\n\n", note);
    /* Column widths from the data, capped. */
    int wname = 4, wop = 2, win = 6, wdims = 6, weng = 6;
    for (size_t i = 0; i < m->nlayers; i++) {
      const hwt_layer *l = &m->layers[i];
      int n = (int) strlen(l->name);
      wname = n > wname ? n : wname;
      op_text(l, text, sizeof text);
      n = (int) strlen(text);
      wop = n > wop ? n : wop;
      inputs_text(m, l, text, sizeof text);
      n = (int) strlen(text);
      win = n > win ? n : win;
      hwt_cli_dims_string(l->out, l->rank, batch, dims, sizeof dims);
      n = (int) strlen(dims);
      wdims = n > wdims ? n : wdims;
      engine_text(hwt_engine_layer_choice(e, i), text, sizeof text);
      n = (int) strlen(text);
      weng = n > weng ? n : weng;
    }
    wname = wname > 32 ? 32 : wname;
    win = win > 40 ? 40 : win;
    int widx = m->nlayers >= 1000 ? 4 : m->nlayers >= 100 ? 3 : 2;
    printf("%*s  ", widx, "#");
    print_cut("node", wname, false);
    print_cut("op", wop, false);
    print_cut("inputs", win, false);
    print_cut("output", wdims, false);
    printf("%9s  %10s  ", "MFLOP", "params");
    print_cut("engine", weng, false);
    printf("fused\n");
    for (size_t i = 0; i < m->nlayers; i++) {
      const hwt_layer *l = &m->layers[i];
      printf("%*zu  ", widx, i);
      print_cut(l->name, wname, false);
      op_text(l, text, sizeof text);
      print_cut(text, wop, false);
      inputs_text(m, l, text, sizeof text);
      print_cut(text, win, false);
      hwt_cli_dims_string(l->out, l->rank, batch, dims, sizeof dims);
      print_cut(dims, wdims, false);
      printf("%9.3f  %10zu  ", hwt_layer_flops(l) / 1e6, hwt_layer_weight_count(l) + hwt_layer_bias_count(l));
      engine_text(hwt_engine_layer_choice(e, i), text, sizeof text);
      print_cut(text, weng, false);
      fused_text(l, text, sizeof text);
      print_cut(text, 0, true);
      printf("\n");
    }
    printf("\ntotal: %zu nodes, %.3f MFLOP per sample, %.0f parameters; at batch %zu the activation arena is %.1f KiB"
           " (%.1f KiB without reuse), the engine holds %.1f KiB\n",
           m->nlayers, total_flops / 1e6, total_params, batch, (double) hwt_engine_arena_bytes(e) / 1024,
           (double) hwt_engine_values_bytes(e) / 1024, (double) hwt_engine_bytes(e) / 1024);
  }
  if (fflush(stdout) != 0) {
    fprintf(stderr, "hwtune model: cannot write to stdout\n");
    goto done;
  }
  rc = 0;
  goto done;
oom:
  fprintf(stderr, "hwtune model: out of memory building the JSON document\n");
done:
  json_decref(doc);
  hwt_engine_destroy(e);
  hwt_model_free(m);
  hwt_profile_free(profile);
  return rc;
}
