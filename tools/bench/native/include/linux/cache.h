/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: cache-line alignment (x86-64's 64 bytes). */
#ifndef _QBSHIM_LINUX_CACHE_H
#define _QBSHIM_LINUX_CACHE_H

#define SMP_CACHE_BYTES			64
#define ____cacheline_aligned_in_smp \
	__attribute__((__aligned__(SMP_CACHE_BYTES)))

#endif
