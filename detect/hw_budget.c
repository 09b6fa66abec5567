/* SPDX-License-Identifier: Apache-2.0 */
/* Cache budgets and peak look-ups over a filled hwt_hw, and the hand-over of budgets to the kernels. */
#include "hwtune/hw.h"
#include "hwtune/kernels.h"

uint64_t hwt_hw_cache_budget(const hwt_hw *hw, int level, const char **source) {
  static const uint64_t fallback[4] = {0, 32u << 10, 512u << 10, 2u << 20};
  if (level < 1 || level > 3) level = 3;
  for (size_t i = 0; hw != NULL && i < hw->ncaches; i++) {
    const hwt_cache *c = &hw->caches[i];
    if (c->level != level || c->type == hwt_cache_instruction || !c->plausible || c->size_bytes == 0) continue;
    uint64_t bytes = c->size_bytes;
    /* A cache shared by several cores (L3; L2 of Intel E-core clusters and Apple clusters) is budgeted as this
     * core's share, since every core runs its own blocks at once. L1 is per core everywhere. */
    if (level >= 2 && c->shared_by_cpus > 1) {
      unsigned smt = hw->smt ? hw->smt : 1;
      unsigned cores_sharing = c->shared_by_cpus / smt ? c->shared_by_cpus / smt : 1;
      bytes /= cores_sharing;
    }
    if (source) *source = c->source;
    return bytes;
  }
  if (source) *source = "default";
  return fallback[level];
}

void hwt_hw_set_kernel_budget(const hwt_hw *hw) {
  hwt_cache_budget b;
  b.l1d = hwt_hw_cache_budget(hw, 1, NULL);
  b.l2 = hwt_hw_cache_budget(hw, 2, NULL);
  b.l3_share = hwt_hw_cache_budget(hw, 3, NULL);
  hwt_kernels_set_cache_budget(&b);
}

double hwt_hw_peak(const hwt_hw *hw, bool int8, hwt_isa isa, unsigned threads) {
  if (hw == NULL || (unsigned)isa >= hwt_isa_count) return 0.0;
  const hwt_peak *p = int8 ? &hw->peak_int8[isa] : &hw->peak_fp32[isa];
  if (threads <= 1) return p->gflops_1t;
  if (p->gflops_all > 0 && hw->usable_cpus > 0)
    return p->gflops_all * (double)threads / (double)hw->usable_cpus;
  return p->gflops_1t * threads;
}
