/* SPDX-License-Identifier: Apache-2.0 */
/* File I/O that never leaves a damaged file behind: write to a temporary name, fsync, rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hwt_common.h"

void hwt_errf(char *err, size_t errlen, const char *fmt, ...) {
  if (err == NULL || errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

hwt_status hwt_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen) {
  if (path == NULL || *path == '\0' || (data == NULL && len != 0)) {
    hwt_errf(err, errlen, "no output path given");
    return hwt_status_invalid_argument;
  }
  size_t tmplen = strlen(path) + 32;
  char *tmp = malloc(tmplen);
  if (tmp == NULL) {
    hwt_errf(err, errlen, "out of memory writing '%s'", path);
    return hwt_status_out_of_memory;
  }
  snprintf(tmp, tmplen, "%s.tmp.%ld", path, (long)getpid());
  hwt_status status = hwt_status_io_error;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    hwt_errf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    goto out;
  }
  const char *p = data;
  size_t left = len;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      hwt_errf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
      close(fd);
      unlink(tmp);
      goto out;
    }
    p += w;
    left -= (size_t)w;
  }
  if (fsync(fd) != 0 && errno != EINVAL) {
    hwt_errf(err, errlen, "cannot sync '%s': %s", tmp, strerror(errno));
    close(fd);
    unlink(tmp);
    goto out;
  }
  close(fd);
  if (rename(tmp, path) != 0) {
    hwt_errf(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    unlink(tmp);
    goto out;
  }
  status = hwt_status_ok;
out:
  free(tmp);
  return status;
}

hwt_status hwt_read_file(const char *path, char **data, size_t *len, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    hwt_errf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    return hwt_status_io_error;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  if (buf == NULL) {
    fclose(f);
    hwt_errf(err, errlen, "out of memory reading '%s'", path);
    return hwt_status_out_of_memory;
  }
  for (;;) {
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
    if (n == cap) {
      char *nb = realloc(buf, cap * 2 + 1);
      if (nb == NULL) {
        free(buf);
        fclose(f);
        hwt_errf(err, errlen, "out of memory reading '%s'", path);
        return hwt_status_out_of_memory;
      }
      buf = nb;
      cap *= 2;
    }
  }
  if (ferror(f)) {
    hwt_errf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
    free(buf);
    fclose(f);
    return hwt_status_io_error;
  }
  fclose(f);
  buf[n] = '\0';
  *data = buf;
  if (len) *len = n;
  return hwt_status_ok;
}

hwt_status hwt_check_out_dir(const char *path, char *err, size_t errlen) {
  char dir[4096];
  int w = snprintf(dir, sizeof dir, "%s", path);
  if (w < 0 || (size_t) w >= sizeof dir) {
    hwt_errf(err, errlen, "cannot write '%.200s...': path too long", path);
    return hwt_status_invalid_argument;
  }
  char *slash = strrchr(dir, '/');
  if (slash == NULL) {
    dir[0] = '.', dir[1] = '\0';
  } else if (slash == dir) {
    slash[1] = '\0';
  } else {
    *slash = '\0';
  }
  struct stat sb;
  if (stat(dir, &sb) != 0) {
    hwt_errf(err, errlen, "cannot write '%s': directory '%s': %s (it is not created; create it first)", path, dir,
             strerror(errno));
    return hwt_status_not_found;
  }
  if (!S_ISDIR(sb.st_mode)) {
    hwt_errf(err, errlen, "cannot write '%s': '%s' is not a directory", path, dir);
    return hwt_status_not_found;
  }
  if (access(dir, W_OK) != 0) {
    hwt_errf(err, errlen, "cannot write '%s': directory '%s': %s", path, dir, strerror(errno));
    return hwt_status_io_error;
  }
  return hwt_status_ok;
}
