/* SPDX-License-Identifier: Apache-2.0 */
/* Plausibility rules and the cross-check merge, on hand-made cache lists. */
#include <criterion/criterion.h>
#include <string.h>

#include "detect_internal.h"

static hwt_cache mk(int level, hwt_cache_type type, uint64_t size, unsigned line, unsigned ways, unsigned shared,
                    const char *source) {
  hwt_cache c;
  memset(&c, 0, sizeof c);
  c.level = level;
  c.type = type;
  c.size_bytes = size;
  c.line_bytes = line;
  c.ways = ways;
  c.shared_by_cpus = shared;
  c.plausible = true;
  strcpy(c.source, source);
  return c;
}

Test(caches, real_caches_are_plausible) {
  char note[192];
  hwt_cache l1 = mk(1, hwt_cache_data, 48 << 10, 64, 12, 1, "hwloc");
  cr_assert(hwt_cache_entry_plausible(&l1, 1, note, sizeof note), "%s", note);
  hwt_cache x3d = mk(3, hwt_cache_unified, 96u << 20, 64, 16, 16, "hwloc"); /* 96 MiB over 8 cores */
  cr_assert(hwt_cache_entry_plausible(&x3d, 8, note, sizeof note), "%s", note);
  hwt_cache skx = mk(3, hwt_cache_unified, 1441792u * 28, 64, 11, 56, "hwloc"); /* 38.5 MiB, 11-way */
  cr_assert(hwt_cache_entry_plausible(&skx, 28, note, sizeof note), "%s", note);
}

Test(caches, implausible_entries_say_why) {
  char note[192];
  hwt_cache per_core_508 = mk(3, hwt_cache_unified, 532676608ull, 64, 0, 1, "hwloc");
  cr_assert_not(hwt_cache_entry_plausible(&per_core_508, 1, note, sizeof note));
  cr_assert(strstr(note, "per core") != NULL, "%s", note);
  /* The same 508 MB shared by 16 cores (~32 MB each) would be plausible: the rule is per core. */
  cr_assert(hwt_cache_entry_plausible(&per_core_508, 16, note, sizeof note), "%s", note);

  hwt_cache odd_line = mk(1, hwt_cache_data, 32 << 10, 48, 8, 1, "cpuid");
  cr_assert_not(hwt_cache_entry_plausible(&odd_line, 1, note, sizeof note));
  cr_assert(strstr(note, "power of two") != NULL, "%s", note);

  hwt_cache zero = mk(2, hwt_cache_unified, 0, 64, 8, 1, "sysfs");
  cr_assert_not(hwt_cache_entry_plausible(&zero, 1, note, sizeof note));

  hwt_cache sets = mk(2, hwt_cache_unified, (1 << 20) + 64, 64, 8, 1, "sysfs");
  cr_assert_not(hwt_cache_entry_plausible(&sets, 1, note, sizeof note));
  cr_assert(strstr(note, "sets") != NULL, "%s", note);

  hwt_cache huge_l1 = mk(1, hwt_cache_data, 4u << 20, 64, 8, 1, "hwloc");
  cr_assert_not(hwt_cache_entry_plausible(&huge_l1, 1, note, sizeof note));
}

Test(caches, merge_orders_prefers_and_checks_hierarchy) {
  hwt_cache hw[3] = {mk(3, hwt_cache_unified, 32u << 20, 64, 16, 16, "hwloc"),
                     mk(1, hwt_cache_data, 32 << 10, 64, 8, 2, "hwloc"),
                     mk(2, hwt_cache_unified, 16 << 10, 64, 4, 2, "hwloc")}; /* L2 smaller than L1d */
  hwt_cache cpuid[1] = {mk(1, hwt_cache_data, 64 << 10, 64, 8, 0, "cpuid")};
  hwt_cache out[HWT_MAX_CACHES];
  size_t n = hwt_caches_merge(hw, 3, cpuid, 1, NULL, 0, 2, out, HWT_MAX_CACHES);
  cr_assert_eq(n, 3);
  cr_assert_eq(out[0].level, 1);
  cr_assert_eq(out[1].level, 2);
  cr_assert_eq(out[2].level, 3);
  cr_assert_str_eq(out[0].source, "hwloc");
  cr_assert(strstr(out[0].note, "cpuid says 64 KiB") != NULL, "%s", out[0].note);
  cr_assert_not(out[1].plausible, "L2 of 16 KiB under a 32 KiB L1d must be implausible");
  cr_assert(strstr(out[1].note, "smaller than L1d") != NULL, "%s", out[1].note);
  cr_assert(out[2].plausible, "%s", out[2].note);
}

