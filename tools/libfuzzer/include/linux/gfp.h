/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: allocation flags are ignored. */
#ifndef _WGSHIM_LINUX_GFP_H
#define _WGSHIM_LINUX_GFP_H

#include <linux/types.h>

#define GFP_KERNEL	((gfp_t)0x1)
#define GFP_ATOMIC	((gfp_t)0x2)
#define __GFP_ZERO	((gfp_t)0x100)

#endif
