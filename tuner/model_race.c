/* SPDX-License-Identifier: Apache-2.0 */
/* `tune --model`'s end: whole-model runs of three plans (single-thread, default, tuned) raced on the same model and
 * input in interleaved rounds, decided by the tuner's rule (the simpler plan unless beaten beyond the CIs), and
 * recorded as the profile's model entry. */
#define _GNU_SOURCE 1 /* sched_getaffinity */
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hwt_common.h"
#include "hwt_stats.h"
#include "noise.h"
#include "tuner.h"

hwt_profile_plan hwt_tune_model_choose(const hwt_tune_measurement *m, const bool *measured) {
  /* hwt_tune_choose's rule over classes of one: from the simplest plan up, a plan replaces the choice only when
   * its CI lies wholly below the choice's. */
  int choice = -1;
  for (int p = 0; p < hwt_profile_plan_count; p++) {
    if (!measured[p]) continue;
    if (choice < 0 || m[p].ci_high_ns < m[choice].ci_low_ns) choice = p;
  }
  return choice < 0 ? hwt_profile_plan_count : (hwt_profile_plan)choice;
}

static double loadavg_1m(void) {
  FILE *f = fopen("/proc/loadavg", "r");
  double v = -1;
  if (f) {
    if (fscanf(f, "%lf", &v) != 1) v = -1;
    fclose(f);
  }
  return v;
}

/* Deterministic inputs: graph input 0 as the generators make it, the others a fixed ramp in [0, 1). */
static void fill_inputs(const hwt_model *m, size_t batch, float **ins) {
  for (size_t k = 0; k < m->ninputs; k++) {
    size_t n = batch * hwt_model_input_size(m, k);
    if (k == 0) hwt_model_gen_inputs(m, 19, batch, ins[0]);
    else
      for (size_t i = 0; i < n; i++) ins[k][i] = (float)((i * 37 + k * 11) % 101) / 101.0f;
  }
}

