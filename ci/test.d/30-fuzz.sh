#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fuzzes the libhwtune profile loader with libFuzzer (Debian's clang + libclang-rt-dev) for a bounded time,
# seeded with the golden profiles. FUZZ_SECONDS (default 45) bounds the run; about FUZZ_SECONDS + 10 s in all.
# A crash, leak, UB report or a broken invariant in tests/runtime/fuzz_profile.c fails the stage and leaves the
# reproducer in $work/crash-*.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-45}
cc=$(command -v clang || command -v clang-14 || true)
if [ -z "$cc" ]; then
  echo "30-fuzz: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
work=${BUILD_CI:-build-ci}/fuzz
rm -rf "$work"
mkdir -p "$work/corpus"
cp tests/fixtures/profiles/*.json "$work/corpus/"
"$cc" -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Iinclude -Iruntime runtime/profile.c runtime/profile_lookup.c runtime/profile_machine.c common/status.c \
  tests/runtime/fuzz_profile.c -lm -o "$work/fuzz_profile"
cat >"$work/json.dict" <<'DICT'
"{"
"}"
"["
"]"
":"
","
"\""
"\\u00e9"
"\\ud83d\\ude00"
"true"
"false"
"null"
"-0.5e-3"
"1e400"
"18446744073709551616"
"\"schema\":\"hwtune.profile/1\""
"\"machine\""
"\"fingerprint\""
"\"fields\""
"\"objective\":\"latency\""
"\"entries\""
"\"op\":\"gemm_f32\""
"\"dtype\":\"f32\""
"\"shape\""
"\"batch\""
"\"n\""
"\"k\""
"\"choice\""
"\"impl\":\"own\""
"\"isa\":\"avx2\""
"\"threads\""
"\"median_ns\""
DICT
echo "30-fuzz: fuzzing the profile loader for ${seconds}s" >&2
(cd "$work" && ./fuzz_profile -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=16384 \
   -dict=json.dict -print_final_stats=1 corpus 2>fuzz.log) || { tail -60 "$work/fuzz.log" >&2; exit 1; }
grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/fuzz.log" >&2 || true
echo "30-fuzz: no crash in ${seconds}s" >&2
