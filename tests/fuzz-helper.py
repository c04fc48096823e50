#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Helpers for tests/fuzz.sh and tests/churn.sh, standard library only.

  kmsg FILE
      Copies the kernel log (/dev/kmsg, from its oldest record on) to FILE
      until killed, so that an audit sees every line even when thousands
      of peers overflow the ring buffer.  Records it could not read in
      time are counted in FILE.lost (non-zero: the copy is incomplete).

  hog --leave MB [--step MB]
      Fills memory (anonymous, touched, locked) until MemAvailable is
      down to MB, writes "ready <MemAvailable kB>" to stdout, and holds
      it until killed.  Its oom_score_adj is 1000: if the kernel must
      kill, it kills this.

  batches DEV --messages N --peers K [--prefix 10.201] [--mixed [--touch T]]
          [--failslab DIR]
      Adds peers to DEV in N WG_CMD_SET_DEVICE requests of K new peers
      each (raw generic netlink, so a request is exactly one message),
      and after each one checks with wg(8) that either all K of its peers
      are configured (and the request was accepted) or none is (and it
      was rejected), and that no other peer appeared or went.  --mixed
      requests also change up to T (31) peers earlier requests added and
      the fwmark: two thirds of them get new endpoints, preshared keys and
      allowed IPs (replacing the old), the rest are removed, but one that
      is removed and added again in the same request; after each, the device's whole
      configuration (wg show dump) must be exactly the old one (rejected)
      or the old one with every change made (accepted).  With
      --failslab (the failslab debugfs directory, set up by the caller
      with task-filter and probability 100), one slab allocation fails at
      a random point of each request, or none when that point lies
      beyond its allocations.  Prints "RESULT ok|fail NAME" lines and a JSON summary.
"""

import argparse
import base64
import errno
import importlib.util
import json
import mmap
import os
import random
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MAP_POPULATE = getattr(mmap, "MAP_POPULATE", 0)


def cmd_kmsg(args):
    fd = os.open("/dev/kmsg", os.O_RDONLY)
    lost = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with open(args.file, "ab", buffering=0) as out:
        while not stop:
            try:
                rec = os.read(fd, 8192)
            except BrokenPipeError:
                # Overwritten before we read it; the next read goes on.
                lost += 1
                with open(args.file + ".lost", "w") as f:
                    f.write("%d\n" % lost)
                continue
            except InterruptedError:
                continue
            out.write(rec)
    return 0


def meminfo(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def cmd_hog(args):
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")
    chunks = []
    step = args.step << 20
    while True:
        avail = meminfo("MemAvailable") >> 10
        if avail <= args.leave:
            break
        size = min(step, (avail - args.leave) << 20)
        # Private anonymous memory, every page faulted in by the kernel
        # at mmap() (MAP_POPULATE): under TCG one fault per page, taken
        # from userspace, costs much more.  Without MAP_POPULATE, touch
        # every page.
        b = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_POPULATE)
        if not MAP_POPULATE:
            b[::4096] = b"\1" * len(range(0, size, 4096))
        chunks.append(b)
    print("ready %d" % meminfo("MemAvailable"), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


def show_config(dev):
    """The device's configuration, counters and handshake times left out."""
    out = subprocess.run(["wg", "show", dev, "dump"], check=True,
                         capture_output=True, text=True).stdout.splitlines()
    fields = out[0].split("\t")
    conf = {"fwmark": fields[3], "peers": {}}
    for line in out[1:]:
        pub, psk, endpoint, aips, _, _, _, keepalive = line.split("\t")
        conf["peers"][pub] = (psk, endpoint, frozenset(aips.split(",")) - {"(none)"},
                              keepalive)
    return conf


