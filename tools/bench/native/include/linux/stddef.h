/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: offsetof() and NULL come from the compiler's stddef.h. */
#ifndef _QBSHIM_LINUX_STDDEF_H
#define _QBSHIM_LINUX_STDDEF_H

#include <stddef.h>

#endif
