# SPDX-License-Identifier: Apache-2.0
# Part "quantize": int8 graphs written as QDQ ONNX (onnx/export.c) and read back, and `hwtune quantize`.
hwt_add_test(test_quantize_export SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_quantize_export.c LIBS hwtune_engine)
