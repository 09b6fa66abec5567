/* SPDX-License-Identifier: Apache-2.0 */
/* The tuner as a library: the search space of one (op, shape, batch), its analytical start point, the racing
 * search with CI-based elimination, the "simpler choice wins" rule, and the profile writer (hwtune.profile/1).
 *
 * Measurements come through a seam (hwt_tune_measurer) so the search and the decision rule are tested with
 * synthetic measurements; `hwtune tune` plugs in the bench harness. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bench.h"
#include "hwtune/hw.h"
#include "hwtune/kernels.h"
#include "hwtune/profile.h"
#include "hwtune/status.h"
#include "profile_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- candidates */

typedef struct hwt_tune_candidate {
  hwt_bench_impl impl;          /* hwt_bench_xnnpack or hwt_bench_own */
  hwt_isa isa;                  /* own only */
  unsigned threads;
  hwt_gemm_blocking blocking;   /* own only; the effective values (clamped to the problem, rounded to the tile) */
  bool default_blocking;        /* the analytical blocking */
} hwt_tune_candidate;

/* A measurement of one candidate (ns per call). */
typedef struct hwt_tune_measurement {
  double median_ns, ci_low_ns, ci_high_ns, p99_ns;
  size_t samples;
  double elapsed_s;
} hwt_tune_measurement;

/* One problem: op, shape, batch. */
typedef struct hwt_tune_problem {
  hwt_bench_op op;
  hwt_bench_shape shape;
  size_t batch;
  size_t rows;                  /* gemm rows per call: batch (gemm) or batch*out_h*out_w (conv) */
  size_t n, k;                  /* gemm view */
} hwt_tune_problem;

void hwt_tune_problem_init(hwt_tune_problem *p, hwt_bench_op op, const hwt_bench_shape *shape, size_t batch);

/* What the machine offers the search. */
typedef struct hwt_tune_machine {
  unsigned usable_cpus;         /* threads range 1..usable_cpus */
  hwt_cache_budget cache;       /* for the analytical blocking */
  bool own_isa[hwt_gemm_family_count][hwt_isa_count];  /* own kernels runnable at this ISA, per family */
} hwt_tune_machine;

/* Fills *m from detect's description (usable CPUs, plausible caches) and the kernels' supported ISAs. */
void hwt_tune_machine_from_hw(const hwt_hw *hw, hwt_tune_machine *m);

/* Analytical start: threads from the op's work size (1 below 2 MFLOP per call, else every usable CPU up to one
 * per 1 MFLOP; int8 work counts a quarter), the best own ISA, blocking from the cache budget. */
unsigned hwt_tune_analytical_threads(const hwt_tune_problem *p, unsigned usable_cpus);
/* Whether more than one thread is worth measuring at all: false below one thread's work (1 MFLOP per call, as
 * counted above: a layer of ~10 us), where the runtime's pool waking a second thread costs more than it saves. */
bool hwt_tune_threads_may_pay(const hwt_tune_problem *p);
/* The analytical blocking for this problem: hwt_gemm_default_blocking, with KC = K when the problem is one row group
 * (a GEMV: no weight panel to keep in L1 for further rows). Not clamped (hwt_tune_clamp_blocking). */
hwt_gemm_blocking hwt_tune_analytical_blocking(const hwt_tune_problem *p, hwt_gemm_family f, hwt_isa isa,
                                               const hwt_cache_budget *cache);
/* Blocking clamped to the problem: mc <= rows, kc <= k, nc <= n, each rounded up to the tile (MR, 1, NR). */
hwt_gemm_blocking hwt_tune_clamp_blocking(const hwt_tune_problem *p, hwt_bench_op op, hwt_isa isa,
                                          hwt_gemm_blocking b);

