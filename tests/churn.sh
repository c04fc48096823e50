#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Churn and faults, in the VM (tools/vm.sh), loading $WGMPSC_KO: while
# traffic runs across one peer, thousands of other peers come and go, keys,
# endpoints and allowed IPs change, devices go down and up, move between
# namespaces, lose their namespace, the module is unloaded under them, and
# peers are added with the VM's memory nearly exhausted.
#
#   +- ch-a --------+   iperf3 TCP, ping   +- ch-b ----------------------+
#   | wg1 10.0.0.1  | ===================> | wg2 10.0.0.2 + thousands of |
#   +---|-----------+                      |   other peers coming, going |
#       |                                  | wg6 10.2.0.2                |
#       |                                  +---|--------|-----------------+
#   +- ch-mid (lo) ------------------------------|--------|---------------+
#   | UDP of wg1 :10001, wg2 :10002, wg3 :10003, wg4 :10004               |
#   +--------|-------------------|------------------------|---------------+
#   +- ch-c ---------+   +- ch-d ----------+   +- ch-s (lo) --------------+
#   | wg3 10.1.0.1   |   | wg4 10.1.0.2    |   | UDP of wg5 :10005 and    |
#   |  moves to ch-e |   | wg5 10.2.0.1    |   |   wg6 :10006; deleted    |
#   |  and back, then|   +-----------------+   |   under a ping flood     |
#   |  ch-c deleted  |                         +--------------------------+
#   +----------------+
#
# Last, the module is unloaded with devices and traffic present, and the
# debug build's object-lifetime log (kept whole by tests/fuzz-helper.py
# kmsg) must balance.
#
# CHURN_PEERS (default 2000) peers per round, CHURN_SECONDS (default 30)
# the length of the flow the churn runs under; PRESSURE_LEAVE_MB (default
# 96) the MemAvailable left by the memory hog.
# Output is TAP; the exit status is non-zero if any test failed.

set -e
umask 077

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib.sh
. "$HERE/lib.sh"

NPEERS=${CHURN_PEERS:-2000}
SECS=${CHURN_SECONDS:-30}
LEAVE=${PRESSURE_LEAVE_MB:-96}
HELPER=$HERE/fuzz-helper.py
DPHELPER=$HERE/datapath-helper.py
T0=$SECONDS
wgt_init churn '^ch-'

# helper_results PREFIX FILE: a fuzz-helper.py batch run's output in FILE
# as TAP (its "RESULT ok|not-ok NAME" lines), its comments, and its last
# line (the JSON summary) as a comment.
helper_results() {
	local prefix=$1 file=$2 verdict name
	grep '^#' "$file" || true
	while read -r _ verdict name; do
		if [ "$verdict" = ok ]; then tap_ok "$prefix: $name"; else tap_not_ok "$prefix: $name"; fi
	done < <(grep '^RESULT ' "$file")
	echo "# $prefix: $(tail -n 1 "$file")"
}

cleanup() {
	set +e
	[ -n "${KMSG:-}" ] && kill "$KMSG" 2>/dev/null
	wgt_cleanup
}
trap cleanup EXIT

# --- helpers -----------------------------------------------------------


# mkwg DEV HOME AWAY KEY PORT ADDR: created in HOME (its sockets stay
# there), moved to AWAY, address ADDR/24 and up.
mkwg() {
	ip -n "$2" link add "$1" type wireguard
	nsx "$2" wg set "$1" private-key "$T/$4.key" listen-port "$5"
	[ "$2" = "$3" ] || ip -n "$2" link set "$1" netns "$3"
	ip -n "$3" addr add "$6/24" dev "$1"
	ip -n "$3" link set "$1" up
}
# pair DEV1 NS1 ADDR1 KEY1 PORT1  DEV2 NS2 ADDR2 KEY2 PORT2: peers of each other.
pair() {
	nsx "$2" wg set "$1" peer "$(pub "$9")" endpoint "$SOCKIP:${10}" allowed-ips "$8/32"
	nsx "$7" wg set "$6" peer "$(pub "$4")" endpoint "$SOCKIP:$5" allowed-ips "$3/32"
}
SOCKIP=127.0.0.1


