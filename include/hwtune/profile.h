/* SPDX-License-Identifier: Apache-2.0 */
/* libhwtune: load a per-machine tuning profile (schema hwtune.profile/1), check it against this machine, and
 * look up the tuned choice (implementation, ISA, threads, blocking) for a layer.
 *
 * An inference runtime makes three calls:
 *
 *   hwt_profile *p = NULL;
 *   char msg[512];
 *   if (hwt_profile_open(NULL, NULL, 0, &p, msg, sizeof msg) != hwt_status_ok) fprintf(stderr, "%s\n", msg);
 *   hwt_profile_choice c;                          // p may be NULL here: lookups then return the default
 *   hwt_profile_lookup(p, &(hwt_profile_query){.op = "gemm_f32", .dtype = "f32", .n = 512, .k = 784,
 *                                              .batch = 1, .max_threads = usable_cpus}, &c);
 *   ...
 *   hwt_profile_free(p);
 *
 * Conventions (see status.h): functions that can fail return hwt_status and write a one-line message into the
 * caller's buffer (msg may be NULL, the message is truncated to msglen). Nothing here aborts or exits, and a
 * corrupt or hostile file gives a status, never a crash. Messages name the file and
 *   - for JSON syntax errors (hwt_status_parse_error): line:column,  "p.json:3:17: expected ',' or '}' ..."
 *   - for schema errors (hwt_status_schema_error): the field path and its line:column,
 *                                                  "p.json: entries[2].choice.threads (4:33): expected ..."
 * A loaded profile is immutable: hwt_profile_lookup and every accessor are thread-safe, allocation-free and
 * lock-free. hwt_profile_free accepts NULL. The library depends on libc and libm only.
 *
 * Default profile path (the path `hwtune tune` also copies its profile to):
 *   $HWTUNE_PROFILE when set and non-empty, else $XDG_DATA_HOME/hwtune/profile.json when XDG_DATA_HOME is set and
 *   absolute, else $HOME/.local/share/hwtune/profile.json. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hwtune/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HWT_PROFILE_SCHEMA "hwtune.profile/1"
#define HWT_PROFILE_ENV "HWTUNE_PROFILE"

/* ---- the machine a profile belongs to -------------------------------------------------------------------- */

#define HWT_PROFILE_MAX_FIELDS 32
#define HWT_PROFILE_FIELD_NAME 32   /* bytes, including the NUL */
#define HWT_PROFILE_FIELD_VALUE 128 /* bytes, including the NUL; longer values are truncated */

typedef struct hwt_profile_field {
  char name[HWT_PROFILE_FIELD_NAME];   /* "arch", "vendor", "brand", "family", "model", "stepping", "isa", "l1d", ... */
  char value[HWT_PROFILE_FIELD_VALUE]; /* always a string ("x86_64", "6", "avx2 avx512f fma", "49152") */
} hwt_profile_field;

/* The identifying fields of a machine. A profile stores the ones of the machine it was tuned on. */
typedef struct hwt_profile_machine {
  char fingerprint[40];        /* `hwtune detect` fingerprint; "" = unknown (then only fields are compared) */
  size_t nfields;
  hwt_profile_field fields[HWT_PROFILE_MAX_FIELDS];
} hwt_profile_machine;

/* Fills *out with this machine's identifying fields, read from uname, /proc/cpuinfo and sysfs (no hwloc, no
 * cpuid library): arch, vendor, brand (x86: model name; arm64: implementer/part), family, model, stepping, isa
 * (the SIMD features hwtune's kernels care about, in a fixed order, space separated), l1d, l2, l3 (bytes of one instance,
 * "0" when unknown) and cpus (configured logical CPUs). Fingerprint is left "" (libhwtune does not run detect).
 * `hwtune tune` records exactly these fields, so a profile is checked field by field. Unreadable sources give
 * "unknown" values, never a failure; the status is hwt_status_invalid_argument only for out == NULL. */
hwt_status hwt_profile_machine_probe(hwt_profile_machine *out);

/* ---- loading ------------------------------------------------------------------------------------------------- */

typedef struct hwt_profile hwt_profile;

/* Writes the default profile path (see the top of this file) into buf. hwt_status_not_found when neither
 * HWTUNE_PROFILE, XDG_DATA_HOME nor HOME is usable; hwt_status_invalid_argument when buf is too small. */
hwt_status hwt_profile_default_path(char *buf, size_t buflen);

