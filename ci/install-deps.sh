#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages hwtune needs, only those missing. Root: apt-get directly; another user:
# sudo when it works without a password prompt, else prints the exact command and exits 1.
# Extra package names may be given as arguments (ci/test.sh adds the test-only ones).
set -euo pipefail

packages=(build-essential cmake pkg-config git libcpu-features-dev libhwloc-dev hwloc libxnnpack-dev
          libpthreadpool-dev libcriterion-dev libjansson-dev
          libprotobuf-c-dev protobuf-c-compiler libonnx-dev "$@")

missing=()
for p in "${packages[@]}"; do
  # One line per installed architecture (libcpu-features-dev may also be there as :arm64 for the ARM stage).
  dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present" >&2
  exit 0
fi

apt=(apt-get -o DPkg::Lock::Timeout=300)
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo)
else
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root: apt-get update && DEBIAN_FRONTEND=noninteractive ${apt[*]} install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
"${sudo[@]}" "${apt[@]}" update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >&2
