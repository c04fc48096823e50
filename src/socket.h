/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device's UDP sockets: one IPv4 and one IPv6, bound to the same port
 * in the namespace the device was created from.  They exist while the
 * device is up.  RTNL serialises every change; the packet paths read them
 * under RCU.
 */
#ifndef _WG_SOCKET_H
#define _WG_SOCKET_H

#include <linux/types.h>

struct wg_device;
struct sock;

/*
 * Binds fresh sockets to @port (0: the kernel picks one for both families)
 * and only then retires the old ones, so a failure such as -EADDRINUSE
 * leaves the device listening as before.
 */
int wg_socket_init(struct wg_device *wg, u16 port);
/* Closes the sockets; returns after packet paths have let go of them. */
void wg_socket_uninit(struct wg_device *wg);

#endif /* _WG_SOCKET_H */
