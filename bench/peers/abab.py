#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""hwtune's runtime against ONNX Runtime on the same .onnx files and inputs, alternating (ABAB).

For each (model, precision, batch, threads): A = `hwtune run --runs` (hwtune's timing mode), B = `node run.js`
(bench/peers/onnxruntime), run A B A B, one process at a time, each under `taskset` on the same CPU set (the CPUs
this process may use). Both time one inference of the same B samples per call, warm, after a warm-up. Collected:
p50/p90/p99 of every run, the load average before and after each, the maximum |output difference| between hwtune's
outputs (--out) and ONNX Runtime's (--dump-output) on the same input, and once per thread count the binding's own
per-call cost (run.js --identity). Written to OUT (default results/peers/<machine fingerprint>/): raw/ with every
results JSON (hwtune.results/1, readable by `hwtune report` and `hwtune compare`), table.md and table.json.

usage: bench/peers/abab.py [--models all|LIST] [--precisions f32,int8] [--batches 1,8] [--threads 1,2]
                           [--runs 2000] [--warmup 200] [--quick] [--profile P] [--out DIR] [--name NAME]
                           [--hwtune PATH] [--no-ort] [--keep-work]

  --models LIST   comma list of mlp, mobilenet_v1, mobilenet_v2, digits_mlp, digits_cnn (default all):
                    mlp           the built-in MLP 784-256-128-10, `hwtune model --model mlp --export`
                    mobilenet_v1  the built-in MobileNet v1 0.25 96x96, `hwtune model --model mobilenet --export`
                    mobilenet_v2  MobileNet v2 1.0 224 from ci/models/mobilenet_v2.py (input: its --make-input)
                    digits_mlp, digits_cnn  tests/fixtures/digits (input: the first B test samples)
                  mlp and mobilenet_v1 get uniform [0, 1) inputs from a fixed seed.
  --precisions    f32 and/or int8 (default both); int8 = `hwtune quantize --model m.onnx --calibration c.npy
                  --out m.int8.onnx` (digits: calib_x_*.npy; others: 32 generated samples), run by both
  --batches, --threads   comma lists (default 1,8 and 1,2)
  --runs R        timed runs per process (default 2000); --warmup W untimed runs first (default 200)
  --quick         a smoke run (CI, checking that every row works): 20 runs, 2 warm-up, run.js --smoke.
                  Its figures mean nothing.
  --profile P     the tuning profile hwtune uses (default: none; ONNX Runtime has none either). Recorded.
  --out DIR       where to write (default results/peers/NAME); --name NAME (default: the machine fingerprint)
  --hwtune PATH   the hwtune executable (default $HWTUNE, else build/hwtune)
  --no-ort        hwtune's side only (A A), e.g. where ONNX Runtime is not installed
  --keep-work     keep the work folder (models, inputs, outputs) and print its path

Exit codes: 0 every row measured (int8 rows skipped when this hwtune has no quantize verb, with a message);
1 a row failed (the table says which and why) or a tool is missing; 2 usage error.
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
RUNJS = os.path.join(HERE, "onnxruntime", "run.js")
DIGITS = os.path.join(ROOT, "tests", "fixtures", "digits")
MODELS = ["mlp", "mobilenet_v1", "mobilenet_v2", "digits_mlp", "digits_cnn"]
# The file stem is the results' shape, so it names the model in every table.
STEMS = {"mlp": "hwtune_mlp", "mobilenet_v1": "mobilenet_v1_025_96", "mobilenet_v2": "mobilenet_v2_100_224",
         "digits_mlp": "digits_mlp", "digits_cnn": "digits_cnn"}


class Failure(Exception):
    pass


def log(msg):
    sys.stderr.write("abab: %s\n" % msg)
    sys.stderr.flush()


def run(cmd, what):
    """Runs cmd; returns its stderr. Raises Failure with the tail of stderr on a non-zero exit."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise Failure("%s: exit %d: %s" % (what, p.returncode, tail))
    return p.stderr


def write_atomic(path, text):
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_npy(path, x):
    tmp = "%s.tmp%d.npy" % (path[:-4], os.getpid())
    np.save(tmp, np.ascontiguousarray(x, dtype=np.float32))
    os.replace(tmp, path)


def load_result(path):
    with open(path) as f:
        doc = json.load(f)
    if doc.get("schema") != "hwtune.results/1" or len(doc.get("results", [])) != 1:
        raise Failure("%s: not a hwtune.results/1 file with one result" % path)
    return doc


def parse_list(text, allowed=None, kind=str, what="list"):
    items = [kind(t.strip()) for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("%s: empty" % what)
    if allowed is not None:
        bad = [t for t in items if t not in allowed]
        if bad:
            raise argparse.ArgumentTypeError("%s: unknown %s (known: %s)" % (what, ", ".join(map(str, bad)),
                                                                             ", ".join(allowed)))
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 usage=argparse.SUPPRESS)
    ap.add_argument("--models", default="all")
    ap.add_argument("--precisions", default="f32,int8")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--profile", default="none")
    ap.add_argument("--out")
    ap.add_argument("--name")
    ap.add_argument("--hwtune")
    ap.add_argument("--no-ort", action="store_true")
    ap.add_argument("--keep-work", action="store_true")
    a = ap.parse_args()
    try:
        models = MODELS if a.models == "all" else parse_list(a.models, MODELS, what="--models")
        precisions = parse_list(a.precisions, ["f32", "int8"], what="--precisions")
        batches = parse_list(a.batches, kind=int, what="--batches")
        threads = parse_list(a.threads, kind=int, what="--threads")
    except (argparse.ArgumentTypeError, ValueError) as e:
        ap.error(str(e))
    if any(b < 1 or b > 4096 for b in batches) or any(t < 1 or t > 256 for t in threads):
        ap.error("--batches in [1, 4096], --threads in [1, 256]")
    runs = a.runs if a.runs is not None else (20 if a.quick else 2000)
    warmup = a.warmup if a.warmup is not None else (2 if a.quick else 200)
    if runs < 10 or warmup < 1:
        ap.error("--runs at least 10, --warmup at least 1")
    if runs < 2000 and not a.quick:
        ap.error("--runs %d: a measurement takes at least 2000 runs (--quick for a smoke run)" % runs)

    hwtune = a.hwtune or os.environ.get("HWTUNE") or os.path.join(ROOT, "build", "hwtune")
    hwtune = os.path.abspath(hwtune)
    if not os.access(hwtune, os.X_OK):
        log("no hwtune executable at %s (--hwtune PATH, or build it)" % hwtune)
        return 1
    use_ort = not a.no_ort
    if use_ort:
        if shutil.which("node") is None or not os.path.isdir(os.path.join(HERE, "onnxruntime", "node_modules",
                                                                             "onnxruntime-node")):
            log("ONNX Runtime is not installed (node and bench/peers/onnxruntime/node_modules/onnxruntime-node): run "
                "bench/peers/onnxruntime/install.sh, or give --no-ort for hwtune's side only")
            return 1
    if shutil.which("taskset") is None:
        log("taskset (util-linux) is needed to run both sides on the same CPUs")
        return 1
    cpus = sorted(os.sched_getaffinity(0))
    cpuset = ",".join(str(c) for c in cpus)
    if max(threads) > len(cpus):
        log("note: --threads %d is more than the %d usable CPUs (%s)" % (max(threads), len(cpus), cpuset))

    hw = json.loads(subprocess.run([hwtune, "detect", "--json", "--no-measure"], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True, check=True).stdout)
    fingerprint = hw.get("fingerprint", "unknown")
    out = os.path.abspath(a.out or os.path.join(ROOT, "results", "peers", a.name or fingerprint))
    raw = os.path.join(out, "raw")
    os.makedirs(raw, exist_ok=True)
    work = tempfile.mkdtemp(prefix="hwtune-abab-")
    has_quantize = subprocess.run([hwtune, "quantize", "--help"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode == 0
    taskset = ["taskset", "-c", cpuset]
    log("%s; CPUs %s; %d runs, %d warm-up; profile %s; out %s" % (
        "ABAB hwtune / ONNX Runtime" if use_ort else "hwtune only (--no-ort)", cpuset, runs, warmup, a.profile, out))

    rows, skipped, failed = [], [], 0
    try:
        # ---- models, inputs, calibration ----
        prepared = {}
        for name in models:
            stem = STEMS[name]
            f32 = os.path.join(work, "f32", stem + ".onnx")
            os.makedirs(os.path.dirname(f32), exist_ok=True)
            try:
                if name == "mlp":
                    run([hwtune, "model", "--model", "mlp", "--export", f32], "export mlp")
                elif name == "mobilenet_v1":
                    run([hwtune, "model", "--model", "mobilenet", "--export", f32], "export mobilenet")
                elif name == "mobilenet_v2":
                    run([sys.executable, os.path.join(ROOT, "ci", "models", "mobilenet_v2.py"), "--out", f32],
                        "ci/models/mobilenet_v2.py")
                else:
                    shutil.copyfile(os.path.join(DIGITS, name + ".onnx"), f32)
            except Failure as e:
                log("%s: %s" % (name, e))
                failed += 1
                rows.append({"model": name, "error": str(e)})
                continue
            inputs, calib = {}, os.path.join(work, stem + ".calib.npy")
            for b in batches:
                x = os.path.join(work, "%s.b%d.npy" % (stem, b))
                if name.startswith("digits"):
                    src = np.load(os.path.join(DIGITS, "test_x_flat.npy" if name == "digits_mlp" else "test_x_img.npy"))
                    save_npy(x, src[:b])
                elif name == "mobilenet_v2":
                    run([sys.executable, os.path.join(ROOT, "ci", "models", "mobilenet_v2.py"), "--make-input", x,
                         "--batch", str(b)], "mobilenet_v2.py --make-input")
                else:
                    shape = (b, 784) if name == "mlp" else (b, 3, 96, 96)
                    save_npy(x, np.random.default_rng(1).random(shape, dtype=np.float32))
                inputs[b] = x
            if name.startswith("digits"):
                shutil.copyfile(os.path.join(DIGITS, "calib_x_flat.npy" if name == "digits_mlp" else
                                             "calib_x_img.npy"), calib)
            else:
                shape = {"mlp": (32, 784), "mobilenet_v1": (32, 3, 96, 96), "mobilenet_v2": (32, 3, 224, 224)}[name]
                save_npy(calib, np.random.default_rng(2).random(shape, dtype=np.float32))
            files = {"f32": f32}
            if "int8" in precisions:
                if not has_quantize:
                    skipped.append("%s int8: this hwtune has no `quantize` verb (issue 19's hwtune quantize)" % name)
                else:
                    q = os.path.join(work, "int8", stem + ".onnx")
                    os.makedirs(os.path.dirname(q), exist_ok=True)
                    try:
                        run([hwtune, "quantize", "--model", f32, "--calibration", calib, "--out", q],
                            "hwtune quantize %s" % name)
                        files["int8"] = q
                    except Failure as e:
                        log("%s int8: %s" % (name, e))
                        failed += 1
                        rows.append({"model": name, "precision": "int8", "error": str(e)})
            prepared[name] = (files, inputs)
        for s in skipped:
            log("skipped: " + s)

        # ---- the binding's per-call cost, once per thread count ----
        identity = {}
        if use_ort:
            for t in threads:
                path = os.path.join(raw, "identity_t%d.json" % t)
                cmd = taskset + ["node", RUNJS, "--identity", "--threads", str(t), "--runs", str(runs), "--warmup",
                                 str(warmup), "--out", path, "--hwtune", hwtune] + (["--smoke"] if runs < 2000 else [])
                try:
                    run(cmd, "run.js --identity --threads %d" % t)
                    identity[t] = load_result(path)["results"][0]["median_ns"]
                except Failure as e:
                    log(str(e))
                    failed += 1

        # ---- ABAB per row ----
        for name in models:
            if name not in prepared:
                continue
            files, inputs = prepared[name]
            stem = STEMS[name]
            for prec in precisions:
                if prec not in files:
                    continue
                for b in batches:
                    for t in threads:
                        row = {"model": name, "shape": stem, "precision": prec, "batch": b, "threads": t}
                        rid = "%s_%s_b%d_t%d" % (name, prec, b, t)
                        try:
                            measure_row(row, rid, files[prec], inputs[b], prec, b, t, runs, warmup, a.profile,
                                        hwtune, taskset, raw, work, use_ort, identity)
                            log("%s: hwtune p50 %s, ORT p50 %s, ORT/hwtune %s, max |diff| %s" % (
                                rid, fmt_us(row["hwtune_p50_ns"]), fmt_us(row.get("ort_p50_ns")),
                                fmt_ratio(row.get("ratio")), fmt_diff(row.get("max_abs_diff"))))
                        except Failure as e:
                            log("%s: %s" % (rid, e))
                            row["error"] = str(e)
                            failed += 1
                        rows.append(row)

        # ---- the table ----
        meta = {"fingerprint": fingerprint, "cpu": (hw.get("cpu") or {}).get("brand"), "cpus": cpuset,
                "runs": runs, "warmup": warmup, "quick": a.quick, "profile": a.profile, "onnxruntime": use_ort,
                "hwtune": hwtune, "command_line": " ".join(shlex.quote(x) for x in sys.argv),
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "skipped": skipped,
                "identity_p50_ns": {str(k): v for k, v in identity.items()}}
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True).stdout.strip()
        meta["git_commit"] = commit or None
        ort_version = None
        for r in rows:
            if r.get("ort_version"):
                ort_version = r["ort_version"]
        meta["onnxruntime_version"] = ort_version
        write_atomic(os.path.join(out, "table.json"), json.dumps({"schema": "hwtune.peers/1", "meta": meta,
                                                                  "rows": rows}, indent=1) + "\n")
        md = render_md(meta, rows)
        write_atomic(os.path.join(out, "table.md"), md)
        sys.stdout.write(md)
        log("wrote %s/table.md, table.json and raw/ (%d rows, %d failed, %d skipped)" % (out, len(rows), failed,
                                                                                         len(skipped)))
    except Failure as e:
        log(str(e))
        failed += 1
    finally:
        if a.keep_work:
            log("work folder kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


def measure_row(row, rid, model, x, prec, b, t, runs, warmup, profile, hwtune, taskset, raw, work, use_ort,
                identity):
    dtype = "qs8" if prec == "int8" else "f32"
    smoke = ["--smoke"] if runs < 2000 else []
    outs = {"hwtune": os.path.join(work, rid + ".hwtune.npy"), "ort": os.path.join(work, rid + ".ort.npy")}
    docs = {"hwtune": [], "ort": []}
    for rep in (1, 2):
        a_path = os.path.join(raw, "%s.hwtune.%d.json" % (rid, rep))
        cmd = taskset + [hwtune, "run", "--model", model, "--input", x, "--batch", str(b), "--threads", str(t),
                         "--profile", profile, "--runs", str(runs), "--warmup", str(warmup), "--results", a_path]
        if rep == 1:
            cmd += ["--out", outs["hwtune"]]
        run(cmd, "hwtune run (A%d)" % rep)
        docs["hwtune"].append(load_result(a_path))
        if not use_ort:
            continue
        b_path = os.path.join(raw, "%s.ort.%d.json" % (rid, rep))
        cmd = taskset + ["node", RUNJS, "--model", model, "--input", x, "--threads", str(t), "--runs", str(runs),
                         "--warmup", str(warmup), "--dtype", dtype, "--out", b_path, "--hwtune", hwtune] + smoke
        if rep == 1:
            cmd += ["--dump-output", outs["ort"]]
        run(cmd, "run.js (B%d)" % rep)
        docs["ort"].append(load_result(b_path))

    def figures(side):
        rs = [d["results"][0] for d in docs[side]]
        for r in rs:
            if r["m"] != b or r["threads"] != t or r["op"] != "model_" + dtype:
                raise Failure("%s: %s measured %s m%d t%d, expected model_%s m%d t%d" % (
                    rid, side, r["op"], r["m"], r["threads"], dtype, b, t))
        return {"p50": [r["median_ns"] for r in rs], "p90": [r["p90_ns"] for r in rs],
                "p99": [r["p99_ns"] for r in rs]}

    loads = []
    for side in ("hwtune", "ort"):
        for d in docs[side]:
            peer = d["context"].get("peer", {})
            loads += [v for v in (peer.get("load_average_before"), peer.get("load_average_after"))
                      if isinstance(v, (int, float))]
    h = figures("hwtune")
    row["hwtune_p50_ns"] = float(np.median(h["p50"]))
    row["hwtune_p90_ns"] = float(np.median(h["p90"]))
    row["hwtune_p99_ns"] = float(np.median(h["p99"]))
    row["hwtune_runs_p50_ns"] = h["p50"]
    row["profile"] = docs["hwtune"][0]["context"].get("peer", {}).get("profile")
    row["load_min"], row["load_max"] = (min(loads), max(loads)) if loads else (None, None)
    row["raw"] = sorted(os.path.basename(p) for p in os.listdir(raw) if p.startswith(rid + "."))
    if not use_ort:
        return
    o = figures("ort")
    row["ort_p50_ns"] = float(np.median(o["p50"]))
    row["ort_p90_ns"] = float(np.median(o["p90"]))
    row["ort_p99_ns"] = float(np.median(o["p99"]))
    row["ort_runs_p50_ns"] = o["p50"]
    row["ratio"] = row["ort_p50_ns"] / row["hwtune_p50_ns"]
    # hwtune compare on each A/B pair (across implementations): the bootstrap 95% interval of ORT / hwtune; the row
    # shows the hull of the two pairs' intervals, so a drift between the rounds widens it instead of hiding.
    lo, hi = [], []
    for rep in (1, 2):
        cmp_path = os.path.join(work, "%s.compare.%d.json" % (rid, rep))
        p = subprocess.run([hwtune, "compare", os.path.join(raw, "%s.hwtune.%d.json" % (rid, rep)),
                            os.path.join(raw, "%s.ort.%d.json" % (rid, rep)), "--pair", "across-impl", "--format",
                            "json", "--out", cmp_path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if p.returncode > 1:
            raise Failure("%s: hwtune compare exited %d: %s" % (rid, p.returncode, p.stderr.strip()[-300:]))
        with open(cmp_path) as f:
            (pair,) = json.load(f)["pairs"]
        if pair["ci_low"] is not None and pair["ci_high"] is not None:
            lo.append(pair["ci_low"])
            hi.append(pair["ci_high"])
    row["ratio_ci"] = [min(lo), max(hi)] if len(lo) == 2 else None
    row["ort_version"] = docs["ort"][0]["context"].get("peer", {}).get("onnxruntime_version")
    row["identity_p50_ns"] = identity.get(t)
    ya, yb = np.load(outs["hwtune"]), np.load(outs["ort"])
    if ya.size != yb.size:
        raise Failure("%s: hwtune wrote %s outputs, ONNX Runtime %s" % (rid, ya.shape, yb.shape))
    row["max_abs_diff"] = float(np.max(np.abs(ya.reshape(-1).astype(np.float64) - yb.reshape(-1))))
    row["max_abs_output"] = float(np.max(np.abs(yb)))
    if prec == "int8":
        step = output_step(model)
        row["output_step"] = step
        row["max_diff_steps"] = row["max_abs_diff"] / step if step else None


def output_step(model):
    """The calibrated scale of graph output 0 that hwtune quantize records (metadata "hwtune.output_step")."""
    try:
        import onnx
        m = onnx.load(model, load_external_data=False)
        props = {p.key: p.value for p in m.metadata_props}
        v = float(props["hwtune.output_step"])
        return v if v > 0 else None
    except Exception:  # no python3-onnx, or a file without the key: the column shows the difference alone
        return None


def fmt_us(ns):
    if ns is None:
        return "-"
    return "%.1f us" % (ns / 1e3) if ns < 1e6 else "%.2f ms" % (ns / 1e6)


def fmt_ratio(r):
    return "-" if r is None else "%.2fx" % r


def fmt_diff(d, steps=None):
    if d is None:
        return "-"
    return "%.2g" % d if steps is None else "%.2g (%.2f step)" % (d, steps)


def render_md(meta, rows):
    L = ["# hwtune vs ONNX Runtime", ""]
    if meta["quick"]:
        L += ["**Smoke run (--quick, %d runs): these figures are not measurements.**" % meta["runs"], ""]
    L += ["Made by `%s` on %s (commit %s)." % (meta["command_line"], meta["date"], meta["git_commit"] or "?"), "",
          "| | |", "|---|---|",
          "| machine | %s, fingerprint `%s` |" % (meta["cpu"] or "?", meta["fingerprint"]),
          "| CPU set | `taskset -c %s` for every process |" % meta["cpus"],
          "| method | ABAB: hwtune, ONNX Runtime, hwtune, ONNX Runtime, one process at a time; each %d warm-up "
          "then %d timed calls of one inference of the same input |" % (meta["warmup"], meta["runs"]),
          "| hwtune | `hwtune run --runs` (`%s`), profile: %s |" % (meta["hwtune"], meta["profile"]),
          "| ONNX Runtime | %s (`bench/peers/onnxruntime/run.js`: intra-op threads N, sequential, all graph "
          "optimizations, no profile) |" % ("onnxruntime-node " + meta["onnxruntime_version"]
                                            if meta["onnxruntime_version"] else
                                            "not run" if not meta["onnxruntime"] else "?"),
          ""]
    L += ["p50 = the median of the two runs' medians; ratio = ORT p50 / hwtune p50 (> 1: hwtune is faster); 95% CI = the hull of the bootstrap intervals `hwtune compare --pair across-impl` gives "
          "for the first and for the second A/B pair; p99 = "
          "the median of the two runs' p99; max diff = max |hwtune output - ORT output| on the same input (first "
          "runs; int8: also in units of the output's quantization step that hwtune quantize recorded); identity = "
          "ONNX Runtime's own per-call cost at that thread count (an Identity model through "
          "the same binding), included in every ORT figure; load = the 1-minute load average before and after "
          "the four runs (min-max).", ""]
    L += ["| model | precision | batch | threads | hwtune p50 | ORT p50 | ORT/hwtune | 95% CI | hwtune p99 | ORT p99 | "
          "max diff | identity | load |",
          "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|"]
    for r in rows:
        if "error" in r:
            L.append("| %s | %s | %s | %s | failed: %s ||||||||| " % (
                r.get("shape", r["model"]), r.get("precision", "-"), r.get("batch", "-"), r.get("threads", "-"),
                r["error"].replace("|", "\\|")))
            continue
        load = "-" if r.get("load_min") is None else "%.2f-%.2f" % (r["load_min"], r["load_max"])
        ci = r.get("ratio_ci")
        L.append("| %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["shape"], r["precision"], r["batch"], r["threads"], fmt_us(r["hwtune_p50_ns"]),
            fmt_us(r.get("ort_p50_ns")), fmt_ratio(r.get("ratio")),
            "-" if not ci else "[%.2f, %.2f]" % (ci[0], ci[1]), fmt_us(r["hwtune_p99_ns"]),
            fmt_us(r.get("ort_p99_ns")), fmt_diff(r.get("max_abs_diff"), r.get("max_diff_steps")),
            fmt_us(r.get("identity_p50_ns")), load))
    L.append("")
    for s in meta["skipped"]:
        L.append("- skipped: %s" % s)
    if meta["skipped"]:
        L.append("")
    L += ["Raw results (hwtune.results/1) in `raw/`: `hwtune report raw/*.json` shows both runtimes side by side; "
          "`hwtune compare raw/<row>.hwtune.1.json raw/<row>.ort.1.json` pairs them across implementations "
          "(ratio with its 95% interval).", ""]
    return "\n".join(L)


if __name__ == "__main__":
    sys.exit(main())