tcp_listening() { [ -n "$(in_ns "$1" ss -Hltn "sport = :$2")" ]; }
udp_unbound() {
	[ -z "$(in_ns "$1" ss -Hlun "sport = :$2")" ] && return 0
	echo "UDP :$2 still bound in $1"
	return 1
}

# iperf NAME SECONDS: TCP ch-a -> ch-b through wg1/wg2 in the background,
# JSON in $T/NAME.json; iperf_check NAME TEXT [helper options].  Each run
# has its own port (blocks run in subshells: the counter is a file).
iperf() {
	local IPORT
	IPORT=$(cat "$T/iport" 2>/dev/null || echo 5201)
	echo $((IPORT + 1)) >"$T/iport"
	ns_argv $(($2 + 90)) ch-b iperf3 -s -1 -p $IPORT
	"${NS_ARGV[@]}" >"$T/$1.server" 2>&1 &
	echo $! >>"$T/pids"
	wait_until 20 tcp_listening ch-b $IPORT
	ns_argv $(($2 + 60)) ch-a iperf3 -c 10.0.0.2 -p $IPORT -t "$2" -J
	"${NS_ARGV[@]}" >"$T/$1.json" 2>"$T/$1.err" &
	echo $! >"$T/$1.pid"
	echo $! >>"$T/pids"
}
iperf_check() {
	local name=$1 text=$2 out
	shift 2
	bg_wait "$name"
	if out=$(python3 -S "$DPHELPER" iperf "$T/$name.json" "$@" 2>&1); then
		tap_ok "$text"
	else
		tap_not_ok "$text"
	fi
	printf '%s\n' "$out" | sed 's/^/# /'
}

ping_ok() { nsx "$1" ping -c 1 -W 2 -w "${3:-20}" "$2" >/dev/null; }
npeers() { in_ns "$1" wg show "$2" peers | wc -l; }

# peers_conf FILE N BASE: N new peers, keys, PSKs, endpoints, /32s.
peers_conf() {
	python3 - "$@" <<'EOF'
import base64, os, random, sys
path, n, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "w") as f:
    for i in range(n):
        j = base + i
        f.write("[Peer]\nPublicKey = %s\nPresharedKey = %s\nEndpoint = 192.0.2.%d:%d\n"
                "AllowedIPs = 10.%d.%d.%d/32\n\n" % (
                    base64.b64encode(os.urandom(32)).decode(),
                    base64.b64encode(os.urandom(32)).decode(),
                    random.randrange(1, 255), random.randrange(1, 65536),
                    100 + (j >> 16), (j >> 8) & 255, j & 255))
EOF
}
conf_keys() { awk '$1 == "PublicKey" { print $3 }' "$1"; }

# --- blocks --------------------------------------------------------------

block_topology() {
	local ns
	for ns in ch-mid ch-a ch-b ch-c ch-d ch-e ch-s; do
		ip netns add $ns
		ip -n $ns link set lo up
	done
	for k in k1 k2 k3 k4 k5 k6; do keypair $k; done
	mkwg wg1 ch-mid ch-a k1 10001 10.0.0.1
	mkwg wg2 ch-mid ch-b k2 10002 10.0.0.2
	pair wg1 ch-a 10.0.0.1 k1 10001 wg2 ch-b 10.0.0.2 k2 10002
	mkwg wg3 ch-mid ch-c k3 10003 10.1.0.1
	mkwg wg4 ch-mid ch-d k4 10004 10.1.0.2
	pair wg3 ch-c 10.1.0.1 k3 10003 wg4 ch-d 10.1.0.2 k4 10004
	mkwg wg5 ch-s ch-d k5 10005 10.2.0.1
	mkwg wg6 ch-s ch-b k6 10006 10.2.0.2
	pair wg5 ch-d 10.2.0.1 k5 10005 wg6 ch-b 10.2.0.2 k6 10006
	tap_check "topology: wg1 -> wg2 ping" ping_ok ch-a 10.0.0.2
	tap_check "topology: wg4 -> wg3 ping" ping_ok ch-d 10.1.0.1
	tap_check "topology: wg5 -> wg6 ping" ping_ok ch-d 10.2.0.2
}

