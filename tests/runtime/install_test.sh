#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs libhwtune into a temporary prefix (cmake --install --component hwtune_runtime), then builds the
# example program against it with find_package(hwtune) (shared and static) and with pkg-config, and runs them.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR WORK_DIR [EXTRA_CFLAGS]
set -euo pipefail
build=$1 src=$2 work=$3 cflags=${4:-}
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --component hwtune_runtime --prefix "$prefix" >"$work/install.log"
test -f "$prefix/include/hwtune/profile.h"
test -f "$prefix/include/hwtune/status.h"
pc=$(find "$prefix" -name hwtune.pc)
test -n "$pc"

# Only the public API is exported from the shared library.
so=$(find "$prefix" -name 'libhwtune.so.*.*' | head -1)
if nm -D --defined-only "$so" | awk '{print $3}' | grep -v -E '^(hwt_profile_|hwt_status_string|HWTUNE_0)'; then
  echo "install_test: libhwtune.so exports symbols outside its API" >&2
  exit 1
fi

mkdir -p "$work/consumer"
cat >"$work/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(hwtune_consumer C)
find_package(hwtune 0.1 REQUIRED)
add_executable(example_shared $src/runtime/examples/profile_example.c)
target_link_libraries(example_shared PRIVATE hwtune::hwtune)
add_executable(example_static $src/runtime/examples/profile_example.c)
target_link_libraries(example_static PRIVATE hwtune::hwtune_static)
CMAKE
cmake -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$cflags" \
  -DCMAKE_EXE_LINKER_FLAGS="$cflags" >"$work/consumer.log"
cmake --build "$work/consumer/build" >>"$work/consumer.log"

PKG_CONFIG_PATH=$(dirname "$pc") cc $cflags -o "$work/example_pc" "$src/runtime/examples/profile_example.c" \
  $(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs hwtune) -Wl,-rpath,"$(dirname "$so")"

# The valid fixture was tuned on another (test) machine: refused by default, used with --accept-mismatch.
for exe in "$work/consumer/build/example_shared" "$work/consumer/build/example_static" "$work/example_pc"; do
  out=$("$exe" --profile "$HWTUNE_FIXTURES/profiles/valid.json" 2>&1)
  echo "$out" | grep -q "hwtune profile not used (hardware mismatch)" || { echo "$exe: $out" >&2; exit 1; }
  echo "$out" | grep -q -- "-> default: impl=xnnpack isa=auto threads=1" || { echo "$exe: $out" >&2; exit 1; }
  out=$("$exe" --profile "$HWTUNE_FIXTURES/profiles/valid.json" --accept-mismatch gemm_f32 512 784 1 2>&1)
  echo "$out" | grep -q -- "-> exact: impl=own isa=avx2 threads=1 mc=72 kc=256 nc=512" || { echo "$exe: $out" >&2; exit 1; }
done
echo "install_test: find_package (shared, static) and pkg-config consumers OK"
