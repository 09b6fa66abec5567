#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Performance gate for users' CI: a quick bench of a few shapes, compared with `hwtune compare` against the baseline
# committed in results/<fingerprint>/gate-baseline.json for THIS machine. Exit 0: no configuration slower (or no
# baseline for this machine: the gate does not apply), 1: a significant slowdown beyond the threshold, 2: bad input.
#
# Not part of ci/test.sh: timings on shared machines are noisy. Run it on a dedicated runner whose baseline you
# committed with ci/publish-results.sh (same fingerprint = same CPU, caches, topology and usable CPUs).
#
#   ci/bench-gate.sh [BUILD_DIR]          default build/ (./ci/quickstart.sh builds it)
# Environment:
#   GATE_THRESHOLD   percent a median must grow by to count (default 5)
#   GATE_ALPHA       significance level of the Mann-Whitney test (default 0.05)
#   GATE_BENCH_ARGS  the bench command's options (default below; the baseline must use the same ones)
#   GATE_OUT         where to keep the new results (default BUILD_DIR/gate-new.json)
#   GITHUB_STEP_SUMMARY  when set (GitHub Actions), the Markdown table is appended there
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$build/hwtune
[ -x "$bin" ] || { echo "bench-gate: $bin not found; build first (./ci/quickstart.sh)" >&2; exit 2; }

# The gate's bench: small enough for ~1 minute, wide enough to catch a slower kernel or dispatch path.
default_args="--op gemm_f32,gemm_qs8 --shape 256x256,1024x1024 --batch 1,64 --threads 1 --impl xnnpack,own --max-time 1"
read -r -a bench_args <<<"${GATE_BENCH_ARGS:-$default_args}"

fingerprint=$("$bin" detect --json --no-measure | sed -n 's/^ *"fingerprint": *"\([0-9a-fA-F]*\)".*/\1/p' | head -n 1)
[ -n "$fingerprint" ] || { echo "bench-gate: cannot read this machine's fingerprint from 'hwtune detect --json'" >&2; exit 2; }
baseline=results/$fingerprint/gate-baseline.json
if [ ! -f "$baseline" ]; then
  echo "bench-gate: no baseline for this machine (fingerprint $fingerprint): $baseline is absent." >&2
  known=$(find results -mindepth 2 -maxdepth 2 -name gate-baseline.json 2>/dev/null | cut -d/ -f2 | sort | tr '\n' ' ')
  echo "bench-gate: baselines committed here are for: ${known:-none}" >&2
  echo "bench-gate: the gate does not apply on this machine; passing. Make a baseline with ci/publish-results.sh." >&2
  exit 0
fi

new=${GATE_OUT:-$build/gate-new.json}
echo "bench-gate: hwtune bench ${bench_args[*]}" >&2
"$bin" bench "${bench_args[@]}" --quiet --format json --out "$new" >/dev/null

rc=0
"$bin" compare "$baseline" "$new" --threshold "${GATE_THRESHOLD:-5}" --alpha "${GATE_ALPHA:-0.05}" || rc=$?
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  "$bin" compare "$baseline" "$new" --threshold "${GATE_THRESHOLD:-5}" --alpha "${GATE_ALPHA:-0.05}" --format md \
    >>"$GITHUB_STEP_SUMMARY" 2>/dev/null || true
fi
case $rc in
  0) echo "bench-gate: passed (no configuration significantly slower than $baseline)" >&2 ;;
  1) echo "bench-gate: FAILED: slower than the baseline (table above); new results in $new" >&2 ;;
  *) echo "bench-gate: compare could not read the files (exit $rc)" >&2 ;;
esac
exit "$rc"
