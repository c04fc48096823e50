#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make bench`, run by tools/bench/bench.sh inside the VM of
# tools/vm.sh (started with --keep-distro-wireguard, so the distro module,
# "anchor", is at /opt/anchor/wireguard.ko and wgmpsc at $WGMPSC_KO).
#
# usage: guest.sh PHASE...   (phases run in the order given)
#
#   mem    one round of the memory/configuration measures: wgmpsc first
#          (20,000 peers; then $BENCH_BIG peers if set), then the anchor;
#          each: growth per peer, setconf, three removals, the dump, the
#          first ping (with its handshake) to a peer added last, then
#          `ip link del` (wgmpsc's always; the anchor's device is left
#          loaded when $BENCH_DEL_ANCHOR is not 1: deleting a 20,000-peer anchor device takes minutes under
#          TCG, so the host reboots the VM instead).  With BENCH_DEL_ANCHOR=1
#          the anchor's `ip link del` is timed up to $BENCH_DEL_CAP seconds
#          and this must be the last phase of the boot.
#   net    $BENCH_ROUNDS interleaved rounds, each module in turn (order
#          alternating per round): with BENCH_NET=1 ping/TCP/UDP through
#          the tunnel, plus the bare veth as the ceiling; with BENCH_HS=1
#          the handshake measures.
#   profile $BENCH_ROUNDS rounds of guest-profile.sh: both modules, TCP
#          with 1 and 4 streams, counters per MB.
#   queue  $BENCH_QUEUE_ROUNDS (default 1) runs of the queue
#          microbenchmark module.
#
# Environment (from bench.sh): BENCH_ROUND, BENCH_ROUNDS, BENCH_PEERS,
# BENCH_BIG, BENCH_DEL_ANCHOR, BENCH_DEL_CAP, BENCH_DUR, BENCH_PINGS,
# BENCH_UDP_RATE, BENCH_NET, BENCH_HS, BENCH_QUEUE_ROUNDS, BENCH_DATA (host-made configuration files),
# BENCH_KEYS, QBENCH_KO, QBENCH_ITEMS.

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source=../../tests/lib.sh disable=SC1091
. "$TOP/tests/lib.sh"
# shellcheck source=guest-lib.sh disable=SC1091
. "$HERE/guest-lib.sh"
# shellcheck source=guest-profile.sh disable=SC1091
. "$HERE/guest-profile.sh"

: "${BENCH_DATA:?}" "${BENCH_KEYS:?}" "${WGMPSC_KO:?}"
BENCH_ROUNDS=${BENCH_ROUNDS:-5}
BENCH_ROUND=${BENCH_ROUND:-1}
BENCH_PEERS=${BENCH_PEERS:-20000}
BENCH_BIG=${BENCH_BIG:-0}
BENCH_DEL_ANCHOR=${BENCH_DEL_ANCHOR:-0}
BENCH_DEL_CAP=${BENCH_DEL_CAP:-180}
BENCH_DUR=${BENCH_DUR:-5}
BENCH_PINGS=${BENCH_PINGS:-50}
BENCH_UDP_RATE=${BENCH_UDP_RATE:-200M}
BENCH_HS=${BENCH_HS:-0}
BENCH_NET=${BENCH_NET:-1}
PY=/usr/bin/python3

# --- memory and configuration -------------------------------------------

# Times `wg set wg0 peer KEY remove` for the keys in FILE (one sample each).
remove_peers() { # remove_peers ROUND MODULE TAG KEYFILE
	local key t
	while read -r key; do
		settle 0.5
		t=$(now)
		wg set wg0 peer "$key" remove || note "remove failed"
		result mem "$1" "$2" "${3}_remove1_s" "$(elapsed "$t")"
	done <"$4"
}

