#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fuzzing, in the VM (tools/vm.sh), loading $WGMPSC_KO: the receive path
# with malformed, mutated and replayed packets while a live tunnel runs,
# and the configuration with mutated generic-netlink requests.
#
#   +- fz-a ----------------+                    +- fz-b ----------------+
#   | wg1 10.0.0.1/24       |                    | wg2 10.0.0.2/24       |
#   +----|------------------+                    +-----------------|-----+
#        |  ping -i 0.1 both ways for the whole run                |
#   +- fz-mid -----------------------------------------------------------+
#   | lo: wg1's UDP :10001  <-- 127.0.0.1 -->  wg2's UDP :10002          |
#   |   ^ tests/fuzz-packets.py: sniffs the tunnel (AF_PACKET, BPF) and  |
#   |     sends both ports raw IPv4/IPv6 datagrams from 127.a.b.c and    |
#   |     fd77::/64 sources, one category of packet per phase            |
#   +--------------------------------------------------------------------+
#
#   +- fz-nl ---------------+
#   | wgn0, 8 peers         |  tests/fuzz-netlink.py: mutated SET/GET
#   +-----------------------+  requests, `wg show dump` after each
#
# Then everything is deleted, the debug build's object-lifetime log must
# balance and the module must unload.
#
# FUZZ_PACKETS (default 40000; `make fuzz`: 1000000) packets, in rounds of
# FUZZ_ROUND (default 20000) over all categories; FUZZ_NETLINK (default
# 400; `make fuzz`: 3000) netlink requests.
# Output is TAP; the exit status is non-zero if any test failed.

set -e
umask 077

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib.sh
. "$HERE/lib.sh"

PACKETS=${FUZZ_PACKETS:-40000}
ROUND=${FUZZ_ROUND:-20000}
NETLINK=${FUZZ_NETLINK:-400}
wgt_init fuzz '^fz-'
PIDS=()
T0=$SECONDS

cleanup() {
	set +e
	local pid
	for pid in "${PIDS[@]}" ${KMSG:+"$KMSG"}; do
		kill "$pid" 2>/dev/null
	done
	wgt_cleanup
}
trap cleanup EXIT

# repeer: wg1 and wg2 forget each other (their sessions end) and are
# configured as peers again.
repeer() {
	nsx fz-a wg set wg1 peer "$(pub k2)" remove
	nsx fz-b wg set wg2 peer "$(pub k1)" remove
	nsx fz-a wg set wg1 peer "$(pub k2)" endpoint 127.0.0.1:10002 allowed-ips 10.0.0.2/32
	nsx fz-b wg set wg2 peer "$(pub k1)" endpoint 127.0.0.1:10001 allowed-ips 10.0.0.1/32
}

# results FILE: the "RESULT ok|fail NAME" lines of a helper as TAP, its
# "#" lines as diagnostics.
results() {
	local verdict name
	grep '^#' "$1" || true
	while read -r _ verdict name; do
		if [ "$verdict" = ok ]; then tap_ok "$name"; else tap_not_ok "$name"; fi
	done < <(grep '^RESULT ' "$1")
}

# field JSON EXPR: a value from a helper's JSON summary line.
field() {
	python3 -S -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, {"d": d}))' "$1" "$2"
}

# linkstat NS DEV: "rx_errors rx_dropped" of a device.
linkstat() {
	ip -n "$1" -s -j link show "$2" | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats64"]["rx"]
print(s["errors"], s["dropped"])'
}
# rx_causes NS DEV: from one `ethtool -S` of DEV, the sum of its error
# causes (invalid, bad MAC, replay, allowed IPs) and that of its drop
# causes (no session, queue or ring full, no memory), as "errors drops";
# fails if a counter is missing.
rx_causes() {
	in_ns "$1" ethtool -S "$2" | awk '
		BEGIN {
			split("rx_invalid_message rx_bad_mac rx_replay rx_allowedips_mismatch", e)
			split("rx_no_keypair rx_queue_full rx_crypt_ring_full rx_nomem", d)
			for (i in e) kind[e[i] ":"] = "e"
			for (i in d) kind[d[i] ":"] = "d"
		}
		$1 in kind { sum[kind[$1]] += $2; seen[$1] = 1 }
		END {
			for (k in kind) if (!(k in seen)) { print "no counter " k > "/dev/stderr"; exit 1 }
			print sum["e"] + 0, sum["d"] + 0
		}'
}

# gaps FILE START END: the longest time without a ping reply in [START,
# END] (ping -D timestamps) and the loss among the echo requests answered
# in between, by sequence number, as "gap loss%".
gaps() {
	python3 -S - "$@" <<'EOF'
import re, sys
path, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
times, seqs = [], set()
for line in open(path, errors="replace"):
    m = re.match(r"\[(\d+\.\d+)\].*icmp_seq=(\d+)", line)
    if m and start <= float(m.group(1)) <= end:
        times.append(float(m.group(1)))
        seqs.add(int(m.group(2)))
marks = [start] + sorted(times) + [end]
gap = max(b - a for a, b in zip(marks, marks[1:]))
span = max(seqs) - min(seqs) + 1 if seqs else 1
print("%.1f %.1f" % (gap, 100 * (1 - len(seqs) / span)))
EOF
}

