/* SPDX-License-Identifier: Apache-2.0 */
/* The audit run: latency (tuned vs default), per-layer bottlenecks, memory, int8 vs fp32 accuracy, abnormal
 * inputs and --mem-limit in forked children, single-thread run, soak; all into one hwtune.audit/1 document. */
#define _GNU_SOURCE 1 /* sched_getaffinity, CPU_* */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../detect/detect_internal.h" /* hwt_cgroup_quota, hwt_usable_cpus: the usable CPUs as detect counts them */
#include "audit.h"
#include "cmd_io.h" /* hwt_cli_value_dims: a graph input's dims in the file's layout, as `hwtune run` checks them */
#include "hwt_stats.h"
#include "noise.h"
#include "hwtune/hw_json.h"
#include "hwt_common.h"
#include "hwtune/hw.h"
#include "hwtune/profile.h"
#include "hwtune_build_info.h"
#include "profile_model.h" /* hwt_engine_profile_bind: a profile's model entry */
#include "onnx.h" /* hwt_tensor_read: the user's .npy / .pb files */

#if defined(__SANITIZE_ADDRESS__)
#define AUDIT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AUDIT_ASAN 1
#endif
#endif

static const char *const prec_name[2] = {"fp32", "int8"};

void hwt_audit_opts_default(hwt_audit_opts *o) {
  memset(o, 0, sizeof(*o));
  o->fp32 = o->int8 = true;
  o->batches[0] = 1;
  o->nbatches = 1;
  o->bench_s = 1.0;
  o->accuracy_inputs = 100;
  o->calib_inputs = 32;
  o->measure_peaks = true;
  o->abnormal = true;
}

typedef struct audit {
  const hwt_audit_opts *o;
  hwt_model *model[2];      /* fp32, int8 (NULL when not run) */
  hwt_profile *profile;
  bool model_entry_noted[2]; /* the profile's model entry reported once per precision */
  hwt_hw *hw;               /* NULL when detect failed */
  unsigned threads;         /* --threads clamped to the usable CPUs, or all usable CPUs */
  unsigned usable;          /* min(affinity count, floor(cgroup quota)), at least 1 */
  int cpus[HWT_MAX_CPUS];   /* the affinity mask: where this process's threads may run */
  size_t ncpus;
  char usable_note[320];
  size_t in_size, out_size;
  json_t *doc, *phases, *findings;
  double last_rss, last_live;
  double step_mb;
  size_t runtime_peak; /* over the whole run (phase() resets the allocator's peak) */
  char step_phase[96];
  /* noise: load before, then per measured phase (the /proc/stat snapshots are large: heap) */
  hwt_cpu_times *t0, *t1;
  unsigned long long wait0;
  double load_before[HWT_MAX_CPUS];
  bool have_before;
  hwt_audit_phase_noise nph[2 * HWT_AUDIT_MAX_BATCH * 2 + 4];
  size_t nnph;
  hwt_audit_thread_check chk[2 * HWT_AUDIT_MAX_BATCH * 2];
  size_t nchk;
  bool keep_values;         /* engines built now keep every value apart (the per-layer int8 comparison) */
  json_t *plan;             /* the memory plan of each (precision, batch) engine */
  /* the user's data (--inputs FILE): ndata samples of input 0 in its external layout; NULL = generated inputs */
  float *data;
  size_t ndata;
  float *cal;               /* --calibration samples (ncal), NULL = none given */
  size_t ncal;
  size_t *labels;           /* ndata class indices (--labels), NULL = none */
  size_t classes;           /* per-sample size of output 0: the classes labels index */
  size_t scored0;           /* first scored sample of data: the ones before it calibrated int8 */
  size_t ncal_used;         /* samples int8 was calibrated on here (0: not quantized by the audit) */
  json_t *data_j;           /* the document's "data" section */
  bool int8_file;           /* the model file is int8 (QDQ): no fp32 twin */
  hwt_model *prune_model;   /* --prune with --precision int8: the fp32 model, for the pruning section only */
  hwt_status fatal;         /* first failure that makes the report meaningless (exit 1, no report) */
  char fatal_msg[1024];
} audit;

/* Records the first failure after which the audit cannot report anything true; hwt_audit_run returns it. */
static void fail_at(audit *a, hwt_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_at(audit *a, hwt_status st, const char *fmt, ...) {
  if (a->fatal != hwt_status_ok) return;
  a->fatal = st;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a->fatal_msg, sizeof(a->fatal_msg), fmt, ap);
  va_end(ap);
}

/* Usable CPUs as detect and bench count them: the affinity mask, at most floor(cgroup quota) of them. */
static void find_usable_cpus(audit *a) {
  cpu_set_t set;
  CPU_ZERO(&set);
  a->ncpus = 0;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    for (int c = 0; c < CPU_SETSIZE && a->ncpus < HWT_MAX_CPUS; c++)
      if (CPU_ISSET(c, &set)) a->cpus[a->ncpus++] = c;
  if (a->ncpus == 0) a->cpus[a->ncpus++] = 0;
  double quota = -1;
  char qnote[200];
  hwt_cgroup_quota(NULL, &quota, qnote, sizeof(qnote));
  a->usable = hwt_usable_cpus(a->ncpus, quota);
  snprintf(a->usable_note, sizeof(a->usable_note), "affinity %zu CPU%s (sched_getaffinity); %s", a->ncpus,
           a->ncpus == 1 ? "" : "s", qnote);
}

/* Load from other processes on each usable CPU over 200 ms before the measurements (as bench's session; 200 ms
 * is 20 ticks of /proc/stat per CPU, 100 ms sat at the 10-tick floor below which a CPU is not judged). */
static void noise_before(audit *a) {
  if (a->t0 == NULL || a->t1 == NULL || !hwt_cpu_times_read(a->t0, NULL)) return;
  struct timespec ts = {0, 200 * 1000 * 1000};
  nanosleep(&ts, NULL);
  if (!hwt_cpu_times_read(a->t1, NULL)) return;
  for (size_t i = 0; i < a->ncpus; i++)
    a->load_before[i] = hwt_cpu_foreign_load(a->t0, a->t1, &a->cpus[i], 1, false, NULL, NULL);
  a->have_before = true;
}

/* The most threads any layer of `e` runs (0 for NULL). */
static unsigned engine_max_threads(const hwt_engine *e) {
  unsigned most = 0;
  for (size_t i = 0; e != NULL && i < hwt_engine_model(e)->nlayers; i++)
    if (hwt_engine_layer_choice(e, i)->threads > most) most = hwt_engine_layer_choice(e, i)->threads;
  return most;
}

/* Brackets a measured phase: /proc/stat and this process's run-queue waits before and after. */
static void noise_begin(audit *a) {
  if (a->t0 != NULL && !hwt_cpu_times_read(a->t0, NULL)) a->t0->valid = false;
  a->wait0 = hwt_audit_runq_wait_ns();
}

static void noise_end(audit *a, unsigned threads, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void noise_end(audit *a, unsigned threads, const char *fmt, ...) {
  unsigned long long wait1 = hwt_audit_runq_wait_ns();
  if (a->t0 == NULL || a->t1 == NULL || a->nnph >= sizeof(a->nph) / sizeof(a->nph[0])) return;
  if (!hwt_cpu_times_read(a->t1, NULL)) a->t1->valid = false;
  hwt_audit_phase_noise *p = &a->nph[a->nnph++];
  memset(p, 0, sizeof(*p));
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->label, sizeof(p->label), fmt, ap);
  va_end(ap);
  p->threads = threads;
  p->wall_s = a->t0->valid && a->t1->valid ? (double) (a->t1->wall_ns - a->t0->wall_ns) / 1e9 : 0;
  hwt_audit_phase_load(a->t0, a->t1, a->cpus, a->ncpus, p); /* our own ticks charged to the busiest CPUs first */
  /* a thread that ended during the phase takes its waits with it: never below 0 */
  p->runq_wait_s = wait1 == 0 && a->wait0 == 0 ? -1 : wait1 > a->wait0 ? (double) (wait1 - a->wait0) / 1e9 : 0;
}

static json_t *noise_json(const audit *a) {
  json_t *cpus = json_array(), *before = json_array(), *phases = json_array();
  for (size_t i = 0; i < a->ncpus; i++) {
    json_array_append_new(cpus, json_integer(a->cpus[i]));
    if (a->have_before)
      json_array_append_new(before, json_pack("{s:i,s:o}", "cpu", a->cpus[i], "load",
                                              a->load_before[i] >= 0 ? json_real(a->load_before[i]) : json_null()));
  }
  for (size_t i = 0; i < a->nnph; i++) {
    const hwt_audit_phase_noise *p = &a->nph[i];
    double rq = hwt_audit_runq_share(p);
    json_t *r = json_pack("{s:s,s:I,s:f}", "phase", p->label, "threads", (json_int_t) p->threads, "seconds", p->wall_s);
    json_object_set_new(r, "load", p->load >= 0 ? json_real(p->load) : json_null());
    json_object_set_new(r, "busiest_cpu", p->load >= 0 ? json_integer(p->busiest_cpu) : json_null());
    json_object_set_new(r, "busiest_load", p->load >= 0 ? json_real(p->busiest_load) : json_null());
    json_object_set_new(r, "runqueue_wait_ms", p->runq_wait_s >= 0 ? json_real(1e3 * p->runq_wait_s) : json_null());
    json_object_set_new(r, "runqueue_wait_share", rq >= 0 ? json_real(rq) : json_null());
    json_array_append_new(phases, r);
  }
  json_t *checks = json_array(); /* multi-threaded configurations against the single-thread run */
  for (size_t i = 0; i < a->nchk; i++)
    json_array_append_new(checks, json_pack("{s:s,s:I,s:f,s:f}", "config", a->chk[i].label, "threads",
                                            (json_int_t) a->chk[i].threads, "p50_ms", a->chk[i].p50_ms,
                                            "single_thread_p50_ms", a->chk[i].single_p50_ms));
  return json_pack("{s:o,s:o,s:o,s:o,s:{s:f,s:f,s:f,s:f},s:s}", "cpus", cpus, "load_before", before, "phases", phases,
                   "threads_vs_one", checks,
                   "thresholds", "load_before", HWT_AUDIT_LOAD_BEFORE, "load_during", HWT_AUDIT_LOAD_DURING,
                   "load_busiest_cpu", HWT_AUDIT_LOAD_BUSIEST, "runqueue_wait_share", HWT_AUDIT_RUNQ_WAIT, "method",
                   "load: other processes' share of the usable CPUs from /proc/stat (this process's ticks, charged "
                   "to the busiest CPUs first, subtracted during phases; null when a phase is under 10 ticks per "
                   "CPU); run-queue wait: /proc/self/task/*/schedstat, share of wall time x threads");
}

/* count x per floats, or NULL when that many bytes cannot be allocated (checked: a model's sizes come from
 * its file). */
static float *alloc_floats(size_t count, size_t per) {
  if (count == 0 || per == 0 || per > SIZE_MAX / 4 / sizeof(float) / count) return NULL;
  return malloc(count * per * sizeof(float));
}


/* ---- the user's data: --inputs FILE, --labels, --calibration ---- */

static void tensor_dims_string(const hwt_tensor *t, char *buf, size_t len) {
  size_t used = 0;
  int w = snprintf(buf, len, "[");
  used = w > 0 ? (size_t) w : 0;
  for (unsigned d = 0; d < t->rank && used < len; d++) {
    w = snprintf(buf + used, len - used, "%s%lld", d ? ", " : "", (long long) t->dims[d]);
    used += w > 0 ? (size_t) w : 0;
  }
  if (used < len) snprintf(buf + used, len - used, "]");
}

static json_t *tensor_json(const char *path, const hwt_tensor *t) {
  json_t *dims = json_array();
  for (unsigned d = 0; d < t->rank; d++) json_array_append_new(dims, json_integer((json_int_t) t->dims[d]));
  return json_pack("{s:s,s:o,s:s}", "file", path, "shape", dims, "dtype", hwt_dtype_name(t->dtype));
}

