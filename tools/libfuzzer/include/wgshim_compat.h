/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pre-included (-include) with wgshim_peer.h.  src/compat.h holds the
 * kernel-version shims and includes kernel headers (netdevice, timers,
 * genetlink, ...) that have no userspace stand-in; of it, allowedips.c
 * needs only the unaligned accessors.  Defining its include guard here
 * turns allowedips.c's unmodified `#include "compat.h"` into a no-op.
 */
#ifndef _WGSHIM_COMPAT_H
#define _WGSHIM_COMPAT_H

#define _WG_COMPAT_H	/* the include guard of src/compat.h */

#include <asm/unaligned.h>

#endif
