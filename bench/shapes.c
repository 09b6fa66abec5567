/* SPDX-License-Identifier: Apache-2.0 */
/* Names of ops, impls and formats; the shape syntax (NxK, HxWxC:OC:kKsSpP) and shape files. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "hwt_common.h"

static const char *const op_names[hwt_bench_op_count] = {"gemm_f32",   "gemm_qs8",   "conv_f32",
                                                         "conv_qs8",   "dwconv_f32", "dwconv_qs8",
                                                         "spmm_f32"};
static const char *const impl_names[hwt_bench_impl_count] = {"xnnpack",   "own",       "reference",
                                                                 "wrong",     "own-dense", "xnnpack-dense"};

const char *hwt_bench_op_name(hwt_bench_op op) { return (unsigned)op < hwt_bench_op_count ? op_names[op] : NULL; }

bool hwt_bench_op_from_name(const char *name, hwt_bench_op *out) {
  for (int i = 0; i < hwt_bench_op_count; i++)
    if (name && strcmp(name, op_names[i]) == 0) {
      *out = (hwt_bench_op)i;
      return true;
    }
  return false;
}

bool hwt_bench_op_is_qs8(hwt_bench_op op) {
  return op == hwt_bench_gemm_qs8 || op == hwt_bench_conv_qs8 || op == hwt_bench_dwconv_qs8;
}
bool hwt_bench_op_is_conv(hwt_bench_op op) { return op >= hwt_bench_conv_f32 && op <= hwt_bench_dwconv_qs8; }
bool hwt_bench_op_is_sparse(hwt_bench_op op) { return op == hwt_bench_spmm_f32; }
bool hwt_bench_op_is_dwconv(hwt_bench_op op) { return op == hwt_bench_dwconv_f32 || op == hwt_bench_dwconv_qs8; }

const char *hwt_bench_impl_name(hwt_bench_impl impl) {
  return (unsigned)impl < hwt_bench_impl_count ? impl_names[impl] : NULL;
}

bool hwt_bench_impl_from_name(const char *name, hwt_bench_impl *out) {
  for (int i = 0; i < hwt_bench_impl_count; i++)
    if (name && strcmp(name, impl_names[i]) == 0) {
      *out = (hwt_bench_impl)i;
      return true;
    }
  return false;
}

#define SHAPE_DIM_MAX (1u << 20)

/* Reads a positive decimal number at *p without a leading zero (a shape's text is its key in results and
 * profiles, and libhwtune's loader reads the same grammar: "064x128" would be a second name for 64x128); advances
 * *p. */
static bool read_num(const char **p, size_t *out) {
  if (!isdigit((unsigned char)**p) || **p == '0') return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(*p, &end, 10);
  if (errno != 0 || v == 0 || v > SHAPE_DIM_MAX) return false;
  *out = (size_t)v;
  *p = end;
  return true;
}

