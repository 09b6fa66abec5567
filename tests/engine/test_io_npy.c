/* SPDX-License-Identifier: Apache-2.0 */
/* NumPy .npy files: numpy's own files of every dtype, round trips through our writer, and every malformed case
 * refused with its message. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnx.h"

#define NPY_DIR HWTUNE_FIXTURES "/npy/"

static char tmpdir[256];
static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/hwt_npy_XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}
static void remove_tmpdir(void) {
  DIR *d = opendir(tmpdir);
  if (d == NULL) return;
  struct dirent *e;
  char p[512];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(tmpdir);
}
TestSuite(io_npy, .init = make_tmpdir, .fini = remove_tmpdir);

static char *tmp_path(const char *name) {
  static char p[512];
  snprintf(p, sizeof p, "%s/%s", tmpdir, name);
  return p;
}

/* Writes a .npy with the given version, header text (padded with spaces and '\n' unless raw) and data. */
static const char *write_raw(const char *name, int major, const char *header, bool raw, const void *data,
                             size_t len) {
  const char *p = tmp_path(name);
  FILE *f = fopen(p, "wb");
  cr_assert_not_null(f);
  size_t hl = strlen(header), pre = major == 1 ? 10 : 12;
  size_t total = raw ? hl : ((pre + hl + 1 + 63) / 64) * 64 - pre;
  unsigned char v[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char) major, 0};
  if (major == 1) {
    v[8] = (unsigned char) total, v[9] = (unsigned char) (total >> 8);
  } else {
    v[8] = (unsigned char) total, v[9] = (unsigned char) (total >> 8), v[10] = (unsigned char) (total >> 16);
    v[11] = (unsigned char) (total >> 24);
  }
  fwrite(v, 1, pre, f);
  fwrite(header, 1, hl, f);
  if (!raw) {
    for (size_t i = hl; i + 1 < total; i++) fputc(' ', f);
    fputc('\n', f);
  }
  if (len) fwrite(data, 1, len, f);
  fclose(f);
  return p;
}

static void expect_refused(const char *path, const char *needle) {
  hwt_tensor t;
  char err[512] = "";
  hwt_status st = hwt_tensor_read_npy(path, &t, err, sizeof err);
  cr_assert_neq(st, hwt_status_ok, "%s was accepted", path);
  cr_assert_null(t.data);
  cr_assert(strstr(err, path) != NULL, "message does not name the file: %s", err);
  cr_assert(strstr(err, needle) != NULL, "expected '%s' in: %s", needle, err);
}

