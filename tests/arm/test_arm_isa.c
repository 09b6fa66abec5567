/* SPDX-License-Identifier: Apache-2.0 */
/* AArch64 ISA detection and dispatch: cpu_features' flags agree with the kernel's AT_HWCAP bits, the level and
 * the families' best ISA match the CPU model the CI stage selected, and an ISA the CPU lacks is refused, never run. */
#include <asm/hwcap.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "hwtune/isa.h"
#include "hwtune/kernels.h"

#define ARM_FEATURES (HWT_FEAT_ASIMD | HWT_FEAT_ASIMDDP | HWT_FEAT_I8MM | HWT_FEAT_SVE | HWT_FEAT_SVE2 | HWT_FEAT_BF16)

/* The features as the Linux kernel reports them, read without cpu_features. */
static uint32_t hwcap_features(void) {
  const unsigned long h = getauxval(AT_HWCAP), h2 = getauxval(AT_HWCAP2);
  uint32_t bits = 0;
  if (h & HWCAP_ASIMD) bits |= HWT_FEAT_ASIMD;
  if (h & HWCAP_ASIMDDP) bits |= HWT_FEAT_ASIMDDP;
  if (h & HWCAP_SVE) bits |= HWT_FEAT_SVE;
  if (h2 & HWCAP2_I8MM) bits |= HWT_FEAT_I8MM;
  if (h2 & HWCAP2_SVE2) bits |= HWT_FEAT_SVE2;
  if (h2 & HWCAP2_BF16) bits |= HWT_FEAT_BF16;
  return bits;
}

Test(arm_isa, features_match_the_kernel_hwcaps) {
  const hwt_cpu_isa *c = hwt_cpu_isa_get();
  const uint32_t want = hwcap_features();
  cr_assert_eq(c->features_hw & ARM_FEATURES, want, "cpu_features gives 0x%x, AT_HWCAP/AT_HWCAP2 give 0x%x",
               c->features_hw & ARM_FEATURES, want);
  cr_assert(c->features_hw & HWT_FEAT_ASIMD, "every AArch64 Linux CPU has Advanced SIMD");
  cr_assert_eq(c->features_hw & ~ARM_FEATURES, 0, "x86 feature bits set on AArch64: 0x%x", c->features_hw);
}

/* HWTUNE_TEST_EXPECT_ISA names the level the selected qemu CPU model must give (cortex-a53: neon, neoverse-n1:
 * neondot, max: neoni8mm); unset on real hardware, where this test is skipped. */
Test(arm_isa, level_matches_the_cpu_model) {
  const char *want_name = getenv("HWTUNE_TEST_EXPECT_ISA");
  if (want_name == NULL || *want_name == '\0')
    cr_skip_test("HWTUNE_TEST_EXPECT_ISA not set (ci/test.d/50-arm64.sh sets it per CPU model)");
  hwt_isa want;
  cr_assert(hwt_isa_from_name(want_name, &want), "HWTUNE_TEST_EXPECT_ISA=%s is not a level", want_name);
  const hwt_cpu_isa *c = hwt_cpu_isa_get();
  if (c->capped) cr_skip_test("HWTUNE_ISA caps the level to %s", hwt_isa_name(c->cap));
  cr_assert_eq(c->level, want, "level %s, the CPU model should give %s (QEMU_CPU=%s)", hwt_isa_name(c->level),
               want_name, getenv("QEMU_CPU") ? getenv("QEMU_CPU") : "(default)");
  cr_assert_eq(hwt_gemm_best_isa(hwt_gemm_qs8), want, "qs8 dispatches to %s",
               hwt_isa_name(hwt_gemm_best_isa(hwt_gemm_qs8)));
  cr_assert_eq(hwt_gemm_best_isa(hwt_gemm_f32), hwt_isa_neon, "f32 dispatches to %s",
               hwt_isa_name(hwt_gemm_best_isa(hwt_gemm_f32)));
}

