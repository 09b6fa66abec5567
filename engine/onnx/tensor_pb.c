/* SPDX-License-Identifier: Apache-2.0 */
/* ONNX TensorProto files (onnx.h). Placeholder until the reader lands: refuses every file. */
#include "hwt_common.h"
#include "onnx.h"

hwt_status hwt_tensor_from_pb(const void *data, size_t len, const char *file, hwt_tensor *out, char *err,
                              size_t errlen) {
  (void) data, (void) len, (void) out;
  hwt_errf(err, errlen, "%s: TensorProto reading is not implemented yet", file);
  return hwt_status_unsupported;
}
hwt_status hwt_tensor_read_pb(const char *path, hwt_tensor *out, char *err, size_t errlen) {
  return hwt_tensor_from_pb(NULL, 0, path, out, err, errlen);
}
