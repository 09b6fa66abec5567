# SPDX-License-Identifier: Apache-2.0
# The ONNX part: TensorProto files, the importer, the exporter (engine/onnx/).
hwt_add_test(test_onnx_tensor SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_onnx_tensor.c LIBS hwtune_engine)
hwt_add_test(test_onnx_import SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_onnx_import.c LIBS hwtune_engine)
hwt_add_test(test_onnx_export SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_onnx_export.c LIBS hwtune_engine)
