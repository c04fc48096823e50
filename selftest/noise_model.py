#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# An independent model of WireGuard's Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s,
# following the WireGuard paper, on Python's hashlib.blake2s and hmac and
# the 'cryptography' package's X25519 and ChaCha20-Poly1305.  Shared by
# selftest/noise_vectors.py (the self-tests' known answers) and
# tools/bench/hsinit.py (initiations for the handshake benchmark).  Nothing
# here is derived from the kernel code it checks.

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey, X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"


def HASH(x):
    return hashlib.blake2s(x).digest()


def MAC(key, x):
    return hashlib.blake2s(x, key=key, digest_size=16).digest()


def HMAC(key, x):
    return hmac.new(key, x, hashlib.blake2s).digest()


def KDF(n, key, x):
    t0 = HMAC(key, x)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev + bytes([i]))
        out.append(prev)
    return out


def pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def DH(priv, pubkey):
    return X25519PrivateKey.from_private_bytes(priv).exchange(
        X25519PublicKey.from_public_bytes(pubkey))


def AEAD(key, counter, plain, aad):
    return ChaCha20Poly1305(key).encrypt(b"\0" * 4 + struct.pack("<Q", counter),
                                         plain, aad)


def initiation_prefix(s_priv_i, s_pub_r, e_priv_i):
    """The initiator's steps up to its timestamp: (ck, h, k, e_pub_i,
    encrypted static); k encrypts the timestamp, with h as associated
    data."""
    s_pub_i, e_pub_i = pub(s_priv_i), pub(e_priv_i)
    ck = HASH(CONSTRUCTION)
    h = HASH(ck + IDENTIFIER)
    h = HASH(h + s_pub_r)
    (ck,) = KDF(1, ck, e_pub_i)                     # e
    h = HASH(h + e_pub_i)
    ck, k = KDF(2, ck, DH(e_priv_i, s_pub_r))       # es
    enc_static = AEAD(k, 0, s_pub_i, h)             # s
    h = HASH(h + enc_static)
    ck, k = KDF(2, ck, DH(s_priv_i, s_pub_r))       # ss
    return ck, h, k, e_pub_i, enc_static
