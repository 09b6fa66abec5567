#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 21's pruning tables on this machine: `hwtune audit --prune` of the digits MLP and CNN (their labelled test
# split, tests/fixtures/digits, made by ci/models/digits.py) and of MobileNet v2 1.0 224 (ci/models/mobilenet_v2.py
# defaults: random weights, so "accuracy" is top-1 agreement with the dense model on a few generated inputs).
# One thread, under the shared benchmark lock; writes results/prune/<fingerprint>/ with each command and the load.
# Usage (from the repository root): results/prune/run.sh [BUILD_DIR]   (default build)
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
fp=$("$B/hwtune" detect --json 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['fingerprint'])")
out=results/prune/$fp
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
./ci/models/mobilenet_v2.py --out "$tmp/mobilenet_v2.onnx" >&2
D=tests/fixtures/digits
common="--precision fp32 --threads 1 --batch 1 --no-peaks --no-abnormal --profile none"
cmds=(
  "digits_mlp|$B/hwtune audit --model $D/digits_mlp.onnx --inputs $D/test_x_flat.npy --labels $D/test_y.npy --prune 0.5,0.75,0.9,0.95 --bench-seconds 1 $common"
  "digits_cnn|$B/hwtune audit --model $D/digits_cnn.onnx --inputs $D/test_x_img.npy --labels $D/test_y.npy --prune 0.5,0.75,0.9,0.95 --bench-seconds 1 $common"
  "mobilenet_v2|$B/hwtune audit --model $tmp/mobilenet_v2.onnx --inputs 4 --prune 0.5,0.75,0.9 --bench-seconds 3 $common"
)
{
  echo "# Pruning audits on this machine ($fp)"
  echo
  echo "Made by \`results/prune/run.sh\` at $(git rev-parse --short HEAD) on $(date -u +%Y-%m-%dT%H:%MZ); each run under"
  echo "\`flock /tmp/hwtune-bench.lock\`, one thread. MobileNet v2: \`ci/models/mobilenet_v2.py --out mobilenet_v2.onnx\`"
  echo "(defaults: width 1.0, 224x224, random weights seed 1)."
  echo
} >"$out/README.md"
for c in "${cmds[@]}"; do
  name=${c%%|*}
  cmd=${c#*|}
  load=$(cat /proc/loadavg)
  echo "== $name (load before: $load)" >&2
  flock /tmp/hwtune-bench.lock $cmd --out "$out/$name.json"
  "$B/hwtune" audit --render "$out/$name.json" --format md >"$out/$name.md"
  {
    echo "## $name"
    echo
    echo '```sh'
    echo "${cmd//$tmp\//} --out $name.json"
    echo '```'
    echo
    echo "load average before the run: $load; after: $(cat /proc/loadavg)"
    echo
  } >>"$out/README.md"
done
# MobileNet v2 again with a profile of its own layers (hwtune tune --model: per-shape sparse break-evens), so the
# runtime's choice uses measured break-evens instead of the built-in 95%.
tune="$B/hwtune tune --model $tmp/mobilenet_v2.onnx --budget 120 --no-default --out $out/mobilenet_v2-profile.json"
load=$(cat /proc/loadavg)
flock /tmp/hwtune-bench.lock $tune
cmd="$B/hwtune audit --model $tmp/mobilenet_v2.onnx --inputs 4 --prune 0.5,0.75,0.9 --bench-seconds 3 ${common/--profile none/--profile $out/mobilenet_v2-profile.json}"
flock /tmp/hwtune-bench.lock $cmd --out "$out/mobilenet_v2-tuned.json"
"$B/hwtune" audit --render "$out/mobilenet_v2-tuned.json" --format md >"$out/mobilenet_v2-tuned.md"
{
  echo "## mobilenet_v2-tuned"
  echo
  echo '```sh'
  echo "${tune//$tmp\//}"
  echo "${cmd//$tmp\//} --out mobilenet_v2-tuned.json"
  echo '```'
  echo
  echo "load average before the tune: $load; after the audit: $(cat /proc/loadavg)"
  echo
} >>"$out/README.md"
echo "wrote $out" >&2
