# SPDX-License-Identifier: Apache-2.0
# Part "ops_q8": the int8 elementwise kernels and the engine loops that use them, bit for bit against the scalar
# formulas, run at the best ISA, capped to AVX2, and scalar (kernels above the cap are skipped with a reason).
hwt_add_test(test_ops_q8_fast SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_ops_q8_fast.c LIBS hwtune_engine)
# The reference formulas must not be contracted into FMA either (aarch64 gcc does so by default).
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/test_ops_q8_fast.c PROPERTIES COMPILE_OPTIONS -ffp-contract=off)
add_test(NAME test_ops_q8_fast_isa_avx2 COMMAND test_ops_q8_fast --jobs 2)
set_tests_properties(test_ops_q8_fast_isa_avx2 PROPERTIES ENVIRONMENT "HWTUNE_ISA=avx2")
add_test(NAME test_ops_q8_fast_isa_scalar COMMAND test_ops_q8_fast --jobs 2)
set_tests_properties(test_ops_q8_fast_isa_scalar PROPERTIES ENVIRONMENT "HWTUNE_ISA=scalar")
