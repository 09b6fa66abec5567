#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Tuner quality check: compares `hwtune tune` with `hwtune tune --exhaustive` on the same shapes.
#   check_quality.py TUNER_PROFILE TUNER_MEASUREMENTS EXHAUSTIVE_MEASUREMENTS
# For each entry of the tuner's profile: the exhaustive run's median of the tuner's chosen configuration over the
# exhaustive best median (same run, so machine drift between runs does not count), and the share of the space the
# tuner measured. Exit 1 when a choice is more than 3% off or more than 20% of the configurations were measured.
import json
import sys


def key(m):
    own = m["impl"] == "own"
    return (m["impl"], m["isa"] if own else "auto", m["threads"], m["mc"] if own else 0, m["kc"] if own else 0,
            m["nc"] if own else 0)


def main():
    prof = json.load(open(sys.argv[1]))
    tuner = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
    exh = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
    ok = True
    total_measured = total_space = 0
    print(f"{'shape':<12} {'batch':>5} {'tuner choice':<32} {'exh. median':>11} {'exh. best':>10} {'ratio':>6} "
          f"{'measured':>9}")
    for e in prof["entries"]:
        c = e["choice"]
        ck = (c["impl"], c["isa"], c["threads"], c.get("mc", 0), c.get("kc", 0), c.get("nc", 0))
        rows = [m for m in exh if m["shape"] == e["shape"] and m["batch"] == e["batch"] and m["op"] == e["op"]]
        if not rows:
            print(f"{e['shape']}: not in the exhaustive run")
            ok = False
            continue
        best = min(r["median_ns"] for r in rows)
        mine = [r["median_ns"] for r in rows if key(r) == ck]
        configs = {key(m) for m in tuner if m["shape"] == e["shape"] and m["batch"] == e["batch"]}
        space = len({key(r) for r in rows})
        total_measured += len(configs)
        total_space += space
        label = f"{c['impl']}/{c['isa']} t{c['threads']} {c.get('mc', 0)},{c.get('kc', 0)},{c.get('nc', 0)}"
        if not mine:
            print(f"{e['shape']:<12} {e['batch']:>5} {label:<32} {'(absent)':>11}")
            ok = False
            continue
        ratio = mine[0] / best
        ok = ok and ratio <= 1.03
        print(f"{e['shape']:<12} {e['batch']:>5} {label:<32} {mine[0]:>11.0f} {best:>10.0f} {ratio:>6.3f} "
              f"{len(configs):>4}/{space:<4}")
    share = total_measured / total_space if total_space else 0
    print(f"measured {total_measured} of {total_space} configurations ({100 * share:.1f}%)")
    ok = ok and share <= 0.20
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
