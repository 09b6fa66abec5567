/* SPDX-License-Identifier: Apache-2.0 */
/* Profile loader: a strict single-pass JSON reader that validates hwtune.profile/1 while it parses. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile_internal.h"

/* Limits: anything larger is a schema error, never an overflow. */
#define MAX_DEPTH 64
#define MAX_FILE_BYTES (64u << 20)
#define MAX_DIM 1000000000000ull    /* n, k, batch, blocking */
#define MAX_THREADS 4096u
#define MAX_ENTRIES 1000000u

typedef struct parser {
  char *buf;                /* the document; owned by the profile, closing quotes become NULs of its strings */
  size_t len, pos;
  const char *name;
  char *msg;
  size_t msglen;
  hwt_status status;
  int depth;
  /* Field path of the value being parsed (entries[3].choice.threads), kept as a stack and formatted only for
   * a message: formatting it for every member would dominate the load time. */
  struct { const char *key; size_t index; } path[MAX_DEPTH + 2];
  size_t pathlen;
  char *arena;              /* decoded strings that had escapes: allocated at the first escape, len + 1 bytes */
  size_t arena_used;
} parser;

typedef enum jtype { jt_eof, jt_object, jt_array, jt_string, jt_number, jt_true, jt_false, jt_null, jt_bad } jtype;

static const char *jtype_name(jtype t) {
  switch (t) {
    case jt_object: return "an object";
    case jt_array: return "an array";
    case jt_string: return "a string";
    case jt_number: return "a number";
    case jt_true:
    case jt_false: return "a boolean";
    case jt_null: return "null";
    case jt_eof: return "end of file";
    default: return "an invalid token";
  }
}

static void line_col(const parser *p, size_t pos, unsigned *line, unsigned *col) {
  unsigned l = 1;
  size_t start = 0;
  if (pos > p->len) pos = p->len;
  for (size_t i = 0; i < pos; i++) {
    if (p->buf[i] == '\n') {
      l++;
      start = i + 1;
    }
  }
  *line = l;
  *col = (unsigned)(pos - start + 1);
}

static void format_path(const parser *p, char *out, size_t cap) {
  size_t used = 0;
  out[0] = '\0';
  size_t depth = p->pathlen < sizeof p->path / sizeof p->path[0] ? p->pathlen : sizeof p->path / sizeof p->path[0];
  for (size_t i = 0; i < depth && used < cap; i++) {
    int w = p->path[i].key ? snprintf(out + used, cap - used, "%s%s", i ? "." : "", p->path[i].key)
                           : snprintf(out + used, cap - used, "[%zu]", p->path[i].index);
    if (w < 0) break;
    used += (size_t)w;
  }
  if (depth == 0) snprintf(out, cap, "(document)");
}