/* Parses and validates a profile file. On success *out owns the profile (free with hwt_profile_free); on
 * failure *out is NULL. Statuses: io_error (cannot open/read; errno text in msg), parse_error (not JSON,
 * truncated, numbers that are not representable, nesting deeper than 64, strings that are not UTF-8),
 * schema_error (missing field, wrong type, value out of range, unknown schema version, duplicate key in an
 * object, duplicate entry for one (op, dtype, shape, batch), machine fields that identify no machine, an entry
 * whose shape contradicts its n and k), out_of_memory, invalid_argument (NULL path or out).
 *
 * Strings must be UTF-8 as RFC 8259 and RFC 3629 define it: invalid bytes, overlong forms, UTF-16 surrogates
 * encoded in UTF-8 and code points above U+10FFFF are parse errors (Python's json rejects these files too).
 * \u escapes must encode scalar values: an unpaired surrogate escape such as "\ud800" is a parse error as well
 * (Python accepts it, but it has no UTF-8 form, and the strings handed out here are UTF-8), and so is \u0000.
 * machine.fields must name "arch" and at least one of "brand", "model", "isa" with a value other than "unknown":
 * an empty set would match every machine. For the ops gemm_* ("NxK") and conv_*, dwconv_*
 * ("HxWxC:OC:kK[xKW][sS][pP]") the shape string must parse and mean the entry's n and k (gemm: n = N, k = K;
 * conv: n = OC, or C when OC is empty, k = KH*KW*C, for dwconv KH*KW with OC = C); other ops' shapes are opaque. */
hwt_status hwt_profile_load(const char *path, hwt_profile **out, char *msg, size_t msglen);

/* The same from memory; `name` is used in messages in place of a file name (NULL = "<buffer>"). */
hwt_status hwt_profile_load_buffer(const void *data, size_t len, const char *name, hwt_profile **out, char *msg,
                                   size_t msglen);

/* ---- checking against this machine --------------------------------------------------------------------------- */

typedef struct hwt_profile_diff {
  char field[HWT_PROFILE_FIELD_NAME];
  char profile_value[HWT_PROFILE_FIELD_VALUE];  /* "(absent)" when the profile does not record the field */
  char current_value[HWT_PROFILE_FIELD_VALUE];  /* "(absent)" when `current` does not have it */
} hwt_profile_diff;

typedef struct hwt_profile_mismatch {
  size_t ndiffs;
  hwt_profile_diff diffs[HWT_PROFILE_MAX_FIELDS + 1];  /* + "fingerprint" */
} hwt_profile_mismatch;

/* Compares the profile's machine with `current`: every field the profile records is compared with the field of
 * the same name in `current` (a field missing on either side differs); the fingerprints are compared when both
 * are non-empty. Returns hwt_status_ok on a match, hwt_status_mismatch with the differing fields in *diffs
 * (may be NULL) and a message listing them ("profile 'p.json' was tuned on another machine: brand 'X' here 'Y';
 * l2 ..."), or invalid_argument for NULL profile/current. Does not allocate. */
hwt_status hwt_profile_check(const hwt_profile *profile, const hwt_profile_machine *current,
                             hwt_profile_mismatch *diffs, char *msg, size_t msglen);

enum {
  HWT_PROFILE_ACCEPT_MISMATCH = 1u << 0,  /* hwt_profile_open keeps a mismatched profile (status ok, msg warns) */
};

/* The start-up call: loads `path` (NULL = hwt_profile_default_path), checks it against `current` (NULL = this
 * machine, hwt_profile_machine_probe), and by default refuses a profile tuned on another machine: it is freed,
 * *out is NULL and the status is hwt_status_mismatch. With HWT_PROFILE_ACCEPT_MISMATCH the profile is kept,
 * the status is ok and msg still describes the difference. On ok without mismatch msg is "" . */
hwt_status hwt_profile_open(const char *path, const hwt_profile_machine *current, unsigned flags, hwt_profile **out,
                            char *msg, size_t msglen);

/* Accepts NULL. */
void hwt_profile_free(hwt_profile *profile);

/* ---- lookups ------------------------------------------------------------------------------------------------- */

typedef struct hwt_profile_query {
  const char *op;       /* results-schema op name: "gemm_f32", "gemm_qs8", "conv_f32", "dwconv_qs8", ... */
  const char *dtype;    /* "f32", "qs8"; NULL = any dtype of that op */
  const char *shape;    /* optional shape string as tuned ("1024x1024", "56x56x64:128:k3s1p1"); NULL = match on
                           n, k and batch only */
  uint64_t n, k;        /* gemm: outputs, inputs; conv: output channels, kh*kw*in_channels/groups */
  uint64_t batch;       /* gemm: rows of A; conv: images. 0 is treated as 1 */
  unsigned max_threads; /* 0 = no limit of the caller's; else the chosen thread count is clamped to it. The
                           lookup also clamps to hwt_profile_usable_cpus() (the calling thread's affinity): pass
                           a smaller bound for a cgroup CPU quota, which libhwtune does not read */
  double max_distance;  /* 0 = no limit; a nearest shape farther than this gives the default instead */
} hwt_profile_query;

