# SPDX-License-Identifier: Apache-2.0
# Part "model": graph validation and shapes, the JSON format, quantization over the graph.
hwt_add_test(test_model_graph SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_model_graph.c LIBS hwtune_engine)
hwt_add_test(test_model_json SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_model_json.c LIBS hwtune_engine)
hwt_add_test(test_model_quantize SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_model_quantize.c LIBS hwtune_engine)
