#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Regenerates this machine's published results in results/<fingerprint>/: the detect description, the bench JSON
# (commands below), the Markdown/HTML/CSV reports made from it by `hwtune report`, the gate baseline that
# ci/bench-gate.sh compares against, and the profile from `hwtune tune`; then the index results/README.md with the
# headline table (ours vs XNNPACK) of every machine published. Takes ~10-15 minutes on 2 cores.
#
#   ci/publish-results.sh [BUILD_DIR]     default build/
# Environment: PUBLISH_GEMM_ARGS, PUBLISH_CONV_ARGS, PUBLISH_KERNEL_ARGS, GATE_BENCH_ARGS override the bench options; PUBLISH_TUNE=0
# skips the profile.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$build/hwtune
[ -x "$bin" ] || { echo "publish-results: $bin not found; build first (./ci/quickstart.sh)" >&2; exit 2; }

gemm_args=${PUBLISH_GEMM_ARGS:-"--op gemm_f32,gemm_qs8 --shapes bench/shapes/mlp.txt --batch 1,8,64 --threads all --impl xnnpack,own --max-time 1"}
conv_args=${PUBLISH_CONV_ARGS:-"--op conv_f32,dwconv_f32 --shapes bench/shapes/mobilenet_v1.txt --batch 1 --threads all --impl xnnpack,own --max-time 1"}
# The kernels' goal table (issue 4): ours vs XNNPACK, 1 and 2 threads, side by side in one run.
kernel_args=${PUBLISH_KERNEL_ARGS:-"--op gemm_f32,gemm_qs8 --shape 4096x4096,1024x1024 --batch 1,64,256 --threads 1,2 --impl own,xnnpack --max-time 2"}
gate_args=${GATE_BENCH_ARGS:-"--op gemm_f32,gemm_qs8 --shape 256x256,1024x1024 --batch 1,64 --threads 1 --impl xnnpack,own --max-time 1"}

"$bin" detect --json >"$build/publish-detect.json"
fp=$(sed -n 's/^ *"fingerprint": *"\([0-9a-fA-F]*\)".*/\1/p' "$build/publish-detect.json" | head -n 1)
[ -n "$fp" ] || { echo "publish-results: no fingerprint in detect's output" >&2; exit 1; }
dir=results/$fp
mkdir -p "$dir"
cp "$build/publish-detect.json" "$dir/detect.json"

run_bench() { # name args...
  local out=$1; shift
  echo "publish-results: hwtune bench $* --out $dir/$out" >&2
  "$bin" bench "$@" --quiet --format json --out "$dir/$out" >/dev/null
}
read -r -a a <<<"$gemm_args"; run_bench bench-gemm.json "${a[@]}"
read -r -a a <<<"$conv_args"; run_bench bench-conv.json "${a[@]}"
read -r -a a <<<"$kernel_args"; run_bench bench-kernels.json "${a[@]}"
read -r -a a <<<"$gate_args"; run_bench gate-baseline.json "${a[@]}"

for fmt in md html csv; do
  "$bin" report "$dir/bench-gemm.json" "$dir/bench-conv.json" "$dir/bench-kernels.json" --format "$fmt" --out "$dir/report.$fmt"
done

if [ "${PUBLISH_TUNE:-1}" != 0 ] && "$bin" --help | grep -q '^  tune '; then
  echo "publish-results: hwtune tune --out $dir/profile.json" >&2
  "$bin" tune --quiet --no-default --out "$dir/profile.json" || echo "publish-results: tune failed; no profile" >&2
fi

# The index: every published machine's headline table, with links to the full reports.
{
  echo "# Published results"
  echo
  echo "Made by \`ci/publish-results.sh\`: one folder per machine fingerprint with the bench JSON, the reports"
  echo "\`hwtune report\` made from it, the gate baseline and the tuned profile. Regenerate with"
  echo "\`./ci/publish-results.sh\` on the machine itself."
  for m in results/*/report.md; do
    [ -e "$m" ] || continue
    d=$(dirname "$m"); f=$(basename "$d")
    cpu=$(sed -n 's/^| CPU | \(.*\) ([^()]*, family .*/\1/p' "$m" | head -n 1)
    echo
    echo "## ${cpu:-unknown CPU} (\`${f:0:12}\`)"
    echo
    # the "Ours vs XNNPACK" section of the report, without its heading
    sed -n '/^### Ours vs XNNPACK/,/^### /p' "$m" | sed '1d;$d'
    echo "Full report: [Markdown]($f/report.md), [HTML]($f/report.html) (download and open: self-contained),"
    echo "[CSV]($f/report.csv); data: [gemm]($f/bench-gemm.json), [conv]($f/bench-conv.json),"
    echo "[kernel goals]($f/bench-kernels.json);"
    echo "[gate baseline]($f/gate-baseline.json)$( [ -f "$d/profile.json" ] && echo ", [profile]($f/profile.json)")."
  done
} >results/README.md
echo "publish-results: wrote $dir/ and results/README.md" >&2
