/* SPDX-License-Identifier: Apache-2.0 */
/* The harness: a session (machine, pinned pool, clock, noise baseline) and the measurement of one configuration:
 * set-up, warm-up, calibration, sampling, statistics, derived metrics and noise warnings; plus --verify. */
#define _GNU_SOURCE
#include <float.h>
#include <malloc.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend.h"
#include "bench.h"
#include "hwt_common.h"
#include "noise.h"
#include "pool.h"
#include "session_internal.h"
#include "hwt_stats.h"
#include "hwtune/spmm.h"

#define SESSION_MAX_WARNINGS 64
#define COLD_MAX_COPIES 4096
#define XNN_PAD_BYTES 64 /* XNNPACK may read XNN_EXTRA_BYTES (16) past an input */

struct hwt_bench_session {
  hwt_hw hw;
  bool pin;
  volatile int *stop;
  pthreadpool_t (*race_pool)(unsigned threads);  /* optional: races' multi-thread pools (options) */
  hwt_bench_clock clock;
  double timer_overhead;
  hwt_pool pool;
  bool have_pool;
  int cpus[HWT_MAX_CPUS];
  size_t ncpus;
  char *warnings[SESSION_MAX_WARNINGS];
  size_t nwarnings;
  char start_time[32];
  double freq_probe_ns;      /* at session start */
  hwt_cpu_times last_times;  /* end of the previous configuration (or session start) */
};

/* ------------------------------------------------------------------ small helpers */

static void iso_now(char *buf, size_t len) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *vformat(const char *fmt, va_list ap) {
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) return NULL;
  return s;
}

void hwt_bench_session_warn(hwt_bench_session *s, const char *fmt, ...) {
  if (s == NULL || s->nwarnings >= SESSION_MAX_WARNINGS) return;
  va_list ap;
  va_start(ap, fmt);
  char *w = vformat(fmt, ap);
  va_end(ap);
  if (w == NULL) return;
  for (size_t i = 0; i < s->nwarnings; i++)
    if (strcmp(s->warnings[i], w) == 0) {
      free(w);
      return;
    }
  s->warnings[s->nwarnings++] = w;
}

void hwt_bench_result_warn(hwt_bench_result *r, const char *fmt, ...) {
  if (r == NULL || r->nwarnings >= HWT_BENCH_MAX_WARNINGS) return;
  va_list ap;
  va_start(ap, fmt);
  char *w = vformat(fmt, ap);
  va_end(ap);
  if (w != NULL) r->warnings[r->nwarnings++] = w;
}

void hwt_bench_result_free(hwt_bench_result *r) {
  if (r == NULL) return;
  for (size_t i = 0; i < r->nwarnings; i++) free(r->warnings[i]);
  r->nwarnings = 0;
  free(r->samples_ns);
  r->samples_ns = NULL;
}

void hwt_bench_config_init(hwt_bench_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->op = hwt_bench_gemm_f32;
  cfg->impl = hwt_bench_xnnpack;
  cfg->isa_auto = true;
  cfg->batch = 1;
  cfg->threads = 1;
  cfg->max_time_s = 2.0;
  cfg->target_ci = 0.01;
  cfg->min_samples = 10;
}

void hwt_bench_config_shape(const hwt_bench_config *cfg, char *buf, size_t len) {
  if (hwt_bench_op_is_sparse(cfg->op))
    snprintf(buf, len, "%s@sp%.4g%s", cfg->shape.text, 100.0 * cfg->sparsity, cfg->block ? "b" : "");
  else
    snprintf(buf, len, "%s", cfg->shape.text);
}

void hwt_bench_config_name(const hwt_bench_config *cfg, const char *isa_name, char *buf, size_t len) {
  char shape[96];
  hwt_bench_config_shape(cfg, shape, sizeof(shape));
  snprintf(buf, len, "%s/%s/%s/%s/m%zu/t%u/%s", hwt_bench_op_name(cfg->op), hwt_bench_impl_name(cfg->impl),
           isa_name, shape, cfg->batch, cfg->threads, cfg->cold ? "cold" : "warm");
}

const hwt_bench_backend *hwt_bench_backend_for(hwt_bench_impl impl, hwt_bench_op op) {
  if (hwt_bench_op_is_sparse(op)) {
    /* The problem of a 1x1 conv shape is a conv problem (p.conv), of an NxK shape a gemm problem. */
    switch (impl) {
      case hwt_bench_own: return &hwt_bench_backend_spmm;
      case hwt_bench_xnnpack: return &hwt_bench_backend_xnnpack_sparse;
      case hwt_bench_own_dense: return &hwt_bench_backend_own;
      case hwt_bench_xnnpack_dense: return &hwt_bench_backend_xnnpack_dense;
      case hwt_bench_reference: return &hwt_bench_backend_reference;
      case hwt_bench_wrong: return &hwt_bench_backend_wrong;
      default: return NULL;
    }
  }
  switch (impl) {
    case hwt_bench_xnnpack:
      return hwt_bench_op_is_conv(op) ? &hwt_bench_backend_xnnpack_conv : &hwt_bench_backend_xnnpack_fc;
    case hwt_bench_own: return &hwt_bench_backend_own;
    case hwt_bench_reference: return &hwt_bench_backend_reference;
    case hwt_bench_wrong: return &hwt_bench_backend_wrong;
    default: return NULL;
  }
}

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Deterministic data: f32 uniform in [-1, 1), int8 uniform in [-127, 127], int32 bias in [-1000, 1000]. */
static void fill_f32(float *x, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++) x[i] = (float)((double)(splitmix(&seed) >> 11) * 0x1.0p-52 - 1.0);
}
static void fill_i8(int8_t *x, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++) x[i] = (int8_t)((int)(splitmix(&seed) % 255) - 127);
}
static void fill_i32(int32_t *x, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++) x[i] = (int32_t)(splitmix(&seed) % 2001) - 1000;
}

static size_t malloc_in_use(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
#else
  return 0;
#endif
}

static uint64_t peak_rss_bytes(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (uint64_t)ru.ru_maxrss * 1024u;
}

/* The last-level cache the cold mode must defeat: the largest plausible cache, or the per-core L3 budget times
 * the cores (never an implausible figure such as a VM's 508 MB L3). */
static uint64_t llc_bytes(const hwt_hw *hw) {
  uint64_t best = 0;
  for (size_t i = 0; i < hw->ncaches; i++) {
    const hwt_cache *c = &hw->caches[i];
    if (c->plausible && c->type != hwt_cache_instruction && c->size_bytes > best) best = c->size_bytes;
  }
  uint64_t share = hwt_hw_cache_budget(hw, 3, NULL) * (hw->cores ? hw->cores : 1);
  return best > share ? best : share;
}

/* ------------------------------------------------------------------ session */

