#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ONNX's own backend tests (Debian's libonnx-testdata: node, pytorch-converted, pytorch-operator, simple)
# through hwtune's importer and engine: every test whose operators hwtune claims to support must pass, with
# float outputs within |got - want| <= 1e-5 + 1e-4 * |want| (docs/onnx-conformance.md). Failures listed in
# ci/onnx-conformance-xfail.txt are tolerated; a listed test that passes fails the stage (the list only
# shrinks). Each test runs in its own process with a 20 s budget (60 s under ASan); the stage takes under
# half a minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${BUILD_CI:-build-ci}
data=/usr/share/libonnx-testdata/data
if [ ! -d "$data/node" ]; then
  ./ci/install-deps.sh libonnx-testdata
fi
cmake --build "$B" --target onnx_conformance >/dev/null
"$B/onnx_conformance" --data "$data" --xfail ci/onnx-conformance-xfail.txt --jobs "$(nproc)" --time-budget 20
# The same tests in the ASan + UBSan build: a memory error, UB or a leak in the importer or the engine on any
# of ONNX's models fails that test (about 10 s more).
A=${BUILD_ASAN:-build-asan}
if [ -d "$A" ]; then
  echo "== the same under ASan + UBSan ($A)" >&2
  cmake --build "$A" --target onnx_conformance >/dev/null
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$A/onnx_conformance" --data "$data" --xfail ci/onnx-conformance-xfail.txt --jobs "$(nproc)" --time-budget 60
fi
echo "onnx conformance stage ok" >&2