/* Graph input 0 of m: its per-sample shape, rank (0 = hwtune-native) and name. */
static void input0(const hwt_model *m, hwt_shape *s, uint8_t *rank, const char **name) {
  *s = m->ninputs ? m->inputs[0].shape : m->input;
  *rank = m->ninputs ? m->inputs[0].rank : 0;
  *name = m->ninputs ? m->inputs[0].name : "input";
}

/* Reads a file of samples for graph input 0 (--inputs, --calibration): float32, float64, uint8 or int8; dim 0
 * counts the samples, the other dims are the input's in the file's layout (ONNX: [N, C, H, W]), checked as
 * `hwtune run` checks them (a flat native input also takes the same count in any dims). *out: *count x in_size
 * floats, malloc'd. */
static hwt_status read_samples(const audit *a, const hwt_model *m, const char *opt, const char *path, float **out,
                               size_t *count, json_t **info, char *err, size_t errlen) {
  *out = NULL;
  *count = 0;
  *info = NULL;
  hwt_tensor t;
  memset(&t, 0, sizeof(t));
  char msg[1024], got[160], exp[96];
  hwt_status st = hwt_tensor_read(path, &t, msg, sizeof(msg));
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "%s %s: %s", opt, path, msg);
    return st;
  }
  st = hwt_status_invalid_argument;
  tensor_dims_string(&t, got, sizeof(got));
  hwt_shape s;
  uint8_t rank;
  const char *name;
  input0(m, &s, &rank, &name);
  hwt_cli_dims_string(s, rank, 0, exp, sizeof(exp));
  if (t.dtype != hwt_dtype_f32 && t.dtype != hwt_dtype_f64 && t.dtype != hwt_dtype_u8 && t.dtype != hwt_dtype_i8) {
    hwt_errf(err, errlen, "%s %s: element type %s not supported for samples (float32, float64, uint8 or int8)%s",
             opt, path, hwt_dtype_name(t.dtype),
             t.dtype == hwt_dtype_i64 || t.dtype == hwt_dtype_i32 ? "; class indices go to --labels" : "");
    goto done;
  }
  if (t.rank == 0 || t.dims[0] == 0) {
    hwt_errf(err, errlen, "%s %s: shape %s: dim 0 counts the samples and must be at least 1; the model's input "
             "'%s' expects %s", opt, path, got, name, exp);
    goto done;
  }
  int64_t want[3];
  unsigned nw = hwt_cli_value_dims(s, rank, want);
  bool ok = t.rank == nw + 1;
  for (unsigned d = 0; ok && d < nw; d++) ok = t.dims[d + 1] == want[d];
  size_t per = 1;
  for (unsigned d = 1; d < t.rank; d++) per *= (size_t) t.dims[d]; /* t.count is their product: no overflow */
  if (!ok && rank == 0 && s.h == 1 && s.w == 1) ok = t.rank >= 2 && per == a->in_size; /* mlp: [N, 28, 28] too */
  if (!ok || per != a->in_size) {
    hwt_errf(err, errlen, "%s %s: shape %s does not fit the model's input '%s': expected %s (N samples first)", opt,
             path, got, name, exp);
    goto done;
  }
  *out = alloc_floats((size_t) t.dims[0], per);
  if (*out == NULL) {
    st = hwt_status_out_of_memory;
    hwt_errf(err, errlen, "%s %s: out of memory for %lld samples of %zu values", opt, path, (long long) t.dims[0],
             per);
    goto done;
  }
  hwt_tensor_to_f32(&t, *out);
  *count = (size_t) t.dims[0];
  *info = tensor_json(path, &t);
  json_object_set_new(*info, "samples", json_integer((json_int_t) *count));
  st = hwt_status_ok;
done:
  hwt_tensor_free(&t);
  return st;
}

/* --labels: integer class indices, shape [N] or [N, 1], N the --inputs samples, each in [0, classes). */
static hwt_status read_labels(audit *a, const char *path, const char *out_name, json_t **info, char *err,
                              size_t errlen) {
  const hwt_audit_opts *o = a->o;
  *info = NULL;
  hwt_tensor t;
  memset(&t, 0, sizeof(t));
  char msg[1024], got[160];
  hwt_status st = hwt_tensor_read(path, &t, msg, sizeof(msg));
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "--labels %s: %s", path, msg);
    return st;
  }
  st = hwt_status_invalid_argument;
  tensor_dims_string(&t, got, sizeof(got));
  if (t.dtype != hwt_dtype_i64 && t.dtype != hwt_dtype_i32 && t.dtype != hwt_dtype_u8 && t.dtype != hwt_dtype_i8) {
    hwt_errf(err, errlen, "--labels %s: element type %s: labels are integer class indices (int64, int32, uint8 or "
             "int8)", path, hwt_dtype_name(t.dtype));
    goto done;
  }
  if (!(t.rank == 1 || (t.rank == 2 && t.dims[1] == 1))) {
    hwt_errf(err, errlen, "--labels %s: shape %s: labels are one class index per sample, shape [N] or [N, 1]", path,
             got);
    goto done;
  }
  if ((size_t) t.dims[0] != a->ndata) {
    hwt_errf(err, errlen, "--labels %s: %lld labels, but --inputs %s has %zu samples (one label per sample)", path,
             (long long) t.dims[0], o->inputs_file, a->ndata);
    goto done;
  }
  a->labels = a->ndata <= SIZE_MAX / sizeof(size_t) ? malloc(a->ndata * sizeof(size_t)) : NULL;
  if (a->labels == NULL) {
    st = hwt_status_out_of_memory;
    hwt_errf(err, errlen, "--labels %s: out of memory for %zu labels", path, a->ndata);
    goto done;
  }
  for (size_t i = 0; i < a->ndata; i++) {
    long long v;
    switch (t.dtype) {
      case hwt_dtype_i64: v = (long long) ((const int64_t *) t.data)[i]; break;
      case hwt_dtype_i32: v = ((const int32_t *) t.data)[i]; break;
      case hwt_dtype_u8: v = ((const uint8_t *) t.data)[i]; break;
      default: v = ((const int8_t *) t.data)[i]; break;
    }
    if (v < 0 || (unsigned long long) v >= a->classes) {
      hwt_errf(err, errlen, "--labels %s: label %lld at index %zu is outside [0, %zu) (the model's output '%s' has "
               "%zu classes)", path, v, i, a->classes, out_name, a->classes);
      goto done;
    }
    a->labels[i] = (size_t) v;
  }
  *info = tensor_json(path, &t);
  json_object_set_new(*info, "classes", json_integer((json_int_t) a->classes));
  st = hwt_status_ok;
done:
  hwt_tensor_free(&t);
  return st;
}

/* Reads --inputs FILE, --labels and --calibration against model m (graph input 0, output 0); starts the "data"
 * section. Every error names the option, the file and what is wrong. */
static hwt_status load_data(audit *a, const hwt_model *m, char *err, size_t errlen) {
  const hwt_audit_opts *o = a->o;
  a->data_j = json_object();
  if (a->data_j == NULL) {
    hwt_errf(err, errlen, "out of memory");
    return hwt_status_out_of_memory;
  }
  a->classes = a->out_size;
  if (o->labels_file != NULL && o->inputs_file == NULL) {
    hwt_errf(err, errlen, "--labels %s needs --inputs FILE: the samples the labels belong to", o->labels_file);
    return hwt_status_invalid_argument;
  }
  json_t *info = NULL;
  hwt_status st;
  if (o->inputs_file != NULL) {
    st = read_samples(a, m, "--inputs", o->inputs_file, &a->data, &a->ndata, &info, err, errlen);
    if (st != hwt_status_ok) return st;
    json_object_set_new(a->data_j, "inputs", info);
  } else {
    json_object_set_new(a->data_j, "inputs",
                        json_pack("{s:s,s:I}", "source", "generated (deterministic, image-like values in [0, 1))",
                                  "samples", (json_int_t) o->accuracy_inputs));
  }
  if (o->labels_file != NULL) {
    const char *out_name = m->noutputs ? m->outputs[0].name : "output";
    st = read_labels(a, o->labels_file, out_name, &info, err, errlen);
    if (st != hwt_status_ok) return st;
    json_object_set_new(a->data_j, "labels", info);
  }
  if (o->calibration_file != NULL) {
    st = read_samples(a, m, "--calibration", o->calibration_file, &a->cal, &a->ncal, &info, err, errlen);
    if (st != hwt_status_ok) return st;
    json_object_set_new(a->data_j, "calibration_file", info);
  }
  return hwt_status_ok;
}

/* `batch` samples for a timed or checked run of precision p: the user's first samples (cycled when the file has
 * fewer), else generated ones from `seed`. */
static void fill_inputs(const audit *a, int p, uint64_t seed, size_t batch, float *dst) {
  if (a->data == NULL) {
    hwt_model_gen_inputs(a->model[p] ? a->model[p] : a->model[!p], seed, batch, dst);
    return;
  }
  for (size_t s = 0; s < batch; s++)
    memcpy(dst + s * a->in_size, a->data + (s % a->ndata) * a->in_size, a->in_size * sizeof(float));
}

/* Records RSS and runtime bytes at a phase boundary; tracks the largest single step up. */
/* Records RSS and runtime bytes at the end of a phase. The step of a phase is the larger of its RSS increase
 * and its runtime-allocation peak above the live bytes it started with (a transient batch buffer counts even
 * when it is freed before the phase ends). */
static void phase(audit *a, const char *name) {
  hwt_mem_stats ms = hwt_engine_mem_stats();
  if (ms.peak_bytes > a->runtime_peak) a->runtime_peak = ms.peak_bytes;
  double rss = hwt_audit_rss_bytes(), live = (double) ms.live_bytes, peak = (double) ms.peak_bytes;
  double step = a->last_rss > 0 ? fmax(rss - a->last_rss, peak - a->last_live) / 1048576.0 : 0.0;
  if (step > a->step_mb) {
    a->step_mb = step;
    snprintf(a->step_phase, sizeof(a->step_phase), "%s", name);
  }
  json_array_append_new(a->phases, json_pack("{s:s,s:f,s:f,s:f,s:f}", "phase", name, "rss_mb", rss / 1048576.0,
                                             "runtime_mb", live / 1048576.0, "runtime_peak_mb", peak / 1048576.0,
                                             "step_mb", step));
  a->last_rss = rss;
  a->last_live = live;
  hwt_engine_mem_reset_peak();
}

static hwt_engine *make_engine(audit *a, int p, size_t batch, bool tuned, unsigned threads, bool timing,
                               char *err, size_t errlen) {
  hwt_engine_options opt = {0};
  opt.threads = threads ? threads : a->threads;
  opt.layer_timing = timing;
  opt.keep_values = a->keep_values;
  opt.test_leak_bytes = a->o->test_leak_bytes;
  /* The tuned engine runs what the profile gives this model at this batch: the per-layer entries, or the plan
   * that won `tune --model`'s end-to-end race when the profile has a model entry for it (as `run` does). The
   * binding is the chooser's context, needed only while the engine is created. */
  hwt_profile_binding bind;
  if (tuned && a->profile != NULL) {
    if (hwt_engine_profile_bind(a->profile, a->o->model, a->model[p], batch, &bind, &opt, err, errlen) !=
        hwt_status_ok)
      return NULL;
    if (bind.note[0] && a->findings != NULL && !a->model_entry_noted[p]) {
      a->model_entry_noted[p] = true;
      hwt_audit_add_finding(a->findings, "profile: %s", bind.note);
    }
  }
  hwt_engine *e = NULL;
  if (hwt_engine_create(a->model[p], batch, &opt, &e, err, errlen) != hwt_status_ok) return NULL;
  return e;
}

static float *alloc_out(const audit *a, size_t batch) { return alloc_floats(batch, a->out_size); }
static float *alloc_in(const audit *a, size_t batch) { return alloc_floats(batch, a->in_size); }