# mem_fill ROUND MODULE N: device with N peers, measured; leaves it in place.
mem_fill() {
	local round=$1 mod=$2 n=$3 tag m0 m1 t secs count
	tag=p$n
	ip link add wg0 type wireguard || return 1
	settle 1
	m0=$(kmem_bytes)
	# Dropping caches evicted wg(8) and the file (9p from the host): read
	# them back so that the timing is the configuration's alone.
	cat "$BENCH_DATA/peers-$n.conf" >/dev/null
	wg show wg0 >/dev/null
	t=$(now)
	wg setconf wg0 "$BENCH_DATA/peers-$n.conf" || { note "setconf failed"; return 1; }
	secs=$(elapsed "$t")
	settle 2
	m1=$(kmem_bytes)
	count=$(wg show wg0 peers | wc -l)
	if [ "$count" -ne "$n" ]; then
		note "$mod: $count peers configured, expected $n"
		return 1
	fi
	MEM_GROWTH=$((m1 - m0))
	MEM_AFTER=$m1
	result mem "$round" "$mod" "${tag}_bytes_per_peer" $(((m1 - m0) / n))
	result mem "$round" "$mod" "${tag}_setconf_s" "$secs"
	result mem "$round" "$mod" "${tag}_setconf_peers_per_s" \
		"$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')"
	remove_peers "$round" "$mod" "$tag" "$BENCH_DATA/peers-$n.keys"
	mem_dump "$round" "$mod" "$n" || return 1
	mem_handshake "$round" "$mod" "$n" || return 1
}

# mem_dump ROUND MODULE N: times `wg show wg0 dump` of the device that
# mem_fill left (N peers less the three removed): every peer with its
# allowed IPs through the netlink dump, and wg(8) printing them.
mem_dump() {
	local round=$1 mod=$2 n=$3 t secs lines
	t=$(now)
	lines=$(wg show wg0 dump | wc -l)
	secs=$(elapsed "$t")
	# One line for the interface, one per peer.
	if [ "$lines" -ne $((n - 3 + 1)) ]; then
		note "$mod: wg show dump printed $lines lines, expected $((n - 2))"
		return 1
	fi
	result mem "$round" "$mod" "p${n}_dump_s" "$secs"
}

# mem_handshake ROUND MODULE N: a real peer, added after the N others, in
# namespace wh across a veth; times the first ping to it from the big
# device's side: the allowed-IPs lookup among N+1 entries, the handshake
# (the big device initiates) and the ping's round trip.  Namespace wh is
# gone again when this returns, so that `ip link del` is timed alone.
mem_handshake() {
	local round=$1 mod=$2 n=$3 t secs rc=0
	ip netns add wh || return 1
	ip link add vethh0 type veth peer name vethh1 netns wh || rc=1
	ip addr add 192.168.79.1/24 dev vethh0
	ip link set vethh0 up
	ip -n wh addr add 192.168.79.2/24 dev vethh1
	ip -n wh link set vethh1 up
	ip -n wh link set lo up
	ip -n wh link add wg0 type wireguard || rc=1
	ip netns exec wh wg set wg0 private-key "$BENCH_KEYS/wa.key" listen-port 51821 \
		peer "$(cat "$BENCH_KEYS/dev.pub")" allowed-ips 172.30.0.1/32 || rc=1
	ip -n wh addr add 172.30.0.2/32 dev wg0
	ip -n wh link set wg0 up
	ip -n wh route add 172.30.0.1/32 dev wg0
	wg set wg0 listen-port 51820 peer "$(cat "$BENCH_KEYS/wa.pub")" \
		endpoint 192.168.79.2:51821 allowed-ips 172.30.0.2/32 || rc=1
	ip addr add 172.30.0.1/32 dev wg0
	ip link set wg0 up
	ip route add 172.30.0.2/32 dev wg0
	if [ "$rc" = 0 ]; then
		t=$(now)
		if ping -c 1 -W 20 -q 172.30.0.2 >/dev/null 2>&1; then
			secs=$(elapsed "$t")
			# The handshake is what answered, not a stale session.
			if wg show wg0 latest-handshakes |
				awk -v k="$(cat "$BENCH_KEYS/wa.pub")" '$1 == k && $2 > 0 { f = 1 } END { exit !f }'; then
				result mem "$round" "$mod" "p${n}_handshake_last_s" "$secs"
			else
				note "$mod: ping answered without a handshake"; rc=1
			fi
		else
			note "$mod: no answer from the peer added last"; rc=1
		fi
	fi
	ip link set wg0 down
	# Deleted here, not by the namespace's teardown in the background.
	ip -n wh link del wg0 2>/dev/null
	ip link del vethh0 2>/dev/null
	ip netns del wh
	settle 2
	return "$rc"
}

