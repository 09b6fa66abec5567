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
    /* An entry's "sparse" record: its own exact query finds a record (its own or a same-dimension twin's), and
     * every record's break-even is a fraction or never. */
    hwt_profile_sparse sp, sp2;
    if (hwt_profile_entry_sparse(p, i, &sp)) {
      if (!(sp.never ? sp.break_even > 1.0 : sp.break_even >= 0.0 && sp.break_even <= 1.0)) __builtin_trap();
      if (sp.npoints > HWT_PROFILE_SPARSE_POINTS) __builtin_trap();
      q.n = c.entry_n;
      q.shape = c.shape;
      if (hwt_profile_lookup_sparse(p, &q, &sp2) != hwt_profile_match_exact) __builtin_trap();
    }
  }
  hwt_profile_machine m;
  memset(&m, 0, sizeof m);
  hwt_profile_check(p, &m, NULL, msg, sizeof msg);
  hwt_profile_free(p);
  return 0;
}
