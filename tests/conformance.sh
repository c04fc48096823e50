#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Conformance: outcomes that must be the same for wgmpsc and the in-tree
# driver.  Module-agnostic: it loads whatever $WGMPSC_KO names, wgmpsc or
# the distro's wireguard.ko (tools/check.sh runs it against both; the
# in-tree run is "conformance-intree").  Runs inside the VM (tools/vm.sh).
#
# The pair every block starts from (recreated per block, so counters start
# at zero): devices made in wgc-mid, which keeps their UDP sockets, moved
# to wgc-a and wgc-b; the outer UDP runs over wgc-mid's loopback.
#
#   +- wgc-a --------------------+          +- wgc-b --------------------+
#   | wg0 10.9.0.1/24 fd09::1/64 |          | wg0 10.9.0.2/24 fd09::2/64 |
#   +-----|----------------------+          +----------------------|-----+
#   +- wgc-mid ------------------------------------------------------|-+
#   |  lo: A's UDP :20001  <-- 127.0.0.1 (or [::1]) -->  B's UDP :20002 |
#   +-------------------------------------------------------------------+
#
# nested adds wg1 in wgc-a and wgc-b (made there, sockets there), whose
# endpoints are the other side's wg0 address (10.9.0.x or fd09::x), so
# its UDP only ever travels inside wg0:
#
#   wgc-a: wg1 10.10.0.1 :20011 -> wg0 ==(lo, wgc-mid)==> wg0 -> wg1 10.10.0.2 :20012 (wgc-b)
#
# Blocks: counters (exact device and per-peer counters), privkey (a
# private key change with a session up), downup (a device down and up
# under traffic), mismatch (a packet from outside the allowed IPs), bulk
# (a TCP copy's counters on both sides, each outer family), bigtcp (the
# same with GSO and GRO past 64 KiB), nested (tunnels two deep; last:
# wgmpsc used to panic there).
#
# Message sizes (UDP payload): handshake initiation 148, response 92,
# cookie reply 64, keepalive 32, data 16 + roundup(plaintext, 16) + 16.
#
# WGT_BLOCKS: the blocks to run, in order (default: all of them, e.g.
# "counters privkey downup mismatch" to leave out nested).
# Output is TAP; the exit status is non-zero if any test failed.

set -e

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib.sh
. "$HERE/lib.sh"

wgt_init conformance '^wgc-'
T0=$SECONDS

cleanup() {
	set +e
	wgt_cleanup
}
trap cleanup EXIT

# --- helpers -----------------------------------------------------------

# Protocol message sizes, UDP payload bytes.
INIT=148
RESP=92
# data LEN: a data message carrying an inner packet of LEN bytes (padded
# to a multiple of 16; the MTU cap on padding never applies here).
data() { echo $((16 + (($1 + 15) / 16) * 16 + 16)); }
# Inner packet sizes of a ping with -s N: ICMP header 8, IPv4 20, IPv6 40.
ping4() { echo $(($1 + 8 + 20)); }
ping6() { echo $(($1 + 8 + 40)); }

# The namespace of address .1 and of address .2.
SIDE=([1]=wgc-a [2]=wgc-b)

# pair [OUTER]: fresh wgc-mid, wgc-a, wgc-b and the two wg0 devices;
# OUTER is 4 (default) or 6, the family of the endpoints.
pair() {
	local outer=${1:-4} lo=127.0.0.1 ns i
	[ "$outer" = 4 ] || lo='[::1]'
	wg_cleanup_namespaces '^wgc-'
	for ns in wgc-mid wgc-a wgc-b; do
		ip netns add $ns
	done
	# (ip -batch: each exec counts under TCG.)
	ip -n wgc-mid -batch - <<-EOF
	link set lo up
	link add wg0 type wireguard
	link add wgb type wireguard
	EOF
	nsx wgc-mid wg set wg0 private-key "$T/a.key" listen-port 20001 \
		peer "$(pub b)" endpoint "$lo:20002" allowed-ips 10.9.0.2/32,fd09::2/128
	nsx wgc-mid wg set wgb private-key "$T/b.key" listen-port 20002 \
		peer "$(pub a)" endpoint "$lo:20001" allowed-ips 10.9.0.1/32,fd09::1/128
	ip -n wgc-mid -batch - <<-EOF
	link set wg0 netns wgc-a
	link set wgb netns wgc-b name wg0
	EOF
	for i in 1 2; do
		ip -n "${SIDE[i]}" -batch - <<-EOF
		link set lo up
		addr add 10.9.0.$i/24 dev wg0
		addr add fd09::$i/64 dev wg0 nodad
		link set wg0 up
		EOF
	done
}

# ping_file NAME NS ARGS...: runs ping, output in $T/NAME.out.
ping_file() {
	local name=$1 ns=$2
	shift 2
	ns_timeout 150 "$ns" ping "$@" >"$T/$name.out" 2>&1 || true
}
# ping_test NAME NS MAXLOSS PING-ARGS...: TAP on the loss of one ping run.
ping_test() {
	local name=$1 ns=$2 max=$3
	shift 3
	ping_file ping "$ns" "$@"
	tap_check "$name" loss_at_most "$T/ping.out" "$max"
}

