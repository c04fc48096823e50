/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: the EtherTypes the sources compare skb->protocol with. */
#ifndef _WGSHIM_LINUX_IF_ETHER_H
#define _WGSHIM_LINUX_IF_ETHER_H

#define ETH_P_IP	0x0800
#define ETH_P_ARP	0x0806
#define ETH_P_IPV6	0x86DD

#endif
