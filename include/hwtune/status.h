/* SPDX-License-Identifier: Apache-2.0 */
/* Status codes shared by every hwtune library.
 *
 * Convention (all public functions): a function that can fail returns hwt_status; hwt_status_ok is 0.
 * Outputs are written only on success. Functions that free accept NULL. No library function aborts or
 * exits the calling program; where a message helps, it is written to a caller-supplied buffer. */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hwt_status {
  hwt_status_ok = 0,
  hwt_status_invalid_argument,  /* a parameter is out of its documented range (shape 0, NULL, NaN scale) */
  hwt_status_out_of_memory,
  hwt_status_io_error,          /* open/read/write/rename failed; errno is in the message */
  hwt_status_parse_error,       /* malformed text: JSON syntax, shape syntax, number syntax */
  hwt_status_schema_error,      /* well-formed but wrong: missing field, wrong type, unknown schema version */
  hwt_status_unsupported,       /* the requested ISA/kernel/op is not available on this machine or build */
  hwt_status_mismatch,          /* a profile or baseline was made on different hardware */
  hwt_status_not_found,
  hwt_status_internal,
  hwt_status_count
} hwt_status;

/* Static, never NULL: "ok", "invalid argument", ... ("unknown status" outside the enum). */
const char *hwt_status_string(hwt_status status);

#ifdef __cplusplus
}
#endif
