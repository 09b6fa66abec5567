# SPDX-License-Identifier: Apache-2.0
# Part "graph": the graph engine, its native ops, the memory plan and the reference.
hwt_add_test(test_graph_engine SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_graph_engine.c LIBS hwtune_engine)
