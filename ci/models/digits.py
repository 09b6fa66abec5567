#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Trains an MLP and a small CNN on scikit-learn's handwritten digits and writes them, with the held-out test split,
as ONNX models and .npy fixtures (Debian's python3-sklearn, python3-numpy and python3-onnx only; nothing downloaded).

Data: sklearn.datasets.load_digits() (1,797 labelled 8x8 images, 10 classes, pixel values 0..16, shipped with the
package). Pixels are divided by 16, so inputs are float32 in [0, 1]; both models were trained on that scale.
Split: sklearn.model_selection.train_test_split(test_size=0.2, random_state=0, stratify=labels): 1,437 train and
360 test samples, every class in the same proportion in both. The calibration slice for int8 is the first 200
samples of the train split, in the order train_test_split returns them (never a test sample).

Models (all seeds fixed, so a rerun on the same packages writes the same files):
  digits_mlp.onnx  input 'input' float32 [N, 64] -> Gemm 64 -> Relu -> Gemm 64 -> Relu -> Gemm 10 -> 'logits' [N, 10].
                   sklearn MLPClassifier(hidden_layer_sizes=(64, 64), relu, adam, alpha 1e-4, random_state=0).
  digits_cnn.onnx  input 'input' float32 [N, 1, 8, 8] -> Conv 3x3 pad 1, 8 ch -> Relu -> MaxPool 2x2 stride 2 ->
                   Conv 3x3 pad 1, 16 ch -> Relu -> Flatten (16x4x4, NCHW order) -> Gemm 10 -> 'logits' [N, 10].
                   Trained here with numpy: He initialisation (seed 0), Adam (lr 3e-3), batch 32, 40 epochs,
                   softmax cross-entropy, L2 1e-4 on the weights.
Both are opset 13 with a symbolic batch 'N', outputs are logits (no Softmax: argmax is the class). Each file is
checked with onnx.checker, then run with a numpy forward pass of the file's own (float32) weights on the test split:
its predictions must equal the trained model's exactly, else nothing is written.

Files written to --out (default tests/fixtures/digits), each atomically (temporary file, then rename):
  digits_mlp.onnx, digits_cnn.onnx, test_x_flat.npy float32 [360, 64], test_x_img.npy float32 [360, 1, 8, 8],
  test_y.npy int64 [360], calib_x_flat.npy float32 [200, 64], calib_x_img.npy float32 [200, 1, 8, 8], README.md.

  ci/models/digits.py [--out DIR]
  ci/models/digits.py --score PRED.npy
      prints the top-1 accuracy of PRED.npy (logits [360, 10], e.g. hwtune run's output, or class ids [360]) on
      the test split of --out; exit 1 if it is unreadable or has the wrong shape.

Exit codes: 0 ok, 1 a failed check or an unreadable file, 2 usage error.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

SEED = 0
TEST_FRACTION = 0.2
N_CALIB = 200
OPSET = 13


def load_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    return train_test_split(x, y, test_size=TEST_FRACTION, random_state=SEED, stratify=y)


# ---------------------------------------------------------------- MLP (scikit-learn)

def train_mlp(xtr, ytr):
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(64, 64), activation="relu", solver="adam", alpha=1e-4,
                        max_iter=400, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(xtr, ytr)
    return clf


# ---------------------------------------------------------------- CNN (numpy)

def im2col(x, k=3, pad=1):
    """x [n, c, h, w] -> [n, h, w, c*k*k] for a stride-1 convolution with 'same' padding (channel-major taps)."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((n, c, k, k, h, w), x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i:i + h, j:j + w]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n, h, w, c * k * k)


def col2im(dcols, shape, k=3, pad=1):
    n, c, h, w = shape
    d = dcols.reshape(n, h, w, c, k, k).transpose(0, 3, 4, 5, 1, 2)
    dxp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dcols.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, :, i:i + h, j:j + w] += d[:, :, i, j]
    return dxp[:, :, pad:pad + h, pad:pad + w]


def conv_fwd(x, wt, b):
    """wt [co, ci, 3, 3] (ONNX layout); returns y [n, co, h, w] and the columns for the backward pass."""
    cols = im2col(x)
    y = cols @ wt.reshape(wt.shape[0], -1).T + b
    return y.transpose(0, 3, 1, 2), cols


def maxpool_fwd(x):
    n, c, h, w = x.shape
    r = x.reshape(n, c, h // 2, 2, w // 2, 2)
    y = r.max(axis=(3, 5))
    mask = r == y[:, :, :, None, :, None]
    # one winner per window (the first), as the gradient must flow to one input only
    flat = mask.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    first = np.zeros_like(flat)
    np.put_along_axis(first, flat.argmax(axis=-1)[..., None], True, axis=-1)
    mask = first.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    return y, mask


def cnn_forward(p, x, keep=False):
    a1, c1 = conv_fwd(x, p["w1"], p["b1"])
    r1 = np.maximum(a1, 0)
    m1, mask = maxpool_fwd(r1)
    a2, c2 = conv_fwd(m1, p["w2"], p["b2"])
    r2 = np.maximum(a2, 0)
    f = r2.reshape(len(x), -1)
    logits = f @ p["w3"].T + p["b3"]
    if not keep:
        return logits
    return logits, (c1, a1, mask, m1.shape, c2, a2, f)


def cnn_backward(p, cache, dlogits):
    c1, a1, mask, m1_shape, c2, a2, f = cache
    g = {"w3": dlogits.T @ f, "b3": dlogits.sum(0)}
    df = dlogits @ p["w3"]
    da2 = df.reshape(a2.shape) * (a2 > 0)
    da2c = da2.transpose(0, 2, 3, 1)  # [n, h, w, co]
    g["w2"] = (da2c.reshape(-1, da2c.shape[-1]).T @ c2.reshape(-1, c2.shape[-1])).reshape(p["w2"].shape)
    g["b2"] = da2c.sum((0, 1, 2))
    dcols = da2c @ p["w2"].reshape(p["w2"].shape[0], -1)
    dm1 = col2im(dcols, m1_shape)
    nn, c, h, w = dm1.shape
    dr1 = (mask * dm1[:, :, :, None, :, None]).reshape(nn, c, h * 2, w * 2)
    da1 = dr1 * (a1 > 0)
    da1c = da1.transpose(0, 2, 3, 1)
    g["w1"] = (da1c.reshape(-1, da1c.shape[-1]).T @ c1.reshape(-1, c1.shape[-1])).reshape(p["w1"].shape)
    g["b1"] = da1c.sum((0, 1, 2))
    return g


def train_cnn(xtr, ytr, epochs=40, batch=32, lr=3e-3, l2=1e-4):
    rng = np.random.default_rng(SEED)

    def he(shape, fan_in):
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)

    p = {"w1": he((8, 1, 3, 3), 9), "b1": np.zeros(8),
         "w2": he((16, 8, 3, 3), 72), "b2": np.zeros(16),
         "w3": he((10, 256), 256) * 0.5, "b3": np.zeros(10)}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps, t = 0.9, 0.999, 1e-8, 0
    x = xtr.reshape(-1, 1, 8, 8).astype(np.float64)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for s in range(0, len(x), batch):
            idx = order[s:s + batch]
            logits, cache = cnn_forward(p, x[idx], keep=True)
            z = logits - logits.max(1, keepdims=True)
            prob = np.exp(z)
            prob /= prob.sum(1, keepdims=True)
            prob[np.arange(len(idx)), ytr[idx]] -= 1.0
            g = cnn_backward(p, cache, prob / len(idx))
            t += 1
            for k in p:
                gk = g[k] + (l2 * p[k] if k.startswith("w") else 0.0)
                m[k] = b1 * m[k] + (1 - b1) * gk
                v[k] = b2 * v[k] + (1 - b2) * gk * gk
                p[k] -= lr * (m[k] / (1 - b1 ** t)) / (np.sqrt(v[k] / (1 - b2 ** t)) + eps)
    return {k: val.astype(np.float32) for k, val in p.items()}


# ---------------------------------------------------------------- ONNX export and the numpy check of the files

def make_model(nodes, inits, in_shape, name):
    from onnx import TensorProto, checker, helper, numpy_helper

    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N"] + in_shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(np.ascontiguousarray(a, dtype=np.float32), n) for n, a in inits])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="hwtune ci/models/digits.py")
    model.ir_version = 7  # opset 13's IR version, readable by onnx 1.12 and older runtimes
    checker.check_model(model)
    return model


def export_mlp(clf):
    from onnx import helper
    nodes, inits, x = [], [], "input"
    last = len(clf.coefs_) - 1
    for i, (w, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        out = "logits" if i == last else "fc%d" % i
        inits += [("fc%d_w" % i, w.T), ("fc%d_b" % i, b)]  # Gemm with transB=1: B is [out, in]
        nodes.append(helper.make_node("Gemm", [x, "fc%d_w" % i, "fc%d_b" % i], [out], name="fc%d" % i, transB=1))
        if i != last:
            nodes.append(helper.make_node("Relu", [out], ["relu%d" % i], name="relu%d" % i))
            x = "relu%d" % i
    return make_model(nodes, inits, [64], "digits_mlp")


def export_cnn(p):
    from onnx import helper
    nodes = [
        helper.make_node("Conv", ["input", "conv1_w", "conv1_b"], ["conv1"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("MaxPool", ["relu1"], ["pool1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["pool1", "conv2_w", "conv2_b"], ["conv2"], name="conv2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["conv2"], ["relu2"], name="relu2"),
        helper.make_node("Flatten", ["relu2"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
    ]
    inits = [("conv1_w", p["w1"]), ("conv1_b", p["b1"]), ("conv2_w", p["w2"]), ("conv2_b", p["b2"]),
             ("fc_w", p["w3"]), ("fc_b", p["b3"])]
    return make_model(nodes, inits, [1, 8, 8], "digits_cnn")


def run_onnx_numpy(model, x):
    """Runs the few operators these two files use, in float32, from the file's own initializers."""
    from onnx import helper, numpy_helper
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env["input"] = x.astype(np.float32)
    for n in model.graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in n.attribute}
        i = [env[s] for s in n.input]
        if n.op_type == "Gemm":
            assert a.get("transB") == 1 and not a.get("transA")
            y = i[0] @ i[1].T + i[2]
        elif n.op_type == "Relu":
            y = np.maximum(i[0], 0)
        elif n.op_type == "Conv":
            assert list(a["kernel_shape"]) == [3, 3] and list(a["pads"]) == [1] * 4
            y = conv_fwd(i[0], i[1], i[2])[0]
        elif n.op_type == "MaxPool":
            y = maxpool_fwd(i[0])[0]
        elif n.op_type == "Flatten":
            y = i[0].reshape(len(i[0]), -1)
        else:
            raise ValueError("unexpected operator " + n.op_type)
        env[n.output[0]] = y.astype(np.float32)
    return env["logits"]


# ---------------------------------------------------------------- files

def write_atomic(path, write):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_npy(path, arr):
    write_atomic(path, lambda f: np.save(f, arr, allow_pickle=False))


README = """\
# Digits fixtures

Generated by `ci/models/digits.py` (do not edit by hand): an MLP and a small CNN trained on scikit-learn's
handwritten digits (`sklearn.datasets.load_digits()`, 1,797 labelled 8x8 images, 10 classes, shipped with
Debian's `python3-sklearn`), with the held-out test split they are scored on.

## Data and split
- Inputs are the 64 pixel values divided by 16: float32 in [0, 1], the scale both models were trained on.
- Split: `train_test_split(test_size=0.2, random_state=0, stratify=labels)`: {ntrain} train, {ntest} test samples,
  classes in equal proportion in both. Only the train split was used for training.
- Calibration for int8: the first {ncalib} samples of the train split (in train_test_split's order); never a test
  sample.

## Files
| file | contents |
|---|---|
| `digits_mlp.onnx` | MLP 64-64-64-10 (Gemm, Relu), input `input` float32 [N, 64], output `logits` [N, 10]; opset 13 |
| `digits_cnn.onnx` | CNN: Conv 3x3 8 ch, Relu, MaxPool 2x2/2, Conv 3x3 16 ch, Relu, Flatten, Gemm 10; input `input` float32 [N, 1, 8, 8], output `logits` [N, 10]; opset 13 |
| `test_x_flat.npy` | test inputs, float32 [{ntest}, 64] (for the MLP) |
| `test_x_img.npy` | the same test inputs, float32 [{ntest}, 1, 8, 8] (for the CNN) |
| `test_y.npy` | test labels, int64 [{ntest}] |
| `calib_x_flat.npy` | calibration inputs, float32 [{ncalib}, 64] |
| `calib_x_img.npy` | the same calibration inputs, float32 [{ncalib}, 1, 8, 8] |

Outputs are logits (no Softmax); the class is the argmax.

## Training and measured accuracy (top-1 on the {ntest} test samples)
| model | training | test accuracy |
|---|---|---|
| MLP | sklearn `MLPClassifier((64, 64), relu, adam, alpha=1e-4, random_state=0)` | {acc_mlp:.2f}% |
| CNN | numpy in the script: He init (seed 0), Adam lr 3e-3, batch 32, 40 epochs, L2 1e-4 | {acc_cnn:.2f}% |

Both files pass `onnx.checker`, and a numpy forward pass of each file's own float32 weights reproduces the trained
model's test predictions exactly (the script refuses to write otherwise).

## Regenerate
    ci/models/digits.py                 # writes this directory
    ci/models/digits.py --score y.npy   # top-1 accuracy of logits y.npy (e.g. from hwtune run) on test_y.npy

e.g. `hwtune run --model tests/fixtures/digits/digits_cnn.onnx --input tests/fixtures/digits/test_x_img.npy --out y.npy`.
The script needs `/usr/bin/python3` with Debian's python3-sklearn, python3-numpy and python3-onnx (1.12).
"""


def score(args):
    try:
        pred = np.load(args.score, allow_pickle=False)
        y = np.load(os.path.join(args.out, "test_y.npy"), allow_pickle=False)
    except (OSError, ValueError) as e:
        print("digits.py: %s" % e, file=sys.stderr)
        return 1
    if pred.ndim == 2 and pred.shape == (len(y), 10):
        pred = pred.argmax(1)
    elif pred.shape != y.shape:
        print("digits.py: %s: shape %s, expected [%d, 10] logits or [%d] classes"
              % (args.score, list(pred.shape), len(y), len(y)), file=sys.stderr)
        return 1
    ok = int((pred == y).sum())
    print("top-1 %.2f%% (%d of %d)" % (100.0 * ok / len(y), ok, len(y)))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "fixtures", "digits"))
    ap.add_argument("--score", metavar="PRED.npy")
    args = ap.parse_args()
    if args.score:
        return score(args)

    xtr, xte, ytr, yte = load_split()
    t0 = time.monotonic()
    clf = train_mlp(xtr, ytr)
    t1 = time.monotonic()
    cnn = train_cnn(xtr, ytr)
    t2 = time.monotonic()

    pred_mlp = clf.predict(xte)
    pred_cnn = cnn_forward(cnn, xte.reshape(-1, 1, 8, 8)).argmax(1)
    mlp_model, cnn_model = export_mlp(clf), export_cnn(cnn)
    failed = False
    for name, model, x, pred in (("mlp", mlp_model, xte, pred_mlp),
                                 ("cnn", cnn_model, xte.reshape(-1, 1, 8, 8), pred_cnn)):
        got = run_onnx_numpy(model, x).argmax(1)
        diff = int((got != pred).sum())
        if diff:
            print("digits.py: digits_%s.onnx: %d of %d test predictions differ from the trained model"
                  % (name, diff, len(pred)), file=sys.stderr)
            failed = True
    if failed:
        return 1
    acc_mlp = 100.0 * float((pred_mlp == yte).mean())
    acc_cnn = 100.0 * float((pred_cnn == yte).mean())

    os.makedirs(args.out, exist_ok=True)
    for name, model in (("digits_mlp.onnx", mlp_model), ("digits_cnn.onnx", cnn_model)):
        write_atomic(os.path.join(args.out, name), lambda f, m=model: f.write(m.SerializeToString()))
    xc = xtr[:N_CALIB]
    write_npy(os.path.join(args.out, "test_x_flat.npy"), np.ascontiguousarray(xte, np.float32))
    write_npy(os.path.join(args.out, "test_x_img.npy"), np.ascontiguousarray(xte.reshape(-1, 1, 8, 8), np.float32))
    write_npy(os.path.join(args.out, "test_y.npy"), np.ascontiguousarray(yte, np.int64))
    write_npy(os.path.join(args.out, "calib_x_flat.npy"), np.ascontiguousarray(xc, np.float32))
    write_npy(os.path.join(args.out, "calib_x_img.npy"), np.ascontiguousarray(xc.reshape(-1, 1, 8, 8), np.float32))
    text = README.format(ntrain=len(xtr), ntest=len(xte), ncalib=N_CALIB, acc_mlp=acc_mlp, acc_cnn=acc_cnn)
    write_atomic(os.path.join(args.out, "README.md"), lambda f: f.write(text.encode()))
    print("mlp: test top-1 %.2f%% (trained in %.1f s)" % (acc_mlp, t1 - t0))
    print("cnn: test top-1 %.2f%% (trained in %.1f s)" % (acc_cnn, t2 - t1))
    print("wrote %s" % os.path.normpath(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
