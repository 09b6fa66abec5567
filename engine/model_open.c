/* SPDX-License-Identifier: Apache-2.0 */
/* hwt_model_open: a model by name (the generators) or by path (ONNX or the JSON format). Apart from model.c so
 * that the model loader (and its fuzzer) links without the ONNX importer. */
#include <string.h>

#include "hwt_common.h"
#include "onnx.h"

hwt_status hwt_model_open(const char *spec, hwt_model **out, char *err, size_t errlen) {
  hwt_status st;
  if (strcmp(spec, "mlp") == 0)
    st = hwt_model_gen_mlp(42, out);
  else if (strcmp(spec, "mobilenet") == 0)
    st = hwt_model_gen_mobilenet(42, out);
  else if (strlen(spec) > 5 && strcmp(spec + strlen(spec) - 5, ".onnx") == 0)
    return hwt_onnx_import(spec, NULL, out, err, errlen);
  else
    return hwt_model_load(spec, out, err, errlen);
  if (st != hwt_status_ok) hwt_errf(err, errlen, "%s: cannot generate the model: %s", spec, hwt_status_string(st));
  return st;
}
