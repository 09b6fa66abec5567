/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune report` core: groups files by machine, orders results, and writes the Markdown and CSV forms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwt_report.h"

/* ---- grouping ----------------------------------------------------------------------------------------------- */
static const char *const op_order[] = {"gemm_f32", "gemm_qs8", "conv_f32", "conv_qs8", "dwconv_f32", "dwconv_qs8",
                                       NULL};

static int op_rank(const char *op) {
  for (int i = 0; op_order[i]; i++)
    if (strcmp(op, op_order[i]) == 0) return i;
  return 100;
}

static int impl_rank(const char *impl) {
  if (strcmp(impl, "xnnpack") == 0) return 0;
  if (strcmp(impl, "own") == 0) return 1;
  if (strcmp(impl, "reference") == 0) return 2;
  return 3;
}

/* Sort context: shapes ranked by first appearance, so tables follow the order the user asked for. */
typedef struct sort_item {
  const hwt_result *r;
  size_t shape_rank, seq;
} sort_item;

static int cmp_item(const void *x, const void *y) {
  const sort_item *a = x, *b = y;
  const hwt_result *p = a->r, *q = b->r;
  int c;
  if ((c = op_rank(p->op) - op_rank(q->op)) != 0) return c;
  if ((c = strcmp(p->op, q->op)) != 0) return c;
  if (a->shape_rank != b->shape_rank) return a->shape_rank < b->shape_rank ? -1 : 1;
  if (p->m != q->m) return p->m < q->m ? -1 : 1;
  if (p->threads != q->threads) return p->threads < q->threads ? -1 : 1;
  if ((c = strcmp(p->cache, q->cache)) != 0) return -c; /* warm before cold */
  if ((c = impl_rank(p->impl) - impl_rank(q->impl)) != 0) return c;
  if ((c = strcmp(p->impl, q->impl)) != 0) return c;
  if ((c = strcmp(p->isa, q->isa)) != 0) return c;
  return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

/* A string and where it was seen: sorting these by (string, position) groups equal strings in order of
 * appearance, which is how the report finds first appearances and lookups in O(n log n) instead of by scans. */
typedef struct str_pos {
  const char *s;
  size_t pos;
} str_pos;

static int cmp_str_pos(const void *x, const void *y) {
  const str_pos *a = x, *b = y;
  int c = strcmp(a->s, b->s);
  if (c) return c;
  return a->pos < b->pos ? -1 : (a->pos > b->pos);
}

static hwt_status sort_results(hwt_machine *m) {
  if (m->nresults < 2) return hwt_status_ok;
  sort_item *items = calloc(m->nresults, sizeof *items);
  str_pos *shapes = malloc(m->nresults * sizeof *shapes);
  if (items == NULL || shapes == NULL) {
    free(items);
    free(shapes);
    return hwt_status_out_of_memory;
  }
  /* a shape's rank is the position of its first appearance */
  for (size_t i = 0; i < m->nresults; i++) shapes[i] = (str_pos){m->results[i]->shape, i};
  qsort(shapes, m->nresults, sizeof *shapes, cmp_str_pos);
  size_t rank = 0;
  for (size_t i = 0; i < m->nresults; i++) {
    if (i == 0 || strcmp(shapes[i - 1].s, shapes[i].s) != 0) rank = shapes[i].pos;
    items[shapes[i].pos].shape_rank = rank;
  }
  free(shapes);
  for (size_t i = 0; i < m->nresults; i++) {
    items[i].r = m->results[i];
    items[i].seq = i;
  }
  qsort(items, m->nresults, sizeof *items, cmp_item);
  for (size_t i = 0; i < m->nresults; i++) m->results[i] = items[i].r;
  free(items);
  return hwt_status_ok;
}

/* ---- lookup tables ------------------------------------------------------------------------------------------ */
typedef struct peer_entry {
  const hwt_result *r;
  size_t pos;
} peer_entry;

typedef struct fleet_entry {
  const char *key;  /* the fleet key as hwt_result_fleet_key() writes it into 256 bytes, in the arena */
  const hwt_result *r;
  size_t pos;
} fleet_entry;

struct hwt_machine_index {
  peer_entry *xnn;  /* the xnnpack results by (op, shape, batch, threads, cache), then position */
  size_t nxnn;
  fleet_entry *fleet;  /* every result by (fleet key, position) */
  size_t nfleet;
  char *arena;
};

/* What an xnnpack peer shares with the result it is measured against (hwt_machine_xnnpack_peer). */
static int cmp_peer_fields(const hwt_result *p, const hwt_result *q) {
  int c;
  if ((c = strcmp(p->op, q->op)) != 0) return c;
  if ((c = strcmp(p->shape, q->shape)) != 0) return c;
  if (p->m != q->m) return p->m < q->m ? -1 : 1;
  if (p->threads != q->threads) return p->threads < q->threads ? -1 : 1;
  return strcmp(p->cache, q->cache);
}

/* hwt_lower_bound comparators: an element against a search key */
static int str_pos_key_cmp(const void *elem, const void *key) { return strcmp(((const str_pos *) elem)->s, key); }
static int peer_key_cmp(const void *elem, const void *key) {
  return cmp_peer_fields(((const peer_entry *) elem)->r, key);
}
static int fleet_key_cmp(const void *elem, const void *key) { return strcmp(((const fleet_entry *) elem)->key, key); }

static int cmp_peer_entry(const void *x, const void *y) {
  const peer_entry *a = x, *b = y;
  int c = cmp_peer_fields(a->r, b->r);
  if (c) return c;
  return a->pos < b->pos ? -1 : (a->pos > b->pos);
}

static int cmp_fleet_entry(const void *x, const void *y) {
  const fleet_entry *a = x, *b = y;
  int c = strcmp(a->key, b->key);
  if (c) return c;
  return a->pos < b->pos ? -1 : (a->pos > b->pos);
}

static void index_free(struct hwt_machine_index *ix) {
  if (ix == NULL) return;
  free(ix->xnn);
  free(ix->fleet);
  free(ix->arena);
  free(ix);
}

static hwt_status index_build(hwt_machine *m) {
  struct hwt_machine_index *ix = calloc(1, sizeof *ix);
  size_t n = m->nresults;
  if (ix == NULL) return hwt_status_out_of_memory;
  ix->xnn = malloc((n ? n : 1) * sizeof *ix->xnn);
  ix->fleet = malloc((n ? n : 1) * sizeof *ix->fleet);
  size_t arena_len = 0;
  for (size_t i = 0; i < n; i++) {
    char k[256];
    int len = hwt_result_fleet_key(m->results[i], k, sizeof k);
    arena_len += (len < 0 ? 0 : (size_t)len >= sizeof k ? sizeof k - 1 : (size_t)len) + 1;
  }
  ix->arena = malloc(arena_len ? arena_len : 1);
  if (ix->xnn == NULL || ix->fleet == NULL || ix->arena == NULL) {
    index_free(ix);
    return hwt_status_out_of_memory;
  }
  char *at = ix->arena;
  for (size_t i = 0; i < n; i++) {
    const hwt_result *r = m->results[i];
    if (strcmp(r->impl, "xnnpack") == 0) ix->xnn[ix->nxnn++] = (peer_entry){r, i};
    char k[256];
    if (hwt_result_fleet_key(r, k, sizeof k) < 0) k[0] = '\0';
    size_t len = strlen(k);
    memcpy(at, k, len + 1);
    ix->fleet[ix->nfleet++] = (fleet_entry){at, r, i};
    at += len + 1;
  }
  if (ix->nxnn > 1) qsort(ix->xnn, ix->nxnn, sizeof *ix->xnn, cmp_peer_entry);
  if (ix->nfleet > 1) qsort(ix->fleet, ix->nfleet, sizeof *ix->fleet, cmp_fleet_entry);
  m->index = ix;
  return hwt_status_ok;
}

hwt_status hwt_machines_group(const hwt_results_file *files, size_t nfiles, hwt_machines *out) {
  hwt_machines ms = {0};
  ms.m = calloc(nfiles ? nfiles : 1, sizeof *ms.m);
  if (ms.m == NULL) return hwt_status_out_of_memory;
  for (size_t f = 0; f < nfiles; f++) {
    const hwt_results_file *file = &files[f];
    hwt_machine *m = NULL;
    for (size_t i = 0; i < ms.count && file->fingerprint[0]; i++)
      if (strcmp(ms.m[i].fingerprint, file->fingerprint) == 0) m = &ms.m[i];
    if (m == NULL) {
      m = &ms.m[ms.count++];
      m->fingerprint = file->fingerprint;
      m->file = file;
    }
    const hwt_results_file **fl = realloc(m->files, (m->nfiles + 1) * sizeof *fl);
    const hwt_result **rl = realloc(m->results, (m->nresults + file->nresults + 1) * sizeof *rl);
    if (fl) m->files = fl;
    if (rl) m->results = rl;
    if (fl == NULL || rl == NULL) {
      hwt_machines_free(&ms);
      return hwt_status_out_of_memory;
    }
    m->files[m->nfiles++] = file;
    /* a configuration already measured in an earlier file of this machine is replaced by this file's */
    size_t before = m->nresults;
    str_pos *sorted = NULL;  /* the earlier files' keys with their positions in m->results */
    if (before > 0 && file->nresults > 0) {
      sorted = malloc(before * sizeof *sorted);
      if (sorted == NULL) {
        hwt_machines_free(&ms);
        return hwt_status_out_of_memory;
      }
      for (size_t j = 0; j < before; j++) sorted[j] = (str_pos){m->results[j]->key, j};
      qsort(sorted, before, sizeof *sorted, cmp_str_pos);
    }
    for (size_t i = 0; i < file->nresults; i++) {
      const hwt_result *r = &file->results[i];
      const str_pos *old = NULL;
      if (sorted) {
        size_t at = hwt_lower_bound(sorted, before, sizeof *sorted, r->key, str_pos_key_cmp);
        if (at < before && strcmp(sorted[at].s, r->key) == 0) old = &sorted[at];
      }
      if (old == NULL) {
        m->results[m->nresults++] = r;
        continue;
      }
      /* keys are unique in a file, so one earlier result per key; a second result of this file with the same
       * key cannot exist (hwt_results_load rejects it) */
      m->results[old->pos] = r;
      m->nreplaced++;
    }
    free(sorted);
  }
  for (size_t i = 0; i < ms.count; i++)
    if (sort_results(&ms.m[i]) != hwt_status_ok || index_build(&ms.m[i]) != hwt_status_ok) {
      hwt_machines_free(&ms);
      return hwt_status_out_of_memory;
    }
  *out = ms;
  return hwt_status_ok;
}

void hwt_machines_free(hwt_machines *ms) {
  if (ms == NULL) return;
  for (size_t i = 0; i < ms->count; i++) {
    free(ms->m[i].files);
    free(ms->m[i].results);
    index_free(ms->m[i].index);
  }
  free(ms->m);
  memset(ms, 0, sizeof *ms);
}

const hwt_result *hwt_machine_xnnpack_peer(const hwt_machine *m, const hwt_result *r) {
  if (m->index != NULL) {
    /* the first in the report's order: the lowest position among equal fields */
    const peer_entry *e = m->index->xnn;
    size_t lo = hwt_lower_bound(e, m->index->nxnn, sizeof *e, r, peer_key_cmp);
    return lo < m->index->nxnn && cmp_peer_fields(e[lo].r, r) == 0 ? e[lo].r : NULL;
  }
  for (size_t i = 0; i < m->nresults; i++) {
    const hwt_result *x = m->results[i];
    if (strcmp(x->impl, "xnnpack") == 0 && cmp_peer_fields(x, r) == 0) return x;
  }
  return NULL;
}

hwt_status hwt_fleet_rows_build(const hwt_machines *ms, hwt_fleet_rows *out) {
  hwt_fleet_rows rows = {0};
  size_t total = 0;
  for (size_t i = 0; i < ms->count; i++) total += ms->m[i].nresults;
  rows.keys = malloc((total ? total : 1) * sizeof *rows.keys);
  char(*keys)[256] = malloc((total ? total : 1) * sizeof *keys);
  str_pos *sorted = malloc((total ? total : 1) * sizeof *sorted);
  bool *first = calloc(total ? total : 1, sizeof *first);
  if (rows.keys == NULL || keys == NULL || sorted == NULL || first == NULL) {
    free(rows.keys);
    free(keys);
    free(sorted);
    free(first);
    return hwt_status_out_of_memory;
  }
  /* rows in order of first appearance over the machines: sort (key, appearance), keep the first of each key */
  size_t n = 0;
  for (size_t i = 0; i < ms->count; i++)
    for (size_t j = 0; j < ms->m[i].nresults; j++, n++) {
      if (hwt_result_fleet_key(ms->m[i].results[j], keys[n], sizeof keys[n]) < 0) keys[n][0] = '\0';
      sorted[n] = (str_pos){keys[n], n};
    }
  if (n > 1) qsort(sorted, n, sizeof *sorted, cmp_str_pos);
  for (size_t i = 0; i < n; i++)
    if (i == 0 || strcmp(sorted[i - 1].s, sorted[i].s) != 0) first[sorted[i].pos] = true;
  for (size_t i = 0; i < n; i++)
    if (first[i]) memcpy(rows.keys[rows.count++], keys[i], sizeof keys[i]);
  free(keys);
  free(sorted);
  free(first);
  *out = rows;
  return hwt_status_ok;
}

void hwt_fleet_rows_free(hwt_fleet_rows *rows) {
  if (rows == NULL) return;
  free(rows->keys);
  memset(rows, 0, sizeof *rows);
}

const hwt_result *hwt_fleet_cell(const hwt_machine *m, const char *key) {
  const hwt_result *best = NULL;
  if (m->index != NULL) {
    const fleet_entry *e = m->index->fleet;
    size_t lo = hwt_lower_bound(e, m->index->nfleet, sizeof *e, key, fleet_key_cmp);
    /* equal keys in the report's order, so ties and NaN go as in the scan below */
    for (; lo < m->index->nfleet && strcmp(e[lo].key, key) == 0; lo++)
      if (best == NULL || e[lo].r->median_ns < best->median_ns) best = e[lo].r;
    return best;
  }
  for (size_t i = 0; i < m->nresults; i++) {
    char k[256];
    hwt_result_fleet_key(m->results[i], k, sizeof k);
    if (strcmp(k, key) == 0 && (best == NULL || m->results[i]->median_ns < best->median_ns)) best = m->results[i];
  }
  return best;
}

/* ---- environment lines, shared by md and html (report_html.c has its own markup) ----------------------------- */
static const char *str_or(const json_t *ctx, const char *path, const char *dflt) {
  const char *s = hwt_ctx_str(ctx, path);
  return s && *s ? s : dflt;
}

static void fmt_int(const json_t *ctx, const char *path, char *buf, size_t len) {
  double v = hwt_ctx_num(ctx, path);
  if (isfinite(v))
    snprintf(buf, len, "%.0f", v);
  else
    snprintf(buf, len, "?");
}

typedef void (*env_row_fn)(hwt_sb *out, const char *label, const char *value, void *ud);

/* Calls row() once per environment line. Values are plain text. */
static void env_rows(const hwt_machine *m, env_row_fn row, hwt_sb *out, void *ud) {
  const json_t *c = m->file->context;
  hwt_sb v = {0};
  char a[64], b[64], d[64];

  hwt_sb_printf(&v, "%s", str_or(c, "cpu.brand", "unknown CPU"));
  fmt_int(c, "cpu.family", a, sizeof a);
  fmt_int(c, "cpu.model", b, sizeof b);
  fmt_int(c, "cpu.stepping", d, sizeof d);
  hwt_sb_printf(&v, " (%s, family %s model %s stepping %s", str_or(c, "cpu.vendor", "?"), a, b, d);
  const char *ua = hwt_ctx_str(c, "cpu.microarchitecture");
  if (ua == NULL) ua = hwt_ctx_str(c, "cpu.uarch");
  if (ua && *ua) hwt_sb_printf(&v, ", %s", ua);
  hwt_sb_puts(&v, ")");
  if (json_is_true(hwt_ctx_get(c, "cpu.hypervisor"))) hwt_sb_puts(&v, ", virtual machine");
  row(out, "CPU", v.buf, ud);
  v.len = 0;

  hwt_sb_printf(&v, "%s", str_or(c, "isa_level", "?"));
  json_t *isa = hwt_ctx_get(c, "isa");
  if (json_is_object(isa)) {
    const char *key;
    json_t *val;
    size_t n = 0;
    json_object_foreach(isa, key, val) {
      if (json_is_true(val)) hwt_sb_printf(&v, "%s%s", n++ ? " " : "; features: ", key);
    }
  }
  row(out, "ISA level", v.buf, ud);
  v.len = 0;

  json_t *caches = hwt_ctx_get(c, "caches");
  if (json_is_array(caches)) {
    size_t i;
    json_t *e;
    json_array_foreach(caches, i, e) {
      double lvl = hwt_ctx_num(e, "level"), size = hwt_ctx_num(e, "size_bytes");
      const char *type = str_or(e, "type", "");
      char sz[32];
      hwt_fmt_bytes(size, sz, sizeof sz);
      hwt_sb_printf(&v, "%sL%.0f%s %s", i ? ", " : "", lvl,
                    strcmp(type, "data") == 0 ? "d" : strcmp(type, "instruction") == 0 ? "i" : "", sz);
      double shared = hwt_ctx_num(e, "shared_by_cpus");
      if (isfinite(shared) && shared > 1) hwt_sb_printf(&v, " per %.0f CPUs", shared);
      if (json_is_false(hwt_ctx_get(e, "plausible"))) hwt_sb_puts(&v, " (implausible, not used)");
    }
  }
  if (v.len) row(out, "Caches", v.buf, ud);
  v.len = 0;

  char pk[16], nu[16], co[16], pu[16], smt[16];
  fmt_int(c, "topology.packages", pk, sizeof pk);
  fmt_int(c, "topology.numa_nodes", nu, sizeof nu);
  fmt_int(c, "topology.cores", co, sizeof co);
  fmt_int(c, "topology.pus", pu, sizeof pu);
  fmt_int(c, "topology.smt", smt, sizeof smt);
  hwt_sb_printf(&v, "%s package(s), %s NUMA node(s), %s core(s), %s logical CPU(s), SMT %s", pk, nu, co, pu, smt);
  row(out, "Topology", v.buf, ud);
  v.len = 0;

  fmt_int(c, "usable.cpus", a, sizeof a);
  hwt_sb_printf(&v, "%s", a);
  json_t *aff = hwt_ctx_get(c, "usable.affinity");
  if (json_is_array(aff)) {
    size_t i;
    json_t *e;
    hwt_sb_puts(&v, " (affinity ");
    json_array_foreach(aff, i, e) {
      if (i == 16) {
        hwt_sb_puts(&v, ",...");
        break;
      }
      hwt_sb_printf(&v, "%s%lld", i ? "," : "", (long long)json_integer_value(e));
    }
    hwt_sb_puts(&v, ")");
  }
  double q = hwt_ctx_num(c, "usable.cgroup_quota_cpus");
  if (isfinite(q)) hwt_sb_printf(&v, ", cgroup quota %.2f CPUs", q);
  row(out, "Usable CPUs", v.buf, ud);
  v.len = 0;

  double mem = hwt_ctx_num(c, "memory.total_bytes");
  if (isfinite(mem)) {
    hwt_fmt_bytes(mem, a, sizeof a);
    hwt_sb_printf(&v, "%s total", a);
    row(out, "Memory", v.buf, ud);
    v.len = 0;
  }

  json_t *peak = hwt_ctx_get(c, "peak");
  if (json_is_object(peak)) {
    for (int int8 = 0; int8 < 2; int8++) {
      json_t *g = json_object_get(peak, int8 ? "int8" : "fp32");
      if (!json_is_object(g)) continue;
      const char *key;
      json_t *val;
      json_object_foreach(g, key, val) {
        double p1 = hwt_ctx_peak(c, int8, key, false), pa = hwt_ctx_peak(c, int8, key, true);
        if (!isfinite(p1) && !isfinite(pa)) continue;
        hwt_fmt_num(p1, 3, a, sizeof a);
        hwt_fmt_num(pa, 3, b, sizeof b);
        hwt_sb_printf(&v, "%s%s %s %s / %s %s", v.len ? "; " : "", int8 ? "int8" : "fp32", key, a, b,
                      int8 ? "GOP/s" : "GFLOP/s");
      }
    }
    if (v.len) row(out, "Peak (1 thread / all usable)", v.buf, ud);
    v.len = 0;
  }
  static const char *const levels[] = {"l1", "l2", "l3", "dram"};
  for (int i = 0; i < 4; i++) {
    double b1 = hwt_ctx_bandwidth(c, levels[i], false), ba = hwt_ctx_bandwidth(c, levels[i], true);
    if (!isfinite(b1) && !isfinite(ba)) continue;
    hwt_fmt_num(b1, 3, a, sizeof a);
    hwt_fmt_num(ba, 3, b, sizeof b);
    hwt_sb_printf(&v, "%s%s %s / %s GB/s", v.len ? "; " : "", i == 3 ? "DRAM" : (i == 0 ? "L1" : i == 1 ? "L2" : "L3"),
                  a, b);
  }
  if (v.len) row(out, "Bandwidth (1 thread / all usable)", v.buf, ud);
  v.len = 0;

  hwt_sb_printf(&v, "%s", str_or(c, "build.compiler", "?"));
  const char *flags = hwt_ctx_str(c, "build.c_flags");
  if (flags && *flags) hwt_sb_printf(&v, ", flags '%s'", flags);
  hwt_sb_printf(&v, ", %s build", str_or(c, "build.build_type", "?"));
  row(out, "Compiler", v.buf, ud);
  v.len = 0;

  hwt_sb_printf(&v, "hwtune %s (commit %s), XNNPACK %s", str_or(c, "build.hwtune_version", "?"),
                str_or(c, "build.git_commit", "?"), str_or(c, "build.xnnpack_version", "?"));
  row(out, "Versions", v.buf, ud);
  v.len = 0;

  for (size_t f = 0; f < m->nfiles; f++) {
    const json_t *fc = m->files[f]->context;
    hwt_sb_printf(&v, "%s%s", f ? " | " : "", str_or(fc, "command_line", "?"));
  }
  row(out, m->nfiles > 1 ? "Commands" : "Command", v.buf, ud);
  v.len = 0;

  for (size_t f = 0; f < m->nfiles; f++) {
    const hwt_results_file *file = m->files[f];
    hwt_sb_printf(&v, "%s%s to %s", f ? "; " : "", str_or(file->context, "start_time", "?"),
                  str_or(file->context, "end_time", "?"));
    if (file->partial) hwt_sb_puts(&v, " (PARTIAL: interrupted)");
  }
  row(out, "Run", v.buf, ud);
  v.len = 0;

  double tov = hwt_ctx_num(c, "timer_overhead_ns");
  if (isfinite(tov)) {
    hwt_sb_printf(&v, "%.1f ns per clock read", tov);
    row(out, "Timer overhead", v.buf, ud);
    v.len = 0;
  }
  for (size_t f = 0; f < m->nfiles; f++) {
    json_t *w = hwt_ctx_get(m->files[f]->context, "warnings");
    size_t i;
    json_t *e;
    if (json_is_array(w)) json_array_foreach(w, i, e) {
        if (json_is_string(e)) hwt_sb_printf(&v, "%s%s", v.len ? "; " : "", json_string_value(e));
      }
  }
  if (m->nreplaced) hwt_sb_printf(&v, "%s%zu configuration(s) measured in two files: the later file's figures are shown",
                                  v.len ? "; " : "", m->nreplaced);
  if (v.len) row(out, "Warnings", v.buf, ud);
  hwt_sb_free(&v);
}

/* ---- per-result cells --------------------------------------------------------------------------------------- */
/* Whole models (model_*, identity_*): their peer is ONNX Runtime (bench/peers/), not XNNPACK. */
static bool is_model_op(const char *op) { return strncmp(op, "model_", 6) == 0 || strncmp(op, "identity_", 9) == 0; }

/* The onnxruntime result of the same op, shape, batch, threads and cache (a scan: whole-model results are few). */
static const hwt_result *onnxruntime_peer(const hwt_machine *m, const hwt_result *r) {
  if (strcmp(r->impl, "onnxruntime") == 0) return NULL;
  for (size_t i = 0; i < m->nresults; i++) {
    const hwt_result *x = m->results[i];
    if (strcmp(x->impl, "onnxruntime") == 0 && cmp_peer_fields(x, r) == 0) return x;
  }
  return NULL;
}

static void speedup_cell(const hwt_machine *m, const hwt_result *r, char *buf, size_t len) {
  const hwt_result *x = is_model_op(r->op)                ? onnxruntime_peer(m, r)
                        : strcmp(r->impl, "xnnpack") == 0 ? NULL
                                                          : hwt_machine_xnnpack_peer(m, r);
  if (x == NULL)
    snprintf(buf, len, "-");
  else
    snprintf(buf, len, "%.2fx", x->median_ns / r->median_ns);
}

/* Summary of ours vs XNNPACK per op: count, geometric mean, min and max speed-up. */
typedef struct op_summary {
  const char *op;
  size_t n;
  double log_sum, min, max;
} op_summary;

static size_t summarize(const hwt_machine *m, op_summary *s, size_t cap) {
  size_t ns = 0;
  for (size_t i = 0; i < m->nresults; i++) {
    const hwt_result *r = m->results[i];
    if (strcmp(r->impl, "own") != 0) continue;
    const hwt_result *x = hwt_machine_xnnpack_peer(m, r);
    if (x == NULL) continue;
    double sp = x->median_ns / r->median_ns;
    size_t j = 0;
    while (j < ns && strcmp(s[j].op, r->op) != 0) j++;
    if (j == ns) {
      if (ns == cap) continue;
      s[ns++] = (op_summary){r->op, 0, 0, INFINITY, 0};
    }
    s[j].n++;
    s[j].log_sum += log(sp);
    if (sp < s[j].min) s[j].min = sp;
    if (sp > s[j].max) s[j].max = sp;
  }
  return ns;
}

static const char *gflops_unit(const hwt_result *r) { return strcmp(r->dtype, "qs8") == 0 ? "GOP/s" : "GFLOP/s"; }

/* ---- Markdown ----------------------------------------------------------------------------------------------- */
static void md_escape(hwt_sb *out, const char *s) {
  for (; *s; s++) {
    if (*s == '|')
      hwt_sb_puts(out, "\\|");
    else if (*s == '\n')
      hwt_sb_puts(out, " ");
    else {
      char c[2] = {*s, 0};
      hwt_sb_puts(out, c);
    }
  }
}

static void md_env_row(hwt_sb *out, const char *label, const char *value, void *ud) {
  (void)ud;
  hwt_sb_printf(out, "| %s | ", label);
  bool code = strncmp(label, "Command", 7) == 0;
  if (code) hwt_sb_puts(out, "`");
  md_escape(out, value);
  if (code) hwt_sb_puts(out, "`");
  hwt_sb_puts(out, " |\n");
}

