/* SPDX-License-Identifier: Apache-2.0 */
/* The hwtune_report library: reads result files (schema hwtune.results/1), compares two of them, renders reports.
 *
 * Convention as in include/hwtune/status.h: functions that can fail return hwt_status and write a message naming
 * the file and the place into err; outputs are valid only on success; free functions accept NULL. Every output is
 * a pure function of the input files (no clock, no environment), so the same input gives the same bytes. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hwtune/status.h"

#define HWT_RESULTS_SCHEMA "hwtune.results/1"
#define HWT_RESULTS_SCHEMA_PREFIX "hwtune.results/"

/* ---- growing text buffer ------------------------------------------------------------------------------------ */
typedef struct hwt_sb {
  char *buf;  /* NUL-terminated when len > 0 or after any append */
  size_t len, cap;
  bool oom;   /* an append failed; the content is truncated */
} hwt_sb;
void hwt_sb_printf(hwt_sb *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hwt_sb_puts(hwt_sb *sb, const char *s);
/* Appends s with &, <, >, " escaped for HTML/SVG text and attributes. */
void hwt_sb_html(hwt_sb *sb, const char *s);
void hwt_sb_free(hwt_sb *sb);

/* ---- result files ------------------------------------------------------------------------------------------- */
/* One entry of results[]. Strings point into the file's JSON tree ("" when an optional key is absent); numbers are
 * NAN when absent (integers: -1). */
typedef struct hwt_result {
  const char *name, *op, *dtype, *impl, *isa, *shape, *cache, *bound;
  long long m, n, k, threads, samples, iterations;
  double median_ns, mean_ns, stddev_ns, mad_ns, min_ns, p90_ns, p99_ns, ci_low_ns, ci_high_ns, cv;
  double flops, gflops, pct_peak, bytes_moved, ai;
  double *samples_ns;  /* owned copy; NULL when absent */
  size_t nsamples;
  json_t *warnings;    /* borrowed array or NULL */
  size_t index;        /* position in results[] */
  char *key;           /* owned: hwt_result_key(), computed once */
} hwt_result;

typedef struct hwt_results_file {
  char *path;          /* as given */
  json_t *root;        /* owned */
  json_t *context;     /* borrowed from root */
  bool partial;
  const char *fingerprint;  /* context.fingerprint or "" */
  hwt_result *results;
  size_t nresults;
} hwt_results_file;

/* Reads and validates `path`. Messages name the file and the place: "a.json: results[3].median_ns: missing". */
hwt_status hwt_results_load(const char *path, hwt_results_file *out, char *err, size_t errlen);
/* Same from text in memory; `label` names it in messages. */
hwt_status hwt_results_parse(const char *text, size_t len, const char *label, hwt_results_file *out, char *err,
                             size_t errlen);
void hwt_results_free(hwt_results_file *f);

/* The pairing key "op/impl/isa/shape/m<batch>/t<threads>/<cache>" (the schema's name). Returns snprintf's value. */
int hwt_result_key(const hwt_result *r, char *buf, size_t len);
/* Same key without impl and isa: what an own result and the xnnpack result it is measured against share. */
int hwt_result_config_key(const hwt_result *r, char *buf, size_t len);

/* The key rows of the cross-machine table use: "op/impl/shape/m<batch>/t<threads>/<cache>" (no isa: each machine's
 * own kernels run at its best level). */
int hwt_result_fleet_key(const hwt_result *r, char *buf, size_t len);

/* The first of base[0..n) (elements of `size` bytes, sorted) that does not order before `key`: cmp(elem, key)
 * < 0 when elem orders before it. n when there is none. The report's lookups all go through it. */
size_t hwt_lower_bound(const void *base, size_t n, size_t size, const void *key,
                       int (*cmp)(const void *elem, const void *key));

/* Sorts ptrs[0..n) by key; then hwt_result_find() looks a key up in O(log n). */
void hwt_result_sort_by_key(const hwt_result **ptrs, size_t n);
const hwt_result *hwt_result_find(const hwt_result *const *sorted, size_t n, const char *key);

/* Context lookups by dotted path ("build.compiler", "cpu.brand"); NULL/NaN when absent or of another type. */
const char *hwt_ctx_str(const json_t *ctx, const char *path);
double hwt_ctx_num(const json_t *ctx, const char *path);
json_t *hwt_ctx_get(const json_t *ctx, const char *path);

/* Compute ceiling (GFLOP/s, GOP/s for int8) and bandwidth (GB/s) from the context's detect block.
 * `all` selects all usable CPUs instead of one. NaN when the context does not have it. */
double hwt_ctx_peak(const json_t *ctx, bool int8, const char *isa, bool all);
/* level: "l1", "l2", "l3", "dram". Prefers read bandwidth. */
double hwt_ctx_bandwidth(const json_t *ctx, const char *level, bool all);

/* ---- statistics (pure functions) ---------------------------------------------------------------------------- */
/* (Medians and quantiles: hwt_stats_median / hwt_stats_quantile in common/hwt_stats.h.) */
/* Standard normal CDF. */
double hwt_rstat_norm_cdf(double z);

typedef struct hwt_mwu {
  double u;        /* U statistic of the first sample */
  double p;        /* two-sided p-value */
  bool exact;      /* exact distribution (small samples, no ties) rather than the normal approximation */
} hwt_mwu;
/* Mann-Whitney U test, two-sided, as scipy.stats.mannwhitneyu (which Google Benchmark's compare.py calls):
 * exact for small samples without ties, else normal approximation with tie and continuity correction. */
hwt_mwu hwt_rstat_mann_whitney(const double *a, size_t na, const double *b, size_t nb);

/* Percentile bootstrap CI of median(b)/median(a): `rounds` resamples from a fixed seed. */
void hwt_rstat_bootstrap_ratio(const double *a, size_t na, const double *b, size_t nb, uint64_t seed,
                              unsigned rounds, double level, double *lo, double *hi);

/* ---- compare ------------------------------------------------------------------------------------------------ */
typedef enum hwt_verdict { hwt_verdict_same = 0, hwt_verdict_faster, hwt_verdict_slower } hwt_verdict;
const char *hwt_verdict_name(hwt_verdict v);

/* How results are paired. By configuration: the full key (op, impl, isa, shape, batch, threads, cache), the same
 * implementation measured twice. Across implementations: (op, shape, batch, threads, cache) alone
 * (hwt_result_config_key), so that one runtime is measured against another on the same model (hwtune against
 * ONNX Runtime, bench/peers/). Auto: by configuration, unless that pairs nothing and each file holds a single
 * implementation, a different one in each: then across implementations. */
typedef enum hwt_pairing { hwt_pair_auto = 0, hwt_pair_config, hwt_pair_across_impl } hwt_pairing;

typedef struct hwt_compare_options {
  double threshold_pct;  /* default 5 */
  double alpha;          /* default 0.05 */
  unsigned rounds;       /* bootstrap resamples, default 1000 */
  hwt_pairing pairing;   /* default auto */
} hwt_compare_options;
void hwt_compare_options_default(hwt_compare_options *o);

typedef struct hwt_compare_row {
  char key[256];
  const hwt_result *base, *cand;
  double ratio;          /* median(new) / median(base): > 1 is slower */
  double ci_low, ci_high;
  double change_pct;     /* 100 * (ratio - 1) */
  double p;              /* p-value (NaN: no spread information) */
  const char *method;    /* "samples" (Mann-Whitney + bootstrap) or "summary" (stored CIs) or "none" */
  hwt_verdict verdict;
} hwt_compare_row;

typedef struct hwt_compare {
  hwt_compare_row *rows;
  size_t nrows;
  const hwt_result **only_base, **only_new;
  size_t nonly_base, nonly_new;
  char **warnings;       /* owned strings */
  size_t nwarnings;
  size_t nslower, nfaster, nsame;
  hwt_compare_options options;
  bool across_impl;      /* the pairing used: across implementations (row keys are config keys) */
  const char *base_impl, *new_impl;  /* across_impl: the files' implementations ("" when several) */
} hwt_compare;

hwt_status hwt_compare_run(const hwt_results_file *base, const hwt_results_file *cand,
                           const hwt_compare_options *opt, hwt_compare *out);
void hwt_compare_free(hwt_compare *c);

/* A comparison a gate can rely on: fails (hwt_status_not_found, with a message naming the file or files) when
 * either file holds no results or no configuration is in both, so that a gate never passes on nothing. */
hwt_status hwt_compare_check_usable(const hwt_compare *c, const hwt_results_file *base, const hwt_results_file *cand,
                                    char *err, size_t errlen);

/* Warnings about differing machines or builds, one per difference group, naming the fields; appended to c. */
void hwt_compare_context_diff(const hwt_results_file *base, const hwt_results_file *cand, hwt_compare *c);

typedef enum hwt_compare_format { hwt_cmpfmt_console = 0, hwt_cmpfmt_md, hwt_cmpfmt_json } hwt_compare_format;
void hwt_compare_render(const hwt_compare *c, const hwt_results_file *base, const hwt_results_file *cand,
                        hwt_compare_format fmt, bool color, hwt_sb *out);

/* ---- report ------------------------------------------------------------------------------------------------- */
typedef enum hwt_report_format { hwt_repfmt_md = 0, hwt_repfmt_csv, hwt_repfmt_html } hwt_report_format;

/* Results of one machine (files grouped by fingerprint, in order of first appearance; a configuration measured in
 * two files is taken from the later file). */
typedef struct hwt_machine {
  const char *fingerprint;
  const hwt_results_file *file;   /* the first file: its context describes the machine */
  const hwt_results_file **files;
  size_t nfiles;
  const hwt_result **results;
  size_t nresults;
  size_t nreplaced;               /* configurations measured twice */
  /* Owned lookup tables (peers, cross-machine cells) built by hwt_machines_group over the final order of results,
   * so that a report is O(n log n) in the number of results; NULL in a machine built by hand: lookups then scan. */
  struct hwt_machine_index *index;
} hwt_machine;

typedef struct hwt_machines {
  hwt_machine *m;
  size_t count;
} hwt_machines;
hwt_status hwt_machines_group(const hwt_results_file *files, size_t nfiles, hwt_machines *out);
void hwt_machines_free(hwt_machines *ms);

/* The cross-machine table: row keys (fleet keys in order of first appearance over the machines) and cells (the
 * machine's result with that key, the fastest when several ISAs share it; NULL when not measured there). */
typedef struct hwt_fleet_rows {
  char (*keys)[256];
  size_t count;
} hwt_fleet_rows;
hwt_status hwt_fleet_rows_build(const hwt_machines *ms, hwt_fleet_rows *out);
void hwt_fleet_rows_free(hwt_fleet_rows *rows);
const hwt_result *hwt_fleet_cell(const hwt_machine *m, const char *key);

/* The xnnpack result measured with the same op, shape, batch, threads and cache, or NULL. */
const hwt_result *hwt_machine_xnnpack_peer(const hwt_machine *m, const hwt_result *r);

hwt_status hwt_rpt_render(const hwt_results_file *files, size_t nfiles, hwt_report_format fmt, hwt_sb *out);

/* Shared by the Markdown and HTML forms: environment lines (label, plain-text value) and the per-op summary of
 * ours vs XNNPACK (geometric mean, min, max of XNNPACK median / own median). */
void hwt_rpt_env_rows(const hwt_machine *m, void (*row)(hwt_sb *, const char *, const char *, void *), hwt_sb *out,
                         void *ud);
size_t hwt_rpt_op_summary(const hwt_machine *m, const char **ops, size_t *counts, double *geo, double *mn,
                             double *mx, size_t cap);

/* Parts of the HTML report (report_html.c, report_svg.c). */
void hwt_rpt_md(const hwt_machines *ms, hwt_sb *out);
void hwt_rpt_csv(const hwt_machines *ms, hwt_sb *out);
void hwt_rpt_html(const hwt_machines *ms, hwt_sb *out);

/* Formatting shared by the reporters: "1.23 ms", "456 ns"; "-" for NaN. */
void hwt_fmt_time(double ns, char *buf, size_t len);
/* Human size "48 KiB", "2 MiB". */
void hwt_fmt_bytes(double bytes, char *buf, size_t len);
/* %.3g-style number, "-" for NaN. */
void hwt_fmt_num(double v, int digits, char *buf, size_t len);
