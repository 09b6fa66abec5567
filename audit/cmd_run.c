/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune run`: runs a model (ONNX, hwtune JSON or a built-in) on the user's own tensors (.npy or ONNX .pb)
 * and writes the outputs as .npy, so anyone can check hwtune's answers against their own framework. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cli/verbs.h"
#include "cmd_io.h"
#include "hwt_common.h"
#include "profile_model.h"
#include "onnx.h"

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

hwt_status hwt_cli_open_model(const char *spec, uint32_t batch, hwt_model **out, char *err, size_t errlen) {
  *out = NULL;
  if (ends_with(spec, ".onnx")) {
    hwt_onnx_options opt = {.batch = batch};
    return hwt_onnx_import(spec, &opt, out, err, errlen);
  }
  return hwt_model_open(spec, out, err, errlen);
}

hwt_status hwt_cli_open_profile(const char *arg, hwt_profile **out, char *note, size_t notelen, char *err,
                                size_t errlen) {
  *out = NULL;
  char def[1024], msg[1024] = "";
  if (arg != NULL && strcmp(arg, "none") == 0) {
    hwt_errf(note, notelen, "no profile (--profile none)");
    return hwt_status_ok;
  }
  const char *path = arg;
  if (path == NULL) {
    if (hwt_profile_default_path(def, sizeof def) != hwt_status_ok || access(def, R_OK) != 0) {
      hwt_errf(note, notelen, "no profile (none at the default path)");
      return hwt_status_ok;
    }
    path = def;
  }
  hwt_status st = hwt_profile_open(path, NULL, 0, out, msg, sizeof msg);
  if (st != hwt_status_ok) {
    *out = NULL;
    if (arg != NULL) {
      hwt_errf(err, errlen, "--profile: %s", msg);
      return st;
    }
    hwt_errf(note, notelen, "no profile (the default one is not used: %s)", msg);
    return hwt_status_ok;
  }
  hwt_errf(note, notelen, "profile %s (%zu entries)", path, hwt_profile_count(*out));
  return hwt_status_ok;
}

unsigned hwt_cli_value_dims(hwt_shape s, uint8_t rank, int64_t dims[3]) {
  switch (rank) {
    case 4: dims[0] = s.c, dims[1] = s.h, dims[2] = s.w; return 3;
    case 3: dims[0] = s.c, dims[1] = s.w; return 2;
    case 2: dims[0] = (int64_t) s.h * s.w * s.c; return 1;
    case 1: return 0;
    default:
      if (s.h == 1 && s.w == 1) {
        dims[0] = s.c;
        return 1;
      }
      dims[0] = s.h, dims[1] = s.w, dims[2] = s.c;
      return 3;
  }
}

void hwt_cli_dims_string(hwt_shape s, uint8_t rank, size_t batch, char *buf, size_t len) {
  int64_t d[3];
  unsigned n = hwt_cli_value_dims(s, rank, d);
  size_t used = 0;
  int w = batch ? snprintf(buf, len, "[%zu", batch) : snprintf(buf, len, "[N");
  used = w > 0 ? (size_t) w : 0;
  for (unsigned i = 0; i < n && used < len; i++) {
    w = snprintf(buf + used, len - used, ", %lld", (long long) d[i]);
    used += w > 0 ? (size_t) w : 0;
  }
  if (used < len) snprintf(buf + used, len - used, "]");
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: hwtune run --model M --input X [--input NAME=X ...] [--out Y.npy | --out-dir D] [--threads N]\n"
          "                  [--profile P|none] [--batch B]\n\n"
          "Runs a model on your own data with hwtune's inference runtime and writes its outputs, so you can\n"
          "compare hwtune's answers with your framework's. Prints a one-line summary to stderr.\n\n"
          "  --model M      an ONNX file (.onnx), a hwtune model JSON, mlp or mobilenet\n"
          "  --input X      a NumPy .npy (float32, uint8 or int8; converted to float) or an ONNX TensorProto .pb\n"
          "                 for the graph's next input, or NAME=X for the input called NAME. Dim 0 is the batch\n"
          "                 (N samples); the other dims must be the model input's, in the file's layout\n"
          "                 (ONNX: [N, C, H, W]; hwtune models: [N, H, W, C] or [N, K])\n"
          "  --out Y.npy    write output 0 as float32 .npy, shape [N, ...] (atomically)\n"
          "  --out-dir D    write every output to D/<output name>.npy (D must exist)\n"
          "                 Without --out / --out-dir output 0 is printed to stdout, one sample per line.\n"
          "  --threads N    cap threads per layer, N in [1, 256] (default: all usable CPUs)\n"
          "  --profile P    tuning profile (default: libhwtune's default path when it exists; none: defaults)\n"
          "  --batch B      run the N samples B at a time (N a multiple of B; default: N, or the batch an ONNX\n"
          "                 file fixes)\n\n"
          "Exit codes: 0 ok, 1 the model or an input refused or the run failed, 2 usage error (an --out or\n"
          "--out-dir that cannot be written included, refused before anything runs).\n");
}

static int bad(const char *msg, const char *arg) {
  fprintf(stderr, "hwtune run: %s%s%s%s\n\n", msg, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
  usage(stderr);
  return 2;
}

typedef struct run_input {
  const char *name; /* NULL: positional */
  const char *path;
  hwt_tensor t;
  size_t index;     /* graph input it feeds */
} run_input;

/* An output name as a file name: [A-Za-z0-9._-] kept, anything else '_'; empty or dot names get output_<k>. */
static void file_name_of(const char *name, size_t k, char *buf, size_t len) {
  size_t n = 0;
  for (const char *c = name; *c && n + 5 < len; c++) {
    bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
              *c == '_' || *c == '-';
    buf[n++] = ok ? *c : '_';
  }
  buf[n] = '\0';
  if (n == 0 || buf[0] == '.') snprintf(buf, len, "output_%zu", k);
}

#define MAX_RUN_INPUTS HWT_GRAPH_MAX_IO

int hwt_cmd_run(int argc, char **argv) {
  const char *model_arg = NULL, *out_path = NULL, *out_dir = NULL, *profile_arg = NULL;
  unsigned threads = 0;
  size_t batch_arg = 0;
  run_input inputs[MAX_RUN_INPUTS];
  size_t ninputs = 0;
  memset(inputs, 0, sizeof inputs);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (strncmp(a, "--", 2) != 0) return bad("unexpected argument", a);
    if (i + 1 >= argc) return bad("option needs a value:", a);
    const char *v = argv[++i];
    uint64_t u;
    if (strcmp(a, "--model") == 0) {
      model_arg = v;
    } else if (strcmp(a, "--input") == 0) {
      if (ninputs >= MAX_RUN_INPUTS) return bad("too many --input (at most 16)", NULL);
      run_input *in = &inputs[ninputs++];
      const char *eq = strchr(v, '=');
      /* NAME=path, unless the '=' belongs to a path (a '/' before it) */
      if (eq != NULL && eq != v && memchr(v, '/', (size_t) (eq - v)) == NULL) {
        in->name = v;
        in->path = eq + 1;
      } else {
        in->path = v;
      }
      if (*in->path == '\0') return bad("--input needs a file:", v);
    } else if (strcmp(a, "--out") == 0) {
      if (*v == '\0') return bad("--out needs a file name", NULL);
      out_path = v;
    } else if (strcmp(a, "--out-dir") == 0) {
      if (*v == '\0') return bad("--out-dir needs a directory", NULL);
      out_dir = v;
    } else if (strcmp(a, "--threads") == 0) {
      if (!hwt_parse_u64(v, 1, 256, &u)) return bad("--threads takes an integer in [1, 256], not", v);
      threads = (unsigned) u;
    } else if (strcmp(a, "--profile") == 0) {
      profile_arg = v;
    } else if (strcmp(a, "--batch") == 0) {
      if (!hwt_parse_u64(v, 1, 65536, &u)) return bad("--batch takes an integer in [1, 65536], not", v);
      batch_arg = (size_t) u;
    } else {
      return bad("unknown option", a);
    }
  }
  if (model_arg == NULL) return bad("--model is required (an .onnx file, a model JSON, mlp or mobilenet)", NULL);
  if (ninputs == 0) return bad("--input is required (a .npy or .pb file)", NULL);
  if (out_path != NULL && out_dir != NULL) return bad("--out and --out-dir exclude each other", NULL);
  char err[2048] = "";
  if (out_path != NULL) {
    if (!ends_with(out_path, ".npy")) return bad("--out writes NumPy: the name must end in .npy, not", out_path);
    if (hwt_check_out_dir(out_path, err, sizeof err) != hwt_status_ok) {
      fprintf(stderr, "hwtune run: --out: %s\n", err);
      return 2;
    }
  }
  if (out_dir != NULL) {
    struct stat sb;
    if (stat(out_dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || access(out_dir, W_OK) != 0) {
      fprintf(stderr, "hwtune run: --out-dir: cannot write into '%s': %s (it is not created; create it first)\n",
              out_dir, stat(out_dir, &sb) != 0 ? strerror(errno) : !S_ISDIR(sb.st_mode) ? "not a directory"
                                                                                        : strerror(errno));
      return 2;
    }
  }

  int rc = 1;
  hwt_model *m = NULL;
  hwt_profile *profile = NULL;
  hwt_engine *e = NULL;
  float *ins[MAX_RUN_INPUTS] = {0}, *outs[HWT_GRAPH_MAX_IO] = {0}, *chunk_outs[HWT_GRAPH_MAX_IO] = {0};
  const float *chunk_ins[MAX_RUN_INPUTS] = {0};

  /* Inputs first: their dim 0 is the batch the ONNX import needs. */
  for (size_t k = 0; k < ninputs; k++) {
    run_input *in = &inputs[k];
    if (hwt_tensor_read(in->path, &in->t, err, sizeof err) != hwt_status_ok) {
      fprintf(stderr, "hwtune run: --input: %s\n", err);
      goto done;
    }
    if (in->t.dtype != hwt_dtype_f32 && in->t.dtype != hwt_dtype_u8 && in->t.dtype != hwt_dtype_i8) {
      fprintf(stderr, "hwtune run: %s: element type %s not supported (float32, uint8 or int8)\n", in->path,
              hwt_dtype_name(in->t.dtype));
      goto done;
    }
    if (in->t.rank == 0 || in->t.dims[0] == 0) {
      fprintf(stderr, "hwtune run: %s: %s; dim 0 is the batch and must be at least 1\n", in->path,
              in->t.rank == 0 ? "a scalar" : "an empty batch");
      goto done;
    }
  }
  size_t n = (size_t) inputs[0].t.dims[0];
  for (size_t k = 1; k < ninputs; k++)
    if ((size_t) inputs[k].t.dims[0] != n) {
      fprintf(stderr, "hwtune run: %s: batch (dim 0) %lld, but %s has %zu\n", inputs[k].path,
              (long long) inputs[k].t.dims[0], inputs[0].path, n);
      goto done;
    }
  if (batch_arg != 0 && n % batch_arg != 0) {
    fprintf(stderr, "hwtune run: %s: %zu samples are not a multiple of --batch %zu\n", inputs[0].path, n,
            batch_arg);
    goto done;
  }
  size_t batch = batch_arg ? batch_arg : n;
  if (batch > UINT32_MAX) batch = UINT32_MAX;
  if (hwt_cli_open_model(model_arg, (uint32_t) batch, &m, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune run: %s\n", err);
    goto done;
  }
  if (batch_arg == 0 && m->fixed_batch != 0 && m->fixed_batch != batch) {
    if (n % m->fixed_batch != 0) {
      fprintf(stderr, "hwtune run: %s: %zu samples, but %s fixes the batch at %u (give a multiple of it)\n",
              inputs[0].path, n, model_arg, m->fixed_batch);
      goto done;
    }
    batch = m->fixed_batch;
  } else if (m->fixed_batch != 0 && m->fixed_batch != batch) {
    fprintf(stderr, "hwtune run: --batch %zu, but %s fixes the batch at %u\n", batch, model_arg, m->fixed_batch);
    goto done;
  }
  /* Bind files to graph inputs: by name, then the positional ones in order to the inputs left. */
  bool taken[HWT_GRAPH_MAX_IO] = {false};
  for (size_t k = 0; k < ninputs; k++) {
    if (inputs[k].name == NULL) continue;
    size_t len = (size_t) (strchr(inputs[k].name, '=') - inputs[k].name), j;
    for (j = 0; j < m->ninputs; j++)
      if (strlen(m->inputs[j].name) == len && strncmp(m->inputs[j].name, inputs[k].name, len) == 0) break;
    if (j == m->ninputs || taken[j]) {
      fprintf(stderr, "hwtune run: --input %.*s=...: %s graph input named '%.*s'%s\n", (int) len, inputs[k].name,
              j == m->ninputs ? "the model has no" : "a second file for the", (int) len, inputs[k].name,
              j == m->ninputs ? " (see hwtune model)" : "");
      goto done;
    }
    taken[j] = true;
    inputs[k].index = j;
  }
  for (size_t k = 0; k < ninputs; k++) {
    if (inputs[k].name != NULL) continue;
    size_t j = 0;
    while (j < m->ninputs && taken[j]) j++;
    if (j == m->ninputs) {
      fprintf(stderr, "hwtune run: %s: the model has %zu input%s, all already given\n", inputs[k].path, m->ninputs,
              m->ninputs == 1 ? "" : "s");
      goto done;
    }
    taken[j] = true;
    inputs[k].index = j;
  }
  for (size_t j = 0; j < m->ninputs; j++)
    if (!taken[j]) {
      fprintf(stderr, "hwtune run: the model's input %zu '%s' has no --input (give %s=FILE)\n", j, m->inputs[j].name,
              m->inputs[j].name);
      goto done;
    }
  /* Each file's dims after the batch must be the input's logical dims. */
  for (size_t k = 0; k < ninputs; k++) {
    const run_input *in = &inputs[k];
    const hwt_graph_io *gi = &m->inputs[in->index];
    int64_t want[3];
    unsigned nw = hwt_cli_value_dims(gi->shape, gi->rank, want);
    bool ok = in->t.rank == nw + 1;
    for (unsigned d = 0; ok && d < nw; d++) ok = in->t.dims[d + 1] == want[d];
    if (!ok && gi->rank == 0 && gi->shape.h == 1 && gi->shape.w == 1) {
      /* a native flat input (mlp: 784 values) also takes the same count in any dims, e.g. [N, 28, 28] */
      size_t per = 1;
      for (unsigned d = 1; d < in->t.rank; d++) per *= (size_t) in->t.dims[d];
      ok = per == hwt_shape_size(gi->shape) && in->t.rank >= 2;
    }
    if (!ok) {
      char exp[96], got[160];
      hwt_cli_dims_string(gi->shape, gi->rank, 0, exp, sizeof exp);
      size_t used = (size_t) snprintf(got, sizeof got, "[");
      for (unsigned d = 0; d < in->t.rank && used < sizeof got; d++)
        used += (size_t) snprintf(got + used, sizeof got - used, "%s%lld", d ? ", " : "", (long long) in->t.dims[d]);
      if (used < sizeof got) snprintf(got + used, sizeof got - used, "]");
      fprintf(stderr, "hwtune run: %s: shape %s does not fit the model's input '%s': expected %s\n", in->path, got,
              gi->name, exp);
      goto done;
    }
  }

  char note[1200] = "";
  if (hwt_cli_open_profile(profile_arg, &profile, note, sizeof note, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune run: %s\n", err);
    goto done;
  }
  if (hwt_engine_global_init(err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune run: %s\n", err);
    goto done;
  }
  hwt_engine_options eo = {.threads = threads};
  hwt_profile_binding bind; /* the profile's model entry, when it has one for this model and batch */
  if (hwt_engine_profile_bind(profile, model_arg, m, batch, &bind, &eo, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune run: %s\n", err);
    goto done;
  }
  if (bind.note[0]) snprintf(note + strlen(note), sizeof note - strlen(note), "; %s", bind.note);
  if (hwt_engine_create(m, batch, &eo, &e, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune run: %s: %s\n", model_arg, err);
    goto done;
  }
  /* Whole-run buffers: inputs as float, outputs for all N samples (external layouts). */
  for (size_t k = 0; k < ninputs; k++) {
    size_t cnt = inputs[k].t.count;
    ins[inputs[k].index] = malloc((cnt ? cnt : 1) * sizeof(float));
    if (ins[inputs[k].index] == NULL) goto oom;
    hwt_tensor_to_f32(&inputs[k].t, ins[inputs[k].index]);
  }
  for (size_t j = 0; j < m->noutputs; j++) {
    size_t per = hwt_model_output_size(m, j), total;
    if (__builtin_mul_overflow(per, n, &total)) goto oom;
    outs[j] = malloc((total ? total : 1) * sizeof(float));
    if (outs[j] == NULL) goto oom;
  }
  size_t nonfinite_in = 0, nonfinite_out = 0;
  uint64_t t0 = hwt_now_ns();
  for (size_t s = 0; s < n; s += batch) {
    for (size_t j = 0; j < m->ninputs; j++) chunk_ins[j] = ins[j] + s * hwt_model_input_size(m, j);
    for (size_t j = 0; j < m->noutputs; j++) chunk_outs[j] = outs[j] + s * hwt_model_output_size(m, j);
    hwt_run_info info = {0};
    hwt_status st = hwt_engine_run_io(e, chunk_ins, chunk_outs, &info);
    if (st != hwt_status_ok) {
      fprintf(stderr, "hwtune run: %s: the run of samples %zu..%zu failed: %s\n", model_arg, s, s + batch - 1,
              hwt_status_string(st));
      goto done;
    }
    nonfinite_in += info.input_nonfinite;
    nonfinite_out += info.output_nonfinite;
  }
  double ms = (double) (hwt_now_ns() - t0) / 1e6;

  /* Outputs. */
  for (size_t j = 0; j < m->noutputs; j++) {
    if (j > 0 && out_dir == NULL) break;
    const hwt_graph_io *go = &m->outputs[j];
    hwt_tensor t = {.dtype = hwt_dtype_f32, .data = outs[j]};
    snprintf(t.name, sizeof t.name, "%s", go->name);
    int64_t d[3];
    unsigned nd = hwt_cli_value_dims(go->shape, go->rank, d);
    t.rank = nd + 1;
    t.dims[0] = (int64_t) n;
    for (unsigned q = 0; q < nd; q++) t.dims[q + 1] = d[q];
    t.count = n * hwt_model_output_size(m, j);
    if (out_path != NULL || out_dir != NULL) {
      char path[4096], file[200];
      if (out_dir != NULL) {
        file_name_of(go->name, j, file, sizeof file);
        snprintf(path, sizeof path, "%s/%s.npy", out_dir, file);
      } else {
        snprintf(path, sizeof path, "%s", out_path);
      }
      if (hwt_tensor_write_npy(path, &t, err, sizeof err) != hwt_status_ok) {
        fprintf(stderr, "hwtune run: %s\n", err);
        goto done;
      }
    } else {
      size_t per = hwt_model_output_size(m, j);
      for (size_t s = 0; s < n; s++) {
        for (size_t q = 0; q < per; q++) printf("%s%.9g", q ? " " : "", (double) outs[j][s * per + q]);
        printf("\n");
      }
    }
  }
  char shape[96];
  hwt_cli_dims_string(m->outputs[0].shape, m->outputs[0].rank, n, shape, sizeof shape);
  fprintf(stderr, "hwtune run: %s: %zu sample%s (batch %zu), output '%s' %s%s, %.3f ms; %s\n", model_arg, n,
          n == 1 ? "" : "s", batch, m->outputs[0].name, shape,
          m->noutputs > 1 ? (out_dir ? " and more (--out-dir)" : " (more outputs: --out-dir)") : "", ms, note);
  if (nonfinite_in || nonfinite_out)
    fprintf(stderr, "hwtune run: note: %zu NaN/Inf input value%s, %zu NaN/Inf output value%s\n", nonfinite_in,
            nonfinite_in == 1 ? "" : "s", nonfinite_out, nonfinite_out == 1 ? "" : "s");
  if (fflush(stdout) != 0) {
    fprintf(stderr, "hwtune run: cannot write to stdout: %s\n", strerror(errno));
    goto done;
  }
  rc = 0;
  goto done;
oom:
  fprintf(stderr, "hwtune run: out of memory for the inputs and outputs of %zu samples\n", n);
done:
  for (size_t k = 0; k < MAX_RUN_INPUTS; k++) free(ins[k]);
  for (size_t j = 0; j < HWT_GRAPH_MAX_IO; j++) free(outs[j]);
  for (size_t k = 0; k < ninputs; k++) hwt_tensor_free(&inputs[k].t);
  hwt_engine_destroy(e);
  hwt_model_free(m);
  hwt_profile_free(profile);
  return rc;
}
