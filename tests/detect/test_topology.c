/* SPDX-License-Identifier: Apache-2.0 */
/* Topology and cache detection through the seam: synthetic hwloc machines, a recorded XML machine, sysfs folders. */
#include <criterion/criterion.h>
#include <string.h>

#include "detect_internal.h"
#include "hwtune/kernels.h"

static const int four_cpus[] = {0, 1, 2, 3};

/* No CPUID, no host sysfs, a fixed affinity and no cgroup quota: the result depends on the fixture only. */
static hwt_detect_inputs fixture_inputs(void) {
  hwt_detect_inputs in = {0};
  in.cgroup_root = HWTUNE_FIXTURES "/detect/cgroup-max";
  in.affinity = four_cpus;
  in.naffinity = 4;
  in.fixed_cpuid_caches = true;
  in.meminfo_path = HWTUNE_FIXTURES "/detect/meminfo-16g";
  return in;
}

static const hwt_cache *find_cache(const hwt_hw *hw, int level, hwt_cache_type type) {
  for (size_t i = 0; i < hw->ncaches; i++)
    if (hw->caches[i].level == level && hw->caches[i].type == type) return &hw->caches[i];
  return NULL;
}

Test(topology, synthetic_two_socket_counts) {
  hwt_detect_inputs in = fixture_inputs();
  in.hwloc_synthetic = "pack:2 numa:2 l3:2 core:8 pu:2";
  static hwt_hw hw;
  char err[256];
  cr_assert_eq(hwt_detect(&in, &hw, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hw.packages, 2);
  cr_assert_eq(hw.numa_nodes, 4);
  cr_assert_eq(hw.cores, 64);
  cr_assert_eq(hw.pus, 128);
  cr_assert_eq(hw.smt, 2);
  cr_assert_str_eq(hw.topology_source, "hwloc-synthetic");
  cr_assert_geq(hw.ncore_kinds, 1);
  cr_assert_eq(hw.core_kinds[0].pus, 128);
  const hwt_cache *l3 = find_cache(&hw, 3, hwt_cache_unified);
  cr_assert_not_null(l3);
  cr_assert_eq(l3->shared_by_cpus, 16, "one L3 per 8 cores x 2 PUs, got %u", l3->shared_by_cpus);
  cr_assert(l3->plausible, "%s", l3->note);
  /* Budget: this core's share of the L3 = 16 MiB (hwloc's synthetic default) / 8 cores. */
  const char *src = NULL;
  cr_assert_eq(hwt_hw_cache_budget(&hw, 3, &src), l3->size_bytes / 8);
  cr_assert_str_eq(src, "hwloc");
}

Test(topology, synthetic_sizes_reach_the_kernel_budget) {
  hwt_detect_inputs in = fixture_inputs();
  in.hwloc_synthetic = "pack:1 l3:1(size=33554432) l2:8(size=1048576) l1d:1(size=49152) core:1 pu:2";
  static hwt_hw hw;
  char err[256];
  cr_assert_eq(hwt_detect(&in, &hw, err, sizeof err), hwt_status_ok, "%s", err);
  hwt_hw_set_kernel_budget(&hw);
  hwt_cache_budget b = hwt_kernels_cache_budget();
  cr_assert_eq(b.l1d, 49152);
  cr_assert_eq(b.l2, 1048576);
  cr_assert_eq(b.l3_share, 33554432 / 8);
}

Test(topology, recorded_vm_l3_of_508mb_per_core_is_implausible) {
  hwt_detect_inputs in = fixture_inputs();
  in.hwloc_xml = HWTUNE_FIXTURES "/detect/vm-zen5-508mb-l3.xml";
  static hwt_hw hw;
  char err[256];
  cr_assert_eq(hwt_detect(&in, &hw, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_str_eq(hw.topology_source, "hwloc-xml");
  cr_assert_eq(hw.cores, 2);
  const hwt_cache *l3 = find_cache(&hw, 3, hwt_cache_unified);
  cr_assert_not_null(l3);
  cr_assert_eq(l3->size_bytes, 532676608ull);
  cr_assert_not(l3->plausible);
  cr_assert(strstr(l3->note, "per core") != NULL, "note: %s", l3->note);
  const hwt_cache *l1 = find_cache(&hw, 1, hwt_cache_data);
  cr_assert_not_null(l1);
  cr_assert(l1->plausible, "%s", l1->note);
  cr_assert_eq(l1->size_bytes, 48u << 10);
  cr_assert_not_null(find_cache(&hw, 1, hwt_cache_instruction), "L1i must be reported too");
  /* Kernels must not size blocking from the 508 MB entry. */
  const char *src = NULL;
  cr_assert_eq(hwt_hw_cache_budget(&hw, 3, &src), 2u << 20);
  cr_assert_str_eq(src, "default");
  cr_assert_eq(hwt_hw_cache_budget(&hw, 2, &src), 1u << 20);
  cr_assert_str_eq(src, "hwloc");
}

Test(topology, synthetic_508mb_l3_with_a_plausible_cpuid_figure_lets_cpuid_win) {
  hwt_detect_inputs in = fixture_inputs();
  in.hwloc_synthetic = "pack:1 l3:2(size=532676608) l2:1(size=1048576) l1d:1(size=49152) core:1 pu:1";
  hwt_cache cpuid[1] = {{.level = 3, .type = hwt_cache_unified, .size_bytes = 32u << 20, .line_bytes = 64,
                         .ways = 16, .shared_by_cpus = 8, .source = "cpuid", .plausible = true}};
  in.cpuid_caches = cpuid;
  in.ncpuid_caches = 1;
  static hwt_hw hw;
  char err[256];
  cr_assert_eq(hwt_detect(&in, &hw, err, sizeof err), hwt_status_ok, "%s", err);
  const hwt_cache *l3 = find_cache(&hw, 3, hwt_cache_unified);
  cr_assert_not_null(l3);
  cr_assert(l3->plausible, "%s", l3->note);
  cr_assert_str_eq(l3->source, "cpuid");
  cr_assert(strstr(l3->note, "hwloc says 508") != NULL, "note: %s", l3->note);
  cr_assert_eq(hwt_hw_cache_budget(&hw, 3, NULL), (32u << 20) / 8);
}

Test(topology, bad_synthetic_and_missing_xml_fail_with_a_message) {
  hwt_detect_inputs in = fixture_inputs();
  in.hwloc_synthetic = "pack:2 bogus:7";
  static hwt_hw hw;
  char err[256] = "";
  cr_assert_neq(hwt_detect(&in, &hw, err, sizeof err), hwt_status_ok);
  cr_assert(strstr(err, "bogus") != NULL, "message: %s", err);
  in.hwloc_synthetic = NULL;
  in.hwloc_xml = "/nonexistent/topology.xml";
  err[0] = '\0';
  cr_assert_neq(hwt_detect(&in, &hw, err, sizeof err), hwt_status_ok);
  cr_assert(strstr(err, "/nonexistent/topology.xml") != NULL, "message: %s", err);
}

Test(topology, sysfs_fixture_is_read_and_preferred) {
  hwt_cache c[HWT_MAX_CACHES];
  size_t n = hwt_sysfs_caches(HWTUNE_FIXTURES "/detect/sysfs-zen4-16t", c, HWT_MAX_CACHES);
  cr_assert_eq(n, 4);
  bool seen_l3 = false;
  for (size_t i = 0; i < n; i++) {
    cr_assert_str_eq(c[i].source, "sysfs");
    if (c[i].level == 3) {
      seen_l3 = true;
      cr_assert_eq(c[i].size_bytes, 32u << 20);
      cr_assert_eq(c[i].shared_by_cpus, 16);
      cr_assert_eq(c[i].ways, 16);
    }
    if (c[i].level == 1 && c[i].type == hwt_cache_data) cr_assert_eq(c[i].shared_by_cpus, 2);
  }
  cr_assert(seen_l3);
  cr_assert_eq(hwt_sysfs_caches("/nonexistent", c, HWT_MAX_CACHES), 0);

  /* Through hwt_detect: sysfs beats hwloc, and hwloc's different L2 is quoted in the note. */
  hwt_detect_inputs in = fixture_inputs();
  in.hwloc_synthetic = "pack:1 l3:1(size=33554432) l2:8(size=2097152) l1d:1(size=32768) core:1 pu:2";
  in.sysfs_cpu_root = HWTUNE_FIXTURES "/detect/sysfs-zen4-16t";
  static hwt_hw hw;
  char err[256];
  cr_assert_eq(hwt_detect(&in, &hw, err, sizeof err), hwt_status_ok, "%s", err);
  const hwt_cache *l2 = find_cache(&hw, 2, hwt_cache_unified);
  cr_assert_not_null(l2);
  cr_assert_str_eq(l2->source, "sysfs");
  cr_assert_eq(l2->size_bytes, 1u << 20);
  cr_assert(strstr(l2->note, "hwloc says 2 MiB") != NULL, "note: %s", l2->note);
}
