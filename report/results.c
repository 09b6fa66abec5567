/* SPDX-License-Identifier: Apache-2.0 */
/* Reading and validating hwtune.results/1 files, context lookups, and the text buffer the reporters write into. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwt_common.h"
#include "hwt_report.h"

/* ---- text buffer -------------------------------------------------------------------------------------------- */
static bool sb_reserve(hwt_sb *sb, size_t extra) {
  if (sb->oom) return false;
  if (sb->len + extra + 1 <= sb->cap) return true;
  size_t cap = sb->cap ? sb->cap : 4096;
  while (cap < sb->len + extra + 1) cap *= 2;
  char *p = realloc(sb->buf, cap);
  if (p == NULL) {
    sb->oom = true;
    return false;
  }
  sb->buf = p;
  sb->cap = cap;
  return true;
}

void hwt_sb_printf(hwt_sb *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[512];
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) {
    va_end(ap2);
    return;
  }
  if (!sb_reserve(sb, (size_t)n)) {
    va_end(ap2);
    return;
  }
  if ((size_t)n < sizeof tmp) {
    memcpy(sb->buf + sb->len, tmp, (size_t)n + 1);
  } else {
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap2);
  }
  va_end(ap2);
  sb->len += (size_t)n;
}

void hwt_sb_puts(hwt_sb *sb, const char *s) {
  size_t n = strlen(s);
  if (!sb_reserve(sb, n)) return;
  memcpy(sb->buf + sb->len, s, n + 1);
  sb->len += n;
}

void hwt_sb_html(hwt_sb *sb, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '&': hwt_sb_puts(sb, "&amp;"); break;
      case '<': hwt_sb_puts(sb, "&lt;"); break;
      case '>': hwt_sb_puts(sb, "&gt;"); break;
      case '"': hwt_sb_puts(sb, "&quot;"); break;
      default: {
        char c[2] = {*s, 0};
        hwt_sb_puts(sb, c);
      }
    }
  }
}

void hwt_sb_free(hwt_sb *sb) {
  if (sb == NULL) return;
  free(sb->buf);
  memset(sb, 0, sizeof *sb);
}

/* ---- context lookups ---------------------------------------------------------------------------------------- */
json_t *hwt_ctx_get(const json_t *ctx, const char *path) {
  if (ctx == NULL || path == NULL) return NULL;
  json_t *cur = (json_t *)ctx;
  const char *p = path;
  while (cur != NULL && *p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    char key[64];
    if (n >= sizeof key || !json_is_object(cur)) return NULL;
    memcpy(key, p, n);
    key[n] = '\0';
    cur = json_object_get(cur, key);
    p += n;
    if (*p == '.') p++;
  }
  return cur;
}