hwt_status hwt_bench_session_create(const hwt_bench_session_options *opt, hwt_bench_session **out, char *err,
                                    size_t errlen) {
  hwt_bench_session *s = calloc(1, sizeof(*s));
  if (s == NULL) return hwt_status_out_of_memory;
  iso_now(s->start_time, sizeof(s->start_time));
  s->pin = opt ? opt->pin_threads : true;
  s->stop = opt ? opt->stop : NULL;
  s->race_pool = opt ? opt->race_pool : NULL;
  s->clock = (opt && opt->clock) ? *opt->clock : hwt_bench_real_clock();
  if (opt && opt->hw) {
    s->hw = *opt->hw;
  } else {
    hwt_detect_inputs in;
    memset(&in, 0, sizeof(in));
    in.measure = opt ? opt->measure_peaks : false;
    in.quick = true;
    hwt_status st = hwt_detect(&in, &s->hw, err, errlen);
    if (st != hwt_status_ok) {
      free(s);
      return st;
    }
  }
  /* Usable CPUs: the affinity list, at most usable_cpus of them (a cgroup quota can be below the mask). */
  size_t want = s->hw.usable_cpus ? s->hw.usable_cpus : 1;
  for (size_t i = 0; i < s->hw.naffinity && s->ncpus < want; i++) s->cpus[s->ncpus++] = s->hw.affinity[i];
  if (s->ncpus == 0) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
      for (int c = 0; c < CPU_SETSIZE && s->ncpus < want; c++)
        if (CPU_ISSET(c, &set)) s->cpus[s->ncpus++] = c;
  }
  if (s->ncpus == 0) s->cpus[s->ncpus++] = 0;
  /* Our kernels size their default blocking from the plausible caches. */
  hwt_hw_set_kernel_budget(&s->hw);

  s->timer_overhead = hwt_bench_timer_overhead(&s->clock, 2000);
  if (s->timer_overhead > 500) hwt_bench_session_warn(s, "timer overhead %.0f ns is high", s->timer_overhead);
  if (s->hw.hypervisor)
    hwt_bench_session_warn(s, "running under a hypervisor: other guests can steal CPU time (counted as load)");
  if (!s->hw.measured)
    hwt_bench_session_warn(s, "peaks and bandwidth not measured: pct_peak is null and bound is unknown");
  s->freq_probe_ns = hwt_freq_probe_ns(100000, 5);

  /* Load from other processes before the run: 100 ms of /proc/stat on the usable CPUs. */
  hwt_cpu_times a, b;
  if (hwt_cpu_times_read(&a, NULL)) {
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    if (hwt_cpu_times_read(&b, NULL)) {
      for (size_t i = 0; i < s->ncpus; i++) {
        double share;
        int c;
        double f = hwt_cpu_foreign_load(&a, &b, &s->cpus[i], 1, false, &share, &c);
        if (f >= 0.2) hwt_bench_session_warn(s, "load on cpu%d before the run: %.0f%%", s->cpus[i], 100 * f);
      }
    }
    /* The first configuration's "before the run" window starts here, so it covers these 100 ms too: a neighbour
     * that was busy just before the command still shows on the result, not only among the session's warnings. */
    s->last_times = a;
  }
  *out = s;
  return hwt_status_ok;
}

void hwt_bench_session_destroy(hwt_bench_session *s) {
  if (s == NULL) return;
  if (s->have_pool) hwt_pool_destroy(&s->pool);
  for (size_t i = 0; i < s->nwarnings; i++) free(s->warnings[i]);
  free(s);
}

const hwt_hw *hwt_bench_session_hw(const hwt_bench_session *s) { return &s->hw; }
double hwt_bench_session_timer_overhead(const hwt_bench_session *s) { return s->timer_overhead; }

static hwt_pool *session_pool(hwt_bench_session *s, unsigned threads, char *err, size_t errlen) {
  if (s->have_pool && s->pool.threads == threads) return &s->pool;
  if (s->have_pool) hwt_pool_destroy(&s->pool);
  s->have_pool = false;
  char msg[256] = "";
  if (hwt_pool_create(threads, s->pin ? s->cpus : NULL, s->ncpus, &s->pool, msg, sizeof(msg)) != 0) {
    hwt_errf(err, errlen, "%s", msg);
    return NULL;
  }
  if (msg[0]) hwt_bench_session_warn(s, "%s", msg);
  s->have_pool = true;
  return &s->pool;
}

pthreadpool_t hwt_bench_session_pool(hwt_bench_session *s, unsigned threads, char *err, size_t errlen) {
  hwt_pool *p = session_pool(s, threads, err, errlen);
  return p ? p->pool : NULL;
}

/* ------------------------------------------------------------------ operator set-up shared by measure and verify */

typedef struct op_set {
  const hwt_bench_backend *be;
  hwt_bench_problem p;
  size_t esz;
  void *weights, *bias;
  unsigned copies;
  void **inst;
  void **in, **out;
  size_t op_bytes;
  unsigned rot;
  pthreadpool_t pool;
} op_set;

static void op_set_free(op_set *o) {
  for (unsigned i = 0; i < o->copies; i++) {
    if (o->inst && o->inst[i]) o->be->destroy(o->inst[i]);
    if (o->in) free(o->in[i]);
    if (o->out) free(o->out[i]);
  }
  free(o->inst);
  free(o->in);
  free(o->out);
  free(o->weights);
  free(o->bias);
  memset(o, 0, sizeof(*o));
}

/* Every buffer on a 64-byte boundary (a cache line, an AVX-512 vector): with malloc's 16-byte alignment the
 * same configuration measured 4.0 or 5.5 us (256x784, batch 1) depending on where its output happened to land,
 * from one set-up to the next (rows split over two cache lines). Runtimes align their tensors; so do we. */

/* An op_set in two steps: op_set_begin allocates the shared source data and the slots, op_set_add sets up copy i
 * (its own input, output and operator). On failure both free the whole set. */
static hwt_status op_set_begin(const hwt_bench_config *cfg, const hwt_bench_backend *be, unsigned copies,
                               pthreadpool_t pool, op_set *o, char *err, size_t errlen) {
  memset(o, 0, sizeof(*o));
  o->be = be;
  o->pool = pool;
  hwt_bench_problem_init(&o->p, cfg->op, &cfg->shape, cfg->batch);
  o->esz = o->p.qs8 ? 1 : sizeof(float);
  o->weights = hwt_alloc_big(o->p.w_elems * o->esz);
  o->bias = hwt_alloc_big(o->p.bias_elems * 4);
  o->inst = calloc(copies, sizeof(void *));
  o->in = calloc(copies, sizeof(void *));
  o->out = calloc(copies, sizeof(void *));
  o->copies = copies;
  if (!o->weights || !o->bias || !o->inst || !o->in || !o->out) {
    hwt_errf(err, errlen, "out of memory allocating %u copies of shape %s", copies, cfg->shape.text);
    op_set_free(o);
    return hwt_status_out_of_memory;
  }
  if (o->p.qs8) {
    fill_i8(o->weights, o->p.w_elems, 1);
    fill_i32(o->bias, o->p.bias_elems, 2);
  } else {
    fill_f32(o->weights, o->p.w_elems, 1);
    fill_f32(o->bias, o->p.bias_elems, 2);
  }
  if (hwt_bench_op_is_sparse(cfg->op)) {
    /* The same zeros for every impl of a configuration (seed fixed): sparse and dense paths see one layer. */
    uint32_t bn = 1, bk = 1;
    if (cfg->block) hwt_spmm_block_shape(hwt_spmm_best_isa(), &bn, &bk);
    if (!hwt_bench_sparsify_f32(o->weights, o->p.n, o->p.k, cfg->sparsity, bn, bk, 5)) {
      hwt_errf(err, errlen, "out of memory pruning the weights of shape %s", cfg->shape.text);
      op_set_free(o);
      return hwt_status_out_of_memory;
    }
  }
  return hwt_status_ok;
}

