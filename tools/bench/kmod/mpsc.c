// SPDX-License-Identifier: GPL-2.0
/*
 * wgmpsc's queue implementation, compiled into the benchmark module from
 * the driver's own source file.  Only the wg_mpsc_* functions are used;
 * the rest of the file comes along and stays unused.
 */
#include "queueing.c"	/* from the -I of Kbuild: wgmpsc's src/ */

/*
 * queueing.c's ordered-list purge drops keypair references; the benchmark
 * never calls it, but the module must link without wgmpsc.ko.
 */
void wg_noise_keypair_put(struct wg_noise_keypair *keypair)
{
	WARN_ON_ONCE(keypair);
}
