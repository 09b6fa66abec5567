/* SPDX-License-Identifier: Apache-2.0 */
/* Runs the peak and bandwidth probes: 1 thread and one thread per usable CPU, each pinned to a distinct usable
 * CPU; repeats short runs and keeps the best (peaks are ceilings: noise from other processes only lowers them). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "detect_internal.h"
#include "hwt_common.h"
#include "probe_table.h"

#define MAX_REPEATS 256

typedef enum { job_peak, job_read, job_triad, job_touch } job_kind;

typedef struct job {
  job_kind kind;
  const hwt_peak_probe *peak;
  const hwt_bw_probe *bw;
  size_t nfloats;   /* per thread: read: floats in the buffer; triad: floats per array */
  float *shared;    /* DRAM level: one buffer allocated once; thread t works at shared + t * slice */
  size_t slice;
  uint64_t iters;   /* peak: iterations; bandwidth: passes over the buffer (per repeat) */
  int repeats;      /* at most this many timed repeats, after one untimed warm-up */
  double budget_s;  /* ... and no new repeat after this much wall time (0 = no limit) */
  unsigned nthreads;
  pthread_barrier_t bar;
  bool stop_after[MAX_REPEATS + 1]; /* [r]: written by worker 0 after repeat r, read by all after the next barrier */
  int done;         /* repeats completed (including the warm-up) */
} job;

typedef struct worker {
  job *j;
  unsigned idx;
  int cpu;          /* -1: do not pin */
  bool pinned;
  bool ok;          /* buffers allocated */
  double sink;
  uint64_t t0[MAX_REPEATS + 1], t1[MAX_REPEATS + 1];
} worker;

static volatile double g_sink; /* keeps every probe result alive */

static float *alloc_floats(size_t n, bool touch, float value) {
  /* Large buffers: 2 MiB aligned and marked for transparent huge pages. Touching 64 MiB of 4 KiB pages takes
   * ~0.7 s in a VM (one fault per page); with huge pages it is ~0.02 s, and streaming has fewer TLB misses. */
  const size_t align = n * sizeof(float) >= (4u << 20) ? (2u << 20) : 64;
  size_t bytes = (n * sizeof(float) + align - 1) & ~(align - 1);
  float *p = aligned_alloc(align, bytes ? bytes : align);
#if defined(MADV_HUGEPAGE)
  if (p != NULL && align > 64) (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
  if (p != NULL && touch)
    for (size_t i = 0; i < n; i++) p[i] = value; /* first touch by the thread that will read it (NUMA) */
  return p;
}

static void run_once(worker *w, float *a, float *b, float *c) {
  job *j = w->j;
  switch (j->kind) {
    case job_peak: w->sink += j->peak->fn(j->iters); break;
    case job_read: w->sink += j->bw->read(a, j->nfloats, j->iters); break;
    case job_triad:
      j->bw->triad(a, b, c, j->nfloats, j->iters);
      w->sink += a[0];
      break;
    case job_touch: break;
  }
}

static void *worker_main(void *arg) {
  worker *w = arg;
  job *j = w->j;
  if (w->cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->cpu, &set);
    w->pinned = pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
  }
  float *a = NULL, *b = NULL, *c = NULL;
  w->ok = true;
  bool own = false;
  if (j->shared != NULL) {
    /* Shared DRAM buffer: each thread's slice was first touched by that thread (job_touch), for NUMA. */
    float *base = j->shared + (size_t)w->idx * j->slice;
    a = base;
    if (j->kind == job_triad) b = base + j->nfloats, c = base + 2 * j->nfloats;
    if (j->kind == job_touch)
      for (size_t i = 0; i < j->nfloats; i++) base[i] = 1.0f;
  } else if (j->kind == job_read) {
    own = true;
    a = alloc_floats(j->nfloats, true, 1.0f);
    w->ok = a != NULL;
  } else if (j->kind == job_triad) {
    own = true;
    a = alloc_floats(j->nfloats, true, 0.0f);
    b = alloc_floats(j->nfloats, true, 1.0f);
    c = alloc_floats(j->nfloats, true, 2.0f);
    w->ok = a && b && c;
  }
  /* Every thread passes every barrier, even after a failed allocation, so nobody waits forever. Worker 0
   * decides when to stop (repeat count or time budget) before the barrier; everyone reads it after. */
  uint64_t start = 0;
  for (int r = 0; r <= j->repeats; r++) {
    pthread_barrier_wait(&j->bar);
    if (r > 0 && j->stop_after[r - 1]) break;
    w->t0[r] = hwt_now_ns();
    if (r == 0) start = w->t0[0];
    if (w->ok) run_once(w, a, b, c);
    w->t1[r] = hwt_now_ns();
    if (w->idx == 0) {
      j->done = r + 1;
      j->stop_after[r] = r >= 1 && j->budget_s > 0 && (double)(w->t1[r] - start) * 1e-9 > j->budget_s;
    }
  }
  if (own) {
    free(a);
    free(b);
    free(c);
  }
  return NULL;
}

