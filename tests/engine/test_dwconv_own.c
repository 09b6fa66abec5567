/* SPDX-License-Identifier: Apache-2.0 */
/* HWTUNE_ENGINE_OWN_DW=1 runs every depthwise conv on hwtune/dwconv.h's plans: MobileNet v1 (built-in), fp32 and
 * int8 (hwt_model_quantize), gives the same outputs as with XNNPACK's depthwise convolutions: int8 bit-exact, fp32
 * within a tolerance; on 1 and 2 threads. */
#define ENV_VAR "HWTUNE_ENGINE_OWN_DW"
#include "own_env_check.h"

static bool counts(const hwt_layer *l) { return l->type == hwt_layer_dwconv; }

Test(dwconv_own, mobilenet_v1_f32_and_int8) { both("mobilenet"); }
