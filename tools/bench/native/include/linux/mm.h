/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: kvmalloc() and kvfree() live in linux/slab.h here. */
#ifndef _QBSHIM_LINUX_MM_H
#define _QBSHIM_LINUX_MM_H

#include <linux/slab.h>

#endif