/* Our kernels for problem p, asked of bench's own backend (hwt_bench_own_caps: the one hook a new own kernel
 * answers): false when none runs it. Gemm ops and 1x1 stride-1 unpadded convolutions are GEMM plans over
 * batch*H*W rows (as the engine runs them) taking a blocking; their ISAs are the machine's own_isa of that
 * family (so tests describe a machine), scalar only when no SIMD ISA is there. Other own kernels (depthwise,
 * dense KxK) answer their ISAs themselves and are raced per ISA and thread count at their default blocking. */
bool hwt_tune_own_caps(const hwt_tune_problem *p, const hwt_tune_machine *m, hwt_bench_own_caps_t *caps);

/* The whole space (what --exhaustive measures): xnnpack x threads; own x runnable SIMD ISAs (scalar only when
 * there is none) x threads x blocking grid {1/4, 1/2, 1, 2, 4} x analytical (hwt_tune_analytical_blocking) for each
 * of MC, KC, NC, after clamping and de-duplication. Own kernels where hwt_tune_own_caps offers them (no blocking
 * grid when they take none). *out is malloc'ed. */
hwt_status hwt_tune_space(const hwt_tune_problem *p, const hwt_tune_machine *m, hwt_tune_candidate **out,
                          size_t *count);

/* "Simpler" order: fewer threads first, then xnnpack before own, then (own) narrower vectors before wider ones
 * (avx2 before avx512f). Negative when a is simpler than b, 0 when they are equally simple (blocking, and ISAs of
 * one vector width, do not make a configuration simpler). Wider vectors must earn their place like more threads:
 * where the weights stream from memory the widths run within a few % of each other, and which is ahead changes
 * with the moment of the machine (4096x1024 here: avx512f even with avx2 in the tuner's races, 5-12% behind it in
 * the check's races minutes later); where compute decides (256x784: avx512f 12% ahead) it wins clearly. */
int hwt_tune_simpler(const hwt_tune_candidate *a, const hwt_tune_candidate *b);

/* Same configuration (impl, isa, threads, effective blocking). */
bool hwt_tune_same(const hwt_tune_candidate *a, const hwt_tune_candidate *b);

/* ---------------------------------------------------------------- decision rule */

#define HWT_TUNE_FINALS 4

typedef struct hwt_tune_scored {
  hwt_tune_candidate cand;
  hwt_tune_measurement meas;
  bool measured;                /* meas is valid */
  bool unsupported;             /* the backend cannot run it here */
  int precision;                /* of meas: 0 rough .. 2 final */
  unsigned race;                /* the race (interleaved measurement) meas comes from; 0 = measured alone */
  /* Its final races (the last HWT_TUNE_FINALS): meas of a finalist is their combination (see hwt_tune_search). */
  unsigned nfinals;
  unsigned final_ids[HWT_TUNE_FINALS];
  hwt_tune_measurement finals[HWT_TUNE_FINALS];
} hwt_tune_scored;

/* The rule: walk the measured candidates from simplest to most complex, each class of equally simple ones
 * represented by its fastest median; a class replaces the current choice only when it beats it by more than the
 * confidence intervals (its ci_high < the current's ci_low).
 * Returns the index of the choice in v (SIZE_MAX when none is measured); *runner_up = the fastest other
 * measured candidate by median (SIZE_MAX if none). */
size_t hwt_tune_choose(const hwt_tune_scored *v, size_t n, size_t *runner_up);

/* ---------------------------------------------------------------- search */

/* The measurement seam. precision = 0, 1, 2: rough (short, 5% CI) to final (longest, 1% CI); max_s bounds the
 * time it may take. hwt_status_unsupported = this candidate cannot run here (dropped from the search). */
typedef hwt_status (*hwt_tune_measure_fn)(void *ctx, const hwt_tune_problem *p, const hwt_tune_candidate *c,
                                          int precision, double max_s, hwt_tune_measurement *out, char *err,
                                          size_t errlen);
