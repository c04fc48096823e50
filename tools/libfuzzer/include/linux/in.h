/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: an IPv4 address in network byte order. */
#ifndef _WGSHIM_LINUX_IN_H
#define _WGSHIM_LINUX_IN_H

#include <linux/types.h>
#include <linux/socket.h>

struct in_addr {
	__be32 s_addr;
};

#endif
