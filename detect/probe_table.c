/* SPDX-License-Identifier: Apache-2.0 */
/* The probes this architecture builds, widest first within each kind. */
#include "probes/probes.h"
#include "probe_table.h"

const hwt_peak_probe *const hwt_peak_probes[] = {
#if defined(__x86_64__)
    &hwt_peak_fp32_avx512f, &hwt_peak_fp32_avx2, &hwt_peak_fp32_scalar,
    &hwt_peak_int8_avx512vnni, &hwt_peak_int8_avxvnni, &hwt_peak_int8_avx2,
#elif defined(__aarch64__)
    &hwt_peak_fp32_neon, &hwt_peak_fp32_scalar, &hwt_peak_int8_neoni8mm, &hwt_peak_int8_neondot, &hwt_peak_int8_neon,
#else
    &hwt_peak_fp32_scalar,
#endif
    NULL,
};

const hwt_bw_probe *const hwt_bw_probes[] = {
#if defined(__x86_64__)
    &hwt_bw_avx512f, &hwt_bw_avx2,
#elif defined(__aarch64__)
    &hwt_bw_neon,
#endif
    &hwt_bw_scalar, NULL,
};
