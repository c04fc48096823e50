#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Helpers for tests/datapath.sh, standard library only.

  iperf FILE [--udp] [--resumed-after S]
      Checks an `iperf3 -J` report: no error, bytes received > 0 and, for
      TCP, no interval of at least half a second at 0 bits/s; with
      --resumed-after, instead, some interval starting S seconds or later
      is above 0.  Prints one summary line (rates are information, never
      asserted); exits 1 on a failed check with the reasons on stdout.

  ctflush
      Flushes the IPv4 conntrack table of the current namespace through
      ctnetlink (conntrack(8) is not installed).

  flood --dst ADDR:PORT --pubkey B64 --sources N --seconds S [--rate PPS]
        [--hot H --hot-factor F]
      Sends WireGuard handshake initiations (148 bytes, type 1, random
      body) with a valid mac1 for the responder's public key, round robin
      from N loopback sources 127.77.x.y; the first H of them ("hot") send
      F at a time.  Every cookie reply that comes back is decrypted and
      checked (XChaCha20-Poly1305, AAD = the mac1 it answers); from then on
      that source sends the same initiation with mac2 = MAC(cookie,
      msg[:132]).  Prints a JSON summary.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import select
import socket
import struct
import sys
import time


def cmd_iperf(args):
    try:
        with open(args.file) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        print(f"no usable iperf3 JSON in {args.file}: {e}")
        return 1
    problems = []
    if report.get("error"):
        problems.append(f"iperf3 error: {report['error']}")
    end = report.get("end", {})
    received = end.get("sum_received", {}).get("bytes", 0)
    if not received > 0:
        problems.append(f"bytes received: {received}")
    rates = []
    for interval in report.get("intervals", []):
        s = interval.get("sum", {})
        if s.get("omitted"):
            continue
        rates.append((s.get("start", 0), s.get("seconds", 0),
                      s.get("bits_per_second", 0)))
    counted = [r for r in rates if r[1] >= 0.5]
    if not counted:
        problems.append("no interval of 0.5 s or more")
    zero = [r for r in counted if r[2] <= 0]
    if args.resumed_after is not None:
        if not any(r[2] > 0 for r in rates if r[0] >= args.resumed_after):
            problems.append("no data in any interval starting at or after "
                            f"{args.resumed_after:.1f}s")
    elif not args.udp and zero:
        problems.append("intervals at 0 bits/s starting at " +
                        ", ".join(f"{r[0]:.1f}s" for r in zero))
    streams = ""
    if not args.udp and report.get("intervals"):
        # Per-stream stalls, for information (the sum is what is asserted).
        nstreams = len(report["intervals"][0].get("streams", []))
        if nstreams > 1:
            stalled = sum(1 for i in report["intervals"]
                          for st in i.get("streams", [])
                          if st.get("seconds", 0) >= 0.5 and
                          st.get("bits_per_second", 0) <= 0)
            streams = f", {nstreams} streams, {stalled} stream-intervals at 0"
    mbit = [f"{r[2] / 1e6:.1f}" for r in rates]
    extra = ""
    if args.udp:
        lost = end.get("sum_received", end.get("sum", {})).get("lost_percent")
        if lost is not None:
            extra = f", {lost:.1f}% lost"
    print(f"{received / 1e6:.2f} MB received, "
          f"min {min((r[2] for r in counted), default=0) / 1e6:.2f} Mbit/s "
          f"over {len(counted)} intervals{streams}{extra}; "
          f"Mbit/s: {' '.join(mbit)}")
    for p in problems:
        print(p)
    return 1 if problems else 0


def cmd_ctflush(_args):
    netlink_netfilter = 12
    nfnl_subsys_ctnetlink, ipctnl_msg_ct_delete = 1, 2
    nlm_f_request, nlm_f_ack = 1, 4
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, netlink_netfilter)
    body = struct.pack("=BBH", socket.AF_INET, 0, 0)  # struct nfgenmsg
    msg = struct.pack("=IHHII", 16 + len(body),
                      (nfnl_subsys_ctnetlink << 8) | ipctnl_msg_ct_delete,
                      nlm_f_request | nlm_f_ack, 1, 0) + body
    s.send(msg)
    reply = s.recv(4096)
    _, mtype, _, _, _ = struct.unpack_from("=IHHII", reply)
    if mtype != 2:  # NLMSG_ERROR carries the ack
        print(f"unexpected netlink reply type {mtype}")
        return 1
    (err,) = struct.unpack_from("=i", reply, 16)
    if err:
        print(f"conntrack flush failed: {os.strerror(-err)}")
        return 1
    return 0


# XChaCha20-Poly1305 (decryption only), enough to read a cookie reply.
M32 = 0xFFFFFFFF
SIGMA = struct.unpack("<4I", b"expand 32-byte k")


def _rotl(v, c):
    return ((v << c) & M32) | (v >> (32 - c))