static json_t *lat_json(const double *ns, size_t n, size_t batch) {
  double mean = 0;
  for (size_t i = 0; i < n; i++) mean += ns[i];
  mean /= n ? n : 1;
  return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:I}", "p50_ms", hwt_stats_quantile(ns, n, 0.5) / 1e6, "p90_ms",
                   hwt_stats_quantile(ns, n, 0.9) / 1e6, "p99_ms", hwt_stats_quantile(ns, n, 0.99) / 1e6, "max_ms",
                   hwt_stats_quantile(ns, n, 1) / 1e6, "mean_ms", mean / 1e6, "throughput_per_s",
                   mean > 0 ? (double) batch / (mean / 1e9) : 0.0, "samples", (json_int_t) n);
}

/* Times engines A and B (B may be NULL) alternately for `seconds`; at least 10 samples each. */
static size_t time_pair(hwt_engine *ea, hwt_engine *eb, const float *in, float *out, double seconds, double *sa,
                        double *sb, size_t cap) {
  for (int w = 0; w < 3; w++) {
    hwt_engine_run(ea, in, out, NULL);
    if (eb) hwt_engine_run(eb, in, out, NULL);
  }
  uint64_t end = hwt_now_ns() + (uint64_t) (seconds * 1e9);
  size_t n = 0;
  while (n < cap && (n < 10 || hwt_now_ns() < end)) {
    uint64_t t = hwt_now_ns();
    hwt_engine_run(ea, in, out, NULL);
    sa[n] = (double) (hwt_now_ns() - t);
    if (eb) {
      t = hwt_now_ns();
      hwt_engine_run(eb, in, out, NULL);
      sb[n] = (double) (hwt_now_ns() - t);
    }
    n++;
  }
  return n;
}

/* ---- per-layer bottleneck view ---- */

static double peak_for(const audit *a, bool int8, hwt_isa isa, unsigned threads, const char **isa_used) {
  if (a->hw == NULL || !a->hw->measured) return 0;
  double pk = isa < hwt_isa_count ? hwt_hw_peak(a->hw, int8, isa, threads) : 0;
  if (pk > 0) {
    *isa_used = hwt_isa_name(isa);
    return pk;
  }
  for (int i = hwt_isa_count - 1; i >= 0; i--) { /* XNNPACK: the best measured level of the dtype */
    pk = hwt_hw_peak(a->hw, int8, (hwt_isa) i, threads);
    if (pk > 0) {
      *isa_used = hwt_isa_name((hwt_isa) i);
      return pk;
    }
  }
  return 0;
}

static double bw_for(const audit *a, double bytes, unsigned threads) {
  if (a->hw == NULL || !a->hw->measured) return 0;
  uint64_t l2 = hwt_hw_cache_budget(a->hw, 2, NULL), l3 = hwt_hw_cache_budget(a->hw, 3, NULL);
  hwt_bw_level lv = bytes <= (double) l2 ? hwt_bw_l2 : bytes <= (double) l3 * 2 ? hwt_bw_l3 : hwt_bw_dram;
  const hwt_bw *b = &a->hw->bw[lv];
  double g = threads > 1 && b->read_gbps_all > 0 ? b->read_gbps_all : b->read_gbps_1t;
  return g;
}

static json_t *layer_breakdown(audit *a, int p, size_t batch, double seconds) {
  char err[512];
  hwt_engine *e = make_engine(a, p, batch, true, 0, true, err, sizeof(err));
  if (e == NULL) {
    fail_at(a, hwt_status_out_of_memory, "%s batch %zu (per-layer timing): cannot build the engine: %s", prec_name[p],
            batch, err);
    return NULL;
  }
  const hwt_model *m = a->model[p];
  size_t nl = m->nlayers, iters = 0, cap = 2000;
  double *ns = malloc(nl * cap * sizeof(double)), *med = malloc(nl * sizeof(double));
  size_t *order = malloc(nl * sizeof(size_t));
  float *in = alloc_in(a, batch), *out = alloc_out(a, batch);
  hwt_status rs = hwt_status_out_of_memory;
  if (ns == NULL || med == NULL || order == NULL || in == NULL || out == NULL) {
    fail_at(a, rs, "%s batch %zu (per-layer timing): out of memory for the input/output buffers", prec_name[p],
            batch);
  } else {
    fill_inputs(a, p, 5, batch, in);
    rs = hwt_engine_run(e, in, out, NULL);
    if (rs != hwt_status_ok)
      fail_at(a, rs, "%s batch %zu (per-layer timing): the engine failed to run: %s", prec_name[p], batch,
              hwt_status_string(rs));
  }
  if (rs != hwt_status_ok) {
    free(ns);
    free(med);
    free(order);
    free(in);
    free(out);
    hwt_engine_destroy(e);
    return NULL;
  }
  uint64_t end = hwt_now_ns() + (uint64_t) (seconds * 1e9);
  while (iters < cap && (iters < 5 || hwt_now_ns() < end)) {
    hwt_engine_run(e, in, out, NULL);
    for (size_t i = 0; i < nl; i++) ns[i * cap + iters] = (double) hwt_engine_layer_ns(e, i);
    iters++;
  }
  double total = 0;
  for (size_t i = 0; i < nl; i++) total += (med[i] = hwt_stats_quantile(ns + i * cap, iters, 0.5));
  json_t *rows = json_array();
  for (size_t i = 0; i < nl; i++) order[i] = i;
  for (size_t i = 0; i < nl; i++) /* by time, descending (nl is small) */
    for (size_t j = i + 1; j < nl; j++)
      if (med[order[j]] > med[order[i]]) {
        size_t t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
  for (size_t r = 0; r < nl; r++) {
    size_t i = order[r];
    const hwt_layer *l = &m->layers[i];
    const hwt_layer_choice *c = hwt_engine_layer_choice(e, i);
    double flops = hwt_layer_flops(l) * (double) batch;
    size_t es = p ? 1 : 4;
    double bytes = (double) hwt_layer_weight_count(l) * es + (double) hwt_layer_bias_count(l) * 4 +
                   (double) batch * (hwt_shape_size(l->in) + hwt_shape_size(l->out)) * es;
    double gflops = med[i] > 0 ? flops / med[i] : 0;
    const char *isa_used = "";
    bool gemmlike = l->type == hwt_layer_fc || l->type == hwt_layer_conv || l->type == hwt_layer_dwconv;
    double pk = gemmlike ? peak_for(a, p == 1, c->impl == hwt_impl_own ? c->isa : hwt_isa_count, c->threads,
                                     &isa_used)
                         : 0;
    double bw = bw_for(a, bytes, c->threads), ai = flops / bytes;
    const char *bound = "unknown";
    if (pk > 0 && bw > 0) bound = ai >= pk / bw ? "compute" : "memory";
    if (!gemmlike) bound = "memory";
    json_t *row = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:f,s:f,s:f,s:f,s:s}", "index", (json_int_t) i, "name",
                            l->name, "type", hwt_layer_type_name(l->type), "impl", hwt_impl_name(c->impl), "threads",
                            (json_int_t) c->threads, "source", c->source, "median_us", med[i] / 1e3, "pct_time",
                            total > 0 ? 100.0 * med[i] / total : 0.0, "gflops", gflops, "intensity", ai, "bound",
                            bound);
    json_object_set_new(row, "pct_peak", pk > 0 ? json_real(100.0 * gflops / pk) : json_null());
    if (pk > 0) json_object_set_new(row, "peak_isa", json_string(isa_used));
    json_array_append_new(rows, row);
  }
  json_t *res = json_pack("{s:s,s:I,s:I,s:f,s:o}", "precision", prec_name[p], "batch", (json_int_t) batch,
                          "iterations", (json_int_t) iters, "total_us", total / 1e3, "layers", rows);
  free(order);
  free(med);
  free(ns);
  free(in);
  free(out);
  hwt_engine_destroy(e);
  return res;
}

/* ---- accuracy: int8 vs fp32, and on labelled data ---- */

/* The labelled figures over n scored samples with labels lab: top-1 (and top-5 with more than 5 classes) of each
 * precision that ran (out[p] != NULL), each with its Wilson 95% interval, and with both precisions the paired
 * difference fp32 - int8 with its interval from the discordant pairs. metrics gets the summary's top1_fp32,
 * top1_int8, top1_drop and the top5_* figures. */
static json_t *labelled(audit *a, float *const out[2], size_t n, const size_t *lab, json_t *metrics) {
  static const size_t K[2] = {1, 5};
  static const char *const kname[2] = {"top1", "top5"};
  size_t nk = a->classes > 5 ? 2 : 1;
  size_t correct[2][2] = {{0, 0}, {0, 0}}, only[2][2] = {{0, 0}, {0, 0}}; /* [k][p]; only: right in p alone */
  for (size_t s = 0; s < n; s++)
    for (size_t k = 0; k < nk; k++) {
      bool ok[2] = {false, false};
      for (int p = 0; p < 2; p++)
        if (out[p] != NULL) ok[p] = hwt_audit_in_topk(out[p] + s * a->out_size, a->classes, lab[s], K[k]);
      for (int p = 0; p < 2; p++) {
        correct[k][p] += ok[p];
        only[k][p] += ok[p] && !ok[!p];
      }
    }
  json_t *res = json_pack("{s:s,s:I,s:I}", "file", a->o->labels_file, "classes", (json_int_t) a->classes,
                          "samples", (json_int_t) n);
  char key[32];
  for (int p = 0; p < 2; p++) {
    if (out[p] == NULL) continue;
    json_t *pj = json_object();
    for (size_t k = 0; k < nk; k++) {
      double lo, hi, acc = (double) correct[k][p] / (double) n;
      hwt_audit_wilson(correct[k][p], n, HWT_AUDIT_Z95, &lo, &hi);
      json_object_set_new(pj, kname[k], json_pack("{s:I,s:f,s:[f,f]}", "correct", (json_int_t) correct[k][p],
                                                  "accuracy", acc, "ci95", lo, hi));
      snprintf(key, sizeof(key), "%s_%s", kname[k], prec_name[p]);
      json_object_set_new(metrics, key, json_real(acc));
    }
    json_object_set_new(res, prec_name[p], pj);
  }
  if (out[0] != NULL && out[1] != NULL) {
    json_t *dj = json_object();
    for (size_t k = 0; k < nk; k++) {
      size_t b = only[k][0], c = only[k][1];
      double lo, hi, d = ((double) b - (double) c) / (double) n;
      hwt_audit_paired_diff_ci(b, c, n, HWT_AUDIT_Z95, &lo, &hi);
      json_object_set_new(dj, kname[k], json_pack("{s:f,s:I,s:I,s:[f,f],s:b}", "value", d, "fp32_only_correct",
                                                  (json_int_t) b, "int8_only_correct", (json_int_t) c, "ci95", lo,
                                                  hi, "significant", lo > 0 || hi < 0));
      snprintf(key, sizeof(key), "%s_drop", kname[k]);
      json_object_set_new(metrics, key, json_real(d));
      if (k == 0 && lo > 0)
        hwt_audit_add_finding(a->findings, "int8 loses %.2f points of top-1 accuracy on %s (95%% CI [%.2f, %.2f] "
                              "points: significant)", 100 * d, a->o->labels_file, 100 * lo, 100 * hi);
    }
    json_object_set_new(res, "drop", dj);
  }
  if (nk == 1) json_object_set_new(res, "top5_note", json_string("not computed: 5 classes or fewer"));
  json_object_set_new(res, "method",
                      json_string("top-k: the label is among the k highest scores of output 0 (ties to the lower "
                                  "index); each accuracy's 95% interval: Wilson score; the drop fp32 - int8 is paired "
                                  "(the same samples): (b - c) / n from the discordant pairs (b right in fp32 only, c "
                                  "in int8 only), 95% interval: Agresti-Min adjusted Wald, 0.5 added to each cell"));
  return res;
}

/* Samples per run of the comparison engines: each keeps every value apart (keep_values), so memory grows with the
 * batch; 100 inputs of MobileNet v2 at once held 3.6 GB. The inputs go through in chunks of this many. */
