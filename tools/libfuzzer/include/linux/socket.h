/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: address families (Linux values). */
#ifndef _WGSHIM_LINUX_SOCKET_H
#define _WGSHIM_LINUX_SOCKET_H

#define AF_INET		2
#define AF_INET6	10

#endif