hwt_status hwt_bench_parse_shape(const char *text, hwt_bench_shape *out, char *err, size_t errlen) {
  hwt_bench_shape s;
  memset(&s, 0, sizeof(s));
  if (text == NULL || *text == '\0') {
    hwt_errf(err, errlen, "empty shape");
    return hwt_status_parse_error;
  }
  if (strlen(text) >= sizeof(s.text)) {
    hwt_errf(err, errlen, "shape '%.40s...' is too long", text);
    return hwt_status_parse_error;
  }
  snprintf(s.text, sizeof(s.text), "%s", text);
  const char *p = text;
  if (strchr(text, ':') == NULL) {
    if (!read_num(&p, &s.n) || *p++ != 'x' || !read_num(&p, &s.k) || *p != '\0') {
      hwt_errf(err, errlen,
               "malformed shape '%s': expected NxK for gemm (e.g. 1024x1024, N outputs x K inputs, each 1..%u) "
               "or HxWxC:OC:kKsSpP for conv (e.g. 56x56x64:128:k3s1p1)",
               text, SHAPE_DIM_MAX);
      return hwt_status_parse_error;
    }
    *out = s;
    return hwt_status_ok;
  }
  s.conv = true;
  s.stride = 1;
  s.pad = 0;
  if (!read_num(&p, &s.h) || *p++ != 'x' || !read_num(&p, &s.w) || *p++ != 'x' || !read_num(&p, &s.c) ||
      *p++ != ':')
    goto bad;
  if (*p == ':') {
    p++;
  } else {
    if (!read_num(&p, &s.out_c) || *p++ != ':') goto bad;
    s.out_c_given = true;
  }
  if (*p++ != 'k' || !read_num(&p, &s.kh)) goto bad;
  s.kw = s.kh;
  if (*p == 'x') {
    p++;
    if (!read_num(&p, &s.kw)) goto bad;
  }
  if (*p == 's') {
    p++;
    if (!read_num(&p, &s.stride)) goto bad;
  }
  if (*p == 'p') {
    p++;
    if (isdigit((unsigned char)*p)) {
      errno = 0;
      char *end;
      unsigned long v = strtoul(p, &end, 10);
      if (errno != 0 || v > 64) goto bad;
      s.pad = v;
      p = end;
    } else {
      goto bad;
    }
  }
  if (*p != '\0') goto bad;
  if (!s.out_c_given) s.out_c = s.c;
  if (s.kh > s.h + 2 * s.pad || s.kw > s.w + 2 * s.pad) {
    hwt_errf(err, errlen, "shape '%s': kernel %zux%zu is larger than the padded input %zux%zu", text, s.kh, s.kw,
             s.h + 2 * s.pad, s.w + 2 * s.pad);
    return hwt_status_parse_error;
  }
  *out = s;
  return hwt_status_ok;
bad:
  hwt_errf(err, errlen,
           "malformed conv shape '%s': expected HxWxC:OC:kKsSpP, e.g. 56x56x64:128:k3s1p1 (K or KHxKW kernel, "
           "stride S default 1, padding P default 0; depthwise: OC = C or empty, 56x56x64::k3s1p1)",
           text);
  return hwt_status_parse_error;
}

bool hwt_bench_shape_fits(hwt_bench_op op, const hwt_bench_shape *shape, char *why, size_t whylen) {
  if (hwt_bench_op_is_sparse(op)) {
    /* Fully-connected (NxK) or 1x1, stride-1, unpadded convolution: both are C = A W^T over batch*H*W rows. */
    if (shape->conv && (shape->kh != 1 || shape->kw != 1 || shape->stride != 1 || shape->pad != 0)) {
      hwt_errf(why, whylen, "%s needs a gemm shape NxK or a 1x1 stride-1 unpadded conv HxWxC:OC:k1, not '%s'",
               hwt_bench_op_name(op), shape->text);
      return false;
    }
    return true;
  }
  if (!hwt_bench_op_is_conv(op)) {
    if (shape->conv) {
      hwt_errf(why, whylen, "%s needs a gemm shape NxK, not '%s'", hwt_bench_op_name(op), shape->text);
      return false;
    }
    return true;
  }
  if (!shape->conv) {
    hwt_errf(why, whylen, "%s needs a conv shape HxWxC:OC:kKsSpP, not '%s'", hwt_bench_op_name(op), shape->text);
    return false;
  }
  if (hwt_bench_op_is_dwconv(op) && shape->out_c != shape->c) {
    hwt_errf(why, whylen, "%s: depthwise shape '%s' must have OC = C (%zu) or leave OC empty",
             hwt_bench_op_name(op), shape->text, shape->c);
    return false;
  }
  return true;
}

