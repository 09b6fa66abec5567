/* SPDX-License-Identifier: Apache-2.0 */
/* This machine's identifying fields (uname, /proc/cpuinfo, sysfs), the calling thread's usable CPUs, the
 * profile-vs-machine check, and open(). */
#define _GNU_SOURCE 1  /* sched_getaffinity, CPU_COUNT */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "profile_internal.h"

static void set_field(hwt_profile_machine *m, const char *name, const char *value) {
  if (m->nfields >= HWT_PROFILE_MAX_FIELDS) return;
  hwt_profile_field *f = &m->fields[m->nfields++];
  if (!value || !value[0]) value = "unknown";
  size_t n = strlen(name), v = strlen(value);
  if (n > sizeof f->name - 1) n = sizeof f->name - 1;
  if (v > sizeof f->value - 1) v = sizeof f->value - 1;
  memcpy(f->name, name, n);
  f->name[n] = '\0';
  memcpy(f->value, value, v);  /* longer values are truncated, the same way on both sides of a check */
  f->value[v] = '\0';
}

/* "key\t: value" -> value of the first processor block, trimmed. */
static bool cpuinfo_value(const char *text, const char *key, char *out, size_t cap) {
  size_t klen = strlen(key);
  for (const char *line = text; line && *line;) {
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    if (len == 0 && line != text) break;  /* blank line: end of the first processor block */
    if (len > klen && strncmp(line, key, klen) == 0 && (line[klen] == ' ' || line[klen] == '\t' || line[klen] == ':')) {
      const char *colon = memchr(line, ':', len);
      if (colon) {
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t') v++;
        size_t vlen = (size_t)(line + len - v);
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t' || v[vlen - 1] == '\r')) vlen--;
        if (vlen >= cap) vlen = cap - 1;
        memcpy(out, v, vlen);
        out[vlen] = '\0';
        return true;
      }
    }
    line = eol ? eol + 1 : NULL;
  }
  out[0] = '\0';
  return false;
}

static bool has_word(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *s = list; (s = strstr(s, word)) != NULL; s += n) {
    bool start = s == list || s[-1] == ' ';
    bool end = s[n] == '\0' || s[n] == ' ';
    if (start && end) return true;
  }
  return false;
}

/* The SIMD features hwtune's kernels use, in this fixed order (kernel-visible identity of the CPU). */
static const char *const x86_features[] = {"sse4_2",   "avx",         "avx2",        "fma",
                                           "f16c",     "avx512f",     "avx512bw",    "avx512vl",
                                           "avx512dq", "avx512_vnni", "avx_vnni",    "avx512_bf16",
                                           "amx_int8", NULL};
static const char *const arm_features[] = {"asimd", "asimddp", "i8mm", "sve", "sve2", "bf16", NULL};

static void read_file_line(const char *path, char *out, size_t cap) {
  out[0] = '\0';
  FILE *f = fopen(path, "r");
  if (!f) return;
  if (fgets(out, (int)cap, f) == NULL) out[0] = '\0';
  fclose(f);
  out[strcspn(out, "\n")] = '\0';
}

static unsigned long long parse_size(const char *s) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s) return 0;
  if (*end == 'K') v <<= 10;
  else if (*end == 'M') v <<= 20;
  else if (*end == 'G') v <<= 30;
  return v;
}

static void probe_caches(unsigned long long *l1d, unsigned long long *l2, unsigned long long *l3) {
  *l1d = *l2 = *l3 = 0;
  for (int i = 0; i < 16; i++) {
    char path[128], level[16], type[32], size[32];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
    read_file_line(path, level, sizeof level);
    if (!level[0]) continue;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
    read_file_line(path, type, sizeof type);
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
    read_file_line(path, size, sizeof size);
    unsigned long long bytes = parse_size(size);
    int lv = atoi(level);
    if (lv == 1 && strcmp(type, "Data") == 0) *l1d = bytes;
    else if (lv == 2 && strcmp(type, "Instruction") != 0) *l2 = bytes;
    else if (lv == 3 && strcmp(type, "Instruction") != 0) *l3 = bytes;
  }
}

