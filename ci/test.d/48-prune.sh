#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `hwtune prune` as a CI gate: the digits MLP and CNN (tests/fixtures/digits, made by ci/models/digits.py) and a
# MobileNet v2 (width 0.35, 64x64, random weights, ci/models/mobilenet_v2.py) pruned at 0.5 and 0.9 (one file per
# sparsity, docs/prune.md), and the MobileNet once more in 4x4 blocks under one global threshold. Each file must
# pass onnx.checker (full check), have exactly the zeros the rules give (per layer: round(S x units) in every pruned
# Gemm / Conv, the lowest-scoring; global: round(S x units) over all of them, one threshold; blocks zeroed whole;
# the first layer, the classifier and depthwise convolutions untouched) and the zero fractions hwtune's table
# states, and give the same outputs in `hwtune run` and, when it is installed (bench/peers/onnxruntime/
# node_modules), in ONNX Runtime, on the same inputs; otherwise that check is skipped and says so. About 20 s on 2
# busy cores.
#
# Tolerance: both runtimes compute the same fp32 graph with different summation orders and FMA contraction, so
# each dot product of K terms differs by up to ~K * 2^-24 * sum |w x| (here K <= 1,280, i.e. ~1e-4 relative to the
# magnitudes summed), carried through up to 52 layers. We allow max |hwtune - ORT| <= 1e-4 * (1 + max |ORT|);
# measured here: 2e-7 to 5e-6 relative to max |ORT| (printed), so the bound has a 20x margin at the closest
# (MobileNet v2 at 0.5), while a runtime that ignored the zeros or misplaced weights would differ by O(1).
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

echo "== mobilenet_v2 0.35 64x64" >&2
"$PY" ci/models/mobilenet_v2.py --out "$out/mv2.onnx" --width 0.35 --resolution 64 --seed 1 >/dev/null
"$PY" ci/models/mobilenet_v2.py --make-input "$out/mv2_x.npy" --resolution 64 --batch 4 --seed 7 >/dev/null

# name, model, input, options: per-layer unstructured (the defaults), and blocks under one global threshold
cases=("digits_mlp $D/digits_mlp.onnx $D/test_x_flat.npy"
       "digits_cnn $D/digits_cnn.onnx $D/test_x_img.npy"
       "mv2 $out/mv2.onnx $out/mv2_x.npy"
       "mv2_block $out/mv2.onnx $out/mv2_x.npy --pattern block --block 4x4 --scope global")
for c in "${cases[@]}"; do
  read -r model src x opts <<<"$c"
  x=$(realpath "$x") # run.js runs from its own folder
  echo "== hwtune prune $model --sparsity 0.5,0.9 $opts" >&2
  # shellcheck disable=SC2086 # opts is a word list
  "$B/hwtune" prune --model "$src" --sparsity 0.5,0.9 $opts --out "$out/$model.onnx" >"$out/$model.table"
  for s in 50 90; do
    f=$out/$model-s$s.onnx
    "$B/hwtune" run --model "$f" --input "$x" --out "$out/$model-s$s.hwtune.npy" --profile none >/dev/null
    if [ "$have_ort" = 1 ]; then
      n=$("$PY" -c 'import sys, numpy; print(numpy.load(sys.argv[1]).shape[0])' "$x")
      (cd "$ort" && node run.js --model "$f" --input "$x" --batch "$n" --dump-output "$f.ort.npy" --smoke \
        --runs 1 --warmup 1 >/dev/null 2>&1) || { echo "48-prune: ONNX Runtime failed on $f" >&2; exit 1; }
    fi
  done
  "$PY" - "$src" "$out/$model" "$out/$model.table" "$opts" <<'PY'
import math, os, sys
import numpy as np
import onnx
from onnx import numpy_helper

src, stem, table_file, opts = sys.argv[1:]
opts = opts.split()
bn, bk = map(int, opts[opts.index("--block") + 1].split("x")) if "--block" in opts else (1, 1)
scope_global = "global" in opts
orig = onnx.load(src)


def weights(m):
    """(node name, op, group, weight array) of every Gemm / MatMul / Conv with an initializer weight, in order."""
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    out = []
    for n in m.graph.node:
        if n.op_type in ("Gemm", "MatMul", "Conv") and len(n.input) > 1 and n.input[1] in init:
            g = next((a.i for a in n.attribute if a.name == "group"), 1)
            out.append((n.name, n.op_type, g, init[n.input[1]]))
    return out


