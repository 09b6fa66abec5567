/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune run`: runs a model (ONNX, hwtune JSON or a built-in) on the user's own tensors (.npy or ONNX .pb)
 * and writes the outputs as .npy, so anyone can check hwtune's answers against their own framework. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cli/verbs.h"
#include "bench.h"
#include "cmd_io.h"
#include "hwt_common.h"
#include "hwt_stats.h"
#include "profile_model.h"
#include "onnx.h"

bool hwt_cli_ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

hwt_status hwt_cli_open_model(const char *spec, uint32_t batch, hwt_model **out, char *err, size_t errlen) {
  *out = NULL;
  if (hwt_cli_ends_with(spec, ".onnx")) {
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
          "                  [--profile P|none] [--sparse S] [--batch B] [--runs R [--warmup W] [--results F.json]]\n\n"
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
          "  --sparse S     pruned fc / 1x1 conv layers: auto (default: sparse kernel where the profile's, else a\n"
          "                 built-in, break-even sparsity says it is faster), off (dense), force (every such layer\n"
          "                 sparse), pruned (every such layer with zero weights sparse, the others dense);\n"
          "                 HWTUNE_ENGINE_SPARSE=S overrides it\n"
          "  --batch B      run the N samples B at a time (N a multiple of B; default: N, or the batch an ONNX\n"
          "                 file fixes)\n\n"
          "Timing mode (--runs or --results), timed as bench/peers/onnxruntime/run.js times ONNX Runtime: the N\n"
          "samples are one inference (N must be the batch); W untimed runs (the first one's outputs are the ones\n"
          "written), then R timed runs on the same input, one clock read pair around each; median, p90, p99 and\n"
          "the 95%% CI of the median. Outputs go only to --out / --out-dir (nothing is printed to stdout).\n"
          "  --runs R       timed runs, R in [10, 10000000] (default 2000; fewer than 2000 is flagged in the results)\n"
          "  --warmup W     untimed runs first, W in [1, 1000000] (default 200)\n"
          "  --results F    write hwtune.results/1 JSON (docs/results-schema.md) atomically: op model_f32, or\n"
          "                 model_qs8 when the graph has int8 nodes; impl hwtune; shape the model file's name\n"
          "                 without .onnx; m the batch; the machine context bench writes; context.peer the run\n"
          "                 (profile, threads, input, load average before and after); all samples in samples_ns\n\n"
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

/* ---- timing mode ---- */

/* The model file's name without its folder and .onnx (.json): the results' shape, as run.js names it. */
static void shape_name_of(const char *model_arg, char *buf, size_t len) {
  const char *base = strrchr(model_arg, '/');
  base = base ? base + 1 : model_arg;
  size_t n = strlen(base);
  if (hwt_cli_ends_with(base, ".onnx")) n -= 5;
  else if (hwt_cli_ends_with(base, ".json")) n -= 5;
  snprintf(buf, len, "%.*s", (int) n, base);
}

static bool model_has_int8(const hwt_model *m) {
  if (m->precision == hwt_prec_int8) return true;
  for (size_t i = 0; i < m->nlayers; i++)
    if (m->layers[i].q8 || m->layers[i].wq != NULL) return true;
  return false;
}

static double load_average(void) {
  double l[1];
  return getloadavg(l, 1) == 1 ? l[0] : NAN;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* What the timed runs measured, and what they ran on. */
typedef struct timing_run {
  const char *model_arg, *profile_note;
  const hwt_model *m;
  const run_input *inputs;
  size_t ninputs, batch, runs, warmup;
  unsigned threads;
  const double *samples;    /* runs entries, ns per inference */
  double load_before, load_after, create_ms, elapsed_s;
  int argc;
  char **argv;
} timing_run;

/* The hwtune.results/1 document of a timed run (new reference, NULL when out of memory). */
static json_t *timing_document(const timing_run *t, hwt_bench_session *session) {
  size_t n = t->runs;
  double *scratch = malloc(n * sizeof *scratch);
  if (scratch == NULL) return NULL;
  hwt_stats_summary st;
  hwt_stats_summarize(t->samples, n, scratch, &st);
  free(scratch);
  bool q8 = model_has_int8(t->m);
  char shape[200], name[320], msg[200];
  shape_name_of(t->model_arg, shape, sizeof shape);
  const char *op = q8 ? "model_qs8" : "model_f32";
  snprintf(name, sizeof name, "%s/hwtune/auto/%s/m%zu/t%u/warm", op, shape, t->batch, t->threads);

  json_t *ctx = hwt_bench_context_json(session, t->argc, t->argv);
  if (ctx == NULL) return NULL;
  hwt_bench_context_finish(ctx, session);
  json_t *cw = json_object_get(ctx, "warnings"), *rw = json_array();
  double lmax = fmax(t->load_before, t->load_after);
  if (lmax > 0.5) {
    snprintf(msg, sizeof msg, "load average %.2f before, %.2f after, on %u CPUs", t->load_before, t->load_after,
             hwt_engine_usable_cpus());
    json_array_append_new(rw, json_string(msg));
    if (json_is_array(cw)) json_array_append_new(cw, json_string(msg));
  }
  if (st.cv > 0.05) {
    snprintf(msg, sizeof msg, "cv %.1f%% > 5%%", 100 * st.cv);
    json_array_append_new(rw, json_string(msg));
  }
  if (n < 2000) {
    snprintf(msg, sizeof msg, "%zu timed runs, fewer than the 2000 a peer comparison needs: a smoke run", n);
    json_array_append_new(rw, json_string(msg));
  }
  json_t *dims = json_array(), *odims = json_array();
  for (unsigned d = 0; d < t->inputs[0].t.rank; d++)
    json_array_append_new(dims, json_integer((json_int_t) t->inputs[0].t.dims[d]));
  int64_t od[3];
  unsigned nod = hwt_cli_value_dims(t->m->outputs[0].shape, t->m->outputs[0].rank, od);
  json_array_append_new(odims, json_integer((json_int_t) t->batch));
  for (unsigned d = 0; d < nod; d++) json_array_append_new(odims, json_integer((json_int_t) od[d]));
  char abs_model[4096], abs_input[4096];
  const char *model_path = hwt_cli_ends_with(t->model_arg, ".onnx") || hwt_cli_ends_with(t->model_arg, ".json")
                               ? (realpath(t->model_arg, abs_model) ? abs_model : t->model_arg)
                               : t->model_arg;
  const char *input_path = realpath(t->inputs[0].path, abs_input) ? abs_input : t->inputs[0].path;
  json_t *peer = json_object();
  json_object_set_new(peer, "runtime", json_string("hwtune"));
  json_object_set_new(peer, "threads", json_integer(t->threads));
  json_object_set_new(peer, "profile", json_string(t->profile_note));
  json_object_set_new(peer, "model", json_string(model_path));
  json_object_set_new(peer, "precision", json_string(q8 ? "int8" : "fp32"));
  json_object_set_new(peer, "input", json_string(input_path));
  json_object_set_new(peer, "input_dims", dims);
  json_object_set_new(peer, "output", json_string(t->m->outputs[0].name));
  json_object_set_new(peer, "output_dims", odims);
  json_object_set_new(peer, "session_create_ms", json_real(t->create_ms));
  json_object_set_new(peer, "warmup_runs", json_integer((json_int_t) t->warmup));
  json_object_set_new(peer, "load_average_before", num_or_null(t->load_before));
  json_object_set_new(peer, "load_average_after", num_or_null(t->load_after));
  json_object_set_new(ctx, "peer", peer);

  json_t *r = json_object(), *samples = json_array();
  json_object_set_new(r, "name", json_string(name));
  json_object_set_new(r, "op", json_string(op));
  json_object_set_new(r, "dtype", json_string(q8 ? "qs8" : "f32"));
  json_object_set_new(r, "impl", json_string("hwtune"));
  json_object_set_new(r, "isa", json_string("auto"));
  json_object_set_new(r, "shape", json_string(shape));
  json_object_set_new(r, "m", json_integer((json_int_t) t->batch));
  json_object_set_new(r, "threads", json_integer(t->threads));
  json_object_set_new(r, "cache", json_string("warm"));
  json_object_set_new(r, "profile", json_string(t->profile_note));
  json_object_set_new(r, "samples", json_integer((json_int_t) n));
  json_object_set_new(r, "iterations_per_sample", json_integer(1));
  json_object_set_new(r, "preempted_dropped", json_integer(0));
  json_object_set_new(r, "median_ns", json_real(st.median));
  json_object_set_new(r, "mean_ns", json_real(st.mean));
  json_object_set_new(r, "stddev_ns", json_real(st.stddev));
  json_object_set_new(r, "mad_ns", json_real(st.mad));
  json_object_set_new(r, "min_ns", json_real(st.min));
  json_object_set_new(r, "max_ns", json_real(st.max));
  json_object_set_new(r, "p90_ns", json_real(st.p90));
  json_object_set_new(r, "p99_ns", json_real(st.p99));
  json_object_set_new(r, "ci_low_ns", json_real(st.ci_low));
  json_object_set_new(r, "ci_high_ns", json_real(st.ci_high));
  json_object_set_new(r, "cv", json_real(st.cv));
  json_object_set_new(r, "cold_copies", json_integer(1));
  json_object_set_new(r, "elapsed_s", json_real(t->elapsed_s));
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) json_object_set_new(r, "peak_rss_bytes", json_integer((json_int_t) ru.ru_maxrss * 1024));
  json_object_set_new(r, "warnings", rw);
  for (size_t i = 0; i < n; i++) json_array_append_new(samples, json_real(t->samples[i]));
  json_object_set_new(r, "samples_ns", samples);

  json_t *doc = json_object(), *results = json_array();
  json_object_set_new(doc, "schema", json_string(HWT_RESULTS_SCHEMA));
  json_object_set_new(doc, "partial", json_false());
  json_object_set_new(doc, "context", ctx);
  json_array_append_new(results, r);
  json_object_set_new(doc, "results", results);
  fprintf(stderr, "hwtune run: %s: p50 %.1f us  p90 %.1f us  p99 %.1f us  mean %.1f us  (%zu runs, load %.2f/%.2f)\n",
          name, st.median / 1e3, st.p90 / 1e3, st.p99 / 1e3, st.mean / 1e3, n, t->load_before, t->load_after);
  return doc;
}

#define MAX_RUN_INPUTS HWT_GRAPH_MAX_IO

int hwt_cmd_run(int argc, char **argv) {
  const char *model_arg = NULL, *out_path = NULL, *out_dir = NULL, *profile_arg = NULL, *results_path = NULL;
  unsigned threads = 0;
  hwt_sparse_mode sparse = hwt_sparse_auto;
  size_t runs = 0, warmup = 200;
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
    } else if (strcmp(a, "--sparse") == 0) {
      if (!hwt_sparse_mode_parse(v, &sparse)) return bad("--sparse takes off, auto, force or pruned, not", v);
    } else if (strcmp(a, "--profile") == 0) {
      profile_arg = v;
    } else if (strcmp(a, "--batch") == 0) {
      if (!hwt_parse_u64(v, 1, 65536, &u)) return bad("--batch takes an integer in [1, 65536], not", v);
      batch_arg = (size_t) u;
    } else if (strcmp(a, "--runs") == 0) {
      if (!hwt_parse_u64(v, 10, 10000000, &u)) return bad("--runs takes an integer in [10, 10000000], not", v);
      runs = (size_t) u;
    } else if (strcmp(a, "--warmup") == 0) {
      if (!hwt_parse_u64(v, 1, 1000000, &u)) return bad("--warmup takes an integer in [1, 1000000], not", v);
      warmup = (size_t) u;
    } else if (strcmp(a, "--results") == 0) {
      if (*v == '\0') return bad("--results needs a file name", NULL);
      results_path = v;
    } else {
      return bad("unknown option", a);
    }
  }
  if (model_arg == NULL) return bad("--model is required (an .onnx file, a model JSON, mlp or mobilenet)", NULL);
  if (ninputs == 0) return bad("--input is required (a .npy or .pb file)", NULL);
  if (out_path != NULL && out_dir != NULL) return bad("--out and --out-dir exclude each other", NULL);
  bool timing = runs != 0 || results_path != NULL;
  if (timing && runs == 0) runs = 2000;
  char err[2048] = "";
  if (results_path != NULL && hwt_check_out_dir(results_path, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune run: --results: %s\n", err);
    return 2;
  }
  if (out_path != NULL) {
    if (!hwt_cli_ends_with(out_path, ".npy"))
      return bad("--out writes NumPy: the name must end in .npy, not", out_path);
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
  hwt_bench_session *session = NULL;
  double *samples = NULL;
  json_t *doc = NULL;
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
  if (timing && n != batch) {
    fprintf(stderr, "hwtune run: %s: %zu samples, but the timing mode times one inference of the whole input: give "
            "%zu sample%s (the batch)\n", inputs[0].path, n, batch, batch == 1 ? "" : "s");
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
  if (timing) {
    /* The bench session gives the context bench writes (machine, build, timer, load before the run) and sets our
     * kernels' default blocking from this machine's caches, as bench, tune and audit do. */
    hwt_bench_session_options so = {.measure_peaks = false, .pin_threads = false};
    if (hwt_bench_session_create(&so, &session, err, sizeof err) != hwt_status_ok) {
      fprintf(stderr, "hwtune run: %s\n", err);
      goto done;
    }
    samples = malloc(runs * sizeof *samples);
    if (samples == NULL) goto oom;
  }
  hwt_engine_options eo = {.threads = threads};
  hwt_profile_binding bind; /* the profile's model entry, when it has one for this model and batch */
  if (hwt_engine_profile_bind(profile, model_arg, m, batch, &bind, &eo, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune run: %s\n", err);
    goto done;
  }
  if (bind.note[0]) snprintf(note + strlen(note), sizeof note - strlen(note), "; %s", bind.note);
  eo.sparse = sparse;
  uint64_t create0 = hwt_now_ns();
  if (hwt_engine_create(m, batch, &eo, &e, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune run: %s: %s\n", model_arg, err);
    goto done;
  }
  double create_ms = (double) (hwt_now_ns() - create0) / 1e6;
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
  double load_before = timing ? load_average() : NAN;
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
  double elapsed_s = 0, load_after = NAN;
  if (timing) {
    /* The run above was the first warm-up run (its outputs are the ones written); n == batch, so chunk_ins and
     * chunk_outs already point at the whole input and output. */
    for (size_t i = 1; i < warmup; i++) {
      hwt_status st = hwt_engine_run_io(e, chunk_ins, chunk_outs, NULL);
      if (st != hwt_status_ok) {
        fprintf(stderr, "hwtune run: %s: warm-up run %zu failed: %s\n", model_arg, i, hwt_status_string(st));
        goto done;
      }
    }
    uint64_t w0 = hwt_now_ns();
    for (size_t i = 0; i < runs; i++) {
      uint64_t a = hwt_now_ns();
      hwt_status st = hwt_engine_run_io(e, chunk_ins, chunk_outs, NULL);
      uint64_t b = hwt_now_ns();
      if (st != hwt_status_ok) {
        fprintf(stderr, "hwtune run: %s: timed run %zu failed: %s\n", model_arg, i, hwt_status_string(st));
        goto done;
      }
      samples[i] = (double) (b - a);
    }
    elapsed_s = (double) (hwt_now_ns() - w0) / 1e9;
    load_after = load_average();
  }

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
    } else if (!timing) {
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
  if (timing) {
    unsigned used_threads = threads;
    if (used_threads == 0 || used_threads > hwt_engine_usable_cpus()) used_threads = hwt_engine_usable_cpus();
    timing_run tr = {.model_arg = model_arg, .profile_note = note, .m = m, .inputs = inputs, .ninputs = ninputs,
                     .batch = batch, .runs = runs, .warmup = warmup, .threads = used_threads, .samples = samples,
                     .load_before = load_before, .load_after = load_after, .create_ms = create_ms,
                     .elapsed_s = elapsed_s, .argc = argc, .argv = argv};
    doc = timing_document(&tr, session);
    if (doc == NULL) goto oom;
    if (results_path != NULL) {
      char *text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
      size_t len = text ? strlen(text) : 0;
      char *nl = text ? realloc(text, len + 2) : NULL;
      if (nl == NULL) {
        free(text);
        goto oom;
      }
      text = nl;
      text[len++] = '\n';
      text[len] = '\0';
      hwt_status st = hwt_write_file_atomic(results_path, text, len, err, sizeof err);
      free(text);
      if (st != hwt_status_ok) {
        fprintf(stderr, "hwtune run: --results: %s\n", err);
        goto done;
      }
    }
  }
  if (fflush(stdout) != 0) {
    fprintf(stderr, "hwtune run: cannot write to stdout: %s\n", strerror(errno));
    goto done;
  }
  rc = 0;
  goto done;
oom:
  fprintf(stderr, "hwtune run: out of memory (inputs, outputs or samples of %zu samples)\n", n);
done:
  json_decref(doc);
  free(samples);
  hwt_bench_session_destroy(session);
  for (size_t k = 0; k < MAX_RUN_INPUTS; k++) free(ins[k]);
  for (size_t j = 0; j < HWT_GRAPH_MAX_IO; j++) free(outs[j]);
  for (size_t k = 0; k < ninputs; k++) hwt_tensor_free(&inputs[k].t);
  hwt_engine_destroy(e);
  hwt_model_free(m);
  hwt_profile_free(profile);
  return rc;
}
