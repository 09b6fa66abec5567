#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 21's sparse-kernel table on this machine: `hwtune bench --op spmm_f32` on the MLP's fully-connected layers
# (batch 1 and 8) and MobileNet v2's 1x1 layers (batch 1), one thread, at 50/75/90/95% unstructured sparsity:
# our sparse kernel, our dense kernel, XNNPACK's sparse NCHW 1x1 operator and XNNPACK's dense operator side by side
# (--rounds: ABAB, pooled medians), then XNNPACK's hinted subgraph probe. Writes results/sparse/<fingerprint>/.
# Usage (from the repository root, Release build in ./build): bash results/sparse/measure.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BIN:-build/hwtune}
fp=$("$bin" detect --json --no-measure 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
out=results/sparse/$fp
mkdir -p "$out"
lock=/tmp/hwtune-bench.lock
common=(--op spmm_f32 --sparsity 0.5,0.75,0.9,0.95 --threads 1 --rounds "${ROUNDS:-3}" --max-time "${MAX_TIME:-0.9}"
        --verify -q)

run() { # name, then bench arguments
  local name=$1
  shift
  echo "load before $name: $(cat /proc/loadavg)" | tee -a "$out/load.txt"
  flock "$lock" "$bin" bench "${common[@]}" "$@" --out "$out/$name.json" >"$out/$name.txt"
  echo "load after  $name: $(cat /proc/loadavg)" | tee -a "$out/load.txt"
}

: >"$out/load.txt"
run mlp --shape 256x784,128x256 --batch 1,8
run mobilenet_v2 --shapes bench/shapes/mobilenet_v2.txt --batch 1

# XNNPACK's subgraph runtime with XNN_FLAG_HINT_SPARSE_INFERENCE (docs/bench-sparse.md)
cc -O2 -Wall results/sparse/xnnpack-subgraph-probe.c -lXNNPACK -lpthreadpool -lm -o "$out/.probe"
{ echo "load: $(cat /proc/loadavg)"; flock "$lock" "$out/.probe"; } >"$out/xnnpack-subgraph-probe.txt"
rm -f "$out/.probe"
cat "$out/xnnpack-subgraph-probe.txt"

# table.md: the commands, the load, each layer's side-by-side section (from bench's console output) and the goals
python3 - "$out" <<'PY'
import json, math, os, re, sys
out = sys.argv[1]
def load(name):
    return json.load(open(os.path.join(out, name + ".json")))
docs = {n: load(n) for n in ("mlp", "mobilenet_v2")}
t = {}
for doc in docs.values():
    for r in doc["results"]:
        t[(r["layer"], r["m"], r["sparsity"], r["impl"])] = r["median_ns"]
def ratio(layer, m, s, a, b):
    x, y = t.get((layer, m, s, a)), t.get((layer, m, s, b))
    return y / x if x and y else float("nan")
ctx = docs["mlp"]["context"]
lines = ["<!-- SPDX-License-Identifier: Apache-2.0 -->",
         "# Pruned layers on this machine: our sparse kernel vs dense, vs XNNPACK's sparse path (issue 21)", "",
         "Machine: %s, fingerprint `%s`; hwtune commit %s, %s; one thread, warm caches, unstructured zeros." % (
             ctx.get("cpu", {}).get("brand", "?"), ctx.get("fingerprint", "?"),
             ctx.get("build", {}).get("git_commit", "?"), ctx.get("build", {}).get("xnnpack_version", "?")), "",
         "Made by `bash results/sparse/measure.sh` (under `flock /tmp/hwtune-bench.lock`), which ran:", "", "```"]
for n, doc in docs.items():
    lines.append(doc["context"]["command_line"])
lines += ["```", "", "Load (`/proc/loadavg`) around the runs (a 2-CPU VM shared with other jobs: read ratios, which "
          "--rounds measured in turns, rather than absolute times):", "", "```"]
lines += open(os.path.join(out, "load.txt")).read().strip().splitlines()
lines += ["```", "", "## Goals", "", "| goal | layer | measured | met |", "|---|---|---:|---|"]
for layer, m in (("256x784", 1), ("256x784", 8), ("7x7x320:1280:k1", 1), ("112x112x16:96:k1", 1)):
    v = ratio(layer, m, 0.9, "own", "own-dense")
    lines.append("| own sparse >= 3x own dense at 90%% | %s batch %d | %.2fx | %s |" % (layer, m, v, "yes" if v >= 3 else "no"))
be = []
for txt in ("mlp", "mobilenet_v2"):
    body = open(os.path.join(out, txt + ".txt")).read()
    for head, b in re.findall(r"\n(\S+, batch \d+)[^\n]*\n(?:.*\n)*?break-even: own sparse vs own dense ([^;]+);", body):
        be.append((head, b))
ok = sum(1 for _, b in be if re.match(r"(<= )?[0-9.]+%", b) and float(re.findall(r"[0-9.]+", b)[0]) <= 70)
lines.append("| break-even (own sparse vs own dense) <= 70%% | all %d layers | %d of %d at or below 70%% | %s |" % (
    len(be), ok, len(be), "yes" if ok == len(be) else "no"))
xs = [ratio(l, m, s, "own", "xnnpack") for (l, m, s, i) in t if i == "own"]
xs = [x for x in xs if x == x]
if xs:
    g = math.exp(sum(math.log(x) for x in xs) / len(xs))
    n12 = sum(1 for x in xs if x >= 1.2)
    lines.append("| own sparse >= 1.2x XNNPACK sparse | all %d configurations | geomean %.2fx, min %.2fx; %d of %d >= 1.2x | %s |" % (
        len(xs), g, min(xs), n12, len(xs), "yes" if n12 == len(xs) else "no"))
lines += ["", "Speed-ups are time of the other / time of ours (> 1: ours faster), medians of the pooled rounds.", ""]
for txt in ("mlp", "mobilenet_v2"):
    body = open(os.path.join(out, txt + ".txt")).read()
    start = body.find("spmm_f32 side by side")
    m_end = re.compile(r"\n(\[\d+\]|run:)").search(body, start)
    lines += ["## " + ("MLP fully-connected layers" if txt == "mlp" else "MobileNet v2 1x1 layers (and its classifier)"), ""]
    lines += body[start:m_end.start() if m_end else None].strip().splitlines()[1:] + [""]
lines += ["## XNNPACK's hinted subgraph (`xnnpack-subgraph-probe.c`)", "", "```"]
lines += open(os.path.join(out, "xnnpack-subgraph-probe.txt")).read().strip().splitlines()
lines += ["```", ""]
open(os.path.join(out, "table.md"), "w").write("\n".join(lines))
PY
echo "wrote $out/table.md" >&2
