#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `hwtune audit` as a CI gate: short audits of both built-in models (int8 accuracy, abnormal inputs, a soak,
# a --mem-limit run) that must pass their --fail-on rules, and a malformed model that must fail with exit 1.
# The int8 gate is 0.9, below the >= 0.95 the unit tests assert, so a different ISA cannot make CI flaky.
# About 1 minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${BUILD_CI:-build-ci}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for model in mlp mobilenet; do
  echo "== hwtune audit --model $model (short)" >&2
  "$B/hwtune" audit --model "$model" --batch 1,8 --bench-seconds 0.2 --inputs 200 --duration 3 --mem-limit 1024 \
    --no-peaks --profile none --fail-on "top1_agreement<0.9,abnormal_failures>0" --out "$out/$model.json"
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['schema']=='hwtune.audit/1'; \
print('$model: top-1 agreement %.3f, p99 %.3f ms' % (d['summary']['top1_agreement'], d['summary']['p99_ms']))" \
    "$out/$model.json"
done

echo "== hwtune audit on a truncated model must exit 1 with the layer named" >&2
set +e
msg=$("$B/hwtune" audit --model tests/fixtures/models/truncated.json --no-peaks 2>&1 >/dev/null)
rc=$?
set -e
if [ "$rc" -ne 1 ] || ! grep -q "layer 1 'd1' (depthwise_conv2d)" <<<"$msg"; then
  echo "expected exit 1 naming the layer, got $rc: $msg" >&2
  exit 1
fi
echo "audit stage ok" >&2
