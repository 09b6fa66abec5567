/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helpers every layer may use: atomic file writes, whole-file reads, comma-list parsing, logging. */
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hwtune/status.h"

/* Writes len bytes to `path` via a temporary file in the same directory, fsync, then rename: a reader never
 * sees a partial file, and an interrupted writer leaves the old file intact. On failure err names the path
 * and the reason ("cannot create '/no/such/dir/x.json.tmp.123': No such file or directory"). */
hwt_status hwt_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* Checks, before any work, that `path`'s directory exists, is a directory and is writable (it is never created):
 * every verb refuses an unusable --out the same way, with exit 2. err: "cannot write 'p': directory 'd': ...". */
hwt_status hwt_check_out_dir(const char *path, char *err, size_t errlen);

/* Reads a whole file (NUL-terminated, *len excludes the NUL). Caller frees *data. */
hwt_status hwt_read_file(const char *path, char **data, size_t *len, char *err, size_t errlen);

/* Splits "a,b,,c" into {"a","b","c"} (empty items dropped, spaces trimmed). Caller frees with hwt_list_free. */
typedef struct hwt_list {
  char **items;
  size_t count;
} hwt_list;
hwt_status hwt_list_split(const char *text, hwt_list *out);
void hwt_list_free(hwt_list *list);

/* Parses a non-negative decimal integer that must fit in [min, max]; false on any trailing garbage. */
bool hwt_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);
/* Parses a finite double; false on garbage, NaN or Inf. */
bool hwt_parse_double(const char *text, double *out);

/* Logging to stderr, prefixed "hwtune: ". hwt_log_verbose is silent unless hwt_verbose is set. */
extern int hwt_verbose;
void hwt_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hwt_log_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* snprintf into err when err != NULL. */
void hwt_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Memory for large data read often (packed weights, benchmark buffers): 64-byte aligned; from 4 MiB on, 2 MiB
 * aligned and advised as transparent huge pages (Linux, THP "madvise" mode), so its first touch faults 2 MiB at
 * a time. On this kind of VM a 4 KiB fault costs ~11 us: 64 MiB took 185 ms to touch in 4 KiB pages, 5 ms in
 * huge pages. Where huge pages are off or unavailable it is plain aligned memory. Release with free(). */
void *hwt_alloc_big(size_t bytes);

/* Monotonic nanoseconds. */
uint64_t hwt_now_ns(void);
