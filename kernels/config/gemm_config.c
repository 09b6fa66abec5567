/* SPDX-License-Identifier: Apache-2.0 */
/* Shared GEMM configuration: the cache budget, the analytical blocking model and ISA choice per family.
 * The families' own .inc lists (via family.h) say which tiles exist. */
#include <pthread.h>

#include "driver/family.h"
#include "hwtune/kernels.h"

static pthread_mutex_t g_budget_lock = PTHREAD_MUTEX_INITIALIZER;
/* Conservative until detect supplies plausible figures: 32 KiB L1d, 512 KiB L2, 2 MiB of L3 per core. */
static hwt_cache_budget g_budget = {32u << 10, 512u << 10, 2u << 20};

void hwt_kernels_set_cache_budget(const hwt_cache_budget *budget) {
  if (budget == NULL) return;
  pthread_mutex_lock(&g_budget_lock);
  if (budget->l1d) g_budget.l1d = budget->l1d;
  if (budget->l2) g_budget.l2 = budget->l2;
  if (budget->l3_share) g_budget.l3_share = budget->l3_share;
  pthread_mutex_unlock(&g_budget_lock);
}

hwt_cache_budget hwt_kernels_cache_budget(void) {
  pthread_mutex_lock(&g_budget_lock);
  hwt_cache_budget b = g_budget;
  pthread_mutex_unlock(&g_budget_lock);
  return b;
}

static bool family_tile(hwt_gemm_family family, hwt_isa isa, size_t *mr, size_t *nr, size_t *kr) {
  size_t m = 0, n = 0, k = 0;
  bool ok = false;
  switch (family) {
    case hwt_gemm_f32: ok = hwt_gemm_f32_family_tile(isa, &m, &n, &k); break;
    case hwt_gemm_qs8: ok = hwt_gemm_qs8_family_tile(isa, &m, &n, &k); break;
    default: break;
  }
  if (mr) *mr = m;
  if (nr) *nr = n;
  if (kr) *kr = k ? k : 1;
  return ok;
}

bool hwt_gemm_tile(hwt_gemm_family family, hwt_isa isa, size_t *mr, size_t *nr) {
  return family_tile(family, isa, mr, nr, NULL);
}

bool hwt_gemm_isa_supported(hwt_gemm_family family, hwt_isa isa) {
  return family_tile(family, isa, NULL, NULL, NULL) && hwt_isa_available(isa);
}

hwt_isa hwt_gemm_best_isa(hwt_gemm_family family) {
  /* Highest level first; for f32 the VNNI levels add nothing, so they have no f32 kernels and are skipped. */
  static const hwt_isa order[] = {hwt_isa_avx512vnni, hwt_isa_avx512f, hwt_isa_avxvnni, hwt_isa_avx2,
                                  hwt_isa_neoni8mm,   hwt_isa_neondot, hwt_isa_neon};
  for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
    if (hwt_gemm_isa_supported(family, order[i])) return order[i];
  return hwt_isa_scalar;
}

static size_t round_down_multiple(size_t v, size_t m, size_t floor_value) {
  if (m == 0) return v;
  v -= v % m;
  return v < floor_value ? floor_value : v;
}

hwt_gemm_blocking hwt_gemm_default_blocking(hwt_gemm_family family, hwt_isa isa, const hwt_cache_budget *budget) {
  hwt_cache_budget b = budget ? *budget : hwt_kernels_cache_budget();
  size_t mr = 1, nr = 1, kr = 1;
  if (!family_tile(family, isa, &mr, &nr, &kr)) family_tile(family, hwt_isa_scalar, &mr, &nr, &kr);
  const size_t elem = family == hwt_gemm_f32 ? sizeof(float) : 1;
  /* KC: (NR + MR) * KC elements in half of L1d. */
  size_t kc = (size_t)(b.l1d / 2) / ((nr + mr) * elem);
  kc = round_down_multiple(kc, kr * 8 > 16 ? 16 : kr * 8, kr * 16);
  /* MC: MC x KC of A in half of L2. */
  size_t mc = (size_t)(b.l2 / 2) / (kc * elem);
  mc = round_down_multiple(mc, mr, mr);
  /* NC: KC x NC of W in the L3 share (half, leaving room for A and C). */
  size_t nc = (size_t)(b.l3_share / 2) / (kc * elem);
  nc = round_down_multiple(nc, nr, nr);
  hwt_gemm_blocking blk = {mc, kc, nc};
  return blk;
}
