/* SPDX-License-Identifier: Apache-2.0 */
/* int8 peak probe, AArch64 Advanced SIMD without dot product: SMULL + SMLAL (8 x s8*s8 -> s16 each) + SADALP
 * (-> s32), the sequence pre-dot-product int8 GEMM kernels use, over a 2 x 4 tile of inputs into 8 accumulators. */
#include <arm_neon.h>

#include "probes.h"

#define CHAINS 8

static double run(uint64_t iters) {
  int8x8_t a0 = vdup_n_s8(3), a1 = vdup_n_s8(5);
  int8x8_t b0 = vdup_n_s8(1), b1 = vdup_n_s8(-2), b2 = vdup_n_s8(3), b3 = vdup_n_s8(-4);
  /* hide the values, or the compiler turns a multiply by 1 into a widening move */
  __asm__ volatile("" : "+w"(b0), "+w"(b1), "+w"(b2), "+w"(b3));
  int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  for (uint64_t it = 0; it < iters; it++) {
    /* Empty asm: the compiler must assume a0/a1 changed, so the products cannot be hoisted out of the loop. */
    __asm__ volatile("" : "+w"(a0), "+w"(a1));
#define STEP(i, o, j, p) c##i##j = vpadalq_s16(c##i##j, vmlal_s8(vmull_s8(a##i, b##j), a##o, b##p));
    /* chain (i, j): a_i * b_j + a_(1-i) * b_(j+1 mod 4): eight distinct products, nothing to share */
    STEP(0, 1, 0, 1) STEP(0, 1, 1, 2) STEP(0, 1, 2, 3) STEP(0, 1, 3, 0)
    STEP(1, 0, 0, 1) STEP(1, 0, 1, 2) STEP(1, 0, 2, 3) STEP(1, 0, 3, 0)
  }
  int32x4_t s = vaddq_s32(vaddq_s32(vaddq_s32(c00, c01), vaddq_s32(c02, c03)),
                          vaddq_s32(vaddq_s32(c10, c11), vaddq_s32(c12, c13)));
  return (double)vaddvq_s32(s);
}

/* per chain step: 16 s8 x s8 multiplies + 16 additions (8 in SMLAL, 8 in SADALP) = 32 OP */
const hwt_peak_probe hwt_peak_int8_neon = {hwt_isa_neon, true, CHAINS * 32, CHAINS, run};
