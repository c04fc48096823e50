/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: cpu_relax(), the spin-wait hint. */
#ifndef _QBSHIM_ASM_PROCESSOR_H
#define _QBSHIM_ASM_PROCESSOR_H

#include <asm/barrier.h>

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax()	__builtin_ia32_pause()
#else
#define cpu_relax()	barrier()
#endif

#endif
