#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `hwtune quantize` as a CI gate: the digits MLP and CNN (tests/fixtures/digits) quantized on their calibration
# split and written as QDQ ONNX; each file must pass onnx.checker, import back into hwtune and give the same
# outputs as the in-memory int8 model (the Criterion test test_quantize_export asserts that; here `hwtune run` on
# the file must keep the fp32 model's top-1 within 2 points on the test split). When ONNX Runtime is installed
# (bench/peers/onnxruntime/node_modules), its outputs on the same file must be within one quantization step of
# hwtune's (docs/quantize.md); otherwise that check is skipped and says so. About 10 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${BUILD_CI:-build-ci}
PY=${PYTHON:-/usr/bin/python3}
D=tests/fixtures/digits
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ort=bench/peers/onnxruntime
have_ort=0
if [ -d "$ort/node_modules/onnxruntime-node" ] && command -v node >/dev/null; then have_ort=1; fi

for model in mlp cnn; do
  x=flat
  [ "$model" = cnn ] && x=img
  echo "== hwtune quantize digits_$model" >&2
  "$B/hwtune" quantize --model "$D/digits_$model.onnx" --calibration "$D/calib_x_$x.npy" --out "$out/$model.int8.onnx"
  "$PY" - "$out/$model.int8.onnx" <<'PY'
import sys
import onnx
from onnx import TensorProto as T
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
# activations UINT8 (what ONNX Runtime's x86 kernels fuse), weights INT8 (docs/quantize.md)
init = {i.name: i.data_type for i in m.graph.initializer}
acts = [init[n.input[2]] for n in m.graph.node if n.op_type == "QuantizeLinear"]
wts = [init[n.input[0]] for n in m.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in init]
assert acts and all(t == T.UINT8 for t in acts), "activation zero points not all UINT8: %s" % set(acts)
assert any(t == T.INT8 for t in wts), "no INT8 weights"
PY
  "$B/hwtune" run --model "$D/digits_$model.onnx" --input "$D/test_x_$x.npy" --out "$out/$model.f32.npy" --profile none
  "$B/hwtune" run --model "$out/$model.int8.onnx" --input "$D/test_x_$x.npy" --out "$out/$model.int8.npy" \
    --profile none
  if [ "$have_ort" = 1 ]; then
    (cd "$ort" && node run.js --model "$out/$model.int8.onnx" --input "$OLDPWD/$D/test_x_$x.npy" --batch 360 \
      --dump-output "$out/$model.ort.npy" --runs 2000 --warmup 1 --out "$out/$model.ort.json" >/dev/null)
  fi
  "$PY" - "$out/$model.int8.onnx" "$D/test_y.npy" "$out/$model.f32.npy" "$out/$model.int8.npy" \
    "$out/$model.ort.npy" <<'PY'
import os, sys
import numpy as np
import onnx
model, labels, f32, int8, ortf = sys.argv[1:]
step = float({p.key: p.value for p in onnx.load(model).metadata_props}["hwtune.output_step"])
y = np.load(labels)
a, q = np.load(f32), np.load(int8)
top = lambda o: 100.0 * float((o.argmax(1) == y).mean())
line = "%s: top-1 fp32 %.2f%%, hwtune int8 %.2f%%" % (os.path.basename(model), top(a), top(q))
ok = top(a) - top(q) <= 2.0
if os.path.exists(ortf):
    o = np.load(ortf)
    d = float(np.abs(o - q).max())
    line += ", ORT int8 %.2f%%; max |ORT - hwtune| %.3g = %.3g steps (step %.4g)" % (top(o), d, d / step, step)
    ok = ok and d <= step
else:
    line += "; ONNX Runtime comparison SKIPPED (bench/peers/onnxruntime/node_modules not installed)"
print(line)
sys.exit(0 if ok else 1)
PY
done
