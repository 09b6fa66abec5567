/* SPDX-License-Identifier: Apache-2.0 */
/* Peak and bandwidth probe kernels. Each probe file (name ending in its ISA token, so CMake gives it that ISA's
 * flags) exports one descriptor; detect/probe_table.c lists those this architecture builds.
 *
 * Peak probes run `iters` iterations of independent multiply-add (or dot-product) chains, enough of them to hide
 * the instruction latency on every pipe, on register operands only; they return a value derived from every chain
 * so nothing is optimised away. Bandwidth probes stream over caller-owned buffers. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hwtune/isa.h"

typedef struct hwt_peak_probe {
  hwt_isa isa;           /* level that must be available */
  bool int8;             /* false: fp32 FLOP; true: int8 OP (one multiply or one add) */
  double ops_per_iter;   /* FLOP or OP per iteration of fn */
  unsigned chains;       /* independent accumulators (documentation and the summary) */
  double (*fn)(uint64_t iters);
} hwt_peak_probe;

/* n: floats per array, a multiple of HWT_BW_FLOAT_MULTIPLE; buffers 64-byte aligned. */
#define HWT_BW_FLOAT_MULTIPLE 256
typedef struct hwt_bw_probe {
  hwt_isa isa;
  double (*read)(const float *buf, size_t n, uint64_t reps);                        /* reads n floats, reps times */
  void (*triad)(float *a, const float *b, const float *c, size_t n, uint64_t reps); /* a = b + s*c, reps times */
} hwt_bw_probe;

#if defined(__x86_64__)
extern const hwt_peak_probe hwt_peak_fp32_avx2, hwt_peak_fp32_avx512f, hwt_peak_int8_avx2, hwt_peak_int8_avxvnni,
    hwt_peak_int8_avx512vnni;
extern const hwt_bw_probe hwt_bw_avx2, hwt_bw_avx512f;
#elif defined(__aarch64__)
extern const hwt_peak_probe hwt_peak_fp32_neon, hwt_peak_int8_neon, hwt_peak_int8_neondot, hwt_peak_int8_neoni8mm;
extern const hwt_bw_probe hwt_bw_neon;
#endif
extern const hwt_peak_probe hwt_peak_fp32_scalar;
extern const hwt_bw_probe hwt_bw_scalar;
