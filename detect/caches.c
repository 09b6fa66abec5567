/* SPDX-License-Identifier: Apache-2.0 */
/* Cache descriptions from CPUID and sysfs, the plausibility rules, and the cross-check that merges hwloc, CPUID
 * and sysfs into one entry per (level, type). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_internal.h"
#include "hwt_common.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static void fmt_bytes(uint64_t b, char *buf, size_t len) {
  if (b >= (1ull << 30) && b % (1ull << 30) == 0)
    snprintf(buf, len, "%llu GiB", (unsigned long long)(b >> 30));
  else if (b >= (1ull << 20) && b % (1ull << 20) == 0)
    snprintf(buf, len, "%llu MiB", (unsigned long long)(b >> 20));
  else if (b >= (1ull << 20))
    snprintf(buf, len, "%.1f MiB", (double)b / (double)(1ull << 20));
  else if (b >= 1024 && b % 1024 == 0)
    snprintf(buf, len, "%llu KiB", (unsigned long long)(b >> 10));
  else
    snprintf(buf, len, "%llu B", (unsigned long long)b);
}

static const char *type_suffix(hwt_cache_type t) {
  return t == hwt_cache_data ? "d" : t == hwt_cache_instruction ? "i" : "";
}

/* ------------------------------------------------------------------------------------------------ CPUID */
#if defined(__x86_64__) || defined(__i386__)
static void put_cache(hwt_cache *out, size_t max, size_t *n, int level, hwt_cache_type type, uint64_t size,
                      unsigned line, unsigned ways, unsigned shared, const char *note) {
  if (*n >= max || size == 0) return;
  hwt_cache *c = &out[(*n)++];
  memset(c, 0, sizeof(*c));
  c->level = level;
  c->type = type;
  c->size_bytes = size;
  c->line_bytes = line;
  c->ways = ways;
  c->shared_by_cpus = shared;
  c->plausible = true;
  snprintf(c->source, sizeof(c->source), "%s", "cpuid");
  snprintf(c->note, sizeof(c->note), "%s", note);
}

static hwt_cache_type leaf_type(unsigned t) {
  return t == 1 ? hwt_cache_data : t == 2 ? hwt_cache_instruction : hwt_cache_unified;
}

/* AMD's L2/L3 associativity code of leaf 0x80000006 (AMD APM vol. 3, appendix E). 0 = unknown/fully. */
static unsigned amd_assoc(unsigned code) {
  static const unsigned ways[16] = {0, 1, 2, 3, 4, 6, 8, 0, 16, 0, 32, 48, 64, 96, 128, 0};
  return ways[code & 0xf];
}

