/* SPDX-License-Identifier: Apache-2.0 */
/* Depthwise row kernels built with the neon flags (kernels/dwconv/dwconv_template.h). */
#define HWT_DW_ISA neon
#define HWT_DW_CT 8
#include "dwconv/dwconv_template.h"