const char *hwt_ctx_str(const json_t *ctx, const char *path) {
  json_t *v = hwt_ctx_get(ctx, path);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

double hwt_ctx_num(const json_t *ctx, const char *path) {
  json_t *v = hwt_ctx_get(ctx, path);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

/* First positive number among the keys of obj, in order. */
static double first_num(const json_t *obj, const char *const *keys) {
  for (size_t i = 0; keys[i]; i++) {
    double v = hwt_ctx_num(obj, keys[i]);
    if (isfinite(v) && v > 0) return v;
  }
  return NAN;
}

/* detect writes peak.fp32.<isa>.gflops_1t / gflops_all and peak.int8.<isa>.gops_1t / gops_all. Results use the
 * kernel level names (avx512f) where detect may write the short form (avx512); both are accepted. */
double hwt_ctx_peak(const json_t *ctx, bool int8, const char *isa, bool all) {
  json_t *group = hwt_ctx_get(ctx, int8 ? "peak.int8" : "peak.fp32");
  if (!json_is_object(group) || isa == NULL) return NAN;
  static const char *const k1[] = {"gflops_1t", "gops_1t", "1t", NULL};
  static const char *const ka[] = {"gflops_all", "gops_all", "all", NULL};
  json_t *e = json_object_get(group, isa);
  if (e == NULL) {
    /* avx512f <-> avx512, avx_vnni <-> avxvnni, avx512_vnni <-> avx512vnni */
    char alt[32];
    const char *key;
    json_t *v;
    json_object_foreach(group, key, v) {
      size_t j = 0;
      for (const char *s = key; *s && j + 1 < sizeof alt; s++)
        if (*s != '_') alt[j++] = *s;
      alt[j] = '\0';
      char want[32];
      size_t w = 0;
      for (const char *s = isa; *s && w + 1 < sizeof want; s++)
        if (*s != '_') want[w++] = *s;
      want[w] = '\0';
      if (strcmp(alt, want) == 0 || (strcmp(want, "avx512f") == 0 && strcmp(alt, "avx512") == 0)) {
        e = v;
        break;
      }
    }
  }
  if (json_is_number(e)) return all ? NAN : json_number_value(e);
  if (!json_is_object(e)) return NAN;
  return first_num(e, all ? ka : k1);
}

double hwt_ctx_bandwidth(const json_t *ctx, const char *level, bool all) {
  json_t *e = hwt_ctx_get(ctx, "bandwidth");
  e = json_is_object(e) ? json_object_get(e, level) : NULL;
  if (!json_is_object(e)) return NAN;
  static const char *const k1[] = {"read_gbps_1t", "read.gbps_1t", "gbps_1t", "read_1t", "triad_gbps_1t",
                                   "triad.gbps_1t", NULL};
  static const char *const ka[] = {"read_gbps_all", "read.gbps_all", "gbps_all", "read_all", "triad_gbps_all",
                                   "triad.gbps_all", NULL};
  return first_num(e, all ? ka : k1);
}

/* ---- loading ------------------------------------------------------------------------------------------------ */
int hwt_result_key(const hwt_result *r, char *buf, size_t len) {
  return snprintf(buf, len, "%s/%s/%s/%s/m%lld/t%lld/%s", r->op, r->impl, r->isa, r->shape, r->m, r->threads,
                  r->cache);
}

static int cmp_result_key(const void *a, const void *b) {
  const hwt_result *x = *(const hwt_result *const *)a, *y = *(const hwt_result *const *)b;
  int c = strcmp(x->key, y->key);
  if (c) return c;
  return (x > y) - (x < y);
}

void hwt_result_sort_by_key(const hwt_result **ptrs, size_t n) {
  if (n > 1) qsort(ptrs, n, sizeof *ptrs, cmp_result_key);
}

size_t hwt_lower_bound(const void *base, size_t n, size_t size, const void *key,
                       int (*cmp)(const void *elem, const void *key)) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cmp((const char *) base + mid * size, key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static int result_key_cmp(const void *elem, const void *key) {
  return strcmp((*(const hwt_result *const *) elem)->key, key);
}

const hwt_result *hwt_result_find(const hwt_result *const *sorted, size_t n, const char *key) {
  size_t at = hwt_lower_bound(sorted, n, sizeof *sorted, key, result_key_cmp);
  return at < n && strcmp(sorted[at]->key, key) == 0 ? sorted[at] : NULL;
}

int hwt_result_fleet_key(const hwt_result *r, char *buf, size_t len) {
  return snprintf(buf, len, "%s/%s/%s/m%lld/t%lld/%s", r->op, r->impl, r->shape, r->m, r->threads, r->cache);
}

int hwt_result_config_key(const hwt_result *r, char *buf, size_t len) {
  return snprintf(buf, len, "%s/%s/m%lld/t%lld/%s", r->op, r->shape, r->m, r->threads, r->cache);
}

static hwt_status need_str(json_t *obj, const char *key, const char **out, const char *label, size_t i, char *err,
                           size_t errlen) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_string(v) || json_string_length(v) == 0) {
    hwt_errf(err, errlen, "%s: results[%zu].%s: %s", label, i, key,
             v == NULL ? "missing" : "must be a non-empty string");
    return hwt_status_schema_error;
  }
  *out = json_string_value(v);
  return hwt_status_ok;
}

static hwt_status need_int(json_t *obj, const char *key, long long min, long long *out, const char *label, size_t i,
                           char *err, size_t errlen) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v) || json_integer_value(v) < min) {
    hwt_errf(err, errlen, "%s: results[%zu].%s: %s", label, i, key,
             v == NULL ? "missing" : "must be an integer >= 1");
    return hwt_status_schema_error;
  }
  *out = (long long)json_integer_value(v);
  return hwt_status_ok;
}

