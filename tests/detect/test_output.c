/* SPDX-License-Identifier: Apache-2.0 */
/* The fingerprint (stable; changes with identifying fields only) and the JSON document (parses, every key). */
#include <criterion/criterion.h>
#include <ctype.h>
#include <jansson.h>
#include <string.h>

#include "detect_internal.h"
#include "hwtune/hw_json.h"

static hwt_hw hw_a, hw_b;

static void detect_fixture(hwt_hw *hw, const char *synthetic, size_t ncpus, const char *cgroup) {
  static const int cpus[] = {0, 1, 2, 3, 4, 5, 6, 7};
  hwt_detect_inputs in = {0};
  in.hwloc_synthetic = synthetic;
  in.fixed_cpuid_caches = true;
  in.affinity = cpus;
  in.naffinity = ncpus;
  in.cgroup_root = cgroup ? cgroup : HWTUNE_FIXTURES "/detect/cgroup-max";
  char err[256];
  cr_assert_eq(hwt_detect(&in, hw, err, sizeof err), hwt_status_ok, "%s", err);
}

#define BASE "pack:1 l3:1(size=33554432) l2:4(size=1048576) l1d:1(size=49152) core:1 pu:2"

Test(fingerprint, stable_and_hex) {
  detect_fixture(&hw_a, BASE, 8, NULL);
  detect_fixture(&hw_b, BASE, 8, NULL);
  cr_assert_str_eq(hw_a.fingerprint, hw_b.fingerprint);
  cr_assert_eq(strlen(hw_a.fingerprint), 32);
  for (size_t i = 0; i < 32; i++) cr_assert(isxdigit((unsigned char)hw_a.fingerprint[i]));
  /* Measured figures and free memory are not identifying. */
  hw_b.mem_available_bytes += 12345;
  hw_b.peak_fp32[hwt_isa_scalar].gflops_1t = 99.0;
  hw_b.bw[hwt_bw_dram].read_gbps_1t = 12.0;
  hwt_hw_fingerprint(&hw_b);
  cr_assert_str_eq(hw_a.fingerprint, hw_b.fingerprint);
}

Test(fingerprint, changes_with_cache_size) {
  detect_fixture(&hw_a, BASE, 8, NULL);
  detect_fixture(&hw_b, "pack:1 l3:1(size=16777216) l2:4(size=1048576) l1d:1(size=49152) core:1 pu:2", 8, NULL);
  cr_assert_str_neq(hw_a.fingerprint, hw_b.fingerprint);
}

Test(fingerprint, changes_with_usable_cpus) {
  detect_fixture(&hw_a, BASE, 8, NULL);
  detect_fixture(&hw_b, BASE, 4, NULL);
  cr_assert_str_neq(hw_a.fingerprint, hw_b.fingerprint);
  /* a cgroup quota of 1.5 CPUs makes 1 usable CPU: a different environment */
  detect_fixture(&hw_b, BASE, 8, HWTUNE_FIXTURES "/detect/cgroup-150");
  cr_assert_eq(hw_b.usable_cpus, 1);
  cr_assert_str_neq(hw_a.fingerprint, hw_b.fingerprint);
}

/* Follows a dotted path; returns NULL when a step is missing. */
static json_t *at(json_t *root, const char *path) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", path);
  json_t *cur = root;
  for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save))
    cur = json_object_get(cur, tok);
  return cur;
}