# snap NAME: both sides' device counters and peer transfer, in
# $T/NAME.{a,b}.dev ("rx_bytes rx_packets rx_errors rx_dropped tx_bytes
# tx_packets tx_errors tx_dropped" of the device) and .peer ("rx tx"
# transfer of its only peer).  Taken between pings
# that must come less than 10 s apart (no passive keepalive), on a
# crowded TCG host: only the four reads here, all parsing afterwards.
snap() {
	snap_raw "$1"
	snap_parse "$1"
}
# snap_settled NAME: snap NAME, taken again (for up to 10 s) until the
# snapshot itself shows nothing in flight: each side's device has
# received every packet the other's sent (rx packets == the other's tx
# packets).  For the snapshots around traffic: the last ACK of a copy,
# or a passive keepalive, may be on its way, before the first read or
# between the two sides' reads, and one side would be a packet ahead.  A
# packet really lost leaves the last snapshot unsettled, and the checks
# on it fail.
snap_settled() {
	local end=$((SECONDS + 10))
	snap_raw "$1"
	until settled "$1" || [ "$SECONDS" -ge "$end" ]; do
		sleep 0.2
		snap_raw "$1"
	done
	snap_parse "$1"
}
settled() {
	local a b q='.[0].stats64 | "\(.rx.packets) \(.tx.packets)"'
	a=$(jq -r "$q" "$T/$1.a.devj")
	b=$(jq -r "$q" "$T/$1.b.devj")
	[ "${a% *}" = "${b#* }" ] && [ "${b% *}" = "${a#* }" ]
}
# dev_json SIDE: side SIDE's (a or b) wg0 with its counters, as ip's JSON.
dev_json() { ip -n "wgc-$1" -s -j link show dev wg0; }
snap_raw() {
	dev_json a >"$T/$1.a.devj"
	nsx wgc-a wg show wg0 dump >"$T/$1.a.dump"
	dev_json b >"$T/$1.b.devj"
	nsx wgc-b wg show wg0 dump >"$T/$1.b.dump"
}
snap_parse() {
	local s
	for s in a b; do
		jq -r '.[0].stats64 | "\(.rx.bytes) \(.rx.packets) \(.rx.errors) \(.rx.dropped) \(.tx.bytes) \(.tx.packets) \(.tx.errors) \(.tx.dropped)"' \
			"$T/$1.$s.devj" >"$T/$1.$s.dev"
		awk 'NR == 2 { print $6, $7 }' "$T/$1.$s.dump" >"$T/$1.$s.peer"
	done
	show_snap "$1"
}
# show_snap NAME: the snapshot, as a TAP diagnostic.
show_snap() {
	echo "# $1: A dev [$(<"$T/$1.a.dev")] peer [$(<"$T/$1.a.peer")]," \
		"B dev [$(<"$T/$1.b.dev")] peer [$(<"$T/$1.b.peer")]"
}
# field FILE N: the Nth word of FILE.
field() { awk -v n="$2" '{ print $n }' "$1"; }

# dev_equals_peer SNAP SIDE: the device's rx/tx bytes equal its peer's
# rx/tx transfer.
dev_equals_peer() {
	local d="$T/$1.$2.dev" p="$T/$1.$2.peer"
	eq "$(field "$d" 1) $(field "$d" 5)" "$(field "$p" 1) $(field "$p" 2)" \
		"device rx/tx bytes vs peer rx/tx"
}

# expect_counts LABEL SNAP A_RXB A_RXP A_TXB A_TXP: exact counters of
# snapshot SNAP; B's are A's mirrored (one peer each, nothing lost).
# Device errors and drops stay 0.
expect_counts() {
	local l=$1 s=$2 arb=$3 arp=$4 atb=$5 atp=$6
	tap_check "$l: A's peer transfer rx $arb tx $atb" \
		eq "$(<"$T/$s.a.peer")" "$arb $atb" "A peer rx tx"
	tap_check "$l: B's peer transfer rx $atb tx $arb" \
		eq "$(<"$T/$s.b.peer")" "$atb $arb" "B peer rx tx"
	tap_check "$l: A's device rx $arb bytes/$arp packets, tx $atb/$atp, no errors or drops" \
		eq "$(<"$T/$s.a.dev")" "$arb $arp 0 0 $atb $atp 0 0" "A dev"
	tap_check "$l: B's device rx $atb bytes/$atp packets, tx $arb/$arp, no errors or drops" \
		eq "$(<"$T/$s.b.dev")" "$atb $atp 0 0 $arb $arp 0 0" "B dev"
	tap_check "$l: device bytes == peer bytes on A" dev_equals_peer "$s" a
	tap_check "$l: device bytes == peer bytes on B" dev_equals_peer "$s" b
}

# --- blocks --------------------------------------------------------------