# mem_del ROUND MODULE N CAP: times `ip link del wg0`, up to CAP seconds.
# Returns 1 if the deletion is still running at the cap.
mem_del() {
	local round=$1 mod=$2 n=$3 cap=$4 t pid secs m
	t=$(now)
	# Not on our stdout: the VM's console tee would wait for it to close,
	# i.e. for a capped deletion to finish, before powering off.
	ip link del wg0 </dev/null >/dev/null 2>&1 &
	pid=$!
	# Nothing here may take the RTNL while the deletion holds it.
	while kill -0 "$pid" 2>/dev/null; do
		secs=$(elapsed "$t")
		if awk -v s="$secs" -v c="$cap" 'BEGIN { exit !(s >= c) }'; then
			m=$(kmem_bytes)
			result mem "$round" "$mod" "p${n}_del_capped_s" "$cap"
			# How much of the peers' memory came back by the cap.
			result mem "$round" "$mod" "p${n}_del_freed_pct_at_cap" \
				"$(awk -v a="$MEM_AFTER" -v m="$m" -v g="$MEM_GROWTH" \
					'BEGIN { printf "%.1f", 100 * (a - m) / g }')"
			note "$mod: ip link del still running after ${cap}s"
			return 1
		fi
		sleep 0.2
	done
	wait "$pid" || note "$mod: ip link del failed"
	result mem "$round" "$mod" "p${n}_del_s" "$(elapsed "$t")"
}

phase_mem() {
	local r=$BENCH_ROUND
	note "mem round $r: wgmpsc, $BENCH_PEERS peers"
	load wgmpsc || return 1
	mem_fill "$r" wgmpsc "$BENCH_PEERS" || return 1
	mem_del "$r" wgmpsc "$BENCH_PEERS" 600 || return 1
	if [ "$BENCH_BIG" -gt 0 ]; then
		note "mem round $r: wgmpsc, $BENCH_BIG peers"
		mem_fill "$r" wgmpsc "$BENCH_BIG" || return 1
		mem_del "$r" wgmpsc "$BENCH_BIG" 600 || return 1
	fi
	unload wgmpsc || return 1
	settle 2

	note "mem round $r: anchor, $BENCH_PEERS peers"
	load anchor || return 1
	mem_fill "$r" anchor "$BENCH_PEERS" || return 1
	if [ "$BENCH_DEL_ANCHOR" = 1 ]; then
		if mem_del "$r" anchor "$BENCH_PEERS" "$BENCH_DEL_CAP"; then
			unload anchor
		else
			# Still deleting, with the RTNL held: the VM is powered
			# off under it (the caller makes this the last phase).
			MEM_ANCHOR_LEFT=1
		fi
	else
		note "anchor device left in place (the VM is powered off next)"
		MEM_ANCHOR_LEFT=1
	fi
	return 0
}

# --- throughput and latency ----------------------------------------------

# outer_counts: in wa, wg0's tx bytes and packets (the WireGuard
# messages sent, one datagram each on the wire) and veth0's tx packets:
# the skbs that went through the outer UDP and IP layers (a UDP GSO packet
# of many datagrams counts once).  veth0 carries nothing else worth
# counting while iperf3 runs through the tunnel.
outer_counts() {
	ip netns exec wa sh -c 'cd /sys/class/net &&
		cat wg0/statistics/tx_bytes wg0/statistics/tx_packets veth0/statistics/tx_packets' |
		tr '\n' ' '
}
# per_mb N BEFORE AFTER: the growth of outer_counts' field N per MB (10^6
# bytes) of messages sent.
per_mb() {
	awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { split(a, x, " "); split(b, y, " ")
		mb = (y[1] - x[1]) / 1e6
		if (mb <= 0) print "nan"; else printf "%.1f", (y[n] - x[n]) / mb }'
}