/* Measures n candidates interleaved (hwt_bench_race: turns of short bursts, so drift of the machine hits them
 * alike) at one precision, within max_s for all of them together. st[i] per candidate: ok (out[i] valid),
 * hwt_status_unsupported (cannot run here). The return value is ok, or a failure that ends the search;
 * hwt_status_unsupported = these cannot be raced side by side (memory): the search measures them one by one. */
typedef hwt_status (*hwt_tune_race_fn)(void *ctx, const hwt_tune_problem *p, const hwt_tune_candidate *c, size_t n,
                                       int precision, double max_s, hwt_tune_measurement *out, hwt_status *st,
                                       char *err, size_t errlen);
typedef struct hwt_tune_measurer {
  hwt_tune_measure_fn measure;
  hwt_tune_race_fn race;        /* optional; NULL = measure one after the other */
  void *ctx;
  /* Seconds left of the whole budget (hard bound); NULL = unlimited. The search stops measuring at 0. */
  double (*remaining_s)(void *ctx);
  /* Time scale of the precision levels (0 = 1): a problem's budget share over hwt_tune_planned_s(), when
   * scale_now does not answer. */
  double scale;
  /* Optional: the time scale now, asked before every measurement (NULL: `scale` throughout). A caller pacing its
   * budget (hwt_tune_pace) answers what the problem's set-ups leave of its share. */
  double (*scale_now)(void *ctx);
  /* Optional progress callback (what is being measured). */
  void (*progress)(void *ctx, const hwt_tune_problem *p, const hwt_tune_candidate *c, int precision);
} hwt_tune_measurer;

typedef struct hwt_tune_outcome {
  bool ok;                      /* a choice was made */
  hwt_tune_scored choice;
  bool has_runner_up;
  hwt_tune_scored runner_up;
  double margin;                /* (runner_up.median - choice.median) / choice.median */
  size_t space_size;            /* configurations in the space */
  size_t configs_measured;      /* distinct configurations measured at least once */
  size_t measurements;          /* measurement calls, all precisions */
  bool budget_exhausted;
  hwt_tune_scored *all;         /* every distinct configuration measured, at its last precision (malloc'ed) */
  size_t nall;
  unsigned final_race;          /* the race the choice was made from (all[].race; 0 = none) */
} hwt_tune_outcome;

void hwt_tune_outcome_free(hwt_tune_outcome *o);

/* Racing: the analytical start point and its structural neighbours are measured together, interleaved (the
 * measurer's race), in two rounds of rising precision: XNNPACK and each runnable own ISA at the analytical thread
 * count, XNNPACK alone at the other counts of {1, analytical, all}; after the first round the fastest own
 * configuration joins every larger count where XNNPACK ran at least 3% faster. Candidates whose CI shows they
 * cannot win (ci_low > best ci_high, with a 3% / 1% margin) drop out after each round. The best own configuration's
 * blocking is then refined by coordinate descent (KC, MC, NC in turn halved or doubled, each step raced against the
 * current one, while the median improves, within the grid of hwt_tune_space); where the weights exceed L2, a
 * second own ISA within 5% of it in the last start round gets its KC refined the same way. A final race at the
 * final precision holds the finalists: XNNPACK on 1 thread and the start round's fastest XNNPACK, the refined
 * configurations, the first one's versions on fewer threads, the refinement's closest near miss (a step that lost
 * by less than 3%), every other own ISA's fastest start configuration within 15% (a rough start round may have
 * picked the wrong ISA to refine) and the two fastest of the last start round. It runs twice; each finalist's
 * figure is its median over the final races that were not a slow moment of the machine (median entry more than 8%
 * slower than in the quietest race; two races: their geometric mean), and the rule above picks among them. */
hwt_status hwt_tune_search(const hwt_tune_problem *p, const hwt_tune_machine *m, const hwt_tune_measurer *mm,
                           hwt_tune_outcome *out, char *err, size_t errlen);

