/* SPDX-License-Identifier: Apache-2.0 */
/* Instruction-set levels and CPU features: the one closed list kernel names, CMake flags and dispatch use.
 *
 * A feature counts only when the CPU reports it AND the OS saves its register state (XCR0 for AVX and
 * AVX-512). HWTUNE_ISA=<level> caps what hwtune will use to the features of that level, so lower paths can
 * be exercised on a high-end machine. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Kernel ISA levels. The token (hwt_isa_name) is the suffix of kernel file names: gemm_f32_6x16_avx2.c. */
typedef enum hwt_isa {
  hwt_isa_scalar = 0,
  hwt_isa_avx2,        /* AVX2 + FMA3 + F16C */
  hwt_isa_avx512f,     /* avx2 + AVX-512 F/BW/VL/DQ */
  hwt_isa_avxvnni,     /* avx2 + AVX-VNNI (256-bit vpdpbusd, VEX encoded) */
  hwt_isa_avx512vnni,  /* avx512f + AVX512-VNNI */
  hwt_isa_neon,        /* AArch64 Advanced SIMD */
  hwt_isa_neondot,     /* neon + dot product (vdotq_s32) */
  hwt_isa_neoni8mm,    /* neondot + int8 matrix multiply (vmmlaq_s32) */
  hwt_isa_count
} hwt_isa;

/* Feature bits (hwt_cpu.features). Names as cpu_features spells them, lower case. */
enum {
  HWT_FEAT_SSE4_2      = 1u << 0,
  HWT_FEAT_AVX         = 1u << 1,
  HWT_FEAT_AVX2        = 1u << 2,
  HWT_FEAT_FMA         = 1u << 3,
  HWT_FEAT_F16C        = 1u << 4,
  HWT_FEAT_AVX512F     = 1u << 5,
  HWT_FEAT_AVX512BW    = 1u << 6,
  HWT_FEAT_AVX512VL    = 1u << 7,
  HWT_FEAT_AVX512DQ    = 1u << 8,
  HWT_FEAT_AVX512_VNNI = 1u << 9,
  HWT_FEAT_AVX_VNNI    = 1u << 10,
  HWT_FEAT_AVX512_BF16 = 1u << 11,
  HWT_FEAT_AMX_INT8    = 1u << 12,
  HWT_FEAT_ASIMD       = 1u << 16,
  HWT_FEAT_ASIMDDP     = 1u << 17,
  HWT_FEAT_I8MM        = 1u << 18,
  HWT_FEAT_SVE         = 1u << 19,
  HWT_FEAT_SVE2        = 1u << 20,
  HWT_FEAT_BF16        = 1u << 21,
};

typedef struct hwt_feature_name {
  uint32_t bit;
  const char *name;  /* "avx512_vnni", "asimddp", ... */
} hwt_feature_name;

/* The table of all feature bits and names, terminated by {0, NULL}. */
extern const hwt_feature_name hwt_feature_names[];

/* "scalar", "avx2", ... ; NULL outside the enum. */
const char *hwt_isa_name(hwt_isa isa);
/* Parses a level token; returns false for an unknown name. */
bool hwt_isa_from_name(const char *name, hwt_isa *out);
/* Feature bits a level requires. */
uint32_t hwt_isa_required_features(hwt_isa isa);
/* The width of a level's kernel vectors in bits (scalar 0; 0 outside the enum). */
unsigned hwt_isa_vector_bits(hwt_isa isa);

/* What this process may use, computed once (thread-safe) from cpu_features + XCR0 + HWTUNE_ISA. */
typedef struct hwt_cpu_isa {
  uint32_t features_hw;  /* what the CPU and OS support */
  uint32_t features;     /* after the HWTUNE_ISA cap */
  hwt_isa level;         /* best level whose required features are all in `features` */
  bool capped;           /* HWTUNE_ISA was set and valid */
  hwt_isa cap;           /* the cap when capped */
  const char *cap_error; /* non-NULL when HWTUNE_ISA was set to an unknown token (the cap is then ignored) */
} hwt_cpu_isa;

const hwt_cpu_isa *hwt_cpu_isa_get(void);
/* Pure: the same computation with explicit inputs (for tests). cap_env may be NULL. */
void hwt_cpu_isa_compute(uint32_t features_hw, const char *cap_env, hwt_cpu_isa *out);
/* True when `isa` can run in this process (its features are in hwt_cpu_isa_get()->features). */
bool hwt_isa_available(hwt_isa isa);

#ifdef __cplusplus
}
#endif
