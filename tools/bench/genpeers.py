#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Writes a wg(8) setconf file with N peers, one /32 allowed IP each.

usage: genpeers.py N OUT [PRIVATE_KEY_FILE]

With PRIVATE_KEY_FILE the [Interface] section sets the device's private
key, as any real configuration does: a module may then do per-peer
Curve25519 work at configuration time (the static-static DH), and that
cost belongs in the measure.  Public keys are 32 random bytes, which
X25519 accepts as they are.  Allowed IPs are 10.0.0.0/8 addresses counting
up from 10.0.0.1, so N <= 2^24 - 2.  Prints three public keys spread over
the list (for the single-peer removals) on stdout.
"""
import base64
import os
import sys


def main():
    n = int(sys.argv[1])
    out = sys.argv[2]
    if not 0 < n < (1 << 24) - 1:
        sys.exit("N out of range")
    keys = [base64.b64encode(os.urandom(32)).decode() for _ in range(n)]
    lines = ["[Interface]\n"]
    if len(sys.argv) > 3:
        with open(sys.argv[3]) as f:
            lines.append("PrivateKey = %s\n" % f.read().strip())
    for i, key in enumerate(keys, 1):
        lines.append("[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32\n"
                     % (key, (i >> 16) & 255, (i >> 8) & 255, i & 255))
    with open(out, "w") as f:
        f.writelines(lines)
    # Peers spread over the table, for the single-peer removals.
    for i in (n // 2, n // 3, (2 * n) // 3):
        print(keys[i])


if __name__ == "__main__":
    main()