def cmd_batches(args):
    spec = importlib.util.spec_from_file_location("genl", os.path.join(HERE, "netns-genl.py"))
    G = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(G)

    nl = G.Genl()
    nl.sock.settimeout(60)
    fam = nl.family("wireguard")
    rng = random.Random()
    a, b = (int(x) for x in args.prefix.split("."))
    stats = {"accepted": 0, "rejected": {}, "half_applied": 0,
             "min_available_kb": meminfo("MemAvailable")}
    problems = []
    before = show_config(args.dev)
    mine_live = []  # keys (raw) this run added and that are still there
    serial = 0

    def b64(raw):
        return base64.b64encode(raw).decode()

    def next_ip():
        nonlocal serial
        serial += 1
        return bytes([a, b, (serial >> 8) & 255, serial & 255])

    def endpoint():
        return "192.0.2.%d" % rng.randrange(1, 255), rng.randrange(1, 65536)

    def poke(fd, value):
        # Some of these files cannot seek; their writes ignore the offset.
        try:
            os.lseek(fd, 0, os.SEEK_SET)
        except OSError:
            pass
        os.write(fd, b"%d" % value)

    scale = 8.0
    if args.failslab:
        fs_interval = os.open(os.path.join(args.failslab, "interval"), os.O_WRONLY)
        fs_times = os.open(os.path.join(args.failslab, "times"), os.O_WRONLY)
        make_it_fail = os.open("/proc/self/make-it-fail", os.O_WRONLY)
    for m in range(args.messages):
        keys = [os.urandom(32) for _ in range(args.peers)]
        items, attrs = [], b""
        # What the configuration is if the request is applied.
        after = {"fwmark": before["fwmark"], "peers": dict(before["peers"])}
        for k in keys:
            ip, (host, port) = next_ip(), endpoint()
            items.append(G.peer(k, G.nla(G.WGPEER_A_ENDPOINT, G.sockaddr_in(host, port)),
                                G.nest(G.WGPEER_A_ALLOWEDIPS, G.aip(socket.AF_INET, ip, 32))))
            after["peers"][b64(k)] = ("(none)", "%s:%d" % (host, port),
                                      frozenset({socket.inet_ntoa(ip) + "/32"}), "off")
        if args.mixed:
            fwmark = rng.randrange(1, 1 << 32)
            attrs += G.u32(G.WGDEVICE_A_FWMARK, fwmark)
            after["fwmark"] = "0x%x" % fwmark
            touched = rng.sample(mine_live, min(args.touch, len(mine_live)))
            # The last one is removed and added back; of the others, two
            # thirds are updated and the rest removed.
            n_upd = (len(touched) - 1) * 2 // 3 if touched else 0
            for k in touched[:n_upd]:
                ip, (host, port), psk = next_ip(), endpoint(), os.urandom(32)
                items.append(G.peer(k, G.u32(G.WGPEER_A_FLAGS, G.WGPEER_F_REPLACE_ALLOWEDIPS),
                                    G.nla(G.WGPEER_A_PRESHARED_KEY, psk),
                                    G.nla(G.WGPEER_A_ENDPOINT, G.sockaddr_in(host, port)),
                                    G.nest(G.WGPEER_A_ALLOWEDIPS,
                                           G.aip(socket.AF_INET, ip, 32))))
                after["peers"][b64(k)] = (b64(psk), "%s:%d" % (host, port),
                                          frozenset({socket.inet_ntoa(ip) + "/32"}),
                                          after["peers"][b64(k)][3])
            for k in touched[n_upd:-1]:
                items.append(G.peer(k, G.u32(G.WGPEER_A_FLAGS, G.WGPEER_F_REMOVE_ME)))
                del after["peers"][b64(k)]
            for k in touched[-1:]:
                # Removed and added again: back with only what it is given now.
                ip, (host, port) = next_ip(), endpoint()
                items.append(G.peer(k, G.u32(G.WGPEER_A_FLAGS, G.WGPEER_F_REMOVE_ME)))
                items.append(G.peer(k, G.nla(G.WGPEER_A_ENDPOINT, G.sockaddr_in(host, port)),
                                    G.nest(G.WGPEER_A_ALLOWEDIPS,
                                           G.aip(socket.AF_INET, ip, 32))))
                after["peers"][b64(k)] = ("(none)", "%s:%d" % (host, port),
                                          frozenset({socket.inet_ntoa(ip) + "/32"}), "off")
        msg = G.ifname(args.dev) + attrs + G.peers(*items)
        # The first request runs without a failure, so that the later
        # ones have earlier peers to change.
        inject = args.failslab and m > 0
        if inject:
            # probability 100: the one failure is at the interval-th
            # allocation the filter lets through (or never: accepted).
            # The files are open already, so that switching the failure
            # off again allocates nothing that could fail.  How many
            # allocations a request makes is not known here: the range
            # of intervals follows the outcomes (wider after a refusal,
            # narrower after success), so that both keep coming.
            poke(fs_interval, rng.randrange(1, int(scale * len(items)) + 2))
            poke(fs_times, 1)
            poke(make_it_fail, 1)
        local = False
        try:
            err, text, _ = nl.request(fam, G.WG_CMD_SET_DEVICE, msg)
        except OSError as e:
            # The request or its answer could not be allocated: whether
            # the request ran is unknown, but it ran whole or not at all.
            err, text, local = e.errno or errno.EIO, "local: %s" % e, True
        finally:
            if inject:
                poke(make_it_fail, 0)
                poke(fs_times, 0)
        if local:
            nl = G.Genl()
            nl.sock.settimeout(60)
        stats["min_available_kb"] = min(stats["min_available_kb"], meminfo("MemAvailable"))
        conf = show_config(args.dev)
        now = set(conf["peers"])
        mine = {b64(k) for k in keys}
        present = len(mine & now)
        applied = conf == after
        if inject:
            scale = max(1.0, scale / 1.5) if applied else min(64.0, scale * 1.5)
        if args.mixed and len(items) > len(keys):
            kind = "mixed_applied" if applied else "mixed_refused" if conf == before else None
            if kind:
                stats[kind] = stats.get(kind, 0) + 1
        if local:
            stats["local_errors"] = stats.get("local_errors", 0) + 1
            if not applied and conf != before:
                stats["half_applied"] += 1
                problems.append("request %d (%s): %d of its %d peers are there, "
                                "the configuration is neither the old nor the new"
                                % (m, text, present, len(keys)))
            stats["accepted"] += applied
        elif err == 0:
            stats["accepted"] += 1
            if not applied:
                problems.append("request %d accepted but only partly applied "
                                "(%d of its %d new peers are there)"
                                % (m, present, len(keys)))
        else:
            name = errno.errorcode.get(err, str(err))
            stats["rejected"][name] = stats["rejected"].get(name, 0) + 1
            if conf != before:
                stats["half_applied"] += 1
                problems.append("request %d failed with %s (%s) but changed the "
                                "configuration (%d of its %d new peers are there)"
                                % (m, name, text, present, len(keys)))
        before = conf
        mine_live = [k for k in mine_live + keys if b64(k) in now]
    for p in problems[:10]:
        print("# " + p)
    print("RESULT %s every request applied all of itself or nothing (%d accepted, rejected: %s)"
          % ("ok" if not problems else "fail", stats["accepted"],
             stats["rejected"] or "none"))
    print(json.dumps(stats), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("kmsg")
    p.add_argument("file")
    p = sub.add_parser("hog")
    p.add_argument("--leave", type=int, required=True)
    p.add_argument("--step", type=int, default=64)
    p = sub.add_parser("batches")
    p.add_argument("dev")
    p.add_argument("--messages", type=int, default=10)
    p.add_argument("--peers", type=int, default=200)
    p.add_argument("--prefix", default="10.201")
    p.add_argument("--mixed", action="store_true")
    p.add_argument("--touch", type=int, default=31)
    p.add_argument("--failslab")
    args = ap.parse_args()
    return {"kmsg": cmd_kmsg, "hog": cmd_hog, "batches": cmd_batches}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
