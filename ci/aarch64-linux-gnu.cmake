# SPDX-License-Identifier: Apache-2.0
# CMake toolchain for cross-building hwtune to aarch64 Linux with Debian's gcc-aarch64-linux-gnu, against the
# private sysroot that ci/arm64-sysroot.sh fills, and running the tests through qemu-aarch64.
#
#   ./ci/arm64-sysroot.sh
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=ci/aarch64-linux-gnu.cmake
#
# The sysroot is HWTUNE_ARM64_SYSROOT (cache variable or environment), default /opt/hwtune-arm64-sysroot.
# libc and libgcc come from the cross toolchain's own /usr/aarch64-linux-gnu, so the sysroot is not passed as
# --sysroot; its folders are searched first instead (the cross gcc also searches the amd64 /usr/include, which must
# lose against the arm64 headers).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(NOT HWTUNE_ARM64_SYSROOT)
  if(DEFINED ENV{HWTUNE_ARM64_SYSROOT})
    set(HWTUNE_ARM64_SYSROOT "$ENV{HWTUNE_ARM64_SYSROOT}")
  else()
    set(HWTUNE_ARM64_SYSROOT /opt/hwtune-arm64-sysroot)
  endif()
endif()
set(HWTUNE_ARM64_SYSROOT "${HWTUNE_ARM64_SYSROOT}" CACHE PATH "arm64 sysroot filled by ci/arm64-sysroot.sh")
# try_compile projects re-read this file: pass the path on to them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HWTUNE_ARM64_SYSROOT)
if(NOT EXISTS "${HWTUNE_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu")
  message(FATAL_ERROR "aarch64 sysroot ${HWTUNE_ARM64_SYSROOT} is missing: run ci/arm64-sysroot.sh first")
endif()
set(_hwt_sr "${HWTUNE_ARM64_SYSROOT}")
set(_hwt_libdir "${_hwt_sr}/usr/lib/aarch64-linux-gnu")

# Headers: the multiarch folder first (hwloc/autogen/config.h lives there), then the sysroot's usr/include,
# both before the compiler's default (amd64) /usr/include.
# -fvect-cost-model=very-cheap (the -O2 model, also at -O3): Debian 12's aarch64 gcc 12.2 dies with an internal
# compiler error in vect_transform_reduction on fmax reductions over a widened value, e.g.
#   for (k = 0; k < n; k++) d = fmax(d, fabs((double) a[k] - b[k]));      (a, b float)
# at -O3. The micro-kernels are intrinsics, so this costs them nothing.
set(CMAKE_C_FLAGS_INIT "-isystem ${_hwt_sr}/usr/include/aarch64-linux-gnu -isystem ${_hwt_sr}/usr/include \
-fvect-cost-model=very-cheap")
# Libraries: the sysroot's, with -rpath-link so indirect dependencies (libgit2 -> krb5, ...) resolve at link time.
set(_hwt_link "-L${_hwt_libdir} -Wl,-rpath-link,${_hwt_libdir}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_hwt_link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_hwt_link}")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "${_hwt_link}")

# find_* look in the sysroot first, then in / (cpu_features' arm64 CMake config is installed in the host's
# /usr/lib/aarch64-linux-gnu by apt, being Multi-Arch: same). Programs are the host's.
set(CMAKE_FIND_ROOT_PATH "${_hwt_sr}" /)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config reads only the arm64 .pc files and prefixes their paths with the sysroot.
set(ENV{PKG_CONFIG_LIBDIR} "${_hwt_libdir}/pkgconfig:${_hwt_sr}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${_hwt_sr}")
set(ENV{PKG_CONFIG_PATH} "")

# Tests (ctest) and any build-time runs go through qemu. The CPU model comes from the QEMU_CPU environment
# variable (default: qemu's "max", every feature), which also reaches the processes Criterion re-executes through
# binfmt_misc; command-line options would not.
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=${_hwt_libdir} -E QEMU_LD_PREFIX=/usr/aarch64-linux-gnu)