# Counters, exact.  The rule (the in-tree driver's): per-peer transfer
# and device rx/tx bytes both count the UDP payload of every WireGuard
# message, handshake messages included, and device packets count those
# messages.  B's first ping is queued, starts the handshake (B sends an
# initiation, A a response) and goes out as soon as B has the session,
# with no keepalive; the responder A sends nothing before B's first data.
# So after N pings B -> A of inner size L, all answered:
#   A rx = B tx = INIT + N * data(L)   bytes,  1 + N packets
#   A tx = B rx = RESP + N * data(L)   bytes,  1 + N packets
# and each later ping adds data(its size) and 1 packet each way.
# Nothing else may be sent before the passive keepalive (10 s after B's
# last receive without sending): so the pings and snapshots run back to
# back, and the assertions only after the last one.
block_counters() {
	local d4 d4k d6 arb atb n=10 t0 t1 t2 t3
	pair 4
	echo "# wg0: $(ip -n wgc-a -j -d link show dev wg0 | jq -c '.[0] | [.flags, .link_type, .mtu, .qdisc, .txqlen, .inet6_addr_gen_mode]')"
	# No IPv6 link-local address is generated for the device (address
	# generation mode "none"), so the kernel has nothing to solicit with
	# and nothing goes to a destination without a peer.
	tap_check "counters: wg0 has no IPv6 link-local address after up (addrgenmode $(ip -n wgc-a -j -d link show dev wg0 | jq -r '.[0].inet6_addr_gen_mode'))" \
		eq "$(ip -n wgc-a -6 -o addr show dev wg0 scope link)" "" "link-local addresses"
	# Up and idle, before any traffic: nothing counted yet, no error.
	snap c0
	tap_check "counters: idle devices after up count nothing, on A" \
		eq "$(<"$T/c0.a.dev") $(<"$T/c0.a.peer")" "0 0 0 0 0 0 0 0 0 0" "A dev, peer"
	tap_check "counters: idle devices after up count nothing, on B" \
		eq "$(<"$T/c0.b.dev") $(<"$T/c0.b.peer")" "0 0 0 0 0 0 0 0 0 0" "B dev, peer"
	ping_file c10 wgc-b -c $n -i 0.2 -W 5 -s 56 10.9.0.1
	t0=$EPOCHREALTIME
	snap_raw c10
	# One 1000-byte ping (a 1028-byte IPv4 packet) each way.
	t1=$EPOCHREALTIME
	ping_file c1k wgc-b -c 1 -W 5 -s 1000 10.9.0.1
	t2=$EPOCHREALTIME
	snap_raw c1k
	# Three IPv6 pings (104-byte packets).
	t3=$EPOCHREALTIME
	ping_file c6 wgc-b -c 3 -i 0.2 -W 5 -s 56 fd09::1
	snap_raw c6
	# (Had a gap reached 10 s, B would have sent a keepalive in it.)
	echo "# counters: gaps between the pings $(awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" \
		'BEGIN { printf "%.1f s and %.1f s", b - a, d - c }')"
	snap_parse c10
	snap_parse c1k
	snap_parse c6

	d4=$(data "$(ping4 56)")
	tap_check "counters: $n pings B -> A (-s 56), all answered" loss_at_most "$T/c10.out" 0
	arb=$((INIT + n * d4))
	atb=$((RESP + n * d4))
	expect_counts "counters: after $n pings, $d4-byte data messages" c10 \
		$arb $((1 + n)) $atb $((1 + n))

	d4k=$(data "$(ping4 1000)")
	tap_check "counters: a 1000-byte ping B -> A answered" loss_at_most "$T/c1k.out" 0
	arb=$((arb + d4k))
	atb=$((atb + d4k))
	expect_counts "counters: + one $d4k-byte data message each way" c1k \
		$arb $((2 + n)) $atb $((2 + n))

	d6=$(data "$(ping6 56)")
	tap_check "counters: 3 IPv6 pings B -> A answered" loss_at_most "$T/c6.out" 0
	arb=$((arb + 3 * d6))
	atb=$((atb + 3 * d6))
	expect_counts "counters: + three $d6-byte IPv6 data messages each way" c6 \
		$arb $((5 + n)) $atb $((5 + n))
}

