/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: an sk_buff of the kernel's size (232 bytes on x86-64
 * since 5.x) with its list links first, where src/mpsc.c and the stub it
 * aliases expect them, and the fields a driver touches per packet at
 * about the kernel's offsets (6.12): the timestamp and the control block
 * in the first two cache lines, len in the second, the buffer pointers
 * in the fourth.  The rest is padding: nothing here reads it, but it
 * keeps a pool of these as sparse in the caches as real ones.
 */
#ifndef _QBSHIM_LINUX_SKBUFF_H
#define _QBSHIM_LINUX_SKBUFF_H

#include <linux/types.h>
#include <linux/build_bug.h>
#include <linux/stddef.h>

struct sk_buff {
	struct sk_buff *next;
	struct sk_buff *prev;
	void *dev;
	void *sk;
	u64 tstamp;
	char cb[48] __attribute__((__aligned__(8)));
	unsigned long _skb_refdst;
	void (*destructor)(struct sk_buff *skb);
	unsigned long _nfct;
	unsigned int len;
	unsigned int data_len;
	u16 mac_len;
	u16 hdr_len;
	u8 __qbshim_middle[76];
	unsigned int tail;
	unsigned int end;
	unsigned char *head;
	unsigned char *data;
	unsigned int truesize;
	int users;
};

static_assert(offsetof(struct sk_buff, next) == 0);
static_assert(offsetof(struct sk_buff, prev) == sizeof(void *));
static_assert(offsetof(struct sk_buff, len) == 112);
static_assert(sizeof(struct sk_buff) == 232);

#endif
