#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""WireGuard handshake initiations for the handshake benchmark.

Written from the protocol description (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s
as the WireGuard paper instantiates it), with Debian's python3-cryptography
for X25519 and ChaCha20Poly1305 and hashlib for BLAKE2s.

  hsinit.py keys N OUT
      N initiator private keys (base64) to OUT, their public keys on stdout.
  hsinit.py gen RESPONDER_PUB KEYS COUNT OUT   (on the host)
      COUNT initiations, 148 bytes each, concatenated into OUT.  Message i
      comes from identity i mod len(KEYS), carries sender index i + 1 and a
      TAI64N timestamp that increases with i, starting at the current time.
  hsinit.py run MODE DST PORT MSGFILE DURATION [ARG]   (in the guest)
      MODE closed: ARG initiations (default 32) kept in flight; a new one
                   goes out for every response (matched by its receiver
                   index), or for one unanswered after 1 s.  Measures how
                   many initiations per second the responder fully
                   processes, below its under-load threshold.
      MODE flood:  open loop, as fast as Python sends (ARG: target
                   packets/s, 0 = unpaced), wrapping around the file.
    Prints one line of key=value pairs (sent, responses, cookies, seconds,
    responses_per_s, sent_per_s).

Each initiation is genuine, so the responder does the whole work: it
decrypts the initiator's static key with DH(S_r, E_i), looks the peer up,
decrypts and checks the timestamp (strictly newer per peer) and answers
with a response, generating an ephemeral key and doing two more DHs.
Generation happens on the host because Python under TCG manages only a few
hundred messages per second; per identity the ephemeral key, and all up to
the timestamp's AEAD key, is computed once (the responder keeps no record
of ephemerals, so that costs it nothing).  Identities are used round robin
so that no single peer exceeds the protocol's 50 initiations per second
per peer, past which a responder discards them.
"""
import base64
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "selftest"))
from noise_model import (HASH, LABEL_MAC1, MAC,  # noqa: E402
                         initiation_prefix)

TAI64_UNIX = 0x400000000000000A
MSG_INITIATION, MSG_RESPONSE, MSG_COOKIE = 1, 2, 3
INITIATION_LEN, RESPONSE_LEN, COOKIE_LEN = 148, 92, 64


class Identity:
    """One initiator peer, with its message prefix precomputed."""

    def __init__(self, static_private, responder_public):
        from cryptography.hazmat.primitives.ciphers.aead import (
            ChaCha20Poly1305)
        _, h, k, e_pub, encrypted_static = initiation_prefix(
            static_private, responder_public, os.urandom(32))
        # Reused for every message of this identity: only the timestamp
        # differs.
        self.timestamp_aead = ChaCha20Poly1305(k)
        self.hash = h
        self.middle = e_pub + encrypted_static

    def initiation(self, sender_index, mac1_key, tai64n):
        # type 1 (a little-endian u32: three reserved zero bytes follow),
        # sender index, ephemeral, encrypted static, encrypted timestamp.
        msg = (struct.pack("<II", MSG_INITIATION, sender_index) + self.middle
               + self.timestamp_aead.encrypt(bytes(12), tai64n, self.hash))
        return msg + MAC(mac1_key, msg) + bytes(16)  # no cookie: mac2 is zero


def raw_public(key):
    from cryptography.hazmat.primitives.serialization import (
        Encoding, PublicFormat)
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def cmd_keys(n, out):
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey)
    from cryptography.hazmat.primitives.serialization import (
        Encoding, NoEncryption, PrivateFormat)
    privs = [X25519PrivateKey.generate() for _ in range(n)]
    with open(out, "w") as f:
        for p in privs:
            raw = p.private_bytes(Encoding.Raw, PrivateFormat.Raw,
                                  NoEncryption())
            f.write(base64.b64encode(raw).decode() + "\n")
    for p in privs:
        print(base64.b64encode(raw_public(p)).decode())


def cmd_gen(responder_pub_b64, keys_file, count, out):
    responder_public = base64.b64decode(responder_pub_b64)
    with open(keys_file) as f:
        privs = [base64.b64decode(line.strip()) for line in f if line.strip()]
    ids = [Identity(p, responder_public) for p in privs]
    mac1_key = HASH(LABEL_MAC1 + responder_public)
    t0 = time.time_ns()
    with open(out, "wb") as f:
        for i in range(count):
            t = t0 + i * 1000  # strictly increasing per identity
            tai64n = struct.pack(">QI", TAI64_UNIX + t // 1000000000,
                                 t % 1000000000)
            f.write(ids[i % len(ids)].initiation(i + 1, mac1_key, tai64n))


def cmd_run(mode, dst, port, msg_file, duration, arg):
    with open(msg_file, "rb") as f:
        blob = memoryview(f.read())
    count = len(blob) // INITIATION_LEN

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    sock.bind(("0.0.0.0", 0))
    sock.connect((dst, port))
    sock.setblocking(False)

    sent = responses = cookies = other = send_errors = 0
    pending = {}  # sender index -> send time (closed loop)
    nxt = 0
    wrapped = False

    def send_one(now):
        nonlocal sent, nxt, send_errors, wrapped
        if nxt == count:
            if mode == "closed":
                # Replayed timestamps would go unanswered: stop instead.
                wrapped = True
                return
            nxt = 0
            wrapped = True
        msg = blob[nxt * INITIATION_LEN:(nxt + 1) * INITIATION_LEN]
        nxt += 1
        try:
            sock.send(msg)
        except (BlockingIOError, ConnectionRefusedError):
            send_errors += 1
            return
        sent += 1
        if mode == "closed":
            pending[nxt] = now  # message i has sender index i + 1

    def drain():
        nonlocal responses, cookies, other
        while True:
            try:
                data = sock.recv(2048)
            except (BlockingIOError, ConnectionRefusedError):
                return
            if len(data) == RESPONSE_LEN and data[0] == MSG_RESPONSE:
                receiver = struct.unpack_from("<I", data, 8)[0]
                if mode != "closed" or pending.pop(receiver, None) is not None:
                    responses += 1
            elif len(data) == COOKIE_LEN and data[0] == MSG_COOKIE:
                cookies += 1
                if mode == "closed":
                    pending.pop(struct.unpack_from("<I", data, 4)[0], None)
            else:
                other += 1

    start = time.monotonic()
    end = start + duration
    if mode == "closed":
        window = int(arg) if arg else 32
        while True:
            now = time.monotonic()
            if now >= end:
                break
            for idx in [i for i, t in pending.items() if now - t > 1.0]:
                del pending[idx]
            for _ in range(window - len(pending)):
                if wrapped:
                    break
                send_one(now)
            if wrapped and not pending:
                break
            select.select([sock], [], [], min(0.05, end - now))
            drain()
    else:
        rate = float(arg) if arg else 0.0
        while True:
            now = time.monotonic()
            if now >= end:
                break
            if rate > 0 and sent >= (now - start) * rate:
                select.select([sock], [], [], 0.001)
            else:
                for _ in range(32):
                    send_one(now)
            drain()
    # Late answers to what was sent in time still count.
    linger_end = time.monotonic() + 0.5
    while time.monotonic() < linger_end:
        select.select([sock], [], [], 0.05)
        drain()
    secs = time.monotonic() - start - 0.5
    print("mode=%s messages=%d wrapped=%d sent=%d responses=%d cookies=%d "
          "other=%d send_errors=%d seconds=%.3f responses_per_s=%.1f "
          "sent_per_s=%.1f"
          % (mode, count, wrapped, sent, responses, cookies, other,
             send_errors, secs, responses / secs, sent / secs))


def main():
    a = sys.argv
    if len(a) == 4 and a[1] == "keys":
        cmd_keys(int(a[2]), a[3])
    elif len(a) == 6 and a[1] == "gen":
        cmd_gen(a[2], a[3], int(a[4]), a[5])
    elif len(a) in (7, 8) and a[1] == "run":
        cmd_run(a[2], a[3], int(a[4]), a[5], float(a[6]),
                a[7] if len(a) > 7 else None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
