#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The engine's sparse path as a CI gate (engine/spmm_own.c, docs/profile-schema.md "sparse"): the digits MLP
# (tests/fixtures/digits) and a MobileNet v2 (width 0.35, 64x64, random weights, ci/models/mobilenet_v2.py) pruned
# to 0.98 by `hwtune prune` give the same outputs with `hwtune run --sparse off`, `auto` and `force` (auto without
# a profile: the built-in break-even, 80%, or 95% under 32 inputs, so the pruned layers run sparse and the
# unpruned ones dense, which `hwtune model --json` must show), and `hwtune tune` on one fc and one 1x1 conv shape writes a "sparse" record
# that libhwtune loads (hwtune model with that profile names the profile's break-even). Correctness only: no
# timing is asserted. About 20 s on 2 busy cores.
#
# Tolerance: the sparse kernel sums the kept products in another order than the dense one: max |a - b| <=
# 1e-4 * (1 + max |a|) (as ci/test.d/48-prune.sh); a kernel that dropped or misplaced weights differs by O(1).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${BUILD_CI:-build-ci}
PY=${PYTHON:-/usr/bin/python3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$PY" ci/models/mobilenet_v2.py --out "$out/mv2.onnx" --width 0.35 --resolution 64 --seed 1 >/dev/null
"$PY" - "$out" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(3)
np.save(sys.argv[1] + "/mlp_x.npy", rng.random((4, 64), dtype=np.float32))
np.save(sys.argv[1] + "/mv2_x.npy", rng.random((2, 3, 64, 64), dtype=np.float32))
PY
for m in mlp mv2; do
  src=$out/mv2.onnx
  if [ $m = mlp ]; then src=tests/fixtures/digits/digits_mlp.onnx; fi
  "$B/hwtune" prune --model "$src" --sparsity 0.98 --out "$out/$m.onnx" >/dev/null
  for mode in off auto force; do
    "$B/hwtune" run --model "$out/$m.onnx" --input "$out/${m}_x.npy" --profile none --sparse $mode \
      --out "$out/$m-$mode.npy" 2>/dev/null
  done
  "$B/hwtune" model "$out/$m.onnx" --profile none --json >"$out/$m-model.json"
  "$PY" - "$out" "$m" <<'PY'
import json, re, sys, numpy as np
d, m = sys.argv[1], sys.argv[2]
off, au, fo = (np.load(f"{d}/{m}-{x}.npy") for x in ("off", "auto", "force"))
for name, y in (("auto", au), ("force", fo)):
    err = float(np.max(np.abs(y - off)))
    bound = 1e-4 * (1 + float(np.max(np.abs(off))))
    print(f"49-sparse-engine: {m} {name} vs off: max |diff| {err:.2e} (bound {bound:.2e})", file=sys.stderr)
    assert err <= bound, f"{m}: {name} differs from the dense run"
nodes = json.load(open(f"{d}/{m}-model.json"))["nodes"]
sparse = [n["name"] for n in nodes if n["engine"].get("sparse")]
pruned = [n["name"] for n in nodes if n["engine"].get("sparsity", 0) >= 0.97]
assert sparse and sparse == pruned, f"{m}: auto ran {sparse} sparse, pruned layers are {pruned}"
for n in nodes:
    if n["name"] in sparse:
        assert re.search(r"default break-even (80|95)%", n["engine"]["source"]), n["engine"]["source"]
print(f"49-sparse-engine: {m}: {len(sparse)} pruned layers sparse in auto", file=sys.stderr)
PY
done

# A tuned "sparse" record that libhwtune loads and the engine names.
"$B/hwtune" tune --op gemm_f32,conv_f32 --shape 64x64,8x8x64:64:k1s1p0 --budget 8 --out "$out/p.json" \
  --no-default >/dev/null 2>"$out/tune.err" || { cat "$out/tune.err" >&2; exit 1; }
grep -q '"sparse": {"break_even"' "$out/p.json" || { echo "49-sparse-engine: no sparse record" >&2; exit 1; }
"$B/hwtune" model "$out/mlp.onnx" --profile "$out/p.json" --json >"$out/mlp-tuned.json"
"$PY" - "$out/mlp-tuned.json" <<'PY'
import json, sys
nodes = json.load(open(sys.argv[1]))["nodes"]
src = [n["engine"]["source"] for n in nodes if n["engine"].get("sparsity", 0) >= 0.97]
assert src and all("profile break-even" in s for s in src), src
print("49-sparse-engine: the profile's break-even reaches the engine:", src[0], file=sys.stderr)
PY
echo "49-sparse-engine: ok" >&2
