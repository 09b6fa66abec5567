/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune detect` (minimal: ISA only; the full description lands with the detect work). */
#include <stdio.h>
#include "hwtune/isa.h"
#include "../cli/verbs.h"
int hwt_cmd_detect(int argc, char **argv) {
  (void)argc; (void)argv;
  const hwt_cpu_isa *c = hwt_cpu_isa_get();
  printf("isa_level: %s\n", hwt_isa_name(c->level));
  for (const hwt_feature_name *f = hwt_feature_names; f->name; f++) printf("%s=%d\n", f->name, !!(c->features & f->bit));
  return 0;
}
