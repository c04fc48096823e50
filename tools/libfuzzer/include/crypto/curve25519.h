/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: only the key size (RFC 7748). */
#ifndef _WGSHIM_CRYPTO_CURVE25519_H
#define _WGSHIM_CRYPTO_CURVE25519_H

enum {
	CURVE25519_KEY_SIZE = 32,
};

#endif
