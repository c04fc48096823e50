/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pre-included (-include) when compiling src/allowedips.c and its harness.
 * The real src/peer.h drags in the whole device (noise, queues, sockets,
 * timers); allowedips.c only uses peer->allowedips_list.  Defining the
 * header's include guard here turns allowedips.c's unmodified
 * `#include "peer.h"` into a no-op and stands in this fake peer instead.
 */
#ifndef _WGSHIM_PEER_H
#define _WGSHIM_PEER_H

#define _WG_PEER_H	/* the include guard of src/peer.h */

#include <linux/list.h>

struct wg_peer {
	struct list_head allowedips_list;
	int wgshim_id;
};

#endif
