/* SPDX-License-Identifier: Apache-2.0 */
/* The hardware description `hwtune detect` produces: identity, ISA, caches, topology, usable CPUs, memory,
 * and measured compute and bandwidth ceilings. Every figure says where it came from.
 *
 * Detection takes all its inputs through hwt_detect_inputs, so tests can feed synthetic hwloc topologies,
 * XML files, fake cgroup/sysfs folders and fixed ISA masks. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hwtune/isa.h"
#include "hwtune/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HWT_HW_SCHEMA "hwtune.hw/1"
#define HWT_MAX_CACHES 16
#define HWT_MAX_CPUS 1024
#define HWT_MAX_CORE_KINDS 4

typedef enum hwt_cache_type { hwt_cache_data = 0, hwt_cache_instruction, hwt_cache_unified } hwt_cache_type;

typedef struct hwt_cache {
  int level;                /* 1, 2, 3, 4 */
  hwt_cache_type type;
  uint64_t size_bytes;      /* one instance */
  unsigned line_bytes;
  unsigned ways;            /* 0 = unknown / fully associative */
  unsigned shared_by_cpus;  /* logical CPUs sharing one instance */
  char source[8];           /* "hwloc", "cpuid", "sysfs" */
  bool plausible;
  char note[192];           /* why implausible, or which sources agreed/disagreed */
} hwt_cache;

typedef struct hwt_core_kind {
  char name[32];            /* hwloc cpukind info (e.g. "IntelCore"), or "default" */
  int efficiency;           /* hwloc efficiency rank, -1 unknown */
  unsigned pus;
} hwt_core_kind;

/* A measured ceiling. gflops/gbps are 0 when not measured. */
typedef struct hwt_peak {
  bool present;             /* the ISA exists here (measured or not) */
  double gflops_1t;         /* fp32: GFLOP/s, int8: GOP/s (one op = one multiply or one add) */
  double gflops_all;        /* all usable CPUs */
} hwt_peak;

typedef struct hwt_bw {
  uint64_t buffer_bytes;    /* working-set size used: per thread for l1..l3; for dram the whole buffer, which the
                             * 1-thread runs walk entirely and the all-thread runs split into one slice per thread */
  double read_gbps_1t, read_gbps_all;
  double triad_gbps_1t, triad_gbps_all;
  char note[128];           /* how buffer_bytes was chosen (which cache entry, or why a default) */
} hwt_bw;

typedef enum hwt_bw_level { hwt_bw_l1 = 0, hwt_bw_l2, hwt_bw_l3, hwt_bw_dram, hwt_bw_count } hwt_bw_level;

typedef struct hwt_hw {
  /* identity */
  char arch[16];            /* "x86_64", "aarch64" */
  char vendor[16];
  char brand[64];
  char uarch[32];           /* cpu_features' name, or hwtune's family/model table when cpu_features is older */
  char uarch_source[16];    /* "cpu_features", "hwtune-table", "unknown" */
  int family, model, stepping;
  bool hypervisor;
  hwt_cpu_isa isa;

  /* caches, L1d/L1i/L2/L3 ... ordered by level */
  hwt_cache caches[HWT_MAX_CACHES];
  size_t ncaches;

  /* topology (hwloc) */
  unsigned packages, numa_nodes, cores, pus, smt;
  hwt_core_kind core_kinds[HWT_MAX_CORE_KINDS];
  size_t ncore_kinds;

  /* what this process may run on */
  unsigned usable_cpus;            /* min(affinity count, floor(cgroup quota)), at least 1 */
  int affinity[HWT_MAX_CPUS];      /* OS CPU numbers in the affinity mask */
  size_t naffinity;
  double cgroup_quota_cpus;        /* < 0: no quota ("max" or no cgroup v2) */

  uint64_t mem_total_bytes, mem_available_bytes;

  /* measured (zero unless hwt_detect_inputs.measure) */
  bool measured;
  hwt_peak peak_fp32[hwt_isa_count]; /* indexed by ISA: scalar, avx2, avx512f, neon */
  hwt_peak peak_int8[hwt_isa_count]; /* avx2 (vpmaddubsw), avxvnni, avx512vnni, neon, neondot, neoni8mm */
  hwt_bw bw[hwt_bw_count];

  char fingerprint[33];     /* 32 hex chars over identifying fields only */

  /* provenance (added with the full detect) */
  char hypervisor_vendor[16];      /* CPUID 0x40000000 signature ("KVMKVMKVM", "bhyve bhyve"), "" if none */
  char topology_source[16];        /* "hwloc", "hwloc-synthetic", "hwloc-xml" */
  char usable_note[192];           /* where usable_cpus came from; malformed cgroup files are named here */
  char cache_note[192];            /* which cache sources were consulted */
  bool measure_quick;              /* the probes ran in --quick mode */
  double measure_seconds;          /* wall time of the probes */
  unsigned measure_threads;        /* threads of the *_all figures (one per usable CPU, pinned) */
  int measure_cpus[HWT_MAX_CPUS];  /* OS CPU each measuring thread was pinned to; [0] ran the 1-thread probes */
  double load_avg_1m;              /* /proc/loadavg when the probes started; < 0 unknown (other load lowers *_all) */
} hwt_hw;