hwt_status hwt_bench_read_shapes(const char *path, hwt_bench_shape_entry **out, size_t *count, char *err,
                                 size_t errlen) {
  char *data = NULL;
  size_t len = 0;
  hwt_status st = hwt_read_file(path, &data, &len, err, errlen);
  if (st != hwt_status_ok) return st;
  size_t cap = 16, n = 0;
  hwt_bench_shape_entry *v = malloc(cap * sizeof(*v));
  if (v == NULL) {
    free(data);
    return hwt_status_out_of_memory;
  }
  unsigned lineno = 0;
  char *save = NULL;
  /* strtok_r drops empty lines, so count newlines by hand. */
  char *line = data;
  while (line != NULL && *line != '\0') {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    lineno++;
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *tok1 = strtok_r(line, " \t\r", &save);
    char *tok2 = tok1 ? strtok_r(NULL, " \t\r", &save) : NULL;
    char *tok3 = tok2 ? strtok_r(NULL, " \t\r", &save) : NULL;
    if (tok1 != NULL) {
      hwt_bench_shape_entry e;
      const char *shape_text = tok1;
      bool tagged = false;
      if (strcmp(tok1, "gemm") == 0 || strcmp(tok1, "conv") == 0 || strcmp(tok1, "dw") == 0) {
        tagged = true;
        e.kind = tok1[0] == 'g' ? hwt_shape_gemm : tok1[0] == 'c' ? hwt_shape_conv : hwt_shape_dw;
        shape_text = tok2;
      }
      if (shape_text == NULL || (tagged ? tok3 != NULL : tok2 != NULL)) {
        hwt_errf(err, errlen, "%s:%u: expected '[gemm|conv|dw] <shape>', one shape a line", path, lineno);
        st = hwt_status_parse_error;
        goto done;
      }
      char msg[256];
      if (hwt_bench_parse_shape(shape_text, &e.shape, msg, sizeof(msg)) != hwt_status_ok) {
        hwt_errf(err, errlen, "%s:%u: %s", path, lineno, msg);
        st = hwt_status_parse_error;
        goto done;
      }
      if (!tagged) e.kind = e.shape.conv ? hwt_shape_conv : hwt_shape_gemm;
      if ((e.kind == hwt_shape_gemm) == e.shape.conv) {
        hwt_errf(err, errlen, "%s:%u: tag '%s' does not match shape '%s'", path, lineno, tok1, shape_text);
        st = hwt_status_parse_error;
        goto done;
      }
      if (e.kind == hwt_shape_dw && e.shape.out_c != e.shape.c) {
        hwt_errf(err, errlen, "%s:%u: depthwise shape '%s' must have OC = C", path, lineno, shape_text);
        st = hwt_status_parse_error;
        goto done;
      }
      bool dup = false;
      for (size_t i = 0; i < n; i++)
        if (v[i].kind == e.kind && strcmp(v[i].shape.text, e.shape.text) == 0) dup = true;
      if (!dup) {
        if (n == cap) {
          hwt_bench_shape_entry *nv = realloc(v, 2 * cap * sizeof(*v));
          if (nv == NULL) {
            st = hwt_status_out_of_memory;
            goto done;
          }
          v = nv;
          cap *= 2;
        }
        v[n++] = e;
      }
    }
    line = nl ? nl + 1 : NULL;
  }
  if (n == 0) {
    hwt_errf(err, errlen, "%s: no shapes in the file", path);
    st = hwt_status_parse_error;
  }
done:
  free(data);
  if (st != hwt_status_ok) {
    free(v);
    return st;
  }
  *out = v;
  *count = n;
  return hwt_status_ok;
}

static const char *const format_names[hwt_format_count] = {"console", "json", "csv", "md", "gbench"};

const char *hwt_bench_format_name(hwt_bench_format f) {
  return (unsigned)f < hwt_format_count ? format_names[f] : NULL;
}

bool hwt_bench_format_from_name(const char *name, hwt_bench_format *out) {
  for (int i = 0; i < hwt_format_count; i++)
    if (name && strcmp(name, format_names[i]) == 0) {
      *out = (hwt_bench_format)i;
      return true;
    }
  return false;
}

bool hwt_bench_format_from_path(const char *path, hwt_bench_format *out) {
  const char *dot = path ? strrchr(path, '.') : NULL;
  if (dot == NULL) return false;
  if (strcmp(dot, ".json") == 0) *out = hwt_format_json;
  else if (strcmp(dot, ".csv") == 0) *out = hwt_format_csv;
  else if (strcmp(dot, ".md") == 0) *out = hwt_format_md;
  else return false;
  return true;
}
