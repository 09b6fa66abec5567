/* SPDX-License-Identifier: Apache-2.0 */
/* Shape syntax, shape files (including the shipped ones) and op/shape matching. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

Test(shapes, gemm) {
  hwt_bench_shape s;
  cr_assert_eq(hwt_bench_parse_shape("4096x1024", &s, NULL, 0), hwt_status_ok);
  cr_assert_not(s.conv);
  cr_assert_eq(s.n, 4096);
  cr_assert_eq(s.k, 1024);
}

Test(shapes, conv_full_and_defaults) {
  hwt_bench_shape s;
  cr_assert_eq(hwt_bench_parse_shape("56x56x64:128:k3s2p1", &s, NULL, 0), hwt_status_ok);
  cr_assert(s.conv);
  cr_assert_eq(s.h, 56);
  cr_assert_eq(s.w, 56);
  cr_assert_eq(s.c, 64);
  cr_assert_eq(s.out_c, 128);
  cr_assert_eq(s.kh, 3);
  cr_assert_eq(s.kw, 3);
  cr_assert_eq(s.stride, 2);
  cr_assert_eq(s.pad, 1);
  cr_assert_eq(hwt_bench_parse_shape("7x7x1024:1024:k1", &s, NULL, 0), hwt_status_ok);
  cr_assert_eq(s.stride, 1);
  cr_assert_eq(s.pad, 0);
  cr_assert_eq(hwt_bench_parse_shape("17x17x128:192:k1x7p3", &s, NULL, 0), hwt_status_ok);
  cr_assert_eq(s.kh, 1);
  cr_assert_eq(s.kw, 7);
  cr_assert_eq(hwt_bench_parse_shape("112x112x32::k3s1p1", &s, NULL, 0), hwt_status_ok);
  cr_assert_eq(s.out_c, 32);
  cr_assert_not(s.out_c_given);
}

Test(shapes, malformed_are_rejected_with_the_text) {
  const char *bad[] = {"", "1024", "1024x", "x1024", "0x5", "12x34x", "4096x4096x", "1024x1024 ", "-5x3",
                       "56x56x64:128", "56x56x64:128:k", "56x56x64:128:k3s0", "56x56x64:0:k3", "56x56x64:128:k3q",
                       "5x5x3:8:k7",  /* kernel larger than the padded input */
                       "064x128", "64x0128", "56x56x064:128:k3", /* a leading zero: a second name for a shape */
                       "99999999999x2"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    hwt_bench_shape s;
    char err[512] = "";
    cr_assert_eq(hwt_bench_parse_shape(bad[i], &s, err, sizeof(err)), hwt_status_parse_error, "'%s' accepted", bad[i]);
    cr_assert(bad[i][0] == '\0' || strstr(err, bad[i]) != NULL, "message '%s' does not name '%s'", err, bad[i]);
  }
}

Test(shapes, fits) {
  hwt_bench_shape g, c, d;
  hwt_bench_parse_shape("64x64", &g, NULL, 0);
  hwt_bench_parse_shape("8x8x4:16:k3p1", &c, NULL, 0);
  hwt_bench_parse_shape("8x8x4::k3p1", &d, NULL, 0);
  cr_assert(hwt_bench_shape_fits(hwt_bench_gemm_qs8, &g, NULL, 0));
  cr_assert_not(hwt_bench_shape_fits(hwt_bench_gemm_f32, &c, NULL, 0));
  cr_assert(hwt_bench_shape_fits(hwt_bench_conv_f32, &c, NULL, 0));
  cr_assert_not(hwt_bench_shape_fits(hwt_bench_conv_f32, &g, NULL, 0));
  cr_assert_not(hwt_bench_shape_fits(hwt_bench_dwconv_f32, &c, NULL, 0));
  cr_assert(hwt_bench_shape_fits(hwt_bench_dwconv_qs8, &d, NULL, 0));
}

