/* SPDX-License-Identifier: Apache-2.0 */
/* Depthwise row kernels built with the neon flags (kernels/dwconv/dwconv_template.h). */
#define HWT_DW_ISA neon
#define HWT_DW_VB 16
#include "dwconv/dwconv_template.h"
