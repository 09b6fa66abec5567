/* SPDX-License-Identifier: Apache-2.0 */
/* What the model verbs (`hwtune run`, `model`, `quantize`, `prune`) share (audit/cmd_run.c): opening a model at a batch, opening the tuning
 * profile as audit does, and the logical (file-layout) dims of a graph input or output. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "hwtune/profile.h"

/* s ends in suffix (".onnx", ".json"). */
bool hwt_cli_ends_with(const char *s, const char *suffix);

/* "mlp", "mobilenet", a model JSON, or a .onnx file imported with `batch` for a symbolic batch dimension
 * (0 = 1). err names the file. */
hwt_status hwt_cli_open_model(const char *spec, uint32_t batch, hwt_model **out, char *err, size_t errlen);

/* --profile: NULL = libhwtune's default path when a file is there (a default profile that cannot be used is a
 * note, not an error: *out stays NULL and note says why); "none" = none; a path = that profile or an error.
 * note gets a one-line description of what is used ("profile /p.json (12 entries)", "no profile"). */
hwt_status hwt_cli_open_profile(const char *arg, hwt_profile **out, char *note, size_t notelen, char *err,
                                size_t errlen);

/* The per-sample dims of a graph value in its file layout (ONNX: channels first; the batch not included):
 * rank 4 -> [C, H, W], 3 -> [C, W], 2 -> [K], 1 -> [], native (0) -> [H, W, C], or [C] when H = W = 1.
 * Returns the count (at most 3). */
unsigned hwt_cli_value_dims(hwt_shape s, uint8_t rank, int64_t dims[3]);
/* "[N, 3, 224, 224]"-style text of the same, with `batch` (0 prints N). */
void hwt_cli_dims_string(hwt_shape s, uint8_t rank, size_t batch, char *buf, size_t len);
