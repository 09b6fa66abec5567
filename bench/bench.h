/* SPDX-License-Identifier: Apache-2.0 */
/* The benchmark harness as a library (used by `hwtune bench` and by the tuner): describe one configuration,
 * measure it, get a result record with all statistics; build the run context; write a results document.
 *
 * Conventions: functions that can fail return hwt_status and write a message to (err, errlen); outputs are
 * written only on success; free functions accept NULL. Nothing here exits or aborts the program.
 *
 * Timing: every sample runs the operator `iterations_per_sample` times back to back and records
 * (t1 - t0) / iterations in ns per call. Iterations are calibrated so one sample lasts at least 100x the
 * measured timer overhead (and at least min_sample_ns). Samples are collected until the 95% confidence
 * interval of the median is within +-target_ci of the median, or max_time_s runs out. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <pthreadpool.h>

#include "hwtune/hw.h"
#include "hwtune/kernels.h"
#include "hwtune/status.h"
#include "hwt_stats.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HWT_RESULTS_SCHEMA "hwtune.results/1"

/* ---------------------------------------------------------------- problem description */

typedef enum hwt_bench_op {
  hwt_bench_gemm_f32 = 0,
  hwt_bench_gemm_qs8,
  hwt_bench_conv_f32,
  hwt_bench_conv_qs8,
  hwt_bench_dwconv_f32,
  hwt_bench_dwconv_qs8,
  hwt_bench_spmm_f32,   /* pruned FC / 1x1 conv: weights with a given fraction of exact zeros (config.sparsity) */
  hwt_bench_op_count
} hwt_bench_op;

typedef enum hwt_bench_impl {
  hwt_bench_xnnpack = 0,
  hwt_bench_own,        /* our kernels through kernels.h; isa picks the level */
  hwt_bench_reference,  /* portable scalar reference (slow; what --verify compares against) */
  hwt_bench_wrong,      /* tests only: the reference plus 1 on one output element */
  /* spmm_f32's dense baselines on the same (pruned) weights: our GEMM plan and XNNPACK's dense FC / 1x1 conv.
   * On spmm_f32, `own` is our sparse plan (hwtune/spmm.h) and `xnnpack` XNNPACK's sparse NCHW 1x1 conv. */
  hwt_bench_own_dense,
  hwt_bench_xnnpack_dense,
  hwt_bench_impl_count
} hwt_bench_impl;

/* "gemm_f32" ...; NULL outside the enum. */
const char *hwt_bench_op_name(hwt_bench_op op);
bool hwt_bench_op_from_name(const char *name, hwt_bench_op *out);
bool hwt_bench_op_is_qs8(hwt_bench_op op);
bool hwt_bench_op_is_conv(hwt_bench_op op);      /* conv or dwconv */
bool hwt_bench_op_is_dwconv(hwt_bench_op op);
bool hwt_bench_op_is_sparse(hwt_bench_op op);    /* spmm_f32: takes config.sparsity */
const char *hwt_bench_impl_name(hwt_bench_impl impl);
bool hwt_bench_impl_from_name(const char *name, hwt_bench_impl *out);

/* A shape as written by the user.
 *   gemm:  NxK                         (N outputs, K inputs; batch M comes from --batch)
 *   conv:  HxWxC:OC:kKsSpP             (input H x W x C NHWC, OC output channels, square K x K kernel,
 *                                       stride S, symmetric padding P; "k3s2p1". s and p default to 1 and 0)
 *          HxWxC:OC:kKHxKWsSpP         (non-square kernel, e.g. k1x7)
 *   depthwise: the conv syntax with OC = C (or OC omitted: HxWxC::k3s1p1); groups = C. */
typedef struct hwt_bench_shape {
  char text[64];
  bool conv;
  size_t n, k;                 /* gemm */
  size_t h, w, c, out_c;       /* conv */
  size_t kh, kw, stride, pad;
  bool out_c_given;
} hwt_bench_shape;

/* Parses one shape (see above). err names the shape and the problem. */
hwt_status hwt_bench_parse_shape(const char *text, hwt_bench_shape *out, char *err, size_t errlen);