# suite ROUND MODULE DEST: ping, TCP x1, TCP x4, UDP, into raw files that the
# host parses; the R lines carry the headline numbers too.  Around TCP x1
# through the tunnel, outer_counts: datagrams and outer stack passes per MB.
suite() {
	local r=$1 mod=$2 dest=$3 base c0 c1
	base=$BENCH_OUT/raw/net-$SMP-$r-$mod
	ip netns exec wa ping -c "$BENCH_PINGS" -i 0.05 -W 2 "$dest" >"$base-ping.txt" 2>&1
	result net "$r" "$mod" ping_rtt_median_ms "$(sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$base-ping.txt" |
		sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
	[ "$mod" = veth ] || c0=$(outer_counts)
	iperf "$dest" "$base-tcp1.json"
	result net "$r" "$mod" tcp1_mbps "$(iperf_mbps "$base-tcp1.json")"
	if [ "$mod" != veth ]; then
		c1=$(outer_counts)
		result net "$r" "$mod" tcp1_datagrams_per_mb "$(per_mb 2 "$c0" "$c1")"
		result net "$r" "$mod" tcp1_stack_passes_per_mb "$(per_mb 3 "$c0" "$c1")"
	fi
	iperf "$dest" "$base-tcp4.json" -P 4
	result net "$r" "$mod" tcp4_mbps "$(iperf_mbps "$base-tcp4.json")"
	iperf "$dest" "$base-udp.json" -u -b "$BENCH_UDP_RATE" -l 1300
	result net "$r" "$mod" udp_mbps "$(iperf_udp "$base-udp.json" mbps)"
	result net "$r" "$mod" udp_loss_pct "$(iperf_udp "$base-udp.json" loss)"
}

