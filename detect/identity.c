/* SPDX-License-Identifier: Apache-2.0 */
/* CPU identity: vendor, brand, family/model/stepping, microarchitecture and hypervisor, from cpu_features plus
 * raw CPUID where cpu_features 0.7 is silent (hypervisor bit, CPUs newer than its tables). */
#include <stdio.h>
#include <string.h>

#include "detect_internal.h"
#include "hwtune/isa.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <cpuinfo_x86.h>
#elif defined(__aarch64__)
#include <cpuinfo_aarch64.h>
#endif

/* Family/model ranges cpu_features 0.7 does not know. Sources: AMD's and Intel's published family/model lists
 * (AMD PPRs for families 19h/1Ah; Intel SDM table "CPUID Signature Values of DisplayFamily_DisplayModel"). */
static const struct {
  const char *vendor;
  int family, model_lo, model_hi;
  const char *name;
} uarch_table[] = {
    /* vendor          fam   model lo..hi   name                      */
    {"AuthenticAMD",  0x19, 0x10, 0x1f, "AMD_ZEN4"},   /* Genoa, Genoa-X, Storm Peak */
    {"AuthenticAMD",  0x19, 0x60, 0x6f, "AMD_ZEN4"},   /* Raphael */
    {"AuthenticAMD",  0x19, 0x70, 0x7f, "AMD_ZEN4"},   /* Phoenix, Hawk Point */
    {"AuthenticAMD",  0x19, 0xa0, 0xaf, "AMD_ZEN4"},   /* Bergamo, Siena (Zen 4c) */
    {"AuthenticAMD",  0x1a, 0x00, 0x1f, "AMD_ZEN5"},   /* Turin, Turin Dense */
    {"AuthenticAMD",  0x1a, 0x20, 0x2f, "AMD_ZEN5"},   /* Strix Point */
    {"AuthenticAMD",  0x1a, 0x40, 0x4f, "AMD_ZEN5"},   /* Granite Ridge */
    {"AuthenticAMD",  0x1a, 0x60, 0x7f, "AMD_ZEN5"},   /* Krackan Point, Strix Halo */
    {"GenuineIntel",  0x06, 0xcf, 0xcf, "INTEL_EMR"},  /* Emerald Rapids */
    {"GenuineIntel",  0x06, 0xad, 0xae, "INTEL_GNR"},  /* Granite Rapids */
    {"GenuineIntel",  0x06, 0xaf, 0xaf, "INTEL_SRF"},  /* Sierra Forest */
    {"GenuineIntel",  0x06, 0xb7, 0xb7, "INTEL_RPL"},  /* Raptor Lake */
    {"GenuineIntel",  0x06, 0xba, 0xba, "INTEL_RPL"},
    {"GenuineIntel",  0x06, 0xbf, 0xbf, "INTEL_RPL"},
    {"GenuineIntel",  0x06, 0xaa, 0xac, "INTEL_MTL"},  /* Meteor Lake */
    {"GenuineIntel",  0x06, 0xbd, 0xbd, "INTEL_LNL"},  /* Lunar Lake */
    {"GenuineIntel",  0x06, 0xc5, 0xc6, "INTEL_ARL"},  /* Arrow Lake */
};

const char *hwt_uarch_from_table(const char *vendor, int family, int model) {
  if (vendor == NULL) return NULL;
  for (size_t i = 0; i < sizeof(uarch_table) / sizeof(uarch_table[0]); i++) {
    if (strcmp(vendor, uarch_table[i].vendor) == 0 && family == uarch_table[i].family &&
        model >= uarch_table[i].model_lo && model <= uarch_table[i].model_hi)
      return uarch_table[i].name;
  }
  return NULL;
}

#if defined(__x86_64__) || defined(__i386__)
static void copy_str(char *dst, size_t len, const char *src) {
  snprintf(dst, len, "%s", src ? src : "");
  /* trim trailing blanks (brand strings are space padded) */
  size_t n = strlen(dst);
  while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\n')) dst[--n] = '\0';
}

