/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Protocol constants of WireGuard (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s).
 * These are facts of the wire protocol; the wire structs join them when the
 * handshake is implemented.
 */
#ifndef _WG_MESSAGES_H
#define _WG_MESSAGES_H

#include <linux/kernel.h>
#include <linux/types.h>
#include <uapi/linux/wireguard.h>

enum noise_lengths {
	NOISE_PUBLIC_KEY_LEN = 32,
	NOISE_SYMMETRIC_KEY_LEN = 32,
	NOISE_TIMESTAMP_LEN = 12,
	NOISE_AUTHTAG_LEN = 16,
	NOISE_HASH_LEN = 32,
};

enum wg_limits {
	/* Per device; keeps one netlink batch from exhausting memory. */
	MAX_PEERS_PER_DEVICE = 1U << 20,
};

enum wg_protocol_version {
	WG_PROTOCOL_VERSION = 1,
};

/* Outer headers a data packet adds: IPv4 or IPv6, UDP, the data header and
 * the Poly1305 tag.  1500 - 80 = 1420 is the default MTU.
 */
enum wg_overhead {
	WG_DATA_HEADER_LEN = 16,
	WG_MESSAGE_MINIMUM_LEN = WG_DATA_HEADER_LEN + NOISE_AUTHTAG_LEN,
	WG_DEFAULT_MTU = 1420,
};

static_assert(WG_KEY_LEN == NOISE_PUBLIC_KEY_LEN);
static_assert(WG_KEY_LEN == NOISE_SYMMETRIC_KEY_LEN);

#endif /* _WG_MESSAGES_H */