# Received bits/s of a TCP run, from the JSON's end.sum_received.
iperf_mbps() {
	awk '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ {
		gsub(/[,"]/, ""); printf "%.1f", $2 / 1e6; exit }
		END { if (!f) print "nan" }' "$1"
}

# UDP: the receiver's view in end.sum (bits_per_second, lost_percent).
iperf_udp() {
	awk -v want="$2" '/"end":/ { e = 1 } e && /"sum":/ { s = 1 }
		s && /"bits_per_second"/ { gsub(/[,"]/, ""); bps = $2 }
		s && /"lost_percent"/ { gsub(/[,"]/, ""); lost = $2; done = 1; exit }
		END { if (!done) print "nan"; else if (want == "mbps") printf "%.1f", bps / 1e6; else printf "%.2f", lost }' "$1"
}

# Handshake measures on a tunnel that is up; wb's wg0 is the responder.
handshakes() {
	local r=$1 mod=$2 base line flood_pid
	base=$BENCH_OUT/raw/hs-$SMP-$r-$mod
	ip netns exec wb wg addconf wg0 "$BENCH_DATA/hs-peers.conf" || return 1
	line=$(ip netns exec wa $PY "$HERE/hsinit.py" run closed $VETH_B 51820 \
		"$BENCH_DATA/hs-closed.bin" "$BENCH_DUR" "${BENCH_HS_WINDOW:-32}")
	echo "$line" >"$base-closed.txt"
	result hs "$r" "$mod" hs_closed_responses_per_s "$(kv responses_per_s "$line")"
	result hs "$r" "$mod" hs_closed_cookies "$(kv cookies "$line")"

	# iperf3 through the tunnel while initiations flood the responder.
	ip netns exec wa $PY "$HERE/hsinit.py" run flood $VETH_B 51820 \
		"$BENCH_DATA/hs-flood.bin" $((BENCH_DUR + 3)) 0 >"$base-flood.txt" 2>&1 &
	flood_pid=$!
	sleep 1
	iperf $TUN_B "$base-tcp1-flood.json"
	wait "$flood_pid"
	line=$(tail -n 1 "$base-flood.txt")
	result hs "$r" "$mod" flood_tcp1_mbps "$(iperf_mbps "$base-tcp1-flood.json")"
	result hs "$r" "$mod" flood_sent_per_s "$(kv sent_per_s "$line")"
	result hs "$r" "$mod" flood_responses_per_s "$(kv responses_per_s "$line")"
	result hs "$r" "$mod" flood_cookies_per_s "$(awk -v l="$line" 'BEGIN {
		n = split(l, f, " "); for (i = 1; i <= n; i++) { split(f[i], kv, "=");
		v[kv[1]] = kv[2] } printf "%.1f", v["cookies"] / v["seconds"] }')"
}

kv() { # kv KEY LINE: the value of KEY=VALUE in LINE, or nan
	local v
	v=$(printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p")
	echo "${v:-nan}"
}

phase_net() {
	local r mod order err=0
	for r in $(seq "$BENCH_ROUNDS"); do
		# Alternate the order so that drift within a round cancels.
		if [ $((r % 2)) = 1 ]; then order="anchor wgmpsc"; else order="wgmpsc anchor"; fi
		note "net round $r/$BENCH_ROUNDS: $order"
		if [ "$BENCH_NET" = 1 ]; then
			note "net round $r: veth"
			netns_up || return 1
			suite "$r" veth $VETH_B
			netns_down
		fi
		for mod in $order; do
			note "net round $r: $mod"
			load "$mod" || return 1
			netns_up || return 1
			# A failed round is reported (rc) but does not stop the
			# others: its samples are simply missing from the table.
			if tunnel_up; then
				[ "$BENCH_NET" = 1 ] && suite "$r" "$mod" $TUN_B
				if [ "$BENCH_HS" = 1 ]; then
					note "net round $r: $mod handshakes"
					handshakes "$r" "$mod" || { note "$mod: handshakes failed"; err=1; }
				fi
			else
				err=1
			fi
			note "net round $r: $mod teardown"
			round_down "$mod" || return 1
		done
	done
	return "$err"
}

# --- the queue microbenchmark ---------------------------------------------

# BENCH_QUEUE_ROUNDS runs in this boot; round ids continue from the boot's
# BENCH_ROUND, so that boots that each do one run number them 1, 2, ...
phase_queue() {
	local i r before n=${BENCH_QUEUE_ROUNDS:-1}
	for i in $(seq "$n"); do
		r=$(((BENCH_ROUND - 1) * n + i))
		note "queue round $r"
		before=$(dmesg | wc -l)
		insmod "$QBENCH_KO" items="${QBENCH_ITEMS:-131072}" round="$r" || return 1
		rmmod wgmpsc_qbench || return 1
		dmesg | tail -n +"$((before + 1))" | sed -n 's/.*wgmpsc_qbench: //p' |
			tee -a "$BENCH_OUT/raw/queue-$SMP.txt" |
			while read -r kind producers _items _ns per retries mean median _; do
				case $kind in kind=*) ;; *) continue ;; esac
				result queue "$r" "${kind#kind=}" "ns_per_item_p${producers#producers=}" "${per#ns_per_item=}"
				result queue "$r" "${kind#kind=}" "mean_ns_per_item_p${producers#producers=}" "${mean#mean_ns_per_item=}"
				result queue "$r" "${kind#kind=}" "median_ns_per_item_p${producers#producers=}" "${median#median_ns_per_item=}"
				result queue "$r" "${kind#kind=}" "retries_p${producers#producers=}" "${retries#retries=}"
			done
	done
}

MEM_ANCHOR_LEFT=0
rc=0
for phase in "$@"; do
	[ "$MEM_ANCHOR_LEFT" = 0 ] || { note "phase $phase skipped: anchor still busy"; rc=1; break; }
	case $phase in
	mem) phase_mem || rc=1 ;;
	net) phase_net || rc=1 ;;
	queue) phase_queue || rc=1 ;;
	profile) phase_profile || rc=1 ;;
	*) note "unknown phase $phase"; rc=1 ;;
	esac
	[ "$rc" = 0 ] || break
done
echo "bench-guest: done rc=$rc"
exit "$rc"
