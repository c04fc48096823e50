/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Devices without a net_device for the handshake self-tests: the noise
 * and cookie code only need a device's identity, cookie checker and
 * lookup tables (see the interface in noise.h).  Peers are created and
 * removed with the real peer code, so index-table and keypair cleanup are
 * exercised exactly as for a real device, and wg_index_table_destroy()
 * warns about anything left behind.
 */
#ifndef _WG_SELFTEST_FAKE_DEVICE_H
#define _WG_SELFTEST_FAKE_DEVICE_H

#include <linux/err.h>
#include <linux/slab.h>

#include "allowedips.h"
#include "cookie.h"
#include "device.h"
#include "noise.h"
#include "peer.h"
#include "peerlookup.h"

/* @private_key NULL: a random one. */
static inline struct wg_device *wg_fake_device_create(const u8 *private_key)
{
	u8 key[NOISE_PUBLIC_KEY_LEN];
	struct wg_device *wg;

	wg = kzalloc(sizeof(*wg), GFP_KERNEL);
	if (!wg)
		return NULL;
	INIT_LIST_HEAD(&wg->device_list);
	INIT_LIST_HEAD(&wg->peer_list);
	mutex_init(&wg->device_update_lock);
	init_rwsem(&wg->static_identity.lock);
	wg_cookie_checker_init(&wg->cookie_checker);
	wg_allowedips_init(&wg->peer_allowedips);
	if (wg_pubkey_table_init(wg))
		goto err_free;
	if (wg_index_table_init(wg))
		goto err_pubkey_table;

	if (private_key)
		memcpy(key, private_key, sizeof(key));
	else
		curve25519_generate_secret(key);
	down_write(&wg->static_identity.lock);
	wg_noise_static_identity_set(&wg->static_identity, key);
	wg_cookie_checker_set_public_key(&wg->cookie_checker,
					 wg->static_identity.static_public);
	up_write(&wg->static_identity.lock);
	memzero_explicit(key, sizeof(key));
	return wg;

err_pubkey_table:
	wg_pubkey_table_destroy(wg);
err_free:
	kfree(wg);
	return NULL;
}

/* The peer belongs to @wg, which holds its reference. */
static inline struct wg_peer *wg_fake_peer_add(struct wg_device *wg,
					       const u8 *public_key,
					       const u8 *preshared_key)
{
	struct wg_peer *peer;

	mutex_lock(&wg->device_update_lock);
	peer = wg_peer_create(wg, public_key, preshared_key);
	mutex_unlock(&wg->device_update_lock);
	return IS_ERR(peer) ? NULL : peer;
}

static inline void wg_fake_device_destroy(struct wg_device *wg)
{
	if (!wg)
		return;
	mutex_lock(&wg->device_update_lock);
	wg_peer_remove_all(wg);
	down_write(&wg->static_identity.lock);
	wg_noise_static_identity_set(&wg->static_identity, NULL);
	up_write(&wg->static_identity.lock);
	wg_cookie_checker_wipe(&wg->cookie_checker);
	mutex_unlock(&wg->device_update_lock);
	wg_index_table_destroy(wg);
	wg_pubkey_table_destroy(wg);
	mutex_destroy(&wg->device_update_lock);
	kfree(wg);
}

/*
 * Two devices that know each other, @a as the initiator: a_peer is how
 * @a sees @b and b_peer how @b sees @a.
 */
struct wg_fake_pair {
	struct wg_device *a, *b;
	struct wg_peer *a_peer, *b_peer;
};

static inline bool wg_fake_pair_create(struct wg_fake_pair *pair,
				       const u8 *private_a, const u8 *private_b,
				       const u8 *preshared_key)
{
	memset(pair, 0, sizeof(*pair));
	pair->a = wg_fake_device_create(private_a);
	pair->b = wg_fake_device_create(private_b);
	if (!pair->a || !pair->b)
		return false;
	pair->a_peer = wg_fake_peer_add(pair->a,
					pair->b->static_identity.static_public,
					preshared_key);
	pair->b_peer = wg_fake_peer_add(pair->b,
					pair->a->static_identity.static_public,
					preshared_key);
	return pair->a_peer && pair->b_peer;
}

static inline void wg_fake_pair_destroy(struct wg_fake_pair *pair)
{
	wg_fake_device_destroy(pair->a);
	wg_fake_device_destroy(pair->b);
	memset(pair, 0, sizeof(*pair));
}

#endif /* _WG_SELFTEST_FAKE_DEVICE_H */