# --- setup ---------------------------------------------------------------

# A private copy of the module: the host may rebuild the original
# meanwhile.
cp "${WGMPSC_KO:?}" "$T/"
export WGMPSC_KO=$T/${WGMPSC_KO##*/}
dmesg -C
python3 "$HERE/fuzz-helper.py" kmsg "$T/kmsg" &
KMSG=$!
wg_test_start
for k in k1 k2; do
	keypair $k
done

for ns in fz-mid fz-a fz-b fz-nl; do
	ip netns add $ns
	ip -n $ns link set lo up
done
ip -n fz-mid link add wg1 type wireguard
ip -n fz-mid link add wg2 type wireguard
nsx fz-mid wg set wg1 private-key "$T/k1.key" listen-port 10001 \
	peer "$(pub k2)" endpoint 127.0.0.1:10002 allowed-ips 10.0.0.2/32
nsx fz-mid wg set wg2 private-key "$T/k2.key" listen-port 10002 \
	peer "$(pub k1)" endpoint 127.0.0.1:10001 allowed-ips 10.0.0.1/32
ip -n fz-mid link set wg1 netns fz-a
ip -n fz-mid link set wg2 netns fz-b
ip -n fz-a addr add 10.0.0.1/24 dev wg1
ip -n fz-b addr add 10.0.0.2/24 dev wg2
ip -n fz-a link set wg1 up
ip -n fz-b link set wg2 up
# A burst of thousands of datagrams must not overflow the loopback's
# backlog (that loss is measured and subtracted, but better none).
sysctl -qw net.core.netdev_max_backlog=200000

# --- receive path --------------------------------------------------------

# The fuzzer sniffs from before the first handshake, so it holds the
# tunnel's handshake messages and data to replay; pings both ways run for
# the whole fuzzing.  Every packet must be counted under its cause (see
# tests/fuzz-packets.py), the pings must never stall and nothing in the
# kernel may complain (tools/vm.sh fails the run on any warning).
read -r e0 d0 <<<"$(linkstat fz-b wg2)"
causes=$(rx_causes fz-b wg2)
read -r s0 k0 <<<"$causes"
ns_argv 3000 fz-mid python3 -S "$HERE/fuzz-packets.py" \
	--device "wg2:fz-b:10002:$(pub k2)" --device "wg1:fz-a:10001:$(pub k1)" \
	--packets "$PACKETS" --round "$ROUND" --ready "$T/ready" --go "$T/go" --warmup 4
"${NS_ARGV[@]}" >"$T/fuzz.out" 2>"$T/fuzz.err" &
FUZZ=$!
PIDS+=("$FUZZ")
wait_until 60 test -e "$T/ready"
# A first session, which then ends (both sides forget each other and are
# configured again) so the fuzzer holds stale packets, then the one that
# lives through the fuzzing.
nsx fz-a ping -c 3 -i 0.3 -w 20 10.0.0.2 >/dev/null
repeer
start=$(date +%s.%N)
ns_argv 3600 fz-a ping -D -i 0.1 -W 5 10.0.0.2
"${NS_ARGV[@]}" >"$T/ping-a.out" 2>&1 &
PIDS+=("$!")
ns_argv 3600 fz-b ping -D -i 0.1 -W 5 10.0.0.1
"${NS_ARGV[@]}" >"$T/ping-b.out" 2>&1 &
PIDS+=("$!")
touch "$T/go"
rc=0
wait "$FUZZ" || rc=$?
end=$(date +%s.%N)
tail -n 5 "$T/fuzz.err" | sed 's/^/# stderr: /'
tap_check "fuzzer ran to the end (exit status $rc)" test "$rc" -eq 0
results "$T/fuzz.out"
summary=$(tail -n 1 "$T/fuzz.out")
echo "# $summary"
if [ -n "$summary" ] && [ "$rc" -eq 0 ]; then
	echo "# rate: $(field "$summary" 'd["rate"]') packets/s overall, $(field "$summary" 'd["send_rate"]') while sending; $(field "$summary" 'd["sources"]') source addresses"
	tap_check "the fuzz came from at least 1000 source addresses" \
		test "$(field "$summary" 'd["sources"]')" -ge 1000
	# Phases not counted exactly under their category's own counter (a
	# documented diversion or the live tunnel's own packets), for the record.
	field "$summary" '"\n".join(d["inexact"])' | sed '/^$/d; s/^/# inexact phase: /'
	start=$(field "$summary" 'd["fuzz_start"]')
	end=$(field "$summary" 'd["fuzz_end"]')
fi

# The interface statistics agree with the causes: every cause that is an
# error on wg2 (invalid, bad MAC, replay, allowed IPs) is one rx_error,
# every session-less, queue- or ring-full or unallocatable data packet
# one rx_dropped (the core may drop more).
read -r e1 d1 <<<"$(linkstat fz-b wg2)"
causes=$(rx_causes fz-b wg2)
read -r s1 k1 <<<"$causes"
tap_check "wg2: rx_errors grew by the error causes' sum ($((e1 - e0)) = $((s1 - s0)))" \
	test $((e1 - e0)) -eq $((s1 - s0))
tap_check "wg2: rx_dropped grew by at least the session-less, full-queue and no-memory data ($((d1 - d0)) >= $((k1 - k0)))" \
	test $((d1 - d0)) -ge $((k1 - k0))

# The live tunnel carried traffic through all of it, while fuzzing: no
# five seconds without a reply in either direction (a ping every 0.1 s;
# the emulated CPUs are saturated by the fuzzer), little loss.
for side in a b; do
	read -r gap loss <<<"$(gaps "$T/ping-$side.out" "$start" "$end")"
	tap_check "live tunnel, ping from fz-$side during the fuzzing: longest gap between replies ${gap}s <= 5s" \
		awk -v g="$gap" 'BEGIN { exit !(g <= 5) }'
	tap_check "live tunnel, ping from fz-$side during the fuzzing: loss ${loss}% <= 5%" \
		awk -v l="$loss" 'BEGIN { exit !(l <= 5) }'
done
for pid in "${PIDS[@]}"; do
	kill "$pid" 2>/dev/null || true
done
PIDS=()

# And a fresh handshake still completes afterwards: both sides forget
# each other and are configured again.
hs0=$(in_ns fz-a wg show wg1 latest-handshakes | awk '{ print $2 }')
repeer
tap_check "after the fuzzing, a new handshake: ping fz-a -> fz-b works" \
	nsx fz-a ping -c 2 -i 0.3 -w 20 10.0.0.2
hs1=$(in_ns fz-a wg show wg1 latest-handshakes | awk '{ print $2 }')
tap_check "... and wg1 shows a handshake newer than before ($hs0 -> $hs1)" test "$hs1" -gt "$hs0"

# --- configuration ---------------------------------------------------------

# wgn0 gets a base configuration of 8 peers; every mutated request that
# is rejected, and every GET, must leave `wg show wgn0 dump` as it was.
ip -n fz-nl link add wgn0 type wireguard
ip -n fz-nl link set wgn0 up
{
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\nFwMark = 0x42\n' "$(wg genkey)"
	for i in $(seq 1 8); do
		printf '\n[Peer]\nPublicKey = %s\nPresharedKey = %s\n' "$(wg genkey | wg pubkey)" "$(wg genpsk)"
		printf 'AllowedIPs = 10.%d.0.0/16, fd0%d::/64\n' "$i" "$i"
		[ $((i % 2)) = 0 ] && printf 'Endpoint = 192.0.2.%d:%d\n' "$i" $((1000 + i))
		[ $((i % 3)) = 0 ] && printf 'Endpoint = [2001:db8::%d]:%d\n' "$i" $((2000 + i))
	done
} >"$T/base.conf"
rc=0
ns_timeout 3000 fz-nl python3 -S "$HERE/fuzz-netlink.py" wgn0 "$T/base.conf" --messages "$NETLINK" \
	>"$T/nl.out" 2>"$T/nl.err" || rc=$?
tail -n 5 "$T/nl.err" | sed 's/^/# stderr: /'
tap_check "netlink fuzzer ran to the end (exit status $rc)" test "$rc" -eq 0
results "$T/nl.out"
echo "# $(tail -n 1 "$T/nl.out" | cut -c1-600)"
tap_check "wgn0 still answers wg(8) and holds the base configuration after a reset" \
	sh -c "ip netns exec fz-nl wg setconf wgn0 '$T/base.conf' && [ \$(ip netns exec fz-nl wg show wgn0 peers | wc -l) -eq 8 ]"

# --- teardown ------------------------------------------------------------

for ns in fz-a fz-b fz-nl fz-mid; do
	ip netns del $ns
done
wait_until 30 lifetime_audit "$T/kmsg" >/dev/null 2>&1 || true
tap_check "lifetime: every created peer and keypair was destroyed, and only those" lifetime_audit "$T/kmsg"
lifetime_audit "$T/kmsg" | grep '^# [A-Z]' || true
tap_check "module unloads" wait_until 30 wg_unload_module
MODULE_LOADED=0
out=$(cat /proc/sys/kernel/tainted)
tap_check "kernel not tainted by a warning, oops, bad page or lockup" \
	test $((out & ((1 << 5) | (1 << 7) | (1 << 9) | (1 << 14)))) -eq 0
echo "# total: $((SECONDS - T0)) s"
tap_done