hwt_status hwt_profile_machine_probe(hwt_profile_machine *out) {
  if (out == NULL) return hwt_status_invalid_argument;
  memset(out, 0, sizeof *out);
  struct utsname u;
  set_field(out, "arch", uname(&u) == 0 ? u.machine : "unknown");

  /* The first processor block is enough: /proc/cpuinfo is at most 64 KiB of it here. */
  static const size_t cap = 1 << 16;
  char *text = malloc(cap);
  if (text) {
    text[0] = '\0';
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
      size_t n = fread(text, 1, cap - 1, f);
      text[n] = '\0';
      fclose(f);
    }
  }
  char v[HWT_PROFILE_FIELD_VALUE], isa[HWT_PROFILE_FIELD_VALUE] = "";
  const char *t = text ? text : "";
  if (cpuinfo_value(t, "vendor_id", v, sizeof v)) {  /* x86 */
    set_field(out, "vendor", v);
    cpuinfo_value(t, "model name", v, sizeof v);
    set_field(out, "brand", v);
    cpuinfo_value(t, "cpu family", v, sizeof v);
    set_field(out, "family", v);
    cpuinfo_value(t, "model", v, sizeof v);
    set_field(out, "model", v);
    cpuinfo_value(t, "stepping", v, sizeof v);
    set_field(out, "stepping", v);
    char *flags = text ? malloc(cap) : NULL;
    if (flags && cpuinfo_value(t, "flags", flags, cap)) {
      for (size_t i = 0; x86_features[i]; i++) {
        if (!has_word(flags, x86_features[i])) continue;
        size_t l = strlen(isa);
        snprintf(isa + l, sizeof isa - l, "%s%s", l ? " " : "", x86_features[i]);
      }
    }
    free(flags);
  } else {  /* arm64 and others */
    char part[32] = "", var[32] = "", rev[32] = "";
    cpuinfo_value(t, "CPU implementer", v, sizeof v);
    set_field(out, "vendor", v);
    cpuinfo_value(t, "CPU part", part, sizeof part);
    char brand[HWT_PROFILE_FIELD_VALUE + 64];
    snprintf(brand, sizeof brand, "implementer %s part %s", v[0] ? v : "?", part[0] ? part : "?");
    set_field(out, "brand", brand);
    cpuinfo_value(t, "CPU architecture", v, sizeof v);
    set_field(out, "family", v);
    set_field(out, "model", part);
    cpuinfo_value(t, "CPU variant", var, sizeof var);
    cpuinfo_value(t, "CPU revision", rev, sizeof rev);
    snprintf(v, sizeof v, "%.31s/%.31s", var[0] ? var : "?", rev[0] ? rev : "?");
    set_field(out, "stepping", v);
    char feats[1024];
    if (cpuinfo_value(t, "Features", feats, sizeof feats)) {
      for (size_t i = 0; arm_features[i]; i++) {
        if (!has_word(feats, arm_features[i])) continue;
        size_t l = strlen(isa);
        snprintf(isa + l, sizeof isa - l, "%s%s", l ? " " : "", arm_features[i]);
      }
    }
  }
  free(text);
  set_field(out, "isa", isa[0] ? isa : "none");
  unsigned long long l1d, l2, l3;
  probe_caches(&l1d, &l2, &l3);
  snprintf(v, sizeof v, "%llu", l1d);
  set_field(out, "l1d", v);
  snprintf(v, sizeof v, "%llu", l2);
  set_field(out, "l2", v);
  snprintf(v, sizeof v, "%llu", l3);
  set_field(out, "l3", v);
  long cpus = sysconf(_SC_NPROCESSORS_CONF);
  snprintf(v, sizeof v, "%ld", cpus > 0 ? cpus : 0L);
  set_field(out, "cpus", v);
  return hwt_status_ok;
}

unsigned hwt_profile_usable_cpus(void) {
  /* A fixed-size set: no allocation, so lookups stay allocation-free. On a machine with more than CPU_SETSIZE
   * (1024) CPUs the call fails with EINVAL and the answer is "unknown" (no clamp), never a wrong bound. */
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  int n = CPU_COUNT(&set);
  return n > 0 ? (unsigned)n : 0;
}

