# SPDX-License-Identifier: Apache-2.0
# Part "unary": elementwise functions, max / min / prelu, log_softmax (engine, reference, JSON, importer).
hwt_add_test(test_unary_engine SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_unary_engine.c LIBS hwtune_engine)
hwt_add_test(test_unary_import SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_unary_import.c LIBS hwtune_engine)
