/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune bench`: expands the option lists into configurations, optionally verifies them, measures each one
 * and reports (console table and/or json, csv, md, gbench); SIGINT stops cleanly and keeps what was measured. */
#define _GNU_SOURCE
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cli/verbs.h"
#include "bench.h"
#include "hwt_common.h"
#include "hwtune/spmm.h"

static volatile int g_stop = 0;

static void on_sigint(int sig) {
  (void)sig;
  g_stop = 1;
  signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends the process at once */
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: hwtune bench [options]\n"
          "\n"
          "Times XNNPACK and hwtune's own kernels on this machine, one configuration per combination of the\n"
          "list options below (every list is comma-separated).\n"
          "\n"
          "  --op LIST          gemm_f32 gemm_qs8 conv_f32 conv_qs8 dwconv_f32 dwconv_qs8 spmm_f32\n"
          "                     (default gemm_f32)\n"
          "  --shape LIST       shapes, see below (default: 1024x1024 for gemm, 56x56x64:64:k3s1p1 for conv,\n"
          "                     56x56x64::k3s1p1 for dwconv)\n"
          "  --shapes FILE      shape files, one shape a line (bench/shapes/*.txt; see bench/shapes/README.md)\n"
          "  --impl LIST        xnnpack, own (best ISA of ours), own:<isa> (own:avx2 ...), reference\n"
          "                     (default xnnpack,own; configurations an impl cannot run are skipped with a note)\n"
          "                     spmm_f32: own = our sparse kernel, xnnpack = XNNPACK's sparse NCHW 1x1 conv,\n"
          "                     own-dense / xnnpack-dense = the dense kernels on the same pruned weights\n"
          "                     (default for spmm_f32: all four, side by side)\n"
          "  --sparsity LIST    spmm_f32: fractions of zero weights in [0, 1) (default 0.5,0.75,0.9,0.95)\n"
          "  --pattern P        spmm_f32: unstructured (default) or block (zeros in whole blocks of the shape our\n"
          "                     sparse kernels exploit at their best ISA)\n"
          "  --batch LIST       batch sizes M (default 1)\n"
          "  --threads LIST     thread counts, or 'all' = 1..usable CPUs (default 1; above usable: clamped)\n"
          "  --cache LIST       warm, cold (cold rotates weights and activations through buffers larger than\n"
          "                     the last-level cache; default warm)\n"
          "  --blocking MC,KC,NC  own kernels' blocking (0 = default for that field)\n"
          "  --max-time SEC     time budget per configuration (default 2)\n"
          "  --rounds N         measure the whole list N times in turn (A B C A B C ...), each time for max-time/N,\n"
          "                     and pool each configuration's samples: drift of the machine hits every\n"
          "                     configuration alike, for side-by-side ratios (default 1)\n"
          "  --target-ci PCT    stop when the 95%% CI of the median is within +-PCT%% (default 1)\n"
          "  --min-samples N    at least N samples (default 10)\n"
          "  --verify           compare every configuration's output with the reference first; exit 1 on mismatch\n"
          "  --format F         console, json, csv, md, gbench (Google Benchmark JSON for its compare.py)\n"
          "  --out FILE         write the results there (atomically; format from --format or .json/.csv/.md);\n"
          "                     the console table still goes to stdout\n"
          "  --no-peaks         skip detect's quick peak/bandwidth probes (pct_peak null, bound unknown)\n"
          "  --no-pin           do not pin pool threads to CPUs\n"
          "  --keep-preempted   keep samples during which the measuring thread was preempted (default: dropped\n"
          "                     and counted in preempted_dropped, with a warning)\n"
          "  -q, --quiet        no progress line\n"
          "  -h, --help\n"
          "\n"
          "Shapes:\n"
          "  gemm    NxK                N outputs x K inputs; M (rows) comes from --batch     1024x1024\n"
          "  conv    HxWxC:OC:kKsSpP    NHWC input H x W x C, OC outputs, KxK kernel (or kKHxKW), stride S\n"
          "                             (default 1), padding P (default 0) on every side  56x56x64:128:k3s1p1\n"
          "  dwconv  HxWxC:C:kKsSpP     depthwise (groups = channels): OC = C or empty    56x56x64::k3s2p1\n"
          "  spmm    NxK or HxWxC:OC:k1 fully-connected or 1x1 conv layer (shape files: gemm and 1x1 conv lines)\n"
          "\n"
          "Measurement: warm-up, then iterations per sample calibrated so a sample lasts >= 100x the timer\n"
          "overhead (and >= 20 us); samples until the 95%% CI of the median is within the target or the time budget\n"
          "runs out. Threads are pinned to distinct usable CPUs; load from other processes on any usable CPU\n"
          "(before and during each run, also on CPUs the run does not use: they share the caches and memory\n"
          "bandwidth), CV > 5%%, frequency changes and run-queue waits are reported as warnings. NO_COLOR\n"
          "disables colour.\n"
          "\n"
          "Exit: 0 ok, 1 failure (verify mismatch, I/O), 2 usage error (an --out whose directory does not exist\n"
          "included, refused before measuring), 130 interrupted (results still written,\n"
          "marked partial).\n");
}

typedef struct impl_choice {
  hwt_bench_impl impl;
  bool isa_auto;
  hwt_isa isa;
  char label[24];
} impl_choice;

typedef struct shape_item {
  hwt_bench_shape shape;
  int kind; /* -1: from --shape (fits any op it parses for); else hwt_bench_shape_kind */
} shape_item;

static bool parse_u64_list(const char *text, uint64_t min, uint64_t max, uint64_t **out, size_t *n,
                           const char *what) {
  hwt_list l;
  if (hwt_list_split(text, &l) != hwt_status_ok || l.count == 0) {
    fprintf(stderr, "hwtune bench: %s: empty list\n", what);
    hwt_list_free(&l);
    return false;
  }
  *out = calloc(l.count, sizeof(uint64_t));
  *n = 0;
  for (size_t i = 0; i < l.count; i++) {
    uint64_t v;
    if (!hwt_parse_u64(l.items[i], min, max, &v)) {
      fprintf(stderr, "hwtune bench: %s: '%s' is not an integer in %llu..%llu\n", what, l.items[i],
              (unsigned long long)min, (unsigned long long)max);
      hwt_list_free(&l);
      return false;
    }
    bool dup = false;
    for (size_t j = 0; j < *n; j++) dup |= (*out)[j] == v;
    if (!dup) (*out)[(*n)++] = v;
  }
  hwt_list_free(&l);
  return true;
}

#define MAX_SPARSITIES 32

/* --sparsity: fractions in [0, 1), duplicates dropped. */
static bool parse_sparsity_list(const char *text, double *out, size_t *n) {
  hwt_list l;
  if (hwt_list_split(text, &l) != hwt_status_ok || l.count == 0) {
    fprintf(stderr, "hwtune bench: --sparsity: empty list (fractions of zero weights, e.g. 0.5,0.75,0.9)\n");
    hwt_list_free(&l);
    return false;
  }
  *n = 0;
  for (size_t i = 0; i < l.count; i++) {
    double v;
    if (!hwt_parse_double(l.items[i], &v) || !(v >= 0 && v < 1)) {
      fprintf(stderr, "hwtune bench: --sparsity: '%s' is not a fraction of zero weights in [0, 1)%s\n", l.items[i],
              hwt_parse_double(l.items[i], &v) && v >= 1 && v < 100 ? " (write 90% as 0.9)" : "");
      hwt_list_free(&l);
      return false;
    }
    bool dup = false;
    for (size_t j = 0; j < *n; j++) dup |= out[j] == v;
    if (dup) continue;
    if (*n == MAX_SPARSITIES) {
      fprintf(stderr, "hwtune bench: --sparsity: at most %d values\n", MAX_SPARSITIES);
      hwt_list_free(&l);
      return false;
    }
    out[(*n)++] = v;
  }
  hwt_list_free(&l);
  return true;
}

static bool shape_applies(const shape_item *si, hwt_bench_op op) {
  if (si->kind < 0) return hwt_bench_shape_fits(op, &si->shape, NULL, 0);
  if (hwt_bench_op_is_sparse(op))
    return si->kind != hwt_shape_dw && hwt_bench_shape_fits(op, &si->shape, NULL, 0);
  if (hwt_bench_op_is_dwconv(op)) return si->kind == hwt_shape_dw;
  if (hwt_bench_op_is_conv(op)) return si->kind == hwt_shape_conv;
  return si->kind == hwt_shape_gemm;
}

typedef struct skip_note {
  char reason[256];
  size_t count;
  char example[192];
} skip_note;

static void note_skip(skip_note *notes, size_t *n, size_t cap, const char *reason, const char *name) {
  for (size_t i = 0; i < *n; i++)
    if (strcmp(notes[i].reason, reason) == 0) {
      notes[i].count++;
      return;
    }
  if (*n == cap) return;
  snprintf(notes[*n].reason, sizeof(notes[*n].reason), "%s", reason);
  snprintf(notes[*n].example, sizeof(notes[*n].example), "%s", name);
  notes[*n].count = 1;
  (*n)++;
}

static void fmt_duration(double s, char *buf, size_t len) {
  if (s < 60)
    snprintf(buf, len, "%.0fs", s);
  else
    snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

int hwt_cmd_bench(int argc, char **argv) {
  g_stop = 0;
  const char *op_text = "gemm_f32", *shape_text = NULL, *shapes_file = NULL, *impl_text = "xnnpack,own";
  const char *batch_text = "1", *threads_text = "1", *cache_text = "warm", *format_text = NULL, *out_path = NULL;
  const char *blocking_text = NULL, *sparsity_text = NULL, *pattern_text = NULL;
  bool impl_given = false;
  double max_time = 2.0, target_ci_pct = 1.0;
  uint64_t min_samples = 10, rounds = 1;
  bool verify = false, no_peaks = false, no_pin = false, quiet = false, keep_preempted = false;
  enum { O_OP = 256, O_SHAPE, O_SHAPES, O_IMPL, O_BATCH, O_THREADS, O_CACHE, O_BLOCKING, O_MAXTIME, O_TARGET,
         O_MINSAMPLES, O_VERIFY, O_FORMAT, O_OUT, O_NOPEAKS, O_NOPIN, O_KEEPPRE, O_SPARSITY, O_PATTERN, O_ROUNDS };
  static const struct option longopts[] = {
      {"op", required_argument, NULL, O_OP},           {"shape", required_argument, NULL, O_SHAPE},
      {"shapes", required_argument, NULL, O_SHAPES},   {"impl", required_argument, NULL, O_IMPL},
      {"batch", required_argument, NULL, O_BATCH},     {"threads", required_argument, NULL, O_THREADS},
      {"cache", required_argument, NULL, O_CACHE},     {"blocking", required_argument, NULL, O_BLOCKING},
      {"max-time", required_argument, NULL, O_MAXTIME}, {"target-ci", required_argument, NULL, O_TARGET},
      {"min-samples", required_argument, NULL, O_MINSAMPLES}, {"verify", no_argument, NULL, O_VERIFY},
      {"format", required_argument, NULL, O_FORMAT},   {"out", required_argument, NULL, O_OUT},
      {"no-peaks", no_argument, NULL, O_NOPEAKS},      {"no-pin", no_argument, NULL, O_NOPIN},
      {"keep-preempted", no_argument, NULL, O_KEEPPRE},
      {"sparsity", required_argument, NULL, O_SPARSITY}, {"pattern", required_argument, NULL, O_PATTERN},
      {"rounds", required_argument, NULL, O_ROUNDS},
      {"quiet", no_argument, NULL, 'q'},               {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  optind = 0;
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
    switch (ch) {
      case O_OP: op_text = optarg; break;
      case O_SHAPE: shape_text = optarg; break;
      case O_SHAPES: shapes_file = optarg; break;
      case O_IMPL: impl_text = optarg, impl_given = true; break;
      case O_SPARSITY: sparsity_text = optarg; break;
      case O_PATTERN: pattern_text = optarg; break;
      case O_BATCH: batch_text = optarg; break;
      case O_THREADS: threads_text = optarg; break;
      case O_CACHE: cache_text = optarg; break;
      case O_BLOCKING: blocking_text = optarg; break;
      case O_MAXTIME:
        if (!hwt_parse_double(optarg, &max_time) || max_time <= 0 || max_time > 3600) {
          fprintf(stderr, "hwtune bench: --max-time: '%s' is not a number of seconds in (0, 3600]\n", optarg);
          return 2;
        }
        break;
      case O_TARGET:
        if (!hwt_parse_double(optarg, &target_ci_pct) || target_ci_pct <= 0 || target_ci_pct > 100) {
          fprintf(stderr, "hwtune bench: --target-ci: '%s' is not a percentage in (0, 100]\n", optarg);
          return 2;
        }
        break;
      case O_MINSAMPLES:
        if (!hwt_parse_u64(optarg, 1, 100000, &min_samples)) {
          fprintf(stderr, "hwtune bench: --min-samples: '%s' is not an integer in 1..100000\n", optarg);
          return 2;
        }
        break;
      case O_ROUNDS:
        if (!hwt_parse_u64(optarg, 1, 100, &rounds)) {
          fprintf(stderr, "hwtune bench: --rounds: '%s' is not an integer in 1..100\n", optarg);
          return 2;
        }
        break;
      case O_VERIFY: verify = true; break;
      case O_FORMAT: format_text = optarg; break;
      case O_OUT: out_path = optarg; break;
      case O_NOPEAKS: no_peaks = true; break;
      case O_NOPIN: no_pin = true; break;
      case O_KEEPPRE: keep_preempted = true; break;
      case 'q': quiet = true; break;
      case 'h': usage(stdout); return 0;
      default:
        if (optopt)
          fprintf(stderr, "hwtune bench: option '%s' needs a value or is unknown (see hwtune bench --help)\n",
                  argv[optind - 1]);
        else
          fprintf(stderr, "hwtune bench: unknown option '%s' (see hwtune bench --help)\n", argv[optind - 1]);
        return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "hwtune bench: unexpected argument '%s' (see hwtune bench --help)\n", argv[optind]);
    return 2;
  }

  int rc = 2;
  hwt_list ops = {0}, impls_l = {0}, caches_l = {0}, shapes_l = {0}, files_l = {0};
  uint64_t *batches = NULL, *threads = NULL;
  size_t nbatches = 0, nthreads = 0;
  hwt_bench_op op_v[hwt_bench_op_count];
  size_t nops = 0;
  double sparsity_v[MAX_SPARSITIES] = {0};
  size_t nsparsity = 0;
  impl_choice impl_v[16];
  size_t nimpls = 0;
  bool cache_v[2];
  size_t ncaches = 0;
  shape_item *shape_v = NULL;
  size_t nshapes = 0;
  hwt_bench_session *session = NULL;
  json_t *context = NULL;
  hwt_bench_result *results = NULL;
  size_t nresults = 0;
  hwt_bench_config *configs = NULL;
  size_t nconfigs = 0;
  hwt_gemm_blocking blocking = {0, 0, 0};
  hwt_bench_format out_format = hwt_format_json, stdout_format = hwt_format_console;
  char err[1024] = "";

  /* ---- ops */
  if (hwt_list_split(op_text, &ops) != hwt_status_ok || ops.count == 0) {
    fprintf(stderr, "hwtune bench: --op: empty list\n");
    goto done;
  }
  for (size_t i = 0; i < ops.count; i++) {
    hwt_bench_op op;
    if (!hwt_bench_op_from_name(ops.items[i], &op)) {
      fprintf(stderr,
              "hwtune bench: unknown op '%s' (known: gemm_f32, gemm_qs8, conv_f32, conv_qs8, dwconv_f32, "
              "dwconv_qs8, spmm_f32)\n",
              ops.items[i]);
      goto done;
    }
    bool dup = false;
    for (size_t j = 0; j < nops; j++) dup |= op_v[j] == op;
    if (!dup) op_v[nops++] = op;
  }
  /* ---- sparsity and pattern (spmm_f32 only) */
  bool any_sparse = false, block = false;
  for (size_t i = 0; i < nops; i++) any_sparse |= hwt_bench_op_is_sparse(op_v[i]);
  if ((sparsity_text || pattern_text) && !any_sparse) {
    fprintf(stderr, "hwtune bench: --%s applies to --op spmm_f32 only\n", sparsity_text ? "sparsity" : "pattern");
    goto done;
  }
  if (any_sparse && !parse_sparsity_list(sparsity_text ? sparsity_text : "0.5,0.75,0.9,0.95", sparsity_v, &nsparsity))
    goto done;
  if (pattern_text) {
    if (strcmp(pattern_text, "block") == 0)
      block = true;
    else if (strcmp(pattern_text, "unstructured") != 0) {
      fprintf(stderr, "hwtune bench: --pattern: '%s' is not unstructured or block\n", pattern_text);
      goto done;
    }
  }
  if (any_sparse && !impl_given) impl_text = "own,own-dense,xnnpack,xnnpack-dense";
  /* ---- impls */
  if (hwt_list_split(impl_text, &impls_l) != hwt_status_ok || impls_l.count == 0) {
    fprintf(stderr, "hwtune bench: --impl: empty list\n");
    goto done;
  }
  const bool test_backends = getenv("HWTUNE_BENCH_TEST_BACKENDS") != NULL;
  for (size_t i = 0; i < impls_l.count && nimpls < 16; i++) {
    impl_choice c = {.isa_auto = true};
    char *name = impls_l.items[i], *colon = strchr(name, ':');
    if (colon) *colon = '\0';
    if (!hwt_bench_impl_from_name(name, &c.impl) || (c.impl == hwt_bench_wrong && !test_backends)) {
      fprintf(stderr, "hwtune bench: unknown impl '%s' (known: xnnpack, own, own:<isa>, reference; spmm_f32 also "
              "own-dense, own-dense:<isa>, xnnpack-dense)\n", name);
      goto done;
    }
    if (colon) {
      if ((c.impl != hwt_bench_own && c.impl != hwt_bench_own_dense) || !hwt_isa_from_name(colon + 1, &c.isa)) {
        fprintf(stderr, "hwtune bench: impl '%s:%s': only own and own-dense take an ISA (own:scalar, own:avx2, "
                "own:avx512f, ...)\n", name, colon + 1);
        goto done;
      }
      c.isa_auto = false;
      snprintf(c.label, sizeof(c.label), "%s:%s", name, colon + 1);
    } else {
      snprintf(c.label, sizeof(c.label), "%s", name);
    }
    impl_v[nimpls++] = c;
  }
  /* ---- caches */
  if (hwt_list_split(cache_text, &caches_l) != hwt_status_ok || caches_l.count == 0) {
    fprintf(stderr, "hwtune bench: --cache: empty list\n");
    goto done;
  }
  for (size_t i = 0; i < caches_l.count; i++) {
    bool cold;
    if (strcmp(caches_l.items[i], "warm") == 0)
      cold = false;
    else if (strcmp(caches_l.items[i], "cold") == 0)
      cold = true;
    else {
      fprintf(stderr, "hwtune bench: --cache: '%s' is not warm or cold\n", caches_l.items[i]);
      goto done;
    }
    if (ncaches == 0 || cache_v[0] != cold) cache_v[ncaches++] = cold;
    if (ncaches == 2) break;
  }
  /* ---- batches */
  if (!parse_u64_list(batch_text, 1, 1u << 20, &batches, &nbatches, "--batch")) goto done;
  /* ---- blocking */
  if (blocking_text) {
    unsigned long long mc, kc, nc;
    char tail;
    if (sscanf(blocking_text, "%llu,%llu,%llu%c", &mc, &kc, &nc, &tail) != 3) {
      fprintf(stderr, "hwtune bench: --blocking: '%s' is not MC,KC,NC (e.g. 72,256,4096)\n", blocking_text);
      goto done;
    }
    blocking.mc = mc, blocking.kc = kc, blocking.nc = nc;
  }
  /* ---- format and output */
  if (format_text && !hwt_bench_format_from_name(format_text, &out_format)) {
    fprintf(stderr, "hwtune bench: unknown format '%s' (console, json, csv, md, gbench)\n", format_text);
    goto done;
  }
  if (out_path) {
    if (!format_text && !hwt_bench_format_from_path(out_path, &out_format)) {
      fprintf(stderr, "hwtune bench: cannot tell the format of '%s' from its extension; add --format\n", out_path);
      goto done;
    }
    char err[1024];
    if (hwt_check_out_dir(out_path, err, sizeof err) != hwt_status_ok) {
      fprintf(stderr, "hwtune bench: --out: %s\n", err);
      rc = 2;
      goto done;
    }
  } else if (format_text) {
    stdout_format = out_format;
  }
  /* ---- shapes */
  if (shape_text) {
    if (hwt_list_split(shape_text, &shapes_l) != hwt_status_ok || shapes_l.count == 0) {
      fprintf(stderr, "hwtune bench: --shape: empty list\n");
      goto done;
    }
  }
  if (shapes_file && (hwt_list_split(shapes_file, &files_l) != hwt_status_ok || files_l.count == 0)) {
    fprintf(stderr, "hwtune bench: --shapes: empty list\n");
    goto done;
  }
  {
    size_t cap = shapes_l.count + 8;
    shape_v = malloc(cap * sizeof(*shape_v));
    if (shape_v == NULL) goto done;
    for (size_t i = 0; i < shapes_l.count; i++) {
      if (hwt_bench_parse_shape(shapes_l.items[i], &shape_v[nshapes].shape, err, sizeof(err)) != hwt_status_ok) {
        fprintf(stderr, "hwtune bench: --shape: %s\n", err);
        goto done;
      }
      shape_v[nshapes].kind = -1;
      bool any = false;
      for (size_t o = 0; o < nops; o++) any |= shape_applies(&shape_v[nshapes], op_v[o]);
      if (!any) {
        char why[256];
        hwt_bench_shape_fits(op_v[0], &shape_v[nshapes].shape, why, sizeof(why));
        fprintf(stderr, "hwtune bench: --shape '%s' fits none of the ops (%s)\n", shapes_l.items[i], why);
        goto done;
      }
      nshapes++;
    }
    for (size_t f = 0; f < files_l.count; f++) {
      hwt_bench_shape_entry *entries = NULL;
      size_t count = 0;
      if (hwt_bench_read_shapes(files_l.items[f], &entries, &count, err, sizeof(err)) != hwt_status_ok) {
        fprintf(stderr, "hwtune bench: --shapes: %s\n", err);
        goto done;
      }
      shape_item *nv = realloc(shape_v, (nshapes + count + 1) * sizeof(*shape_v));
      if (nv == NULL) {
        free(entries);
        goto done;
      }
      shape_v = nv;
      for (size_t i = 0; i < count; i++) {
        shape_v[nshapes].shape = entries[i].shape;
        shape_v[nshapes].kind = (int)entries[i].kind;
        nshapes++;
      }
      free(entries);
    }
    if (nshapes == 0) {
      /* Defaults: one typical shape per op family. */
      static const char *const defaults[] = {"1024x1024", "56x56x64:64:k3s1p1", "56x56x64::k3s1p1"};
      shape_item *nv = realloc(shape_v, 3 * sizeof(*shape_v));
      if (nv == NULL) goto done;
      shape_v = nv;
      for (int i = 0; i < 3; i++) {
        hwt_bench_parse_shape(defaults[i], &shape_v[i].shape, NULL, 0);
        shape_v[i].kind = i;
      }
      nshapes = 3;
    }
  }

  /* ---- session (detects the machine; needed for --threads all) */
  if (!quiet) fprintf(stderr, "hwtune bench: detecting the machine%s...\n", no_peaks ? "" : " (quick peak probes)");
  {
    hwt_bench_session_options so = {.hw = NULL, .measure_peaks = !no_peaks, .pin_threads = !no_pin,
                                    .stop = &g_stop, .clock = NULL};
    hwt_status st = hwt_bench_session_create(&so, &session, err, sizeof(err));
    if (st != hwt_status_ok) {
      fprintf(stderr, "hwtune bench: %s\n", err);
      rc = 1;
      goto done;
    }
  }
  const unsigned usable = hwt_bench_session_hw(session)->usable_cpus ? hwt_bench_session_hw(session)->usable_cpus : 1;
  /* ---- threads */
  if (strcmp(threads_text, "all") == 0) {
    threads = calloc(usable, sizeof(uint64_t));
    if (threads == NULL) goto done;
    for (unsigned t = 1; t <= usable; t++) threads[nthreads++] = t;
  } else {
    uint64_t *raw = NULL;
    size_t nraw = 0;
    if (!parse_u64_list(threads_text, 1, 4096, &raw, &nraw, "--threads (or 'all')")) {
      free(raw);
      goto done;
    }
    threads = calloc(nraw, sizeof(uint64_t));
    if (threads == NULL) {
      free(raw);
      goto done;
    }
    for (size_t i = 0; i < nraw; i++) {
      uint64_t t = raw[i];
      if (t > usable) {
        fprintf(stderr, "hwtune bench: warning: --threads %llu > %u usable CPUs: clamped to %u\n",
                (unsigned long long)t, usable, usable);
        hwt_bench_session_warn(session, "threads %llu clamped to %u usable CPUs", (unsigned long long)t, usable);
        t = usable;
      }
      bool dup = false;
      for (size_t j = 0; j < nthreads; j++) dup |= threads[j] == t;
      if (!dup) threads[nthreads++] = t;
    }
    free(raw);
  }

  /* ---- expand configurations */
  {
    size_t cap = nops * nshapes * (nsparsity ? nsparsity : 1) * nbatches * nthreads * nimpls * ncaches;
    configs = calloc(cap ? cap : 1, sizeof(*configs));
    if (configs == NULL) goto done;
    for (size_t o = 0; o < nops; o++)
      for (size_t s = 0; s < nshapes; s++) {
        if (!shape_applies(&shape_v[s], op_v[o])) continue;
        const bool sparse = hwt_bench_op_is_sparse(op_v[o]);
        /* spmm_f32: the impls of one layer and sparsity run one after the other (innermost but the cache). */
        for (size_t z = 0; z < (sparse ? nsparsity : 1); z++)
        for (size_t b = 0; b < nbatches; b++)
          for (size_t t = 0; t < nthreads; t++)
            for (size_t i = 0; i < nimpls; i++)
              for (size_t c = 0; c < ncaches; c++) {
                const bool baseline =
                    impl_v[i].impl == hwt_bench_own_dense || impl_v[i].impl == hwt_bench_xnnpack_dense;
                if (!sparse && baseline && !impl_given) continue; /* spmm's default impls, other ops in the list */
                hwt_bench_config *cfg = &configs[nconfigs++];
                hwt_bench_config_init(cfg);
                cfg->op = op_v[o];
                cfg->impl = impl_v[i].impl;
                cfg->isa_auto = impl_v[i].isa_auto;
                cfg->isa = impl_v[i].isa;
                cfg->shape = shape_v[s].shape;
                cfg->batch = batches[b];
                cfg->threads = (unsigned)threads[t];
                cfg->cold = cache_v[c];
                cfg->blocking = blocking;
                cfg->max_time_s = max_time;
                cfg->target_ci = target_ci_pct / 100.0;
                cfg->min_samples = min_samples;
                cfg->keep_preempted = keep_preempted;
                if (sparse) cfg->sparsity = sparsity_v[z], cfg->block = block;
              }
      }
    if (nconfigs == 0) {
      fprintf(stderr, "hwtune bench: nothing to run: no shape fits the ops (gemm ops need NxK shapes or 'gemm' lines, "
                      "conv ops HxWxC:OC:k.. or 'conv' lines, dwconv ops 'dw' lines)\n");
      goto done;
    }
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);

  skip_note skips[16];
  size_t nskips = 0;
  rc = 0;

  /* ---- verify */
  if (verify) {
    size_t failed = 0, checked = 0;
    for (size_t i = 0; i < nconfigs && !g_stop; i++) {
      const hwt_bench_config *cfg = &configs[i];
      if (cfg->cold) continue; /* same computation as warm */
      err[0] = '\0';
      hwt_status st = hwt_bench_verify(session, cfg, err, sizeof(err));
      if (st == hwt_status_unsupported) continue;
      checked++;
      if (st == hwt_status_mismatch) {
        fprintf(stderr, "hwtune bench: %s\n", err);
        failed++;
      } else if (st != hwt_status_ok) {
        fprintf(stderr, "hwtune bench: verify %s (shape %s): %s\n", hwt_bench_op_name(cfg->op), cfg->shape.text, err);
        failed++;
      }
    }
    if (failed) {
      fprintf(stderr, "hwtune bench: verify: %zu of %zu configurations differ from the reference; nothing timed\n",
              failed, checked);
      rc = 1;
      goto done;
    }
    if (!quiet) fprintf(stderr, "hwtune bench: verify: %zu configurations match the reference\n", checked);
  }

  /* ---- measure */
  context = hwt_bench_context_json(session, argc > 0 ? argc + 1 : 0, argv - 1);
  results = calloc(nconfigs, sizeof(*results));
  if (results == NULL) {
    rc = 1;
    goto done;
  }
  const bool tty = !quiet && isatty(STDERR_FILENO);
  /* Test seam: deliver SIGINT to ourselves after N configurations, to test the partial path deterministically. */
  const char *sigint_after = getenv("HWTUNE_BENCH_TEST_SIGINT_AFTER");
  uint64_t sigint_at = UINT64_MAX;
  if (sigint_after && !hwt_parse_u64(sigint_after, 0, UINT64_MAX, &sigint_at)) sigint_at = UINT64_MAX;
  const uint64_t t0 = hwt_now_ns();
  bool cut_short = false;
  /* --rounds: the list is measured `rounds` times in turn, each time for max_time / rounds; round 0 creates each
   * configuration's result (slot), later rounds add their samples to it. */
  long *slot = malloc((nconfigs ? nconfigs : 1) * sizeof(long));
  if (slot == NULL) {
    rc = 1;
    goto done;
  }
  for (size_t i = 0; i < nconfigs; i++) slot[i] = -1;
  uint64_t round = 0;
  size_t i = 0;
  for (round = 0; round < rounds && !g_stop; round++)
    for (i = 0; i < nconfigs && !g_stop; i++) {
      if (round > 0 && slot[i] < 0) continue; /* skipped or failed in round 0 */
      hwt_bench_config cfg_round = configs[i];
      cfg_round.max_time_s = max_time / (double)rounds;
      const hwt_bench_config *cfg = &cfg_round;
      char name[192];
      hwt_isa shown = cfg->isa;
      if (cfg->impl == hwt_bench_own && cfg->isa_auto && hwt_bench_op_is_sparse(cfg->op))
        shown = hwt_spmm_best_isa();
      else if ((cfg->impl == hwt_bench_own || cfg->impl == hwt_bench_own_dense) && cfg->isa_auto)
        shown = hwt_gemm_best_isa(hwt_bench_op_is_qs8(cfg->op) ? hwt_gemm_qs8 : hwt_gemm_f32);
      hwt_bench_config_name(cfg,
                            cfg->impl == hwt_bench_xnnpack || cfg->impl == hwt_bench_xnnpack_dense ? "auto"
                            : cfg->impl == hwt_bench_own || cfg->impl == hwt_bench_own_dense ? hwt_isa_name(shown)
                                                                                            : "scalar",
                            name, sizeof(name));
      const size_t step = (size_t)round * nconfigs + i, steps = (size_t)rounds * nconfigs;
      if (tty) {
        double done_s = (double)(hwt_now_ns() - t0) / 1e9;
        char eta[32] = "?";
        if (step > 0) fmt_duration(done_s / (double)step * (double)(steps - step), eta, sizeof(eta));
        if (rounds > 1)
          fprintf(stderr, "\r\033[K[round %llu/%llu, %zu/%zu] %s  ETA %s", (unsigned long long)round + 1,
                  (unsigned long long)rounds, i + 1, nconfigs, name, eta);
        else
          fprintf(stderr, "\r\033[K[%zu/%zu] %s  ETA %s", i + 1, nconfigs, name, eta);
        fflush(stderr);
      }
      if ((uint64_t)step == sigint_at) raise(SIGINT);
      err[0] = '\0';
      hwt_bench_result more, *r = round == 0 ? &results[nresults] : &more;
      hwt_status st = hwt_bench_measure(session, cfg, r, err, sizeof(err));
      if (st == hwt_status_ok && r->interrupted) cut_short = true;
      if (st == hwt_status_ok && r->samples == 0) {
        hwt_bench_result_free(r); /* interrupted before its first sample */
      } else if (st == hwt_status_ok && round == 0) {
        results[nresults].config.max_time_s = max_time;
        slot[i] = (long)nresults++;
      } else if (st == hwt_status_ok) {
        if (hwt_bench_result_merge(&results[slot[i]], r, (unsigned)round + 1) != hwt_status_ok) {
          hwt_bench_result_free(r);
          rc = 1;
        }
      } else if (st == hwt_status_unsupported) {
        note_skip(skips, &nskips, 16, err, name);
      } else {
        if (tty) fprintf(stderr, "\r\033[K");
        fprintf(stderr, "hwtune bench: %s: %s\n", name, err);
        hwt_bench_session_warn(session, "%s failed: %s", name, err);
        rc = 1;
      }
    }
  free(slot);
  if (tty) fprintf(stderr, "\r\033[K");
  /* Partial only when the stop flag actually cut work: a Ctrl-C after the last configuration loses nothing. */
  if (g_stop && !(round == rounds && i == nconfigs)) cut_short = true;
  const bool partial = cut_short;
  for (size_t i = 0; i < nskips; i++) {
    fprintf(stderr, "hwtune bench: skipped %zu configuration%s (e.g. %s): %s\n", skips[i].count,
            skips[i].count == 1 ? "" : "s", skips[i].example, skips[i].reason);
    hwt_bench_session_warn(session, "skipped %zu configuration%s: %s", skips[i].count,
                           skips[i].count == 1 ? "" : "s", skips[i].reason);
  }
  if (!quiet)
    fprintf(stderr, "hwtune bench: %zu configuration%s measured in %.1f s%s\n", nresults, nresults == 1 ? "" : "s",
            (double)(hwt_now_ns() - t0) / 1e9, partial ? " (interrupted: partial results)" : "");
  if (nresults == 0 && !partial) {
    fprintf(stderr, "hwtune bench: no configuration could be measured (see the notes above)\n");
    rc = 1;
  }
  hwt_bench_context_finish(context, session);

  /* ---- report */
  {
    hwt_bench_doc doc = {.context = context, .results = results, .count = nresults, .partial = partial};
    doc.color = stdout_format == hwt_format_console && isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
    char *text = NULL;
    if (hwt_bench_render(&doc, stdout_format, &text, err, sizeof(err)) == hwt_status_ok) {
      fputs(text, stdout);
      fflush(stdout);
      free(text);
    } else {
      fprintf(stderr, "hwtune bench: %s\n", err);
      rc = 1;
    }
    if (out_path) {
      doc.color = false;
      if (hwt_bench_write(&doc, out_format, out_path, err, sizeof(err)) != hwt_status_ok) {
        fprintf(stderr, "hwtune bench: cannot write results: %s\n", err);
        rc = 1;
      } else if (!quiet) {
        fprintf(stderr, "hwtune bench: wrote %s (%s)\n", out_path, hwt_bench_format_name(out_format));
      }
    }
  }
  if (partial) rc = 130;

done:
  signal(SIGINT, SIG_DFL);
  for (size_t i = 0; i < nresults; i++) hwt_bench_result_free(&results[i]);
  free(results);
  free(configs);
  json_decref(context);
  hwt_bench_session_destroy(session);
  free(shape_v);
  free(batches);
  free(threads);
  hwt_list_free(&ops);
  hwt_list_free(&impls_l);
  hwt_list_free(&caches_l);
  hwt_list_free(&shapes_l);
  hwt_list_free(&files_l);
  return rc;
}
