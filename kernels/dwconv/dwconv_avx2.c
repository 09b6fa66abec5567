/* SPDX-License-Identifier: Apache-2.0 */
/* Depthwise row kernels built with the avx2 flags (kernels/dwconv/dwconv_template.h). */
#define HWT_DW_ISA avx2
#define HWT_DW_VB 32
#include "dwconv/dwconv_template.h"
