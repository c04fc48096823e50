/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The wire protocol of WireGuard (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s):
 * message layouts, lengths and the protocol's timing and counting limits.
 * These are facts of the protocol, shared by every implementation.
 *
 * All multi-byte fields are little endian.  Every message starts with a
 * 32-bit word whose low byte is the message type and whose other three
 * bytes are reserved and zero; comparing the whole word with
 * cpu_to_le32(type) checks both.  The layouts need no __packed: every
 * field is naturally aligned, and the static_asserts below pin the sizes.
 */
#ifndef _WG_MESSAGES_H
#define _WG_MESSAGES_H

#include <crypto/chacha20poly1305.h>
#include <crypto/curve25519.h>
#include <linux/bits.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/types.h>
#include <uapi/linux/wireguard.h>

enum noise_lengths {
	NOISE_PUBLIC_KEY_LEN = CURVE25519_KEY_SIZE,
	NOISE_SYMMETRIC_KEY_LEN = CHACHA20POLY1305_KEY_SIZE,
	NOISE_TIMESTAMP_LEN = 12,	/* TAI64N */
	NOISE_AUTHTAG_LEN = CHACHA20POLY1305_AUTHTAG_SIZE,
	NOISE_HASH_LEN = 32,		/* BLAKE2s-256 */
};

#define noise_encrypted_len(plain_len) ((plain_len) + NOISE_AUTHTAG_LEN)

enum wg_limits {
	/* Per device; keeps one netlink batch from exhausting memory. */
	MAX_PEERS_PER_DEVICE = 1U << 20,
};

enum wg_protocol_version {
	WG_PROTOCOL_VERSION = 1,
};

/*
 * Message counts per keypair (the paper, section 6.1).  Too wide for an
 * enum.  The sender rekeys after WG_REKEY_AFTER_MESSAGES and stops at
 * WG_REJECT_AFTER_MESSAGES = 2^64 - 2^13 - 1; the receiver accepts no
 * counter at or above it (src/replay.h).
 */
#define WG_REKEY_AFTER_MESSAGES		BIT_ULL(60)
#define WG_REJECT_AFTER_MESSAGES	(U64_MAX - (1ULL << 13))

/* Timers of the protocol, in seconds (the paper, section 6.1). */
enum wg_protocol_seconds {
	WG_REKEY_AFTER_TIME = 120,
	WG_REJECT_AFTER_TIME = 180,
	WG_REKEY_ATTEMPT_TIME = 90,
	WG_REKEY_TIMEOUT = 5,
	WG_KEEPALIVE_TIMEOUT = 10,
	/* The responder's cookie secret changes this often... */
	WG_COOKIE_SECRET_MAX_AGE = 120,
	/* ...so an initiator trusts a cookie this much less long. */
	WG_COOKIE_SECRET_LATENCY = 5,
};

enum wg_protocol_rates {
	/* Initiations accepted from one peer per second, at most. */
	WG_INITIATIONS_PER_SECOND = 50,
};

enum wg_message_type {
	WG_MESSAGE_INVALID = 0,
	WG_MESSAGE_HANDSHAKE_INITIATION = 1,
	WG_MESSAGE_HANDSHAKE_RESPONSE = 2,
	WG_MESSAGE_HANDSHAKE_COOKIE = 3,
	WG_MESSAGE_DATA = 4,
};

enum wg_cookie_lengths {
	/* Cookies, mac1 and mac2 are all keyed BLAKE2s-128. */
	WG_COOKIE_LEN = 16,
	WG_COOKIE_NONCE_LEN = XCHACHA20POLY1305_NONCE_SIZE,
};

struct wg_message_header {
	__le32 type;	/* enum wg_message_type; high bytes reserved, zero */
};

/* Closes both handshake messages; see cookie.h for how each is made. */
struct wg_message_macs {
	u8 mac1[WG_COOKIE_LEN];
	u8 mac2[WG_COOKIE_LEN];
};

struct wg_message_handshake_initiation {
	struct wg_message_header header;
	__le32 sender_index;
	u8 unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	u8 encrypted_static[noise_encrypted_len(NOISE_PUBLIC_KEY_LEN)];
	u8 encrypted_timestamp[noise_encrypted_len(NOISE_TIMESTAMP_LEN)];
	struct wg_message_macs macs;
};

struct wg_message_handshake_response {
	struct wg_message_header header;
	__le32 sender_index;
	__le32 receiver_index;
	u8 unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	u8 encrypted_nothing[noise_encrypted_len(0)];
	struct wg_message_macs macs;
};

struct wg_message_handshake_cookie {
	struct wg_message_header header;
	__le32 receiver_index;
	u8 nonce[WG_COOKIE_NONCE_LEN];
	u8 encrypted_cookie[noise_encrypted_len(WG_COOKIE_LEN)];
};

/*
 * Followed by the encrypted packet.  @counter is 8-aligned within the
 * message but an skb need not place it so: read it with get_unaligned().
 */
struct wg_message_data {
	struct wg_message_header header;
	__le32 receiver_index;
	__le64 counter;
	u8 encrypted_data[];
};

enum wg_message_lengths {
	WG_HANDSHAKE_INITIATION_LEN = 148,
	WG_HANDSHAKE_RESPONSE_LEN = 92,
	WG_HANDSHAKE_COOKIE_LEN = 64,
	WG_DATA_HEADER_LEN = 16,
};

static_assert(sizeof(struct wg_message_handshake_initiation) ==
	      WG_HANDSHAKE_INITIATION_LEN);
static_assert(sizeof(struct wg_message_handshake_response) ==
	      WG_HANDSHAKE_RESPONSE_LEN);
static_assert(sizeof(struct wg_message_handshake_cookie) ==
	      WG_HANDSHAKE_COOKIE_LEN);
static_assert(sizeof(struct wg_message_data) == WG_DATA_HEADER_LEN);
static_assert(sizeof(struct wg_message_macs) == 2 * WG_COOKIE_LEN);

/*
 * Outer headers a data packet adds: IPv4 or IPv6, UDP, the data header and
 * the Poly1305 tag.  1500 - 80 = 1420 is the default MTU.
 */
enum wg_overhead {
	WG_MESSAGE_MINIMUM_LEN = WG_DATA_HEADER_LEN + NOISE_AUTHTAG_LEN,
	WG_DEFAULT_MTU = 1420,
};

static_assert(WG_KEY_LEN == NOISE_PUBLIC_KEY_LEN);
static_assert(WG_KEY_LEN == NOISE_SYMMETRIC_KEY_LEN);

#endif /* _WG_MESSAGES_H */
