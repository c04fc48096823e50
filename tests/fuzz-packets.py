#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Receive-path fuzzer for tests/fuzz.sh, standard library only.

Runs in the namespace that carries a live tunnel's outer UDP over its
loopback (fz-mid in tests/fuzz.sh).  It sniffs the tunnel's own packets
(AF_PACKET on lo, a classic BPF filter keeps only those sent from the
tunnel's ports) and, phase after phase, sends the devices' listening ports
malformed and mutated messages from random sources 127.a.b.c and fd77::/64,
through raw sockets (IP_HDRINCL, sendmmsg through ctypes).  One phase is
one category of packet:

  invalid        unknown types, non-zero reserved bytes, every type at a
                 wrong length, data shorter than header + tag, empty
  hs-garbage     initiations (148) and responses (92), random bodies
  cookie-garbage cookie replies (64), random, some with live indices
  data-unknown   data to receiver indices the devices never handed out;
                 some are big and sent as IPv4 fragments
  data-garbage   data to a live receiver index, random counter and body
  data-exhausted the same with a counter past REJECT_AFTER_MESSAGES
  data-huge      the same, 16-64 KiB long, in IPv4 fragments of 256 bytes
  replay         captured data packets again, in shuffled bursts
  stale          captured data packets of sessions that have ended since
  mutated        captured data packets with a flipped bit, truncated or
                 extended
  hs-replay      captured handshake messages again (some with mac2
                 changed) and initiations with a valid mac1, random body

After each phase it waits for the devices to finish with the packets and
checks their `ethtool -S` counters: the category's counter must account
for every packet sent, allowing only documented diversions (a full
handshake backlog or receive queue, a session that expired meanwhile) and
the live tunnel's own packets sniffed during the phase (which must be
nothing on a clean loopback, but may be what the backlog refused).
Packets lost before the device are measured (softnet drops, IP and UDP
errors of this namespace) and only they are subtracted.