static void add_diff(hwt_profile_mismatch *d, const char *field, const char *pv, const char *cv) {
  if (d->ndiffs >= sizeof d->diffs / sizeof d->diffs[0]) return;
  hwt_profile_diff *x = &d->diffs[d->ndiffs++];
  snprintf(x->field, sizeof x->field, "%s", field);
  snprintf(x->profile_value, sizeof x->profile_value, "%s", pv ? pv : "(absent)");
  snprintf(x->current_value, sizeof x->current_value, "%s", cv ? cv : "(absent)");
}

hwt_status hwt_profile_check(const hwt_profile *profile, const hwt_profile_machine *current,
                             hwt_profile_mismatch *diffs, char *msg, size_t msglen) {
  if (msg && msglen) msg[0] = '\0';
  if (profile == NULL || current == NULL) {
    if (msg && msglen) snprintf(msg, msglen, "hwt_profile_check: NULL %s", profile ? "current machine" : "profile");
    return hwt_status_invalid_argument;
  }
  hwt_profile_mismatch local;
  hwt_profile_mismatch *d = diffs ? diffs : &local;
  d->ndiffs = 0;
  for (size_t i = 0; i < profile->nfields; i++) {
    const char *cv = NULL;
    for (size_t j = 0; j < current->nfields && j < HWT_PROFILE_MAX_FIELDS; j++) {
      if (strncmp(current->fields[j].name, profile->fields[i].name, HWT_PROFILE_FIELD_NAME) == 0) {
        cv = current->fields[j].value;
        break;
      }
    }
    if (cv == NULL || strncmp(cv, profile->fields[i].value, HWT_PROFILE_FIELD_VALUE) != 0)
      add_diff(d, profile->fields[i].name, profile->fields[i].value, cv);
  }
  const char *pf = profile->fingerprint;
  if (pf && pf[0] && current->fingerprint[0] &&
      strncmp(pf, current->fingerprint, sizeof current->fingerprint) != 0)
    add_diff(d, "fingerprint", pf, current->fingerprint);
  if (d->ndiffs == 0) return hwt_status_ok;
  if (msg && msglen) {
    size_t used = 0;
    int w = snprintf(msg, msglen, "profile '%s' was tuned on another machine:", profile->path);
    used = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < d->ndiffs && used < msglen; i++) {
      w = snprintf(msg + used, msglen - used, "%s %s '%s' here '%s'", i ? ";" : "", d->diffs[i].field,
                   d->diffs[i].profile_value, d->diffs[i].current_value);
      if (w < 0) break;
      used += (size_t)w;
    }
  }
  return hwt_status_mismatch;
}

hwt_status hwt_profile_open(const char *path, const hwt_profile_machine *current, unsigned flags, hwt_profile **out,
                            char *msg, size_t msglen) {
  if (msg && msglen) msg[0] = '\0';
  if (out == NULL) {
    if (msg && msglen) snprintf(msg, msglen, "hwt_profile_open: NULL out");
    return hwt_status_invalid_argument;
  }
  *out = NULL;
  char defpath[4096];
  if (path == NULL) {
    hwt_status st = hwt_profile_default_path(defpath, sizeof defpath);
    if (st != hwt_status_ok) {
      if (msg && msglen)
        snprintf(msg, msglen, "no profile path: set %s, XDG_DATA_HOME or HOME (%s)", HWT_PROFILE_ENV,
                 hwt_status_string(st));
      return st;
    }
    path = defpath;
  }
  hwt_profile *p = NULL;
  hwt_status st = hwt_profile_load(path, &p, msg, msglen);
  if (st != hwt_status_ok) return st;
  hwt_profile_machine probed;
  if (current == NULL) {
    hwt_profile_machine_probe(&probed);
    current = &probed;
  }
  st = hwt_profile_check(p, current, NULL, msg, msglen);
  if (st == hwt_status_mismatch && (flags & HWT_PROFILE_ACCEPT_MISMATCH)) st = hwt_status_ok;
  if (st != hwt_status_ok) {
    if (msg && msglen) {
      size_t used = strlen(msg);
      snprintf(msg + used, msglen - used, " (refused; re-run `hwtune tune` on this machine)");
    }
    hwt_profile_free(p);
    return st;
  }
  *out = p;
  return hwt_status_ok;
}
