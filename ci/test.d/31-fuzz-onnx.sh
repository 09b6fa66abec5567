#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fuzzes the ONNX importer (engine/onnx/) with libFuzzer (Debian's clang + libclang-rt-dev) for a bounded time:
# protobuf-c decoding through the importer's budgeted allocator, the graph mapping and hwt_model_finalize.
# The protobuf C code is generated here with protoc-c from Debian's onnx.proto (libonnx-dev) into the work folder.
# Seeds: the importer's fixtures (tests/fixtures/onnx) and a few of ONNX's node tests (libonnx-testdata).
# FUZZ_SECONDS (default 40) bounds the run; about FUZZ_SECONDS + 20 s in all. A crash, leak, UB report or a broken
# invariant in tests/engine/fuzz_onnx.c fails the stage and leaves the reproducer in $work/crash-*.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-40}
cc=$(command -v clang || command -v clang-14 || true)
if [ -z "$cc" ]; then
  echo "31-fuzz-onnx: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
proto=${HWTUNE_ONNX_PROTO:-/usr/include/onnx/onnx.proto}
if ! command -v protoc-c >/dev/null || [ ! -f "$proto" ]; then
  echo "31-fuzz-onnx: needs protoc-c (protobuf-c-compiler) and $proto (libonnx-dev)" >&2
  exit 1
fi
work=${BUILD_CI:-build-ci}/fuzz-onnx
rm -rf "$work"
mkdir -p "$work/gen" "$work/corpus"
protoc-c --proto_path="$(dirname "$proto")" --c_out="$work/gen" "$proto"
cp tests/fixtures/onnx/*.onnx "$work/corpus/"
testdata=/usr/share/libonnx-testdata/data/node
for t in test_conv_with_strides_padding test_maxpool_2d_pads test_averagepool_2d_ceil test_gemm_default_single_elem_vector_bias \
         test_batchnorm_example test_softmax_axis_1 test_clip_default_inbounds test_reshape_negative_dim \
         test_concat_2d_axis_1 test_unsqueeze_axis_1; do
  if [ -f "$testdata/$t/model.onnx" ]; then cp "$testdata/$t/model.onnx" "$work/corpus/$t.onnx"; fi
done
. ci/fuzz-elementwise.sh
"$cc" -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Iinclude -Icommon -Iengine -Iengine/onnx -I"$work/gen" \
  engine/onnx/import.c engine/onnx/pb_util.c engine/onnx/tensor_pb.c engine/tensor.c engine/tensor_npy.c \
  engine/model.c engine/graph.c engine/mem.c engine/reference.c engine/ops.c runtime/profile.c runtime/profile_lookup.c \
  runtime/profile_machine.c "${ew_link[@]}" common/io.c common/status.c "$work/gen/onnx.pb-c.c" tests/engine/fuzz_onnx.c \
  $(pkg-config --cflags --libs libprotobuf-c jansson) -lm -o "$work/fuzz_onnx"
cat >"$work/onnx.dict" <<'DICT'
"Conv"
"Gemm"
"MatMul"
"Add"
"Mul"
"Relu"
"Clip"
"BatchNormalization"
"MaxPool"
"AveragePool"
"GlobalAveragePool"
"Reshape"
"Flatten"
"Squeeze"
"Unsqueeze"
"Concat"
"Softmax"
"Identity"
"Dropout"
"Constant"
"QuantizeLinear"
"DequantizeLinear"
"pads"
"strides"
"group"
"kernel_shape"
"auto_pad"
"SAME_UPPER"
"ceil_mode"
"axis"
"axes"
"\x08\x0d"
"\xff\xff\xff\xff\x07"
"\x80\x80\x80\x80\x10"
DICT
echo "31-fuzz-onnx: fuzzing the ONNX importer for ${seconds}s" >&2
(cd "$work" && ./fuzz_onnx -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=65536 \
   -dict=onnx.dict -print_final_stats=1 corpus 2>fuzz.log) || { tail -60 "$work/fuzz.log" >&2; exit 1; }
grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/fuzz.log" >&2 || true
echo "31-fuzz-onnx: no crash in ${seconds}s" >&2