Test(shapes, shipped_files_parse) {
  const char *files[] = {"mobilenet_v1.txt", "mobilenet_v2.txt", "mlp.txt"};
  for (int i = 0; i < 3; i++) {
    char path[512];
    snprintf(path, sizeof(path), "%s/bench/shapes/%s", HWTUNE_SOURCE_DIR, files[i]);
    hwt_bench_shape_entry *e = NULL;
    size_t n = 0;
    char err[512] = "";
    cr_assert_eq(hwt_bench_read_shapes(path, &e, &n, err, sizeof(err)), hwt_status_ok, "%s", err);
    cr_assert(n >= 5);
    size_t gemm = 0, conv = 0, dw = 0;
    for (size_t j = 0; j < n; j++) {
      gemm += e[j].kind == hwt_shape_gemm;
      conv += e[j].kind == hwt_shape_conv;
      dw += e[j].kind == hwt_shape_dw;
      if (e[j].kind == hwt_shape_dw) cr_assert_eq(e[j].shape.out_c, e[j].shape.c);
    }
    if (i < 2) {
      cr_assert_eq(gemm, 1, "%s: one classifier layer", files[i]);
      cr_assert(conv >= 10 && dw >= 9);
    } else {
      cr_assert_eq(gemm, n);
    }
    free(e);
  }
  /* MobileNet v1: 20 distinct lines (1 + 13 dw/pw pairs with blocks 7-11 listed once + FC). */
  char path[512];
  snprintf(path, sizeof(path), "%s/bench/shapes/mobilenet_v1.txt", HWTUNE_SOURCE_DIR);
  hwt_bench_shape_entry *e = NULL;
  size_t n = 0;
  cr_assert_eq(hwt_bench_read_shapes(path, &e, &n, NULL, 0), hwt_status_ok);
  cr_assert_eq(n, 20);
  free(e);
}

static void write_tmp(char *path, size_t len, const char *text) {
  snprintf(path, len, "/tmp/hwtune-shapes-%d-XXXXXX", (int)getpid());
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

Test(shapes, file_errors_name_file_and_line) {
  char path[128], err[512] = "";
  write_tmp(path, sizeof(path), "# comment\n\ngemm 64x64\nconv 64x64x\n");
  hwt_bench_shape_entry *e = NULL;
  size_t n = 0;
  cr_assert_eq(hwt_bench_read_shapes(path, &e, &n, err, sizeof(err)), hwt_status_parse_error);
  char want[160];
  snprintf(want, sizeof(want), "%s:4:", path);
  cr_assert(strstr(err, want) != NULL, "'%s' should name %s", err, want);
  unlink(path);

  write_tmp(path, sizeof(path), "dw 8x8x4:8:k3\n");
  cr_assert_eq(hwt_bench_read_shapes(path, &e, &n, err, sizeof(err)), hwt_status_parse_error);
  cr_assert(strstr(err, ":1:") != NULL, "%s", err);
  unlink(path);

  write_tmp(path, sizeof(path), "gemm 8x8x4:8:k3\n");
  cr_assert_eq(hwt_bench_read_shapes(path, &e, &n, err, sizeof(err)), hwt_status_parse_error);
  unlink(path);

  write_tmp(path, sizeof(path), "# only comments\n");
  cr_assert_eq(hwt_bench_read_shapes(path, &e, &n, err, sizeof(err)), hwt_status_parse_error);
  cr_assert(strstr(err, "no shapes") != NULL, "%s", err);
  unlink(path);

  cr_assert_eq(hwt_bench_read_shapes("/nonexistent/shapes.txt", &e, &n, err, sizeof(err)), hwt_status_io_error);
}

Test(shapes, untagged_and_duplicates) {
  char path[128];
  write_tmp(path, sizeof(path), "64x64\n64x64   # again\n8x8x4:8:k3\n");
  hwt_bench_shape_entry *e = NULL;
  size_t n = 0;
  cr_assert_eq(hwt_bench_read_shapes(path, &e, &n, NULL, 0), hwt_status_ok);
  cr_assert_eq(n, 2);
  cr_assert_eq(e[0].kind, hwt_shape_gemm);
  cr_assert_eq(e[1].kind, hwt_shape_conv);
  free(e);
  unlink(path);
}
