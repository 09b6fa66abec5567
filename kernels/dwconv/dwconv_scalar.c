/* SPDX-License-Identifier: Apache-2.0 */
/* Depthwise row kernels built with the scalar flags (kernels/dwconv/dwconv_template.h). */
#define HWT_DW_ISA scalar
#define HWT_DW_CT 4
#include "dwconv/dwconv_template.h"
