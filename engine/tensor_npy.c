/* SPDX-License-Identifier: Apache-2.0 */
/* NumPy .npy files (onnx.h). Placeholder until the reader lands: refuses every file. */
#include "hwt_common.h"
#include "onnx.h"

hwt_status hwt_tensor_read_npy(const char *path, hwt_tensor *out, char *err, size_t errlen) {
  (void) out;
  hwt_errf(err, errlen, "%s: .npy reading is not implemented yet", path);
  return hwt_status_unsupported;
}
hwt_status hwt_tensor_write_npy(const char *path, const hwt_tensor *t, char *err, size_t errlen) {
  (void) t;
  hwt_errf(err, errlen, "%s: .npy writing is not implemented yet", path);
  return hwt_status_unsupported;
}