static hwt_status op_set_add(op_set *o, const hwt_bench_config *cfg, unsigned i, char *err, size_t errlen) {
  const hwt_gemm_blocking *blk =
      (cfg->blocking.mc || cfg->blocking.kc || cfg->blocking.nc) ? &cfg->blocking : NULL;
  o->in[i] = hwt_alloc_big(o->p.in_elems * o->esz + XNN_PAD_BYTES);
  o->out[i] = hwt_alloc_big(o->p.out_elems * o->esz + XNN_PAD_BYTES);
  if (!o->in[i] || !o->out[i]) {
    hwt_errf(err, errlen, "out of memory allocating %u copies of shape %s", o->copies, cfg->shape.text);
    op_set_free(o);
    return hwt_status_out_of_memory;
  }
  if (o->p.qs8)
    fill_i8(o->in[i], o->p.in_elems + XNN_PAD_BYTES, 3 + i);
  else
    fill_f32(o->in[i], o->p.in_elems + XNN_PAD_BYTES / sizeof(float), 3 + i);
  memset(o->out[i], 0, o->p.out_elems * o->esz + XNN_PAD_BYTES);
  size_t before = malloc_in_use();
  hwt_status st = o->be->create(&o->p, cfg->isa_auto, cfg->isa, blk, o->weights, o->bias, &o->inst[i], err, errlen);
  if (st == hwt_status_ok) st = o->be->bind(o->inst[i], o->in[i], o->out[i], o->pool, err, errlen);
  if (st != hwt_status_ok) {
    op_set_free(o);
    return st;
  }
  if (i == 0) {
    /* The backend's own count when it has one, else the malloc delta (0 under sanitizers). */
    size_t after = malloc_in_use();
    o->op_bytes = o->be->op_bytes(o->inst[0]);
    if (o->op_bytes == 0 && after > before) o->op_bytes = after - before;
  }
  return hwt_status_ok;
}

static hwt_status op_set_create(const hwt_bench_config *cfg, const hwt_bench_backend *be, unsigned copies,
                                pthreadpool_t pool, op_set *o, char *err, size_t errlen) {
  hwt_status st = op_set_begin(cfg, be, copies, pool, o, err, errlen);
  for (unsigned i = 0; i < copies && st == hwt_status_ok; i++) st = op_set_add(o, cfg, i, err, errlen);
  return st;
}

static void op_body(void *ctx, uint64_t iterations) {
  op_set *o = ctx;
  for (uint64_t i = 0; i < iterations; i++) {
    o->be->run(o->inst[o->rot], o->pool);
    if (++o->rot == o->copies) o->rot = 0;
  }
}

static hwt_status check_config(const hwt_bench_session *s, const hwt_bench_config *cfg, char *err, size_t errlen) {
  (void)s;
  char why[256];
  if (cfg->batch == 0) {
    hwt_errf(err, errlen, "batch must be >= 1");
    return hwt_status_invalid_argument;
  }
  if (cfg->threads == 0 || cfg->threads > HWT_POOL_MAX_THREADS) {
    hwt_errf(err, errlen, "threads must be in 1..%d", HWT_POOL_MAX_THREADS);
    return hwt_status_invalid_argument;
  }
  if ((unsigned)cfg->op >= hwt_bench_op_count || (unsigned)cfg->impl >= hwt_bench_impl_count) {
    hwt_errf(err, errlen, "unknown op or impl");
    return hwt_status_invalid_argument;
  }
  if (!hwt_bench_shape_fits(cfg->op, &cfg->shape, why, sizeof(why))) {
    hwt_errf(err, errlen, "%s", why);
    return hwt_status_invalid_argument;
  }
  if (!(cfg->sparsity >= 0 && cfg->sparsity < 1) || (cfg->sparsity > 0 && !hwt_bench_op_is_sparse(cfg->op))) {
    hwt_errf(err, errlen, "sparsity %g: must be in [0, 1), and only spmm_f32 takes one", cfg->sparsity);
    return hwt_status_invalid_argument;
  }
  /* Element counts in double first: size_t products of 2^20-bounded dimensions can overflow. */
  const hwt_bench_shape *sh = &cfg->shape;
  const double b = (double)cfg->batch;
  double in, out, w;
  if (sh->conv) {
    const double oh = (double)((sh->h + 2 * sh->pad - sh->kh) / sh->stride + 1);
    const double ow = (double)((sh->w + 2 * sh->pad - sh->kw) / sh->stride + 1);
    in = b * (double)sh->h * (double)sh->w * (double)sh->c;
    out = b * oh * ow * (double)sh->out_c;
    w = (double)sh->out_c * (double)sh->kh * (double)sh->kw * (double)sh->c;
  } else {
    in = b * (double)sh->k;
    out = b * (double)sh->n;
    w = (double)sh->n * (double)sh->k;
  }
  if (in > 1e11 || out > 1e11 || w > 1e11) {
    hwt_errf(err, errlen, "%s with batch %zu is too large (%.3g input, %.3g output, %.3g weight elements)",
             sh->text, cfg->batch, in, out, w);
    return hwt_status_unsupported;
  }
  return hwt_status_ok;
}

/* Bytes one copy (input + output + weights) takes. */
static double copy_bytes(const hwt_bench_problem *p) {
  double esz = p->qs8 ? 1 : 4;
  return esz * ((double)p->in_elems + (double)p->out_elems + (double)p->w_elems) + 4.0 * (double)p->bias_elems;
}

/* ------------------------------------------------------------------ measure */

static unsigned long long own_runqueue_wait_ns(void) {
  FILE *f = fopen("/proc/thread-self/schedstat", "r");
  unsigned long long run = 0, wait = 0;
  if (f == NULL) return 0;
  if (fscanf(f, "%llu %llu", &run, &wait) != 2) wait = 0;
  fclose(f);
  return wait;
}

/* Involuntary context switches of the calling thread: it moves when another task took this CPU from us. */
static uint64_t own_preemptions(void *ctx) {
  (void)ctx;
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) != 0) return 0;
  return (uint64_t)ru.ru_nivcsw;
}

/* The frequency probe, retried until no other task preempted this thread during it (a preempted probe measures
 * the scheduler, not the clock). -1 when every attempt was disturbed. */
static double clean_freq_probe(void) {
  for (int attempt = 0; attempt < 5; attempt++) {
    unsigned long long w0 = own_runqueue_wait_ns();
    double v = hwt_freq_probe_ns(50000, 5);
    if (own_runqueue_wait_ns() == w0) return v;
  }
  return -1;
}

static double peak_for(const hwt_bench_session *s, const hwt_bench_config *cfg, const char *isa_name) {
  const bool int8 = hwt_bench_op_is_qs8(cfg->op);
  hwt_isa isa;
  if ((cfg->impl == hwt_bench_own || cfg->impl == hwt_bench_own_dense) && hwt_isa_from_name(isa_name, &isa))
    return hwt_hw_peak(&s->hw, int8, isa, cfg->threads);
  if (cfg->impl == hwt_bench_reference || cfg->impl == hwt_bench_wrong)
    return hwt_hw_peak(&s->hw, int8, hwt_isa_scalar, cfg->threads);
  double best = 0; /* xnnpack: the best ISA of this machine for the data type */
  for (int i = 0; i < hwt_isa_count; i++) {
    double v = hwt_hw_peak(&s->hw, int8, (hwt_isa)i, cfg->threads);
    if (v > best) best = v;
  }
  return best;
}

