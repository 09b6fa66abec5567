/* SPDX-License-Identifier: Apache-2.0 */
/* Runs a shell command line from a test (the hwtune executable, HWTUNE_BINARY) and captures what it printed:
 * one helper for the CLI tests instead of a copy per file. Header-only; include from a Criterion test. */
#pragma once
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Reads up to cap - 1 bytes of `file` into buf, NUL-terminated ("" when it cannot be read). */
static inline void hwt_test_slurp(const char *file, char *buf, size_t cap) {
  buf[0] = '\0';
  FILE *f = fopen(file, "rb");
  if (f == NULL) return;
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  fclose(f);
}

/* Runs `cmd` through the shell with stdout into out and stderr into err (each NULL to discard it, cap bytes at
 * most, truncated); returns the exit code, -1 when it did not exit normally. */
static inline int hwt_test_run(const char *cmd, char *out, size_t out_cap, char *err, size_t err_cap) {
  char po[] = "/tmp/hwt_test_out_XXXXXX", pe[] = "/tmp/hwt_test_err_XXXXXX", line[8192];
  int fo = mkstemp(po), fe = mkstemp(pe);
  cr_assert(fo >= 0 && fe >= 0, "mkstemp failed");
  close(fo);
  close(fe);
  int n = snprintf(line, sizeof line, "%s >'%s' 2>'%s'", cmd, po, pe);
  cr_assert(n > 0 && (size_t) n < sizeof line, "command too long: %s", cmd);
  int st = system(line);
  if (out != NULL) hwt_test_slurp(po, out, out_cap);
  if (err != NULL) hwt_test_slurp(pe, err, err_cap);
  unlink(po);
  unlink(pe);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