# A private key change with a session up: B first swaps A's peer entry
# for A's new public key, then A takes its new private key; A's very next
# packet must get through (the in-tree driver passes in this order), so
# the key change must drop A's sessions made under the old identity and
# start a handshake under the new one.  Counted in bytes: A's peer entry
# (kept) has both sessions' messages, B's new entry only the new one's,
# B's device both.
block_privkey() {
	local d4 old_a_rx old_a_tx new_rx new_tx msgs
	pair 4
	d4=$(data "$(ping4 56)")
	ping_test "privkey: session up, A -> B" wgc-a 0 -c 2 -i 0.2 -W 5 10.9.0.2
	nsx wgc-b wg set wg0 peer "$(pub a)" remove
	nsx wgc-b wg set wg0 peer "$(pub an)" endpoint 127.0.0.1:20001 \
		allowed-ips 10.9.0.1/32,fd09::1/128
	nsx wgc-a wg set wg0 private-key "$T/an.key"
	ping_file pk wgc-a -c 1 -W 1 10.9.0.2
	ping_file pkback wgc-b -c 2 -i 0.2 -W 5 10.9.0.1
	snap_raw pk
	tap_check "privkey: right after A's key change, ping -c 1 -W 1 A -> B is answered" \
		loss_at_most "$T/pk.out" 0
	tap_check "privkey: and then B -> A" loss_at_most "$T/pkback.out" 0
	tap_check "privkey: A's public key is now the new one" \
		eq "$(nsx wgc-a wg show wg0 public-key)" "$(pub an)" "A public key"
	tap_check "privkey: B's entry for A's new key has had a handshake" \
		test "$(in_ns wgc-b wg show wg0 latest-handshakes | awk '{ print $2 }')" -gt 0
	snap_parse pk
	# Old session: INIT + 2 data / RESP + 2 data; new one (A initiates
	# again): INIT + 1 + 2 data / RESP + 1 + 2 data.
	old_a_tx=$((INIT + 2 * d4))
	old_a_rx=$((RESP + 2 * d4))
	new_tx=$((INIT + 3 * d4))
	new_rx=$((RESP + 3 * d4))
	msgs=$(((1 + 2) + (1 + 3)))
	tap_check "privkey: A's peer transfer rx $((old_a_rx + new_rx)) tx $((old_a_tx + new_tx)) (both sessions, a new initiation)" \
		eq "$(<"$T/pk.a.peer")" "$((old_a_rx + new_rx)) $((old_a_tx + new_tx))" "A peer rx tx"
	tap_check "privkey: B's new peer entry rx $new_tx tx $new_rx (the new session only)" \
		eq "$(<"$T/pk.b.peer")" "$new_tx $new_rx" "B peer rx tx"
	tap_check "privkey: B's device rx $((old_a_tx + new_tx))/$msgs tx $((old_a_rx + new_rx))/$msgs (both)" \
		eq "$(<"$T/pk.b.dev")" "$((old_a_tx + new_tx)) $msgs 0 0 $((old_a_rx + new_rx)) $msgs 0 0" "B dev"
	tap_check "privkey: device bytes == peer bytes on A" dev_equals_peer pk a
}

# first_reply_after FILE T: seconds from T to the first reply in a
# `ping -D` output FILE, or nothing.
first_reply_after() {
	awk -v t="$2" -F'[][]' '/bytes from/ && $2 > t { printf "%.2f\n", $2 - t; exit }' "$1"
}
# replied_within FILE T SECS: a reply came at most SECS after T.
replied_within() {
	local d
	d=$(first_reply_after "$1" "$2")
	[ -n "$d" ] && awk -v d="$d" -v m="$3" 'BEGIN { exit !(d <= m) }' && return 0
	echo "first reply after up: ${d:-none}, wanted within $3 s"
	ping_summary "$1"
	return 1
}

# A device goes down and up while both sides ping: after up, the side
# that went down replies and gets replies again at once (its next packet
# starts a fresh handshake: its latest handshake is no older than the
# up; the one before was 3 s earlier), and every side's device bytes
# still equal its peer's transfer.
block_downup() {
	local tup hs
	pair 4
	ping_test "downup: session up, A -> B" wgc-a 0 -c 1 -W 5 10.9.0.2
	bg dflood 30 wgc-a ping -D -i 0.05 -W 1 -w 7 10.9.0.2
	bg dback 30 wgc-b ping -D -i 0.2 -W 1 -w 7 10.9.0.1
	sleep 2
	ip -n wgc-a link set wg0 down
	sleep 1
	# (Taken before the up: a handshake may complete before date(1) runs.)
	tup=$(date +%s.%N)
	ip -n wgc-a link set wg0 up
	bg_wait dflood
	bg_wait dback
	tap_check "downup: A (down, then up) gets a reply from B within 2 s of up" \
		replied_within "$T/dflood.out" "$tup" 2
	tap_check "downup: B gets a reply from A within 2 s of A's up" \
		replied_within "$T/dback.out" "$tup" 2
	hs=$(in_ns wgc-a wg show wg0 latest-handshakes | awk '{ print $2 }')
	tap_check "downup: A had a fresh handshake after up (latest $hs, up at ${tup%.*})" \
		test "$hs" -ge "${tup%.*}"
	snap du
	tap_check "downup: device bytes == peer bytes on A" dev_equals_peer du a
	tap_check "downup: device bytes == peer bytes on B" dev_equals_peer du b
	tap_check "downup: no device errors on A or B" \
		eq "$(field "$T/du.a.dev" 3) $(field "$T/du.a.dev" 7) $(field "$T/du.b.dev" 3) $(field "$T/du.b.dev" 7)" \
		"0 0 0 0" "rx_errors tx_errors, A then B"
	ping_test "downup: afterwards, B -> A" wgc-b 0 -c 2 -i 0.2 -W 5 10.9.0.1
}

# minus SNAP1 SNAP2 SIDE KIND: SNAP2's counters minus SNAP1's.
minus() {
	paste -d' ' "$T/$1.$3.$4" "$T/$2.$3.$4" |
		awk '{ n = NF / 2; s = ""; for (i = 1; i <= n; i++) s = s (i > 1 ? " " : "") $(i + n) - $i; print s }'
}