size_t hwt_cpuid_caches(hwt_cache *out, size_t max) {
  unsigned a, b, c, d;
  size_t n = 0;
  char vendor[13] = {0};
  __cpuid(0, a, b, c, d);
  const unsigned max_std = a;
  memcpy(vendor, &b, 4);
  memcpy(vendor + 4, &d, 4);
  memcpy(vendor + 8, &c, 4);
  __cpuid(0x80000000, a, b, c, d);
  const unsigned max_ext = a;

  if (strcmp(vendor, "AuthenticAMD") == 0 || strcmp(vendor, "HygonGenuine") == 0) {
    /* Leaf 0x8000001D (needs TOPOEXT, CPUID 0x80000001:ECX[22]) describes each cache with its sharing. */
    bool topoext = false;
    if (max_ext >= 0x80000001) {
      __cpuid(0x80000001, a, b, c, d);
      topoext = (c >> 22) & 1;
    }
    if (topoext && max_ext >= 0x8000001D) {
      for (unsigned i = 0; i < 16; i++) {
        __cpuid_count(0x8000001D, i, a, b, c, d);
        unsigned t = a & 31;
        if (t == 0) break;
        unsigned line = (b & 0xfff) + 1, parts = ((b >> 12) & 0x3ff) + 1, ways = ((b >> 22) & 0x3ff) + 1;
        uint64_t size = (uint64_t)line * parts * ways * ((uint64_t)c + 1);
        unsigned fully = (a >> 9) & 1;
        put_cache(out, max, &n, (int)((a >> 5) & 7), leaf_type(t), size, line, fully ? 0 : ways,
                  ((a >> 14) & 0xfff) + 1, "CPUID 0x8000001D");
      }
    }
    if (n == 0 && max_ext >= 0x80000006) {
      /* Legacy leaves: sizes and lines only; they say nothing about sharing (shared_by_cpus 0 = unknown). */
      __cpuid(0x80000005, a, b, c, d);
      put_cache(out, max, &n, 1, hwt_cache_data, (uint64_t)(c >> 24) << 10, c & 0xff,
                ((c >> 16) & 0xff) == 0xff ? 0 : (c >> 16) & 0xff, 0, "CPUID 0x80000005 (legacy, no sharing info)");
      put_cache(out, max, &n, 1, hwt_cache_instruction, (uint64_t)(d >> 24) << 10, d & 0xff,
                ((d >> 16) & 0xff) == 0xff ? 0 : (d >> 16) & 0xff, 0, "CPUID 0x80000005 (legacy, no sharing info)");
      __cpuid(0x80000006, a, b, c, d);
      put_cache(out, max, &n, 2, hwt_cache_unified, (uint64_t)(c >> 16) << 10, c & 0xff, amd_assoc(c >> 12), 0,
                "CPUID 0x80000006 (legacy, no sharing info)");
      put_cache(out, max, &n, 3, hwt_cache_unified, (uint64_t)(d >> 18) * (512u << 10), d & 0xff,
                amd_assoc(d >> 12), 0, "CPUID 0x80000006 (legacy, no sharing info)");
    }
  } else if (strcmp(vendor, "GenuineIntel") == 0 && max_std >= 4) {
    /* Leaf 4: one sub-leaf per cache. EAX[25:14]+1 is the number of logical-processor IDs that share it (an
     * upper bound: IDs may be left unused). */
    for (unsigned i = 0; i < 16; i++) {
      __cpuid_count(4, i, a, b, c, d);
      unsigned t = a & 31;
      if (t == 0) break;
      unsigned line = (b & 0xfff) + 1, parts = ((b >> 12) & 0x3ff) + 1, ways = ((b >> 22) & 0x3ff) + 1;
      uint64_t size = (uint64_t)line * parts * ways * ((uint64_t)c + 1);
      put_cache(out, max, &n, (int)((a >> 5) & 7), leaf_type(t), size, line, ((a >> 9) & 1) ? 0 : ways,
                ((a >> 14) & 0xfff) + 1, "CPUID leaf 4 (sharing = max IDs, an upper bound)");
    }
  }
  return n;
}
#else
size_t hwt_cpuid_caches(hwt_cache *out, size_t max) {
  (void)out;
  (void)max;
  return 0;
}
#endif

/* ------------------------------------------------------------------------------------------------ sysfs */
static bool read_small(const char *path, char *buf, size_t len) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return false;
  size_t n = fread(buf, 1, len - 1, f);
  fclose(f);
  buf[n] = '\0';
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = '\0';
  return n > 0;
}

/* "0-3,8,10-11" -> 7; 0 on malformed text. */
static unsigned count_cpu_list(const char *s) {
  unsigned total = 0;
  while (*s) {
    char *end;
    long lo = strtol(s, &end, 10);
    if (end == s || lo < 0) return 0;
    long hi = lo;
    s = end;
    if (*s == '-') {
      hi = strtol(s + 1, &end, 10);
      if (end == s + 1 || hi < lo) return 0;
      s = end;
    }
    total += (unsigned)(hi - lo + 1);
    if (*s == ',') s++;
    else if (*s != '\0') return 0;
  }
  return total;
}

/* "48K" -> 49152; 0 when malformed. */
static uint64_t parse_size(const char *s) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s) return 0;
  if (*end == 'K' || *end == 'k') v <<= 10, end++;
  else if (*end == 'M' || *end == 'm') v <<= 20, end++;
  else if (*end == 'G' || *end == 'g') v <<= 30, end++;
  return *end == '\0' ? (uint64_t)v : 0;
}

