/* SPDX-License-Identifier: Apache-2.0 */
/* Writes hwtune.profile/1 documents: one entry per line, merged with the existing profile, atomically. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hwt_common.h"
#include "hwtune/profile.h"
#include "tuner.h"

static const char *impl_name(hwt_bench_impl impl) { return hwt_bench_impl_name(impl); }

static json_t *choice_json(const hwt_tune_candidate *c, size_t batch) {
  json_t *o = json_object();
  json_object_set_new(o, "impl", json_string(impl_name(c->impl)));
  json_object_set_new(o, "isa", json_string(c->impl == hwt_bench_own ? hwt_isa_name(c->isa) : "auto"));
  json_object_set_new(o, "threads", json_integer(c->threads));
  if (c->impl == hwt_bench_own) {
    json_object_set_new(o, "mc", json_integer((json_int_t)c->blocking.mc));
    json_object_set_new(o, "kc", json_integer((json_int_t)c->blocking.kc));
    json_object_set_new(o, "nc", json_integer((json_int_t)c->blocking.nc));
  }
  if (batch) json_object_set_new(o, "batch", json_integer((json_int_t)batch));
  return o;
}

json_t *hwt_tune_entry_json(const hwt_tune_problem *p, const hwt_tune_outcome *o, size_t choice_batch,
                            double throughput_per_s) {
  json_t *e = json_object();
  if (!e) return NULL;
  json_object_set_new(e, "op", json_string(hwt_bench_op_name(p->op)));
  json_object_set_new(e, "dtype", json_string(hwt_bench_op_is_qs8(p->op) ? "qs8" : "f32"));
  json_object_set_new(e, "shape", json_string(p->shape.text));
  json_object_set_new(e, "batch", json_integer((json_int_t)p->batch));
  json_object_set_new(e, "n", json_integer((json_int_t)(p->n ? p->n : 1)));
  json_object_set_new(e, "k", json_integer((json_int_t)(p->k ? p->k : 1)));
  json_object_set_new(e, "choice", choice_json(&o->choice.cand, choice_batch ? choice_batch : p->batch));
  json_object_set_new(e, "median_ns", json_real(o->choice.meas.median_ns));
  json_object_set_new(e, "ci_low_ns", json_real(o->choice.meas.ci_low_ns));
  json_object_set_new(e, "ci_high_ns", json_real(o->choice.meas.ci_high_ns));
  json_object_set_new(e, "p99_ns", json_real(o->choice.meas.p99_ns));
  if (o->has_runner_up) {
    json_t *r = choice_json(&o->runner_up.cand, 0);
    json_object_set_new(r, "median_ns", json_real(o->runner_up.meas.median_ns));
    json_object_set_new(r, "ci_low_ns", json_real(o->runner_up.meas.ci_low_ns));
    json_object_set_new(r, "ci_high_ns", json_real(o->runner_up.meas.ci_high_ns));
    json_object_set_new(e, "runner_up", r);
    json_object_set_new(e, "margin", json_real(o->margin));
  } else {
    json_object_set_new(e, "runner_up", json_null());
    json_object_set_new(e, "margin", json_null());
  }
  if (throughput_per_s > 0) json_object_set_new(e, "throughput_per_s", json_real(throughput_per_s));
  json_object_set_new(e, "configs_measured", json_integer((json_int_t)o->configs_measured));
  json_object_set_new(e, "space_size", json_integer((json_int_t)o->space_size));
  return e;
}

/* Appends s to a growing buffer; false on out of memory. */
typedef struct sbuf {
  char *p;
  size_t n, cap;
  bool oom;
} sbuf;

