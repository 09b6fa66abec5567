#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Builds a MobileNet v2 as an ONNX file with Debian's python3-onnx and numpy only (no framework, nothing
downloaded), and checks an output against a numpy forward pass of the file's own weights.

The architecture is the standard one (Sandler et al. 2018): a 3x3 stride-2 convolution to 32 channels, the
inverted residual blocks (t, c, n, s) below, a 1x1 convolution to 1280 channels, global average pooling, flatten
and a fully-connected layer to 1000 classes; every convolution is followed by batch normalization, ReLU6 after
all but the blocks' linear projections, a residual Add where the stride is 1 and the channels match. Channel
counts scale with --width and round to multiples of 8 as in the paper's reference code (the last 1x1 keeps 1280
below width 1). ReLU6 is Clip(0, 6): bounds as inputs from opset 11 on, as attributes before.

Weights are random (seeded, He initialisation). So that activations keep a sensible range through 50 layers,
batch-norm statistics are set from the data, as a trained network's would be: each convolution's output on two
generated images (uniform [0, 1), as hwtune's generated inputs) gives the running mean and variance, with random
scales and shifts on top. The batch norms are then folded into the convolutions' weights and biases, so the file
has no BatchNormalization node, unless --with-bn keeps them (to exercise an importer's folding). --qdq writes the
int8 model in ONNX's QDQ form instead (QuantizeLinear / DequantizeLinear around every Conv and the Gemm: per-tensor
activations from the calibration images' range, per-channel weights, int32 biases), as ONNX Runtime's quantizer
does; its outputs are an int8 model's, not the float one's (cosine about 0.92 at width 0.35 on random weights).

  ci/models/mobilenet_v2.py --out mobilenet_v2.onnx [--width 1.0] [--resolution 224] [--seed 1] [--batch N]
                            [--opset 13] [--with-bn | --qdq]
  ci/models/mobilenet_v2.py --check mobilenet_v2.onnx --input x.npy --compare y.npy [--ref-out ref.npy]
      runs the file's graph with numpy (float64) on x.npy and compares y.npy (e.g. hwtune run's output):
      prints the largest absolute and relative errors and the top-1 agreement; exit 1 beyond --rtol/--atol.
  ci/models/mobilenet_v2.py --make-input x.npy --resolution 224 [--batch 1] [--seed 7]
      writes a float32 input of shape [batch, 3, resolution, resolution], uniform [0, 1).

Exit codes: 0 ok, 1 a failed check or an unreadable file, 2 usage error.
"""
import argparse
import os
import sys
import tempfile

import numpy as np

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # pragma: no cover - reported, not raised
    sys.stderr.write("mobilenet_v2.py: python3-onnx is missing (apt-get install python3-onnx; Debian's python3 "
                     "is /usr/bin/python3)\n")
    sys.exit(1)

BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
          (6, 320, 1, 1)]
BN_EPS = 1e-5


def make_divisible(v, divisor=8):
    """Rounds v to a multiple of divisor, never more than 10% below v (the paper's reference rounding)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


# ---------------------------------------------------------------- numpy operators (NCHW, any float dtype)

def conv2d(x, w, b, stride, pad, group):
    """x [N, C, H, W], w [O, C/group, kh, kw], symmetric pads (t, l, b, r), group 1 or C (depthwise)."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    pt, pl, pb, pr = pad
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    ho = (h + pt + pb - kh) // stride + 1
    wo = (wd + pl + pr - kw) // stride + 1
    if group == 1:
        if kh == 1 and kw == 1:
            xs = xp[:, :, : (ho - 1) * stride + 1 : stride, : (wo - 1) * stride + 1 : stride]
            y = np.einsum("nchw,oc->nohw", xs, w[:, :, 0, 0], optimize=True)
        else:
            win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
            win = win[:, :, : (ho - 1) * stride + 1 : stride, : (wo - 1) * stride + 1 : stride]
            y = np.einsum("nchwij,ocij->nohw", win, w, optimize=True)
    elif group == c and cg == 1 and o == c:
        y = np.zeros((n, o, ho, wo), dtype=x.dtype)
        for i in range(kh):
            for j in range(kw):
                tap = xp[:, :, i : i + (ho - 1) * stride + 1 : stride, j : j + (wo - 1) * stride + 1 : stride]
                y += tap * w[None, :, 0, i, j, None, None]
    else:
        raise ValueError("conv2d: group %d with %d channels is not supported here" % (group, c))
    if b is not None:
        y = y + b[None, :, None, None]
    return y


def batchnorm(x, scale, shift, mean, var, eps):
    k = scale / np.sqrt(var + eps)
    return x * k[None, :, None, None] + (shift - mean * k)[None, :, None, None]


# ---------------------------------------------------------------- building

class Builder:
    def __init__(self, args, rng):
        self.args = args
        self.rng = rng
        self.nodes = []
        self.inits = []
        self.count = 0
        self.fold = not args.with_bn
        self.qdq_done = {}
        if args.opset >= 11:
            self.inits.append(numpy_helper.from_array(np.array(0.0, np.float32), "relu6_min"))
            self.inits.append(numpy_helper.from_array(np.array(6.0, np.float32), "relu6_max"))

    def name(self, kind):
        self.count += 1
        return "%s_%d" % (kind, self.count)

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def qdq_act(self, x, xv):
        """x through QuantizeLinear + DequantizeLinear (per-tensor asymmetric int8 from the calibration range of xv);
        a tensor read by two nodes (a residual) is quantized once."""
        if x in self.qdq_done:
            return self.qdq_done[x]
        lo, hi = min(float(xv.min()), 0.0), max(float(xv.max()), 0.0)
        scale = (hi - lo) / 255.0 if hi > lo else 1.0
        zp = int(np.clip(np.rint(-128 - lo / scale), -128, 127))
        sn = self.init(x + "_scale", np.array(scale, np.float32))
        self.inits.append(numpy_helper.from_array(np.array(zp, np.int8), x + "_zp"))
        self.nodes.append(helper.make_node("QuantizeLinear", [x, sn, x + "_zp"], [x + "_q"], name=x + "_Q"))
        self.nodes.append(helper.make_node("DequantizeLinear", [x + "_q", sn, x + "_zp"], [x + "_dq"], name=x + "_DQ"))
        self.qdq_done[x] = (x + "_dq", scale)
        return self.qdq_done[x]

    def dq_weights(self, name, w, b, in_scale):
        """Per-output-channel symmetric int8 weights and int32 bias (scale in_scale x weight scale), each through
        DequantizeLinear (axis 0), as ONNX Runtime's QDQ quantizer writes them."""
        ws = np.abs(w.reshape(w.shape[0], -1)).max(axis=1) / 127.0
        ws[ws == 0] = 1.0
        wq = np.clip(np.rint(w / ws.reshape((-1,) + (1,) * (w.ndim - 1))), -127, 127).astype(np.int8)
        bs = (in_scale * ws).astype(np.float32)
        bq = np.rint(b / bs).astype(np.int32)
        self.inits.append(numpy_helper.from_array(wq, name + "_Wq"))
        self.init(name + "_Wscale", ws)
        self.inits.append(numpy_helper.from_array(np.zeros(w.shape[0], np.int8), name + "_Wzp"))
        self.inits.append(numpy_helper.from_array(bq, name + "_Bq"))
        self.inits.append(numpy_helper.from_array(bs, name + "_Bscale"))
        self.inits.append(numpy_helper.from_array(np.zeros(w.shape[0], np.int32), name + "_Bzp"))
        self.nodes.append(helper.make_node("DequantizeLinear", [name + "_Wq", name + "_Wscale", name + "_Wzp"],
                                           [name + "_Wdq"], name=name + "_W_DQ", axis=0))
        self.nodes.append(helper.make_node("DequantizeLinear", [name + "_Bq", name + "_Bscale", name + "_Bzp"],
                                           [name + "_Bdq"], name=name + "_B_DQ", axis=0))
        return name + "_Wdq", name + "_Bdq"

    def conv_bn(self, x, xv, cout, k, stride, group, relu6):
        """Conv (no bias) + BatchNormalization (+ Clip 0..6) on value x whose calibration activations are xv."""
        cin = xv.shape[1]
        fan_in = (cin // group) * k * k
        w = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(cout, cin // group, k, k))
        pad = (k // 2,) * 4
        y = conv2d(xv, w, None, stride, pad, group)
        # batch-norm statistics from the data, as training would leave them; random scale and shift on top
        mean = y.mean(axis=(0, 2, 3))
        var = y.var(axis=(0, 2, 3)) + 1e-3
        gamma = self.rng.uniform(0.7, 1.3, size=cout)
        beta = self.rng.uniform(-0.1, 0.3, size=cout) if relu6 else self.rng.uniform(-0.1, 0.1, size=cout)
        y = batchnorm(y, gamma, beta, mean, var, BN_EPS)
        conv = self.name("Conv")
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride], pads=list(pad), group=group)
        if self.args.qdq:
            kf = gamma / np.sqrt(var + BN_EPS)
            xq, xs = self.qdq_act(x, xv)
            wn, bn = self.dq_weights(conv, w * kf[:, None, None, None], beta - mean * kf, xs)
            out = conv + "_out"
            self.nodes.append(helper.make_node("Conv", [xq, wn, bn], [out], name=conv, **attrs))
        elif self.fold:
            kf = gamma / np.sqrt(var + BN_EPS)
            wf = w * kf[:, None, None, None]
            bf = beta - mean * kf
            out = conv + "_out"
            self.nodes.append(helper.make_node("Conv", [x, self.init(conv + "_W", wf), self.init(conv + "_B", bf)],
                                               [out], name=conv, **attrs))
        else:
            cout_name = conv + "_out"
            self.nodes.append(helper.make_node("Conv", [x, self.init(conv + "_W", w)], [cout_name], name=conv,
                                               **attrs))
            bn = self.name("BatchNormalization")
            out = bn + "_out"
            self.nodes.append(helper.make_node(
                "BatchNormalization",
                [cout_name, self.init(bn + "_scale", gamma), self.init(bn + "_B", beta),
                 self.init(bn + "_mean", mean), self.init(bn + "_var", var)], [out], name=bn, epsilon=BN_EPS))
        if relu6:
            y = np.clip(y, 0.0, 6.0)
            clip = self.name("Clip")
            if self.args.opset >= 11:
                self.nodes.append(helper.make_node("Clip", [out, "relu6_min", "relu6_max"], [clip + "_out"],
                                                   name=clip))
            else:
                self.nodes.append(helper.make_node("Clip", [out], [clip + "_out"], name=clip, min=0.0, max=6.0))
            out = clip + "_out"
        return out, y


def build(args):
    rng = np.random.default_rng(args.seed)
    res = args.resolution
    calib = np.random.default_rng(args.seed + 1000).random((2, 3, res, res))
    b = Builder(args, rng)
    x, xv = "input", calib
    x, xv = b.conv_bn(x, xv, make_divisible(32 * args.width), 3, 2, 1, True)
    cin = xv.shape[1]
    for t, c, n, s in BLOCKS:
        cout = make_divisible(c * args.width)
        for i in range(n):
            stride = s if i == 0 else 1
            inp, inpv = x, xv
            hidden = cin * t
            if t != 1:
                x, xv = b.conv_bn(x, xv, hidden, 1, 1, 1, True)
            x, xv = b.conv_bn(x, xv, hidden, 3, stride, hidden, True)
            x, xv = b.conv_bn(x, xv, cout, 1, 1, 1, False)
            if stride == 1 and cin == cout:
                add = b.name("Add")
                b.nodes.append(helper.make_node("Add", [inp, x], [add + "_out"], name=add))
                x, xv = add + "_out", xv + inpv
            cin = cout
    last = make_divisible(1280 * max(1.0, args.width))
    x, xv = b.conv_bn(x, xv, last, 1, 1, 1, True)
    gap = b.name("GlobalAveragePool")
    b.nodes.append(helper.make_node("GlobalAveragePool", [x], [gap + "_out"], name=gap))
    flat = b.name("Flatten")
    b.nodes.append(helper.make_node("Flatten", [gap + "_out"], [flat + "_out"], name=flat, axis=1))
    gemm = b.name("Gemm")
    wfc = rng.normal(0.0, np.sqrt(1.0 / last), size=(args.classes, last))
    bfc = rng.uniform(-0.05, 0.05, size=args.classes)
    if args.qdq:
        xq, xs = b.qdq_act(flat + "_out", xv.mean(axis=(2, 3)))
        wn, bn = b.dq_weights(gemm, wfc, bfc, xs)
        b.nodes.append(helper.make_node("Gemm", [xq, wn, bn], ["output"], name=gemm, alpha=1.0, beta=1.0, transB=1))
    else:
        b.nodes.append(helper.make_node("Gemm", [flat + "_out", b.init(gemm + "_W", wfc), b.init(gemm + "_B", bfc)],
                                        ["output"], name=gemm, alpha=1.0, beta=1.0, transB=1))
    batch = args.batch if args.batch else "N"
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, res, res])
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, args.classes])
    graph = helper.make_graph(b.nodes, "mobilenet_v2_%g_%d" % (args.width, res), [inp], [out], b.inits)
    model = helper.make_model(graph, producer_name="hwtune mobilenet_v2.py", producer_version="1",
                              opset_imports=[helper.make_opsetid("", args.opset)])
    model.ir_version = 8 if args.opset >= 15 else 7
    onnx.checker.check_model(model)
    return model