static const char *opt_str(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return json_is_string(v) ? json_string_value(v) : "";
}

static long long opt_int(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (json_is_integer(v)) return (long long)json_integer_value(v);
  if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v))) return (long long)json_real_value(v);
  return -1;
}

static hwt_status opt_num(json_t *obj, const char *key, double *out, const char *label, size_t i, char *err,
                          size_t errlen) {
  json_t *v = json_object_get(obj, key);
  *out = NAN;
  if (v == NULL || json_is_null(v)) return hwt_status_ok;
  if (!json_is_number(v)) {
    hwt_errf(err, errlen, "%s: results[%zu].%s: must be a number", label, i, key);
    return hwt_status_schema_error;
  }
  *out = json_number_value(v);
  return hwt_status_ok;
}

static hwt_status parse_result(json_t *o, size_t i, const char *label, hwt_result *r, char *err, size_t errlen) {
  hwt_status st;
  memset(r, 0, sizeof *r);
  r->index = i;
  if (!json_is_object(o)) {
    hwt_errf(err, errlen, "%s: results[%zu]: must be an object", label, i);
    return hwt_status_schema_error;
  }
  if ((st = need_str(o, "op", &r->op, label, i, err, errlen)) != hwt_status_ok) return st;
  if ((st = need_str(o, "impl", &r->impl, label, i, err, errlen)) != hwt_status_ok) return st;
  if ((st = need_str(o, "isa", &r->isa, label, i, err, errlen)) != hwt_status_ok) return st;
  if ((st = need_str(o, "shape", &r->shape, label, i, err, errlen)) != hwt_status_ok) return st;
  if ((st = need_str(o, "cache", &r->cache, label, i, err, errlen)) != hwt_status_ok) return st;
  if ((st = need_int(o, "m", 1, &r->m, label, i, err, errlen)) != hwt_status_ok) return st;
  if ((st = need_int(o, "threads", 1, &r->threads, label, i, err, errlen)) != hwt_status_ok) return st;
  r->name = opt_str(o, "name");
  r->dtype = opt_str(o, "dtype");
  r->bound = opt_str(o, "bound");
  r->n = opt_int(o, "n");
  r->k = opt_int(o, "k");
  r->samples = opt_int(o, "samples");
  r->iterations = opt_int(o, "iterations_per_sample");
  struct {
    const char *key;
    double *dst;
  } nums[] = {
      {"median_ns", &r->median_ns}, {"mean_ns", &r->mean_ns},       {"stddev_ns", &r->stddev_ns},
      {"mad_ns", &r->mad_ns},       {"min_ns", &r->min_ns},         {"p90_ns", &r->p90_ns},
      {"p99_ns", &r->p99_ns},       {"ci_low_ns", &r->ci_low_ns},   {"ci_high_ns", &r->ci_high_ns},
      {"cv", &r->cv},               {"flops", &r->flops},           {"gflops", &r->gflops},
      {"pct_peak", &r->pct_peak},   {"bytes_moved", &r->bytes_moved}, {"arithmetic_intensity", &r->ai},
  };
  for (size_t j = 0; j < sizeof nums / sizeof nums[0]; j++)
    if ((st = opt_num(o, nums[j].key, nums[j].dst, label, i, err, errlen)) != hwt_status_ok) return st;
  if (!(r->median_ns > 0)) {
    hwt_errf(err, errlen, "%s: results[%zu].median_ns: %s", label, i,
             json_object_get(o, "median_ns") == NULL ? "missing" : "must be a positive number");
    return hwt_status_schema_error;
  }
  if (!isfinite(r->ai) && r->flops > 0 && r->bytes_moved > 0) r->ai = r->flops / r->bytes_moved;
  if (!isfinite(r->gflops) && r->flops > 0) r->gflops = r->flops / r->median_ns;
  if (r->dtype[0] == '\0') r->dtype = strstr(r->op, "qs8") ? "qs8" : "f32";
  char key[512];
  hwt_result_key(r, key, sizeof key);
  r->key = strdup(key);
  if (r->key == NULL) {
    hwt_errf(err, errlen, "%s: out of memory", label);
    return hwt_status_out_of_memory;
  }
  json_t *w = json_object_get(o, "warnings");
  r->warnings = json_is_array(w) ? w : NULL;
  json_t *s = json_object_get(o, "samples_ns");
  if (s != NULL && !json_is_null(s)) {
    if (!json_is_array(s)) {
      hwt_errf(err, errlen, "%s: results[%zu].samples_ns: must be an array of numbers", label, i);
      free(r->key);
      r->key = NULL;
      return hwt_status_schema_error;
    }
    size_t n = json_array_size(s);
    if (n > 0) {
      r->samples_ns = malloc(n * sizeof *r->samples_ns);
      if (r->samples_ns == NULL) {
        hwt_errf(err, errlen, "%s: out of memory", label);
        free(r->key);
        r->key = NULL;
        return hwt_status_out_of_memory;
      }
      for (size_t j = 0; j < n; j++) {
        json_t *x = json_array_get(s, j);
        if (!json_is_number(x) || !(json_number_value(x) > 0) || !isfinite(json_number_value(x))) {
          hwt_errf(err, errlen, "%s: results[%zu].samples_ns[%zu]: must be a positive number", label, i, j);
          free(r->samples_ns);
          r->samples_ns = NULL;
          free(r->key);
          r->key = NULL;
          return hwt_status_schema_error;
        }
        r->samples_ns[j] = json_number_value(x);
      }
      r->nsamples = n;
    }
  }
  return hwt_status_ok;
}

