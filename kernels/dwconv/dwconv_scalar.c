/* SPDX-License-Identifier: Apache-2.0 */
/* Depthwise row kernels built with the scalar flags (kernels/dwconv/dwconv_template.h). */
#define HWT_DW_ISA scalar
#include "dwconv/dwconv_template.h"
