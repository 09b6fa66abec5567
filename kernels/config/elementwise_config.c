/* SPDX-License-Identifier: Apache-2.0 */
/* Which int8 elementwise kernels (kernels/elementwise/) run at each ISA level; the best level is chosen once,
 * after the HWTUNE_ISA cap. */
#include <pthread.h>
#include <stddef.h>

#include "elementwise/q8_vec_ukernel.h"
#include "hwtune/elementwise.h"

#define OPS(level, token) {level, hwt_q8_quantize__##token, hwt_q8_dequantize__##token, hwt_q8_add__##token}

static const hwt_q8_vec_ops ops_scalar = OPS(hwt_isa_scalar, scalar);
#if defined(__x86_64__)
static const hwt_q8_vec_ops ops_avx2 = OPS(hwt_isa_avx2, avx2);
static const hwt_q8_vec_ops ops_avx512f = OPS(hwt_isa_avx512f, avx512f);
#elif defined(__aarch64__)
static const hwt_q8_vec_ops ops_neon = OPS(hwt_isa_neon, neon);
#endif

const hwt_q8_vec_ops *hwt_q8_vec_for(hwt_isa isa) {
  if (!hwt_isa_available(isa)) return NULL;
  switch (isa) {
    case hwt_isa_scalar: return &ops_scalar;
#if defined(__x86_64__)
    case hwt_isa_avx2:
    case hwt_isa_avxvnni: return &ops_avx2;
    case hwt_isa_avx512f:
    case hwt_isa_avx512vnni: return &ops_avx512f;
#elif defined(__aarch64__)
    case hwt_isa_neon:
    case hwt_isa_neondot:
    case hwt_isa_neoni8mm: return &ops_neon;
#endif
    default: return NULL;
  }
}

static const hwt_q8_vec_ops *best;
static pthread_once_t best_once = PTHREAD_ONCE_INIT;

static void init_best(void) {
  const hwt_q8_vec_ops *o = hwt_q8_vec_for(hwt_cpu_isa_get()->level);
  best = o != NULL ? o : &ops_scalar;
}

const hwt_q8_vec_ops *hwt_q8_vec_best(void) {
  pthread_once(&best_once, init_best);
  return best;
}