static void roofline(const hwt_bench_session *s, const hwt_bench_config *cfg, double peak, hwt_bench_result *r) {
  snprintf(r->bound, sizeof(r->bound), "unknown");
  if (!s->hw.measured || peak <= 0) return;
  const hwt_hw *hw = &s->hw;
  double ws = r->bytes_moved;
  hwt_bw_level lvl;
  if (cfg->cold)
    lvl = hwt_bw_dram;
  else if (ws <= (double)hwt_hw_cache_budget(hw, 1, NULL))
    lvl = hwt_bw_l1;
  else if (ws <= (double)hwt_hw_cache_budget(hw, 2, NULL))
    lvl = hwt_bw_l2;
  else if (ws <= (double)hwt_hw_cache_budget(hw, 3, NULL) * cfg->threads)
    lvl = hwt_bw_l3;
  else
    lvl = hwt_bw_dram;
  const hwt_bw *bw = &hw->bw[lvl];
  double gbps = bw->read_gbps_1t;
  if (cfg->threads > 1) {
    if (bw->read_gbps_all > 0 && hw->usable_cpus > 0)
      gbps = bw->read_gbps_all * (double)cfg->threads / (double)hw->usable_cpus;
    else
      gbps = bw->read_gbps_1t * cfg->threads;
  }
  if (gbps <= 0) return;
  double t_compute = r->flops / (peak * 1e9), t_memory = r->bytes_moved / (gbps * 1e9);
  snprintf(r->bound, sizeof(r->bound), "%s", t_memory > t_compute ? "memory" : "compute");
}

hwt_status hwt_bench_measure(hwt_bench_session *s, const hwt_bench_config *cfg_in, hwt_bench_result *res,
                             char *err, size_t errlen) {
  hwt_bench_config cfg = *cfg_in;
  if (cfg.max_time_s <= 0) cfg.max_time_s = 2.0;
  if (cfg.target_ci <= 0) cfg.target_ci = 0.01;
  if (cfg.min_samples == 0) cfg.min_samples = 10;
  if (cfg.impl == hwt_bench_xnnpack) cfg.isa_auto = true;
  hwt_status st = check_config(s, &cfg, err, errlen);
  if (st != hwt_status_ok) return st;
  const hwt_bench_backend *be = hwt_bench_backend_for(cfg.impl, cfg.op);
  hwt_bench_problem p;
  hwt_bench_problem_init(&p, cfg.op, &cfg.shape, cfg.batch);
  char why[256] = "";
  if (be == NULL) {
    hwt_errf(err, errlen, "impl %s does not run %s (own-dense and xnnpack-dense are spmm_f32's dense baselines)",
             hwt_bench_impl_name(cfg.impl), hwt_bench_op_name(cfg.op));
    return hwt_status_unsupported;
  }
  if (!be->supports(&p, cfg.isa_auto, cfg.isa, why, sizeof(why))) {
    hwt_errf(err, errlen, "%s", why[0] ? why : "no backend");
    return hwt_status_unsupported;
  }
  const double per_copy = copy_bytes(&p);
  const double avail = s->hw.mem_available_bytes ? (double)s->hw.mem_available_bytes : 8e9;
  unsigned copies = 1;
  bool cold_short = false;
  if (cfg.cold) {
    const double target = 2.0 * (double)llc_bytes(&s->hw);
    double want = ceil(target / per_copy) + 1;
    if (want < 2) want = 2;
    if (want > COLD_MAX_COPIES) {
      want = COLD_MAX_COPIES;
      cold_short = true;
    }
    copies = (unsigned)want;
  }
  if (per_copy * 2.5 * copies > avail * 0.5) {
    hwt_errf(err, errlen, "%s: %u cop%s of %.0f MiB (input, output, weights and packed weights) exceed half of the "
             "available memory (%.0f MiB)", cfg.shape.text, copies, copies == 1 ? "y" : "ies", per_copy / 1048576.0,
             avail / 1048576.0);
    return hwt_status_unsupported;
  }

  const uint64_t t_start = hwt_now_ns();
  hwt_pool *pool = session_pool(s, cfg.threads, err, errlen);
  if (pool == NULL) return hwt_status_internal;
  op_set o;
  st = op_set_create(&cfg, be, copies, pool->pool, &o, err, errlen);
  if (st != hwt_status_ok) return st;

  memset(res, 0, sizeof(*res));
  res->config = cfg;
  snprintf(res->isa, sizeof(res->isa), "%s", be->isa_name(&p, cfg.isa_auto, cfg.isa));
  hwt_bench_config_name(&cfg, res->isa, res->name, sizeof(res->name));
  res->cold_copies = copies;
  res->op_bytes = o.op_bytes;
  res->weight_sparsity = hwt_bench_op_is_sparse(cfg.op) ? hwt_sparsity_f32(o.weights, p.w_elems) : -1;
  const char *format = be->format ? be->format(o.inst[0]) : NULL;
  snprintf(res->weight_format, sizeof(res->weight_format), "%s", format ? format : "");
  res->has_blocking = be->blocking(o.inst[0], &res->blocking_used);
  if (cold_short)
    hwt_bench_result_warn(res, "cold: only %u copies (%.1f MiB) rotate, less than 2x the LLC: partly warm", copies,
                          per_copy * copies / 1048576.0);
  if (!pool->pinned && s->pin) hwt_bench_result_warn(res, "pool threads not pinned");

  /* Noise baseline: /proc/stat since the previous configuration, the frequency probe, schedstat. */
  hwt_cpu_times t_before;
  bool have_times = hwt_cpu_times_read(&t_before, NULL);
  const double probe_before = clean_freq_probe();

  /* Warm-up: at least 2 calls and min(100 ms, max_time / 10). */
  const uint64_t max_ns = (uint64_t)(cfg.max_time_s * 1e9);
  const uint64_t warm_ns = max_ns / 10 < 100000000ull ? max_ns / 10 : 100000000ull;
  uint64_t w0 = s->clock.now_ns(s->clock.ctx), calls = 0;
  while ((calls < 2 || s->clock.now_ns(s->clock.ctx) - w0 < warm_ns) && !(s->stop && *s->stop)) {
    op_body(&o, 1);
    calls++;
  }
  /* Calibrate: one sample >= 100x the timer overhead and >= min_sample_ns (default 20 us). */
  uint64_t target = (uint64_t)(100.0 * s->timer_overhead);
  uint64_t min_sample = cfg.min_sample_ns ? cfg.min_sample_ns : 20000;
  if (target < min_sample) target = min_sample;
  const uint64_t iters = hwt_bench_calibrate(&s->clock, op_body, &o, target, 1u << 24);

  const uint64_t used = s->clock.now_ns(s->clock.ctx) - w0;
  hwt_bench_sampling sp = {.iterations = iters,
                           .min_samples = cfg.min_samples,
                           .target_ci = cfg.target_ci,
                           .max_ns = max_ns > used ? max_ns - used : max_ns / 10,
                           .stop = s->stop};
  size_t dropped = 0;
  if (!cfg.keep_preempted) {
    sp.disturbance = own_preemptions;
    sp.dropped = &dropped;
  }
  sp.max_samples = (size_t)(max_ns / target) + 64;
  if (sp.max_samples > 200000) sp.max_samples = 200000;
  if (sp.max_samples < cfg.min_samples) sp.max_samples = cfg.min_samples;
  res->samples_ns = malloc(sp.max_samples * sizeof(double));
  if (res->samples_ns == NULL) {
    op_set_free(&o);
    hwt_bench_result_free(res);
    return hwt_status_out_of_memory;
  }
  const uint64_t wait_t0 = hwt_now_ns();
  unsigned long long wait0 = hwt_pool_runqueue_wait_ns(pool);
  hwt_cpu_times t_run0;
  bool have_run0 = hwt_cpu_times_read(&t_run0, NULL);
  bool interrupted = false;
  res->samples = hwt_bench_sample(&s->clock, op_body, &o, &sp, res->samples_ns, &interrupted);
  hwt_cpu_times t_run1;
  bool have_run1 = hwt_cpu_times_read(&t_run1, NULL);
  unsigned long long wait1 = hwt_pool_runqueue_wait_ns(pool);
  const uint64_t wait_window_ns = hwt_now_ns() - wait_t0;
  const double probe_after = clean_freq_probe();
  res->interrupted = interrupted;
  res->iterations_per_sample = iters;
  res->preempted_dropped = dropped;

  /* Statistics. */
  double *scratch = malloc((res->samples ? res->samples : 1) * sizeof(double));
  hwt_stats_summary sum;
  if (scratch != NULL) {
    hwt_stats_summarize(res->samples_ns, res->samples, scratch, &sum);
    free(scratch);
  } else {
    memset(&sum, 0, sizeof(sum));
  }
  res->median_ns = sum.median;
  res->mean_ns = sum.mean;
  res->stddev_ns = sum.stddev;
  res->mad_ns = sum.mad;
  res->min_ns = sum.min;
  res->max_ns = sum.max;
  res->p90_ns = sum.p90;
  res->p99_ns = sum.p99;
  res->ci_low_ns = sum.ci_low;
  res->ci_high_ns = sum.ci_high;
  res->cv = sum.cv;

  /* Derived metrics. */
  res->m = p.batch;
  res->n = p.n;
  res->k = p.k;
  res->out_h = p.out_h;
  res->out_w = p.out_w;
  res->groups = p.groups;
  res->flops = 2.0 * (double)hwt_bench_problem_rows(&p) * (double)p.n * (double)p.k;
  res->bytes_moved = copy_bytes(&p);
  res->arithmetic_intensity = res->flops / res->bytes_moved;
  res->gflops = res->median_ns > 0 ? res->flops / res->median_ns : 0;
  double peak = peak_for(s, &cfg, res->isa);
  res->pct_peak = peak > 0 ? 100.0 * res->gflops / peak : -1;
  if (res->pct_peak > 105)
    hwt_bench_result_warn(res, "%.0f%% of peak: detect's %u-thread peak (%.1f GFLOP/s) looks too low (measured on a "
                          "busy machine?)", res->pct_peak, cfg.threads, peak);
  roofline(s, &cfg, peak, res);

  /* Noise findings. */
  if (interrupted) hwt_bench_result_warn(res, "interrupted after %zu samples", res->samples);
  if (dropped > 0)
    hwt_bench_result_warn(res, "%zu of %zu samples dropped: the measuring thread was preempted during them", dropped,
                          dropped + res->samples);
  if (res->cv > 0.05) hwt_bench_result_warn(res, "cv %.1f%% > 5%%", 100 * res->cv);
  if (res->samples >= 6 && res->median_ns > 0) {
    double half = (res->ci_high_ns - res->ci_low_ns) / 2 / res->median_ns;
    if (half > cfg.target_ci && !interrupted)
      hwt_bench_result_warn(res, "95%% CI of the median +-%.2f%% > target +-%.2f%% (max time %.2g s ran out)",
                            100 * half, 100 * cfg.target_ci, cfg.max_time_s);
  } else if (!interrupted) {
    hwt_bench_result_warn(res, "only %zu samples: no 95%% CI of the median (one call exceeds the time budget)",
                          res->samples);
  }
  {
    /* Load on ANY usable CPU, before the run and during it: even a single-thread run shares the last-level cache
     * and the memory bandwidth with the other cores (hwt_load_findings, a pure function of the readings). */
    unsigned nused = 0;
    if (pool->pinned)
      while (nused < cfg.threads && nused < HWT_POOL_MAX_THREADS && pool->cpu[nused] >= 0) nused++;
    char found[2][HWT_LOAD_FINDING_LEN];
    size_t nfound = hwt_load_findings(have_times ? &s->last_times : NULL, have_times ? &t_before : NULL,
                                      have_run0 ? &t_run0 : NULL, have_run1 ? &t_run1 : NULL, s->cpus, s->ncpus,
                                      nused ? pool->cpu : NULL, nused, found, 2);
    for (size_t i = 0; i < nfound; i++) hwt_bench_result_warn(res, "%s", found[i]);
  }
  if (wait1 > wait0 && wait_window_ns > 0) {
    /* The same window as the readings: a wait is added to schedstat when the thread runs again. */
    double frac = (double)(wait1 - wait0) / ((double)wait_window_ns * cfg.threads);
    if (frac > 1) frac = 1;
    if (frac >= 0.02)
      hwt_bench_result_warn(res, "pool threads waited for a CPU %.1f%% of the run (another process ran there)",
                            100 * frac);
  }
  if (probe_before > 0 && probe_after > 0) {
    double change = probe_after / probe_before - 1.0;
    if (fabs(change) > 0.05)
      hwt_bench_result_warn(res, "frequency changed: calibration loop %.1f us before, %.1f us after (%+.1f%%)",
                            probe_before / 1e3, probe_after / 1e3, 100 * change);
  }
  if (s->hw.usable_cpus && cfg.threads > s->hw.usable_cpus)
    hwt_bench_result_warn(res, "threads %u > usable CPUs %u: oversubscribed", cfg.threads, s->hw.usable_cpus);

  res->peak_rss_bytes = peak_rss_bytes();
  op_set_free(&o);
  if (have_run1) s->last_times = t_run1;
  res->elapsed_s = (double)(hwt_now_ns() - t_start) / 1e9;
  return hwt_status_ok;
}

