/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: a model JSON and its weights (the input split at its first NUL byte: JSON text, NUL, weights
 * bytes) give a status from the model loader, never a crash, leak or UB; a small loaded model runs through the
 * reference (int8 accumulators, pooling windows, add operands) without UB. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference allocates every layer's output and runs all multiply-adds: only for small models. */
static int small_enough(const hwt_model *m) {
  double elements = (double) hwt_shape_size(m->input), flops = 0;
  for (size_t i = 0; i < m->nlayers; i++) {
    elements += (double) hwt_shape_size(m->layers[i].out);
    flops += hwt_layer_flops(&m->layers[i]);
    /* windows the flops do not count (the reference visits every tap, padded or not) */
    flops += (double) hwt_shape_size(m->layers[i].out) * m->layers[i].kh * m->layers[i].kw;
  }
  return elements < 1e6 && flops < 2e7;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, 0, size);
  size_t json_len = nul ? (size_t) (nul - data) : size;
  const uint8_t *weights = nul ? nul + 1 : NULL;
  size_t weights_len = nul ? size - json_len - 1 : 0;
  hwt_model *m = NULL;
  char msg[96]; /* short on purpose: messages must truncate safely */
  hwt_status st = hwt_model_load_buffers((const char *) data, json_len, weights, weights_len, "fuzz", &m, msg,
                                         sizeof msg);
  if (st != hwt_status_ok) {
    if (m != NULL || strlen(msg) >= sizeof msg) __builtin_trap();
    return 0;
  }
  /* A loaded model is a finalized graph: inputs name earlier values, shapes chain, graph outputs exist,
   * parameter bytes fit the weights. */
  uint64_t bytes = 0;
  if (m->ninputs < 1 || m->ninputs > HWT_GRAPH_MAX_IO || m->noutputs < 1 || m->noutputs > HWT_GRAPH_MAX_IO)
    __builtin_trap();
  for (size_t i = 0; i < m->nlayers; i++) {
    const hwt_layer *l = &m->layers[i];
    if (hwt_shape_size(l->out) == 0 || hwt_shape_size(l->out) > ((size_t) 1 << 31)) __builtin_trap();
    if (l->nin < 1 || l->nin > HWT_NODE_MAX_INPUTS) __builtin_trap();
    for (int k = 0; k < l->nin; k++)
      if (l->inputs[k] >= (int) i || l->inputs[k] < HWT_INPUT_ID(m->ninputs - 1)) __builtin_trap();
    hwt_shape s0 = hwt_model_value_shape(m, l->inputs[0]);
    if (memcmp(&l->in, &s0, sizeof s0) != 0) __builtin_trap();
    bytes += hwt_layer_param_bytes(l, l->wq != NULL ? hwt_prec_int8 : hwt_prec_fp32);
  }
  for (size_t k = 0; k < m->noutputs; k++)
    if (m->outputs[k].value >= (int) m->nlayers || m->outputs[k].value < HWT_INPUT_ID(m->ninputs - 1)) __builtin_trap();
  if (bytes > weights_len) __builtin_trap();
  if (small_enough(m)) {
    size_t in_size = hwt_model_input_size(m, 0), out_size = hwt_model_output_size(m, 0);
    float *in = malloc(in_size * sizeof(float)), *out = malloc(out_size * sizeof(float));
    if (in != NULL && out != NULL) {
      /* extreme inputs: int8 models quantize them to -128 / 127, the accumulator bounds' worst case */
      for (size_t k = 0; k < in_size; k++) in[k] = (k * 2654435761u) & 1 ? 1e30f : -1e30f;
      hwt_model_reference(m, 1, in, out, NULL);
      hwt_model_gen_inputs(m, 1, 1, in);
      hwt_model_reference(m, 1, in, out, NULL);
    }
    free(in);
    free(out);
  }
  hwt_model_free(m);
  return 0;
}
