/* SPDX-License-Identifier: Apache-2.0 */
/* NumPy .npy files (onnx.h): format versions 1.0, 2.0 and 3.0, little-endian, C order, seven element types.
 *
 * The layout (numpy.lib.format): the magic "\x93NUMPY", a major and a minor version byte, the header length
 * (uint16 LE in 1.0, uint32 LE in 2.0 / 3.0), then the header, a Python dict literal
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and ended by '\n', then the raw elements. The header is parsed strictly: exactly these
 * three keys, each once, and nothing else; lengths, ranks and sizes are capped and computed with overflow
 * checks, and the data must be exactly the size the header promises. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hwt_common.h"
#include "onnx.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_HEADER_MAX 10000     /* numpy's own default limit (np.load max_header_size) */
#define NPY_DIM_MAX (1ull << 40) /* per dimension; the total is checked separately */
#define NPY_ALIGN 64             /* numpy aligns magic + length + header to 64 bytes */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tensor_npy.c reads and writes little-endian data in place: a big-endian host needs byte swapping here"
#endif

/* The accepted descr strings, by dtype. */
static const char *const npy_descr[hwt_dtype_count] = {
    [hwt_dtype_f32] = "<f4", [hwt_dtype_u8] = "|u1",  [hwt_dtype_i8] = "|i1",  [hwt_dtype_i32] = "<i4",
    [hwt_dtype_i64] = "<i8", [hwt_dtype_f64] = "<f8", [hwt_dtype_bool] = "|b1",
};

typedef struct npy_parser {
  const char *p, *end;
} npy_parser;

static void skip_spaces(npy_parser *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t')) s->p++;
}

static bool accept(npy_parser *s, char c) {
  skip_spaces(s);
  if (s->p < s->end && *s->p == c) {
    s->p++;
    return true;
  }
  return false;
}

/* A quoted string ('...' or "..."), without escapes, at most cap - 1 characters. */
static bool parse_string(npy_parser *s, char *buf, size_t cap) {
  skip_spaces(s);
  if (s->p >= s->end || (*s->p != '\'' && *s->p != '"')) return false;
  char q = *s->p++;
  size_t n = 0;
  while (s->p < s->end && *s->p != q) {
    if (*s->p == '\\' || *s->p == '\n' || n + 1 >= cap) return false;
    buf[n++] = *s->p++;
  }
  if (s->p >= s->end) return false;
  s->p++;
  buf[n] = '\0';
  return true;
}

static bool accept_word(npy_parser *s, const char *w) {
  skip_spaces(s);
  size_t n = strlen(w);
  if ((size_t) (s->end - s->p) < n || memcmp(s->p, w, n) != 0) return false;
  s->p += n;
  return true;
}

/* "(2, 3)", "(5,)", "()", "(2, 3,)"; each dimension a decimal integer in [0, NPY_DIM_MAX]. */
static bool parse_shape(npy_parser *s, hwt_tensor *t, char *why, size_t whylen) {
  if (!accept(s, '(')) {
    snprintf(why, whylen, "'shape' is not a tuple");
    return false;
  }
  t->rank = 0;
  bool trailing_comma = false;
  for (;;) {
    if (accept(s, ')')) break;
    skip_spaces(s);
    if (s->p >= s->end || *s->p < '0' || *s->p > '9') {
      snprintf(why, whylen, "'shape' holds something other than non-negative integers");
      return false;
    }
    uint64_t v = 0;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
      v = v * 10 + (uint64_t) (*s->p - '0');
      if (v > NPY_DIM_MAX) {
        snprintf(why, whylen, "a dimension of 'shape' exceeds %llu", (unsigned long long) NPY_DIM_MAX);
        return false;
      }
      s->p++;
    }
    if (s->p < s->end && *s->p == 'L') s->p++; /* Python 2 longs, as numpy itself still accepts */
    if (t->rank >= HWT_TENSOR_MAX_RANK) {
      snprintf(why, whylen, "'shape' has more than %d dimensions", HWT_TENSOR_MAX_RANK);
      return false;
    }
    t->dims[t->rank++] = (int64_t) v;
    trailing_comma = accept(s, ',');
    if (!trailing_comma) {
      if (accept(s, ')')) break;
      snprintf(why, whylen, "'shape' is not a well-formed tuple");
      return false;
    }
  }
  if (t->rank == 1 && !trailing_comma) {
    snprintf(why, whylen, "'shape' (n) is not a tuple: a 1-D shape is written (n,)");
    return false;
  }
  return true;
}