hwt_status hwt_bench_result_merge(hwt_bench_result *into, hwt_bench_result *more, unsigned round) {
  const size_t n = into->samples + more->samples;
  double *x = realloc(into->samples_ns, (n ? n : 1) * sizeof(double));
  if (x == NULL) return hwt_status_out_of_memory;
  into->samples_ns = x;
  if (more->samples) memcpy(x + into->samples, more->samples_ns, more->samples * sizeof(double));
  double *scratch = malloc((n ? n : 1) * sizeof(double));
  if (scratch == NULL) return hwt_status_out_of_memory;
  hwt_stats_summary sum;
  hwt_stats_summarize(x, n, scratch, &sum);
  free(scratch);
  const double old_gflops = into->gflops;
  into->samples = n;
  into->median_ns = sum.median, into->mean_ns = sum.mean, into->stddev_ns = sum.stddev, into->mad_ns = sum.mad;
  into->min_ns = sum.min, into->max_ns = sum.max, into->p90_ns = sum.p90, into->p99_ns = sum.p99;
  into->ci_low_ns = sum.ci_low, into->ci_high_ns = sum.ci_high, into->cv = sum.cv;
  into->gflops = sum.median > 0 ? into->flops / sum.median : 0;
  if (into->pct_peak >= 0 && old_gflops > 0) into->pct_peak *= into->gflops / old_gflops;
  into->preempted_dropped += more->preempted_dropped;
  into->elapsed_s += more->elapsed_s;
  into->interrupted |= more->interrupted;
  if (more->peak_rss_bytes > into->peak_rss_bytes) into->peak_rss_bytes = more->peak_rss_bytes;
  for (size_t i = 0; i < more->nwarnings; i++) hwt_bench_result_warn(into, "round %u: %s", round, more->warnings[i]);
  hwt_bench_result_free(more);
  more->samples = 0;
  return hwt_status_ok;
}

