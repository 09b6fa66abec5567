/* SPDX-License-Identifier: Apache-2.0 */
/* Pacing the budget: each problem's share, and the time scale of its measurements once its set-ups show what they
 * cost. A race sets up every entry (fills and packs the weights, once per instance) before it samples, and that
 * time is not in the sampling plan: 4096x4096 entries took 0.16-0.4 s each here, a third of the problem's time. */
#include <math.h>

#include "tuner.h"

void hwt_tune_pace_begin(hwt_tune_pace *pc, double share_s, double sampling_s, double setups, double setup_s,
                         double max_scale) {
  *pc = (hwt_tune_pace){.share_s = share_s,
                        .sampling_s = sampling_s > 0 ? sampling_s : 1e-3,
                        .setups = setups > 0 ? setups : 0,
                        .setup_s = setup_s > 0 ? setup_s : 0,
                        .max_scale = max_scale > 0 ? max_scale : 1.0};
}

double hwt_tune_pace_setup_s(const hwt_tune_pace *pc) {
  return pc->setups_done > 0 ? pc->setup_spent_s / pc->setups_done : pc->setup_s;
}

double hwt_tune_pace_scale(const hwt_tune_pace *pc, double elapsed_s) {
  double left = pc->share_s - elapsed_s;
  double setups_left = pc->setups - pc->setups_done;
  if (setups_left < 0) setups_left = 0;
  /* The plan's sampling still to come; past the plan (a search may run longer than planned: more refinement
   * steps) the last 15% of it, so the scale does not blow up near the end. */
  double sampling_left = pc->sampling_s - pc->asked_s;
  if (sampling_left < 0.15 * pc->sampling_s) sampling_left = 0.15 * pc->sampling_s;
  double scale = (left - setups_left * hwt_tune_pace_setup_s(pc)) / sampling_left;
  if (!(scale >= HWT_TUNE_MIN_SCALE)) scale = HWT_TUNE_MIN_SCALE;
  if (scale > pc->max_scale) scale = pc->max_scale;
  return scale;
}

void hwt_tune_pace_note(hwt_tune_pace *pc, size_t entries, double asked_s, double setup_s) {
  pc->asked_s += asked_s > 0 ? asked_s : 0;
  pc->setups_done += (double)entries;
  pc->setup_spent_s += setup_s > 0 ? setup_s : 0;
}

double hwt_tune_share_s(double left, const double *planned, size_t n) {
  if (n == 0 || !(left > 0)) return 0;
  double total = 0;
  for (size_t i = 0; i < n; i++) total += planned[i] > 0 ? planned[i] : 0;
  if (!(total > 0)) return left / (double)n;
  return left * (planned[0] > 0 ? planned[0] : 0) / total;
}