/* Inputs of detection; zero-initialised means "this machine, no measuring". */
typedef struct hwt_detect_inputs {
  const char *hwloc_synthetic;  /* e.g. "pack:2 numa:2 l3:2 core:8 pu:2"; NULL = real topology */
  const char *hwloc_xml;        /* path of an hwloc XML export; NULL = real topology */
  const char *cgroup_root;      /* folder holding this process's cgroup v2 files (cpu.max); NULL = /sys/fs/cgroup + /proc/self/cgroup */
  const char *sysfs_cpu_root;   /* NULL = /sys/devices/system/cpu */
  const int *affinity;          /* fixed affinity list (tests); NULL = sched_getaffinity */
  size_t naffinity;
  bool fixed_features;          /* use features_hw below instead of the CPU's */
  uint32_t features_hw;
  bool measure;                 /* run the peak and bandwidth probes */
  bool quick;                   /* ~2 s of measuring instead of ~15 s */
  /* added with the full detect */
  const char *meminfo_path;     /* NULL = /proc/meminfo */
  bool fixed_cpuid_caches;      /* use cpuid_caches below instead of executing CPUID (tests); n = 0: no CPUID source.
                                 * With a synthetic/XML topology and this false, CPUID caches are not consulted
                                 * (they describe this machine, not the fixture). */
  const hwt_cache *cpuid_caches;
  size_t ncpuid_caches;
} hwt_detect_inputs;

/* Fills *hw. A message (<= errlen) explains a failure. Never exits. */
hwt_status hwt_detect(const hwt_detect_inputs *in, hwt_hw *hw, char *err, size_t errlen);

/* Recomputes hw->fingerprint from the identifying fields (call after changing them). */
void hwt_hw_fingerprint(hwt_hw *hw);

/* Plausible per-core cache budget in bytes for blocking (level 1 = L1d, 2, 3 = this core's share of L3).
 * Implausible entries are skipped; falls back to conservative defaults (32 KiB, 512 KiB, 2 MiB) and says so
 * in *source ("hwloc", "cpuid", "default"). source may be NULL. */
uint64_t hwt_hw_cache_budget(const hwt_hw *hw, int level, const char **source);

/* Peak for (dtype int8?, isa, threads); 0 when unknown. threads > 1 uses gflops_all scaled to threads/usable. */
double hwt_hw_peak(const hwt_hw *hw, bool int8, hwt_isa isa, unsigned threads);

/* Hands the plausible L1d / L2 / L3-share budgets (hwt_hw_cache_budget) to hwt_kernels_set_cache_budget(). */
void hwt_hw_set_kernel_budget(const hwt_hw *hw);

/* Human-readable summary (what `hwtune detect` prints): every figure with its source, implausible ones flagged. */
void hwt_hw_print(const hwt_hw *hw, FILE *out);

#ifdef __cplusplus
}
#endif
