/* SPDX-License-Identifier: Apache-2.0 */
/* Depthwise row kernels built with the avx512f flags (kernels/dwconv/dwconv_template.h). */
#define HWT_DW_ISA avx512f
#define HWT_DW_VB 64
#include "dwconv/dwconv_template.h"