/* ------------------------------------------------------------------ verify */

static void describe_index(const hwt_bench_problem *p, size_t idx, char *buf, size_t len) {
  if (!p->conv) {
    snprintf(buf, len, "[row %zu, col %zu]", idx / p->n, idx % p->n);
  } else {
    size_t oc = idx % p->out_c, rest = idx / p->out_c;
    size_t x = rest % p->out_w;
    rest /= p->out_w;
    size_t y = rest % p->out_h, b = rest / p->out_h;
    snprintf(buf, len, "[image %zu, y %zu, x %zu, channel %zu]", b, y, x, oc);
  }
}

hwt_status hwt_bench_verify(hwt_bench_session *s, const hwt_bench_config *cfg_in, char *err, size_t errlen) {
  hwt_bench_config cfg = *cfg_in;
  if (cfg.impl == hwt_bench_xnnpack) cfg.isa_auto = true;
  hwt_status st = check_config(s, &cfg, err, errlen);
  if (st != hwt_status_ok) return st;
  const hwt_bench_backend *be = hwt_bench_backend_for(cfg.impl, cfg.op);
  hwt_bench_problem p;
  hwt_bench_problem_init(&p, cfg.op, &cfg.shape, cfg.batch);
  char why[256] = "";
  if (be == NULL || !be->supports(&p, cfg.isa_auto, cfg.isa, why, sizeof(why))) {
    hwt_errf(err, errlen, "%s", why);
    return hwt_status_unsupported;
  }
  hwt_pool *pool = session_pool(s, cfg.threads, err, errlen);
  if (pool == NULL) return hwt_status_internal;
  op_set o;
  st = op_set_create(&cfg, be, 1, pool->pool, &o, err, errlen);
  if (st != hwt_status_ok) return st;
  be->run(o.inst[0], pool->pool);
  if (be->collect) be->collect(o.inst[0]);

  void *want = malloc(p.out_elems * o.esz + 1);
  float *mag = NULL;
  if (want == NULL) {
    op_set_free(&o);
    return hwt_status_out_of_memory;
  }
  hwt_bench_reference_compute(&p, o.weights, o.bias, o.in[0], want);
  if (!p.qs8) {
    /* Tolerance per element from the magnitude sum |a||w| + |bias| (the reference over absolute values):
     * float accumulation in any order stays within ~sqrt(K) eps of it in practice. */
    float *aw = malloc(p.w_elems * sizeof(float)), *ab = malloc(p.bias_elems * sizeof(float));
    float *ai = malloc(p.in_elems * sizeof(float));
    mag = malloc(p.out_elems * sizeof(float) + 1);
    if (aw && ab && ai && mag) {
      for (size_t i = 0; i < p.w_elems; i++) aw[i] = fabsf(((float *)o.weights)[i]);
      for (size_t i = 0; i < p.bias_elems; i++) ab[i] = fabsf(((float *)o.bias)[i]);
      for (size_t i = 0; i < p.in_elems; i++) ai[i] = fabsf(((float *)o.in[0])[i]);
      hwt_bench_reference_compute(&p, aw, ab, ai, mag);
    } else {
      free(mag);
      mag = NULL;
    }
    free(aw);
    free(ab);
    free(ai);
  }
  size_t bad = 0, worst = 0;
  double worst_excess = -1, worst_diff = 0, worst_tol = 0;
  for (size_t i = 0; i < p.out_elems; i++) {
    double got, ref, tol;
    if (p.qs8) {
      got = ((int8_t *)o.out[0])[i];
      ref = ((int8_t *)want)[i];
      tol = 0;
    } else {
      got = ((float *)o.out[0])[i];
      ref = ((float *)want)[i];
      double m = mag ? mag[i] : fabs(ref);
      tol = 8.0 * FLT_EPSILON * (sqrt((double)p.k) + 1.0) * m + 1e-6;
    }
    double diff = fabs(got - ref);
    if (!(diff <= tol)) { /* NaN counts as a mismatch */
      bad++;
      double excess = isnan(diff) ? INFINITY : diff - tol;
      if (excess > worst_excess) {
        worst_excess = excess;
        worst = i;
        worst_diff = diff;
        worst_tol = tol;
      }
    }
  }
  if (bad > 0) {
    char where[128];
    describe_index(&p, worst, where, sizeof(where));
    double got = p.qs8 ? ((int8_t *)o.out[0])[worst] : ((float *)o.out[0])[worst];
    double ref = p.qs8 ? ((int8_t *)want)[worst] : ((float *)want)[worst];
    char name[192];
    hwt_bench_config_name(&cfg, be->isa_name(&p, cfg.isa_auto, cfg.isa), name, sizeof(name));
    hwt_errf(err, errlen,
             "verify FAILED for %s (shape %s, batch %zu): %zu of %zu outputs differ from the reference; worst "
             "element %zu %s: got %.9g, want %.9g (|diff| %.3g, tolerance %.3g)",
             name, cfg.shape.text, cfg.batch, bad, p.out_elems, worst, where, got, ref, worst_diff, worst_tol);
    st = hwt_status_mismatch;
  }
  free(want);
  free(mag);
  op_set_free(&o);
  return st;
}

/* ------------------------------------------------------------------ session accessors used by context.c */

size_t hwt_bench_session_warnings(const hwt_bench_session *s, const char *const **out) {
  *out = (const char *const *)s->warnings;
  return s->nwarnings;
}

const char *hwt_bench_session_start_time(const hwt_bench_session *s) { return s->start_time; }

double hwt_bench_session_freq_probe(const hwt_bench_session *s) { return s->freq_probe_ns; }

/* ------------------------------------------------------------------ racing (interleaved measurement) */

#define RACE_MAX_POOLS 8

typedef struct race_entry {
  hwt_bench_config cfg;
  hwt_status status;
  char why[256];
  op_set o;                  /* `copies` instances of the configuration, each with its own buffers */
  unsigned cur;              /* the instance this turn runs */
  bool ready;
  uint64_t iters;
  double *x;                 /* samples, ns per call */
  size_t n, cap;
  double *turn;              /* each turn's median: samples within a turn are not independent, turns are */
  size_t nturns, turn_cap;
  unsigned *turn_inst;       /* the instance each turn ran (turn_cap entries, like turn) */
} race_entry;

struct hwt_bench_race {
  hwt_bench_session *s;
  race_entry *e;
  size_t n;
  hwt_pool pools[RACE_MAX_POOLS];  /* thread counts other than 1 and the session pool's */
  size_t npools;
  unsigned rotate;
};

/* Runs the current instance (op_body would rotate instances call by call, which is the cold mode). */
static void race_body(void *ctx, uint64_t iterations) {
  race_entry *e = ctx;
  for (uint64_t i = 0; i < iterations; i++) e->o.be->run(e->o.inst[e->cur], e->o.pool);
}

/* Instances per configuration: the speed of one set-up depends on where its buffers and packed weights landed,
 * and that lasts as long as the set-up. Eight set-ups of one 256x784 own/avx512f configuration in one process ran
 * 3.8 to 5.7 us each, every one of them steadily, also with its packed weights on a 2 MiB huge page (the VM's host
 * places the memory). Turns cycle through many set-ups so that the luck averages out, where set-up is cheap. At
 * 16 MiB (4096x1024 on 2 threads) two set-ups of one configuration ran 82.7 and 97.7 us in one race: 2 instances
 * left the entry's figure to the luck of the pair, so there are 4 (set-up there is ~12 ms an instance). */