/* Parses the header dict into t (dtype, rank, dims). why gets the reason on failure. */
static bool parse_header(const char *text, size_t len, hwt_tensor *t, char *why, size_t whylen) {
  npy_parser s = {text, text + len};
  /* The header ends with '\n' and nothing but the dict and spaces precede it. */
  if (len == 0 || text[len - 1] != '\n') {
    snprintf(why, whylen, "header does not end with a newline");
    return false;
  }
  s.end = text + len - 1;
  if (memchr(text, '\0', len) != NULL || memchr(text, '\n', len - 1) != NULL) {
    snprintf(why, whylen, "header holds a NUL or an inner newline");
    return false;
  }
  if (!accept(&s, '{')) {
    snprintf(why, whylen, "header is not a dict");
    return false;
  }
  bool have_descr = false, have_order = false, have_shape = false;
  for (;;) {
    if (accept(&s, '}')) break;
    char key[32];
    if (!parse_string(&s, key, sizeof key) || !accept(&s, ':')) {
      snprintf(why, whylen, "header is not a dict of quoted keys");
      return false;
    }
    if (strcmp(key, "descr") == 0) {
      char descr[32];
      if (have_descr) goto duplicate;
      have_descr = true;
      if (!parse_string(&s, descr, sizeof descr)) {
        snprintf(why, whylen, "'descr' is not a simple type string (structured dtypes are not supported)");
        return false;
      }
      int found = -1;
      for (int k = 0; k < hwt_dtype_count; k++)
        if (strcmp(descr, npy_descr[k]) == 0) found = k;
      if (found < 0) {
        snprintf(why, whylen,
                 "dtype '%s' not supported (supported: '<f4' float32, '<f8' float64, '|u1' uint8, '|i1' int8, "
                 "'<i4' int32, '<i8' int64, '|b1' bool; little-endian)",
                 descr);
        return false;
      }
      t->dtype = (hwt_dtype) found;
    } else if (strcmp(key, "fortran_order") == 0) {
      if (have_order) goto duplicate;
      have_order = true;
      if (accept_word(&s, "True")) {
        snprintf(why, whylen, "fortran_order True is not supported (save a C-ordered array: np.ascontiguousarray)");
        return false;
      }
      if (!accept_word(&s, "False")) {
        snprintf(why, whylen, "'fortran_order' is not True or False");
        return false;
      }
    } else if (strcmp(key, "shape") == 0) {
      if (have_shape) goto duplicate;
      have_shape = true;
      if (!parse_shape(&s, t, why, whylen)) return false;
    } else {
      snprintf(why, whylen, "unknown header key '%s'", key);
      return false;
    }
    if (!accept(&s, ',')) {
      if (accept(&s, '}')) break;
      snprintf(why, whylen, "header is not a well-formed dict");
      return false;
    }
    continue;
  duplicate:
    snprintf(why, whylen, "header key '%s' appears twice", key);
    return false;
  }
  skip_spaces(&s);
  if (s.p != s.end) {
    snprintf(why, whylen, "text after the header dict");
    return false;
  }
  if (!have_descr || !have_order || !have_shape) {
    snprintf(why, whylen, "header lacks '%s'", !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    return false;
  }
  return true;
}

/* Element count and byte size of a tensor's dims, false on overflow. */
static bool tensor_sizes(const hwt_tensor *t, size_t *count, size_t *bytes) {
  size_t n = 1;
  for (unsigned i = 0; i < t->rank; i++) {
    if (t->dims[i] < 0) return false;
    if (__builtin_mul_overflow(n, (size_t) t->dims[i], &n)) return false;
  }
  *count = n;
  return !__builtin_mul_overflow(n, hwt_dtype_size(t->dtype), bytes);
}

static void set_name(hwt_tensor *t, const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  if (n > 4 && strcmp(base + n - 4, ".npy") == 0) n -= 4;
  if (n >= sizeof t->name) n = sizeof t->name - 1;
  memcpy(t->name, base, n);
  t->name[n] = '\0';
}

hwt_status hwt_tensor_read_npy(const char *path, hwt_tensor *out, char *err, size_t errlen) {
  if (path == NULL || out == NULL) {
    hwt_errf(err, errlen, "hwt_tensor_read_npy: NULL argument");
    return hwt_status_invalid_argument;
  }
  memset(out, 0, sizeof *out);
  hwt_status st = hwt_status_parse_error;
  char *header = NULL;
  hwt_tensor t;
  memset(&t, 0, sizeof t);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    hwt_errf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    return errno == ENOENT ? hwt_status_not_found : hwt_status_io_error;
  }
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    hwt_errf(err, errlen, "%s: not a regular file", path);
    st = hwt_status_io_error;
    goto fail;
  }
  unsigned char pre[NPY_MAGIC_LEN + 2 + 4];
  size_t got = fread(pre, 1, NPY_MAGIC_LEN + 2, f);
  if (got < NPY_MAGIC_LEN || memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
    hwt_errf(err, errlen, "%s: not a NumPy .npy file (no \\x93NUMPY magic)", path);
    goto fail;
  }
  if (got < NPY_MAGIC_LEN + 2) {
    hwt_errf(err, errlen, "%s: truncated .npy file (no version)", path);
    goto fail;
  }
  unsigned major = pre[6], minor = pre[7];
  if (major < 1 || major > 3 || minor != 0) {
    hwt_errf(err, errlen, "%s: .npy format version %u.%u not supported (1.0, 2.0 and 3.0 are)", path, major, minor);
    st = hwt_status_unsupported;
    goto fail;
  }
  size_t lenbytes = major == 1 ? 2 : 4;
  if (fread(pre + 8, 1, lenbytes, f) != lenbytes) {
    hwt_errf(err, errlen, "%s: truncated .npy file (no header length)", path);
    goto fail;
  }
  size_t hlen = major == 1 ? (size_t) pre[8] | (size_t) pre[9] << 8
                           : (size_t) pre[8] | (size_t) pre[9] << 8 | (size_t) pre[10] << 16 | (size_t) pre[11] << 24;
  if (hlen > NPY_HEADER_MAX) {
    hwt_errf(err, errlen, "%s: .npy header of %zu bytes exceeds the limit of %d", path, hlen, NPY_HEADER_MAX);
    goto fail;
  }
  header = malloc(hlen + 1);
  if (header == NULL) {
    hwt_errf(err, errlen, "%s: out of memory", path);
    st = hwt_status_out_of_memory;
    goto fail;
  }
  if (fread(header, 1, hlen, f) != hlen) {
    hwt_errf(err, errlen, "%s: truncated .npy file (header of %zu bytes)", path, hlen);
    goto fail;
  }
  header[hlen] = '\0';
  char why[256];
  if (!parse_header(header, hlen, &t, why, sizeof why)) {
    hwt_errf(err, errlen, "%s: .npy header: %s", path, why);
    st = strstr(why, "not supported") ? hwt_status_unsupported : hwt_status_parse_error;
    goto fail;
  }
  size_t count, bytes;
  if (!tensor_sizes(&t, &count, &bytes)) {
    hwt_errf(err, errlen, "%s: .npy shape too large (the size overflows)", path);
    goto fail;
  }
  size_t offset = NPY_MAGIC_LEN + 2 + lenbytes + hlen;
  uint64_t left = (uint64_t) sb.st_size > offset ? (uint64_t) sb.st_size - offset : 0;
  if (left < bytes) {
    hwt_errf(err, errlen, "%s: truncated .npy data: the shape needs %zu bytes, the file has %llu", path, bytes,
             (unsigned long long) left);
    goto fail;
  }
  if (left > bytes) {
    hwt_errf(err, errlen, "%s: %llu bytes after the .npy data (the shape needs %zu)", path,
             (unsigned long long) (left - bytes), bytes);
    goto fail;
  }
  t.count = count;
  t.data = hwt_rt_alloc(bytes ? bytes : 1);
  if (t.data == NULL) {
    hwt_errf(err, errlen, "%s: out of memory for %zu bytes of data", path, bytes);
    st = hwt_status_out_of_memory;
    goto fail;
  }
  if (fread(t.data, 1, bytes, f) != bytes) {
    hwt_errf(err, errlen, "%s: truncated .npy data (read failed: %s)", path, ferror(f) ? strerror(errno) : "EOF");
    st = hwt_status_io_error;
    goto fail;
  }
  set_name(&t, path);
  free(header);
  fclose(f);
  *out = t;
  return hwt_status_ok;
