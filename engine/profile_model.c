/* SPDX-License-Identifier: Apache-2.0 */
/* A profile's whole-model entries applied to an engine: the model's identity (SHA-256 of its file, FIPS 180-4,
 * streamed) and the chooser of the plan that won `tune --model`'s end-to-end race. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "hwt_common.h"
#include "profile_model.h"

/* ---- SHA-256 ---- */

typedef struct sha256 {
  uint32_t h[8], k[64];
  unsigned char buf[64];
  size_t nbuf;
  uint64_t bytes;
} sha256;

static bool is_prime(unsigned v) {
  for (unsigned d = 2; d * d <= v; d++)
    if (v % d == 0) return false;
  return v >= 2;
}

/* The constants are the first 32 bits of the fractional parts of the square roots (h) and cube roots (k) of the
 * first primes; computed here rather than transcribed (the test vectors check them). */
static void sha256_init(sha256 *s) {
  unsigned n = 0;
  for (unsigned v = 2; n < 64; v++) {
    if (!is_prime(v)) continue;
    if (n < 8) {
      double r = sqrt((double)v);
      s->h[n] = (uint32_t)((r - floor(r)) * 4294967296.0);
    }
    double c = cbrt((double)v);
    s->k[n++] = (uint32_t)((c - floor(c)) * 4294967296.0);
  }
  s->nbuf = 0;
  s->bytes = 0;
}

static uint32_t rotr(uint32_t x, unsigned r) { return (x >> r) | (x << (32 - r)); }

static void sha256_block(sha256 *s, const unsigned char *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + s->k[i] + w[i];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  s->h[0] += a;
  s->h[1] += b;
  s->h[2] += c;
  s->h[3] += d;
  s->h[4] += e;
  s->h[5] += f;
  s->h[6] += g;
  s->h[7] += h;
}

static void sha256_update(sha256 *s, const void *data, size_t len) {
  const unsigned char *p = data;
  s->bytes += len;
  while (len > 0) {
    if (s->nbuf == 0 && len >= 64) {
      sha256_block(s, p);
      p += 64;
      len -= 64;
      continue;
    }
    size_t take = 64 - s->nbuf < len ? 64 - s->nbuf : len;
    memcpy(s->buf + s->nbuf, p, take);
    s->nbuf += take;
    p += take;
    len -= take;
    if (s->nbuf == 64) {
      sha256_block(s, s->buf);
      s->nbuf = 0;
    }
  }
}

static void sha256_final(sha256 *s, char hex[65]) {
  uint64_t bits = s->bytes * 8;
  unsigned char pad[72] = {0x80};
  size_t npad = (s->nbuf < 56 ? 56 : 120) - s->nbuf;
  for (int i = 0; i < 8; i++) pad[npad + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
  uint64_t keep = s->bytes;
  sha256_update(s, pad, npad + 8);
  s->bytes = keep;
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    unsigned v = (s->h[i / 4] >> (24 - 8 * (i % 4))) & 0xffu;
    hex[2 * i] = digits[v >> 4];
    hex[2 * i + 1] = digits[v & 15];
  }
  hex[64] = '\0';
}

void hwt_sha256_hex(const void *data, size_t len, char hex[65]) {
  sha256 s;
  sha256_init(&s);
  sha256_update(&s, data, len);
  sha256_final(&s, hex);
}

static hwt_status hash_file(sha256 *s, const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    hwt_errf(err, errlen, "%s: cannot read it to identify the model: %s", path, strerror(errno));
    return hwt_status_io_error;
  }
  unsigned char buf[65536];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0) sha256_update(s, buf, got);
  bool bad = ferror(f) != 0;
  fclose(f);
  if (bad) {
    hwt_errf(err, errlen, "%s: read error while identifying the model", path);
    return hwt_status_io_error;
  }
  return hwt_status_ok;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

