# SPDX-License-Identifier: Apache-2.0
# Part "peer": `hwtune run`'s timing mode, the hwtune side of the ONNX Runtime comparison (bench/peers/).
hwt_add_test(test_peer_run SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_peer_run.c
             LIBS hwtune_report hwtune_engine hwtune_common PkgConfig::JANSSON)
add_dependencies(test_peer_run hwtune)