hwt_status hwt_tune_race_model(const hwt_model *m, size_t batch, const hwt_profile *tuned, double seconds,
                               volatile int *stop, hwt_tune_model_race *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  out->batch = batch;
  out->winner = hwt_profile_plan_count;
  out->load1_before = loadavg_1m();
  out->foreign = -1;
  out->usable_cpus = hwt_engine_usable_cpus();
  hwt_status st = hwt_status_ok;
  hwt_engine *e[hwt_profile_plan_count] = {NULL};
  float *ins[HWT_GRAPH_MAX_IO] = {NULL}, *outs[hwt_profile_plan_count][HWT_GRAPH_MAX_IO] = {{NULL}};
  double *samples[hwt_profile_plan_count] = {NULL}, *scratch = NULL;
  size_t *turn_end[hwt_profile_plan_count] = {NULL};  /* per round: where the plan's turn ended in samples[] */
  size_t ns[hwt_profile_plan_count] = {0}, cap = 0;
  hwt_cpu_times *t0 = calloc(1, sizeof *t0), *t1 = calloc(1, sizeof *t1);
  if (!t0 || !t1) goto oom;
  if (m->ninputs > HWT_GRAPH_MAX_IO || m->noutputs > HWT_GRAPH_MAX_IO) {
    hwt_errf(err, errlen, "model race: %zu inputs, %zu outputs (at most %d each)", m->ninputs, m->noutputs,
             HWT_GRAPH_MAX_IO);
    st = hwt_status_invalid_argument;
    goto done;
  }
  for (size_t k = 0; k < m->ninputs; k++) {
    size_t n;
    if (__builtin_mul_overflow(batch, hwt_model_input_size(m, k), &n)) goto oom;
    if (!(ins[k] = calloc(n ? n : 1, sizeof(float)))) goto oom;
  }
  for (int p = 0; p < hwt_profile_plan_count; p++)
    for (size_t k = 0; k < m->noutputs; k++) {
      size_t n;
      if (__builtin_mul_overflow(batch, hwt_model_output_size(m, k), &n)) goto oom;
      if (!(outs[p][k] = calloc(n ? n : 1, sizeof(float)))) goto oom;
    }
  fill_inputs(m, batch, ins);
  /* The plans: the default on one thread, the engine's defaults, the tuned profile's per-layer choices. */
  for (int p = 0; p < hwt_profile_plan_count; p++) {
    hwt_engine_options o = {0};
    if (p == hwt_profile_plan_single_thread) o.threads = 1;
    if (p == hwt_profile_plan_tuned) {
      if (tuned == NULL) continue;
      o.chooser = hwt_engine_profile_chooser;
      o.chooser_ctx = (void *)tuned;
    }
    char msg[512];
    st = hwt_engine_create(m, batch, &o, &e[p], msg, sizeof msg);
    if (st != hwt_status_ok) {
      hwt_errf(err, errlen, "model race: the %s plan's engine: %s", hwt_profile_plan_name((hwt_profile_plan)p), msg);
      goto done;
    }
  }
  /* Warm-up (two runs each) and each plan's run time, which sizes its turns: bursts of about the same time, so a
   * round gives every plan the same moments of the machine. */
  double run_s[hwt_profile_plan_count] = {0};
  for (int p = 0; p < hwt_profile_plan_count; p++) {
    if (!e[p]) continue;
    for (int w = 0; w < 2; w++) {
      uint64_t a = hwt_now_ns();
      st = hwt_engine_run_io(e[p], (const float *const *)ins, outs[p], NULL);
      run_s[p] = (double)(hwt_now_ns() - a) / 1e9;
      if (st != hwt_status_ok) {
        hwt_errf(err, errlen, "model race: the %s plan failed to run: %s", hwt_profile_plan_name((hwt_profile_plan)p),
                 hwt_status_string(st));
        goto done;
      }
    }
  }
  const size_t min_rounds = 5;
  double burst_s = seconds / (3.0 * 100.0);  /* about 100 rounds */
  if (burst_s < 0.0002) burst_s = 0.0002;
  if (burst_s > 0.02) burst_s = 0.02;
  size_t per_turn[hwt_profile_plan_count] = {0};
  double fastest = INFINITY;
  for (int p = 0; p < hwt_profile_plan_count; p++) {
    if (!e[p]) continue;
    double r = run_s[p] > 1e-7 ? run_s[p] : 1e-7;
    per_turn[p] = (size_t)(burst_s / r);
    if (per_turn[p] < 1) per_turn[p] = 1;
    if (r < fastest) fastest = r;
  }
  /* Room for the whole race at the fastest plan's pace (each plan gets a third of the time), with slack. */
  size_t widest = 1;
  for (int p = 0; p < hwt_profile_plan_count; p++)
    if (per_turn[p] > widest) widest = per_turn[p];
  double c = seconds / 3.0 / fastest * 1.5 + 8.0 * (double)widest + 1024.0;
  cap = c > 4e6 ? 4000000 : (size_t)c;
  for (int p = 0; p < hwt_profile_plan_count; p++)
    if (e[p] && (!(samples[p] = malloc(cap * sizeof(double))) || !(turn_end[p] = malloc(cap * sizeof(size_t)))))
      goto oom;
  if (!(scratch = malloc(cap * sizeof(double)))) goto oom;

  hwt_cpu_times_read(t0, NULL);
  uint64_t start = hwt_now_ns();
  size_t rounds = 0;
  bool full = false;
  while (!full && !(stop && *stop)) {
    double el = (double)(hwt_now_ns() - start) / 1e9;
    if (rounds >= min_rounds && el >= seconds) break;
    for (int p = 0; p < hwt_profile_plan_count && !full; p++) {
      if (!e[p]) continue;
      for (size_t r = 0; r < per_turn[p]; r++) {
        if (ns[p] == cap) {
          full = true;
          break;
        }
        uint64_t a = hwt_now_ns();
        st = hwt_engine_run_io(e[p], (const float *const *)ins, outs[p], NULL);
        uint64_t b = hwt_now_ns();
        if (st != hwt_status_ok) {
          hwt_errf(err, errlen, "model race: the %s plan failed to run: %s",
                   hwt_profile_plan_name((hwt_profile_plan)p), hwt_status_string(st));
          goto done;
        }
        samples[p][ns[p]++] = (double)(b - a);
      }
    }
    if (full) break;
    for (int p = 0; p < hwt_profile_plan_count; p++)
      if (e[p]) turn_end[p][rounds] = ns[p];
    rounds++;
  }
  out->seconds = (double)(hwt_now_ns() - start) / 1e9;
  hwt_cpu_times_read(t1, NULL);
  out->rounds = rounds;
  {
    cpu_set_t set;
    int cpus[HWT_NOISE_MAX_CPUS];
    size_t ncpus = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
      for (int i = 0; i < CPU_SETSIZE && i < HWT_NOISE_MAX_CPUS; i++)
        if (CPU_ISSET(i, &set)) cpus[ncpus++] = i;
    double worst;
    int busiest;
    if (t0->valid && t1->valid && ncpus)
      out->foreign = hwt_cpu_foreign_load(t0, t1, cpus, ncpus, true, &worst, &busiest);
  }
  out->load1_after = loadavg_1m();
  /* p50 and p99 over single runs. The CI of the p50 comes from the rounds: runs of one turn share a moment of
   * the machine (a neighbour, a frequency step), so hundreds of thousands of sub-microsecond runs would give a CI
   * far narrower than two races differ; each round's median (the turn's runs) is one observation, and the CI is
   * the order-statistic interval of their median, widened to hold the p50. */
  for (int p = 0; p < hwt_profile_plan_count; p++) {
    if (!e[p] || rounds == 0) continue;
    size_t n = turn_end[p][rounds - 1];
    hwt_stats_summary sum;
    hwt_stats_summarize(samples[p], n, scratch, &sum);
    double *med = malloc(rounds * sizeof(double));
    if (!med) goto oom;
    for (size_t k = 0; k < rounds; k++) {
      size_t a = k ? turn_end[p][k - 1] : 0, b = turn_end[p][k];
      hwt_stats_sort_copy(samples[p] + a, b - a, scratch);
      med[k] = hwt_stats_quantile_sorted(scratch, b - a, 0.5);
    }
    hwt_stats_sort_copy(med, rounds, scratch);
    free(med);
    double lo, hi;
    hwt_stats_median_ci_sorted(scratch, rounds, 0.95, &lo, &hi, NULL, NULL);
    if (lo > sum.median) lo = sum.median;
    if (hi < sum.median) hi = sum.median;
    out->meas[p] = (hwt_tune_measurement){.median_ns = sum.median, .ci_low_ns = lo, .ci_high_ns = hi,
                                          .p99_ns = sum.p99, .samples = sum.n, .elapsed_s = out->seconds};
    out->measured[p] = rounds >= min_rounds;
  }
  /* Same input, same model: the plans' outputs differ only by rounding (summation order, kernels). */
  size_t n0 = batch * hwt_model_output_size(m, 0);
  for (int p = 0; p < hwt_profile_plan_count; p++) {
    if (!e[p] || p == hwt_profile_plan_default) continue;
    for (size_t i = 0; i < n0; i++) {
      double d = fabs((double)outs[p][0][i] - (double)outs[hwt_profile_plan_default][0][i]);
      if (d > out->max_diff || isnan(d)) out->max_diff = isnan(d) ? INFINITY : d;
    }
  }
  out->winner = hwt_tune_model_choose(out->meas, out->measured);
  st = hwt_status_ok;
  goto done;
oom:
  hwt_errf(err, errlen, "model race: out of memory (batch %zu)", batch);
  st = hwt_status_out_of_memory;
done:
  for (int p = 0; p < hwt_profile_plan_count; p++) {
    hwt_engine_destroy(e[p]);
    free(samples[p]);
    free(turn_end[p]);
    for (size_t k = 0; k < HWT_GRAPH_MAX_IO; k++) free(outs[p][k]);
  }
  for (size_t k = 0; k < HWT_GRAPH_MAX_IO; k++) free(ins[k]);
  free(scratch);
  free(t0);
  free(t1);
  return st;
}

