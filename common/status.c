/* SPDX-License-Identifier: Apache-2.0 */
/* String table for hwt_status. */
#include "hwtune/status.h"

static const char *const status_strings[hwt_status_count] = {
    [hwt_status_ok] = "ok",
    [hwt_status_invalid_argument] = "invalid argument",
    [hwt_status_out_of_memory] = "out of memory",
    [hwt_status_io_error] = "I/O error",
    [hwt_status_parse_error] = "parse error",
    [hwt_status_schema_error] = "schema error",
    [hwt_status_unsupported] = "unsupported",
    [hwt_status_mismatch] = "hardware mismatch",
    [hwt_status_not_found] = "not found",
    [hwt_status_internal] = "internal error",
};

const char *hwt_status_string(hwt_status status) {
  if ((unsigned)status >= hwt_status_count) return "unknown status";
  return status_strings[status];
}
