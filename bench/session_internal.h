/* SPDX-License-Identifier: Apache-2.0 */
/* Session accessors shared between harness.c and context.c. Internal to bench/. */
#pragma once
#include <stddef.h>

#include "bench.h"

size_t hwt_bench_session_warnings(const hwt_bench_session *s, const char *const **out);
const char *hwt_bench_session_start_time(const hwt_bench_session *s);
double hwt_bench_session_freq_probe(const hwt_bench_session *s);