/* One shape-file line: `[gemm|conv|dw] <shape>  # comment`. Without a tag, NxK is gemm, H x W x C:... is conv.
 * `dw` marks depthwise layers (used by the dwconv ops only; conv ops use `conv` lines; gemm ops `gemm` lines). */
typedef enum hwt_bench_shape_kind { hwt_shape_gemm = 0, hwt_shape_conv, hwt_shape_dw } hwt_bench_shape_kind;
typedef struct hwt_bench_shape_entry {
  hwt_bench_shape_kind kind;
  hwt_bench_shape shape;
} hwt_bench_shape_entry;

/* Reads a shape file; *out is malloc'ed (free()). Errors name file:line. Duplicate lines are dropped. */
hwt_status hwt_bench_read_shapes(const char *path, hwt_bench_shape_entry **out, size_t *count, char *err,
                                 size_t errlen);

/* Whether a shape fits an op (gemm shape for gemm ops, conv for conv, conv with OC = C for dwconv). */
bool hwt_bench_shape_fits(hwt_bench_op op, const hwt_bench_shape *shape, char *why, size_t whylen);

/* What our own kernels offer for (op, shape, batch): the tuner's hook (tuner/space.c), answered by the own
 * backend from what it runs. runs: some ISA runs it; isa[i]: runnable at ISA i here; gemm: it is a GEMM plan of
 * `family` taking a blocking (the tuner then searches MC, KC, NC); a kernel without a blocking (gemm = false) is
 * raced per ISA and thread count at its own defaults. */
typedef struct hwt_bench_own_caps_t {
  bool runs, gemm;
  hwt_gemm_family family;
  bool isa[hwt_isa_count];
} hwt_bench_own_caps_t;
bool hwt_bench_own_caps(hwt_bench_op op, const hwt_bench_shape *shape, size_t batch, hwt_bench_own_caps_t *out);

/* The break-even sparsity from time ratios sparse / dense at ascending sparsities (non-positive or NaN ratios are
 * skipped): linear between the last point above 1 and the first at or below it (*where 0). *where -1: at or below
 * 1 from the first point (returns that sparsity); 1: above 1 everywhere (returns the last sparsity); 2: no point
 * (NaN). */
double hwt_bench_spmm_break_even(const double *sparsity, const double *ratio, size_t n, int *where);

/* ---------------------------------------------------------------- one configuration */

typedef struct hwt_bench_config {
  hwt_bench_op op;
  hwt_bench_impl impl;
  bool isa_auto;               /* own: best level; xnnpack: always auto */
  hwt_isa isa;                 /* own: forced level when !isa_auto */
  hwt_bench_shape shape;
  size_t batch;                /* >= 1 */
  unsigned threads;            /* >= 1; pool size including the caller */
  bool cold;                   /* rotate weights + activations through buffers larger than the LLC */
  hwt_gemm_blocking blocking;  /* own only; zeros = the kernels' defaults */
  double max_time_s;           /* 0 = 2 s */
  double target_ci;            /* relative half-width of the 95% CI of the median; 0 = 0.01 */
  size_t min_samples;          /* 0 = 10 */
  uint64_t min_sample_ns;      /* 0 = 100 x timer overhead, at least 20 us */
  bool keep_preempted;         /* keep samples during which the calling thread was preempted (default: drop) */
  double sparsity;             /* spmm_f32 only: fraction of the weights set to exact zeros, in [0, 1) */
  bool block;                  /* spmm_f32 only: zeros in whole blocks of hwt_spmm_block_shape (else unstructured) */
} hwt_bench_config;

/* Fills defaults (max_time 2 s, target 1%, min_samples 10, batch 1, threads 1, isa_auto). */
void hwt_bench_config_init(hwt_bench_config *cfg);

/* The unique result name: op/impl/isa/shape/m<batch>/t<threads>/<cache>, shape as hwt_bench_config_shape. */
void hwt_bench_config_name(const hwt_bench_config *cfg, const char *isa_name, char *buf, size_t len);