hwt_status hwt_results_parse(const char *text, size_t len, const char *label, hwt_results_file *out, char *err,
                             size_t errlen) {
  hwt_results_file f;
  memset(&f, 0, sizeof f);
  hwt_status st = hwt_status_schema_error;
  json_error_t je;
  f.root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (f.root == NULL) {
    hwt_errf(err, errlen, "%s: line %d column %d: not valid JSON: %s", label, je.line, je.column, je.text);
    return hwt_status_parse_error;
  }
  f.path = strdup(label);
  if (f.path == NULL) {
    st = hwt_status_out_of_memory;
    goto error;
  }
  if (!json_is_object(f.root)) {
    hwt_errf(err, errlen, "%s: top level: must be an object with schema \"%s\"", label, HWT_RESULTS_SCHEMA);
    goto error;
  }
  const char *schema = hwt_ctx_str(f.root, "schema");
  if (schema == NULL) {
    if (json_object_get(f.root, "benchmarks") != NULL)
      hwt_errf(err, errlen, "%s: schema: missing; this looks like Google Benchmark JSON (--format gbench); "
               "compare/report read hwtune's own JSON (--format json)", label);
    else
      hwt_errf(err, errlen, "%s: schema: missing (expected \"%s\")", label, HWT_RESULTS_SCHEMA);
    goto error;
  }
  if (strcmp(schema, HWT_RESULTS_SCHEMA) != 0) {
    if (strncmp(schema, HWT_RESULTS_SCHEMA_PREFIX, strlen(HWT_RESULTS_SCHEMA_PREFIX)) == 0)
      hwt_errf(err, errlen, "%s: schema: \"%s\" is a version this hwtune does not read (it reads \"%s\")", label,
               schema, HWT_RESULTS_SCHEMA);
    else
      hwt_errf(err, errlen, "%s: schema: \"%s\" is not a results file (expected \"%s\")", label, schema,
               HWT_RESULTS_SCHEMA);
    goto error;
  }
  f.context = json_object_get(f.root, "context");
  if (!json_is_object(f.context)) {
    hwt_errf(err, errlen, "%s: context: %s", label, f.context == NULL ? "missing" : "must be an object");
    goto error;
  }
  f.fingerprint = hwt_ctx_str(f.context, "fingerprint");
  if (f.fingerprint == NULL) f.fingerprint = "";
  f.partial = json_is_true(json_object_get(f.root, "partial"));
  json_t *results = json_object_get(f.root, "results");
  if (!json_is_array(results)) {
    hwt_errf(err, errlen, "%s: results: %s", label, results == NULL ? "missing" : "must be an array");
    goto error;
  }
  size_t n = json_array_size(results);
  if (n > 0) {
    f.results = calloc(n, sizeof *f.results);
    if (f.results == NULL) {
      st = hwt_status_out_of_memory;
      hwt_errf(err, errlen, "%s: out of memory", label);
      goto error;
    }
  }
  for (size_t i = 0; i < n; i++) {
    st = parse_result(json_array_get(results, i), i, label, &f.results[i], err, errlen);
    if (st != hwt_status_ok) goto error;
    f.nresults = i + 1;
  }
  /* Keys must be unique: compare pairs by them. */
  if (f.nresults > 1) {
    const hwt_result **sorted = malloc(f.nresults * sizeof *sorted);
    if (sorted == NULL) {
      st = hwt_status_out_of_memory;
      hwt_errf(err, errlen, "%s: out of memory", label);
      goto error;
    }
    for (size_t i = 0; i < f.nresults; i++) sorted[i] = &f.results[i];
    hwt_result_sort_by_key(sorted, f.nresults);
    for (size_t i = 1; i < f.nresults; i++) {
      if (strcmp(sorted[i - 1]->key, sorted[i]->key) != 0) continue;
      size_t a = sorted[i - 1]->index, b = sorted[i]->index;
      hwt_errf(err, errlen, "%s: results[%zu]: configuration %s appears twice (also results[%zu])", label,
               a > b ? a : b, sorted[i]->key, a > b ? b : a);
      free(sorted);
      st = hwt_status_schema_error;
      goto error;
    }
    free(sorted);
  }
  *out = f;
  return hwt_status_ok;
error:
  hwt_results_free(&f);
  return st;
}