def write_atomic(path, data):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".mobilenet_v2.", dir=d)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as open() would create it, not mkstemp's 0600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


# ---------------------------------------------------------------- checking: the file's graph in numpy

def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def forward(model, x):
    """Runs the ops this script writes (Conv, BatchNormalization, Clip, Add, GlobalAveragePool, Flatten, Gemm,
    QuantizeLinear, DequantizeLinear) in float64, straight from the file's nodes and initializers."""
    vals = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    vals[model.graph.input[0].name] = x.astype(np.float64)
    for node in model.graph.node:
        ins = [vals[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            pads = attr(node, "pads", [0, 0, 0, 0])
            strides = attr(node, "strides", [1, 1])
            if strides[0] != strides[1]:
                raise ValueError("node %s: unequal strides" % node.name)
            y = conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, strides[0],
                       (pads[0], pads[1], pads[2], pads[3]), attr(node, "group", 1))
        elif op == "BatchNormalization":
            y = batchnorm(ins[0], ins[1], ins[2], ins[3], ins[4], attr(node, "epsilon", 1e-5))
        elif op == "Clip":
            lo = ins[1] if len(ins) > 1 and ins[1] is not None else attr(node, "min", -np.inf)
            hi = ins[2] if len(ins) > 2 and ins[2] is not None else attr(node, "max", np.inf)
            y = np.clip(ins[0], lo, hi)
        elif op == "QuantizeLinear":
            zp = ins[2] if len(ins) > 2 else np.zeros(())
            y = np.clip(np.rint(ins[0] / ins[1]) + zp, -128, 127)
        elif op == "DequantizeLinear":
            zp = ins[2] if len(ins) > 2 else np.zeros(())
            sc = ins[1]
            if sc.ndim == 1:  # per axis (axis 0 is all this script writes)
                sc = sc.reshape((-1,) + (1,) * (ins[0].ndim - 1))
                zp = zp.reshape((-1,) + (1,) * (ins[0].ndim - 1))
            y = (ins[0] - zp) * sc
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "GlobalAveragePool":
            y = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "Flatten":
            y = ins[0].reshape(ins[0].shape[0], -1)
        elif op == "Gemm":
            a = ins[0].T if attr(node, "transA", 0) else ins[0]
            w = ins[1].T if attr(node, "transB", 0) else ins[1]
            y = attr(node, "alpha", 1.0) * (a @ w)
            if len(ins) > 2:
                y = y + attr(node, "beta", 1.0) * ins[2]
        else:
            raise ValueError("node %s: op %s is not one this script writes" % (node.name, op))
        vals[node.output[0]] = y
    return vals[model.graph.output[0].name]


def check(args):
    model = onnx.load(args.check)
    x = np.load(args.input)
    ref = forward(model, x)
    if args.ref_out:
        np.save(args.ref_out, ref.astype(np.float32))
    if not args.compare:
        print("numpy forward: output %s, max |y| %.4g" % (list(ref.shape), float(np.abs(ref).max())))
        return 0
    y = np.load(args.compare).astype(np.float64)
    if y.shape != ref.shape:
        print("check: %s has shape %s, the numpy forward pass gives %s" % (args.compare, list(y.shape),
                                                                           list(ref.shape)))
        return 1
    err = np.abs(y - ref)
    tol = args.atol + args.rtol * np.abs(ref)
    worst = int(np.argmax(err - tol))
    top1 = float(np.mean(np.argmax(y.reshape(y.shape[0], -1), 1) == np.argmax(ref.reshape(ref.shape[0], -1), 1)))
    print("check: %s vs numpy (float64) forward of %s: max abs err %.3g, max rel err %.3g (|ref| > 1e-3), "
          "top-1 agreement %.3f, max |ref| %.3g" % (args.compare, args.check, float(err.max()),
          float((err / np.maximum(np.abs(ref), 1e-3)).max()), top1, float(np.abs(ref).max())))
    if np.any(err > tol):
        print("check: FAILED: element %d: %.6g vs %.6g (tolerance atol %g + rtol %g x |ref|)" %
              (worst, y.flat[worst], ref.flat[worst], args.atol, args.rtol))
        return 1
    print("check: ok (atol %g, rtol %g)" % (args.atol, args.rtol))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="the .onnx file to write (atomically)")
    p.add_argument("--seed", type=int, default=1, help="weights seed (default 1)")
    p.add_argument("--width", type=float, default=1.0, help="width multiplier (default 1.0; e.g. 0.35, 0.5)")
    p.add_argument("--resolution", type=int, default=224, help="input height and width (default 224)")
    p.add_argument("--batch", type=int, default=0, help="a fixed batch dimension (default: symbolic 'N')")
    p.add_argument("--opset", type=int, default=13, help="ONNX opset, 7 to 17 (default 13)")
    p.add_argument("--classes", type=int, default=1000, help="classifier outputs (default 1000)")
    p.add_argument("--with-bn", action="store_true", help="keep BatchNormalization nodes (not folded)")
    p.add_argument("--qdq", action="store_true", help="an int8 model in the QDQ form (opset >= 13): activations "
                   "quantized per tensor from the calibration range, weights per output channel, int32 biases")
    p.add_argument("--check", metavar="MODEL", help="run MODEL's graph with numpy on --input")
    p.add_argument("--input", help="with --check: the input .npy")
    p.add_argument("--compare", help="with --check: the output .npy to compare (e.g. hwtune run --out)")
    p.add_argument("--ref-out", help="with --check: write numpy's output here (float32 .npy)")
    p.add_argument("--rtol", type=float, default=1e-3, help="with --compare (default 1e-3)")
    p.add_argument("--atol", type=float, default=1e-4, help="with --compare (default 1e-4)")
    p.add_argument("--make-input", metavar="NPY", help="write a generated input for --resolution and --batch")
    a = p.parse_args()
    modes = sum(1 for m in (a.out, a.check, a.make_input) if m)
    if modes != 1:
        p.error("give one of --out, --check or --make-input")
    if not 7 <= a.opset <= 17:
        p.error("--opset takes 7 to 17, not %d" % a.opset)
    if a.qdq and (a.with_bn or a.opset < 13):
        p.error("--qdq needs --opset 13 or later (per-channel DequantizeLinear) and folded batch norms")
    if not 0 < a.width <= 4 or not 32 <= a.resolution <= 1024 or a.batch < 0 or a.classes < 1:
        p.error("--width in (0, 4], --resolution in [32, 1024], --batch >= 0 and --classes >= 1")
    try:
        if a.make_input:
            x = np.random.default_rng(a.seed).random((a.batch or 1, 3, a.resolution, a.resolution))
            np.save(a.make_input, x.astype(np.float32))
            return 0
        if a.check:
            if not a.input:
                p.error("--check needs --input")
            return check(a)
        model = build(a)
        write_atomic(a.out, model.SerializeToString())
        nconv = sum(1 for n in model.graph.node if n.op_type == "Conv")
        nparams = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
        print("mobilenet_v2.py: wrote %s (width %g, %dx%d, opset %d, %d nodes, %d convolutions, %.2fM parameters%s)"
              % (a.out, a.width, a.resolution, a.resolution, a.opset, len(model.graph.node), nconv, nparams / 1e6,
                 ", batch norms kept" if a.with_bn else ", int8 QDQ" if a.qdq else ""))
    except (OSError, ValueError, onnx.checker.ValidationError) as e:
        sys.stderr.write("mobilenet_v2.py: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