size_t hwt_sysfs_caches(const char *root, hwt_cache *out, size_t max) {
  char dir[512];
  snprintf(dir, sizeof(dir), "%s/cpu0/cache", root ? root : "/sys/devices/system/cpu");
  DIR *d = opendir(dir);
  if (d == NULL) return 0;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < max) {
    if (strncmp(e->d_name, "index", 5) != 0) continue;
    char path[800], buf[256];
    hwt_cache c;
    memset(&c, 0, sizeof(c));
    snprintf(path, sizeof(path), "%s/%s/level", dir, e->d_name);
    if (!read_small(path, buf, sizeof(buf))) continue;
    c.level = atoi(buf);
    snprintf(path, sizeof(path), "%s/%s/type", dir, e->d_name);
    if (!read_small(path, buf, sizeof(buf))) continue;
    if (strcmp(buf, "Data") == 0) c.type = hwt_cache_data;
    else if (strcmp(buf, "Instruction") == 0) c.type = hwt_cache_instruction;
    else c.type = hwt_cache_unified;
    snprintf(path, sizeof(path), "%s/%s/size", dir, e->d_name);
    if (read_small(path, buf, sizeof(buf))) c.size_bytes = parse_size(buf);
    snprintf(path, sizeof(path), "%s/%s/coherency_line_size", dir, e->d_name);
    if (read_small(path, buf, sizeof(buf))) c.line_bytes = (unsigned)strtoul(buf, NULL, 10);
    snprintf(path, sizeof(path), "%s/%s/ways_of_associativity", dir, e->d_name);
    if (read_small(path, buf, sizeof(buf))) c.ways = (unsigned)strtoul(buf, NULL, 10);
    snprintf(path, sizeof(path), "%s/%s/shared_cpu_list", dir, e->d_name);
    if (read_small(path, buf, sizeof(buf))) c.shared_by_cpus = count_cpu_list(buf);
    snprintf(c.source, sizeof(c.source), "%s", "sysfs");
    c.plausible = true;
    if (c.level >= 1 && c.level <= 4) out[n++] = c;
  }
  closedir(d);
  return n;
}

/* ------------------------------------------------------------------------------------------------ rules */
/* Bounds from shipping CPUs, with head-room:
 *   L1: largest per-core L1d is 192 KiB (Apple P-cores)                              -> 1 MiB per core
 *   L2: largest private L2 is 32 MiB (IBM Telum); Apple's shared 16 MiB per cluster  -> 32 MiB per core
 *   L3+: largest per-core L3 share is ~48 MiB (EPYC 9184X: 768 MiB over 16 cores)    -> 64 MiB per core
 * and no instance larger than 2 GiB. */
static uint64_t max_per_core(int level) {
  return level <= 1 ? (1ull << 20) : level == 2 ? (32ull << 20) : (64ull << 20);
}

bool hwt_cache_entry_plausible(const hwt_cache *c, unsigned cores_sharing, char *note, size_t notelen) {
  char sz[32], lim[32];
  if (c->level < 1 || c->level > 4) {
    hwt_errf(note, notelen, "level %d is outside 1..4", c->level);
    return false;
  }
  if (c->size_bytes == 0) {
    hwt_errf(note, notelen, "size unknown");
    return false;
  }
  if (c->size_bytes < 1024) {
    hwt_errf(note, notelen, "%llu bytes is smaller than any real cache", (unsigned long long)c->size_bytes);
    return false;
  }
  if (c->line_bytes != 0 && (c->line_bytes < 16 || c->line_bytes > 256 || (c->line_bytes & (c->line_bytes - 1)))) {
    hwt_errf(note, notelen, "line size %u is not a power of two in 16..256", c->line_bytes);
    return false;
  }
  if (c->ways != 0 && c->line_bytes != 0 && c->size_bytes % ((uint64_t)c->ways * c->line_bytes) != 0) {
    fmt_bytes(c->size_bytes, sz, sizeof(sz));
    hwt_errf(note, notelen, "%s is not a whole number of sets of %u ways x %u B lines", sz, c->ways, c->line_bytes);
    return false;
  }
  if (c->size_bytes > (2ull << 30)) {
    fmt_bytes(c->size_bytes, sz, sizeof(sz));
    hwt_errf(note, notelen, "%s for one instance is larger than any shipping cache", sz);
    return false;
  }
  if (cores_sharing > 0) {
    uint64_t per_core = c->size_bytes / cores_sharing;
    if (per_core > max_per_core(c->level)) {
      fmt_bytes(c->size_bytes, sz, sizeof(sz));
      fmt_bytes(max_per_core(c->level), lim, sizeof(lim));
      const char *ref = c->level <= 1   ? "largest shipping L1d is 192 KiB per core"
                        : c->level == 2 ? "largest shipping L2 is 32 MiB per core"
                                        : "largest shipping L3 share is ~48 MiB per core, EPYC 9184X";
      hwt_errf(note, notelen, "%s shared by %u core%s is above %s per core (%s)", sz, cores_sharing,
               cores_sharing == 1 ? "" : "s", lim, ref);
      return false;
    }
  }
  return true;
}

/* ------------------------------------------------------------------------------------------------ merge */
typedef struct candidate {
  hwt_cache c;
  bool ok;
  char why[160];
} candidate;

static int cmp_cache(const void *pa, const void *pb) {
  const hwt_cache *a = pa, *b = pb;
  if (a->level != b->level) return a->level - b->level;
  return (int)a->type - (int)b->type;
}

