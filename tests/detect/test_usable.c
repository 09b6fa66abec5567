/* SPDX-License-Identifier: Apache-2.0 */
/* Usable CPUs: cgroup v2 cpu.max fixtures, the floor/at-least-one rule, memory from a meminfo fixture. */
#include <criterion/criterion.h>
#include <string.h>

#include "detect_internal.h"

#define CG(name) HWTUNE_FIXTURES "/detect/" name

Test(cgroup, parse_cpu_max) {
  double cpus = -7;
  char note[160];
  cr_assert_eq(hwt_parse_cpu_max("max 100000\n", &cpus, note, sizeof note), 0);
  cr_assert_eq(hwt_parse_cpu_max("max", &cpus, note, sizeof note), 0);
  cr_assert_eq(hwt_parse_cpu_max("150000 100000\n", &cpus, note, sizeof note), 1);
  cr_assert_float_eq(cpus, 1.5, 1e-12);
  cr_assert_eq(hwt_parse_cpu_max("lots of cpus please", &cpus, note, sizeof note), -1);
  cr_assert_eq(hwt_parse_cpu_max("150000", &cpus, note, sizeof note), -1);
  cr_assert_eq(hwt_parse_cpu_max("-5 100000", &cpus, note, sizeof note), -1);
  cr_assert_eq(hwt_parse_cpu_max("100 0", &cpus, note, sizeof note), -1);
  cr_assert_eq(hwt_parse_cpu_max("", &cpus, note, sizeof note), -1);
}

Test(cgroup, fixture_folders) {
  double cpus;
  char note[256];
  hwt_cgroup_quota(CG("cgroup-max"), &cpus, note, sizeof note);
  cr_assert_lt(cpus, 0, "max means no quota");
  hwt_cgroup_quota(CG("cgroup-150"), &cpus, note, sizeof note);
  cr_assert_float_eq(cpus, 1.5, 1e-12);
  cr_assert(strstr(note, "cgroup-150/cpu.max") != NULL, "%s", note);
  hwt_cgroup_quota(CG("cgroup-50"), &cpus, note, sizeof note);
  cr_assert_float_eq(cpus, 0.5, 1e-12);
  cr_assert_eq(hwt_usable_cpus(4, cpus), 1, "half a CPU still leaves one usable");
  hwt_cgroup_quota(CG("cgroup-malformed"), &cpus, note, sizeof note);
  cr_assert_lt(cpus, 0, "malformed is ignored");
  cr_assert(strstr(note, "malformed") && strstr(note, "cgroup-malformed/cpu.max"), "%s", note);
  hwt_cgroup_quota(CG("cgroup-missing"), &cpus, note, sizeof note);
  cr_assert_lt(cpus, 0);
  cr_assert(strstr(note, "missing") != NULL, "%s", note);
}

Test(cgroup, usable_is_floor_of_quota_and_at_least_one) {
  cr_assert_eq(hwt_usable_cpus(4, -1.0), 4);
  cr_assert_eq(hwt_usable_cpus(4, 1.5), 1);
  cr_assert_eq(hwt_usable_cpus(4, 2.99), 2);
  cr_assert_eq(hwt_usable_cpus(4, 0.5), 1);
  cr_assert_eq(hwt_usable_cpus(2, 8.0), 2);
  cr_assert_eq(hwt_usable_cpus(0, -1.0), 1);
}

static void detect_with(const char *cgroup, hwt_hw *hw) {
  static const int cpus[] = {0, 1, 2, 3};
  hwt_detect_inputs in = {0};
  in.hwloc_synthetic = "pack:1 core:4 pu:1";
  in.fixed_cpuid_caches = true;
  in.affinity = cpus;
  in.naffinity = 4;
  in.cgroup_root = cgroup;
  char err[256];
  cr_assert_eq(hwt_detect(&in, hw, err, sizeof err), hwt_status_ok, "%s", err);
}

Test(cgroup, detect_reports_quota_and_usable) {
  static hwt_hw hw;
  detect_with(CG("cgroup-150"), &hw);
  cr_assert_eq(hw.usable_cpus, 1);
  cr_assert_float_eq(hw.cgroup_quota_cpus, 1.5, 1e-12);
  cr_assert_eq(hw.naffinity, 4);
  detect_with(CG("cgroup-max"), &hw);
  cr_assert_eq(hw.usable_cpus, 4);
  cr_assert_lt(hw.cgroup_quota_cpus, 0);
  detect_with(CG("cgroup-malformed"), &hw);
  cr_assert_eq(hw.usable_cpus, 4);
  cr_assert(strstr(hw.usable_note, "malformed") != NULL, "%s", hw.usable_note);
}

Test(memory, meminfo_fixture) {
  uint64_t total, avail;
  cr_assert(hwt_read_meminfo(HWTUNE_FIXTURES "/detect/meminfo-16g", &total, &avail));
  cr_assert_eq(total, 16384000ull << 10);
  cr_assert_eq(avail, 12000000ull << 10);
  cr_assert_not(hwt_read_meminfo("/nonexistent/meminfo", &total, &avail));
}