#define ACCURACY_CHUNK 8

/* Runs the scored samples (the user's, after any calibration split, else generated ones) through each precision
 * that runs. With both: int8 vs fp32 end to end (top-1 agreement, cosine, max error: *top1, *cosine, *maxerr) and
 * per layer. With labels: labelled(). metrics gets the summary figures of labelled(). */
static json_t *accuracy(audit *a, const bool run[2], double *top1, double *cosine, double *maxerr, json_t *metrics) {
  bool both = run[0] && run[1];
  const float *src = a->data ? a->data + a->scored0 * a->in_size : NULL;
  size_t n = a->data ? a->ndata - a->scored0 : a->o->accuracy_inputs;
  size_t chunk = n < ACCURACY_CHUNK ? n : ACCURACY_CHUNK, nl = both ? a->model[0]->nlayers : 0;
  char err[512] = "";
  hwt_engine *e[2] = {NULL, NULL};
  float *o[2] = {NULL, NULL}, *t[2] = {NULL, NULL}, *all = NULL, *in = NULL, *b0 = NULL, *b1 = NULL;
  double *acc = NULL; /* per layer: dot, |fp32|^2, |int8|^2, max |error| */
  json_t *res = NULL;
  a->keep_values = both; /* every node's output is compared, not only what the arena still holds */
  for (int p = 0; p < 2; p++)
    if (run[p] && (e[p] = make_engine(a, p, chunk, false, 0, false, err, sizeof(err))) == NULL) {
      a->keep_values = false;
      fail_at(a, hwt_status_out_of_memory, "accuracy (%s, batch %zu): cannot build the engine: %s", prec_name[p],
              chunk, err);
      goto done;
    }
  a->keep_values = false;
  size_t maxsz = 0;
  for (size_t i = 0; i < nl; i++)
    if (hwt_shape_size(a->model[0]->layers[i].out) > maxsz) maxsz = hwt_shape_size(a->model[0]->layers[i].out);
  bool oom = (in = alloc_in(a, chunk)) == NULL || (src == NULL && (all = alloc_in(a, n)) == NULL);
  for (int p = 0; p < 2; p++)
    if (run[p]) oom = oom || (o[p] = alloc_out(a, n)) == NULL || (t[p] = alloc_out(a, chunk)) == NULL;
  if (both)
    oom = oom || (b0 = alloc_floats(1, maxsz)) == NULL || (b1 = alloc_floats(1, maxsz)) == NULL ||
          (acc = calloc(nl * 4 + 1, sizeof(double))) == NULL;
  if (oom) {
    fail_at(a, hwt_status_out_of_memory, "accuracy: out of memory for %zu inputs", n);
    goto done;
  }
  if (all != NULL) hwt_model_gen_inputs(a->model[run[0] ? 0 : 1], 777, n, all); /* seed differs from the calibration inputs */
  const float *samples = src ? src : all;
  for (size_t s0 = 0; s0 < n; s0 += chunk) {
    size_t cnt = n - s0 < chunk ? n - s0 : chunk;
    /* a last, partial chunk repeats its last sample; only the first cnt count */
    for (size_t s = 0; s < chunk; s++)
      memcpy(in + s * a->in_size, samples + (s0 + (s < cnt ? s : cnt - 1)) * a->in_size, a->in_size * sizeof(float));
    for (int p = 0; p < 2; p++) {
      if (e[p] == NULL) continue;
      hwt_status r = hwt_engine_run(e[p], in, t[p], NULL);
      if (r != hwt_status_ok) {
        fail_at(a, r, "accuracy: the %s engine failed to run: %s", prec_name[p], hwt_status_string(r));
        goto done;
      }
      memcpy(o[p] + s0 * a->out_size, t[p], cnt * a->out_size * sizeof(float));
    }
    for (size_t i = 0; i < nl; i++) {
      size_t sz = hwt_shape_size(a->model[0]->layers[i].out);
      double *q = acc + 4 * i;
      for (size_t s = 0; s < cnt; s++) {
        hwt_engine_layer_output(e[0], i, s, b0);
        hwt_engine_layer_output(e[1], i, s, b1);
        for (size_t k = 0; k < sz; k++) {
          q[0] += (double) b0[k] * b1[k];
          q[1] += (double) b0[k] * b0[k];
          q[2] += (double) b1[k] * b1[k];
          q[3] = fmax(q[3], fabs((double) b0[k] - b1[k]));
        }
      }
    }
  }
  res = json_pack("{s:I,s:s,s:I}", "inputs", (json_int_t) n, "source", src ? "file" : "generated",
                  "calibration_inputs", (json_int_t) a->ncal_used);
  if (src != NULL)
    json_object_set_new(res, "scored", json_pack("{s:s,s:I,s:I,s:I}", "file", a->o->inputs_file, "first",
                                                 (json_int_t) a->scored0, "last", (json_int_t) (a->ndata - 1),
                                                 "count", (json_int_t) n));
  if (both) {
    json_t *layers = json_array();
    for (size_t i = 0; i < nl; i++) {
      const double *q = acc + 4 * i;
      double cs = q[1] > 0 && q[2] > 0 ? q[0] / sqrt(q[1] * q[2]) : (q[1] == q[2] ? 1.0 : 0.0);
      json_array_append_new(layers, json_pack("{s:s,s:s,s:f,s:f}", "name", a->model[0]->layers[i].name, "type",
                                              hwt_layer_type_name(a->model[0]->layers[i].type), "max_abs_err", q[3],
                                              "cosine", cs));
    }
    size_t agree = 0;
    double dot = 0, n0 = 0, n1 = 0, me = 0;
    for (size_t s = 0; s < n; s++) {
      size_t c0 = 0, c1 = 0;
      for (size_t k = 0; k < a->out_size; k++) {
        float x = o[0][s * a->out_size + k], y = o[1][s * a->out_size + k];
        if (x > o[0][s * a->out_size + c0]) c0 = k;
        if (y > o[1][s * a->out_size + c1]) c1 = k;
        dot += (double) x * y;
        n0 += (double) x * x;
        n1 += (double) y * y;
        me = fmax(me, fabs((double) x - y));
      }
      agree += c0 == c1;
    }
    *top1 = (double) agree / (double) n;
    *cosine = n0 > 0 && n1 > 0 ? dot / sqrt(n0 * n1) : 0;
    *maxerr = me;
    json_object_set_new(res, "end_to_end", json_pack("{s:f,s:f,s:f,s:I}", "max_abs_err", me, "cosine", *cosine,
                                                     "top1_agreement", *top1, "top1_agree_count", (json_int_t) agree));
    json_object_set_new(res, "layers", layers);
  } else {
    json_object_set_new(res, "note", json_string(a->int8_file
                                                     ? "int8 accuracy only: the model file is int8 (its own scales "
                                                       "and zero points), with no fp32 twin to compare with"
                                                     : run[0] ? "fp32 accuracy only (--precision fp32)"
                                                              : "int8 accuracy only (--precision int8)"));
  }
  if (a->labels != NULL) json_object_set_new(res, "labelled", labelled(a, o, n, a->labels + a->scored0, metrics));
done:
  free(acc);
  free(b0);
  free(b1);
  free(all);
  free(in);
  for (int p = 0; p < 2; p++) {
    free(o[p]);
    free(t[p]);
    hwt_engine_destroy(e[p]);
  }
  return res;
}

/* ---- forked children: abnormal inputs, --mem-limit ---- */

/* Reads the child's JSON from fd until EOF or timeout; reaps it. *how: "ok", "crash: signal N", "hang", "exit N". */
static json_t *child_result(pid_t pid, int fd, double timeout_s, char *how, size_t howlen) {
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  uint64_t end = hwt_now_ns() + (uint64_t) (timeout_s * 1e9);
  bool timed_out = false;
  while (buf != NULL) {
    uint64_t now = hwt_now_ns();
    if (now >= end) {
      timed_out = true;
      break;
    }
    struct pollfd pfd = {fd, POLLIN, 0};
    int r = poll(&pfd, 1, (int) ((end - now) / 1000000 + 1));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    if (len + 4096 > cap) {
      char *nb = realloc(buf, cap *= 2);
      if (nb == NULL) break;
      buf = nb;
    }
    ssize_t k = read(fd, buf + len, cap - len - 1);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    len += (size_t) k;
  }
  close(fd);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  json_t *doc = NULL;
  if (buf != NULL) {
    buf[len] = '\0';
    doc = json_loads(buf, 0, NULL);
  }
  free(buf);
  if (timed_out)
    snprintf(how, howlen, "hang (killed after %.0f s)", timeout_s);
  else if (WIFSIGNALED(status))
    snprintf(how, howlen, "crash: signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  else if (WEXITSTATUS(status) != 0)
    snprintf(how, howlen, "exit %d", WEXITSTATUS(status));
  else
    snprintf(how, howlen, "ok");
  return doc;
}

static void child_write(int fd, json_t *doc) {
  char *s = json_dumps(doc, JSON_COMPACT);
  if (s != NULL) {
    size_t n = strlen(s), off = 0;
    while (off < n) {
      ssize_t w = write(fd, s + off, n - off);
      if (w <= 0) break;
      off += (size_t) w;
    }
  }
  free(s);
  json_decref(doc);
  close(fd);
}

enum { case_zero = 0, case_huge, case_nan, case_inf, case_denormal, case_count };
static const char *const case_name[case_count] = {"all_zero", "huge_1e30", "nan_1pct", "inf_1pct", "denormal_1e-40"};

static void fill_case(int c, const float *normal, float *x, size_t n) {
  for (size_t k = 0; k < n; k++) {
    switch (c) {
      case case_zero: x[k] = 0; break;
      case case_huge: x[k] = (k & 1) ? 1e30f : -1e30f; break;
      case case_nan: x[k] = k % 100 == 7 ? NAN : normal[k]; break;
      case case_inf: x[k] = k % 100 == 7 ? ((k / 100) & 1 ? -INFINITY : INFINITY) : normal[k]; break;
      default: x[k] = 1e-40f * (float) (1 + k % 7); break;
    }
  }
}

static double median_run(hwt_engine *e, const float *x, float *o, int n) {
  double t[32];
  if (n > 32) n = 32;
  for (int i = 0; i < n; i++) {
    uint64_t s = hwt_now_ns();
    hwt_engine_run(e, x, o, NULL);
    t[i] = (double) (hwt_now_ns() - s);
  }
  return hwt_stats_median(t, (size_t) n);
}

static json_t *abnormal_child(audit *a) {
  json_t *arr = json_array();
  float *normal = alloc_in(a, 1), *x = alloc_in(a, 1), *o = alloc_out(a, 1);
  if (normal == NULL || x == NULL || o == NULL) {
    json_array_append_new(arr, json_pack("{s:s}", "error", "out of memory for the input/output buffers"));
    free(normal);
    free(x);
    free(o);
    return arr;
  }
  fill_inputs(a, a->model[0] ? 0 : 1, 3, 1, normal);
  for (int p = 0; p < 2; p++) {
    if (a->model[p] == NULL) continue;
    char err[512];
    /* one thread: these checks are about robustness; the slowdown ratio must not be pool-scheduling noise */
    hwt_engine *e = make_engine(a, p, 1, true, 1, false, err, sizeof(err));
    if (e == NULL) {
      json_array_append_new(arr, json_pack("{s:s,s:s}", "precision", prec_name[p], "error", err));
      continue;
    }
    double base = median_run(e, normal, o, 15);
    for (int c = 0; c < case_count; c++) {
      fill_case(c, normal, x, a->in_size);
      hwt_run_info info = {0, 0};
      hwt_status st = hwt_engine_run(e, x, o, &info);
      double t = median_run(e, x, o, 15);
      size_t top = 0;
      for (size_t k = 1; k < a->out_size; k++)
        if (o[k] > o[top]) top = k;
      json_array_append_new(
          arr, json_pack("{s:s,s:s,s:s,s:I,s:I,s:f,s:I}", "precision", prec_name[p], "case", case_name[c], "run",
                         hwt_status_string(st), "input_nonfinite", (json_int_t) info.input_nonfinite,
                         "output_nonfinite", (json_int_t) info.output_nonfinite, "latency_ratio",
                         base > 0 ? t / base : 0.0, "top1", (json_int_t) top));
    }
    hwt_engine_destroy(e);
  }
  free(normal);
  free(x);
  free(o);
  return arr;
}

static json_t *abnormal(audit *a, size_t *failures, size_t *nonfinite_out) {
  int fds[2];
  *failures = 0;
  *nonfinite_out = 0;
  if (pipe(fds) != 0) {
    fail_at(a, hwt_status_internal, "abnormal inputs: cannot create a pipe to the checking process: %s", strerror(errno));
    return NULL;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fail_at(a, hwt_status_internal, "abnormal inputs: cannot start the checking process: %s", strerror(errno));
    close(fds[0]);
    close(fds[1]);
    return NULL;
  }
  if (pid == 0) {
    close(fds[0]);
    child_write(fds[1], abnormal_child(a));
    _exit(0);
  }
  close(fds[1]);
  char how[96];
  json_t *res = child_result(pid, fds[0], 120.0, how, sizeof(how));
  if (!json_is_array(res)) {
    json_decref(res);
    (*failures)++;
    hwt_audit_add_finding(a->findings, "abnormal inputs: the checking process did not finish: %s", how);
    return json_pack("{s:s}", "error", how);
  }
  size_t i;
  json_t *r;
  json_array_foreach(res, i, r) {
    if (json_object_get(r, "error") != NULL) { /* the checks could not run: not a verdict on the model */
      const char *pr = json_string_value(json_object_get(r, "precision"));
      fail_at(a, hwt_status_out_of_memory, "abnormal inputs%s%s: %s", pr ? " " : "", pr ? pr : "",
              json_string_value(json_object_get(r, "error")));
      json_decref(res);
      return NULL;
    }
    const char *c = json_string_value(json_object_get(r, "case")), *p = json_string_value(json_object_get(r, "precision"));
    json_int_t inn = json_integer_value(json_object_get(r, "input_nonfinite"));
    json_int_t outn = json_integer_value(json_object_get(r, "output_nonfinite"));
    double ratio = json_number_value(json_object_get(r, "latency_ratio"));
    const char *verdict;
    if (inn > 0)
      verdict = outn > 0 ? "flagged: non-finite input, non-finite output" : "flagged: non-finite input (output finite: NaN/Inf absorbed)";
    else if (outn > 0)
      verdict = "finite input gave a non-finite output";
    else
      verdict = "ok";
    if (inn == 0 && outn > 0) {
      (*nonfinite_out)++;
      hwt_audit_add_finding(a->findings, "abnormal input %s (%s): finite input produced %lld non-finite outputs", c, p, (long long) outn);
    }
    if (ratio > 3.0) hwt_audit_add_finding(a->findings, "abnormal input %s (%s): %.1fx slower than a normal input", c, p, ratio);
    json_object_set_new(r, "verdict", json_string(verdict));
  }
  return res;
}

static double vm_size_mb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long size = 0;
  if (f != NULL) {
    if (fscanf(f, "%lu", &size) != 1) size = 0;
    fclose(f);
  }
  return (double) size * (double) sysconf(_SC_PAGESIZE) / 1048576.0;
}