static json_t *meas_json(const hwt_tune_measurement *m, size_t batch) {
  return json_pack("{s:f,s:f,s:f,s:f,s:I,s:f}", "p50_ns", m->median_ns, "ci_low_ns", m->ci_low_ns, "ci_high_ns",
                   m->ci_high_ns, "p99_ns", m->p99_ns, "samples", (json_int_t)m->samples, "items_per_s",
                   m->median_ns > 0 ? (double)batch / m->median_ns * 1e9 : 0.0);
}

json_t *hwt_tune_model_json(const hwt_model_id *id, const char *precision, const hwt_tune_model_race *r,
                            const char *objective, size_t choice_batch, double slo_ms, const char *created) {
  json_t *o = json_object(), *plans = json_object();
  if (!o || !plans) {
    json_decref(o);
    json_decref(plans);
    return NULL;
  }
  json_object_set_new(o, "file", json_string(id->file));
  json_object_set_new(o, "sha256", json_string(id->sha256));
  json_object_set_new(o, "precision", json_string(precision));
  json_object_set_new(o, "batch", json_integer((json_int_t)r->batch));
  json_object_set_new(o, "winner", json_string(hwt_profile_plan_name(r->winner)));
  json_object_set_new(o, "objective", json_string(objective));
  if (strcmp(objective, "throughput") == 0) {
    json_object_set_new(o, "slo_ms", slo_ms > 0 ? json_real(slo_ms) : json_null());
    json_object_set_new(o, "choice_batch", choice_batch ? json_integer((json_int_t)choice_batch) : json_null());
  }
  for (int p = 0; p < hwt_profile_plan_count; p++)
    if (r->measured[p]) json_object_set_new(plans, hwt_profile_plan_name((hwt_profile_plan)p), meas_json(&r->meas[p], r->batch));
  json_object_set_new(o, "plans", plans);
  json_object_set_new(o, "rounds", json_integer((json_int_t)r->rounds));
  json_object_set_new(o, "seconds", json_real(r->seconds));
  json_object_set_new(o, "usable_cpus", json_integer((json_int_t)r->usable_cpus));
  json_t *load = json_object();
  json_object_set_new(load, "loadavg_1m_before", r->load1_before >= 0 ? json_real(r->load1_before) : json_null());
  json_object_set_new(load, "loadavg_1m_after", r->load1_after >= 0 ? json_real(r->load1_after) : json_null());
  json_object_set_new(load, "other_processes", r->foreign >= 0 ? json_real(r->foreign) : json_null());
  json_object_set_new(o, "load", load);
  json_object_set_new(o, "max_output_diff", isfinite(r->max_diff) ? json_real(r->max_diff) : json_null());
  if (created) json_object_set_new(o, "created", json_string(created));
  return o;
}