hwt_status hwt_results_load(const char *path, hwt_results_file *out, char *err, size_t errlen) {
  char *data = NULL;
  size_t len = 0;
  char ioerr[256];
  hwt_status st = hwt_read_file(path, &data, &len, ioerr, sizeof ioerr);
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "%s", ioerr);
    return st;
  }
  st = hwt_results_parse(data, len, path, out, err, errlen);
  free(data);
  return st;
}

void hwt_results_free(hwt_results_file *f) {
  if (f == NULL) return;
  for (size_t i = 0; i < f->nresults; i++) {
    free(f->results[i].samples_ns);
    free(f->results[i].key);
  }
  free(f->results);
  free(f->path);
  json_decref(f->root);
  memset(f, 0, sizeof *f);
}

/* ---- number formatting -------------------------------------------------------------------------------------- */
void hwt_fmt_num(double v, int digits, char *buf, size_t len) {
  if (!isfinite(v)) {
    snprintf(buf, len, "-");
    return;
  }
  if (fabs(v) >= 1e4 || (fabs(v) >= 100 && digits <= 3))
    snprintf(buf, len, "%.0f", v);
  else
    snprintf(buf, len, "%.*g", digits, v);
}

void hwt_fmt_time(double ns, char *buf, size_t len) {
  if (!isfinite(ns)) {
    snprintf(buf, len, "-");
    return;
  }
  const char *unit = "ns";
  double v = ns;
  if (ns >= 1e9) {
    v = ns / 1e9;
    unit = "s";
  } else if (ns >= 1e6) {
    v = ns / 1e6;
    unit = "ms";
  } else if (ns >= 1e3) {
    v = ns / 1e3;
    unit = "us";
  }
  char num[32];
  if (v >= 100)
    snprintf(num, sizeof num, "%.0f", v);
  else if (v >= 10)
    snprintf(num, sizeof num, "%.1f", v);
  else
    snprintf(num, sizeof num, "%.2f", v);
  snprintf(buf, len, "%s %s", num, unit);
}

void hwt_fmt_bytes(double bytes, char *buf, size_t len) {
  if (!isfinite(bytes) || bytes < 0) {
    snprintf(buf, len, "-");
    return;
  }
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    u++;
  }
  if (bytes == floor(bytes))
    snprintf(buf, len, "%.0f %s", bytes, units[u]);
  else
    snprintf(buf, len, "%.1f %s", bytes, units[u]);
}
