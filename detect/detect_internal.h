/* SPDX-License-Identifier: Apache-2.0 */
/* Internal seams of detection, one function per input source, so tests can drive each with fixtures. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hwtune/hw.h"

/* ---- identity (identity.c) ---- */
/* Fills arch, vendor, brand, family/model/stepping, uarch(+source), hypervisor(+vendor) from cpu_features and
 * raw CPUID (x86) or cpu_features (aarch64). */
void hwt_detect_identity(hwt_hw *hw);
/* hwtune's own family/model table for CPUs newer than cpu_features 0.7 knows (Zen 4/5, recent Intel).
 * Returns NULL when the table has no entry. Pure. */
const char *hwt_uarch_from_table(const char *vendor, int family, int model);

/* ---- topology + hwloc caches (topology.c) ---- */
/* Loads hwloc per the inputs (synthetic, XML or this system), fills packages .. core_kinds and appends hwloc's
 * caches (source "hwloc") to out[]. Returns the number of caches, or -1 with err set. */
int hwt_detect_topology(const hwt_detect_inputs *in, hwt_hw *hw, hwt_cache *out, size_t max, char *err,
                        size_t errlen);

/* ---- other cache sources (caches.c) ---- */
/* CPUID: AMD leaf 0x8000001D (or the legacy 0x80000005/6 when it is empty), Intel leaf 4. 0 on other archs. */
size_t hwt_cpuid_caches(hwt_cache *out, size_t max);
/* sysfs: <root>/cpu0/cache/index* ; 0 when the folder is missing or empty. */
size_t hwt_sysfs_caches(const char *root, hwt_cache *out, size_t max);

/* Judges one cache entry on its own (size known, line size a power of two in [16, 256], sets integral, size per
 * core below anything shipping). `cores_sharing` = cores sharing one instance (0 = unknown). Returns true when
 * plausible; otherwise writes why into note. */
bool hwt_cache_entry_plausible(const hwt_cache *c, unsigned cores_sharing, char *note, size_t notelen);

/* Merges the per-source lists into one entry per (level, type): the preferred plausible source wins (sysfs,
 * hwloc, cpuid in that order), other sources' figures are cross-checked and quoted in the note; then the
 * hierarchy is checked (an L(n) smaller than L(n-1) is implausible). smt = threads per core (>= 1).
 * Returns the number of entries written to out (<= max), ordered by level then type. */
size_t hwt_caches_merge(const hwt_cache *hwloc, size_t nhwloc, const hwt_cache *cpuid, size_t ncpuid,
                        const hwt_cache *sysfs, size_t nsysfs, unsigned smt, hwt_cache *out, size_t max);

/* ---- usable CPUs (usable.c) ---- */
/* Parses a cgroup v2 cpu.max text ("max 100000", "150000 100000"). Returns 1 and *cpus = quota/period when a
 * quota is set, 0 when unlimited ("max"), -1 when malformed (note says why). */
int hwt_parse_cpu_max(const char *text, double *cpus, char *note, size_t notelen);
/* Finds this process's effective cgroup quota: with `root`, reads root/cpu.max only (tests); otherwise walks
 * /proc/self/cgroup's v2 path (under /sys/fs/cgroup or /sys/fs/cgroup/unified) up to the root taking the
 * smallest quota, then cgroup v1 cpu.cfs_quota_us. *cpus < 0 when none. note records the source. */
void hwt_cgroup_quota(const char *root, double *cpus, char *note, size_t notelen);
/* usable = min(affinity count, floor(quota)) and >= 1. */
unsigned hwt_usable_cpus(size_t naffinity, double quota_cpus);

/* ---- memory (usable.c) ---- */
bool hwt_read_meminfo(const char *path, uint64_t *total, uint64_t *available);

/* ---- measuring (measure.c) ---- */
void hwt_measure(hwt_hw *hw, bool quick);
/* Sets peak_*[isa].present for every probe whose ISA this process may use (after the HWTUNE_ISA cap). */
void hwt_probes_mark_present(hwt_hw *hw);

/* Canonical text the fingerprint hashes (for tests and --verbose). Returns the length written (truncates). */
size_t hwt_hw_fingerprint_text(const hwt_hw *hw, char *buf, size_t len);
