/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: the one constant of the netlink API the sources need. */
#ifndef _WGSHIM_UAPI_LINUX_WIREGUARD_H
#define _WGSHIM_UAPI_LINUX_WIREGUARD_H

#define WG_KEY_LEN 32

#endif