fail:
  hwt_tensor_free(&t);
  free(header);
  fclose(f);
  return st;
}

hwt_status hwt_tensor_write_npy(const char *path, const hwt_tensor *t, char *err, size_t errlen) {
  if (path == NULL || t == NULL) {
    hwt_errf(err, errlen, "hwt_tensor_write_npy: NULL argument");
    return hwt_status_invalid_argument;
  }
  if ((unsigned) t->dtype >= hwt_dtype_count || t->rank > HWT_TENSOR_MAX_RANK) {
    hwt_errf(err, errlen, "%s: cannot write a tensor of dtype %d, rank %u", path, (int) t->dtype, t->rank);
    return hwt_status_invalid_argument;
  }
  size_t count, bytes;
  if (!tensor_sizes(t, &count, &bytes) || count != t->count || (bytes > 0 && t->data == NULL)) {
    hwt_errf(err, errlen, "%s: tensor dims do not match its %zu elements", path, t->count);
    return hwt_status_invalid_argument;
  }
  /* The dict, padded so that magic + version + length + header is a multiple of 64, ended by '\n'. */
  char dict[64 + HWT_TENSOR_MAX_RANK * 24];
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", npy_descr[t->dtype]);
  for (unsigned i = 0; i < t->rank; i++)
    n += snprintf(dict + n, sizeof dict - (size_t) n, "%s%lld", i ? ", " : "", (long long) t->dims[i]);
  n += snprintf(dict + n, sizeof dict - (size_t) n, "%s), }", t->rank == 1 ? "," : "");
  size_t pre = NPY_MAGIC_LEN + 2 + 2; /* version 1.0: the dict is always far below 64 KiB */
  size_t hlen = ((pre + (size_t) n + 1 + NPY_ALIGN - 1) / NPY_ALIGN) * NPY_ALIGN - pre;
  size_t total;
  if (__builtin_add_overflow(pre + hlen, bytes, &total)) {
    hwt_errf(err, errlen, "%s: tensor too large to write", path);
    return hwt_status_invalid_argument;
  }
  unsigned char *buf = malloc(total);
  if (buf == NULL) {
    hwt_errf(err, errlen, "%s: out of memory (%zu bytes)", path, total);
    return hwt_status_out_of_memory;
  }
  memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
  buf[6] = 1, buf[7] = 0;
  buf[8] = (unsigned char) (hlen & 0xff), buf[9] = (unsigned char) (hlen >> 8);
  memcpy(buf + pre, dict, (size_t) n);
  memset(buf + pre + n, ' ', hlen - (size_t) n - 1);
  buf[pre + hlen - 1] = '\n';
  if (bytes) memcpy(buf + pre + hlen, t->data, bytes);
  hwt_status st = hwt_write_file_atomic(path, buf, total, err, errlen);
  free(buf);
  return st;
}