block_peers() {
	local round=0 base=0 keys t_end n0
	n0=$(npeers ch-b wg2)
	# Thousands of other peers come and go on wg2 while a TCP flow runs
	# through its one real peer: each round adds CHURN_PEERS with wg
	# addconf, changes the PSKs, endpoints and allowed IPs of a few hundred
	# of them and the PSK of the flow's peer on both sides (used from the
	# next handshake on), widens and narrows the flow peer's allowed IPs,
	# then removes them all again.  The flow never stalls for a second.
	iperf churnflow "$SECS"
	t_end=$((SECONDS + SECS - 5))
	while [ $SECONDS -lt $t_end ] || [ $round -lt 1 ]; do
		round=$((round + 1))
		peers_conf "$T/peers.conf" "$NPEERS" "$base"
		base=$((base + NPEERS))
		nsx ch-b wg addconf wg2 "$T/peers.conf"
		[ "$(npeers ch-b wg2)" -eq $((NPEERS + n0)) ] ||
			echo "round $round: $(npeers ch-b wg2) peers after adding $NPEERS to $n0" >>"$T/peers.bad"
		mapfile -t keys < <(conf_keys "$T/peers.conf")
		local args=() i psk
		psk=$(wg genpsk)
		echo "$psk" >"$T/psk"
		for i in $(seq 0 3 600); do
			[ -n "${keys[$i]:-}" ] || break
			args+=(peer "${keys[$i]}" preshared-key "$T/psk" endpoint "192.0.2.$((i % 250 + 1)):$((i + 1))"
				allowed-ips "10.250.$((i >> 8)).$((i & 255))/32,fd99::$i/128")
		done
		nsx ch-b wg set wg2 "${args[@]}"
		wg genpsk >"$T/flowpsk"
		nsx ch-a wg set wg1 peer "$(pub k2)" preshared-key "$T/flowpsk"
		nsx ch-b wg set wg2 peer "$(pub k1)" preshared-key "$T/flowpsk"
		nsx ch-b wg set wg2 peer "$(pub k1)" allowed-ips 10.0.0.1/32,10.9.0.0/16,fd09::/64
		nsx ch-b wg set wg2 peer "$(pub k1)" allowed-ips 10.0.0.1/32
		args=()
		for i in "${keys[@]}"; do args+=(peer "$i" remove); done
		nsx ch-b wg set wg2 "${args[@]}"
		[ "$(npeers ch-b wg2)" -eq "$n0" ] ||
			echo "round $round: $(npeers ch-b wg2) peers left after removing, not $n0" >>"$T/peers.bad"
	done
	tap_check "peers: $round rounds of $NPEERS peers added, changed and removed under the flow: wg2 had exactly $n0 + $NPEERS, then $n0 peers each time" \
		sh -c "! cat '$T/peers.bad' 2>/dev/null"
	iperf_check churnflow "peers: TCP through wg1/wg2 during the churn: no 1-s interval at 0"
	tap_check "peers: afterwards a fresh handshake with the new PSK works" \
		sh -c "ip netns exec ch-a wg set wg1 peer $(pub k2) remove &&
			ip netns exec ch-a wg set wg1 peer $(pub k2) preshared-key $T/flowpsk endpoint $SOCKIP:10002 allowed-ips 10.0.0.2/32 &&
			ip netns exec ch-a ping -c 1 -w 20 10.0.0.2 >/dev/null"
}

