#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Bench smoke stage: --verify of every op against the reference (XNNPACK and our kernels, 1 and 2 threads; spmm_f32's
# four impls at three sparsities), and a short timed run in every output format (the JSON one re-read by python's
# json module). About 30 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${BUILD_CI:-build-ci}/hwtune"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "-- bench --verify: all ops, xnnpack + own" >&2
"$bin" bench --op gemm_f32,gemm_qs8,conv_f32,conv_qs8,dwconv_f32,dwconv_qs8 \
  --shape 100x300,10x128,28x28x16:32:k3s2p1,14x14x32:48:k1,28x28x32::k3s1p1 --batch 1,5 --threads all \
  --impl xnnpack,own --verify --no-peaks --max-time 0.02 -q --out "$out/verify.json" >/dev/null

echo "-- bench --verify: spmm_f32 (own sparse, own dense, xnnpack sparse, xnnpack dense), both patterns" >&2
for pattern in unstructured block; do
  "$bin" bench --op spmm_f32 --shape 100x300,14x14x32:48:k1 --batch 1,5 --threads all --sparsity 0,0.5,0.95 \
    --pattern "$pattern" --verify --no-peaks --max-time 0.02 -q --out "$out/spmm-$pattern.json" >/dev/null
done
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d["results"]; assert len(r)==2*2*2*3*4, len(r); \
assert all(abs(x["weight_sparsity"]-x["sparsity"])<0.02 and x["shape"].startswith(x["layer"]+"@sp") for x in r)' \
  "$out/spmm-unstructured.json"
"${BUILD_CI:-build-ci}/hwtune" report "$out/spmm-unstructured.json" >/dev/null

echo "-- bench: every format" >&2
for f in json csv md gbench console; do
  "$bin" bench --op gemm_f32,gemm_qs8 --shape 256x256 --batch 8 --impl xnnpack,own --max-time 0.05 --no-peaks -q \
    --format "$f" --out "$out/r.$f" >/dev/null
  test -s "$out/r.$f"
done
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["schema"]=="hwtune.results/1" and d["results"]' \
  "$out/r.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["benchmarks"]' "$out/r.gbench"
echo "bench stage: ok" >&2