Test(io_npy, numpy_float32_2x3) {
  hwt_tensor t;
  char err[256];
  cr_assert_eq(hwt_tensor_read_npy(NPY_DIR "f32_2x3.npy", &t, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(t.dtype, hwt_dtype_f32);
  cr_assert_eq(t.rank, 2);
  cr_assert_eq(t.dims[0], 2);
  cr_assert_eq(t.dims[1], 3);
  cr_assert_eq(t.count, 6);
  cr_assert_str_eq(t.name, "f32_2x3");
  for (int i = 0; i < 6; i++) cr_assert_eq(((float *) t.data)[i], i * 0.5f - 1.0f);
  hwt_tensor_free(&t);
  cr_assert_null(t.data);
}

Test(io_npy, numpy_every_dtype) {
  static const struct {
    const char *file;
    hwt_dtype dtype;
    unsigned rank;
    size_t count;
    float values[8];
  } cases[] = {
      {"f64_4.npy", hwt_dtype_f64, 1, 4, {1.5f, -2.25f, (float) 1e300, 0}},
      {"u8_2x2x2.npy", hwt_dtype_u8, 3, 8, {0, 30, 60, 90, 120, 150, 180, 210}},
      {"i8_5.npy", hwt_dtype_i8, 1, 5, {-128, -1, 0, 1, 127}},
      {"i32_3.npy", hwt_dtype_i32, 1, 3, {-7, 0, 2147483647.0f}},
      {"i64_2x1.npy", hwt_dtype_i64, 2, 2, {-5, 1099511627776.0f}},
      {"bool_3.npy", hwt_dtype_bool, 1, 3, {1, 0, 1}},
      {"f32_scalar.npy", hwt_dtype_f32, 0, 1, {3.25f}},
      {"f32_v2.npy", hwt_dtype_f32, 2, 6, {-1, -0.5f, 0, 0.5f, 1, 1.5f}},
      {"f32_v3.npy", hwt_dtype_f32, 2, 6, {-1, -0.5f, 0, 0.5f, 1, 1.5f}},
      {"f32_empty_0x4.npy", hwt_dtype_f32, 2, 0, {0}},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char path[512], err[256] = "";
    snprintf(path, sizeof path, NPY_DIR "%s", cases[k].file);
    hwt_tensor t;
    cr_assert_eq(hwt_tensor_read(path, &t, err, sizeof err), hwt_status_ok, "%s: %s", path, err);
    cr_assert_eq(t.dtype, cases[k].dtype, "%s", path);
    cr_assert_eq(t.rank, cases[k].rank, "%s", path);
    cr_assert_eq(t.count, cases[k].count, "%s", path);
    float f[8];
    hwt_tensor_to_f32(&t, f);
    for (size_t i = 0; i < t.count; i++) cr_assert_eq(f[i], cases[k].values[i], "%s[%zu]: %g", path, i, f[i]);
    hwt_tensor_free(&t);
  }
}

Test(io_npy, writer_matches_numpy_bytes) {
  /* Our header is numpy's: the same dict, padding and alignment, so the files are byte-identical. */
  float v[6] = {-1, -0.5f, 0, 0.5f, 1, 1.5f};
  hwt_tensor t = {.dtype = hwt_dtype_f32, .rank = 2, .dims = {2, 3}, .count = 6, .data = v};
  char err[256] = "";
  const char *p = tmp_path("ours.npy");
  cr_assert_eq(hwt_tensor_write_npy(p, &t, err, sizeof err), hwt_status_ok, "%s", err);
  FILE *a = fopen(p, "rb"), *b = fopen(NPY_DIR "f32_2x3.npy", "rb");
  cr_assert(a && b);
  unsigned char ba[512], bb[512];
  size_t na = fread(ba, 1, sizeof ba, a), nb = fread(bb, 1, sizeof bb, b);
  fclose(a);
  fclose(b);
  cr_assert_eq(na, nb);
  cr_assert_eq(memcmp(ba, bb, na), 0, "our .npy differs from numpy's");
  /* Nothing but the file itself is left in the folder (the temporary was renamed). */
  DIR *d = opendir(tmpdir);
  int files = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) files += e->d_name[0] != '.';
  closedir(d);
  cr_assert_eq(files, 1);
}

Test(io_npy, round_trip_every_dtype) {
  unsigned char raw[64];
  for (size_t i = 0; i < sizeof raw; i++) raw[i] = (unsigned char) (i * 37 + 11);
  for (int dt = 0; dt < hwt_dtype_count; dt++) {
    if (dt == hwt_dtype_bool)
      for (size_t i = 0; i < sizeof raw; i++) raw[i] &= 1;
    for (unsigned rank = 0; rank <= 3; rank++) {
      hwt_tensor t = {.dtype = (hwt_dtype) dt, .rank = rank, .count = 1, .data = raw};
      for (unsigned r = 0; r < rank; r++) t.dims[r] = r + 1, t.count *= r + 1;
      char err[256] = "", name[64];
      snprintf(name, sizeof name, "rt_%d_%u.npy", dt, rank);
      const char *p = tmp_path(name);
      cr_assert_eq(hwt_tensor_write_npy(p, &t, err, sizeof err), hwt_status_ok, "%s", err);
      hwt_tensor back;
      cr_assert_eq(hwt_tensor_read_npy(p, &back, err, sizeof err), hwt_status_ok, "%s", err);
      cr_assert_eq(back.dtype, dt);
      cr_assert_eq(back.rank, rank);
      cr_assert_eq(back.count, t.count);
      for (unsigned r = 0; r < rank; r++) cr_assert_eq(back.dims[r], t.dims[r]);
      cr_assert_eq(memcmp(back.data, raw, t.count * hwt_dtype_size(t.dtype)), 0, "dtype %s rank %u",
                   hwt_dtype_name(t.dtype), rank);
      hwt_tensor_free(&back);
    }
  }
}

Test(io_npy, numpy_reads_our_file) {
  int8_t v[4] = {-3, 0, 5, 127};
  hwt_tensor t = {.dtype = hwt_dtype_i8, .rank = 2, .dims = {2, 2}, .count = 4, .data = v};
  char err[256] = "", cmd[1024];
  const char *p = tmp_path("for_numpy.npy");
  cr_assert_eq(hwt_tensor_write_npy(p, &t, err, sizeof err), hwt_status_ok, "%s", err);
  if (access("/usr/bin/python3", X_OK) != 0) cr_skip_test("no /usr/bin/python3");
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"import numpy as np,sys; a=np.load(sys.argv[1]); "
           "sys.exit(0 if a.dtype==np.int8 and a.shape==(2,2) and a.tolist()==[[-3,0],[5,127]] else 1)\" %s "
           "2>/dev/null",
           p);
  int rc = system(cmd);
  if (rc != 0 && system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) cr_skip_test("no numpy");
  cr_assert_eq(rc, 0, "numpy did not read our file back as written");
}

Test(io_npy, refuses_fortran_order_and_big_endian) {
  expect_refused(NPY_DIR "f32_fortran.npy", "fortran_order True is not supported");
  expect_refused(NPY_DIR "f32_bigendian.npy", "dtype '>f4' not supported");
}

