/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the shared helpers: atomic writes, list splitting, strict number parsing. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hwt_common.h"

Test(common, list_split_trims_and_drops_empty) {
  hwt_list l;
  cr_assert_eq(hwt_list_split(" a, b ,,c,", &l), hwt_status_ok);
  cr_assert_eq(l.count, 3);
  cr_assert_str_eq(l.items[0], "a");
  cr_assert_str_eq(l.items[1], "b");
  cr_assert_str_eq(l.items[2], "c");
  hwt_list_free(&l);
}

Test(common, parse_u64_is_strict) {
  uint64_t v;
  cr_assert(hwt_parse_u64("64", 1, 100, &v));
  cr_assert_eq(v, 64);
  cr_assert_not(hwt_parse_u64("0", 1, 100, &v));
  cr_assert_not(hwt_parse_u64("64x", 1, 100, &v));
  cr_assert_not(hwt_parse_u64("-1", 0, 100, &v));
  cr_assert_not(hwt_parse_u64("", 0, 100, &v));
  cr_assert_not(hwt_parse_u64("101", 0, 100, &v));
}

Test(common, parse_double_rejects_nan) {
  double d;
  cr_assert(hwt_parse_double("2.5", &d));
  cr_assert_float_eq(d, 2.5, 1e-12);
  cr_assert_not(hwt_parse_double("nan", &d));
  cr_assert_not(hwt_parse_double("inf", &d));
  cr_assert_not(hwt_parse_double("1.0x", &d));
}

Test(common, atomic_write_replaces_whole_file) {
  char dir[] = "/tmp/hwt_io_XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/out.json", dir);
  char err[256];
  cr_assert_eq(hwt_write_file_atomic(path, "old", 3, err, sizeof err), hwt_status_ok);
  cr_assert_eq(hwt_write_file_atomic(path, "new!", 4, err, sizeof err), hwt_status_ok);
  char *data = NULL;
  size_t len = 0;
  cr_assert_eq(hwt_read_file(path, &data, &len, err, sizeof err), hwt_status_ok);
  cr_assert_eq(len, 4);
  cr_assert_str_eq(data, "new!");
  free(data);
  unlink(path);
  rmdir(dir);
}

Test(common, atomic_write_into_missing_dir_names_path) {
  char err[256] = "";
  cr_assert_eq(hwt_write_file_atomic("/nonexistent-hwt/dir/x.json", "x", 1, err, sizeof err), hwt_status_io_error);
  cr_assert(strstr(err, "/nonexistent-hwt/dir/x.json") != NULL, "message: %s", err);
}

#if defined(__linux__) && defined(__x86_64__)
/* The VmFlags line of the mapping holding p in /proc/self/smaps ("" when not found). */
static void vm_flags_of(const void *p, char *flags, size_t len) {
  flags[0] = '\0';
  FILE *f = fopen("/proc/self/smaps", "r");
  if (f == NULL) return;
  char line[512];
  bool inside = false;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
      inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
    } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
      snprintf(flags, len, "%.200s", line + 8);
      break;
    }
  }
  fclose(f);
}
#endif

Test(common, big_allocations_are_aligned_and_advised_as_huge_pages) {
  void *small = hwt_alloc_big(100);
  cr_assert_not_null(small);
  cr_assert_eq((uintptr_t)small % 64, 0);
  memset(small, 1, 100);
  free(small);
  const size_t big_bytes = (size_t)9 << 20;
  char *big = hwt_alloc_big(big_bytes);
  cr_assert_not_null(big);
  cr_assert_eq((uintptr_t)big % 64, 0);
  memset(big, 2, big_bytes);
#if defined(__linux__) && defined(__x86_64__)
  /* Native Linux (not under qemu-user, whose smaps is its own): 2 MiB aligned and advised "hg" where the kernel
   * has transparent huge pages at all. */
  cr_assert_eq((uintptr_t)big % ((size_t)2 << 20), 0, "%p", (void *)big);
  if (access("/sys/kernel/mm/transparent_hugepage/enabled", R_OK) == 0) {
    char flags[256];
    vm_flags_of(big + big_bytes / 2, flags, sizeof flags);
    cr_assert(strstr(flags, " hg") != NULL, "VmFlags:%s", flags);
  }
#endif
  free(big);
}
