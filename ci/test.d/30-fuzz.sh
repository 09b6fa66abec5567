#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fuzzes the libhwtune profile loader and the runtime's model loader with libFuzzer (Debian's clang +
# libclang-rt-dev) for a bounded time each, seeded with the golden profiles and the model fixtures.
# FUZZ_SECONDS (default 40) bounds each run; about 2 x FUZZ_SECONDS + 15 s in all.
# A crash, leak, UB report or a broken invariant in tests/runtime/fuzz_profile.c or tests/audit/fuzz_model.c fails
# the stage and leaves the reproducer in $work/crash-*.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-40}
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

# The model loader: only the sources it needs (no XNNPACK). An input is the model JSON, a NUL byte, the weights;
# the seeds are the fixtures of tests/fixtures/models with the weights file each one names.
mkdir -p "$work/model_corpus"
for json in tests/fixtures/models/*.json; do
  weights=$(sed -n 's/.*"weights": *"\([^"]*\)".*/\1/p' "$json" | head -n 1)
  { cat "$json"
    if [ -n "$weights" ] && [ -f "tests/fixtures/models/$weights" ]; then
      printf '\0'
      cat "tests/fixtures/models/$weights"
    fi
  } >"$work/model_corpus/$(basename "$json" .json)"
done
. ci/fuzz-elementwise.sh
"$cc" -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Iinclude -Icommon -Iruntime -Iengine engine/model.c engine/graph.c engine/mem.c engine/ops.c \
  engine/reference.c runtime/profile.c runtime/profile_lookup.c runtime/profile_machine.c "${ew_link[@]}" \
  common/io.c common/status.c tests/audit/fuzz_model.c $(pkg-config --cflags --libs jansson) -lm \
  -o "$work/fuzz_model"
cat >"$work/model.dict" <<'DICT'
"\"schema\":\"hwtune.model/1\""
"\"precision\":\"int8\""
"\"precision\":\"fp32\""
"\"weights\""
"\"input\""
"\"shape\""
"\"quant\""
"\"scale\""
"\"zero_point\""
"\"layers\""
"\"name\""
"\"type\""
"\"fully_connected\""
"\"conv2d\""
"\"depthwise_conv2d\""
"\"relu\""
"\"relu6\""
"\"max_pool2d\""
"\"avg_pool2d\""
"\"global_avg_pool\""
"\"softmax\""
"\"add\""
"\"from\""
"\"inputs\""
"\"value\""
"\"rank\""
"\"groups\""
"\"dilation\""
"\"ceil_mode\""
"\"count_include_pad\""
"\"alpha\""
"\"beta\""
"\"axes\""
"\"h\""
"\"w\""
"\"c\""
"\"const_shape\""
"\"const_first\""
"\"act_min\""
"\"act_max\""
"\"clip\""
"\"output_int8\""
"\"param_precision\""
"\"fused\""
"\"fixed_batch\""
"\"source\""
"\"sub\""
"\"mul\""
"\"div\""
"\"leaky_relu\""
"\"sigmoid\""
"\"hard_sigmoid\""
"\"hard_swish\""
"\"tanh\""
"\"affine\""
"\"concat\""
"\"reshape\""
"\"identity\""
"\"quantize\""
"\"dequantize\""
"true"
"false"
"\"outputs\""
"\"kernel\""
"\"stride\""
"\"padding\""
"\"activation\""
"\"offset\""
"\"output_shape\""
"\"output_quant\""
"1048576"
"16777216"
"2147483647"
"\x00"
"\x00\x00\x00\x80"
"\xff\xff\xff\x7f"
DICT
echo "30-fuzz: fuzzing the model loader for ${seconds}s" >&2
(cd "$work" && ./fuzz_model -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=16384 \
   -dict=model.dict -print_final_stats=1 model_corpus 2>fuzz_model.log) ||
  { tail -60 "$work/fuzz_model.log" >&2; exit 1; }
grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/fuzz_model.log" >&2 || true
echo "30-fuzz: no crash in ${seconds}s" >&2