static void check_keys(json_t *doc) {
  static const char *keys[] = {
      "schema", "fingerprint", "cpu.vendor", "cpu.brand", "cpu.family", "cpu.model", "cpu.stepping",
      "cpu.microarchitecture", "cpu.hypervisor", "isa", "isa_level", "isa_cap.capped", "isa_cap.level", "caches",
      "topology.packages", "topology.numa_nodes", "topology.cores", "topology.pus", "topology.smt",
      "topology.core_kinds", "usable.cpus", "usable.affinity", "usable.cgroup_quota_cpus", "memory.total_bytes",
      "memory.available_bytes", "peak.fp32", "peak.int8", "peak.fp32.scalar.gflops_1t",
      "peak.fp32.scalar.gflops_all", "bandwidth.l1.read.gbps_1t", "bandwidth.l1.read.gbps_all",
      "bandwidth.l2.triad.gbps_1t", "bandwidth.l3.triad.gbps_all", "bandwidth.dram.read.gbps_all",
      "bandwidth.dram.triad.gbps_1t"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) cr_assert_not_null(at(doc, keys[i]), "missing %s", keys[i]);
  cr_assert_str_eq(json_string_value(at(doc, "schema")), "hwtune.hw/1");
  cr_assert(json_is_boolean(at(doc, "cpu.hypervisor")));
  json_t *caches = at(doc, "caches");
  cr_assert(json_is_array(caches) && json_array_size(caches) > 0);
  size_t i;
  json_t *c;
  json_array_foreach(caches, i, c) {
    static const char *ck[] = {"level", "type", "size_bytes", "line_bytes", "ways", "shared_by_cpus", "source",
                               "plausible", "note"};
    for (size_t k = 0; k < sizeof ck / sizeof ck[0]; k++)
      cr_assert_not_null(json_object_get(c, ck[k]), "cache %zu lacks %s", i, ck[k]);
  }
  const char *kv;
  json_t *v;
  json_object_foreach(at(doc, "isa"), kv, v) {
    cr_assert(json_is_boolean(v), "isa.%s is not a boolean", kv);
    for (const char *p = kv; *p; p++) cr_assert(!isupper((unsigned char)*p), "isa key %s not lower case", kv);
  }
}

Test(json, parses_and_has_every_key) {
  detect_fixture(&hw_a, "pack:2 numa:2 l3:2 core:8 pu:2", 8, HWTUNE_FIXTURES "/detect/cgroup-150");
  json_t *doc = hwt_hw_to_json(&hw_a);
  cr_assert_not_null(doc);
  char *text = json_dumps(doc, 0);
  json_decref(doc);
  json_error_t jerr;
  json_t *back = json_loads(text, 0, &jerr);
  free(text);
  cr_assert_not_null(back, "does not parse: %s", jerr.text);
  check_keys(back);
  cr_assert_eq(json_integer_value(at(back, "usable.cpus")), 1);
  cr_assert_float_eq(json_real_value(at(back, "usable.cgroup_quota_cpus")), 1.5, 1e-9);
  cr_assert_eq(json_integer_value(at(back, "topology.numa_nodes")), 4);
  cr_assert(json_is_null(at(back, "peak.fp32.scalar.gflops_1t")), "not measured -> null");
  json_decref(back);
}

Test(json, quota_is_null_without_cgroup_and_measured_figures_are_numbers) {
  detect_fixture(&hw_a, BASE, 2, NULL);
  hw_a.measured = true;
  hw_a.peak_fp32[hwt_isa_scalar].gflops_1t = 10.0;
  hw_a.bw[hwt_bw_l1].read_gbps_1t = 100.0;
  json_t *doc = hwt_hw_to_json(&hw_a);
  cr_assert_not_null(doc);
  cr_assert(json_is_null(at(doc, "usable.cgroup_quota_cpus")));
  cr_assert_float_eq(json_real_value(at(doc, "peak.fp32.scalar.gflops_1t")), 10.0, 1e-9);
  cr_assert_float_eq(json_real_value(at(doc, "bandwidth.l1.read.gbps_1t")), 100.0, 1e-9);
  json_decref(doc);
}

Test(print, summary_flags_the_implausible_l3) {
  static const int cpus[] = {0, 1};
  hwt_detect_inputs in = {0};
  in.hwloc_xml = HWTUNE_FIXTURES "/detect/vm-zen5-508mb-l3.xml";
  in.fixed_cpuid_caches = true;
  in.affinity = cpus;
  in.naffinity = 2;
  in.cgroup_root = HWTUNE_FIXTURES "/detect/cgroup-max";
  char err[256];
  cr_assert_eq(hwt_detect(&in, &hw_a, err, sizeof err), hwt_status_ok, "%s", err);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_not_null(f);
  hwt_hw_print(&hw_a, f);
  fclose(f);
  cr_assert(strstr(buf, "IMPLAUSIBLE") != NULL, "%s", buf);
  cr_assert(strstr(buf, "Warnings") != NULL);
  cr_assert(strstr(buf, hw_a.fingerprint) != NULL);
  free(buf);
}
