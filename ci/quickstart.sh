#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds hwtune (Release) into build/, and runs the main job on this machine.
# After the build, about 2.5 minutes on 2 vCPUs (measured on a busy one): detect 3 s, bench 17 s, tune 60 s (its
# budget), the profile example instantly, the MobileNet v1 audit with its 5 s soak 23 s, and the ONNX MobileNet v2
# (build 1 s, audit 31 s: import and cold start, latency at 0.5 s per configuration, int8 vs fp32 on 50 inputs,
# abnormal inputs, per-layer timing, detect's 2 s peak probe).
set -euo pipefail
cd "$(dirname "$0")/.."

# python3-onnx and numpy: ci/models/mobilenet_v2.py builds the ONNX model audited at the end
./ci/install-deps.sh python3-onnx python3-numpy
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"

echo "== hwtune detect --quick" >&2
./build/hwtune detect --quick

echo "== hwtune bench (short: a 1024x1024 FC layer, XNNPACK vs ours, outputs verified first)" >&2
./build/hwtune bench --op gemm_f32,gemm_qs8 --shape 1024x1024 --batch 1,64 --threads all --impl xnnpack,own \
  --verify --max-time 0.5

echo "== hwtune tune (MLP + MobileNet shapes, 60 s budget): writes results/profiles/<fingerprint>.json and the" >&2
echo "   default profile path libhwtune reads (\$HWTUNE_PROFILE, else ~/.local/share/hwtune/profile.json)" >&2
./build/hwtune tune --budget 60

echo "== the example inference-runtime program loads that profile and asks for one layer's choice" >&2
./build/hwtune_profile_example gemm_f32 256 784 1

echo "== hwtune audit (short: MobileNet-v1 0.25, fp32 vs int8, a 5 s soak, the machine's profile if any)" >&2
./build/hwtune audit --model mobilenet --precision fp32,int8 --batch 1,8 --bench-seconds 0.5 --duration 5

echo "== an ONNX model, as users bring theirs: MobileNet v2 (width 0.5, 160x160, random weights, batch norm folded)" >&2
echo "   built by ci/models/mobilenet_v2.py with Debian's python3-onnx, audited from the file (import, cold start," >&2
echo "   latency, int8 vs fp32, memory plan)" >&2
./ci/models/mobilenet_v2.py --out build/mobilenet_v2_0.5_160.onnx --width 0.5 --resolution 160
./build/hwtune audit --model build/mobilenet_v2_0.5_160.onnx --precision fp32,int8 --bench-seconds 0.5 --inputs 50
