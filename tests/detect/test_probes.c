/* SPDX-License-Identifier: Apache-2.0 */
/* The probe kernels compute what their descriptors claim (lanes x chains, linear int8 accumulation, exact
 * bandwidth sums); probes whose ISA this machine lacks are skipped, never passed. No timing here. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "probe_table.h"

static bool usable(hwt_isa isa) { return hwt_isa_available(isa); }

Test(probes, fp32_chains_converge_to_lanes_times_chains) {
  int ran = 0;
  for (size_t i = 0; hwt_peak_probes[i]; i++) {
    const hwt_peak_probe *p = hwt_peak_probes[i];
    if (p->int8 || !usable(p->isa)) continue;
    /* each lane runs acc = acc * 0.999 + 0.001 -> 1.0; after 8000 steps every lane is within 0.04% of 1 */
    double lanes_x_chains = p->ops_per_iter / 2.0;
    double r = p->fn(8000);
    cr_assert(isfinite(r));
    cr_assert_float_eq(r, lanes_x_chains, lanes_x_chains * 0.002, "%s: %g vs %g", hwt_isa_name(p->isa), r,
                       lanes_x_chains);
    ran++;
  }
  cr_assert_gt(ran, 0, "the scalar probe at least must run");
}

Test(probes, int8_accumulates_linearly) {
  int ran = 0;
  for (size_t i = 0; hwt_peak_probes[i]; i++) {
    const hwt_peak_probe *p = hwt_peak_probes[i];
    if (!p->int8) continue;
    if (!usable(p->isa)) {
      cr_log_info("int8 %s not available here: skipped", hwt_isa_name(p->isa));
      continue;
    }
    double r0 = p->fn(0), r1 = p->fn(1), r3 = p->fn(3);
    cr_assert_neq(r1, r0, "%s: the loop does nothing", hwt_isa_name(p->isa));
    cr_assert_float_eq(r3 - r0, 3 * (r1 - r0), 1e-6, "%s: not linear", hwt_isa_name(p->isa));
    ran++;
  }
  if (ran == 0) cr_skip_test("no int8 probe ISA on this machine");
}

Test(probes, bandwidth_kernels_read_and_write_every_element) {
  int ran = 0;
  const size_t n = 4 * HWT_BW_FLOAT_MULTIPLE;
  float *a = aligned_alloc(64, n * sizeof(float)), *b = aligned_alloc(64, n * sizeof(float)),
        *c = aligned_alloc(64, n * sizeof(float));
  cr_assert(a && b && c);
  for (size_t i = 0; hwt_bw_probes[i]; i++) {
    const hwt_bw_probe *p = hwt_bw_probes[i];
    if (!usable(p->isa)) continue;
    for (size_t k = 0; k < n; k++) a[k] = 0.0f, b[k] = 1.0f, c[k] = 2.0f;
    cr_assert_float_eq(p->read(b, n, 3), 3.0 * n, 1e-9, "%s read", hwt_isa_name(p->isa));
    p->triad(a, b, c, n, 2);
    for (size_t k = 0; k < n; k++) cr_assert_eq(a[k], 2.0f, "%s triad a[%zu] = %g", hwt_isa_name(p->isa), k, a[k]);
    ran++;
  }
  free(a);
  free(b);
  free(c);
  cr_assert_gt(ran, 0);
}
