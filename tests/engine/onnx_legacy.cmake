# SPDX-License-Identifier: Apache-2.0
# The ONNX importer on opsets 1 to 6 (legacy attributes, legacy broadcasting) and 1-D Conv / pools / BN.
hwt_add_test(test_onnx_legacy SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_onnx_legacy.c LIBS hwtune_engine)
