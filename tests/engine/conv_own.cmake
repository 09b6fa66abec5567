# SPDX-License-Identifier: Apache-2.0
# Dense KxK convolutions on hwtune/conv.h in the engine (conv_own.c, HWTUNE_ENGINE_OWN_CONV).
hwt_add_test(test_conv_own SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_conv_own.c LIBS hwtune_engine)