typedef enum hwt_profile_match {
  hwt_profile_match_exact = 0,  /* an entry with the same op, dtype, n, k, batch (and shape, when given) */
  hwt_profile_match_nearest,    /* the closest entry of the same op (and dtype), by distance below */
  hwt_profile_match_default,    /* no usable entry: the documented default choice */
} hwt_profile_match;

/* Distance between a query and a tuned entry of the same op and dtype:
 *     d = |log2(n/n')| + |log2(k/k')| + |log2(batch/batch')|
 * i.e. the number of doublings apart, summed over the three dimensions (0 = same dimensions). The entry with the
 * smallest d wins; ties go to the entry with the smaller (n, k, batch), then the earlier shape string.
 *
 * The default choice (no profile, no entry for the op/dtype, or d > max_distance): impl "xnnpack", isa "auto",
 * 1 thread, blocking 0/0/0 (kernel defaults), batch = the query's batch. XNNPACK on one thread is the simplest
 * choice, and the tuner only leaves it for something measurably better. */
typedef struct hwt_profile_choice {
  hwt_profile_match match;
  double distance;          /* 0 for exact, d for nearest, HUGE_VAL for default */
  char impl[16];            /* "xnnpack", "own", "reference" */
  char isa[16];             /* "auto" for xnnpack, else the kernel ISA token ("avx2", "neondot", ...) */
  unsigned threads;         /* >= 1, after the clamp to max_threads and to the usable CPUs */
  bool threads_clamped;     /* the profile chose more threads than max_threads or the usable CPUs allow; the
                               tuned count is hwt_profile_entry(profile, entry, &e) -> e.threads */
  uint64_t mc, kc, nc;      /* own kernels' blocking; 0 = the kernel's default for that field */
  uint64_t batch;           /* batch to run with: the tuned choice's batch (throughput objective may pick a
                               larger one than asked), the query's batch for latency entries and the default */
  /* The entry the choice came from (NULL / 0 for the default). Pointers stay valid until hwt_profile_free. */
  const char *op, *dtype, *shape;
  uint64_t entry_n, entry_k, entry_batch;
  double median_ns, ci_low_ns, ci_high_ns;  /* its measurement on the tuning machine */
  size_t entry;             /* index for hwt_profile_entry, SIZE_MAX for the default */
} hwt_profile_choice;

/* The number of CPUs the calling thread may run on (sched_getaffinity), which hwt_profile_lookup clamps the
 * chosen threads to; 0 when unknown (then there is no such clamp). A profile tuned on 2 CPUs looked up under
 * `taskset -c 0` gives 1 thread, with threads_clamped set. Cheap (one system call), allocation-free, thread-safe.
 * cgroup CPU quotas are not read (`hwtune detect` reports them): pass them as max_threads. Since HWTUNE_0.1. */
unsigned hwt_profile_usable_cpus(void);

/* Never fails: fills *out and returns out->match. A NULL profile (none loaded, or refused) or a NULL/empty
 * query op gives the default. Thread-safe, allocation-free. */
hwt_profile_match hwt_profile_lookup(const hwt_profile *profile, const hwt_profile_query *query,
                                     hwt_profile_choice *out);

/* ---- sparse kernels on pruned layers (`hwtune tune`: fc and 1x1 conv fp32 entries) ---------------------------- *
 * An entry may record where our sparse kernel (hwtune/spmm.h) overtakes the entry's tuned dense choice on a pruned
 * layer of that shape: the break-even sparsity, and the measured points (docs/profile-schema.md, "sparse").
 * Profiles without it load as before. */

#define HWT_PROFILE_SPARSE_POINTS 12

typedef struct hwt_profile_sparse {
  hwt_profile_match match;  /* exact, nearest (the closest entry that has "sparse", same distance as lookups), or
                               default: no such entry within max_distance (then nothing below is set: break_even
                               is NaN, npoints 0) */
  double distance;          /* 0 exact, d nearest, HUGE_VAL default */
  bool never;               /* the sparse kernel won at none of the measured sparsities */
  double break_even;        /* sparsity in [0, 1] from which the sparse kernel is faster; HUGE_VAL when never */
  size_t npoints;
  double sparsity[HWT_PROFILE_SPARSE_POINTS];  /* measured sparsities, ascending as in the file */
  double speedup[HWT_PROFILE_SPARSE_POINTS];   /* dense median / sparse median at that sparsity (> 1: sparse wins) */
  const char *op, *dtype, *shape;              /* the entry (NULL for the default); valid until hwt_profile_free */
  uint64_t entry_n, entry_k, entry_batch;
  size_t entry;             /* index for hwt_profile_entry, SIZE_MAX for the default */
} hwt_profile_sparse;

