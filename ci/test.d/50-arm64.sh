#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CI stage: cross-builds hwtune for aarch64 and runs the kernel and detection tests under qemu-user for three CPU
# models, so every NEON dispatch path runs and a kernel dispatched to a CPU without its ISA dies with SIGILL:
#   cortex-a53   Advanced SIMD only     neon kernels run; neondot and neoni8mm kernels must be skipped
#   neoverse-n1  + dot product          neondot kernels run; neoni8mm skipped
#   max          + i8mm (and SVE, bf16) every kernel runs
# then, once on `max`, the arch-independent detect and common tests, `hwtune detect --json --no-measure` and a
# `hwtune bench --verify` smoke test on tiny shapes. qemu timings mean nothing: only correctness is checked.
#
# Environment: BUILD_ARM64 (build folder, default build-arm64), HWTUNE_ARM64_SYSROOT (see ci/arm64-sysroot.sh).
# Prints "arm64-<model>: N passed, N failed, N skipped" per CPU model and the stage's wall time.
set -euo pipefail
cd "$(dirname "$0")/../.."
t0=$(date +%s)
build=${BUILD_ARM64:-build-arm64}
jobs=$(nproc)

sysroot=$(./ci/arm64-sysroot.sh)
t_sysroot=$(($(date +%s) - t0))

echo "== arm64: cross-build in $build" >&2
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE=ci/aarch64-linux-gnu.cmake -DHWTUNE_ARM64_SYSROOT="$sysroot" \
      -DCMAKE_BUILD_TYPE=Release -DHWTUNE_WERROR=ON --no-warn-unused-cli >/dev/null
cmake --build "$build" -j "$jobs" >"$build/build.log" 2>&1 || { tail -40 "$build/build.log" >&2; exit 1; }
t_build=$(($(date +%s) - t0 - t_sysroot))

# Criterion's workers are re-executed through binfmt_misc, so the CPU model and the library paths travel in the
# environment (qemu's command-line options do not reach them).
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
export LD_LIBRARY_PATH="$sysroot/usr/lib/aarch64-linux-gnu"
export CRITERION_VERBOSITY_LEVEL=1   # one [PASS]/[SKIP]/[FAIL] line per test, counted below

log_dir="$build/qemu-logs"
mkdir -p "$log_dir"
failed=0
# run_ctest NAME REGEX: ctest under the current QEMU_CPU; prints the Criterion counts.
run_ctest() {
  local name=$1 regex=$2 log="$log_dir/$1.log" rc=0
  (cd "$build" && ctest -V -R "$regex" -j "$jobs" --timeout 300) >"$log" 2>&1 || rc=$?
  local pass skip fail
  pass=$(grep -cE '^[0-9]+: \[PASS\]' "$log" || true)
  skip=$(grep -cE '^[0-9]+: \[SKIP\]' "$log" || true)
  fail=$(grep -cE '^[0-9]+: \[FAIL\]' "$log" || true)
  if [ "$rc" -ne 0 ]; then
    grep -E '\[(FAIL|CRASH)\]|Assertion|Crashing: [1-9]|\*\*\*|Illegal|Error' "$log" | head -40 >&2 || true
    echo "arm64 $name: ctest failed (full log: $log)" >&2
    failed=1
    [ "$fail" -gt 0 ] || fail=1
  elif [ "$pass" -eq 0 ]; then
    echo "arm64 $name: no test matched $regex (log: $log)" >&2
    failed=1
  fi
  echo "arm64-$name: $pass passed, $fail failed, $skip skipped"
}

# Per CPU model: the ISA tests (with the level the model must give), the two GEMM families' testers and the int8
# elementwise kernels' tester.
kernel_tests='^test_(arm_isa|gemm_f32|gemm_qs8|ops_q8_fast|conv|dwconv|spmm)$'
for model in cortex-a53:neon neoverse-n1:neondot max:neoni8mm; do
  cpu=${model%%:*}
  echo "== arm64: QEMU_CPU=$cpu (expects $model)" >&2
  QEMU_CPU=$cpu HWTUNE_TEST_EXPECT_ISA=${model#*:} run_ctest "$cpu" "$kernel_tests"
done

# Once, on max: the remaining detection and common tests (fixture-driven, architecture-independent logic).
export QEMU_CPU=max
echo "== arm64: detect and common tests (QEMU_CPU=max)" >&2
run_ctest detect '^test_(detect|detect_cli|common)$'

# hwtune detect on each model must report exactly that model's features.
hwtune="$build/hwtune"
if [ -x "$hwtune" ]; then
  for model in cortex-a53:asimd:-asimddp:-i8mm neoverse-n1:asimd:asimddp:-i8mm max:asimd:asimddp:i8mm; do
    cpu=${model%%:*}
    out=$(QEMU_CPU=$cpu "$hwtune" detect --json --no-measure 2>/dev/null) || {
      echo "arm64: hwtune detect --json --no-measure failed on $cpu" >&2
      failed=1
      continue
    }
    IFS=: read -r _ f1 f2 f3 <<<"$model"
    for f in $f1 $f2 $f3; do
      want=yes name=$f
      [ "${f#-}" = "$f" ] || { want=no name=${f#-}; }
      got=no
      grep -qE "\"$name\": *true" <<<"$out" && got=yes
      if [ "$got" != "$want" ]; then
        echo "arm64: hwtune detect on $cpu: feature $name present=$got, expected $want" >&2
        failed=1
      fi
    done
  done
  echo "arm64 detect: hwtune detect --json --no-measure checked on 3 CPU models"

  # Bench smoke test: every implementation on tiny shapes, outputs verified against the reference.
  if "$hwtune" bench --help >/dev/null 2>&1; then
    if "$hwtune" bench --op gemm_f32,gemm_qs8 --shape 24x40,70x33 --batch 1,7 \
         --impl xnnpack,own:neon,own:neondot,own:neoni8mm,reference --verify --max-time 0.05 --min-samples 2 \
         --no-peaks --no-pin -q >"$log_dir/bench.log" 2>&1; then
      echo "arm64 bench: hwtune bench --verify passed (QEMU_CPU=max)"
    else
      tail -20 "$log_dir/bench.log" >&2
      echo "arm64 bench: hwtune bench --verify failed (log: $log_dir/bench.log)" >&2
      failed=1
    fi
  fi
else
  echo "arm64: $hwtune was not built" >&2
  failed=1
fi

t_all=$(($(date +%s) - t0))
echo "arm64: stage took ${t_all} s (sysroot ${t_sysroot} s, cross-build ${t_build} s," \
     "qemu runs $((t_all - t_sysroot - t_build)) s)" >&2
exit "$failed"