block_updown() {
	local t_flow t_done
	# The flow's device goes down and up twice and its peer's allowed IPs
	# are replaced (leaving the flow's address out for a moment): the flow
	# resumes after the last change.
	iperf updownflow 20
	t_flow=$SECONDS
	sleep 3
	ip -n ch-b link set wg2 down
	sleep 1
	ip -n ch-b link set wg2 up
	ip -n ch-a link set wg1 down
	ip -n ch-a link set wg1 up
	nsx ch-b wg set wg2 peer "$(pub k1)" allowed-ips 10.0.0.99/32
	sleep 0.5
	nsx ch-b wg set wg2 peer "$(pub k1)" allowed-ips 10.0.0.1/32
	t_done=$((SECONDS - t_flow))
	tap_check "updown: after down/up of both ends, ping wg1 -> wg2 works" ping_ok ch-a 10.0.0.2 30
	iperf_check updownflow "updown: the TCP flow carries data after the last change (+${t_done}s)" \
		--resumed-after "$t_done"
}

block_move() {
	local pid
	# wg3 moves ch-c -> ch-e -> ch-c three times under wg4's pings; its
	# sockets stay in ch-mid, so after each move (address again) wg4
	# reaches it.
	bg moveping 120 ch-d ping -i 0.1 10.1.0.1
	for _ in 1 2 3; do
		ip -n ch-c link set wg3 netns ch-e
		ip -n ch-e addr add 10.1.0.1/24 dev wg3
		ip -n ch-e link set wg3 up
		ping_ok ch-e 10.1.0.2 20
		ip -n ch-e link set wg3 netns ch-c
		ip -n ch-c addr add 10.1.0.1/24 dev wg3
		ip -n ch-c link set wg3 up
	done
	tap_check "move: wg3 moved 3 times to ch-e and back, wg4 -> wg3 ping works" ping_ok ch-d 10.1.0.1
	bg_stop moveping

	# ch-c, wg3's namespace, is deleted while wg4 floods it: wg3 goes, its
	# sockets in ch-mid close, wg4 lives on.
	bg flood3 60 ch-d ping -f 10.1.0.1
	sleep 2
	for pid in $(ip netns pids ch-c); do kill "$pid" 2>/dev/null || true; done
	ip netns del ch-c
	tap_check "move: ch-c deleted mid-flow: wg3's UDP :10003 in ch-mid closes" \
		wait_until 30 udp_unbound ch-mid 10003
	bg_stop flood3
	tap_check "move: wg4 still answers wg(8) with its peer" test "$(npeers ch-d wg4)" -eq 1

	# ch-s, which holds wg5's and wg6's sockets, is deleted while wg5
	# floods wg6: both devices stay, without sockets, and can be deleted.
	bg flood5 60 ch-d ping -f 10.2.0.2
	sleep 2
	ip netns del ch-s
	sleep 2
	bg_stop flood5
	tap_check "move: ch-s (sockets of wg5, wg6) deleted mid-flow: wg5 and wg6 remain" \
		sh -c "ip -n ch-d link show wg5 && ip -n ch-b link show wg6"
	tap_check "move: ... and are deleted cleanly" \
		sh -c "ip -n ch-d link del wg5 && ip -n ch-b link del wg6"
}