# A packet from B whose inner source is outside the allowed IPs A has for
# B: A authenticates it and drops it.  What it counts (the in-tree
# driver's rule): one device rx_error per packet, and neither device
# rx_bytes/rx_packets nor the peer's rx transfer; B counts them as sent.
# The session comes up with A's pings, answered by B, so B has no passive
# keepalive due that could blur B's tx (A's may come, on A's tx and B's
# rx: not asserted).
block_mismatch() {
	local d4 n=3 t_up
	pair 4
	d4=$(data "$(ping4 56)")
	ping_test "mismatch: session up, A -> B" wgc-a 0 -c 1 -W 5 10.9.0.2
	t_up=$SECONDS
	ip -n wgc-b addr add 10.9.1.2/32 dev wg0
	# What the session's start may still send, on either driver, before
	# the window the deltas are taken over: A's passive keepalive, 10 s
	# after B's reply, and on a slow (debug) kernel a handshake
	# retransmitted after REKEY_TIMEOUT plus jitter.  Both are over 12 s
	# after the session came up.
	[ $((SECONDS - t_up)) -ge 12 ] || sleep $((12 - (SECONDS - t_up)))
	snap mm0
	ping_file mm wgc-b -c $n -i 0.2 -W 1 -I 10.9.1.2 10.9.0.1
	snap mm1
	tap_check "mismatch: pings from B's 10.9.1.2 (not in A's allowed IPs for B) get no reply" \
		eq "$(received "$T/mm.out")" 0 "replies"
	tap_check "mismatch: A's device: rx_errors +$n, rx bytes, packets and drops +0" \
		eq "$(minus mm0 mm1 a dev | cut -d' ' -f1-4)" "0 0 $n 0" "A dev rx bytes packets errors dropped delta"
	tap_check "mismatch: A's peer rx transfer +0" \
		eq "$(minus mm0 mm1 a peer | cut -d' ' -f1)" "0" "A peer rx delta"
	tap_check "mismatch: B's device sent $n data messages: tx +$((n * d4)) bytes, +$n packets, no errors or drops" \
		eq "$(minus mm0 mm1 b dev | cut -d' ' -f5-8)" "$((n * d4)) $n 0 0" "B dev tx bytes packets errors dropped delta"
	tap_check "mismatch: B's peer tx transfer +$((n * d4))" \
		eq "$(minus mm0 mm1 b peer | cut -d' ' -f2)" "$((n * d4))" "B peer tx delta"
}

tcp_listening() { [ -n "$(in_ns "$1" ss -Hltn "sport = :$2")" ]; }

# tcp_copy NAME SERVER_NS CLIENT_NS ADDR PORT [big]: sends $T/tcp.data from
# CLIENT_NS to an ncat in SERVER_NS over TCP (with "big", in large writes);
# the bytes that arrive are in $T/NAME.recv.
tcp_copy() {
	local name=$1 sns=$2 cns=$3 addr=$4 port=$5 pid
	ns_argv 120 "$sns" ncat -l -p "$port" --recv-only
	"${NS_ARGV[@]}" >"$T/$name.recv" 2>"$T/$name.err" &
	pid=$!
	echo $pid >>"$T/pids"
	wait_until 20 tcp_listening "$sns" "$port"
	if [ "${6:-}" = big ]; then
		# 1-MiB writes: ncat's 8-KiB ones leave TCP application
		# limited under TCG, and its packets never reach big TCP's size.
		ns_timeout 120 "$cns" python3 -S -c '
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2]))) as s, open(sys.argv[3], "rb") as f:
    while b := f.read(1 << 20):
        s.sendall(b)
' "$addr" "$port" "$T/tcp.data" 2>>"$T/$name.err" || true
	else
		ns_timeout 120 "$cns" ncat --send-only "$addr" "$port" <"$T/tcp.data" 2>>"$T/$name.err" || true
	fi
	wait "$pid" || true
}
same_bytes() {
	cmp "$1" "$2" && return 0
	echo "sent $(stat -c %s "$1") bytes, received $(stat -c %s "$2")"
	return 1
}

# nested_wg1 INNER: wg1 in wgc-a and wgc-b (sockets where they are),
# endpoints B's/A's wg0 address of family INNER, so that wg1's UDP can
# only go through wg0.
nested_wg1() {
	local ea=10.9.0.1 eb=10.9.0.2 ns i
	[ "$1" = 4 ] || { ea='[fd09::1]'; eb='[fd09::2]'; }
	for ns in a b; do
		ip -n wgc-$ns link del wg1 2>/dev/null || true
		ip -n wgc-$ns link add wg1 type wireguard
	done
	nsx wgc-a wg set wg1 private-key "$T/c.key" listen-port 20011 \
		peer "$(pub d)" endpoint "$eb:20012" allowed-ips 10.10.0.2/32,fd10::2/128
	nsx wgc-b wg set wg1 private-key "$T/d.key" listen-port 20012 \
		peer "$(pub c)" endpoint "$ea:20011" allowed-ips 10.10.0.1/32,fd10::1/128
	for i in 1 2; do
		ip -n "${SIDE[i]}" -batch - <<-EOF
		addr add 10.10.0.$i/24 dev wg1
		addr add fd10::$i/64 dev wg1 nodad
		link set wg1 up
		EOF
	done
}

