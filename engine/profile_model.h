/* SPDX-License-Identifier: Apache-2.0 */
/* A profile's whole-model entries (the "models" section `hwtune tune --model` writes) applied to an engine: what
 * identifies a model (its file's content hash, precision, batch) and the engine options of the plan that won the
 * end-to-end race. Conventions of hwtune/status.h. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "hwtune/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What identifies a model in a profile. */
typedef struct hwt_model_id {
  char file[256];              /* base name of the file ("mv2.onnx"), or the built-in's name ("mlp") */
  char sha256[65];             /* lowercase hex */
} hwt_model_id;

/* SHA-256 (FIPS 180-4) of len bytes, as 64 lowercase hex digits. */
void hwt_sha256_hex(const void *data, size_t len, char hex[65]);

/* The identity of the model `spec` names (as hwt_model_open takes it): an .onnx file: SHA-256 of its bytes; a
 * model JSON: of its bytes followed by those of the weights file it names; the built-ins "mlp" and "mobilenet": of
 * the text "hwtune builtin <name>" (they are generated from a fixed seed). Errors name the file. */
hwt_status hwt_model_identify(const char *spec, hwt_model_id *out, char *err, size_t errlen);

/* The plan a profile gives one model at one batch, and the context of the engine chooser that applies it. */
typedef struct hwt_profile_binding {
  const hwt_profile *profile;
  bool has_model;              /* the profile has a model entry for (sha256, precision, batch) */
  hwt_profile_model model;     /* that entry */
  hwt_profile_plan plan;       /* the winner, or tuned (the per-layer entries) when there is no model entry */
  char note[200];              /* "model entry: default won the race (tuned 0.99x of default's p50)" or "" */
} hwt_profile_binding;

/* Binds profile (may be NULL: no plan) to model m opened from `spec` at `batch` and sets the engine options:
 *   tuned (or no model entry): opt->chooser = hwt_engine_profile_chooser over the per-layer entries, as before;
 *   default:       no per-layer entries: every layer keeps the engine default (source "model race: default");
 *   single-thread: the defaults on 1 thread (opt->threads = 1; source "model race: 1 thread").
 * b must outlive hwt_engine_create (it is the chooser's context). A spec that cannot be hashed (a file that
 * vanished) is an error naming it. */
hwt_status hwt_engine_profile_bind(const hwt_profile *profile, const char *spec, const hwt_model *m, size_t batch,
                                   hwt_profile_binding *b, hwt_engine_options *opt, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