/* Races the finalists of a finished search (the entries of o->final_race) once more, later (the caller runs it
 * after the other problems, so a slow moment of the machine has likely passed), and re-decides from all their final
 * races as hwt_tune_search does. Nothing changes when the budget is spent or o has no choice. */
hwt_status hwt_tune_confirm(const hwt_tune_problem *p, const hwt_tune_measurer *mm, hwt_tune_outcome *o, char *err,
                            size_t errlen);

/* Seconds hwt_tune_search plans to spend sampling a problem at scale 1 (for budget sharing). */
double hwt_tune_planned_s(const hwt_tune_problem *p, const hwt_tune_machine *m);
/* Race entries hwt_tune_search plans to set up for a problem: each is one configuration in one race, and costs
 * its set-up (weights filled and packed, per instance) on top of the sampling. */
double hwt_tune_planned_setups(const hwt_tune_problem *p, const hwt_tune_machine *m);

/* ---------------------------------------------------------------- pacing the budget */

/* The smallest time scale pacing gives a search: below it a race's few samples say little. */
#define HWT_TUNE_MIN_SCALE 0.1

/* One problem's pace. The sampling plan is known beforehand (hwt_tune_planned_s); the set-ups are not: they range
 * from nothing (10x128) to most of the problem (4096x4096: XNNPACK packs 64 MiB per entry). The scale of the next
 * measurement is what is left of the share, less the set-ups still to come at the cost seen so far in this
 * problem (before its first race: the predicted cost), over the sampling still to come. */
typedef struct hwt_tune_pace {
  double share_s;               /* the time the problem should take */
  double sampling_s;            /* hwt_tune_planned_s */
  double setups;                /* hwt_tune_planned_setups */
  double setup_s;               /* predicted set-up of one entry */
  double max_scale;             /* the largest scale given (time to spare: longer measurements, up to this) */
  double asked_s;               /* sampling asked so far, at scale 1 */
  double setups_done;           /* entries set up so far */
  double setup_spent_s;         /* and the time that took */
} hwt_tune_pace;

void hwt_tune_pace_begin(hwt_tune_pace *pc, double share_s, double sampling_s, double setups, double setup_s,
                         double max_scale);
/* The scale for the next measurement, elapsed_s into the problem: in [HWT_TUNE_MIN_SCALE, max_scale]. */
double hwt_tune_pace_scale(const hwt_tune_pace *pc, double elapsed_s);
/* One race (or lone measurement) done: its entries, the sampling it asked at scale 1 and its set-up time. */
void hwt_tune_pace_note(hwt_tune_pace *pc, size_t entries, double asked_s, double setup_s);
/* One entry's set-up: as measured in this problem, else the prediction. */
double hwt_tune_pace_setup_s(const hwt_tune_pace *pc);
/* The first problem's share of `left` seconds when problems 0..n-1 are still to run: in proportion to their
 * planned times (sampling plus predicted set-ups), so problems whose set-ups are costly get the time for them. */
double hwt_tune_share_s(double left, const double *planned, size_t n);

/* Measures the whole space at the final precision (raced in groups of up to 16 configurations), then races the
 * eight fastest and XNNPACK on 1 thread side by side and picks among them by the same rule. */
hwt_status hwt_tune_exhaustive(const hwt_tune_problem *p, const hwt_tune_machine *m, const hwt_tune_measurer *mm,
                               hwt_tune_outcome *out, char *err, size_t errlen);

/* ---------------------------------------------------------------- quality check */

/* One (op, shape, batch) of a tuned profile and a reference profile (an --exhaustive run on the same machine). */
typedef struct hwt_tune_check_row {
  char op[16], shape[64];
  size_t batch;
  hwt_tune_candidate tuned;     /* the tuned profile's choice */
  hwt_tune_candidate best;      /* the faster of the reference's choice and runner-up, over all five races */
  double tuned_ns, best_ns;     /* medians measured side by side now */
  double ratio, ratio_lo, ratio_hi;   /* tuned / best, with the range the two 95% CIs allow (each race's ratio is
                                       * to the reference configuration faster in the other races) */
  size_t measured, space;       /* configurations the tuner measured; the space (the reference's count) */
} hwt_tune_check_row;

