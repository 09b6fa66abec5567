# SPDX-License-Identifier: Apache-2.0
# The int8 classifier with float logits behind an int8 global average pool of rank 2 or 4.
hwt_add_test(test_logits_rank SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_logits_rank.c LIBS hwtune_engine)
