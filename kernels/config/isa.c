/* SPDX-License-Identifier: Apache-2.0 */
/* ISA features of this process: cpu_features, completed by raw CPUID where cpu_features 0.7 is silent
 * (AVX-VNNI), gated by what the OS saves (XCR0), then capped by HWTUNE_ISA. Computed once. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hwtune/isa.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <cpuinfo_x86.h>
#elif defined(__aarch64__)
#include <cpuinfo_aarch64.h>
#endif

const hwt_feature_name hwt_feature_names[] = {
    {HWT_FEAT_SSE4_2, "sse4_2"},          {HWT_FEAT_AVX, "avx"},
    {HWT_FEAT_AVX2, "avx2"},              {HWT_FEAT_FMA, "fma"},
    {HWT_FEAT_F16C, "f16c"},              {HWT_FEAT_AVX512F, "avx512f"},
    {HWT_FEAT_AVX512BW, "avx512bw"},      {HWT_FEAT_AVX512VL, "avx512vl"},
    {HWT_FEAT_AVX512DQ, "avx512dq"},      {HWT_FEAT_AVX512_VNNI, "avx512_vnni"},
    {HWT_FEAT_AVX_VNNI, "avx_vnni"},      {HWT_FEAT_AVX512_BF16, "avx512_bf16"},
    {HWT_FEAT_AMX_INT8, "amx_int8"},      {HWT_FEAT_ASIMD, "asimd"},
    {HWT_FEAT_ASIMDDP, "asimddp"},        {HWT_FEAT_I8MM, "i8mm"},
    {HWT_FEAT_SVE, "sve"},                {HWT_FEAT_SVE2, "sve2"},
    {HWT_FEAT_BF16, "bf16"},              {0, NULL},
};

#define X86_AVX2_SET (HWT_FEAT_AVX | HWT_FEAT_AVX2 | HWT_FEAT_FMA | HWT_FEAT_F16C)
#define X86_AVX512_SET (X86_AVX2_SET | HWT_FEAT_AVX512F | HWT_FEAT_AVX512BW | HWT_FEAT_AVX512VL | HWT_FEAT_AVX512DQ)

/* Features each level requires (a cap keeps only these, plus SSE4.2, baseline for every x86 level), and the width
 * of its kernels' vectors. */
static const struct {
  const char *name;
  uint32_t required;
  unsigned vector_bits;
} isa_table[hwt_isa_count] = {
    [hwt_isa_scalar] = {"scalar", 0, 0},
    [hwt_isa_avx2] = {"avx2", X86_AVX2_SET, 256},
    [hwt_isa_avx512f] = {"avx512f", X86_AVX512_SET, 512},
    [hwt_isa_avxvnni] = {"avxvnni", X86_AVX2_SET | HWT_FEAT_AVX_VNNI, 256},
    [hwt_isa_avx512vnni] = {"avx512vnni", X86_AVX512_SET | HWT_FEAT_AVX512_VNNI, 512},
    [hwt_isa_neon] = {"neon", HWT_FEAT_ASIMD, 128},
    [hwt_isa_neondot] = {"neondot", HWT_FEAT_ASIMD | HWT_FEAT_ASIMDDP, 128},
    [hwt_isa_neoni8mm] = {"neoni8mm", HWT_FEAT_ASIMD | HWT_FEAT_ASIMDDP | HWT_FEAT_I8MM, 128},
};

/* Preference when choosing the best level: the widest int8 path wins ties, which also has the widest fp32. */
static const hwt_isa level_preference[] = {hwt_isa_avx512vnni, hwt_isa_avx512f, hwt_isa_avxvnni, hwt_isa_avx2,
                                           hwt_isa_neoni8mm,   hwt_isa_neondot, hwt_isa_neon,    hwt_isa_scalar};

const char *hwt_isa_name(hwt_isa isa) {
  if ((unsigned)isa >= hwt_isa_count) return NULL;
  return isa_table[isa].name;
}

bool hwt_isa_from_name(const char *name, hwt_isa *out) {
  if (name == NULL) return false;
  for (int i = 0; i < hwt_isa_count; i++) {
    if (strcmp(name, isa_table[i].name) == 0) {
      *out = (hwt_isa)i;
      return true;
    }
  }
  return false;
}

uint32_t hwt_isa_required_features(hwt_isa isa) {
  if ((unsigned)isa >= hwt_isa_count) return UINT32_MAX;
  return isa_table[isa].required;
}

unsigned hwt_isa_vector_bits(hwt_isa isa) {
  if ((unsigned)isa >= hwt_isa_count) return 0;
  return isa_table[isa].vector_bits;
}