static void short_fp(const char *fp, char *buf, size_t len) {
  snprintf(buf, len, "%.12s", fp && *fp ? fp : "unknown");
}

static void md_machine(const hwt_machine *m, size_t idx, size_t count, hwt_sb *out) {
  char fp[16];
  short_fp(m->fingerprint, fp, sizeof fp);
  if (count > 1)
    hwt_sb_printf(out, "## Machine %zu: %s (fingerprint `%s`)\n\n", idx + 1, str_or(m->file->context, "cpu.brand", "?"),
                  fp);
  else
    hwt_sb_printf(out, "## Environment (fingerprint `%s`)\n\n", fp);
  hwt_sb_puts(out, "| | |\n|---|---|\n");
  env_rows(m, md_env_row, out, NULL);
  hwt_sb_puts(out, "\n");

  op_summary s[16];
  size_t ns = summarize(m, s, 16);
  if (ns) {
    hwt_sb_puts(out, "### Ours vs XNNPACK\n\nSpeed-up = XNNPACK median / ours, over every configuration measured with "
                     "both (> 1: ours is faster).\n\n| op | configurations | geomean speed-up | min | max |\n"
                     "|---|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < ns; i++)
      hwt_sb_printf(out, "| %s | %zu | %.2fx | %.2fx | %.2fx |\n", s[i].op, s[i].n, exp(s[i].log_sum / (double)s[i].n),
                    s[i].min, s[i].max);
    hwt_sb_puts(out, "\n");
  }

  for (size_t i = 0; i < m->nresults;) {
    const char *op = m->results[i]->op;
    const size_t op_start = i;
    hwt_sb_printf(out, "### %s\n\n", op);
    hwt_sb_printf(out, "| shape | batch | threads | cache | impl | isa | median | p99 | %s | %% peak | bound | "
                       "vs %s |\n|---|---:|---:|---|---|---|---:|---:|---:|---:|---|---:|\n",
                  gflops_unit(m->results[i]), is_model_op(op) ? "ONNX Runtime" : "XNNPACK");
    size_t warned = 0;
    for (; i < m->nresults && strcmp(m->results[i]->op, op) == 0; i++) {
      const hwt_result *r = m->results[i];
      char med[32], p99[32], gf[32], pp[32], sp[32];
      hwt_fmt_time(r->median_ns, med, sizeof med);
      hwt_fmt_time(r->p99_ns, p99, sizeof p99);
      hwt_fmt_num(r->gflops, 3, gf, sizeof gf);
      snprintf(pp, sizeof pp, isfinite(r->pct_peak) ? "%.1f" : "-", r->pct_peak);
      speedup_cell(m, r, sp, sizeof sp);
      bool w = r->warnings && json_array_size(r->warnings) > 0;
      if (w) warned++;
      hwt_sb_puts(out, "| ");
      md_escape(out, r->shape);
      hwt_sb_printf(out, " | %lld | %lld | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r->m, r->threads, r->cache,
                    r->impl, r->isa, med, p99, gf, pp, r->bound[0] ? r->bound : "-", sp);
      (void)w;
    }
    hwt_sb_puts(out, "\n");
    if (warned) {
      hwt_sb_printf(out, "%zu configuration(s) above carry bench warnings:\n\n", warned);
      /* walk back over this op's rows (contiguous: sorted by op) to list them */
      for (size_t j = op_start; j < i; j++) {
        const hwt_result *r = m->results[j];
        if (strcmp(r->op, op) != 0 || r->warnings == NULL || json_array_size(r->warnings) == 0) continue;
        char k[256];
        hwt_result_key(r, k, sizeof k);
        hwt_sb_printf(out, "- `%s`: ", k);
        size_t wi;
        json_t *e;
        json_array_foreach(r->warnings, wi, e) {
          if (json_is_string(e)) {
            if (wi) hwt_sb_puts(out, "; ");
            md_escape(out, json_string_value(e));
          }
        }
        hwt_sb_puts(out, "\n");
      }
      hwt_sb_puts(out, "\n");
    }
  }
}

static void md_cross(const hwt_machines *ms, hwt_sb *out) {
  hwt_sb_puts(out, "## Across machines\n\n| machine | fingerprint | CPU | ISA level | usable CPUs | compiler | commit |\n"
                   "|---|---|---|---|---:|---|---|\n");
  for (size_t i = 0; i < ms->count; i++) {
    const json_t *c = ms->m[i].file->context;
    char fp[16], u[16];
    short_fp(ms->m[i].fingerprint, fp, sizeof fp);
    fmt_int(c, "usable.cpus", u, sizeof u);
    hwt_sb_printf(out, "| M%zu | `%s` | ", i + 1, fp);
    md_escape(out, str_or(c, "cpu.brand", "?"));
    hwt_sb_printf(out, " | %s | %s | ", str_or(c, "isa_level", "?"), u);
    md_escape(out, str_or(c, "build.compiler", "?"));
    hwt_sb_printf(out, " | %s |\n", str_or(c, "build.git_commit", "?"));
  }
  hwt_sb_puts(out, "\nGFLOP/s (GOP/s for int8) and median latency per configuration; `-` = not measured there.\n\n"
                   "| configuration |");
  for (size_t i = 0; i < ms->count; i++) hwt_sb_printf(out, " M%zu |", i + 1);
  hwt_sb_puts(out, "\n|---|");
  for (size_t i = 0; i < ms->count; i++) hwt_sb_puts(out, "---:|");
  hwt_sb_puts(out, "\n");
  hwt_fleet_rows rows;
  if (hwt_fleet_rows_build(ms, &rows) != hwt_status_ok) {
    out->oom = true;
    return;
  }
  for (size_t ri = 0; ri < rows.count; ri++) {
    hwt_sb_puts(out, "| `");
    md_escape(out, rows.keys[ri]);
    hwt_sb_puts(out, "` |");
    for (size_t cm = 0; cm < ms->count; cm++) {
      const hwt_result *x = hwt_fleet_cell(&ms->m[cm], rows.keys[ri]);
      if (x == NULL) {
        hwt_sb_puts(out, " - |");
        continue;
      }
      char gf[32], t[32];
      hwt_fmt_num(x->gflops, 3, gf, sizeof gf);
      hwt_fmt_time(x->median_ns, t, sizeof t);
      hwt_sb_printf(out, " %s (%s%s%s) |", gf, t, strcmp(x->isa, "auto") ? ", " : "", strcmp(x->isa, "auto") ? x->isa : "");
    }
    hwt_sb_puts(out, "\n");
  }
  hwt_fleet_rows_free(&rows);
  hwt_sb_puts(out, "\n");
}

void hwt_rpt_md(const hwt_machines *ms, hwt_sb *out) {
  hwt_sb_puts(out, "# hwtune results\n\n");
  size_t nfiles = 0;
  for (size_t i = 0; i < ms->count; i++) nfiles += ms->m[i].nfiles;
  hwt_sb_printf(out, "Made by `hwtune report` from %zu file(s) (%zu machine(s)):", nfiles, ms->count);
  for (size_t i = 0; i < ms->count; i++)
    for (size_t f = 0; f < ms->m[i].nfiles; f++) hwt_sb_printf(out, " `%s`", ms->m[i].files[f]->path);
  hwt_sb_puts(out, ". Times are per operator call; GFLOP/s = 2*m*n*k / median (GOP/s for int8); % peak against "
                   "the measured peak of the same ISA and thread count; bound from the roofline.\n\n");
  if (ms->count > 1) md_cross(ms, out);
  for (size_t i = 0; i < ms->count; i++) md_machine(&ms->m[i], i, ms->count, out);
}

/* ---- CSV ---------------------------------------------------------------------------------------------------- */
static void csv_str(hwt_sb *out, const char *s) {
  bool quote = strpbrk(s, ",\"\n\r") != NULL;
  if (!quote) {
    hwt_sb_puts(out, s);
    return;
  }
  hwt_sb_puts(out, "\"");
  for (; *s; s++) {
    if (*s == '"')
      hwt_sb_puts(out, "\"\"");
    else {
      char c[2] = {*s, 0};
      hwt_sb_puts(out, c);
    }
  }
  hwt_sb_puts(out, "\"");
}

static void csv_num(hwt_sb *out, double v) {
  if (isfinite(v)) hwt_sb_printf(out, "%.10g", v);
}

static void csv_int(hwt_sb *out, long long v) {
  if (v >= 0) hwt_sb_printf(out, "%lld", v);
}

void hwt_rpt_csv(const hwt_machines *ms, hwt_sb *out) {
  hwt_sb_puts(out, "fingerprint,cpu,file,name,op,dtype,impl,isa,shape,m,n,k,threads,cache,samples,median_ns,mean_ns,"
                   "p90_ns,p99_ns,ci_low_ns,ci_high_ns,cv,gflops,pct_peak,arithmetic_intensity,bound,"
                   "speedup_vs_xnnpack,warnings\n");
  for (size_t i = 0; i < ms->count; i++) {
    const hwt_machine *m = &ms->m[i];
    for (size_t j = 0; j < m->nresults; j++) {
      const hwt_result *r = m->results[j];
      const char *path = "";
      for (size_t f = 0; f < m->nfiles; f++)
        if (r >= m->files[f]->results && r < m->files[f]->results + m->files[f]->nresults) path = m->files[f]->path;
      char key[256];
      hwt_result_key(r, key, sizeof key);
      csv_str(out, m->fingerprint);
      hwt_sb_puts(out, ",");
      csv_str(out, str_or(m->file->context, "cpu.brand", ""));
      hwt_sb_puts(out, ",");
      csv_str(out, path);
      hwt_sb_puts(out, ",");
      csv_str(out, r->name[0] ? r->name : key);
      const char *strs[] = {r->op, r->dtype, r->impl, r->isa, r->shape};
      for (size_t s = 0; s < 5; s++) {
        hwt_sb_puts(out, ",");
        csv_str(out, strs[s]);
      }
      long long ints[] = {r->m, r->n, r->k, r->threads};
      for (size_t s = 0; s < 4; s++) {
        hwt_sb_puts(out, ",");
        csv_int(out, ints[s]);
      }
      hwt_sb_puts(out, ",");
      csv_str(out, r->cache);
      hwt_sb_puts(out, ",");
      csv_int(out, r->samples);
      double nums[] = {r->median_ns, r->mean_ns, r->p90_ns, r->p99_ns, r->ci_low_ns, r->ci_high_ns,
                       r->cv,        r->gflops,  r->pct_peak, r->ai};
      for (size_t s = 0; s < sizeof nums / sizeof nums[0]; s++) {
        hwt_sb_puts(out, ",");
        csv_num(out, nums[s]);
      }
      hwt_sb_puts(out, ",");
      csv_str(out, r->bound);
      hwt_sb_puts(out, ",");
      const hwt_result *x = strcmp(r->impl, "xnnpack") == 0 ? NULL : hwt_machine_xnnpack_peer(m, r);
      if (x) csv_num(out, x->median_ns / r->median_ns);
      hwt_sb_puts(out, ",");
      hwt_sb w = {0};
      if (r->warnings) {
        size_t wi;
        json_t *e;
        json_array_foreach(r->warnings, wi, e) {
          if (json_is_string(e)) hwt_sb_printf(&w, "%s%s", w.len ? "; " : "", json_string_value(e));
        }
      }
      csv_str(out, w.buf ? w.buf : "");
      hwt_sb_free(&w);
      hwt_sb_puts(out, "\n");
    }
  }
}

hwt_status hwt_rpt_render(const hwt_results_file *files, size_t nfiles, hwt_report_format fmt, hwt_sb *out) {
  hwt_machines ms;
  hwt_status st = hwt_machines_group(files, nfiles, &ms);
  if (st != hwt_status_ok) return st;
  switch (fmt) {
    case hwt_repfmt_csv: hwt_rpt_csv(&ms, out); break;
    case hwt_repfmt_html: hwt_rpt_html(&ms, out); break;
    default: hwt_rpt_md(&ms, out); break;
  }
  hwt_machines_free(&ms);
  return out->oom ? hwt_status_out_of_memory : hwt_status_ok;
}

/* The HTML report lists the same environment facts and summary as the Markdown one. */
void hwt_rpt_env_rows(const hwt_machine *m, void (*row)(hwt_sb *, const char *, const char *, void *), hwt_sb *out,
                         void *ud) {
  env_rows(m, row, out, ud);
}

size_t hwt_rpt_op_summary(const hwt_machine *m, const char **ops, size_t *counts, double *geo, double *mn,
                             double *mx, size_t cap) {
  op_summary s[16];
  size_t ns = summarize(m, s, cap < 16 ? cap : 16);
  for (size_t i = 0; i < ns; i++) {
    ops[i] = s[i].op;
    counts[i] = s[i].n;
    geo[i] = exp(s[i].log_sum / (double)s[i].n);
    mn[i] = s[i].min;
    mx[i] = s[i].max;
  }
  return ns;
}
