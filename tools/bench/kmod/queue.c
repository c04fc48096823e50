// SPDX-License-Identifier: GPL-2.0
/*
 * wgmpsc's MPSC queue, compiled into the benchmark module from the
 * driver's own source file, which needs nothing but sk_buffs and atomics.
 */
#include "mpsc.c"	/* from the -I of Kbuild: wgmpsc's src/ */
