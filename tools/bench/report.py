#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Turns the samples of `make bench` into bench/results.md and PNG plots.

usage: report.py OUTDIR [--tap FILE] [--readme README.md]

Reads OUTDIR/samples.txt (lines "R BOOT PHASE SMP ROUND MODULE METRIC
VALUE", written by the guests and, for the phase "native", by
tools/bench/native's qbench-native on the host), OUTDIR/run-info.txt and
OUTDIR/boots.txt (bench.sh).  Every number comes from those files: nothing is assumed.

For each measure: the median over rounds with min-max, per module, and the
wgmpsc/anchor ratio computed per round pair (the same round's anchor and
wgmpsc samples, taken in the same VM boot, minutes apart at most), then
the median and min-max of those ratios.  A round with several samples of
one measure (e.g. three single-peer removals) counts as their median.

--readme FILE replaces the text between the lines "<!-- bench:begin" and
"<!-- bench:end -->" of FILE with the tables and plots of this run.

--tap FILE writes TAP lines to FILE, one per table row the run was asked
for (from run-info.txt): ok when every cell of the row holds a number, and
one per expected plot: ok when the PNG was written.  It checks that the
tooling produced its figures, never the figures against targets (the smoke
run of `make check`).
"""
import collections
import datetime
import math
import os
import platform
import re
import statistics
import subprocess
import sys

ARGS = sys.argv[1:]
TAP = README = None
if "--readme" in ARGS:
    i = ARGS.index("--readme")
    README = ARGS[i + 1]
    del ARGS[i:i + 2]
if "--tap" in ARGS:
    i = ARGS.index("--tap")
    TAP = ARGS[i + 1]
    del ARGS[i:i + 2]
OUT = ARGS[0] if ARGS else "bench"
PLOT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "..", "..", "build", "bench", "plot")


def read_kv(path):
    info = {}
    multi = collections.defaultdict(list)
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    if k in info:
                        multi[k].append(v)
                    else:
                        info[k] = v
                        multi[k].append(v)
    return info, multi


info, info_multi = read_kv(os.path.join(OUT, "run-info.txt"))
# (phase, smp, metric, module) -> round -> [values]
data = collections.defaultdict(lambda: collections.defaultdict(list))
with open(os.path.join(OUT, "samples.txt")) as f:
    for line in f:
        p = line.split()
        if len(p) != 8 or p[0] != "R":
            continue
        _, _boot, phase, smp, rnd, module, metric, value = p
        try:
            v = float(value)
        except ValueError:
            continue
        if math.isnan(v):
            continue
        data[(phase, int(smp), metric, module)][int(rnd)].append(v)


def per_round(phase, smp, metric, module):
    return {r: statistics.median(v)
            for r, v in data.get((phase, smp, metric, module), {}).items()
            if v}


def stats(values):
    values = list(values)
    if not values:
        return None
    return statistics.median(values), min(values), max(values), len(values)


def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    a = abs(v)
    if a >= 1000:
        return "{:,.0f}".format(v)
    if a >= 100:
        return "{:.0f}".format(v)
    if a >= 10:
        return "{:.1f}".format(v)
    if a >= 1:
        return "{:.2f}".format(v)
    return "{:.3g}".format(v)


def cell(s, ratio=False):
    if s is None:
        return "—"
    med, lo, hi, n = s
    f = (lambda x: "{:.2f}".format(x)) if ratio else fmt
    if n == 1:
        return "%s (n=1)" % f(med)
    return "%s (%s–%s)" % (f(med), f(lo), f(hi))


def ratio_stats(phase, smp, metric, num="wgmpsc", den="anchor"):
    """Per-round-pair ratios; (stats or None, number of pairs skipped
    because the denominator was 0)."""
    a = per_round(phase, smp, metric, den)
    w = per_round(phase, smp, metric, num)
    pairs = sorted(set(a) & set(w))
    return (stats(w[r] / a[r] for r in pairs if a[r]),
            sum(1 for r in pairs if not a[r]))


def ratio_cell(phase, smp, metric, num="wgmpsc", den="anchor"):
    st, zero = ratio_stats(phase, smp, metric, num, den)
    if st is None:
        return "n/a (%s 0)" % den if zero else "—"
    return cell(st, True) + (" (%d with %s 0)" % (zero, den) if zero else "")


def smps(phase):
    return sorted({k[1] for k in data if k[0] == phase})


def smp_list(key):
    return sorted({int(x) for x in params.get(key, "").split() if x.isdigit()})


params = info
PEERS = int(params.get("peers", 20000))
BIG = int(params.get("big", 0))
CAP = params.get("del_cap", "?")
ROUNDS = params.get("rounds", "?")
PARTS = params.get("parts", "mem queue net hs profile native").split()

# The rows the run was asked for come from run-info.txt, not from the
# samples, so that a measure that produced nothing shows as "—" (and fails
# the smoke run's TAP check) instead of silently vanishing.
MEM_SMPS = smp_list("mem_smp") if "mem" in PARTS else []
QUEUE_SMPS = smp_list("mem_smp") if "queue" in PARTS else []
NET_SMPS = smp_list("net_smp") if "net" in PARTS else []
PROFILE_SMPS = smp_list("net_smp") if "profile" in PARTS else []
HS_SMPS = [x for x in smp_list("hs_smp")
           if "net" not in PARTS or x in smp_list("net_smp")] \
    if "hs" in PARTS else []

# --------------------------------------------------------------------------
# (section, measure, smp, veth, anchor, wgmpsc, ratio, target, met,
#  [names of the cells that must be numeric])
rows = []


def add(section, label, phase, smp, metric, target="", check=None,
        veth=False, modules=("anchor", "wgmpsc"), ratio_check=None):
    """check: wgmpsc's median -> met; ratio_check: the median ratio -> met."""
    a = stats(per_round(phase, smp, metric, "anchor").values())
    w = stats(per_round(phase, smp, metric, "wgmpsc").values())
    v = stats(per_round(phase, smp, metric, "veth").values()) if veth else None
    both = "anchor" in modules
    rc = ratio_cell(phase, smp, metric) if both else ""
    met = ""
    if check and w is not None:
        met = "yes" if check(w[0]) else "no"
    if ratio_check:
        st, _ = ratio_stats(phase, smp, metric)
        if st is not None:
            met = "yes" if ratio_check(st[0]) else "no (%.2f×)" % st[0]
    need = ["wgmpsc"] + (["anchor", "ratio"] if both else []) + \
        (["veth"] if veth else [])
    rows.append((section, label, smp, cell(v) if veth else "",
                 cell(a) if both else "", cell(w), rc, target, met, need))


RATE_UP = dict(target="≥ 1.0× anchor", ratio_check=lambda x: x >= 1.0)
# Issue 15's goal for TCP through the tunnel.
TCP_UP = dict(target="≥ 1.3× anchor", ratio_check=lambda x: x >= 1.3)
P = "{:,}".format(PEERS)
for smp in MEM_SMPS:
    S = "Memory and configuration"
    add(S, "slab+percpu growth per peer, %s peers (bytes)" % P, "mem", smp,
        "p%d_bytes_per_peer" % PEERS, "≤ 1,024", lambda x: x <= 1024)
    add(S, "`wg setconf` of %s peers (peers/s)" % P, "mem", smp,
        "p%d_setconf_peers_per_s" % PEERS, "≥ 20,000/s", lambda x: x >= 20000)
    add(S, "remove one peer of %s (`wg set … remove`, s)" % P, "mem", smp,
        "p%d_remove1_s" % PEERS)
    add(S, "`wg show wg0 dump` of %s peers (s)" % P, "mem", smp,
        "p%d_dump_s" % PEERS)
    add(S, "first ping to a peer added after %s others, handshake "
        "included (s)" % P, "mem", smp, "p%d_handshake_last_s" % PEERS)
    # ip link del: the anchor's is timed in round 1 only, with a cap.
    metric = "p%d_del_s" % PEERS
    a = stats(per_round("mem", smp, metric, "anchor").values())
    w = stats(per_round("mem", smp, metric, "wgmpsc").values())
    capped = per_round("mem", smp, "p%d_del_capped_s" % PEERS, "anchor")
    freed = per_round("mem", smp, "p%d_del_freed_pct_at_cap" % PEERS, "anchor")
    if capped:
        r = sorted(capped)[0]
        a_cell = "> %s (cap hit in %d of %d timed rounds; %s%% of its peers' " \
                 "memory freed by then)" % (fmt(capped[r]), len(capped),
                                            len(capped) + (a[3] if a else 0),
                                            fmt(freed.get(r, float("nan"))))
        wr = per_round("mem", smp, metric, "wgmpsc").get(r)
        r_cell = "< %.3f (round %d)" % (wr / capped[r], r) if wr else "—"
    else:
        a_cell = cell(a)
        r_cell = ratio_cell("mem", smp, metric)
    rows.append((S, "`ip link del` of the %s-peer device (s)" % P, smp, "",
                 a_cell, cell(w), r_cell, "< 5 s",
                 ("yes" if w[0] < 5 else "no") if w else "",
                 ["anchor", "wgmpsc", "ratio"]))
    if BIG:
        B = "{:,}".format(BIG)
        W = ("wgmpsc",)
        add(S, "wgmpsc alone, %s peers: growth per peer (bytes)" % B, "mem",
            smp, "p%d_bytes_per_peer" % BIG, "≤ 1,024", lambda x: x <= 1024,
            modules=W)
        add(S, "wgmpsc alone, `wg setconf` of %s peers (peers/s)" % B, "mem",
            smp, "p%d_setconf_peers_per_s" % BIG, "≥ 50,000/s",
            lambda x: x >= 50000, modules=W)
        add(S, "wgmpsc alone, remove one peer of %s (s)" % B, "mem", smp,
            "p%d_remove1_s" % BIG, modules=W)
        add(S, "wgmpsc alone, `wg show wg0 dump` of %s peers (s)" % B, "mem",
            smp, "p%d_dump_s" % BIG, modules=W)
        add(S, "wgmpsc alone, first ping to a peer added after %s others, "
            "handshake included (s)" % B, "mem", smp,
            "p%d_handshake_last_s" % BIG, modules=W)
        add(S, "wgmpsc alone, `ip link del` of %s peers (s)" % B, "mem", smp,
            "p%d_del_s" % BIG, "≤ 10 s", lambda x: x <= 10, modules=W)

udp_rate = params.get("udp_rate", "?")
for smp in NET_SMPS:
    S = "Throughput and latency (veth between two namespaces)"
    add(S, "ping RTT, median of %s pings (ms)" % params.get("pings", "?"),
        "net", smp, "ping_rtt_median_ms", "≤ 1.0× anchor", veth=True,
        ratio_check=lambda x: x <= 1.0)
    add(S, "TCP, 1 stream (Mbit/s)", "net", smp, "tcp1_mbps", veth=True,
        **TCP_UP)
    add(S, "TCP, 4 streams (Mbit/s)", "net", smp, "tcp4_mbps", veth=True,
        **TCP_UP)
    # Around TCP x1: the outer datagrams (wg0's tx packets) and the skbs
    # that went through the outer UDP/IP stack (veth0's tx packets; a UDP
    # GSO packet counts once) per MB of messages sent: the batching.
    add(S, "TCP x1: outer datagrams per MB sent", "net", smp,
        "tcp1_datagrams_per_mb")
    add(S, "TCP x1: outer UDP/IP stack passes per MB sent", "net", smp,
        "tcp1_stack_passes_per_mb")
    add(S, "UDP 1,300-byte datagrams at %sbit/s: delivered (Mbit/s)"
        % udp_rate, "net", smp, "udp_mbps", veth=True, **RATE_UP)
    add(S, "UDP at %sbit/s: loss (%%)" % udp_rate, "net", smp, "udp_loss_pct",
        veth=True)

# Where the CPU time of a TCP stream goes (guest-profile.sh): counters
# read around one iperf3 run, per MB received.  Lower is better.
PROFILE = [
    ("cpu_ms", "CPU time, all CPUs (ms)"),
    ("softirq_ms", "of it softirq (ms)"),
    ("kworker_ms", "workqueue threads (ms)"),
    ("ksoftirqd_ms", "ksoftirqd threads (ms)"),
    ("napi_ms", "threaded NAPI (ms)"),
    ("iperf3s_ms", "iperf3 server (ms)"),
    ("net_rx", "NET_RX softirqs"),
    ("net_tx", "NET_TX softirqs"),
    ("ipi", "function-call and rescheduling IPIs"),
    ("ctxt", "context switches"),
]
for smp in PROFILE_SMPS:
    S = "Profile: per MB received through the tunnel (lower is better)"
    for n in (1, 4):
        add(S, "TCP x%d: throughput during the profile (Mbit/s)" % n,
            "profile", smp, "tcp%d_mbps" % n)
        for key, label in PROFILE:
            add(S, "TCP x%d: %s per MB" % (n, label), "profile", smp,
                "tcp%d_%s_per_mb" % (n, key))

for smp in HS_SMPS:
    S = "Handshakes (responder: the module under test)"
    add(S, "initiations fully processed per second (closed loop, 32 in "
        "flight)", "hs", smp, "hs_closed_responses_per_s", **RATE_UP)
    add(S, "flood: initiations sent per second (Python, open loop)", "hs",
        smp, "flood_sent_per_s")
    add(S, "flood: handshake responses per second", "hs", smp,
        "flood_responses_per_s")
    add(S, "flood: cookie replies per second (under-load mode)", "hs", smp,
        "flood_cookies_per_s")
    add(S, "TCP 1 stream during the flood (Mbit/s)", "hs", smp,
        "flood_tcp1_mbps", **RATE_UP)
    if "net" in PARTS:
        # Throughput kept: flood run / same round's no-flood TCP run.
        for mod in ("anchor", "wgmpsc"):
            f = per_round("hs", smp, "flood_tcp1_mbps", mod)
            t = per_round("net", smp, "tcp1_mbps", mod)
            for r in set(f) & set(t):
                if t[r]:
                    data[("hs", smp, "flood_kept", mod)][r] = [f[r] / t[r]]
        add(S, "TCP during the flood / TCP without it (same round)", "hs",
            smp, "flood_kept")

# Queue microbenchmark table.
qrows = []
for smp in QUEUE_SMPS:
    for prod in (1, 2, 4, 8):
        m = "median_ns_per_item_p%d" % prod
        k = {kind: stats(per_round("queue", smp, m, kind).values())
             for kind in ("mpsc", "skblist", "ptr_ring")}
        qrows.append((smp, prod, cell(k["mpsc"]), cell(k["skblist"]),
                      cell(k["ptr_ring"]),
                      ratio_cell("queue", smp, m, "mpsc", "skblist"),
                      ratio_cell("queue", smp, m, "mpsc", "ptr_ring")))


# Native queue benchmark table (tools/bench/native): the host's CPUs, so
# "smp" is the number of CPUs it ran on.  The cases it was asked for are
# always measured on two CPUs or more; "2p" only on three or more.
NATIVE_KINDS = ("mpsc", "mpsc_counted", "mpsc_bounded", "skblist",
                "ptr_ring")
nrows = []
native_smps = smps("native") if "native" in PARTS else []
if "native" in PARTS and not native_smps:
    native_smps = [0]           # asked for, nothing measured: rows of "—"
for smp in native_smps:
    seen = {k[2][len("ns_per_item_"):] for k in data
            if k[0] == "native" and k[1] == smp
            and k[2].startswith("ns_per_item_")}
    for case in ["1p", "2p-same", "2p-split"] + \
            sorted(seen - {"1p", "2p-same", "2p-split"}):
        m = "ns_per_item_" + case
        for kind in NATIVE_KINDS:
            full = stats(per_round("native", smp, "full_per_item_" + case,
                                   kind).values())
            nrows.append((case, kind,
                          cell(stats(per_round("native", smp, m,
                                               kind).values())),
                          "1" if kind == "mpsc" else
                          ratio_cell("native", smp, m, kind, "mpsc"),
                          cell(stats(per_round("native", smp,
                                               "run_ns_per_item_" + case,
                                               kind).values())),
                          "%.3f" % full[0] if full else "—"))


# --------------------------------------------------------------------------
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return ""


def md_table(header, table_rows):
    """A Markdown table, then a blank line."""
    out = ["| %s |" % " | ".join(header), "|%s" % ("---|" * len(header))]
    out += ["| %s |" % " | ".join(str(c) for c in r) for r in table_rows]
    return out + [""]


cpu_model = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
started = int(info.get("started", "0"))
ended = int(info.get("ended", "0"))
dur = ended - started
boots = []
if os.path.exists(os.path.join(OUT, "boots.txt")):
    with open(os.path.join(OUT, "boots.txt")) as f:
        boots = [line.strip() for line in f if line.strip()]

md = []
md.append("# wgmpsc benchmark: wgmpsc vs the distribution's wireguard.ko\n")
md.append("Produced by `make bench` (tools/bench/); every figure below was "
          "measured in the run described here.%s\n"
          % (" **Quick smoke run (BENCH_QUICK=1): tiny sizes, not a "
             "measurement to quote.**" if info.get("quick") == "1" else ""))
md.append("| | |\n|---|---|")
md.append("| date | %s (UTC), %d min %d s |" % (
    datetime.datetime.utcfromtimestamp(started).strftime("%Y-%m-%d %H:%M"),
    dur // 60, dur % 60))
md.append("| host | %s, nproc %s, %s GiB, host kernel %s, load average "
          "at end %s |" % (cpu_model, os.cpu_count(),
                           sh("free -g | awk '/^Mem:/ {print $2}'"),
                           platform.release(),
                           sh("cut -d' ' -f1-3 /proc/loadavg")))
md.append("| guest | Debian kernel %s under %s, TCG (no KVM), %s MB |"
          % (info.get("guest_kernel", "?"), info.get("qemu", "?"),
             params.get("vm_mem", "?")))
md.append("| vCPUs | memory/config: %s; throughput: %s; handshakes: %s; "
          "queue: %s |" % (params.get("mem_smp", "?"),
                           params.get("net_smp", "?"),
                           params.get("hs_smp", "?"),
                           ", ".join(str(s) for s in smps("queue")) or "—"))
md.append("| anchor | %s (version %s), loaded from the guest's "
          "/opt/anchor/wireguard.ko |" % (info.get("anchor_module", "?"),
                                          info.get("anchor_version", "?")))
md.append("| wgmpsc | release build, srcversion %s, tree %s |"
          % (info.get("wgmpsc_srcversion", "?"),
             info.get("wgmpsc_git", "?")))
md.append("| settings | rounds %s, %s peers (+%s on wgmpsc alone in round "
          "1), `ip link del` cap %s s, iperf3 %s s per run, %s pings, UDP "
          "target %sbit/s, queue %s items per configuration |"
          % (ROUNDS, P, "{:,}".format(BIG), CAP, params.get("dur", "?"),
             params.get("pings", "?"), udp_rate,
             params.get("qbench_items", "?")))
md.append("")
md.append("Cells are *median (min–max)* over rounds.  The ratio column is "
          "wgmpsc/anchor computed per round pair (both modules measured in "
          "the same VM boot, one after the other), then summarized the same "
          "way: > 1 means wgmpsc has more of the quantity (better for "
          "rates, worse for bytes, seconds and loss).  'met' compares "
          "wgmpsc's median with the target (for targets relative to the "
          "anchor: the median per-round ratio).\n")

T0 = len(md)
if rows:
    md.append("| measure | vCPUs | veth (ceiling) | anchor | wgmpsc | "
              "wgmpsc/anchor | target | met |")
    md.append("|---|---|---|---|---|---|---|---|")
section = None
for (s, label, smp, v, a, w, ratio, target, met, _need) in rows:
    if s != section:
        md.append("| **%s** | | | | | | | |" % s)
        section = s
    md.append("| %s | %d | %s | %s | %s | %s | %s | %s |"
              % (label, smp, v, a, w, ratio, target, met))
md.append("")
TABLE = md[T0:]
QTABLE = []

if qrows:
    md.append("### Queue microbenchmark (tools/bench/kmod, a separate module)"
              "\n")
    md.append("Nanoseconds per item through a queue of capacity 1,024 from "
              "P producer kthreads to one consumer, enqueue and dequeue "
              "together (producers retry when the queue is full).  Per "
              "configuration and round the figure is the median, over the "
              "consumer's consecutive 128-item batches, of the batch's time "
              "per item: the vCPUs of a TCG guest on a loaded host are "
              "descheduled by the host for milliseconds at a time, and the "
              "whole-run mean mostly measures that (it is in samples.txt as "
              "mean_ns_per_item_*, with the batches' 10th percentile as "
              "ns_per_item_*, which tends to catch the consumer draining a "
              "full queue while the producers' vCPUs are descheduled, i.e. "
              "dequeue alone).  The consumer is pinned to the first "
              "vCPU, producers spread over the others.  mpsc is wgmpsc's "
              "own src/mpsc.c compiled into the benchmark module "
              "(wg_mpsc_enqueue_bounded/wg_mpsc_dequeue, credits returned "
              "per 64 items); skblist is sk_buff_head "
              "(skb_queue_tail/skb_dequeue, bounded by its qlen); ptr_ring "
              "is ptr_ring_produce/ptr_ring_consume.  Ratios per round; "
              "< 1 means mpsc is cheaper.\n")
    QTABLE = md_table(("vCPUs", "producers", "mpsc ns/item",
                       "skblist ns/item", "ptr_ring ns/item",
                       "mpsc/skblist", "mpsc/ptr_ring"), qrows)
    md.extend(QTABLE)

if nrows:
    loads = stats(v for smp in native_smps
                  for v in per_round("native", smp, "loadavg1",
                                     "host").values())
    trip = stats(v for smp in native_smps
                 for v in per_round("native", smp, "line_round_trip_ns",
                                    "host").values())
    md.append("### Native queue benchmark (tools/bench/native, on the "
              "host's CPUs)\n")
    md.append("The same three queues, natively: wgmpsc's src/mpsc.c and "
              "the kernel's ptr_ring.h compiled unmodified for userspace, "
              "and a spinlocked sk_buff_head written alike, with the "
              "threads pinned to %s of the host's CPUs (%s), no VM.  "
              "Nanoseconds per item, enqueue and dequeue together, "
              "capacity 1,024; per repetition the median 256-item batch "
              "(the steady state: batches hit by another process taking a "
              "CPU are left out), and the whole run's time per item next "
              "to it; median (min–max) over %s repetitions, ratios per "
              "repetition, < 1 means cheaper than mpsc.  1p: one producer, "
              "the consumer on another CPU; 2p-same: two producers "
              "sharing a CPU; 2p-split: producers on two CPUs, one sharing "
              "the consumer's (there ns/item is the whole run's: the "
              "consumer's turns with that producer are part of the cost).  "
              "Batches in which the producers enqueued less than half a "
              "batch (their CPU taken by another process, the consumer "
              "draining alone) are left out of the median.  "
              "mpsc_counted is "
              "wg_mpsc_enqueue_bounded() with a bound it never reaches "
              "and credits per 64 items: its ratio is the cost of the "
              "bound's bookkeeping; mpsc_bounded has the bound at 1,024.  "
              "Load average (1 min) at each repetition's start: %s (it "
              "counts the benchmark's own threads from the second on); "
              "a cache line's round trip between the consumer's and the "
              "producer's CPU: %s ns.  The whole output is in "
              "native.txt.\n"
              % (", ".join(str(x) for x in native_smps), cpu_model or "?",
                 len(per_round("native", native_smps[0], "loadavg1",
                               "host")) or "?",
                 cell(loads), cell(trip)))
    md.extend(md_table(("case", "queue", "ns/item", "/ mpsc",
                        "whole run ns/item", "refused enqueues per item"),
                       nrows))

md.append("### Caveats\n")
md.append("""- QEMU TCG emulates every guest instruction (crypto included) on a
  2-core host that other VMs share: absolute figures are far below real
  hardware and noisy (see the host load per boot below).  Compare the two
  modules through the per-round ratios.
- Memory and configuration: each round is its own VM boot per vCPU count,
  wgmpsc measured first, then the anchor; a boot ends with the anchor's
  device still configured, because deleting a 20,000-peer anchor device
  takes many minutes under TCG.  So the anchor's `ip link del` is timed in
  round 1 only, up to the cap, and reported as "> cap" with the share of
  its peers' memory freed by then.  Growth is /proc/meminfo Slab + Percpu
  after `wg setconf` minus before it (caches dropped and slabs shrunk both
  times), divided by the peer count; it includes the allowed-IPs nodes and
  hash-table entries.  The rows of """ + "{:,}".format(BIG) + """ peers are wgmpsc alone,
  round 1.  Each size also times `wg show wg0 dump` and the first ping
  to a real peer added after the others (in its own namespace, the big
  device initiating the handshake), after `wg set wg0 listen-port` and
  `ip link set wg0 up`.
  The `wg setconf` file sets the device's private key along with the
  peers, as a real configuration does, so a module's per-peer Curve25519
  work at configuration time is part of its time.
- Throughput: iperf3 and ping between two namespaces over a veth pair in
  one guest, so both tunnel ends share the guest's vCPUs.  The module order
  alternates per round.
- Handshakes: initiations are genuine (see tools/bench/hsinit.py) but are
  generated on the host ahead of time and sent by Python in the guest,
  which caps the flood rate (the "sent per second" row).  Both modules
  then answer most of the flood with cookie replies (under-load mode), as
  the protocol prescribes.  The closed loop keeps 32 initiations in
  flight, below both modules' under-load threshold, so every initiation
  gets the full Noise work.
- Queue microbenchmark: see the note above its table; producers > vCPUs
  share CPUs.
""")
md.append("### Plots\n")
for png, what in (("throughput.png", "throughput per module"),
                  ("memory.png", "memory per peer versus vCPU count"),
                  ("queue.png", "queue cost versus producers"),
                  ("handshakes.png", "handshakes")):
    md.append("![%s](%s)\n" % (what, png))
md.append("")
md.append("### Boots\n")
md.append("Each line: VM boot, vCPUs, exit status, wall seconds, host load "
          "average when it ended.\n")
md.append("```")
md.extend(boots)
md.append("```")
failed = info_multi.get("failed_boot", [])
if failed:
    md.append("\n**Failed boots** (their samples, if any, are included "
              "above): " + "; ".join(failed))
md.append("")

with open(os.path.join(OUT, "results.md"), "w") as f:
    f.write("\n".join(md) + "\n")
print("\n".join(md))


# --------------------------------------------------------------------------
# Plots with gnuplot.
os.makedirs(PLOT_DIR, exist_ok=True)


def s3(phase, smp, metric, module):
    s = stats(per_round(phase, smp, metric, module).values())
    return s[:3] if s else None


def dat(name, lines):
    path = os.path.join(PLOT_DIR, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def gnuplot(script, png):
    path = os.path.join(PLOT_DIR, png + ".gp")
    with open(path, "w") as f:
        f.write("set terminal pngcairo size 1100,520 font 'sans,10' "
                "noenhanced\n")
        f.write("set output '%s'\n" % os.path.join(OUT, png))
        f.write(script)
    r = subprocess.run(["gnuplot", path], capture_output=True, text=True)
    if r.returncode != 0:
        print("report: gnuplot failed for %s:\n%s" % (png, r.stderr),
              file=sys.stderr)


COLORS = {"veth": "#999999", "anchor": "#d95f02", "wgmpsc": "#1b9e77",
          "mpsc": "#1b9e77", "skblist": "#7570b3", "ptr_ring": "#e7298a"}

# throughput.png: one panel per vCPU count, bars with min-max.
net_smps = smps("net")
if net_smps:
    script = "set multiplot layout 1,%d title 'Throughput through the " \
             "tunnel (veth = no tunnel), median with min-max over rounds'\n" \
             % len(net_smps)
    for smp in net_smps:
        lines = []
        for label, metric in (("TCP x1", "tcp1_mbps"), ("TCP x4", "tcp4_mbps"),
                              ("UDP", "udp_mbps")):
            row = ['"%s"' % label]
            for mod in ("veth", "anchor", "wgmpsc"):
                s = s3("net", smp, metric, mod)
                row += ["%g %g %g" % s if s else "NaN NaN NaN"]
            lines.append(" ".join(row))
        path = dat("tput-%d.dat" % smp, lines)
        script += ("set title '%d vCPUs'\nset style data histograms\n"
                   "set style histogram errorbars gap 2 lw 1\n"
                   "set style fill solid 0.8 border -1\nset logscale y\n"
                   "set ylabel 'Mbit/s (log scale)'\nset key top right\n"
                   "set yrange [0.5:*]\nset grid ytics\n"
                   "plot '%s' using 2:3:4:xtic(1) title 'veth' lc rgb '%s', "
                   "'' using 5:6:7 title 'anchor' lc rgb '%s', "
                   "'' using 8:9:10 title 'wgmpsc' lc rgb '%s'\n"
                   % (smp, path, COLORS["veth"], COLORS["anchor"],
                      COLORS["wgmpsc"]))
    script += "unset multiplot\n"
    gnuplot(script, "throughput.png")

# memory.png: bytes per peer against vCPUs.
mem_smps = smps("mem")
if mem_smps:
    series = [("anchor", PEERS), ("wgmpsc", PEERS)]
    if BIG:
        series.append(("wgmpsc", BIG))
    plots = []
    for i, (mod, n) in enumerate(series):
        lines = []
        for smp in mem_smps:
            s = s3("mem", smp, "p%d_bytes_per_peer" % n, mod)
            if s:
                lines.append("%d %g %g %g" % (smp, s[0], s[1], s[2]))
        if lines:
            path = dat("mem-%s-%d.dat" % (mod, n), lines)
            plots.append("'%s' using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 1.3 "
                         "lc rgb '%s' dt %d title '%s, %s peers'"
                         % (path, COLORS[mod], 1 if n == PEERS else 2, mod,
                            "{:,}".format(n)))
    script = ("set title 'Kernel memory per peer (slab + percpu growth over "
              "wg setconf), median with min-max'\n"
              "set xlabel 'vCPUs'\nset ylabel 'bytes per peer'\n"
              "set xtics (%s)\nset xrange [%g:%g]\nset yrange [0:*]\n"
              "set grid\nset key top left\n"
              "plot %s, 1024 with lines dt 3 lw 2 lc rgb 'black' "
              "title 'target 1,024'\n"
              % (", ".join(str(s) for s in mem_smps),
                 min(mem_smps) - 1, max(mem_smps) + 1, ", ".join(plots)))
    if plots:
        gnuplot(script, "memory.png")

# queue.png: ns per item against producers, per kind and vCPU count.
q_smps = smps("queue")
if q_smps:
    plots = []
    for si, smp in enumerate(q_smps):
        for kind in ("mpsc", "skblist", "ptr_ring"):
            lines = []
            for prod in (1, 2, 4, 8):
                s = s3("queue", smp, "median_ns_per_item_p%d" % prod, kind)
                if s:
                    lines.append("%d %g %g %g" % (prod, s[0], s[1], s[2]))
            if lines:
                path = dat("queue-%d-%s.dat" % (smp, kind), lines)
                plots.append("'%s' using 1:2:3:4 with yerrorlines lw 2 "
                             "pt %d ps 1.2 dt %d lc rgb '%s' title '%s, %d "
                             "vCPUs'" % (path, 7 if si == 0 else 5, si + 1,
                                         COLORS[kind], kind, smp))
    script = ("set title 'Queue cost: ns per item (enqueue + dequeue), "
              "capacity 1,024; median of 128-item batches; median and min-max "
              "over rounds'\n"
              "set xlabel 'producer kthreads'\nset ylabel 'ns per item "
              "(log scale)'\nset logscale xy 2\nset xtics (1, 2, 4, 8)\n"
              "set xrange [0.8:10]\nset grid\nset key outside right\n"
              "set format y '%%g'\nplot %s\n" % ", ".join(plots))
    if plots:
        gnuplot(script, "queue.png")

# handshakes.png: closed-loop rate and TCP under flood.
hs_smps = smps("hs")
if hs_smps:
    lines = []
    for smp in hs_smps:
        for label, metric, phase in (
                ("handshakes/s (closed loop)", "hs_closed_responses_per_s",
                 "hs"),
                ("TCP Mbit/s, no flood", "tcp1_mbps", "net"),
                ("TCP Mbit/s, during flood", "flood_tcp1_mbps", "hs")):
            row = ['"%s\\n%d vCPUs"' % (label, smp)]
            for mod in ("anchor", "wgmpsc"):
                s = s3(phase, smp, metric, mod)
                row += ["%g %g %g" % s if s else "NaN NaN NaN"]
            lines.append(" ".join(row))
    path = dat("hs.dat", lines)
    script = ("set title 'Handshakes: responder capacity, and TCP through "
              "the tunnel during an initiation flood (median, min-max)'\n"
              "set style data histograms\n"
              "set style histogram errorbars gap 2 lw 1\n"
              "set style fill solid 0.8 border -1\nset logscale y\n"
              "set yrange [0.5:*]\nset grid ytics\nset key top right\n"
              "set bmargin 5\n"
              "plot '%s' using 2:3:4:xtic(1) title 'anchor' lc rgb '%s', "
              "'' using 5:6:7 title 'wgmpsc' lc rgb '%s'\n"
              % (path, COLORS["anchor"], COLORS["wgmpsc"]))
    gnuplot(script, "handshakes.png")


# --------------------------------------------------------------------------
def numeric(c):
    c = c.strip()
    if c[:2] in ("> ", "< "):
        c = c[2:]
    return re.match(r"-?[0-9][0-9,]*(\.[0-9]+)?( |$)", c) is not None


if TAP:
    tap = []

    def tap_line(good, what):
        tap.append("%s %d %s" % ("ok" if good else "not ok", len(tap) + 1,
                                 what))

    for (sec, label, smp, v, a, w, ratio, _t, _m, need) in rows:
        cells = {"veth": v, "anchor": a, "wgmpsc": w, "ratio": ratio}
        bad = ["%s=%r" % (n, cells[n]) for n in need
               if not numeric(cells[n])
               and not (n == "ratio" and cells[n].startswith("n/a (anchor 0)"))]
        tap_line(not bad, "bench table row: %s, %d vCPUs%s"
                 % (label, smp, " (not numeric: %s)" % ", ".join(bad)
                    if bad else ""))
    for (smp, prod, *cells) in qrows:
        bad = [c for c in cells if not numeric(c)]
        tap_line(not bad, "bench queue row: %d producers, %d vCPUs%s"
                 % (prod, smp, " (not numeric: %s)" % ", ".join(bad)
                    if bad else ""))
    for (case, kind, *cells) in nrows:
        bad = [c for c in cells if not numeric(c)]
        tap_line(not bad, "bench native row: %s, %s%s"
                 % (case, kind, " (not numeric: %s)" % ", ".join(bad)
                    if bad else ""))
    for png, want in (("throughput.png", NET_SMPS), ("memory.png", MEM_SMPS),
                      ("queue.png", QUEUE_SMPS), ("handshakes.png", HS_SMPS)):
        if want:
            path = os.path.join(OUT, png)
            tap_line(os.path.exists(path) and os.path.getsize(path) > 0,
                     "bench plot %s written" % png)
    with open(TAP, "w") as f:
        f.write("1..%d\n" % len(tap) + "\n".join(tap) + "\n")


# --------------------------------------------------------------------------
if README:
    rel = os.path.relpath(os.path.abspath(OUT),
                          os.path.dirname(os.path.abspath(README)))
    sec = ["<!-- bench:begin: written by tools/bench/report.py from %s/ -->"
           % rel, ""]
    sec.append("Latest run: %s UTC, %s rounds, Debian kernel %s in QEMU "
               "TCG on a shared %s-CPU host (%s); setup, settings and "
               "caveats in [%s/results.md](%s/results.md).  Cells are "
               "median (min–max) over rounds; the ratio is wgmpsc/anchor "
               "per round pair, both measured in the same VM boot.\n"
               % (datetime.datetime.utcfromtimestamp(started)
                  .strftime("%Y-%m-%d %H:%M"), ROUNDS,
                  info.get("guest_kernel", "?"), os.cpu_count(),
                  cpu_model or "?", rel, rel))
    sec.extend(TABLE)
    if QTABLE:
        sec.append("Queue microbenchmark, ns per item (enqueue + dequeue, "
                   "median 128-item batch; see results.md):\n")
        sec.extend(QTABLE)
    for png, what in (("throughput.png", "throughput per module"),
                      ("memory.png", "memory per peer versus vCPU count"),
                      ("queue.png", "queue cost versus producers"),
                      ("handshakes.png", "handshakes")):
        if os.path.exists(os.path.join(OUT, png)):
            sec.append("![%s](%s/%s)\n" % (what, rel, png))
    sec.append("<!-- bench:end -->")
    with open(README) as f:
        text = f.read()
    b = text.find("<!-- bench:begin")
    e = text.find("<!-- bench:end -->")
    if b < 0 or e < b:
        sys.exit("report: no bench:begin/bench:end markers in %s" % README)
    text = text[:b] + "\n".join(sec) + text[e + len("<!-- bench:end -->"):]
    with open(README + ".tmp", "w") as f:
        f.write(text)
    os.replace(README + ".tmp", README)