/* The result's shape label: the shape text, and for spmm_f32 "@sp<percent>" (+ "b" for the block pattern), e.g.
 * "256x784@sp90", "7x7x320:1280:k1@sp95b": results at different sparsities then have distinct keys for report and
 * compare (which pair results by op/impl/isa/shape/m/t/cache). */
void hwt_bench_config_shape(const hwt_bench_config *cfg, char *buf, size_t len);

/* Sets round(sparsity * blocks) of the n x k weights' bn x bk blocks (edge blocks are smaller) to +0.0, chosen
 * uniformly at random from `seed` (deterministic); bn = bk = 1 is unstructured pruning with exactly
 * round(sparsity * n * k) zeros. sparsity outside [0, 1] is clamped. Returns false on out of memory. */
bool hwt_bench_sparsify_f32(float *w, size_t n, size_t k, double sparsity, uint32_t bn, uint32_t bk, uint64_t seed);

/* ---------------------------------------------------------------- result record */

#define HWT_BENCH_MAX_WARNINGS 16

typedef struct hwt_bench_result {
  char name[192];
  hwt_bench_config config;
  char isa[16];                /* level used ("auto" for xnnpack) */
  /* derived problem figures */
  size_t m, n, k;
  size_t out_h, out_w, groups;
  double flops;                /* per call */
  double bytes_moved;
  /* statistics, ns per call */
  size_t samples;
  size_t preempted_dropped;    /* samples dropped because the calling thread was preempted during them */
  uint64_t iterations_per_sample;
  double median_ns, mean_ns, stddev_ns, mad_ns, min_ns, max_ns, p90_ns, p99_ns, ci_low_ns, ci_high_ns, cv;
  double gflops, pct_peak;     /* pct_peak < 0: no peak known; spmm_f32: dense-equivalent 2*m*n*k / time */
  double weight_sparsity;      /* spmm_f32: the measured fraction of zero weights (-1 for other ops) */
  char weight_format[24];      /* the backend's weight format ("csr", "block 4x1": our sparse plans), else "" */
  double arithmetic_intensity;
  char bound[8];               /* "compute", "memory", "unknown" */
  uint64_t peak_rss_bytes, op_bytes;
  bool has_blocking;
  hwt_gemm_blocking blocking_used;
  unsigned cold_copies;        /* buffers rotated (1 = warm) */
  double elapsed_s;            /* wall time spent on this configuration, including calibration */
  bool interrupted;            /* stopped by the session's stop flag */
  char *warnings[HWT_BENCH_MAX_WARNINGS];
  size_t nwarnings;
  double *samples_ns;          /* malloc'ed, `samples` entries */
} hwt_bench_result;