static void *idle_thread(void *arg) { return arg; }

static json_t *mem_limit_run(audit *a) {
  double lim = a->o->mem_limit_mb, base = vm_size_mb();
  size_t maxb = 1;
  for (size_t i = 0; i < a->o->nbatches; i++)
    if (a->o->batches[i] > maxb) maxb = a->o->batches[i];
  json_t *res = json_pack("{s:f,s:f,s:I}", "limit_mb", lim, "address_space_before_mb", base, "batch",
                          (json_int_t) maxb);
#ifdef AUDIT_ASAN
  json_object_set_new(res, "fits", json_null());
  json_object_set_new(res, "message",
                      json_string("skipped: AddressSanitizer reserves terabytes of address space, RLIMIT_AS cannot apply"));
  return res;
#endif
  if (lim < base) {
    char m[256];
    snprintf(m, sizeof(m), "does not fit in %.0f MB: the process already maps %.0f MB of address space before building "
             "the engines (libraries, model, thread stacks)", lim, base);
    json_object_set_new(res, "fits", json_false());
    json_object_set_new(res, "message", json_string(m));
    hwt_audit_add_finding(a->findings, "--mem-limit: %s", m);
    return res;
  }
  int fds[2];
  if (pipe(fds) != 0) {
    fail_at(a, hwt_status_internal, "--mem-limit: cannot create a pipe to the limited process: %s", strerror(errno));
    return res;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fail_at(a, hwt_status_internal, "--mem-limit: cannot start the limited process: %s", strerror(errno));
    close(fds[0]);
    close(fds[1]);
    return res;
  }
  if (pid == 0) {
    close(fds[0]);
    struct rlimit rl = {(rlim_t) (lim * 1048576.0), (rlim_t) (lim * 1048576.0)};
    json_t *out = json_object();
    if (setrlimit(RLIMIT_AS, &rl) != 0) {
      json_object_set_new(out, "error", json_string(strerror(errno)));
      child_write(fds[1], out);
      _exit(0);
    }
    /* pthreadpool waits forever for a worker whose creation failed, so check first that the worker threads
     * (and their stacks, which count against RLIMIT_AS) can start under the limit. */
    if (a->threads > 1) {
      pthread_t th[256];
      unsigned started = 0;
      int rc = 0;
      for (; started + 1 < a->threads && started < 256; started++)
        if ((rc = pthread_create(&th[started], NULL, idle_thread, NULL)) != 0) break;
      for (unsigned k = 0; k < started; k++) pthread_join(th[k], NULL);
      if (rc != 0) {
        char m[256];
        snprintf(m, sizeof(m), "cannot start %u worker threads (%s): each reserves its stack (ulimit -s) of address space",
                 a->threads - 1, strerror(rc));
        for (int p = 0; p < 2; p++)
          if (a->model[p] != NULL) json_object_set_new(out, prec_name[p], json_pack("{s:b,s:s}", "ok", 0, "message", m));
        child_write(fds[1], out);
        _exit(0);
      }
    }
    for (int p = 0; p < 2; p++) {
      if (a->model[p] == NULL) continue;
      char err[512] = "";
      hwt_engine *e = make_engine(a, p, maxb, true, 0, false, err, sizeof(err));
      float *in = e ? alloc_in(a, maxb) : NULL, *o = e ? alloc_out(a, maxb) : NULL;
      if (e != NULL && (in == NULL || o == NULL)) snprintf(err, sizeof(err), "out of memory for the input/output buffers");
      if (in != NULL && o != NULL) {
        fill_inputs(a, p, 1, maxb, in);
        hwt_engine_run(e, in, o, NULL);
      }
      json_object_set_new(out, prec_name[p],
                          json_pack("{s:b,s:s,s:f}", "ok", in != NULL && o != NULL, "message", err, "vm_mb",
                                    vm_size_mb()));
      free(in);
      free(o);
      hwt_engine_destroy(e);
    }
    child_write(fds[1], out);
    _exit(0);
  }
  close(fds[1]);
  char how[96];
  json_t *out = child_result(pid, fds[0], 120.0, how, sizeof(how));
  bool fits = json_is_object(out) && strcmp(how, "ok") == 0;
  char msg[768] = "";
  if (fits) {
    const char *k;
    json_t *v;
    json_object_foreach(out, k, v) {
      if (!json_is_object(v)) continue;
      if (!json_is_true(json_object_get(v, "ok"))) {
        fits = false;
        snprintf(msg, sizeof(msg), "does not fit in %.0f MB (%s): %s", lim, k,
                 json_string_value(json_object_get(v, "message")));
      }
    }
    if (json_object_get(out, "error")) { /* nothing was measured: a failure, not an answer */
      fits = false;
      snprintf(msg, sizeof(msg), "cannot set the limit: %s", json_string_value(json_object_get(out, "error")));
      fail_at(a, hwt_status_internal, "--mem-limit: %s", msg);
    }
  } else {
    snprintf(msg, sizeof(msg), "does not fit in %.0f MB: the run ended with %s (an allocation outside the runtime's checks failed)",
             lim, how);
  }
  if (fits) snprintf(msg, sizeof(msg), "fits in %.0f MB of address space (batch %zu, all precisions)", lim, maxb);
  json_object_set_new(res, "fits", json_boolean(fits));
  json_object_set_new(res, "message", json_string(msg));
  if (json_is_object(out)) json_object_set_new(res, "child", out);
  else json_decref(out);
  if (!fits) hwt_audit_add_finding(a->findings, "--mem-limit: %s", msg);
  return res;
}

/* ---- cold start: what a deployed service pays before its first answer ---- */

/* Repetitions of a step whose first run took first_ns: a few where cheap, one where not (a cold start of seconds
 * is measured once, and the report says so). */
static size_t cold_reps(uint64_t first_ns) {
  return first_ns < 200000000ull ? 5 : first_ns < 1000000000ull ? 3 : 1;
}

static json_t *step_json(const double *ns, size_t n) {
  return json_pack("{s:f,s:f,s:I}", "first_ms", ns[0] / 1e6, "median_ms", hwt_stats_median(ns, n) / 1e6,
                   "repetitions", (json_int_t) n);
}

/* Import (the file opened again, as at start-up), then per precision an engine built (weight packing, memory
 * plan) and its first inference, each repeated where cheap. The first repetition of each is the process's
 * first: the truly cold figure (first-touch of pages, one-time initialisations); the median is a restart's. */
static json_t *cold_start(audit *a, const bool run[2], double import_first_ns) {
  const hwt_audit_opts *o = a->o;
  size_t batch = o->batches[0];
  double ns[5];
  ns[0] = import_first_ns;
  size_t reps = cold_reps((uint64_t) import_first_ns), n = 1;
  char err[1024];
  for (; n < reps; n++) {
    hwt_model *m = NULL;
    uint64_t t = hwt_now_ns();
    hwt_status st = hwt_model_open(o->model, &m, err, sizeof(err));
    ns[n] = (double) (hwt_now_ns() - t);
    hwt_model_free(m);
    if (st != hwt_status_ok) {
      fail_at(a, st, "cold start: opening the model again failed: %s", err);
      return NULL;
    }
  }
  json_t *res = json_pack("{s:I,s:o,s:o}", "batch", (json_int_t) batch, "import", step_json(ns, n), "precisions",
                          json_array());
  float *in = alloc_in(a, batch), *out = alloc_out(a, batch);
  if (in == NULL || out == NULL) {
    fail_at(a, hwt_status_out_of_memory, "cold start: out of memory for the input/output buffers");
    goto done;
  }
  for (int p = 0; p < 2; p++) {
    if (!run[p]) continue;
    fill_inputs(a, p, 9, batch, in);
    double cns[5], fns[5];
    size_t k = 0, want = 1;
    for (; k < want; k++) {
      uint64_t t = hwt_now_ns();
      hwt_engine *e = make_engine(a, p, batch, true, 0, false, err, sizeof(err));
      cns[k] = (double) (hwt_now_ns() - t);
      if (e == NULL) {
        fail_at(a, hwt_status_out_of_memory, "%s batch %zu: cannot build the engine: %s (cold start)", prec_name[p],
                batch, err);
        goto done;
      }
      t = hwt_now_ns();
      hwt_status rs = hwt_engine_run(e, in, out, NULL);
      fns[k] = (double) (hwt_now_ns() - t);
      hwt_engine_destroy(e);
      if (rs != hwt_status_ok) {
        fail_at(a, rs, "%s batch %zu: the engine failed to run: %s (cold start)", prec_name[p], batch,
                hwt_status_string(rs));
        goto done;
      }
      if (k == 0) want = cold_reps((uint64_t) (cns[0] + fns[0]));
    }
    json_t *pj = json_pack("{s:s,s:o,s:o}", "precision", prec_name[p], "engine_create", step_json(cns, k),
                           "first_inference", step_json(fns, k));
    json_object_set_new(pj, "to_first_answer_ms",
                        json_real((hwt_stats_median(ns, n) + hwt_stats_median(cns, k) + hwt_stats_median(fns, k)) / 1e6));
    if (p == 1 && a->model[0] != NULL)
      json_object_set_new(pj, "note", json_string("the int8 model is the audit's quantization of the file (not "
                                                  "timed here); a deployed int8 model is imported as it is"));
    json_array_append_new(json_object_get(res, "precisions"), pj);
  }
done:
  free(in);
  free(out);
  return res;
}

