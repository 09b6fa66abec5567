/* SPDX-License-Identifier: Apache-2.0 */
/* hwt_hw -> JSON (schema hwtune.hw/1). Keys are a contract (see issue 2); add, never rename. */
#include <string.h>

#include "hwtune/hw_json.h"

static const char *cache_type_name(hwt_cache_type t) {
  return t == hwt_cache_data ? "data" : t == hwt_cache_instruction ? "instruction" : "unified";
}

static json_t *num_or_null(bool known, double v) { return known ? json_real(v) : json_null(); }

static json_t *cpu_json(const hwt_hw *hw) {
  return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:s, s:b, s:s?}", "arch", hw->arch, "vendor", hw->vendor,
                   "brand", hw->brand, "family", hw->family, "model", hw->model, "stepping", hw->stepping,
                   "microarchitecture", hw->uarch, "microarchitecture_source", hw->uarch_source, "hypervisor",
                   hw->hypervisor, "hypervisor_vendor", hw->hypervisor_vendor[0] ? hw->hypervisor_vendor : NULL);
}

static json_t *isa_json(const hwt_hw *hw) {
  json_t *o = json_object();
  for (const hwt_feature_name *f = hwt_feature_names; o && f->name; f++) {
    /* Only the features of this architecture: an x86 machine lists no "asimd" and vice versa. */
#if defined(__aarch64__)
    const bool mine = f->bit >= (1u << 16);
#else
    const bool mine = f->bit < (1u << 16);
#endif
    if (mine) json_object_set_new(o, f->name, json_boolean((hw->isa.features_hw & f->bit) != 0));
  }
  return o;
}

static json_t *isa_cap_json(const hwt_hw *hw) {
  hwt_cpu_isa uncapped;
  hwt_cpu_isa_compute(hw->isa.features_hw, NULL, &uncapped);
  json_t *removed = json_array();
  for (const hwt_feature_name *f = hwt_feature_names; removed && f->name; f++)
    if ((hw->isa.features_hw & f->bit) && !(hw->isa.features & f->bit)) json_array_append_new(removed, json_string(f->name));
  return json_pack("{s:b, s:s?, s:s, s:s, s:o, s:s?}", "capped", hw->isa.capped, "cap",
                   hw->isa.capped ? hwt_isa_name(hw->isa.cap) : NULL, "level", hwt_isa_name(hw->isa.level),
                   "uncapped_level", hwt_isa_name(uncapped.level), "features_removed", removed, "error",
                   hw->isa.cap_error);
}

static json_t *caches_json(const hwt_hw *hw) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < hw->ncaches; i++) {
    const hwt_cache *c = &hw->caches[i];
    json_array_append_new(a, json_pack("{s:i, s:s, s:I, s:i, s:i, s:i, s:s, s:b, s:s}", "level", c->level, "type",
                                       cache_type_name(c->type), "size_bytes", (json_int_t)c->size_bytes,
                                       "line_bytes", (int)c->line_bytes, "ways", (int)c->ways, "shared_by_cpus",
                                       (int)c->shared_by_cpus, "source", c->source, "plausible", c->plausible,
                                       "note", c->note));
  }
  return a;
}

static json_t *topology_json(const hwt_hw *hw) {
  json_t *kinds = json_array();
  for (size_t i = 0; kinds && i < hw->ncore_kinds; i++) {
    const hwt_core_kind *k = &hw->core_kinds[i];
    json_array_append_new(kinds, json_pack("{s:s, s:i, s:i}", "name", k->name, "efficiency", k->efficiency, "pus",
                                           (int)k->pus));
  }
  return json_pack("{s:i, s:i, s:i, s:i, s:i, s:o, s:s}", "packages", (int)hw->packages, "numa_nodes",
                   (int)hw->numa_nodes, "cores", (int)hw->cores, "pus", (int)hw->pus, "smt", (int)hw->smt,
                   "core_kinds", kinds, "source", hw->topology_source);
}