Prints "RESULT ok|fail NAME" lines (tests/fuzz.sh makes them TAP), "#"
diagnostics, and a JSON summary as the last line.
"""

import argparse
import ctypes
import ctypes.util
import hashlib
import json
import os
import random
import socket
import struct
import sys
import time
from array import array

COUNTERS = ["handshake_backlog_full", "handshake_invalid_mac",
            "handshake_invalid", "handshake_ratelimited",
            "cookie_replies_sent", "rx_invalid_message", "rx_no_keypair",
            "rx_bad_mac", "rx_replay", "rx_queue_full", "rx_crypt_ring_full",
            "rx_nomem", "rx_allowedips_mismatch"]
# Where a data message may go instead of its own cause: a full receive
# queue or decryption ring, a session that expired meanwhile.
FULL = ["rx_queue_full", "rx_crypt_ring_full"]
REJECT_AFTER_MESSAGES = (1 << 64) - (1 << 13) - 1

# category -> (primary counter, allowed diversions)
CATEGORIES = {
    "invalid": ("rx_invalid_message", []),
    "hs-garbage": ("handshake_invalid_mac", ["handshake_backlog_full"]),
    "cookie-garbage": ("handshake_invalid", ["handshake_backlog_full"]),
    "data-unknown": ("rx_no_keypair", []),
    "data-garbage": ("rx_bad_mac", FULL + ["rx_no_keypair"]),
    # A counter at or past REJECT_AFTER_MESSAGES: the session is spent.
    "data-exhausted": ("rx_no_keypair", FULL),
    "data-huge": ("rx_bad_mac", FULL + ["rx_no_keypair"]),
    "replay": ("rx_replay", FULL + ["rx_no_keypair", "rx_bad_mac"]),
    "mutated": ("rx_bad_mac", FULL + ["rx_no_keypair"]),
    # A session that ended is forgotten (no keypair) or, while kept as the
    # previous one, expired (bad MAC) or still valid (replay).
    "stale": ("rx_no_keypair", FULL + ["rx_bad_mac", "rx_replay"]),
    "hs-replay": ("handshake_invalid", ["handshake_backlog_full",
                                        "cookie_replies_sent",
                                        "handshake_ratelimited"]),
}
# Shares of the packets, and the size of one phase.
WEIGHTS = {"invalid": 24, "hs-garbage": 14, "cookie-garbage": 10,
           "data-unknown": 20, "data-garbage": 12, "data-exhausted": 2,
           "data-huge": 1, "replay": 9,
           "mutated": 8, "stale": 3, "hs-replay": 1}
PHASE_SIZE = {"hs-replay": 300, "data-huge": 200}

SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_ATTACH_FILTER = 26
ETH_P_ALL = 0x0003


# --- sending: raw sockets and sendmmsg ---------------------------------

class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(IoVec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class MMsgHdr(ctypes.Structure):
    _fields_ = [("hdr", MsgHdr), ("len", ctypes.c_uint)]


LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class Sender:
    """Raw IPv4 and IPv6 sockets connected to the loopback; send() takes a
    list of (family, ip-datagram) and returns how many went out."""

    BATCH = 256

    def __init__(self):
        self.s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.s4.setsockopt(socket.SOL_IP, socket.IP_HDRINCL, 1)
        self.s4.connect(("127.0.0.1", 0))
        self.s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.s6.connect(("::1", 0))
        for s in (self.s4, self.s6):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
        self.errors = {}

    def _sendmmsg(self, sock, pkts):
        sent = 0
        while sent < len(pkts):
            chunk = pkts[sent:sent + self.BATCH]
            blob = ctypes.create_string_buffer(b"".join(chunk), sum(map(len, chunk)))
            base = ctypes.addressof(blob)
            iovs = (IoVec * len(chunk))()
            msgs = (MMsgHdr * len(chunk))()
            off = 0
            for i, p in enumerate(chunk):
                iovs[i].base = base + off
                iovs[i].len = len(p)
                msgs[i].hdr.iov = ctypes.pointer(iovs[i])
                msgs[i].hdr.iovlen = 1
                off += len(p)
            n = LIBC.sendmmsg(sock.fileno(), msgs, len(chunk), 0)
            if n < 0:
                err = ctypes.get_errno()
                name = os.strerror(err)
                self.errors[name] = self.errors.get(name, 0) + 1
                if self.errors[name] > 10000:
                    raise OSError(err, "sendmmsg keeps failing: " + name)
                time.sleep(0.01)
                continue
            sent += n
        return sent

    def send(self, items):
        """items: (family, datagram, units); units counts the messages a
        datagram stands for (fragments of one message: 1 for the first,
        0 for the others)."""
        v4 = [d for f, d, _ in items if f == 4]
        v6 = [d for f, d, _ in items if f == 6]
        if v4:
            self._sendmmsg(self.s4, v4)
        if v6:
            self._sendmmsg(self.s6, v6)
        return sum(u for _, _, u in items)


def csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(array("H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


class Packets:
    """Builds IP/UDP datagrams from random sources to the loopback."""

    def __init__(self, rng, avoid_ports):
        self.rng = rng
        self.avoid = set(avoid_ports)
        self.ip_id = rng.randrange(1, 65536)
        self.sources = set()

    def sport(self):
        while True:
            p = self.rng.randrange(1024, 65536)
            if p not in self.avoid:
                return p

    def src4(self):
        a = bytes([127, self.rng.randrange(1, 255), self.rng.randrange(256),
                   self.rng.randrange(1, 255)])
        self.sources.add(a)
        return a

    def src6(self):
        a = b"\xfd\x77" + bytes(6) + self.rng.randbytes(8)
        self.sources.add(a)
        return a

    def v4(self, dport, payload, fragment=0):
        """One UDP message; with fragment=N, as IPv4 fragments of about N
        bytes (so reassembly hands the device a non-linear skb)."""
        src = self.src4()
        udp = struct.pack("!HHHH", self.sport(), dport, 8 + len(payload), 0) + payload
        dst = b"\x7f\0\0\x01"
        if not fragment or len(udp) <= fragment:
            hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0,
                              64, 17, 0, src, dst)
            return [(4, hdr + udp, 1)]
        self.ip_id = self.ip_id % 65535 + 1
        step = fragment & ~7
        out = []
        for off in range(0, len(udp), step):
            part = udp[off:off + step]
            mf = 0x2000 if off + step < len(udp) else 0
            hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(part),
                              self.ip_id, mf | (off >> 3), 64, 17, 0, src, dst)
            out.append((4, hdr + part, 1 if off == 0 else 0))
        return out

    def v6(self, dport, payload):
        src = self.src6()
        dst = socket.inet_pton(socket.AF_INET6, "::1")
        length = 8 + len(payload)
        udp = struct.pack("!HHHH", self.sport(), dport, length, 0) + payload
        pseudo = src + dst + struct.pack("!IxxxB", length, 17)
        c = csum(pseudo + udp) or 0xffff
        udp = udp[:6] + struct.pack("=H", c) + udp[8:]
        hdr = struct.pack("!IHBB", 6 << 28, length, 17, 64) + src + dst
        return [(6, hdr + udp, 1)]


# --- sniffing the live tunnel ------------------------------------------

def bpf(code):
    prog = b"".join(struct.pack("=HBBI", *insn) for insn in code)
    buf = ctypes.create_string_buffer(prog, len(prog))
    return buf, struct.pack("=HxxxxxxQ", len(code), ctypes.addressof(buf))


class Sniffer:
    """Received (not outgoing) UDP from the tunnel's ports on lo."""

    def __init__(self, ports):
        p1, p2 = ports
        # ld pkttype; == HOST?  ldh proto: v4 -> udp, sport (IHL 5);
        # v6 -> udp, sport.  Anything else is not copied at all.
        ld_w, ldh, ldb, jeq, ja, ret = 0x20, 0x28, 0x30, 0x15, 0x05, 0x06
        code = [
            (ld_w, 0, 0, (-0x1000 + 4) & 0xffffffff),   # 0 SKF_AD_PKTTYPE
            (jeq, 0, 12, 0),                             # 1 HOST, else drop
            (ldh, 0, 0, 12),                             # 2 ethertype
            (jeq, 0, 4, 0x0800),                         # 3 IPv4, else 8
            (ldb, 0, 0, 23),                             # 4 protocol
            (jeq, 0, 8, 17),                             # 5 UDP, else drop
            (ldh, 0, 0, 34),                             # 6 source port
            (ja, 0, 0, 4),                               # 7 to 12
            (jeq, 0, 5, 0x86dd),                         # 8 IPv6, else drop
            (ldb, 0, 0, 20),                             # 9 next header
            (jeq, 0, 3, 17),                             # 10 UDP, else drop
            (ldh, 0, 0, 54),                             # 11 source port
            (jeq, 2, 0, p1),                             # 12
            (jeq, 1, 0, p2),                             # 13
            (ret, 0, 0, 0),                              # 14 drop
            (ret, 0, 0, 0x40000),                        # 15 accept
        ]
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._buf, fprog = bpf(code)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        # FORCE: past net.core.rmem_max, which would leave a few hundred
        # kilobytes, too few for a phase's worth of live packets on lo.
        self.sock.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)    # SO_RCVBUFFORCE
        self.sock.bind(("lo", 0))
        self.sock.setblocking(False)
        self.packets = []   # (time, dport, payload)
        self.lost = 0

    def drain(self):
        got = []
        while True:
            try:
                frame, addr = self.sock.recvfrom(70000)
            except BlockingIOError:
                break
            if addr[2] != 0 or len(frame) < 14:
                continue
            eth = struct.unpack_from("!H", frame, 12)[0]
            if eth == 0x0800:
                ihl = (frame[14] & 15) * 4
                off = 14 + ihl
            elif eth == 0x86dd and frame[20] == 17:
                off = 54
            else:
                continue
            sport, dport = struct.unpack_from("!HH", frame, off)
            got.append((time.monotonic(), dport, bytes(frame[off + 8:])))
        stats = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        self.lost += struct.unpack("=II", stats)[1]
        self.packets.extend(got)
        # Only recent ones are of use.
        if len(self.packets) > 20000:
            del self.packets[:-10000]
        return got