Test(arm_isa, caps_keep_only_the_lower_levels) {
  const uint32_t all = HWT_FEAT_ASIMD | HWT_FEAT_ASIMDDP | HWT_FEAT_I8MM | HWT_FEAT_SVE | HWT_FEAT_BF16;
  static const struct {
    const char *cap;
    hwt_isa level;
    uint32_t features;
  } cases[] = {
      {NULL, hwt_isa_neoni8mm, all},
      {"neoni8mm", hwt_isa_neoni8mm, HWT_FEAT_ASIMD | HWT_FEAT_ASIMDDP | HWT_FEAT_I8MM},
      {"neondot", hwt_isa_neondot, HWT_FEAT_ASIMD | HWT_FEAT_ASIMDDP},
      {"neon", hwt_isa_neon, HWT_FEAT_ASIMD},
      {"scalar", hwt_isa_scalar, 0},
      {"avx2", hwt_isa_scalar, 0}, /* an x86 cap on an ARM CPU leaves nothing */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    hwt_cpu_isa c;
    hwt_cpu_isa_compute(all, cases[i].cap, &c);
    cr_assert_eq(c.level, cases[i].level, "cap %s: level %s", cases[i].cap ? cases[i].cap : "(none)",
                 hwt_isa_name(c.level));
    cr_assert_eq(c.features, cases[i].features, "cap %s: features 0x%x", cases[i].cap ? cases[i].cap : "(none)",
                 c.features);
    cr_assert_null(c.cap_error);
  }
  /* A CPU with dot product but no i8mm (neoverse-n1) stops at neondot without a cap. */
  hwt_cpu_isa c;
  hwt_cpu_isa_compute(HWT_FEAT_ASIMD | HWT_FEAT_ASIMDDP, NULL, &c);
  cr_assert_eq(c.level, hwt_isa_neondot);
  hwt_cpu_isa_compute(all, "neonfoo", &c);
  cr_assert_not_null(c.cap_error);
  cr_assert_eq(c.level, hwt_isa_neoni8mm, "an unknown cap is ignored");
}

/* Creating a plan for an ISA the CPU lacks is refused (hwt_status_unsupported): nothing can reach its kernels. */
Test(arm_isa, missing_isa_is_refused_not_run) {
  static const hwt_isa levels[] = {hwt_isa_neon, hwt_isa_neondot, hwt_isa_neoni8mm};
  const int8_t w8[4 * 16] = {1, -2, 3};
  const float wf[4 * 16] = {1.0f, -2.0f, 3.0f};
  const hwt_qs8_params p = {.input_zero_point = 0, .input_scale = 1.0f, .kernel_scale = 1.0f,
                            .output_zero_point = 0, .output_scale = 1.0f, .output_min = -128, .output_max = 127};
  for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
    const hwt_isa isa = levels[i];
    hwt_gemm_qs8_plan *q = NULL;
    const hwt_status sq = hwt_gemm_qs8_create(4, 16, w8, NULL, &p, isa, NULL, &q);
    if (hwt_isa_available(isa)) {
      cr_assert_eq(sq, hwt_status_ok, "qs8 %s: %s", hwt_isa_name(isa), hwt_status_string(sq));
      const int8_t a[16] = {1, 1, 1};
      int8_t c[4] = {0};
      hwt_gemm_qs8_run(q, 1, a, 16, c, 4, NULL);
      /* channel 0: 1*1 + 1*(-2) + 1*3 = 2 at scale 1; channel 1 has zero weights */
      cr_assert(c[0] == 2 && c[1] == 0, "qs8 %s: got %d %d, want 2 0", hwt_isa_name(isa), c[0], c[1]);
    } else {
      cr_assert_eq(sq, hwt_status_unsupported, "qs8 %s on a CPU without it: %s", hwt_isa_name(isa),
                   hwt_status_string(sq));
      cr_assert_null(q);
    }
    hwt_gemm_qs8_destroy(q);
    if (isa != hwt_isa_neon) continue; /* f32 has NEON kernels only */
    hwt_gemm_f32_plan *f = NULL;
    const hwt_status sf = hwt_gemm_f32_create(4, 16, wf, NULL, -INFINITY, INFINITY, isa, NULL, &f);
    cr_assert_eq(sf, hwt_status_ok, "f32 neon: %s", hwt_status_string(sf));
    hwt_gemm_f32_destroy(f);
  }
}
