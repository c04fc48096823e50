// SPDX-License-Identifier: GPL-2.0
/*
 * wgmpsc: an independent, wire-compatible WireGuard implementation.
 *
 * Module init and exit.  Debug builds run the self-tests before anything is
 * registered, so a broken build never creates a device.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <net/genetlink.h>
#include <linux/module.h>
#include <net/rtnetlink.h>

#include "allowedips.h"
#include "cookie.h"
#include "device.h"
#include "netlink.h"
#include "noise.h"
#include "peer.h"
#include "queueing.h"
#include "ratelimiter.h"
#include "replay.h"
#include "timers.h"

static int __init wg_selftests(void)
{
#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
	if (!wg_allowedips_selftest())
		return -ENOTRECOVERABLE;
	/* Both need the peer cache: they build peers on fake devices. */
	if (!wg_noise_selftest() || !wg_cookie_selftest())
		return -ENOTRECOVERABLE;
	if (!wg_ratelimiter_selftest() || !wg_replay_selftest())
		return -ENOTRECOVERABLE;
	if (!wg_mpsc_selftest() || !wg_timers_selftest())
		return -ENOTRECOVERABLE;
#endif
	return 0;
}

static int __init wg_mod_init(void)
{
	int ret;

	ret = wg_allowedips_slab_init();
	if (ret)
		return ret;
	ret = wg_peer_cache_init();
	if (ret)
		goto err_allowedips_slab;
	/* After the caches they use, before anything users can reach. */
	ret = wg_selftests();
	if (ret)
		goto err_peer_cache;
	ret = wg_ratelimiter_init();
	if (ret)
		goto err_peer_cache;
	ret = wg_device_init();
	if (ret)
		goto err_ratelimiter;
	ret = wg_genetlink_init();
	if (ret)
		goto err_device;

	pr_info("WireGuard-compatible tunnel (lockless MPSC queues) loaded, version %s\n",
		WG_VERSION);
	return 0;

err_device:
	wg_device_uninit();
err_ratelimiter:
	wg_ratelimiter_uninit();
err_peer_cache:
	/* Self-tests free peers and nodes through RCU callbacks. */
	rcu_barrier();
	wg_peer_cache_uninit();
err_allowedips_slab:
	wg_allowedips_slab_uninit();
	return ret;
}

static void __exit wg_mod_exit(void)
{
	wg_genetlink_uninit();
	wg_device_uninit();
	wg_ratelimiter_uninit();
	/* Peers and nodes are freed by RCU callbacks that must run first. */
	rcu_barrier();
	wg_peer_cache_uninit();
	wg_allowedips_slab_uninit();
}

module_init(wg_mod_init);
module_exit(wg_mod_exit);
MODULE_LICENSE("GPL v2");
MODULE_DESCRIPTION("WireGuard-compatible secure network tunnel with MPSC queues");
MODULE_AUTHOR("The wgmpsc developers");
MODULE_VERSION(WG_VERSION);
MODULE_ALIAS_RTNL_LINK("wireguard");
MODULE_ALIAS_GENL_FAMILY(WG_GENL_NAME);