/* Puts the steady-state p50 of each precision at the cold start's batch beside its cold start. */
static void cold_start_steady(json_t *cold, json_t *lat) {
  size_t i, j;
  json_t *c, *r;
  json_array_foreach(json_object_get(cold, "precisions"), i, c) {
    json_array_foreach(lat, j, r) {
      if (strcmp(json_string_value(json_object_get(r, "precision")), json_string_value(json_object_get(c, "precision"))) != 0 ||
          json_integer_value(json_object_get(r, "batch")) != json_integer_value(json_object_get(cold, "batch")))
        continue;
      json_t *cfg = json_object_get(r, "tuned") ? json_object_get(r, "tuned") : json_object_get(r, "default");
      double p50 = json_number_value(json_object_get(cfg, "p50_ms"));
      double first = json_number_value(json_object_get(json_object_get(c, "first_inference"), "median_ms"));
      json_object_set_new(c, "steady_p50_ms", json_real(p50));
      json_object_set_new(c, "first_inference_vs_p50", json_real(p50 > 0 ? first / p50 : 0));
      break;
    }
  }
}

/* ---- the run ---- */

static hwt_status open_profile(audit *a, json_t *ctx) {
  const char *path = a->o->profile;
  char def[1024], msg[1024] = "";
  json_t *pj = json_object();
  json_object_set_new(ctx, "profile", pj);
  if (path != NULL && strcmp(path, "none") == 0) {
    json_object_set_new(pj, "status", json_string("none (--profile none)"));
    return hwt_status_ok;
  }
  if (path == NULL) {
    if (hwt_profile_default_path(def, sizeof(def)) != hwt_status_ok || access(def, R_OK) != 0) {
      json_object_set_new(pj, "status", json_string("none (no profile at the default path; run `hwtune tune`)"));
      return hwt_status_ok;
    }
    path = def;
  }
  json_object_set_new(pj, "path", json_string(path));
  hwt_status st = hwt_profile_open(path, NULL, 0, &a->profile, msg, sizeof(msg));
  if (st != hwt_status_ok) {
    json_object_set_new(pj, "status", json_string("not used"));
    json_object_set_new(pj, "message", json_string(msg));
    hwt_audit_add_finding(a->findings, "profile not used: %s", msg);
    return a->o->profile != NULL ? st : hwt_status_ok;
  }
  json_object_set_new(pj, "status", json_string("loaded"));
  json_object_set_new(pj, "entries", json_integer((json_int_t) hwt_profile_count(a->profile)));
  return hwt_status_ok;
}

static json_t *model_json(const hwt_model *m) {
  double flops = 0, params = 0; /* of the model as loaded (fp32 or int8 file) */
  for (size_t i = 0; i < m->nlayers; i++) {
    flops += hwt_layer_flops(&m->layers[i]);
    params += (double) (hwt_layer_weight_count(&m->layers[i]) + hwt_layer_bias_count(&m->layers[i]));
  }
  char dims[96] = "";
  if (m->ninputs >= 1) hwt_model_value_dims_string(m, HWT_INPUT_ID(0), dims, sizeof(dims));
  return json_pack("{s:s,s:s,s:s,s:[I,I,I],s:s,s:I,s:f,s:f}", "name", m->name, "source", m->source, "precision",
                   prec_name[m->precision == hwt_prec_int8], "input", (json_int_t) m->input.h, (json_int_t) m->input.w,
                   (json_int_t) m->input.c, "input_dims", dims, "layers", (json_int_t) m->nlayers, "parameters",
                   params, "mflops_per_sample", flops / 1e6);
}

