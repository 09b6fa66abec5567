/* SPDX-License-Identifier: Apache-2.0 */
/* Bandwidth probes, portable C (the compiler may vectorise with the baseline ISA): read and STREAM triad. */
#include "probes.h"

static double bw_read(const float *buf, size_t n, uint64_t reps) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  for (uint64_t r = 0; r < reps; r++) {
    for (size_t i = 0; i < n; i += 8) {
      s0 += buf[i];
      s1 += buf[i + 1];
      s2 += buf[i + 2];
      s3 += buf[i + 3];
      s4 += buf[i + 4];
      s5 += buf[i + 5];
      s6 += buf[i + 6];
      s7 += buf[i + 7];
    }
    __asm__ volatile("" ::: "memory");
  }
  return (double)s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}

static void bw_triad(float *a, const float *b, const float *c, size_t n, uint64_t reps) {
  for (uint64_t r = 0; r < reps; r++) {
    for (size_t i = 0; i < n; i++) a[i] = b[i] + 0.5f * c[i];
    __asm__ volatile("" ::: "memory");
  }
}

const hwt_bw_probe hwt_bw_scalar = {hwt_isa_scalar, bw_read, bw_triad};
