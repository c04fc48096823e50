/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: the error numbers ptr_ring.h returns (Linux values).
 * Not the C library's errno.h, which would pull in the system's own
 * asm/errno.h through this include path.
 */
#ifndef _QBSHIM_ASM_ERRNO_H
#define _QBSHIM_ASM_ERRNO_H

#include <linux/errno.h>	/* the libFuzzer shim's ENOMEM, EINVAL */

#ifndef ENOSPC
#define ENOSPC		28
#endif

#endif