/* The break-even of the query's layer shape: the exact entry when it has "sparse", else the nearest entry of the
 * same op (and dtype) that has it, by the distance of hwt_profile_lookup; max_distance applies the same way.
 * max_threads and shape-only matching are ignored (the shape, when given, must match for an exact match).
 * Never fails; thread-safe, allocation-free. Since HWTUNE_0.3. */
hwt_profile_match hwt_profile_lookup_sparse(const hwt_profile *profile, const hwt_profile_query *query,
                                            hwt_profile_sparse *out);
/* Entry i's "sparse" record as an exact match; false when out of range or the entry has none. Since HWTUNE_0.3. */
bool hwt_profile_entry_sparse(const hwt_profile *profile, size_t i, hwt_profile_sparse *out);

/* ---- listing and metadata ------------------------------------------------------------------------------------ */

/* Number of entries (0 for NULL). */
size_t hwt_profile_count(const hwt_profile *profile);
/* Entry i (0 <= i < count) as an exact choice; false when out of range. Entries are grouped by (op, dtype) in
 * order of first appearance in the file, then sorted by n, k, batch, shape. */
bool hwt_profile_entry(const hwt_profile *profile, size_t i, hwt_profile_choice *out);

/* Top-level metadata strings: "path" (the file loaded or the buffer name), "fingerprint", "created",
 * "objective" ("latency" or "throughput"), "hwtune_version", "xnnpack_version". NULL when absent or unknown key. */
const char *hwt_profile_meta(const hwt_profile *profile, const char *key);

/* ---- whole models (`hwtune tune --model`) ---------------------------------------------------------------------- *
 * After tuning a model's layers, `hwtune tune --model` races whole-model runs of three plans and records the
 * outcome in the profile's "models" section (see docs/profile-schema.md). A runtime that opens that model applies
 * the winner: "tuned" = the per-layer entries, "default" = no per-layer entries (the runtime's defaults),
 * "single-thread" = the defaults on one thread. Profiles without the section load as before (no models). */

typedef enum hwt_profile_plan {
  hwt_profile_plan_single_thread = 0, /* the simplest: the default plan on 1 thread */
  hwt_profile_plan_default,           /* the runtime's defaults, no per-layer entries */
  hwt_profile_plan_tuned,             /* the per-layer entries of the profile */
  hwt_profile_plan_count
} hwt_profile_plan;

/* "single-thread", "default", "tuned"; "unknown" out of range. Since HWTUNE_0.2. */
const char *hwt_profile_plan_name(hwt_profile_plan plan);

/* One raced model: keyed by (sha256, precision, batch); strings stay valid until hwt_profile_free. */
typedef struct hwt_profile_model {
  const char *file;         /* the model file's base name when tuned (informative: lookups use the hash) */
  const char *sha256;       /* 64 lowercase hex digits: the model's content hash (engine/profile_model.h) */
  const char *precision;    /* "fp32" or "int8" */
  uint64_t batch;           /* the batch raced */
  hwt_profile_plan winner;  /* the plan to run this model with at this batch */
  uint64_t choice_batch;    /* throughput objective: the batch picked for the model (0: none met the SLO);
                               latency: = batch */
  double p50_ns[hwt_profile_plan_count], p99_ns[hwt_profile_plan_count];  /* end-to-end, 0 = not measured */
  size_t index;             /* position in the file's "models" array */
} hwt_profile_model;

/* Number of models (0 for NULL). Since HWTUNE_0.2. */
size_t hwt_profile_model_count(const hwt_profile *profile);
/* Model i in file order; false when out of range. Since HWTUNE_0.2. */
bool hwt_profile_model_entry(const hwt_profile *profile, size_t i, hwt_profile_model *out);
/* The model entry of (sha256, precision, batch); false when the profile has none (then the per-layer entries
 * apply as before). Allocation-free, thread-safe. Since HWTUNE_0.2. */
bool hwt_profile_model_find(const hwt_profile *profile, const char *sha256, const char *precision, uint64_t batch,
                            hwt_profile_model *out);

#ifdef __cplusplus
}
#endif