block_pressure() {
	local out avail total peers_before accepted fs
	# The VM's memory is filled until only PRESSURE_LEAVE_MB are available
	# (by a process the OOM killer would take first), then peers are added
	# to wg2 in requests of 500 while the flow runs: every request applies
	# all of its peers or none (tests/fuzz-helper.py batches).  Whether an
	# allocation fails depends on the pressure: it is reported, and
	# skipped (not passed) when none did (failslab, below, makes sure).
	total=$(awk '$1 == "MemTotal:" { print int($2 / 1024) }' /proc/meminfo)
	python3 -S "$HELPER" hog --leave "$LEAVE" >"$T/hog.out" 2>&1 &
	echo $! >"$T/hog.pid"
	echo $! >>"$T/pids"
	wait_until 120 grep -q ready "$T/hog.out"
	avail=$(awk '{ print int($2 / 1024) }' "$T/hog.out")
	echo "# pressure: MemTotal $total MB, MemAvailable down to $avail MB"
	peers_before=$(npeers ch-b wg2)
	iperf pressflow 20
	sleep 2
	nsx ch-b python3 -S "$HELPER" batches wg2 --messages 10 --peers 500 >"$T/batches.out" 2>&1 || true
	helper_results pressure "$T/batches.out"
	out=$(tail -n 1 "$T/batches.out")
	accepted=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["accepted"])' "$out")
	if python3 -c 'import json,sys; sys.exit(not json.loads(sys.argv[1])["rejected"])' "$out"; then
		tap_ok "pressure: some requests failed for want of memory, cleanly (see above)"
	else
		tap_skip "pressure: an allocation failure handled cleanly" \
			"no allocation failed with $avail MB left"
	fi
	iperf_check pressflow "pressure: TCP through wg2 under memory pressure: data, resumes" \
		--resumed-after 10
	kill "$(cat "$T/hog.pid")"
	wait "$(cat "$T/hog.pid")" 2>/dev/null || true
	tap_check "pressure: afterwards wg2 holds exactly its peers and the accepted ones ($peers_before + $accepted x 500)" \
		test "$(npeers ch-b wg2)" -eq $((peers_before + accepted * 500))
	tap_check "pressure: after the pressure ends, ping wg1 -> wg2 works" ping_ok ch-a 10.0.0.2
	peers_conf "$T/late.conf" 1000 200000
	tap_check "pressure: and 1000 more peers can be added" nsx ch-b wg addconf wg2 "$T/late.conf"

	# Allocation failures on purpose, where the kernel can inject them
	# (failslab: CONFIG_FAILSLAB and CONFIG_FAULT_INJECTION_DEBUG_FS): in
	# each of 20 requests one slab allocation of the sending task fails at
	# a random point, or none.  A request adds 15 peers and changes the
	# fwmark and up to 10 peers added before (new endpoints, keys and
	# allowed IPs, removals, a peer removed and added back).  Each must
	# leave the whole configuration as it was or as it asks, report ENOMEM
	# when it failed, and the device works on.  The requests stay under
	# a page: netlink copies a larger one into vmalloc'd memory, and a
	# failure injected there makes vmalloc warn with a call trace (not our
	# code, but the VM harness fails on it).
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
	fs=/sys/kernel/debug/failslab
	if [ ! -d $fs ]; then
		tap_skip "failslab: allocation failures injected into configuration requests" \
			"this kernel has no failslab (CONFIG_FAILSLAB)"
		return 0
	fi
	echo Y >$fs/task-filter
	echo N >$fs/ignore-gfp-wait
	echo 0 >$fs/verbose
	echo 0 >$fs/space
	echo 100 >$fs/probability
	# In case the namespace has a /sys of its own (`ip netns exec` mounts
	# one): debugfs again inside it.
	nsx ch-b sh -c 'mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
		exec python3 -S "$@"' sh "$HELPER" batches wg2 --messages 20 --peers 15 --prefix 10.202 \
		--mixed --touch 10 --failslab $fs >"$T/failslab.out" 2>&1 || true
	echo 0 >$fs/probability
	echo 0 >$fs/times
	helper_results failslab "$T/failslab.out"
	out=$(tail -n 1 "$T/failslab.out")
	tap_check "failslab: some requests failed with ENOMEM" \
		python3 -c 'import json,sys; sys.exit(not json.loads(sys.argv[1])["rejected"].get("ENOMEM"))' "$out"
	tap_check "failslab: requests changing earlier peers were both applied and refused" \
		python3 -c 'import json,sys; s = json.loads(sys.argv[1]); sys.exit(not (s.get("mixed_applied") and s.get("mixed_refused")))' "$out"
	tap_check "failslab: afterwards ping wg1 -> wg2 works" ping_ok ch-a 10.0.0.2
	peers_conf "$T/late2.conf" 500 300000
	tap_check "failslab: and 500 more peers can be added" nsx ch-b wg addconf wg2 "$T/late2.conf"
}

