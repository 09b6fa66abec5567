/* SPDX-License-Identifier: Apache-2.0 */
/* hwt_detect(): gathers identity, ISA, topology, cross-checked caches, usable CPUs and memory through the input
 * seam, then optionally measures; and the fingerprint over the identifying fields. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "detect_internal.h"
#include "hwt_common.h"

static void fill_affinity(const hwt_detect_inputs *in, hwt_hw *hw) {
  hw->naffinity = 0;
  if (in->affinity != NULL) {
    for (size_t i = 0; i < in->naffinity && hw->naffinity < HWT_MAX_CPUS; i++)
      hw->affinity[hw->naffinity++] = in->affinity[i];
    return;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return;
  for (int cpu = 0; cpu < CPU_SETSIZE && hw->naffinity < HWT_MAX_CPUS; cpu++)
    if (CPU_ISSET(cpu, &set)) hw->affinity[hw->naffinity++] = cpu;
}

hwt_status hwt_detect(const hwt_detect_inputs *in_opt, hwt_hw *hw, char *err, size_t errlen) {
  static const hwt_detect_inputs none = {0};
  const hwt_detect_inputs *in = in_opt ? in_opt : &none;
  if (hw == NULL) {
    hwt_errf(err, errlen, "hwt_detect: hw is NULL");
    return hwt_status_invalid_argument;
  }
  memset(hw, 0, sizeof(*hw));
  hw->cgroup_quota_cpus = -1.0;

  hwt_detect_identity(hw);
  if (in->fixed_features)
    hwt_cpu_isa_compute(in->features_hw, getenv("HWTUNE_ISA"), &hw->isa);
  else
    hw->isa = *hwt_cpu_isa_get();

  fill_affinity(in, hw);

  hwt_cache from_hwloc[HWT_MAX_CACHES], from_cpuid[HWT_MAX_CACHES], from_sysfs[HWT_MAX_CACHES];
  int nh = hwt_detect_topology(in, hw, from_hwloc, HWT_MAX_CACHES, err, errlen);
  if (nh < 0) return hwt_status_io_error;

  const bool fixture_topology = in->hwloc_synthetic != NULL || in->hwloc_xml != NULL;
  size_t nc = 0, ns = 0;
  if (in->fixed_cpuid_caches) {
    for (size_t i = 0; i < in->ncpuid_caches && i < HWT_MAX_CACHES; i++) from_cpuid[nc++] = in->cpuid_caches[i];
  } else if (!fixture_topology) {
    nc = hwt_cpuid_caches(from_cpuid, HWT_MAX_CACHES);
  }
  const char *sysroot = in->sysfs_cpu_root ? in->sysfs_cpu_root : "/sys/devices/system/cpu";
  if (in->sysfs_cpu_root != NULL || !fixture_topology) ns = hwt_sysfs_caches(sysroot, from_sysfs, HWT_MAX_CACHES);
  hw->ncaches = hwt_caches_merge(from_hwloc, (size_t)nh, from_cpuid, nc, from_sysfs, ns, hw->smt, hw->caches,
                                 HWT_MAX_CACHES);
  hwt_errf(hw->cache_note, sizeof(hw->cache_note), "sources: %s %d entries, cpuid %zu%s, sysfs %zu (%s/cpu0/cache)",
           hw->topology_source, nh, nc,
           in->fixed_cpuid_caches ? " (fixture)" : (fixture_topology ? " (skipped: fixture topology)" : ""), ns,
           sysroot);
  if (hw->hypervisor) {
    size_t len = strlen(hw->cache_note);
    snprintf(hw->cache_note + len, sizeof(hw->cache_note) - len,
             "; under a hypervisor (%s), CPUID cache figures are whatever it reports",
             hw->hypervisor_vendor[0] ? hw->hypervisor_vendor : "unnamed");
  }

  char quota_note[160];
  hwt_cgroup_quota(in->cgroup_root, &hw->cgroup_quota_cpus, quota_note, sizeof(quota_note));
  hw->usable_cpus = hwt_usable_cpus(hw->naffinity, hw->cgroup_quota_cpus);
  hwt_errf(hw->usable_note, sizeof(hw->usable_note), "affinity %zu CPU%s%s; %s", hw->naffinity,
           hw->naffinity == 1 ? "" : "s", in->affinity ? " (fixture)" : " (sched_getaffinity)", quota_note);

  if (!hwt_read_meminfo(in->meminfo_path, &hw->mem_total_bytes, &hw->mem_available_bytes))
    hwt_log_verbose("cannot read %s; memory unknown", in->meminfo_path ? in->meminfo_path : "/proc/meminfo");

  hwt_hw_fingerprint(hw);
  hwt_probes_mark_present(hw);
  if (in->measure) hwt_measure(hw, in->quick);
  return hwt_status_ok;
}

/* ---------------------------------------------------------------------------------------- fingerprint */
size_t hwt_hw_fingerprint_text(const hwt_hw *hw, char *buf, size_t len) {
  /* Identifying fields only: no measured figure, no free memory, no affinity list (pinning to CPU 0 or 1 of the
   * same machine is the same environment), and the ISA before the HWTUNE_ISA cap (the hardware's). */
  size_t n = 0;
#define PUT(...)                                                        \
  do {                                                                  \
    if (n < len) {                                                      \
      int w_ = snprintf(buf + n, len - n, __VA_ARGS__);                 \
      if (w_ > 0) n += (size_t)w_;                                      \
    }                                                                   \
  } while (0)
  PUT("arch=%s;vendor=%s;brand=%s;family=%d;model=%d;stepping=%d;isa=%08x;", hw->arch, hw->vendor, hw->brand,
      hw->family, hw->model, hw->stepping, hw->isa.features_hw);
  for (size_t i = 0; i < hw->ncaches; i++) {
    const hwt_cache *c = &hw->caches[i];
    PUT("L%d%d=%llu/%u/%u/%u/%d;", c->level, (int)c->type, (unsigned long long)c->size_bytes, c->line_bytes, c->ways,
        c->shared_by_cpus, c->plausible ? 1 : 0);
  }
  PUT("pkg=%u;numa=%u;cores=%u;pus=%u;smt=%u;", hw->packages, hw->numa_nodes, hw->cores, hw->pus, hw->smt);
  for (size_t i = 0; i < hw->ncore_kinds; i++)
    PUT("kind=%s/%d/%u;", hw->core_kinds[i].name, hw->core_kinds[i].efficiency, hw->core_kinds[i].pus);
  PUT("usable=%u", hw->usable_cpus);
#undef PUT
  return n < len ? n : (len ? len - 1 : 0);
}

/* Two independent 64-bit FNV-1a streams (different offset bases), each finished with a murmur3-style mixer:
 * 128 bits, plenty against accidental collisions; not a cryptographic hash and need not be. */
static uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

void hwt_hw_fingerprint(hwt_hw *hw) {
  if (hw == NULL) return;
  char text[4096];
  size_t n = hwt_hw_fingerprint_text(hw, text, sizeof(text));
  uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull;
  for (size_t i = 0; i < n; i++) {
    h1 = (h1 ^ (unsigned char)text[i]) * 0x100000001b3ull;
    h2 = (h2 ^ (unsigned char)text[i]) * 0x100000001b3ull;
    h2 ^= h2 >> 29;
  }
  snprintf(hw->fingerprint, sizeof(hw->fingerprint), "%016llx%016llx", (unsigned long long)mix64(h1),
           (unsigned long long)mix64(h2 ^ n));
}