/* For every (op, shape, batch) in both profiles: races the tuned choice, the reference's choice and the
 * reference's runner-up side by side (`seconds` each, through mm->race, else one by one), so the ratio does
 * not carry the drift between the two runs that made the profiles. The time is split over five races with
 * fresh set-ups; the ratio is the median of theirs, its range spans their CIs. A race's ratio is to the
 * reference configuration that was faster in the other four races (picked on the race itself, luck would pick).  Errors name the file and entry.
 * *rows is malloc'ed. */
hwt_status hwt_tune_check(const char *tuned_path, const char *ref_path, const hwt_tune_measurer *mm, double seconds,
                          hwt_tune_check_row **rows, size_t *nrows, char *err, size_t errlen);

/* ---------------------------------------------------------------- a model's layer problems (tune --model) */

struct hwt_model; /* engine.h */

/* One distinct layer problem of a model: the bench shape whose (op, n, k) is the engine's profile query for a
 * fc / conv / dwconv node (engine.h hwt_layer_query: fc n = outputs, k = inputs; conv n = output channels,
 * k = kh * kw * input channels; dwconv n = channels, k = kh * kw). */
typedef struct hwt_tune_layer_shape {
  hwt_bench_op op;
  hwt_bench_shape shape;        /* "NxK" or "HxWxC:OC:kKHxKWsSpP" */
  size_t layers;                /* nodes of the model with this problem */
  char first[64];               /* the first such node's name */
} hwt_tune_layer_shape;

/* The distinct problems of m's fc / conv / dwconv nodes (one per profile key: op, n, k) for the ops in `ops`, in
 * node order: an fp32 model's nodes under the f32 ops and, when qs8 ops are asked, its int8 twin's (what the
 * audit's post-training quantization runs: every node int8 but the classifier, whose float logits make it a
 * gemm_f32 problem); an int8 model's nodes under the qs8 ops (the classifier likewise gemm_f32). Nodes the bench
 * cannot measure (grouped convolutions other than depthwise, dilation, unequal strides) are left out with a
 * sentence each in notes ("; "-separated; asymmetric padding is measured symmetric, also noted). *out is
 * malloc'ed (NULL with 0 problems). */
hwt_status hwt_tune_model_shapes(const struct hwt_model *m, const hwt_bench_op *ops, size_t nops,
                                 hwt_tune_layer_shape **out, size_t *count, char *notes, size_t noteslen, char *err,
                                 size_t errlen);

/* ---------------------------------------------------------------- the whole model (tune --model) */

/* One end-to-end race of a model at one batch: the three plans of hwtune/profile.h (index = hwt_profile_plan):
 * single-thread (the engine's defaults on 1 thread), default (the engine's defaults: XNNPACK on every usable CPU),
 * tuned (the profile's per-layer entries). */
typedef struct hwt_tune_model_race {
  size_t batch;
  unsigned usable_cpus;
  bool measured[hwt_profile_plan_count];
  hwt_tune_measurement meas[hwt_profile_plan_count];  /* p50 of single runs; 95% CI of the median over the
                                                       * rounds' medians (a turn's runs share one moment); p99 */
  hwt_profile_plan winner;     /* hwt_profile_plan_count when nothing was measured */
  size_t rounds;               /* interleaved rounds: every plan one turn (a burst of runs) per round */
  double seconds;              /* sampling time */
  double load1_before, load1_after;  /* /proc/loadavg (1 minute), -1 unknown */
  double foreign;              /* other processes' share of the usable CPUs during the race, -1 unknown */
  double max_diff;             /* largest |difference| of output 0 between each plan and the default */
} hwt_tune_model_race;

