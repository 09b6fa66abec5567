/* SPDX-License-Identifier: Apache-2.0 */
/* Sparse-weight kernels built with the avx2 flags (kernels/spmm/spmm_template.h). */
#define HWT_SPMM_ISA avx2
#define HWT_SPMM_VB 32
#include "spmm/spmm_template.h"
