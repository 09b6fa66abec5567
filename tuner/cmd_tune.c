/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune tune`: search implementation, threads and blocking per (op, shape, batch) and write the profile. */
#define _GNU_SOURCE 1 /* sched_getaffinity */
#include <getopt.h>
#include <glob.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "hwt_common.h"
#include "hwtune/profile.h"
#include "hwtune_build_info.h"
#include "tuner.h"
#include "../cli/verbs.h"

/* engine/pool.h (not included: bench/pool.h has the same name): the runtime's process-wide pool. */
pthreadpool_t hwt_pool_get(unsigned threads);

/* The races' pool for more than one thread: the bench's pinned pthreadpools, or with HWTUNE_TUNE_POOL=runtime
 * the runtime's pool (engine/pool.h). Measured here: races on the runtime's pool put a 2-thread turn after the
 * other entries' 1-thread turns, when its worker has gone to sleep (50 us) and the pool, seeing the caller wait
 * for it, backs off to the caller alone for 5 ms and more, most of the turn: 56x56x24:144 qs8 on 2 threads ran
 * 102 us there against 77 us on the pthreadpool, and 14x14x576:96 no faster than 1 thread. Inside a model the
 * layers run back to back and keep the worker awake, as the pthreadpool's bursts do: the MobileNet v2 int8
 * profile tuned on the runtime's pool ran 3.74 ms (p50 of six interleaved rounds) against 3.39 ms tuned on
 * the pthreadpool (default plan 4.10 ms). So the pthreadpool stays the default; the thread rule (space.c)
 * keeps ~10 us layers on one thread, where a wake-up is not hidden in the model either. */
static pthreadpool_t (*tune_race_pool(void))(unsigned) {
  const char *v = getenv("HWTUNE_TUNE_POOL");
  return v != NULL && strcmp(v, "runtime") == 0 ? hwt_pool_get : NULL;
}

#ifndef HWTUNE_SHAPES_DIR
#define HWTUNE_SHAPES_DIR "bench/shapes"
#endif

static void usage(FILE *out) {
  fprintf(out,
          "usage: hwtune tune [options]\n\n"
          "Finds the fastest implementation (XNNPACK or one of hwtune's ISA variants), thread count and blocking\n"
          "(MC, KC, NC) per (op, shape, batch) on this machine and writes a profile (hwtune.profile/1) that\n"
          "libhwtune loads in an inference runtime.\n\n"
          "options:\n"
          "  --op LIST          ops to tune (default gemm_f32,conv_f32,dwconv_f32: each shape goes to the ops it fits)\n"
          "  --shapes FILE      shape files (repeatable or comma list; default the shipped " HWTUNE_SHAPES_DIR
          "/mlp.txt\n"
          "                     and mobilenet*.txt)\n"
          "  --shape LIST       shapes given inline (1024x1024, 56x56x64:128:k3s1p1)\n"
          "  --model M          tune exactly the layer problems of model M (an .onnx file, a model JSON, mlp or\n"
          "                     mobilenet): each fc / conv / depthwise node as the engine asks the profile about it\n"
          "                     (op, outputs, inputs, batch) at the --batch sizes (default: the model's fixed batch,\n"
          "                     else 1). --op defaults to the model's own precision (fp32: gemm_f32,conv_f32,\n"
          "                     dwconv_f32; int8: the qs8 ops and gemm_f32 for float logits); qs8 ops on an fp32\n"
          "                     model tune the int8 twin the audit quantizes. Not with --shape / --shapes.\n"
          "                     Then the whole model races (see below) and the profile records the winner\n"
          "  --batch LIST       batch sizes (default 1; with --objective throughput the batches to choose from,\n"
          "                     default 1,2,4,8,16,32,64)\n"
          "  --objective OBJ    latency (default): fastest per call; throughput: per shape the batch with the most\n"
          "                     items/s whose p99 latency stays under --slo-ms (with --model: the layers are tuned\n"
          "                     at every --batch, the whole model races at each, and the batch is chosen for the\n"
          "                     model: the most items/s whose model p99 <= --slo-ms)\n"
          "  --slo-ms X         p99 latency bound for --objective throughput\n"
          "  --budget SECONDS   hard bound on the whole run (default 60); unfinished shapes are left out, said so\n"
          "  --exhaustive       measure the whole space (to check the tuner; slow: give a larger --budget)\n"
          "  --out PROFILE      default results/profiles/<fingerprint>.json; an existing profile of this machine is\n"
          "                     updated (same (op, shape, batch) replaced, others kept); its directory must exist\n"
          "                     (exit 2 if not; results/profiles/ of the default is created)\n"
          "  --also-default     with --out: also merge the profile into the default path (without --out it is)\n"
          "  --no-default       do not merge the profile into the default path\n"
          "  --force            replace another machine's profile at --out or the default path (its entries are\n"
          "                     lost); without it such a file is left alone and tune exits 2 before measuring\n"
          "  --measurements F   also write every measurement made (JSON lines: problem, candidate, median, CI) and\n"
          "                     each problem's pace (\"pace\": share, time taken, set-up per race entry)\n"
          "  --check TUNED --against REFERENCE\n"
          "                     the tuner's quality check: for every (op, shape, batch) of both profiles, race the\n"
          "                     TUNED choice against REFERENCE's choice and runner-up side by side (REFERENCE: an\n"
          "                     --exhaustive run on this machine); exit 0 when every choice is within 3%% of the\n"
          "                     best and the tuner measured at most 20%% of the configurations, else 1\n"
          "  -q, --quiet        no progress line\n"
          "  -h, --help\n\n"
          "Search: the analytical start (blocking from detect's caches, threads from the op's work size) and its\n"
          "neighbours (XNNPACK, each ISA of ours; 1, analytical and all threads) race in rounds of rising precision;\n"
          "a candidate whose 95%% CI shows it cannot win stops being measured. The best configuration of ours then\n"
          "has MC, KC, NC halved/doubled one at a time. A final race holds the finalists. Candidates compared are\n"
          "always measured side by side, in turns of short bursts, so drift of the machine hits them alike. A winner\n"
          "must beat the simpler choice (fewer threads, XNNPACK, narrower vectors: avx2 before avx512f) by more\n"
          "than the confidence intervals, or the simpler choice is kept; among equally simple ones (blocking, ISAs\n"
          "of one vector width) the fastest median wins.\n\n"
          "--model ends with the whole model: runs of three plans on the same model and input, interleaved in\n"
          "rounds (single-thread, default, tuned, single-thread, ...; a quarter of the budget, 30%% with\n"
          "throughput): single-thread = the engine's defaults on 1 thread, default = no profile (XNNPACK on every\n"
          "usable CPU), tuned = the profile just tuned. The same rule decides, simplest first (single-thread >\n"
          "default > tuned): tuned must be faster than both beyond the 95%% CIs to win. The table gives p50 [CI],\n"
          "p99, the ratio to default, the winner and the load. The profile's \"models\" entry (keyed by the file's\n"
          "SHA-256, precision and batch) names the winner, and the engine opening that model with the profile\n"
          "(hwtune model, hwtune run) runs that plan: a model whose layers each won but whose tuned plan lost\n"
          "does not run its per-layer entries.\n\n"
          "The profile is written to a temporary file and renamed (never left damaged). Without --out (or with\n"
          "--also-default) it is also merged the same way into the default path libhwtune reads: $HWTUNE_PROFILE,\n"
          "else $XDG_DATA_HOME/hwtune/profile.json, else ~/.local/share/hwtune/profile.json. A profile is this\n"
          "machine's when every machine field it records matches (libhwtune's rule); the usable CPUs are not a\n"
          "field, so a run under taskset or a cgroup quota merges into the same profile.\n\n"
          "Exit: 0 ok, 1 failure (also: the whole-model race failed; the layers are still written), 2 usage error\n"
          "or an unusable output (a missing directory, another machine's profile, a damaged one), 3 --model with\n"
          "--objective throughput --slo-ms: no batch meets the SLO (the profile holds the races, no batch chosen),\n"
          "130 interrupted (what was tuned is still written).\n");
}

/* ---------------------------------------------------------------- measuring through the bench harness */

static volatile int g_stop;
static void on_sigint(int sig) {
  (void)sig;
  g_stop = 1;
}

/* A problem's outcome, kept until the confirmation pass and the profile are done. */
typedef struct kept_choice {
  hwt_tune_problem key;       /* the profile entry's key (throughput: the largest batch offered) */
  hwt_tune_problem searched;  /* the problem the outcome is of */
  hwt_tune_outcome o;
  size_t best_batch;
  double best_tp;
} kept_choice;

typedef struct runner {
  hwt_bench_session *session;
  double start_s, budget_s;
  bool tty, quiet;
  FILE *log;
  size_t problem_index, problem_count;
  double overhead_s;        /* the most a measurement overran its max_s (operator setup, packing, calibration) */
  double problem_deadline_s;/* a problem may use up to twice its share of what is left (each later one keeps half) */
  double reserve_s;         /* held back from the searches for the confirmation pass */
  /* Pacing (hwt_tune_pace): the current problem's, while `pacing`; and every race's set-up so far, which predicts
   * the set-up of the problems to come (seconds per byte set up). */
  bool pacing;
  hwt_tune_pace pace;
  double pace_start_s, scale;  /* the problem's start; the scale last given */
  double setup_total_s, setup_bytes_total;
  double setup_bytes;          /* the current problem's bytes per race entry (hwt_bench_race_setup_bytes) */
} runner;

static double now_s(void) { return (double)hwt_now_ns() / 1e9; }

static double runner_remaining(void *ctx) {
  runner *r = ctx;
  if (g_stop) return 0.0;
  /* Kept back: 0.3 s for writing the profile, and the worst overrun seen, so a measurement started with what is
   * left still ends inside the budget. */
  double now = now_s();
  double left = r->budget_s - (now - r->start_s) - 0.3 - r->overhead_s - r->reserve_s;
  if (r->problem_deadline_s > 0 && r->problem_deadline_s - now < left) left = r->problem_deadline_s - now;
  return left > 0 ? left : 0.0;
}

/* The search asks before every measurement (hwt_tune_measurer.scale_now); 0 = not pacing (its own scale). */
static double runner_scale_now(void *ctx) {
  runner *r = ctx;
  if (!r->pacing) return 0;
  r->scale = hwt_tune_pace_scale(&r->pace, now_s() - r->pace_start_s);
  return r->scale;
}

/* A race of `entries` set up in setup_s and sampled for up to max_s: into the pace and the set-up rate. */
static void runner_note_setup(runner *r, size_t entries, double max_s, double setup_s) {
  if (setup_s < 0) setup_s = 0;
  r->setup_total_s += setup_s;
  r->setup_bytes_total += (double)entries * r->setup_bytes;
  if (r->pacing) hwt_tune_pace_note(&r->pace, entries, r->scale > 0 ? max_s / r->scale : max_s, setup_s);
}

static void cand_label(const hwt_tune_candidate *c, char *buf, size_t len) {
  if (c->impl == hwt_bench_own)
    snprintf(buf, len, "own/%s t%u %zu,%zu,%zu", hwt_isa_name(c->isa), c->threads, c->blocking.mc, c->blocking.kc,
             c->blocking.nc);
  else
    snprintf(buf, len, "%s t%u", hwt_bench_impl_name(c->impl), c->threads);
}

static void runner_progress(void *ctx, const hwt_tune_problem *p, const hwt_tune_candidate *c, int level) {
  runner *r = ctx;
  if (!r->tty || r->quiet) return;
  char label[96];
  cand_label(c, label, sizeof label);
  fprintf(stderr, "\r\033[K[%zu/%zu %3.0fs/%.0fs] %s %s m%zu: %s (pass %d)", r->problem_index + 1, r->problem_count,
          now_s() - r->start_s, r->budget_s, hwt_bench_op_name(p->op), p->shape.text, p->batch, label, level + 1);
  fflush(stderr);
}

/* One line of --measurements: the problem, the candidate, its race (0 = measured alone) and its statistics. */
static void log_measurement(runner *r, const hwt_tune_problem *p, const hwt_tune_candidate *c, int level,
                            unsigned race, size_t raced_with, const hwt_tune_measurement *m, double max_s) {
  if (!r->log) return;
  fprintf(r->log,
          "{\"op\": \"%s\", \"shape\": \"%s\", \"batch\": %zu, \"impl\": \"%s\", \"isa\": \"%s\", \"threads\": %u, "
          "\"mc\": %zu, \"kc\": %zu, \"nc\": %zu, \"pass\": %d, \"race\": %u, \"raced_with\": %zu, "
          "\"median_ns\": %.1f, \"ci_low_ns\": %.1f, \"ci_high_ns\": %.1f, \"samples\": %zu, \"max_s\": %.3f}\n",
          hwt_bench_op_name(p->op), p->shape.text, p->batch, hwt_bench_impl_name(c->impl),
          c->impl == hwt_bench_own ? hwt_isa_name(c->isa) : "auto", c->threads, c->blocking.mc, c->blocking.kc,
          c->blocking.nc, level, race, raced_with, m->median_ns, m->ci_low_ns, m->ci_high_ns, m->samples, max_s);
}

static void fill_config(const hwt_tune_problem *p, const hwt_tune_candidate *c, int level, hwt_bench_config *cfg) {
  hwt_bench_config_init(cfg);
  cfg->op = p->op;
  cfg->impl = c->impl;
  cfg->isa_auto = c->impl != hwt_bench_own;
  cfg->isa = c->isa;
  cfg->shape = p->shape;
  cfg->batch = p->batch;
  cfg->threads = c->threads;
  if (c->impl == hwt_bench_own) cfg->blocking = c->blocking;
  cfg->target_ci = level == 0 ? 0.05 : level == 1 ? 0.02 : 0.01;
  cfg->min_samples = level == 0 ? 5 : 10;
}

static unsigned g_race_log_id;

/* Candidates side by side (hwt_bench_race): turns of short bursts spread over the time given, so every candidate
 * sees the same moments of the machine. Rounds: 3, 5, 8 by precision, at least; bursts 2-20 ms. */
static hwt_status runner_race(void *ctx, const hwt_tune_problem *p, const hwt_tune_candidate *c, size_t n, int level,
                              double max_s, hwt_tune_measurement *out, hwt_status *st, char *err, size_t errlen) {
  runner *r = ctx;
  hwt_bench_config *cfgs = calloc(n ? n : 1, sizeof *cfgs);
  if (!cfgs) return hwt_status_out_of_memory;
  for (size_t i = 0; i < n; i++) fill_config(p, &c[i], level, &cfgs[i]);
  double t0 = now_s();
  hwt_bench_race *race = NULL;
  hwt_status rs = hwt_bench_race_create(r->session, cfgs, n, &race, err, errlen);
  if (rs != hwt_status_ok) {
    free(cfgs);
    return rs;
  }
  double t_created = now_s();
  /* Many short turns: each turn runs another set-up (bench's race_instances), and drift is cancelled turn by turn. */
  static const unsigned rounds[3] = {3, 5, 8};
  double burst = max_s / ((double)n * rounds[level] * 4.0);
  if (burst < 0.00025) burst = 0.00025;
  if (burst > 0.02) burst = 0.02;
  /* Set-up (packing, for large weights a good part of a second) is not taken from the sampling time: the overrun
   * it causes is kept back from the budget by runner_remaining (overhead_s). */
  /* The final precision runs its whole time: a CI of +-1% from the turns of one race is reached early, but two
   * races of the same configurations differ by more than that (set-ups, moments). */
  hwt_bench_race_params rp = {.max_s = max_s, .burst_s = burst, .target_ci = level == 2 ? 0.0 : cfgs[0].target_ci,
                              .min_samples = cfgs[0].min_samples, .min_rounds = rounds[level]};
  rs = hwt_bench_race_run(race, &rp, err, errlen);
  unsigned id = ++g_race_log_id;
  for (size_t i = 0; i < n && rs == hwt_status_ok; i++) {
    hwt_stats_summary sum;
    const char *why = "";
    st[i] = hwt_bench_race_entry(race, i, &sum, &why);
    if (st[i] == hwt_status_ok && sum.n == 0) st[i] = hwt_status_unsupported;  /* stopped before its turn */
    if (st[i] != hwt_status_ok) continue;
    out[i] = (hwt_tune_measurement){.median_ns = sum.median, .ci_low_ns = sum.ci_low, .ci_high_ns = sum.ci_high,
                                    .p99_ns = sum.p99, .samples = sum.n, .elapsed_s = 0};
    log_measurement(r, p, &c[i], level, id, n, &out[i], max_s);
  }
  double t_ran = now_s();
  hwt_bench_race_destroy(race);
  free(cfgs);
  double t_end = now_s();
  runner_note_setup(r, n, max_s, (t_created - t0) + (t_end - t_ran));
  double overrun = t_end - t0 - max_s;
  if (overrun > r->overhead_s) r->overhead_s = overrun;
  return rs;
}

static hwt_status runner_measure(void *ctx, const hwt_tune_problem *p, const hwt_tune_candidate *c, int level,
                                 double max_s, hwt_tune_measurement *out, char *err, size_t errlen) {
  runner *r = ctx;
  hwt_bench_config cfg;
  fill_config(p, c, level, &cfg);
  cfg.max_time_s = max_s;
  hwt_bench_result res;
  memset(&res, 0, sizeof res);
  double t0 = now_s();
  hwt_status st = hwt_bench_measure(r->session, &cfg, &res, err, errlen);
  double overrun = now_s() - t0 - max_s;
  runner_note_setup(r, 1, max_s, overrun);  /* set-up, warm-up and calibration: what ran over the sampling */
  if (overrun > r->overhead_s) r->overhead_s = overrun;
  if (st != hwt_status_ok) return st;
  *out = (hwt_tune_measurement){.median_ns = res.median_ns, .ci_low_ns = res.ci_low_ns, .ci_high_ns = res.ci_high_ns,
                                .p99_ns = res.p99_ns, .samples = res.samples, .elapsed_s = res.elapsed_s};
  log_measurement(r, p, c, level, 0, 1, out, max_s);
  hwt_bench_result_free(&res);
  return hwt_status_ok;
}

/* ---------------------------------------------------------------- command line */

typedef struct shape_item {
  hwt_bench_shape shape;
  int kind;  /* -1: inline (fits any op it parses for); else hwt_bench_shape_kind */
} shape_item;

static bool shape_applies(const shape_item *si, hwt_bench_op op) {
  if (si->kind < 0) return hwt_bench_shape_fits(op, &si->shape, NULL, 0);
  if (hwt_bench_op_is_dwconv(op)) return si->kind == hwt_shape_dw;
  if (hwt_bench_op_is_conv(op)) return si->kind == hwt_shape_conv;
  return si->kind == hwt_shape_gemm;
}

static bool add_shape_file(const char *path, shape_item **v, size_t *n) {
  hwt_bench_shape_entry *entries = NULL;
  size_t count = 0;
  char err[512];
  if (hwt_bench_read_shapes(path, &entries, &count, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune tune: --shapes: %s\n", err);
    return false;
  }
  shape_item *nv = realloc(*v, (*n + count + 1) * sizeof **v);
  if (!nv) {
    free(entries);
    return false;
  }
  *v = nv;
  for (size_t i = 0; i < count; i++) (*v)[(*n)++] = (shape_item){entries[i].shape, (int)entries[i].kind};
  free(entries);
  return true;
}

static bool parse_sizes(const char *text, size_t **out, size_t *n, const char *what) {
  hwt_list l;
  if (hwt_list_split(text, &l) != hwt_status_ok || l.count == 0) {
    fprintf(stderr, "hwtune tune: %s: empty list\n", what);
    hwt_list_free(&l);
    return false;
  }
  *out = calloc(l.count, sizeof **out);
  *n = 0;
  for (size_t i = 0; *out && i < l.count; i++) {
    uint64_t v;
    if (!hwt_parse_u64(l.items[i], 1, 1u << 20, &v)) {
      fprintf(stderr, "hwtune tune: %s: '%s' is not an integer in 1..1048576\n", what, l.items[i]);
      hwt_list_free(&l);
      return false;
    }
    (*out)[(*n)++] = (size_t)v;
  }
  hwt_list_free(&l);
  return *out != NULL;
}

static void iso_now(char *buf, size_t len) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

typedef struct row {
  char op[16], shape[64], choice[96], runner[96];
  size_t batch, choice_batch;
  double median_ns, margin;
  bool has_runner;
  size_t measured, space;
} row;

/* `--check TUNED --against REFERENCE`: the tuner's quality bar, measured side by side. */
static int run_check(const char *tuned, const char *ref, bool quiet) {
  hwt_bench_session *session = NULL;
  char err[1024];
  hwt_bench_session_options so = {.measure_peaks = false, .pin_threads = true, .stop = &g_stop,
                                  .race_pool = tune_race_pool()};
  if (hwt_bench_session_create(&so, &session, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune tune: %s\n", err);
    return 1;
  }
  runner r = {.session = session, .start_s = now_s(), .budget_s = 1e9, .tty = isatty(2), .quiet = quiet};
  hwt_tune_measurer mm = {.measure = runner_measure, .race = runner_race, .ctx = &r};
  if (!quiet) fprintf(stderr, "hwtune tune: racing the choices of %s against %s...\n", tuned, ref);
  hwt_tune_check_row *rows = NULL;
  size_t n = 0;
  hwt_status st = hwt_tune_check(tuned, ref, &mm, 4.0, &rows, &n, err, sizeof err);
  hwt_bench_session_destroy(session);
  if (st != hwt_status_ok) {
    fprintf(stderr, "hwtune tune: --check: %s\n", err);
    return st == hwt_status_invalid_argument ? 2 : 1;
  }
  printf("%-10s %-14s %5s  %-30s %-30s %9s %9s  %-21s %s\n", "op", "shape", "batch", "tuned choice",
         "reference best (raced now)", "tuned", "best", "ratio [95% range]", "measured");
  size_t measured = 0, space = 0, worse = 0, noise = 0;
  for (size_t i = 0; i < n; i++) {
    char a[96], b[96], range[48];
    cand_label(&rows[i].tuned, a, sizeof a);
    cand_label(&rows[i].best, b, sizeof b);
    snprintf(range, sizeof range, "%.3f [%.3f, %.3f]", rows[i].ratio, rows[i].ratio_lo, rows[i].ratio_hi);
    printf("%-10s %-14s %5zu  %-30s %-30s %7.1fus %7.1fus  %-21s %zu/%zu%s\n", rows[i].op, rows[i].shape,
           rows[i].batch, a, b, rows[i].tuned_ns / 1e3, rows[i].best_ns / 1e3, range, rows[i].measured, rows[i].space,
           rows[i].ratio <= 1.03 ? "" : rows[i].ratio_lo <= 1.03 ? "  > 3% (in the noise)" : "  > 3%");
    measured += rows[i].measured;
    space += rows[i].space;
    worse += rows[i].ratio > 1.03;
    noise += rows[i].ratio > 1.03 && rows[i].ratio_lo <= 1.03;
  }
  double share = space ? (double)measured / (double)space : 0;
  printf("\n%zu of %zu choices within 3%% of the reference's best; the tuner measured %zu of %zu configurations "
         "(%.1f%%, bar 20%%)\n", n - worse, n, measured, space, 100 * share);
  /* A miss whose 95% range reaches 1.03 is not told apart from a tie by this race (identical configurations
   * differ by that much here); the verdict still counts it. */
  if (noise)
    printf("%zu of the %zu above 3%% %s a 95%% range reaching 1.03: this race cannot tell %s from within 3%%\n", noise,
           worse, noise == 1 ? "has" : "have", noise == 1 ? "it" : "them");
  printf("%s\n", worse == 0 && share <= 0.20 ? "PASS" : "FAIL");
  free(rows);
  return worse == 0 && share <= 0.20 ? 0 : 1;
}

/* Two paths name one file: equal strings, or (when both exist) one device and inode ("./p.json" and "p.json"). */
static bool same_file(const char *a, const char *b) {
  if (strcmp(a, b) == 0) return true;
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int hwt_cmd_tune(int argc, char **argv) {
  const char *ops_text = "gemm_f32,conv_f32,dwconv_f32", *shape_text = NULL, *batch_text = NULL, *out_path = NULL;
  const char *measurements_path = NULL, *check_path = NULL, *against_path = NULL, *model_spec = NULL;
  bool ops_given = false;
  hwt_model *model = NULL;
  hwt_tune_layer_shape *lshapes = NULL;  /* --model: its layer problems */
  size_t nlshapes = 0;
  char *shape_files = NULL;
  bool throughput = false, exhaustive = false, quiet = false, no_default = false, slo_given = false;
  bool also_default = false, force = false;
  json_t *fields = NULL;  /* this machine's identifying fields, as libhwtune checks them */
  double slo_ms = 0, budget_s = 60;
  int rc = 1;

  static const struct option opts[] = {
      {"op", required_argument, NULL, 'o'},        {"shapes", required_argument, NULL, 'S'},
      {"shape", required_argument, NULL, 's'},     {"batch", required_argument, NULL, 'b'},
      {"objective", required_argument, NULL, 'O'}, {"slo-ms", required_argument, NULL, 'l'},
      {"budget", required_argument, NULL, 'B'},    {"exhaustive", no_argument, NULL, 'x'},
      {"out", required_argument, NULL, 'w'},       {"no-default", no_argument, NULL, 'n'},
      {"measurements", required_argument, NULL, 'm'}, {"quiet", no_argument, NULL, 'q'},
      {"also-default", no_argument, NULL, 'D'},    {"force", no_argument, NULL, 'F'},
      {"check", required_argument, NULL, 'c'},     {"against", required_argument, NULL, 'a'},
      {"model", required_argument, NULL, 'M'},     {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
    switch (c) {
      case 'o':
        ops_text = optarg;
        ops_given = true;
        break;
      case 'M': model_spec = optarg; break;
      case 'S': {
        size_t old = shape_files ? strlen(shape_files) : 0;
        char *nf = realloc(shape_files, old + strlen(optarg) + 2);
        if (!nf) goto done;
        if (old) nf[old++] = ',';
        strcpy(nf + old, optarg);
        shape_files = nf;
        break;
      }
      case 's': shape_text = optarg; break;
      case 'b': batch_text = optarg; break;
      case 'O':
        if (strcmp(optarg, "latency") == 0) throughput = false;
        else if (strcmp(optarg, "throughput") == 0) throughput = true;
        else {
          fprintf(stderr, "hwtune tune: --objective: '%s' is not latency or throughput\n", optarg);
          rc = 2;
          goto done;
        }
        break;
      case 'l':
        if (!hwt_parse_double(optarg, &slo_ms) || slo_ms <= 0) {
          fprintf(stderr, "hwtune tune: --slo-ms: '%s' is not a positive number of milliseconds\n", optarg);
          rc = 2;
          goto done;
        }
        slo_given = true;
        break;
      case 'B':
        if (!hwt_parse_double(optarg, &budget_s) || budget_s <= 0 || budget_s > 86400) {
          fprintf(stderr, "hwtune tune: --budget: '%s' is not a number of seconds in (0, 86400]\n", optarg);
          rc = 2;
          goto done;
        }
        break;
      case 'x': exhaustive = true; break;
      case 'w': out_path = optarg; break;
      case 'n': no_default = true; break;
      case 'D': also_default = true; break;
      case 'F': force = true; break;
      case 'm': measurements_path = optarg; break;
      case 'q': quiet = true; break;
      case 'c': check_path = optarg; break;
      case 'a': against_path = optarg; break;
      case 'h':
        usage(stdout);
        rc = 0;
        goto done;
      default:
        fprintf(stderr, "hwtune tune: unknown option or missing value '%s' (see hwtune tune --help)\n",
                argv[optind - 1]);
        rc = 2;
        goto done;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "hwtune tune: unexpected argument '%s' (see hwtune tune --help)\n", argv[optind]);
    rc = 2;
    goto done;
  }
  if (also_default && no_default) {
    fprintf(stderr, "hwtune tune: --also-default and --no-default contradict each other\n");
    rc = 2;
    goto done;
  }
  if (also_default && !out_path) {
    fprintf(stderr, "hwtune tune: --also-default goes with --out (without --out the default path is written)\n");
    rc = 2;
    goto done;
  }
  if (!check_path != !against_path) {
    fprintf(stderr, "hwtune tune: --check and --against go together (see hwtune tune --help)\n");
    rc = 2;
    goto done;
  }
  if (check_path) {
    rc = run_check(check_path, against_path, quiet);
    goto done;
  }
  if (slo_given && !throughput) {
    fprintf(stderr, "hwtune tune: --slo-ms applies to --objective throughput only\n");
    rc = 2;
    goto done;
  }
  if (model_spec && (shape_text || shape_files)) {
    fprintf(stderr, "hwtune tune: --model tunes the model's own layers: not with --shape or --shapes\n");
    rc = 2;
    goto done;
  }
  if (model_spec && (check_path || exhaustive)) {
    fprintf(stderr, "hwtune tune: --model does not go with --exhaustive\n");
    rc = 2;
    goto done;
  }
  double start = now_s();
  if (model_spec) {
    char merr[1024];
    if (hwt_model_open(model_spec, &model, merr, sizeof merr) != hwt_status_ok) {
      fprintf(stderr, "hwtune tune: --model: %s\n", merr);
      rc = 1;
      goto done;
    }
    if (!ops_given)
      ops_text = model->precision == hwt_prec_int8 ? "gemm_f32,gemm_qs8,conv_qs8,dwconv_qs8"
                                                   : "gemm_f32,conv_f32,dwconv_f32";
  }

  /* ---- ops, batches, shapes */
  hwt_list ops_l = {0};
  hwt_bench_op ops[hwt_bench_op_count];
  size_t nops = 0;
  if (hwt_list_split(ops_text, &ops_l) != hwt_status_ok || ops_l.count == 0) {
    fprintf(stderr, "hwtune tune: --op: empty list\n");
    rc = 2;
    goto done;
  }
  for (size_t i = 0; i < ops_l.count; i++) {
    hwt_bench_op op;
    if (!hwt_bench_op_from_name(ops_l.items[i], &op)) {
      fprintf(stderr, "hwtune tune: --op: unknown op '%s' (gemm_f32 gemm_qs8 conv_f32 conv_qs8 dwconv_f32 dwconv_qs8)\n",
              ops_l.items[i]);
      hwt_list_free(&ops_l);
      rc = 2;
      goto done;
    }
    bool dup = false;
    for (size_t j = 0; j < nops; j++) dup |= ops[j] == op;
    if (!dup) ops[nops++] = op;
  }
  hwt_list_free(&ops_l);

  size_t *batches = NULL, nbatches = 0;
  char model_batch[24];
  snprintf(model_batch, sizeof model_batch, "%u", model && model->fixed_batch ? model->fixed_batch : 1u);
  if (!parse_sizes(batch_text ? batch_text : throughput ? "1,2,4,8,16,32,64" : model ? model_batch : "1", &batches,
                   &nbatches, "--batch")) {
    rc = 2;
    goto done;
  }
  for (size_t i = 0; model && model->fixed_batch && i < nbatches; i++)
    if (batches[i] != model->fixed_batch) /* the engine runs any batch; the file only names one */
      hwt_log("%s fixes its batch to %u; tuning batch %zu as asked", model_spec, model->fixed_batch, batches[i]);

  shape_item *shapes = NULL;
  size_t nshapes = 0;
  if (shape_text) {
    hwt_list l;
    if (hwt_list_split(shape_text, &l) != hwt_status_ok || l.count == 0) {
      fprintf(stderr, "hwtune tune: --shape: empty list\n");
      rc = 2;
      goto done_batches;
    }
    shapes = malloc((l.count + 1) * sizeof *shapes);
    for (size_t i = 0; shapes && i < l.count; i++) {
      char err[256];
      if (hwt_bench_parse_shape(l.items[i], &shapes[nshapes].shape, err, sizeof err) != hwt_status_ok) {
        fprintf(stderr, "hwtune tune: --shape: %s\n", err);
        hwt_list_free(&l);
        rc = 2;
        goto done_shapes;
      }
      shapes[nshapes++].kind = -1;
    }
    hwt_list_free(&l);
  }
  if (shape_files) {
    hwt_list l;
    hwt_list_split(shape_files, &l);
    for (size_t i = 0; i < l.count; i++) {
      if (!add_shape_file(l.items[i], &shapes, &nshapes)) {
        hwt_list_free(&l);
        rc = 2;
        goto done_shapes;
      }
    }
    hwt_list_free(&l);
  }
  if (model) {
    char notes[2048], merr[256];
    if (hwt_tune_model_shapes(model, ops, nops, &lshapes, &nlshapes, notes, sizeof notes, merr, sizeof merr) !=
        hwt_status_ok) {
      fprintf(stderr, "hwtune tune: --model %s: %s\n", model_spec, merr);
      goto done_shapes;
    }
    if (notes[0]) hwt_log("%s: %s", model_spec, notes);
    shapes = calloc(nlshapes + 1, sizeof *shapes);
    if (!shapes) goto done_shapes;
    for (size_t i = 0; i < nlshapes; i++) {
      shapes[nshapes].shape = lshapes[i].shape;
      shapes[nshapes++].kind = -1;
      if (!quiet)
        fprintf(stderr, "hwtune tune: %-10s %-24s %2zu node%s from '%s'\n", hwt_bench_op_name(lshapes[i].op),
                lshapes[i].shape.text, lshapes[i].layers, lshapes[i].layers == 1 ? " " : "s", lshapes[i].first);
    }
  } else if (!shape_text && !shape_files) {
    const char *dir = getenv("HWTUNE_SHAPES_DIR");
    if (!dir || !dir[0]) dir = HWTUNE_SHAPES_DIR;
    char pattern[1024];
    snprintf(pattern, sizeof pattern, "%s/mlp.txt", dir);
    if (access(pattern, R_OK) == 0 && !add_shape_file(pattern, &shapes, &nshapes)) goto done_shapes;
    snprintf(pattern, sizeof pattern, "%s/mobilenet*.txt", dir);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; i++)
        if (!add_shape_file(g.gl_pathv[i], &shapes, &nshapes)) {
          globfree(&g);
          goto done_shapes;
        }
      globfree(&g);
    }
    if (nshapes == 0) {
      fprintf(stderr, "hwtune tune: no shapes: the shipped shape files are not in '%s' (set HWTUNE_SHAPES_DIR or "
                      "give --shapes/--shape)\n", dir);
      rc = 2;
      goto done_shapes;
    }
  }

  /* ---- problems */
  hwt_tune_problem *problems = calloc(nops * nshapes * nbatches + 1, sizeof *problems);
  size_t nproblems = 0;
  if (!problems) goto done_shapes;
  /* --model: each layer problem under its own op (a depthwise shape is a conv shape too, for instance) */
  for (size_t s = 0; model && s < nlshapes; s++)
    for (size_t b = 0; b < nbatches; b++)
      hwt_tune_problem_init(&problems[nproblems++], lshapes[s].op, &lshapes[s].shape, batches[b]);
  for (size_t o = 0; !model && o < nops; o++)
    for (size_t s = 0; s < nshapes; s++) {
      if (!shape_applies(&shapes[s], ops[o])) continue;
      bool dup = false;
      for (size_t q = 0; q < nproblems; q++)
        dup |= problems[q].op == ops[o] && strcmp(problems[q].shape.text, shapes[s].shape.text) == 0;
      if (dup) continue;
      for (size_t b = 0; b < nbatches; b++) hwt_tune_problem_init(&problems[nproblems++], ops[o], &shapes[s].shape, batches[b]);
    }
  if (nproblems == 0 && model) {
    fprintf(stderr, "hwtune tune: %s has no fc, conv or depthwise node the ops '%s' run\n", model_spec, ops_text);
    rc = 2;
    goto done_problems;
  }
  if (nproblems == 0) {
    fprintf(stderr, "hwtune tune: none of the shapes fits the ops '%s'\n", ops_text);
    rc = 2;
    goto done_problems;
  }

  /* ---- session */
  /* The CPUs this process may use before the bench session pins this thread (its pool's first CPU): the
   * whole-model races run the engines as a user's process would, on all of them. */
  cpu_set_t start_affinity;
  bool have_start_affinity = sched_getaffinity(0, sizeof start_affinity, &start_affinity) == 0;
  if (!quiet) fprintf(stderr, "hwtune tune: detecting the machine...\n");
  hwt_bench_session *session = NULL;
  char err[1024];
  hwt_bench_session_options so = {.measure_peaks = false, .pin_threads = true, .stop = &g_stop,
                                  .race_pool = tune_race_pool()};
  if (hwt_bench_session_create(&so, &session, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune tune: %s\n", err);
    goto done_problems;
  }
  const hwt_hw *hw = hwt_bench_session_hw(session);
  hwt_hw_set_kernel_budget(hw);
  hwt_tune_machine machine;
  hwt_tune_machine_from_hw(hw, &machine);

  char default_out[1200];
  unsigned out_flags = force ? HWT_TUNE_WRITE_FORCE : 0;
  /* --out elsewhere leaves the default profile alone unless asked (issue 17: it replaced the default profile). */
  bool write_default = out_path ? also_default : !no_default;
  if (!out_path) {
    snprintf(default_out, sizeof default_out, "results/profiles/%s.json", hw->fingerprint);
    out_path = default_out;
    out_flags |= HWT_TUNE_WRITE_MKDIRS;
  }
  char defpath[4096] = "";
  if (write_default && hwt_profile_default_path(defpath, sizeof defpath) != hwt_status_ok) {
    hwt_log("no default profile path (HWTUNE_PROFILE, XDG_DATA_HOME and HOME unset): the profile is not copied");
    write_default = false;
  }
  if (write_default && same_file(defpath, out_path)) write_default = false;
  /* This machine's identifying fields, as libhwtune will check them; and the targets checked now, before any
   * measuring, so that a refusal (a missing directory, another machine's profile) costs no tuning. */
  fields = json_object();
  {
    hwt_profile_machine pm;
    hwt_profile_machine_probe(&pm);
    for (size_t i = 0; i < pm.nfields; i++)
      json_object_set_new(fields, pm.fields[i].name, json_string(pm.fields[i].value));
  }
  {
    const char *targets[2] = {out_path, write_default ? defpath : NULL};
    unsigned tflags[2] = {out_flags, (force ? HWT_TUNE_WRITE_FORCE : 0) | HWT_TUNE_WRITE_MKDIRS};
    for (int t = 0; t < 2; t++) {
      if (!targets[t]) continue;
      hwt_status st = hwt_tune_profile_target(targets[t], tflags[t], hw->fingerprint, fields, NULL, err, sizeof err);
      if (st != hwt_status_ok) {
        fprintf(stderr, "hwtune tune: %s%s\n", t ? "default profile: " : "", err);
        if (t && st == hwt_status_mismatch) fprintf(stderr, "hwtune tune: (or leave it alone with --no-default)\n");
        rc = st == hwt_status_io_error || st == hwt_status_out_of_memory ? 1 : 2;
        goto done_session;
      }
    }
  }
  FILE *log = NULL;
  if (measurements_path && !(log = fopen(measurements_path, "w"))) {
    fprintf(stderr, "hwtune tune: cannot write --measurements '%s'\n", measurements_path);
    goto done_session;
  }

  struct sigaction sa = {0}, old_sa;
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, &old_sa);
  runner r = {.session = session, .start_s = start, .budget_s = budget_s, .tty = isatty(2), .quiet = quiet,
              .log = log, .problem_count = nproblems};
  hwt_tune_measurer mm = {.measure = runner_measure, .race = runner_race, .ctx = &r, .remaining_s = runner_remaining,
                          .progress = runner_progress, .scale_now = exhaustive ? NULL : runner_scale_now};
  if (!quiet)
    fprintf(stderr, "hwtune tune: %zu problems, %u usable CPUs, budget %.0f s, objective %s%s\n", nproblems,
            machine.usable_cpus, budget_s, throughput ? "throughput" : "latency", exhaustive ? ", exhaustive" : "");

  json_t *entries = json_array();
  row *rows = calloc(nproblems, sizeof *rows);
  kept_choice *kept = calloc(nproblems ? nproblems : 1, sizeof *kept);
  size_t nrows = 0, nkept = 0, skipped = 0, total_measured = 0, total_space = 0;
  /* The latency searches leave 15% of the budget to confirm their final races later (hwt_tune_confirm). */
  /* Throughput picks a batch per (op, shape); with --model the layers are tuned at every batch (latency
   * searches) and the batch is picked for the whole model by its races. */
  const bool pick = throughput && !model;
  const size_t group_n = pick ? nbatches : 1;
  bool confirm = !pick;
  /* --model: the end-to-end races at the end get a quarter of the budget (throughput, one race per batch: 30%). */
  const double race_share = model ? (throughput ? 0.30 : 0.25) : 0.0;
  /* The sparse break-even of every fc / 1x1 conv fp32 problem (tuner/sparse.c): ~0.15 s each against its tuned
   * dense choice, measured last, from a reserve of at most 15% of the budget. */
  size_t nsparse = 0;
  for (size_t j = 0; j < nproblems; j++) nsparse += !pick && hwt_tune_sparse_eligible(&problems[j]);
  const double sparse_reserve = nsparse ? fmin(0.15 * budget_s, 0.15 * (double)nsparse) : 0.0;
  r.reserve_s = (confirm ? 0.15 * budget_s : 0) + race_share * budget_s + sparse_reserve;
  double spent_done = 0, planned_done = 0;
  /* Each problem's plan: sampling (at scale 1), race entries to set up, and the bytes one entry sets up. */
  double *plan_sampling = calloc(nproblems ? nproblems : 1, sizeof(double));
  double *plan_setups = calloc(nproblems ? nproblems : 1, sizeof(double));
  double *plan_bytes = calloc(nproblems ? nproblems : 1, sizeof(double));
  double *planned = calloc(nproblems ? nproblems : 1, sizeof(double));
  for (size_t j = 0; j < nproblems && plan_sampling && plan_setups && plan_bytes; j++) {
    plan_sampling[j] = hwt_tune_planned_s(&problems[j], &machine);
    plan_setups[j] = hwt_tune_planned_setups(&problems[j], &machine);
    plan_bytes[j] = hwt_bench_race_setup_bytes(problems[j].op, &problems[j].shape, problems[j].batch);
  }
  hwt_status fatal = hwt_status_ok;
  /* Throughput: problems of one (op, shape) over the batch list are consecutive; pick per group. */
  for (size_t i = 0; i < nproblems && entries && rows && kept && plan_sampling && plan_setups && plan_bytes && planned;
       i += group_n) {
    size_t group = group_n;
    double best_tp = -1;
    hwt_tune_outcome best_o;
    memset(&best_o, 0, sizeof best_o);
    size_t best_batch = 0;
    for (size_t g = 0; g < group && i + g < nproblems; g++) {
      const hwt_tune_problem *p = &problems[i + g];
      r.problem_index = i + g;
      r.problem_deadline_s = 0;
      double left = runner_remaining(&r);
      double share, may;
      r.pacing = false;
      r.setup_bytes = plan_bytes[i + g];
      if (exhaustive) {
        double plan = 0.4;
        hwt_tune_candidate *space = NULL;
        size_t n = 0;
        if (hwt_tune_space(p, &machine, &space, &n) == hwt_status_ok) free(space);
        plan *= (double)n + 9.0;  /* every configuration, then the final race of nine */
        /* An equal share; `slowdown` (actual / planned time of the problems done so far) corrects the plan for
         * the set-up and calibration it does not see. It keeps its plan (scale at most 1). */
        share = left / (double)(nproblems - (i + g));
        double slowdown = planned_done > 0 ? spent_done / planned_done : 1.0;
        if (slowdown < 1.0) slowdown = 1.0;
        mm.scale = plan > 0 ? share / (plan * slowdown) : 1.0;
        if (mm.scale > 1.0) mm.scale = 1.0;
        planned_done += plan * mm.scale;
        may = 2.0 * share;
        double keep = 0.5 * share * (double)(nproblems - (i + g) - 1);
        if (left - keep < may) may = left - keep;
      } else {
        /* Shares in proportion to the plans, set-ups included: one entry's set-up predicted from the seconds
         * per byte of every race so far (a prior of 2 ns/B, worth 128 MB of races, until then; measured here:
         * 0.2 ns/B for 1024x1024 on huge pages to 3.6 ns/B for 256x784's 32 small instances). */
        double rate = (r.setup_total_s + 2e-9 * 1.28e8) / (r.setup_bytes_total + 1.28e8);
        for (size_t j = i + g; j < nproblems; j++) planned[j] = plan_sampling[j] + plan_setups[j] * rate * plan_bytes[j];
        share = hwt_tune_share_s(left, planned + i + g, nproblems - (i + g));
        /* The search then keeps its pace: with time to spare it measures longer (up to 2x), which its decisions
         * need more than the budget does; when set-ups cost more than predicted, shorter. */
        hwt_tune_pace_begin(&r.pace, share, plan_sampling[i + g], plan_setups[i + g], rate * plan_bytes[i + g], 2.0);
        r.pacing = true;
        r.pace_start_s = now_s();
        mm.scale = hwt_tune_pace_scale(&r.pace, 0);
        /* At most twice the share, and never so much that the problems after it get less than half of theirs. */
        may = 2.0 * share;
        if (0.5 * (left + share) < may) may = 0.5 * (left + share);
      }
      double problem_start = now_s();
      r.problem_deadline_s = problem_start + may + r.overhead_s;
      hwt_tune_outcome o;
      hwt_status st = exhaustive ? hwt_tune_exhaustive(p, &machine, &mm, &o, err, sizeof err)
                                 : hwt_tune_search(p, &machine, &mm, &o, err, sizeof err);
      if (st != hwt_status_ok) {
        fatal = st;
        hwt_tune_outcome_free(&o);
        break;
      }
      spent_done += now_s() - problem_start;
      if (r.log && r.pacing)
        fprintf(r.log,
                "{\"pace\": {\"op\": \"%s\", \"shape\": \"%s\", \"batch\": %zu, \"share_s\": %.3f, "
                "\"took_s\": %.3f, \"scale_first\": %.3f, \"scale_last\": %.3f, \"setup_s_predicted\": %.4f, "
                "\"setup_s_measured\": %.4f, \"entries\": %.0f, \"entries_planned\": %.0f, "
                "\"sampling_s_asked\": %.3f, \"sampling_s_planned\": %.3f}}\n",
                hwt_bench_op_name(p->op), p->shape.text, p->batch, share, now_s() - problem_start, mm.scale, r.scale,
                r.pace.setup_s, hwt_tune_pace_setup_s(&r.pace), r.pace.setups_done, r.pace.setups, r.pace.asked_s,
                r.pace.sampling_s);
      r.pacing = false;
      total_measured += o.configs_measured;
      total_space += o.space_size;
      if (!o.ok) {
        skipped++;
        hwt_tune_outcome_free(&o);
        continue;
      }
      double tp = (double)p->batch / o.choice.meas.median_ns * 1e9;
      bool meets = !slo_given || o.choice.meas.p99_ns <= slo_ms * 1e6;
      if (!pick || (meets && tp > best_tp)) {
        hwt_tune_outcome_free(&best_o);
        best_o = o;
        best_tp = tp;
        best_batch = p->batch;
      } else {
        hwt_tune_outcome_free(&o);
      }
    }
    if (fatal != hwt_status_ok) break;
    if (!best_o.ok) {
      hwt_tune_outcome_free(&best_o);
      if (pick && !g_stop && runner_remaining(&r) > 0)
        hwt_log("%s %s: no batch meets p99 <= %.3f ms", hwt_bench_op_name(problems[i].op), problems[i].shape.text,
                slo_ms);
      continue;
    }
    /* Throughput entries are keyed at the largest batch offered; the choice carries the batch picked. */
    kept_choice *k = &kept[nkept++];
    k->key = problems[i];
    if (pick) k->key = problems[i + group - 1 < nproblems ? i + group - 1 : nproblems - 1];
    k->searched = problems[i];
    k->o = best_o;
    k->best_batch = best_batch;
    k->best_tp = best_tp;
  }
  /* ---- confirmation: each latency choice's final race once more, now that the other problems ran (a slow
   * moment of the machine has likely passed); each is re-decided from all its final races (hwt_tune_confirm) */
  r.reserve_s = race_share * budget_s + sparse_reserve;
  r.pacing = false;
  for (size_t j = 0; confirm && fatal == hwt_status_ok && j < nkept; j++) {
    r.problem_deadline_s = 0;
    double left = runner_remaining(&r);
    if (left <= 0.1) break;
    r.problem_deadline_s = now_s() + left / (double)(nkept - j);
    mm.scale = 1.0;
    hwt_status st = hwt_tune_confirm(&kept[j].searched, &mm, &kept[j].o, err, sizeof err);
    if (st != hwt_status_ok) fatal = st;
  }
  for (size_t j = 0; j < nkept; j++) {
    const hwt_tune_problem key = kept[j].key;
    hwt_tune_outcome best_o = kept[j].o;
    const size_t best_batch = kept[j].best_batch;
    const double best_tp = kept[j].best_tp;
    json_t *entry = hwt_tune_entry_json(&key, &best_o, pick ? best_batch : 0, pick ? best_tp : 0);
    r.reserve_s = race_share * budget_s;
    r.problem_deadline_s = 0;
    double sparse_left = runner_remaining(&r);
    if (!pick && entry != NULL && fatal == hwt_status_ok && hwt_tune_sparse_eligible(&key) && nsparse > 0 &&
        sparse_left > 0.03) {
      hwt_tune_sparse_result sr;
      double max_s = fmin(0.15, sparse_left / (double)nsparse);
      nsparse--;
      if (hwt_tune_sparse_measure(&key, &best_o.choice.cand, max_s, &sr, err, sizeof err) == hwt_status_ok) {
        json_object_set_new(entry, "sparse", hwt_tune_sparse_json(&sr));
        if (!quiet)
          hwt_log("sparse %s %s batch %zu vs the dense choice: break-even %s%.0f%s, speedup %.2fx at 90%%, %.2fx at "
                  "95%%",
                  hwt_bench_op_name(key.op), key.shape.text, key.batch, sr.never ? "never (" : "",
                  sr.never ? 100.0 * sr.sparsity[sr.npoints - 1] : 100.0 * sr.break_even, sr.never ? "%: lost)" : "%",
                  sr.npoints > 4 ? sr.speedup[4] : 0.0, sr.npoints > 5 ? sr.speedup[5] : 0.0);
      } else {
        hwt_log("sparse break-even not measured: %s", err);
      }
    }
    json_array_append_new(entries, entry);
    row *rw = &rows[nrows++];
    snprintf(rw->op, sizeof rw->op, "%s", hwt_bench_op_name(key.op));
    snprintf(rw->shape, sizeof rw->shape, "%s", key.shape.text);
    rw->batch = key.batch;
    rw->choice_batch = pick ? best_batch : key.batch;
    cand_label(&best_o.choice.cand, rw->choice, sizeof rw->choice);
    rw->median_ns = best_o.choice.meas.median_ns;
    rw->has_runner = best_o.has_runner_up;
    if (rw->has_runner) cand_label(&best_o.runner_up.cand, rw->runner, sizeof rw->runner);
    rw->margin = best_o.margin;
    rw->measured = best_o.configs_measured;
    rw->space = best_o.space_size;
    hwt_tune_outcome_free(&best_o);
  }
  r.problem_deadline_s = 0;
  sigaction(SIGINT, &old_sa, NULL);
  if (r.tty && !quiet) fprintf(stderr, "\r\033[K");
  if (fatal != hwt_status_ok) {
    fprintf(stderr, "hwtune tune: %s\n", err);
    goto done_entries;
  }
  if (nrows < nproblems / group_n)
    hwt_log("%zu of %zu problems not tuned (%s): they are not in the profile; lookups fall back to the nearest shape",
            nproblems / group_n - nrows, nproblems / group_n,
            g_stop ? "interrupted" : "budget spent");

  /* ---- write */
  {
    json_t *ctx = hwt_bench_context_json(session, argc, argv);
    json_t *build = ctx ? json_object_get(ctx, "build") : NULL;
    json_t *xv = build ? json_object_get(build, "xnnpack_version") : NULL;
    char created[32];
    iso_now(created, sizeof created);
    json_t *meta = json_object();
    json_object_set_new(meta, "hwtune_version", json_string(HWTUNE_VERSION_STRING));
    json_object_set_new(meta, "xnnpack_version", json_string(json_is_string(xv) ? json_string_value(xv) : "unknown"));
    json_object_set_new(meta, "created", json_string(created));
    json_object_set_new(meta, "objective", json_string(throughput ? "throughput" : "latency"));
    json_object_set_new(meta, "slo_ms", slo_given ? json_real(slo_ms) : json_null());
    json_object_set_new(meta, "budget_s", json_real(budget_s));
    json_object_set_new(meta, "exhaustive", json_boolean(exhaustive));
    json_object_set_new(meta, "usable_cpus", json_integer(machine.usable_cpus));
    json_decref(ctx);
    size_t kept = 0, replaced = 0;
    hwt_status st;

    /* ---- --model: whole-model races of the three plans, the tuned one with the profile as it will be */
    r.reserve_s = 0;
    r.problem_deadline_s = 0;
    const char *prec = model && model->precision == hwt_prec_int8 ? "int8" : "fp32";
    hwt_tune_model_race *races = NULL;
    size_t nraces = 0, chosen = SIZE_MAX;
    bool race_failed = false;
    json_t *models = NULL;
    if (model && nrows > 0 && !g_stop) {
      bool own_prec = false;  /* the layers tuned are the ones this model's engine runs */
      for (size_t j = 0; j < nproblems; j++)
        own_prec |= hwt_bench_op_is_qs8(problems[j].op) == (model->precision == hwt_prec_int8);
      char *text = NULL, msg[512];
      hwt_profile *tp = NULL;
      hwt_model_id id;
      races = calloc(nbatches, sizeof *races);
      models = json_array();
      if (!own_prec) {
        hwt_log("%s: the end-to-end race runs the model as it is (%s) and the layers tuned are its int8 twin's: "
                "not raced, no model entry", model_spec, prec);
      } else if (!races || !models) {
        fprintf(stderr, "hwtune tune: out of memory for the model races\n");
        race_failed = true;
      } else if ((st = hwt_model_identify(model_spec, &id, err, sizeof err)) != hwt_status_ok ||
                 (st = hwt_tune_profile_merged(out_path, out_flags, meta, hw->fingerprint, fields, entries, NULL,
                                               &text, NULL, NULL, err, sizeof err)) != hwt_status_ok) {
        fprintf(stderr, "hwtune tune: end-to-end race: %s\n", err);
        race_failed = true;
      } else if (hwt_profile_load_buffer(text, strlen(text), out_path, &tp, msg, sizeof msg) != hwt_status_ok) {
        fprintf(stderr, "hwtune tune: end-to-end race: the tuned profile does not load: %s\n", msg);
        race_failed = true;
      } else {
        sigaction(SIGINT, &sa, &old_sa);
        cpu_set_t pinned;
        bool repin = have_start_affinity && sched_getaffinity(0, sizeof pinned, &pinned) == 0 &&
                     sched_setaffinity(0, sizeof start_affinity, &start_affinity) == 0;
        for (size_t b = 0; b < nbatches && !g_stop; b++) {
          double left = runner_remaining(&r);
          double secs = left / (double)(nbatches - b) * 0.85 - 0.2;
          if (secs < 0.3) secs = 0.3;
          if (left < 0.3 && b > 0) {
            hwt_log("budget spent: the whole model is not raced at batch %zu and above", batches[b]);
            break;
          }
          if (!quiet)
            fprintf(stderr, "hwtune tune: racing the whole model at batch %zu: single-thread, default, tuned "
                            "(%.1f s)\n", batches[b], secs);
          st = hwt_tune_race_model(model, batches[b], tp, secs, &g_stop, &races[nraces], err, sizeof err);
          if (st != hwt_status_ok) {
            fprintf(stderr, "hwtune tune: %s\n", err);
            race_failed = true;
            break;
          }
          if (g_stop || races[nraces].winner == hwt_profile_plan_count) break;  /* interrupted: not recorded */
          nraces++;
        }
        if (repin) sched_setaffinity(0, sizeof pinned, &pinned);
        sigaction(SIGINT, &old_sa, NULL);
        /* Throughput: the batch with the most items/s (the winning plan's p50) whose p99 meets the SLO. */
        for (size_t j = 0; throughput && j < nraces; j++) {
          const hwt_tune_measurement *w = &races[j].meas[races[j].winner];
          if (slo_given && w->p99_ns > slo_ms * 1e6) continue;
          if (chosen == SIZE_MAX) {
            chosen = j;
            continue;
          }
          const hwt_tune_measurement *c = &races[chosen].meas[races[chosen].winner];
          if ((double)races[j].batch / w->median_ns > (double)races[chosen].batch / c->median_ns) chosen = j;
        }
        for (size_t j = 0; j < nraces; j++)
          json_array_append_new(models, hwt_tune_model_json(&id, prec, &races[j], throughput ? "throughput" : "latency",
                                                            chosen != SIZE_MAX ? races[chosen].batch : 0,
                                                            slo_given ? slo_ms : 0, created));
      }
      hwt_profile_free(tp);
      free(text);
    }

    st = hwt_tune_write_profile_models(out_path, out_flags, meta, hw->fingerprint, fields, entries, models, &kept,
                                       &replaced, err, sizeof err);
    if (st != hwt_status_ok) {
      fprintf(stderr, "hwtune tune: %s\n", err);
      json_decref(meta);
      json_decref(models);
      free(races);
      goto done_entries;
    }
    bool copied = false;
    if (write_default) {
      /* The same merge at the default path: it may hold entries from an earlier run with other shapes. */
      st = hwt_tune_write_profile_models(defpath, (force ? HWT_TUNE_WRITE_FORCE : 0) | HWT_TUNE_WRITE_MKDIRS, meta,
                                         hw->fingerprint, fields, entries, models, NULL, NULL, err, sizeof err);
      if (st != hwt_status_ok) hwt_log("not copied to the default path: %s", err);
      else copied = true;
    }
    json_decref(meta);
    json_decref(models);

    /* ---- table */
    printf("%-10s %-22s %5s  %-34s %10s  %s\n", "op", "shape", "batch", "choice (impl/isa threads MC,KC,NC)",
           "median", "vs runner-up");
    for (size_t i = 0; i < nrows; i++) {
      char med[32], vs[160] = "-";
      double us = rows[i].median_ns / 1e3;
      if (us < 1000) snprintf(med, sizeof med, "%.1f us", us);
      else snprintf(med, sizeof med, "%.2f ms", us / 1e3);
      if (rows[i].has_runner) snprintf(vs, sizeof vs, "%+.1f%% (%s)", rows[i].margin * 100, rows[i].runner);
      char b[32];
      if (rows[i].choice_batch != rows[i].batch) snprintf(b, sizeof b, "%zu>%zu", rows[i].batch, rows[i].choice_batch);
      else snprintf(b, sizeof b, "%zu", rows[i].batch);
      printf("%-10s %-22s %5s  %-34s %10s  %s\n", rows[i].op, rows[i].shape, b, rows[i].choice, med, vs);
    }
    printf("\nprofile: %s (%zu entries written, %zu kept from before, %zu replaced)\n", out_path, nrows, kept,
           replaced);
    if (copied) printf("default profile (libhwtune loads it): %s\n", defpath);
    printf("measured %zu of %zu configurations (%.1f%%) in %.1f s\n", total_measured, total_space,
           total_space ? 100.0 * (double)total_measured / (double)total_space : 0.0, now_s() - start);
    rc = g_stop ? 130 : race_failed ? 1 : 0;
    for (size_t j = 0; j < nraces; j++) {
      printf("\n");
      hwt_tune_model_table(stdout, model_spec, prec, &races[j], throughput);
    }
    if (nraces)
      printf("\nmodel entr%s in the profile: %s %s at batch", nraces == 1 ? "y" : "ies", model_spec, prec);
    for (size_t j = 0; j < nraces; j++)
      printf("%s %zu -> %s", j ? "," : "", races[j].batch, hwt_profile_plan_name(races[j].winner));
    if (nraces) printf(" (the engine opening this model at that batch with this profile runs that plan)\n");
    if (throughput && nraces) {
      if (chosen != SIZE_MAX) {
        const hwt_tune_measurement *w = &races[chosen].meas[races[chosen].winner];
        printf("batch for the whole model: %zu (%s plan, %.0f items/s, p99 %.3f ms%s)\n", races[chosen].batch,
               hwt_profile_plan_name(races[chosen].winner), (double)races[chosen].batch / w->median_ns * 1e9,
               w->p99_ns / 1e6, slo_given ? " <= the SLO" : "");
      } else {
        printf("no batch meets p99 <= %.3f ms for the whole model (the races are in the profile, with no batch "
               "chosen)\n", slo_ms);
        if (rc == 0) rc = 3;
      }
    }
    free(races);
  }

done_entries:
  json_decref(entries);
  free(rows);
  free(kept);
  free(plan_sampling);
  free(plan_setups);
  free(plan_bytes);
  free(planned);
  if (log) fclose(log);
done_session:
  hwt_bench_session_destroy(session);
done_problems:
  free(problems);
done_shapes:
  free(shapes);
  free(lshapes);
done_batches:
  free(batches);
done:
  hwt_model_free(model);
  json_decref(fields);
  free(shape_files);
  return rc;
}
