/* SPDX-License-Identifier: Apache-2.0 */
/* Human-readable summary of a hwt_hw: every figure with [its source], and a closing list of warnings about
 * figures that look wrong (implausible caches, poor thread scaling, inverted bandwidth levels). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hwtune/hw.h"

static void fmt_bytes(uint64_t b, char *buf, size_t len) {
  if (b >= (1ull << 30)) snprintf(buf, len, "%.1f GiB", (double)b / (double)(1ull << 30));
  else if (b >= (1ull << 20)) snprintf(buf, len, "%g MiB", (double)(b * 10 / (1ull << 20)) / 10.0);
  else if (b >= 1024) snprintf(buf, len, "%g KiB", (double)(b * 10 / 1024) / 10.0);
  else snprintf(buf, len, "%llu B", (unsigned long long)b);
}

static const char *ctype(hwt_cache_type t) { return t == hwt_cache_data ? "d" : t == hwt_cache_instruction ? "i" : ""; }

/* "0-3,8" from a sorted list */
static void fmt_cpu_list(const int *cpus, size_t n, char *buf, size_t len) {
  size_t o = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && o < len; i++) {
    size_t j = i;
    while (j + 1 < n && cpus[j + 1] == cpus[j] + 1) j++;
    int w = j > i ? snprintf(buf + o, len - o, "%s%d-%d", o ? "," : "", cpus[i], cpus[j])
                  : snprintf(buf + o, len - o, "%s%d", o ? "," : "", cpus[i]);
    if (w < 0) break;
    o += (size_t)w;
    i = j;
  }
}

#define MAX_WARN 24
typedef struct warnings {
  char text[MAX_WARN][256];
  int n;
} warnings;

static void warn(warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(warnings *w, const char *fmt, ...) {
  if (w->n >= MAX_WARN) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->text[w->n++], sizeof(w->text[0]), fmt, ap);
  va_end(ap);
}

