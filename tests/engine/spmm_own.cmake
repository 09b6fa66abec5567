# SPDX-License-Identifier: Apache-2.0
# Pruned fc / 1x1 conv layers on hwtune/spmm.h's sparse plans in the engine (spmm_own.c, HWTUNE_ENGINE_SPARSE).
hwt_add_test(test_spmm_own SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_spmm_own.c LIBS hwtune_engine)