def _rounds(x):
    def qr(a, b, c, d):
        x[a] = (x[a] + x[b]) & M32
        x[d] = _rotl(x[d] ^ x[a], 16)
        x[c] = (x[c] + x[d]) & M32
        x[b] = _rotl(x[b] ^ x[c], 12)
        x[a] = (x[a] + x[b]) & M32
        x[d] = _rotl(x[d] ^ x[a], 8)
        x[c] = (x[c] + x[d]) & M32
        x[b] = _rotl(x[b] ^ x[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12)
        qr(1, 5, 9, 13)
        qr(2, 6, 10, 14)
        qr(3, 7, 11, 15)
        qr(0, 5, 10, 15)
        qr(1, 6, 11, 12)
        qr(2, 7, 8, 13)
        qr(3, 4, 9, 14)


def _chacha20_block(key, counter, nonce12):
    state = list(SIGMA) + list(struct.unpack("<8I", key)) + [counter] + \
        list(struct.unpack("<3I", nonce12))
    x = state[:]
    _rounds(x)
    return struct.pack("<16I", *[(a + b) & M32 for a, b in zip(x, state)])


def _hchacha20(key, nonce16):
    x = list(SIGMA) + list(struct.unpack("<8I", key)) + \
        list(struct.unpack("<4I", nonce16))
    _rounds(x)
    return struct.pack("<8I", *(x[0:4] + x[12:16]))


def _poly1305(key, msg):
    r = int.from_bytes(key[:16], "little") & \
        0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:32], "little")
    p = (1 << 130) - 5
    acc = 0
    for i in range(0, len(msg), 16):
        acc = (acc + int.from_bytes(msg[i:i + 16] + b"\x01", "little")) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def xchacha20poly1305_decrypt(key, nonce24, sealed, aad):
    """The plaintext, or None when the tag does not verify."""
    subkey = _hchacha20(key, nonce24[:16])
    nonce12 = b"\0\0\0\0" + nonce24[16:24]
    ct, tag = sealed[:-16], sealed[-16:]

    def pad16(b):
        return b + b"\0" * (-len(b) % 16)

    mac = _poly1305(_chacha20_block(subkey, 0, nonce12)[:32],
                    pad16(aad) + pad16(ct) +
                    struct.pack("<QQ", len(aad), len(ct)))
    if not hmac.compare_digest(mac, tag):
        return None
    stream = b"".join(_chacha20_block(subkey, 1 + i, nonce12)
                      for i in range((len(ct) + 63) // 64))
    return bytes(a ^ b for a, b in zip(ct, stream))


def _mac(key, data):
    return hashlib.blake2s(data, digest_size=16, key=key).digest()


def cmd_flood(args):
    host, port = args.dst.rsplit(":", 1)
    dst = (host, int(port))
    pub = base64.b64decode(args.pubkey)
    if len(pub) != 32:
        print("public key must be 32 bytes")
        return 1
    mac1_key = hashlib.blake2s(b"mac1----" + pub).digest()
    cookie_key = hashlib.blake2s(b"cookie--" + pub).digest()

    sources = []
    poller = select.epoll()
    for i in range(args.sources):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.bind((f"127.77.{i // 200}.{i % 200 + 1}", 0))
        # type 1 with zero reserved bytes, sender index, then ephemeral,
        # encrypted static and timestamp: random, as a flood's would be.
        body = struct.pack("<II", 1, i + 1) + os.urandom(108)
        mac1 = _mac(mac1_key, body)
        sources.append({"sock": s, "mac1": mac1, "body": body,
                        "msg": body + mac1 + bytes(16), "cookie": False})
        poller.register(s.fileno(), select.EPOLLIN)
    by_fd = {src["sock"].fileno(): src for src in sources}
    stats = {"sent": 0, "sent_with_mac2": 0, "send_errors": 0,
             "cookie_replies": 0, "cookies_valid": 0, "cookies_invalid": 0,
             "other_replies": 0, "sources": len(sources),
             "hot": args.hot, "hot_factor": args.hot_factor}

    def drain():
        for fd, _ in poller.poll(0):
            src = by_fd[fd]
            while True:
                try:
                    data = src["sock"].recv(2048)
                except BlockingIOError:
                    break
                except OSError:
                    break
                if len(data) != 64 or data[:4] != b"\x03\0\0\0":
                    stats["other_replies"] += 1
                    continue
                stats["cookie_replies"] += 1
                if src["cookie"]:
                    continue  # one is enough per source
                cookie = xchacha20poly1305_decrypt(cookie_key, data[8:32],
                                                   data[32:64], src["mac1"])
                if cookie is None:
                    stats["cookies_invalid"] += 1
                    continue
                stats["cookies_valid"] += 1
                first = src["body"] + src["mac1"]
                src["msg"] = first + _mac(cookie, first)
                src["cookie"] = True

    start = time.monotonic()
    deadline = start + args.seconds
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        for n, src in enumerate(sources):
            for _ in range(args.hot_factor if n < args.hot else 1):
                try:
                    src["sock"].sendto(src["msg"], dst)
                    stats["sent"] += 1
                    stats["sent_with_mac2"] += src["cookie"]
                except OSError:
                    stats["send_errors"] += 1
        drain()
        if args.rate:
            ahead = stats["sent"] / args.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(min(ahead, 0.1))
    time.sleep(0.2)
    drain()
    stats["seconds"] = round(time.monotonic() - start, 2)
    stats["pps"] = round(stats["sent"] / stats["seconds"])
    print(json.dumps(stats, sort_keys=True))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("iperf")
    p.add_argument("file")
    p.add_argument("--udp", action="store_true")
    p.add_argument("--resumed-after", type=float)
    p.set_defaults(fn=cmd_iperf)
    p = sub.add_parser("ctflush")
    p.set_defaults(fn=cmd_ctflush)
    p = sub.add_parser("flood")
    p.add_argument("--dst", required=True)
    p.add_argument("--pubkey", required=True)
    p.add_argument("--sources", type=int, default=128)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--rate", type=float, default=0)
    p.add_argument("--hot", type=int, default=0)
    p.add_argument("--hot-factor", type=int, default=1)
    p.set_defaults(fn=cmd_flood)
    args = parser.parse_args()
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