size_t hwt_caches_merge(const hwt_cache *hwloc, size_t nhwloc, const hwt_cache *cpuid, size_t ncpuid,
                        const hwt_cache *sysfs, size_t nsysfs, unsigned smt, hwt_cache *out, size_t max) {
  if (smt == 0) smt = 1;
  /* Preference: sysfs (the kernel's view, with its quirk fixes), hwloc (reads sysfs or CPUID), raw CPUID. */
  const hwt_cache *lists[3] = {sysfs, hwloc, cpuid};
  const size_t counts[3] = {nsysfs, nhwloc, ncpuid};
  size_t n = 0;

  for (int level = 1; level <= 4; level++) {
    for (int type = hwt_cache_data; type <= hwt_cache_unified; type++) {
      candidate cand[3];
      int ncand = 0;
      for (int s = 0; s < 3; s++) {
        for (size_t i = 0; i < counts[s]; i++) {
          if (lists[s][i].level == level && (int)lists[s][i].type == type) {
            cand[ncand].c = lists[s][i];
            ncand++;
            break;
          }
        }
      }
      if (ncand == 0) continue;
      /* A source that does not know the sharing borrows it from one that does (same cache, same machine). */
      unsigned known_share = 0;
      for (int i = 0; i < ncand && known_share == 0; i++) known_share = cand[i].c.shared_by_cpus;
      for (int i = 0; i < ncand; i++) {
        unsigned share = cand[i].c.shared_by_cpus ? cand[i].c.shared_by_cpus : known_share;
        unsigned cores = share ? (share / smt ? share / smt : 1) : 0;
        cand[i].ok = hwt_cache_entry_plausible(&cand[i].c, cores, cand[i].why, sizeof(cand[i].why));
        if (cand[i].c.shared_by_cpus == 0 && known_share) cand[i].c.shared_by_cpus = known_share;
      }
      int win = 0;
      for (int i = 0; i < ncand; i++) {
        if (cand[i].ok) {
          win = i;
          break;
        }
      }
      if (n >= max) return n;
      hwt_cache *o = &out[n++];
      *o = cand[win].c;
      o->plausible = cand[win].ok;
      /* Note: the verdict, then what every other source said. */
      char note[sizeof(o->note)];
      int len = 0;
      if (!o->plausible)
        len = snprintf(note, sizeof(note), "IMPLAUSIBLE: %s; not used for blocking", cand[win].why);
      else
        len = snprintf(note, sizeof(note), "%s", "plausible");
      for (int i = 0; i < ncand && len >= 0 && (size_t)len < sizeof(note); i++) {
        if (i == win) continue;
        char sz[32];
        fmt_bytes(cand[i].c.size_bytes, sz, sizeof(sz));
        if (cand[i].c.size_bytes == o->size_bytes)
          len += snprintf(note + len, sizeof(note) - (size_t)len, "; %s agrees", cand[i].c.source);
        else
          len += snprintf(note + len, sizeof(note) - (size_t)len, "; %s says %s%s", cand[i].c.source, sz,
                          cand[i].ok ? "" : " (implausible)");
      }
      if (ncand == 1 && len >= 0 && (size_t)len < sizeof(note))
        snprintf(note + len, sizeof(note) - (size_t)len, "; only %s reports it", o->source);
      snprintf(o->note, sizeof(o->note), "%s", note);
    }
  }
  qsort(out, n, sizeof(out[0]), cmp_cache);

  /* Hierarchy: a data/unified L(n) instance smaller than the plausible L(n-1) data/unified one is implausible. */
  for (size_t i = 0; i < n; i++) {
    if (out[i].type == hwt_cache_instruction || out[i].level < 2 || !out[i].plausible) continue;
    for (size_t j = 0; j < n; j++) {
      if (out[j].level != out[i].level - 1 || out[j].type == hwt_cache_instruction || !out[j].plausible) continue;
      if (out[i].size_bytes < out[j].size_bytes) {
        char a[32], b[32], note[sizeof(out[i].note)];
        fmt_bytes(out[i].size_bytes, a, sizeof(a));
        fmt_bytes(out[j].size_bytes, b, sizeof(b));
        snprintf(note, sizeof(note), "IMPLAUSIBLE: L%d (%s) is smaller than L%d%s (%s); not used for blocking",
                 out[i].level, a, out[j].level, type_suffix(out[j].type), b);
        snprintf(out[i].note, sizeof(out[i].note), "%s", note);
        out[i].plausible = false;
      }
    }
  }
  return n;
}