/* The tuner's rule (hwt_tune_choose) over the plans, simplest first: single-thread, default, tuned. A plan
 * replaces the choice only when its ci_high < the choice's ci_low: tuned must be faster than both beyond the
 * noise to win. hwt_profile_plan_count when none is measured. */
hwt_profile_plan hwt_tune_model_choose(const hwt_tune_measurement *meas, const bool *measured);

/* Races whole-model runs of the three plans on m at `batch` (tuned: the profile as it will be written; NULL =
 * not raced) on the same deterministic input, in interleaved rounds (single, default, tuned, single, ...: each a
 * burst of ~seconds/90 of runs, every run timed) for `seconds` and at least 5 rounds; stops early when *stop.
 * Engines are created before and destroyed after the sampling. */
hwt_status hwt_tune_race_model(const struct hwt_model *m, size_t batch, const hwt_profile *tuned, double seconds,
                               volatile int *stop, hwt_tune_model_race *out, char *err, size_t errlen);

/* The profile's model entry (docs/profile-schema.md, "models"). New reference. Objective "throughput" also
 * records slo_ms (<= 0: null) and choice_batch, the batch picked for the model (0 = none met the SLO: null). */
json_t *hwt_tune_model_json(const hwt_model_id *id, const char *precision, const hwt_tune_model_race *r,
                            const char *objective, size_t choice_batch, double slo_ms, const char *created);

/* The race as a table: p50 [95% CI], p99, ratio to default (and items/s), the winner and why. */
void hwt_tune_model_table(FILE *f, const char *name, const char *precision, const hwt_tune_model_race *r,
                          bool throughput);

/* ---------------------------------------------------------------- sparse break-even (sparse.c) */

#define HWT_TUNE_SPARSE_LEVELS 6
/* The sparsities measured: 0.5, 0.6, 0.7, 0.8, 0.9, 0.95. */
extern const double hwt_tune_sparse_levels[HWT_TUNE_SPARSE_LEVELS];

typedef struct hwt_tune_sparse_result {
  size_t npoints;
  double sparsity[HWT_TUNE_SPARSE_LEVELS], speedup[HWT_TUNE_SPARSE_LEVELS];  /* speedup = dense / sparse median */
  double dense_ns[HWT_TUNE_SPARSE_LEVELS], sparse_ns[HWT_TUNE_SPARSE_LEVELS];
  double break_even;            /* HUGE_VAL when never */
  bool never;
  hwt_isa isa;                  /* the sparse plan's */
  char format[24];              /* hwt_spmm_f32_plan_format */
} hwt_tune_sparse_result;

/* gemm_f32 problems and 1x1 stride-1 unpadded conv_f32 ones: what the engine may run sparse. */
bool hwt_tune_sparse_eligible(const hwt_tune_problem *p);
/* From points in ascending sparsity: the sparsity from which the sparse kernel wins at every measured point,
 * interpolated linearly for speedup 1 between the last losing point and the next; s[0] when it wins everywhere;
 * HUGE_VAL with *never when it does not win at the last point. */
double hwt_tune_sparse_break_even(const double *s, const double *speedup, size_t n, bool *never);
/* Measures the dense configuration `dense` (own GEMM plan or XNNPACK fully-connected, its threads) against the
 * sparse plan at each level on the same random weights (a random order of them zeroed, unstructured), bursts
 * alternating dense / sparse, medians; about max_s seconds in all. */
hwt_status hwt_tune_sparse_measure(const hwt_tune_problem *p, const hwt_tune_candidate *dense, double max_s,
                                   hwt_tune_sparse_result *out, char *err, size_t errlen);
/* The entry's "sparse" record: {"break_even": x | null, "points": [[s, speedup], ...], "kernel": "csr scalar"}. */
json_t *hwt_tune_sparse_json(const hwt_tune_sparse_result *r);

/* ---------------------------------------------------------------- profile */