hwt_status hwt_model_identify(const char *spec, hwt_model_id *out, char *err, size_t errlen) {
  if (spec == NULL || out == NULL) {
    hwt_errf(err, errlen, "hwt_model_identify: NULL argument");
    return hwt_status_invalid_argument;
  }
  memset(out, 0, sizeof *out);
  const char *base = strrchr(spec, '/');
  snprintf(out->file, sizeof out->file, "%s", base ? base + 1 : spec);
  sha256 s;
  sha256_init(&s);
  if (strcmp(spec, "mlp") == 0 || strcmp(spec, "mobilenet") == 0) {
    char text[64];
    int n = snprintf(text, sizeof text, "hwtune builtin %s", spec);
    sha256_update(&s, text, (size_t)n);
    sha256_final(&s, out->sha256);
    return hwt_status_ok;
  }
  hwt_status st = hash_file(&s, spec, err, errlen);
  if (st == hwt_status_ok && !ends_with(spec, ".onnx")) {
    /* a model JSON: its weights file too (named in it, relative to its folder) */
    json_error_t je;
    json_t *root = json_load_file(spec, 0, &je);
    const char *w = json_string_value(json_object_get(root, "weights"));
    if (w != NULL && w[0] != '\0' && strstr(w, "..") == NULL && w[0] != '/') {
      char wpath[4096];
      int dl = base ? (int)(base - spec) + 1 : 0;
      int n = snprintf(wpath, sizeof wpath, "%.*s%s", dl, spec, w);
      if (n > 0 && (size_t)n < sizeof wpath) st = hash_file(&s, wpath, err, errlen);
    }
    json_decref(root);
  }
  if (st != hwt_status_ok) return st;
  sha256_final(&s, out->sha256);
  return hwt_status_ok;
}

/* ---- the plan's chooser ---- */

/* default / single-thread: the engine's default choice stays (impl, threads capped by opt->threads), marked. */
static bool plan_chooser(void *ctx, const hwt_layer_query *q, hwt_layer_choice *choice) {
  const hwt_profile_binding *b = ctx;
  hwt_engine_profile_sparse(b->profile, q, choice); /* the sparse kernel's break-even is a fact of the machine */
  snprintf(choice->source, sizeof choice->source, "model race: %s",
           b->plan == hwt_profile_plan_single_thread ? "1 thread" : "default");
  return true;
}

hwt_status hwt_engine_profile_bind(const hwt_profile *profile, const char *spec, const hwt_model *m, size_t batch,
                                   hwt_profile_binding *b, hwt_engine_options *opt, char *err, size_t errlen) {
  memset(b, 0, sizeof *b);
  b->profile = profile;
  b->plan = hwt_profile_plan_tuned;
  if (profile == NULL) return hwt_status_ok;
  opt->chooser = hwt_engine_profile_chooser;
  opt->chooser_ctx = (void *)profile;
  if (hwt_profile_model_count(profile) == 0 || spec == NULL || m == NULL) return hwt_status_ok;
  hwt_model_id id;
  hwt_status st = hwt_model_identify(spec, &id, err, errlen);
  if (st != hwt_status_ok) return st;
  const char *prec = m->precision == hwt_prec_int8 ? "int8" : "fp32";
  if (!hwt_profile_model_find(profile, id.sha256, prec, batch, &b->model)) return hwt_status_ok;
  b->has_model = true;
  b->plan = b->model.winner;
  const double *p50 = b->model.p50_ns;
  char vs[96] = "";
  if (p50[hwt_profile_plan_default] > 0 && p50[hwt_profile_plan_tuned] > 0)
    snprintf(vs, sizeof vs, " (tuned p50 %.2fx of default's)", p50[hwt_profile_plan_tuned] / p50[hwt_profile_plan_default]);
  snprintf(b->note, sizeof b->note, "model entry %s batch %llu: %s won the end-to-end race%s", prec,
           (unsigned long long)batch, hwt_profile_plan_name(b->plan), vs);
  if (b->plan == hwt_profile_plan_tuned) return hwt_status_ok;
  opt->chooser = plan_chooser;
  opt->chooser_ctx = b;
  if (b->plan == hwt_profile_plan_single_thread) opt->threads = 1;
  return hwt_status_ok;
}