static void put(sbuf *b, const char *s) {
  size_t l = strlen(s);
  if (b->oom) return;
  if (b->n + l + 1 > b->cap) {
    size_t cap = (b->cap ? b->cap * 2 : 4096) + l;
    char *np = realloc(b->p, cap);
    if (!np) {
      b->oom = true;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, l + 1);
  b->n += l;
}

static void put_json(sbuf *b, const json_t *j) {
  char *t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
  if (!t) {
    b->oom = true;
    return;
  }
  /* JSON_COMPACT drops the space after ':' and ','; add it back outside strings for readability. */
  sbuf spaced = {0};
  bool in_str = false, esc = false;
  char one[3] = {0};
  for (const char *c = t; *c; c++) {
    one[0] = *c;
    one[1] = '\0';
    if (in_str) {
      if (esc) esc = false;
      else if (*c == '\\') esc = true;
      else if (*c == '"') in_str = false;
    } else if (*c == '"') {
      in_str = true;
    } else if (*c == ':' || *c == ',') {
      one[1] = ' ';
      one[2] = '\0';
    }
    put(&spaced, one);
    one[2] = '\0';
  }
  free(t);
  if (spaced.oom) {
    b->oom = true;
    free(spaced.p);
    return;
  }
  put(b, spaced.p ? spaced.p : "");
  free(spaced.p);
}

char *hwt_tune_profile_text(json_t *meta, const char *fingerprint, json_t *machine_fields, json_t *entries) {
  return hwt_tune_profile_text_models(meta, fingerprint, machine_fields, entries, NULL);
}

char *hwt_tune_profile_text_models(json_t *meta, const char *fingerprint, json_t *machine_fields, json_t *entries,
                                   json_t *models) {
  sbuf b = {0};
  put(&b, "{\n  \"schema\": \"" HWT_PROFILE_SCHEMA "\",\n  \"machine\": {\"fingerprint\": ");
  json_t *fp = json_string(fingerprint ? fingerprint : "");
  put_json(&b, fp);
  json_decref(fp);
  put(&b, ", \"fields\": ");
  put_json(&b, machine_fields);
  put(&b, "},\n");
  const char *key;
  json_t *v;
  json_object_foreach(meta, key, v) {
    json_t *k = json_string(key);
    put(&b, "  ");
    put_json(&b, k);
    json_decref(k);
    put(&b, ": ");
    put_json(&b, v);
    put(&b, ",\n");
  }
  put(&b, "  \"entries\": [");
  size_t i;
  json_array_foreach(entries, i, v) {
    put(&b, i ? ",\n    " : "\n    ");
    put_json(&b, v);
  }
  put(&b, json_array_size(entries) ? "\n  ]" : "]");
  if (json_array_size(models)) {
    put(&b, ",\n  \"models\": [");
    json_array_foreach(models, i, v) {
      put(&b, i ? ",\n    " : "\n    ");
      put_json(&b, v);
    }
    put(&b, "\n  ]");
  }
  put(&b, "\n}\n");
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  return b.p;
}

static bool same_key(json_t *a, json_t *b) {
  static const char *const keys[] = {"op", "dtype", "shape", "batch"};
  for (size_t i = 0; i < 4; i++)
    if (!json_equal(json_object_get(a, keys[i]), json_object_get(b, keys[i]))) return false;
  return true;
}

static bool same_model(json_t *a, json_t *b) {
  static const char *const keys[] = {"sha256", "precision", "batch"};
  for (size_t i = 0; i < 3; i++)
    if (!json_equal(json_object_get(a, keys[i]), json_object_get(b, keys[i]))) return false;
  return true;
}

static hwt_status mkdirs_for(const char *path, char *err, size_t errlen) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return hwt_status_ok;
  *slash = '\0';
  for (char *c = dir + 1; *c; c++) {
    if (*c != '/') continue;
    *c = '\0';
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
      hwt_errf(err, errlen, "cannot create directory '%s': %s", dir, strerror(errno));
      return hwt_status_io_error;
    }
    *c = '/';
  }
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    hwt_errf(err, errlen, "cannot create directory '%s': %s", dir, strerror(errno));
    return hwt_status_io_error;
  }
  return hwt_status_ok;
}

