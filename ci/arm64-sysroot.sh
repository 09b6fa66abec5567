#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prepares cross-building and testing for aarch64 on a Debian 12 x86-64 machine: installs the cross compiler and
# qemu, fetches the arm64 libraries hwtune links into a private sysroot, and registers qemu with binfmt_misc.
#
# Why a private sysroot: libxnnpack-dev, libpthreadpool-dev and libcriterion3 are Multi-Arch: no, so installing
# their :arm64 versions with apt would REMOVE the amd64 ones. Instead `apt-get download` fetches the .debs and
# `dpkg-deb -x` unpacks them into the sysroot; no amd64 package is touched. Only libcpu-features-dev:arm64
# (Multi-Arch: same) is installed with apt.
#
# Sysroot: $HWTUNE_ARM64_SYSROOT, default /opt/hwtune-arm64-sysroot (outside the work tree, so a fresh clone
# in CI reuses it; the .debs are cached in its debs/ folder). A stamp file lists the exact .deb file names
# (name_version_arch); when it matches what apt would fetch, the script only re-checks binfmt and exits.
# Runs as root (or with password-less sudo). Prints the sysroot path on stdout.
set -euo pipefail

sysroot=${HWTUNE_ARM64_SYSROOT:-/opt/hwtune-arm64-sysroot}

# The arm64 libraries hwtune links (XNNPACK, pthreadpool, hwloc, jansson, Criterion) and, closed by hand over
# their Depends, what the link and pkg-config need: Criterion's .pc has Requires.private boxfort, libffi,
# libgit2, nanomsg; libgit2 needs krb5, mbedtls, ssh2, http-parser, pcre2, zlib. libc and libgcc come from the
# cross toolchain (/usr/aarch64-linux-gnu).
sysroot_packages=(
  libxnnpack-dev libxnnpack0 libcpuinfo0 libpthreadpool-dev libpthreadpool0
  libhwloc-dev libhwloc15 libudev1 libnuma-dev libnuma1 libltdl-dev libltdl7
  libjansson-dev libjansson4 libprotobuf-c-dev libprotobuf-c1
  libcriterion-dev libcriterion3 libboxfort-dev libffi-dev libffi8 libnanomsg-dev libnanomsg5
  libgit2-dev libgit2-1.5 libhttp-parser-dev libhttp-parser2.9 libmbedtls-dev libmbedtls14 libmbedcrypto7
  libmbedx509-1 libpcre2-dev libpcre2-8-0 libssh2-1-dev libssh2-1 libssl-dev libssl3 zlib1g-dev zlib1g
  libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1
)
host_packages=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user qemu-user-static binfmt-support
               libcpu-features-dev:arm64)

log() { echo "arm64-sysroot: $*" >&2; }
die() { echo "arm64-sysroot: error: $*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo)
else
  sudo=(false)
fi
apt=(apt-get -o DPkg::Lock::Timeout=300 -o APT::Get::List-Cleanup=false)

# 1. The arm64 architecture in dpkg, and apt lists that know arm64 packages.
need_update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  log "adding the arm64 architecture to dpkg"
  "${sudo[@]}" dpkg --add-architecture arm64 || die "dpkg --add-architecture arm64 needs root"
  need_update=1
fi
policy=$(apt-cache policy libxnnpack0:arm64 2>/dev/null || true)   # (no pipe into grep -q: pipefail + SIGPIPE)
case "$policy" in *"Candidate: "[0-9]*) ;; *) need_update=1 ;; esac
if [ "$need_update" -eq 1 ]; then
  log "apt-get update"
  "${sudo[@]}" "${apt[@]}" update -qq || die "apt-get update failed"
fi

# 2. Host packages (only the missing ones).
missing=()
for p in "${host_packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
fi

# 3. The sysroot: skip when the stamp names exactly the .debs apt would fetch now.
arm_names=()
for p in "${sysroot_packages[@]}"; do arm_names+=("$p:arm64"); done
# --print-uris reads the local lists only: 'URI' FILE SIZE HASH per package.
uris=$(cd /tmp && "${apt[@]}" download --print-uris "${arm_names[@]}" 2>&1) \
  || die "apt cannot resolve the arm64 packages: $uris"