static unsigned race_instances(const hwt_bench_problem *p) {
  double bytes = copy_bytes(p);
  return bytes <= 1.0 * 1048576 ? 32 : bytes <= 4.0 * 1048576 ? 16 : bytes <= 32.0 * 1048576 ? 4 : 1;
}

double hwt_bench_race_setup_bytes(hwt_bench_op op, const hwt_bench_shape *shape, size_t batch) {
  hwt_bench_problem p;
  hwt_bench_problem_init(&p, op, shape, batch);
  return copy_bytes(&p) * (double)race_instances(&p);
}

static pthreadpool_t race_pool(hwt_bench_race *r, unsigned threads, unsigned max_threads, char *err, size_t errlen,
                               bool *ok) {
  *ok = true;
  if (threads <= 1) return NULL;
  if (r->s->race_pool != NULL) {
    pthreadpool_t p = r->s->race_pool(threads);
    if (p == NULL) {
      hwt_errf(err, errlen, "the race's pool source gave no pool of %u threads", threads);
      *ok = false;
    }
    return p;
  }
  if (threads == max_threads) return r->s->pool.pool;
  for (size_t i = 0; i < r->npools; i++)
    if (r->pools[i].threads == threads) return r->pools[i].pool;
  if (r->npools == RACE_MAX_POOLS) {
    hwt_errf(err, errlen, "more than %d distinct thread counts in one race", RACE_MAX_POOLS + 1);
    *ok = false;
    return NULL;
  }
  char msg[256] = "";
  if (hwt_pool_create(threads, r->s->pin ? r->s->cpus : NULL, r->s->ncpus, &r->pools[r->npools], msg, sizeof(msg)) !=
      0) {
    hwt_errf(err, errlen, "%s", msg);
    *ok = false;
    return NULL;
  }
  return r->pools[r->npools++].pool;
}

hwt_status hwt_bench_race_create(hwt_bench_session *s, const hwt_bench_config *cfgs, size_t n, hwt_bench_race **out,
                                 char *err, size_t errlen) {
  *out = NULL;
  hwt_bench_race *r = calloc(1, sizeof(*r));
  if (r == NULL || (r->e = calloc(n ? n : 1, sizeof(race_entry))) == NULL) {
    free(r);
    hwt_errf(err, errlen, "out of memory");
    return hwt_status_out_of_memory;
  }
  r->s = s;
  r->n = n;
  /* Which entries can run, the memory they need together, the largest thread count (the session's pool). */
  double bytes = 0;
  unsigned max_threads = 1;
  for (size_t i = 0; i < n; i++) {
    race_entry *e = &r->e[i];
    e->cfg = cfgs[i];
    e->cfg.cold = false;
    if (e->cfg.impl == hwt_bench_xnnpack) e->cfg.isa_auto = true;
    e->status = check_config(s, &e->cfg, e->why, sizeof(e->why));
    if (e->status != hwt_status_ok) continue;
    const hwt_bench_backend *be = hwt_bench_backend_for(e->cfg.impl, e->cfg.op);
    hwt_bench_problem p;
    hwt_bench_problem_init(&p, e->cfg.op, &e->cfg.shape, e->cfg.batch);
    if (be == NULL || !be->supports(&p, e->cfg.isa_auto, e->cfg.isa, e->why, sizeof(e->why))) {
      if (!e->why[0]) snprintf(e->why, sizeof(e->why), "no backend");
      e->status = hwt_status_unsupported;
      continue;
    }
    bytes += copy_bytes(&p) * 2.5 * race_instances(&p);
    if (e->cfg.threads > max_threads) max_threads = e->cfg.threads;
  }
  const double avail = s->hw.mem_available_bytes ? (double)s->hw.mem_available_bytes : 8e9;
  if (bytes > avail * 0.5) {
    hwt_errf(err, errlen, "%zu configurations of %s side by side need %.0f MiB, more than half of the available "
             "memory (%.0f MiB): measure them one at a time", n, n ? cfgs[0].shape.text : "-", bytes / 1048576.0,
             avail / 1048576.0);
    hwt_bench_race_destroy(r);
    return hwt_status_unsupported;
  }
  if (max_threads > 1 && s->race_pool == NULL && session_pool(s, max_threads, err, errlen) == NULL) {
    hwt_bench_race_destroy(r);
    return hwt_status_internal;
  }
  for (size_t i = 0; i < n; i++) {
    race_entry *e = &r->e[i];
    if (e->status != hwt_status_ok) continue;
    bool ok;
    pthreadpool_t pool = race_pool(r, e->cfg.threads, max_threads, err, errlen, &ok);
    if (!ok) {
      hwt_bench_race_destroy(r);
      return hwt_status_internal;
    }
    const hwt_bench_backend *be = hwt_bench_backend_for(e->cfg.impl, e->cfg.op);
    hwt_bench_problem pr;
    hwt_bench_problem_init(&pr, e->cfg.op, &e->cfg.shape, e->cfg.batch);
    hwt_status st = op_set_begin(&e->cfg, be, race_instances(&pr), pool, &e->o, e->why, sizeof(e->why));
    if (st != hwt_status_ok) {
      hwt_errf(err, errlen, "%s", e->why);
      hwt_bench_race_destroy(r);
      return st;
    }
    e->ready = true;
  }
  /* The instances round-robin over the entries: memory comes back in the order it was freed, and some of it runs
   * slower for as long as it is held (the host places it). Set up entry by entry, one entry of a race got that
   * memory for all its instances: in one process, races of two configurations of 4096x1024 ran one entry 7-9%
   * slower than the other, the first and the second by turns from one race to the next (96.6 vs 104.2 us, then
   * 102.7 vs 96.2), whichever configuration came first. Interleaved, the slow memory is spread over several
   * entries, one instance each, where the instances' figure (hwt_stats_grouped_figure) leaves it out. */
  for (unsigned c = 0;; c++) {
    bool any = false;
    for (size_t i = 0; i < n; i++) {
      race_entry *e = &r->e[i];
      if (!e->ready || c >= e->o.copies) continue;
      any = true;
      hwt_status st = op_set_add(&e->o, &e->cfg, c, e->why, sizeof(e->why));
      if (st == hwt_status_ok) continue;
      e->ready = false;  /* op_set_add freed the set */
      if (st == hwt_status_unsupported) {
        e->status = st;
        continue;
      }
      hwt_errf(err, errlen, "%s", e->why);
      hwt_bench_race_destroy(r);
      return st;
    }
    if (!any) break;
  }
  uint64_t target = (uint64_t)(100.0 * s->timer_overhead);
  for (size_t i = 0; i < n; i++) {
    race_entry *e = &r->e[i];
    if (!e->ready) continue;
    /* Warm-up (2 calls, then up to 10 ms) and the iterations per sample, as hwt_bench_measure. */
    uint64_t w0 = s->clock.now_ns(s->clock.ctx), calls = 0;
    while (calls < 2 * e->o.copies || (s->clock.now_ns(s->clock.ctx) - w0 < 10000000ull && calls < 64)) {
      op_body(&e->o, 1);
      calls++;
    }
    uint64_t min_sample = e->cfg.min_sample_ns ? e->cfg.min_sample_ns : 20000;
    e->iters = hwt_bench_calibrate(&s->clock, race_body, e, target > min_sample ? target : min_sample, 1u << 24);
  }
  *out = r;
  return hwt_status_ok;
}

