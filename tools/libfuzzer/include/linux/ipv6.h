/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: the fixed IPv6 header (RFC 8200). */
#ifndef _WGSHIM_LINUX_IPV6_H
#define _WGSHIM_LINUX_IPV6_H

#include <linux/types.h>
#include <linux/in6.h>
#include <linux/skbuff.h>

struct ipv6hdr {
	u8 version_tc;
	u8 tc_flow[3];
	__be16 payload_len;
	u8 nexthdr;
	u8 hop_limit;
	struct in6_addr saddr;
	struct in6_addr daddr;
};
static_assert(offsetof(struct ipv6hdr, saddr) == 8);
static_assert(offsetof(struct ipv6hdr, daddr) == 24);

static inline struct ipv6hdr *ipv6_hdr(const struct sk_buff *skb)
{
	return (struct ipv6hdr *)skb_network_header(skb);
}

#endif
