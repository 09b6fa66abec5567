#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The hwtune / ONNX Runtime comparison (bench/peers/abab.py) as a smoke run on the digits MLP: with ONNX Runtime when
# bench/peers/onnxruntime/node_modules is installed (never installed here: CI downloads nothing), else hwtune's side
# alone. Either way the hwtune results files are checked (schema, counts, names) and compare must pair one with a
# fixture ONNX Runtime results file across implementations. Figures are not checked: --quick measures nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
hwtune=$(realpath "${BUILD_CI:-build-ci}/hwtune")
py=/usr/bin/python3
out=$(mktemp -d /tmp/hwtune-47-peer.XXXXXX)
trap 'rm -rf "$out"' EXIT
fail() { echo "47-peer: $*" >&2; exit 1; }

ort=--no-ort
if command -v node >/dev/null && [ -d bench/peers/onnxruntime/node_modules/onnxruntime-node ]; then
  ort=
  echo "47-peer: ONNX Runtime installed: ABAB with run.js" >&2
else
  echo "47-peer: ONNX Runtime not installed: hwtune's side only, compare against a fixture ORT file" >&2
fi
# shellcheck disable=SC2086
$py bench/peers/abab.py --quick $ort --models digits_mlp --batches 1,8 --threads 1 --hwtune "$hwtune" \
  --out "$out/table" >"$out/table.stdout"

# Every hwtune results file: one result, the configuration of its row, 20 samples, statistics in order.
$py - "$out/table" "$ort" <<'EOF'
import glob, json, os, sys
table, ort = sys.argv[1], sys.argv[2] == ""
doc = json.load(open(os.path.join(table, "table.json")))
rows = [r for r in doc["rows"] if "error" not in r]
bad = [r for r in doc["rows"] if "error" in r]
assert not bad, "failed rows: %s" % bad
want = {("f32", 1), ("f32", 8)}
if not any("quantize" in s for s in doc["meta"]["skipped"]):
    want |= {("int8", 1), ("int8", 8)}
got = {(r["precision"], r["batch"]) for r in rows}
assert got == want, "rows %s, expected %s" % (sorted(got), sorted(want))
files = sorted(glob.glob(os.path.join(table, "raw", "*.hwtune.*.json")))
assert len(files) == 2 * len(want), files
for f in files:
    d = json.load(open(f))
    assert d["schema"] == "hwtune.results/1" and d["partial"] is False, f
    assert d["context"].get("fingerprint"), f + ": no fingerprint in the context"
    assert d["context"]["peer"]["profile"] == "no profile (--profile none)", f
    (r,) = d["results"]
    prec, b = ("int8" if "_int8_" in f else "f32"), (8 if "_b8_" in f else 1)
    op = "model_qs8" if prec == "int8" else "model_f32"
    assert (r["op"], r["impl"], r["shape"], r["m"], r["threads"]) == (op, "hwtune", "digits_mlp", b, 1), (f, r["name"])
    assert r["name"] == "%s/hwtune/auto/digits_mlp/m%d/t1/warm" % (op, b), r["name"]
    assert r["samples"] == 20 and len(r["samples_ns"]) == 20, f
    assert 0 < r["min_ns"] <= r["median_ns"] <= r["p90_ns"] <= r["p99_ns"] <= r["max_ns"], f
    assert r["ci_low_ns"] <= r["median_ns"] <= r["ci_high_ns"], f
for r in rows:
    if ort:
        assert r["ratio"] > 0 and r["max_abs_diff"] < 1e-3 and r["identity_p50_ns"] > 0, r
        assert r["ratio_ci"][0] <= r["ratio_ci"][1], r
    else:
        assert "ratio" not in r, r
print("47-peer: %d rows, %d hwtune results files ok" % (len(rows), len(files)))
EOF

# compare pairs hwtune's batch-1 result with ONNX Runtime's (a fixture when it is not installed) across implementations.
ortfile=tests/fixtures/report/peer/ort_digits_mlp.json
[ -z "$ort" ] && ortfile="$out/table/raw/digits_mlp_f32_b1_t1.ort.1.json"
rc=0
"$hwtune" compare "$out/table/raw/digits_mlp_f32_b1_t1.hwtune.1.json" "$ortfile" --format json \
  --out "$out/compare.json" 2>/dev/null || rc=$?
[ "$rc" -le 1 ] || fail "hwtune compare exited $rc"
$py - "$out/compare.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["pairing"] == "across-impl", c["pairing"]
(p,) = c["pairs"]
assert p["name"] == "model_f32/digits_mlp/m1/t1/warm" and p["impl"] == "hwtune" and p["new_impl"] == "onnxruntime", p
assert p["ci_low"] <= p["ratio"] <= p["ci_high"], p
EOF
echo "47-peer: ok" >&2
