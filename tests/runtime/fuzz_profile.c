/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: any bytes given to the profile loader give a status (never a crash, leak or UB); a loaded
 * profile answers lookups and its entries round-trip through the accessors. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hwtune/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hwt_profile *p = NULL;
  char msg[96];  /* short on purpose: messages must truncate safely */
  hwt_status st = hwt_profile_load_buffer(data, size, "fuzz", &p, msg, sizeof msg);
  if (st != hwt_status_ok) {
    if (p != NULL || strlen(msg) >= sizeof msg) __builtin_trap();
    return 0;
  }
  size_t n = hwt_profile_count(p);
  for (size_t i = 0; i < n && i < 64; i++) {
    hwt_profile_choice c, again;
    if (!hwt_profile_entry(p, i, &c)) __builtin_trap();
    hwt_profile_query q = {.op = c.op, .dtype = c.dtype, .shape = c.shape, .n = c.entry_n, .k = c.entry_k,
                           .batch = c.entry_batch};
    if (hwt_profile_lookup(p, &q, &again) != hwt_profile_match_exact) __builtin_trap();
    q.shape = NULL;
    q.n = c.entry_n + 1;
    hwt_profile_lookup(p, &q, &again);
    if (again.match == hwt_profile_match_default) __builtin_trap();
  }
  hwt_profile_machine m;
  memset(&m, 0, sizeof m);
  hwt_profile_check(p, &m, NULL, msg, sizeof msg);
  hwt_profile_free(p);
  return 0;
}