/* Runs the job on cpus[0..nthreads); returns the best wall time of one repeat in seconds (0 on failure). */
static double run_job(job *j, const int *cpus, unsigned nthreads) {
  j->nthreads = nthreads;
  memset(j->stop_after, 0, sizeof(j->stop_after));
  j->done = 0;
  if (j->repeats > MAX_REPEATS) j->repeats = MAX_REPEATS;
  worker *w = calloc(nthreads, sizeof(*w));
  pthread_t *th = calloc(nthreads, sizeof(*th));
  if (w == NULL || th == NULL || pthread_barrier_init(&j->bar, NULL, nthreads) != 0) {
    free(w);
    free(th);
    return 0.0;
  }
  unsigned started = 0;
  for (unsigned t = 0; t < nthreads; t++) {
    w[t].j = j;
    w[t].idx = t;
    w[t].cpu = cpus ? cpus[t] : -1;
    if (pthread_create(&th[t], NULL, worker_main, &w[t]) != 0) break;
    started++;
  }
  if (started < nthreads) {
    /* Cannot happen in practice; the started threads would wait at the barrier, so give up loudly. */
    hwt_log("measure: could only start %u of %u threads; aborting the probe", started, nthreads);
    abort();
  }
  bool ok = true;
  for (unsigned t = 0; t < nthreads; t++) {
    pthread_join(th[t], NULL);
    ok = ok && w[t].ok;
    g_sink += w[t].sink;
  }
  pthread_barrier_destroy(&j->bar);
  double best = 0.0;
  for (int r = 1; ok && r < j->done; r++) { /* repeat 0 is the warm-up */
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned t = 0; t < nthreads; t++) {
      if (w[t].t0[r] < lo) lo = w[t].t0[r];
      if (w[t].t1[r] > hi) hi = w[t].t1[r];
    }
    double s = (double)(hi - lo) * 1e-9;
    if (s > 0 && (best == 0.0 || s < best)) best = s;
  }
  free(w);
  free(th);
  return best;
}

/* Scales j->iters so that one repeat on one thread takes about target seconds. */
static void calibrate(job *j, const int *cpu, double target) {
  int saved = j->repeats;
  double saved_budget = j->budget_s;
  j->repeats = 3; /* best of 3: one preempted run must not make the calibration too short */
  j->budget_s = 0;
  for (int step = 0; step < 30; step++) {
    double s = run_job(j, cpu, 1);
    if (s <= 0) break;
    if (s >= target * 0.25) {
      double scaled = (double)j->iters * target / s;
      j->iters = scaled < 1 ? 1 : (uint64_t)scaled;
      break;
    }
    j->iters *= 8;
  }
  j->repeats = saved;
  j->budget_s = saved_budget;
}

static bool isa_ok(const hwt_hw *hw, hwt_isa isa) {
  uint32_t req = hwt_isa_required_features(isa);
  return isa == hwt_isa_scalar || (hw->isa.features & req) == req;
}

void hwt_probes_mark_present(hwt_hw *hw) {
  for (size_t i = 0; hwt_peak_probes[i] != NULL; i++) {
    const hwt_peak_probe *p = hwt_peak_probes[i];
    if (!isa_ok(hw, p->isa)) continue;
    (p->int8 ? hw->peak_int8 : hw->peak_fp32)[p->isa].present = true;
  }
}

static size_t floats_for(uint64_t bytes) {
  size_t n = (size_t)(bytes / sizeof(float));
  n -= n % HWT_BW_FLOAT_MULTIPLE;
  return n ? n : HWT_BW_FLOAT_MULTIPLE;
}

