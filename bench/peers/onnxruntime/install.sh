#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the pinned onnxruntime-node (package-lock.json) into this folder for run.js. Run it by hand; the build
# and the tests never call it. --ignore-scripts: the package already carries its linux-x64 native library and
# binding, so its install script (which would download GPU providers) is not needed.
set -eu
cd "$(dirname "$0")"
command -v npm >/dev/null 2>&1 || { echo "install.sh: npm not found (Debian: apt-get install npm)" >&2; exit 1; }
npm ci --ignore-scripts --no-audit --no-fund
node -e "const o = require('onnxruntime-node'); console.log('onnxruntime-node', require('onnxruntime-node/package.json').version, 'ok')"
