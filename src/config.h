/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Applying a WG_CMD_SET_DEVICE request: all of it, or nothing.
 */
#ifndef _WG_CONFIG_H
#define _WG_CONFIG_H

#include <net/netlink.h>

struct wg_device;

/*
 * @attrs is the request's parsed top level.  RTNL and the device's update
 * lock held.  On any error, bad input (with @extack set) as much as a port
 * in use or memory running out, the device is left exactly as it was.
 */
int wg_config_set_device(struct wg_device *wg, struct nlattr **attrs,
			 struct netlink_ext_ack *extack);

#endif /* _WG_CONFIG_H */