/* Working-set sizes per level from the plausible caches; the note says which entry (or why a default). */
static void choose_buffers(hwt_hw *hw, bool quick) {
  const char *s1, *s2, *s3;
  uint64_t l1 = hwt_hw_cache_budget(hw, 1, &s1), l2 = hwt_hw_cache_budget(hw, 2, &s2);
  uint64_t l3 = hwt_hw_cache_budget(hw, 3, &s3);
  hwt_bw *bw = hw->bw;
  bw[hwt_bw_l1].buffer_bytes = l1 / 2;
  snprintf(bw[hwt_bw_l1].note, sizeof(bw[0].note), "half of L1d %llu KiB (%s)", (unsigned long long)(l1 >> 10), s1);
  uint64_t b2 = l2 / 2 > 4 * l1 ? l2 / 2 : 4 * l1;
  bw[hwt_bw_l2].buffer_bytes = b2;
  snprintf(bw[hwt_bw_l2].note, sizeof(bw[0].note), "half of L2 %llu KiB (%s)", (unsigned long long)(l2 >> 10), s2);
  if (strcmp(s3, "default") != 0) {
    uint64_t b3 = l3 / 2 > 2 * l2 ? l3 / 2 : 2 * l2;
    bw[hwt_bw_l3].buffer_bytes = b3;
    snprintf(bw[hwt_bw_l3].note, sizeof(bw[0].note), "half of this core's L3 share %llu KiB (%s), at least 2 x L2",
             (unsigned long long)(l3 >> 10), s3);
  } else {
    bw[hwt_bw_l3].buffer_bytes = 4 * l2;
    snprintf(bw[hwt_bw_l3].note, sizeof(bw[0].note),
             "no plausible L3 entry: 4 x L2 per thread, assumed to lie within an L3 that is missing or misreported");
  }
  /* DRAM: at least 4 x all last-level cache instances together, and 256 MiB (64 MiB quick). */
  uint64_t llc_total = 0;
  for (size_t i = 0; i < hw->ncaches; i++) {
    const hwt_cache *c = &hw->caches[i];
    if (!c->plausible || c->type == hwt_cache_instruction) continue;
    unsigned inst = c->shared_by_cpus ? (hw->pus + c->shared_by_cpus - 1) / c->shared_by_cpus : 1;
    uint64_t total = c->size_bytes * (inst ? inst : 1);
    if (total > llc_total) llc_total = total;
  }
  uint64_t dram = quick ? (64ull << 20) : (256ull << 20);
  if (4 * llc_total > dram) dram = 4 * llc_total;
  const char *cap = "";
  if (hw->mem_available_bytes > 0 && dram > hw->mem_available_bytes / 4) {
    dram = hw->mem_available_bytes / 4;
    cap = ", capped at a quarter of available memory";
  }
  bw[hwt_bw_dram].buffer_bytes = dram;
  snprintf(bw[hwt_bw_dram].note, sizeof(bw[0].note), "max(%s MiB, 4 x all plausible caches %llu MiB)%s, split over threads",
           quick ? "64" : "256", (unsigned long long)(llc_total >> 20), cap);
}

