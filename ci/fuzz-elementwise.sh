# SPDX-License-Identifier: Apache-2.0
# Sourced by the fuzz stages (ci/test.d/30-fuzz.sh, 31-fuzz-onnx.sh), which build their fuzzers with one clang
# command: engine/ops.c runs its int8 elementwise ops on kernels/elementwise/, so compile those files here, each
# with its ISA's flags (as cmake/hwtune_isa.cmake sets them) and no FMA contraction. Needs $cc and $work; sets
# ew_objs (objects) and ew_link (the dispatch sources and cpu_features) for the fuzzer's link line.
ew_objs=()
for f in kernels/elementwise/q8_vec_*.c; do
  case "$f:$(uname -m)" in
    *_avx2.c:x86_64) fl="-mavx2 -mfma -mf16c" ;;
    *_avx512f.c:x86_64) fl="-mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq" ;;
    *_neon.c:aarch64 | *_scalar.c:*) fl="" ;;
    *) continue ;;
  esac
  o="$work/$(basename "$f" .c).o"
  # shellcheck disable=SC2086
  "$cc" -c -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer-no-link,address,undefined \
    -fno-sanitize-recover=undefined -ffp-contract=off $fl -Iinclude -Icommon -Ikernels "$f" -o "$o"
  ew_objs+=("$o")
done
ew_link=(-Ikernels -I/usr/include/cpu_features kernels/config/elementwise_config.c kernels/config/isa.c
         "${ew_objs[@]}" -lcpu_features)
