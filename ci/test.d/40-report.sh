#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Stage: `hwtune compare` and `hwtune report` on REAL `hwtune bench` output (ctest covers synthetic files), Google
# Benchmark's compare.py on our --format gbench output, and a headless Chromium screenshot of the HTML report.
# Takes ~40 s on 2 cores (4 short bench runs ~25 s, Chromium ~10 s). Parts whose tools are missing are skipped
# with a note: compare.py needs libbenchmark-tools + python3-scipy, the screenshot needs chromium.
set -euo pipefail
build=${BUILD_CI:-build-ci}
bin=$build/hwtune
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
say() { echo "40-report: $*" >&2; }

# shellcheck disable=SC2054  # the commas are bench's list syntax
args=(--op gemm_f32,gemm_qs8 --shape 256x256 --batch 1,8 --threads 1 --impl xnnpack,own --max-time 0.3 --quiet)
for run in a b; do
  "$bin" bench "${args[@]}" --format json --out "$tmp/$run.json" >/dev/null
done

# compare: real files parse, every configuration pairs up; the verdict itself is noise on a shared machine.
rc=0
"$bin" compare "$tmp/a.json" "$tmp/b.json" --format json --out "$tmp/cmp.json" || rc=$?
[ "$rc" -le 1 ] || { say "compare failed on bench output (exit $rc)"; exit 1; }
n_results=$(grep -c '"samples_ns"' "$tmp/a.json")
n_pairs=$(grep -c '"verdict"' "$tmp/cmp.json")
if [ "$n_pairs" -ne "$n_results" ] || [ "$n_pairs" -eq 0 ]; then
  say "compare paired $n_pairs of $n_results configurations"
  exit 1
fi
say "compare: $n_pairs pairs from real bench files (exit $rc)"

# report: every format, twice, byte-identical.
for fmt in md csv html; do
  "$bin" report "$tmp/a.json" "$tmp/b.json" --format "$fmt" --out "$tmp/r1.$fmt"
  "$bin" report "$tmp/a.json" "$tmp/b.json" --format "$fmt" --out "$tmp/r2.$fmt"
  cmp -s "$tmp/r1.$fmt" "$tmp/r2.$fmt" || { say "report --format $fmt differs between two runs"; exit 1; }
done
grep -q '^| CPU | ' "$tmp/r1.md" || { say "report md lacks the environment block"; exit 1; }
[ "$(grep -c '<svg ' "$tmp/r1.html")" -ge 3 ] || { say "report html has fewer than 3 charts"; exit 1; }
say "report: md, csv, html byte-identical across runs"

# Google Benchmark's compare.py must accept our gbench files (Debian's copy runs with Debian's python3 + scipy).
cmp_py=/usr/share/benchmark/compare.py
if [ -f "$cmp_py" ] && /usr/bin/python3 -c 'import scipy' 2>/dev/null; then
  for run in a b; do
    "$bin" bench "${args[@]}" --format gbench --out "$tmp/$run.gbench.json" >/dev/null
  done
  /usr/bin/python3 "$cmp_py" -a benchmarks "$tmp/a.gbench.json" "$tmp/b.gbench.json" >"$tmp/gb.txt" 2>&1 ||
    { cat "$tmp/gb.txt" >&2; say "compare.py rejected our --format gbench output"; exit 1; }
  grep -q 'gemm_f32/xnnpack' "$tmp/gb.txt" || { cat "$tmp/gb.txt" >&2; say "compare.py printed no rows"; exit 1; }
  grep -q 'U Test' "$tmp/gb.txt" || { cat "$tmp/gb.txt" >&2; say "compare.py ran no U test"; exit 1; }
  say "compare.py accepted --format gbench ($(grep -c 'gemm_' "$tmp/gb.txt") rows, with U test)"
else
  say "SKIPPED compare.py check: install libbenchmark-tools python3-scipy"
fi

# Chromium: render the HTML as a user would; keep the screenshot next to the build for a look.
if command -v chromium >/dev/null 2>&1; then
  shot=$build/report-screenshot.png
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$tmp/profile" \
    --screenshot="$shot" --window-size=1200,2000 "file://$(realpath "$tmp/r1.html")" >/dev/null 2>&1
  [ -s "$shot" ] || { say "chromium produced no screenshot"; exit 1; }
  say "screenshot of the HTML report: $shot"
else
  say "SKIPPED screenshot: install chromium"
fi
