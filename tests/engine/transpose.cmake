# SPDX-License-Identifier: Apache-2.0
# Part "transpose": the transpose node (engine, reference, JSON, ONNX importer and exporter).
hwt_add_test(test_transpose SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_transpose.c LIBS hwtune_engine)