Test(io_npy, refuses_malformed_headers) {
  float d[6] = {0};
  static const struct {
    const char *header, *needle;
  } cases[] = {
      {"{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", "dtype '<f2' not supported"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }", "structured dtypes"},
      {"{'descr': '<f4', 'fortran_order': False, }", "header lacks 'shape'"},
      {"{'fortran_order': False, 'shape': (2, 3), }", "header lacks 'descr'"},
      {"{'descr': '<f4', 'shape': (2, 3), }", "header lacks 'fortran_order'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", "'descr' appears twice"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1, }", "unknown header key 'extra'"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }", "'fortran_order' is not True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }", "'shape' is not a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", "a 1-D shape is written (n,)"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", "non-negative integers"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", "not a well-formed tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 6), }",
       "more than 8 dimensions"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999, 1), }", "exceeds"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }", "overflows"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x", "text after the header dict"},
      {"['descr', '<f4']", "header is not a dict"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3), }", "not a well-formed dict"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char name[32];
    snprintf(name, sizeof name, "bad%zu.npy", k);
    expect_refused(write_raw(name, 1, cases[k].header, false, d, sizeof d), cases[k].needle);
  }
  /* A header without its final newline, and with an inner newline. */
  expect_refused(write_raw("nonl.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }  ", true, d,
                           sizeof d),
                 "does not end with a newline");
  expect_refused(write_raw("innernl.npy", 1, "{'descr': '<f4',\n'fortran_order': False, 'shape': (2, 3), }\n", true,
                           d, sizeof d),
                 "inner newline");
}

Test(io_npy, refuses_bad_magic_version_and_sizes) {
  float d[6] = {0};
  const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  /* Truncated data, and data beyond what the shape needs. */
  expect_refused(write_raw("short.npy", 1, ok, false, d, 20), "truncated .npy data: the shape needs 24 bytes");
  float d7[7] = {0};
  expect_refused(write_raw("long2.npy", 1, ok, false, d7, sizeof d7), "4 bytes after the .npy data");
  /* Versions 2.0 and 3.0 with a 4-byte length are read; 4.0 is not. */
  hwt_tensor t;
  char err[256] = "";
  cr_assert_eq(hwt_tensor_read_npy(write_raw("v2.npy", 2, ok, false, d, sizeof d), &t, err, sizeof err),
               hwt_status_ok, "%s", err);
  hwt_tensor_free(&t);
  expect_refused(write_raw("v4.npy", 4, ok, false, d, sizeof d), "format version 4.0 not supported");
  /* A header length above the cap. */
  const char *p = tmp_path("huge_header.npy");
  FILE *f = fopen(p, "wb");
  unsigned char v[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0, 0, 0x10, 0};
  fwrite(v, 1, sizeof v, f);
  fclose(f);
  expect_refused(p, "exceeds the limit of 10000");
  /* Not .npy, empty, cut inside the magic / the length / the header. */
  p = tmp_path("text.npy");
  f = fopen(p, "wb");
  fputs("hello world, not numpy", f);
  fclose(f);
  expect_refused(p, "no \\x93NUMPY magic");
  p = tmp_path("empty.npy");
  fclose(fopen(p, "wb"));
  expect_refused(p, "no \\x93NUMPY magic");
  p = tmp_path("cut_len.npy");
  f = fopen(p, "wb");
  fwrite(v, 1, 9, f);
  fclose(f);
  expect_refused(p, "truncated .npy file (no header length)");
  p = tmp_path("cut_header.npy");
  f = fopen(p, "wb");
  unsigned char v1[14] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0x76, 0, '{', '\'', 'd', 'e'};
  fwrite(v1, 1, sizeof v1, f);
  fclose(f);
  expect_refused(p, "truncated .npy file (header of 118 bytes)");
  /* Missing files and folders. */
  expect_refused(tmp_path("missing.npy"), "No such file");
  expect_refused(tmpdir, "not a regular file");
}

Test(io_npy, write_refusals) {
  float v[2] = {1, 2};
  char err[512] = "";
  hwt_tensor t = {.dtype = hwt_dtype_f32, .rank = 1, .dims = {3}, .count = 2, .data = v};
  cr_assert_eq(hwt_tensor_write_npy(tmp_path("x.npy"), &t, err, sizeof err), hwt_status_invalid_argument);
  cr_assert(strstr(err, "do not match") != NULL, "%s", err);
  t.dims[0] = 2;
  cr_assert_eq(hwt_tensor_write_npy("/nonexistent-dir/x.npy", &t, err, sizeof err), hwt_status_io_error);
  cr_assert(strstr(err, "/nonexistent-dir/x.npy") != NULL, "%s", err);
  t.dtype = hwt_dtype_count;
  cr_assert_eq(hwt_tensor_write_npy(tmp_path("x.npy"), &t, err, sizeof err), hwt_status_invalid_argument);
  cr_assert_eq(hwt_tensor_write_npy(NULL, &t, err, sizeof err), hwt_status_invalid_argument);
  hwt_tensor_free(NULL);
}

Test(io_npy, reader_by_extension) {
  hwt_tensor t;
  char err[512] = "";
  cr_assert_eq(hwt_tensor_read(NPY_DIR "make_fixtures.py", &t, err, sizeof err), hwt_status_invalid_argument);
  cr_assert(strstr(err, "unknown tensor file type") != NULL, "%s", err);
  cr_assert_eq(hwt_tensor_read(NPY_DIR "i8_5.npy", &t, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(t.dtype, hwt_dtype_i8);
  hwt_tensor_free(&t);
}
