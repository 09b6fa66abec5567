/* SPDX-License-Identifier: Apache-2.0 */
/* hwloc side of detection: packages, NUMA nodes, cores, PUs, SMT, CPU kinds, and the caches above the first
 * usable PU. The topology comes from this system, a synthetic description or an XML file (the test seam). */
#include <errno.h>
#include <hwloc.h>
#include <stdio.h>
#include <string.h>

#include "detect_internal.h"
#include "hwt_common.h"

static unsigned count_type(hwloc_topology_t t, hwloc_obj_type_t type) {
  int n = hwloc_get_nbobjs_by_type(t, type);
  return n > 0 ? (unsigned)n : 0;
}

static void fill_core_kinds(hwloc_topology_t t, hwt_hw *hw) {
  hw->ncore_kinds = 0;
  int nr = hwloc_cpukinds_get_nr(t, 0);
  if (nr <= 0) {
    /* hwloc reports no kinds on homogeneous machines it knows nothing about: one default kind. */
    snprintf(hw->core_kinds[0].name, sizeof(hw->core_kinds[0].name), "%s", "default");
    hw->core_kinds[0].efficiency = -1;
    hw->core_kinds[0].pus = hw->pus;
    hw->ncore_kinds = 1;
    return;
  }
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  for (int k = 0; k < nr && hw->ncore_kinds < HWT_MAX_CORE_KINDS; k++) {
    int eff = -1;
    unsigned ninfos = 0;
    struct hwloc_info_s *infos = NULL;
    if (hwloc_cpukinds_get_info(t, (unsigned)k, set, &eff, &ninfos, &infos, 0) != 0) continue;
    hwt_core_kind *ck = &hw->core_kinds[hw->ncore_kinds++];
    snprintf(ck->name, sizeof(ck->name), nr == 1 ? "default" : "kind%d", k);
    for (unsigned i = 0; i < ninfos; i++) {
      if (strcmp(infos[i].name, "CoreType") == 0) snprintf(ck->name, sizeof(ck->name), "%s", infos[i].value);
    }
    ck->efficiency = eff;
    int w = hwloc_bitmap_weight(set);
    ck->pus = w > 0 ? (unsigned)w : 0;
  }
  hwloc_bitmap_free(set);
}

static hwloc_obj_t first_pu(hwloc_topology_t t, const hwt_hw *hw) {
  /* The caches of the CPU this process runs on: the first PU of the affinity mask when the topology is this
   * system's; the first PU otherwise. */
  if (hw->naffinity > 0) {
    hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(t, (unsigned)hw->affinity[0]);
    if (pu != NULL) return pu;
  }
  return hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, 0);
}

int hwt_detect_topology(const hwt_detect_inputs *in, hwt_hw *hw, hwt_cache *out, size_t max, char *err,
                        size_t errlen) {
  hwloc_topology_t t;
  if (hwloc_topology_init(&t) != 0) {
    hwt_errf(err, errlen, "hwloc_topology_init failed: %s", strerror(errno));
    return -1;
  }
  const char *src = "hwloc";
  /* hwloc drops instruction caches unless asked (lstopo asks); we report L1i too. */
  hwloc_topology_set_icache_types_filter(t, HWLOC_TYPE_FILTER_KEEP_ALL);
  if (in != NULL && in->hwloc_synthetic != NULL) {
    src = "hwloc-synthetic";
    if (hwloc_topology_set_synthetic(t, in->hwloc_synthetic) != 0) {
      hwt_errf(err, errlen, "hwloc rejects the synthetic topology '%s'", in->hwloc_synthetic);
      hwloc_topology_destroy(t);
      return -1;
    }
  } else if (in != NULL && in->hwloc_xml != NULL) {
    src = "hwloc-xml";
    if (hwloc_topology_set_xml(t, in->hwloc_xml) != 0) {
      hwt_errf(err, errlen, "hwloc cannot read the XML topology '%s': %s", in->hwloc_xml, strerror(errno));
      hwloc_topology_destroy(t);
      return -1;
    }
  }
  if (hwloc_topology_load(t) != 0) {
    hwt_errf(err, errlen, "hwloc cannot load the topology (%s): %s", src, strerror(errno));
    hwloc_topology_destroy(t);
    return -1;
  }
  snprintf(hw->topology_source, sizeof(hw->topology_source), "%s", src);

  hw->packages = count_type(t, HWLOC_OBJ_PACKAGE);
  hw->numa_nodes = count_type(t, HWLOC_OBJ_NUMANODE);
  hw->cores = count_type(t, HWLOC_OBJ_CORE);
  hw->pus = count_type(t, HWLOC_OBJ_PU);
  if (hw->packages == 0) hw->packages = 1;
  if (hw->numa_nodes == 0) hw->numa_nodes = 1;
  if (hw->cores == 0) hw->cores = hw->pus; /* some ARM boards expose PUs only */
  hw->smt = (hw->cores > 0 && hw->pus >= hw->cores) ? hw->pus / hw->cores : 1;
  if (hw->smt == 0) hw->smt = 1;
  fill_core_kinds(t, hw);

  int n = 0;
  for (hwloc_obj_t o = first_pu(t, hw); o != NULL && (size_t)n < max; o = o->parent) {
    if (!hwloc_obj_type_is_cache(o->type) || o->attr == NULL) continue;
    hwt_cache *c = &out[n++];
    memset(c, 0, sizeof(*c));
    c->level = (int)o->attr->cache.depth;
    switch (o->attr->cache.type) {
      case HWLOC_OBJ_CACHE_DATA: c->type = hwt_cache_data; break;
      case HWLOC_OBJ_CACHE_INSTRUCTION: c->type = hwt_cache_instruction; break;
      default: c->type = hwt_cache_unified; break;
    }
    c->size_bytes = o->attr->cache.size;
    c->line_bytes = o->attr->cache.linesize;
    c->ways = o->attr->cache.associativity > 0 ? (unsigned)o->attr->cache.associativity : 0;
    int w = o->cpuset ? hwloc_bitmap_weight(o->cpuset) : 0;
    c->shared_by_cpus = w > 0 ? (unsigned)w : 0;
    snprintf(c->source, sizeof(c->source), "%s", "hwloc");
    c->plausible = true;
  }
  hwloc_topology_destroy(t);
  return n;
}