/* One profile entry as JSON (see docs/profile-schema.md). New reference. */
json_t *hwt_tune_entry_json(const hwt_tune_problem *p, const hwt_tune_outcome *o, size_t choice_batch,
                            double throughput_per_s);

enum {
  HWT_TUNE_WRITE_FORCE = 1u << 0,   /* replace another machine's profile at the path (its entries are lost) */
  HWT_TUNE_WRITE_MKDIRS = 1u << 1,  /* create missing parent directories (for the default paths only: a --out
                                       into a directory that does not exist is refused, as bench/audit do) */
};

/* Whether `path` may take this machine's profile, checked before a run so that no tuning is lost to a refusal:
 *   - the directory must exist, unless HWT_TUNE_WRITE_MKDIRS (hwt_status_not_found, "... does not exist");
 *   - an existing file must load (its loader status, "not overwriting it");
 *   - an existing profile must be this machine's, unless HWT_TUNE_WRITE_FORCE (hwt_status_mismatch; the message
 *     names the file, both fingerprints and the differing fields). "This machine's" is the rule libhwtune applies
 *     when it opens a profile: every field it records equals this machine's (`machine_fields`), or the
 *     fingerprints are equal. The usable CPUs (affinity, cgroup quota) are not a field: a run under
 *     `taskset -c 0` is the same machine as one on all CPUs, although detect's fingerprint differs.
 * *old_entries (may be NULL) is the number of entries already at the path (0 when there is no file). */
hwt_status hwt_tune_profile_target(const char *path, unsigned flags, const char *fingerprint, json_t *machine_fields,
                                   size_t *old_entries, char *err, size_t errlen);

/* Writes a profile after the same checks (flags as above): existing entries of this machine's profile at `path`
 * are kept unless `entries` has the same (op, dtype, shape, batch); another machine's are replaced only with
 * HWT_TUNE_WRITE_FORCE. The file is written to a temporary file and renamed. `machine_fields` is
 * hwt_profile_machine_probe()'s fields, fingerprint detect's. `meta` holds objective, budget_s, slo_ms, created,
 * hwtune_version, xnnpack_version (borrowed). *kept and *replaced count kept and replaced old entries. */
hwt_status hwt_tune_write_profile(const char *path, unsigned flags, json_t *meta, const char *fingerprint,
                                  json_t *machine_fields, json_t *entries, size_t *kept, size_t *replaced, char *err,
                                  size_t errlen);

/* The same with whole-model races (`models`: hwt_tune_model_json objects, may be NULL): old models of this
 * machine's profile at `path` are kept unless `models` has one with the same (sha256, precision, batch). Plain
 * hwt_tune_write_profile keeps every old model. */
hwt_status hwt_tune_write_profile_models(const char *path, unsigned flags, json_t *meta, const char *fingerprint,
                                         json_t *machine_fields, json_t *entries, json_t *models, size_t *kept,
                                         size_t *replaced, char *err, size_t errlen);
/* What hwt_tune_write_profile_models would write, checked by the loader, without writing it (*text malloc'ed):
 * tune --model races the tuned plan with the profile as it will be. */
hwt_status hwt_tune_profile_merged(const char *path, unsigned flags, json_t *meta, const char *fingerprint,
                                   json_t *machine_fields, json_t *entries, json_t *models, char **text,
                                   size_t *kept, size_t *replaced, char *err, size_t errlen);

/* The profile document text for entries (one entry per line, so diffs stay readable). malloc'ed. */
char *hwt_tune_profile_text(json_t *meta, const char *fingerprint, json_t *machine_fields, json_t *entries);
/* The same with a "models" section after the entries (omitted when models is NULL or empty). */
char *hwt_tune_profile_text_models(json_t *meta, const char *fingerprint, json_t *machine_fields, json_t *entries,
                                   json_t *models);

#ifdef __cplusplus
}
#endif
