/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: any bytes given to the ONNX importer (protobuf-c decoding through the budgeted allocator,
 * then the graph mapping and hwt_model_finalize) give a status and a bounded message, or a finalized graph
 * whose nodes read earlier values only; never a crash, leak, UB or unbounded allocation. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hwt_model *m = NULL;
  char msg[96]; /* short on purpose: messages must truncate safely */
  hwt_onnx_options opt = {.batch = 2};
  hwt_status st = hwt_onnx_import_buffer(data, size, "fuzz.onnx", &opt, &m, msg, sizeof msg);
  if (st != hwt_status_ok) {
    if (m != NULL || strlen(msg) >= sizeof msg || strncmp(msg, "fuzz.onnx", 9) != 0) __builtin_trap();
    return 0;
  }
  if (m == NULL || m->nlayers == 0 || m->ninputs < 1 || m->ninputs > HWT_GRAPH_MAX_IO || m->noutputs < 1 ||
      m->noutputs > HWT_GRAPH_MAX_IO)
    __builtin_trap();
  for (size_t i = 0; i < m->nlayers; i++) {
    const hwt_layer *l = &m->layers[i];
    if (l->nin < 1 || l->nin > HWT_NODE_MAX_INPUTS) __builtin_trap();
    for (int k = 0; k < l->nin; k++)
      if (l->inputs[k] >= (int) i || l->inputs[k] < HWT_INPUT_ID(m->ninputs - 1)) __builtin_trap();
    if (hwt_shape_size(l->out) == 0) __builtin_trap();
  }
  for (size_t k = 0; k < m->noutputs; k++)
    if (m->outputs[k].value >= (int) m->nlayers || m->outputs[k].value < HWT_INPUT_ID(m->ninputs - 1)) __builtin_trap();
  hwt_model_free(m);
  return 0;
}
