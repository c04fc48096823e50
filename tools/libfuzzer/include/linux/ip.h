/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: the IPv4 header (RFC 791), options not included. */
#ifndef _WGSHIM_LINUX_IP_H
#define _WGSHIM_LINUX_IP_H

#include <linux/types.h>
#include <linux/skbuff.h>

struct iphdr {
	u8 version_ihl;
	u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	u8 ttl;
	u8 protocol;
	__sum16 check;
	__be32 saddr;
	__be32 daddr;
};
static_assert(offsetof(struct iphdr, saddr) == 12);
static_assert(offsetof(struct iphdr, daddr) == 16);

static inline struct iphdr *ip_hdr(const struct sk_buff *skb)
{
	return (struct iphdr *)skb_network_header(skb);
}

#endif
