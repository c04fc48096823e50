/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "wireguard" generic netlink family of <uapi/linux/wireguard.h>, as
 * spoken by wg(8): WG_CMD_GET_DEVICE (a dump) and WG_CMD_SET_DEVICE.
 */
#ifndef _WG_NETLINK_H
#define _WG_NETLINK_H

int wg_genetlink_init(void);
void wg_genetlink_uninit(void);

#endif /* _WG_NETLINK_H */
