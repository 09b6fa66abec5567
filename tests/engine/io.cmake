# SPDX-License-Identifier: Apache-2.0
# Part "io": tensor files (.npy), `hwtune run` and `hwtune model`.
hwt_add_test(test_io_npy SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_io_npy.c LIBS hwtune_engine hwtune_common)
hwt_add_test(test_run_cli SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_run_cli.c
             LIBS hwtune_engine hwtune_common PkgConfig::JANSSON)
add_dependencies(test_run_cli hwtune)