void hwt_detect_identity(hwt_hw *hw) {
  const X86Info info = GetX86Info();
  snprintf(hw->arch, sizeof(hw->arch), "%s", "x86_64");
  copy_str(hw->vendor, sizeof(hw->vendor), info.vendor);
  const char *b = info.brand_string;
  while (*b == ' ') b++;
  copy_str(hw->brand, sizeof(hw->brand), b);
  hw->family = info.family;
  hw->model = info.model;
  hw->stepping = info.stepping;

  const X86Microarchitecture ua = GetX86Microarchitecture(&info);
  const char *table = hwt_uarch_from_table(hw->vendor, hw->family, hw->model);
  if (ua != X86_UNKNOWN) {
    copy_str(hw->uarch, sizeof(hw->uarch), GetX86MicroarchitectureName(ua));
    snprintf(hw->uarch_source, sizeof(hw->uarch_source), "%s", "cpu_features");
  } else if (table != NULL) {
    copy_str(hw->uarch, sizeof(hw->uarch), table);
    snprintf(hw->uarch_source, sizeof(hw->uarch_source), "%s", "hwtune-table");
  } else {
    snprintf(hw->uarch, sizeof(hw->uarch), "%s", "unknown");
    snprintf(hw->uarch_source, sizeof(hw->uarch_source), "%s", "unknown");
  }

  /* CPUID.1:ECX[31] is reserved for hypervisors to set; leaf 0x40000000 then carries their signature. */
  unsigned a, bx, c, d;
  hw->hypervisor = false;
  hw->hypervisor_vendor[0] = '\0';
  if (__get_cpuid(1, &a, &bx, &c, &d) && (c & (1u << 31))) {
    hw->hypervisor = true;
    __cpuid(0x40000000, a, bx, c, d);
    char sig[13];
    memcpy(sig, &bx, 4);
    memcpy(sig + 4, &c, 4);
    memcpy(sig + 8, &d, 4);
    sig[12] = '\0';
    for (int i = 0; i < 12; i++)
      if ((unsigned char)sig[i] < 0x20 || (unsigned char)sig[i] > 0x7e) sig[i] = '\0';
    copy_str(hw->hypervisor_vendor, sizeof(hw->hypervisor_vendor), sig);
  }
}
#elif defined(__aarch64__)
void hwt_detect_identity(hwt_hw *hw) {
  const Aarch64Info info = GetAarch64Info();
  snprintf(hw->arch, sizeof(hw->arch), "%s", "aarch64");
  /* MIDR fields: implementer as vendor, variant/part/revision as family/model/stepping. */
  static const struct {
    int id;
    const char *name;
  } implementers[] = {{0x41, "ARM"}, {0x42, "Broadcom"}, {0x43, "Cavium"}, {0x46, "Fujitsu"}, {0x48, "HiSilicon"},
                      {0x4e, "NVIDIA"}, {0x50, "APM"}, {0x51, "Qualcomm"}, {0x61, "Apple"}, {0xc0, "Ampere"}};
  snprintf(hw->vendor, sizeof(hw->vendor), "0x%02x", info.implementer);
  for (size_t i = 0; i < sizeof(implementers) / sizeof(implementers[0]); i++)
    if (implementers[i].id == info.implementer) snprintf(hw->vendor, sizeof(hw->vendor), "%s", implementers[i].name);
  hw->family = info.variant;
  hw->model = info.part;
  hw->stepping = info.revision;
  static const struct {
    int implementer, part;
    const char *name;
  } parts[] = {{0x41, 0xd03, "ARM_CORTEX_A53"}, {0x41, 0xd08, "ARM_CORTEX_A72"}, {0x41, 0xd0b, "ARM_CORTEX_A76"},
               {0x41, 0xd0c, "ARM_NEOVERSE_N1"}, {0x41, 0xd40, "ARM_NEOVERSE_V1"}, {0x41, 0xd49, "ARM_NEOVERSE_N2"},
               {0x41, 0xd4f, "ARM_NEOVERSE_V2"}, {0xc0, 0xac3, "AMPERE_ONE"}};
  snprintf(hw->uarch, sizeof(hw->uarch), "%s", "unknown");
  snprintf(hw->uarch_source, sizeof(hw->uarch_source), "%s", "unknown");
  for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
    if (parts[i].implementer == info.implementer && parts[i].part == info.part) {
      snprintf(hw->uarch, sizeof(hw->uarch), "%s", parts[i].name);
      snprintf(hw->uarch_source, sizeof(hw->uarch_source), "%s", "hwtune-table");
    }
  }
  snprintf(hw->brand, sizeof(hw->brand), "%s implementer 0x%02x part 0x%03x", hw->vendor, info.implementer,
           info.part);
  hw->hypervisor = false; /* no architectural bit on AArch64 */
  hw->hypervisor_vendor[0] = '\0';
}
#else
void hwt_detect_identity(hwt_hw *hw) {
  snprintf(hw->arch, sizeof(hw->arch), "%s", "unknown");
  snprintf(hw->vendor, sizeof(hw->vendor), "%s", "unknown");
  snprintf(hw->uarch, sizeof(hw->uarch), "%s", "unknown");
  snprintf(hw->uarch_source, sizeof(hw->uarch_source), "%s", "unknown");
}
#endif
