/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: an sk_buff is its protocol and a linear buffer with the
 * network header at an offset.
 */
#ifndef _WGSHIM_LINUX_SKBUFF_H
#define _WGSHIM_LINUX_SKBUFF_H

#include <linux/types.h>
#include <linux/kernel.h>

struct sk_buff {
	__be16 protocol;
	u16 network_header;
	unsigned char *head;
};

static inline unsigned char *skb_network_header(const struct sk_buff *skb)
{
	return skb->head + skb->network_header;
}

#endif