# --- counters ----------------------------------------------------------

SIOCETHTOOL = 0x8946
ETHTOOL_GDRVINFO, ETHTOOL_GSTRINGS, ETHTOOL_GSTATS = 0x03, 0x1b, 0x1d
ETH_SS_STATS = 1
CLONE_NEWNET = 0x40000000


class Ethtool:
    """`ethtool -S` of a device in another namespace, through SIOCETHTOOL
    on a socket opened there (a socket keeps its namespace): far cheaper
    than running ethtool(8) after every phase."""

    def __init__(self, ns, dev):
        import fcntl
        self.fcntl = fcntl
        self.dev = dev
        here = os.open("/proc/self/ns/net", os.O_RDONLY)
        there = os.open("/run/netns/" + ns, os.O_RDONLY)
        try:
            if LIBC.setns(there, CLONE_NEWNET):
                raise OSError(ctypes.get_errno(), "setns " + ns)
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        finally:
            if LIBC.setns(here, CLONE_NEWNET):
                raise OSError(ctypes.get_errno(), "setns back")
            os.close(here)
            os.close(there)
        info = self._ioctl(struct.pack("=I", ETHTOOL_GDRVINFO) + bytes(192))
        self.n = struct.unpack_from("=I", info, 180)[0]
        raw = self._ioctl(struct.pack("=III", ETHTOOL_GSTRINGS, ETH_SS_STATS, self.n)
                          + bytes(32 * self.n))
        self.names = [raw[12 + 32 * i:12 + 32 * (i + 1)].split(b"\0")[0].decode()
                      for i in range(self.n)]
        missing = [c for c in COUNTERS if c not in self.names]
        if missing:
            raise RuntimeError("ethtool -S %s lacks %s" % (dev, missing))

    def _ioctl(self, request):
        buf = ctypes.create_string_buffer(request, len(request))
        ifreq = struct.pack("=16sQ16x", self.dev.encode(), ctypes.addressof(buf))
        self.fcntl.ioctl(self.sock.fileno(), SIOCETHTOOL, ifreq)
        return buf.raw

    def read(self):
        raw = self._ioctl(struct.pack("=II", ETHTOOL_GSTATS, self.n) + bytes(8 * self.n))
        vals = dict(zip(self.names, struct.unpack_from("=%dQ" % self.n, raw, 8)))
        return {c: vals[c] for c in COUNTERS}