# nested_case LABEL MTU: traffic B -> A through wg1 at that MTU: floods
# of small and of the largest unfragmented pings, every one answered (no
# -w: ping sends exactly -c and waits for the last reply), and a TCP copy
# that arrives byte for byte.
nested_case() {
	local l=$1 mtu=$2 big t=$EPOCHREALTIME
	ip -n wgc-a link set wg1 mtu "$mtu"
	ip -n wgc-b link set wg1 mtu "$mtu"
	big=$((mtu - 28))
	ping_test "$l: ping B -> A through wg1" wgc-b 0 -c 1 -W 10 10.10.0.1
	ping_test "$l: flood ping, 100 x 56 bytes, 0% loss" \
		wgc-b 0 -f -c 100 -W 5 10.10.0.1
	ping_test "$l: flood ping, 30 x $big bytes (the MTU's largest), 0% loss" \
		wgc-b 0 -f -c 30 -s $big -W 5 10.10.0.1
	ping_test "$l: IPv6 inner ping, 1200 bytes" wgc-b 0 -c 1 -s 1200 -W 5 fd10::1
	echo "# pings: $(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
	t=$EPOCHREALTIME
	tcp_copy nt wgc-a wgc-b 10.10.0.1 5201
	tap_check "$l: TCP copy of $(stat -c %s "$T/tcp.data") bytes B -> A arrives intact" \
		same_bytes "$T/tcp.data" "$T/nt.recv"
	echo "# TCP: $(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
}

# A bulk TCP copy, for each outer family: the counters of a stream of
# full-sized segments (which wgmpsc sends as outer UDP GSO packets, each
# cut into the same datagrams on the way) must add up as the in-tree
# driver's do: what one side sent, in bytes and packets, is what the
# other received, device and peer alike, with no error or drop.  Then,
# wgmpsc only, that the batched path carried them.
block_bulk() {
	local outer gso
	head -c 1000000 /dev/urandom >"$T/tcp.data"
	for outer in 4 6; do
		pair $outer
		ping_test "bulk IPv$outer: session up" wgc-b 0 -c 1 -W 10 10.9.0.1
		tcp_copy bulk wgc-a wgc-b 10.9.0.1 5201
		tap_check "bulk IPv$outer: TCP copy of 1000000 bytes B -> A arrives intact" \
			same_bytes "$T/tcp.data" "$T/bulk.recv"
		snap_settled bulk$outer
		tap_check "bulk IPv$outer: A received what B sent (device bytes, packets)" \
			eq "$(field "$T/bulk$outer.a.dev" 1) $(field "$T/bulk$outer.a.dev" 2)" \
			"$(field "$T/bulk$outer.b.dev" 5) $(field "$T/bulk$outer.b.dev" 6)" "A rx vs B tx"
		tap_check "bulk IPv$outer: B received what A sent (device bytes, packets)" \
			eq "$(field "$T/bulk$outer.b.dev" 1) $(field "$T/bulk$outer.b.dev" 2)" \
			"$(field "$T/bulk$outer.a.dev" 5) $(field "$T/bulk$outer.a.dev" 6)" "B rx vs A tx"
		tap_check "bulk IPv$outer: device bytes == peer bytes on A" dev_equals_peer bulk$outer a
		tap_check "bulk IPv$outer: device bytes == peer bytes on B" dev_equals_peer bulk$outer b
		tap_check "bulk IPv$outer: no device errors or drops" \
			eq "$(awk '{ print $3, $4, $7, $8 }' "$T/bulk$outer.a.dev" "$T/bulk$outer.b.dev" | tr '\n' ' ')" \
			"0 0 0 0 0 0 0 0 " "A, B errors and drops"
		if wgmpsc_only "bulk IPv$outer: B sent the copy as outer UDP GSO packets" \
			"reads wgmpsc's ethtool -S tx_gso_* counters"; then
			gso=$(ip netns exec wgc-b ethtool -S wg0 |
				awk '$1 == "tx_gso_packets:" { p = $2 } $1 == "tx_gso_datagrams:" { d = $2 } END { print p + 0, d + 0 }')
			echo "# bulk IPv$outer: B's GSO packets, datagrams: $gso; device tx packets $(field "$T/bulk$outer.b.dev" 6)"
			tap_check "bulk IPv$outer: B sent the copy as outer UDP GSO packets" \
				test "${gso% *}" -gt 0 -a "${gso#* }" -gt "${gso% *}"
		fi
	done
}

