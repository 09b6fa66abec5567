/* SPDX-License-Identifier: Apache-2.0 */
/* HWTUNE_ENGINE_OWN_CONV=1 runs every dense KxK conv on hwtune/conv.h's plans: MobileNet v1 (built-in) and the
 * digits CNN, fp32 and int8 (hwt_model_quantize), give the same outputs as with XNNPACK's convolutions: int8
 * bit-exact, fp32 within a tolerance; on 1 and 2 threads. */
#define ENV_VAR "HWTUNE_ENGINE_OWN_CONV"
#include "own_env_check.h"

static bool counts(const hwt_layer *l) { return l->type == hwt_layer_conv && (l->kh > 1 || l->kw > 1); }

Test(conv_own, mobilenet_v1_f32_and_int8) { both("mobilenet"); }
Test(conv_own, digits_cnn_f32_and_int8) { both(HWTUNE_FIXTURES "/digits/digits_cnn.onnx"); }
