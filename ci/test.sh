#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds with -Wall -Wextra -Werror and runs every test through ctest; then the same
# suite in an AddressSanitizer + UndefinedBehaviorSanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

# Test-only extras: clang + its runtime (libFuzzer stage), Chromium (HTML report render check), Google
# Benchmark's compare.py with scipy (our gbench output must be accepted by it), python3-onnx + numpy
# (ci/models/mobilenet_v2.py builds the ONNX models the audit and tune tests and the audit stage use), sklearn
# (ci/models/digits.py trains the digits models) and ONNX's test data (the importer tests read its node models).
./ci/install-deps.sh clang libclang-rt-14-dev chromium libbenchmark-tools python3-scipy python3-onnx python3-numpy \
  python3-sklearn libonnx-testdata

echo "== build-ci: Release, -Werror" >&2
cmake -S . -B build-ci -DCMAKE_BUILD_TYPE=Release -DHWTUNE_WERROR=ON >/dev/null
cmake --build build-ci -j "$jobs"
(cd build-ci && ctest --output-on-failure -j "$jobs")

echo "== build-asan: -fsanitize=address,undefined" >&2
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHWTUNE_WERROR=ON -DHWTUNE_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j "$jobs")

# Further stages (ARM under qemu, fuzzing, ...), one script each, run in name order from the repository root.
# Each gets BUILD_CI and BUILD_ASAN (the two build folders above) in its environment.
for stage in ci/test.d/*.sh; do
  [ -e "$stage" ] || continue
  echo "== stage $stage" >&2
  BUILD_CI=build-ci BUILD_ASAN=build-asan bash "$stage"
done
echo "ci/test.sh: all stages passed" >&2