# Big TCP: with the GSO and GRO ceilings raised to 192 KiB on both sides
# (gso_ipv4_max_size too where the kernel has it, 6.3 on), a TCP copy
# over each inner family arrives intact and the counters add up as in
# bulk.  wgmpsc must accept the setting; the in-tree driver before 6.13
# keeps its devices at 64 KiB and is skipped.  TCP sizes a GSO packet
# from about 1 ms of its pacing rate plus gso_max_size >> (min RTT in us
# >> tcp_tso_rtt_log); under TCG the RTT is a millisecond or more, which
# at the default log (9) keeps packets under 64 KiB, so the sender's
# namespace takes a log of 30: every packet is sized at the ceiling, as on
# a LAN, and wgmpsc's path past 64 KiB (one node, several outer GSO
# packets) carries part of each copy (23-27 of them per 4-MB IPv6 copy
# on 6.12 and 7.3, but none in one run of about ten: TCP's choice, so
# the count is reported, not asserted).
block_bigtcp() {
	local fam dst big ns before
	head -c 4000000 /dev/urandom >"$T/tcp.data"
	pair 4
	if under_intree && ! ip -n wgc-a link set wg0 gso_max_size 196608 2>/dev/null; then
		tap_skip "bigtcp: wg0 takes gso_max_size 196608" \
			"this in-tree driver keeps 64 KiB (big TCP came in 6.13)"
		return 0
	fi
	# wgmpsc allows big TCP from 6.12 on: 6.1's IPv6 GSO damages the TCP
	# header of such a packet from a device without a link-layer header
	# (src/compat.h), so there it must refuse, as the in-tree driver does.
	if ! under_intree && ! kernel_at_least 6 12; then
		tap_check "bigtcp: wg0 before 6.12 refuses gso_max_size 196608 (keeps 64 KiB)" \
			bash -c '! ip -n wgc-a link set wg0 gso_max_size 196608 2>/dev/null'
		return 0
	fi
	tap_check "bigtcp: wg0 takes gso_max_size and gro_max_size 196608" bash -c '
		for ns in wgc-a wgc-b; do
			ip -n $ns link set wg0 gso_max_size 196608 gro_max_size 196608 || exit 1
		done'
	for ns in wgc-a wgc-b; do
		ip -n $ns link set wg0 gso_ipv4_max_size 196608 gro_ipv4_max_size 196608 \
			2>/dev/null || echo "# bigtcp: no IPv4 big TCP here (iproute2 or kernel before 6.3)"
	done
	in_ns wgc-b sysctl -qw net.ipv4.tcp_tso_rtt_log=30
	for fam in 6 4; do
		dst=10.9.0.1
		[ $fam = 4 ] || dst=fd09::1
		before=$(ip netns exec wgc-b ethtool -S wg0 2>/dev/null |
			awk '$1 == "tx_big_gso_packets:" { print $2 }')
		snap_settled bigtcp$fam.0
		tcp_copy bigtcp wgc-a wgc-b $dst 5201 big
		tap_check "bigtcp IPv$fam: TCP copy of 4000000 bytes B -> A arrives intact" \
			same_bytes "$T/tcp.data" "$T/bigtcp.recv"
		snap_settled bigtcp$fam
		tap_check "bigtcp IPv$fam: A received what B sent (device bytes, packets)" \
			eq "$(delta bigtcp$fam a 1) $(delta bigtcp$fam a 2)" \
			"$(delta bigtcp$fam b 5) $(delta bigtcp$fam b 6)" "A rx vs B tx"
		tap_check "bigtcp IPv$fam: B received what A sent (device bytes, packets)" \
			eq "$(delta bigtcp$fam b 1) $(delta bigtcp$fam b 2)" \
			"$(delta bigtcp$fam a 5) $(delta bigtcp$fam a 6)" "B rx vs A tx"
		tap_check "bigtcp IPv$fam: no device errors or drops" \
			eq "$(awk '{ print $3, $4, $7, $8 }' "$T/bigtcp$fam.a.dev" "$T/bigtcp$fam.b.dev" | tr '\n' ' ')" \
			"0 0 0 0 0 0 0 0 " "A, B errors and drops"
		under_intree && continue
		big=$(ip netns exec wgc-b ethtool -S wg0 | awk '$1 == "tx_big_gso_packets:" { print $2 }')
		echo "# bigtcp IPv$fam: B's wg0 got $((big - before)) packets over 64 KiB in this copy;" \
			"its non-zero counters:" $(ip netns exec wgc-b ethtool -S wg0 | awk 'NR > 1 && $2 != 0 { printf "%s%s ", $1, $2 }')
	done
}

# delta SNAP SIDE N: field N of SIDE's device counters, SNAP less SNAP.0.
delta() {
	echo $(($(field "$T/$1.$2.dev" "$3") - $(field "$T/$1.0.$2.dev" "$3")))
}

# pair_veth: as pair, but the outer UDP crosses a veth with GRO on at both
# ends (as a NIC runs it; TSO off, below), between two namespaces of its own, so that
# their IP and UDP counters count only the tunnel's datagrams:
#
#   wgc-a: wg0 10.9.0.1  (socket in wgc-oa)     wgc-b: wg0 10.9.0.2  (socket in wgc-ob)
#   wgc-oa: veth0 192.168.91.1 :20001  <-- veth, gro on -->  wgc-ob: veth1 192.168.91.2 :20002
OUTER=([1]=wgc-oa [2]=wgc-ob)
pair_veth() {
	local i
	wg_cleanup_namespaces '^wgc-'
	for i in wgc-a wgc-b wgc-oa wgc-ob; do
		ip netns add $i
	done
	ip -n wgc-oa link add veth0 type veth peer name veth1 netns wgc-ob
	for i in 1 2; do
		ip -n "${OUTER[i]}" -batch - <<-EOF
		link set lo up
		addr add 192.168.91.$i/24 dev veth$((i - 1))
		link set veth$((i - 1)) up
		link add wg0 type wireguard
		EOF
		# TSO off too: a veth hands the packets it sends to its peer's
		# GRO only then (or a UDP socket's own), as every packet reaches
		# a NIC's receive GRO.
		in_ns "${OUTER[i]}" ethtool -K veth$((i - 1)) gro on tso off >/dev/null
	done
	nsx wgc-oa wg set wg0 private-key "$T/a.key" listen-port 20001 \
		peer "$(pub b)" endpoint 192.168.91.2:20002 allowed-ips 10.9.0.2/32
	nsx wgc-ob wg set wg0 private-key "$T/b.key" listen-port 20002 \
		peer "$(pub a)" endpoint 192.168.91.1:20001 allowed-ips 10.9.0.1/32
	ip -n wgc-oa link set wg0 netns wgc-a
	ip -n wgc-ob link set wg0 netns wgc-b
	for i in 1 2; do
		ip -n "${SIDE[i]}" -batch - <<-EOF
		link set lo up
		addr add 10.9.0.$i/24 dev wg0
		link set wg0 up
		EOF
	done
}