block_unload() {
	local name out
	# rmmod with wg1, wg2 and wg4 configured and a TCP flow through wg1/wg2.
	# A link kind's module does not pin itself with its devices (like the
	# in-tree driver): unloading succeeds and takes every device with it,
	# closes their sockets and frees every peer and keypair (the audit
	# below), with the flow running.
	name=$(modinfo -F name "$WGMPSC_KO")
	iperf unloadflow 30
	sleep 3
	if out=$(rmmod "$name" 2>&1); then
		tap_ok "unload: rmmod under traffic with 3 devices succeeds"
		tap_check "unload: the devices are gone" \
			sh -c "! ip -n ch-a link show wg1 2>/dev/null && ! ip -n ch-b link show wg2 2>/dev/null && ! ip -n ch-d link show wg4 2>/dev/null"
		tap_check "unload: their sockets in ch-mid are closed" \
			sh -c "[ -z \"\$(ip netns exec ch-mid ss -Hlun)\" ]"
		tap_check "unload: the module is gone" test ! -d "/sys/module/$name"
	else
		tap_not_ok "unload: rmmod under traffic with 3 devices succeeds"
		echo "# rmmod: $out"
		tap_check "unload: refused, the devices still work" ping_ok ch-a 10.0.0.2
	fi
	bg_stop unloadflow
	wait_until 20 lifetime_audit "$T/kmsg" >/dev/null 2>&1 || true
	tap_check "unload: lifetime: every peer and keypair of the unloaded module's life was destroyed" lifetime_audit "$T/kmsg"
	lifetime_audit "$T/kmsg" | grep '^# [A-Z]' || true
	wc -l <"$T/kmsg" >"$T/kmsg.reload"
	tap_check "unload: the module loads again and a new tunnel works" sh -c "
		$(declare -f wg_load_module)
		wg_load_module && ip -n ch-mid link add wg7 type wireguard &&
		ip netns exec ch-mid wg set wg7 private-key $T/k1.key listen-port 10001 peer $(pub k2) endpoint 127.0.0.1:10002 allowed-ips 10.0.0.2/32 &&
		ip -n ch-mid link set wg7 netns ch-a && ip -n ch-a addr add 10.0.0.1/24 dev wg7 && ip -n ch-a link set wg7 up &&
		ip -n ch-mid link add wg8 type wireguard &&
		ip netns exec ch-mid wg set wg8 private-key $T/k2.key listen-port 10002 peer $(pub k1) endpoint 127.0.0.1:10001 allowed-ips 10.0.0.1/32 &&
		ip -n ch-mid link set wg8 netns ch-b && ip -n ch-b addr add 10.0.0.2/24 dev wg8 && ip -n ch-b link set wg8 up &&
		ip netns exec ch-a ping -c 1 -w 20 10.0.0.2 >/dev/null"
}

block_teardown() {
	local ns out
	wg_cleanup_namespaces '^ch-'
	tap_check "teardown: module unloads" wait_until 30 wg_unload_module
	from=$(cat "$T/kmsg.reload" 2>/dev/null || echo 0)
	wait_until 20 lifetime_audit "$T/kmsg" "$from" >/dev/null 2>&1 || true
	tap_check "lifetime: every created peer and keypair was destroyed, and only those" lifetime_audit "$T/kmsg" "$from"
	lifetime_audit "$T/kmsg" "$from" | grep '^# [A-Z]' || true
	out=$(cat /proc/sys/kernel/tainted)
	tap_check "teardown: kernel not tainted by a warning, oops, bad page or lockup" \
		test $((out & ((1 << 5) | (1 << 7) | (1 << 9) | (1 << 14)))) -eq 0
}

# --- main --------------------------------------------------------------

# A private copy of the module: the host may rebuild the original
# meanwhile, and the unload block loads it again.
cp "${WGMPSC_KO:?}" "$T/"
export WGMPSC_KO=$T/${WGMPSC_KO##*/}
dmesg -C
python3 "$HELPER" kmsg "$T/kmsg" &
KMSG=$!
wg_test_start
for b in ${WGT_BLOCKS:-topology peers updown move pressure unload teardown}; do
	run_block "block_$b"
done
echo "# total: $((SECONDS - T0)) s"
tap_done