def blocks(w):
    """Per bn x bk block of the [N, K] weight matrix (edge blocks clipped): largest |w|, count of nonzeros, size.
    Pruned layers here are Gemm [N, K] (transB) or 1x1 Conv [N, K, 1, 1]: hwtune's internal N x K layout."""
    w2 = w.reshape(w.shape[0], -1)
    n, k = w2.shape
    nb, kb = -(-n // bn), -(-k // bk)
    pad = np.zeros((nb * bn, kb * bk), np.float32)
    pad[:n, :k] = w2
    one = np.zeros_like(pad)
    one[:n, :k] = 1
    r = lambda a: a.reshape(nb, bn, kb, bk).transpose(0, 2, 1, 3).reshape(nb * kb, bn * bk)
    return np.abs(r(pad)).max(1), (r(pad) != 0).sum(1), r(one).sum(1)


ow = weights(orig)
dense = [k for k, (_, op, g, _) in enumerate(ow) if op != "Conv" or g == 1]
first = dense[0]
classifier = max(k for k, (_, op, _, _) in enumerate(ow) if op in ("Gemm", "MatMul"))
tables = open(table_file).read().split("\n\n")
fails = []
for s, table in zip((0.5, 0.9), tables):
    f = "%s-s%d.onnx" % (stem, round(s * 100))
    m = onnx.load(f)
    onnx.checker.check_model(m, full_check=True)
    pw = weights(m)
    assert len(pw) == len(ow), "%s: %d weighted nodes, the model has %d" % (f, len(pw), len(ow))
    stated = {}
    for line in table.splitlines()[2:]:
        p = line.split()
        if len(p) >= 5 and p[0] != "total:":
            i = 3 if p[1] in ("conv", "dwconv") else 2  # "conv 3x3" is two words, "fc" one
            stated[p[0]] = (int(p[i]), float(p[i + 2].rstrip("%")))
    pruned_n = pruned_z = 0
    scores_zero, scores_kept, zb, nbl = [], [], 0, 0
    for k, ((name, op, g, w0), (_, _, _, w1)) in enumerate(zip(ow, pw)):
        z = int((w1 == 0).sum())
        n = w1.size
        if op == "Conv" and g > 1 or k in (first, classifier):
            if not np.array_equal(w0, w1):
                fails.append("%s: %s (%s) changed but must stay dense" % (f, name, op))
        else:
            kept = w1 != 0
            if not np.array_equal(w1[kept], w0[kept]):
                fails.append("%s: %s kept weights changed" % (f, name))
            if op == "Conv" and w1.shape[2:] != (1, 1) and (bn, bk) != (1, 1):
                fails.append("%s: %s is not 1x1: the block check reads the ONNX layout" % (f, name))
            score, nonzero, size = blocks(w0)[0], blocks(w1)[1], blocks(w1)[2]
            partial = int(((nonzero > 0) & (nonzero < size)).sum())
            if partial:
                fails.append("%s: %s has %d partly zeroed %dx%d blocks" % (f, name, partial, bn, bk))
            zero = nonzero == 0
            if not scope_global:
                want = math.floor(s * zero.size + 0.5)
                if int(zero.sum()) != want:
                    fails.append("%s: %s has %d zero blocks of %d, want %d" % (f, name, int(zero.sum()), zero.size,
                                                                               want))
                if zero.any() and (~zero).any() and score[zero].max() > score[~zero].min():
                    fails.append("%s: %s zeroed a block larger than one it kept" % (f, name))
            scores_zero.append(score[zero])
            scores_kept.append(score[~zero])
            zb += int(zero.sum())
            nbl += zero.size
            pruned_n += n
            pruned_z += z
        if name in stated:
            sn, sf = stated[name]
            if sn != n or abs(sf - 100.0 * z / n) > 0.006:
                fails.append("%s: %s table says %d weights %.2f%%, file has %d, %.4f%%" % (f, name, sn, sf, n,
                                                                                        100.0 * z / n))
        else:
            fails.append("%s: %s not in the table" % (f, name))
    if scope_global:
        # one threshold: round(S x blocks) of all pruned layers' blocks, the lowest-scoring ones
        if zb != math.floor(s * nbl + 0.5):
            fails.append("%s: %d zero blocks of %d, want %d" % (f, zb, nbl, math.floor(s * nbl + 0.5)))
        hi = max((a.max() for a in scores_zero if a.size), default=0.0)
        lo = min((a.min() for a in scores_kept if a.size), default=np.inf)
        if hi > lo:
            fails.append("%s: a zeroed block scores %g, a kept one %g" % (f, hi, lo))
    print("%s: pruned layers %.2f%% zero (%d weights), checker ok" % (os.path.basename(f),
                                                                       100.0 * pruned_z / max(pruned_n, 1), pruned_n))

    h = np.load("%s-s%d.hwtune.npy" % (stem, round(s * 100)))
    ortf = f + ".ort.npy"
    if os.path.exists(ortf):
        o = np.load(ortf)
        assert o.shape == h.shape, "%s: shapes %s (ORT) and %s (hwtune)" % (f, o.shape, h.shape)
        d = float(np.abs(o - h).max())
        tol = 1e-4 * (1.0 + float(np.abs(o).max()))
        print("  max |hwtune - ORT| %.3g (max |ORT| %.3g, tolerance %.3g); top-1 agreement %.1f%%" % (
            d, float(np.abs(o).max()), tol, 100.0 * float((o.argmax(1) == h.argmax(1)).mean())))
        if not d <= tol:
            fails.append("%s: hwtune and ONNX Runtime differ by %g > %g" % (f, d, tol))
    else:
        print("  ONNX Runtime comparison SKIPPED (bench/peers/onnxruntime/node_modules not installed)")
    y = os.path.join(os.path.dirname(src), "test_y.npy")
    if "digits" in src and os.path.exists(y):
        print("  top-1 on the digits test split (hwtune): %.2f%%" % (100.0 * float((h.argmax(1) == np.load(y)).mean())))
for line in fails:
    print("48-prune: FAIL " + line)
sys.exit(1 if fails else 0)
PY
done
echo "48-prune: ok" >&2