static bool push(double **x, size_t *n, size_t *cap, double v) {
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 64;
    double *nx = realloc(*x, c * sizeof(double));
    if (nx == NULL) return false;
    *x = nx;
    *cap = c;
  }
  (*x)[(*n)++] = v;
  return true;
}

static bool race_push(race_entry *e, double v) { return push(&e->x, &e->n, &e->cap, v); }

/* One turn: an untimed call, then samples for burst_ns (at least one kept, or 4 bursts' time at most). */
static bool race_turn(hwt_bench_session *s, race_entry *e, uint64_t burst_ns) {
  e->cur = (e->cur + 1) % e->o.copies;
  race_body(e, 1);
  const uint64_t start = s->clock.now_ns(s->clock.ctx);
  size_t kept = 0, first = e->n;
  for (;;) {
    const uint64_t d0 = e->cfg.keep_preempted ? 0 : own_preemptions(NULL);
    const uint64_t t0 = s->clock.now_ns(s->clock.ctx);
    race_body(e, e->iters);
    const uint64_t t1 = s->clock.now_ns(s->clock.ctx);
    if (e->cfg.keep_preempted || own_preemptions(NULL) == d0) {
      if (!race_push(e, (double)(t1 - t0) / (double)e->iters)) return false;
      kept++;
    }
    const uint64_t spent = t1 - start;
    if ((spent >= burst_ns && kept > 0) || spent >= 4 * burst_ns) break;
    if (s->stop && *s->stop) break;
  }
  if (kept == 0) return true;
  if (e->nturns == e->turn_cap) {  /* turn and turn_inst grow together */
    size_t c = e->turn_cap ? 2 * e->turn_cap : 64;
    double *nt = realloc(e->turn, c * sizeof *nt);
    if (nt == NULL) return false;
    e->turn = nt;
    unsigned *ni = realloc(e->turn_inst, c * sizeof *ni);
    if (ni == NULL) return false;
    e->turn_inst = ni;
    e->turn_cap = c;
  }
  e->turn_inst[e->nturns] = e->cur;
  e->turn[e->nturns++] = hwt_stats_median(e->x + first, kept);
  return true;
}

/* The entry's statistics: those of all its samples, with the median replaced by the figure of the instances' turn
 * medians (hwt_stats_grouped_figure) when there are several instances, and the 95% CI of the median widened to
 * the figure and, once there are 6 turns, to the CI of its turns' medians (before that, the CI says nothing about
 * the drift between turns: not exact). */
static bool race_summary(const race_entry *e, hwt_stats_summary *out) {
  memset(out, 0, sizeof(*out));
  if (e->n == 0) return true;
  size_t big = e->n > e->nturns + e->o.copies ? e->n : e->nturns + e->o.copies;
  double *scratch = malloc(big * sizeof(double));
  if (scratch == NULL) return false;
  hwt_stats_summarize(e->x, e->n, scratch, out);
  if (e->o.copies > 1 && e->nturns > 0) {
    /* An instance's speed lasts as long as its set-up, so the median of all samples is the median of a mixture:
     * on 4096x1024 with 2 instances, one ran ~105 us and the other ~118 us, and the entry's median was either,
     * depending on which had slightly more samples. */
    const double f = hwt_stats_grouped_figure(e->turn, e->turn_inst, e->nturns, e->o.copies, scratch);
    if (!isnan(f)) {
      out->median = f;
      if (f < out->ci_low) out->ci_low = f;
      if (f > out->ci_high) out->ci_high = f;
    }
  }
  double lo, hi;
  hwt_stats_sort_copy(e->turn, e->nturns, scratch);
  if (e->nturns >= 6 && hwt_stats_median_ci_sorted(scratch, e->nturns, 0.95, &lo, &hi, NULL, NULL)) {
    if (lo < out->ci_low) out->ci_low = lo;
    if (hi > out->ci_high) out->ci_high = hi;
  } else {
    out->ci_exact = false;
  }
  free(scratch);
  return true;
}

static bool race_precise(const race_entry *e, size_t min_samples, double target) {
  hwt_stats_summary m;
  if (e->n < min_samples || !race_summary(e, &m) || !m.ci_exact) return false;
  return m.median > 0 && (m.ci_high - m.ci_low) / 2.0 <= target * m.median;
}

hwt_status hwt_bench_race_run(hwt_bench_race *r, const hwt_bench_race_params *p, char *err, size_t errlen) {
  hwt_bench_session *s = r->s;
  const uint64_t burst_ns = p->burst_s > 0 ? (uint64_t)(p->burst_s * 1e9) : 5000000ull;
  const uint64_t max_ns = (uint64_t)(p->max_s > 0 ? p->max_s * 1e9 : 0);
  const size_t min_samples = p->min_samples ? p->min_samples : 10;
  const uint64_t t0 = s->clock.now_ns(s->clock.ctx);
  for (unsigned round = 1;; round++) {
    size_t active = 0;
    for (size_t k = 0; k < r->n; k++) {
      size_t i = (k + r->rotate) % r->n;
      race_entry *e = &r->e[i];
      if (!e->ready || (p->active && !p->active[i])) continue;
      active++;
      if (!race_turn(s, e, burst_ns)) {
        hwt_errf(err, errlen, "out of memory keeping race samples");
        return hwt_status_out_of_memory;
      }
      if (s->stop && *s->stop) return hwt_status_ok;
    }
    r->rotate++;
    if (active == 0) return hwt_status_ok;
    bool precise = true, three = true;
    for (size_t i = 0; i < r->n; i++) {
      const race_entry *e = &r->e[i];
      if (!e->ready || (p->active && !p->active[i])) continue;
      if (e->n < 3) three = false;
      if (precise && !race_precise(e, min_samples, p->target_ci)) precise = false;
    }
    const uint64_t spent = s->clock.now_ns(s->clock.ctx) - t0;
    if (p->target_ci > 0 && precise && round >= p->min_rounds) return hwt_status_ok;
    if (spent >= max_ns && three) return hwt_status_ok;
    if (spent >= 2 * max_ns) return hwt_status_ok;
  }
}

hwt_status hwt_bench_race_entry(const hwt_bench_race *r, size_t i, hwt_stats_summary *out, const char **why) {
  memset(out, 0, sizeof(*out));
  if (why) *why = "";
  if (i >= r->n) return hwt_status_invalid_argument;
  const race_entry *e = &r->e[i];
  if (why) *why = e->why;
  if (e->status != hwt_status_ok) return e->status;
  return race_summary(e, out) ? hwt_status_ok : hwt_status_out_of_memory;
}

void hwt_bench_race_destroy(hwt_bench_race *r) {
  if (r == NULL) return;
  for (size_t i = 0; i < r->n; i++) {
    if (r->e[i].ready) op_set_free(&r->e[i].o);
    free(r->e[i].x);
    free(r->e[i].turn);
    free(r->e[i].turn_inst);
  }
  free(r->e);
  for (size_t i = r->npools; i-- > 0;) hwt_pool_destroy(&r->pools[i]);
  /* hwt_pool_destroy gave the caller its whole mask back: the session's pool still expects it on its CPU. */
  if (r->npools > 0 && r->s->have_pool && r->s->pool.pinned && r->s->pool.cpu[0] >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(r->s->pool.cpu[0], &set);
    sched_setaffinity(0, sizeof(set), &set);
  }
  free(r);
}
