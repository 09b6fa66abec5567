/* SPDX-License-Identifier: Apache-2.0 */
/* NULL-terminated lists of the peak and bandwidth probes built for this architecture. */
#pragma once
#include "probes/probes.h"

extern const hwt_peak_probe *const hwt_peak_probes[];
extern const hwt_bw_probe *const hwt_bw_probes[];