Test(caches, legacy_cpuid_without_sharing_borrows_it) {
  /* AMD's legacy leaf 0x80000006 reports 508 MB with no sharing; hwloc says shared by 1 CPU: both implausible,
   * and the one written out is hwloc's (preferred), noting that CPUID agrees. */
  hwt_cache h[1] = {mk(3, hwt_cache_unified, 532676608ull, 64, 0, 1, "hwloc")};
  hwt_cache c[1] = {mk(3, hwt_cache_unified, 532676608ull, 64, 0, 0, "cpuid")};
  hwt_cache out[4];
  size_t n = hwt_caches_merge(h, 1, c, 1, NULL, 0, 1, out, 4);
  cr_assert_eq(n, 1);
  cr_assert_not(out[0].plausible);
  cr_assert_str_eq(out[0].source, "hwloc");
  cr_assert(strstr(out[0].note, "cpuid agrees") != NULL, "%s", out[0].note);
}

Test(caches, budget_skips_implausible_and_falls_back) {
  static hwt_hw hw;
  memset(&hw, 0, sizeof hw);
  hw.smt = 1;
  hw.caches[0] = mk(1, hwt_cache_data, 48 << 10, 64, 12, 1, "hwloc");
  hw.caches[1] = mk(3, hwt_cache_unified, 532676608ull, 64, 0, 1, "hwloc");
  hw.caches[1].plausible = false;
  hw.ncaches = 2;
  const char *src;
  cr_assert_eq(hwt_hw_cache_budget(&hw, 1, &src), 48 << 10);
  cr_assert_str_eq(src, "hwloc");
  cr_assert_eq(hwt_hw_cache_budget(&hw, 2, &src), 512 << 10);
  cr_assert_str_eq(src, "default");
  cr_assert_eq(hwt_hw_cache_budget(&hw, 3, &src), 2 << 20);
  cr_assert_str_eq(src, "default");
  cr_assert_eq(hwt_hw_cache_budget(NULL, 1, &src), 32 << 10);
}

Test(identity, uarch_table_covers_newer_cpus) {
  cr_assert_str_eq(hwt_uarch_from_table("AuthenticAMD", 0x1a, 0x02), "AMD_ZEN5");
  cr_assert_str_eq(hwt_uarch_from_table("AuthenticAMD", 0x19, 0x11), "AMD_ZEN4");
  cr_assert_str_eq(hwt_uarch_from_table("AuthenticAMD", 0x19, 0x61), "AMD_ZEN4");
  cr_assert_null(hwt_uarch_from_table("AuthenticAMD", 0x19, 0x01)); /* Zen 3: cpu_features knows it */
  cr_assert_null(hwt_uarch_from_table("GenuineIntel", 0x1a, 0x02));
  cr_assert_str_eq(hwt_uarch_from_table("GenuineIntel", 6, 0xcf), "INTEL_EMR");
  cr_assert_null(hwt_uarch_from_table(NULL, 6, 0xcf));
}

Test(identity, this_machine_has_an_identity) {
  static hwt_hw hw;
  memset(&hw, 0, sizeof hw);
  hwt_detect_identity(&hw);
  cr_assert_neq(hw.arch[0], '\0');
  cr_assert_neq(hw.vendor[0], '\0');
  cr_assert_neq(hw.uarch_source[0], '\0');
  cr_assert(strcmp(hw.arch, "x86_64") == 0 || strcmp(hw.arch, "aarch64") == 0, "arch %s", hw.arch);
}
