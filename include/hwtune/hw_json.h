/* SPDX-License-Identifier: Apache-2.0 */
/* JSON form of the hardware description (schema hwtune.hw/1), used by `detect --json` and by every result
 * file's context block. */
#pragma once
#include <jansson.h>

#include "hwtune/hw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* New reference; NULL only on out-of-memory. */
json_t *hwt_hw_to_json(const hwt_hw *hw);

#ifdef __cplusplus
}
#endif
