/* SPDX-License-Identifier: Apache-2.0 */
/* Sparse-weight kernels built with the scalar flags (kernels/spmm/spmm_template.h). */
#define HWT_SPMM_ISA scalar
#define HWT_SPMM_VB 16
#include "spmm/spmm_template.h"
