# SPDX-License-Identifier: Apache-2.0
# Depthwise convolutions on hwtune/dwconv.h in the engine (dwconv_own.c, HWTUNE_ENGINE_OWN_DW), native and scalar.
hwt_add_test(test_dwconv_own SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dwconv_own.c LIBS hwtune_engine)
add_test(NAME test_dwconv_own_isa_scalar COMMAND test_dwconv_own --jobs 2)
set_tests_properties(test_dwconv_own_isa_scalar PROPERTIES ENVIRONMENT "HWTUNE_ISA=scalar")