wanted=$(printf '%s\n' "$uris" | awk '{print $2}' | sort)
stamp="$sysroot/.hwtune-sysroot-stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ -d "$sysroot/usr/lib/aarch64-linux-gnu" ]; then
  log "sysroot $sysroot is up to date ($(printf '%s\n' "$wanted" | wc -l) packages)"
else
  if ! mkdir -p "$sysroot/debs" 2>/dev/null; then
    "${sudo[@]}" mkdir -p "$sysroot/debs" && "${sudo[@]}" chown "$(id -u):$(id -g)" "$sysroot" "$sysroot/debs" \
      || die "cannot create $sysroot (set HWTUNE_ARM64_SYSROOT to a writable folder)"
  fi
  # Fetch only the .debs not already cached (apt-get download writes into the current directory).
  fetch=()
  while read -r file; do
    [ -f "$sysroot/debs/$file" ] || fetch+=("${file%%_*}:arm64")
  done <<<"$wanted"
  if [ ${#fetch[@]} -gt 0 ]; then
    log "downloading ${#fetch[@]} .debs into $sysroot/debs"
    # The sandbox user _apt cannot write into a root-owned folder; download as the caller instead.
    download() { (cd "$sysroot/debs" && "${apt[@]}" -o APT::Sandbox::User="$(id -un)" download -qq "${fetch[@]}" >&2); }
    if ! download; then
      # Stale lists name versions the archive no longer has (404): refresh them once and start over.
      [ -z "${HWTUNE_SYSROOT_RETRY:-}" ] || die "apt-get download failed after apt-get update"
      log "download failed; apt-get update and retry"
      "${sudo[@]}" "${apt[@]}" update -qq || die "apt-get update failed"
      HWTUNE_SYSROOT_RETRY=1 exec "$0" "$@"
    fi
  fi
  # Drop cached .debs that are no longer wanted (older versions), then unpack afresh.
  for f in "$sysroot/debs"/*.deb; do
    printf '%s\n' "$wanted" | grep -qxF "$(basename "$f")" || rm -f "$f"
  done
  rm -rf "$sysroot/usr" "$sysroot/lib" "$stamp"
  log "unpacking into $sysroot"
  while read -r file; do
    [ -f "$sysroot/debs/$file" ] || die "missing $sysroot/debs/$file after download"
    dpkg-deb -x "$sysroot/debs/$file" "$sysroot"
  done <<<"$wanted"
  # Absolute symlinks (libfoo.so -> /lib/aarch64-linux-gnu/libfoo.so.1) would point into the host: make them
  # relative to the sysroot. Libraries under /lib move to /usr/lib (Debian 12 unpacks some there).
  if [ -d "$sysroot/lib/aarch64-linux-gnu" ]; then
    mkdir -p "$sysroot/usr/lib/aarch64-linux-gnu"
    cp -a "$sysroot/lib/aarch64-linux-gnu/." "$sysroot/usr/lib/aarch64-linux-gnu/"
    rm -rf "$sysroot/lib"
  fi
  find "$sysroot/usr" -type l -lname '/*' | while read -r link; do
    target=$(readlink "$link")
    target=${target#/usr}
    target="$sysroot/usr$target"
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$target")" "$link"
  done
  # Development links whose targets are in packages we do not need (libpcre2-16.so, ...): drop them.
  find "$sysroot/usr" -xtype l -delete
  printf '%s\n' "$wanted" >"$stamp"
  log "sysroot ready: $(printf '%s\n' "$wanted" | wc -l) packages, $(du -sh "$sysroot/usr" | cut -f1)"
fi

# 4. binfmt_misc: Criterion forks and re-executes /proc/self/exe, which works under qemu only when the kernel
#    knows to run aarch64 ELF files with qemu (plain `qemu-aarch64 prog` is not enough).
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  "${sudo[@]}" mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null \
    || log "warning: cannot mount binfmt_misc; Criterion tests under qemu will fail to spawn"
fi
if [ -e /proc/sys/fs/binfmt_misc/register ] \
   && ! grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
  "${sudo[@]}" update-binfmts --enable qemu-aarch64 >&2 || log "warning: update-binfmts --enable qemu-aarch64 failed"
fi

echo "$sysroot"