hwt_status hwt_audit_run(const hwt_audit_opts *o_given, json_t **docp, char *err, size_t errlen) {
  audit A = {0}, *a = &A;
  hwt_audit_opts oc = *o_given; /* the batches may come from the model's file */
  const hwt_audit_opts *o = &oc;
  json_t *model_j = NULL; /* the model section, until the document takes it */
  json_t *acc_metrics = NULL; /* top1_fp32 ... top5_drop, for the summary */
  a->o = o;
  a->doc = json_object();
  a->phases = json_array();
  a->findings = json_array();
  a->plan = json_array();
  hwt_status st = hwt_status_ok;
  phase(a, "start");
  a->t0 = malloc(sizeof(hwt_cpu_times));
  a->t1 = malloc(sizeof(hwt_cpu_times));
  if (a->t0 == NULL || a->t1 == NULL) { /* no noise readings, but the audit runs */
    free(a->t0);
    free(a->t1);
    a->t0 = a->t1 = NULL;
  }
  st = hwt_engine_global_init(err, errlen);
  if (st != hwt_status_ok) goto fail;

  /* model */
  hwt_model *m = NULL;
  uint64_t import_t0 = hwt_now_ns();
  st = hwt_model_open(o->model, &m, err, errlen);
  double import_ns = (double) (hwt_now_ns() - import_t0);
  if (st != hwt_status_ok) goto fail;
  if (m->ninputs > 1) {
    st = hwt_status_unsupported;
    hwt_errf(err, errlen, "%s: the audit feeds one input; this model has %zu (hwtune run takes each)", o->model,
             m->ninputs);
    hwt_model_free(m);
    goto fail;
  }
  int have = m->precision == hwt_prec_int8;
  a->model[have] = m;
  if (!oc.batches_given && m->fixed_batch > 0) {
    oc.batches[0] = m->fixed_batch;
    oc.nbatches = 1;
  }
  a->in_size = hwt_shape_size(m->input);
  a->out_size = hwt_model_output_size(m, 0);
  /* The model section describes the model as loaded: written now, since an int8-only audit of an fp32 model
   * frees the fp32 model once it is quantized. */
  model_j = model_json(m);
  a->int8_file = have == 1;
  st = load_data(a, m, err, errlen); /* before any measuring: a bad file costs nothing */
  if (st != hwt_status_ok) goto fail;
  m = NULL;
  phase(a, "model loaded");
  if (have == 1 && o->fp32)
    hwt_audit_add_finding(a->findings, "the model is int8: audited as it is, not re-quantized; with no fp32 twin, "
                          "fp32 runs and int8-vs-fp32 accuracy are skipped");
  json_t *calj = NULL; /* the data section's "calibration": where int8's calibration samples came from */
  if (have == 0 && o->int8) {
    size_t nc;
    float *gen = NULL;
    const float *cal;
    if (a->cal != NULL) {
      nc = a->ncal;
      cal = a->cal;
      calj = json_pack("{s:s,s:s,s:I}", "source", "file", "file", o->calibration_file, "samples", (json_int_t) nc);
    } else if (a->data != NULL) {
      if (a->ndata < 2) {
        st = hwt_status_invalid_argument;
        hwt_errf(err, errlen, "--inputs %s: 1 sample: int8 calibrates on samples that are then not scored, so it "
                 "needs at least 2 (or give --calibration FILE, or --precision fp32)", o->inputs_file);
        goto fail;
      }
      nc = HWT_AUDIT_CALIB_SPLIT(a->ndata);
      cal = a->data;
      a->scored0 = nc;
      calj = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s}", "source", "split", "file", o->inputs_file, "samples",
                       (json_int_t) nc, "first", (json_int_t) 0, "last", (json_int_t) (nc - 1), "rule",
                       "no --calibration: the first max(1, min(100, N / 10)) samples of --inputs calibrate int8 "
                       "and are not scored");
    } else {
      nc = o->calib_inputs ? o->calib_inputs : 32;
      cal = gen = alloc_in(a, nc);
      if (gen == NULL) {
        st = hwt_status_out_of_memory;
        hwt_errf(err, errlen, "%s: out of memory for %zu calibration inputs of %zu values", o->model, nc, a->in_size);
        goto fail;
      }
      hwt_model_gen_inputs(a->model[0], 1000, nc, gen);
      calj = json_pack("{s:s,s:I}", "source", "generated", "samples", (json_int_t) nc);
    }
    uint64_t t0 = hwt_now_ns();
    st = hwt_model_quantize(a->model[0], cal, nc, &a->model[1], err, errlen);
    free(gen);
    if (st != hwt_status_ok) {
      json_decref(calj);
      goto fail;
    }
    a->ncal_used = nc;
    json_object_set_new(a->doc, "quantization",
                        json_pack("{s:s,s:I,s:s,s:f}", "method",
                                  "post-training: per-channel symmetric int8 weights, per-tensor affine int8 "
                                  "activations from min/max over the calibration samples",
                                  "calibration_inputs", (json_int_t) nc, "calibration_source",
                                  json_string_value(json_object_get(calj, "source")), "seconds",
                                  (hwt_now_ns() - t0) / 1e9));
    phase(a, "int8 model quantized");
  } else {
    calj = json_pack("{s:s,s:I,s:s}", "source", "none", "samples", (json_int_t) 0, "note",
                     have == 1 ? "the model file is int8: it runs with its own scales, not re-quantized"
                               : "no int8 run (--precision fp32)");
    if (o->calibration_file != NULL)
      hwt_audit_add_finding(a->findings, "--calibration %s was read and checked but not used: %s",
                            o->calibration_file, have == 1 ? "the model file is already int8" : "no int8 run");
  }
  json_object_set_new(a->data_j, "calibration", calj);
  if (a->data != NULL) {
    json_object_set_new(a->data_j, "scored",
                        json_pack("{s:s,s:I,s:I,s:I}", "file", o->inputs_file, "first", (json_int_t) a->scored0,
                                  "last", (json_int_t) (a->ndata - 1), "count", (json_int_t) (a->ndata - a->scored0)));
    json_object_set_new(a->data_j, "timed_inputs",
                        json_string("latency, per-layer timing, cold start, soak, --mem-limit and the abnormal-input "
                                    "baseline run the first B samples of --inputs for batch B (cycled when B > N)"));
  }
  if (!o->fp32 && have == 0) {
    if (o->nprune > 0) /* --prune prunes the fp32 model: kept for it alone */
      a->prune_model = a->model[0];
    else
      hwt_model_free(a->model[0]);
    a->model[0] = NULL;
    if (o->int8 == false) {
      st = hwt_status_invalid_argument;
      hwt_errf(err, errlen, "no precision selected");
      goto fail;
    }
  }
  bool run[2] = {a->model[0] != NULL && o->fp32, a->model[1] != NULL && o->int8};
  if (!run[0] && !run[1]) {
    st = hwt_status_invalid_argument;
    hwt_errf(err, errlen, "%s: the model is %s but --precision asks for %s", o->model, prec_name[have],
             prec_name[!have]);
    goto fail;
  }

  /* context */
  json_t *ctx = json_object();
  time_t now = time(NULL);
  char ts[32];
  strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  json_object_set_new(ctx, "hwtune_version", json_string(HWTUNE_VERSION_STRING));
  json_object_set_new(ctx, "git_commit", json_string(HWTUNE_GIT_COMMIT));
  json_object_set_new(ctx, "started", json_string(ts));
  if (o->command_line) json_object_set_new(ctx, "command_line", json_string(o->command_line));
  json_object_set_new(a->doc, "schema", json_string(HWT_AUDIT_SCHEMA));
  json_object_set_new(a->doc, "context", ctx);
  json_object_set_new(a->doc, "model", model_j);
  model_j = NULL;
  json_object_set_new(a->doc, "data", a->data_j);
  a->data_j = NULL;

  find_usable_cpus(a);
  a->threads = o->threads ? o->threads : a->usable;
  json_object_set_new(ctx, "usable_cpus", json_integer(a->usable));
  json_object_set_new(ctx, "usable_note", json_string(a->usable_note));
  if (o->threads > a->usable) {
    /* as bench does: more threads than usable CPUs only time-slice (one CPU: 2 threads ran p50 40 ms against
     * 0.015 ms on one) */
    a->threads = a->usable;
    char note[256];
    snprintf(note, sizeof(note), "--threads %u > %u usable CPU%s: clamped to %u", o->threads, a->usable,
             a->usable == 1 ? "" : "s", a->usable);
    hwt_log("audit: warning: %s (%s)", note, a->usable_note);
    json_object_set_new(ctx, "threads_requested", json_integer(o->threads));
    json_object_set_new(ctx, "threads_note", json_string(note));
  }
  /* --mem-limit first: the child then starts from the smallest address space (no pools, no engines). */
  if (o->mem_limit_mb > 0) {
    json_object_set_new(a->doc, "mem_limit", mem_limit_run(a));
    if (a->fatal != hwt_status_ok) goto fatal;
  }

  st = open_profile(a, ctx);
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "%s", json_string_value(json_object_get(json_object_get(ctx, "profile"), "message")));
    goto fail;
  }
  a->hw = calloc(1, sizeof(hwt_hw));
  if (a->hw != NULL) {
    hwt_detect_inputs di = {0};
    di.measure = o->measure_peaks;
    di.quick = true;
    char derr[512];
    if (hwt_detect(&di, a->hw, derr, sizeof(derr)) != hwt_status_ok) {
      hwt_audit_add_finding(a->findings, "detect failed (%s): no %% of peak", derr);
      free(a->hw);
      a->hw = NULL;
    } else {
      hwt_hw_set_kernel_budget(a->hw); /* our kernels' default blocking from this machine's caches */
    }
  }
  json_object_set_new(ctx, "threads", json_integer(a->threads));
  if (a->hw != NULL) {
    json_object_set_new(ctx, "cpu", json_string(a->hw->brand));
    json_object_set_new(ctx, "hw", hwt_hw_to_json(a->hw));
  }
  json_object_set_new(ctx, "defaults",
                      json_string("without a profile every fc/conv/dwconv layer runs on XNNPACK with all usable CPUs "
                                  "(or --threads); pooling, softmax, relu and add run natively on one thread"));
  phase(a, "profile + detect");

  /* cold start: before any other engine of this process has run */
  json_t *cold = cold_start(a, run, import_ns);
  if (cold != NULL) json_object_set_new(a->doc, "cold_start", cold);
  if (a->fatal != hwt_status_ok) goto fatal;
  phase(a, "cold start");
  noise_before(a);

  /* latency: tuned vs default, interleaved */
  json_t *lat = json_array(), *single = json_array();
  json_object_set_new(a->doc, "latency", lat);
  json_object_set_new(a->doc, "single_thread", single);
  size_t cap = 200000;
  double *sa = malloc(cap * sizeof(double)), *sb = malloc(cap * sizeof(double));
  double worst[5] = {0, 0, 0, 0, INFINITY}; /* p50 p90 p99 max throughput(min) */
  double st_p99 = 0;
  if (sa == NULL || sb == NULL) fail_at(a, hwt_status_out_of_memory, "out of memory for the latency samples");
  for (int p = 0; p < 2 && a->fatal == hwt_status_ok; p++) {
    if (!run[p]) continue;
    for (size_t bi = 0; bi < o->nbatches && a->fatal == hwt_status_ok; bi++) {
      size_t batch = o->batches[bi];
      char e1[512] = "", e2[512] = "";
      hwt_engine *d = make_engine(a, p, batch, false, 0, false, e1, sizeof(e1));
      hwt_engine *t = d && a->profile ? make_engine(a, p, batch, true, 0, false, e2, sizeof(e2)) : NULL;
      char pname[64];
      snprintf(pname, sizeof(pname), "engines %s batch %zu", prec_name[p], batch);
      phase(a, pname);
      float *in = d ? alloc_in(a, batch) : NULL, *out = d ? alloc_out(a, batch) : NULL;
      hwt_status rd = hwt_status_ok, rt = hwt_status_ok;
      if (d == NULL)
        fail_at(a, hwt_status_out_of_memory, "%s batch %zu: cannot build the engine: %s", prec_name[p], batch, e1);
      else if (a->profile != NULL && t == NULL)
        fail_at(a, hwt_status_out_of_memory, "%s batch %zu: cannot build the engine tuned by the profile: %s",
                prec_name[p], batch, e2);
      else if (in == NULL || out == NULL)
        fail_at(a, hwt_status_out_of_memory, "%s batch %zu: out of memory for the input/output buffers (%zu + %zu "
                "values per sample)", prec_name[p], batch, a->in_size, a->out_size);
      if (a->fatal == hwt_status_ok) {
        fill_inputs(a, p, 9, batch, in);
        rd = hwt_engine_run(d, in, out, NULL);
        if (rd == hwt_status_ok && t != NULL) rt = hwt_engine_run(t, in, out, NULL);
        if (rd != hwt_status_ok || rt != hwt_status_ok)
          fail_at(a, rd != hwt_status_ok ? rd : rt, "%s batch %zu: the %s engine failed to run: %s", prec_name[p],
                  batch, rd != hwt_status_ok ? "default" : "tuned", hwt_status_string(rd != hwt_status_ok ? rd : rt));
      }
      if (a->fatal != hwt_status_ok) {
        free(in);
        free(out);
        hwt_engine_destroy(t);
        hwt_engine_destroy(d);
        break;
      }
      snprintf(pname, sizeof(pname), "first run %s batch %zu", prec_name[p], batch);
      phase(a, pname);
      noise_begin(a);
      size_t n = time_pair(d, t, in, out, o->bench_s, sa, sb, cap);
      noise_end(a, a->threads, "%s batch %zu (default%s)", prec_name[p], batch, t ? " vs tuned" : "");
      json_t *row = json_pack("{s:s,s:I,s:o,s:I}", "precision", prec_name[p], "batch", (json_int_t) batch, "default",
                              lat_json(sa, n, batch), "engine_bytes", (json_int_t) hwt_engine_bytes(d));
      /* the memory plan: one arena for every intermediate value, against each value in its own buffer */
      json_array_append_new(a->plan, json_pack("{s:s,s:I,s:I,s:I}", "precision", prec_name[p], "batch",
                                               (json_int_t) batch, "arena_bytes",
                                               (json_int_t) hwt_engine_arena_bytes(d), "values_bytes",
                                               (json_int_t) hwt_engine_values_bytes(d)));
      json_t *main = json_object_get(row, "default");
      if (t != NULL) {
        json_object_set_new(row, "tuned", lat_json(sb, n, batch));
        main = json_object_get(row, "tuned");
        double dm = hwt_stats_quantile(sa, n, 0.5), tm = hwt_stats_quantile(sb, n, 0.5);
        json_object_set_new(row, "speedup_p50", json_real(tm > 0 ? dm / tm : 0));
      }
      const char *keys[4] = {"p50_ms", "p90_ms", "p99_ms", "max_ms"};
      for (int k = 0; k < 4; k++) worst[k] = fmax(worst[k], json_number_value(json_object_get(main, keys[k])));
      worst[4] = fmin(worst[4], json_number_value(json_object_get(main, "throughput_per_s")));
      json_array_append_new(lat, row);
      unsigned most[2] = {engine_max_threads(d), engine_max_threads(t)};
      hwt_engine_destroy(t);
      hwt_engine_destroy(d);
      /* single thread */
      hwt_engine *s1 = make_engine(a, p, batch, true, 1, false, e1, sizeof(e1));
      hwt_status r1 = s1 ? hwt_engine_run(s1, in, out, NULL) : hwt_status_out_of_memory;
      if (s1 == NULL)
        fail_at(a, r1, "%s batch %zu: cannot build the single-thread engine: %s", prec_name[p], batch, e1);
      else if (r1 != hwt_status_ok)
        fail_at(a, r1, "%s batch %zu: the single-thread engine failed to run: %s", prec_name[p], batch,
                hwt_status_string(r1));
      else {
        noise_begin(a);
        size_t n1 = time_pair(s1, NULL, in, out, o->bench_s / 2, sa, NULL, cap);
        noise_end(a, 1, "%s batch %zu (single thread)", prec_name[p], batch);
        json_t *sj = lat_json(sa, n1, batch);
        /* threads must pay for themselves: compare each multi-threaded configuration with this run */
        double sp50 = json_number_value(json_object_get(sj, "p50_ms"));
        for (int c = 0; c < 2 && a->threads > 1; c++) {
          json_t *cfg = json_object_get(row, c ? "tuned" : "default");
          /* a configuration whose layers all run 1 thread (a profile's choice) is the single-thread run again */
          if (cfg == NULL || most[c] <= 1 || a->nchk >= sizeof(a->chk) / sizeof(a->chk[0])) continue;
          hwt_audit_thread_check *k = &a->chk[a->nchk++];
          snprintf(k->label, sizeof(k->label), "%s batch %zu %s", prec_name[p], batch, c ? "tuned" : "default");
          k->threads = most[c];
          k->p50_ms = json_number_value(json_object_get(cfg, "p50_ms"));
          k->single_p50_ms = sp50;
        }
        st_p99 = fmax(st_p99, json_number_value(json_object_get(sj, "p99_ms")));
        json_array_append_new(single, json_pack("{s:s,s:I,s:o}", "precision", prec_name[p], "batch",
                                                (json_int_t) batch, "single_thread", sj));
      }
      hwt_engine_destroy(s1);
      free(in);
      free(out);
    }
  }
  free(sa);
  free(sb);
  if (a->fatal != hwt_status_ok) goto fatal;
  cold_start_steady(cold, lat);

  /* per-layer bottlenecks at the first batch */
  json_t *layers = json_array();
  json_object_set_new(a->doc, "layers", layers);
  for (int p = 0; p < 2; p++) {
    json_t *lb = run[p] ? layer_breakdown(a, p, o->batches[0], o->bench_s / 2) : NULL;
    if (a->fatal != hwt_status_ok) goto fatal;
    if (lb != NULL) json_array_append_new(layers, lb);
  }
  phase(a, "per-layer timing");

  /* accuracy */
  double top1 = NAN, cosine = NAN, maxerr = NAN;
  acc_metrics = json_object();
  bool score = a->data != NULL || o->accuracy_inputs > 0;
  if (score && !(run[0] && run[1]) && a->labels == NULL && have == 1)
    json_object_set_new(a->doc, "accuracy", json_pack("{s:s}", "skipped", a->data != NULL
                        ? "the model is int8 (its own scales and zero points): there is no fp32 twin to compare "
                          "with (with --labels the audit scores its int8 accuracy)"
                        : "the model is int8 (its own scales and zero points): there is no fp32 twin to compare with"));
  if (score && ((run[0] && run[1]) || a->labels != NULL)) {
    json_t *acc = accuracy(a, run, &top1, &cosine, &maxerr, acc_metrics);
    if (a->fatal != hwt_status_ok) goto fatal;
    json_object_set_new(a->doc, "accuracy", acc);
    phase(a, "accuracy");
    if (top1 < 0.95) hwt_audit_add_finding(a->findings, "int8 top-1 agreement with fp32 is %.1f%% (< 95%%)", 100 * top1);
  }

  /* pruning: per sparsity, accuracy against the dense model, latency with dense / sparse kernels, size */
  if (o->nprune > 0) {
    const hwt_model *pm = a->model[0] ? a->model[0] : a->prune_model;
    if (pm == NULL) {
      json_object_set_new(a->doc, "prune", json_pack("{s:s}", "skipped", "the model file is int8: pruning applies "
                                                     "to fp32 weights (prune the fp32 model, then quantize)"));
      hwt_audit_add_finding(a->findings, "--prune skipped: the model file is int8; pruning applies to fp32 weights "
                            "(prune the fp32 model, then quantize)");
    } else {
      size_t batch = o->batches[0], n = a->data ? a->ndata - a->scored0 : o->accuracy_inputs;
      float *gen = a->data ? NULL : alloc_in(a, n ? n : 1), *timed = alloc_in(a, batch);
      if (timed == NULL || (a->data == NULL && gen == NULL)) {
        free(gen);
        free(timed);
        fail_at(a, hwt_status_out_of_memory, "pruning: out of memory for the inputs");
        goto fatal;
      }
      if (gen != NULL) hwt_model_gen_inputs(pm, 777, n, gen); /* as the int8 comparison's */
      fill_inputs(a, 0, 9, batch, timed);
      hwt_audit_prune_in pin = {0};
      pin.dense = pm;
      pin.sparsities = o->prune;
      pin.n = o->nprune;
      pin.options.pattern = o->prune_pattern;
      pin.options.scope = o->prune_scope;
      pin.samples = a->data ? a->data + a->scored0 * a->in_size : gen;
      pin.nsamples = n;
      pin.samples_source = a->data ? "file" : "generated";
      pin.labels = a->labels ? a->labels + a->scored0 : NULL;
      pin.timed = timed;
      pin.batch = batch;
      pin.threads = a->threads;
      pin.profile = a->profile;
      pin.bench_s = o->bench_s;
      char perr[1024] = "";
      hwt_status pst;
      noise_begin(a);
      json_t *pj = hwt_audit_prune(&pin, a->findings, acc_metrics, &pst, perr, sizeof(perr));
      noise_end(a, a->threads, "pruning (batch %zu)", batch);
      free(gen);
      free(timed);
      if (pj == NULL) {
        fail_at(a, pst, "%s", perr);
        goto fatal;
      }
      json_object_set_new(a->doc, "prune", pj);
      phase(a, "pruning");
    }
  }

  /* abnormal inputs */
  size_t ab_fail = 0, ab_nonfinite = 0;
  if (o->abnormal) {
    json_t *ab = abnormal(a, &ab_fail, &ab_nonfinite);
    if (a->fatal != hwt_status_ok) goto fatal;
    json_object_set_new(a->doc, "abnormal", ab);
  }

  /* soak */
  hwt_soak_verdict v;
  bool soaked = false;
  if (o->duration_s > 0 || (o->soak_windows > 0 && o->soak_iters > 0)) {
    hwt_engine *se[2] = {NULL, NULL};
    char e1[512];
    for (int p = 0; p < 2 && a->fatal == hwt_status_ok; p++)
      if (run[p] && (se[p] = make_engine(a, p, o->batches[0], true, 0, false, e1, sizeof(e1))) == NULL)
        fail_at(a, hwt_status_out_of_memory, "soak: cannot build the %s engine: %s", prec_name[p], e1);
    float *in = alloc_in(a, o->batches[0]), *tmp = alloc_out(a, o->batches[0]);
    if (a->fatal == hwt_status_ok && (in == NULL || tmp == NULL))
      fail_at(a, hwt_status_out_of_memory, "soak: out of memory for the input/output buffers");
    if (a->fatal == hwt_status_ok) fill_inputs(a, run[0] ? 0 : 1, 9, o->batches[0], in);
    for (int p = 0; p < 2 && a->fatal == hwt_status_ok; p++) /* warm-up: first-touch happens here, not in window 1 */
      for (int i = 0; se[p] != NULL && i < 3 && a->fatal == hwt_status_ok; i++) {
        hwt_status rs = hwt_engine_run(se[p], in, tmp, NULL);
        if (rs != hwt_status_ok)
          fail_at(a, rs, "soak: the %s engine failed to run: %s", prec_name[p], hwt_status_string(rs));
      }
    free(tmp);
    if (a->fatal != hwt_status_ok) {
      for (int p = 0; p < 2; p++) hwt_engine_destroy(se[p]);
      free(in);
      goto fatal;
    }
    hwt_soak_window w[256];
    noise_begin(a);
    size_t nw = hwt_audit_soak(se, in, o->duration_s, o->soak_window_s, o->soak_windows, o->soak_iters, w, 256);
    noise_end(a, a->threads, "soak");
    if (nw == 0) { /* a soak of a positive duration has a window: none means its sample buffers failed */
      for (int p = 0; p < 2; p++) hwt_engine_destroy(se[p]);
      free(in);
      fail_at(a, hwt_status_out_of_memory, "soak: out of memory for the latency samples: no window measured");
      goto fatal;
    }
    double soak_s = nw ? w[nw - 1].t_s + (w[nw - 1].t_s - (nw > 1 ? w[nw - 2].t_s : 0)) / 2 : 0;
    hwt_soak_analyze(w, nw, soak_s, &v);
    soaked = true;
    json_t *wj = json_array();
    for (size_t i = 0; i < nw; i++) {
      json_t *r = json_pack("{s:f,s:f,s:f}", "t_s", w[i].t_s, "rss_mb", w[i].rss_bytes / 1048576.0, "runtime_mb",
                            w[i].live_bytes / 1048576.0);
      for (int p = 0; p < 2; p++)
        if (w[i].median_ns[p] > 0)
          json_object_set_new(r, p ? "int8_median_ms" : "fp32_median_ms", json_real(w[i].median_ns[p] / 1e6));
      json_array_append_new(wj, r);
    }
    json_t *sj = json_pack("{s:I,s:I,s:o,s:f,s:f,s:b,s:f,s:b}", "batch", (json_int_t) o->batches[0], "windows", (json_int_t) nw, "window_medians", wj,
                           "rss_growth_mb", v.rss_growth_bytes / 1048576.0, "rss_growth_mb_h", v.rss_growth_mb_h,
                           "rss_growth_flag", v.rss_flag, "runtime_growth_bytes", v.live_growth_bytes,
                           "runtime_growth_flag", v.live_flag);
    json_object_set_new(sj, "duration_s", json_real(soak_s));
    json_object_set_new(sj, "drift_method",
                        json_string("Theil-Sen line through the window medians; change between the first and the "
                                    "last window centre, % of the fitted level at the first; 95% CI from Kendall's "
                                    "tau; no figure below 30 s or 6 windows"));
    for (int p = 0; p < 2; p++) {
      if (se[p] == NULL) continue;
      const hwt_drift *dr = &v.drift[p];
      json_t *dj = json_pack("{s:b,s:I}", "enough_data", dr->enough, "windows", (json_int_t) dr->windows);
      if (dr->enough) {
        json_object_set_new(dj, "change_pct", json_real(dr->change_pct));
        json_object_set_new(dj, "over_s", json_real(dr->span_s));
        json_object_set_new(dj, "ci95_pct", json_pack("[f,f]", dr->ci_lo_pct, dr->ci_hi_pct));
        json_object_set_new(dj, "significant", json_boolean(dr->significant));
        json_object_set_new(dj, "drift_flag", json_boolean(dr->flag));
      } else {
        json_object_set_new(dj, "note", json_string(dr->why));
      }
      json_object_set_new(sj, prec_name[p], dj);
      if (dr->flag)
        hwt_audit_add_finding(a->findings, "soak: %s latency changed %+.1f%% over %.0f s (95%% CI [%+.1f, %+.1f]%%; significant, > %.0f%%)",
                prec_name[p], dr->change_pct, dr->span_s, dr->ci_lo_pct, dr->ci_hi_pct, HWT_SOAK_FLAG_PCT);
    }
    if (v.rss_flag) hwt_audit_add_finding(a->findings, "soak: resident memory grows steadily (%+.1f MB over the soak, %.0f MB/h): a leak?",
                            v.rss_growth_bytes / 1048576.0, v.rss_growth_mb_h);
    if (v.live_flag) hwt_audit_add_finding(a->findings, "soak: the runtime's own allocations grew by %.0f bytes during the soak", v.live_growth_bytes);
    json_object_set_new(a->doc, "soak", sj);
    for (int p = 0; p < 2; p++) hwt_engine_destroy(se[p]);
    free(in);
    phase(a, "soak");
  }

  /* memory */
  hwt_mem_stats ms = hwt_engine_mem_stats();
  if (ms.peak_bytes < a->runtime_peak) ms.peak_bytes = a->runtime_peak;
  double peak_rss = hwt_audit_peak_rss_bytes();
  json_object_set_new(a->doc, "memory",
                      json_pack("{s:f,s:f,s:f,s:I,s:o,s:{s:s,s:f}}", "peak_rss_mb", peak_rss / 1048576.0,
                                "runtime_peak_mb", ms.peak_bytes / 1048576.0, "runtime_live_mb",
                                ms.live_bytes / 1048576.0, "runtime_allocations", (json_int_t) ms.allocations,
                                "phases", a->phases, "largest_step", "phase", a->step_phase, "mb", a->step_mb));
  a->phases = NULL;
  json_object_set_new(json_object_get(a->doc, "memory"), "plan", a->plan);
  a->plan = NULL;

  /* noise: other processes before and during the measurements, run-queue waits, threads that do not pay */
  hwt_audit_noise nz = {a->cpus, a->have_before ? a->load_before : NULL, a->ncpus, a->nph, a->nnph, a->chk, a->nchk};
  json_object_set_new(a->doc, "noise", noise_json(a));
  hwt_audit_noise_findings(&nz, a->findings);

  /* summary: the values --fail-on checks (worst over precisions and batches of the tuned, else default run) */
  json_t *sum = json_object();
  if (isfinite(worst[4])) {
    json_object_set_new(sum, "p50_ms", json_real(worst[0]));
    json_object_set_new(sum, "p90_ms", json_real(worst[1]));
    json_object_set_new(sum, "p99_ms", json_real(worst[2]));
    json_object_set_new(sum, "max_ms", json_real(worst[3]));
    json_object_set_new(sum, "throughput", json_real(worst[4]));
  }
  if (st_p99 > 0) json_object_set_new(sum, "single_thread_p99_ms", json_real(st_p99));
  if (!isnan(top1)) {
    json_object_set_new(sum, "top1_agreement", json_real(top1));
    json_object_set_new(sum, "cosine", json_real(cosine));
    json_object_set_new(sum, "max_abs_err", json_real(maxerr));
  }
  json_object_update(sum, acc_metrics);
  json_object_set_new(sum, "rss_mb", json_real(peak_rss / 1048576.0));
  json_object_set_new(sum, "alloc_mb", json_real(ms.peak_bytes / 1048576.0));
  if (o->abnormal) json_object_set_new(sum, "abnormal_failures", json_integer((json_int_t) ab_fail));
  if (soaked) {
    /* the largest change of the precisions with enough data; absent (a --fail-on rule on it breaks) otherwise */
    double d = 0;
    bool any = false;
    for (int p = 0; p < 2; p++)
      if (run[p] && v.drift[p].enough) {
        if (!any || fabs(v.drift[p].change_pct) > fabs(d)) d = v.drift[p].change_pct;
        any = true;
      }
    if (any) json_object_set_new(sum, "drift_pct", json_real(d));
    json_object_set_new(sum, "rss_growth_mb_h", json_real(v.rss_growth_mb_h));
  }
  json_object_set_new(a->doc, "summary", sum);
  json_object_set_new(a->doc, "findings", a->findings);
  a->findings = NULL;
  *docp = a->doc;
  a->doc = NULL;
  goto fail;
fatal:
  st = a->fatal;
  hwt_errf(err, errlen, "%s: %s", o->model, a->fatal_msg);
fail:
  json_decref(model_j);
  json_decref(a->doc);
  json_decref(a->phases);
  json_decref(a->findings);
  json_decref(a->plan);
  json_decref(a->data_j);
  json_decref(acc_metrics);
  free(a->data);
  free(a->cal);
  free(a->labels);
  hwt_model_free(a->model[0]);
  hwt_model_free(a->model[1]);
  hwt_model_free(a->prune_model);
  hwt_profile_free(a->profile);
  free(a->hw);
  free(a->t0);
  free(a->t1);
  return st;
}