void hwt_bench_result_free(hwt_bench_result *r);   /* frees the arrays; the struct itself is the caller's */
/* Adds a printf-formatted warning (dropped beyond HWT_BENCH_MAX_WARNINGS). */
void hwt_bench_result_warn(hwt_bench_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- clock seam and sampling */

typedef struct hwt_bench_clock {
  uint64_t (*now_ns)(void *ctx);
  void *ctx;
} hwt_bench_clock;

/* The real monotonic clock. */
hwt_bench_clock hwt_bench_real_clock(void);
/* Minimum cost of one clock read (ns) over `reads` back-to-back pairs. */
double hwt_bench_timer_overhead(const hwt_bench_clock *clock, unsigned reads);

/* One call of the measured thing (run `iterations` calls back to back). */
typedef void (*hwt_bench_body)(void *ctx, uint64_t iterations);

/* Smallest power-of-two iteration count whose run lasts >= target_ns (at most max_iterations). */
uint64_t hwt_bench_calibrate(const hwt_bench_clock *clock, hwt_bench_body body, void *ctx, uint64_t target_ns,
                             uint64_t max_iterations);

typedef struct hwt_bench_sampling {
  uint64_t iterations;         /* per sample */
  size_t min_samples, max_samples;
  double target_ci;            /* relative half-width */
  uint64_t max_ns;             /* stop when this much clock time has passed */
  volatile int *stop;          /* optional: stop when *stop != 0 */
  /* Optional: a counter that moves when the measuring thread was disturbed (involuntary context switches).
   * A sample during which it moved is dropped and counted in *dropped. When the time budget runs out with fewer
   * than 3 kept samples, filtering stops (and sampling ends at 2x the budget at the latest). */
  uint64_t (*disturbance)(void *ctx);
  void *disturbance_ctx;
  size_t *dropped;
} hwt_bench_sampling;

/* Collects samples (ns per call) into out[0..max_samples). Returns the count; *interrupted when *stop ended it. */
size_t hwt_bench_sample(const hwt_bench_clock *clock, hwt_bench_body body, void *ctx, const hwt_bench_sampling *p,
                        double *out, bool *interrupted);

/* ---------------------------------------------------------------- session */

typedef struct hwt_bench_session hwt_bench_session;

typedef struct hwt_bench_session_options {
  const hwt_hw *hw;            /* NULL: detect this machine (measuring peaks when measure_peaks) */
  bool measure_peaks;          /* detect's quick peak/bandwidth probes, for pct_peak and bound */
  bool pin_threads;            /* pin pool threads to distinct usable CPUs (default in the CLI) */
  volatile int *stop;          /* optional stop flag (SIGINT) */
  const hwt_bench_clock *clock;/* NULL: the real clock */
  /* Optional: races take their pools of more than one thread from here (tune with HWTUNE_TUNE_POOL=runtime
   * passes the runtime's pool, engine/pool.h's hwt_pool_get: its wake-up, spin and work claiming instead of those
   * of a pinned pthreadpool whose idle workers spin ~16 ms; see tuner/cmd_tune.c). NULL: the session's pinned
   * pthreadpools. */
  pthreadpool_t (*race_pool)(unsigned threads);
} hwt_bench_session_options;

hwt_status hwt_bench_session_create(const hwt_bench_session_options *opt, hwt_bench_session **out, char *err,
                                    size_t errlen);
void hwt_bench_session_destroy(hwt_bench_session *s);
const hwt_hw *hwt_bench_session_hw(const hwt_bench_session *s);
double hwt_bench_session_timer_overhead(const hwt_bench_session *s);
/* Adds a run-wide warning (goes into context.warnings). */
void hwt_bench_session_warn(hwt_bench_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Measures one configuration. hwt_status_unsupported (with a reason in err) means "skip": the backend cannot
 * run this op/shape/ISA here. On success *res holds the record (free with hwt_bench_result_free). */
hwt_status hwt_bench_measure(hwt_bench_session *s, const hwt_bench_config *cfg, hwt_bench_result *res, char *err,
                             size_t errlen);

/* Adds the samples of `more` (the same configuration measured again later, e.g. the next round of `bench
 * --rounds`) to `into`: statistics recomputed over all kept samples, gflops and pct_peak from the new median,
 * counts and elapsed time summed, `more`'s warnings appended (prefixed "round N: "). `more` is left empty. */
hwt_status hwt_bench_result_merge(hwt_bench_result *into, hwt_bench_result *more, unsigned round);

/* ---------------------------------------------------------------- racing: interleaved measurement
 *
 * Several configurations of one problem are set up side by side, then take turns: each turn is one untimed call
 * (to bring the caches back after the others ran) and a short burst of samples. Drift of the machine (clock,
 * neighbours, memory bandwidth) then hits every configuration alike instead of whichever one happened to be
 * measured at the bad moment: the comparison a tuner needs. Warm buffers only (cfg.cold is ignored). */
typedef struct hwt_bench_race hwt_bench_race;

/* Sets up n configurations. One the backend cannot run is marked unsupported (hwt_bench_race_entry) and left
 * out; another set-up failure is returned. *out must be freed with hwt_bench_race_destroy. */
hwt_status hwt_bench_race_create(hwt_bench_session *s, const hwt_bench_config *cfgs, size_t n, hwt_bench_race **out,
                                 char *err, size_t errlen);

typedef struct hwt_bench_race_params {
  double max_s;                /* the whole run, every entry together (the run may end up to 2 bursts later) */
  double burst_s;              /* one entry's turn (0 = 5 ms; at least one sample) */
  double target_ci;            /* end early when every active entry's 95% CI of the median is within +-target */
  size_t min_samples;          /* per entry before the CI may end the run (0 = 10) */
  unsigned min_rounds;         /* rounds before the CI may end the run (0 = 1): spreads every entry over time */
  const bool *active;          /* NULL = every supported entry */
} hwt_bench_race_params;

/* Runs turns in rounds (the order rotates from round to round) until the CIs are reached or max_s is spent.
 * Samples add up over calls. Stops early when the session's stop flag is set. */
hwt_status hwt_bench_race_run(hwt_bench_race *r, const hwt_bench_race_params *p, char *err, size_t errlen);

/* Entry i: its status (ok, unsupported with *why, or the set-up error) and the statistics of its samples
 * (ns per call; out->n == 0 before any). Samples within one turn are not independent of each other: the 95% CI
 * of the median is widened to the CI of the turns' medians (ci_exact false until there are 6 turns). Where
 * set-up is cheap (working set <= 1 MiB: 32; <= 4 MiB: 16; <= 32 MiB: 4) each configuration is set up several times
 * and the turns cycle through them: the speed of one set-up depends on where its buffers landed (cache sets,
 * pages). */
hwt_status hwt_bench_race_entry(const hwt_bench_race *r, size_t i, hwt_stats_summary *out, const char **why);
void hwt_bench_race_destroy(hwt_bench_race *r);

/* The bytes one race entry of this problem sets up: its instances times their working set (weights, input,
 * output). What a race's set-up time grows with, for a caller planning its time. */
double hwt_bench_race_setup_bytes(hwt_bench_op op, const hwt_bench_shape *shape, size_t batch);

/* Runs the configuration once and compares its output with the reference (f32: double accumulation, relative
 * tolerance from K; qs8: exact). hwt_status_mismatch when it differs: err names the shape and the worst element. */
hwt_status hwt_bench_verify(hwt_bench_session *s, const hwt_bench_config *cfg, char *err, size_t errlen);

/* The pool for `threads` (created on demand, threads pinned); NULL when threads == 1. Owned by the session. */
pthreadpool_t hwt_bench_session_pool(hwt_bench_session *s, unsigned threads, char *err, size_t errlen);

/* ---------------------------------------------------------------- context and documents */

/* The context block: detect's document (its "schema" renamed "hw_schema") + build, command_line, start_time,
 * end_time (set by hwt_bench_context_finish), timer_overhead_ns, warnings. New reference. */
json_t *hwt_bench_context_json(const hwt_bench_session *s, int argc, char **argv);
/* Sets end_time and appends the session's warnings gathered since. */
void hwt_bench_context_finish(json_t *context, const hwt_bench_session *s);

typedef enum hwt_bench_format {
  hwt_format_console = 0,
  hwt_format_json,
  hwt_format_csv,
  hwt_format_md,
  hwt_format_gbench,
  hwt_format_count
} hwt_bench_format;

const char *hwt_bench_format_name(hwt_bench_format f);
bool hwt_bench_format_from_name(const char *name, hwt_bench_format *out);
/* From a file name: .json -> json, .csv -> csv, .md -> md; false otherwise. */
bool hwt_bench_format_from_path(const char *path, hwt_bench_format *out);

typedef struct hwt_bench_doc {
  json_t *context;             /* borrowed */
  const hwt_bench_result *results;
  size_t count;
  bool partial;
  bool color;                  /* console only */
} hwt_bench_doc;

/* One result as a results[] entry of hwtune.results/1. New reference. */
json_t *hwt_bench_result_to_json(const hwt_bench_result *r);

/* Renders the document in a format; *text is malloc'ed (free()). */
hwt_status hwt_bench_render(const hwt_bench_doc *doc, hwt_bench_format f, char **text, char *err, size_t errlen);
/* Renders and writes atomically to path. */
hwt_status hwt_bench_write(const hwt_bench_doc *doc, hwt_bench_format f, const char *path, char *err,
                           size_t errlen);

#ifdef __cplusplus
}
#endif
