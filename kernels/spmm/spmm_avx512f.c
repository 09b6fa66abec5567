/* SPDX-License-Identifier: Apache-2.0 */
/* Sparse-weight kernels built with the avx512f flags (kernels/spmm/spmm_template.h). */
#define HWT_SPMM_ISA avx512f
#define HWT_SPMM_VB 64
#include "spmm/spmm_template.h"