def lost_before_device():
    """Packets this namespace (and the softnet backlogs) dropped before
    they could reach a UDP socket's hook."""
    total = 0
    with open("/proc/net/softnet_stat") as f:
        for line in f:
            total += int(line.split()[1], 16)
    snmp = {}
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f]
    for i in range(0, len(rows) - 1, 2):
        for k, v in zip(rows[i][1:], rows[i + 1][1:]):
            snmp[rows[i][0] + k] = int(v)
    # Not NoPorts: every fuzz packet goes to a bound port, while the
    # devices' cookie replies to the fuzzer's made-up sources count there.
    for k in ("Ip:InHdrErrors", "Ip:InAddrErrors", "Ip:InDiscards",
              "Ip:ReasmFails", "Udp:InErrors"):
        total += snmp.get(k, 0)
    with open("/proc/net/snmp6") as f:
        for line in f:
            k, v = line.split()
            if k in ("Ip6InHdrErrors", "Ip6InAddrErrors", "Ip6InDiscards",
                     "Udp6InErrors"):
                total += int(v)
    return total


# --- the fuzzer --------------------------------------------------------

class Device:
    def __init__(self, spec):
        # NAME:NETNS:PORT:PUBKEY
        self.name, self.ns, port, pub = spec.split(":")
        self.port = int(port)
        self.pub = __import__("base64").b64decode(pub)
        self.mac1_key = hashlib.blake2s(b"mac1----" + self.pub).digest()
        self.indices = set()     # every receiver index it handed out
        self.data = []           # captured data packets to it: (t, payload)
        self.samples = {}        # receiver index -> some of its packets
        self.last_seen = {}      # receiver index -> when last captured
        # Packets that may never have been taken: captured while the
        # device's receive queue overflowed.  Replaying one is no replay.
        self.unsure = set()
        self.captured = []       # data packets of the last absorb()
        self.hs = []             # captured handshake messages to it

    def counters(self):
        if not hasattr(self, "ethtool"):
            self.ethtool = Ethtool(self.ns, self.name)
        return self.ethtool.read()