static void fmt_ns(double ns, char *buf, size_t len) {
  if (ns < 1e4) snprintf(buf, len, "%.2f us", ns / 1e3);
  else if (ns < 1e6) snprintf(buf, len, "%.1f us", ns / 1e3);
  else snprintf(buf, len, "%.3f ms", ns / 1e6);
}

void hwt_tune_model_table(FILE *f, const char *name, const char *precision, const hwt_tune_model_race *r,
                          bool throughput) {
  char load[160] = "load unknown";
  if (r->load1_before >= 0)
    snprintf(load, sizeof load, "load average %.2f -> %.2f", r->load1_before, r->load1_after);
  if (r->foreign >= 0)
    snprintf(load + strlen(load), sizeof load - strlen(load), ", other processes %.0f%% of the CPUs", 100 * r->foreign);
  fprintf(f, "end-to-end race: %s, %s, batch %zu, %u usable CPUs, %zu rounds in %.1f s, %s\n", name, precision,
          r->batch, r->usable_cpus, r->rounds, r->seconds, load);
  fprintf(f, "  %-14s %10s  %-25s %10s %12s%s  %s\n", "plan", "p50", "95% CI", "p99", "vs default",
          throughput ? "     items/s" : "", "winner");
  const hwt_tune_measurement *d = r->measured[hwt_profile_plan_default] ? &r->meas[hwt_profile_plan_default] : NULL;
  for (int p = 0; p < hwt_profile_plan_count; p++) {
    char med[32], lo[32], hi[32], p99[32], ci[80], vs[32] = "-", tp[32] = "";
    if (!r->measured[p]) {
      fprintf(f, "  %-14s %10s\n", hwt_profile_plan_name((hwt_profile_plan)p), "not measured");
      continue;
    }
    const hwt_tune_measurement *m = &r->meas[p];
    fmt_ns(m->median_ns, med, sizeof med);
    fmt_ns(m->ci_low_ns, lo, sizeof lo);
    fmt_ns(m->ci_high_ns, hi, sizeof hi);
    fmt_ns(m->p99_ns, p99, sizeof p99);
    snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
    if (d) snprintf(vs, sizeof vs, "%.3f", m->median_ns / d->median_ns);
    if (throughput) snprintf(tp, sizeof tp, " %12.0f", (double)r->batch / m->median_ns * 1e9);
    fprintf(f, "  %-14s %10s  %-25s %10s %12s%s  %s\n", hwt_profile_plan_name((hwt_profile_plan)p), med, ci, p99, vs,
            tp, p == (int)r->winner ? "*" : "");
  }
  if (r->winner < hwt_profile_plan_count) {
    fprintf(f, "  winner: %s", hwt_profile_plan_name(r->winner));
    /* why: the fastest median, or a simpler plan it did not beat beyond the CIs */
    int fastest = -1;
    for (int p = 0; p < hwt_profile_plan_count; p++)
      if (r->measured[p] && (fastest < 0 || r->meas[p].median_ns < r->meas[fastest].median_ns)) fastest = p;
    if (fastest >= 0 && fastest != (int)r->winner)
      fprintf(f, " (%s has the lowest p50 but not beyond the confidence intervals: the simpler plan wins ties, "
                 "single-thread > default > tuned)",
              hwt_profile_plan_name((hwt_profile_plan)fastest));
    fprintf(f, "; outputs agree within %.3g\n", r->max_diff);
  }
}