static bool fail_parse(parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail_parse(parser *p, size_t pos, const char *fmt, ...) {
  if (p->status != hwt_status_ok) return false;
  p->status = hwt_status_parse_error;
  if (p->msg && p->msglen) {
    unsigned line, col;
    line_col(p, pos, &line, &col);
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(p->msg, p->msglen, "%s:%u:%u: %s", p->name, line, col, what);
  }
  return false;
}

static bool fail_schema(parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail_schema(parser *p, size_t pos, const char *fmt, ...) {
  if (p->status != hwt_status_ok) return false;
  p->status = hwt_status_schema_error;
  if (p->msg && p->msglen) {
    unsigned line, col;
    line_col(p, pos, &line, &col);
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char path[256];
    format_path(p, path, sizeof path);
    snprintf(p->msg, p->msglen, "%s: %s (%u:%u): %s", p->name, path, line, col, what);
  }
  return false;
}

/* ---- field path ---- */

static size_t path_key(parser *p, const char *key) {
  size_t saved = p->pathlen;
  if (p->pathlen < sizeof p->path / sizeof p->path[0]) {
    p->path[p->pathlen].key = key;
    p->path[p->pathlen].index = 0;
  }
  p->pathlen++;
  return saved;
}

static size_t path_index(parser *p, size_t i) {
  size_t saved = p->pathlen;
  if (p->pathlen < sizeof p->path / sizeof p->path[0]) {
    p->path[p->pathlen].key = NULL;
    p->path[p->pathlen].index = i;
  }
  p->pathlen++;
  return saved;
}

static void path_pop(parser *p, size_t saved) { p->pathlen = saved; }

/* ---- lexical level ---- */

static void skip_ws(parser *p) {
  while (p->pos < p->len) {
    char c = p->buf[p->pos];
    if (c != ' ' && c != '\n' && c != '\t' && c != '\r') break;
    p->pos++;
  }
}

static jtype peek(parser *p) {
  skip_ws(p);
  if (p->pos >= p->len) return jt_eof;
  switch (p->buf[p->pos]) {
    case '{': return jt_object;
    case '[': return jt_array;
    case '"': return jt_string;
    case 't': return p->len - p->pos >= 4 && memcmp(p->buf + p->pos, "true", 4) == 0 ? jt_true : jt_bad;
    case 'f': return p->len - p->pos >= 5 && memcmp(p->buf + p->pos, "false", 5) == 0 ? jt_false : jt_bad;
    case 'n': return p->len - p->pos >= 4 && memcmp(p->buf + p->pos, "null", 4) == 0 ? jt_null : jt_bad;
    case '-':
    case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
      return jt_number;
    default: return jt_bad;
  }
}

static bool unexpected(parser *p, const char *expected) {
  if (p->pos >= p->len) return fail_parse(p, p->pos, "unexpected end of file (truncated?), expected %s", expected);
  unsigned char c = (unsigned char)p->buf[p->pos];
  if (c >= 0x20 && c < 0x7f) return fail_parse(p, p->pos, "unexpected character '%c', expected %s", c, expected);
  return fail_parse(p, p->pos, "unexpected byte 0x%02x, expected %s", c, expected);
}

static bool expect_char(parser *p, char c, const char *expected) {
  skip_ws(p);
  if (p->pos < p->len && p->buf[p->pos] == c) {
    p->pos++;
    return true;
  }
  return unexpected(p, expected);
}

static bool literal(parser *p, const char *word) {
  size_t n = strlen(word);
  if (p->len - p->pos < n || memcmp(p->buf + p->pos, word, n) != 0) return unexpected(p, "a JSON value");
  p->pos += n;
  return true;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static bool read_hex4(parser *p, size_t at, unsigned *out) {
  if (p->len - at < 4) return fail_parse(p, at, "truncated \\u escape");
  unsigned v = 0;
  for (size_t i = 0; i < 4; i++) {
    int h = hexval(p->buf[at + i]);
    if (h < 0) return fail_parse(p, at + i, "invalid hex digit in \\u escape");
    v = v * 16 + (unsigned)h;
  }
  *out = v;
  return true;
}

/* The length of the UTF-8 sequence starting at s[0] >= 0x80, or 0 with *why set when it is not valid UTF-8 as
 * RFC 3629 defines it (and RFC 8259 requires): no overlong forms, no UTF-16 surrogates (U+D800..U+DFFF) encoded
 * in UTF-8, nothing above U+10FFFF, no stray continuation byte, no sequence cut short. */
static size_t utf8_sequence(const unsigned char *s, size_t avail, const char **why) {
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t n;
  if (c < 0xC0) {
    *why = "a continuation byte without a lead byte";
    return 0;
  } else if (c < 0xC2) {
    *why = "an overlong encoding";
    return 0;
  } else if (c < 0xE0) {
    n = 2;
  } else if (c < 0xF0) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;       /* below: overlong */
    if (c == 0xED) hi = 0x9F;       /* above: a UTF-16 surrogate */
  } else if (c < 0xF5) {
    n = 4;
    if (c == 0xF0) lo = 0x90;       /* below: overlong */
    if (c == 0xF4) hi = 0x8F;       /* above: beyond U+10FFFF */
  } else {
    *why = "a byte that never occurs in UTF-8";
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if (i >= avail || s[i] < 0x80 || s[i] > 0xBF) {
      *why = "a lead byte without its continuation bytes";
      return 0;
    }
  }
  if (s[1] < lo) {
    *why = "an overlong encoding";
    return 0;
  }
  if (s[1] > hi) {
    *why = c == 0xED ? "a UTF-16 surrogate encoded in UTF-8" : "a code point beyond U+10FFFF";
    return 0;
  }
  return n;
}

/* The index of the first '"', '\\' or control byte at or after `from` (p->len at the end of the document),
 * checking that the bytes before it are UTF-8; SIZE_MAX after reporting invalid UTF-8 at its line:column. */
static size_t scan_plain(parser *p, size_t from) {
  size_t run = from;
  while (run < p->len) {
    unsigned char c = (unsigned char)p->buf[run];
    if (c < 0x80) {
      if (c == '"' || c == '\\' || c < 0x20) break;
      run++;
      continue;
    }
    const char *why = "";
    size_t n = utf8_sequence((const unsigned char *)p->buf + run, p->len - run, &why);
    if (n == 0) {
      fail_parse(p, run, "invalid UTF-8 in a string (byte 0x%02x: %s); profiles are UTF-8 (RFC 8259)", c, why);
      return SIZE_MAX;
    }
    run += n;
  }
  return run;
}

/* The parser's out-of-memory failure. */
static bool fail_oom(parser *p) {
  p->status = hwt_status_out_of_memory;
  if (p->msg && p->msglen) snprintf(p->msg, p->msglen, "%s: out of memory", p->name);
  return false;
}

/* Makes room for element n of the array *v (capacity *cap, elements of esize bytes): doubles it, or starts at
 * `first`. Fails (out of memory, in the parser's message) without touching *v. */
static bool grow(parser *p, void **v, size_t *cap, size_t n, size_t esize, size_t first) {
  if (n < *cap) return true;
  size_t c = *cap ? *cap * 2 : first;
  if (c > SIZE_MAX / esize) return fail_oom(p);
  void *nv = realloc(*v, c * esize);
  if (nv == NULL) return fail_oom(p);
  *v = nv;
  *cap = c;
  return true;
}

/* Parses the string at p->pos (which is '"'). A string without escapes stays where it is: its closing quote
 * becomes its NUL. One with escapes is decoded into the arena, which has len + 1 bytes: a decoded string plus its
 * NUL is never longer than its quoted source, so the arena cannot overflow and never moves. */
static bool parse_string(parser *p, const char **out, size_t *outlen) {
  if (!expect_char(p, '"', "a string")) return false;
  size_t start = p->pos, run = scan_plain(p, start);
  if (run == SIZE_MAX) return false;
  if (run < p->len && p->buf[run] == '"') {
    p->buf[run] = '\0';
    p->pos = run + 1;
    *out = p->buf + start;
    if (outlen) *outlen = run - start;
    return true;
  }
  if (p->arena == NULL) {
    p->arena = malloc(p->len + 1);
    if (p->arena == NULL) return fail_oom(p);
  }
  char *dst = p->arena + p->arena_used;
  size_t n = 0;
  for (;;) {
    size_t run = scan_plain(p, p->pos);
    if (run == SIZE_MAX) return false;
    memcpy(dst + n, p->buf + p->pos, run - p->pos);
    n += run - p->pos;
    p->pos = run;
    if (p->pos >= p->len) return fail_parse(p, p->pos, "unexpected end of file inside a string (truncated?)");
    unsigned char c = (unsigned char)p->buf[p->pos];
    if (c == '"') {
      p->pos++;
      break;
    }
    if (c < 0x20) return fail_parse(p, p->pos, "control character 0x%02x inside a string", c);
    /* backslash */
    if (p->pos + 1 >= p->len) return fail_parse(p, p->pos, "unexpected end of file in an escape (truncated?)");
    char e = p->buf[p->pos + 1];
    size_t esc_at = p->pos;
    p->pos += 2;
    switch (e) {
      case '"': dst[n++] = '"'; break;
      case '\\': dst[n++] = '\\'; break;
      case '/': dst[n++] = '/'; break;
      case 'b': dst[n++] = '\b'; break;
      case 'f': dst[n++] = '\f'; break;
      case 'n': dst[n++] = '\n'; break;
      case 'r': dst[n++] = '\r'; break;
      case 't': dst[n++] = '\t'; break;
      case 'u': {
        unsigned cp;
        if (!read_hex4(p, p->pos, &cp)) return false;
        p->pos += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          unsigned lo;
          if (p->len - p->pos < 6 || p->buf[p->pos] != '\\' || p->buf[p->pos + 1] != 'u')
            return fail_parse(p, esc_at, "unpaired UTF-16 surrogate in \\u escape");
          if (!read_hex4(p, p->pos + 2, &lo)) return false;
          if (lo < 0xDC00 || lo > 0xDFFF) return fail_parse(p, esc_at, "unpaired UTF-16 surrogate in \\u escape");
          p->pos += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return fail_parse(p, esc_at, "unpaired UTF-16 surrogate in \\u escape");
        }
        if (cp == 0) return fail_parse(p, esc_at, "\\u0000 is not allowed in profile strings");
        if (cp < 0x80) {
          dst[n++] = (char)cp;
        } else if (cp < 0x800) {
          dst[n++] = (char)(0xC0 | (cp >> 6));
          dst[n++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          dst[n++] = (char)(0xE0 | (cp >> 12));
          dst[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
          dst[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
          dst[n++] = (char)(0xF0 | (cp >> 18));
          dst[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
          dst[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
          dst[n++] = (char)(0x80 | (cp & 0x3F));
        }
        break;
      }
      default: return fail_parse(p, esc_at, "invalid escape '\\%c' in a string", e >= 0x20 && e < 0x7f ? e : '?');
    }
  }
  dst[n] = '\0';
  p->arena_used += n + 1;
  *out = dst;
  if (outlen) *outlen = n;
  return true;
}

typedef struct jnum {
  bool negative, integer, int_overflow;
  uint64_t u;               /* magnitude when integer and !int_overflow */
  double d;
} jnum;

static const double pow10_table[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static double scale10(double v, long e) {
  while (e > 22) {
    v *= 1e22;
    e -= 22;
    if (isinf(v)) return v;
  }
  while (e < -22) {
    v /= 1e22;
    e += 22;
    if (v == 0.0) return v;
  }
  return e >= 0 ? v * pow10_table[e] : v / pow10_table[-e];
}

/* Strict JSON number grammar; locale independent. Up to 19 significant digits are kept (ample for timings). */
static bool parse_number(parser *p, jnum *out) {
  skip_ws(p);
  size_t start = p->pos;
  jnum n = {.integer = true};
  if (p->pos < p->len && p->buf[p->pos] == '-') {
    n.negative = true;
    p->pos++;
  }
  if (p->pos >= p->len || p->buf[p->pos] < '0' || p->buf[p->pos] > '9') return unexpected(p, "a digit");
  uint64_t mant = 0;
  int mant_digits = 0;
  long dropped = 0;         /* integer digits beyond the 19 kept */
  if (p->buf[p->pos] == '0') {
    p->pos++;
    if (p->pos < p->len && p->buf[p->pos] >= '0' && p->buf[p->pos] <= '9')
      return fail_parse(p, start, "numbers must not have leading zeros");
  } else {
    while (p->pos < p->len && p->buf[p->pos] >= '0' && p->buf[p->pos] <= '9') {
      unsigned dgt = (unsigned)(p->buf[p->pos] - '0');
      if (mant_digits < 19) {
        mant = mant * 10 + dgt;
        mant_digits++;
      } else {
        dropped++;
      }
      if (!n.int_overflow) {
        if (n.u > (UINT64_MAX - dgt) / 10) n.int_overflow = true;
        else n.u = n.u * 10 + dgt;
      }
      p->pos++;
    }
  }
  long exp10 = dropped;
  if (p->pos < p->len && p->buf[p->pos] == '.') {
    n.integer = false;
    p->pos++;
    if (p->pos >= p->len || p->buf[p->pos] < '0' || p->buf[p->pos] > '9')
      return unexpected(p, "a digit after the decimal point");
    while (p->pos < p->len && p->buf[p->pos] >= '0' && p->buf[p->pos] <= '9') {
      if (mant_digits < 19 && !(mant == 0 && p->buf[p->pos] == '0' && mant_digits == 0)) {
        mant = mant * 10 + (unsigned)(p->buf[p->pos] - '0');
        mant_digits++;
        exp10--;
      } else if (mant_digits == 0) {
        exp10--;            /* leading zeros of 0.000123 */
      }
      p->pos++;
    }
  }
  if (p->pos < p->len && (p->buf[p->pos] == 'e' || p->buf[p->pos] == 'E')) {
    n.integer = false;
    p->pos++;
    bool eneg = false;
    if (p->pos < p->len && (p->buf[p->pos] == '+' || p->buf[p->pos] == '-')) {
      eneg = p->buf[p->pos] == '-';
      p->pos++;
    }
    if (p->pos >= p->len || p->buf[p->pos] < '0' || p->buf[p->pos] > '9') return unexpected(p, "an exponent digit");
    long e = 0;
    while (p->pos < p->len && p->buf[p->pos] >= '0' && p->buf[p->pos] <= '9') {
      if (e < 100000) e = e * 10 + (p->buf[p->pos] - '0');
      p->pos++;
    }
    exp10 += eneg ? -e : e;
  }
  double d = scale10((double)mant, exp10);
  if (isinf(d)) return fail_parse(p, start, "number out of range (not representable as a double)");
  n.d = n.negative ? -d : d;
  *out = n;
  return true;
}

static bool skip_value(parser *p);

static bool skip_container(parser *p, char open, char close) {
  size_t start = p->pos;
  if (++p->depth > MAX_DEPTH) return fail_parse(p, start, "nesting deeper than %d levels", MAX_DEPTH);
  p->pos++;                 /* open */
  (void)open;
  skip_ws(p);
  if (p->pos < p->len && p->buf[p->pos] == close) {
    p->pos++;
    p->depth--;
    return true;
  }
  for (;;) {
    if (close == '}') {
      size_t mark = p->arena_used;
      const char *key;
      if (peek(p) != jt_string) return unexpected(p, "a member name (string)");
      if (!parse_string(p, &key, NULL)) return false;
      p->arena_used = mark;
      if (!expect_char(p, ':', "':' after a member name")) return false;
    }
    if (!skip_value(p)) return false;
    skip_ws(p);
    if (p->pos < p->len && p->buf[p->pos] == ',') {
      p->pos++;
      continue;
    }
    if (p->pos < p->len && p->buf[p->pos] == close) {
      p->pos++;
      break;
    }
    return unexpected(p, close == '}' ? "',' or '}'" : "',' or ']'");
  }
  p->depth--;
  return true;
}

static bool skip_value(parser *p) {
  switch (peek(p)) {
    case jt_object: return skip_container(p, '{', '}');
    case jt_array: return skip_container(p, '[', ']');
    case jt_string: {
      size_t mark = p->arena_used;
      const char *s;
      bool ok = parse_string(p, &s, NULL);
      p->arena_used = mark;
      return ok;
    }
    case jt_number: {
      jnum n;
      return parse_number(p, &n);
    }
    case jt_true: return literal(p, "true");
    case jt_false: return literal(p, "false");
    case jt_null: return literal(p, "null");
    default: return unexpected(p, "a JSON value");
  }
}

/* ---- object iteration ---- */

/* Call after '{' was consumed. Returns 1 with *key (arena, to be released by the caller with arena_used = mark)
 * and the value position, 0 at '}', -1 on error. */
static int next_member(parser *p, bool *first, const char **key, size_t *keylen, size_t *keypos) {
  skip_ws(p);
  if (*first) {
    *first = false;
    if (p->pos < p->len && p->buf[p->pos] == '}') {
      p->pos++;
      return 0;
    }
  } else {
    if (p->pos < p->len && p->buf[p->pos] == '}') {
      p->pos++;
      return 0;
    }
    if (!expect_char(p, ',', "',' or '}'")) return -1;
    skip_ws(p);
  }
  if (peek(p) != jt_string) {
    unexpected(p, "a member name (string)");
    return -1;
  }
  *keypos = p->pos;
  if (!parse_string(p, key, keylen)) return -1;
  if (!expect_char(p, ':', "':' after a member name")) return -1;
  skip_ws(p);
  return 1;
}

static bool open_object(parser *p) {
  jtype t = peek(p);
  if (t == jt_bad || t == jt_eof) return unexpected(p, "a JSON value");
  if (t != jt_object) return fail_schema(p, p->pos, "expected an object, got %s", jtype_name(t));
  if (++p->depth > MAX_DEPTH) return fail_parse(p, p->pos, "nesting deeper than %d levels", MAX_DEPTH);
  p->pos++;
  return true;
}

/* ---- typed values ---- */

static bool get_string(parser *p, const char **out, size_t maxlen) {
  jtype t = peek(p);
  if (t == jt_bad || t == jt_eof) return unexpected(p, "a JSON value");
  size_t at = p->pos;
  if (t != jt_string) return fail_schema(p, at, "expected a string, got %s", jtype_name(t));
  size_t n;
  if (!parse_string(p, out, &n)) return false;
  if (maxlen && n > maxlen) return fail_schema(p, at, "string longer than %zu bytes", maxlen);
  return true;
}

static bool get_uint(parser *p, uint64_t min, uint64_t max, uint64_t *out) {
  jtype t = peek(p);
  if (t == jt_bad || t == jt_eof) return unexpected(p, "a JSON value");
  size_t at = p->pos;
  if (t != jt_number) return fail_schema(p, at, "expected an integer, got %s", jtype_name(t));
  jnum n;
  if (!parse_number(p, &n)) return false;
  if (!n.integer) return fail_schema(p, at, "expected an integer, got %.*s", (int)(p->pos - at), p->buf + at);
  if (n.negative && n.u != 0)
    return fail_schema(p, at, "%.*s is out of range [%llu, %llu]", (int)(p->pos - at > 40 ? 40 : p->pos - at),
                       p->buf + at, (unsigned long long)min, (unsigned long long)max);
  if (n.int_overflow || n.u < min || n.u > max)
    return fail_schema(p, at, "%.*s%s is out of range [%llu, %llu]", (int)(p->pos - at > 40 ? 40 : p->pos - at),
                       p->buf + at, p->pos - at > 40 ? "..." : "", (unsigned long long)min,
                       (unsigned long long)max);
  *out = n.u;
  return true;
}

static bool get_double(parser *p, double min, double *out, bool null_ok) {
  jtype t = peek(p);
  if (t == jt_bad || t == jt_eof) return unexpected(p, "a JSON value");
  size_t at = p->pos;
  if (t == jt_null && null_ok) {
    *out = 0.0;
    return literal(p, "null");
  }
  if (t != jt_number) return fail_schema(p, at, "expected a number, got %s", jtype_name(t));
  jnum n;
  if (!parse_number(p, &n)) return false;
  if (n.d < min) return fail_schema(p, at, "%.*s is below the minimum %g", (int)(p->pos - at), p->buf + at, min);
  *out = n.d;
  return true;
}

/* ---- schema ---- */

/* Member name comparison against a literal; the length test first keeps it cheap. */
#define KEY_IS(lit) (klen == sizeof(lit) - 1 && memcmp(key, lit, sizeof(lit) - 1) == 0)

static bool valid_token(const char *s) {
  if (*s == '\0') return false;
  for (; *s; s++) {
    char c = *s;
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

typedef struct entries_buf {
  hwt_profile_entry_rec *v;
  size_t n, cap;
  hwt_profile_group *g;
  size_t ng, gcap;
} entries_buf;

static bool duplicate_key(parser *p, size_t keypos, unsigned *seen, unsigned bit, const char *key) {
  if (*seen & bit) return fail_schema(p, keypos, "duplicate key '%s'", key);
  *seen |= bit;
  return true;
}

/* Members of "choice". */
enum { C_IMPL = 1, C_ISA = 2, C_THREADS = 4, C_MC = 8, C_KC = 16, C_NC = 32, C_BATCH = 64 };

static bool parse_choice(parser *p, hwt_profile_entry_rec *e) {
  skip_ws(p);
  size_t obj_at = p->pos;
  if (!open_object(p)) return false;
  unsigned seen = 0;
  bool first = true;
  for (;;) {
    const char *key;
    size_t keypos, klen, mark = p->arena_used;
    int r = next_member(p, &first, &key, &klen, &keypos);
    if (r < 0) return false;
    if (r == 0) break;
    size_t saved = path_key(p, key);
    bool ok = true;
    const char *s;
    if (KEY_IS("impl")) {
      ok = duplicate_key(p, keypos, &seen, C_IMPL, key) && get_string(p, &s, sizeof e->impl - 1);
      if (ok && strcmp(s, "xnnpack") != 0 && strcmp(s, "own") != 0 && strcmp(s, "reference") != 0)
        ok = fail_schema(p, keypos, "unknown implementation '%s' (expected xnnpack, own or reference)", s);
      if (ok) strcpy(e->impl, s);
    } else if (KEY_IS("isa")) {
      ok = duplicate_key(p, keypos, &seen, C_ISA, key) && get_string(p, &s, sizeof e->isa - 1);
      if (ok && !valid_token(s)) ok = fail_schema(p, keypos, "'%s' is not an ISA token", s);
      if (ok) strcpy(e->isa, s);
    } else if (KEY_IS("threads")) {
      uint64_t v = 0;
      ok = duplicate_key(p, keypos, &seen, C_THREADS, key) && get_uint(p, 1, MAX_THREADS, &v);
      e->threads = (unsigned)v;
    } else if (KEY_IS("mc")) {
      ok = duplicate_key(p, keypos, &seen, C_MC, key) && get_uint(p, 0, MAX_DIM, &e->mc);
    } else if (KEY_IS("kc")) {
      ok = duplicate_key(p, keypos, &seen, C_KC, key) && get_uint(p, 0, MAX_DIM, &e->kc);
    } else if (KEY_IS("nc")) {
      ok = duplicate_key(p, keypos, &seen, C_NC, key) && get_uint(p, 0, MAX_DIM, &e->nc);
    } else if (KEY_IS("batch")) {
      ok = duplicate_key(p, keypos, &seen, C_BATCH, key) && get_uint(p, 1, MAX_DIM, &e->choice_batch);
    } else {
      p->arena_used = mark;
      ok = skip_value(p);
    }
    path_pop(p, saved);
    if (!ok) return false;
  }
  p->depth--;
  if (!(seen & C_IMPL)) return fail_schema(p, obj_at, "missing required field 'impl'");
  if (!(seen & C_ISA)) return fail_schema(p, obj_at, "missing required field 'isa'");
  if (!(seen & C_THREADS)) return fail_schema(p, obj_at, "missing required field 'threads'");
  return true;
}

static bool intern_group(parser *p, entries_buf *eb, hwt_profile_entry_rec *e) {
  for (size_t i = 0; i < eb->ng; i++) {
    if (strcmp(eb->g[i].op, e->op) == 0 && strcmp(eb->g[i].dtype, e->dtype) == 0) {
      e->group = (uint32_t)i;
      return true;
    }
  }
  if (!grow(p, (void **) &eb->g, &eb->gcap, eb->ng, sizeof *eb->g, 8)) return false;
  eb->g[eb->ng] = (hwt_profile_group){.op = e->op, .dtype = e->dtype};
  e->group = (uint32_t)eb->ng++;
  return true;
}

/* Reads a decimal dimension 1..MAX_DIM at *s (no sign, no leading zero); advances *s. */
static bool shape_dim(const char **s, uint64_t *out) {
  const char *c = *s;
  if (*c < '1' || *c > '9') return false;
  uint64_t v = 0;
  for (; *c >= '0' && *c <= '9'; c++) {
    v = v * 10 + (uint64_t)(*c - '0');
    if (v > MAX_DIM) return false;
  }
  *out = v;
  *s = c;
  return true;
}

/* The n and k that an entry's shape string means, for the ops whose shape syntax libhwtune knows (the bench's,
 * see `hwtune bench --help`): gemm_* "NxK" (n = N, k = K); conv_* and dwconv_* "HxWxC:OC:kK[xKW][sS][pP]" with
 * OC optional (n = OC, else C; k = KH*KW*C, for dwconv KH*KW, and OC must equal C). Other ops' shapes are
 * opaque (a newer writer's ops load). The tuner and the runtime match on n and k, the `shape` names the entry:
 * an entry whose two disagree is rejected, naming it. */
static bool shape_agrees(parser *p, const hwt_profile_entry_rec *e, size_t at) {
  bool gemm = strncmp(e->op, "gemm_", 5) == 0, dw = strncmp(e->op, "dwconv_", 7) == 0;
  bool conv = dw || strncmp(e->op, "conv_", 5) == 0;
  if (!gemm && !conv) return true;
  const char *s = e->shape;
  uint64_t n = 0, k = 0;
  bool ok;
  if (gemm) {
    ok = shape_dim(&s, &n) && *s++ == 'x' && shape_dim(&s, &k) && *s == '\0';
  } else {
    uint64_t h = 0, w = 0, c = 0, oc = 0, kh = 0, kw = 0, v = 0;
    ok = shape_dim(&s, &h) && *s++ == 'x' && shape_dim(&s, &w) && *s++ == 'x' && shape_dim(&s, &c) && *s++ == ':';
    if (ok && *s != ':') ok = shape_dim(&s, &oc);
    ok = ok && *s++ == ':' && *s++ == 'k' && shape_dim(&s, &kh);
    kw = kh;
    if (ok && *s == 'x') ok = (s++, shape_dim(&s, &kw));
    if (ok && *s == 's') ok = (s++, shape_dim(&s, &v));
    if (ok && *s == 'p') {
      s++;
      ok = *s >= '0' && *s <= '9';
      while (ok && *s >= '0' && *s <= '9') s++;
    }
    ok = ok && *s == '\0';
    if (ok && dw && oc && oc != c)
      return fail_schema(p, at, "depthwise shape '%.64s' of op '%s' has OC %llu != C %llu", e->shape, e->op,
                         (unsigned long long)oc, (unsigned long long)c);
    n = oc ? oc : c;
    if (ok && (__builtin_mul_overflow(kh, kw, &k) || (!dw && __builtin_mul_overflow(k, c, &k)))) k = UINT64_MAX;
  }
  if (!ok)
    return fail_schema(p, at, "shape '%.64s' of op '%s' is not a %s shape (%s)", e->shape, e->op,
                       gemm ? "gemm" : "conv", gemm ? "NxK, e.g. 512x784" : "HxWxC:OC:kKsSpP, e.g. 56x56x64:128:k3s1p1");
  if (n != e->n || k != e->k)
    return fail_schema(p, at,
                       "op '%s' shape '%.64s' batch %llu: the shape means n %llu, k %llu but the entry says n %llu, "
                       "k %llu",
                       e->op, e->shape, (unsigned long long)e->batch, (unsigned long long)n, (unsigned long long)k,
                       (unsigned long long)e->n, (unsigned long long)e->k);
  return true;
}

typedef bool (*element_fn)(parser *p, void *ctx, size_t index);
static bool parse_array(parser *p, size_t max, const char *what, element_fn element, void *ctx);

/* A fraction in [0, 1] (NaN and Inf are not JSON: parse errors). */
static bool get_fraction(parser *p, double *out) {
  skip_ws(p);
  size_t at = p->pos;
  if (!get_double(p, 0.0, out, false)) return false;
  if (*out > 1.0) return fail_schema(p, at, "%.*s is above the maximum 1", (int)(p->pos - at), p->buf + at);
  return true;
}

/* One value of a "points" pair: [sparsity in [0, 1], speedup > 0]. */
static bool point_value(parser *p, void *ctx, size_t index) {
  hwt_profile_entry_rec *e = ctx;
  double *dst = &e->sparse_points[e->sparse_npoints][index];
  if (index == 0) {
    if (!get_fraction(p, dst)) return false;
  } else {
    skip_ws(p);
    size_t at = p->pos;
    if (!get_double(p, 0.0, dst, false)) return false;
    if (!(*dst > 0.0)) return fail_schema(p, at, "a speedup must be above 0");
  }
  e->sparse_fill = (uint8_t)(index + 1);
  return true;
}

static bool point_element(parser *p, void *ctx, size_t index) {
  hwt_profile_entry_rec *e = ctx;
  skip_ws(p);
  size_t at = p->pos;
  e->sparse_npoints = (uint8_t)index;
  e->sparse_fill = 0;
  if (!parse_array(p, 2, "values in a point (expected [sparsity, speedup])", point_value, e)) return false;
  if (e->sparse_fill != 2) return fail_schema(p, at, "a point is [sparsity, speedup]");
  if (index > 0 && !(e->sparse_points[index][0] > e->sparse_points[index - 1][0]))
    return fail_schema(p, at, "points must be in ascending order of sparsity");
  e->sparse_npoints = (uint8_t)(index + 1);
  return true;
}

/* "sparse": {"break_even": fraction | null (never), "points": [[sparsity, speedup], ...]} */
enum { S_BE = 1, S_POINTS = 2 };
static bool parse_sparse(parser *p, hwt_profile_entry_rec *e) {
  skip_ws(p);
  size_t obj_at = p->pos;
  if (!open_object(p)) return false;
  unsigned seen = 0;
  bool first = true;
  for (;;) {
    const char *key;
    size_t keypos, klen, mark = p->arena_used;
    int r = next_member(p, &first, &key, &klen, &keypos);
    if (r < 0) return false;
    if (r == 0) break;
    size_t saved = path_key(p, key);
    bool ok = true;
    if (KEY_IS("break_even")) {
      ok = duplicate_key(p, keypos, &seen, S_BE, key);
      if (ok && peek(p) == jt_null) {
        ok = literal(p, "null");
        e->sparse_never = true;
      } else if (ok) {
        ok = get_fraction(p, &e->break_even);
      }
    } else if (KEY_IS("points")) {
      e->sparse_npoints = 0;
      ok = duplicate_key(p, keypos, &seen, S_POINTS, key) &&
           parse_array(p, HWT_PROFILE_SPARSE_POINTS, "points", point_element, e);
    } else {
      p->arena_used = mark;
      ok = skip_value(p);
    }
    path_pop(p, saved);
    if (!ok) return false;
  }
  p->depth--;
  if (!(seen & S_BE)) return fail_schema(p, obj_at, "missing required field 'break_even'");
  e->has_sparse = true;
  return true;
}

enum { E_OP = 1, E_DTYPE = 2, E_SHAPE = 4, E_BATCH = 8, E_N = 16, E_K = 32, E_CHOICE = 64, E_MEDIAN = 128,
       E_CILO = 256, E_CIHI = 512, E_SPARSE = 1024 };

static bool parse_entry(parser *p, entries_buf *eb, size_t index) {
  skip_ws(p);
  size_t obj_at = p->pos;
  /* The first guess fits every entry (none is shorter than 64 bytes of JSON): no copying while growing, and the
   * pages of the unused tail are never touched. */
  if (!grow(p, (void **) &eb->v, &eb->cap, eb->n, sizeof *eb->v, p->len / 64 + 1)) return false;
  hwt_profile_entry_rec *e = &eb->v[eb->n];
  size_t shape_at = obj_at;
  memset(e, 0, sizeof *e);
  e->src_index = (uint32_t)index;
  if (!open_object(p)) return false;
  unsigned seen = 0;
  bool first = true;
  for (;;) {
    const char *key;
    size_t keypos, klen, mark = p->arena_used;
    int r = next_member(p, &first, &key, &klen, &keypos);
    if (r < 0) return false;
    if (r == 0) break;
    size_t saved = path_key(p, key);
    bool ok = true;
    if (KEY_IS("op")) {
      ok = duplicate_key(p, keypos, &seen, E_OP, key) && get_string(p, &e->op, 63);
      if (ok && !valid_token(e->op)) ok = fail_schema(p, keypos, "'%s' is not an op name", e->op);
    } else if (KEY_IS("dtype")) {
      ok = duplicate_key(p, keypos, &seen, E_DTYPE, key) && get_string(p, &e->dtype, 15);
      if (ok && !valid_token(e->dtype)) ok = fail_schema(p, keypos, "'%s' is not a dtype", e->dtype);
    } else if (KEY_IS("shape")) {
      shape_at = keypos;
      ok = duplicate_key(p, keypos, &seen, E_SHAPE, key) && get_string(p, &e->shape, 255);
      if (ok && e->shape[0] == '\0') ok = fail_schema(p, keypos, "empty shape");
    } else if (KEY_IS("batch")) {
      ok = duplicate_key(p, keypos, &seen, E_BATCH, key) && get_uint(p, 1, MAX_DIM, &e->batch);
    } else if (KEY_IS("n")) {
      ok = duplicate_key(p, keypos, &seen, E_N, key) && get_uint(p, 1, MAX_DIM, &e->n);
    } else if (KEY_IS("k")) {
      ok = duplicate_key(p, keypos, &seen, E_K, key) && get_uint(p, 1, MAX_DIM, &e->k);
    } else if (KEY_IS("choice")) {
      ok = duplicate_key(p, keypos, &seen, E_CHOICE, key) && parse_choice(p, e);
    } else if (KEY_IS("median_ns")) {
      ok = duplicate_key(p, keypos, &seen, E_MEDIAN, key) && get_double(p, 0.0, &e->median_ns, false);
    } else if (KEY_IS("ci_low_ns")) {
      ok = duplicate_key(p, keypos, &seen, E_CILO, key) && get_double(p, 0.0, &e->ci_low_ns, true);
    } else if (KEY_IS("ci_high_ns")) {
      ok = duplicate_key(p, keypos, &seen, E_CIHI, key) && get_double(p, 0.0, &e->ci_high_ns, true);
    } else if (KEY_IS("sparse")) {
      ok = duplicate_key(p, keypos, &seen, E_SPARSE, key) && parse_sparse(p, e);
    } else {
      p->arena_used = mark;
      ok = skip_value(p);
    }
    path_pop(p, saved);
    if (!ok) return false;
  }
  p->depth--;
  static const struct { unsigned bit; const char *name; } required[] = {
      {E_OP, "op"}, {E_DTYPE, "dtype"}, {E_SHAPE, "shape"}, {E_BATCH, "batch"},
      {E_N, "n"},   {E_K, "k"},         {E_CHOICE, "choice"}, {E_MEDIAN, "median_ns"}};
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
    if (!(seen & required[i].bit)) return fail_schema(p, obj_at, "missing required field '%s'", required[i].name);
  if (!shape_agrees(p, e, shape_at)) return false;
  if (e->choice_batch == 0) e->choice_batch = e->batch;
  e->pos = (uint32_t)(obj_at < UINT32_MAX ? obj_at : UINT32_MAX);
  e->log2_n = log2((double)e->n);
  e->log2_k = log2((double)e->k);
  e->log2_batch = log2((double)e->batch);
  if (!intern_group(p, eb, e)) return false;
  eb->n++;
  return true;
}

/* A JSON array of at most `max` objects named `what` ("entries"), each parsed by element(p, ctx, i) with the
 * error path at [i]. */
static bool parse_array(parser *p, size_t max, const char *what, element_fn element, void *ctx) {
  jtype t = peek(p);
  if (t == jt_bad || t == jt_eof) return unexpected(p, "a JSON value");
  if (t != jt_array) return fail_schema(p, p->pos, "expected an array, got %s", jtype_name(t));
  if (++p->depth > MAX_DEPTH) return fail_parse(p, p->pos, "nesting deeper than %d levels", MAX_DEPTH);
  p->pos++;
  skip_ws(p);
  if (p->pos < p->len && p->buf[p->pos] == ']') {
    p->pos++;
    p->depth--;
    return true;
  }
  for (size_t i = 0;; i++) {
    if (i >= max) return fail_schema(p, p->pos, "more than %zu %s", max, what);
    size_t saved = path_index(p, i);
    bool ok = element(p, ctx, i);
    path_pop(p, saved);
    if (!ok) return false;
    skip_ws(p);
    if (p->pos < p->len && p->buf[p->pos] == ',') {
      p->pos++;
      continue;
    }
    if (p->pos < p->len && p->buf[p->pos] == ']') {
      p->pos++;
      break;
    }
    return unexpected(p, "',' or ']'");
  }
  p->depth--;
  return true;
}

static bool entry_element(parser *p, void *ctx, size_t index) { return parse_entry(p, ctx, index); }

static bool parse_fields(parser *p, hwt_profile *prof) {
  if (!open_object(p)) return false;
  bool first = true;
  for (;;) {
    const char *key;
    size_t keypos, klen;
    int r = next_member(p, &first, &key, &klen, &keypos);
    if (r < 0) return false;
    if (r == 0) break;
    size_t saved = path_key(p, key);
    bool ok = true;
    if (strlen(key) >= HWT_PROFILE_FIELD_NAME || key[0] == '\0')
      ok = fail_schema(p, keypos, "field name must have 1 to %d bytes", HWT_PROFILE_FIELD_NAME - 1);
    for (size_t i = 0; ok && i < prof->nfields; i++)
      if (strcmp(prof->fields[i].name, key) == 0) ok = fail_schema(p, keypos, "duplicate key '%s'", key);
    if (ok && prof->nfields == HWT_PROFILE_MAX_FIELDS)
      ok = fail_schema(p, keypos, "more than %d machine fields", HWT_PROFILE_MAX_FIELDS);
    const char *value = NULL;
    if (ok) ok = get_string(p, &value, HWT_PROFILE_FIELD_VALUE - 1);
    if (ok) prof->fields[prof->nfields++] = (hwt_profile_kv){key, value};
    path_pop(p, saved);
    if (!ok) return false;
  }
  p->depth--;
  return true;
}

enum { M_FINGERPRINT = 1, M_FIELDS = 2 };

/* A profile is checked against a machine field by field (hwt_profile_check), so its fields must identify one:
 * `"fields": {}` would match every machine. Required: "arch" and at least one of "brand", "model", "isa" (the
 * CPU), each with a value other than "" and "unknown" (what hwt_profile_machine_probe writes when it cannot tell). */
static bool identifying_fields(parser *p, const hwt_profile *prof, size_t at) {
  static const char *const cpu[] = {"brand", "model", "isa"};
  bool arch = false, cpu_known = false;
  for (size_t i = 0; i < prof->nfields; i++) {
    const char *v = prof->fields[i].value;
    if (v[0] == '\0' || strcmp(v, "unknown") == 0) continue;
    if (strcmp(prof->fields[i].name, "arch") == 0) arch = true;
    for (size_t j = 0; j < sizeof cpu / sizeof cpu[0]; j++)
      if (strcmp(prof->fields[i].name, cpu[j]) == 0) cpu_known = true;
  }
  if (arch && cpu_known) return true;
  return fail_schema(p, at,
                     "%s would match every machine: name \"arch\" and one of \"brand\", \"model\", \"isa\" "
                     "(not \"unknown\")",
                     prof->nfields == 0 ? "an empty field set" : "fields that identify no machine");
}

static bool parse_machine(parser *p, hwt_profile *prof) {
  skip_ws(p);
  size_t obj_at = p->pos, fields_at = 0;
  if (!open_object(p)) return false;
  unsigned seen = 0;
  bool first = true;
  for (;;) {
    const char *key;
    size_t keypos, klen, mark = p->arena_used;
    int r = next_member(p, &first, &key, &klen, &keypos);
    if (r < 0) return false;
    if (r == 0) break;
    size_t saved = path_key(p, key);
    bool ok = true;
    if (KEY_IS("fingerprint")) {
      ok = duplicate_key(p, keypos, &seen, M_FINGERPRINT, key) && get_string(p, &prof->fingerprint, 39);
    } else if (KEY_IS("fields")) {
      skip_ws(p);
      fields_at = p->pos;
      ok = duplicate_key(p, keypos, &seen, M_FIELDS, key) && parse_fields(p, prof) &&
           identifying_fields(p, prof, fields_at);
    } else {
      p->arena_used = mark;
      ok = skip_value(p);
    }
    path_pop(p, saved);
    if (!ok) return false;
  }
  p->depth--;
  if (!(seen & M_FINGERPRINT)) return fail_schema(p, obj_at, "missing required field 'fingerprint'");
  if (!(seen & M_FIELDS)) return fail_schema(p, obj_at, "missing required field 'fields'");
  return true;
}

/* ---- the "models" section ---- */

#define MAX_MODELS 100000u

typedef struct models_buf {
  hwt_profile_model_rec *v;
  size_t n, cap;
} models_buf;

static const char *const plan_names[hwt_profile_plan_count] = {"single-thread", "default", "tuned"};

static bool plan_from_name(const char *s, hwt_profile_plan *out) {
  for (int i = 0; i < hwt_profile_plan_count; i++)
    if (strcmp(s, plan_names[i]) == 0) {
      *out = (hwt_profile_plan)i;
      return true;
    }
  return false;
}

/* "plans": {"<plan>": {"p50_ns": x, "p99_ns": y, ...}, ...}: the figures the library hands out; other members of
 * a plan (CI bounds, samples) are the tuner's record and skipped. */
static bool parse_plans(parser *p, hwt_profile_model_rec *m) {
  if (!open_object(p)) return false;
  unsigned seen = 0;
  bool first = true;
  for (;;) {
    const char *key;
    size_t keypos, klen;
    int r = next_member(p, &first, &key, &klen, &keypos);
    if (r < 0) return false;
    if (r == 0) break;
    size_t saved = path_key(p, key);
    hwt_profile_plan plan;
    bool ok = true;
    if (!plan_from_name(key, &plan)) {
      ok = fail_schema(p, keypos, "unknown plan '%.32s' (expected single-thread, default or tuned)", key);
    } else {
      ok = duplicate_key(p, keypos, &seen, 1u << plan, key) && open_object(p);
      bool f2 = true;
      unsigned seen2 = 0;
      while (ok) {
        const char *k2;
        size_t kp2, kl2, mark2 = p->arena_used;
        int r2 = next_member(p, &f2, &k2, &kl2, &kp2);
        if (r2 < 0) return false;
        if (r2 == 0) {
          p->depth--;
          break;
        }
        size_t saved2 = path_key(p, k2);
        if (kl2 == 6 && memcmp(k2, "p50_ns", 6) == 0)
          ok = duplicate_key(p, kp2, &seen2, 1, k2) && get_double(p, 0.0, &m->p50_ns[plan], false);
        else if (kl2 == 6 && memcmp(k2, "p99_ns", 6) == 0)
          ok = duplicate_key(p, kp2, &seen2, 2, k2) && get_double(p, 0.0, &m->p99_ns[plan], false);
        else {
          p->arena_used = mark2;
          ok = skip_value(p);
        }
        path_pop(p, saved2);
      }
    }
    path_pop(p, saved);
    if (!ok) return false;
  }
  p->depth--;
  return true;
}

enum { MO_FILE = 1, MO_SHA = 2, MO_PREC = 4, MO_BATCH = 8, MO_WINNER = 16, MO_PLANS = 32, MO_CHOICE = 64 };

static bool parse_model(parser *p, models_buf *mb) {
  skip_ws(p);
  size_t obj_at = p->pos;
  if (!grow(p, (void **) &mb->v, &mb->cap, mb->n, sizeof *mb->v, 8)) return false;
  hwt_profile_model_rec *m = &mb->v[mb->n];
  memset(m, 0, sizeof *m);
  if (!open_object(p)) return false;
  unsigned seen = 0;
  bool first = true;
  bool has_choice = false;
  for (;;) {
    const char *key, *s;
    size_t keypos, klen, mark = p->arena_used;
    int r = next_member(p, &first, &key, &klen, &keypos);
    if (r < 0) return false;
    if (r == 0) break;
    size_t saved = path_key(p, key);
    bool ok = true;
    if (KEY_IS("file")) {
      ok = duplicate_key(p, keypos, &seen, MO_FILE, key) && get_string(p, &m->file, 255);
    } else if (KEY_IS("sha256")) {
      ok = duplicate_key(p, keypos, &seen, MO_SHA, key) && get_string(p, &m->sha256, 64);
      bool hex = ok && strlen(m->sha256) == 64;
      for (size_t i = 0; hex && i < 64; i++)
        hex = (m->sha256[i] >= '0' && m->sha256[i] <= '9') || (m->sha256[i] >= 'a' && m->sha256[i] <= 'f');
      if (ok && !hex) ok = fail_schema(p, keypos, "sha256 must be 64 lowercase hex digits");
    } else if (KEY_IS("precision")) {
      ok = duplicate_key(p, keypos, &seen, MO_PREC, key) && get_string(p, &m->precision, 8);
      if (ok && strcmp(m->precision, "fp32") != 0 && strcmp(m->precision, "int8") != 0)
        ok = fail_schema(p, keypos, "precision must be \"fp32\" or \"int8\", got '%s'", m->precision);
    } else if (KEY_IS("batch")) {
      ok = duplicate_key(p, keypos, &seen, MO_BATCH, key) && get_uint(p, 1, MAX_DIM, &m->batch);
    } else if (KEY_IS("winner")) {
      ok = duplicate_key(p, keypos, &seen, MO_WINNER, key) && get_string(p, &s, 32);
      if (ok && !plan_from_name(s, &m->winner))
        ok = fail_schema(p, keypos, "unknown winner '%s' (expected single-thread, default or tuned)", s);
    } else if (KEY_IS("plans")) {
      ok = duplicate_key(p, keypos, &seen, MO_PLANS, key) && parse_plans(p, m);
    } else if (KEY_IS("choice_batch")) {
      ok = duplicate_key(p, keypos, &seen, MO_CHOICE, key);
      if (ok && peek(p) == jt_null) ok = literal(p, "null");
      else if (ok) ok = get_uint(p, 1, MAX_DIM, &m->choice_batch), has_choice = true;
    } else {
      p->arena_used = mark;
      ok = skip_value(p);
    }
    path_pop(p, saved);
    if (!ok) return false;
  }
  p->depth--;
  static const struct { unsigned bit; const char *name; } required[] = {
      {MO_FILE, "file"}, {MO_SHA, "sha256"}, {MO_PREC, "precision"}, {MO_BATCH, "batch"}, {MO_WINNER, "winner"}};
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
    if (!(seen & required[i].bit)) return fail_schema(p, obj_at, "missing required field '%s'", required[i].name);
  if (!(seen & MO_CHOICE)) m->choice_batch = m->batch;
  (void)has_choice;
  for (size_t i = 0; i < mb->n; i++) {
    const hwt_profile_model_rec *o = &mb->v[i];
    if (o->batch == m->batch && strcmp(o->sha256, m->sha256) == 0 && strcmp(o->precision, m->precision) == 0)
      return fail_schema(p, obj_at, "duplicate model: sha256 %.12s..., precision %s, batch %llu already in models[%zu]",
                         m->sha256, m->precision, (unsigned long long)m->batch, i);
  }
  mb->n++;
  return true;
}

static bool model_element(parser *p, void *ctx, size_t index) {
  (void)index;
  return parse_model(p, ctx);
}

enum { T_SCHEMA = 1, T_MACHINE = 2, T_ENTRIES = 4, T_OBJECTIVE = 8, T_CREATED = 16, T_HWTUNE = 32,
       T_XNNPACK = 64, T_MODELS = 128 };

static bool parse_document(parser *p, hwt_profile *prof, entries_buf *eb, models_buf *mb) {
  skip_ws(p);
  if (p->pos >= p->len) return fail_parse(p, p->pos, "empty file: not a JSON document");
  skip_ws(p);
  size_t obj_at = p->pos;
  if (!open_object(p)) return false;
  unsigned seen = 0;
  bool first = true;
  for (;;) {
    const char *key;
    size_t keypos, klen, mark = p->arena_used;
    int r = next_member(p, &first, &key, &klen, &keypos);
    if (r < 0) return false;
    if (r == 0) break;
    size_t saved = path_key(p, key);
    bool ok = true;
    const char *s;
    if (KEY_IS("schema")) {
      ok = duplicate_key(p, keypos, &seen, T_SCHEMA, key) && get_string(p, &s, 0);
      if (ok && strcmp(s, HWT_PROFILE_SCHEMA) != 0)
        ok = fail_schema(p, keypos, "unknown schema version '%.64s' (this libhwtune reads %s)", s,
                         HWT_PROFILE_SCHEMA);
    } else if (KEY_IS("machine")) {
      ok = duplicate_key(p, keypos, &seen, T_MACHINE, key) && parse_machine(p, prof);
    } else if (KEY_IS("entries")) {
      ok = duplicate_key(p, keypos, &seen, T_ENTRIES, key) && parse_array(p, MAX_ENTRIES, "entries", entry_element, eb);
    } else if (KEY_IS("models")) {
      ok = duplicate_key(p, keypos, &seen, T_MODELS, key) && parse_array(p, MAX_MODELS, "models", model_element, mb);
    } else if (KEY_IS("objective")) {
      ok = duplicate_key(p, keypos, &seen, T_OBJECTIVE, key) && get_string(p, &prof->objective, 0);
      if (ok && strcmp(prof->objective, "latency") != 0 && strcmp(prof->objective, "throughput") != 0)
        ok = fail_schema(p, keypos, "objective must be \"latency\" or \"throughput\", got '%.64s'", prof->objective);
    } else if (KEY_IS("created")) {
      ok = duplicate_key(p, keypos, &seen, T_CREATED, key) && get_string(p, &prof->created, 64);
    } else if (KEY_IS("hwtune_version")) {
      ok = duplicate_key(p, keypos, &seen, T_HWTUNE, key) && get_string(p, &prof->hwtune_version, 64);
    } else if (KEY_IS("xnnpack_version")) {
      ok = duplicate_key(p, keypos, &seen, T_XNNPACK, key) && get_string(p, &prof->xnnpack_version, 64);
    } else {
      p->arena_used = mark;
      ok = skip_value(p);
    }
    path_pop(p, saved);
    if (!ok) return false;
  }
  p->depth--;
  skip_ws(p);
  if (p->pos < p->len) return fail_parse(p, p->pos, "trailing characters after the JSON document");
  if (!(seen & T_SCHEMA)) return fail_schema(p, obj_at, "missing required field 'schema'");
  if (!(seen & T_MACHINE)) return fail_schema(p, obj_at, "missing required field 'machine'");
  if (!(seen & T_OBJECTIVE)) return fail_schema(p, obj_at, "missing required field 'objective'");
  if (!(seen & T_ENTRIES)) return fail_schema(p, obj_at, "missing required field 'entries'");
  return true;
}

static int entry_cmp(const void *a, const void *b) {
  const hwt_profile_entry_rec *x = a, *y = b;
  if (x->group != y->group) return x->group < y->group ? -1 : 1;
  if (x->n != y->n) return x->n < y->n ? -1 : 1;
  if (x->k != y->k) return x->k < y->k ? -1 : 1;
  if (x->batch != y->batch) return x->batch < y->batch ? -1 : 1;
  int c = strcmp(x->shape, y->shape);
  if (c) return c;
  return x->src_index < y->src_index ? -1 : x->src_index > y->src_index;
}

/* Sorts entries by (group, n, k, batch, shape), sets group ranges, rejects duplicate (op, dtype, shape, batch). */
static bool index_entries(parser *p, entries_buf *eb) {
  if (eb->n > 1) qsort(eb->v, eb->n, sizeof *eb->v, entry_cmp);
  for (size_t i = 0; i < eb->ng; i++) eb->g[i].lo = eb->g[i].hi = 0;
  for (size_t i = 0; i < eb->n; i++) {
    hwt_profile_group *g = &eb->g[eb->v[i].group];
    if (i == 0 || eb->v[i - 1].group != eb->v[i].group) g->lo = i;
    g->hi = i + 1;
  }
  /* Runs of equal n inside a group, for the nearest-shape search. */
  for (size_t i = 0; i < eb->n;) {
    size_t j = i + 1;
    while (j < eb->n && eb->v[j].group == eb->v[i].group && eb->v[j].n == eb->v[i].n) j++;
    for (size_t x = i; x < j; x++) {
      eb->v[x].run_lo = (uint32_t)i;
      eb->v[x].run_hi = (uint32_t)j;
    }
    i = j;
  }
  /* Sorted, so a duplicate (op, dtype, n, k, batch, shape) is adjacent. */
  for (size_t i = 1; i < eb->n; i++) {
    const hwt_profile_entry_rec *a = &eb->v[i - 1], *b = &eb->v[i];
    if (a->group != b->group || a->n != b->n || a->k != b->k || a->batch != b->batch || strcmp(a->shape, b->shape))
      continue;
    p->pathlen = 0;
    path_key(p, "entries");
    path_index(p, b->src_index);
    return fail_schema(p, b->pos, "duplicate entry: op '%s', dtype '%s', shape '%s', batch %llu already in entries[%u]",
                       b->op, b->dtype, b->shape, (unsigned long long)b->batch, a->src_index);
  }
  return true;
}

/* Parses text[0, len) in place; text has room for len + 1 + strlen(name) + 1 bytes and is owned from here on. */
static hwt_status load_owned(char *text, size_t len, const char *name, hwt_profile **out, char *msg, size_t msglen) {
  size_t namelen = strlen(name);
  text[len] = '\0';
  memcpy(text + len + 1, name, namelen + 1);
  hwt_profile *prof = calloc(1, sizeof *prof);
  if (!prof) {
    free(text);
    if (msg && msglen) snprintf(msg, msglen, "%s: out of memory", name);
    return hwt_status_out_of_memory;
  }
  prof->text = text;
  prof->path = text + len + 1;
  parser p = {.buf = text, .len = len, .name = prof->path, .msg = msg, .msglen = msglen};
  entries_buf eb = {0};
  models_buf mb = {0};
  if (parse_document(&p, prof, &eb, &mb) && index_entries(&p, &eb)) {
    prof->models = mb.v;
    prof->nmodels = mb.n;
    prof->escapes = p.arena;
    prof->entries = eb.v;
    prof->nentries = eb.n;
    prof->groups = eb.g;
    prof->ngroups = eb.ng;
    *out = prof;
    return hwt_status_ok;
  }
  free(eb.v);
  free(eb.g);
  free(mb.v);
  free(p.arena);
  free(text);
  free(prof);
  return p.status != hwt_status_ok ? p.status : hwt_status_internal;
}

hwt_status hwt_profile_load_buffer(const void *data, size_t len, const char *name, hwt_profile **out, char *msg,
                                   size_t msglen) {
  if (msg && msglen) msg[0] = '\0';
  if (out == NULL || (data == NULL && len > 0)) {
    if (msg && msglen) snprintf(msg, msglen, "hwt_profile_load_buffer: NULL argument");
    return hwt_status_invalid_argument;
  }
  *out = NULL;
  if (name == NULL) name = "<buffer>";
  if (len > MAX_FILE_BYTES) {
    if (msg && msglen) snprintf(msg, msglen, "%s: profile larger than %u MiB", name, MAX_FILE_BYTES >> 20);
    return hwt_status_invalid_argument;
  }
  char *text = malloc(len + strlen(name) + 2);
  if (!text) {
    if (msg && msglen) snprintf(msg, msglen, "%s: out of memory", name);
    return hwt_status_out_of_memory;
  }
  if (len) memcpy(text, data, len);
  return load_owned(text, len, name, out, msg, msglen);
}

hwt_status hwt_profile_load(const char *path, hwt_profile **out, char *msg, size_t msglen) {
  if (msg && msglen) msg[0] = '\0';
  if (path == NULL || out == NULL) {
    if (msg && msglen) snprintf(msg, msglen, "hwt_profile_load: NULL %s", path == NULL ? "path" : "out");
    return hwt_status_invalid_argument;
  }
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0) {
    if (msg && msglen) snprintf(msg, msglen, "cannot open profile '%s': %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return hwt_status_io_error;
  }
  if (!S_ISREG(sb.st_mode) || sb.st_size > (off_t)MAX_FILE_BYTES) {
    if (msg && msglen)
      snprintf(msg, msglen, "profile '%s' is %s", path, S_ISREG(sb.st_mode) ? "larger than 64 MiB" : "not a regular file");
    close(fd);
    return hwt_status_io_error;
  }
  /* Read to end of file even if it grew since fstat (up to the limit). */
  size_t namelen = strlen(path), cap = (size_t)sb.st_size + 1, len = 0;
  char *text = malloc(cap + namelen + 2);
  hwt_status st = text ? hwt_status_ok : hwt_status_out_of_memory;
  while (st == hwt_status_ok) {
    if (len == cap) {
      if (cap >= MAX_FILE_BYTES) {
        if (msg && msglen) snprintf(msg, msglen, "profile '%s' is larger than 64 MiB", path);
        st = hwt_status_io_error;
        break;
      }
      char *nt = realloc(text, cap * 2 + namelen + 2);
      if (!nt) {
        st = hwt_status_out_of_memory;
        break;
      }
      text = nt;
      cap *= 2;
    }
    ssize_t got = read(fd, text + len, cap - len);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      if (msg && msglen) snprintf(msg, msglen, "cannot read profile '%s': %s", path, strerror(errno));
      st = hwt_status_io_error;
      break;
    }
    if (got == 0) break;
    len += (size_t)got;
  }
  close(fd);
  if (st != hwt_status_ok) {
    if (st == hwt_status_out_of_memory && msg && msglen) snprintf(msg, msglen, "%s: out of memory", path);
    free(text);
    return st;
  }
  return load_owned(text, len, path, out, msg, msglen);
}

void hwt_profile_free(hwt_profile *profile) {
  if (!profile) return;
  free(profile->entries);
  free(profile->groups);
  free(profile->models);
  free(profile->escapes);
  free(profile->text);
  free(profile);
}

hwt_status hwt_profile_default_path(char *buf, size_t buflen) {
  if (buf == NULL || buflen == 0) return hwt_status_invalid_argument;
  buf[0] = '\0';
  const char *env = getenv(HWT_PROFILE_ENV);
  int w;
  if (env && env[0]) {
    w = snprintf(buf, buflen, "%s", env);
  } else {
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (xdg && xdg[0] == '/') w = snprintf(buf, buflen, "%s/hwtune/profile.json", xdg);
    else if (home && home[0]) w = snprintf(buf, buflen, "%s/.local/share/hwtune/profile.json", home);
    else return hwt_status_not_found;
  }
  if (w < 0 || (size_t)w >= buflen) {
    buf[0] = '\0';
    return hwt_status_invalid_argument;
  }
  return hwt_status_ok;
}

const char *hwt_profile_meta(const hwt_profile *profile, const char *key) {
  if (!profile || !key) return NULL;
  if (strcmp(key, "path") == 0) return profile->path;
  if (strcmp(key, "fingerprint") == 0) return profile->fingerprint;
  if (strcmp(key, "created") == 0) return profile->created;
  if (strcmp(key, "objective") == 0) return profile->objective;
  if (strcmp(key, "hwtune_version") == 0) return profile->hwtune_version;
  if (strcmp(key, "xnnpack_version") == 0) return profile->xnnpack_version;
  return NULL;
}

/* ---- models ---- */

const char *hwt_profile_plan_name(hwt_profile_plan plan) {
  return (int)plan >= 0 && plan < hwt_profile_plan_count ? plan_names[plan] : "unknown";
}

size_t hwt_profile_model_count(const hwt_profile *profile) { return profile ? profile->nmodels : 0; }

bool hwt_profile_model_entry(const hwt_profile *profile, size_t i, hwt_profile_model *out) {
  if (!profile || !out || i >= profile->nmodels) return false;
  const hwt_profile_model_rec *m = &profile->models[i];
  memset(out, 0, sizeof *out);
  out->file = m->file;
  out->sha256 = m->sha256;
  out->precision = m->precision;
  out->batch = m->batch;
  out->winner = m->winner;
  out->choice_batch = m->choice_batch;
  memcpy(out->p50_ns, m->p50_ns, sizeof out->p50_ns);
  memcpy(out->p99_ns, m->p99_ns, sizeof out->p99_ns);
  out->index = i;
  return true;
}

bool hwt_profile_model_find(const hwt_profile *profile, const char *sha256, const char *precision, uint64_t batch,
                            hwt_profile_model *out) {
  if (!profile || !sha256 || !precision) return false;
  if (batch == 0) batch = 1;
  for (size_t i = 0; i < profile->nmodels; i++) {
    const hwt_profile_model_rec *m = &profile->models[i];
    if (m->batch == batch && strcmp(m->sha256, sha256) == 0 && strcmp(m->precision, precision) == 0)
      return out ? hwt_profile_model_entry(profile, i, out) : true;
  }
  return false;
}
