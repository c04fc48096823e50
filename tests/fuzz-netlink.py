#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Generic-netlink configuration fuzzer for tests/fuzz.sh.

Run inside a namespace holding one wireguard device configured with a
few peers.  Sends WG_CMD_SET_DEVICE and WG_CMD_GET_DEVICE requests built
from valid encodings (tests/netns-genl.py's helpers) and then mutated:
attributes deleted, duplicated, retyped, re-flagged (NLA_F_NESTED), given
random, truncated or oversized payloads, nested where they must be flat
and flat where they must be nested, moved to the wrong level, repeated by
the hundred; then, on the encoded bytes, truncated, with a corrupted
nla_len, flipped bytes or trailing garbage; and some wholly random.

After every request the configuration is read back through wg(8)
(`wg show DEV dump`, without its traffic counters and handshake times):
after a rejected SET and after any GET it must equal the configuration
before, byte for byte, peer order included; an accepted SET (a mutation
can be valid) replaces the snapshot and is counted.  The base
configuration is restored with `wg setconf` when too little of it is
left.  Prints "RESULT ok|fail NAME" lines, "#" diagnostics (the errno
histogram, the first offending requests in hex) and a JSON summary last.

usage: fuzz-netlink.py DEV BASECONF --messages N [--seed S] [--max-seconds S]
"""

import argparse
import errno
import importlib.util
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("genl", os.path.join(HERE, "netns-genl.py"))
G = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(G)

NESTED = G.NLA_F_NESTED


# A request is a tree: [type, bytes] for a leaf, [type, [children]] for a
# nest; encode() turns it into attributes.
def encode(nodes):
    out = b""
    for kind, val in nodes:
        payload = encode(val) if isinstance(val, list) else val
        # nla_len is 16 bits: what does not fit is cut (a mutation too).
        out += G.nla(kind, payload[:0xffff - 4])
    return out


def leaf(kind, fmt, v):
    return [kind, struct.pack(fmt, v)]


class Gen:
    def __init__(self, rng, dev, pubs):
        self.r = rng
        self.dev = dev
        self.pubs = pubs        # public keys of the base configuration

    def key(self):
        r = self.r
        return r.choice(self.pubs) if self.pubs and r.random() < 0.6 else r.randbytes(32)

    def endpoint(self):
        r = self.r
        if r.random() < 0.5:
            return G.sockaddr_in("192.0.2.%d" % r.randrange(1, 255), r.randrange(1, 65536))
        return G.sockaddr_in6("2001:db8::%x" % r.randrange(1, 65536), r.randrange(1, 65536))

    def allowedip(self):
        r = self.r
        if r.random() < 0.5:
            fam, addr, cidr = socket.AF_INET, r.randbytes(4), r.randrange(0, 33)
        else:
            fam, addr, cidr = socket.AF_INET6, r.randbytes(16), r.randrange(0, 129)
        return [NESTED, [leaf(G.WGALLOWEDIP_A_FAMILY, "=H", fam),
                         [G.WGALLOWEDIP_A_IPADDR, addr],
                         leaf(G.WGALLOWEDIP_A_CIDR_MASK, "=B", cidr)]]

    def peer(self):
        r = self.r
        attrs = [[G.WGPEER_A_PUBLIC_KEY, self.key()]]
        if r.random() < 0.3:
            attrs.append([G.WGPEER_A_PRESHARED_KEY, r.randbytes(32)])
        if r.random() < 0.4:
            attrs.append(leaf(G.WGPEER_A_FLAGS, "=I", r.choice([0, 1, 2, 4, 6, 3, 7])))
        if r.random() < 0.4:
            attrs.append([G.WGPEER_A_ENDPOINT, self.endpoint()])
        if r.random() < 0.3:
            attrs.append(leaf(G.WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, "=H",
                              r.choice([0, 0, 25, r.randrange(65536)])))
        if r.random() < 0.2:
            attrs.append(leaf(G.WGPEER_A_PROTOCOL_VERSION, "=I", 1))
        if r.random() < 0.6:
            attrs.append([NESTED | G.WGPEER_A_ALLOWEDIPS,
                          [self.allowedip() for _ in range(r.randrange(0, 5))]])
        r.shuffle(attrs)
        return [NESTED, attrs]

    def device(self):
        r = self.r
        attrs = []
        if r.random() < 0.9:
            attrs.append([G.WGDEVICE_A_IFNAME, self.dev.encode() + b"\0"])
        else:
            attrs.append(leaf(G.WGDEVICE_A_IFINDEX, "=I", G.ifindex(self.dev)))
        if r.random() < 0.15:
            attrs.append([G.WGDEVICE_A_PRIVATE_KEY, r.randbytes(32)])
        if r.random() < 0.15:
            attrs.append(leaf(G.WGDEVICE_A_LISTEN_PORT, "=H", r.randrange(40000, 60000)))
        if r.random() < 0.2:
            attrs.append(leaf(G.WGDEVICE_A_FWMARK, "=I", r.getrandbits(32)))
        if r.random() < 0.1:
            attrs.append(leaf(G.WGDEVICE_A_FLAGS, "=I", r.choice([0, 1])))
        if r.random() < 0.8:
            attrs.append([NESTED | G.WGDEVICE_A_PEERS,
                          [self.peer() for _ in range(r.randrange(1, 4))]])
        return attrs

    # --- mutations on the tree ---
    def nodes(self, tree, depth=0):
        """Every (parent list, index, depth) in the tree."""
        out = []
        for i, node in enumerate(tree):
            out.append((tree, i, depth))
            if isinstance(node[1], list):
                out.extend(self.nodes(node[1], depth + 1))
        return out

    def mutate_tree(self, tree):
        r = self.r
        spots = self.nodes(tree)
        if not spots:
            return "empty"
        lst, i, depth = r.choice(spots)
        node = lst[i]
        how = r.randrange(11)
        if how == 0:
            del lst[i]
            return "delete"
        if how == 1:
            lst.insert(r.randrange(len(lst) + 1), clone(node))
            return "duplicate"
        if how == 2:
            node[0] = (node[0] & NESTED) | r.randrange(0, 16)
            return "retype"
        if how == 3:
            node[0] ^= NESTED
            return "flip-nested-flag"
        if how == 4:
            node[1] = r.randbytes(r.choice([0, 1, 2, 3, 4, 5, 8, 15, 16, 17, 31, 33, 64, 200]))
            return "random-payload"
        if how == 5 and not isinstance(node[1], list):
            node[1] = node[1][:r.randrange(len(node[1]) + 1)]
            return "truncate-payload"
        if how == 6 and not isinstance(node[1], list):
            node[1] = node[1] + r.randbytes(r.randrange(1, 300))
            return "oversize-payload"
        if how == 7 and not isinstance(node[1], list):
            node[1] = [[r.randrange(0, 12), r.randbytes(r.randrange(0, 20))]
                       for _ in range(r.randrange(0, 3))]
            node[0] |= NESTED if r.random() < 0.5 else 0
            return "nest-a-leaf"
        if how == 8 and isinstance(node[1], list):
            node[1] = encode(node[1])[:r.randrange(0, 40)]
            return "flatten-a-nest"
        if how == 9:
            # To another level: a peer attribute on the device, an
            # allowed IP among the peers, ...
            spots = self.nodes(tree)
            dest = r.choice([s for s in spots if isinstance(s[0][s[1]][1], list)] or [(tree, 0, 0)])
            target = dest[0][dest[1]][1] if isinstance(dest[0][dest[1]][1], list) else tree
            target.insert(r.randrange(len(target) + 1), clone(node))
            return "wrong-level"
        # Many of one thing: a peer's allowed IPs or the peers, by the hundred.
        times = r.choice([50, 200, 600])
        lst.extend(clone(node) for _ in range(times))
        return "repeat-%d" % times


def clone(node):
    kind, val = node
    return [kind, [clone(c) for c in val] if isinstance(val, list) else val]


def mutate_bytes(rng, data):
    how = rng.randrange(4)
    if not data:
        return rng.randbytes(rng.randrange(1, 64)), "bytes-random"
    if how == 0:
        return data[:rng.randrange(len(data))], "bytes-truncate"
    if how == 1:
        # Some attribute's nla_len: walk a few headers, then corrupt one.
        offs, off = [], 0
        while off + 4 <= len(data) and len(offs) < 64:
            offs.append(off)
            size = struct.unpack_from("=H", data, off)[0]
            off += 4 if rng.random() < 0.5 else max(4, (size + 3) & ~3)
        o = rng.choice(offs)
        bad = rng.choice([0, 1, 3, 4, 5, 0xffff, rng.randrange(65536)])
        return data[:o] + struct.pack("=H", bad) + data[o + 2:], "bytes-nla_len"
    if how == 2:
        b = bytearray(data)
        for _ in range(rng.randrange(1, 6)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b), "bytes-flip"
    return data + rng.randbytes(rng.randrange(1, 40)), "bytes-trailing"


def snapshot(dev):
    """The configuration as wg(8) shows it, less what traffic and time
    change (rx/tx bytes, latest handshake)."""
    out = subprocess.run(["wg", "show", dev, "dump"], check=True,
                         capture_output=True, text=True).stdout
    lines = out.splitlines()
    norm = [lines[0]] if lines else []
    for line in lines[1:]:
        f = line.split("\t")
        # public psk endpoint allowed-ips handshake rx tx keepalive
        norm.append("\t".join(f[:4] + f[7:]))
    return "\n".join(norm)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dev")
    ap.add_argument("baseconf")
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--max-seconds", type=float, default=0)
    ap.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "little"))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    print("# seed %d" % args.seed, flush=True)

    def restore():
        subprocess.run(["wg", "setconf", args.dev, args.baseconf], check=True)
        return snapshot(args.dev)

    snap = restore()
    pubs = [G.key(line.split("\t")[0]) for line in snap.splitlines()[1:]]
    base_peers = len(pubs)
    gen = Gen(rng, args.dev, pubs)
    nl = G.Genl()
    nl.sock.settimeout(20)
    fam = nl.family("wireguard")

    stats = {"sent": 0, "set": 0, "get": 0, "accepted": 0, "get_ok": 0,
             "restores": 0, "errnos": {}, "mutations": {}}
    failures = []
    t0 = time.monotonic()
    for n in range(args.messages):
        if args.max_seconds and time.monotonic() - t0 > args.max_seconds:
            break
        cmd = G.WG_CMD_SET_DEVICE if rng.random() < 0.85 else G.WG_CMD_GET_DEVICE
        flags = G.NLM_F_REQUEST | G.NLM_F_ACK
        if cmd == G.WG_CMD_GET_DEVICE:
            flags = G.NLM_F_REQUEST | G.NLM_F_DUMP
        what = []
        if rng.random() < 0.04:
            attrs = rng.randbytes(rng.randrange(0, 600))
            what.append("random")
        else:
            tree = gen.device()
            for _ in range(rng.choice([1, 2, 2, 3, 4])):
                what.append(gen.mutate_tree(tree))
            attrs = encode(tree)
            if rng.random() < 0.3:
                attrs, m = mutate_bytes(rng, attrs)
                what.append(m)
        if len(attrs) > 60000:
            attrs = attrs[:60000]
            what.append("capped")
        for m in what:
            stats["mutations"][m] = stats["mutations"].get(m, 0) + 1
        try:
            err, _, _ = nl.request(fam, cmd, attrs, flags)
        except socket.timeout:
            failures.append({"n": n, "problem": "no answer in 20 s", "what": what,
                             "hex": attrs[:512].hex()})
            break
        stats["sent"] += 1
        stats["set" if cmd == G.WG_CMD_SET_DEVICE else "get"] += 1
        name = "0" if not err else ("EOPNOTSUPP" if err == errno.EOPNOTSUPP
                                    else errno.errorcode.get(err, str(err)))
        key = ("SET " if cmd == G.WG_CMD_SET_DEVICE else "GET ") + name
        stats["errnos"][key] = stats["errnos"].get(key, 0) + 1
        now = snapshot(args.dev)
        if cmd == G.WG_CMD_SET_DEVICE and not err:
            stats["accepted"] += 1
            snap = now
            peers = len(snap.splitlines()) - 1
            if not base_peers // 2 <= peers <= 3 * base_peers or stats["accepted"] % 50 == 0:
                snap = restore()
                stats["restores"] += 1
            continue
        if cmd == G.WG_CMD_GET_DEVICE and not err:
            stats["get_ok"] += 1
        if now != snap:
            failures.append({"n": n, "cmd": cmd, "errno": name, "what": what,
                             "problem": "configuration changed by a %s request" %
                             ("rejected SET" if cmd == G.WG_CMD_SET_DEVICE else "GET"),
                             "hex": attrs[:512].hex(),
                             "before": snap.splitlines()[:3], "after": now.splitlines()[:3]})
            snap = now
            if len(failures) > 20:
                break
    stats["seconds"] = round(time.monotonic() - t0, 1)
    stats["rate"] = round(stats["sent"] / stats["seconds"], 1) if stats["seconds"] else 0
    stats["failures"] = failures[:5]
    for k, v in sorted(stats["errnos"].items(), key=lambda kv: -kv[1]):
        print("#   %-22s %d" % (k, v))
    for f in failures[:5]:
        print("# request %(n)d (%(what)s): %(problem)s" % f)
        print("#   attrs: %s" % f["hex"])
        for k in ("before", "after"):
            for line in f.get(k, []):
                print("#   %s: %s" % (k, line))
    rejected = stats["set"] - stats["accepted"]
    print("# %d requests in %.0f s (%.1f/s), %d restores of the base configuration"
          % (stats["sent"], stats["seconds"], stats["rate"], stats["restores"]))
    print("RESULT %s %d netlink requests answered (%d SET: %d rejected, %d accepted; %d GET)"
          % ("ok" if stats["sent"] >= min(args.messages, 1) and not any(
              "no answer" in f["problem"] for f in failures) else "fail",
             stats["sent"], stats["set"], rejected, stats["accepted"], stats["get"]))
    print("RESULT %s no rejected SET and no GET changed the configuration (wg show dump; %d changed it)"
          % ("ok" if not failures else "fail", len(failures)))
    print("RESULT %s at least a third of the mutated SETs are rejected (%d of %d), so the check above had work"
          % ("ok" if rejected * 3 >= stats["set"] > 0 else "fail", rejected, stats["set"]))
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