# snmp NS PROTO FIELD: a counter of NS's /proc/net/snmp ("Ip InReceives").
snmp() {
	in_ns "$1" cat /proc/net/snmp | awk -v p="$2:" -v f="$3" '
		$1 == p && !h { for (i = 2; i <= NF; i++) c[$i] = i; h = 1; next }
		$1 == p && h { print $c[f]; exit }'
}

# Outer UDP GRO: a UDP flood B -> A, each inner datagram its own outer
# datagram of one size, arrives at A's veth, which runs GRO.  On both
# drivers every datagram reaches the tunnel and the counters add up.
# wgmpsc's socket asks for UDP GRO, so A's outer IP layer runs fewer
# times than datagrams arrive; the in-tree driver's does not, and each
# datagram passes IP on its own.
block_gro() {
	local ip0 udp0 ip1 udp1 pid
	pair_veth
	ping_test "gro: session up" wgc-b 0 -c 1 -W 10 10.9.0.1
	ns_argv 60 wgc-a iperf3 -s -1 -p 5202
	"${NS_ARGV[@]}" >"$T/gro-server.out" 2>&1 &
	pid=$!
	echo $pid >>"$T/pids"
	wait_until 20 tcp_listening wgc-a 5202
	ip0=$(snmp wgc-oa Ip InReceives)
	udp0=$(snmp wgc-oa Udp InDatagrams)
	# 40 Mbit/s: a rate both drivers carry under TCG without a drop.
	ns_timeout 60 wgc-b iperf3 -c 10.9.0.1 -p 5202 -u -b 40M -l 1200 -t 2 \
		>"$T/gro-client.out" 2>&1 || true
	wait "$pid" || true
	snap_settled gro
	ip1=$(snmp wgc-oa Ip InReceives)
	udp1=$(snmp wgc-oa Udp InDatagrams)
	echo "# gro: A's outer namespace: Ip InReceives +$((ip1 - ip0)), Udp InDatagrams +$((udp1 - udp0))"
	tap_check "gro: A received what B sent (device bytes, packets)" \
		eq "$(field "$T/gro.a.dev" 1) $(field "$T/gro.a.dev" 2)" \
		"$(field "$T/gro.b.dev" 5) $(field "$T/gro.b.dev" 6)" "A rx vs B tx"
	tap_check "gro: no device errors or drops" \
		eq "$(awk '{ print $3, $4, $7, $8 }' "$T/gro.a.dev" "$T/gro.b.dev" | tr '\n' ' ')" \
		"0 0 0 0 0 0 0 0 " "A, B errors and drops"
	tap_check "gro: a flood of 1,000 datagrams or more went through" \
		test $((udp1 - udp0)) -ge 1000
	if under_intree; then
		tap_check "gro: the in-tree driver's datagrams each pass IP on their own" \
			test $((ip1 - ip0)) -ge $((udp1 - udp0))
	else
		tap_check "gro: A's outer IP layer ran fewer times than datagrams arrived" \
			test $((ip1 - ip0)) -lt $((udp1 - udp0))
	fi
}

# Tunnels nested two deep: wg1's UDP runs inside wg0, for each family of
# wg0's outer UDP and of wg1's endpoint, at MTU 1340 (wg1's messages fit
# in wg0 unfragmented); and, with IPv6 for both, at the default 1420
# (wg1's largest messages are fragmented inside wg0).
block_nested() {
	local outer inner t
	head -c 1000000 /dev/urandom >"$T/tcp.data"
	for outer in 4 6; do
		pair $outer
		for inner in 4 6; do
			t=$SECONDS
			nested_wg1 $inner
			echo "# nested: wg1 set up in $((SECONDS - t)) s"
			nested_case "nested: wg0 outer IPv$outer, wg1 endpoint IPv$inner, MTU 1340" 1340
			[ $outer$inner != 66 ] ||
				nested_case "nested: wg0 outer IPv$outer, wg1 endpoint IPv$inner, MTU 1420" 1420
			echo "# nested IPv$outer/IPv$inner: $((SECONDS - t)) s"
		done
	done
}

# --- main --------------------------------------------------------------

umask 077
wg_test_start
for k in a b an c d; do
	keypair $k
done

for b in ${WGT_BLOCKS:-counters privkey downup mismatch bulk gro bigtcp nested}; do
	run_block "block_$b"
done

echo "# total: $((SECONDS - T0)) s"
tap_done