/* This machine as libhwtune's check sees it: the probed fields, no fingerprint (so only fields are compared). */
static void machine_of(json_t *machine_fields, hwt_profile_machine *m) {
  memset(m, 0, sizeof *m);
  const char *key;
  json_t *v;
  json_object_foreach(machine_fields, key, v) {
    if (m->nfields == HWT_PROFILE_MAX_FIELDS) break;
    hwt_profile_field *f = &m->fields[m->nfields++];
    snprintf(f->name, sizeof f->name, "%s", key);
    snprintf(f->value, sizeof f->value, "%s", json_is_string(v) ? json_string_value(v) : "");
  }
}

/* Loads the profile at `path` if there is one (*old stays NULL when not) and decides whether it is this
 * machine's (*same). Errors: an unreadable or invalid file, another machine's profile without FORCE. */
static hwt_status load_target(const char *path, unsigned flags, const char *fingerprint, json_t *machine_fields,
                              hwt_profile **old, bool *same, char *err, size_t errlen) {
  *old = NULL;
  *same = false;
  hwt_status st = flags & HWT_TUNE_WRITE_MKDIRS ? hwt_status_ok : hwt_check_out_dir(path, err, errlen);
  if (st != hwt_status_ok) return st;
  struct stat sb;
  if (stat(path, &sb) != 0) {
    if (errno == ENOENT) return hwt_status_ok;
    hwt_errf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    return hwt_status_io_error;
  }
  char msg[512];
  st = hwt_profile_load(path, old, msg, sizeof msg);
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "existing profile is not valid, not overwriting it (move it away first): %s", msg);
    return st;
  }
  const char *old_fp = hwt_profile_meta(*old, "fingerprint");
  if (!old_fp) old_fp = "";
  hwt_profile_machine here;
  machine_of(machine_fields, &here);
  hwt_profile_mismatch diffs;
  char why[1024];
  *same = (fingerprint && fingerprint[0] && strcmp(old_fp, fingerprint) == 0) ||
          hwt_profile_check(*old, &here, &diffs, why, sizeof why) == hwt_status_ok;
  if (*same || (flags & HWT_TUNE_WRITE_FORCE)) return hwt_status_ok;
  char list[512] = "";
  size_t used = 0;
  for (size_t i = 0; i < diffs.ndiffs && used < sizeof list; i++) {
    int w = snprintf(list + used, sizeof list - used, "%s%s '%s' here '%s'", i ? "; " : "", diffs.diffs[i].field,
                     diffs.diffs[i].profile_value, diffs.diffs[i].current_value);
    if (w < 0) break;
    used += (size_t)w;
  }
  hwt_errf(err, errlen,
           "'%s' holds another machine's profile (fingerprint '%s', this machine '%s'; %s): not replacing its %zu "
           "entries; write elsewhere with --out, or replace it with --force",
           path, old_fp, fingerprint ? fingerprint : "", list, hwt_profile_count(*old));
  hwt_profile_free(*old);
  *old = NULL;
  return hwt_status_mismatch;
}

hwt_status hwt_tune_profile_target(const char *path, unsigned flags, const char *fingerprint, json_t *machine_fields,
                                   size_t *old_entries, char *err, size_t errlen) {
  hwt_profile *old = NULL;
  bool same;
  hwt_status st = load_target(path, flags, fingerprint, machine_fields, &old, &same, err, errlen);
  if (old_entries) *old_entries = hwt_profile_count(old);
  hwt_profile_free(old);
  return st;
}

hwt_status hwt_tune_write_profile(const char *path, unsigned flags, json_t *meta, const char *fingerprint,
                                  json_t *machine_fields, json_t *entries, size_t *kept, size_t *replaced, char *err,
                                  size_t errlen) {
  return hwt_tune_write_profile_models(path, flags, meta, fingerprint, machine_fields, entries, NULL, kept, replaced,
                                       err, errlen);
}

