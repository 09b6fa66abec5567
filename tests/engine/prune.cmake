# SPDX-License-Identifier: Apache-2.0
# Part "prune": magnitude pruning (engine/prune.c, hwt_model_prune).
hwt_add_test(test_prune SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_prune.c LIBS hwtune_engine)
