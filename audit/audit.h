/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune audit`: everything a team checks before shipping a small model on this CPU, as one JSON document
 * (schema hwtune.audit/1) rendered to the console or Markdown, plus --fail-on rules for CI gates.
 *
 * The pure parts (statistics, soak analysis, rules) are separate functions so tests can feed them data. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "noise.h"
#include "hwtune/status.h"

#define HWT_AUDIT_SCHEMA "hwtune.audit/1"
#define HWT_AUDIT_MAX_BATCH 16
#define HWT_AUDIT_MAX_RULES 32
#define HWT_AUDIT_MAX_PRUNE 16

typedef struct hwt_audit_opts {
  const char *model;            /* "mlp", "mobilenet", a model JSON path or an ONNX file (hwt_model_open) */
  const char *profile;          /* profile path; NULL = libhwtune's default path if it exists; "none" = none */
  bool fp32, int8;
  size_t batches[HWT_AUDIT_MAX_BATCH], nbatches;
  bool batches_given;           /* false: a model whose file fixes its batch (ONNX) is audited at that batch */
  unsigned threads;             /* 0 = all usable CPUs; above the usable CPUs: clamped, with a note */
  double duration_s;            /* soak duration; 0 = no soak */
  double soak_window_s;         /* 0 = duration / 12 (at least 0.5 s) */
  size_t soak_windows, soak_iters; /* tests: > 0 = iteration-based soak (windows x iterations), no clock */
  double mem_limit_mb;          /* 0 = no --mem-limit run */
  double bench_s;               /* time per latency configuration (default 1.0 s) */
  size_t accuracy_inputs;       /* generated inputs for int8 vs fp32 (default 100); unused with inputs_file */
  size_t calib_inputs;          /* generated calibration inputs (default 32); unused with inputs_file or
                                   calibration_file */
  /* The user's data (.npy or ONNX .pb; hwt_tensor_read): N samples along axis 0, the other dims the model
   * input's in the file's layout (ONNX: channels first). NULL = generated inputs. */
  const char *inputs_file;      /* scored, and the latency, cold-start, soak and abnormal-input runs' inputs */
  const char *labels_file;      /* integer class indices, shape [N] or [N, 1]; needs inputs_file */
  const char *calibration_file; /* int8 calibration samples; NULL = the first HWT_AUDIT_CALIB_SPLIT(N) samples
                                   of inputs_file (not scored), or generated inputs without inputs_file */
  bool measure_peaks;           /* run detect's quick peak/bandwidth probes for % of peak (about 2 s) */
  bool abnormal;                /* run the abnormal-input checks (default true) */
  size_t test_leak_bytes;       /* test hook passed to every engine */
  /* --prune: sparsities to audit (0 = the dense model, always a row); nprune 0 = no pruning section */
  double prune[HWT_AUDIT_MAX_PRUNE];
  size_t nprune;
  hwt_prune_pattern prune_pattern; /* --prune-pattern (default unstructured) */
  hwt_prune_scope prune_scope;     /* --prune-scope (default per-layer) */
  const char *command_line;
} hwt_audit_opts;

void hwt_audit_opts_default(hwt_audit_opts *o);

/* Samples of an --inputs file of n samples that calibrate int8 when no --calibration file is given: the first
 * max(1, min(100, n / 10)); they are never scored. */
#define HWT_AUDIT_CALIB_SPLIT(n) ((n) / 10 < 1 ? (size_t) 1 : (n) / 10 > 100 ? (size_t) 100 : (size_t) ((n) / 10))

/* Runs the audit; *doc gets the result document (new reference). Fails (message in err, no document) when the
 * model cannot be opened or quantized, an engine cannot be built or run, or the audit's own buffers cannot be
 * allocated: a report of nothing is never a success. Findings about the model (NaN outputs, drift, leaks, noise)
 * are in the document. */
hwt_status hwt_audit_run(const hwt_audit_opts *o, json_t **doc, char *err, size_t errlen);

/* ---- pruning (--prune; audit/audit_prune.c) ---- */
/* Parses "0.5,0.75,0.9": 1 to HWT_AUDIT_MAX_PRUNE distinct sparsities in [0, 1]; err names --prune. */
hwt_status hwt_audit_prune_list_parse(const char *text, double *out, size_t *n, char *err, size_t errlen);
const char *hwt_audit_prune_pattern_name(hwt_prune_pattern p);
const char *hwt_audit_prune_scope_name(hwt_prune_scope s);

/* What a verdict line is made of, for one sparsity. */
typedef struct hwt_audit_prune_figures {
  double sparsity;
  bool labelled;                /* top1_drop and drop_significant are set */
  double top1_drop;             /* dense - pruned, fraction */
  bool drop_significant;        /* its 95% interval is above 0 */
  double agreement;             /* top-1 agreement with the dense model; < 0 = not measured */
  double speedup_sparse;        /* dense model on dense kernels p50 / pruned model on sparse kernels p50 */
  double speedup_auto;          /* ... / pruned model with the runtime's own choice */
  double crossover;             /* measured end-to-end break-even sparsity; 0 = none measured */
} hwt_audit_prune_figures;
/* Pure: "90%: top-1 -3.1 points, 1.80x faster with sparse kernels: worth it". Faster: >= 1.05x; accuracy kept:
 * drop <= 1 point, or without labels agreement >= 99%. */
void hwt_audit_prune_verdict(const hwt_audit_prune_figures *f, char *buf, size_t len);

typedef struct hwt_audit_prune_in {
  const hwt_model *dense;       /* fp32 */
  const double *sparsities;     /* as given; 0 is always a row (the dense model) */
  size_t n;
  hwt_prune_options options;    /* pattern, scope, first/classifier (sparsity set per row) */
  const float *samples;         /* nsamples scored samples of input 0, external layout; NULL = no accuracy */
  size_t nsamples;
  const char *samples_source;   /* "file", "generated" */
  const size_t *labels;         /* nsamples class indices, or NULL */
  const float *timed;           /* batch samples for the timed runs */
  size_t batch;
  unsigned threads;
  const void *profile;          /* const hwt_profile *: the engines' chooser context (break-even points), or NULL */
  double bench_s;               /* per sparsity: one loop of bench_s x rows interleaves every row and mode */
} hwt_audit_prune_in;
/* The "prune" section; metrics gets prune_top1_drop (largest, with labels), prune_top1_agreement (lowest),
 * prune_speedup (best of sparse kernels / runtime choice against the dense model). NULL and *st set on failure
 * (message in err). A verdict per sparsity is appended to findings. */
json_t *hwt_audit_prune(const hwt_audit_prune_in *in, json_t *findings, json_t *metrics, hwt_status *st, char *err,
                        size_t errlen);

/* ---- statistics (pure) ---- */
/* (Percentiles: hwt_stats_quantile in common/hwt_stats.h.) */
/* Least-squares line y = a + b x; se = standard error of b (0 when n < 3). */
void hwt_audit_linfit(const double *x, const double *y, size_t n, double *a, double *b, double *se);

/* Theil-Sen line over (x, y): slope = median of the pairwise slopes (pairs with equal x skipped), intercept =
 * median of y - slope x, and the slope's 95% confidence interval from Kendall's tau (Sen 1968). Robust to a few
 * outlying points. Returns false (all outputs 0) when fewer than 3 points or fewer than 2 distinct x. */
bool hwt_audit_theil_sen(const double *x, const double *y, size_t n, double *slope, double *intercept, double *lo,
                         double *hi);

/* ---- accuracy on labelled data (pure) ---- */
#define HWT_AUDIT_Z95 1.959963984540054 /* two-sided 95%: the standard normal's 0.975 quantile */

/* Wilson score interval of a proportion k / n at normal quantile z: [lo, hi] within [0, 1] (n == 0: [0, 1]). */
void hwt_audit_wilson(size_t k, size_t n, double z, double *lo, double *hi);

/* Interval for the paired difference of two accuracies over the same n samples, p_a - p_b = (b - c) / n, from the
 * discordant pairs only: b samples right in A and wrong in B, c the reverse. Agresti and Min's adjusted Wald
 * interval ("Wald+2", Statistics in Medicine 24, 2005: 0.5 added to each cell of the 2x2 table):
 *   centre (b - c) / (n + 2), sd = sqrt(b + c + 1 - (b - c)^2 / (n + 2)) / (n + 2), centre +- z sd, within [-1, 1].
 * Unlike the plain Wald interval it does not collapse to [0, 0] when b = c = 0. (n == 0 or b + c > n: [-1, 1].) */
void hwt_audit_paired_diff_ci(size_t b, size_t c, size_t n, double z, double *lo, double *hi);

/* True when `label` is among the k best of `scores[0..classes)`: fewer than k classes score higher or score the
 * same at a lower index (ties go to the lower index, as an argmax does). A NaN score of the label is never
 * among them; a label >= classes neither. */
bool hwt_audit_in_topk(const float *scores, size_t classes, size_t label, size_t k);

/* ---- soak ---- */
/* A latency drift figure needs at least this much soak and this many windows; below, no figure at all. */
#define HWT_SOAK_MIN_SECONDS 30.0
#define HWT_SOAK_MIN_WINDOWS 6
#define HWT_SOAK_FLAG_PCT 5.0 /* flagged: significant and |change over the soak| above this */

typedef struct hwt_soak_window {
  double t_s;                   /* window centre since the soak start */
  double median_ns[2];          /* per precision (fp32, int8); 0 when not run */
  double rss_bytes;             /* resident set at the window end */
  double live_bytes;            /* runtime-allocated bytes at the window end */
} hwt_soak_window;

/* Latency drift of one precision: a Theil-Sen line through the window medians, reported as the change between
 * the first and the last window centre (never extrapolated beyond what was observed). */
typedef struct hwt_drift {
  bool enough;                  /* false: too short or too few windows; the fields below are 0, `why` says so */
  char why[128];
  size_t windows;               /* windows with a median */
  double span_s;                /* last - first window centre: the time the change is over */
  double change_pct;            /* fitted change over span_s, % of the fitted level at the first window */
  double ci_lo_pct, ci_hi_pct;  /* 95% confidence interval of change_pct */
  bool significant;             /* the interval excludes 0 */
  bool flag;                    /* significant and |change_pct| > HWT_SOAK_FLAG_PCT */
} hwt_drift;

/* Pure: the drift of window medians `med_ns` (<= 0 = no median in that window) at window centres `t_s`, for a
 * soak of `duration_s` seconds. */
void hwt_audit_drift(const double *t_s, const double *med_ns, size_t n, double duration_s, hwt_drift *d);

typedef struct hwt_soak_verdict {
  hwt_drift drift[2];           /* per precision (fp32, int8) */
  double rss_growth_bytes;      /* last - first window */
  double rss_growth_mb_h;
  bool rss_flag;                /* steady growth: > 1 MiB and >= 2/3 of the window steps up */
  double live_growth_bytes;     /* runtime-allocated bytes, last - first window (exact) */
  bool live_flag;               /* the runtime's own allocations grew */
} hwt_soak_verdict;

/* duration_s: the soak's length (last window end). */
void hwt_soak_analyze(const hwt_soak_window *w, size_t n, double duration_s, hwt_soak_verdict *v);

/* Soaks engines (either may be NULL) on `in`: time-based (duration_s, window_s) or iteration-based
 * (windows, iters > 0). windows_out must hold max_windows entries; returns the count used. */
size_t hwt_audit_soak(hwt_engine *e[2], const float *in, double duration_s, double window_s, size_t windows,
                      size_t iters, hwt_soak_window *windows_out, size_t max_windows);

/* Appends a printf-formatted finding (at most 511 characters) to the `findings` array; returns 1, or 0 when it
 * could not be appended. */
size_t hwt_audit_add_finding(json_t *findings, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- noise: other processes and run-queue waits (pure verdicts) ---- */
/* Thresholds, as bench's: load on a usable CPU before the measurement, load from other processes during a
 * phase (all usable CPUs, or the busiest one), time this process's threads waited on a run queue. */
#define HWT_AUDIT_LOAD_BEFORE 0.20
#define HWT_AUDIT_LOAD_DURING HWT_LOAD_WARN_ALL
#define HWT_AUDIT_LOAD_BUSIEST HWT_LOAD_WARN_CPU
#define HWT_AUDIT_RUNQ_WAIT 0.02

typedef struct hwt_audit_phase_noise {
  char label[64];               /* "fp32 batch 1 (default vs tuned)" */
  unsigned threads;             /* threads the phase ran (the run-queue share divides by wall x threads) */
  double wall_s;
  double load;                  /* other processes' share of the usable CPUs during the phase; < 0 unknown */
  double busiest_load;          /* the busiest usable CPU's foreign share */
  int busiest_cpu;
  double runq_wait_s;           /* this process's threads: time waiting on a run queue; < 0 unknown */
} hwt_audit_phase_noise;

/* A phase's load from other processes between two /proc/stat readings (p->load, busiest_load, busiest_cpu): this
 * process's own ticks, pool workers included, are charged to the busiest CPUs first, as bench does for unpinned
 * threads. (Spreading them evenly over the usable CPUs, the first version, made a single-thread phase on 2 CPUs
 * read its own CPU as 50% busy with other work.) */
void hwt_audit_phase_load(const hwt_cpu_times *t0, const hwt_cpu_times *t1, const int *cpus, size_t ncpus,
                          hwt_audit_phase_noise *p);

/* A multi-threaded configuration against the single-thread run of the same precision and batch. */
typedef struct hwt_audit_thread_check {
  char label[64];               /* "fp32 batch 1 default" */
  unsigned threads;
  double p50_ms, single_p50_ms;
} hwt_audit_thread_check;

typedef struct hwt_audit_noise {
  const int *cpus;              /* usable CPUs */
  const double *load_before;    /* per usable CPU, before the first measurement; < 0 unknown */
  size_t ncpus;
  const hwt_audit_phase_noise *phases;
  size_t nphases;
  const hwt_audit_thread_check *checks;
  size_t nchecks;
} hwt_audit_noise;

/* Share of a phase's thread time spent waiting for a CPU: runq_wait_s / (wall_s x threads), in [0, 1]; < 0 unknown. */
double hwt_audit_runq_share(const hwt_audit_phase_noise *p);
/* Pure: appends one finding (a JSON string) per threshold crossed and per multi-threaded p50 slower than the
 * single-thread p50; returns how many it appended. */
size_t hwt_audit_noise_findings(const hwt_audit_noise *n, json_t *findings);

/* Readings for the above: summed run-queue wait of all this process's threads (/proc/self/task/<tid>/schedstat,
 * second field), in ns; 0 when unreadable. */
unsigned long long hwt_audit_runq_wait_ns(void);

/* ---- rules (--fail-on) ---- */
typedef enum hwt_rule_op { hwt_rule_gt = 0, hwt_rule_lt, hwt_rule_ge, hwt_rule_le } hwt_rule_op;
typedef struct hwt_rule {
  char metric[32];
  hwt_rule_op op;
  double value;
  char text[64];
} hwt_rule;

/* Metric names the rules accept (NULL-terminated); each is a field of the document's "summary". */
extern const char *const hwt_audit_metrics[];
/* Parses "p99_ms>5,top1_agreement<0.98,rss_mb>200". */
hwt_status hwt_audit_rules_parse(const char *text, hwt_rule *rules, size_t *n, char *err, size_t errlen);
/* Adds "rules": [...] to the document; returns the number of broken rules. A metric the run did not measure
 * (e.g. drift without --duration) counts as broken, with a note, so a gate never passes silently. */
size_t hwt_audit_rules_apply(json_t *doc, const hwt_rule *rules, size_t n);

/* ---- rendering ---- */
/* "console" or "md"; returns a malloc'd string. */
char *hwt_audit_render(const json_t *doc, bool markdown);

/* Process memory: resident bytes now, and the high-water mark. */
double hwt_audit_rss_bytes(void);
double hwt_audit_peak_rss_bytes(void);