hwt_status hwt_tune_profile_merged(const char *path, unsigned flags, json_t *meta, const char *fingerprint,
                                   json_t *machine_fields, json_t *entries, json_t *models, char **text,
                                   size_t *kept, size_t *replaced, char *err, size_t errlen) {
  *text = NULL;
  size_t nkept = 0, nreplaced = 0;
  hwt_profile *check = NULL;
  bool same_machine = false;
  hwt_status st = load_target(path, flags, fingerprint, machine_fields, &check, &same_machine, err, errlen);
  if (st != hwt_status_ok) return st;
  json_t *merged = json_array(), *merged_models = json_array();
  if (!merged || !merged_models) {
    json_decref(merged);
    json_decref(merged_models);
    hwt_profile_free(check);
    return hwt_status_out_of_memory;
  }
  if (check) {
    const char *old_fp = hwt_profile_meta(check, "fingerprint");
    if (!same_machine) {
      /* Only with HWT_TUNE_WRITE_FORCE (load_target refused otherwise). */
      hwt_log("--force: replacing '%s', another machine's profile (fingerprint '%s'), and its %zu entries", path,
              old_fp ? old_fp : "", hwt_profile_count(check));
    } else {
      /* Update in place: keep the old entries this run did not re-tune, and the models it did not race. */
      json_error_t je;
      json_t *old = json_load_file(path, 0, &je);
      json_t *old_entries = old ? json_object_get(old, "entries") : NULL;
      if (!json_is_array(old_entries)) {
        /* It loaded a moment ago: changed since, or out of memory. Never drop its entries silently. */
        hwt_errf(err, errlen, "cannot re-read '%s' to merge into it: %s", path, old ? "no entries" : je.text);
        json_decref(old);
        json_decref(merged);
        json_decref(merged_models);
        hwt_profile_free(check);
        return hwt_status_io_error;
      }
      size_t i;
      json_t *e;
      json_array_foreach(old_entries, i, e) {
        bool retuned = false;
        size_t j;
        json_t *n;
        json_array_foreach(entries, j, n) {
          if (same_key(e, n)) {
            retuned = true;
            break;
          }
        }
        if (retuned) nreplaced++;
        else {
          json_array_append(merged, e);
          nkept++;
        }
      }
      json_t *old_models = json_object_get(old, "models");
      json_array_foreach(old_models, i, e) {
        bool raced = false;
        size_t j;
        json_t *n;
        json_array_foreach(models, j, n) raced |= same_model(e, n);
        if (!raced) json_array_append(merged_models, e);
      }
      json_decref(old);
    }
    hwt_profile_free(check);
  }
  json_array_extend(merged, entries);
  if (models) json_array_extend(merged_models, models);
  *text = hwt_tune_profile_text_models(meta, fingerprint, machine_fields, merged, merged_models);
  json_decref(merged);
  json_decref(merged_models);
  if (!*text) return hwt_status_out_of_memory;
  /* The writer checks its own output with the loader the runtimes use before publishing it. */
  hwt_profile *p = NULL;
  char msg[512];
  st = hwt_profile_load_buffer(*text, strlen(*text), path, &p, msg, sizeof msg);
  hwt_profile_free(p);
  if (st != hwt_status_ok) {
    hwt_errf(err, errlen, "internal error: the profile written would not load: %s", msg);
    free(*text);
    *text = NULL;
    return hwt_status_internal;
  }
  if (kept) *kept = nkept;
  if (replaced) *replaced = nreplaced;
  return hwt_status_ok;
}

hwt_status hwt_tune_write_profile_models(const char *path, unsigned flags, json_t *meta, const char *fingerprint,
                                         json_t *machine_fields, json_t *entries, json_t *models, size_t *kept,
                                         size_t *replaced, char *err, size_t errlen) {
  char *text = NULL;
  size_t nkept = 0, nreplaced = 0;
  hwt_status st = hwt_tune_profile_merged(path, flags, meta, fingerprint, machine_fields, entries, models, &text,
                                          &nkept, &nreplaced, err, errlen);
  if (st != hwt_status_ok) return st;
  st = flags & HWT_TUNE_WRITE_MKDIRS ? mkdirs_for(path, err, errlen) : hwt_status_ok;
  if (st == hwt_status_ok) st = hwt_write_file_atomic(path, text, strlen(text), err, errlen);
  free(text);
  if (st == hwt_status_ok) {
    if (kept) *kept = nkept;
    if (replaced) *replaced = nreplaced;
  }
  return st;
}
