#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds hwtune (Release) into build/, and runs the main job on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

./ci/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"

echo "== hwtune detect --quick" >&2
./build/hwtune detect --quick