class Fuzzer:
    def __init__(self, args):
        self.rng = random.Random(args.seed)
        self.devs = [Device(s) for s in args.device]
        self.by_port = {d.port: d for d in self.devs}
        self.sender = Sender()
        self.pk = Packets(self.rng, [d.port for d in self.devs])
        self.sniffer = Sniffer([d.port for d in self.devs])
        self.args = args
        self.sent = {c: 0 for c in CATEGORIES}
        self.exact = {c: [0, 0] for c in CATEGORIES}
        self.diverted = {}
        self.failures = []
        self.live = {"data": 0, "hs": 0}
        self.skipped = {}
        self.inexact = []
        self.lost_total = 0
        self.phases = 0

    def absorb(self):
        for d in self.devs:
            d.captured = []
        """Takes in the live tunnel's packets sniffed so far; returns how
        many of each kind arrived at each device."""
        count = {d.name: [0, 0] for d in self.devs}
        for t, dport, p in self.sniffer.drain():
            if len(p) < 4:
                continue
            dst = self.by_port.get(dport)
            other = [d for d in self.devs if d is not dst]
            kind = struct.unpack_from("<I", p)[0]
            # A handshake's sender index is how its peer will address it.
            if kind in (1, 2) and len(p) >= 8 and other:
                other[0].indices.add(struct.unpack_from("<I", p, 4)[0])
            if dst is None:
                continue
            if kind == 4 and len(p) >= 32:
                dst.indices.add(struct.unpack_from("<I", p, 4)[0])
                dst.data.append((t, p))
                del dst.data[:-4000]
                idx = struct.unpack_from("<I", p, 4)[0]
                dst.last_seen[idx] = t
                kept = dst.samples.setdefault(idx, [])
                if len(kept) < 64:
                    kept.append(p)
                count[dst.name][0] += 1
                dst.captured.append(p)
            else:
                if kind in (1, 2, 3):
                    dst.hs.append((t, p))
                    del dst.hs[:-200]
                count[dst.name][1] += 1
        return count

    def fresh_data(self, dev, max_age=60):
        """Captured data packets to @dev of the last @max_age seconds, of
        sessions still in use (heard of in the last 10 s), but none so
        recent that the device might not have taken it yet."""
        now = time.monotonic()
        live = {i for i, t in dev.last_seen.items() if now - t <= 10}
        return [p for t, p in dev.data if 0.5 < now - t < max_age and
                struct.unpack_from("<I", p, 4)[0] in live and p not in dev.unsure]

    def has_stale(self):
        """Whether some device holds captured data of a session silent for
        the 10 s after which refresh() counts its packets as stale."""
        now = time.monotonic()
        return any(now - d.last_seen[i] > 10 and any(p not in d.unsure for p in ps)
                   for d in self.devs for i, ps in d.samples.items())

    def refresh(self):
        """Per phase: what the packets of the phase are built from."""
        self.fresh = {d.name: self.fresh_data(d) for d in self.devs}
        self.current = {}
        for d in self.devs:
            recent = self.fresh_data(d, 30)
            if recent:
                self.current[d.name] = struct.unpack_from("<I", recent[-1], 4)[0]
        self.known = set().union(*(d.indices for d in self.devs))
        # Sessions not heard of for 10 s have ended: the live pings send
        # ten packets a second.
        now = time.monotonic()
        self.stale = {d.name: [p for i, ps in d.samples.items()
                               if now - d.last_seen[i] > 10 for p in ps
                               if p not in d.unsure]
                      for d in self.devs}

    def current_index(self, dev):
        return self.current.get(dev.name)

    def unknown_index(self):
        while True:
            i = self.rng.getrandbits(32)
            if i not in self.known:
                return i

    # One packet of a category, for a device; returns IP datagrams.
    def build(self, cat, dev):
        r = self.rng
        big = None
        if cat == "invalid":
            choice = r.randrange(6)
            if choice == 0:     # unknown type, any length
                t = r.choice([0, 5, 6, 0xff, r.getrandbits(8)])
                if 1 <= t <= 4:
                    t = 0
                p = struct.pack("<I", t) + r.randbytes(r.randrange(0, 200))
            elif choice == 1:   # a known type with reserved bytes set
                t = r.randrange(1, 5) | (r.randrange(1, 1 << 24) << 8)
                n = {1: 144, 2: 88, 3: 60, 4: r.randrange(28, 200)}[t & 0xff]
                p = struct.pack("<I", t) + r.randbytes(n)
            elif choice == 2:   # handshake types at a wrong length
                t, right = r.choice([(1, 148), (2, 92), (3, 64)])
                n = r.choice([r.randrange(4, right), r.randrange(right + 1, 300)])
                p = struct.pack("<I", t) + r.randbytes(n - 4)
            elif choice == 3:   # data shorter than header + tag
                p = struct.pack("<I", 4) + r.randbytes(r.randrange(0, 28))
            elif choice == 4:   # nothing or less than a type
                p = r.randbytes(r.randrange(0, 4))
            else:               # data too short, but with a live index
                idx = self.current_index(dev) or r.getrandbits(32)
                p = struct.pack("<II", 4, idx) + r.randbytes(r.randrange(0, 24))
        elif cat == "hs-garbage":
            t, n = r.choice([(1, 148), (2, 92)])
            p = struct.pack("<I", t) + r.randbytes(n - 4)
            if dev.indices and r.random() < 0.3:   # a live index inside
                p = p[:4] + struct.pack("<I", r.choice(sorted(dev.indices))) + p[8:]
        elif cat == "cookie-garbage":
            idx = r.getrandbits(32)
            if dev.indices and r.random() < 0.5:
                idx = r.choice(sorted(dev.indices))
            p = struct.pack("<II", 3, idx) + r.randbytes(56)
        elif cat == "data-unknown":
            n = r.randrange(16, 1400)
            if r.random() < 0.03:
                n, big = r.randrange(1500, 9000), 1480
            p = struct.pack("<IIQ", 4, self.unknown_index(), r.getrandbits(64)) + r.randbytes(n)
        elif cat == "data-garbage":
            ctr = r.choice([r.randrange(REJECT_AFTER_MESSAGES), r.getrandbits(12),
                            REJECT_AFTER_MESSAGES - r.randrange(1, 1 << 13)])
            n = r.randrange(16, 1400)
            if r.random() < 0.03:
                n, big = r.randrange(1500, 9000), 1480
            p = struct.pack("<IIQ", 4, self.current_index(dev), ctr) + r.randbytes(n)
        elif cat == "data-exhausted":
            ctr = r.randrange(REJECT_AFTER_MESSAGES, 1 << 64)
            p = struct.pack("<IIQ", 4, self.current_index(dev), ctr) + \
                r.randbytes(r.randrange(16, 1400))
        elif cat == "data-huge":
            # Up to 64 KiB in fragments of 256 bytes: reassembled into an
            # skb with a long frag_list for the decryption to walk.
            p = struct.pack("<IIQ", 4, self.current_index(dev), r.getrandbits(32)) + \
                r.randbytes(r.randrange(16000, 65000))
            big = 256
        elif cat == "stale":
            p = r.choice(self.stale[dev.name])
        elif cat == "replay":
            p = r.choice(self.fresh[dev.name])
        elif cat == "mutated":
            p = bytearray(r.choice(self.fresh[dev.name]))
            how = r.randrange(3)
            if how == 0:        # one bit, anywhere from the counter on
                i = r.randrange(8, len(p))
                p[i] ^= 1 << r.randrange(8)
            elif how == 1:      # truncated, still header + tag long
                p = p[:r.randrange(32, len(p))] if len(p) > 32 else p + b"\0"
            else:               # extended
                p += r.randbytes(r.randrange(1, 64))
            p = bytes(p)
        else:   # hs-replay
            choice = r.randrange(3)
            if choice == 0 and dev.hs:
                p = r.choice(dev.hs)[1]
            elif choice == 1 and dev.hs:
                p = r.choice(dev.hs)[1]
                if len(p) > 32 and p[0] in (1, 2):
                    p = p[:-16] + r.randbytes(16)
            else:   # valid mac1, garbage Noise: costs the device a DH
                body = struct.pack("<I", 1) + r.randbytes(112)
                p = body + hashlib.blake2s(body, digest_size=16,
                                           key=dev.mac1_key).digest() + bytes(16)
        v6 = cat in ("invalid", "hs-garbage", "data-unknown") and r.random() < 0.15
        if v6:
            return self.pk.v6(dev.port, p)
        return self.pk.v4(dev.port, p, fragment=big or 0)

    def pick_device(self, cat):
        candidates = self.devs
        if cat in ("data-garbage", "data-exhausted", "data-huge"):
            candidates = [d for d in self.devs if d.name in self.current]
        elif cat in ("replay", "mutated"):
            candidates = [d for d in self.devs if self.fresh[d.name]]
        elif cat == "stale":
            candidates = [d for d in self.devs if self.stale[d.name]]
        if not candidates:
            return None
        # The first device (the responder) gets most of the packets.
        return candidates[0] if self.rng.random() < 0.75 else self.rng.choice(candidates)

    def settle(self, before, expect, lost0, deadline=90, still=5):
        """Polls the counters until each device has counted what it was
        sent (less what was lost before it) and they stand still; or,
        short of that, until they have not moved for @still seconds (the
        devices are done, some packets were not counted)."""
        t_end = time.monotonic() + deadline
        last, since = None, time.monotonic()
        while True:
            now = {d.name: d.counters() for d in self.devs}
            lost = lost_before_device() - lost0
            done = all(sum(now[n][c] - before[n][c] for c in COUNTERS) >= expect[n] - lost
                       for n in expect)
            if now != last:
                since = time.monotonic()
            elif done or time.monotonic() - since > still:
                return now, lost
            if time.monotonic() > t_end:
                return now, lost
            last = now
            time.sleep(0.3 if done else 0.5)

    def phase(self, cat, size):
        self.absorb()
        self.refresh()
        before = {d.name: d.counters() for d in self.devs}
        lost0 = lost_before_device()
        per_dev = {d.name: 0 for d in self.devs}
        items = []
        for _ in range(size):
            dev = self.pick_device(cat)
            if dev is None:
                self.skipped[cat] = self.skipped.get(cat, 0) + 1
                return 0
            items.extend(self.build(cat, dev))
            per_dev[dev.name] += 1
        if cat == "replay":
            # Bursts out of order (the packets, picked with replacement,
            # also repeat).
            self.rng.shuffle(items)
        t0 = time.monotonic()
        n = self.sender.send(items)
        self.send_time += time.monotonic() - t0
        assert n == size
        after, lost = self.settle(before, per_dev, lost0)
        self.lost_total += lost
        live = self.absorb()
        for d in self.devs:
            if after[d.name]["rx_queue_full"] > before[d.name]["rx_queue_full"]:
                d.unsure.update(d.captured)
        self.sent[cat] += size
        self.phases += 1
        for d in self.devs:
            self.check(cat, d, per_dev[d.name], before[d.name], after[d.name],
                       live[d.name], lost)
        return size

    def check(self, cat, dev, n, before, after, live, lost):
        primary, diversions = CATEGORIES[cat]
        delta = {c: after[c] - before[c] for c in COUNTERS}
        live_n = sum(live)
        self.live["data"] += live[0]
        self.live["hs"] += live[1]
        counted = delta[primary] + sum(delta[c] for c in diversions)
        total = sum(delta.values())
        others = {c: v for c, v in delta.items()
                  if v and c != primary and c not in diversions}
        for c in diversions:
            if delta[c]:
                self.diverted[c] = self.diverted.get(c, 0) + delta[c]
        self.exact[cat][1] += 1
        if delta[primary] == n and total == n:
            self.exact[cat][0] += 1
        else:
            self.inexact.append("%s->%s sent %d, %s, live %s" % (
                cat, dev.name, n, {c: v for c, v in delta.items() if v}, live))
        problems = []
        # Every packet sent is counted under its cause (or a documented
        # diversion), less only what provably never reached the device...
        if counted < n - lost:
            problems.append("counted %d of %d (lost before the device: %d)" % (counted, n, lost))
        # ...and nothing is counted that was neither sent nor the live
        # tunnel's own traffic during the phase.
        if total > n + live_n:
            problems.append("counters grew by %d for %d sent + %d live" % (total, n, live_n))
        if sum(others.values()) > live_n:
            problems.append("unexpected counters %s with %d live packets" % (others, live_n))
        if problems:
            self.failures.append({"phase": self.phases, "category": cat,
                                  "device": dev.name, "sent": n,
                                  "delta": {c: v for c, v in delta.items() if v},
                                  "live": live, "lost": lost,
                                  "problems": problems})

    def run(self):
        args = self.args
        self.send_time = 0.0
        t_start = time.monotonic()
        # The live tunnel's first handshake and data, before any fuzzing.
        if args.ready:
            open(args.ready, "w").close()
        # Until --go exists the test sets up the live sessions (the first
        # of them to end before the fuzzing: stale packets to replay).
        while args.go and not os.path.exists(args.go):
            self.absorb()
            time.sleep(0.2)
        # Handshake messages of peers since removed and configured again
        # are not replays to the new peer (its timestamps start afresh):
        # only those from here on are replayed.
        for d in self.devs:
            d.hs.clear()
        deadline = time.monotonic() + args.warmup
        # Also until the session that ended has been silent long enough to
        # count as stale (10 s, see refresh): a short run on a fast machine
        # otherwise had its one stale phase before there was any.
        while (time.monotonic() < deadline or not all(d.data for d in self.devs)
               or not self.has_stale()):
            self.absorb()
            if time.monotonic() > deadline + 60:
                break
            time.sleep(0.2)
        self.absorb()
        captured = {d.name: (len(d.data), len(d.hs)) for d in self.devs}
        # Rounds of every category in random order, each a phase of its
        # share of the round.
        total = 0
        t_fuzz = time.monotonic()
        wall_start = time.time()
        weight = sum(WEIGHTS.values())
        # A run shorter than a round still gets one phase of each
        # category (a phase is at least 50 packets).
        round_size = max(1, min(args.round,
                                args.packets - 50 * len(WEIGHTS)))
        while total < args.packets:
            cats = list(WEIGHTS)
            self.rng.shuffle(cats)
            for cat in cats:
                if total >= args.packets or (args.max_seconds and
                                             time.monotonic() - t_fuzz > args.max_seconds):
                    break
                size = max(50, round_size * WEIGHTS[cat] // weight)
                size = min(size, PHASE_SIZE.get(cat, size), args.packets - total)
                total += self.phase(cat, max(size, 1))
            if args.max_seconds and time.monotonic() - t_fuzz > args.max_seconds:
                break
        elapsed = time.monotonic() - t_fuzz
        summary = {
            "sent": total, "phases": self.phases, "seconds": round(elapsed, 1),
            "rate": round(total / elapsed) if elapsed else 0,
            "send_rate": round(total / self.send_time) if self.send_time else 0,
            "sources": len(self.pk.sources), "by_category": self.sent,
            "phases_skipped": self.skipped,
            "exact_phases": {c: "%d/%d" % tuple(v) for c, v in self.exact.items()},
            "diverted": self.diverted, "live_packets": self.live,
            "captured_at_start": captured, "sniffer_lost": self.sniffer.lost,
            "lost_before_device": self.lost_total,
            "send_errors": self.sender.errors, "failures": self.failures[:20],
            "failed_phases": len(self.failures),
            "total_seconds": round(time.monotonic() - t_start, 1),
            "fuzz_start": wall_start, "fuzz_end": time.time(),
            "inexact": self.inexact[:12],
        }
        return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", action="append", required=True,
                    help="NAME:NETNS:PORT:PUBKEY of a device to fuzz (first: most packets)")
    ap.add_argument("--packets", type=int, default=50000)
    ap.add_argument("--round", type=int, default=20000,
                    help="packets per round of all categories")
    ap.add_argument("--max-seconds", type=float, default=0)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--ready", help="file to create once sniffing")
    ap.add_argument("--go", help="file to wait for before the warmup")
    ap.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "little"))
    args = ap.parse_args()
    print("# seed %d" % args.seed, flush=True)
    fz = Fuzzer(args)
    s = fz.run()
    ok = s["failed_phases"] == 0
    for f in s["failures"]:
        print("# phase %(phase)d %(category)s -> %(device)s: sent %(sent)d, "
              "live %(live)s, lost %(lost)d, deltas %(delta)s: " % f +
              "; ".join(f["problems"]))
    print("RESULT %s every fuzz packet counted under its cause (%d packets, %d phases, %d failed)"
          % ("ok" if ok else "fail", s["sent"], s["phases"], s["failed_phases"]))
    print("RESULT %s the fuzzer sent %d packets, at least the %d asked for"
          % ("ok" if s["sent"] >= args.packets else "fail", s["sent"], args.packets))
    missing = [c for c, v in s["by_category"].items() if not v]
    print("RESULT %s every category was sent (missing: %s)"
          % ("fail" if missing else "ok", ",".join(missing) or "none"))
    print(json.dumps(s), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
