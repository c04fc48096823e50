/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: an IPv6 address, 16 bytes in network order. */
#ifndef _WGSHIM_LINUX_IN6_H
#define _WGSHIM_LINUX_IN6_H

#include <linux/types.h>
#include <linux/socket.h>

struct in6_addr {
	union {
		u8 u6_addr8[16];
		__be16 u6_addr16[8];
		__be32 u6_addr32[4];
	} in6_u;
};
#define s6_addr		in6_u.u6_addr8
#define s6_addr32	in6_u.u6_addr32

#endif