static json_t *usable_json(const hwt_hw *hw) {
  json_t *aff = json_array();
  for (size_t i = 0; aff && i < hw->naffinity; i++) json_array_append_new(aff, json_integer(hw->affinity[i]));
  return json_pack("{s:i, s:o, s:o, s:s}", "cpus", (int)hw->usable_cpus, "affinity", aff, "cgroup_quota_cpus",
                   num_or_null(hw->cgroup_quota_cpus >= 0, hw->cgroup_quota_cpus), "note", hw->usable_note);
}

static json_t *peak_json(const hwt_hw *hw, bool int8) {
  json_t *o = json_object();
  const hwt_peak *tab = int8 ? hw->peak_int8 : hw->peak_fp32;
  const char *k1 = int8 ? "gops_1t" : "gflops_1t", *ka = int8 ? "gops_all" : "gflops_all";
  for (int i = 0; o && i < hwt_isa_count; i++) {
    if (!tab[i].present) continue;
    json_object_set_new(o, hwt_isa_name((hwt_isa)i),
                        json_pack("{s:o, s:o}", k1, num_or_null(hw->measured, tab[i].gflops_1t), ka,
                                  num_or_null(hw->measured, tab[i].gflops_all)));
  }
  return o;
}

static json_t *bw_json(const hwt_hw *hw) {
  static const char *names[hwt_bw_count] = {"l1", "l2", "l3", "dram"};
  json_t *o = json_object();
  for (int i = 0; o && i < hwt_bw_count; i++) {
    const hwt_bw *b = &hw->bw[i];
    const bool m = hw->measured;
    json_object_set_new(
        o, names[i],
        json_pack("{s:o, s:{s:o, s:o}, s:{s:o, s:o}, s:s}", "buffer_bytes",
                  m ? json_integer((json_int_t)b->buffer_bytes) : json_null(), "read", "gbps_1t",
                  num_or_null(m, b->read_gbps_1t), "gbps_all", num_or_null(m, b->read_gbps_all), "triad", "gbps_1t",
                  num_or_null(m, b->triad_gbps_1t), "gbps_all", num_or_null(m, b->triad_gbps_all), "note", b->note));
  }
  return o;
}

json_t *hwt_hw_to_json(const hwt_hw *hw) {
  if (hw == NULL) return NULL;
  json_t *cpus = json_array();
  for (unsigned i = 0; cpus && hw->measured && i < hw->measure_threads; i++)
    json_array_append_new(cpus, json_integer(hw->measure_cpus[i]));
  json_t *meas = json_pack("{s:b, s:b, s:o, s:i, s:o, s:o}", "measured", hw->measured, "quick", hw->measure_quick,
                           "seconds", num_or_null(hw->measured, hw->measure_seconds), "threads",
                           (int)hw->measure_threads, "pinned_cpus", cpus, "load_average_1m",
                           num_or_null(hw->measured && hw->load_avg_1m >= 0, hw->load_avg_1m));
  return json_pack("{s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:s, s:o, s:o, s:{s:I, s:I}, s:o, s:{s:o, s:o}, s:o}",
                   "schema", HWT_HW_SCHEMA, "fingerprint", hw->fingerprint, "cpu", cpu_json(hw), "isa", isa_json(hw),
                   "isa_level", hwt_isa_name(hw->isa.level), "isa_cap", isa_cap_json(hw), "caches", caches_json(hw),
                   "caches_note", hw->cache_note, "topology", topology_json(hw), "usable", usable_json(hw), "memory",
                   "total_bytes", (json_int_t)hw->mem_total_bytes, "available_bytes",
                   (json_int_t)hw->mem_available_bytes, "measurement", meas, "peak", "fp32", peak_json(hw, false),
                   "int8", peak_json(hw, true), "bandwidth", bw_json(hw));
}
