/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded file reads and the budgeted protobuf-c allocator shared by the ONNX reader paths (onnx_internal.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hwt_common.h"
#include "onnx_internal.h"

hwt_status hwt_onnx_read_file(const char *path, size_t max, void **data, size_t *len, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    hwt_errf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    return hwt_status_io_error;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    hwt_errf(err, errlen, "cannot stat '%s': %s", path, strerror(errno));
    fclose(f);
    return hwt_status_io_error;
  }
  if (!S_ISREG(st.st_mode)) {
    hwt_errf(err, errlen, "'%s' is not a regular file", path);
    fclose(f);
    return hwt_status_invalid_argument;
  }
  if (st.st_size < 0 || (uint64_t) st.st_size > (uint64_t) max) {
    hwt_errf(err, errlen, "'%s' is larger than %zu MiB (%lld bytes)", path, max >> 20, (long long) st.st_size);
    fclose(f);
    return hwt_status_unsupported;
  }
  size_t size = (size_t) st.st_size;
  unsigned char *buf = malloc(size > 0 ? size : 1);
  if (buf == NULL) {
    hwt_errf(err, errlen, "out of memory reading '%s' (%zu bytes)", path, size);
    fclose(f);
    return hwt_status_out_of_memory;
  }
  size_t n = 0;
  while (n < size) {
    size_t r = fread(buf + n, 1, size - n, f);
    if (r == 0) break;
    n += r;
  }
  if (ferror(f)) {
    hwt_errf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
    free(buf);
    fclose(f);
    return hwt_status_io_error;
  }
  fclose(f);
  *data = buf;
  *len = n;
  return hwt_status_ok;
}

/* Each block starts with a 16-byte header holding its size (keeps the returned pointer 16-byte aligned). */
#define PB_HDR 16u

static void *pb_alloc(void *ctx, size_t size) {
  hwt_pb_budget *b = ctx;
  if (size > b->limit - b->used || size > SIZE_MAX - PB_HDR) {
    b->exceeded = true;
    return NULL;
  }
  unsigned char *p = malloc(size + PB_HDR);
  if (p == NULL) {
    b->exceeded = true;
    return NULL;
  }
  memcpy(p, &size, sizeof size);
  b->used += size;
  return p + PB_HDR;
}

static void pb_free(void *ctx, void *ptr) {
  if (ptr == NULL) return;
  hwt_pb_budget *b = ctx;
  unsigned char *p = (unsigned char *) ptr - PB_HDR;
  size_t size;
  memcpy(&size, p, sizeof size);
  b->used -= size;
  free(p);
}

void hwt_pb_budget_init(hwt_pb_budget *b, size_t len) {
  memset(b, 0, sizeof *b);
  b->base.alloc = pb_alloc;
  b->base.free = pb_free;
  b->base.allocator_data = b;
  /* Real models: raw_data and packed floats decode to about their own size; 2x + 64 MiB leaves room for the
   * graph's messages. A file made of empty nested messages hits the limit instead of growing 50x. */
  size_t extra = (size_t) 64 << 20;
  b->limit = len <= (SIZE_MAX - extra) / 2 ? 2 * len + extra : SIZE_MAX;
}