void hwt_measure(hwt_hw *hw, bool quick) {
  uint64_t start = hwt_now_ns();
  hw->measure_quick = quick;
  hw->load_avg_1m = -1.0;
  FILE *la = fopen("/proc/loadavg", "r");
  if (la != NULL) {
    if (fscanf(la, "%lf", &hw->load_avg_1m) != 1) hw->load_avg_1m = -1.0;
    fclose(la);
  }
  unsigned nthreads = hw->usable_cpus ? hw->usable_cpus : 1;
  if (hw->naffinity > 0 && nthreads > hw->naffinity) nthreads = (unsigned)hw->naffinity;
  hw->measure_threads = nthreads;
  for (unsigned t = 0; t < nthreads; t++) hw->measure_cpus[t] = hw->naffinity ? hw->affinity[t] : -1;
  const int *cpus = hw->measure_cpus;

  /* Many short repeats, best kept: a 1-2 ms repeat fits in one scheduler slice, so on a shared machine some
   * repeats run undisturbed. Budgets: quick ~2 s, default ~15 s, on a machine with a handful of ISAs. */
  const double peak_target = quick ? 0.001 : 0.002;
  const int peak_repeats = quick ? 40 : 200;
  const double peak_budget = quick ? 0.05 : 0.45;
  const double bw_target = quick ? 0.001 : 0.002;
  const int bw_repeats = quick ? 30 : 150;
  const double bw_budget = quick ? 0.04 : 0.3, dram_budget = quick ? 0.1 : 0.6;

  hwt_probes_mark_present(hw);
  for (size_t i = 0; hwt_peak_probes[i] != NULL; i++) {
    const hwt_peak_probe *p = hwt_peak_probes[i];
    if (!isa_ok(hw, p->isa)) continue;
    hwt_peak *out = &(p->int8 ? hw->peak_int8 : hw->peak_fp32)[p->isa];
    job j = {.kind = job_peak, .peak = p, .iters = 1000, .repeats = peak_repeats, .budget_s = peak_budget};
    calibrate(&j, cpus, peak_target);
    double s1 = run_job(&j, cpus, 1);
    double sa = nthreads > 1 ? run_job(&j, cpus, nthreads) : s1;
    double ops = (double)j.iters * p->ops_per_iter;
    out->gflops_1t = s1 > 0 ? ops / s1 * 1e-9 : 0;
    out->gflops_all = sa > 0 ? ops * (nthreads > 1 ? nthreads : 1) / sa * 1e-9 : 0;
    hwt_log_verbose("peak %s %s: %.1f / %.1f G/s (%llu iters, %d repeats; t=%.2f s)", p->int8 ? "int8" : "fp32",
                    hwt_isa_name(p->isa), out->gflops_1t, out->gflops_all, (unsigned long long)j.iters, j.done - 1,
                    (double)(hwt_now_ns() - start) * 1e-9);
  }

  const hwt_bw_probe *bwp = NULL;
  for (size_t i = 0; hwt_bw_probes[i] != NULL && bwp == NULL; i++)
    if (isa_ok(hw, hwt_bw_probes[i]->isa)) bwp = hwt_bw_probes[i];
  choose_buffers(hw, quick);
  for (int level = 0; bwp != NULL && level < hwt_bw_count; level++) {
    hwt_bw *bw = &hw->bw[level];
    const bool dram = level == hwt_bw_dram;
    /* DRAM: one buffer for the four runs (allocating and touching 256 MiB four times costs seconds in a VM),
     * split into one slice per thread, each slice first touched by its pinned thread. */
    float *shared = NULL;
    size_t slice = 0;
    if (dram) {
      slice = floats_for(bw->buffer_bytes / nthreads);
      shared = alloc_floats(slice * nthreads, false, 0.0f);
      if (shared == NULL) {
        snprintf(bw->note + strlen(bw->note), sizeof(bw->note) - strlen(bw->note), "; allocation failed");
        continue;
      }
      bw->buffer_bytes = (uint64_t)slice * nthreads * sizeof(float);
      job t = {.kind = job_touch, .shared = shared, .slice = slice, .nfloats = slice, .repeats = 0};
      run_job(&t, cpus, nthreads);
    }
    for (int kind = 0; kind < 2; kind++) {
      for (int all = 0; all < 2; all++) {
        unsigned nt = all ? nthreads : 1;
        if (all && nthreads == 1) {
          if (kind == 0) bw->read_gbps_all = bw->read_gbps_1t;
          else bw->triad_gbps_all = bw->triad_gbps_1t;
          continue;
        }
        job j = {.kind = kind == 0 ? job_read : job_triad, .bw = bwp, .iters = 1,
                 .repeats = dram ? (quick ? 5 : 20) : bw_repeats, .budget_s = dram ? dram_budget : bw_budget};
        if (dram) {
          /* 1 thread walks the whole buffer; n threads one slice each */
          const size_t span = all ? slice : slice * nthreads;
          j.shared = shared;
          j.slice = slice;
          j.nfloats = kind == 0 ? span : floats_for(span * sizeof(float) / 3);
        } else {
          j.nfloats = floats_for(kind == 0 ? bw->buffer_bytes : bw->buffer_bytes / 3);
          job c = j;
          calibrate(&c, cpus, bw_target);
          j.iters = c.iters;
        }
        double s = run_job(&j, cpus, nt);
        double bytes = (double)j.nfloats * sizeof(float) * (kind == 0 ? 1 : 3) * (double)j.iters * nt;
        double gbps = s > 0 ? bytes / s * 1e-9 : 0;
        if (kind == 0) *(all ? &bw->read_gbps_all : &bw->read_gbps_1t) = gbps;
        else *(all ? &bw->triad_gbps_all : &bw->triad_gbps_1t) = gbps;
        hwt_log_verbose("bandwidth level %d %s %s: %.1f GB/s (%zu floats, %llu passes, %d repeats; t=%.2f s)", level,
                        kind == 0 ? "read" : "triad", all ? "all" : "1t", gbps, j.nfloats,
                        (unsigned long long)j.iters, j.done - 1, (double)(hwt_now_ns() - start) * 1e-9);
      }
    }
    free(shared);
    size_t len = strlen(bw->note);
    snprintf(bw->note + len, sizeof(bw->note) - len, "; %s kernels", hwt_isa_name(bwp->isa));
  }
  hw->measured = true;
  hw->measure_seconds = (double)(hwt_now_ns() - start) * 1e-9;
}