void hwt_hw_print(const hwt_hw *hw, FILE *out) {
  if (hw == NULL || out == NULL) return;
  warnings w = {.n = 0};
  char a[64], b[64], list[512];

  fprintf(out, "hwtune detect  (schema %s, fingerprint %s)\n\n", HWT_HW_SCHEMA, hw->fingerprint);
  fprintf(out, "CPU        %s\n", hw->brand[0] ? hw->brand : "(no brand string)");
  fprintf(out, "           %s %s, family 0x%x model 0x%x stepping %d [cpu_features]\n", hw->vendor, hw->arch,
          hw->family, hw->model, hw->stepping);
  fprintf(out, "           microarchitecture %s [%s]\n", hw->uarch, hw->uarch_source);
  if (hw->hypervisor) {
    fprintf(out, "           virtual machine: hypervisor \"%s\" [CPUID.1:ECX[31], leaf 0x40000000]\n",
            hw->hypervisor_vendor);
    warn(&w, "running under a hypervisor (%s): cache and topology figures are what it chooses to report",
         hw->hypervisor_vendor[0] ? hw->hypervisor_vendor : "unnamed");
  }

#if defined(__aarch64__)
  fprintf(out, "ISA        level %s [cpu_features: AT_HWCAP]", hwt_isa_name(hw->isa.level));
#else
  fprintf(out, "ISA        level %s [cpu_features + CPUID, gated by XCR0]", hwt_isa_name(hw->isa.level));
#endif
  if (hw->isa.capped) fprintf(out, ", capped by HWTUNE_ISA=%s", hwt_isa_name(hw->isa.cap));
  fputc('\n', out);
  if (hw->isa.cap_error) warn(&w, "%s", hw->isa.cap_error);
  int col = fprintf(out, "          ");
  bool any_missing = false;
  for (const hwt_feature_name *f = hwt_feature_names; f->name; f++) {
#if defined(__aarch64__)
    if (f->bit < (1u << 16)) continue;
#else
    if (f->bit >= (1u << 16)) continue;
#endif
    if (!(hw->isa.features_hw & f->bit)) {
      any_missing = true;
      continue;
    }
    const bool cut = !(hw->isa.features & f->bit);
    if (col + (int)strlen(f->name) + 9 > 110) col = fprintf(out, "\n          ");
    col += fprintf(out, " %s%s", f->name, cut ? "(capped)" : "");
  }
  fputc('\n', out);
  if (any_missing) {
    col = fprintf(out, "           absent:");
    for (const hwt_feature_name *f = hwt_feature_names; f->name; f++) {
#if defined(__aarch64__)
      if (f->bit < (1u << 16)) continue;
#else
      if (f->bit >= (1u << 16)) continue;
#endif
      if (!(hw->isa.features_hw & f->bit)) col += fprintf(out, " %s", f->name);
    }
    fputc('\n', out);
  }

  fprintf(out, "Topology   %u package%s, %u NUMA node%s, %u cores, %u PUs, SMT %u [%s]\n", hw->packages,
          hw->packages == 1 ? "" : "s", hw->numa_nodes, hw->numa_nodes == 1 ? "" : "s", hw->cores, hw->pus, hw->smt,
          hw->topology_source);
  fprintf(out, "           core kinds:");
  for (size_t i = 0; i < hw->ncore_kinds; i++)
    fprintf(out, "%s %s (%u PUs, efficiency %d)", i ? "," : "", hw->core_kinds[i].name, hw->core_kinds[i].pus,
            hw->core_kinds[i].efficiency);
  fprintf(out, " [hwloc cpukinds]\n");

  fmt_cpu_list(hw->affinity, hw->naffinity, list, sizeof(list));
  fprintf(out, "Usable     %u CPU%s: affinity {%s}", hw->usable_cpus, hw->usable_cpus == 1 ? "" : "s", list);
  if (hw->cgroup_quota_cpus >= 0) fprintf(out, ", cgroup quota %.2f CPUs", hw->cgroup_quota_cpus);
  else fprintf(out, ", no cgroup quota");
  fprintf(out, "\n           [%s]\n", hw->usable_note);
  if (strstr(hw->usable_note, "malformed")) warn(&w, "cgroup: %s", hw->usable_note);
  if (hw->usable_cpus < hw->pus)
    warn(&w, "only %u of %u PUs usable by this process: thread counts and *_all figures use %u", hw->usable_cpus,
         hw->pus, hw->usable_cpus);

  fmt_bytes(hw->mem_total_bytes, a, sizeof(a));
  fmt_bytes(hw->mem_available_bytes, b, sizeof(b));
  fprintf(out, "Memory     %s total, %s available [/proc/meminfo]\n", a, b);

  fprintf(out, "Caches     %-5s %10s %5s %5s %7s  %-6s %-9s %s\n", "level", "size", "line", "ways", "shared", "source",
          "plausible", "cross-check");
  for (size_t i = 0; i < hw->ncaches; i++) {
    const hwt_cache *c = &hw->caches[i];
    char lv[8];
    snprintf(lv, sizeof(lv), "L%d%s", c->level, ctype(c->type));
    fmt_bytes(c->size_bytes, a, sizeof(a));
    fprintf(out, "           %-5s %10s %5u %5u %7u  %-6s %-9s %s\n", lv, a, c->line_bytes, c->ways, c->shared_by_cpus,
            c->source, c->plausible ? "yes" : "NO", c->note);
    if (!c->plausible) warn(&w, "%s %s: %s", lv, a, c->note);
  }
  fprintf(out, "           [%s]\n", hw->cache_note);
  const char *s1, *s2, *s3;
  uint64_t b1 = hwt_hw_cache_budget(hw, 1, &s1), b2 = hwt_hw_cache_budget(hw, 2, &s2),
           b3 = hwt_hw_cache_budget(hw, 3, &s3);
  char c1[32], c2[32], c3[32];
  fmt_bytes(b1, c1, sizeof(c1));
  fmt_bytes(b2, c2, sizeof(c2));
  fmt_bytes(b3, c3, sizeof(c3));
  fprintf(out, "Blocking   budgets per core: L1d %s [%s], L2 %s [%s], L3 share %s [%s]\n", c1, s1, c2, s2, c3, s3);
  if (strcmp(s3, "default") == 0) warn(&w, "no plausible L3 entry: blocking uses the conservative %s default", c3);

  if (!hw->measured) {
    fprintf(out, "Peak       not measured (--no-measure); present:");
    for (int i = 0; i < hwt_isa_count; i++)
      if (hw->peak_fp32[i].present) fprintf(out, " fp32/%s", hwt_isa_name((hwt_isa)i));
    for (int i = 0; i < hwt_isa_count; i++)
      if (hw->peak_int8[i].present) fprintf(out, " int8/%s", hwt_isa_name((hwt_isa)i));
    fputc('\n', out);
    fprintf(out, "Bandwidth  not measured (--no-measure)\n");
  } else {
    fmt_cpu_list(hw->measure_cpus, hw->measure_threads, list, sizeof(list));
    fprintf(out, "Peak       measured in %.1f s%s; 1 thread on CPU %d, %u thread%s pinned to {%s}; best of repeats\n",
            hw->measure_seconds, hw->measure_quick ? " (--quick)" : "", hw->measure_cpus[0], hw->measure_threads,
            hw->measure_threads == 1 ? "" : "s", list);
    const unsigned nt = hw->measure_threads ? hw->measure_threads : 1;
    if (hw->load_avg_1m >= 0) {
      fprintf(out, "           load average %.2f on %u usable CPUs when measuring started [/proc/loadavg]\n",
              hw->load_avg_1m, hw->usable_cpus);
      if (hw->load_avg_1m > 0.5 * hw->usable_cpus)
        warn(&w, "the machine was busy (load %.2f on %u CPUs): measured figures, the all-thread ones above all, are "
                 "lower bounds; re-run when it is quiet",
             hw->load_avg_1m, hw->usable_cpus);
    }
    for (int int8 = 0; int8 < 2; int8++) {
      const hwt_peak *tab = int8 ? hw->peak_int8 : hw->peak_fp32;
      for (int i = 0; i < hwt_isa_count; i++) {
        if (!tab[i].present) continue;
        const char *unit = int8 ? "GOP/s  " : "GFLOP/s";
        fprintf(out, "           %s %-11s %9.1f %s 1 thread   %9.1f %s %u thread%s (%.2fx)\n",
                int8 ? "int8" : "fp32", hwt_isa_name((hwt_isa)i), tab[i].gflops_1t, unit, tab[i].gflops_all, unit, nt,
                nt == 1 ? "" : "s", tab[i].gflops_1t > 0 ? tab[i].gflops_all / tab[i].gflops_1t : 0.0);
        if (nt > 1 && tab[i].gflops_all < 0.75 * nt * tab[i].gflops_1t)
          warn(&w, "%s %s scales only %.2fx on %u threads: other load on the machine, or CPUs sharing a core",
               int8 ? "int8" : "fp32", hwt_isa_name((hwt_isa)i), tab[i].gflops_all / tab[i].gflops_1t, nt);
      }
    }
    if (hw->peak_fp32[hwt_isa_avx512f].present && hw->peak_fp32[hwt_isa_avx2].present &&
        hw->peak_fp32[hwt_isa_avx512f].gflops_1t < 1.2 * hw->peak_fp32[hwt_isa_avx2].gflops_1t)
      warn(&w, "fp32 AVX-512 is not faster than AVX2 on one thread (%.0f vs %.0f): 256-bit datapath (Zen 4, "
               "one-FMA Xeons) or a busy machine",
           hw->peak_fp32[hwt_isa_avx512f].gflops_1t, hw->peak_fp32[hwt_isa_avx2].gflops_1t);
    static const char *names[hwt_bw_count] = {"L1", "L2", "L3", "DRAM"};
    fprintf(out, "Bandwidth  %-5s %10s %11s %11s %11s %11s  (GB/s; triad counts 3 arrays, as STREAM)\n", "", "buffer",
            "read 1t", "read all", "triad 1t", "triad all");
    for (int l = 0; l < hwt_bw_count; l++) {
      const hwt_bw *bw = &hw->bw[l];
      fmt_bytes(bw->buffer_bytes, a, sizeof(a));
      fprintf(out, "           %-5s %10s %11.1f %11.1f %11.1f %11.1f\n", names[l], a, bw->read_gbps_1t,
              bw->read_gbps_all, bw->triad_gbps_1t, bw->triad_gbps_all);
      fprintf(out, "                 [%s]\n", bw->note);
      if (l > 0 && bw->read_gbps_1t > 1.1 * hw->bw[l - 1].read_gbps_1t)
        warn(&w, "%s read (%.1f GB/s) is faster than %s (%.1f GB/s): the %s buffer probably did not leave %s",
             names[l], bw->read_gbps_1t, names[l - 1], hw->bw[l - 1].read_gbps_1t, names[l], names[l - 1]);
    }
  }

  if (w.n > 0) {
    fprintf(out, "\nWarnings\n");
    for (int i = 0; i < w.n; i++) fprintf(out, "  ! %s\n", w.text[i]);
  }
}
