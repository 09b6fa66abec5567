/* SPDX-License-Identifier: Apache-2.0 */
/* Comma lists, strict number parsing, logging and the monotonic clock. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "hwt_common.h"

int hwt_verbose = 0;

hwt_status hwt_list_split(const char *text, hwt_list *out) {
  out->items = NULL;
  out->count = 0;
  if (text == NULL) return hwt_status_ok;
  size_t cap = 1;
  for (const char *p = text; *p; p++) cap += (*p == ',');
  out->items = calloc(cap, sizeof(char *));
  if (out->items == NULL) return hwt_status_out_of_memory;
  const char *p = text;
  while (*p) {
    const char *end = strchr(p, ',');
    if (end == NULL) end = p + strlen(p);
    const char *b = p, *e = end;
    while (b < e && isspace((unsigned char)*b)) b++;
    while (e > b && isspace((unsigned char)e[-1])) e--;
    if (e > b) {
      char *item = strndup(b, (size_t)(e - b));
      if (item == NULL) {
        hwt_list_free(out);
        return hwt_status_out_of_memory;
      }
      out->items[out->count++] = item;
    }
    p = *end ? end + 1 : end;
  }
  return hwt_status_ok;
}

void hwt_list_free(hwt_list *list) {
  if (list == NULL) return;
  for (size_t i = 0; i < list->count; i++) free(list->items[i]);
  free(list->items);
  list->items = NULL;
  list->count = 0;
}

bool hwt_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out) {
  if (text == NULL || !isdigit((unsigned char)*text)) return false;
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') return false;
  if (v < min || v > max) return false;
  *out = v;
  return true;
}

bool hwt_parse_double(const char *text, double *out) {
  if (text == NULL || *text == '\0') return false;
  errno = 0;
  char *end = NULL;
  double v = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !isfinite(v)) return false;
  *out = v;
  return true;
}

static void vlog(const char *fmt, va_list ap) {
  fputs("hwtune: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void hwt_log(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(fmt, ap);
  va_end(ap);
}

void hwt_log_verbose(const char *fmt, ...) {
  if (!hwt_verbose) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(fmt, ap);
  va_end(ap);
}

uint64_t hwt_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void *hwt_alloc_big(size_t bytes) {
  const size_t huge = (size_t)2 << 20;
  size_t align = 64;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes >= 2 * huge) align = huge;
#endif
  if (bytes == 0) bytes = 1;
  bytes = (bytes + align - 1) / align * align;
  void *p = NULL;
  if (posix_memalign(&p, align, bytes) != 0) return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align == huge) (void)madvise(p, bytes, MADV_HUGEPAGE);  /* advice only: refused, the memory still works */
#endif
  return p;
}