void hwt_cpu_isa_compute(uint32_t features_hw, const char *cap_env, hwt_cpu_isa *out) {
  memset(out, 0, sizeof(*out));
  out->features_hw = features_hw;
  out->features = features_hw;
  if (cap_env != NULL && *cap_env != '\0') {
    hwt_isa cap;
    if (hwt_isa_from_name(cap_env, &cap)) {
      out->capped = true;
      out->cap = cap;
      uint32_t keep = isa_table[cap].required;
      if (cap == hwt_isa_scalar) keep = 0;
      out->features = features_hw & (keep | HWT_FEAT_SSE4_2);
    } else {
      out->cap_error = "HWTUNE_ISA names an unknown level (scalar avx2 avx512f avxvnni avx512vnni neon neondot "
                       "neoni8mm); ignored";
    }
  }
  out->level = hwt_isa_scalar;
  for (size_t i = 0; i < sizeof(level_preference) / sizeof(level_preference[0]); i++) {
    hwt_isa l = level_preference[i];
    if (l == hwt_isa_scalar) break;
    if ((out->features & isa_table[l].required) == isa_table[l].required) {
      out->level = l;
      break;
    }
  }
}

#if defined(__x86_64__) || defined(__i386__)
static uint64_t read_xcr0(void) {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((uint64_t)edx << 32) | eax;
}

static uint32_t detect_hw_features(void) {
  const X86Info info = GetX86Info();
  const X86Features *f = &info.features;
  uint32_t bits = 0;
  if (f->sse4_2) bits |= HWT_FEAT_SSE4_2;
  if (f->avx) bits |= HWT_FEAT_AVX;
  if (f->avx2) bits |= HWT_FEAT_AVX2;
  if (f->fma3) bits |= HWT_FEAT_FMA;
  if (f->f16c) bits |= HWT_FEAT_F16C;
  if (f->avx512f) bits |= HWT_FEAT_AVX512F;
  if (f->avx512bw) bits |= HWT_FEAT_AVX512BW;
  if (f->avx512vl) bits |= HWT_FEAT_AVX512VL;
  if (f->avx512dq) bits |= HWT_FEAT_AVX512DQ;
  if (f->avx512vnni) bits |= HWT_FEAT_AVX512_VNNI;
  if (f->avx512_bf16) bits |= HWT_FEAT_AVX512_BF16;
  if (f->amx_int8) bits |= HWT_FEAT_AMX_INT8;

  unsigned a, b, c, d;
  /* cpu_features 0.7 predates AVX-VNNI: CPUID.(EAX=7,ECX=1):EAX[4]. */
  if (__get_cpuid_max(0, NULL) >= 7) {
    __cpuid_count(7, 1, a, b, c, d);
    if (a & (1u << 4)) bits |= HWT_FEAT_AVX_VNNI;
  }
  /* A feature is usable only if the OS saves its registers: XCR0 bits 1-2 (SSE, AVX state) for AVX*,
   * plus 5-7 (opmask, ZMM_Hi256, Hi16_ZMM) for AVX-512. Without OSXSAVE none of them is usable. */
  uint64_t xcr0 = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 27))) xcr0 = read_xcr0();
  const uint32_t avx_bits = HWT_FEAT_AVX | HWT_FEAT_AVX2 | HWT_FEAT_FMA | HWT_FEAT_F16C | HWT_FEAT_AVX_VNNI;
  const uint32_t avx512_bits = HWT_FEAT_AVX512F | HWT_FEAT_AVX512BW | HWT_FEAT_AVX512VL | HWT_FEAT_AVX512DQ |
                               HWT_FEAT_AVX512_VNNI | HWT_FEAT_AVX512_BF16;
  if ((xcr0 & 0x6) != 0x6) bits &= ~(avx_bits | avx512_bits);
  if ((xcr0 & 0xe6) != 0xe6) bits &= ~avx512_bits;
  return bits;
}
#elif defined(__aarch64__)
static uint32_t detect_hw_features(void) {
  const Aarch64Info info = GetAarch64Info();
  const Aarch64Features *f = &info.features;
  uint32_t bits = 0;
  if (f->asimd) bits |= HWT_FEAT_ASIMD;
  if (f->asimddp) bits |= HWT_FEAT_ASIMDDP;
  if (f->i8mm) bits |= HWT_FEAT_I8MM;
  if (f->sve) bits |= HWT_FEAT_SVE;
  if (f->sve2) bits |= HWT_FEAT_SVE2;
  if (f->bf16) bits |= HWT_FEAT_BF16;
  return bits;
}
#else
static uint32_t detect_hw_features(void) { return 0; }
#endif

static hwt_cpu_isa g_isa;
static pthread_once_t g_isa_once = PTHREAD_ONCE_INIT;

static void init_isa(void) { hwt_cpu_isa_compute(detect_hw_features(), getenv("HWTUNE_ISA"), &g_isa); }

const hwt_cpu_isa *hwt_cpu_isa_get(void) {
  pthread_once(&g_isa_once, init_isa);
  return &g_isa;
}

bool hwt_isa_available(hwt_isa isa) {
  if ((unsigned)isa >= hwt_isa_count) return false;
  const hwt_cpu_isa *c = hwt_cpu_isa_get();
  if (isa == hwt_isa_scalar) return true;
  return (c->features & isa_table[isa].required) == isa_table[isa].required;
}
